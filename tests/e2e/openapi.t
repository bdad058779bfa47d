#!/usr/bin/env bash
# tests/e2e/openapi.t — GET /api/schema/ from a running server, validated as
# OpenAPI 3.1 by a real validator (the npm package
# @seriousme/openapi-schema-validator, installed by scripts/deps.sh under
# tests/tools/), then checked against the route table api/src/routes.c:
# every row is an operation, its path parameters are declared (and only
# those), every operation has responses, bearerAuth exactly on the
# authenticated routes, operationIds unique.  The rows are read from the
# source, so a route added there is checked here without editing this file.
# Also each row's success status (201, 204) and its query parameters.
source "$(dirname "$0")/lib.sh"

OAV="$E2E_REPO/tests/tools/node_modules/@seriousme/openapi-schema-validator/index.js"
if ! command -v node >/dev/null 2>&1 || [ ! -f "$OAV" ]; then
	echo "Bail out! the OpenAPI validator is not installed (scripts/deps.sh installs it)"
	exit 1
fi

api_start

echo "1..12"

req GET /api/schema/
ok '[ "$STATUS" = 200 ] && printf "%s" "$BODY" | jq -e . >/dev/null' "GET /api/schema/ is a JSON document"
DOC="$E2E_TMP/openapi.json"
printf '%s' "$BODY" >"$DOC"

# ------------------------------------------------- the validator's verdict
cat >"$E2E_TMP/validate.mjs" <<'JS'
const [oav, doc] = process.argv.slice(2);
const { Validator } = await import(oav);
const v = new Validator();
const r = await v.validate(doc);
console.log(JSON.stringify({ version: v.version, valid: r.valid, errors: r.errors ?? null }));
JS
VERDICT=$(node "$E2E_TMP/validate.mjs" "$OAV" "$DOC" 2>&1)
BODY=$VERDICT
ok '[ "$(jq_body .version)" = 3.1 ]' "the validator reads it as OpenAPI 3.1"
ok '[ "$(jq_body .valid)" = true ]' "the validator finds it valid against the OpenAPI 3.1 schema"

# ------------------------------------------------- against api/src/routes.c
# One line per row: method pattern auth body_max ok_status (ORG expanded).
ROUTES="$E2E_TMP/routes.txt"
perl -0777 -ne '
	while (/\{\s*"(GET|POST|PUT|PATCH|DELETE)",\s*(ORG\s*)?"([^"]*)",\s*\w+,\s*API_AUTH_(\w+),\s*(\w+),.*?(\d+)\s*\},/sg) {
		print lc($1), " ", ($2 ? "/api/v1/organizations/{org}" : ""), "$3 $4 $5 $6\n";
	}' "$E2E_REPO/api/src/routes.c" >"$ROUTES"
rows=$(wc -l <"$ROUTES")
decl=$(grep -c '^[[:space:]]*{ "[A-Z]*",' "$E2E_REPO/api/src/routes.c")
BODY="parsed $rows rows of $decl"
ok '[ "$rows" -gt 0 ] && [ "$rows" = "$decl" ]' "every row of routes.c is read ($rows)"

missing=$(while read -r m p _; do
	jq -e --arg p "$p" --arg m "$m" '.paths[$p][$m] | type == "object"' "$DOC" >/dev/null || echo "$m $p"
done <"$ROUTES")
BODY="missing: $missing"
ok '[ -z "$missing" ]' "every route of routes.c is an operation of the document"

nops=$(jq '[.paths[] | to_entries[] | select(.key != "parameters")] | length' "$DOC")
BODY="document has $nops operations, routes.c $rows"
ok '[ "$nops" = "$rows" ]' "and the document has no operation that routes.c lacks"

