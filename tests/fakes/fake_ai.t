#!/usr/bin/env bash
# tests/fakes/fake_ai.t — the fake AI providers themselves, over real HTTP
# on loopback: OpenAI Chat Completions, Gemini generateContent and the
# OpenAI-compatible provider (generated answers, token counts, request
# validation, every scripted step), the control API, held connections,
# 200 concurrent delayed requests, a clean exit on SIGTERM and (when
# valgrind is installed) no leak.  TAP, for prove.  Needs build/fake_ai
# (make -C tests/fakes), curl, jq.  FAKE_AI_BIN=… tests another build;
# FAKE_NO_VALGRIND=1 skips the valgrind case (an ASan build cannot run
# under valgrind).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FAKE_BIN=${FAKE_AI_BIN:-$HERE/build/fake_ai}
TMP=$(mktemp -d /tmp/caas-fake-ai-t.XXXXXX)
FAKE_PID=
OKEY=sk-test-openai-0123
GKEY=gm-test-key-4567
n=0
fails=0

fake_stop() {
	if [ -n "$FAKE_PID" ] && kill -0 "$FAKE_PID" 2>/dev/null; then
		kill -TERM "$FAKE_PID"
		wait "$FAKE_PID" 2>/dev/null
	fi
	FAKE_PID=
}
trap 'fake_stop; rm -rf "$TMP"' EXIT

# fake_start [ARGS...] — start the fake on a free port (under "${WRAP[@]}"
# when set); sets B (base URL).
WRAP=()
fake_start() {
	local i
	: >"$TMP/out"
	"${WRAP[@]}" "$FAKE_BIN" --port 0 "$@" >"$TMP/out" 2>"$TMP/err" &
	FAKE_PID=$!
	for i in $(seq 1 300); do
		grep -q '^listening on ' "$TMP/out" && break
		kill -0 "$FAKE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '^listening on ' "$TMP/out"; then
		echo "Bail out! fake_ai did not start: $(cat "$TMP/err")"
		exit 1
	fi
	B="http://127.0.0.1:$(awk '/^listening on /{print $3}' "$TMP/out")"
}

