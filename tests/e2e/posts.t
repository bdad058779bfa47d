#!/usr/bin/env bash
# tests/e2e/posts.t — scheduled posts through HTTP: wall-clock times in a
# zone, past instants, X's weighted text limit, one post per content ×
# account, list filters and keyset pagination, attempt history, reschedule,
# cancel, and who may see or change a post.  Social accounts are inserted
# as the superuser (connecting them over HTTP is not part of the API yet).
source "$(dirname "$0")/lib.sh"

api_start

echo "1..44"

stamp=$(date +%s%N)
TOKEN=$(user_token "poster$stamp@example.com")
VIEWER=$(user_token "looker$stamp@example.com")
OTHER=$(user_token "stranger$stamp@example.com")
ok '[ -n "$TOKEN" ] && [ -n "$VIEWER" ] && [ -n "$OTHER" ]' "three users log in"

req POST /api/v1/organizations/ "{\"name\":\"Posts\",\"slug\":\"posts-$stamp\"}" "$TOKEN"
ORG=$(jq_body .org_id)
O="/api/v1/organizations/$ORG"
sql_su "INSERT INTO caas.subscriptions (org_id, plan_id) VALUES ('$ORG','team')" >/dev/null
req POST "$O/members/" "{\"email\":\"looker$stamp@example.com\",\"role\":\"viewer\"}" "$TOKEN"
req POST /api/v1/organizations/ "{\"name\":\"Elsewhere\",\"slug\":\"elsewhere-$stamp\"}" "$OTHER"
OTHER_ORG=$(jq_body .org_id)
req POST "$O/workspaces/" '{"name":"Main","slug":"main"}' "$TOKEN"
WS=$(jq_body .workspace_id)

# account PLATFORM EXTERNAL-ID [ORG] — a connected account, as the superuser.
account() {
	sql_su "INSERT INTO caas.social_accounts (org_id, platform, external_id, handle, access_token_enc, token_key_id, status)
		VALUES ('${3:-$ORG}', '$1', '$2', 'h-$2', decode(repeat('5a', 44), 'hex'), 'k1', 'connected') RETURNING account_id"
}
X=$(account x "x-$stamp")
SANDBOX=$(account sandbox "sb-$stamp")
FOREIGN=$(account x "fx-$stamp" "$OTHER_ORG")
ok '[ -n "$WS" ] && [ -n "$X" ] && [ -n "$SANDBOX" ] && [ -n "$FOREIGN" ]' "an organisation with a viewer, a workspace and two accounts"

# content TITLE BODY [PLATFORM] — prints the new content id.
content() {
	req POST "$O/content/" "$(jq -cn --arg w "$WS" --arg t "$1" --arg b "$2" --arg p "${3:-}" \
		'{workspace_id:$w, title:$t, body:$b} + (if $p == "" then {} else {platform:$p} end)')" "$TOKEN"
	jq_body .content_id
}
# schedule CONTENT ACCOUNT AT [ZONE [TOKEN]]
schedule() {
	req POST "$O/posts/" "$(jq -cn --arg c "$1" --arg a "$2" --arg at "$3" --arg tz "${4:-}" \
		'{content_id:$c, account_id:$a, scheduled_at:$at} + (if $tz == "" then {} else {timezone:$tz} end)')" "${5:-$TOKEN}"
}
epoch() { date -u -d "$1" +%s 2>/dev/null; }

# ------------------------------------------------------------- scheduling
C1=$(content "Launch" "We launch tomorrow morning" x)
day=$(TZ=Europe/Paris date -d tomorrow +%F)
schedule "$C1" "$X" "${day}T09:30:00" Europe/Paris
ok '[ "$STATUS" = 201 ] && [ "$(jq_body .state)" = scheduled ] && [ "$(jq_body .timezone)" = Europe/Paris ]' \
	"a wall-clock time in Europe/Paris a day ahead is scheduled (201)"
P1=$(jq_body .post_id)
want=$(TZ=Europe/Paris date -d "$day 09:30:00" +%s)
got=$(epoch "$(jq_body .due_at)")
ok '[ -n "$got" ] && [ "$got" = "$want" ]' "due_at is that wall-clock time converted to UTC ($(jq_body .due_at))"
ok '[ "$(jq_body .platform)" = x ] && [ "$(jq_body .content_version)" = 1 ]' "the post pins the content's version and names the platform"

schedule "$C1" "$X" "${day}T11:00:00Z"
ok '[ "$STATUS" = 409 ] && [ "$(jq_body .code)" = 23505 ]' "the same content on the same account again is a 409"

