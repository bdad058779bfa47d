#!/usr/bin/env bash
# tests/e2e/oauth.t — connecting social accounts through caas-api against
# the fake platform server (tests/fakes): the full X flow with PKCE, the
# LinkedIn and Instagram code flows (start → the platform's consent page →
# callback → account), the state's single use, expiry and unknown states,
# a refused consent, a bad code, who may connect (owner/admin yes,
# member/viewer no, another organisation's user no, and a user demoted
# while the flow runs no), pasted tokens good and bad, the browser
# redirect to oauth_done_url, 503 naming a missing setting — and the
# tokens at rest: sealed (the bytea holds no token text), opening with
# the configured key and the AAD the dispatcher uses (checked with
# Node's own AES-256-GCM, an independent implementation), and never in
# the server's log.
source "$(dirname "$0")/lib.sh"

FAKE_BIN="$E2E_REPO/tests/fakes/build/fake_platform"
if [ ! -x "$FAKE_BIN" ] && [ -f "$E2E_REPO/tests/fakes/Makefile" ]; then
	make -s -C "$E2E_REPO/tests/fakes" >/dev/null 2>&1
fi
if [ ! -x "$FAKE_BIN" ] || ! command -v node >/dev/null 2>&1; then
	echo "Bail out! needs tests/fakes/build/fake_platform (make -C tests/fakes) and node"
	exit 1
fi

FAKE_PID=
fake_stop() {
	if [ -n "$FAKE_PID" ] && kill -0 "$FAKE_PID" 2>/dev/null; then
		kill -TERM "$FAKE_PID"
		wait "$FAKE_PID" 2>/dev/null
	fi
	FAKE_PID=
}
trap 'api_stop; fake_stop; rm -rf "$E2E_TMP"' EXIT
"$FAKE_BIN" --port 0 --log "$E2E_TMP/fake.log" >"$E2E_TMP/fake.out" 2>"$E2E_TMP/fake.err" &
FAKE_PID=$!
for i in $(seq 1 300); do
	grep -q '^listening on ' "$E2E_TMP/fake.out" && break
	kill -0 "$FAKE_PID" 2>/dev/null || break
	sleep 0.05
done
grep -q '^listening on ' "$E2E_TMP/fake.out" || { echo "Bail out! fake_platform did not start"; exit 1; }
FAKE="http://127.0.0.1:$(awk '/^listening on /{print $3}' "$E2E_TMP/fake.out")"

KEY=$(head -c 32 /dev/urandom | base64 -w0)
X_SECRET="x-secret-$RANDOM$RANDOM"
PLATFORMS=(
	CAAS_API_X_CLIENT_ID=caas-x CAAS_API_X_CLIENT_SECRET="$X_SECRET"
	CAAS_API_X_AUTHORIZE_URL="$FAKE/i/oauth2/authorize" CAAS_API_X_TOKEN_URL="$FAKE/2/oauth2/token"
	CAAS_API_X_API_BASE="$FAKE"
	CAAS_API_LINKEDIN_CLIENT_ID=caas-li CAAS_API_LINKEDIN_CLIENT_SECRET=li-secret
	CAAS_API_LINKEDIN_AUTHORIZE_URL="$FAKE/oauth/v2/authorization"
	CAAS_API_LINKEDIN_TOKEN_URL="$FAKE/oauth/v2/accessToken" CAAS_API_LINKEDIN_API_BASE="$FAKE"
	CAAS_API_INSTAGRAM_APP_ID=caas-ig CAAS_API_INSTAGRAM_APP_SECRET=ig-secret
	CAAS_API_INSTAGRAM_AUTHORIZE_URL="$FAKE/v21.0/dialog/oauth" CAAS_API_INSTAGRAM_GRAPH_BASE="$FAKE"
	CAAS_API_OUTBOUND_TIMEOUT_MS=3000
)
# One JWT secret for every server this file starts, so users stay logged in.
JWT="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
api_start CAAS_API_JWT_SECRET="$JWT" CAAS_API_TOKEN_KEYS="k1:$KEY" CAAS_API_TOKEN_KEY_ID=k1 "${PLATFORMS[@]}"

