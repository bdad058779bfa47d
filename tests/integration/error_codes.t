#!/usr/bin/env bash
# tests/integration/error_codes.t — the API maps every SQLSTATE the
# extension raises on purpose (the view caas.error_codes) to the HTTP status
# that view documents.  Needs the harness's database and the unit build.
set -uo pipefail
cd "$(dirname "$0")/../.."

mapfile -t rows < <(psql -X -q -tA -F ' ' -c 'SELECT sqlstate, http_status FROM caas.error_codes ORDER BY sqlstate')
echo "1..$(( ${#rows[@]} + 1 ))"
if [ "${#rows[@]}" -gt 0 ]; then echo "ok 1 - caas.error_codes lists codes"; else echo "not ok 1 - caas.error_codes lists codes"; fi
n=1
for row in "${rows[@]}"; do
	n=$((n + 1))
	set -- $row
	got=$(./tests/unit/build/sqlstate_lookup "$1" | cut -d' ' -f2)
	if [ "$got" = "$2" ]; then
		echo "ok $n - SQLSTATE $1 answers HTTP $2"
	else
		echo "not ok $n - SQLSTATE $1 answers HTTP $2 (the API says $got)"
	fi
done