# req METHOD PATH [BODY [EXTRA CURL ARGS...]] — sets STATUS, BODY,
# HEADERS (lower-cased names), RC (curl's exit), MS (elapsed).
req() {
	local m=$1 p=$2 body=${3:-} t0
	shift $(($# < 3 ? $# : 3))
	local args=(-sS -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' -X "$m" "$B$p")
	[ -n "$body" ] && args+=(--data-binary "$body" -H "Content-Type: application/json")
	: >"$TMP/body"
	: >"$TMP/headers"
	t0=$(date +%s%3N)
	STATUS=$(curl "${args[@]}" "$@" 2>/dev/null)
	RC=$?
	MS=$(($(date +%s%3N) - t0))
	BODY=$(cat "$TMP/body")
	HEADERS=$(tr 'A-Z' 'a-z' <"$TMP/headers" | tr -d '\r')
	printf '%s\n' "$BODY" >>"$TMP/all-bodies"
}

ok() {
	n=$((n + 1))
	if eval "$1"; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fails=$((fails + 1))
		echo "#   status: ${STATUS:-} rc: ${RC:-} body: ${BODY:0:400}"
	fi
}

jb() { printf '%s' "$BODY" | jq -r "$1" 2>/dev/null; }
hdr() { printf '%s\n' "$HEADERS" | awk -F': ' -v h="$1" '$1 == h {print $2}'; }
script() { req POST /_fake/script "$1"; }
stat_of() { curl -s "$B/_fake/stats" | jq -r "$1"; }
# wait_stat JQ VALUE — poll /_fake/stats until JQ gives VALUE (at most 5 s).
wait_stat() {
	local i
	for i in $(seq 1 50); do
		[ "$(stat_of "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# The dispatcher's user message: JSON data.  udata TOPIC VARIANTS MAXLEN
udata() { jq -nc --arg t "$1" --argjson n "$2" --argjson l "$3" \
	'{task: "write social media post variants", platform: "x", tone: "casual",
	  language: "en", variants: $n, max_length: $l,
	  brief: {topic: $t, key_points: ["one", "two"]}, brand_voice: "plain"}'; }
# obody USERTEXT [JQ FILTER] — an OpenAI request as the dispatcher sends it.
obody() { jq -nc --arg u "$1" '{model: "gpt-4.1-mini", temperature: 0.8,
	max_completion_tokens: 1024,
	messages: [{role: "system", content: "You write posts. Answer in JSON."},
	           {role: "user", content: $u}],
	response_format: {type: "json_schema", json_schema: {name: "posts", strict: true,
	  schema: {type: "object", properties: {variants: {type: "array", items: {type: "string"}}},
	           required: ["variants"], additionalProperties: false}}}}' | jq -c "${2:-.}"; }
# gbody USERTEXT [JQ FILTER] — a Gemini request as the dispatcher sends it.
gbody() { jq -nc --arg u "$1" '{systemInstruction: {parts: [{text: "You write posts."}]},
	contents: [{role: "user", parts: [{text: $u}]}],
	generationConfig: {temperature: 0.8, maxOutputTokens: 1024, candidateCount: 1,
	  responseMimeType: "application/json",
	  responseSchema: {type: "OBJECT", properties: {variants: {type: "ARRAY", items: {type: "STRING"}}},
	                   required: ["variants"]}}}' | jq -c "${2:-.}"; }
OPATH=/openai/v1/chat/completions
CPATH=/compat/v1/chat/completions
GPATH=/gemini/v1beta/models/gemini-2.5-flash:generateContent
oa() { req POST "$OPATH" "$1" -H "Authorization: Bearer ${2-$OKEY}"; }
gm() { req POST "$GPATH" "$1" -H "x-goog-api-key: ${2-$GKEY}"; }
# content: the assistant's text (OpenAI) or the candidate's text (Gemini).
ocontent() { jb '.choices[0].message.content'; }
gcontent() { jb '.candidates[0].content.parts[0].text'; }
# xlen: twitter-text's weighted length of stdin's string (URLs aside).
xlen() { jq -R 'explode | map(if . <= 4351 or (. >= 8192 and . <= 8205) or
	(. >= 8208 and . <= 8223) or (. >= 8242 and . <= 8247) then 1 else 2 end) | add // 0'; }

echo "1..103"
fake_start --openai-key "$OKEY" --gemini-key "$GKEY"

# ---- OpenAI: a generation
U3=$(udata "Spring sale" 3 280)
OB=$(obody "$U3")
t0=$(date +%s)
oa "$OB"
ok '[ "$STATUS" = 200 ] && [ "$(jb .object)" = chat.completion ] && [[ "$(jb .id)" == chatcmpl-* ]] && [ "$(jb .model)" = gpt-4.1-mini ] && [ "$(jb .created)" -ge "$t0" ]' \
	"OpenAI ok: 200, a chat.completion with id, model and created"
ok '[ "$(jb ".choices[0].index")" = 0 ] && [ "$(jb ".choices[0].message.role")" = assistant ] && [ "$(jb ".choices[0].message.refusal")" = null ] && [ "$(jb ".choices[0].finish_reason")" = stop ]' \
	"OpenAI ok: one choice, role assistant, refusal null, finish_reason stop"
C=$(ocontent)
ok '[ "$(printf "%s" "$C" | jq ".variants | length")" = 3 ] && [ "$(printf "%s" "$C" | jq -r ".variants[1]")" = "Spring sale — take 2: a draft by the fake openai. Short, clear and within the limit." ]' \
	"OpenAI ok: content is {\"variants\":[…]} with the 3 variants the user JSON asks for"
ok '[ "$(printf "%s" "$C" | jq "[.variants[] | length <= 200] | all")" = true ]' \
	"OpenAI ok: every variant within min(max_length, 200) characters"
PT=$(printf '%s' "$OB" | jq '[.messages[].content] | join("") | length / 4 | floor | if . < 1 then 1 else . end')
CT=$(($(printf '%s' "$C" | jq -R 'length / 4 | floor') + 3))
ok '[ "$(jb .usage.prompt_tokens)" = "$PT" ] && [ "$(jb .usage.completion_tokens)" = "$CT" ] && [ "$(jb .usage.total_tokens)" = $((PT + CT)) ] && [ "$(jb .usage.completion_tokens_details.reasoning_tokens)" = 3 ]' \
	"OpenAI ok: usage = characters / 4, completion includes 3 reasoning tokens"
ok '[ -n "$(hdr x-request-id)" ] && [ "$(hdr x-ratelimit-remaining-requests)" = 499 ]' \
	"OpenAI ok: x-request-id and x-ratelimit headers"
oa "$OB"
ok '[ "$(ocontent)" = "$C" ] && [ "$(jb .id)" != chatcmpl-fake1 ]' \
	"OpenAI ok: the text is deterministic (the id is not)"
oa "$(obody "$(udata "A rather long topic about the spring sale of garden furniture" 2 40)")"
ok '[ "$(ocontent | jq "[.variants[] | length <= 40 and length > 0] | all")" = true ] && [ "$(ocontent | jq ".variants | length")" = 2 ]' \
	"OpenAI ok: variants are cut to a small max_length"
oa "$(obody "$(udata "日本語のトピックについての投稿" 1 30)")"
ok '[ "$(ocontent | jq -r ".variants[0]" | xlen)" -le 30 ] && [[ "$(ocontent | jq -r ".variants[0]")" == 日本語* ]]' \
	"OpenAI ok: the limit is X's weighted count (CJK counts 2)"
oa "$(obody "Write me a post about cats")"
ok '[ "$(ocontent | jq ".variants | length")" = 1 ] && [[ "$(ocontent | jq -r ".variants[0]")" == "post — take 1: "* ]]' \
	"OpenAI ok: a user message that is not JSON → topic \"post\", 1 variant"
RP=$(obody "$(udata "Reprompt topic" 2 100)" '.messages += [{role: "assistant", content: "{\"variants\":[\"x\"]}"}, {role: "user", content: "Variant 1 is 400 characters; keep each within 100."}]')
oa "$RP"
ok '[ "$STATUS" = 200 ] && [ "$(ocontent | jq ".variants | length")" = 2 ] && [[ "$(ocontent | jq -r ".variants[0]")" == "Reprompt topic — take 1"* ]]' \
	"OpenAI ok: a re-prompt is answered from the FIRST user message"

# ---- OpenAI: request validation, as the real API
oa "$OB" ''
ok '[ "$STATUS" = 401 ] && [ "$(jb .error.type)" = invalid_request_error ] && [[ "$(jb .error.message)" == "You didn'"'"'t provide an API key"* ]] && [ "$(jb .error.code)" = null ]' \
	"OpenAI: no key → 401 invalid_request_error"
oa "$OB" sk-wrong-SECRET99
ok '[ "$STATUS" = 401 ] && [ "$(jb .error.code)" = invalid_api_key ] && [ "$(jb .error.param)" = null ] && [[ "$BODY" != *SECRET99* ]]' \
	"OpenAI: a wrong key → 401 invalid_api_key, the key not echoed"
oa '{"model": "gpt-4.1-mini", "messages": [' 
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.type)" = invalid_request_error ] && [[ "$(jb .error.message)" == "We could not parse the JSON body"* ]]' \
	"OpenAI: a body that is not JSON → 400"
oa "$(obody x 'del(.model)')"
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.message)" = "you must provide a model parameter" ]' "OpenAI: no model → 400"
oa "$(obody x '.messages = []')"
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.code)" = empty_array ] && [ "$(jb .error.param)" = messages ]' \
	"OpenAI: empty messages → 400 empty_array"
oa "$(obody x '.messages[1].role = "bot"')"
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.code)" = invalid_value ] && [ "$(jb .error.param)" = "messages[1].role" ]' \
	"OpenAI: a bad role → 400 invalid_value"
oa "$(obody x 'del(.messages[1].content)')"
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.code)" = missing_required_parameter ] && [ "$(jb .error.param)" = "messages[1].content" ]' \
	"OpenAI: a message without content → 400"
