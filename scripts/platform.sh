#!/usr/bin/env bash
# scripts/platform.sh — bring the local caas platform up or down.
#
#   platform.sh run     start everything, print how to connect, stay in the
#                       foreground; Ctrl-C (or SIGTERM) stops everything
#   platform.sh start   the same, in the background
#   platform.sh stop    stop what start left running
#   platform.sh status  say what runs
#   platform.sh reset   stop and delete the local cluster (var/); the next
#                       run creates it anew (needed after editing the SQL of
#                       the extension version under development)
#
# The platform: PostgreSQL with the caas extension and pg_cron (cluster
# under var/: var/pgdata, var/run, var/log), the dispatcher running inside
# it as a background worker (conf/dispatcher.conf; its log lines are in
# PostgreSQL's log), and the HTTP API (api/build/caas-api, log
# var/log/api.log).  Secrets are generated once, mode 600: the API's JWT
# secret in var/jwt_secret and the key ring that seals social tokens in
# var/token_keys (read by the API and by the dispatcher, so it belongs to
# the cluster's owner).
#
# Environment: CAAS_PG_PORT (default 55432), CAAS_DB (default caas),
# CAAS_API_PORT (default 8000).
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=pglib.sh
source scripts/pglib.sh

VAR_DIR="$REPO_ROOT/var"
PORT=${CAAS_PG_PORT:-55432}
DB=${CAAS_DB:-caas}
API_PORT=${CAAS_API_PORT:-8000}
API_PID_FILE="$VAR_DIR/api.pid"

cluster_running() {
	pg_cluster_paths "$VAR_DIR"
	[ -s "$PGDATA_DIR/PG_VERSION" ] &&
		pg_as "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1
}

api_running() {
	[ -s "$API_PID_FILE" ] && kill -0 "$(cat "$API_PID_FILE")" 2>/dev/null
}

# secrets_init — generate the local secrets once.
secrets_init() {
	mkdir -p "$VAR_DIR"
	if [ ! -s "$VAR_DIR/jwt_secret" ]; then
		(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$VAR_DIR/jwt_secret")
	fi
	if [ ! -s "$VAR_DIR/token_keys" ]; then
		(umask 077; printf 'k1:%s\n' "$(head -c 32 /dev/urandom | base64 -w0)" > "$VAR_DIR/token_keys")
	fi
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$VAR_DIR/token_keys"
	fi
}

api_start() {
	local i
	api_running && return 0
	if ! pg_port_free "$API_PORT"; then
		echo "platform: port $API_PORT is taken; choose another with CAAS_API_PORT=..." >&2
		exit 1
	fi
	pg_cluster_paths "$VAR_DIR"
	CAAS_API_TOKEN_KEYS_FILE="$VAR_DIR/token_keys" CAAS_API_TOKEN_KEY_ID=k1 \
	CAAS_API_PORT="$API_PORT" \
	CAAS_API_DATABASE_URL="host=$PGSOCK_DIR port=$PORT dbname=$DB user=caas_authenticator" \
	CAAS_API_JWT_SECRET_FILE="$VAR_DIR/jwt_secret" \
	CAAS_API_SWAGGER_UI_DIR="$REPO_ROOT/api/swagger/node_modules/swagger-ui-dist" \
		setsid "$REPO_ROOT/api/build/caas-api" -c "$REPO_ROOT/conf/api.conf" \
		>>"$VAR_DIR/log/api.log" 2>&1 < /dev/null &
	echo $! > "$API_PID_FILE"
	for i in $(seq 1 100); do
		# 200, or 503 while the dispatcher has not sent its first heartbeat.
		case $(curl -sS -o /dev/null -w "%{http_code}" "http://127.0.0.1:$API_PORT/api/v1/health/" 2>/dev/null) in 200|503) return 0 ;; esac
		api_running || break
		sleep 0.1
	done
	echo "platform: the API did not start; see $VAR_DIR/log/api.log" >&2
	tail -n 20 "$VAR_DIR/log/api.log" >&2
	exit 1
}

