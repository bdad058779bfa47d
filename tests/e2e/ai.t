#!/usr/bin/env bash
# tests/e2e/ai.t — AI generation through HTTP, without a dispatcher: asking
# for a generation (202, Location, url, events_url; both routes), CA008
# (503 naming the settings) while no dispatcher reports a provider, the
# request's validation (400, 422 naming the field), who may ask and read,
# reading and listing jobs, tones, and the long-poll (?wait=S): it waits
# (≥ S s on a queued job), it wakes when the job ends, holds no thread (50
# long-polls and /api/v1/health/ still answers at once), answers at once
# past max_event_streams, frees a vanished client's place by its deadline,
# and ends at SIGTERM.  The event stream carries ai_job.state; usage counts
# the generation and its tokens.
#
# The dispatcher's part is played in SQL as the superuser: a heartbeat
# (caas.dispatch_heartbeat, stats.ai_providers), then, as caas_dispatcher,
# caas.ai_claim and caas.ai_job_result_batch.  Whether a long-poll is
# waiting is read from the API's events connection in pg_stat_activity (its
# last statement: LISTEN or UNLISTEN of the organisation's channel).  Every
# wait is bounded polling.
source "$(dirname "$0")/lib.sh"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

stamp=$(date +%s%N)
DISP="e2e-ai-$stamp"
PIDS=()
ai_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sql_su "DELETE FROM caas.dispatchers WHERE name = '$DISP'" >/dev/null 2>&1
	api_stop
	rm -rf "$E2E_TMP"
}
trap ai_cleanup EXIT

SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')	# kept across a restart
api_start CAAS_API_JWT_SECRET="$SECRET"

echo "1..53"

