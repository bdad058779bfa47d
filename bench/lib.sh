# bench/lib.sh — the throwaway cluster the benches share.  Sourced by
# bench/run.sh and bench/api_bench.sh after they set DB, ORGS and PER_ORG.
#
# bench_cluster_up NAME [CONF-LINE...] creates a cluster in a fresh
# /tmp/caas-NAME.XXXXXX on a free port (scripts/pglib.sh, like tests/run.sh),
# sized for the data set (1 GB shared_buffers, no checkpoint storm during the
# load) plus the caller's extra settings, installs caas and the plan
# fixtures; sets BENCH_DIR and PORT.  bench_cluster_down stops and deletes
# it (call it from the caller's EXIT trap).  bench_load_data loads
# bench/data.sql and prints how long it took and the table sizes.

# shellcheck source=../scripts/pglib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/pglib.sh"

bench_cluster_down() {
	[ -n "${BENCH_DIR:-}" ] || return 0
	pg_cluster_stop "$BENCH_DIR" immediate >/dev/null 2>&1
	pg_cluster_paths "$BENCH_DIR"
	rm -rf "$BENCH_DIR"
	case "$PGSOCK_DIR" in "$BENCH_DIR"/*) ;; *) rm -rf "$PGSOCK_DIR" ;; esac
}

bench_cluster_up() {
	local name=$1 line
	shift
	BENCH_DIR=$(mktemp -d "/tmp/caas-$name.XXXXXX")
	chmod 755 "$BENCH_DIR"
	PORT=$(pg_pick_port) || exit 1
	echo "== throwaway cluster in $BENCH_DIR on port $PORT"
	pg_cluster_init "$BENCH_DIR" && pg_cluster_configure "$BENCH_DIR" "$PORT" "$DB" || exit 1
	{
		echo "# bench/lib.sh ($name)"
		echo "shared_buffers = '1GB'"
		echo "max_wal_size = '8GB'"
		echo "checkpoint_timeout = '30min'"
		echo "log_min_duration_statement = -1"
		for line in "$@"; do echo "$line"; done
	} | pg_as tee -a "$PGDATA_DIR/postgresql.auto.conf" >/dev/null
	if ! pg_cluster_start "$BENCH_DIR" || ! pg_database_setup "$BENCH_DIR" "$PORT" "$DB" >/dev/null; then
		echo "could not set up the bench cluster" >&2
		exit 1
	fi
}

psql_b() { "$PG_BINDIR/psql" -X -q -h "$PGSOCK_DIR" -p "$PORT" -U postgres -d "$DB" "$@"; }
q() { psql_b -tA -v ON_ERROR_STOP=1 -c "$1"; }

bench_load_data() {
	local t0 t1
	echo "== data: $ORGS organisations × $PER_ORG content items and posts (bench/data.sql)"
	t0=$(date +%s.%N)
	psql_b -v ON_ERROR_STOP=1 -v orgs="$ORGS" -v per_org="$PER_ORG" -f bench/data.sql | grep -E '^Time:' |
		awk '{ s += $2 } END { printf "   statements: %.1f s\n", s / 1000 }' || exit 1
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "   data generation incl. VACUUM ANALYZE: %.1f s\n", b - a }'
	q "SELECT '   ' || string_agg(format('%s %s rows %s', c.relname, c.reltuples::bigint,
	                                    pg_size_pretty(pg_total_relation_size(c.oid))), E'\n   ' ORDER BY c.relname)
	     FROM pg_class c
	    WHERE c.oid IN ('caas.content'::regclass, 'caas.content_versions'::regclass, 'caas.scheduled_posts'::regclass)"
}
