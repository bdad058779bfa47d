#!/usr/bin/env bash
# tests/integration/ai_generate.t — AI generation end to end: caas-api, a
# dispatcher daemon and the fake OpenAI/Gemini server, each a real process
# on loopback, a private cluster (tests/integration/ai_lib.sh).
#
# Covers issue 6: success with the real request formats; fallback to the
# next provider on each error class that does not retry (insufficient
# quota, 400, 401, 403, 404, blocked); retries with backoff on those that
# do (rate limits honouring the hint, 500, 503, timeouts, malformed and
# truncated answers); a chain where every provider fails (failed job,
# nothing consumed); length enforcement per platform (re-prompt, then trim
# at a sentence boundary); the OpenAI-compatible provider; no provider
# configured (503 naming the setting).
set -uo pipefail
# shellcheck source=ai_lib.sh
source "$(dirname "$0")/ai_lib.sh"

dl_cluster_up
ai_fake_start
ai_api_start
ai_org_setup

# --------------------------------------------------------- no provider --
# A dispatcher with no provider configured: the API says which setting.
ai_daemon_start none openai.api_key_file '""' gemini.api_key_file '""'
ai_generate
dl_ok "no provider configured: 503" same "$STATUS" 503
dl_ok "... naming the setting to set" has "$BODY" "openai.api_key"
dl_ok "... and no job was queued" same "$(dl_q "SELECT count(*) FROM caas.ai_jobs WHERE org_id = '$ORG'")" 0
dl_daemon_stop none

ai_daemon_start d1 ai.max_attempts 3

# ------------------------------------------------------------- success --
ai_fake_reset
ai_script openai ok
ai_generate '{variants:2, language:"en"}'
dl_ok "generate answers 202" same "$STATUS" 202
dl_ok "... with a Location naming the job" same "$(ai_header location)" "/api/v1/organizations/$ORG/ai/jobs/$JOB/"
dl_ok "... and the job URL in the body" same "$(ai_body .url)" "/api/v1/organizations/$ORG/ai/jobs/$JOB/"
dl_ok "the job succeeds" ai_wait_job "$JOB"
dl_ok "... state succeeded" same "$STATE" succeeded
dl_ok "... by OpenAI" same "$(ai_body .provider)" openai
CONTENT=$(ai_body .result.content_id)
dl_ok "... two versions written to a new content item" \
	same "$(dl_q "SELECT count(*) || ' ' || string_agg(DISTINCT source::text || '/' || ai_provider || '/' || ai_model, ',')
	              FROM caas.content_versions WHERE org_id = '$ORG' AND content_id = '$CONTENT'")" "2 ai/openai/gpt-4.1-mini"
dl_ok "... the versions carry the job's tokens" \
	same "$(dl_q "SELECT sum(v.prompt_tokens) = j.prompt_tokens AND sum(v.completion_tokens) = j.completion_tokens AND j.prompt_tokens > 0
	              FROM caas.content_versions v JOIN caas.ai_jobs j ON j.org_id = v.org_id AND j.job_id = '$JOB'
	             WHERE v.org_id = '$ORG' AND v.content_id = '$CONTENT' GROUP BY j.prompt_tokens, j.completion_tokens")" t
dl_ok "usage counts two generations" same "$(ai_usage .ai_generations.used)" 2
dl_ok "usage counts the tokens (thinking tokens included)" \
	same "$(ai_usage .ai_completion_tokens)" "$(dl_q "SELECT completion_tokens FROM caas.ai_jobs WHERE job_id = '$JOB'")"
REQ=$(ai_requests '[.[] | select(.provider == "openai")] | last')
dl_ok "the request was OpenAI Chat Completions with a JSON schema" \
	same "$(printf '%s' "$REQ" | jq -r '[.auth_ok, .body.model, .body.response_format.type, (.body.messages | map(.role) | join(","))] | join(" ")')" \
	"true gpt-4.1-mini json_schema system,user"
