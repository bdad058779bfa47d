#!/usr/bin/env bash
# tests/e2e/account.t — password change and logout over HTTP, and the
# Prometheus metrics those requests leave behind.
source "$(dirname "$0")/lib.sh"

echo "1..10"
api_start
stamp=$(date +%s%N)
email="pw$stamp@example.com"
req POST /api/v1/auth/register/ "{\"email\":\"$email\",\"password\":\"first long passphrase\"}"
req POST /api/v1/auth/login/ "{\"email\":\"$email\",\"password\":\"first long passphrase\"}"
token=$(jq_body .access)
refresh=$(jq_body .refresh)

req POST /api/v1/auth/password/ '{"current_password":"not the one","new_password":"second long passphrase"}' "$token"
ok '[ "$STATUS" = 403 ]' "a wrong current password is refused (403)"
req POST /api/v1/auth/password/ '{"current_password":"first long passphrase","new_password":"qwertyuiop"}' "$token"
ok '[ "$STATUS" = 422 ] && [ -n "$(jq_body .details)" ]' "a weak new password is refused with the reason"
req POST /api/v1/auth/password/ '{"current_password":"first long passphrase","new_password":"second long passphrase"}'
ok '[ "$STATUS" = 401 ]' "changing the password needs an access token"
req POST /api/v1/auth/password/ '{"current_password":"first long passphrase","new_password":"second long passphrase"}' "$token"
ok '[ "$STATUS" = 204 ]' "the password changes"
req POST /api/v1/auth/refresh/ "{\"refresh\":\"$refresh\"}"
ok '[ "$STATUS" = 401 ]' "a password change revokes the refresh tokens"
req POST /api/v1/auth/login/ "{\"email\":\"$email\",\"password\":\"first long passphrase\"}"
ok '[ "$STATUS" = 401 ]' "the old password no longer logs in"
req POST /api/v1/auth/login/ "{\"email\":\"$email\",\"password\":\"second long passphrase\"}"
ok '[ "$STATUS" = 200 ]' "the new one does"
refresh2=$(jq_body .refresh)
req POST /api/v1/auth/logout/ "{\"refresh\":\"$refresh2\"}"
req POST /api/v1/auth/refresh/ "{\"refresh\":\"$refresh2\"}"
ok '[ "$STATUS" = 401 ]' "a logged-out refresh token is refused"

req GET /metrics
ok '[ "$STATUS" = 200 ] && printf "%s" "$BODY" | grep -q "/api/v1/auth/login/" && printf "%s" "$BODY" | grep -q "_bucket{"' \
	"/metrics counts requests by route and has latency histograms"
ok '! printf "%s" "$BODY" | grep -q "$email"' "metrics hold no user data"
