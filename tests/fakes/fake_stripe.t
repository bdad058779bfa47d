#!/usr/bin/env bash
# tests/fakes/fake_stripe.t — the fake Stripe API itself, over real HTTP on
# loopback: Checkout Sessions and billing-portal sessions in Stripe's
# formats (form encoding with bracket names, Bearer and Basic credentials,
# parameter errors), Idempotency-Key replay and conflicts (also under
# concurrent requests), the failure modes (server_error, card_declined,
# hang), the control API, that no key ever shows, a clean exit on SIGTERM
# and (when valgrind is installed) no leak.  TAP, for prove.  Needs
# build/fake_stripe (make -C tests/fakes), curl, jq.  FAKE_STRIPE_BIN=…
# tests another build; FAKE_NO_VALGRIND=1 skips the valgrind case (an ASan
# build cannot run under valgrind).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FAKE_BIN=${FAKE_STRIPE_BIN:-$HERE/build/fake_stripe}
TMP=$(mktemp -d /tmp/caas-fake-stripe-t.XXXXXX)
FAKE_PID=
SK=sk_test_FakeSecretKey0123456789
n=0
fails=0

fake_stop() {
	if [ -n "$FAKE_PID" ] && kill -0 "$FAKE_PID" 2>/dev/null; then
		kill -TERM "$FAKE_PID"
		wait "$FAKE_PID" 2>/dev/null
	fi
	FAKE_PID=
}
trap 'fake_stop; rm -rf "$TMP"' EXIT

# fake_start [ARGS...] — start the fake on a free port (under "${WRAP[@]}"
# when set); sets B (base URL).
WRAP=()
fake_start() {
	local i
	: >"$TMP/out"
	"${WRAP[@]}" "$FAKE_BIN" --port 0 "$@" >"$TMP/out" 2>>"$TMP/err" &
	FAKE_PID=$!
	for i in $(seq 1 300); do
		grep -q '^listening on ' "$TMP/out" && break
		kill -0 "$FAKE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '^listening on ' "$TMP/out"; then
		echo "Bail out! fake_stripe did not start: $(cat "$TMP/err")"
		exit 1
	fi
	B="http://127.0.0.1:$(awk '/^listening on /{print $3}' "$TMP/out")"
}

