#!/usr/bin/env bash
# tests/integration/released_scripts.t — released extension scripts are
# never edited: each file listed in sql/SHA256SUMS still has its checksum,
# and every install script in sql/ is listed there.
set -uo pipefail
cd "$(dirname "$0")/../.."

scripts=(sql/caas--*.sql)
echo "1..$(( ${#scripts[@]} * 2 ))"
n=0
for f in "${scripts[@]}"; do
	n=$((n + 1))
	if grep -q "  $f\$" sql/SHA256SUMS; then
		echo "ok $n - $f is listed in sql/SHA256SUMS"
	else
		echo "not ok $n - $f is listed in sql/SHA256SUMS (add it when the version is released)"
	fi
	n=$((n + 1))
	if grep "  $f\$" sql/SHA256SUMS | sha256sum -c --status 2>/dev/null; then
		echo "ok $n - $f is unchanged since its release"
	else
		echo "not ok $n - $f is unchanged since its release (released scripts are frozen: write an upgrade script)"
	fi
done
