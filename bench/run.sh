#!/usr/bin/env bash
# bench/run.sh — pgbench of the hot SQL paths, as the real roles with RLS on,
# against a throwaway cluster holding 10,000 organisations and a million
# content items and scheduled posts.  Not part of `make test`.
#
# Creates a cluster in a fresh temporary directory on a free port
# (bench/lib.sh), installs caas and the plan fixtures, loads
# bench/data.sql, then runs each bench/pgbench/*.sql script and prints its
# tps, the list_page/baseline ratio and the plans of the hot queries as the
# real roles (EXPLAIN ANALYZE, BUFFERS; auto_explain shows the statements
# inside the API functions).  The cluster is stopped and deleted on any exit.
#
# Scripts whose API function does not exist (yet) or fails are replaced by
# their *_fallback.sql twin, the equivalent plain SQL, and the output says so.
#
# Environment (defaults): BENCH_ORGS (10000), BENCH_PER_ORG (100),
# BENCH_CLIENTS (8), BENCH_JOBS (2), BENCH_TIME (20 s per script),
# BENCH_SCRIPTS ("baseline baseline_api list_page claim_batch create_content").
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=bench/lib.sh disable=SC1091
source bench/lib.sh

ORGS=${BENCH_ORGS:-10000}
PER_ORG=${BENCH_PER_ORG:-100}
CLIENTS=${BENCH_CLIENTS:-8}
JOBS=${BENCH_JOBS:-2}
SECS=${BENCH_TIME:-20}
SCRIPTS=${BENCH_SCRIPTS:-baseline baseline_api list_page claim_batch create_content}
DB=caas_bench

trap bench_cluster_down EXIT
trap 'exit 130' INT TERM
bench_cluster_up bench
bench_load_data

# The role the claim fallback runs as: caas_dispatcher once it may update
# scheduled_posts (grant and policy), the superuser until then.
DISPATCH_ROLE=$(q "SELECT CASE WHEN has_table_privilege('caas_dispatcher', 'caas.scheduled_posts', 'UPDATE')
                             AND EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'caas'
                                           AND tablename = 'scheduled_posts'
                                           AND 'caas_dispatcher' = ANY (roles))
                            THEN 'caas_dispatcher' ELSE 'postgres' END")

PGBENCH=("$PG_BINDIR/pgbench" -n -h "$PGSOCK_DIR" -p "$PORT" -U postgres
	-D orgs="$ORGS" -D per_org="$PER_ORG" -D role="$DISPATCH_ROLE")

# pick_script NAME: the script file to run, the fallback when the API one
# fails a one-transaction smoke run.
pick_script() {
	local main="bench/pgbench/$1.sql" fb="bench/pgbench/$1_fallback.sql"
	if "${PGBENCH[@]}" -c 1 -t 1 -f "$main" "$DB" >"$BENCH_DIR/smoke.log" 2>&1 &&
		! grep -q 'ERROR\|aborted' "$BENCH_DIR/smoke.log"; then
		echo "$main"
	elif [ -e "$fb" ]; then
		echo "   $1: $main fails ($(grep -m1 -o 'ERROR:.*' "$BENCH_DIR/smoke.log")); using $fb" >&2
		echo "$fb"
	else
		echo "   $1: $main fails: $(grep -m1 -o 'ERROR:.*' "$BENCH_DIR/smoke.log")" >&2
		return 1
	fi
}

echo "== pgbench -c $CLIENTS -j $JOBS -T $SECS per script (claim fallback role: $DISPATCH_ROLE)"
declare -A TPS
for s in $SCRIPTS; do
	file=$(pick_script "$s") || continue
	"${PGBENCH[@]}" -c "$CLIENTS" -j "$JOBS" -T "$SECS" -f "$file" "$DB" >"$BENCH_DIR/$s.log" 2>&1
	TPS[$s]=$(awk '/^tps = / { print $3; exit }' "$BENCH_DIR/$s.log")
	lat=$(awk '/^latency average/ { print $4 " " $5; exit }' "$BENCH_DIR/$s.log")
	failed=$(awk '/^number of failed transactions/ { print $5; exit }' "$BENCH_DIR/$s.log")
	printf '   %-15s %10s tps   latency avg %s   failed %s   (%s)\n' "$s" "${TPS[$s]:-?}" "${lat:-?}" "${failed:-0}" "$file"