# req METHOD PATH [CURL ARGS...] — sets STATUS, BODY, HEADERS (lower-cased
# names), RC (curl's exit).  Form fields go in as -d/--data-urlencode.
req() {
	local m=$1 p=$2
	shift 2
	: >"$TMP/body"
	: >"$TMP/headers"
	STATUS=$(curl -sS -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' \
		-X "$m" "$B$p" "$@" 2>/dev/null)
	RC=$?
	BODY=$(cat "$TMP/body")
	HEADERS=$(tr 'A-Z' 'a-z' <"$TMP/headers" | tr -d '\r')
	printf '%s\n' "$BODY" >>"$TMP/all-bodies"
	printf '%s\n' "$HEADERS" >>"$TMP/all-bodies"
}

ok() {
	n=$((n + 1))
	if eval "$1"; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fails=$((fails + 1))
		echo "#   status: ${STATUS:-} rc: ${RC:-} body: ${BODY:0:400}"
	fi
}

jb() { printf '%s' "$BODY" | jq -r "$1" 2>/dev/null; }
hdr() { printf '%s\n' "$HEADERS" | awk -F': ' -v h="$1" '$1 == h {print $2}'; }
stat_of() { curl -s "$B/_fake/stats" | jq -r "$1"; }
# wait_stat JQ VALUE — poll /_fake/stats until JQ gives VALUE (at most 10 s).
wait_stat() {
	local i
	for i in $(seq 1 100); do
		[ "$(stat_of "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
mode() { req POST /_fake/mode --data-binary "$1" -H 'Content-Type: application/json'; }
# err TYPE CODE PARAM — the error body has these (null for none).
err() { [ "$(jb .error.type)" = "$1" ] && [ "$(jb .error.code)" = "$2" ] && [ "$(jb .error.param)" = "$3" ]; }

ORG=0f3c2a9e-5b1d-4c7e-9a21-7d6e5f4c3b2a
# The checkout request as the API sends it (brackets percent-encoded).
CO=(--data-urlencode mode=subscription
	--data-urlencode 'line_items[0][price]=price_pro'
	--data-urlencode 'line_items[0][quantity]=1'
	--data-urlencode 'success_url=https://app.example/billing/ok?session_id={CHECKOUT_SESSION_ID}'
	--data-urlencode 'cancel_url=https://app.example/billing'
	--data-urlencode "client_reference_id=$ORG"
	--data-urlencode "metadata[org_id]=$ORG"
	--data-urlencode 'metadata[plan]=pro'
	--data-urlencode "subscription_data[metadata][org_id]=$ORG"
	--data-urlencode 'subscription_data[metadata][plan]=pro'
	--data-urlencode 'customer_email=owner+1@example.com')
co() { req POST /v1/checkout/sessions -H "Authorization: Bearer $SK" "${CO[@]}" "$@"; }
# co_without NAME [CURL ARGS...] — the checkout request without one field.
co_without() {
	local drop=$1 a=() i
	shift
	for ((i = 0; i < ${#CO[@]}; i += 2)); do
		[[ "${CO[i + 1]}" == "$drop="* ]] || a+=("${CO[i]}" "${CO[i + 1]}")
	done
	req POST /v1/checkout/sessions -H "Authorization: Bearer $SK" "${a[@]}" "$@"
}
portal() { req POST /v1/billing_portal/sessions -H "Authorization: Bearer $SK" "$@"; }

echo "1..76"
fake_start --secret-key "$SK" --prices price_pro,price_team

# ---- Checkout Session
t0=$(date +%s)
co -H 'Idempotency-Key: first'
ID=$(jb .id)
ok '[ "$STATUS" = 200 ] && [ "$(jb .object)" = checkout.session ] && [[ "$ID" == cs_test_* ]] && [ "${#ID}" -ge 30 ] && [ "$(jb .url)" = "https://checkout.stripe.com/c/pay/$ID" ]' \
	"checkout: 200, a checkout.session with a cs_test_ id and its checkout.stripe.com URL"
ok '[ "$(jb .mode)" = subscription ] && [ "$(jb .status)" = open ] && [ "$(jb .payment_status)" = unpaid ] && [ "$(jb .livemode)" = false ] && [ "$(jb .created)" -ge "$t0" ] && [ "$(jb .expires_at)" -gt "$(jb .created)" ]' \
	"checkout: mode subscription, status open, payment_status unpaid, livemode false, created, expires_at"
ok '[ "$(jb .client_reference_id)" = "$ORG" ] && [ "$(jb .customer)" = null ] && [ "$(jb .customer_email)" = owner+1@example.com ] && [ "$(printf "%s" "$BODY" | jq -c .metadata)" = "{\"org_id\":\"$ORG\",\"plan\":\"pro\"}" ] && [ "$(jb .subscription)" = null ]' \
	"checkout: client_reference_id, customer_email, metadata as sent; customer and subscription null"
ok '[ "$(jb .success_url)" = "https://app.example/billing/ok?session_id={CHECKOUT_SESSION_ID}" ] && [ "$(jb .cancel_url)" = https://app.example/billing ]' \
	"checkout: success_url (placeholder kept) and cancel_url"
ok '[[ "$(hdr request-id)" == req_* ]] && [[ "$(hdr content-type)" == application/json* ]] && [ "$(hdr idempotency-key)" = first ] && [ -z "$(hdr idempotent-replayed)" ]' \
	"checkout: request-id and idempotency-key headers, not replayed"
RID1=$(hdr request-id)
FIRST=$BODY
co --data-urlencode 'line_items[1][price]=price_team' --data-urlencode 'line_items[1][quantity]=2'
ok '[ "$STATUS" = 200 ] && [ "$(jb .id)" != "$ID" ]' "checkout: a second line item; a new session has a new id"
req POST /v1/checkout/sessions -H "Authorization: Bearer $SK" \
	--data-binary 'mode=subscription&line_items%5B0%5D%5Bprice%5D=price_team&line_items%5B0%5D%5Bquantity%5D=1&success_url=https%3A%2F%2Fa.example%2Fs%3Fx%3D1%26y%3D2&cancel_url=https://a.example/c&metadata%5Bnote%5D=two+words%2Bplus&customer=cus_Abc123'
ok '[ "$STATUS" = 200 ] && [ "$(jb .success_url)" = "https://a.example/s?x=1&y=2" ] && [ "$(jb .metadata.note)" = "two words+plus" ] && [ "$(jb .customer)" = cus_Abc123 ] && [ "$(jb .customer_email)" = null ]' \
	"form encoding: %XX and '+' decoded, bracket names percent-encoded, customer given"
req GET /_fake/requests
ok '[ "$(jb ".[-1].params[\"line_items[0][price]\"]")" = price_team ] && [ "$(jb ".[-1].params[\"metadata[note]\"]")" = "two words+plus" ] && [ "$(jb ".[-1].params.success_url")" = "https://a.example/s?x=1&y=2" ]' \
	"requests: params keyed by the decoded bracket names"
req POST /v1/checkout/sessions -u "$SK:" "${CO[@]}"
ok '[ "$STATUS" = 200 ]' "credentials: HTTP Basic with the key as the user (curl -u) is accepted"

# ---- credentials
req POST /v1/checkout/sessions "${CO[@]}"
ok '[ "$STATUS" = 401 ] && err invalid_request_error null null && [[ "$(jb .error.message)" == "You did not provide an API key."* ]] && [ "$(hdr www-authenticate)" = "basic realm=\"stripe\"" ]' \
	"credentials: none → 401 invalid_request_error \"You did not provide an API key\""
req POST /v1/checkout/sessions -H 'Authorization: Bearer sk_test_WrongSECRET42' "${CO[@]}"
ok '[ "$STATUS" = 401 ] && [ "$(jb .error.message)" = "Invalid API Key provided: sk_test_****" ] && [[ "$BODY" != *SECRET42* ]]' \
	"credentials: a wrong key → 401 \"Invalid API Key provided: sk_test_****\", never echoed"
req POST /v1/checkout/sessions -u 'sk_test_WrongSECRET42:' "${CO[@]}"
s1=$STATUS
req POST /v1/checkout/sessions -H 'Authorization: Basic !!!' "${CO[@]}"
s2=$STATUS
req POST /v1/checkout/sessions -H "Authorization: Token $SK" "${CO[@]}"
ok '[ "$s1" = 401 ] && [ "$s2" = 401 ] && [ "$STATUS" = 401 ] && [ "$(jb .error.message)" = "Invalid API Key provided: ****" ]' \
	"credentials: a wrong Basic user, garbled Basic, another scheme → 401"

# ---- parameter errors
co_without mode
ok '[ "$STATUS" = 400 ] && err invalid_request_error parameter_missing mode && [ "$(jb .error.message)" = "Missing required param: mode." ] && [ "$(jb .error.doc_url)" = https://stripe.com/docs/error-codes/parameter-missing ]' \
	"missing mode → 400 parameter_missing naming mode, with doc_url"
co_without mode --data-urlencode mode=payment
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.param)" = mode ] && [[ "$(jb .error.message)" == *"recurring price"* ]]' \
	"mode=payment → 400 on mode (the prices are recurring)"
co_without 'line_items[0][price]'
ok '[ "$STATUS" = 400 ] && err invalid_request_error parameter_missing "line_items[0][price]"' \
	"missing line_items[0][price] → 400 parameter_missing"
co_without 'line_items[0][price]' --data-urlencode 'line_items[0][price]=price_other'
ok '[ "$STATUS" = 400 ] && err invalid_request_error resource_missing "line_items[0][price]" && [ "$(jb .error.message)" = "No such price: '"'"'price_other'"'"'" ]' \
	"a price not in --prices → 400 resource_missing \"No such price\""
co_without 'line_items[0][quantity]'
ok '[ "$STATUS" = 400 ] && err invalid_request_error parameter_missing "line_items[0][quantity]"' \
	"missing line_items[0][quantity] → 400 parameter_missing"
co_without 'line_items[0][quantity]' --data-urlencode 'line_items[0][quantity]=0'
ok '[ "$STATUS" = 400 ] && err invalid_request_error parameter_invalid_integer "line_items[0][quantity]"' \
	"quantity 0 → 400 parameter_invalid_integer"
co --data-urlencode 'line_items[1][quantity]=1'
ok '[ "$STATUS" = 400 ] && err invalid_request_error parameter_missing "line_items[1][price]"' \
	"a second line item without a price → 400 naming line_items[1][price]"
co_without success_url
s1="$STATUS $(jb .error.code) $(jb .error.param)"
co_without cancel_url
ok '[ "$s1" = "400 parameter_missing success_url" ] && [ "$STATUS" = 400 ] && err invalid_request_error parameter_missing cancel_url' \
	"missing success_url or cancel_url → 400 parameter_missing"
co_without success_url --data-urlencode 'success_url='
s1="$STATUS $(jb .error.code)"
co_without cancel_url --data-urlencode 'cancel_url=app.example/billing'
ok '[ "$s1" = "400 parameter_invalid_empty" ] && [ "$STATUS" = 400 ] && err invalid_request_error url_invalid cancel_url && [ "$(jb .error.message)" = "Not a valid URL" ]' \
	"an empty success_url → parameter_invalid_empty; a relative cancel_url → url_invalid"
co --data-urlencode 'metadata_org=x'
ok '[ "$STATUS" = 400 ] && err invalid_request_error parameter_unknown metadata_org && [ "$(jb .error.message)" = "Received unknown parameter: metadata_org" ]' \
	"an unknown parameter → 400 parameter_unknown"
co --data-urlencode 'subscription_data[metdata][org_id]=x'
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.param)" = "subscription_data[metdata][org_id]" ]' \
	"an unknown nested parameter → 400 naming it"
co --data-urlencode 'customer=cus_X1'
ok '[ "$STATUS" = 400 ] && err invalid_request_error parameters_exclusive customer_email' \
	"customer and customer_email together → 400 parameters_exclusive"
co_without customer_email --data-urlencode 'customer=org_123'
ok '[ "$STATUS" = 400 ] && err invalid_request_error resource_missing customer && [ "$(jb .error.message)" = "No such customer: '"'"'org_123'"'"'" ]' \
	"a customer that is not cus_… → 400 resource_missing"
req POST /v1/checkout/sessions -H "Authorization: Bearer $SK" -H 'Content-Type: application/json' \
	--data-binary '{"mode":"subscription"}'
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.type)" = invalid_request_error ] && [[ "$(jb .error.message)" == *"application/x-www-form-urlencoded"* ]]' \
	"a JSON body → 400 (Stripe takes form encoding)"
ok '[ "$(jb ".error | keys | map(select(. != \"doc_url\")) | join(\",\")")" = "code,message,param,type" ]' \
	"errors are {\"error\": {type, code, message, param}}"

# ---- Idempotency-Key
B1=$(printf '%s' "$FIRST" | md5sum)
req POST /v1/checkout/sessions -H "Authorization: Bearer $SK" -H 'Idempotency-Key: first' \
	"${CO[@]:10}" "${CO[@]:0:10}"
ok '[ "$STATUS" = 200 ] && [ "$(printf "%s" "$BODY" | md5sum)" = "$B1" ] && [ "$(hdr idempotent-replayed)" = true ]' \
	"idempotency: the same key and parameters (in another order) → the same bytes, Idempotent-Replayed: true"
ok '[ "$(hdr original-request)" = "$RID1" ] && [ "$(hdr request-id)" != "$RID1" ] && [[ "$(hdr request-id)" == req_* ]]' \
	"idempotency: Original-Request names the first request; a new Request-Id"
co -H 'Idempotency-Key: first' --data-urlencode 'allow_promotion_codes=true'
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.type)" = idempotency_error ] && [[ "$(jb .error.message)" == "Keys for idempotent requests can only be used with the same parameters they were first used with."* ]]' \
	"idempotency: the same key with other parameters → 400 idempotency_error"
portal -H 'Idempotency-Key: first' --data-urlencode customer=cus_A1
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.type)" = idempotency_error ] && [[ "$(jb .error.message)" == *"same endpoint"* ]]' \
	"idempotency: the same key on another endpoint → 400 idempotency_error"
co_without mode -H 'Idempotency-Key: second'
s1=$STATUS
co -H 'Idempotency-Key: second'
ok '[ "$s1" = 400 ] && [ "$STATUS" = 200 ] && [ -z "$(hdr idempotent-replayed)" ]' \
	"idempotency: a request failing validation stores nothing under its key"
co -H "Idempotency-Key: $(printf 'k%.0s' $(seq 1 256))"
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.type)" = invalid_request_error ]' "idempotency: a 256-character key → 400"
co -H 'Idempotency-Key: third'
ID3=$(jb .id)
co -H 'Idempotency-Key: fourth'
ok '[ "$(jb .id)" != "$ID3" ]' "idempotency: other keys, other sessions"
before=$(stat_of .checkout_sessions)
args=()
for i in $(seq 1 20); do
	args+=(--next -s -o "$TMP/par.$i" -H "Authorization: Bearer $SK" -H 'Idempotency-Key: parallel' "${CO[@]}" "$B/v1/checkout/sessions")
