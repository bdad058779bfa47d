#!/usr/bin/env bash
# tests/integration/xtext_tables.t — the committed tables of xtext.c (X's
# weighted length) are what extension/src/xtext_tables.pl makes of this
# machine's Debian data: unicode-data's emoji-test.txt and publicsuffix's
# list.  A difference means the Debian data changed; since the tables decide
# how posts are counted, regenerate them on purpose and commit (see the
# generator's header).  Needs no database.
set -uo pipefail
cd "$(dirname "$0")/../.."

n=0
# check KIND SOURCE HEADER
check() {
	n=$((n + 1))
	if [ ! -r "$2" ]; then
		echo "not ok $n - extension/src/$3 is up to date ($2 is missing: run scripts/deps.sh)"
	elif perl extension/src/xtext_tables.pl "$1" "$2" | cmp -s - "extension/src/$3"; then
		echo "ok $n - extension/src/$3 is up to date with $2"
	else
		echo "not ok $n - extension/src/$3 is up to date with $2" \
			"(regenerate: perl extension/src/xtext_tables.pl $1 > extension/src/$3)"
	fi
}

echo "1..2"
check emoji /usr/share/unicode/emoji/emoji-test.txt xtext_emoji_table.h
check tld /usr/share/publicsuffix/public_suffix_list.dat xtext_tld_table.h