dl_ok "... the brief went as JSON data in the user message" \
	same "$(printf '%s' "$REQ" | jq -r '.body.messages[1].content | fromjson | .brief.topic')" "Launch of our scheduling API"
dl_ok "... and never into the system message" \
	bash -c '! printf "%s" "$1" | jq -r ".body.messages[0].content" | grep -q "scheduling API"' _ "$REQ"
dl_ok "no API key in any log" bash -c '! grep -rqF -e "$1" -e "$2" "$3"/*.log' _ "$AI_OPENAI_KEY" "$AI_GEMINI_KEY" "$DL_DIR"

# Adding to an existing item: a new version on top of the current one.
ai_req GET "/api/v1/organizations/$ORG/content/$CONTENT/" "" "$TOKEN"
BEFORE=$(ai_body .current_version)
ai_generate "{content_id:\"$CONTENT\"}"
ai_wait_job "$JOB"
dl_ok "generating for an existing item adds a version" \
	same "$STATE $(dl_q "SELECT current_version FROM caas.content WHERE content_id = '$CONTENT'")" "succeeded $((BEFORE + 1))"

# ----------------------------------------------- fallback, per class --
# Each of these goes to Gemini after one OpenAI call.
for step in insufficient_quota bad_request unauthorized forbidden not_found blocked; do
	ai_fake_reset
	ai_script openai ok "$step"
	ai_script gemini ok
	ai_generate
	ai_wait_job "$JOB"
	dl_ok "OpenAI $step: falls back to Gemini at once" \
		same "$STATE $(ai_body .provider) $(ai_requests '[.[] | select(.provider == "openai")] | length')" "succeeded gemini 1"
done
REQ=$(ai_requests '[.[] | select(.provider == "gemini")] | last')
dl_ok "the Gemini request was generateContent with systemInstruction and a schema" \
	same "$(printf '%s' "$REQ" | jq -r '[.auth_ok, (.body.systemInstruction.parts[0].text | length > 0), .body.generationConfig.responseMimeType] | join(" ")')" \
	"true true application/json"
dl_ok "... and the model is the one Gemini reported" same "$(dl_q "SELECT ai_model FROM caas.content_versions v JOIN caas.ai_jobs j ON j.org_id = v.org_id AND j.content_id = v.content_id WHERE j.job_id = '$JOB' LIMIT 1")" "gemini-2.5-flash"

# ------------------------------------------------ retries, per class --
# Each is retried on OpenAI and then succeeds there.
for step in rate_limit server_error unavailable malformed truncated; do
	ai_fake_reset
	ai_script openai ok "$step"
	ai_generate
	ai_wait_job "$JOB"
	dl_ok "OpenAI $step: retried on OpenAI, then succeeds" \
		same "$STATE $(ai_body .provider) $(ai_requests '[.[] | select(.provider == "openai")] | length')" "succeeded openai 2"
done
# The rate limit's hint (1 s) is honoured.
ai_fake_reset
ai_script openai ok rate_limit
ai_generate
ai_wait_job "$JOB"
GAP=$(ai_requests '[.[] | select(.provider == "openai") | .at_ms] | .[1] - .[0]')
dl_ok "the retry after a rate limit waits for the hint (1 s)" ge "$GAP" 950
dl_ok "... and the job's attempts show both calls" \
	same "$(ai_body '[.attempts[] | .class] | join(",")')" "retry,ok"
ai_fake_reset
ai_script gemini ok rate_limit
ai_daemon_start g1 ai.providers gemini,openai
dl_daemon_stop d1
ai_generate
ai_wait_job "$JOB"
dl_ok "Gemini RESOURCE_EXHAUSTED: retried on Gemini after its RetryInfo" \
	same "$STATE $(ai_body .provider) $(ai_requests '[.[] | select(.provider == "gemini")] | length')" "succeeded gemini 2"
dl_daemon_stop g1

