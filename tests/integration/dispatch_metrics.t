#!/usr/bin/env bash
# tests/integration/dispatch_metrics.t — caas.service_status() against a
# real dispatcher (issue 5 §7): heartbeat, queue depth, age of the oldest
# due post, lateness histogram.
#
# A private cluster, the fake, one X account.  With no dispatcher:
# "absent", and 5 posts overdue by 30 s show as queue_depth 5 and
# oldest_due_age_s ≥ 30.  A daemon (heartbeat every second) publishes them:
# "ok", a fresh heartbeat, one dispatcher, an empty queue, and the 5 in the
# lateness histogram (cumulative buckets, all above 10 s, sum ≥ 150 s).
# kill -9 stops its heartbeat: with caas.dispatcher_heartbeat_timeout_sec
# set to 5 (ALTER SYSTEM + reload: the setting is PGC_SIGHUP), the status
# turns "stale" within 5 s + 3 s.
# caas_anon may call the function and sees aggregates only.
set -uo pipefail
# shellcheck source=tests/integration/dispatch_lib.sh
source "$(dirname "$0")/dispatch_lib.sh"

dl_cluster_up
dl_fake_start
dl_org_setup
X=$(dl_account x "6006$RANDOM" tok-x-metrics)
[ -n "$X" ] || dl_bail "could not connect the account"
run=$(date +%s)

# st [JQ-FILTER]: caas.service_status() as the superuser, through jq.
st() { dl_q "SELECT caas.service_status()" | jq -c "${1:-.}"; }

dl_ok "no dispatcher ever ran: \"absent\", no heartbeat age, none alive" \
	same "$(st '[.dispatcher, .heartbeat_age_s, .dispatchers]')" '["absent",null,0]'

dl_bulk_posts 5 "$X" "overdue-$run" "now() - interval '30 seconds'" >/dev/null
dl_ok "5 posts 30 s overdue: queue_depth 5, nothing publishing" \
	same "$(st '[.queue_depth, .publishing]')" '[5,0]'
dl_ok "… oldest_due_age_s ≥ 30 ($(st .oldest_due_age_s))" ge "$(st .oldest_due_age_s)" 30

anon=$(psql -X -q -tA -v ON_ERROR_STOP=1 -c "SET ROLE caas_anon" -c "SELECT caas.service_status()" 2>&1 | tail -n 1)
dl_ok "caas_anon may call it, and gets only the documented aggregate keys" \
	same "$(printf '%s' "$anon" | jq -c 'keys')" \
	'["dispatcher","dispatchers","heartbeat_age_s","lateness","oldest_due_age_s","publishing","queue_depth"]'
dl_ok "… with no organisation or post id in it" same "$(printf '%s' "$anon" | grep -c "$DL_ORG")" 0

# ---------------------------------------------------- a dispatcher runs
dl_daemon_start metrics heartbeat_interval_sec 1 rescan_interval_sec 5
dl_wait 15 dl_true "SELECT count(*) = 5 FROM caas.scheduled_posts WHERE org_id = '$DL_ORG' AND state = 'published'"
dl_ok "the dispatcher publishes the 5 overdue posts" same "$(dl_states)" "published=5"
dl_ok "status \"ok\" with one dispatcher alive, an empty queue, nothing publishing" \
	same "$(st '[.dispatcher, .dispatchers, .queue_depth, .publishing, .oldest_due_age_s]')" '["ok",1,0,0,null]'
dl_ok "… and a heartbeat younger than 3 s ($(st .heartbeat_age_s))" le "$(st .heartbeat_age_s)" 3
# histogram_ok: cumulative, ending in ["+Inf", count], count ≥ 5, the 5
# posts above the 10 s bucket, sum ≥ 150 s.
histogram_ok() {
	local h
	h=$(st .lateness)
	echo "# lateness: $h"
	printf '%s' "$h" | jq -e '
		(.buckets | map(.[1])) as $c
		| ([range(1; $c | length)] | all(. as $i | $c[$i] >= $c[$i - 1]))
		and (.buckets[-1] == ["+Inf", .count])
		and .count >= 5 and .sum >= 150
		and (.count - ([.buckets[] | select(.[0] == 10)][0][1]) >= 5)
		and ((.buckets | map(.[0])) == [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, "+Inf"])' >/dev/null
}
dl_ok "the lateness histogram holds the 5 posts, ~30 s late, in cumulative buckets" histogram_ok
dl_ok "the dispatcher's row: kind daemon, its pid, a heartbeat, stats as an object" \
	same "$(dl_q "SELECT kind || ' ' || (pid = ${DL_PID[metrics]}) || ' ' || (heartbeat_at IS NOT NULL) || ' ' || jsonb_typeof(stats)
	              FROM caas.dispatchers WHERE name = 'metrics'")" "daemon true true object"

# ----------------------------------------------- the heartbeat stops
dl_daemon_stop metrics KILL
# caas.dispatcher_heartbeat_timeout_sec is reloadable (PGC_SIGHUP), not a
# session setting: ALTER SYSTEM in this private cluster.
psql -X -q -tA -v ON_ERROR_STOP=1 -c "ALTER SYSTEM SET caas.dispatcher_heartbeat_timeout_sec = 5" -c "SELECT pg_reload_conf()" >/dev/null
dl_wait 5 dl_true "SELECT current_setting('caas.dispatcher_heartbeat_timeout_sec') = '5'"
t0=$(dl_now_ms)
stale() { [ "$(st .dispatcher)" = '"stale"' ]; }
dl_wait 8 stale
dl_ok "after kill -9, with the timeout at 5 s, the status turns \"stale\" ($(( $(dl_now_ms) - t0 )) ms later)" \
	same "$(st '[.dispatcher, .dispatchers]')" '["stale",0]'
dl_ok "… with the heartbeat age above the timeout" ge "$(st .heartbeat_age_s)" 5
dl_bulk_posts 2 "$X" "waiting-$run" "now() - interval '5 seconds'" >/dev/null
dl_ok "posts due meanwhile pile up in queue_depth" same "$(st .queue_depth)" 2

[ "$DL_FAILED" = 1 ] && dl_diag 30
dl_done
