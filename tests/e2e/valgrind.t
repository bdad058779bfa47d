#!/usr/bin/env bash
# tests/e2e/valgrind.t — caas-api under valgrind memcheck: a short session
# through the main paths (health, register, login, an authenticated SQL
# call, errors, the OpenAPI document), then SIGTERM.  The server must report
# no memory error and free everything it allocated.
source "$(dirname "$0")/lib.sh"

API_WRAPPER="valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 --log-file=$E2E_TMP/valgrind.log" \
	api_start CAAS_API_THREADS=2

echo "1..4"
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

kill -TERM "$API_PID"
wait "$API_PID"
rc=$?
API_PID=
ok '[ "$rc" = 0 ]' "the server exits 0 on SIGTERM (valgrind found nothing to fail it)"
ok 'grep -q "ERROR SUMMARY: 0 errors" "$E2E_TMP/valgrind.log"' "no memory errors"
ok 'grep -q "All heap blocks were freed\|definitely lost: 0 bytes" "$E2E_TMP/valgrind.log"' "no leaks"