done
# Two ratios: against the bare single-row select (one statement, superuser,
# no RLS), and against the same select inside the API's transaction
# protocol as caas_user with RLS (what the function itself costs).
for b in baseline baseline_api; do
	if [ -n "${TPS[$b]:-}" ] && [ -n "${TPS[list_page]:-}" ]; then
		awk -v l="${TPS[list_page]}" -v b="${TPS[$b]}" -v n="$b" \
			'BEGIN { printf "   list_page / %-12s = %.3f\n", n, l / b }'
	fi
done

# explain LABEL ROLE SQL: EXPLAIN (ANALYZE, BUFFERS) of SQL as ROLE, the
# owner of org $EX as the caller; rolled back.
EX=$(( ORGS < 4242 ? ORGS : 4242 ))
explain() {
	echo
	echo "== EXPLAIN (ANALYZE, BUFFERS) $1 (as $2)"
	psql_b -v ON_ERROR_STOP=1 2>&1 <<SQL | sed 's/^/   /'
BEGIN;
SELECT set_config('role', '$2', true),
       set_config('request.jwt.claims', '{"sub":"' || md5('user$EX')::uuid || '"}', true) \\g /dev/null
EXPLAIN (ANALYZE, BUFFERS) $3;
ROLLBACK;
SQL
}

# explain_fn LABEL ROLE SQL: the call of an API function as ROLE, with
# auto_explain's plans (analyze, buffers) of every statement it runs, the
# call itself last; rolled back.
explain_fn() {
	echo
	echo "== auto_explain $1 (as $2)"
	psql_b -v ON_ERROR_STOP=1 2>&1 >/dev/null <<SQL |
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_timing = on;
SET auto_explain.log_nested_statements = on;
SET client_min_messages = log;
BEGIN;
SELECT set_config('role', '$2', true),
       set_config('request.jwt.claims', '{"sub":"' || md5('user$EX')::uuid || '"}', true);
$3;
ROLLBACK;
SQL
	awk 'function flush() { if (buf != "" && buf !~ /set_config\(.role/) print buf; buf = "" }
	     /^(LOG|ERROR):/ { flush(); buf = $0; next }
	     { buf = buf "\n" $0 }
	     END { flush() }' | sed 's/^/   /'
}

org="md5('org$EX')::uuid"
explain baseline postgres "SELECT * FROM caas.content WHERE org_id = $org AND content_id = md5('content$EX-7')::uuid"
explain "list_page (the equivalent SQL)" caas_user \
	"SELECT c.* FROM caas.content c WHERE c.org_id = $org ORDER BY c.created_at DESC, c.content_id DESC LIMIT 21"
case "$(q "SELECT to_regproc('caas.content_list') IS NOT NULL")" in t)
	explain_fn "list_page: caas.content_list" caas_user "SELECT caas.content_list($org, NULL, NULL, NULL, NULL, 20)" ;;
esac
case "$(q "SELECT to_regproc('caas.content_create') IS NOT NULL")" in
t) explain_fn "create_content: caas.content_create" caas_user \
	"SELECT caas.content_create($org, md5('ws$EX')::uuid, 'Bench', 'Bench body', 'sandbox', '{}')" ;;
*) explain "create_content (the equivalent SQL)" caas_user \
	"INSERT INTO caas.content (org_id, workspace_id, title, body, platform, created_by)
	 VALUES ($org, md5('ws$EX')::uuid, 'Bench', 'Bench body', 'sandbox', md5('user$EX')::uuid)" ;;
esac
case "$(q "SELECT to_regproc('caas.dispatch_claim') IS NOT NULL")" in
t) explain_fn "claim_batch: caas.dispatch_claim" caas_dispatcher "SELECT caas.dispatch_claim('bench', 50, 60)" ;;
*) explain "claim_batch (the equivalent SQL)" "$DISPATCH_ROLE" \
	"UPDATE caas.scheduled_posts p
	    SET state = 'publishing', lease_owner = 'bench', lease_expires_at = now() + interval '60 seconds',
	        attempts = p.attempts + 1
	   FROM (SELECT d.org_id, d.post_id FROM caas.scheduled_posts d
	          WHERE d.state = 'scheduled' AND d.run_at <= now()
	          ORDER BY d.run_at LIMIT 50 FOR UPDATE SKIP LOCKED) due
	  WHERE p.org_id = due.org_id AND p.post_id = due.post_id" ;;
esac
