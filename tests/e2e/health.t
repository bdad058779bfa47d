#!/usr/bin/env bash
# tests/e2e/health.t — /api/v1/health/ and the dispatcher's series in
# /metrics, both from caas.service_status(): a fresh heartbeat is healthy;
# a stale one (heartbeat_at moved into the past as the superuser) is a 503
# "degraded" unless health_requires_dispatcher is no; the database out of
# reach is a 503 too, and /metrics then leaves the dispatcher's series out
# but still prints its own.
#
# No dispatcher runs here: the heartbeat is written with
# caas.dispatch_heartbeat as the superuser.  Moving every heartbeat into
# the past assumes no other suite's dispatcher runs at the same time
# (prove runs the files one after the other).
source "$(dirname "$0")/lib.sh"

api_start CAAS_API_HEALTH_REQUIRES_DISPATCHER=yes

echo "1..13"
stamp=$(date +%s%N)
NAME="health-e2e-$stamp"
cleanup_row() { sql_su "DELETE FROM caas.dispatchers WHERE name = '$NAME'" >/dev/null 2>&1; }
trap 'cleanup_row; api_stop; rm -rf "$E2E_TMP"' EXIT

# metric NAME — the value of an unlabelled series in the last body.
metric() { printf '%s\n' "$BODY" | awk -v n="$1" '$1 == n {print $2}'; }

sql_su "SELECT caas.dispatch_heartbeat('$NAME', 'daemon', 4242, 3, '{}')" >/dev/null
req GET /api/v1/health/
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .status)" = ok ] && [ "$(jq_body .database)" = ok ] &&
	[ "$(jq_body .dispatcher)" = ok ]' "a fresh heartbeat: 200 {status ok, database ok, dispatcher ok}"
ok '[ "$(jq_body ".heartbeat_age_s | type")" = number ] && [ "$(jq_body ".heartbeat_age_s < 5")" = true ]' \
	"heartbeat_age_s is the heartbeat's age ($(jq_body .heartbeat_age_s) s)"
ok '[ "$(jq_body "keys | sort | join(\",\")")" = "database,dispatcher,heartbeat_age_s,status" ]' \
	"and nothing else (the endpoint is anonymous)"

req GET /metrics
ok '[ "$STATUS" = 200 ] && [ "$(metric caas_dispatcher_up)" = 1 ] &&
	[ -n "$(metric caas_dispatcher_heartbeat_age_seconds)" ]' "/metrics: caas_dispatcher_up 1 and the heartbeat's age"
ok '[ -n "$(metric caas_dispatch_queue_depth)" ] && [ -n "$(metric caas_dispatch_publishing)" ] &&
	[ -n "$(metric caas_dispatch_oldest_due_age_seconds)" ]' \
	"/metrics: queue depth, posts publishing, age of the oldest due post"
ok 'printf "%s\n" "$BODY" | grep -q "^# TYPE caas_publish_lateness_seconds histogram$" &&
	printf "%s\n" "$BODY" | grep -q "^caas_publish_lateness_seconds_bucket{le=\"0.005\"} " &&
	printf "%s\n" "$BODY" | grep -q "^caas_publish_lateness_seconds_bucket{le=\"+Inf\"} " &&
	[ -n "$(metric caas_publish_lateness_seconds_sum)" ] && [ -n "$(metric caas_publish_lateness_seconds_count)" ]' \
	"/metrics: the lateness histogram (buckets, +Inf, sum, count)"
ok 'printf "%s\n" "$BODY" | grep -q "^caas_http_requests_total{method=\"GET\",route=\"/api/v1/health/\",code=\"200\"} "' \
	"the request series are still there"

sql_su "UPDATE caas.dispatchers SET heartbeat_at = now() - interval '10 minutes'" >/dev/null
req GET /api/v1/health/
ok '[ "$STATUS" = 503 ] && [ "$(jq_body .status)" = degraded ] && [ "$(jq_body .database)" = ok ] &&
	[ "$(jq_body .dispatcher)" = stale ]' "a heartbeat 10 minutes old: 503 degraded, dispatcher stale"
req GET /metrics
ok '[ "$(metric caas_dispatcher_up)" = 0 ] && [ "$(metric caas_dispatcher_heartbeat_age_seconds | cut -d. -f1)" -ge 600 ]' \
	"/metrics: caas_dispatcher_up 0, heartbeat age over 600 s"
api_stop

api_start CAAS_API_HEALTH_REQUIRES_DISPATCHER=no
req GET /api/v1/health/
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .status)" = ok ] && [ "$(jq_body .dispatcher)" = stale ]' \
	"health_requires_dispatcher no: 200 ok, still saying the dispatcher is stale"
cleanup_row
api_stop

# A database that is not there (nothing listens on the port).
api_start CAAS_API_HEALTH_REQUIRES_DISPATCHER=no \
	CAAS_API_DATABASE_URL="host=127.0.0.1 port=$(pg_pick_port) dbname=nowhere user=caas_authenticator connect_timeout=2"
req GET /api/v1/health/
ok '[ "$STATUS" = 503 ] && [ "$(jq_body .status)" = degraded ] && [ "$(jq_body .database)" = unreachable ]' \
	"database out of reach: 503 degraded, database unreachable (whatever the dispatcher setting)"
req GET /metrics
ok '[ "$STATUS" = 200 ] && [ -z "$(metric caas_dispatcher_up)" ] && [ -z "$(metric caas_dispatch_queue_depth)" ]' \
	"/metrics without its database: no dispatcher series ..."
ok 'printf "%s\n" "$BODY" | grep -q "^caas_http_requests_total{method=\"GET\",route=\"/api/v1/health/\",code=\"503\"} "' \
	"... but the request series still print"
