#!/usr/bin/env bash
# bench/api_bench.sh — the HTTP API under load (wrk) against the same SQL
# under pgbench, on one throwaway cluster loaded by bench/data.sql.  Not part
# of `make test`.  Needs api/build/caas-api (make build) and wrk.
#
# Sets up the cluster like bench/run.sh, starts caas-api on it (loopback,
# a free port), registers a throwaway user through the API and copies its
# argon2id hash to the first BENCH_USERS seeded owners (their seeded hash is
# fake), logs each of them in through the API, then for each workload
#   list   GET  /api/v1/organizations/{org}/content/?limit=20   (bench/api/list.lua)
#   create POST /api/v1/organizations/{org}/content/  JSON body (bench/api/create.lua)
# runs wrk at BENCH_CONNECTIONS connections for BENCH_TIME seconds (each
# request as a random one of those owners on their organisation) and prints
# requests/s, p50 and p99 latency and the server's RSS (VmRSS, VmHWM), then
# pgbench on the same transaction shape the API sends (BEGIN; set_config
# role/claims; SELECT caas.content_list(...) / caas.content_create(...);
# COMMIT — bench/pgbench/list_page.sql, create_content.sql) at the same
# number of clients over the same owners, and the ratio API req/s ÷ tps.
# Targets: req/s ≥ 50% of tps, p99 ≤ 10 ms, RSS ≤ 32 MB.
# The cluster and the server are stopped and deleted on any exit.
#
# Environment (defaults): BENCH_ORGS (10000), BENCH_PER_ORG (100),
# BENCH_USERS (64, owners logged in), BENCH_CONNECTIONS (64), BENCH_TIME (20),
# BENCH_WRK_THREADS (2), BENCH_WORKLOADS ("list create"),
# CAAS_API_THREADS (2, see bench/README.md), CAAS_API_ACCESS_LOG (yes; the
# log goes to a file).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=bench/lib.sh disable=SC1091
source bench/lib.sh

ORGS=${BENCH_ORGS:-10000}
PER_ORG=${BENCH_PER_ORG:-100}
USERS=${BENCH_USERS:-64}
CONNS=${BENCH_CONNECTIONS:-64}
SECS=${BENCH_TIME:-20}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
WORKLOADS=${BENCH_WORKLOADS:-list create}
export CAAS_API_THREADS=${CAAS_API_THREADS:-2}
DB=caas_bench
[ "$USERS" -le "$ORGS" ] || USERS=$ORGS

for t in wrk curl jq; do
	command -v "$t" >/dev/null || { echo "api_bench: $t is missing (scripts/deps.sh)" >&2; exit 1; }
done
[ -x api/build/caas-api ] || { echo "api_bench: api/build/caas-api is missing (make build)" >&2; exit 1; }

API_PID=
cleanup() {
	if [ -n "$API_PID" ] && kill -0 "$API_PID" 2>/dev/null; then
		kill -TERM "$API_PID"
		wait "$API_PID" 2>/dev/null
	fi
	bench_cluster_down
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bench_cluster_up apibench "max_connections = 200"
bench_load_data

# ------------------------------------------------------------- the server
API_PORT=$(pg_pick_port) || exit 1
API="http://127.0.0.1:$API_PORT"
env CAAS_API_PORT="$API_PORT" \
	CAAS_API_LISTEN_ADDRESS=127.0.0.1 \
	CAAS_API_DATABASE_URL="host=$PGSOCK_DIR port=$PORT dbname=$DB user=caas_authenticator" \
	CAAS_API_JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
	CAAS_API_ACCESS_TTL_SEC=3600 \
	CAAS_API_PER_IP_CONNECTION_LIMIT=$((CONNS + 16)) \
	CAAS_API_CONNECTION_LIMIT=$((CONNS + 64)) \
	CAAS_API_LOGIN_PER_IP=$((USERS + 10)) \
	api/build/caas-api -c conf/api.conf >"$BENCH_DIR/api.log" 2>&1 &
API_PID=$!
up=
for _ in $(seq 1 100); do
	curl -fsS -o /dev/null "$API/api/v1/health/" 2>/dev/null && { up=1; break; }
	kill -0 "$API_PID" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$up" ]; then
	echo "caas-api did not start; its log:" >&2
	sed 's/^/   /' "$BENCH_DIR/api.log" >&2
	exit 1
fi
echo "== caas-api pid $API_PID on $API, CAAS_API_THREADS=$CAAS_API_THREADS"
rss() { awk '/^VmRSS|^VmHWM/ { printf "%s %.1f MB  ", $1, $2 / 1024 }' "/proc/$API_PID/status"; }
echo "== server RSS at start: $(rss)"

# A real argon2id hash, made by the server itself, for the seeded owners.
PASS="bench passphrase $(date +%s%N)"
THROWAWAY="throwaway$(date +%s%N)@bench.example.com"
code=$(curl -sS -o "$BENCH_DIR/reg" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary "{\"email\":\"$THROWAWAY\",\"password\":\"$PASS\",\"first_name\":\"T\",\"last_name\":\"A\"}" \
	"$API/api/v1/auth/register/")
[ "$code" = 201 ] || { echo "register: $code $(cat "$BENCH_DIR/reg")" >&2; exit 1; }
q "UPDATE caas.users u SET password_hash = t.password_hash
     FROM caas.users t
    WHERE t.email = '$THROWAWAY' AND u.user_id IN (SELECT md5('user' || n)::uuid FROM generate_series(1, $USERS) n)" >/dev/null || exit 1

TOKENS="$BENCH_DIR/tokens"
: >"$TOKENS"
for n in $(seq 1 "$USERS"); do
	code=$(curl -sS -o "$BENCH_DIR/login" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "{\"email\":\"owner$n@bench.example.com\",\"password\":\"$PASS\"}" "$API/api/v1/auth/login/")
	[ "$code" = 200 ] || { echo "login owner$n: $code $(cat "$BENCH_DIR/login")" >&2; exit 1; }
	printf '%s %s %s\n' "$(jq -r .access "$BENCH_DIR/login")" \
		"$(q "SELECT md5('org$n')::uuid")" "$(q "SELECT md5('ws$n')::uuid")" >>"$TOKENS"
done
echo "== $USERS owners logged in through the API"
# One request of each kind must succeed before anything is measured.
read -r tok org ws <"$TOKENS"
code=$(curl -sS -o "$BENCH_DIR/one" -w '%{http_code}' -H "Authorization: Bearer $tok" "$API/api/v1/organizations/$org/content/?limit=20")
[ "$code" = 200 ] || { echo "list: $code $(head -c 300 "$BENCH_DIR/one")" >&2; exit 1; }
code=$(curl -sS -o "$BENCH_DIR/one" -w '%{http_code}' -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
	--data-binary "{\"workspace_id\":\"$ws\",\"title\":\"Bench\",\"body\":\"one\",\"platform\":\"sandbox\",\"media_urls\":[]}" \
	"$API/api/v1/organizations/$org/content/")
[ "$code" = 201 ] || { echo "create: $code $(head -c 300 "$BENCH_DIR/one")" >&2; exit 1; }

# to_ms "1.23ms" | "850.00us" | "1.02s" → milliseconds
to_ms() { awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); x = v + 0;
	printf "%.2f", u == "us" ? x / 1000 : u == "s" ? x * 1000 : u == "m" ? x * 60000 : x }'; }

