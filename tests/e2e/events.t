#!/usr/bin/env bash
# tests/e2e/events.t — GET /api/v1/events/: an organisation's status
# changes as Server-Sent Events.  Who may listen (members only, the usual
# 404 envelope before any stream starts), post.state events after
# scheduling and cancelling through the API, account.status events, event
# ids, keep-alives, no leak between organisations, PostgreSQL restarted
# under open streams (→ "event: resync", and events flow again), the cap on
# open streams, the end of a stream when its token expires and on SIGTERM.
#
# Runs on a private throwaway cluster (it restarts PostgreSQL), like
# resilience.t.  Streams are read by curl -N into files; every wait is
# bounded polling on those files.
source "$(dirname "$0")/lib.sh"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

OWN=$(mktemp -d /tmp/caas-events.XXXXXX)
chmod 755 "$OWN"
pg_cluster_paths "$OWN"
OWN_SOCK=$PGSOCK_DIR
CURLS=()
own_cleanup() {
	local p
	for p in "${CURLS[@]}"; do kill "$p" 2>/dev/null; done
	api_stop
	pg_cluster_stop "$OWN" immediate >/dev/null 2>&1
	rm -rf "$OWN" "$E2E_TMP"
	case "$OWN_SOCK" in "$OWN"/*) ;; *) rm -rf "$OWN_SOCK" ;; esac
}
trap own_cleanup EXIT

own_setup() {
	local try
	pg_cluster_init "$OWN" || return 1
	for try in 1 2 3; do
		OWN_PORT=$(pg_pick_port) || return 1
		pg_cluster_configure "$OWN" "$OWN_PORT" ev && pg_cluster_start "$OWN" && break
		OWN_PORT=
	done
	[ -n "$OWN_PORT" ] && pg_database_setup "$OWN" "$OWN_PORT" ev
}
own_setup >"$OWN/setup.log" 2>&1 || {
	echo "Bail out! could not set up a private cluster"
	sed 's/^/# /' "$OWN/setup.log"
	exit 1
}
# sql_own SQL — as the superuser on the private cluster, bare rows.
sql_own() { psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$OWN_SOCK" -p "$OWN_PORT" -U postgres -d ev -c "$1"; }

SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
MAX_STREAMS=8
api_start CAAS_API_DATABASE_URL="host=$OWN_SOCK port=$OWN_PORT dbname=ev user=caas_authenticator" \
	CAAS_API_JWT_SECRET="$SECRET" CAAS_API_EVENT_KEEPALIVE_SEC=1 \
	CAAS_API_MAX_EVENT_STREAMS=$MAX_STREAMS

# b64url — base64url without padding, of stdin.
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
# mint_token SUB EXP — an access token signed like the server's, expiring at EXP.
mint_token() {
	local now h p s
	now=$(date +%s)
	h=$(printf '{"alg":"HS256","typ":"at+jwt","kid":"k1"}' | b64url)
	p=$(printf '{"iss":"caas","aud":"caas-api","sub":"%s","iat":%d,"nbf":%d,"exp":%d}' "$1" "$now" "$now" "$2" | b64url)
	s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -mac HMAC -macopt "key:$SECRET" -binary | b64url)
	printf '%s.%s.%s' "$h" "$p" "$s"
}

# stream NAME TOKEN ORG — open a stream in the background into $E2E_TMP/NAME.sse
# (headers in NAME.h); its curl's pid goes into CURLS and PID_<NAME>.
stream() {
	curl -sN -D "$E2E_TMP/$1.h" -H "Authorization: Bearer $2" -H "Accept: text/event-stream" \
		"$API/api/v1/events/?org_id=$3" >"$E2E_TMP/$1.sse" 2>/dev/null &
	CURLS+=($!)
	printf -v "PID_$1" '%s' "$!"
}
# wait_for NAME REGEX [SECONDS] — poll NAME's stream until a line matches;
# prints the milliseconds waited; false after SECONDS (default 5).
wait_for() {
	local t0 limit=$(( ${3:-5} * 1000 ))
	t0=$(now_ms)
	while [ $(($(now_ms) - t0)) -lt "$limit" ]; do
		grep -Eq -- "$2" "$E2E_TMP/$1.sse" 2>/dev/null && { echo $(($(now_ms) - t0)); return 0; }
		sleep 0.02
	done
	return 1
}
# events NAME — one line per event of NAME's stream: "<id> <event> <data>".
events() {
	awk '/^id: /{id=substr($0,5)} /^event: /{ev=substr($0,8)} /^data: /{d=substr($0,7)}
	     /^$/{ if (ev != "") print id, ev, d; id=""; ev=""; d="" }' "$E2E_TMP/$1.sse"
}
# post_event NAME POST STATE — the data of NAME's post.state event for POST in STATE.
post_event() { events "$1" | awk -v p="$2" -v s="$3" '$2 == "post.state" && index($0, p) && index($0, "\"state\": \"" s "\"") {sub(/^[^ ]* [^ ]* /, ""); print; exit}'; }

echo "1..29"

stamp=$(date +%s%N)
OWNER=$(user_token "ev-owner$stamp@example.com")
VIEWER=$(user_token "ev-viewer$stamp@example.com")
OTHER=$(user_token "ev-other$stamp@example.com")
STRANGER=$(user_token "ev-stranger$stamp@example.com")
req POST /api/v1/organizations/ "{\"name\":\"Events A\",\"slug\":\"ev-a-$stamp\"}" "$OWNER"
A=$(jq_body .org_id)
sql_own "INSERT INTO caas.subscriptions (org_id, plan_id) VALUES ('$A','team')" >/dev/null
req POST "/api/v1/organizations/$A/members/" "{\"email\":\"ev-viewer$stamp@example.com\",\"role\":\"viewer\"}" "$OWNER"
req POST /api/v1/organizations/ "{\"name\":\"Events B\",\"slug\":\"ev-b-$stamp\"}" "$OTHER"
B=$(jq_body .org_id)
sql_own "INSERT INTO caas.subscriptions (org_id, plan_id) VALUES ('$B','team')" >/dev/null
VIEWER_ID=$(sql_own "SELECT user_id FROM caas.users WHERE email = 'ev-viewer$stamp@example.com'")

# setup_org ORG TOKEN — a workspace, a sandbox account; sets WS_<n>, ACC_<n>.
setup_org() {
	req POST "/api/v1/organizations/$1/workspaces/" '{"name":"Main","slug":"main"}' "$2"
	WS=$(jq_body .workspace_id)
	ACC=$(sql_own "INSERT INTO caas.social_accounts (org_id, platform, external_id, handle, access_token_enc, token_key_id, status)
		VALUES ('$1', 'sandbox', 'sb-$1', 'sb', decode(repeat('5a', 44), 'hex'), 'k1', 'connected') RETURNING account_id")
}
# schedule ORG TOKEN WS ACC TITLE — content + post due tomorrow; prints the post id.
schedule() {
	req POST "/api/v1/organizations/$1/content/" "$(jq -cn --arg w "$3" --arg t "$5" '{workspace_id:$w, title:$t, body:"Hello"}')" "$2"
	req POST "/api/v1/organizations/$1/posts/" "$(jq -cn --arg c "$(jq_body .content_id)" --arg a "$4" \
		--arg at "$(date -u -d tomorrow +%F)T09:00:00Z" '{content_id:$c, account_id:$a, scheduled_at:$at}')" "$2"
	jq_body .post_id
}
setup_org "$A" "$OWNER"; WS_A=$WS; ACC_A=$ACC
setup_org "$B" "$OTHER"; WS_B=$WS; ACC_B=$ACC
req GET "/api/v1/organizations/$A/" "" "$VIEWER"
ok '[ "$STATUS" = 200 ] && [ -n "$B" ] && [ -n "$ACC_A" ] && [ -n "$ACC_B" ] && [ -n "$VIEWER_ID" ]' \
	"two organisations, each with an account; a viewer in A"

# ------------------------------------------------------------ who may listen
req GET "/api/v1/events/?org_id=$A"
ok '[ "$STATUS" = 401 ]' "without a token: 401"
req GET "/api/v1/events/" "" "$VIEWER"
ok '[ "$STATUS" = 422 ]' "without org_id: 422"
curl -sS -D "$E2E_TMP/stranger.h" -o "$E2E_TMP/body" -H "Authorization: Bearer $STRANGER" "$API/api/v1/events/?org_id=$A"
BODY=$(cat "$E2E_TMP/body")
ok 'head -1 "$E2E_TMP/stranger.h" | grep -q " 404" && [ "$(jq_body .code)" = P0002 ] &&
	[ "$(header_of Content-Type "$E2E_TMP/stranger.h")" = application/json ]' \
	"a non-member gets the usual 404 JSON envelope, not a stream"
req GET "/api/v1/events/?org_id=$A" "" "$OTHER"
ok '[ "$STATUS" = 404 ]' "a member of another organisation gets 404 too"

# ------------------------------------------------------------------ streams
stream SA "$VIEWER" "$A"
stream SB "$OTHER" "$B"
ms_a=$(wait_for SA '^: ready$')
ms_b=$(wait_for SB '^: ready$')
ok '[ -n "$ms_a" ] && [ -n "$ms_b" ] && [ "$(header_of Content-Type "$E2E_TMP/SA.h")" = text/event-stream ] &&
	head -1 "$E2E_TMP/SA.h" | grep -q " 200"' \
	"a viewer of A and a member of B each get a stream (200 text/event-stream, ready in ${ms_a}/${ms_b} ms)"

t0=$(now_ms)
P1=$(schedule "$A" "$OWNER" "$WS_A" "$ACC_A" "First")
ms=$(wait_for SA "\"post_id\": \"$P1\"")
ok '[ -n "$P1" ] && [ -n "$ms" ]' "scheduling through the API shows on A's stream (${ms} ms after the call returned)"
D=$(post_event SA "$P1" scheduled)
BODY=$D
ok '[ "$(jq_body .type)" = post.state ] && [ "$(jq_body .org_id)" = "$A" ] && [ "$(jq_body .previous)" = null ] &&
	[ -n "$(jq_body .at)" ]' "its data is the change as JSON: type, org_id, post_id, state scheduled, previous null, at"

req POST "/api/v1/organizations/$A/posts/$P1/cancel/" "" "$OWNER"
ms=$(wait_for SA '"state": "cancelled"')
BODY=$(post_event SA "$P1" cancelled)
ok '[ -n "$ms" ] && [ "$(jq_body .previous)" = scheduled ]' "cancelling shows too: cancelled, previous scheduled (${ms} ms)"

sql_own "UPDATE caas.social_accounts SET status = 'needs_reauth' WHERE org_id = '$A' AND account_id = '$ACC_A'" >/dev/null
ms=$(wait_for SA '^event: account.status$')
BODY=$(events SA | awk '$2 == "account.status"' | head -1 | cut -d' ' -f3-)
ok '[ -n "$ms" ] && [ "$(jq_body .account_id)" = "$ACC_A" ] && [ "$(jq_body .status)" = needs_reauth ]' \
	"an account's status change is an account.status event"
sql_own "UPDATE caas.social_accounts SET status = 'connected' WHERE org_id = '$A' AND account_id = '$ACC_A'" >/dev/null

P2=$(schedule "$B" "$OTHER" "$WS_B" "$ACC_B" "Elsewhere")
ms=$(wait_for SB "\"post_id\": \"$P2\"")
ok '[ -n "$ms" ] && ! grep -q "$A" "$E2E_TMP/SB.sse" && ! grep -q "$P1" "$E2E_TMP/SB.sse"' \
	"B's stream sees B's post and nothing of A's"
ok '! grep -q "$P2" "$E2E_TMP/SA.sse" && ! grep -q "$B" "$E2E_TMP/SA.sse"' "and A's stream nothing of B's"

ids=$(events SA | awk '{print $1}' | paste -sd' ')
BODY="ids: $ids"
ok '[ "$(echo "$ids" | wc -w)" -ge 3 ] && [ "$(echo "$ids" | tr " " "\n" | sort -n | paste -sd" ")" = "$ids" ] &&
	[ "$(echo "$ids" | tr " " "\n" | sort -u | wc -l)" = "$(echo "$ids" | wc -w)" ]' "event ids increase ($ids)"

: >"$E2E_TMP/SA.sse.mark"
lines=$(wc -l <"$E2E_TMP/SA.sse")
ms=$(t0=$(now_ms); while [ $(($(now_ms) - t0)) -lt 4000 ]; do
	tail -n +$((lines + 1)) "$E2E_TMP/SA.sse" | grep -q '^: keep-alive$' && { echo $(($(now_ms) - t0)); break; }
	sleep 0.05; done)
ok '[ -n "$ms" ]' "a quiet stream gets \": keep-alive\" (event_keepalive_sec 1; after ${ms} ms)"

req GET /metrics
ok 'printf "%s" "$BODY" | grep -q "^caas_event_streams 2$"' "/metrics counts the two open streams"

# ------------------------------------------------------ PostgreSQL restarts
pg_cluster_stop "$OWN" fast && pg_cluster_start "$OWN" >/dev/null
ms_a=$(wait_for SA '^event: resync$' 20)
ms_b=$(wait_for SB '^event: resync$' 20)
ok '[ -n "$ms_a" ] && [ -n "$ms_b" ]' "PostgreSQL restarted: each stream gets \"event: resync\" (${ms_a}/${ms_b} ms after the start)"
P3=""
for i in 1 2 3 4 5; do	# a stale pooled connection may answer 503 once per thread
	P3=$(schedule "$A" "$OWNER" "$WS_A" "$ACC_A" "After restart $i")
	[ -n "$P3" ] && [ "$P3" != null ] && break
done
ms=$(wait_for SA "\"post_id\": \"$P3\"")
ok '[ -n "$ms" ] && kill -0 "$PID_SA"' "the same stream carries events again after the restart (${ms} ms)"

# ------------------------------------------- settling an unconfirmed post
R="/api/v1/organizations/$A/posts/$P3/resolve/"
req POST "$R" '{"resolution":"published","remote_id":"1800"}' "$VIEWER"
ok '[ "$STATUS" = 403 ]' "resolve: a viewer may not (403)"
req POST "$R" '{"resolution":"published","remote_id":"1800"}' "$OWNER"
ok '[ "$STATUS" = 409 ] && [ "$(jq_body .code)" = CA002 ]' "resolve: only an unconfirmed post (409 CA002 for a scheduled one)"
# What the dispatcher does when a request got no answer: publishing → unconfirmed.
sql_own "UPDATE caas.scheduled_posts SET state = 'publishing', lease_owner = 'e2e', lease_expires_at = now() + interval '1 minute', attempts = 1 WHERE post_id = '$P3'" >/dev/null
sql_own "UPDATE caas.scheduled_posts SET state = 'unconfirmed', lease_owner = NULL, lease_expires_at = NULL WHERE post_id = '$P3'" >/dev/null
req POST "$R" '{"resolution":"published"}' "$OWNER"
ok '[ "$STATUS" = 422 ]' "resolve: published needs the remote id (422)"
req POST "$R" '{"resolution":"published","remote_id":"1800","remote_url":"https://x.com/i/status/1800"}' "$OWNER"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .state)" = published ] && [ "$(jq_body .remote_id)" = 1800 ]' \
	"resolve: a person settles an unconfirmed post as published (200)"
ms=$(wait_for SA '"state": "published"')
BODY=$(post_event SA "$P3" published)
ok '[ -n "$ms" ] && [ "$(jq_body .previous)" = unconfirmed ] && [ -n "$(post_event SA "$P3" unconfirmed)" ]' \
	"the stream showed it going unconfirmed, then published (${ms} ms)"

# -------------------------------------------------------- cap, expiry, end
for i in $(seq 3 $MAX_STREAMS); do stream "S$i" "$VIEWER" "$A"; done
full=yes
for i in $(seq 3 $MAX_STREAMS); do wait_for "S$i" '^: ready$' >/dev/null || full=no; done
req GET "/api/v1/events/?org_id=$A" "" "$VIEWER"
ok '[ "$full" = yes ] && [ "$STATUS" = 503 ] && [ "$(jq_body .code)" = 53300 ]' \
	"max_event_streams ($MAX_STREAMS) streams open; one more is refused with 503"
for i in $(seq 3 $MAX_STREAMS); do v="PID_S$i"; kill "${!v}" 2>/dev/null; done
# A closed stream frees its place once the server notices (at its next write).
freed=no
for i in $(seq 1 60); do
	req GET /metrics
	printf '%s' "$BODY" | grep -q '^caas_event_streams 2$' && { freed=yes; break; }
	sleep 0.1
done
ok '[ "$freed" = yes ]' "closing them frees their places (streams back to 2)"

SHORT=$(mint_token "$VIEWER_ID" $(($(date +%s) + 2)))
stream SX "$SHORT" "$A"
ms=$(wait_for SX '^event: end$' 8)
sleep 0.2
ok '[ -n "$ms" ] && grep -q "token_expired" "$E2E_TMP/SX.sse" && ! kill -0 "$PID_SX" 2>/dev/null' \
	"a stream ends with \"event: end\" (token_expired) when its token expires, and closes"

t0=$(now_ms)
kill -TERM "$API_PID"
wait "$API_PID"
rc=$?
ms=$(($(now_ms) - t0))
API_PID=
ok '[ "$rc" = 0 ] && [ "$ms" -lt 5000 ]' "SIGTERM with streams open: the server exits 0 in ${ms} ms"
ok 'grep -q "shutdown" "$E2E_TMP/SA.sse" && grep -q "shutdown" "$E2E_TMP/SB.sse"' \
	"and each stream was told: event: end (shutdown)"
sleep 0.2
ok '! kill -0 "$PID_SA" 2>/dev/null && ! kill -0 "$PID_SB" 2>/dev/null' "the clients saw their streams close"
ok '! grep -qF "$VIEWER" "$E2E_TMP/api.log" && ! grep -qF "$SHORT" "$E2E_TMP/api.log"' "no access token in the server's log"