# wait_until SECONDS CMD... — poll CMD every 20 ms; false after SECONDS.
wait_until() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	while [ "$(now_ms)" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.02
	done
	return 1
}
# as_dispatcher SQL — run SQL as caas_dispatcher (the superuser SET ROLE).
as_dispatcher() { psql -X -q -t -A -v ON_ERROR_STOP=1 -c "SET ROLE caas_dispatcher" -c "$1"; }
# claim JOB — claim the oldest due job, which must be JOB; prints its claim.
claim() {
	as_dispatcher "SELECT c FROM caas.ai_claim('$DISP', 1, 600) c" | jq -r --arg j "$1" 'select(.job_id == $j) | .claim'
}
# succeed JOB CLAIM TEXT — report a success with TEXT as its one variant.
succeed() {
	as_dispatcher "SELECT caas.ai_job_result_batch('$DISP', '$(jq -cn --arg o "$ORG" --arg j "$1" --argjson c "$2" --arg t "$3" \
		'[{org_id:$o, job_id:$j, claim:$c, ok:true, provider:"openai", model:"gpt-4.1-mini",
		   prompt_tokens:120, completion_tokens:45, variants:[$t], final:true, reprompts:0,
		   attempts:[{provider:"openai", model:"gpt-4.1-mini", http_status:200, class:"ok", ms:80}]}]')')"
}
# fail JOB CLAIM — report a failure.
fail() {
	as_dispatcher "SELECT caas.ai_job_result_batch('$DISP', '$(jq -cn --arg o "$ORG" --arg j "$1" --argjson c "$2" \
		'[{org_id:$o, job_id:$j, claim:$c, ok:false, error_code:"insufficient_quota",
		   message:"every provider refused", attempts:[]}]')')"
}
# listener_at WORD — the API's events connection last ran WORD (LISTEN or
# UNLISTEN) on the organisation's channel.
listener_at() {
	[ "$(sql_su "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'caas-api events'
		AND query = '$1 \"$CHANNEL\"'")" = 1 ]
}
# long_poll NAME JOB SECONDS — GET the job with ?wait= in the background:
# body in NAME.json, "<status> <seconds>" in NAME.out, curl's trace in
# NAME.err, pid in PIDS and PID_NAME.
long_poll() {
	curl -sS -v -o "$E2E_TMP/$1.json" -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $OWNER" \
		"$API$O/ai/jobs/$2/?wait=$3" >"$E2E_TMP/$1.out" 2>"$E2E_TMP/$1.err" &
	PIDS+=($!)
	printf -v "PID_$1" '%s' "$!"
}
sent_poll() { grep -q '^> GET ' "$E2E_TMP/$1.err" 2>/dev/null; }	# the request went out
done_poll() { [ -s "$E2E_TMP/$1.out" ]; }				# the answer came
# brief [JQ-OBJECT] — a valid request body, merged with JQ-OBJECT.
brief() {
	jq -cn --arg ws "$WS" "{workspace_id:\$ws, platform:\"x\", tone:\"casual\",
		brief:{topic:\"Our scheduling API ships\", key_points:[\"one call\"], audience:\"developers\"}} + ${1:-{\}}"
}

OWNER=$(user_token "ai-owner$stamp@example.com")
VIEWER=$(user_token "ai-viewer$stamp@example.com")
STRANGER=$(user_token "ai-stranger$stamp@example.com")
req POST /api/v1/organizations/ "{\"name\":\"AI\",\"slug\":\"ai-$stamp\"}" "$OWNER"
ORG=$(jq_body .org_id)
O="/api/v1/organizations/$ORG"
CHANNEL="caas_org_${ORG//-/}"
sql_su "INSERT INTO caas.subscriptions (org_id, plan_id) VALUES ('$ORG','team')" >/dev/null
# Jobs of other organisations (an earlier run's) wait a day, so that the
# claims below see only ours.
sql_su "UPDATE caas.ai_jobs SET run_at = now() + interval '1 day' WHERE state = 'queued';
	UPDATE caas.ai_jobs SET lease_expires_at = now() + interval '1 day' WHERE state = 'running'" >/dev/null
req POST "$O/members/" "{\"email\":\"ai-viewer$stamp@example.com\",\"role\":\"viewer\"}" "$OWNER"
req POST "$O/workspaces/" '{"name":"Main","slug":"main"}' "$OWNER"
WS=$(jq_body .workspace_id)
ok '[ -n "$OWNER" ] && [ -n "$VIEWER" ] && [ -n "$STRANGER" ] && [ -n "$WS" ] && [ "$WS" != null ]' \
	"an organisation on the team plan with a workspace and a viewer"

# ------------------------------------------------------ no provider: CA008
alive=$(sql_su "SELECT count(*) FROM caas.dispatchers
	WHERE heartbeat_at >= now() - make_interval(secs => current_setting('caas.dispatcher_heartbeat_timeout_sec')::integer)")
req POST "$O/content/generate/" "$(brief)" "$OWNER"
ok '[ "$STATUS" = 503 ] && [ "$(jq_body .code)" = CA008 ] &&
	{ [ "$alive" != 0 ] || [ "$(jq_body .message)" = "no dispatcher is running" ]; }' \
	"no dispatcher running: 503 CA008 ($(jq_body .message))"
ok 'jq_body .hint | grep -q "openai.api_key (CAAS_DISPATCHER_OPENAI_API_KEY)" &&
	jq_body .hint | grep -q "gemini.api_key" && jq_body .hint | grep -q "compat.base_url"' \
	"... its hint names the settings to set (openai.api_key, gemini.api_key, compat.base_url)"
sql_su "SELECT caas.dispatch_heartbeat('$DISP', 'daemon', 4242, 0, '{\"ai_providers\":[]}')" >/dev/null
req POST "$O/content/generate/" "$(brief)" "$OWNER"
ok '[ "$STATUS" = 503 ] && [ "$(jq_body .code)" = CA008 ] && [ "$(jq_body .message)" = "no AI provider is configured" ] &&
	jq_body .hint | grep -q "openai.api_key"' \
	"a dispatcher without providers: 503 CA008 \"no AI provider is configured\", naming the settings"
njobs=$(sql_su "SELECT count(*) FROM caas.ai_jobs WHERE org_id = '$ORG'")
ok '[ "$njobs" = 0 ]' "... and no job was queued"

sql_su "SELECT caas.dispatch_heartbeat('$DISP', 'daemon', 4242, 0, '{\"ai_providers\":[\"openai\"]}')" >/dev/null

# ------------------------------------------------------------ asking: 202
curl -sS -D "$E2E_TMP/gen.h" -o "$E2E_TMP/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $OWNER" \
	-H 'Content-Type: application/json' --data-binary "$(brief)" "$API$O/content/generate/" >"$E2E_TMP/status"
STATUS=$(cat "$E2E_TMP/status")
BODY=$(cat "$E2E_TMP/body")
J1=$(jq_body .job_id)
ok '[ "$STATUS" = 202 ] && [ "$(jq_body .state)" = queued ] && [ "$(jq_body .org_id)" = "$ORG" ] &&
	[ "$(jq_body .platform)" = x ] && [ "$(jq_body .tone)" = casual ] && [ "$(jq_body .variants)" = 1 ] &&
	[ "$(jq_body .language)" = en ]' "a provider reported: 202 with the job, queued (defaults: 1 variant, en)"
ok '[ "$(header_of Location "$E2E_TMP/gen.h")" = "$O/ai/jobs/$J1/" ] && [ "$(jq_body .url)" = "$O/ai/jobs/$J1/" ]' \
	"Location and url name the job ($(jq_body .url))"
ok '[ "$(jq_body .events_url)" = "/api/v1/events/?org_id=$ORG" ]' "events_url names the organisation's event stream"
ok '[ "$(jq_body ".error")" = null ] && [ "$(jq_body ".result")" = null ] && [ "$(jq_body ".brief.topic")" = "Our scheduling API ships" ] &&
	[ "$(jq_body "has(\"system_prompt\") or has(\"user_prompt\")")" = false ]' "it shows the brief, no result, no prompts"

req POST /api/v1/content/generate/ "$(brief "{org_id:\"$ORG\", variants:2, language:\"fr\"}")" "$OWNER"
J2=$(jq_body .job_id)
ok '[ "$STATUS" = 202 ] && [ "$(jq_body .org_id)" = "$ORG" ] && [ "$(jq_body .variants)" = 2 ] &&
	[ "$(jq_body .url)" = "$O/ai/jobs/$J2/" ]' "POST /api/v1/content/generate/ with org_id in the body: 202 too"
UPPER=$(printf '%s' "$ORG" | tr a-f A-F)
req POST /api/v1/content/generate/ "$(brief "{org_id:\"$UPPER\"}")" "$OWNER"
J3=$(jq_body .job_id)
ok '[ "$STATUS" = 202 ] && [ "$(jq_body .url)" = "$O/ai/jobs/$J3/" ]' "... an upper-case org_id is the same organisation"
req POST /api/v1/content/generate/ "$(brief)" "$OWNER"
ok '[ "$STATUS" = 400 ] && jq_body .message | grep -q org_id' "... without org_id: 400 naming org_id"
req POST /api/v1/content/generate/ "$(brief '{org_id:"not-a-uuid"}')" "$OWNER"
ok '[ "$STATUS" = 400 ] && jq_body .message | grep -q org_id' "... org_id not a uuid: 400"
req POST /api/v1/content/generate/ "$(brief '{org_id:7}')" "$OWNER"
ok '[ "$STATUS" = 400 ]' "... org_id a number: 400"

# ------------------------------------------------------------- validation
req POST "$O/content/generate/" '[1, 2]' "$OWNER"
ok '[ "$STATUS" = 400 ]' "a body that is not an object: 400"
req POST "$O/content/generate/" '{"brief":' "$OWNER"
ok '[ "$STATUS" = 400 ]' "malformed JSON: 400"
req POST "$O/content/generate/" "" "$OWNER"
ok '[ "$STATUS" = 400 ]' "no body: 400"
req POST "$O/content/generate/" "$(brief '{variants:9}')" "$OWNER"
ok '[ "$STATUS" = 422 ] && [ "$(jq_body .code)" = 22023 ] && jq_body .message | grep -q variants' \
	"variants 9: 422 naming variants ($(jq_body .message))"
req POST "$O/content/generate/" "$(brief '{temperature:2}')" "$OWNER"
ok '[ "$STATUS" = 422 ] && jq_body .message | grep -q temperature' "an unknown field: 422 naming it ($(jq_body .message))"
req POST "$O/content/generate/" "$(brief '{brief:{audience:"devs"}}')" "$OWNER"
ok '[ "$STATUS" = 422 ] && jq_body .message | grep -q topic' "a brief without topic: 422 naming brief.topic"
req POST "$O/content/generate/" "$(brief '{tone:"sarcastic"}')" "$OWNER"
ok '[ "$STATUS" = 422 ] && jq_body .message | grep -q sarcastic' "an unknown tone: 422 naming it"
req POST "$O/content/generate/" "$(brief '{platform:"myspace"}')" "$OWNER"
ok '[ "$STATUS" = 422 ] && jq_body .message | grep -qi platform' "an unknown platform: 422"
req POST "$O/content/generate/" "$(brief)"
ok '[ "$STATUS" = 401 ]' "without a token: 401"
req POST "$O/content/generate/" "$(brief)" "$VIEWER"
ok '[ "$STATUS" = 403 ] && [ "$(jq_body .code)" = 42501 ]' "a viewer may not generate: 403"
req POST "$O/content/generate/" "$(brief)" "$STRANGER"
ok '[ "$STATUS" = 404 ]' "a non-member: 404"

# ---------------------------------------------------------- reading a job
req GET "$O/ai/jobs/$J1/" "" "$VIEWER"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .job_id)" = "$J1" ] && [ "$(jq_body .state)" = queued ]' "a viewer reads the job (200, queued)"
req GET "$O/ai/jobs/$J1/" "" "$STRANGER"
ok '[ "$STATUS" = 404 ]' "a non-member may not (404)"
req GET "$O/ai/jobs/$(cat /proc/sys/kernel/random/uuid)/" "" "$OWNER"
ok '[ "$STATUS" = 404 ] && [ "$(jq_body .code)" = P0002 ]' "an unknown job: 404 P0002"
bad=""
for w in 61 -1 abc 1.5 "" 100 "%201"; do
	req GET "$O/ai/jobs/$J1/?wait=$w" "" "$OWNER"
	{ [ "$STATUS" = 400 ] && jq_body .message | grep -q wait; } || bad="$bad [$w]=$STATUS"
done
BODY=$bad
ok '[ -z "$bad" ]' "wait outside 0..60 (61, -1, abc, 1.5, empty, 100, \" 1\"): 400 naming wait"
t0=$(now_ms)
req GET "$O/ai/jobs/$J1/?wait=0" "" "$OWNER"
ms=$(($(now_ms) - t0))
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .state)" = queued ] && [ "$ms" -lt 1000 ]' "wait=0 answers at once (${ms} ms)"
req GET "$O/ai/jobs/" "" "$VIEWER"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body "[.items[].job_id] | join(\",\")")" = "$J3,$J2,$J1" ]' \
	"the list shows the three jobs, newest first"
