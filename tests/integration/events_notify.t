#!/usr/bin/env bash
# tests/integration/events_notify.t — status changes reach the
# organisation's channel, and retries wake the dispatcher, at commit
# (extension/sql/0.2/082_events.sql, 078_dispatch.sql).
#
# Needs the harness's environment (PGHOST, PGPORT, PGDATABASE, PGUSER, a
# superuser) and jq.  pgTAP cannot do this: it runs in one transaction and
# notifications are delivered only after commit.  Each step is one psql
# session that LISTENs on organisation A's channel (from
# caas.events_channel, as A's owner), on organisation B's and on
# caas_posts_due, runs its transactions and collects what arrived:
#   - scheduling two posts (one due now): two post.state events (scheduled,
#     previous null) with exactly the documented keys, "at" in UTC, well
#     under 8000 bytes, and one caas_posts_due;
#   - moving a scheduled post in time, or a rolled-back schedule: nothing;
#   - a claim: publishing (previous scheduled); a published outcome
#     recorded by dispatch_record_batch: published (previous publishing);
#   - an account marked needs_reauth: one account.status event with its
#     documented keys; an update keeping the status: nothing;
#   - dispatch_record_batch retrying two posts within 60 s: their two
#     events and exactly one caas_posts_due; a retry in an hour: no wake;
#   - statements changing many posts (the triggers are statement triggers
#     with transition tables): one event per post, and in a plain UPDATE of
#     three posts that moves one, only that one's;
#   - B's channel hears nothing of A.
# The organisations and the user are deleted after.
set -uo pipefail

q() { psql -X -q -tA -v ON_ERROR_STOP=1 -c "$1"; }

orgs=""
user=""
cleanup() {
	[ -n "$orgs" ] && q "DELETE FROM caas.organizations WHERE org_id IN ($orgs)" >/dev/null 2>&1
	[ -n "$user" ] && q "DELETE FROM caas.users WHERE user_id = '$user'" >/dev/null 2>&1
}
trap cleanup EXIT

