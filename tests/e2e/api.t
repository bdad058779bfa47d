#!/usr/bin/env bash
# tests/e2e/api.t — the REST API over real HTTP against the running server
# and the harness's cluster: auth, every role, cross-organisation attempts,
# bad input, the error envelope, the OpenAPI document.
source "$(dirname "$0")/lib.sh"

api_start CAAS_API_LOGIN_PER_EMAIL=5

echo "1..57"

# ------------------------------------------------------------------ service
req GET /api/v1/health/
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .database)" = ok ]' "health says the database is reachable"
req GET /api/v1/nothing-here/
ok '[ "$STATUS" = 404 ] && [ -n "$(jq_body .message)" ]' "an unknown path is a 404 with a JSON message"
req DELETE /api/v1/health/
ok '[ "$STATUS" = 405 ]' "a known path with another method is a 405"
allow=$(curl -s -o /dev/null -D - -X DELETE "$API/api/v1/health/" | tr -d '\r' | awk -F': ' 'tolower($1)=="allow"{print $2}')
ok '[ "$allow" = GET ]' "the 405 says which methods are allowed (Allow: GET)"
rid=$(curl -s -o /dev/null -D - "$API/api/v1/health/" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-request-id"{print $2}')
ok '[ ${#rid} -ge 16 ]' "every response carries a request id"

# --------------------------------------------------------------------- auth
stamp=$(date +%s%N)
owner="owner$stamp@example.com"
req POST /api/v1/auth/register/ "{\"email\":\"$owner\",\"password\":\"correct horse battery staple\",\"first_name\":\"Olga\",\"last_name\":\"Owner\"}"
ok '[ "$STATUS" = 201 ] && [ "$(jq_body .email)" = "$owner" ]' "register with the seed's request shape"
ok '! printf "%s" "$BODY" | grep -q password' "the registered user never shows a password or hash"
req POST /api/v1/auth/register/ "{\"email\":\"weak$stamp@example.com\",\"password\":\"password\",\"first_name\":\"W\",\"last_name\":\"K\"}"
ok '[ "$STATUS" = 422 ] && [ -n "$(jq_body .details)" ]' "a weak password is refused with 422 saying why"
req POST /api/v1/auth/register/ "{\"email\":\"$owner\",\"password\":\"another long passphrase\"}"
ok '[ "$STATUS" = 409 ]' "an e-mail registers once (409)"
req POST /api/v1/auth/login/ "{\"email\":\"$owner\",\"password\":\"correct horse battery staple\"}"
ok '[ "$STATUS" = 200 ] && [ -n "$(jq_body .access)" ] && [ -n "$(jq_body .refresh)" ]' "login returns access and refresh tokens"
TOKEN=$(jq_body .access)
REFRESH=$(jq_body .refresh)
req POST /api/v1/auth/login/ "{\"email\":\"$owner\",\"password\":\"wrong password here\"}"
ok '[ "$STATUS" = 401 ]' "a wrong password is a 401"
req POST /api/v1/auth/login/ "{\"email\":\"nobody$stamp@example.com\",\"password\":\"whatever it is\"}"
ok '[ "$STATUS" = 401 ] && [ "$(jq_body .message)" = "invalid e-mail or password" ]' "an unknown e-mail answers exactly like a wrong password"
req GET /api/v1/users/me/ "" "$TOKEN"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .first_name)" = Olga ]' "the access token identifies the caller"
req GET /api/v1/users/me/
ok '[ "$STATUS" = 401 ]' "no token: 401"
req GET /api/v1/users/me/ "" "${TOKEN%?}x"
ok '[ "$STATUS" = 401 ]' "a tampered token: 401"
none="$(printf '{"alg":"none","typ":"at+jwt"}' | base64 -w0 | tr '+/' '-_' | tr -d '=').$(printf '%s' "$TOKEN" | cut -d. -f2)."
req GET /api/v1/users/me/ "" "$none"
ok '[ "$STATUS" = 401 ]' "alg=none is refused"
req PATCH /api/v1/users/me/ '{"timezone":"Europe/Paris"}' "$TOKEN"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .timezone)" = Europe/Paris ]' "PATCH /users/me/ changes the profile"
req PATCH /api/v1/users/me/ '{"email":"x@example.com"}' "$TOKEN"
ok '[ "$STATUS" = 422 ]' "a field that cannot change is a 422"
req POST /api/v1/auth/refresh/ "{\"refresh\":\"$REFRESH\"}"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .refresh)" != "$REFRESH" ]' "refresh rotates the refresh token"
REFRESH2=$(jq_body .refresh)
req POST /api/v1/auth/refresh/ "{\"refresh\":\"$REFRESH\"}"
ok '[ "$STATUS" = 401 ]' "a spent refresh token is refused"
req POST /api/v1/auth/refresh/ "{\"refresh\":\"$REFRESH2\"}"
ok '[ "$STATUS" = 401 ]' "and its reuse revoked the whole family"
for i in 1 2 3 4 5 6; do req POST /api/v1/auth/login/ "{\"email\":\"$owner\",\"password\":\"bad guess $i\"}"; done
ok '[ "$STATUS" = 429 ]' "logins for one e-mail are rate-limited (429)"
retry=$(curl -s -o /dev/null -D - -X POST "$API/api/v1/auth/login/" -H 'Content-Type: application/json' \
	--data "{\"email\":\"$owner\",\"password\":\"x\"}" | tr -d '\r' | awk -F': ' 'tolower($1)=="retry-after"{print $2}')