C2=$(content "Past" "Too late" x)
schedule "$C2" "$X" "$(date -u -d '-1 hour' +%FT%T)Z"
ok '[ "$STATUS" = 422 ] && [ "$(jq_body .code)" = CA004 ]' "an instant in the past is a 422 (CA004)"
schedule "$C2" "$X" "$(TZ=Europe/Paris date -d '-2 hours' +%FT%T)" Europe/Paris
ok '[ "$STATUS" = 422 ] && [ "$(jq_body .code)" = CA004 ]' "a past wall-clock time in the zone is a 422 (CA004)"
schedule "$C2" "$X" "tomorrow at noon"
ok '[ "$STATUS" = 422 ]' "a malformed instant is a 422"
schedule "$C2" "$X" "${day}T09:30:00" Mars/Olympus
ok '[ "$STATUS" = 422 ]' "an unknown time zone is a 422"
schedule "$C2" "$FOREIGN" "${day}T12:00:00Z"
ok '[ "$STATUS" = 404 ]' "another organisation's account is a 404"

long=$(head -c 281 /dev/zero | tr '\0' 'a')
C3=$(content "Long" "$long" x)
schedule "$C3" "$X" "${day}T12:00:00Z"
ok '[ "$STATUS" = 422 ] && [ "$(jq_body .code)" = CA003 ]' "281 characters are too long for X (422 CA003)"
cjk=$(for i in $(seq 1 141); do printf '漢'; done)
C4=$(content "CJK" "$cjk" x)
schedule "$C4" "$X" "${day}T12:00:00Z"
ok '[ "$STATUS" = 422 ] && [ "$(jq_body .code)" = CA003 ]' "141 CJK characters weigh 282 on X (422 CA003)"
C5=$(content "Exact" "${long%a}" x)
schedule "$C5" "$X" "$(date -u -d "$day + 2 days" +%F)T08:00:00Z"
ok '[ "$STATUS" = 201 ]' "exactly 280 characters are accepted"
P5=$(jq_body .post_id)
C6=$(content "CJK ok" "${cjk%漢}" x)
schedule "$C6" "$X" "$(date -u -d "$day + 3 days" +%F)T08:00:00Z"
ok '[ "$STATUS" = 201 ]' "140 CJK characters (weight 280) are accepted"
P6=$(jq_body .post_id)
C7=$(content "Sandbox" "Anywhere")
schedule "$C7" "$SANDBOX" "$(date -u -d "$day + 5 days" +%F)T08:00:00Z"
ok '[ "$STATUS" = 201 ] && [ "$(jq_body .platform)" = sandbox ]' "content without a platform goes to the sandbox account"
P7=$(jq_body .post_id)

# ------------------------------------------------------ lists and filters
ids() { jq_body '[.items[].post_id] | sort | join(",")'; }
sorted() { printf '%s\n' "$@" | sort | paste -sd,; }
req GET "$O/posts/" "" "$VIEWER"
ok '[ "$STATUS" = 200 ] && [ "$(ids)" = "$(sorted "$P1" "$P5" "$P6" "$P7")" ]' "a viewer lists the four posts"
req GET "$O/posts/?platform=sandbox" "" "$TOKEN"
ok '[ "$(ids)" = "$P7" ]' "filter by platform"
req GET "$O/posts/?account=$X" "" "$TOKEN"
ok '[ "$(ids)" = "$(sorted "$P1" "$P5" "$P6")" ]' "filter by account"
from=$(date -u -d "$day + 2 days" +%F)T00:00:00Z
to=$(date -u -d "$day + 4 days" +%F)T00:00:00Z
req GET "$O/posts/?from=$from&to=$to" "" "$TOKEN"
ok '[ "$(ids)" = "$(sorted "$P5" "$P6")" ]' "filter by due date range [from, to)"
req GET "$O/posts/?status=cancelled" "" "$TOKEN"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body ".items | length")" = 0 ]' "filter by status"
req GET "$O/posts/?status=sleeping" "" "$TOKEN"
ok '[ "$STATUS" = 422 ]' "an unknown status is a 422"

seen=()
cursor=""
pages=0
while [ $pages -lt 10 ]; do
	req GET "$O/posts/?limit=3${cursor:+&cursor=$cursor}" "" "$TOKEN"
	[ "$STATUS" = 200 ] || break
	pages=$((pages + 1))
	mapfile -t -O "${#seen[@]}" seen < <(jq_body '.items[].post_id')
	cursor=$(jq_body '.next_cursor // empty')
	[ -n "$cursor" ] || break
done
ok '[ "$pages" = 2 ] && [ "$(sorted "${seen[@]}")" = "$(sorted "$P1" "$P5" "$P6" "$P7")" ] && [ "$(printf "%s\n" "${seen[@]}" | sort -u | wc -l)" = 4 ]' \
	"keyset pages of 3 return every post once, in two pages"

# ------------------------------------------------- one post, its history
sql_su "INSERT INTO caas.post_attempts (org_id, post_id, attempt, dispatcher, started_at, finished_at, outcome, http_status, error_message)
	VALUES ('$ORG', '$P1', 1, 'e2e', now() - interval '1 minute', now(), 'retryable', 503, 'upstream busy')" >/dev/null