done
curl -Z --parallel-immediate --parallel-max 20 "${args[@]:1}" 2>/dev/null
ids=$(cat "$TMP"/par.* | jq -r .id | sort -u)
ok '[ "$(printf "%s\n" "$ids" | wc -l)" = 1 ] && [[ "$ids" == cs_test_* ]] && [ "$(stat_of .checkout_sessions)" = $((before + 1)) ]' \
	"idempotency: 20 concurrent requests with one key → one session, every answer the same"

# ---- billing portal
portal --data-urlencode customer=cus_Abc123 --data-urlencode 'return_url=https://app.example/settings/billing'
PID_=$(jb .id)
ok '[ "$STATUS" = 200 ] && [ "$(jb .object)" = billing_portal.session ] && [[ "$PID_" == bps_* ]] && [ "$(jb .url)" = "https://billing.stripe.com/p/session/$PID_" ]' \
	"portal: 200, a billing_portal.session with its billing.stripe.com URL"
ok '[ "$(jb .customer)" = cus_Abc123 ] && [ "$(jb .return_url)" = https://app.example/settings/billing ] && [ "$(jb .livemode)" = false ] && [ "$(jb .created)" -ge "$t0" ] && [[ "$(jb .configuration)" == bpc_* ]]' \
	"portal: customer, return_url, livemode, created, configuration"