req GET "$O/ai/jobs/?limit=2" "" "$OWNER"
cursor=$(jq_body .next_cursor)
req GET "$O/ai/jobs/?limit=2&cursor=$cursor" "" "$OWNER"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body "[.items[].job_id] | join(\",\")")" = "$J1" ]' "... and pages with next_cursor"
req GET /api/v1/ai/tones/ "" "$VIEWER"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body "[.[].tone] | sort | join(\",\")")" = "casual,educational,humorous,inspirational,professional" ] &&
	[ "$(jq_body "all(.[]; (.guidance | length) > 0)")" = true ]' "GET /api/v1/ai/tones/: the five tones with guidance"
req GET /api/v1/ai/tones/
ok '[ "$STATUS" = 401 ]' "... for signed-in users only"

# --------------------------------------------------------------- long-poll
t0=$(now_ms)
req GET "$O/ai/jobs/$J1/?wait=1" "" "$OWNER"
ms=$(($(now_ms) - t0))
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .state)" = queued ] && [ "$ms" -ge 950 ] && [ "$ms" -lt 5000 ]' \
	"wait=1 on a queued job answers after its second, queued (${ms} ms)"

# Wake-up: a long-poll waiting when the job ends answers at once.
wait_until 5 listener_at UNLISTEN
r=$?
ok '[ "$r" = 0 ]' "once no long-poll waits, the API stops listening to the organisation's channel"
long_poll LP1 "$J1" 30
wait_until 10 listener_at LISTEN
r=$?
ok '[ "$r" = 0 ] && ! done_poll LP1' "a wait=30 long-poll makes the API LISTEN to the organisation's channel, and waits"
C1=$(claim "$J1")
t1=$(now_ms)
succeed "$J1" "$C1" "Our scheduling API ships today: one call, exactly once." >/dev/null
wait_until 10 done_poll LP1
ms=$(($(now_ms) - t1))
read -r st secs <"$E2E_TMP/LP1.out"
BODY=$(cat "$E2E_TMP/LP1.json")
ok '[ "$st" = 200 ] && [ "$(jq_body .state)" = succeeded ] && [ "$ms" -lt 2000 ]' \
	"the job succeeds: the long-poll answers ${ms} ms later, after ${secs} s of its 30, with state succeeded"
