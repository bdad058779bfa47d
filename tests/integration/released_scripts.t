#!/usr/bin/env bash
# tests/integration/released_scripts.t — released extension scripts are
# never edited.  Every script in sql/ is either released (listed in
# sql/SHA256SUMS, and still matching its checksum) or the one script of the
# version under development (CAAS_VERSION in extension/Makefile).
set -uo pipefail
cd "$(dirname "$0")/../.."

version=$(sed -n 's/^CAAS_VERSION *= *//p' extension/Makefile)
prev=$(sed -n 's/^PREV_VERSION *= *//p' extension/Makefile)
dev="sql/caas--$prev--$version.sql"

scripts=(sql/caas--*.sql)
echo "1..$(( ${#scripts[@]} + 1 ))"
n=0
for f in "${scripts[@]}"; do
	n=$((n + 1))
	if grep -q "  $f\$" sql/SHA256SUMS; then
		if grep "  $f\$" sql/SHA256SUMS | sha256sum -c --status 2>/dev/null; then
			echo "ok $n - released $f is unchanged"
		else
			echo "not ok $n - released $f is unchanged (released scripts are frozen: change the next version instead)"
		fi
	elif [ "$f" = "$dev" ]; then
		echo "ok $n - $f is the script of $version, under development"
	else
		echo "not ok $n - $f is neither released (sql/SHA256SUMS) nor the script of $version"
	fi
done
n=$((n + 1))
if grep -q "^default_version = '@CAAS_VERSION@'" extension/caas.control.in; then
	echo "ok $n - the control file takes its version from extension/Makefile"
else
	echo "not ok $n - the control file takes its version from extension/Makefile"
fi