portal --data-urlencode 'return_url=https://app.example/'
ok '[ "$STATUS" = 400 ] && err invalid_request_error parameter_missing customer' "portal: no customer → 400 parameter_missing"
portal --data-urlencode customer=
ok '[ "$STATUS" = 400 ] && err invalid_request_error parameter_invalid_empty customer' "portal: an empty customer → 400 parameter_invalid_empty"
portal --data-urlencode customer="$ORG"
ok '[ "$STATUS" = 400 ] && err invalid_request_error resource_missing customer && [ "$(jb .error.message)" = "No such customer: '"'"'$ORG'"'"'" ]' \
	"portal: a customer that is not cus_… → 400 resource_missing"
portal --data-urlencode customer=cus_A1 --data-urlencode 'return_url=/billing'
s1="$STATUS $(jb .error.code) $(jb .error.param)"
portal --data-urlencode customer=cus_A1 --data-urlencode 'success_url=https://x.example/'
ok '[ "$s1" = "400 url_invalid return_url" ] && [ "$STATUS" = 400 ] && err invalid_request_error parameter_unknown success_url' \
	"portal: a relative return_url → url_invalid; an unknown parameter → parameter_unknown"
req POST /v1/billing_portal/sessions -d customer=cus_A1
ok '[ "$STATUS" = 401 ]' "portal: no key → 401"