oa "$(obody x '.max_output_tokens = 10')"
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.message)" = "Unrecognized request argument supplied: max_output_tokens" ]' \
	"OpenAI: an unknown parameter → 400 Unrecognized request argument"
oa "$(obody x 'del(.response_format.json_schema.schema.additionalProperties)')"
ok '[ "$STATUS" = 400 ] && [[ "$(jb .error.message)" == *"'"'"'additionalProperties'"'"' is required to be supplied and to be false"* ]]' \
	"OpenAI: a strict schema without additionalProperties false → 400"
oa "$(obody x '.response_format.json_schema.schema.required = []')"
ok '[ "$STATUS" = 400 ] && [[ "$(jb .error.message)" == *"'"'"'required'"'"' is required"* ]]' \
	"OpenAI: a strict schema not requiring every property → 400"
oa "$(obody x '.response_format = {type: "json_object"} | .messages[0].content = "Write posts."')"
ok '[ "$STATUS" = 400 ] && [[ "$(jb .error.message)" == *"must contain the word '"'"'json'"'"'"* ]]' \
	"OpenAI: json_object without the word json in the messages → 400"
oa "$(obody x '.temperature = 3')"
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.code)" = decimal_above_max_value ]' "OpenAI: temperature 3 → 400"
oa "$(obody x '.messages[1].content = [{type: "text", text: "parts"}] | .n = 2')"
ok '[ "$STATUS" = 200 ] && [ "$(jb ".choices | length")" = 2 ] && [ "$(jb ".choices[1].index")" = 1 ]' \
	"OpenAI: content parts are accepted; n choices are answered"
req GET "$OPATH" '' -H "Authorization: Bearer $OKEY"
ok '[ "$STATUS" = 404 ] && [ "$(jb .error.message)" = "Invalid URL (GET /v1/chat/completions)" ]' "OpenAI: a wrong method → 404 Invalid URL"
script '{"provider": "openai", "steps": ["rate_limit"]}'
oa "$OB" ''
s1=$STATUS
oa "$OB"
ok '[ "$s1" = 401 ] && [ "$STATUS" = 429 ]' "a rejected request does not take a step"

# ---- OpenAI: the steps
script '{"provider": "openai", "steps": ["rate_limit"]}'
oa "$OB"
ok '[ "$STATUS" = 429 ] && [ "$(jb .error.code)" = rate_limit_exceeded ] && [ "$(jb .error.type)" = requests ] && [ "$(jb .error.param)" = null ] && [[ "$(jb .error.message)" == *"Please try again in 1s."* ]]' \
	"rate_limit: 429 rate_limit_exceeded, \"Please try again in 1s.\""
