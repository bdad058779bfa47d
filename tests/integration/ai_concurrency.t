#!/usr/bin/env bash
# tests/integration/ai_concurrency.t — AI generation under concurrency:
# the quota at its boundary with simultaneous requests (reserved at the
# request, consumed at success, released by a failure), and 200
# simultaneous generations that all complete while /api/v1/health/ keeps
# answering (bench/ai_bench.sh prints its latency figures).  Real
# processes on loopback (tests/integration/ai_lib.sh).
set -uo pipefail
# shellcheck source=ai_lib.sh
source "$(dirname "$0")/ai_lib.sh"

dl_cluster_up
ai_fake_start
ai_api_start
ai_daemon_start d1

# fire N BODY-FIELDS: N generate requests at once; their statuses, one per
# line, in DL_DIR/fire.out.
fire() {
	local i body pids=()
	body=$(jq -cn --arg ws "$WS" "{workspace_id:\$ws, platform:\"linkedin\", brief:{topic:\"Concurrency\"}} + ${2:-{\}}")
	: >"$DL_DIR/fire.out"
	for i in $(seq 1 "$1"); do
		curl -sS -o /dev/null -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
			-H "Authorization: Bearer $TOKEN" --data-binary "$body" \
			"$API/api/v1/organizations/$ORG/content/generate/" >>"$DL_DIR/fire.out" &
		pids+=($!)
	done
	wait "${pids[@]}"
}
count() { grep -c "^$1\$" "$DL_DIR/fire.out"; }
jobs_in() { dl_q "SELECT count(*) FROM caas.ai_jobs WHERE org_id = '$ORG' AND state IN ($1)"; }
none_pending() { [ "$(jobs_in "'queued', 'running'")" = 0 ]; }

# --------------------------------------------------- quota boundary --
ai_org_setup 5
ai_fake_reset
ai_script openai ok
ai_generate '{platform:"linkedin", variants:3}'
ai_wait_job "$JOB"
dl_ok "3 of 5 generations used" same "$(ai_usage .ai_generations.used)" 3

# Slow answers keep the accepted jobs reserved while the others arrive.
AI_DELAY_MS=1500 ai_script openai ok
fire 8
dl_ok "8 simultaneous requests with 2 generations left: exactly 2 accepted" \
	same "$(count 202) $(count 402)" "2 6"
dl_ok "... the 2 are reserved while they run" \
	same "$(ai_usage '"\(.ai_generations.used) \(.ai_generations.reserved)"')" "3 2"
dl_ok "... and they complete" dl_wait 30 none_pending
dl_ok "... consuming exactly the limit" same "$(ai_usage .ai_generations.used) $(jobs_in "'succeeded'")" "5 3"
ai_generate '{platform:"linkedin"}'
dl_ok "at the limit, a request is refused with 402" same "$STATUS" 402
dl_ok "... naming the limit" has "$(ai_body .message)" "AI generations"

# A failed generation gives its reservation back.  The refusals come
# after 1.5 s, so the first job is still running when the second request
# arrives.
ai_org_setup 1
ai_fake_reset
AI_DELAY_MS=1500 ai_script openai unauthorized
ai_script gemini forbidden
ai_generate '{platform:"linkedin"}'
FIRST=$JOB
dl_ok "with 1 generation left, a request is accepted" same "$STATUS" 202
ai_generate '{platform:"linkedin"}'
dl_ok "... a second one, while the first runs, is refused" same "$STATUS" 402
ai_wait_job "$FIRST"
dl_ok "the first fails (every provider refuses)" same "$STATE" failed
ai_fake_reset
ai_script openai ok
ai_generate '{platform:"linkedin"}'
dl_ok "... and its reservation is free again" same "$STATUS" 202
ai_wait_job "$JOB"
dl_ok "... the new one succeeds and uses the last generation" \
	same "$STATE $(ai_usage '"\(.ai_generations.used)/\(.ai_generations.limit)"')" "succeeded 1/1"

# ---------------------------------- 200 at once, health stays fast --
ai_org_setup
ai_fake_reset
AI_DELAY_MS=500 ai_script openai ok
health_loop() {
	while [ ! -e "$DL_DIR/stop_health" ]; do
		curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' "$API/api/v1/health/" >>"$DL_DIR/health.out"
	done
}
: >"$DL_DIR/health.out"
health_loop &
HEALTH_PID=$!
T0=$(dl_now_ms)
fire 200
dl_ok "200 simultaneous requests: all accepted" same "$(count 202)" 200
dl_ok "... all 200 complete within 30 s (each call takes 500 ms at the fake)" dl_wait 30 none_pending
T1=$(dl_now_ms)
touch "$DL_DIR/stop_health"
wait "$HEALTH_PID"
dl_ok "... all succeeded" same "$(jobs_in "'succeeded'")" 200
dl_ok "... in parallel: well under 200 × 500 ms (took $((T1 - T0)) ms)" le $((T1 - T0)) 20000
dl_ok "... the fake saw 200 OpenAI calls" same "$(ai_requests '[.[] | select(.provider == "openai")] | length')" 200
dl_ok "health answered throughout ($(wc -l <"$DL_DIR/health.out") requests), always 200" \
	bash -c '[ -s "$1" ] && ! grep -qv "^200 " "$1"' _ "$DL_DIR/health.out"
MAX=$(awk '{ if ($2 > m) m = $2 } END { printf "%d", m * 1000 }' "$DL_DIR/health.out")
dl_ok "... never slower than 1 s (slowest $MAX ms; bench/ai_bench.sh prints the p99)" le "$MAX" 1000

dl_done
