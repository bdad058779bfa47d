#!/usr/bin/env bash
# tests/integration/dispatch_failures.t — how the dispatcher daemon treats
# each way a platform can fail (issue 5 §5), against the fake platform.
#
# One private cluster, the fake, one daemon with short timings (retry base
# 300 ms, request timeout 1.5 s, rescan 59 s so retries must come from its
# timer or NOTIFY).  One X post per case, scheduled through
# caas.post_schedule 800 ms ahead, the fake switched to the case's mode for
# as many requests as the case needs; then the post's final state, its
# post_attempts rows (outcome/http_status per attempt) and what the fake
# received:
#   503 twice then ok   → retried, published once (3 attempts)
#   429 Retry-After 3   → run_at moved ≥ 3 s past the attempt, then published
#   500, garbage        → unconfirmed after 1 attempt, never retried
#   hang                → unconfirmed when request_timeout_ms runs out
#   close               → per the classification: unconfirmed (sent) or
#                         retried and published once (not sent)
#   401 + refresh       → the token is refreshed once (rotated), the post
#                         published with the new token, which is stored
#   401, refresh fails  → account needs_reauth, post failed
#   Instagram media_publish unanswered or 500 → the container status
#                         decides: published exactly once
#   duplicate (X, LinkedIn) → failed, permanent, 1 attempt
#   503 forever         → failed "… (gave up after 3 attempts)"
# then, with a second daemon scanning for tokens about to expire: X and
# LinkedIn tokens expiring in 5 min are refreshed once each, ahead of time;
# and no duplicate reached the fake.
set -uo pipefail
# shellcheck source=tests/integration/dispatch_lib.sh
source "$(dirname "$0")/dispatch_lib.sh"

dl_cluster_up
dl_fake_start
dl_org_setup
stamp=$(date +%s%N)
X=$(dl_account x "1001$RANDOM" tok-x-failures)
LI=$(dl_account linkedin "urn:li:person:fail$RANDOM" tok-li-failures)
IG=$(dl_account instagram "178414100$RANDOM" tok-ig-failures)
[ -n "$X" ] && [ -n "$LI" ] && [ -n "$IG" ] || dl_bail "could not connect the accounts"

TIMEOUT_MS=1500
dl_daemon_start failures rescan_interval_sec 59 sweep_interval_sec 2 heartbeat_interval_sec 1 \
	retry_base_ms 300 retry_cap_ms 2000 request_timeout_ms "$TIMEOUT_MS" connect_timeout_ms 1000 \
	lease_seconds 20 refresh_interval_sec 3600

# run_case ACCOUNT TEXT [WAIT-S]: schedule TEXT on ACCOUNT due in 800 ms,
# wait (bounded) for a final state; sets POST.
run_case() {
	POST=$(dl_schedule "$(dl_content "$2")" "$1" 800)
	[ -n "$POST" ] || { echo "# could not schedule: $2"; return 1; }
	dl_wait "${3:-20}" dl_true "SELECT state IN ('published', 'failed', 'unconfirmed') FROM caas.scheduled_posts WHERE post_id = '$POST'"
}
# attempts: "outcome/http_status ..." of POST's attempts, in order.
attempts() {
	dl_q "SELECT string_agg(coalesce(outcome::text, 'open') || '/' || coalesce(http_status::text, '-'), ' ' ORDER BY attempt)
	        FROM caas.post_attempts WHERE org_id = '$DL_ORG' AND post_id = '$POST'"
}
state() { dl_post "$POST" state; }
# outcome_is STATE ATTEMPTS: the post ended in STATE with these attempts.
outcome_is() { same "$(state) $(attempts)" "$1 $2"; }
# not_retried SECONDS: no second attempt shows up within SECONDS.
not_retried() {
	! dl_wait "$1" dl_true "SELECT count(*) > 1 FROM caas.post_attempts WHERE post_id = '$POST'" ||
		{ echo "#   retried: $(attempts)"; return 1; }
}

# ------------------------------------------------------------ 503, then ok
dl_fake_mode x 503 2
T="x 503 $stamp"
run_case "$X" "$T"
dl_ok "503 twice then ok: retried and published on the 3rd attempt" \
	outcome_is published "retryable/503 retryable/503 published/201"
dl_ok "… and the fake holds it once" same "$(dl_fake_count "$T")" 1