ok '[ "$(hdr retry-after)" = 1 ] && [ "$(hdr x-ratelimit-reset-requests)" = 1s ] && [ "$(hdr x-ratelimit-remaining-requests)" = 0 ]' \
	"rate_limit: retry-after 1, x-ratelimit-reset-requests 1s, remaining 0"
script '{"provider": "openai", "steps": ["rate_limit"], "retry_after_ms": 250}'
oa "$OB"
ok '[ "$(hdr retry-after)" = 1 ] && [ "$(hdr x-ratelimit-reset-requests)" = 250ms ] && [[ "$(jb .error.message)" == *"try again in 250ms."* ]]' \
	"rate_limit: retry_after_ms 250 → reset 250ms (retry-after rounds up)"
script '{"provider": "openai", "steps": ["rate_limit"], "retry_after_ms": 90000}'
oa "$OB"
ok '[ "$(hdr retry-after)" = 90 ] && [ "$(hdr x-ratelimit-reset-requests)" = 1m30s ]' \
	"rate_limit: a long hint in Go's duration format (1m30s)"
script '{"provider": "openai", "steps": ["insufficient_quota", "server_error", "unavailable", "bad_request", "unauthorized", "forbidden", "not_found"]}'
oa "$OB"
ok '[ "$STATUS" = 429 ] && [ "$(jb .error.code)" = insufficient_quota ] && [ "$(jb .error.type)" = insufficient_quota ] && [ -z "$(hdr retry-after)" ]' \
	"insufficient_quota: 429 insufficient_quota, no retry hint"
oa "$OB"
ok '[ "$STATUS" = 500 ] && [ "$(jb .error.type)" = server_error ]' "server_error: 500"
oa "$OB"
ok '[ "$STATUS" = 503 ] && [ "$(jb .error.type)" = server_error ]' "unavailable: 503"
oa "$OB"
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.type)" = invalid_request_error ] && [ "$(jb ".error | keys | join(\",\")")" = "code,message,param,type" ]' \
	"bad_request: 400 invalid_request_error {message, type, param, code}"
oa "$OB"
ok '[ "$STATUS" = 401 ] && [ "$(jb .error.code)" = invalid_api_key ]' "unauthorized: 401 invalid_api_key"
oa "$OB"
ok '[ "$STATUS" = 403 ] && [ -n "$(jb .error.message)" ]' "forbidden: 403"
oa "$OB"
ok '[ "$STATUS" = 404 ] && [ "$(jb .error.code)" = model_not_found ] && [[ "$(jb .error.message)" == *gpt-4.1-mini* ]]' \
	"not_found: 404 model_not_found naming the model"
script '{"provider": "openai", "steps": ["malformed", "truncated", "blocked", "refusal", "empty", "text", "fenced"]}'
oa "$OB"
ok '[ "$STATUS" = 200 ] && ! printf "%s" "$BODY" | jq . >/dev/null 2>&1' "malformed: 200, the body is not JSON"
oa "$OB"
T=$(ocontent)
ok '[ "$(jb ".choices[0].finish_reason")" = length ] && ! printf "%s" "$T" | jq . >/dev/null 2>&1 && [ -n "$T" ] && [[ "$C" == "$T"* ]]' \
	"truncated: finish_reason length, the content cut (not JSON)"
oa "$OB"
ok '[ "$(jb ".choices[0].finish_reason")" = content_filter ] && [ "$(ocontent)" = null ] && [ "$(jb .usage.completion_tokens)" = 3 ]' \
	"blocked: finish_reason content_filter, no content"
oa "$OB"
ok '[ "$(ocontent)" = null ] && [ -n "$(jb ".choices[0].message.refusal | strings")" ] && [ "$(jb ".choices[0].finish_reason")" = stop ]' \
	"refusal: message.refusal set, content null"
oa "$OB"
ok '[ "$(ocontent)" = "{\"variants\":[]}" ]' "empty: no variants"
oa "$OB"
ok '[ "$(ocontent)" = "Spring sale — take 1: a draft by the fake openai. Short, clear and within the limit." ]' \
	"text: plain text, not JSON"
oa "$OB"
ok '[[ "$(ocontent)" == "\`\`\`json"* ]] && [ "$(ocontent | sed "1d;\$d" | jq ".variants | length")" = 3 ]' \
	"fenced: a \`\`\`json block holding the variants"
script '{"provider": "openai", "steps": ["long", "long", "long_one"], "default": "ok"}'
oa "$OB"
ok '[ "$(ocontent | jq "[.variants[] | length] | map(. >= 399 and . <= 400) | all")" = true ] && [[ "$(ocontent | jq -r ".variants[0]")" == *"draft by the fake openai. Sentence 2 "* ]]' \
	"long: variants of 400 characters (default length), in sentences"
