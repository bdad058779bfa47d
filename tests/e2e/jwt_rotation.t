#!/usr/bin/env bash
# tests/e2e/jwt_rotation.t — signing keys rotate by kid without logging
# anyone out: a token signed with the previous key verifies while that key
# is configured as jwt_previous_secret, and not after it is removed.
source "$(dirname "$0")/lib.sh"

key_a=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
key_b=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
kid() { printf '%s' "$1" | cut -d. -f1 | tr '_-' '/+' | base64 -d 2>/dev/null | jq -r .kid; }

echo "1..6"
api_start CAAS_API_JWT_SECRET="$key_a" CAAS_API_JWT_KEY_ID=ka
stamp=$(date +%s%N)
req POST /api/v1/auth/register/ "{\"email\":\"rot$stamp@example.com\",\"password\":\"rotating keys safely\"}"
req POST /api/v1/auth/login/ "{\"email\":\"rot$stamp@example.com\",\"password\":\"rotating keys safely\"}"
old=$(jq_body .access)
ok '[ "$(kid "$old")" = ka ]' "tokens carry the signing key's id"

api_stop
api_start CAAS_API_JWT_SECRET="$key_b" CAAS_API_JWT_KEY_ID=kb \
	CAAS_API_JWT_PREVIOUS_SECRET="$key_a" CAAS_API_JWT_PREVIOUS_KEY_ID=ka
req GET /api/v1/users/me/ "" "$old"
ok '[ "$STATUS" = 200 ]' "after rotation a token signed with the previous key still verifies"
req POST /api/v1/auth/login/ "{\"email\":\"rot$stamp@example.com\",\"password\":\"rotating keys safely\"}"
new=$(jq_body .access)
ok '[ "$(kid "$new")" = kb ]' "new tokens are signed with the new key"
req GET /api/v1/users/me/ "" "$new"
ok '[ "$STATUS" = 200 ]' "and verify"

api_stop
api_start CAAS_API_JWT_SECRET="$key_b" CAAS_API_JWT_KEY_ID=kb
req GET /api/v1/users/me/ "" "$old"
ok '[ "$STATUS" = 401 ]' "once the previous key is removed its tokens are refused"
api_stop
API_PID=
out=$(CAAS_API_JWT_SECRET="$key_b" CAAS_API_JWT_KEY_ID=kb CAAS_API_JWT_PREVIOUS_SECRET="$key_a" \
	"$E2E_REPO/api/build/caas-api" -c "$E2E_REPO/conf/api.conf" --check-config 2>&1; \
	CAAS_API_JWT_SECRET="$key_b" CAAS_API_JWT_PREVIOUS_SECRET="$key_a" CAAS_API_PORT=1 \
	CAAS_API_DATABASE_URL="host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=caas_authenticator" \
	timeout 10 "$E2E_REPO/api/build/caas-api" -c "$E2E_REPO/conf/api.conf" 2>&1)
ok 'printf "%s" "$out" | grep -q "needs its own jwt_previous_key_id"' "a previous key without its own id stops the server at start-up"