# open_sealed HEX ORG SUBJECT KIND — the clear text of a sealed token, as the
# dispatcher opens it: nonce(12) ‖ ciphertext ‖ tag(16), AES-256-GCM, AAD
# "caas-token-v1|k1|ORG|SUBJECT|KIND".  Nothing when it does not open.
cat >"$E2E_TMP/open.js" <<'JS'
const crypto = require('crypto');
const [key, org, subject, kind, hex] = process.argv.slice(2);
const b = Buffer.from(hex, 'hex');
try {
	const d = crypto.createDecipheriv('aes-256-gcm', Buffer.from(key, 'base64'), b.subarray(0, 12));
	d.setAAD(Buffer.from(`caas-token-v1|k1|${org}|${subject}|${kind}`));
	d.setAuthTag(b.subarray(b.length - 16));
	process.stdout.write(Buffer.concat([d.update(b.subarray(12, b.length - 16)), d.final()]).toString());
} catch (e) { process.exit(1); }
JS
open_sealed() { node "$E2E_TMP/open.js" "$KEY" "$2" "$3" "$4" "$1" 2>/dev/null; }
# sealed_hex ACCOUNT COLUMN — a token column as hex.
sealed_hex() { sql_su "SELECT encode($2, 'hex') FROM caas.social_accounts WHERE account_id = '$1'"; }

# begin PLATFORM TOKEN — POST .../accounts/oauth/PLATFORM/; sets URL and STATE.
begin() {
	req POST "$O/accounts/oauth/$1/" "" "$2"
	URL=$(jq_body .authorization_url)
	STATE=$(jq_body .state)
}
# consent [USER] — the user agrees on the platform's page: GET the
# authorisation URL, whose 302 leads to our callback; sets CALLBACK.
consent() {
	CALLBACK=$(curl -sS -o /dev/null -w '%{redirect_url}' "$URL&user=${1:-fakeuser}")
}
# callback — follow CALLBACK to caas-api; STATUS, BODY, $E2E_TMP/cb.h.
callback() {
	STATUS=$(curl -sS -D "$E2E_TMP/cb.h" -o "$E2E_TMP/body" -w '%{http_code}' "$CALLBACK")
	BODY=$(cat "$E2E_TMP/body")
}
urlarg() { printf '%s' "$1" | tr '?&' '\n\n' | sed -n "s/^$2=//p" | head -1; }
state_rows() { sql_su "SELECT count(*) FROM caas.oauth_states WHERE state_hash = sha256(convert_to('$1', 'UTF8'))"; }

echo "1..41"

stamp=$(date +%s%N)
OWNER=$(user_token "oa-owner$stamp@example.com")
ADMIN=$(user_token "oa-admin$stamp@example.com")
MEMBER=$(user_token "oa-member$stamp@example.com")
VIEWER=$(user_token "oa-viewer$stamp@example.com")
OTHER=$(user_token "oa-other$stamp@example.com")
req POST /api/v1/organizations/ "{\"name\":\"OAuth\",\"slug\":\"oauth-$stamp\"}" "$OWNER"
ORG=$(jq_body .org_id)
O="/api/v1/organizations/$ORG"
sql_su "INSERT INTO caas.subscriptions (org_id, plan_id) VALUES ('$ORG','team')" >/dev/null
for r in admin member viewer; do
	req POST "$O/members/" "{\"email\":\"oa-$r$stamp@example.com\",\"role\":\"$r\"}" "$OWNER"
done
req POST /api/v1/organizations/ "{\"name\":\"Other\",\"slug\":\"oauth-other-$stamp\"}" "$OTHER"
req GET "$O/members/" "" "$OWNER"
ok '[ -n "$ORG" ] && [ "$(jq_body ".items | length")" = 4 ]' \
	"an organisation with an owner, an admin, a member and a viewer"

# ------------------------------------------------------------- X with PKCE
begin x "$OWNER"
ok '[ "$STATUS" = 201 ] && [ "${URL%%\?*}" = "$FAKE/i/oauth2/authorize" ] && [ ${#STATE} -ge 43 ] &&
	[ "$(jq_body ".expires_at | type")" = string ]' "X: start → 201 {authorization_url, state, expires_at}"