# ----------------------------------------------------------- 429 + hint
dl_fake_mode x 429 1 3
T="x 429 $stamp"
POST=$(dl_schedule "$(dl_content "$T")" "$X" 800)
dl_wait 10 dl_true "SELECT finished_at IS NOT NULL FROM caas.post_attempts WHERE post_id = '$POST' AND attempt = 1"
moved=$(dl_q "SELECT p.state || ' ' || round(extract(epoch FROM p.run_at - t.started_at)::numeric, 2)
                FROM caas.scheduled_posts p JOIN caas.post_attempts t USING (org_id, post_id)
               WHERE p.post_id = '$POST' AND t.attempt = 1")
# hint_honoured: scheduled again, run_at at least 3 s after the first attempt began.
hint_honoured() { [ "${moved%% *}" = scheduled ] && ge "${moved#* }" 2.99; }
dl_ok "429 with Retry-After: 3 puts the post back with run_at ≥ 3 s later (${moved})" hint_honoured
dl_wait 15 dl_true "SELECT state = 'published' FROM caas.scheduled_posts WHERE post_id = '$POST'"
gap=$(dl_q "SELECT round(extract(epoch FROM b.started_at - a.started_at)::numeric, 2)
              FROM caas.post_attempts a JOIN caas.post_attempts b USING (org_id, post_id)
             WHERE a.post_id = '$POST' AND a.attempt = 1 AND b.attempt = 2")
second_after_hint() { outcome_is published "retryable/429 published/201" && ge "$gap" 2.99; }
dl_ok "… and the 2nd attempt, ${gap:-?} s after the 1st, publishes it" second_after_hint

# ------------------------------------------------------------------ 500
dl_fake_mode x 500 1
T="x 500 $stamp"
run_case "$X" "$T"
dl_ok "500: unconfirmed after one attempt (unknown)" outcome_is unconfirmed "unknown/500"
dl_ok "… and not retried (watched 3 s)" not_retried 3

# -------------------------------------------------------------- garbage
dl_fake_mode x garbage 1
T="x garbage $stamp"
run_case "$X" "$T"
garbage_unconfirmed() { same "$(state) $(attempts | cut -d/ -f1)" "unconfirmed unknown"; }
dl_ok "an unparseable answer: unconfirmed after one attempt (unknown; $(attempts))" garbage_unconfirmed
dl_ok "… and not retried (watched 2 s)" not_retried 2

# ----------------------------------------------------------------- hang
dl_fake_mode x hang 1
T="x hang $stamp"
run_case "$X" "$T" 20
took=$(dl_q "SELECT (extract(epoch FROM finished_at - started_at) * 1000)::int FROM caas.post_attempts WHERE post_id = '$POST' AND attempt = 1")
dl_ok "no answer at all: unconfirmed (unknown, no HTTP status)" outcome_is unconfirmed "unknown/-"
in_window() { ge "${took:-}" $((TIMEOUT_MS - 100)) && le "${took:-}" $((TIMEOUT_MS + 3000)); }
dl_ok "… once request_timeout_ms ($TIMEOUT_MS) ran out (attempt took ${took:-?} ms)" in_window
dl_ok "… and not retried (watched 2 s)" not_retried 2

# ---------------------------------------------------------------- close
dl_fake_mode x close 1
T="x close $stamp"
run_case "$X" "$T" 20
close_classified() {
	local s a
	s=$(state)
	a=$(attempts)
	echo "# close: $s, attempts: $a, at the fake: $(dl_fake_count "$T")"
	case "$s $a" in
	"unconfirmed unknown/-") return 0 ;;
	"published retryable/- published/201") [ "$(dl_fake_count "$T")" = 1 ] ;;
	*) return 1 ;;
	esac
}
dl_ok "connection closed without an answer: unconfirmed if sent, else retried and published once" close_classified