req GET "$O/posts/$P1/" "" "$VIEWER"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .post_id)" = "$P1" ]' "GET one post"
ok '[ "$(jq_body ".attempt_history | length")" = 1 ] && [ "$(jq_body ".attempt_history[0].http_status")" = 503 ] && [ "$(jq_body ".attempt_history[0].outcome")" = retryable ]' \
	"it carries its attempt history"
req GET "$O/posts/$P5/" "" "$TOKEN"
ok '[ "$(jq_body ".attempt_history | type")" = array ] && [ "$(jq_body ".attempt_history | length")" = 0 ]' \
	"a post never tried has an empty history"

# ------------------------------------------------------ reschedule, cancel
later="$(date -u -d "$day + 6 days" +%F)T18:45:00"
req PATCH "$O/posts/$P1/" "{\"scheduled_at\":\"$later\"}" "$TOKEN"
ok '[ "$STATUS" = 200 ] && [ "$(epoch "$(jq_body .due_at)")" = "$(TZ=Europe/Paris date -d "${later/T/ }" +%s)" ]' \
	"PATCH reschedules; a wall-clock time keeps the post's zone"
req PATCH "$O/posts/$P1/" "{\"scheduled_at\":\"$(date -u -d '-1 day' +%F)T10:00:00Z\"}" "$TOKEN"
ok '[ "$STATUS" = 422 ] && [ "$(jq_body .code)" = CA004 ]' "rescheduling into the past is a 422 (CA004)"
req POST "$O/posts/$P1/cancel/" "" "$TOKEN"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .state)" = cancelled ]' "cancel"
req POST "$O/posts/$P1/cancel/" "" "$TOKEN"
ok '[ "$STATUS" = 409 ] && [ "$(jq_body .code)" = CA002 ]' "cancelling again is a 409 (CA002)"
req GET "$O/posts/?status=cancelled" "" "$TOKEN"
ok '[ "$(ids)" = "$P1" ]' "the cancelled post is listed under status=cancelled"
req PATCH "$O/posts/$P1/" "{\"scheduled_at\":\"$later\",\"timezone\":\"UTC\"}" "$TOKEN"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .state)" = scheduled ] && [ "$(jq_body .timezone)" = UTC ]' \
	"a cancelled post can be scheduled again"

# ------------------------------------------------------------ who may
req GET "$O/posts/$P1/" "" "$OTHER"
ok '[ "$STATUS" = 404 ]' "another organisation's user cannot see the post (404)"
req GET "$O/posts/" "" "$OTHER"
ok '[ "$STATUS" = 404 ]' "nor list the posts (404)"
req POST "$O/posts/$P5/cancel/" "" "$OTHER"
ok '[ "$STATUS" = 404 ]' "nor cancel one (404)"
req GET "/api/v1/organizations/$OTHER_ORG/posts/$P1/" "" "$OTHER"
ok '[ "$STATUS" = 404 ]' "nor reach it through their own organisation (404)"
req PATCH "$O/posts/$P5/" "{\"scheduled_at\":\"$later\"}" "$VIEWER"
ok '[ "$STATUS" = 403 ] && [ "$(jq_body .code)" = 42501 ]' "a viewer cannot reschedule (403)"
req POST "$O/posts/$P5/cancel/" "" "$VIEWER"
ok '[ "$STATUS" = 403 ] && [ "$(jq_body .code)" = 42501 ]' "a viewer cannot cancel (403)"
schedule "$C2" "$X" "${day}T12:00:00Z" "" "$VIEWER"
ok '[ "$STATUS" = 403 ] && [ "$(jq_body .code)" = 42501 ]' "a viewer cannot schedule (403)"
req GET "$O/posts/$P5/" "" "$TOKEN"
ok '[ "$(jq_body .state)" = scheduled ]' "the post the others tried to cancel is still scheduled"

# ---------------------------------------------------------------- accounts
req GET "$O/accounts/" "" "$VIEWER"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body "[.items[].account_id] | sort | join(\",\")")" = "$(sorted "$X" "$SANDBOX")" ]' \
	"the accounts list shows the organisation's two accounts"
tokenkeys=$(jq_body '[paths | map(tostring) | join(".") | select(test("token_enc"))] | length')
ok '[ "$tokenkeys" = 0 ] && ! printf "%s" "$BODY" | grep -qi "5a5a5a"' "no key containing token_enc, and no token bytes"
req GET "$O/accounts/$X/" "" "$TOKEN"
tokenkeys=$(jq_body '[paths | map(tostring) | join(".") | select(test("token_enc"))] | length')
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .platform)" = x ] && [ "$tokenkeys" = 0 ]' "one account, also without its tokens"
req GET "$O/accounts/$FOREIGN/" "" "$TOKEN"
ok '[ "$STATUS" = 404 ]' "another organisation's account is a 404"