script '{"provider": "openai", "steps": ["long"], "length": 1000}'
oa "$OB"
ok '[ "$(ocontent | jq "[.variants[] | length] | map(. >= 999 and . <= 1000) | all")" = true ]' "long: length 1000"
script '{"provider": "openai", "steps": ["long_one"]}'
oa "$OB"
ok '[ "$(ocontent | jq ".variants[0] | length")" -ge 399 ] && [ "$(ocontent | jq ".variants[1] | length")" -le 200 ]' \
	"long_one: only the first variant is long"
script '{"provider": "openai", "steps": ["rate_limit", "server_error"], "default": "ok"}'
oa "$OB"
s1=$STATUS
oa "$OB"
s2=$STATUS
oa "$OB"
s3=$STATUS
oa "$OB"
ok '[ "$s1" = 429 ] && [ "$s2" = 500 ] && [ "$s3" = 200 ] && [ "$STATUS" = 200 ]' "script: steps in order, then the default"
script '{"provider": "openai", "default": "unavailable"}'
oa "$OB"
s1=$STATUS
oa "$OB"
ok '[ "$s1" = 503 ] && [ "$STATUS" = 503 ]' "script: a non-ok default holds"

# ---- compat
oa_c() { req POST "$CPATH" "$1" "${@:2}"; }
script '{"provider": "openai", "steps": ["server_error"]}'
oa_c "$(obody "$U3" '.model = "llama3.1" | .keep_alive = "5m"')"
ok '[ "$STATUS" = 200 ] && [ "$(jb .model)" = llama3.1 ] && [[ "$(ocontent | jq -r ".variants[0]")" == *"fake compat"* ]] && [ -z "$(hdr x-request-id)" ]' \
	"compat: no key needed, lenient about extra parameters, its own name in the text"
oa "$OB"
ok '[ "$STATUS" = 500 ]' "compat: scripts are per provider (openai's server_error was still waiting)"
oa_c "$(obody "$U3" 'del(.messages)')"
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.code)" = missing_required_parameter ]' "compat: the body is still checked"

# ---- Gemini
U2=$(udata "Launch day" 2 3000)
GB=$(gbody "$U2")
gm "$GB"
G=$(gcontent)
ok '[ "$STATUS" = 200 ] && [ "$(jb ".candidates[0].content.role")" = model ] && [ "$(jb ".candidates[0].finishReason")" = STOP ] && [ "$(jb ".candidates[0].index")" = 0 ]' \
	"Gemini ok: a candidate, role model, finishReason STOP"
ok '[ "$(printf "%s" "$G" | jq -r ".variants | length")" = 2 ] && [ "$(printf "%s" "$G" | jq -r ".variants[0]")" = "Launch day — take 1: a draft by the fake gemini. Short, clear and within the limit." ]' \
	"Gemini ok: the variants the user JSON asks for"
GPT=$(printf '%s' "$GB" | jq '[.systemInstruction.parts[].text, .contents[].parts[].text] | join("") | length / 4 | floor')
GCT=$(printf '%s' "$G" | jq -R 'length / 4 | floor')
ok '[ "$(jb .usageMetadata.promptTokenCount)" = "$GPT" ] && [ "$(jb .usageMetadata.candidatesTokenCount)" = "$GCT" ] && [ "$(jb .usageMetadata.thoughtsTokenCount)" = 3 ] && [ "$(jb .usageMetadata.totalTokenCount)" = $((GPT + GCT + 3)) ]' \
	"Gemini ok: usageMetadata with thoughtsTokenCount 3, total = prompt + candidates + thoughts"
ok '[ "$(jb .modelVersion)" = gemini-2.5-flash ] && [ -n "$(jb .responseId)" ]' "Gemini ok: modelVersion and responseId"
req POST "$GPATH?key=$GKEY" "$GB"
ok '[ "$STATUS" = 200 ]' "Gemini: ?key= works as well as x-goog-api-key"
gm "$(gbody "$U2" '.system_instruction = .systemInstruction | del(.systemInstruction) | .generation_config = .generationConfig | del(.generationConfig)')"
ok '[ "$STATUS" = 200 ]' "Gemini: snake_case field names are accepted (proto JSON)"
gm "$GB" ''
ok '[ "$STATUS" = 403 ] && [ "$(jb .error.status)" = PERMISSION_DENIED ] && [ "$(jb .error.code)" = 403 ]' "Gemini: no key → 403 PERMISSION_DENIED"
gm "$GB" gm-wrong-SECRET77
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.status)" = INVALID_ARGUMENT ] && [ "$(jb ".error.details[0].reason")" = API_KEY_INVALID ] && [[ "$BODY" != *SECRET77* ]]' \
	"Gemini: a wrong key → 400 API_KEY_INVALID, the key not echoed"
