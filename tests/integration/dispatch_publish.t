#!/usr/bin/env bash
# tests/integration/dispatch_publish.t — the dispatcher daemon publishes on
# time, once, to X, LinkedIn and Instagram (the fake platform, real HTTP)
# and to the sandbox; and a NOTIFY wakes it.
#
# A private cluster (dispatch_lib.sh), the fake platform, one organisation
# whose accounts are connected through caas.account_connect with tokens
# sealed like caas-api seals them, and caas-dispatcher with a 59 s rescan
# interval (so only its timer and NOTIFY can make it publish on time).
# Four posts scheduled through caas.post_schedule due in 1.5 s, one due in
# 6 s: each is published once with its remote id and permalink stored and
# one attempt row; the fake saw the sealed token in clear, LinkedIn's
# commentary whole (its reserved characters escaped), nothing before the due instant.  Then, with the
# dispatcher idle, a post scheduled 1 s ahead must reach the fake within
# 1 s + 300 ms (only the scheduling NOTIFY can wake it that early).  SIGTERM
# stops the daemon with status 0.
set -uo pipefail
# shellcheck source=tests/integration/dispatch_lib.sh
source "$(dirname "$0")/dispatch_lib.sh"

dl_cluster_up
dl_fake_start
dl_org_setup
stamp=$(date +%s%N)

X=$(dl_account x "44196397$RANDOM" tok-x-publish)
LI=$(dl_account linkedin "urn:li:person:disp$RANDOM" tok-li-publish)
IG=$(dl_account instagram "178414000$RANDOM" tok-ig-publish)
SB=$(dl_account sandbox "sb-$RANDOM" tok-sb-publish)
[ -n "$X" ] && [ -n "$LI" ] && [ -n "$IG" ] && [ -n "$SB" ] || dl_bail "could not connect the four accounts"

dl_daemon_start publish rescan_interval_sec 59 sweep_interval_sec 5 heartbeat_interval_sec 1
dl_ok "caas-dispatcher starts and sends its heartbeat" dl_daemon_alive publish

# ------------------------------------------------ four platforms at once
TX="x post $stamp: hello from the dispatcher"
TLI="LinkedIn $stamp: (parens) [brackets] {braces} <angle> #tag @mention *star* _under_ ~tilde~ | pipe \\ backslash"
TIG="Instagram $stamp: a cat"
TSB="sandbox $stamp"
TF="x future $stamp: not before its time"
CX=$(dl_content "$TX")
CLI=$(dl_content "$TLI")
CIG=$(dl_content "$TIG" "https://images.example.com/cat-$stamp.jpg")
CSB=$(dl_content "$TSB")
CF=$(dl_content "$TF")
PX=$(dl_schedule "$CX" "$X" 1500)
PLI=$(dl_schedule "$CLI" "$LI" 1500)
PIG=$(dl_schedule "$CIG" "$IG" 1500)
PSB=$(dl_schedule "$CSB" "$SB" 1500)
PF=$(dl_schedule "$CF" "$X" 6000)
[ -n "$PX" ] && [ -n "$PLI" ] && [ -n "$PIG" ] && [ -n "$PSB" ] && [ -n "$PF" ] || dl_bail "could not schedule the posts"
FOUR="'$PX', '$PLI', '$PIG', '$PSB'"

dl_wait 15 dl_true "SELECT count(*) = 4 FROM caas.scheduled_posts WHERE post_id IN ($FOUR) AND state = 'published'"
dl_ok "the four posts due in 1.5 s are published (states: $(dl_states))" \
	same "$(dl_q "SELECT count(*) FROM caas.scheduled_posts WHERE post_id IN ($FOUR) AND state = 'published'")" 4
early=$(dl_q "SELECT state FROM caas.scheduled_posts WHERE post_id = '$PF'")/$(dl_fake_count "$TF")
dl_ok "meanwhile the post due in 6 s is still scheduled and not sent" same "$early" "scheduled/0"