# ---- retrieve, unknown paths
req GET "/v1/checkout/sessions/$ID" -H "Authorization: Bearer $SK"
ok '[ "$STATUS" = 200 ] && [ "$BODY" = "$FIRST" ]' "GET /v1/checkout/sessions/{id}: the session as created"
req GET /v1/checkout/sessions/cs_test_nope -H "Authorization: Bearer $SK"
s1=$STATUS
req GET "/v1/checkout/sessions/$ID"
ok '[ "$s1" = 404 ] && [ "$STATUS" = 401 ]' "GET an unknown session → 404; without a key → 401"
req POST /v1/customers -H "Authorization: Bearer $SK" -d email=a@b.example
ok '[ "$STATUS" = 404 ] && err invalid_request_error null null && [[ "$(jb .error.message)" == "Unrecognized request URL (POST: /v1/customers)."* ]]' \
	"an unknown path → 404 \"Unrecognized request URL\""
req GET /v1/billing_portal/sessions -H "Authorization: Bearer $SK"
ok '[ "$STATUS" = 404 ] && [[ "$(jb .error.message)" == "Unrecognized request URL (GET: /v1/billing_portal/sessions)."* ]]' \
	"a known path with another method → 404"

# ---- failure modes
mode '{"fail": "server_error", "count": 1}'
co
s1="$STATUS $(jb .error.type)"
co
ok '[ "$s1" = "500 api_error" ] && [ "$STATUS" = 200 ]' "fail server_error, count 1: one 500 api_error, then normal"
mode '{"fail": "card_declined", "count": 1}'
co
ok '[ "$STATUS" = 402 ] && err card_error card_declined null && [ "$(jb .error.decline_code)" = generic_decline ] && [ "$(jb .error.message)" = "Your card was declined." ]' \
	"fail card_declined: 402 card_error card_declined"
