#!/usr/bin/env bash
# tests/integration/claim_race.t — concurrent dispatchers never get the
# same post, and scheduling wakes the dispatcher at most once per
# transaction (extension/sql/0.2/078_api_posts.sql).
#
# Needs the harness's environment (PGHOST, PGPORT, PGDATABASE, PGUSER, a
# superuser).  Commits an organisation with 200 posts already due, then runs
# 4 claim loops at once as caas_dispatcher, each claiming batches of 7 in
# its own transactions until nothing is left: every post must be claimed
# exactly once, with one open attempt each.  Then, in a session that
# LISTENs on caas_posts_due, one transaction schedules 3 posts due now
# (exactly 1 notification after COMMIT) and another schedules 3 posts due
# next year (none).  pgTAP cannot do this: it runs in one transaction and
# notifications are delivered only after commit.  The org is deleted after.
set -uo pipefail

q() { psql -X -q -tA -v ON_ERROR_STOP=1 -c "$1"; }

WORK=$(mktemp -d /tmp/caas-claim-race.XXXXXX)
org=""
cleanup() {
	[ -n "$org" ] && q "DELETE FROM caas.organizations WHERE org_id = '$org'" >/dev/null 2>&1
	[ -n "${user:-}" ] && q "DELETE FROM caas.users WHERE user_id = '$user'" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

check() {	# check N DESCRIPTION CONDITION-EXIT-STATUS [DIAGNOSTIC]
	if [ "$3" -eq 0 ]; then
		echo "ok $1 - $2"
	else
		echo "not ok $1 - $2${4:+ ($4)}"
	fi
}

echo "1..7"

suffix=$(q "SELECT substr(md5(random()::text), 1, 8)")
user=$(q "INSERT INTO caas.users (email, password_hash) VALUES ('race-$suffix@example.com', '\$argon2id\$x') RETURNING user_id")
org=$(q "INSERT INTO caas.organizations (name, slug) VALUES ('Claim race', 'claim-race-$suffix') RETURNING org_id")
q "INSERT INTO caas.organization_members (org_id, user_id, role) VALUES ('$org', '$user', 'owner')" >/dev/null
ws=$(q "INSERT INTO caas.workspaces (org_id, name, slug) VALUES ('$org', 'W', 'w') RETURNING workspace_id")
acct=$(q "INSERT INTO caas.social_accounts (org_id, platform, external_id, access_token_enc, token_key_id)
          VALUES ('$org', 'sandbox', 'race', decode(repeat('ab', 29), 'hex'), 'k1') RETURNING account_id")
q "INSERT INTO caas.content (org_id, workspace_id, body)
   SELECT '$org', '$ws', 'race post ' || n FROM generate_series(1, 206) AS n" >/dev/null
n=$(q "WITH c AS (SELECT content_id FROM caas.content WHERE org_id = '$org' ORDER BY content_id LIMIT 200)
       INSERT INTO caas.scheduled_posts (org_id, content_id, content_version, account_id, due_at, timezone, run_at)
       SELECT '$org', content_id, 1, '$acct', now() - interval '1 minute', 'UTC', now() - interval '1 minute' FROM c
       RETURNING 1" | wc -l)
check 1 "200 due posts are committed" "$([ "$n" -eq 200 ]; echo $?)" "posts: $n"

# ------------------------------------------------ 4 concurrent claimers
claimer() {	# claimer NAME: claim batches of 7 until a claim returns nothing
	local name=$1 got
	while :; do
		got=$(psql -X -q -tA -v ON_ERROR_STOP=1 -c "SET ROLE caas_dispatcher" \
			-c "SELECT j ->> 'post_id' FROM caas.dispatch_claim('$name', 7, 300) j WHERE j ->> 'org_id' = '$org'") || {
			echo "claim failed" >>"$WORK/$name.err"
			return 1
		}
		[ -z "$got" ] && return 0
		echo "$got" >>"$WORK/$name.ids"
	done
}
for i in 1 2 3 4; do
	claimer "race-$i" &
done
wait
cat "$WORK"/race-*.ids 2>/dev/null | sort >"$WORK/all.ids"
total=$(wc -l <"$WORK/all.ids")
unique=$(sort -u "$WORK/all.ids" | wc -l)
workers=$(ls "$WORK"/race-*.ids 2>/dev/null | wc -l)
errs=$(cat "$WORK"/race-*.err 2>/dev/null | wc -l)
check 2 "4 concurrent claimers claim 200 posts in all, without errors" \
	"$([ "$total" -eq 200 ] && [ "$errs" -eq 0 ]; echo $?)" "claimed: $total, errors: $errs"
check 3 "no post is claimed twice" "$([ "$unique" -eq "$total" ]; echo $?)" "distinct: $unique of $total"
echo "# claims per worker: $(for f in "$WORK"/race-*.ids; do printf '%s ' "$(wc -l <"$f")"; done)(workers that got posts: $workers)"
state=$(q "SELECT count(*) FILTER (WHERE state = 'publishing' AND attempts = 1)
                  || '/' || (SELECT count(*) FROM caas.post_attempts WHERE org_id = '$org' AND attempt = 1 AND finished_at IS NULL)
             FROM caas.scheduled_posts WHERE org_id = '$org'")
check 4 "every post is publishing with exactly one open attempt" "$([ "$state" = 200/200 ]; echo $?)" "publishing/attempts: $state"
owners=$(q "SELECT count(*) FROM caas.scheduled_posts p JOIN caas.post_attempts a USING (org_id, post_id)
            WHERE p.org_id = '$org' AND a.dispatcher <> p.lease_owner")
check 5 "each post's attempt belongs to the dispatcher holding its lease" "$([ "$owners" -eq 0 ]; echo $?)" "mismatches: $owners"

# ------------------------------------------- one NOTIFY per transaction
# schedule_three AT OFFSET: one transaction scheduling 3 of the 6 spare
# contents; AT is an SQL expression of n (1..3), so the 3 instants differ and
# PostgreSQL's folding of identical notifications cannot hide a second one.
schedule_three() {
	local at=$1 offset=$2
	psql -X -q -v ON_ERROR_STOP=1 <<SQL
LISTEN caas_posts_due;
BEGIN;
SELECT set_config('role', 'caas_user', true),
       set_config('request.jwt.claims', '{"sub":"$user"}', true) \\g /dev/null
SELECT caas.post_schedule('$org', c.content_id, '$acct', $at, 'UTC')
  FROM (SELECT content_id, row_number() OVER (ORDER BY content_id) - $offset AS n FROM caas.content WHERE org_id = '$org'
         ORDER BY content_id OFFSET $offset LIMIT 3) c \\g /dev/null
COMMIT;
SELECT 1 \\g /dev/null
SQL
}
out=$(schedule_three "to_char((now() + c.n * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')" 200 2>&1)
notes=$(printf '%s\n' "$out" | grep -c 'Asynchronous notification "caas_posts_due"')
check 6 "scheduling 3 posts due now in one transaction sends exactly 1 notification" \
	"$([ "$notes" -eq 1 ]; echo $?)" "notifications: $notes"
[ "$notes" -eq 1 ] || printf '%s\n' "$out" | sed 's/^/# /'
out=$(schedule_three "'$(date -u -d 'next year' +%Y)-06-0' || c.n || 'T09:00:00Z'" 203 2>&1)
notes=$(printf '%s\n' "$out" | grep -c 'Asynchronous notification "caas_posts_due"')
posts=$(q "SELECT count(*) FROM caas.scheduled_posts WHERE org_id = '$org' AND state = 'scheduled'")
check 7 "scheduling 3 posts due next year sends none" \
	"$([ "$notes" -eq 0 ] && [ "$posts" -eq 6 ]; echo $?)" "notifications: $notes, scheduled posts: $posts"
[ "$posts" -eq 6 ] || printf '%s\n' "$out" | sed 's/^/# /'
