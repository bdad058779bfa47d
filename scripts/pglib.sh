# scripts/pglib.sh — shell functions to run a private PostgreSQL cluster for
# caas.  Sourced by scripts/platform.sh (make run/start/stop) and
# tests/run.sh (make test); not run directly.
#
# A cluster is a directory holding pgdata/, run/ (the Unix socket) and
# log/.  When the caller is root the cluster belongs to, and runs as, the
# `postgres` user (initdb refuses root); otherwise it runs as the caller.
# Nothing here touches Debian's own clusters (pg_lsclusters); they are
# neither started, stopped nor reconfigured.

PG_BINDIR=$(pg_config --bindir)
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# pg_as CMD... — run a PostgreSQL program as the cluster's owner.
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# pg_cluster_paths DIR — set PGDATA_DIR, PGSOCK_DIR and PGLOG_FILE for DIR.
pg_cluster_paths() {
	PGDATA_DIR="$1/pgdata"
	PGSOCK_DIR="$1/run"
	PGLOG_FILE="$1/log/postgresql.log"
	# A Unix socket path is at most 107 bytes: fall back to /tmp for deep trees.
	if [ $(( ${#PGSOCK_DIR} + 20 )) -gt 100 ]; then
		PGSOCK_DIR="/tmp/caas-sock-$(printf '%s' "$1" | md5sum | cut -c1-12)"
	fi
}

# pg_port_free PORT — true when nothing listens on 127.0.0.1:PORT.
pg_port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pg_pick_port — print a free TCP port below the kernel's ephemeral range
# (ip_local_port_range, 32768.. by default): a port in that range may be the
# local end of some outgoing connection, which a connect() probe calls free
# but bind() refuses.  shuf, not $RANDOM: called as $(pg_pick_port), a
# subshell would start from the parent's $RANDOM state and pick the same
# port on every call.
pg_pick_port() {
	local port i low=20000 high
	high=$(( $(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768) - 1 ))
	[ "$high" -gt "$low" ] || { low=1025; high=$(( high > 1100 ? high : 32767 )); }
	for i in $(seq 1 50); do
		port=$(shuf -i "$low-$high" -n 1)
		if pg_port_free "$port"; then
			echo "$port"
			return 0
		fi
	done
	echo "pglib: no free port found" >&2
	return 1
}

# pg_cluster_init DIR — create the cluster under DIR unless it exists.
pg_cluster_init() {
	pg_cluster_paths "$1"
	mkdir -p "$1/log" "$PGSOCK_DIR"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$1" "$1/log" "$PGSOCK_DIR"
		if ! runuser -u postgres -- test -x "$1"; then
			echo "pglib: user postgres cannot reach $1; make its parent directories world-searchable (chmod o+x)" >&2
			return 1
		fi
	fi
	if [ -s "$PGDATA_DIR/PG_VERSION" ]; then
		return 0
	fi
	echo "pglib: initdb $PGDATA_DIR"
	pg_as "$PG_BINDIR/initdb" -D "$PGDATA_DIR" -U postgres -E UTF8 --locale=C.UTF-8 \
		--auth-local=trust --auth-host=scram-sha-256 >"$1/log/initdb.log" 2>&1 || {
		cat "$1/log/initdb.log" >&2
		return 1
	}
	pg_as sh -c "echo \"include_if_exists 'caas.conf'\" >> '$PGDATA_DIR/postgresql.conf'"
	pg_as sh -c "echo \"include_if_exists 'caas-instance.conf'\" >> '$PGDATA_DIR/postgresql.conf'"
}

# pg_cluster_configure DIR PORT DBNAME [DISPATCHER_CONF] — (re)write the
# cluster's caas settings: conf/postgresql.caas.conf as is, then the
# instance's own port, socket directory, pg_cron database and dispatcher.
# With DISPATCHER_CONF, one dispatcher background worker publishes from
# DBNAME with that configuration file; without it, none runs (test
# clusters, where tests start their own dispatchers).  Takes effect at the
# next start.
pg_cluster_configure() {
	pg_cluster_paths "$1"
	pg_as cp "$REPO_ROOT/conf/postgresql.caas.conf" "$PGDATA_DIR/caas.conf"
	pg_as tee "$PGDATA_DIR/caas-instance.conf" >/dev/null <<CONF
# Written by scripts/pglib.sh at each start; edit conf/postgresql.caas.conf instead.
port = $2
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGSOCK_DIR'
cron.database_name = '$3'
caas.dispatcher_database = '$3'
caas.dispatcher_workers = $([ -n "${4:-}" ] && echo 1 || echo 0)
caas.dispatcher_config_file = '${4:-}'
CONF
}

# pg_cluster_start DIR — start the cluster in the background and wait until
# it accepts connections.
pg_cluster_start() {
	pg_cluster_paths "$1"
	if pg_as "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
		return 0
	fi
	pg_as "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" -l "$PGLOG_FILE" -w -t 60 start >/dev/null || {
		tail -n 30 "$PGLOG_FILE" >&2
		return 1
	}
}

# pg_cluster_stop DIR [MODE] — stop the cluster if it runs (MODE: fast).
pg_cluster_stop() {
	pg_cluster_paths "$1"
	[ -s "$PGDATA_DIR/PG_VERSION" ] || return 0
	if pg_as "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
		pg_as "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" -m "${2:-fast}" -w -t 60 stop >/dev/null
	fi
}

# pg_psql DIR PORT DB ARGS... — psql as postgres over the cluster's socket.
pg_psql() {
	local dir=$1 port=$2 db=$3
	shift 3
	pg_cluster_paths "$dir"
	"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGSOCK_DIR" -p "$port" -U postgres -d "$db" "$@"
}

# pg_database_setup DIR PORT DBNAME — create the database if missing, install
# or update the extensions and load the plan fixtures.  Idempotent.
pg_database_setup() {
	local dir=$1 port=$2 db=$3
	if ! pg_psql "$dir" "$port" postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
		pg_psql "$dir" "$port" postgres -c "CREATE DATABASE \"$db\""
	fi
	pg_psql "$dir" "$port" "$db" <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS caas CASCADE;
ALTER EXTENSION caas UPDATE;
\i $REPO_ROOT/sql/fixtures/plans.sql
SQL
}
