#!/usr/bin/env bash
# tests/run.sh — every test suite against a throwaway PostgreSQL cluster.
#
# Called by `make test` after the build.  Creates a cluster in a fresh
# temporary directory on a free port (never Debian's clusters), installs
# caas, pg_cron, the plan fixtures and pgTAP in a new database, runs each
# suite, then stops and deletes the cluster, also when a suite fails or the
# run is interrupted.  Exits non-zero if any suite failed.  The output ends
# with each runner's closing line and a "suites: N passed, N failed" line.
set -uo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=../scripts/pglib.sh
source scripts/pglib.sh

TEST_DIR=$(mktemp -d /tmp/caas-test.XXXXXX)
chmod 755 "$TEST_DIR"
LOG_DIR="$TEST_DIR/suite-logs"
mkdir -p "$LOG_DIR"

cleanup() {
	pg_cluster_stop "$TEST_DIR" immediate >/dev/null 2>&1
	pg_cluster_paths "$TEST_DIR"
	rm -rf "$TEST_DIR"
	case "$PGSOCK_DIR" in "$TEST_DIR"/*) ;; *) rm -rf "$PGSOCK_DIR" ;; esac
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(pg_pick_port) || exit 1
DB=caas_test
echo "== throwaway cluster in $TEST_DIR on port $PORT"
pg_cluster_init "$TEST_DIR" &&
	pg_cluster_configure "$TEST_DIR" "$PORT" "$DB" &&
	pg_cluster_start "$TEST_DIR" &&
	pg_database_setup "$TEST_DIR" "$PORT" "$DB" &&
	pg_psql "$TEST_DIR" "$PORT" "$DB" -c 'SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pgtap' || {
	echo "could not set up the test cluster" >&2
	exit 1
}

export PGHOST="$PGSOCK_DIR" PGPORT="$PORT" PGDATABASE="$DB" PGUSER=postgres
export CAAS_TEST_DIR="$TEST_DIR"

passed=0
failed=0
closing=()

# run_suite NAME CMD... — run one suite, show its output, remember its
# closing line and whether it passed.
run_suite() {
	local name=$1 log="$LOG_DIR/$(echo "$1" | tr -c 'A-Za-z0-9' _).log" rc
	shift
	echo
	echo "== $name: $*"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "== $name FAILED (exit $rc)"
	fi
	closing+=("$name: $(grep -v '^[[:space:]]*$' "$log" | tail -n 1)")
}

run_suite "SQL (pgTAP)" pg_prove --ext .sql -r tests/sql/
run_suite "integration (incl. dispatcher, fake platform)" prove -r tests/fakes/ tests/integration/
run_suite "end-to-end (HTTP)" prove -r tests/e2e/
run_suite "C units" ./tests/unit/build/runner
run_suite "C units (ASan+UBSan)" env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1 ./tests/unit/build-asan/runner
run_suite "fuzz (jwt, router, query, adapters, ai, stripe; 10 s each)" make -s -C tests/fuzz smoke SMOKE_SEC=10
run_suite "docker compose file" sh -c 'docker-compose -f docker/compose.yaml config -q && echo "docker/compose.yaml: valid"'

echo
echo "== closing lines"
for line in "${closing[@]}"; do
	echo "$line"
done
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