n=0
check() {	# check DESCRIPTION CONDITION-EXIT-STATUS [DIAGNOSTIC]
	n=$((n + 1))
	if [ "$2" -eq 0 ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1${3:+ ($3)}"
	fi
}

echo "1..18"

suffix=$(q "SELECT substr(md5(random()::text), 1, 8)")
user=$(q "INSERT INTO caas.users (email, password_hash) VALUES ('events-$suffix@example.com', '\$argon2id\$x') RETURNING user_id")
org=$(q "INSERT INTO caas.organizations (name, slug) VALUES ('Events A', 'events-a-$suffix') RETURNING org_id")
other=$(q "INSERT INTO caas.organizations (name, slug) VALUES ('Events B', 'events-b-$suffix') RETURNING org_id")
orgs="'$org', '$other'"
q "INSERT INTO caas.subscriptions (org_id, plan_id) VALUES ('$org', 'team')" >/dev/null
q "INSERT INTO caas.organization_members (org_id, user_id, role) VALUES ('$org', '$user', 'owner')" >/dev/null
ws=$(q "INSERT INTO caas.workspaces (org_id, name, slug) VALUES ('$org', 'W', 'w') RETURNING workspace_id")
acct=$(q "INSERT INTO caas.social_accounts (org_id, platform, external_id, access_token_enc, token_key_id)
          VALUES ('$org', 'sandbox', 'events', decode(repeat('ab', 29), 'hex'), 'k1') RETURNING account_id")
mapfile -t content < <(q "INSERT INTO caas.content (org_id, workspace_id, body)
                          SELECT '$org', '$ws', 'event post ' || i FROM generate_series(1, 6) AS i RETURNING content_id")
chan_a=$(psql -X -q -tA -v ON_ERROR_STOP=1 <<SQL
BEGIN;
SELECT set_config('role', 'caas_user', true), set_config('request.jwt.claims', '{"sub":"$user"}', true) \g /dev/null
SELECT caas.events_channel('$org');
COMMIT;
SQL
)
chan_b=$(q "SELECT caas.events_channel_name('$other')")
check "the owner of A gets A's channel, caas_org_ and 32 hex digits" \
	"$([ "$chan_a" = "caas_org_$(printf '%s' "$org" | tr -d -)" ] && [ ${#content[@]} -eq 6 ]; echo $?)" "channel: $chan_a"

now_utc() { date -u +%Y-%m-%dT%H:%M:%SZ; }
as_user() { printf "SELECT set_config('role', 'caas_user', true), set_config('request.jwt.claims', '{\"sub\":\"%s\"}', true) \\\\g /dev/null\n" "$user"; }

# step SQL — run SQL in a session listening on A, B and caas_posts_due;
# prints one line per notification: CHANNEL<TAB>PAYLOAD.
step() {
	psql -X -q -tA -v ON_ERROR_STOP=1 2>&1 <<SQL | sed -n 's/^Asynchronous notification "\([^"]*\)" with payload "\(.*\)" received from server process with PID [0-9]*\.$/\1\t\2/p'
LISTEN $chan_a;
LISTEN $chan_b;
LISTEN caas_posts_due;
$1
SELECT 1 \g /dev/null
SQL
}
count() { printf '%s\n' "$1" | grep -c "^$2	" ; }	# count OUTPUT CHANNEL
payloads() { printf '%s\n' "$1" | grep "^$2	" | cut -f2- | jq -s -c .; }	# payloads OUTPUT CHANNEL -> JSON array

heard_b=0

# ------------------------------------------------------------ scheduling
out=$(step "BEGIN;
$(as_user)
SELECT caas.post_schedule('$org', '${content[0]}', '$acct', '$(now_utc)', 'UTC') \g /dev/null
SELECT caas.post_schedule('$org', '${content[1]}', '$acct', '$(( $(date -u +%Y) + 1 ))-06-01T09:00:00Z', 'UTC') \g /dev/null
COMMIT;")
heard_b=$((heard_b + $(count "$out" "$chan_b")))
events=$(payloads "$out" "$chan_a")
post1=$(q "SELECT post_id FROM caas.scheduled_posts WHERE content_id = '${content[0]}'")
post2=$(q "SELECT post_id FROM caas.scheduled_posts WHERE content_id = '${content[1]}'")
check "scheduling two posts sends two post.state events: scheduled, no previous state" \
	"$([ "$(printf '%s' "$events" | jq -c '[.[] | [.type, .post_id, .state, .previous]]')" = \
	     "[[\"post.state\",\"$post1\",\"scheduled\",null],[\"post.state\",\"$post2\",\"scheduled\",null]]" ]; echo $?)" "$events"
check "a post.state event has exactly type, org_id, post_id, state, previous and at" \
	"$([ "$(printf '%s' "$events" | jq -c '[.[] | keys] | unique')" = '[["at","org_id","post_id","previous","state","type"]]' ] &&
	   [ "$(printf '%s' "$events" | jq -r '.[0].org_id')" = "$org" ]; echo $?)" "$events"
at=$(printf '%s' "$events" | jq -r '.[0].at')
skew=$(q "SELECT abs(extract(epoch FROM now() - '$at'::timestamptz))::integer")
longest=$(printf '%s\n' "$out" | cut -f2- | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
check "\"at\" is an ISO 8601 instant in UTC, now; a payload is far below NOTIFY's 8000 bytes" \
	"$([[ "$at" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$ ]] && [ "$skew" -le 5 ] && [ "$longest" -lt 1000 ]; echo $?)" \
	"at: $at, skew: $skew s, longest payload: $longest bytes"
check "the post due now wakes the dispatcher once" "$([ "$(count "$out" caas_posts_due)" -eq 1 ]; echo $?)" \
	"caas_posts_due: $(count "$out" caas_posts_due)"

# ------------------------------------------------- changes without events
out=$(step "BEGIN;
$(as_user)
SELECT caas.post_reschedule('$org', '$post2', '$(( $(date -u +%Y) + 1 ))-07-01T09:00:00Z', NULL) \g /dev/null
COMMIT;
BEGIN;
$(as_user)
SELECT caas.post_schedule('$org', '${content[5]}', '$acct', '$(( $(date -u +%Y) + 1 ))-06-01T09:00:00Z', 'UTC') \g /dev/null
ROLLBACK;")
heard_b=$((heard_b + $(count "$out" "$chan_b")))
moved=$(q "SELECT run_at::date FROM caas.scheduled_posts WHERE post_id = '$post2'")
check "moving a scheduled post in time, or a schedule rolled back, sends no event" \
	"$([ "$(count "$out" "$chan_a")" -eq 0 ] && [ "$moved" = "$(( $(date -u +%Y) + 1 ))-07-01" ]; echo $?)" \
	"events: $(count "$out" "$chan_a"), run_at: $moved"

# ------------------------------------------------------- the dispatcher
out=$(step "SET ROLE caas_dispatcher;
SELECT count(*) FROM caas.dispatch_claim('events', 100, 300) j WHERE j ->> 'org_id' = '$org' \g /dev/null")
heard_b=$((heard_b + $(count "$out" "$chan_b")))
events=$(payloads "$out" "$chan_a")
check "a claim sends publishing, previous scheduled" \
	"$([ "$(printf '%s' "$events" | jq -c '[.[] | [.post_id, .state, .previous]]')" = "[[\"$post1\",\"publishing\",\"scheduled\"]]" ]; echo $?)" "$events"
out=$(step "SET ROLE caas_dispatcher;
SELECT caas.dispatch_record_batch('events', '[{\"org_id\": \"$org\", \"post_id\": \"$post1\", \"attempt\": 1,
                                               \"outcome\": \"published\", \"remote_id\": \"ev-1\"}]') \g /dev/null")
heard_b=$((heard_b + $(count "$out" "$chan_b")))
events=$(payloads "$out" "$chan_a")
check "a published outcome sends published, previous publishing, and wakes nobody" \
	"$([ "$(printf '%s' "$events" | jq -c '[.[] | [.post_id, .state, .previous]]')" = "[[\"$post1\",\"published\",\"publishing\"]]" ] &&
	   [ "$(count "$out" caas_posts_due)" -eq 0 ]; echo $?)" "$events"

# ------------------------------------------------------------ accounts
out=$(step "UPDATE caas.social_accounts SET status = 'needs_reauth', last_error = 'revoked' WHERE account_id = '$acct';")
heard_b=$((heard_b + $(count "$out" "$chan_b")))
events=$(payloads "$out" "$chan_a")
check "an account marked needs_reauth sends one account.status event, previous connected" \
	"$([ "$(printf '%s' "$events" | jq -c '[.[] | [.type, .account_id, .status, .previous]]')" = \
	     "[[\"account.status\",\"$acct\",\"needs_reauth\",\"connected\"]]" ]; echo $?)" "$events"
check "an account.status event has exactly type, org_id, account_id, status, previous and at" \
	"$([ "$(printf '%s' "$events" | jq -c '[.[] | keys] | unique')" = '[["account_id","at","org_id","previous","status","type"]]' ]; echo $?)" "$events"
out=$(step "UPDATE caas.social_accounts SET status = 'needs_reauth', last_error = 'still revoked' WHERE account_id = '$acct';
UPDATE caas.social_accounts SET status = 'connected', last_error = NULL WHERE account_id = '$acct';")
heard_b=$((heard_b + $(count "$out" "$chan_b")))
events=$(payloads "$out" "$chan_a")
check "an update keeping the status sends nothing; reconnecting sends connected" \
	"$([ "$(printf '%s' "$events" | jq -c '[.[] | [.status, .previous]]')" = '[["connected","needs_reauth"]]' ]; echo $?)" "$events"

# ------------------------------------------------- retries wake once
out=$(step "BEGIN;
$(as_user)
SELECT caas.post_schedule('$org', c, '$acct', '$(now_utc)', 'UTC') FROM unnest(ARRAY['${content[2]}', '${content[3]}', '${content[4]}']::uuid[]) c \g /dev/null
COMMIT;
SET ROLE caas_dispatcher;
SELECT count(*) FROM caas.dispatch_claim('events', 100, 300) j WHERE j ->> 'org_id' = '$org' \g /dev/null")
heard_b=$((heard_b + $(count "$out" "$chan_b")))
check "three more posts scheduled and claimed: six events, one wake" \
	"$([ "$(count "$out" "$chan_a")" -eq 6 ] && [ "$(count "$out" caas_posts_due)" -eq 1 ]; echo $?)" \
	"events: $(count "$out" "$chan_a"), wakes: $(count "$out" caas_posts_due)"
mapfile -t retry < <(q "SELECT post_id FROM caas.scheduled_posts WHERE org_id = '$org' AND state = 'publishing' ORDER BY post_id")
events=$(payloads "$out" "$chan_a")
check "the claim of three posts sends one publishing event per post, previous scheduled" \
	"$([ "$(printf '%s' "$events" | jq -c '[.[] | select(.state == "publishing") | [.post_id, .previous]] | sort')" = \
	     "[[\"${retry[0]}\",\"scheduled\"],[\"${retry[1]}\",\"scheduled\"],[\"${retry[2]}\",\"scheduled\"]]" ]; echo $?)" "$events"
soon=$(q "SELECT to_char((now() + interval '5 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
later=$(q "SELECT to_char((now() + interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
out=$(step "SET ROLE caas_dispatcher;
SELECT caas.dispatch_record_batch('events', '[
  {\"org_id\": \"$org\", \"post_id\": \"${retry[0]}\", \"attempt\": 1, \"outcome\": \"retryable\", \"http_status\": 503, \"retry_at\": \"$soon\"},
  {\"org_id\": \"$org\", \"post_id\": \"${retry[1]}\", \"attempt\": 1, \"outcome\": \"retryable\", \"http_status\": 429, \"retry_at\": \"$soon\"}]') \g /dev/null")
heard_b=$((heard_b + $(count "$out" "$chan_b")))
events=$(payloads "$out" "$chan_a")
check "a batch retrying two posts in 5 s sends their two events (scheduled, previous publishing)" \
	"$([ "$(printf '%s' "$events" | jq -c '[.[] | [.state, .previous]] | unique')" = '[["scheduled","publishing"]]' ] &&
	   [ "$(printf '%s' "$events" | jq length)" -eq 2 ]; echo $?)" "$events"
check "and wakes the dispatcher exactly once" "$([ "$(count "$out" caas_posts_due)" -eq 1 ]; echo $?)" \
	"caas_posts_due: $(count "$out" caas_posts_due)"
out=$(step "SET ROLE caas_dispatcher;
SELECT caas.dispatch_record_batch('events', '[
  {\"org_id\": \"$org\", \"post_id\": \"${retry[2]}\", \"attempt\": 1, \"outcome\": \"retryable\", \"retry_at\": \"$later\"}]') \g /dev/null")
heard_b=$((heard_b + $(count "$out" "$chan_b")))
check "a retry in an hour sends its event and does not wake the dispatcher" \
	"$([ "$(count "$out" "$chan_a")" -eq 1 ] && [ "$(count "$out" caas_posts_due)" -eq 0 ]; echo $?)" \
	"events: $(count "$out" "$chan_a"), wakes: $(count "$out" caas_posts_due)"

out=$(step "UPDATE caas.scheduled_posts
   SET last_error = 'noted', state = CASE WHEN post_id = '${retry[2]}' THEN 'cancelled'::caas.post_state ELSE state END
 WHERE post_id IN ('${retry[0]}', '${retry[1]}', '${retry[2]}');")
heard_b=$((heard_b + $(count "$out" "$chan_b")))
events=$(payloads "$out" "$chan_a")
check "an UPDATE of three posts that moves one sends that one's event only" \
	"$([ "$(printf '%s' "$events" | jq -c '[.[] | [.post_id, .state, .previous]]')" = "[[\"${retry[2]}\",\"cancelled\",\"scheduled\"]]" ]; echo $?)" "$events"

check "B's channel heard nothing of A's changes" "$([ "$heard_b" -eq 0 ]; echo $?)" "heard: $heard_b"