dl_ok "each is stored with its remote id, X/LinkedIn/Instagram with an https permalink" \
	same "$(dl_q "SELECT string_agg(a.platform || ':' || (p.remote_id IS NOT NULL) || ':' || coalesce(p.remote_url ~ '^https://', false)
	                                || ':' || (p.published_at IS NOT NULL), ' ' ORDER BY a.platform)
	                FROM caas.scheduled_posts p JOIN caas.social_accounts a USING (org_id, account_id)
	               WHERE p.post_id IN ($FOUR)")" \
	"instagram:true:true:true linkedin:true:true:true sandbox:true:false:true x:true:true:true"
echo "# remote ids/urls: $(dl_q "SELECT string_agg(a.platform || '=' || p.remote_id || ' ' || coalesce(p.remote_url, '-'), '; ' ORDER BY a.platform)
                                 FROM caas.scheduled_posts p JOIN caas.social_accounts a USING (org_id, account_id) WHERE p.post_id IN ($FOUR)")"

POSTS=$(dl_fake_posts)
# one_each: the fake holds each platform's text exactly once.
one_each() {
	same "$(printf '%s' "$POSTS" | jq -r --arg x "$TX" --arg i "$TIG" --arg s "$stamp" \
		'[([.[] | select(.platform == "x" and .text == $x)] | length),
		  ([.[] | select(.platform == "instagram" and .text == $i)] | length),
		  ([.[] | select(.platform == "linkedin" and (.text | contains($s)))] | length)] | map(tostring) | join(" ")')" "1 1 1"
}
dl_ok "the fake received the X, LinkedIn and Instagram posts once each" one_each
# remote_matches PLATFORM POST: the id the fake gave is the one stored.
remote_matches() {
	same "$(dl_post "$2" remote_id)" \
		"$(printf '%s' "$POSTS" | jq -r --arg p "$1" --arg s "$stamp" '[.[] | select(.platform == $p and (.text | contains($s)))][0].id')"
}
dl_ok "the remote id stored for X is the fake's tweet id" remote_matches x "$PX"
dl_ok "the remote id stored for LinkedIn is the fake's x-restli-id" remote_matches linkedin "$PLI"
dl_ok "the remote id stored for Instagram is the fake's media id" remote_matches instagram "$PIG"
dl_ok "the Instagram container id stays on the post (remote_ref)" \
	same "$(dl_q "SELECT remote_ref IS NOT NULL FROM caas.scheduled_posts WHERE post_id = '$PIG'")" t

# The fake stores what a LinkedIn reader would see: an escaped reserved
# character as itself, an unescaped one ends the text there.
dl_ok "LinkedIn received the commentary whole: every reserved character escaped" \
	same "$(printf '%s' "$POSTS" | jq -r --arg s "$stamp" '[.[] | select(.platform == "linkedin" and (.text | contains($s)))][0].text')" "$TLI"
dl_ok "each platform was called with the account's own token, opened from its sealed form" \
	same "$(printf '%s' "$POSTS" | jq -r --arg s "$stamp" '[.[] | select(.text | contains($s)) | .platform + "=" + .token] | sort | join(" ")')" \
	"instagram=tok-ig-publish linkedin=tok-li-publish x=tok-x-publish"

# late_ms POST PLATFORM TEXT: receive time at the fake − due_at, in ms.
late_ms() {
	local due_us got_us
	due_us=$(dl_q "SELECT (extract(epoch FROM due_at) * 1000000)::bigint FROM caas.scheduled_posts WHERE post_id = '$1'")
	got_us=$(curl -fsS "$FAKE/_fake/posts" | jq -r --arg p "$2" --arg t "$3" '[.[] | select(.platform == $p and .text == $t)][0].received_us')
	[ -n "$got_us" ] && [ "$got_us" != null ] && echo $(( (got_us - due_us) / 1000 ))
}
lateness=$(late_ms "$PX" x "$TX")
dl_ok "X received the post no earlier than due and within 1 s of it (${lateness:-?} ms late)" \
	awk -v l="${lateness:-x}" 'BEGIN { exit !(l != "x" && l >= 0 && l <= 1000) }'