ok '[ -n "$retry" ] && [ "$retry" -gt 0 ]' "a 429 says when to retry"

# ------------------------------------------- organisations and isolation
other="other$stamp@example.com"
req POST /api/v1/auth/register/ "{\"email\":\"$other\",\"password\":\"another long passphrase\"}"
api_stop; api_start     # fresh rate-limit state for the second user's login
req POST /api/v1/auth/login/ "{\"email\":\"$owner\",\"password\":\"correct horse battery staple\"}"
TOKEN=$(jq_body .access)
req POST /api/v1/auth/login/ "{\"email\":\"$other\",\"password\":\"another long passphrase\"}"
OTHER=$(jq_body .access)
req POST /api/v1/organizations/ "{\"name\":\"Acme\",\"slug\":\"acme-$stamp\"}" "$TOKEN"
ok '[ "$STATUS" = 201 ] && [ "$(jq_body .role)" = owner ]' "create an organisation; the caller owns it"
ORG=$(jq_body .org_id)
req POST /api/v1/organizations/ "{\"name\":\"Other\",\"slug\":\"other-$stamp\"}" "$OTHER"
OTHER_ORG=$(jq_body .org_id)
req GET /api/v1/organizations/ "" "$TOKEN"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body ".items | length")" = 1 ]' "the organisation list shows only the caller's"
req GET "/api/v1/organizations/$OTHER_ORG/" "" "$TOKEN"
ok '[ "$STATUS" = 404 ]' "another organisation answers 404: its existence does not leak"
req GET "/api/v1/organizations/not-a-uuid/" "" "$TOKEN"
ok '[ "$STATUS" = 404 ]' "a malformed id is a 404"
req POST "/api/v1/organizations/$ORG/workspaces/" '{"name":"Brand","slug":"brand"}' "$TOKEN"
ok '[ "$STATUS" = 201 ]' "create a workspace"
WS=$(jq_body .workspace_id)
req POST "/api/v1/organizations/$ORG/workspaces/" '{"name":"Second","slug":"second"}' "$TOKEN"
ok '[ "$STATUS" = 402 ] && printf "%s" "$(jq_body .message)" | grep -q "Free plan"' "the free plan's workspace limit answers 402 naming the plan"
req GET "/api/v1/organizations/$ORG/usage/" "" "$TOKEN"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .workspaces.used)" = 1 ]' "usage counts the workspace"
req GET "/api/v1/plans/"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body length)" = 3 ]' "plans are public"

# ------------------------------------------------------------------ content
req POST "/api/v1/organizations/$ORG/content/" "{\"workspace_id\":\"$WS\",\"title\":\"Hello\",\"body\":\"First words\",\"platform\":\"x\"}" "$TOKEN"
ok '[ "$STATUS" = 201 ] && [ "$(jq_body .current_version)" = 1 ]' "create content; its text is version 1"
CONTENT=$(jq_body .content_id)
req PATCH "/api/v1/organizations/$ORG/content/$CONTENT/" '{"body":"Second words"}' "$TOKEN"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .current_version)" = 2 ]' "editing the text makes version 2"
req GET "/api/v1/organizations/$ORG/content/$CONTENT/diff/?from=1&to=2" "" "$TOKEN"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .inserted_chars)" -gt 0 ]' "the diff between two versions"
req POST "/api/v1/organizations/$ORG/content/$CONTENT/versions/1/restore/" "" "$TOKEN"
ok '[ "$STATUS" = 201 ]' "restoring version 1 makes a new version"
for i in 1 2 3 4 5; do req POST "/api/v1/organizations/$ORG/content/" "{\"workspace_id\":\"$WS\",\"title\":\"Item $i\"}" "$TOKEN"; done
req GET "/api/v1/organizations/$ORG/content/?limit=4" "" "$TOKEN"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body ".items | length")" = 4 ] && [ "$(jq_body .next_cursor)" != null ]' "content pages have a next cursor"
cursor=$(jq_body .next_cursor)
req GET "/api/v1/organizations/$ORG/content/?limit=4&cursor=$cursor" "" "$TOKEN"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body ".items | length")" = 2 ] && [ "$(jq_body .next_cursor)" = null ]' "the last page ends the list"
req GET "/api/v1/organizations/$ORG/content/?limit=abc" "" "$TOKEN"
ok '[ "$STATUS" = 422 ]' "a non-numeric limit is a 422"
req GET "/api/v1/organizations/$ORG/content/?cursor=garbage" "" "$TOKEN"
ok '[ "$STATUS" = 422 ]' "a tampered cursor is a 422"
req GET "/api/v1/organizations/$ORG/content/" "" "$OTHER"
ok '[ "$STATUS" = 404 ]' "another organisation's content list is a 404"
req PATCH "/api/v1/organizations/$ORG/content/$CONTENT/" '{"body":"hijack"}' "$OTHER"
ok '[ "$STATUS" = 404 ]' "another user cannot edit the content (404)"
req GET "/api/v1/organizations/$ORG/content/$CONTENT/" "" "$TOKEN"
ok '[ "$(jq_body .body)" = "First words" ]' "and nothing was written"