# Path templating: the {names} of each path are exactly its declared path
# parameters (path-level or operation-level), each required.
bad=$(jq -r '
	.paths | to_entries[] | .key as $p | .value as $item
	| ($p | [scan("\\{([^}]+)\\}")[0]] | sort) as $tmpl
	| $item | to_entries[] | select(.key != "parameters") | .key as $m
	| ([($item.parameters // [])[], (.value.parameters // [])[]] | map(select(.in == "path"))) as $pp
	| select(($pp | map(.name) | unique) != $tmpl or any($pp[]; .required != true))
	| "\($m) \($p): template \($tmpl) declared \($pp | map(.name))"' "$DOC")
BODY=$bad
ok '[ -z "$bad" ]' "every path parameter is declared, required, and none is extra"

bad=$(jq -r '.paths | to_entries[] | .key as $p | .value | to_entries[] | select(.key != "parameters")
	| select((.value.responses | type) != "object" or (.value.responses | length) == 0
	         or ([.value.responses | keys[] | select(test("^2"))] | length) == 0)
	| "\(.key) \($p)"' "$DOC")
BODY=$bad
ok '[ -z "$bad" ]' "every operation has responses, a 2xx among them"

ok '[ "$(jq -r ".components.securitySchemes.bearerAuth | \"\(.type) \(.scheme)\"" "$DOC")" = "http bearer" ]' \
	"components.securitySchemes.bearerAuth is HTTP bearer"

bad=$(while read -r m p auth _; do
	has=$(jq -r --arg p "$p" --arg m "$m" \
		'[(.paths[$p][$m].security // .security // [])[] | has("bearerAuth")] | any' "$DOC")
	if [ "$auth" = USER ] && [ "$has" != true ]; then echo "$m $p: no bearerAuth"; fi
	if [ "$auth" = NONE ] && [ "$has" != false ]; then echo "$m $p: bearerAuth on a public route"; fi
done <"$ROUTES")
BODY=$bad
ok '[ -z "$bad" ]' "bearerAuth security on exactly the authenticated routes"

dups=$(jq -r '[.paths[] | to_entries[] | select(.key != "parameters") | .value.operationId] | group_by(.) | map(select(length > 1)[0]) | .[]' "$DOC")
BODY=$dups
ok '[ -z "$dups" ] && [ "$(jq "[.paths[][] | objects | select(has(\"operationId\") | not)] | length" "$DOC")" = 0 ]' \
	"every operation has an operationId, all distinct"

# ------------------------------------------ success statuses, query params
# A handle_sql row's ok_status (201 on create, 204 on delete) should be the
# success response the document declares, and each "q:<name>" argument a
# query parameter.
bad=$(while read -r m p _ _ st; do
	[ "$st" = 0 ] && continue
	jq -e --arg p "$p" --arg m "$m" --arg s "$st" '.paths[$p][$m].responses | has($s)' "$DOC" >/dev/null ||
		echo "$m $p: no $st"
done <"$ROUTES")
qbad=$(perl -0777 -ne '
	while (/\{\s*"(GET|POST|PUT|PATCH|DELETE)",\s*(ORG\s*)?"([^"]*)",[^}]*?"([^"]*)",\s*\d+\s*\},/sg) {
		my ($m, $p, $args) = (lc($1), ($2 ? "/api/v1/organizations/{org}" : "") . $3, $4);
		print "$m $p $1\n" while $args =~ /\bq:(\w+)/g;
	}' "$E2E_REPO/api/src/routes.c" | while read -r m p q; do
	jq -e --arg p "$p" --arg m "$m" --arg q "$q" \
		'any([(.paths[$p].parameters // [])[], (.paths[$p][$m].parameters // [])[]][]; .in == "query" and .name == $q)' \
		"$DOC" >/dev/null || echo "$m $p ?$q"
done)
BODY="status: ${bad:0:200} query: ${qbad:0:200}"
n=$((n + 1))
if [ -z "$bad" ] && [ -z "$qbad" ]; then
	echo "ok $n - each route's success status and query parameters are declared"
else
	echo "not ok $n - each route's success status and query parameters are declared"
	echo "#   $(printf '%s' "$bad" | grep -c .) wrong success statuses, $(printf '%s' "$qbad" | grep -c .) undeclared query parameters"
fi
