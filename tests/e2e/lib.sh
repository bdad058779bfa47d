# tests/e2e/lib.sh — start caas-api against the harness's cluster and talk
# to it over real HTTP on loopback.  Sourced by tests/e2e/*.t.
#
# Needs PGHOST/PGPORT/PGDATABASE (tests/run.sh exports them) and the built
# api/build/caas-api.  api_start starts a server on a free port with a fresh
# random JWT secret and waits (bounded polling) until /api/v1/health/
# answers (200, or 503 when its database or dispatcher is missing); a trap
# stops it on exit.  Helpers print TAP lines.
set -uo pipefail

E2E_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../scripts/pglib.sh
source "$E2E_REPO/scripts/pglib.sh"
E2E_TMP=$(mktemp -d /tmp/caas-e2e.XXXXXX)
chmod 755 "$E2E_TMP"
API_PID=
n=0

api_stop() {
	if [ -n "$API_PID" ] && kill -0 "$API_PID" 2>/dev/null; then
		kill -TERM "$API_PID"
		wait "$API_PID" 2>/dev/null
	fi
	API_PID=
}
trap 'api_stop; rm -rf "$E2E_TMP"' EXIT

# api_start [ENV=VALUE...] — start the server; sets API (base URL).
# API_WRAPPER, when set, prefixes the command (valgrind ...); CAAS_API_BIN
# names another build (api/build-asan/caas-api).  No
# dispatcher runs in these suites, so health does not require one unless
# the caller passes CAAS_API_HEALTH_REQUIRES_DISPATCHER=yes; OAuth callbacks
# point back at this server.
api_start() {
	local port i
	port=$(pg_pick_port) || exit 1
	API="http://127.0.0.1:$port"
	env CAAS_API_PORT="$port" \
		CAAS_API_LISTEN_ADDRESS=127.0.0.1 \
		CAAS_API_DATABASE_URL="host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=caas_authenticator" \
		CAAS_API_JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
		CAAS_API_HEALTH_REQUIRES_DISPATCHER=no \
		CAAS_API_OAUTH_REDIRECT_BASE="$API" \
		"$@" ${API_WRAPPER:-} "${CAAS_API_BIN:-$E2E_REPO/api/build/caas-api}" -c "$E2E_REPO/conf/api.conf" \
		>"$E2E_TMP/api.log" 2>&1 &
	API_PID=$!
	# Up once health answers at all: 503 (database or dispatcher missing)
	# is an answer too, and some suites want to see it.
	for i in $(seq 1 600); do
		case $(curl -sS -o /dev/null -w '%{http_code}' "$API/api/v1/health/" 2>/dev/null) in
		200 | 503) return 0 ;;
		esac
		kill -0 "$API_PID" 2>/dev/null || break
		sleep 0.1
	done
	local rc=running
	kill -0 "$API_PID" 2>/dev/null || { wait "$API_PID"; rc="exit $?"; }
	echo "Bail out! caas-api did not start ($rc); its log is on stderr"
	sed 's/^/# /' "$E2E_TMP/api.log" >&2
	exit 1
}

# req METHOD PATH [BODY [TOKEN [CONTENT-TYPE]]] — sets STATUS and BODY.
req() {
	local args=(-sS -o "$E2E_TMP/body" -w '%{http_code}' -X "$1" "$API$2")
	[ $# -ge 3 ] && [ -n "$3" ] && args+=(--data-binary "$3" -H "Content-Type: ${5:-application/json}")
	[ $# -ge 4 ] && [ -n "$4" ] && args+=(-H "Authorization: Bearer $4")
	STATUS=$(curl "${args[@]}")
	BODY=$(cat "$E2E_TMP/body")
}

# ok COND DESCRIPTION — one TAP line.
ok() {
	n=$((n + 1))
	if eval "$1"; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		echo "#   status: $STATUS  body: ${BODY:0:300}"
	fi
}

# jq_body FILTER — apply jq to the last body.
jq_body() { printf '%s' "$BODY" | jq -r "$1" 2>/dev/null; }

# ---- helpers appended for roles.t, posts.t, resilience.t

# sql_su SQL — run SQL as the superuser (PGHOST etc.), print bare rows.
sql_su() { psql -X -q -t -A -v ON_ERROR_STOP=1 -c "$1"; }

# user_token EMAIL [PASSWORD] — register EMAIL (if new) and log in; prints
# the access token, nothing when login failed.
user_token() {
	local pw=${2:-correct horse battery staple}
	req POST /api/v1/auth/register/ "$(jq -cn --arg e "$1" --arg p "$pw" '{email:$e,password:$p,first_name:"T",last_name:"U"}')"
	req POST /api/v1/auth/login/ "$(jq -cn --arg e "$1" --arg p "$pw" '{email:$e,password:$p}')"
	[ "$STATUS" = 200 ] && jq_body .access
}

# header_of NAME FILE — the value of header NAME in a curl -D dump.
header_of() { tr -d '\r' <"$2" | awk -F': ' -v h="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" 'tolower($1)==h {print $2}'; }