CHALLENGE=$(urlarg "$URL" code_challenge)
ok '[ "$(urlarg "$URL" state)" = "$STATE" ] && [ "$(urlarg "$URL" code_challenge_method)" = S256 ] &&
	[ ${#CHALLENGE} -eq 43 ] &&
	[ "$(urlarg "$URL" client_id)" = caas-x ] &&
	[ "$(urlarg "$URL" redirect_uri)" = "$(printf %s "$API/api/v1/oauth/x/callback/" | jq -sRr @uri)" ] &&
	[ "$(urlarg "$URL" scope)" = "tweet.read%20tweet.write%20users.read%20offline.access" ]' \
	"the URL carries client_id, redirect_uri, the scopes, state and an S256 challenge"
ok '[ "$(state_rows "$STATE")" = 1 ] &&
	[ "$(sql_su "SELECT verifier_enc IS NOT NULL AND token_key_id = '"'"'k1'"'"' FROM caas.oauth_states WHERE state_hash = sha256(convert_to('"'"'$STATE'"'"', '"'"'UTF8'"'"'))")" = t ]' \
	"the database keeps the state's SHA-256 and a sealed verifier, never the state"
consent "alice$stamp"
callback
X1=$(jq_body .account_id)
ok '[ "$STATUS" = 201 ] && [ "$(jq_body .platform)" = x ] && [ "$(jq_body .handle)" = "alice$stamp" ] &&
	[ "$(jq_body .status)" = connected ] && [ -n "$(jq_body .external_id)" ]' \
	"consent → callback: the code is exchanged (PKCE) and the account connected (201)"
XID=$(jq_body .external_id)
ok '[ "$(state_rows "$STATE")" = 0 ]' "the state is consumed"
ok '[ "$(sql_su "SELECT connected_by = (SELECT user_id FROM caas.users WHERE email = '"'"'oa-owner$stamp@example.com'"'"') AND token_key_id = '"'"'k1'"'"' AND refresh_token_enc IS NOT NULL AND token_expires_at BETWEEN now() + interval '"'"'7000 s'"'"' AND now() + interval '"'"'7300 s'"'"' FROM caas.social_accounts WHERE account_id = '"'"'$X1'"'"'")" = t ]' \
	"stored as connected by the user who started the flow, key k1, both tokens, expiry from expires_in"
ACCESS=$(open_sealed "$(sealed_hex "$X1" access_token_enc)" "$ORG" "x:$XID" access)
REFRESH=$(open_sealed "$(sealed_hex "$X1" refresh_token_enc)" "$ORG" "x:$XID" refresh)
ok '[ -n "$ACCESS" ] && [ -n "$REFRESH" ] && [ "$ACCESS" != "$REFRESH" ]' \
	"the sealed tokens open with the key and the AAD the dispatcher uses (org, \"x:<external_id>\", kind)"
ok '[ -z "$(open_sealed "$(sealed_hex "$X1" access_token_enc)" "$ORG" "x:$XID" refresh)" ] &&
	[ -z "$(open_sealed "$(sealed_hex "$X1" access_token_enc)" "00000000-0000-4000-8000-000000000000" "x:$XID" access)" ]' \
	"and not as another column's or another organisation's"
ok '[ "$(sql_su "SELECT position(convert_to('"'"'$ACCESS'"'"', '"'"'UTF8'"'"') IN access_token_enc) = 0 AND position(convert_to('"'"'$REFRESH'"'"', '"'"'UTF8'"'"') IN refresh_token_enc) = 0 FROM caas.social_accounts WHERE account_id = '"'"'$X1'"'"'")" = t ]' \
	"the bytea holds neither token's text"
BODY=$(curl -sS -H "Authorization: Bearer $ACCESS" "$FAKE/2/users/me")
ok '[ "$(jq_body .data.id)" = "$XID" ]' "the opened access token is the one X issued (X's /2/users/me says it is $XID)"

callback
ok '[ "$STATUS" = 404 ] && [ "$(jq_body .code)" = P0002 ]' "the same callback again: 404 unknown or used OAuth state"
CALLBACK="$API/api/v1/oauth/x/callback/?code=whatever&state=never-issued"
callback
ok '[ "$STATUS" = 404 ]' "an unknown state: 404"
begin x "$OWNER"
sql_su "UPDATE caas.oauth_states SET created_at = now() - interval '20 minutes', expires_at = now() - interval '10 minutes' WHERE state_hash = sha256(convert_to('$STATE', 'UTF8'))" >/dev/null
consent
callback
ok '[ "$STATUS" = 422 ] && [ "$(jq_body .code)" = 22023 ]' "an expired state: 422"
begin x "$OWNER"
CALLBACK="$API/api/v1/oauth/x/callback/?error=access_denied&state=$STATE"
callback
ok '[ "$STATUS" = 400 ] && [ "$(jq_body .code)" = oauth_denied ] && [ "$(jq_body .details)" = access_denied ]' \
	"the user said no on the platform: 400 oauth_denied (access_denied)"
begin x "$OWNER"
CALLBACK="$API/api/v1/oauth/x/callback/?code=forged-code&state=$STATE"
callback
ok '[ "$STATUS" = 400 ] && [ "$(jq_body .code)" = oauth_exchange_failed ] && ! grep -q "unknown or used authorization code" "$E2E_TMP/body"' \
	"a code the platform refuses: 400 oauth_exchange_failed, the platform's own message not echoed"
begin linkedin "$OWNER"
consent
CALLBACK=${CALLBACK/\/linkedin\//\/x\/}
callback
ok '[ "$STATUS" = 400 ] && [ "$(jq_body .code)" = invalid_state ]' "a LinkedIn state brought to X's callback: 400"

# --------------------------------------------------------- LinkedIn, Instagram
begin linkedin "$ADMIN"
ok '[ "$STATUS" = 201 ] && [ "${URL%%\?*}" = "$FAKE/oauth/v2/authorization" ] &&
	[ "$(urlarg "$URL" scope)" = "openid%20profile%20w_member_social" ] && [ -z "$(urlarg "$URL" code_challenge)" ]' \
	"LinkedIn: an admin starts (no PKCE; scopes openid profile w_member_social)"
consent "li$stamp"
callback
LI=$(jq_body .account_id)
ok '[ "$STATUS" = 201 ] && [ "$(jq_body .platform)" = linkedin ] && [[ "$(jq_body .external_id)" == urn:li:person:* ]]' \
	"LinkedIn: connected as urn:li:person:<sub> ($(jq_body .external_id))"
ok '[ -n "$(open_sealed "$(sealed_hex "$LI" access_token_enc)" "$ORG" "linkedin:$(jq_body .external_id)" access)" ]' \
	"its token opens with subject \"linkedin:<external_id>\""
begin instagram "$OWNER"
ok '[ "$STATUS" = 201 ] && [ "${URL%%\?*}" = "$FAKE/v21.0/dialog/oauth" ] &&
	[ "$(urlarg "$URL" scope)" = "instagram_basic%2Cinstagram_content_publish%2Cpages_show_list%2Cpages_read_engagement" ]' \
	"Instagram: Facebook Login with the publishing permissions"
consent "ig$stamp"
callback
ok '[ "$STATUS" = 201 ] && [ "$(jq_body .platform)" = instagram ] && [ "$(jq_body .handle)" = "ig$stamp" ] &&
	[ -n "$(jq_body .external_id)" ]' "Instagram: code exchanged on the Graph API, connected ($(jq_body .external_id))"

# ------------------------------------------------------------- who may connect
begin x "$MEMBER"
ok '[ "$STATUS" = 403 ]' "a member (no account.manage) may not start: 403"
begin x "$VIEWER"
ok '[ "$STATUS" = 403 ]' "a viewer may not: 403"
begin x "$OTHER"
ok '[ "$STATUS" = 404 ]' "a user of another organisation: 404"
begin x "$ADMIN"
consent "demoted$stamp"
ADMIN_ID=$(sql_su "SELECT user_id FROM caas.users WHERE email = 'oa-admin$stamp@example.com'")
req PATCH "$O/members/$ADMIN_ID/" '{"role":"member"}' "$OWNER"
callback
ok '[ "$STATUS" = 403 ] && [ "$(sql_su "SELECT count(*) FROM caas.social_accounts WHERE org_id = '"'"'$ORG'"'"' AND handle = '"'"'demoted$stamp'"'"'")" = 0 ]' \
	"an admin demoted while the flow ran: the callback is refused (403), nothing stored"

# ------------------------------------------------------------- pasted tokens
PASTED="tok-bob$stamp-1"
req POST "$O/accounts/" "$(jq -cn --arg t "$PASTED" '{platform:"x", access_token:$t, refresh_token:"tok-bob-refresh", expires_in:7200}')" "$OWNER"
BOB=$(jq_body .account_id)
BOB_ID=$(jq_body .external_id)
ok '[ "$STATUS" = 201 ] && [ "$(jq_body .handle)" = "bob$stamp" ]' "a pasted X token is checked with X and connected (201)"
ok '[ "$(sql_su "SELECT position(convert_to('"'"'$PASTED'"'"', '"'"'UTF8'"'"') IN access_token_enc) = 0 FROM caas.social_accounts WHERE account_id = '"'"'$BOB'"'"'")" = t ] &&
	[ "$(open_sealed "$(sealed_hex "$BOB" access_token_enc)" "$ORG" "x:$BOB_ID" access)" = "$PASTED" ]' \
	"stored sealed: the bytea does not contain the token, and it opens to exactly the pasted token"
BEFORE=$(sealed_hex "$BOB" refresh_token_enc)
req POST "$O/accounts/" "$(jq -cn --arg t "tok-bob$stamp-2" '{platform:"x", access_token:$t}')" "$OWNER"
ok '[ "$STATUS" = 201 ] && [ "$(jq_body .account_id)" = "$BOB" ] && [ "$(sealed_hex "$BOB" refresh_token_enc)" = "$BEFORE" ] &&
	[ "$(open_sealed "$(sealed_hex "$BOB" access_token_enc)" "$ORG" "x:$BOB_ID" access)" = "tok-bob$stamp-2" ]' \
	"pasting again for the same identity replaces the access token and keeps the refresh token"
req POST "$O/accounts/" '{"platform":"x","access_token":"not-a-valid-token"}' "$OWNER"
ok '[ "$STATUS" = 422 ] && [ "$(jq_body .code)" = token_rejected ]' "a token X refuses: 422 token_rejected"
req POST "$O/accounts/" '{"platform":"instagram","access_token":"not-a-valid-token"}' "$OWNER"
ok '[ "$STATUS" = 422 ]' "a token the Graph API refuses: 422"
req POST "$O/accounts/" "{\"platform\":\"linkedin\",\"access_token\":\"tok-carol$stamp\"}" "$MEMBER"
ok '[ "$STATUS" = 403 ]' "a member may not paste a token: 403"
req POST "$O/accounts/" '{"platform":"sandbox","access_token":"anything","external_id":"demo-1","handle":"demo"}' "$OWNER"
ok '[ "$STATUS" = 201 ] && [ "$(jq_body .platform)" = sandbox ] && [ "$(jq_body .external_id)" = demo-1 ]' \
	"the sandbox platform takes its identity from the body (201)"
req POST "$O/accounts/" '{"platform":"myspace","access_token":"x"}' "$OWNER"
ok '[ "$STATUS" = 422 ]' "an unknown platform: 422"

# ----------------------------------------- the platform down, the browser path
curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"platform":"x","mode":"503","count":1,"path_contains":"oauth2/token"}' "$FAKE/_fake/mode"
begin x "$OWNER"
consent
callback
ok '[ "$STATUS" = 502 ] && [ "$(jq_body .code)" = platform_error ]' "X answering 503 to the code exchange: 502 platform_error"

ok '! grep -qF "$ACCESS" "$E2E_TMP/api.log" && ! grep -qF "$REFRESH" "$E2E_TMP/api.log" &&
	! grep -qF "$PASTED" "$E2E_TMP/api.log" && ! grep -qF "$X_SECRET" "$E2E_TMP/api.log" &&
	! grep -q "code=" "$E2E_TMP/api.log"' "no token, client secret or code in the server's log"
api_stop

api_start CAAS_API_JWT_SECRET="$JWT" CAAS_API_TOKEN_KEYS="k1:$KEY" "${PLATFORMS[@]}" CAAS_API_OAUTH_DONE_URL="https://app.example.com/connected"
begin x "$OWNER"
consent "dora$stamp"
callback
LOC=$(header_of Location "$E2E_TMP/cb.h")
ok '[ "$STATUS" = 302 ] && [[ "$LOC" == "https://app.example.com/connected?status=connected&account_id="* ]] &&
	[ "$(sql_su "SELECT handle FROM caas.social_accounts WHERE account_id = '"'"'${LOC##*=}'"'"'")" = "dora$stamp" ]' \
	"with oauth_done_url: 302 to it with status=connected&account_id=<the new account>"
callback
LOC=$(header_of Location "$E2E_TMP/cb.h")
ok '[ "$STATUS" = 302 ] && [ "$LOC" = "https://app.example.com/connected?status=error&error=P0002" ]' \
	"and errors go there too: status=error&error=<code>"
api_stop

api_start CAAS_API_JWT_SECRET="$JWT"
begin x "$OWNER"
ok '[ "$STATUS" = 503 ] && [ "$(jq_body .message)" = "x_client_id is not configured" ]' \
	"no X client configured: 503 naming x_client_id"
api_stop
api_start CAAS_API_JWT_SECRET="$JWT" "${PLATFORMS[@]}"
begin linkedin "$OWNER"
ok '[ "$STATUS" = 503 ] && [ "$(jq_body .message)" = "token_keys is not configured" ]' \
	"no sealing keys: 503 naming token_keys"
req POST "$O/accounts/" "{\"platform\":\"x\",\"access_token\":\"tok-eve$stamp\"}" "$OWNER"
ok '[ "$STATUS" = 503 ] && [ "$(jq_body .message)" = "token_keys is not configured" ]' \
	"and pasting a token too"