PGBENCH=("$PG_BINDIR/pgbench" -n -h "$PGSOCK_DIR" -p "$PORT" -U postgres -D orgs="$USERS" -D per_org="$PER_ORG")
declare -A SCRIPT=([list]=bench/pgbench/list_page.sql [create]=bench/pgbench/create_content.sql)
echo "== server RSS after the logins (argon2id, 19 MiB each), before load: $(rss)"
echo "== wrk -t$WRK_THREADS -c$CONNS -d${SECS}s and pgbench -c$CONNS -j2 -T$SECS over $USERS owners"
fail=0
for w in $WORKLOADS; do
	BENCH_TOKENS="$TOKENS" wrk -t"$WRK_THREADS" -c"$CONNS" -d"${SECS}s" --latency \
		-s "bench/api/$w.lua" "$API" >"$BENCH_DIR/wrk-$w.log" 2>&1
	mem=$(rss)
	sed -n '/Latency Distribution/,/requests in/p' "$BENCH_DIR/wrk-$w.log" | sed 's/^/      /'
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$BENCH_DIR/wrk-$w.log")
	p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$BENCH_DIR/wrk-$w.log")")
	p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$BENCH_DIR/wrk-$w.log")")
	non2xx=$(awk '/non-2xx responses:/ { print $3 }' "$BENCH_DIR/wrk-$w.log")
	errs=$(grep -m1 'Socket errors' "$BENCH_DIR/wrk-$w.log")
	"${PGBENCH[@]}" -c "$CONNS" -j 2 -T "$SECS" -f "${SCRIPT[$w]}" "$DB" >"$BENCH_DIR/pgb-$w.log" 2>&1
	tps=$(awk '/^tps = / { print $3; exit }' "$BENCH_DIR/pgb-$w.log")
	pgfail=$(awk '/^number of failed transactions/ { print $5; exit }' "$BENCH_DIR/pgb-$w.log")
	printf '   %-6s API %9s req/s  p50 %6s ms  p99 %6s ms  non-2xx %s  %s\n' "$w" "${rps:-?}" "$p50" "$p99" "${non2xx:-?}" "$errs"
	printf '   %-6s RSS after: %s\n' "$w" "$mem"
	printf '   %-6s pgbench %9s tps (failed %s)\n' "$w" "${tps:-?}" "${pgfail:-0}"
	if [ -n "$rps" ] && [ -n "$tps" ]; then
		awk -v r="$rps" -v t="$tps" -v p="$p99" -v w="$w" -v m="$(awk '/^VmHWM/ { print $2 }' "/proc/$API_PID/status")" 'BEGIN {
			printf "   %-6s API/pgbench = %.3f (target >= 0.5: %s)  p99 target <= 10 ms: %s  RSS peak target <= 32 MB: %s\n",
			    w, r / t, (r / t >= 0.5) ? "met" : "MISSED", (p <= 10) ? "met" : "MISSED", (m <= 32768) ? "met" : "MISSED" }'
	else
		echo "   $w: no figure (wrk or pgbench failed); logs:"; sed 's/^/      /' "$BENCH_DIR/wrk-$w.log" "$BENCH_DIR/pgb-$w.log" | head -40
		fail=1
	fi
	[ "${non2xx:-1}" = 0 ] || { echo "   $w: the API answered non-2xx under load; last log lines:"; grep -v '" 20[01] ' "$BENCH_DIR/api.log" | tail -5 | sed 's/^/      /'; fail=1; }
done
exit "$fail"