# Timeouts: a hung request is given up after ai.request_timeout_ms and retried.
ai_daemon_start d2 ai.request_timeout_ms 1000 ai.max_attempts 2
ai_fake_reset
ai_script openai ok hang
ai_generate
ai_wait_job "$JOB"
dl_ok "OpenAI hangs: timed out, retried, succeeds" \
	same "$STATE $(ai_body .provider) $(ai_body '.attempts[0].code')" "succeeded openai timeout"

# Retries exhausted on OpenAI → Gemini.
ai_fake_reset
ai_script openai server_error
ai_script gemini ok
ai_generate
ai_wait_job "$JOB"
dl_ok "OpenAI 500 twice (max_attempts 2): Gemini takes over" \
	same "$STATE $(ai_body .provider) $(ai_requests '[.[] | select(.provider == "openai")] | length')" "succeeded gemini 2"

# ------------------------------------------------ every provider fails --
USED=$(ai_usage .ai_generations.used)
ai_fake_reset
ai_script openai unauthorized
ai_script gemini forbidden
ai_generate
ai_wait_job "$JOB"
dl_ok "every provider refuses: the job fails" same "$STATE" failed
dl_ok "... with the last provider's reason" has "$(ai_body .error.message)" "gemini"
dl_ok "... nothing consumed" same "$(ai_usage '"\(.ai_generations.used) \(.ai_generations.reserved)"')" "$USED 0"
dl_ok "... no content written" same "$(dl_q "SELECT content_id IS NULL FROM caas.ai_jobs WHERE job_id = '$JOB'")" t
dl_daemon_stop d2

# ------------------------------------------------- length enforcement --
ai_daemon_start d3 ai.max_reprompts 2
# One long answer, then a short one: re-prompted once.
ai_fake_reset
AI_LENGTH=400 ai_script openai ok long
ai_generate '{platform:"x"}'
ai_wait_job "$JOB"
dl_ok "X: a 400-character answer is re-prompted once" \
	same "$STATE $(ai_body .reprompts) $(ai_body .trimmed)" "succeeded 1 false"
REQ=$(ai_requests '[.[] | select(.provider == "openai")] | last')
dl_ok "... the re-prompt carries the answer and the limit" \
	same "$(printf '%s' "$REQ" | jq -r '(.body.messages | map(.role) | join(",")) + " " + (.body.messages[3].content | test("280") | tostring)')" \
	"system,user,assistant,user true"
# Always too long: trimmed at a sentence boundary after the re-prompts.
for spec in "x 400 280" "linkedin 3500 3000" "instagram 2600 2200"; do
	read -r platform length limit <<<"$spec"
	ai_fake_reset
	AI_LENGTH=$length ai_script openai long
	ai_generate "{platform:\"$platform\"}"
	ai_wait_job "$JOB"
	CONTENT=$(ai_body .result.content_id)
	dl_ok "$platform: always $length characters → trimmed after 2 re-prompts" \
		same "$STATE $(ai_body .reprompts) $(ai_body .trimmed)" "succeeded 2 true"
	dl_ok "... within $limit and ending a sentence" \
		same "$(dl_q "SELECT caas.text_length('$platform', body) <= $limit AND body ~ '[.!?…]\$' AND caas.text_length('$platform', body) > $limit / 2
		              FROM caas.content WHERE content_id = '$CONTENT'")" t
done
dl_daemon_stop d3

# ------------------------------------------------ OpenAI-compatible --
ai_daemon_start c1 ai.providers compat compat.name ollama compat.base_url "$AI_FAKE/compat/v1" compat.model llama3.1
ai_fake_reset
ai_script compat ok
ai_generate
ai_wait_job "$JOB"
dl_ok "an OpenAI-compatible server (compat.base_url) generates, recorded under compat.name" \
	same "$STATE $(ai_body .provider) $(ai_body .model)" "succeeded ollama llama3.1"
dl_daemon_stop c1

dl_done