CONTENT=$(jq_body .result.content_id)
ok '[ -n "$CONTENT" ] && [ "$CONTENT" != null ] && [ "$(jq_body .result.versions[0].version)" = 1 ] &&
	[ "$(jq_body .provider)" = openai ] && [ "$(jq_body .prompt_tokens)" = 120 ] && [ "$(jq_body .completion_tokens)" = 45 ]' \
	"... and the result: a new content item, version 1, provider and tokens"
req GET "$O/content/$CONTENT/" "" "$OWNER"
ok '[ "$STATUS" = 200 ] && jq_body . | grep -q "exactly once"' "the content item holds the generated text"

# A client that goes away: its place is freed by its deadline.
wait_until 5 listener_at UNLISTEN
long_poll GONE "$J2" 2
wait_until 10 listener_at LISTEN
kill "$PID_GONE" 2>/dev/null
wait_until 6 listener_at UNLISTEN
r=$?
ok '[ "$r" = 0 ]' "a long-poll whose client left is freed by its deadline (the channel is UNLISTENed)"

# The event stream carries the jobs' changes.
curl -sN -H "Authorization: Bearer $VIEWER" "$API/api/v1/events/?org_id=$ORG" >"$E2E_TMP/S.sse" 2>/dev/null &
PIDS+=($!)
wait_until 5 grep -q '^: ready$' "$E2E_TMP/S.sse"
r=$?
ok '[ "$r" = 0 ]' "a viewer's event stream on the organisation is ready"
long_poll LP2 "$J2" 30
wait_until 5 sent_poll LP2
C2=$(claim "$J2")
fail "$J2" "$C2" >/dev/null
wait_until 10 done_poll LP2
read -r st secs <"$E2E_TMP/LP2.out"
BODY=$(cat "$E2E_TMP/LP2.json")
ok '[ "$st" = 200 ] && [ "$(jq_body .state)" = failed ] && [ "$(jq_body .error.code)" = insufficient_quota ] &&
	[ "$(jq_body .error.message)" = "every provider refused" ]' "a failed job: the long-poll answers failed, with the error (${secs} s)"
