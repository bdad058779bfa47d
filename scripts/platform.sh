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
# The cluster lives under var/ (var/pgdata, var/run, var/log).  Today the
# platform is PostgreSQL with the caas extension and pg_cron; the dispatcher
# and the API join it in later issues.
#
# Environment: CAAS_PG_PORT (default 55432), CAAS_DB (default caas).
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=pglib.sh
source scripts/pglib.sh

VAR_DIR="$REPO_ROOT/var"
PORT=${CAAS_PG_PORT:-55432}
DB=${CAAS_DB:-caas}

cluster_running() {
	pg_cluster_paths "$VAR_DIR"
	[ -s "$PGDATA_DIR/PG_VERSION" ] &&
		pg_as "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1
}

start_all() {
	if ! cluster_running && ! pg_port_free "$PORT"; then
		echo "platform: port $PORT is taken by another server; choose one with CAAS_PG_PORT=..." >&2
		exit 1
	fi
	mkdir -p "$VAR_DIR"
	pg_cluster_init "$VAR_DIR"
	pg_cluster_configure "$VAR_DIR" "$PORT" "$DB"
	pg_cluster_start "$VAR_DIR"
	pg_database_setup "$VAR_DIR" "$PORT" "$DB"
}

print_info() {
	pg_cluster_paths "$VAR_DIR"
	cat <<INFO

caas is up.
  PostgreSQL  postgresql:///$DB?host=$PGSOCK_DIR&port=$PORT&user=postgres   (Unix socket, trusted locally; TCP 127.0.0.1:$PORT needs a password)
  connect     psql "host=$PGSOCK_DIR port=$PORT dbname=$DB user=postgres"
  try         SELECT plan_id, name, price_cents FROM caas.plans ORDER BY sort_order;
  log         $PGLOG_FILE
INFO
}

stop_all() {
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
	# Stay in the foreground for as long as the postmaster lives.
	while kill -0 "$pm_pid" 2>/dev/null; do
		sleep 1 &
		wait $! || true
	done
	echo "platform: PostgreSQL exited; see $PGLOG_FILE" >&2
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
	if cluster_running; then echo "PostgreSQL: running on port $PORT"; else echo "PostgreSQL: stopped"; fi
	;;
*)
	echo "usage: $0 run|start|stop|status|reset" >&2
	exit 2
	;;
esac
