#!/usr/bin/env bash
# tests/e2e/valgrind.t — caas-api under valgrind memcheck: a short session
# through the main paths (health, register, login, an authenticated SQL
# call, errors, the OpenAPI document, a pasted sandbox token sealed, an
# event stream left open), then SIGTERM.  The server must report no memory
# error and free everything it allocated, the stream's listener thread
# and libpq connection included.
source "$(dirname "$0")/lib.sh"

API_WRAPPER="valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 --log-file=$E2E_TMP/valgrind.log" \
	api_start CAAS_API_THREADS=2 CAAS_API_TOKEN_KEYS="k1:$(head -c 32 /dev/urandom | base64 -w0)"

echo "1..6"
stamp=$(date +%s%N)
req GET /api/v1/health/
req POST /api/v1/auth/register/ "{\"email\":\"vg$stamp@example.com\",\"password\":\"a fine long passphrase\"}"
req POST /api/v1/auth/login/ "{\"email\":\"vg$stamp@example.com\",\"password\":\"a fine long passphrase\"}"
token=$(jq_body .access)
req GET /api/v1/users/me/ "" "$token"
ok '[ "$STATUS" = 200 ]' "an authenticated call works under valgrind"
req POST /api/v1/organizations/ '{"name":' "$token"
req GET /api/v1/organizations/not-a-uuid/ "" "$token"
req GET /api/schema/
req DELETE /api/v1/health/
req POST /api/v1/organizations/ "{\"name\":\"Vg\",\"slug\":\"vg-$stamp\"}" "$token"
org=$(jq_body .org_id)
req POST "/api/v1/organizations/$org/accounts/" '{"platform":"sandbox","access_token":"t","external_id":"vg"}' "$token"
ok '[ "$STATUS" = 201 ]' "a pasted (sandbox) token is sealed and stored under valgrind"
curl -sN -H "Authorization: Bearer $token" "$API/api/v1/events/?org_id=$org" >"$E2E_TMP/events" 2>/dev/null &
stream=$!
for i in $(seq 1 100); do grep -q '^: ready$' "$E2E_TMP/events" && break; sleep 0.1; done

kill -TERM "$API_PID"
wait "$API_PID"
rc=$?
API_PID=
wait "$stream"
ok 'grep -q "^: ready$" "$E2E_TMP/events" && grep -q "\"reason\":\"shutdown\"" "$E2E_TMP/events"' \
	"an event stream open at SIGTERM is ended (event: end, shutdown)"
ok '[ "$rc" = 0 ]' "the server exits 0 on SIGTERM (valgrind found nothing to fail it)"
ok 'grep -q "ERROR SUMMARY: 0 errors" "$E2E_TMP/valgrind.log"' "no memory errors"
ok 'grep -q "All heap blocks were freed\|definitely lost: 0 bytes" "$E2E_TMP/valgrind.log"' "no leaks"