events_of() { awk '/^event: /{ev=substr($0,8)} /^data: /{if (ev == "ai_job.state") print substr($0,7)}' "$E2E_TMP/S.sse" |
	jq -r --arg j "$1" 'select(.job_id == $j) | "\(.previous)>\(.state)"' | paste -sd' '; }
wait_until 5 grep -q '"state": "failed"' "$E2E_TMP/S.sse"
BODY=$(events_of "$J2")
ok '[ "$BODY" = "queued>running running>failed" ]' "the stream showed ai_job.state events: queued>running, running>failed"
req POST "$O/content/generate/" "$(brief)" "$OWNER"
J4=$(jq_body .job_id)
wait_until 5 grep -q "$J4" "$E2E_TMP/S.sse"
BODY=$(events_of "$J4")
ok '[ "$BODY" = "null>queued" ]' "a new job shows as queued (previous null) on the stream"

# Usage: one generation, its tokens; the queued jobs' variants reserved.
req GET "$O/usage/" "" "$OWNER"
ok '[ "$(jq_body .ai_generations.used)" = 1 ] && [ "$(jq_body .ai_prompt_tokens)" = 120 ] &&
	[ "$(jq_body .ai_completion_tokens)" = 45 ] && [ "$(jq_body .ai_generations.reserved)" = 2 ]' \
	"usage: 1 generation, 120 + 45 tokens, 2 reserved by the queued jobs ($(jq_body '.ai_generations | tojson'))"