# --------------------------------------------------- 401, refresh works
XR=$(dl_account x "2002$RANDOM" tok-x-expired tok-rt-x-first "$(date -u -d '+2 hours' +%FT%TZ)")
enc_before=$(dl_q "SELECT md5(access_token_enc) || md5(refresh_token_enc) FROM caas.social_accounts WHERE account_id = '$XR'")
dl_fake_mode x 401 1
T="x 401 refresh $stamp"
run_case "$XR" "$T" 20
dl_ok "401 then a refresh: the post is published ($(state); attempts: $(attempts))" same "$(state)" published
seen=$(dl_fake_posts "[.[] | select(.text == \"$T\") | .token]")
stored=$(dl_token "$XR" access)
new_token_used() {
	[ "$(printf '%s' "$seen" | jq length)" = 1 ] &&
		[ "$(printf '%s' "$seen" | jq -r '.[0]')" != tok-x-expired ] &&
		[ "$(printf '%s' "$seen" | jq -r '.[0]')" = "$stored" ] ||
		{ echo "#   the fake saw $(printf '%s' "$seen" | jq length) post(s); new token stored: $([ -n "$stored" ] && [ "$stored" != tok-x-expired ] && echo yes || echo no)"; return 1; }
}
dl_ok "… once, with the new access token, which is what the account now stores (sealed)" new_token_used
rotated() {
	local rt
	rt=$(dl_token "$XR" refresh)
	[ -n "$rt" ] && [ "$rt" != tok-rt-x-first ] &&
		same "$(dl_q "SELECT status || ' ' || (md5(access_token_enc) || md5(refresh_token_enc) <> '$enc_before') || ' ' || (refresh_lease_owner IS NULL)
		                FROM caas.social_accounts WHERE account_id = '$XR'")" "connected true true"
}
dl_ok "… the rotated refresh token is stored, the account connected, its refresh lease released" rotated

# --------------------------------------------------- 401, refresh fails
XF=$(dl_account x "3003$RANDOM" tok-x-revoked not-a-refresh-token-the-fake-knows "$(date -u -d '+2 hours' +%FT%TZ)")
dl_fake_mode x 401 1
T="x 401 no refresh $stamp"
run_case "$XF" "$T" 20
dl_ok "401 and the refresh refused: the post failed ($(attempts))" same "$(state)" failed
dl_ok "… and the account needs re-authorisation, with a reason" \
	same "$(dl_q "SELECT status || ' ' || (coalesce(last_error, '') <> '') FROM caas.social_accounts WHERE account_id = '$XF'")" "needs_reauth true"
dl_ok "… and nothing was published" same "$(dl_fake_count "$T")" 0

# ----------------------------------- Instagram: checked, not guessed
# media_publish unanswered (hang: the fake made the post live) or answered
# 500 (not live): the adapter reads the container status instead of
# guessing, so the post is published exactly once either way.
IMG="https://images.example.com/failures-$stamp.jpg"
dl_fake_mode instagram hang 1 0 '{"path_contains":"media_publish"}'
T="Instagram publish unanswered $stamp"
POST=$(dl_schedule "$(dl_content "$T" "$IMG")" "$IG" 800)
dl_wait 20 dl_true "SELECT state IN ('published', 'failed', 'unconfirmed') FROM caas.scheduled_posts WHERE post_id = '$POST'"
dl_ok "Instagram media_publish without an answer: the container status shows it live → published ($(attempts))" \
	same "$(state)" published
