# shellcheck shell=bash
# tests/integration/ai_lib.sh — what the AI generation tests
# (tests/integration/ai_*.t) and bench/ai_bench.sh share, on top of
# dispatch_lib.sh (private cluster, dispatcher daemons, bounded waits):
# the fake OpenAI/Gemini server (tests/fakes/build/fake_ai), caas-api on
# loopback against the private cluster, a user who owns an organisation
# with a workspace (made through the API), and generation requests.
# Sourced, not run.
#
# Every generation goes the way a user's does: POST .../content/generate/
# (202 and a job URL), the dispatcher claims the job, calls the fake with
# the real protocols and records the outcome; the tests read the job over
# HTTP (long-poll) and the database as the superuser.  The fake's API keys
# reach the dispatcher through *_file settings, never a command line or a
# log line.
#
# Environment: as dispatch_lib.sh, plus AI_FAKE_BIN and AI_API_BIN (other
# builds of the fake and of caas-api).

# shellcheck source=dispatch_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/dispatch_lib.sh"

AI_FAKE_BIN=${AI_FAKE_BIN:-$DL_REPO/tests/fakes/build/fake_ai}
AI_API_BIN=${AI_API_BIN:-$DL_REPO/api/build/caas-api}
AI_FAKE_PID=""
AI_API_PID=""
AI_OPENAI_KEY="sk-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
AI_GEMINI_KEY="gm-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

ai_cleanup() {
	for pid in "$AI_API_PID" "$AI_FAKE_PID"; do
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	dl_cleanup
}
trap ai_cleanup EXIT

# ------------------------------------------------------------ the fake --

# ai_fake_start: fake_ai on a free loopback port; sets AI_FAKE (base URL).
ai_fake_start() {
	local port
	[ -x "$AI_FAKE_BIN" ] || dl_bail "tests/fakes/build/fake_ai is missing (make -C tests/fakes)"
	(umask 077 && printf '%s' "$AI_OPENAI_KEY" >"$DL_DIR/openai_key" && printf '%s' "$AI_GEMINI_KEY" >"$DL_DIR/gemini_key")
	[ "$(id -u)" -eq 0 ] && chown postgres: "$DL_DIR/openai_key" "$DL_DIR/gemini_key"
	"$AI_FAKE_BIN" --port 0 --openai-key "$AI_OPENAI_KEY" --gemini-key "$AI_GEMINI_KEY" --compat-key "" \
		>"$DL_DIR/fake_ai.log" 2>&1 &
	AI_FAKE_PID=$!
	dl_wait 10 grep -q "listening on [0-9]" "$DL_DIR/fake_ai.log" || dl_bail "the fake AI server did not start"
	port=$(sed -n 's/.*listening on \([0-9]*\).*/\1/p' "$DL_DIR/fake_ai.log" | head -n 1)
	AI_FAKE="http://127.0.0.1:$port"
	FAKE=$AI_FAKE	# dispatch_lib's platform settings point somewhere harmless
}

# ai_script PROVIDER DEFAULT [STEP...]: the fake answers PROVIDER's next
# requests with STEPs, then with DEFAULT.  AI_DELAY_MS and AI_LENGTH (the
# "long" step's length) apply when set.
ai_script() {
	local p=$1 d=$2 body
	shift 2
	body=$(jq -cn --arg p "$p" --arg d "$d" --argjson delay "${AI_DELAY_MS:-0}" --argjson len "${AI_LENGTH:-400}" \
		'{provider:$p, default:$d, steps:$ARGS.positional, delay_ms:$delay, length:$len}' --args "$@")
	curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary "$body" "$AI_FAKE/_fake/script" ||
		dl_bail "the fake refused the script $body"
}
ai_fake_reset() { curl -fsS -o /dev/null -X POST "$AI_FAKE/_fake/reset" || dl_bail "the fake refused a reset"; }
# ai_requests [JQ-FILTER]: the requests the fake received, filtered.
ai_requests() { curl -fsS "$AI_FAKE/_fake/requests" | jq -c "${1:-.}"; }

# ---------------------------------------------------------- dispatcher --

# ai_daemon_start NAME [KEY VALUE]...: a dispatcher whose providers are the
# fake's (OpenAI then Gemini, keys from files) with short timeouts; KEY
# VALUE pairs add or replace settings ("openai.api_key_file ''" removes a
# provider).
ai_daemon_start() {
	local name=$1
	shift
	dl_daemon_start "$name" \
		openai.base_url "$AI_FAKE/openai/v1" openai.api_key_file "$DL_DIR/openai_key" openai.model gpt-4.1-mini \
		gemini.base_url "$AI_FAKE/gemini/v1beta" gemini.api_key_file "$DL_DIR/gemini_key" gemini.model gemini-2.5-flash \
		ai.request_timeout_ms 5000 ai.retry_hint_max_ms 3000 ai.lease_seconds 600 \
		"$@"
}

# ----------------------------------------------------------------- API --