mode '{"fail": "server_error", "endpoint": "portal"}'
co
s1=$STATUS
portal -d customer=cus_A1
s2=$STATUS
portal -d customer=cus_A1
ok '[ "$s1" = 200 ] && [ "$s2" = 500 ] && [ "$STATUS" = 500 ] && [ "$(stat_of .mode.count)" = -1 ]' \
	"fail with endpoint portal: checkout unaffected; count -1 lasts until changed"
portal
ok '[ "$STATUS" = 400 ] && [ "$(jb .error.code)" = parameter_missing ]' "fail: a request failing validation gets its 400, not the failure"
mode '{"fail": "server_error", "count": 1}'
co -H 'Idempotency-Key: stored-500'
s1=$STATUS
co -H 'Idempotency-Key: stored-500'
ok '[ "$s1" = 500 ] && [ "$STATUS" = 500 ] && [ "$(hdr idempotent-replayed)" = true ]' \
	"fail: a failure is stored under its key and replayed (as Stripe stores 500s)"
mode '{"fail": "none"}'
co
s1=$STATUS
mode '{"fail": "sideways"}'
s2=$STATUS
mode '{"fail": "hang", "count": -5}'
s3=$STATUS
mode '{"fail": "hang", "endpoint": "customers"}'
ok '[ "$s1" = 200 ] && [ "$s2" = 400 ] && [ "$s3" = 400 ] && [ "$STATUS" = 400 ]' \
	"mode none restores; an unknown failure, count or endpoint → 400"

# ---- hang
mode '{"fail": "hang", "count": 1}'
curl -s -o /dev/null -m 2 -H "Authorization: Bearer $SK" -H 'Idempotency-Key: hung' "${CO[@]}" "$B/v1/checkout/sessions" &
HANG_PID=$!
wait_stat .held 1
t1=$(date +%s%3N)
portal -d customer=cus_A1
ok '[ "$STATUS" = 200 ] && [ $(($(date +%s%3N) - t1)) -lt 1000 ]' "hang: other requests are answered meanwhile"
co -H 'Idempotency-Key: hung'
ok '[ "$STATUS" = 409 ] && err invalid_request_error idempotency_key_in_use null' \
	"hang: its key while it hangs → 409 idempotency_key_in_use"
wait "$HANG_PID"
hang_rc=$?
ok '[ "$hang_rc" = 28 ]' "hang: no answer until the client gives up (curl 28)"
wait_stat .held 0
ok '[ "$(stat_of .held)" = 0 ] && [ "$(stat_of .pending_keys)" = 0 ]' "hang: a client that leaves frees the request and its key"
co -H 'Idempotency-Key: hung'
ok '[ "$STATUS" = 200 ] && [ -z "$(hdr idempotent-replayed)" ]' "hang: the key is then free for a new request"
req GET '/_fake/requests?path=/v1/checkout/sessions'
ok '[ "$(jb "[.[] | select(.idempotency_key == \"hung\")] | .[0].status")" = 0 ] && [ "$(jb "[.[] | select(.idempotency_key == \"hung\")] | .[0].fail")" = hang ]' \
	"hang: logged with status 0 and fail hang"