# ---------------------------------------------------------------- bad input
req POST "/api/v1/organizations/$ORG/content/" '{"workspace_id":' "$TOKEN"
ok '[ "$STATUS" = 400 ]' "truncated JSON is a 400"
req POST "/api/v1/organizations/$ORG/content/" '[1,2]' "$TOKEN"
ok '[ "$STATUS" = 400 ]' "a JSON array where an object is expected is a 400"
req POST "/api/v1/organizations/$ORG/content/" "{\"workspace_id\":\"$WS\",\"title\":\"x\"}" "$TOKEN" text/plain
ok '[ "$STATUS" = 415 ]' "a body that is not JSON is a 415"
req POST "/api/v1/organizations/$ORG/content/" "$(printf '{"workspace_id":"%s","title":"\xff\xfe"}' "$WS")" "$TOKEN"
ok '[ "$STATUS" = 400 ]' "invalid UTF-8 is a 400"
head -c 300000 /dev/zero | tr '\0' 'a' > "$E2E_TMP/big"
STATUS=$(curl -sS -o "$E2E_TMP/body" -w '%{http_code}' -X POST "$API/api/v1/auth/login/" -H 'Content-Type: application/json' \
	--data-binary "@$E2E_TMP/big")
BODY=$(cat "$E2E_TMP/body")
ok '[ "$STATUS" = 413 ]' "a body over the route's limit is a 413"
req POST "/api/v1/organizations/$ORG/content/" "{\"workspace_id\":\"$WS\",\"title\":{\"x\":1}}" "$TOKEN"
ok '[ "$STATUS" = 400 ]' "an object where a string is expected is a 400"
req POST "/api/v1/organizations/$ORG/content/" "{\"workspace_id\":\"$WS\",\"title\":\"x\",\"media_urls\":\"nope\"}" "$TOKEN"
ok '[ "$STATUS" -ge 400 ] && [ "$STATUS" -lt 500 ]' "media_urls that is not an array is a 4xx"
ok '[ -n "$(jq_body .code)" ] && [ -n "$(jq_body .message)" ]' "errors carry the {code, message, details, hint} envelope"

# ------------------------------------------------------------------ schema
req GET /api/schema/
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .openapi | cut -c1-3)" = 3.1 ]' "the OpenAPI document is 3.1"
missing=0
while read -r method pattern; do
	key=$(printf '%s' "$method" | tr 'A-Z' 'a-z')
	[ "$(printf '%s' "$BODY" | jq -r --arg p "$pattern" --arg m "$key" '.paths[$p][$m] | type')" = object ] ||
		{ echo "# missing from the document: $method $pattern"; missing=$((missing + 1)); }
done < <(sed -n 's/^#define ORG[[:space:]]*"\(.*\)"/ORG \1/p; s/^[[:space:]]*{ "\([A-Z]*\)", \(ORG \)\{0,1\}"\([^"]*\)".*/\1 \2\3/p' \
	"$E2E_REPO/api/src/routes.c" | awk 'NR==1 && $1=="ORG" {org=$2; next} {p=$2; if ($2=="ORG") p=org $3; print $1, p}')
ok '[ "$missing" = 0 ]' "every route of api/src/routes.c is in the OpenAPI document"
req GET /api/schema/swagger-ui/
ok '[ "$STATUS" = 200 ] && printf "%s" "$BODY" | grep -qi swagger' "Swagger UI is served"

# ------------------------------------------------------------ logout, end
req POST /api/v1/auth/logout/ "{\"refresh\":\"$(jq -rn --arg x x '$x')\"}"
ok '[ "$STATUS" = 204 ]' "logout answers 204 (even for an unknown token)"
req DELETE "/api/v1/organizations/$ORG/" "" "$OTHER"
ok '[ "$STATUS" = 404 ]' "another user cannot delete the organisation"
req DELETE "/api/v1/organizations/$ORG/" "" "$TOKEN"
ok '[ "$STATUS" = 204 ]' "the owner deletes it"
ok '! grep -q "$TOKEN\|correct horse" "$E2E_TMP/api.log"' "no token or password reaches the server log"