gm "$(gbody x 'del(.contents)')"
ok '[ "$STATUS" = 400 ] && [[ "$(jb .error.message)" == *"contents is not specified"* ]]' "Gemini: no contents → 400"
gm "$(gbody x '.contents[0].role = "assistant"')"
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.message)" = "Please use a valid role: user, model." ]' "Gemini: role assistant → 400"
gm "$(gbody x '.contents[0].parts = []')"
ok '[ "$STATUS" = 400 ] && [[ "$(jb .error.message)" == *"parts must not be empty"* ]]' "Gemini: empty parts → 400"
gm "$(gbody x '.system = "x"')"
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.message)" = "Invalid JSON payload received. Unknown name \"system\": Cannot find field." ] && [ "$(jb ".error.details[0].\"@type\"")" = type.googleapis.com/google.rpc.BadRequest ]' \
	"Gemini: an unknown field → 400 Unknown name"
gm "$(gbody x '.generationConfig.max_tokens = 5')"
ok '[ "$STATUS" = 400 ] && [[ "$(jb .error.message)" == *"Unknown name \"max_tokens\" at '"'"'generation_config'"'"'"* ]]' \
	"Gemini: an unknown generationConfig field → 400"
gm "$(gbody x '.generationConfig.responseSchema.additionalProperties = false')"
ok '[ "$STATUS" = 400 ] && [[ "$(jb .error.message)" == *"Unknown name \"additionalProperties\""* ]]' \
	"Gemini: additionalProperties in responseSchema → 400 (OpenAI's schema does not fit)"
gm "$(gbody x 'del(.generationConfig.responseMimeType)')"
ok '[ "$STATUS" = 400 ] && [[ "$(jb .error.message)" == *response_mime_type* ]]' "Gemini: responseSchema without responseMimeType → 400"
gm 'not json'
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.status)" = INVALID_ARGUMENT ]' "Gemini: a body that is not JSON → 400"
req POST /gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent "$GB" -H "x-goog-api-key: $GKEY"
ok '[ "$STATUS" = 404 ] && [ "$(jb .error.status)" = NOT_FOUND ]' "Gemini: another method → 404"
script '{"provider": "gemini", "steps": ["rate_limit"]}'
gm "$GB"
ok '[ "$STATUS" = 429 ] && [ "$(jb .error.code)" = 429 ] && [ "$(jb .error.status)" = RESOURCE_EXHAUSTED ] && [ "$(jb ".error.details[] | select(.\"@type\" == \"type.googleapis.com/google.rpc.RetryInfo\") | .retryDelay")" = 1s ]' \
	"Gemini rate_limit: 429 RESOURCE_EXHAUSTED with RetryInfo retryDelay 1s"
script '{"provider": "gemini", "steps": ["rate_limit"], "retry_after_ms": 1500}'
gm "$GB"
ok '[ "$(jb ".error.details[-1].retryDelay")" = 1.500s ] && [[ "$(jb .error.message)" == *"Please retry in 1.500s."* ]]' \
	"Gemini rate_limit: retry_after_ms 1500 → retryDelay 1.500s"
script '{"provider": "gemini", "steps": ["insufficient_quota", "server_error", "unavailable", "bad_request", "unauthorized", "forbidden", "not_found"]}'
codes=
for i in 1 2 3 4 5 6 7; do
	gm "$GB"
	codes="$codes $STATUS:$(jb .error.status):$(jb '.error.details | type')"
done
ok '[ "$codes" = " 400:FAILED_PRECONDITION:array 500:INTERNAL:array 503:UNAVAILABLE:array 400:INVALID_ARGUMENT:array 401:UNAUTHENTICATED:array 403:PERMISSION_DENIED:array 404:NOT_FOUND:array" ]' \
	"Gemini errors: {code, message, status, details} for each error step"
ok '[[ "$(jb .error.message)" == "models/gemini-2.5-flash is not found"* ]]' "Gemini not_found names the model"
script '{"provider": "gemini", "steps": ["truncated", "blocked", "prompt_blocked", "malformed", "long"]}'
gm "$GB"
ok '[ "$(jb ".candidates[0].finishReason")" = MAX_TOKENS ] && ! gcontent | jq . >/dev/null 2>&1 && [[ "$G" == "$(gcontent)"* ]]' \
	"Gemini truncated: finishReason MAX_TOKENS, the text cut"
gm "$GB"
ok '[ "$(jb ".candidates[0].finishReason")" = SAFETY ] && [ "$(jb ".candidates[0].content")" = null ] && [ "$(jb "[.candidates[0].safetyRatings[] | select(.blocked)] | length")" = 1 ]' \
	"Gemini blocked: finishReason SAFETY, no content"
gm "$GB"
ok '[ "$(jb .promptFeedback.blockReason)" = SAFETY ] && [ "$(jb .candidates)" = null ]' \
	"Gemini prompt_blocked: promptFeedback.blockReason, no candidates"