dl_ok "… once at the fake (remote id $(dl_post "$POST" remote_id))" same "$(dl_fake_count "$T")" 1
dl_fake_mode instagram 500 1 0 '{"path_contains":"media_publish"}'
T="Instagram publish 500 $stamp"
POST=$(dl_schedule "$(dl_content "$T" "$IMG")" "$IG" 800)
dl_wait 20 dl_true "SELECT state IN ('published', 'failed', 'unconfirmed') FROM caas.scheduled_posts WHERE post_id = '$POST'"
ig_500() {
	same "$(state) $(dl_fake_count "$T")" "published 1" &&
		same "$(dl_post "$POST" remote_id)" "$(dl_fake_posts "[.[] | select(.text == \"$T\")][0].id" | tr -d '"')"
}
dl_ok "Instagram media_publish answered 500: not live per the container, published once with the fake's media id ($(attempts))" ig_500
dl_fake_mode instagram ok -1 0 '{"in_progress_polls":3}'
T="Instagram container in progress $stamp"
POST=$(dl_schedule "$(dl_content "$T" "$IMG")" "$IG" 800)
dl_wait 20 dl_true "SELECT state IN ('published', 'failed', 'unconfirmed') FROM caas.scheduled_posts WHERE post_id = '$POST'"
dl_ok "an Instagram container IN_PROGRESS for 3 polls is waited for, then published once ($(attempts))" \
	same "$(state) $(dl_fake_count "$T")" "published 1"
dl_fake_mode instagram ok -1 0 '{"in_progress_polls":0}'

# ------------------------------------------------------------ duplicate
dl_fake_mode x duplicate 1
T="x duplicate $stamp"
run_case "$X" "$T"
dl_ok "X 403 duplicate content: failed, permanent, one attempt" outcome_is failed "permanent/403"
dl_ok "… with the reason in last_error" has "$(dl_post "$POST" last_error)" duplicate
dl_fake_mode linkedin duplicate 1
T="LinkedIn duplicate $stamp"
run_case "$LI" "$T"
dl_ok "LinkedIn 422 DUPLICATE_POST: failed, permanent, one attempt" outcome_is failed "permanent/422"

# ---------------------------------------------------- attempts exhausted
dl_fake_mode x 503 -1
T="x 503 forever $stamp"
run_case "$X" "$T" 30
dl_ok "503 every time: failed after 3 attempts" outcome_is failed "retryable/503 retryable/503 retryable/503"
dl_ok "… with \"gave up after 3 attempts\"" has "$(dl_post "$POST" last_error)" "gave up after 3 attempts"
dl_fake_mode '*' ok -1

# ------------------------------------------- refresh before expiry
# A second daemon scanning every second for tokens expiring within 10 min:
# X and LinkedIn accounts whose tokens expire in 5 min are refreshed once
# each, ahead of time, and the next post goes out with the new token.
token_calls() { grep -c " POST $1 " "$DL_DIR/fake_requests.log"; }
XP=$(dl_account x "7007$RANDOM" tok-x-soon tok-rt-x-soon "$(date -u -d '+5 minutes' +%FT%TZ)")
LP=$(dl_account linkedin "urn:li:person:soon$RANDOM" tok-li-soon tok-rt-li-soon "$(date -u -d '+5 minutes' +%FT%TZ)")
x_before=$(token_calls /2/oauth2/token)
li_before=$(token_calls /oauth/v2/accessToken)
dl_daemon_start refresher refresh_interval_sec 1 refresh_horizon_sec 600 heartbeat_interval_sec 1 \
	request_timeout_ms "$TIMEOUT_MS" lease_seconds 20
refreshed() {
	dl_true "SELECT count(*) = 2 FROM caas.social_accounts WHERE account_id IN ('$XP', '$LP')
	          AND token_expires_at > now() + interval '10 minutes' AND refresh_lease_owner IS NULL"
}
dl_wait 15 refreshed
rotated_both() {
	local a
	for a in "$XP" "$LP"; do
		case "$(dl_token "$a" access)/$(dl_token "$a" refresh)" in
		tok-*-soon/* | */tok-rt-*-soon | /* | */) echo "#   account $a: tokens not replaced"; return 1 ;;
		esac
	done
}
dl_ok "tokens expiring in 5 min are refreshed ahead of time: expiry moved, lease released" refreshed
dl_ok "… new access and (rotated) refresh tokens stored, sealed" rotated_both
dl_ok "… one refresh per account (X token calls: $(( $(token_calls /2/oauth2/token) - x_before )), LinkedIn: $(( $(token_calls /oauth/v2/accessToken) - li_before )))" \
	same "$(( $(token_calls /2/oauth2/token) - x_before )) $(( $(token_calls /oauth/v2/accessToken) - li_before ))" "1 1"
T="x after refresh $stamp"
run_case "$XP" "$T"
dl_ok "a post on the refreshed X account goes out with the new token" \
	same "$(state)/$(dl_fake_posts "[.[] | select(.text == \"$T\")][0].token" | tr -d '"')" "published/$(dl_token "$XP" access)"
dl_daemon_stop refresher

dl_ok "no duplicate reached the fake" same "$(dl_fake_stat duplicates)" 0
dl_ok "no token in clear in the daemons' logs" same "$(cat "$DL_DIR/failures.log" "$DL_DIR/refresher.log" | grep -c 'tok-[a-z-]*\|not-a-refresh-token')" 0
dl_ok "the daemon is still running" dl_daemon_alive failures

[ "$DL_FAILED" = 1 ] && dl_diag 40
dl_done