mode '{"fail": "hang"}'
curl -s -o /dev/null -m 20 -H "Authorization: Bearer $SK" "${CO[@]}" "$B/v1/checkout/sessions" &
HANG_PID=$!
wait_stat .held 1
req POST /_fake/reset
wait "$HANG_PID"
hang_rc=$?
ok '[ "$STATUS" = 200 ] && [ "$hang_rc" = 52 ]' "reset: a held request is closed unanswered (curl 52)"
co -H 'Idempotency-Key: first'
ok '[ "$STATUS" = 200 ] && [ -z "$(hdr idempotent-replayed)" ] && [ "$(stat_of .requests)" = 1 ] && [ "$(stat_of .mode.fail)" = none ]' \
	"reset: mode none, counters zero, keys forgotten"

# ---- control API
req POST /_fake/reset
t0=$(date +%s%3N)
co -H 'Idempotency-Key: log-1'
co -H 'Idempotency-Key: log-1'
req POST /v1/checkout/sessions -H 'Authorization: Bearer sk_test_badSECRET77' "${CO[@]}"
portal -d customer=cus_Log1
req POST /v1/nowhere -d a=b
t1=$(date +%s%3N)
req GET /_fake/requests
ok '[ "$(jb length)" = 5 ] && [ "$(jb ".[0].seq")" = 1 ] && [ "$(jb ".[0].method")" = POST ] && [ "$(jb ".[0].path")" = /v1/checkout/sessions ] && [ "$(jb ".[0].auth_ok")" = true ] && [ "$(jb ".[0].idempotency_key")" = log-1 ] && [ "$(jb ".[0].status")" = 200 ]' \
	"requests: seq, method, path, auth_ok, idempotency_key, status"
ok '[ "$(jb ".[0].params.mode")" = subscription ] && [ "$(jb ".[0].params[\"subscription_data[metadata][org_id]\"]")" = "$ORG" ] && [ "$(jb ".[0].params.customer_email")" = owner+1@example.com ] && [ "$(jb ".[0].params | length")" = 11 ]' \
	"requests: params, every form field"
ok '[ "$(jb ".[0].at_ms")" -ge "$t0" ] && [ "$(jb ".[0].at_ms")" -le "$t1" ] && [[ "$(jb ".[0].object_id")" == cs_test_* ]] && [ "$(jb ".[1].object_id")" = "$(jb ".[0].object_id")" ]' \
	"requests: at_ms (wall clock) and object_id (a replay names the first one)"
ok '[ "$(jb ".[1].replayed")" = true ] && [ "$(jb ".[0].replayed")" = false ] && [ "$(jb ".[2].auth_ok")" = false ] && [ "$(jb ".[2].status")" = 401 ] && [ "$(jb ".[4].status")" = 404 ]' \
	"requests: replayed, a refused key, an unknown path"
ok '[[ "$BODY" != *SECRET77* ]] && [[ "$BODY" != *"$SK"* ]] && [[ "$BODY" != *authorization* ]]' \
	"requests: never a key or an Authorization header"
req GET '/_fake/requests?path=/v1/billing_portal/sessions'
ok '[ "$(jb length)" = 1 ] && [ "$(jb ".[0].params.customer")" = cus_Log1 ]' "requests: ?path= filters"
req GET /_fake/stats
ok '[ "$(jb .requests)" = 5 ] && [ "$(jb .rejected)" = 2 ] && [ "$(jb .replayed)" = 1 ] && [ "$(jb .checkout_sessions)" = 1 ] && [ "$(jb .portal_sessions)" = 1 ] && [ "$(jb .idempotency_keys)" = 1 ] && [ "$(jb .held)" = 0 ]' \
	"stats: requests, rejected, replayed, sessions, keys, held"
req GET /_fake/nothing
ok '[ "$STATUS" = 404 ]' "an unknown control → 404"
ok '! grep -q -e "$SK" -e "SECRET[0-9]" "$TMP/all-bodies" "$TMP/err"' "no answer, header or log line ever carries a key"
kill -TERM "$FAKE_PID"
wait "$FAKE_PID"
rc=$?
FAKE_PID=
ok '[ "$rc" = 0 ]' "SIGTERM: exit 0"