dl_ok "each post has exactly one attempt: finished, published, HTTP 2xx (sandbox: none), the same remote id" \
	same "$(dl_q "SELECT string_agg(a.platform || ':' || count_attempts || ':' || outcome || ':' || coalesce(http_status / 100, 0) || ':' || same_id, ' ' ORDER BY a.platform)
	                FROM (SELECT p.account_id, count(*) AS count_attempts, max(t.outcome::text) AS outcome,
	                             max(t.http_status) AS http_status, bool_and(t.remote_id = p.remote_id AND t.finished_at IS NOT NULL) AS same_id
	                        FROM caas.scheduled_posts p JOIN caas.post_attempts t USING (org_id, post_id)
	                       WHERE p.post_id IN ($FOUR) GROUP BY p.post_id, p.account_id) s
	                JOIN caas.social_accounts a ON a.org_id = '$DL_ORG' AND a.account_id = s.account_id")" \
	"instagram:1:published:2:true linkedin:1:published:2:true sandbox:1:published:0:true x:1:published:2:true"
dl_ok "caas.post_get shows the attempt history to the owner" \
	same "$(dl_as_user "SELECT jsonb_path_query_array(caas.post_get('$DL_ORG', '$PX') -> 'attempt_history', '\$[*].outcome')")" '["published"]'

# ------------------------------------------------- the post due in 6 s
dl_wait 12 dl_true "SELECT state = 'published' FROM caas.scheduled_posts WHERE post_id = '$PF'"
dl_ok "the post due in 6 s is published" same "$(dl_post "$PF" state)" published
lf=$(late_ms "$PF" x "$TF")
dl_ok "and not sent before its due instant (${lf:-?} ms after it)" awk -v l="${lf:-x}" 'BEGIN { exit !(l != "x" && l >= 0 && l <= 1000) }'

# ------------------------------------------------------- NOTIFY wakes it
# Idle: nothing due, the rescan is 59 s away.  A post scheduled now due in
# 1 s is published at once only if the scheduling NOTIFY woke the timer.
dl_wait 5 dl_true "SELECT NOT EXISTS (SELECT 1 FROM caas.scheduled_posts WHERE state IN ('scheduled', 'publishing'))" ||
	echo "# posts still pending: $(dl_states)"
TN="x notify $stamp: wake up"
CN=$(dl_content "$TN")
PN=$(dl_schedule "$CN" "$X" 1000)
[ -n "$PN" ] || echo "# could not schedule the post (account: $(dl_q "SELECT status FROM caas.social_accounts WHERE account_id = '$X'"))"
t0=$(dl_now_ms)
[ -n "$PN" ] && dl_wait 5 dl_true "SELECT state = 'published' FROM caas.scheduled_posts WHERE post_id = '$PN'"
waited=$(( $(dl_now_ms) - t0 ))
ln=$(late_ms "$PN" x "$TN")
dl_ok "an idle dispatcher (rescan 59 s) publishes a post scheduled 1 s ahead ${ln:-?} ms after due (≤ 300 ms), woken by NOTIFY" \
	awk -v l="${ln:-x}" 'BEGIN { exit !(l != "x" && l >= 0 && l <= 300) }'
echo "# published ${waited} ms after scheduling"

dl_ok "no duplicate reached the fake" same "$(dl_fake_stat duplicates)" 0

dl_daemon_stop publish TERM
dl_ok "SIGTERM stops the daemon with exit status 0" same "$DL_LAST_RC" 0
dl_ok "its log holds no token in clear" \
	same "$(grep -c 'tok-[a-z]*-publish' "$DL_DIR/publish.log")" 0

[ "$DL_FAILED" = 1 ] && dl_diag 30
dl_done