# 50 long-polls at once hold no thread: health answers meanwhile.
for i in $(seq 1 50); do long_poll "M$i" "$J4" 8; done
sent=0
for i in $(seq 1 50); do wait_until 10 sent_poll "M$i" && sent=$((sent + 1)); done
slow=""
for i in 1 2 3 4 5; do
	t0=$(now_ms)
	req GET /api/v1/health/
	ms=$(($(now_ms) - t0))
	{ [ "$STATUS" = 200 ] && [ "$ms" -lt 500 ]; } || slow="$slow $STATUS/${ms}ms"
done
running=0
for i in $(seq 1 50); do done_poll "M$i" || running=$((running + 1)); done
BODY="sent: $sent; slow:$slow; still waiting: $running"
ok '[ "$sent" = 50 ] && [ -z "$slow" ] && [ "$running" = 50 ]' \
	"with 50 long-polls waiting, /api/v1/health/ answers 5 times under 500 ms each"
all=yes
for i in $(seq 1 50); do wait_until 15 done_poll "M$i" || all=no; done
bad=$(for i in $(seq 1 50); do
	read -r st secs <"$E2E_TMP/M$i.out"
	jq -e '.state == "queued"' "$E2E_TMP/M$i.json" >/dev/null 2>&1 || echo "M$i: no queued job"
	[ "$st" = 200 ] || echo "M$i: $st"
	awk -v s="$secs" 'BEGIN { exit !(s >= 7.9 && s < 14) }' || echo "M$i: ${secs} s"
done)
BODY=$bad
ok '[ "$all" = yes ] && [ -z "$bad" ]' "all 50 answer 200 queued after their 8 s, together"

# The documentation.
req GET /api/schema/
ok '[ "$(jq_body ".paths[\"/api/v1/organizations/{org}/content/generate/\"].post.responses | has(\"202\")")" = true ] &&
	[ "$(jq_body ".paths[\"/api/v1/content/generate/\"].post.requestBody.content[\"application/json\"].schema.required | index(\"org_id\") != null")" = true ] &&
	[ "$(jq_body ".paths[\"/api/v1/organizations/{org}/ai/jobs/{job}/\"].get.parameters[] | select(.name == \"wait\") | .schema | [.type, .minimum, .maximum] | tojson")" = "[\"integer\",0,60]" ]' \
	"the OpenAPI document: generate answers 202, org_id required in the body route, wait an integer 0..60"

# ---------------------------- past max_event_streams, and at shutdown
kill "${PIDS[@]}" 2>/dev/null
PIDS=()
api_stop
api_start CAAS_API_JWT_SECRET="$SECRET" CAAS_API_MAX_EVENT_STREAMS=2
long_poll F1 "$J4" 30
long_poll F2 "$J4" 30
wait_until 10 sent_poll F1 && wait_until 10 sent_poll F2 && wait_until 10 listener_at LISTEN
t0=$(now_ms)
req GET "$O/ai/jobs/$J4/?wait=30" "" "$OWNER"
ms=$(($(now_ms) - t0))
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .state)" = queued ] && [ "$ms" -lt 2000 ] && ! done_poll F1 && ! done_poll F2' \
	"max_event_streams (2) long-polls waiting: a third answers at once with the job as it is (${ms} ms)"
t0=$(now_ms)
kill -TERM "$API_PID"
wait "$API_PID"
rc=$?
ms=$(($(now_ms) - t0))
API_PID=
ok '[ "$rc" = 0 ] && [ "$ms" -lt 5000 ]' "SIGTERM with long-polls waiting: the server exits 0 in ${ms} ms"
wait_until 5 done_poll F1 && wait_until 5 done_poll F2
read -r st1 _ <"$E2E_TMP/F1.out"
read -r st2 _ <"$E2E_TMP/F2.out"
BODY="$st1 $st2 $(cat "$E2E_TMP/F1.json")"
ok '[ "$st1" = 200 ] && [ "$st2" = 200 ] && jq -e ".state == \"queued\"" "$E2E_TMP/F1.json" >/dev/null' \
	"... and they answered 200 with the job as it was"
ok '! grep -qF "$OWNER" "$E2E_TMP/api.log" && ! grep -qF "$VIEWER" "$E2E_TMP/api.log"' "no access token in the server's log"