# ai_api_start: caas-api on a free loopback port against the private
# cluster; sets API.  Health requires no dispatcher (tests stop them).
# Every test client comes from 127.0.0.1, where users would come from many
# addresses: the per-address connection limit is raised to the total.
ai_api_start() {
	local port i
	port=$(pg_pick_port) || dl_bail "no free port"
	API="http://127.0.0.1:$port"
	CAAS_API_PORT="$port" CAAS_API_LISTEN_ADDRESS=127.0.0.1 \
		CAAS_API_DATABASE_URL="host=$DL_SOCK port=$DL_PORT dbname=$DL_DB user=caas_authenticator" \
		CAAS_API_JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
		CAAS_API_HEALTH_REQUIRES_DISPATCHER=no CAAS_API_OAUTH_REDIRECT_BASE="$API" \
		CAAS_API_PER_IP_CONNECTION_LIMIT=1024 \
		"$AI_API_BIN" -c "$DL_REPO/conf/api.conf" >"$DL_DIR/api.log" 2>&1 &
	AI_API_PID=$!
	for i in $(seq 1 300); do
		case $(curl -sS -o /dev/null -w '%{http_code}' "$API/api/v1/health/" 2>/dev/null) in
		200 | 503) return 0 ;;
		esac
		kill -0 "$AI_API_PID" 2>/dev/null || break
		sleep 0.1
	done
	dl_bail "caas-api did not start"
}

# ai_req METHOD PATH [BODY [TOKEN]]: sets STATUS, BODY and HEADERS (a file).
ai_req() {
	local args=(-sS -o "$DL_DIR/body" -D "$DL_DIR/headers" -w '%{http_code}' -X "$1" "$API$2")
	[ -n "${3:-}" ] && args+=(--data-binary "$3" -H 'Content-Type: application/json')
	[ -n "${4:-}" ] && args+=(-H "Authorization: Bearer $4")
	STATUS=$(curl "${args[@]}")
	BODY=$(cat "$DL_DIR/body")
}
ai_body() { printf '%s' "$BODY" | jq -r "$1" 2>/dev/null; }
ai_header() { tr -d '\r' <"$DL_DIR/headers" | awk -F': ' -v h="$1" 'tolower($1) == h { print $2 }'; }

# ai_user EMAIL: registers and logs in; sets TOKEN.
ai_user() {
	local pw="correct horse battery staple"
	ai_req POST /api/v1/auth/register/ "$(jq -cn --arg e "$1" --arg p "$pw" '{email:$e, password:$p, first_name:"A", last_name:"I"}')"
	ai_req POST /api/v1/auth/login/ "$(jq -cn --arg e "$1" --arg p "$pw" '{email:$e, password:$p}')"
	TOKEN=$(ai_body .access)
	[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || dl_bail "could not log in as $1: $STATUS $BODY"
}

# ai_org_setup [AI-LIMIT]: the user owns ORG (on a test plan allowing
# AI-LIMIT generations, unlimited by default) with workspace WS.
ai_org_setup() {
	local stamp limit=${1:-NULL}
	stamp=$(date +%s%N)
	ai_user "ai-$stamp@example.com"
	ai_req POST /api/v1/organizations/ "{\"name\":\"AI $stamp\",\"slug\":\"ai-$stamp\"}" "$TOKEN"
	ORG=$(ai_body .org_id)
	ai_req POST "/api/v1/organizations/$ORG/workspaces/" '{"name":"Main","slug":"main"}' "$TOKEN"
	WS=$(ai_body .workspace_id)
	[ -n "$ORG" ] && [ -n "$WS" ] && [ "$WS" != null ] || dl_bail "could not create the organisation: $STATUS $BODY"
	dl_q "INSERT INTO caas.plans (plan_id, name, price_cents, currency, billing_interval, sort_order, is_public,
	                              ai_generations_per_month)
	      VALUES ('ai_test_$stamp', 'AI tests', 0, 'usd', 'month', 99, false, $limit);
	      INSERT INTO caas.subscriptions (org_id, plan_id, status) VALUES ('$ORG', 'ai_test_$stamp', 'active')" >/dev/null ||
		dl_bail "could not put the organisation on a test plan"
}

# ai_generate JSON-FIELDS: POST .../content/generate/ with the workspace
# and a brief merged with JSON-FIELDS (a jq object expression, e.g.
# '{platform:"x", variants:2}'); sets STATUS, BODY, JOB.
ai_generate() {
	local body
	body=$(jq -cn --arg ws "$WS" "{workspace_id:\$ws, platform:\"x\", tone:\"casual\",
		brief:{topic:\"Launch of our scheduling API\", key_points:[\"one call\", \"exactly once\"],
		audience:\"developers\"}} + ${1:-{\}}")
	ai_req POST "/api/v1/organizations/$ORG/content/generate/" "$body" "$TOKEN"
	JOB=$(ai_body .job_id)
}

# ai_wait_job JOB [SECONDS]: long-polls the job until it is finished; sets
# BODY (the job) and STATE.  Status 1 when it is not finished in time.
ai_wait_job() {
	local end=$(( $(dl_now_ms) + ${2:-30} * 1000 ))
	while :; do
		ai_req GET "/api/v1/organizations/$ORG/ai/jobs/$1/?wait=10" "" "$TOKEN"
		STATE=$(ai_body .state)
		case $STATE in succeeded | failed) return 0 ;; esac
		[ "$STATUS" = 200 ] || return 1
		[ "$(dl_now_ms)" -ge "$end" ] && return 1
	done
}

# ai_usage FIELD: one field of the usage endpoint (jq path).
ai_usage() {
	ai_req GET "/api/v1/organizations/$ORG/usage/" "" "$TOKEN"
	ai_body "$1"
}
