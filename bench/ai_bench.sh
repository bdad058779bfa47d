#!/usr/bin/env bash
# bench/ai_bench.sh — AI generation under load (issue 6): BENCH_AI_JOBS
# (200) generations requested at once through caas-api, run by one
# dispatcher daemon against the fake OpenAI server answering each call
# after BENCH_AI_DELAY_MS (1000) ms, while a probe asks /api/v1/health/
# one request after another on one keep-alive connection.  Prints the
# health latency before (idle) and during the burst, as a ratio measured in
# the same run; the API's 202 latency; how long the burst took against
# the time one call takes; each job's time from request to result; the
# dispatcher's peak RSS.  Not a timed test, not part of `make test`.
#
# Needs api/build/caas-api, bgworker/build/caas-dispatcher and
# tests/fakes/build/fake_ai (make).  Reuses tests/integration/ai_lib.sh
# (private cluster, fake, API, dispatcher, an organisation on a test plan
# without an AI quota).  Everything started is stopped and deleted on
# exit.  BENCH_AI_PROBE_SEC (5): length of the idle probe.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/integration/ai_lib.sh disable=SC1091
source tests/integration/ai_lib.sh

JOBS=${BENCH_AI_JOBS:-200}
DELAY=${BENCH_AI_DELAY_MS:-1000}
PROBE_SEC=${BENCH_AI_PROBE_SEC:-5}

echo "== cluster, fake AI server, caas-api, dispatcher ($(nproc) CPUs; everything on this machine)"
dl_cluster_up "max_connections = 200"
ai_fake_start
ai_api_start
ai_daemon_start bench log_level info ai.request_timeout_ms 30000
ai_org_setup
AI_DELAY_MS=$DELAY ai_script openai ok
echo "   cluster on port $DL_PORT, API $API, fake $AI_FAKE, logs in $DL_DIR"

# probe FILE: health requests one after another (50 per curl process, one
# connection) until DL_DIR/stop exists; "status seconds" per line.
probe() {
	local urls=() i
	for i in $(seq 1 50); do urls+=(-o /dev/null "$API/api/v1/health/"); done
	while [ ! -e "$DL_DIR/stop" ]; do
		curl -sS -w '%{http_code} %{time_total}\n' "${urls[@]}" >>"$1" 2>/dev/null
	done
}

# stats FILE: "n p50 p99 max" of the latencies in FILE, in ms.
stats() {
	awk '{ print $2 * 1000 }' "$1" | sort -n | awk '
		{ v[NR] = $1 } END {
			if (NR == 0) { print "0 0 0 0"; exit }
			p50 = v[int(NR * 0.50) > 0 ? int(NR * 0.50) : 1]; p99 = v[int(NR * 0.99) > 0 ? int(NR * 0.99) : 1]
			printf "%d %.2f %.2f %.2f\n", NR, p50, p99, v[NR] }'
}

echo "== idle: /api/v1/health/ for $PROBE_SEC s"
rm -f "$DL_DIR/stop"
: >"$DL_DIR/idle.out"
probe "$DL_DIR/idle.out" &
PROBE=$!
sleep "$PROBE_SEC"	# a measuring window, not a wait for a condition
touch "$DL_DIR/stop"
wait "$PROBE"
read -r IN IP50 IP99 IMAX <<<"$(stats "$DL_DIR/idle.out")"
echo "   $IN requests: p50 $IP50 ms  p99 $IP99 ms  max $IMAX ms (statuses: $(awk '{ c[$1]++ } END { for (k in c) printf "%s×%d ", k, c[k] }' "$DL_DIR/idle.out"))"

echo "== burst: $JOBS generations at once, each OpenAI call answered after $DELAY ms"
rm -f "$DL_DIR/stop"
: >"$DL_DIR/busy.out"
: >"$DL_DIR/post.out"
probe "$DL_DIR/busy.out" &
PROBE=$!
BODY_JSON=$(jq -cn --arg ws "$WS" '{workspace_id:$ws, platform:"linkedin", tone:"educational", brief:{topic:"Bench"}}')
T0=$(dl_now_ms)
POSTS=()
for i in $(seq 1 "$JOBS"); do
	curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' -X POST -H 'Content-Type: application/json' \
		-H "Authorization: Bearer $TOKEN" --data-binary "$BODY_JSON" \
		"$API/api/v1/organizations/$ORG/content/generate/" >>"$DL_DIR/post.out" &
	POSTS+=($!)
done
wait "${POSTS[@]}"
T_ACCEPTED=$(dl_now_ms)
finished() { dl_true "SELECT count(*) = $JOBS FROM caas.ai_jobs WHERE org_id = '$ORG' AND state IN ('succeeded', 'failed')"; }
dl_wait 300 finished || echo "   not all jobs finished within 300 s"
T1=$(dl_now_ms)
touch "$DL_DIR/stop"
wait "$PROBE"
read -r BN BP50 BP99 BMAX <<<"$(stats "$DL_DIR/busy.out")"
read -r PN PP50 PP99 PMAX <<<"$(stats "$DL_DIR/post.out")"
read -r OK FAILED JP50 JP99 JMAX <<<"$(dl_q "SELECT count(*) FILTER (WHERE state = 'succeeded'), count(*) FILTER (WHERE state = 'failed'),
	round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at) * 1000)::numeric, 0),
	round(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at) * 1000)::numeric, 0),
	round(max(extract(epoch FROM finished_at - created_at) * 1000)::numeric, 0)
	FROM caas.ai_jobs WHERE org_id = '$ORG'" | tr '|' ' ')"
ACCEPTED=$(grep -c '^202 ' "$DL_DIR/post.out")
echo "   requests accepted (202)    $ACCEPTED / $JOBS in $((T_ACCEPTED - T0)) ms; POST latency p50 $PP50 ms  p99 $PP99 ms  max $PMAX ms"
echo "   jobs                       $OK succeeded, $FAILED failed; all done $((T1 - T0)) ms after the first request"
echo "                              (one call takes $DELAY ms: $(awk -v t=$((T1 - T0)) -v d="$DELAY" 'BEGIN { printf "%.1f", t / d }') × one call for $JOBS jobs)"
echo "   request → result per job   p50 $JP50 ms  p99 $JP99 ms  max $JMAX ms"
echo "   health during the burst    $BN requests: p50 $BP50 ms  p99 $BP99 ms  max $BMAX ms (statuses: $(awk '{ c[$1]++ } END { for (k in c) printf "%s×%d ", k, c[k] }' "$DL_DIR/busy.out"))"
echo "   health p99 busy / idle     $(awk -v b="$BP99" -v i="$IP99" 'BEGIN { printf "%.2f", (i > 0 ? b / i : 0) }')"
echo "   dispatcher peak RSS        $(( $(dl_rss_peak "${DL_PID[bench]}") / 1024 )) MB"