api_stop() {
	local pid i
	api_running || { rm -f "$API_PID_FILE"; return 0; }
	pid=$(cat "$API_PID_FILE")
	kill -TERM "$pid" 2>/dev/null
	# The API drains in-flight requests, then exits.
	for i in $(seq 1 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$API_PID_FILE"
}

start_all() {
	if ! cluster_running && ! pg_port_free "$PORT"; then
		echo "platform: port $PORT is taken by another server; choose one with CAAS_PG_PORT=..." >&2
		exit 1
	fi
	secrets_init
	pg_cluster_init "$VAR_DIR"
	pg_cluster_configure "$VAR_DIR" "$PORT" "$DB" "$REPO_ROOT/conf/dispatcher.conf"
	# The dispatcher worker reads its secrets' files from the environment
	# the postmaster starts with.
	CAAS_DISPATCHER_TOKEN_KEYS_FILE="$VAR_DIR/token_keys" CAAS_DISPATCHER_TOKEN_KEY_ID=k1 \
		pg_cluster_start "$VAR_DIR"
	pg_database_setup "$VAR_DIR" "$PORT" "$DB"
	sql_stamp_check
	api_start
}

# sql_stamp_check: ALTER EXTENSION UPDATE does not re-run the script of the
# version under development, so a database created by an earlier build of
# that version lacks what was added since.  The stamp is the checksum of
# the install scripts the database was made with; when it differs, say so
# (make reset recreates the database; it deletes its data).
sql_stamp_check() {
	local now stamp="$VAR_DIR/sql_stamp"
	now=$(cat "$REPO_ROOT"/sql/caas--*.sql | md5sum | cut -d' ' -f1)
	if [ ! -s "$stamp" ]; then
		echo "$now" >"$stamp"
	elif [ "$(cat "$stamp")" != "$now" ]; then
		echo "platform: WARNING: the database was created by an earlier build of the extension's" >&2
		echo "platform: unreleased version; what was added since is missing.  Run make reset" >&2
		echo "platform: (deletes the local cluster and its data), then make run." >&2
	fi
}

print_info() {
	pg_cluster_paths "$VAR_DIR"
	cat <<INFO

caas is up.
  PostgreSQL  postgresql:///$DB?host=$PGSOCK_DIR&port=$PORT&user=postgres   (Unix socket, trusted locally; TCP 127.0.0.1:$PORT needs a password)
  connect     psql "host=$PGSOCK_DIR port=$PORT dbname=$DB user=postgres"
  try         SELECT plan_id, name, price_cents FROM caas.plans ORDER BY sort_order;
  log         $PGLOG_FILE   (PostgreSQL and the dispatcher)
  dispatcher  SELECT caas.service_status();   (posts to the "sandbox" platform publish locally)
  API         http://127.0.0.1:$API_PORT/api/v1/health/   (log: $VAR_DIR/log/api.log)
  OpenAPI     http://127.0.0.1:$API_PORT/api/schema/
  Swagger UI  http://127.0.0.1:$API_PORT/api/schema/swagger-ui/
  AI drafts   need CAAS_DISPATCHER_OPENAI_API_KEY or CAAS_DISPATCHER_GEMINI_API_KEY in the environment of make run
  billing     needs CAAS_API_STRIPE_SECRET_KEY, CAAS_API_STRIPE_WEBHOOK_SECRETS and CAAS_API_STRIPE_PRICES (see conf/api.conf)
INFO
}

stop_all() {
	api_stop
	pg_cluster_stop "$VAR_DIR" fast
	echo "platform: stopped"
}

case "${1:-}" in
run)
	start_all
	print_info
	echo "  Ctrl-C stops everything."
	trap 'echo; stop_all; exit 0' INT TERM
	pg_cluster_paths "$VAR_DIR"
	pm_pid=$(head -n 1 "$PGDATA_DIR/postmaster.pid")
	# Stay in the foreground for as long as both servers live.
	while kill -0 "$pm_pid" 2>/dev/null && api_running; do
		sleep 1 &
		wait $! || true
	done
	echo "platform: a server exited; see $PGLOG_FILE and $VAR_DIR/log/api.log" >&2
	stop_all
	exit 1
	;;
start)
	start_all
	print_info
	echo "  make stop stops it."
	;;
stop)
	stop_all
	;;
reset)
	stop_all
	pg_cluster_paths "$VAR_DIR"
	rm -rf "$VAR_DIR"
	case "$PGSOCK_DIR" in "$VAR_DIR"/*) ;; *) rm -rf "$PGSOCK_DIR" ;; esac
	echo "platform: local cluster deleted"
	;;
status)
	if cluster_running; then
		echo "PostgreSQL: running on port $PORT"
		pg_cluster_paths "$VAR_DIR"
		echo "dispatcher: $(pg_psql "$VAR_DIR" "$PORT" "$DB" -tA -c "SELECT caas.service_status()->>'dispatcher'" 2>/dev/null || echo unknown)"
	else
		echo "PostgreSQL: stopped"
	fi
	if api_running; then echo "API: running on port $API_PORT"; else echo "API: stopped"; fi
	;;
*)
	echo "usage: $0 run|start|stop|status|reset" >&2
	exit 2
	;;
esac