gm "$GB"
ok '[ "$STATUS" = 200 ] && ! printf "%s" "$BODY" | jq . >/dev/null 2>&1' "Gemini malformed: 200, not JSON"
gm "$GB"
ok '[ "$(gcontent | jq "[.variants[] | length] | map(. >= 399 and . <= 400) | all")" = true ]' "Gemini long: 400 characters"

# ---- delays, close, hang
script '{"provider": "*", "steps": [], "delay_ms": 300}'
oa "$OB"
ok '[ "$STATUS" = 200 ] && [ "$MS" -ge 300 ]' "delay_ms: the answer waits"
script '{"provider": "gemini", "steps": ["rate_limit"], "delay_ms": 300}'
gm "$GB"
ok '[ "$STATUS" = 429 ] && [ "$MS" -ge 300 ]' "delay_ms: errors wait too"
script '{"provider": "*", "steps": ["close"]}'
oa "$OB"
ok '[ "$RC" = 52 ]' "close: the connection is dropped unanswered (curl 52)"
script '{"provider": "openai", "steps": ["hang"]}'
curl -s -o /dev/null -m 2 -X POST "$B$OPATH" -H "Authorization: Bearer $OKEY" --data-binary "$OB" &
HANG_PID=$!
wait_stat .held.hung 1
oa "$OB"
ok '[ "$STATUS" = 200 ] && [ "$MS" -lt 1000 ]' "hang: other requests are answered meanwhile"
wait "$HANG_PID"
hang_rc=$?
ok '[ "$hang_rc" = 28 ]' "hang: no answer until the client gives up (curl 28)"
wait_stat .in_flight 0
ok '[ "$(stat_of .in_flight)" = 0 ] && [ "$(stat_of .held.hung)" = 0 ]' "hang: a client that leaves frees its request"
script '{"provider": "gemini", "steps": ["hang"]}'
curl -s -o /dev/null -m 20 -X POST "$B$GPATH" -H "x-goog-api-key: $GKEY" --data-binary "$GB" &
HANG_PID=$!
wait_stat .held.hung 1
req POST /_fake/reset
wait "$HANG_PID"
hang_rc=$?
ok '[ "$STATUS" = 200 ] && [ "$hang_rc" = 52 ]' "reset: a held request is closed unanswered"
gm "$GB"
ok '[ "$STATUS" = 200 ] && [ "$(stat_of .requests)" = 1 ] && [ "$(stat_of .providers.gemini.steps.ok)" = 1 ]' \
	"reset: scripts back to ok, counters back to zero"

# ---- 200 concurrent delayed requests
script '{"provider": "openai", "delay_ms": 1000}'
printf '%s' "$OB" >"$TMP/ob.json"
t0=$(date +%s%3N)
curl -s -Z --parallel-max 250 --parallel-immediate -o /dev/null -w '%{http_code}\n' \
	-X POST -H "Authorization: Bearer $OKEY" -H 'Content-Type: application/json' \
	--data-binary @"$TMP/ob.json" "$B$OPATH?i=[1-200]" >"$TMP/codes" 2>/dev/null
el=$(($(date +%s%3N) - t0))
ok '[ "$(grep -c "^200$" "$TMP/codes")" = 200 ] && [ "$el" -ge 1000 ] && [ "$el" -lt 4000 ]' \
	"200 concurrent requests delayed 1000 ms all answer 200 in about 1 s (took ${el} ms)"
ok '[ "$(stat_of .max_in_flight)" -ge 180 ]' "200 concurrent: they were held at the same time (max_in_flight $(stat_of .max_in_flight))"
script '{"provider": "openai"}'

# ---- control API
req POST /_fake/reset
t0=$(date +%s%3N)
oa "$OB"
oa "$OB" sk-bad-SECRET55
gm "$GB"
req POST /nowhere '{}'
ok '[ "$STATUS" = 404 ]' "an unknown path → 404"
t1=$(date +%s%3N)
req GET /_fake/requests
ok '[ "$(jb length)" = 4 ] && [ "$(jb ".[0].provider")" = openai ] && [ "$(jb ".[0].path")" = "$OPATH" ] && [ "$(jb ".[0].model")" = gpt-4.1-mini ] && [ "$(jb ".[0].auth_ok")" = true ] && [ "$(jb ".[0].step")" = ok ] && [ "$(jb ".[0].status")" = 200 ]' \
	"requests: provider, path, model, auth_ok, step, status"
ok '[ "$(jb ".[0].body.messages[1].content | fromjson | .brief.topic")" = "Spring sale" ] && [ "$(jb ".[0].at_ms")" -ge "$t0" ] && [ "$(jb ".[0].at_ms")" -le "$t1" ]' \
	"requests: body (parsed JSON) and at_ms (wall clock)"
ok '[ "$(jb ".[1].auth_ok")" = false ] && [ "$(jb ".[1].step")" = null ] && [ "$(jb ".[1].status")" = 401 ] && [ "$(jb ".[3].provider")" = null ]' \
	"requests: a rejected request has no step; an unknown path no provider"