# ---- without --secret-key and --prices; --log-max
fake_start --log-max 2
co_without 'line_items[0][price]' --data-urlencode 'line_items[0][price]=price_1AnyThing'
s1=$STATUS
co_without 'line_items[0][price]' --data-urlencode 'line_items[0][price]=plan_pro'
ok '[ "$s1" = 200 ] && [ "$STATUS" = 400 ] && [ "$(jb .error.code)" = resource_missing ]' \
	"no --prices: any price_… is taken, anything else is resource_missing"
req POST /v1/checkout/sessions -H 'Authorization: Bearer sk_live_AnyKey9' "${CO[@]}"
ok '[ "$STATUS" = 200 ] && [[ "$(jb .id)" == cs_live_* ]] && [ "$(jb .livemode)" = true ]' \
	"no --secret-key: any sk_ key; a live key gives a live session"
req POST /v1/checkout/sessions -H 'Authorization: Bearer pk_test_Publishable1' "${CO[@]}"
s1="$STATUS $(jb .error.message)"
req POST /v1/checkout/sessions -H 'Authorization: Bearer whatever' "${CO[@]}"
ok '[ "$s1" = "401 Invalid API Key provided: pk_test_****" ] && [ "$STATUS" = 401 ]' \
	"no --secret-key: a publishable key or a garbled one → 401"
req GET /_fake/requests
ok '[ "$(jb length)" = 2 ] && [ "$(jb ".[0].seq")" = 4 ] && [ "$(stat_of .dropped)" = 3 ]' \
	"--log-max: the log keeps the last N requests, counting the dropped ones"
fake_stop
"$FAKE_BIN" --port 0 --prices price_ok,plan_bad >/dev/null 2>&1
s1=$?
"$FAKE_BIN" --port 0 --secret-key '' >/dev/null 2>&1
s2=$?
"$FAKE_BIN" --port 0 --bogus >/dev/null 2>&1
s3=$?
ok '[ "$s1" = 2 ] && [ "$s2" = 2 ] && [ "$s3" = 2 ]' "bad options (a price not price_…, an empty key, unknown) → exit 2"

# ---- valgrind: every endpoint, errors, a replay, a hung request, then SIGTERM
if [ -z "${FAKE_NO_VALGRIND:-}" ] && command -v valgrind >/dev/null 2>&1; then
	WRAP=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
		--error-exitcode=99 --log-file="$TMP/vg")
	fake_start --secret-key "$SK" --prices price_pro --log-max 3
	WRAP=()
	co -H 'Idempotency-Key: vg'
	VID=$(jb .id)
	co -H 'Idempotency-Key: vg'
	co -H 'Idempotency-Key: vg' -d locale=fr
	co_without mode
	co -d 'bad[param]=%zz%4'
	req POST /v1/checkout/sessions -u 'sk_test_x:' -d 'x=%C3'
	portal -d customer=cus_V1 -d 'return_url=https://a.example/'
	req GET "/v1/checkout/sessions/$VID" -H "Authorization: Bearer $SK"
	mode '{"fail": "card_declined", "count": 1}'
	co
	mode '{"fail": "hang"}'
	curl -s -o /dev/null -m 20 -H "Authorization: Bearer $SK" -H 'Idempotency-Key: vg-hang' "${CO[@]}" "$B/v1/checkout/sessions" &
	curl -s -o /dev/null -m 20 -H "Authorization: Bearer $SK" -d customer=cus_V2 "$B/v1/billing_portal/sessions" &
	wait_stat .held 2
	req GET /_fake/requests
	req GET /_fake/stats
	kill -TERM "$FAKE_PID"
	wait "$FAKE_PID"
	rc=$?
	FAKE_PID=
	wait
	ok '[ "$rc" = 0 ] && [ ! -s "$TMP/vg" ]' "valgrind: no error, no leak on SIGTERM with held connections"
	if [ -s "$TMP/vg" ]; then
		sed 's/^/# /' "$TMP/vg" | head -40
	fi
else
	echo "ok $((n + 1)) # SKIP valgrind not installed or FAKE_NO_VALGRIND set"
fi
exit $((fails > 0))