ok '[[ "$BODY" != *SECRET55* ]] && [[ "$BODY" != *"$OKEY"* ]] && [[ "$BODY" != *"$GKEY"* ]]' \
	"requests: never a key"
req GET '/_fake/requests?provider=gemini'
ok '[ "$(jb length)" = 1 ] && [ "$(jb ".[0].model")" = gemini-2.5-flash ]' "requests: ?provider= filters"
req GET /_fake/stats
ok '[ "$(jb .requests)" = 4 ] && [ "$(jb .other)" = 1 ] && [ "$(jb .providers.openai.requests)" = 2 ] && [ "$(jb .providers.openai.rejected)" = 1 ] && [ "$(jb .providers.openai.steps.ok)" = 1 ] && [ "$(jb .steps.ok)" = 2 ]' \
	"stats: counts per provider and per step"
script '{"provider": "compat", "steps": ["hang", "ok"], "default": "blocked", "delay_ms": 5}'
req GET /_fake/stats
ok '[ "$(jb ".providers.compat.script.steps_left | join(\",\")")" = hang,ok ] && [ "$(jb .providers.compat.script.default)" = blocked ]' \
	"stats: the scripts' steps left and default"
script '{"provider": "openai", "steps": ["sideways"]}'
s1=$STATUS
script '{"provider": "mistral", "steps": []}'
s2=$STATUS
script '{"provider": "openai", "delay_ms": -1}'
ok '[ "$s1" = 400 ] && [ "$s2" = 400 ] && [ "$STATUS" = 400 ]' "script: an unknown step, provider or a bad delay → 400"
ok '! grep -q -e "$OKEY" -e "$GKEY" -e SECRET "$TMP/all-bodies" "$TMP/err"' \
	"no answer and no log line ever carries a key"
kill -TERM "$FAKE_PID"
wait "$FAKE_PID"
rc=$?
FAKE_PID=
ok '[ "$rc" = 0 ]' "SIGTERM: exit 0"

# ---- --log-max
fake_start --log-max 3 --compat-key ck-secret-1
for i in 1 2 3 4 5; do oa "$(obody "$(udata "t$i" 1 100)")" any-key; done
req GET /_fake/requests
ok '[ "$(jb length)" = 3 ] && [ "$(jb ".[0].body.messages[1].content | fromjson | .brief.topic")" = t3 ] && [ "$(stat_of .dropped)" = 2 ] && [ "$(stat_of .requests)" = 5 ]' \
	"--log-max: the log keeps the last N requests, counting the dropped ones"
oa "$OB" ''
ok '[ "$STATUS" = 401 ]' "no --openai-key: any key is taken, but not none"
req POST "$CPATH" "$OB"
s1=$STATUS
req POST "$CPATH" "$OB" -H 'Authorization: Bearer ck-other'
s2=$STATUS
req POST "$CPATH" "$OB" -H 'Authorization: Bearer ck-secret-1'
ok '[ "$s1" = 401 ] && [ "$s2" = 401 ] && [ "$STATUS" = 200 ]' "--compat-key: compat then needs that key"
fake_stop

# ---- valgrind: every provider, a hung and a delayed request, then SIGTERM
if [ -z "${FAKE_NO_VALGRIND:-}" ] && command -v valgrind >/dev/null 2>&1; then
	WRAP=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
		--error-exitcode=99 --log-file="$TMP/vg")
	fake_start --openai-key "$OKEY" --gemini-key "$GKEY" --compat-key ck --log-max 3
	WRAP=()
	oa "$OB"
	gm "$GB"
	req POST "$CPATH" "$OB" -H 'Authorization: Bearer ck'
	script '{"provider": "*", "steps": ["truncated", "blocked", "rate_limit", "long"]}'
	for i in 1 2 3 4; do oa "$OB"; gm "$GB"; done
	oa '{' ''
	script '{"provider": "openai", "steps": ["hang"]}'
	curl -s -o /dev/null -m 20 -X POST "$B$OPATH" -H "Authorization: Bearer $OKEY" --data-binary "$OB" &
	script '{"provider": "gemini", "delay_ms": 60000}'
	curl -s -o /dev/null -m 20 -X POST "$B$GPATH" -H "x-goog-api-key: $GKEY" --data-binary "$GB" &
	wait_stat '.held.hung + .held.delayed' 2
	req GET /_fake/requests
	kill -TERM "$FAKE_PID"
	wait "$FAKE_PID"
	rc=$?
	FAKE_PID=
	wait
	ok '[ "$rc" = 0 ] && [ ! -s "$TMP/vg" ]' "valgrind: no error, no leak on SIGTERM with held connections"
	if [ -s "$TMP/vg" ]; then
		sed 's/^/# /' "$TMP/vg" | head -40
	fi
else
	echo "ok $((n + 1)) # SKIP valgrind not installed or FAKE_NO_VALGRIND set"
fi
exit $((fails > 0))
