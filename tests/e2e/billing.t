#!/usr/bin/env bash
# tests/e2e/billing.t — billing with Stripe through HTTP, against the fake
# Stripe API (tests/fakes/build/fake_stripe): the plans' price ids from the
# configuration (both plans endpoints, the subscription); checkout (owners
# only; the form fields, Idempotency-Key and a client's key replayed to the
# same session; validation; Stripe's 4xx and 5xx → 502, no answer in
# outbound_timeout_ms → 504) and the billing portal (before and after a
# customer exists); webhooks signed here with openssl over "t.body": a
# good signature, a second v1, the second secret (rotation), a body that
# is not JSON refused for its signature before it is parsed,
# then a tampered body, a wrong secret, stale and future timestamps, a
# missing or garbled header — each 400 with nothing changed in the
# database; a replayed event, events out of order, an unknown type,
# ignored events, eight concurrent deliveries of one event; every event
# type's effect, and the plan in force driving the quotas (free → pro →
# team, past_due within and after the grace period, canceled → free with
# the data kept).  Then the configuration's failures: no Stripe secrets
# (503 naming the setting) and an unknown plan in stripe_prices (start-up
# stops with the reason).  No secret in the API's log or answers.
#
# Event times (`created`) are chosen by the test and are independent of
# the signature's timestamp t, which is the delivery time.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stripe_lib.sh"

stamp=$(date +%s%N)
SK="sk_test_$(rand_id)$(rand_id)"
WA="whsec_$(rand_id)"
WB="whsec_$(rand_id)"
PRICE_PRO="price_pro$(rand_id)"
PRICE_TEAM="price_team$(rand_id)"
plans_save
stripe_fake_start "$SK" "$PRICE_PRO" "$PRICE_TEAM"
STRIPE_ENV=(CAAS_API_STRIPE_BASE_URL="$FAKE" CAAS_API_STRIPE_SECRET_KEY="$SK"
	CAAS_API_STRIPE_WEBHOOK_SECRETS="$WA,$WB" CAAS_API_STRIPE_PRICES="pro:$PRICE_PRO,team:$PRICE_TEAM")
JWT=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n")	# kept across the restarts below: the tokens stay valid
api_start CAAS_API_JWT_SECRET="$JWT" CAAS_API_OUTBOUND_TIMEOUT_MS=1500 "${STRIPE_ENV[@]}"

echo "1..108"

DAY=86400
NOW=$(date +%s)

# req_h METHOD PATH BODY TOKEN [HEADER...] — req with extra headers.
req_h() {
	local args=(-sS -o "$E2E_TMP/body" -w '%{http_code}' -X "$1" "$API$2" --data-binary "$3"
		-H 'Content-Type: application/json' -H "Authorization: Bearer $4")
	shift 4
	local h
	for h in "$@"; do args+=(-H "$h"); done
	STATUS=$(curl "${args[@]}")
	BODY=$(cat "$E2E_TMP/body")
}
SUCCESS_URL='https://app.example.com/billing/success?session_id={CHECKOUT_SESSION_ID}'
CANCEL_URL='https://app.example.com/billing?canceled=1&from=checkout'
# checkout TOKEN ORG PLAN [IDEMPOTENCY-KEY [SUCCESS [CANCEL]]]
checkout() {
	local b
	b=$(jq -cn --arg o "$2" --arg p "$3" --arg s "${5:-$SUCCESS_URL}" --arg c "${6:-$CANCEL_URL}" \
		'{org_id:$o, plan:$p, success_url:$s, cancel_url:$c}')
	if [ -n "${4:-}" ]; then
		req_h POST /api/v1/subscriptions/checkout/ "$b" "$1" "Idempotency-Key: $4"
	else
		req POST /api/v1/subscriptions/checkout/ "$b" "$1"
	fi
}
# portal TOKEN ORG [RETURN-URL]
portal() {
	req POST /api/v1/subscriptions/portal/ "$(jq -cn --arg o "$2" --arg r "${3:-https://app.example.com/settings/billing}" \
		'{org_id:$o, return_url:$r}')" "$1"
}
# deliver EVENT-JSON [SECRET [T]] — sign with SECRET (whsec A) at T (now) and deliver.
deliver() { webhook "$1" "$(stripe_sign "${2:-$WA}" "$1" "${3:-}")"; }
# applied EVENT-ID — the answer says applied, not a duplicate, for EVENT-ID.
applied() {
	[ "$STATUS" = 200 ] && [ "$(jq_body .event_id)" = "$1" ] && [ "$(jq_body .outcome)" = applied ] &&
		[ "$(jq_body .duplicate)" = false ]
}
# refused_sig — 400, 22023, "invalid Stripe signature: …".
refused_sig() {
	[ "$STATUS" = 400 ] && [ "$(jq_body .code)" = 22023 ] && jq_body .message | grep -q '^invalid Stripe signature: .'
}
# usage_is ORG PLAN AI-LIMIT — the usage endpoint shows PLAN's limits.
usage_is() {
	req GET "/api/v1/organizations/$1/usage/" "" "$OWNER"
	[ "$STATUS" = 200 ] && [ "$(jq_body .plan)" = "$2" ] && [ "$(jq_body .ai_generations.limit)" = "$3" ]
}
usage_desc() { echo "$(jq_body .plan), ai_generations.limit $(jq_body .ai_generations.limit), members.limit $(jq_body .members.limit)"; }

# ------------------------------------------------------------------ plans
req GET /api/v1/subscriptions/plans/
price_of() { jq_body ".[] | select(.plan_id == \"$1\") | .stripe_price_id"; }
ok '[ "$STATUS" = 200 ] && [ "$(price_of pro)" = "$PRICE_PRO" ] && [ "$(price_of team)" = "$PRICE_TEAM" ] &&
	[ "$(price_of free)" = null ]' "GET /api/v1/subscriptions/plans/ (anonymous): pro and team carry the configured price ids, free none"
ok '[ "$(jq_body ".[] | select(.plan_id == \"pro\") | [.ai_generations_per_month, .max_members, .max_workspaces] | join(\",\")")" = 300,5,3 ] &&
	[ "$(jq_body ".[] | select(.plan_id == \"team\") | [.ai_generations_per_month, .max_members, .max_workspaces] | join(\",\")")" = 2000,25,20 ] &&
	[ "$(jq_body ".[] | select(.plan_id == \"free\") | .ai_generations_per_month")" = 20 ]' "... with their limits"
req GET /api/v1/plans/
ok '[ "$STATUS" = 200 ] && [ "$(price_of pro)" = "$PRICE_PRO" ] && [ "$(price_of team)" = "$PRICE_TEAM" ]' \
	"GET /api/v1/plans/ shows the same price ids"
db_prices=$(sql_su "SELECT string_agg(plan_id || '=' || coalesce(stripe_price_id, '-'), ' ' ORDER BY plan_id) FROM caas.plans
	WHERE plan_id IN ('free', 'pro', 'team')")
ok '[ "$db_prices" = "free=- pro=$PRICE_PRO team=$PRICE_TEAM" ]' "caas.plans holds them (stripe_prices synced at start-up)"

# ------------------------------------------------ an organisation on free
OWNER_EMAIL="bill-owner$stamp@example.com"
OWNER=$(user_token "$OWNER_EMAIL")
ADMIN=$(user_token "bill-admin$stamp@example.com")
MEMBER=$(user_token "bill-member$stamp@example.com")
OUTSIDER=$(user_token "bill-outsider$stamp@example.com")
req POST /api/v1/organizations/ "{\"name\":\"Billing\",\"slug\":\"billing-$stamp\"}" "$OWNER"
ORG=$(jq_body .org_id)
O="/api/v1/organizations/$ORG"
req POST "$O/workspaces/" '{"name":"Main","slug":"main"}' "$OWNER"
WS1=$(jq_body .workspace_id)
req POST "$O/content/" "{\"workspace_id\":\"$WS1\",\"title\":\"Kept\",\"body\":\"Still here after cancelling\"}" "$OWNER"
CONTENT=$(jq_body .content_id)
ok '[ -n "$OWNER" ] && [ -n "$ADMIN" ] && [ -n "$MEMBER" ] && [ -n "$OUTSIDER" ] && [ -n "$ORG" ] && [ "$ORG" != null ] &&
	[ -n "$WS1" ] && [ "$WS1" != null ] && [ -n "$CONTENT" ] && [ "$CONTENT" != null ]' \
	"an owner's organisation with a workspace and a content item; three more users"
req GET "$O/subscription/" "" "$OWNER"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .status)" = none ] && [ "$(jq_body .plan.plan_id)" = free ]' \
	"no subscription yet: status none, the free plan in force"
usage_is "$ORG" free 20
u=$?
ok '[ "$u" = 0 ] && [ "$(jq_body .members.limit)" = 1 ]' "usage shows the free plan's limits ($(usage_desc))"
req POST "$O/members/" "{\"email\":\"bill-admin$stamp@example.com\",\"role\":\"admin\"}" "$OWNER"
ok '[ "$STATUS" = 402 ] && [ "$(jq_body .code)" = CA001 ]' "on free (1 member) a second member is refused: 402 CA001"

# -------------------------------------------------------------- checkout
fake_reset
checkout "$OWNER" "$ORG" pro
SESSION1=$(jq_body .session_id)
URL1=$(jq_body .url)
ok '[ "$STATUS" = 200 ] && [[ "$SESSION1" == cs_test_* ]] && [[ "$URL1" == https://checkout.stripe.com/* ]] &&
	[[ "$URL1" == *"$SESSION1"* ]]' "the owner's checkout for pro: 200 with the session's URL ($URL1)"
REQ1=$(fake_requests '[.[] | select(.path == "/v1/checkout/sessions")]')
p1() { printf '%s' "$REQ1" | jq -r ".[0].params[\"$1\"] // \"(absent)\" | tostring"; }
ok '[ "$(printf "%s" "$REQ1" | jq length)" = 1 ] && [ "$(printf "%s" "$REQ1" | jq -r ".[0].method")" = POST ] &&
	[ "$(printf "%s" "$REQ1" | jq -r ".[0].auth_ok")" = true ]' "the fake got one POST /v1/checkout/sessions with the secret key as Bearer"
ok '[ "$(p1 mode)" = subscription ] && [ "$(p1 "line_items[0][price]")" = "$PRICE_PRO" ] &&
	[ "$(p1 "line_items[0][quantity]")" = 1 ]' "... mode=subscription, line_items[0][price] = pro's price, quantity 1"
ok '[ "$(p1 success_url)" = "$SUCCESS_URL" ] && [ "$(p1 cancel_url)" = "$CANCEL_URL" ]' \
	"... success_url and cancel_url as given (braces, ? and & survive the form encoding)"
ok '[ "$(p1 client_reference_id)" = "$ORG" ] && [ "$(p1 "metadata[org_id]")" = "$ORG" ] && [ "$(p1 "metadata[plan]")" = pro ] &&
	[ "$(p1 "subscription_data[metadata][org_id]")" = "$ORG" ] && [ "$(p1 "subscription_data[metadata][plan]")" = pro ]' \
	"... client_reference_id, metadata[org_id|plan] and subscription_data[metadata][org_id|plan] name the organisation and plan"
ok '[ "$(p1 customer_email)" = "$OWNER_EMAIL" ] && [ "$(p1 customer)" = "(absent)" ]' \
	"... no customer yet: customer_email is the owner's e-mail, no customer"
IKEY1=$(printf '%s' "$REQ1" | jq -r '.[0].idempotency_key')
ok '[[ "$IKEY1" =~ ^checkout:$ORG:pro:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]' \
	"... Idempotency-Key checkout:<org>:pro:<a random UUID v4> ($IKEY1)"
checkout "$OWNER" "$ORG" pro
IKEY2=$(fake_requests '[.[] | select(.path == "/v1/checkout/sessions")] | .[1].idempotency_key' | jq -r .)
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .session_id)" != "$SESSION1" ] && [ "$IKEY2" != "$IKEY1" ] &&
	[[ "$IKEY2" == checkout:$ORG:pro:* ]]' "a second checkout without a client key: another key, another session"

CKEY="order-$stamp"
checkout "$OWNER" "$ORG" pro "$CKEY"
S_A=$(jq_body .session_id)
U_A=$(jq_body .url)
checkout "$OWNER" "$ORG" pro "$CKEY"
S_B=$(jq_body .session_id)
U_B=$(jq_body .url)
keys=$(fake_requests "[.[] | select(.path == \"/v1/checkout/sessions\") | .idempotency_key] | .[2:] | join(\" \")" | jq -r .)
ok '[ "$STATUS" = 200 ] && [ -n "$S_A" ] && [ "$S_A" != null ] && [ "$S_A" = "$S_B" ] && [ "$U_A" = "$U_B" ]' \
	"the same client Idempotency-Key twice: the same session ($S_A)"
ok '[ "$keys" = "checkout:$ORG:pro:$CKEY checkout:$ORG:pro:$CKEY" ]' "... both sent with Idempotency-Key checkout:<org>:pro:<the client's key>"
before=$(fake_count /v1/checkout/sessions)
checkout "$OWNER" "$ORG" pro "$(printf 'k%.0s' $(seq 1 201))"
ok '[ "$STATUS" = 400 ] && [ "$(fake_count /v1/checkout/sessions)" = "$before" ]' \
	"a client Idempotency-Key over 200 characters: 400, nothing sent to Stripe"

# Validation and refusals: nothing reaches Stripe.
fake_reset
checkout "$OWNER" "$ORG" pro "" "ftp://app.example.com/ok"
ok '[ "$STATUS" = 422 ] && jq_body .message | grep -q success_url' "success_url not http(s): 422 naming success_url"
checkout "$OWNER" "$ORG" pro "" "$SUCCESS_URL" "/billing"
ok '[ "$STATUS" = 422 ] && jq_body .message | grep -q cancel_url' "a relative cancel_url: 422 naming cancel_url"
checkout "$OWNER" "$ORG" gold
ok '[ "$STATUS" = 404 ] && [ "$(jq_body .code)" = P0002 ]' "an unknown plan: 404 P0002"
checkout "$OWNER" "$ORG" free
ok '[ "$STATUS" = 422 ] && [ "$(jq_body .code)" = 22023 ] && jq_body .message | grep -q "free plan needs no checkout"' \
	"the free plan: 422 \"the free plan needs no checkout\""
checkout "$OUTSIDER" "$ORG" pro
ok '[ "$STATUS" = 404 ]' "a non-member: 404"
checkout "" "$ORG" pro
ok '[ "$STATUS" = 401 ]' "without a token: 401"
ok '[ "$(fake_count /v1/checkout/sessions)" = 0 ]' "... and the fake received nothing for any of these"

# Stripe's errors.
fake_mode card_declined 1
checkout "$OWNER" "$ORG" pro
ok '[ "$STATUS" = 502 ] && [ -n "$(jq_body .message)" ] && [ "$(jq_body .message)" != null ] && ! grep -qF "$SK" "$E2E_TMP/body"' \
	"Stripe answers 4xx: 502 with Stripe's message ($(jq_body .message))"
fake_mode server_error 1
checkout "$OWNER" "$ORG" pro
ok '[ "$STATUS" = 502 ] && ! grep -qF "$SK" "$E2E_TMP/body"' "Stripe answers 5xx: 502 ($(jq_body .message))"
fake_mode hang 1
t0=$(now_ms)
checkout "$OWNER" "$ORG" pro
ms=$(($(now_ms) - t0))
ok '[ "$STATUS" = 504 ] && [ "$ms" -ge 1400 ] && [ "$ms" -lt 5000 ]' \
	"Stripe does not answer within outbound_timeout_ms (1500): 504 after ${ms} ms ($(jq_body .message))"
fake_mode none 0

# ------------------------------------------------ the portal, no customer
fake_reset
portal "$OWNER" "$ORG"
ok '[ "$STATUS" = 409 ] && [ "$(jq_body .code)" = 55000 ] && jq_body .message | grep -q "no Stripe customer yet" &&
	[ "$(fake_count /v1/billing_portal/sessions)" = 0 ]' "the portal before a customer exists: 409 \"no Stripe customer yet\", nothing sent"

# --------------------------------------------- webhooks: a good signature
T0=$((NOW - 7200))		# event times
PS=$((NOW - 35 * DAY))		# the first period, ended 5 days ago
PE=$((NOW - 5 * DAY))
CUS="cus_$(rand_id)"
SUB="sub_$(rand_id)"
E_CO="evt_$(rand_id)"
EV=$(stripe_event "$E_CO" checkout.session.completed $((T0 + 10)) "$(checkout_obj "cs_test_$(rand_id)" "$ORG" "$CUS" "$SUB" pro "$OWNER_EMAIL")")
deliver "$EV"
ok 'applied "$E_CO" && [ "$(jq_body .org_id)" = "$ORG" ] && [ "$(jq_body .type)" = checkout.session.completed ]' \
	"checkout.session.completed with a good signature: 200 applied ($(jq_body .effect))"
ok '[ "$(sub_field "$ORG" 9)" = "$CUS" ] && [ "$(sub_field "$ORG" 10)" = "$SUB" ] &&
	[ "$(event_row "$E_CO" | cut -d"|" -f1,2)" = "applied|$ORG" ] && [ "$(event_row "$E_CO" | cut -d"|" -f3)" != - ]' \
	"... the organisation is linked to the customer and subscription; stripe_events: applied, with its effect"

fake_reset
portal "$OWNER" "$ORG" "https://app.example.com/settings/billing?tab=plan"
PURL=$(jq_body .url)
PREQ=$(fake_requests '[.[] | select(.path == "/v1/billing_portal/sessions")]')
ok '[ "$STATUS" = 200 ] && [[ "$PURL" == https://billing.stripe.com/* ]]' "the portal once a customer exists: 200 with its URL ($PURL)"
ok '[ "$(printf "%s" "$PREQ" | jq -r "length")" = 1 ] && [ "$(printf "%s" "$PREQ" | jq -r ".[0].auth_ok")" = true ] &&
	[ "$(printf "%s" "$PREQ" | jq -r ".[0].params.customer")" = "$CUS" ] &&
	[ "$(printf "%s" "$PREQ" | jq -r ".[0].params.return_url")" = "https://app.example.com/settings/billing?tab=plan" ]' \
	"... the fake got POST /v1/billing_portal/sessions with the customer and return_url"

# subscription.created: free → pro.
E_CR="evt_$(rand_id)"
EV=$(stripe_event "$E_CR" customer.subscription.created $((T0 + 20)) "$(subscription_obj "$SUB" "$CUS" "$ORG" pro "$PRICE_PRO" active "$PS" "$PE")")
deliver "$EV"
ok 'applied "$E_CR"' "customer.subscription.created (pro, active): 200 applied ($(jq_body .effect))"
ok '[ "$(sub_state "$ORG" | cut -d"|" -f1-5,7-11)" = "pro|active|$PS|$PE|f|-|-|$CUS|$SUB|$((T0 + 20))" ]' \
	"... the row: pro, active, the period, no past_due, stripe_updated_at = the event's time ($(sub_state "$ORG"))"
usage_is "$ORG" pro 300
u=$?
ok '[ "$u" = 0 ] && [ "$(jq_body .members.limit)" = 5 ]' "usage shows pro's limits ($(usage_desc))"
req POST "$O/members/" "{\"email\":\"bill-admin$stamp@example.com\",\"role\":\"admin\"}" "$OWNER"
s1=$STATUS
req POST "$O/members/" "{\"email\":\"bill-member$stamp@example.com\",\"role\":\"member\"}" "$OWNER"
ok '[ "$s1" = 201 ] && [ "$STATUS" = 201 ]' "on pro an admin and a member can be added (201, 201)"
req GET "$O/subscription/" "" "$OWNER"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .status)" = active ] && [ "$(jq_body .subscribed_plan)" = pro ] &&
	[ "$(jq_body .plan.plan_id)" = pro ] && [ "$(jq_body .plan.stripe_price_id)" = "$PRICE_PRO" ] &&
	[ "$(jq_body .plan.ai_generations_per_month)" = 300 ] && [ "$(jq_body .payment_action_url)" = null ]' \
	"the subscription endpoint: active on pro, the plan with its price id and limits, payment_action_url null"
ok '[ "$(jq_body "has(\"stripe_customer_id\")")" = false ] && ! printf "%s" "$BODY" | grep -qF "$CUS"' \
	"... and never the Stripe customer id"

# Checkout and portal: owners only.
fake_reset
checkout "$ADMIN" "$ORG" team
s_admin=$STATUS c_admin=$(jq_body .code)
checkout "$MEMBER" "$ORG" team
ok '[ "$s_admin" = 403 ] && [ "$c_admin" = 42501 ] && [ "$STATUS" = 403 ] && [ "$(jq_body .code)" = 42501 ]' \
	"checkout by an admin and by a member: 403 42501"
portal "$ADMIN" "$ORG"
ok '[ "$STATUS" = 403 ] && [ "$(jq_body .code)" = 42501 ]' "the portal by an admin: 403"
ok '[ "$(fake_requests length)" = 0 ]' "... and the fake received nothing"
req GET "$O/subscription/" "" "$ADMIN"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .plan.plan_id)" = pro ]' "an admin may still view the subscription (billing.view)"

checkout "$OWNER" "$ORG" pro
ok '[ "$STATUS" = 409 ] && [ "$(jq_body .code)" = 55000 ] && jq_body .message | grep -q "already has an active subscription to pro" &&
	[ "$(fake_requests length)" = 0 ]' "checkout for the plan already active: 409, nothing sent"
checkout "$OWNER" "$ORG" team
ok '[ "$STATUS" = 200 ] && [ "$(fake_requests ".[0].params.customer")" = "\"$CUS\"" ] &&
	[ "$(fake_requests ".[0].params.customer_email // \"(absent)\"")" = "\"(absent)\"" ] &&
	[ "$(fake_requests ".[0].params[\"line_items[0][price]\"]")" = "\"$PRICE_TEAM\"" ]' \
	"checkout for team once a customer exists: customer=<cus>, no customer_email, team's price"

# ------------------------------- rotation, a second v1, old but in time
E_UP="evt_$(rand_id)"
EV_UP=$(stripe_event "$E_UP" customer.subscription.updated $((T0 + 40)) \
	"$(subscription_obj "$SUB" "$CUS" "$ORG" team "$PRICE_TEAM" active "$PS" "$PE" items)" 2025-03-31.basil)
deliver "$EV_UP" "$WB"
ok 'applied "$E_UP"' "customer.subscription.updated signed with the second secret (rotation): 200 applied"
ok '[ "$(sub_state "$ORG" | cut -d"|" -f1-4,11)" = "team|active|$PS|$PE|$((T0 + 40))" ]' \
	"... pro → team; the period read from items.data[0] (newer API version)"
usage_is "$ORG" team 2000
u=$?
ok '[ "$u" = 0 ] && [ "$(jq_body .members.limit)" = 25 ]' "usage shows team's limits ($(usage_desc))"
req GET "$O/subscription/" "" "$OWNER"
ok '[ "$(jq_body .plan.stripe_price_id)" = "$PRICE_TEAM" ] && [ "$(jq_body .plan.max_workspaces)" = 20 ]' \
	"the subscription endpoint shows team with its price id and limits"

# ------------------------------------------------- signatures refused
E_BAD="evt_$(rand_id)"
EV_BAD=$(stripe_event "$E_BAD" customer.subscription.updated $((T0 + 45)) \
	"$(subscription_obj "$SUB" "$CUS" "$ORG" pro "$PRICE_PRO" canceled "$PS" "$PE")")
SNAP=$(sub_state "$ORG")
NEV=$(org_events "$ORG")
# unchanged — the event was not stored, the subscription row is as it was.
unchanged() { [ "$(event_count "$E_BAD")" = 0 ] && [ "$(sub_state "$ORG")" = "$SNAP" ] && [ "$(org_events "$ORG")" = "$NEV" ]; }
t=$(date +%s)
GOOD="t=$t,v1=$(stripe_hmac "$WA" "$t" "$EV_BAD")"
webhook "${EV_BAD/\"livemode\":false/\"livemode\":true}" "$GOOD"
ok 'refused_sig && unchanged' "a tampered body: 400 ($(jq_body .message)), nothing changed"
webhook "$EV_BAD" "$(stripe_sign "whsec_$(rand_id)" "$EV_BAD")"
ok 'refused_sig && unchanged' "a wrong secret: 400 ($(jq_body .message)), nothing changed"
webhook "$EV_BAD" "$(stripe_sign "$WA" "$EV_BAD" $(($(date +%s) - 400)))"
ok 'refused_sig && unchanged' "a timestamp 400 s old (tolerance 300): 400 ($(jq_body .message)), nothing changed"
webhook "$EV_BAD" "$(stripe_sign "$WA" "$EV_BAD" $(($(date +%s) + 400)))"
ok 'refused_sig && unchanged' "a timestamp 400 s ahead: 400 ($(jq_body .message)), nothing changed"
webhook "$EV_BAD"
ok 'refused_sig && unchanged' "no Stripe-Signature header: 400 ($(jq_body .message)), nothing changed"
webhook 'not json' "t=$(date +%s),v1=$(printf '%064d' 0)"
ok 'refused_sig' "a body that is not JSON, wrongly signed: the signature is refused first ($(jq_body .message))"
t=$(date +%s)
sig=$(stripe_hmac "$WA" "$t" "$EV_BAD")
huge="t=$t"
for i in $(seq 1 90); do huge+=",v1=$(printf '%064d' "$i")"; done	# > 4 KiB, none valid
declare -A GARBLED=(
	["garbage"]="garbage"
	["an empty header"]=""
	["no t"]="v1=$sig"
	["t not a number"]="t=abc,v1=$sig"
	["t with trailing junk"]="t=${t}x,v1=$sig"
	["no v1"]="t=$t"
	["v1 empty"]="t=$t,v1="
	["v1 not hex"]="t=$t,v1=$(printf '%s' "$sig" | tr 'a-f' 'g-l')"
	["v1 truncated"]="t=$t,v1=${sig:0:63}"
	["only v0 (the test scheme)"]="t=$t,v0=$sig"
	["a huge header (90 v1, over 4 KiB)"]="$huge"
)
mapfile -t KINDS < <(printf '%s\n' "${!GARBLED[@]}" | sort)
for what in "${KINDS[@]}"; do
	webhook "$EV_BAD" "${GARBLED[$what]}"
	ok 'refused_sig && unchanged' "a garbled header, $what: 400 ($(jq_body .message)), nothing changed"
done

# Good signatures, malformed events: 400, nothing stored.
for body in '[1,2]' 'not json' "$(printf '%s' "$EV_BAD" | jq -c 'del(.created)')" \
	"$(printf '%s' "$EV_BAD" | jq -c '.id = "not-an-event-id"')"; do
	deliver "$body"
	ok '[ "$STATUS" = 400 ] && unchanged' "correctly signed but not a valid event ($(printf '%.30s' "$body")…): 400 ($(jq_body .message))"
done
BIG="$E2E_TMP/big.json"
printf '%s' "$EV_BAD" | jq -c '.data.object.metadata.pad = ("x" * 300000)' >"$BIG"
t=$(date +%s)
webhook_file "$BIG" "t=$t,v1=$({ printf '%s.' "$t"; cat "$BIG"; } | openssl dgst -sha256 -hmac "$WA" -r | cut -d' ' -f1)"
ok '{ [ "$STATUS" = 413 ] || [ "$STATUS" = 400 ]; } && unchanged' "a signed body over 256 KiB: $STATUS, nothing changed"

# A second v1 matching (the first from an old secret), v0 ignored; a
# signature 200 s old is within the tolerance.
E_TRIAL="evt_$(rand_id)"
TRIAL_END=$((NOW + 3 * DAY))
EV=$(stripe_event "$E_TRIAL" customer.subscription.trial_will_end $((T0 + 48)) \
	"$(subscription_obj "$SUB" "$CUS" "$ORG" team "$PRICE_TEAM" trialing "$PS" "$PE" top \
		"{\"trial_start\":$PS,\"trial_end\":$TRIAL_END}")")
t=$(($(date +%s) - 200))
webhook "$EV" "t=$t,v1=$(stripe_hmac "whsec_old$(rand_id)" "$t" "$EV"),v1=$(stripe_hmac "$WA" "$t" "$EV"),v0=$(rand_id)"
ok 'applied "$E_TRIAL"' "a header with a second v1 that matches, a v0, t 200 s old: 200 applied"
ok '[ "$(sub_field "$ORG" 6)" = "$TRIAL_END" ] && [ -n "$(jq_body .effect)" ] && [ "$(jq_body .effect)" != null ]' \
	"customer.subscription.trial_will_end records trial_end ($(jq_body .effect))"
usage_is "$ORG" team 2000
u=$?
ok '[ "$u" = 0 ]' "... the organisation stays on team"

# ---------------------------------------------------------------- replay
SNAP=$(sub_state "$ORG")
deliver "$EV_UP"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .event_id)" = "$E_UP" ] && [ "$(jq_body .duplicate)" = true ] &&
	[ "$(jq_body .outcome)" = applied ]' "the same event delivered again: 200, duplicate, its stored outcome (applied)"
ok '[ "$(event_count "$E_UP")" = 1 ] && [ "$(sub_state "$ORG")" = "$SNAP" ]' "... one stripe_events row, the subscription untouched"

# ---------------------------------------------------------- out of order
E_OLD="evt_$(rand_id)"
EV=$(stripe_event "$E_OLD" customer.subscription.updated $((T0 + 30)) \
	"$(subscription_obj "$SUB" "$CUS" "$ORG" pro "$PRICE_PRO" active "$PS" "$PE")")
deliver "$EV"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .outcome)" = stale ] && [ "$(jq_body .duplicate)" = false ]' \
	"an older subscription.updated (pro) arriving after the newer one (team): 200, stale"
ok '[ "$(sub_state "$ORG")" = "$SNAP" ] && [ "$(event_row "$E_OLD" | cut -d"|" -f1)" = stale ]' \
	"... the newer state stays (team), the event recorded as stale"

# ------------------------------------------------------------ unknown type
E_UNK="evt_$(rand_id)"
EV=$(stripe_event "$E_UNK" customer.discount.created $((T0 + 50)) \
	"$(jq -cn --arg cus "$CUS" --arg sub "$SUB" '{id:("di_" + ($sub | ltrimstr("sub_"))), object:"discount", customer:$cus,
		subscription:$sub, coupon:{id:"SPRING", object:"coupon", percent_off:20}, start:1700000000}')")
deliver "$EV"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .outcome)" = unknown_type ] && [ "$(jq_body .effect)" = "not handled" ]' \
	"an unknown type (customer.discount.created): 200, unknown_type, \"not handled\""
ok '[ "$(sub_state "$ORG")" = "$SNAP" ] && [ "$(event_row "$E_UNK" | cut -d"|" -f1)" = unknown_type ]' \
	"... nothing applied, the event recorded"
ok 'wait_until 5 sh -c "grep -F \"$E_UNK\" \"$E2E_TMP/api.log\" | grep -F customer.discount.created | grep -q unknown_type"' \
	"... and logged (one line: id, type, outcome)"

# ----------------------------------------------------------- ignored
E_NOORG="evt_$(rand_id)"
EV=$(stripe_event "$E_NOORG" customer.subscription.updated $((T0 + 52)) \
	"$(subscription_obj "sub_$(rand_id)" "cus_$(rand_id)" "$(cat /proc/sys/kernel/random/uuid)" team "$PRICE_TEAM" active "$PS" "$PE")")
deliver "$EV"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .outcome)" = ignored ] && [ "$(event_row "$E_NOORG" | cut -d"|" -f1)" = ignored ]' \
	"an event for an organisation that does not exist: 200, ignored ($(jq_body .effect))"
E_PRICE="evt_$(rand_id)"
EV=$(stripe_event "$E_PRICE" customer.subscription.updated $((T0 + 54)) \
	"$(subscription_obj "$SUB" "$CUS" "$ORG" gold "price_unknown$(rand_id)" active "$PS" "$PE")")
deliver "$EV"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .outcome)" = ignored ] && [ "$(sub_state "$ORG")" = "$SNAP" ]' \
	"a subscription with a price no plan has: 200, ignored ($(jq_body .effect)), nothing changed"

# -------------------------------------- concurrent duplicates: past_due
E_FAIL="evt_$(rand_id)"
EV=$(stripe_event "$E_FAIL" invoice.payment_failed $((T0 + 60)) \
	"$(invoice_obj "in_$(rand_id)" "$SUB" "$CUS" open "$PE" $((PE + 30 * DAY)) '{"attempt_count":1,"next_payment_attempt":null}')")
HDR=$(stripe_sign "$WA" "$EV")
CURLS=()
for i in $(seq 1 8); do
	curl -sS -o "$E2E_TMP/dup$i.json" -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
		-H "Stripe-Signature: $HDR" --data-binary "$EV" "$API/api/v1/subscriptions/webhook/" >"$E2E_TMP/dup$i.status" 2>&1 &
	CURLS+=($!)
done
wait "${CURLS[@]}"
statuses=$(cat "$E2E_TMP"/dup*.status | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd' ')
firsts=$(cat "$E2E_TMP"/dup*.json | jq -r 'select(.outcome == "applied" and .duplicate == false) | .event_id' | wc -l)
dups=$(cat "$E2E_TMP"/dup*.json | jq -r 'select(.outcome == "applied" and .duplicate == true) | .event_id' | wc -l)
BODY="statuses: $statuses; applied: $firsts; duplicates: $dups"
ok '[ "$statuses" = 200x8 ] && [ "$firsts" = 1 ] && [ "$dups" = 7 ]' \
	"invoice.payment_failed delivered 8 times at once: all 200, one applied, seven duplicates"
ok '[ "$(event_count "$E_FAIL")" = 1 ] && [ "$(sub_state "$ORG" | cut -d"|" -f1,2,7,11)" = "team|past_due|$((T0 + 60))|$((T0 + 60))" ]' \
	"... one stripe_events row; the subscription past_due since the event's time"
usage_is "$ORG" team 2000
u=$?
ok '[ "$u" = 0 ]' "past_due within the grace period keeps team's limits ($(usage_desc))"
req GET "$O/subscription/" "" "$OWNER"
ok '[ "$(jq_body .status)" = past_due ] && [ "$(jq_body .plan.plan_id)" = team ] && [ "$(jq_body .past_due_since)" != null ]' \
	"the subscription endpoint: past_due, team in force, past_due_since shown"

# ------------------------------------------ action required, then paid
E_ACT="evt_$(rand_id)"
HOSTED="https://invoice.stripe.com/i/acct_$(rand_id)/test_$(rand_id)"
EV=$(stripe_event "$E_ACT" invoice.payment_action_required $((T0 + 70)) \
	"$(invoice_obj "in_$(rand_id)" "$SUB" "$CUS" open "$PE" $((PE + 30 * DAY)) "{\"hosted_invoice_url\":\"$HOSTED\"}")")
deliver "$EV"
ok 'applied "$E_ACT" && [ "$(sub_field "$ORG" 8)" = "$HOSTED" ]' \
	"invoice.payment_action_required: applied, payment_action_url = the hosted invoice URL"
req GET "$O/subscription/" "" "$OWNER"
ok '[ "$(jq_body .payment_action_url)" = "$HOSTED" ]' "... shown by the subscription endpoint"
E_PAID="evt_$(rand_id)"
PS2=$PE
PE2=$((PE + 30 * DAY))
EV=$(stripe_event "$E_PAID" invoice.paid $((T0 + 80)) \
	"$(invoice_obj "in_$(rand_id)" "$SUB" "$CUS" paid "$PS2" "$PE2" "{\"hosted_invoice_url\":\"$HOSTED\"}")")
deliver "$EV"
ok 'applied "$E_PAID"' "invoice.paid: 200 applied ($(jq_body .effect))"
ok '[ "$(sub_state "$ORG" | cut -d"|" -f1-4,7,8)" = "team|active|$PS2|$PE2|-|-" ]' \
	"... active again, past_due_since and payment_action_url cleared, the period from lines.data[0].period"

# --------------------------------------------------- canceled → free
req POST "$O/workspaces/" '{"name":"Second","slug":"second"}' "$OWNER"
WS2=$(jq_body .workspace_id)
E_DEL="evt_$(rand_id)"
EV=$(stripe_event "$E_DEL" customer.subscription.deleted $((T0 + 90)) \
	"$(subscription_obj "$SUB" "$CUS" "$ORG" team "$PRICE_TEAM" canceled "$PS2" "$PE2" top \
		"{\"canceled_at\":$((T0 + 90)),\"ended_at\":$((T0 + 90))}")")
deliver "$EV"
ok 'applied "$E_DEL" && [ "$(sub_field "$ORG" 2)" = canceled ]' "customer.subscription.deleted: applied, status canceled"
usage_is "$ORG" free 20
u=$?
ok '[ "$u" = 0 ] && [ "$(jq_body .members.used)" = 3 ] && [ "$(jq_body .workspaces.used)" = 2 ]' \
	"usage falls back to free's limits, the 3 members and 2 workspaces kept ($(usage_desc))"
req GET "$O/content/$CONTENT/" "" "$OWNER"
ok '[ "$STATUS" = 200 ] && jq_body . | grep -q "Still here"' "the content is still there"
req POST "$O/workspaces/" '{"name":"Third","slug":"third"}' "$OWNER"
ok '[ "$STATUS" = 402 ] && [ "$(jq_body .code)" = CA001 ]' "a third workspace is refused on free: 402 CA001"
req GET "$O/subscription/" "" "$OWNER"
ok '[ "$(jq_body .status)" = canceled ] && [ "$(jq_body .subscribed_plan)" = team ] && [ "$(jq_body .plan.plan_id)" = free ]' \
	"the subscription endpoint: canceled, subscribed_plan team, free in force"
fake_reset
checkout "$OWNER" "$ORG" pro
ok '[ "$STATUS" = 200 ] && [ "$(fake_requests ".[0].params.customer")" = "\"$CUS\"" ]' \
	"after cancelling the owner may check out again, as the same Stripe customer"

# ------------------------------------------ past_due after the grace
req POST /api/v1/organizations/ "{\"name\":\"Billing 2\",\"slug\":\"billing2-$stamp\"}" "$OWNER"
ORG2=$(jq_body .org_id)
CUS2="cus_$(rand_id)"
SUB2="sub_$(rand_id)"
grace=$(sql_su "SHOW caas.past_due_grace_days")
E2_CR="evt_$(rand_id)"
EV=$(stripe_event "$E2_CR" customer.subscription.created $((NOW - 40 * DAY)) \
	"$(subscription_obj "$SUB2" "$CUS2" "$ORG2" team "$PRICE_TEAM" active $((NOW - 40 * DAY)) $((NOW - 10 * DAY)))")
deliver "$EV"
ok 'applied "$E2_CR" && usage_is "$ORG2" team 2000' "a second organisation subscribed to team (by metadata.org_id)"
E2_FAIL="evt_$(rand_id)"
EV=$(stripe_event "$E2_FAIL" invoice.payment_failed $((NOW - (grace + 3) * DAY)) \
	"$(invoice_obj "in_$(rand_id)" "$SUB2" "$CUS2" open $((NOW - 10 * DAY)) $((NOW + 20 * DAY)))")
deliver "$EV"
ok 'applied "$E2_FAIL" && [ "$(jq_body .org_id)" = "$ORG2" ]' "invoice.payment_failed $((grace + 3)) days ago: applied (organisation found by the subscription id)"
usage_is "$ORG2" free 20
u=$?
ok '[ "$u" = 0 ]' "past_due beyond the grace period ($grace days): free's limits ($(usage_desc))"
E2_PAID="evt_$(rand_id)"
EV=$(stripe_event "$E2_PAID" invoice.paid $((NOW - 60)) \
	"$(invoice_obj "in_$(rand_id)" "$SUB2" "$CUS2" paid $((NOW - 10 * DAY)) $((NOW + 20 * DAY)))")
deliver "$EV"
ok 'applied "$E2_PAID" && usage_is "$ORG2" team 2000' "invoice.paid: active, team's limits again"

# ------------------------------------------------------------------ logs
LOG="$E2E_TMP/api.log"
ok '! grep -qF "$SK" "$LOG" && ! grep -qF "$WA" "$LOG" && ! grep -qF "$WB" "$LOG"' \
	"no secret key or webhook secret in the API's log"
ok '! grep -qF "$HOSTED" "$LOG" && ! grep -qF "Still here" "$LOG"' "no event payload in the API's log"
logged=0
for e in "$E_CO" "$E_CR" "$E_UP" "$E_OLD" "$E_FAIL" "$E_PAID" "$E_DEL"; do
	[ "$(grep -cF "$e" "$LOG")" -ge 1 ] && logged=$((logged + 1))
done
ok '[ "$logged" = 7 ]' "each event delivered has a log line ($logged of 7 checked)"

# ---------------------------------------------------- configuration
api_stop
api_start CAAS_API_JWT_SECRET="$JWT" CAAS_API_STRIPE_BASE_URL="$FAKE"
fake_reset
checkout "$OWNER" "$ORG" team
ok '[ "$STATUS" = 503 ] && jq_body .message | grep -q stripe_secret_key && [ "$(fake_requests length)" = 0 ]' \
	"no secret key configured: checkout 503 naming stripe_secret_key, nothing sent"
E_NOSEC="evt_$(rand_id)"
EV=$(stripe_event "$E_NOSEC" invoice.paid $((NOW - 30)) "$(invoice_obj "in_$(rand_id)" "$SUB2" "$CUS2" paid "$NOW" $((NOW + DAY)))")
deliver "$EV"
ok '[ "$STATUS" = 503 ] && [ "$(event_count "$E_NOSEC")" = 0 ]' "no webhook secret configured: the webhook answers 503, nothing stored"
api_stop

# stripe_prices naming a plan that does not exist stops the start-up.
port=$(pg_pick_port)
BEFORE=$(sql_su "SELECT string_agg(plan_id || '=' || coalesce(stripe_price_id, '-'), ' ' ORDER BY plan_id) FROM caas.plans")
env CAAS_API_PORT="$port" CAAS_API_LISTEN_ADDRESS=127.0.0.1 \
	CAAS_API_DATABASE_URL="host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=caas_authenticator" \
	CAAS_API_JWT_SECRET="$(rand_id)$(rand_id)" CAAS_API_HEALTH_REQUIRES_DISPATCHER=no \
	"${STRIPE_ENV[@]}" CAAS_API_STRIPE_PRICES="pro:$PRICE_PRO,gold:price_gold$(rand_id)" \
	"$E2E_REPO/api/build/caas-api" -c "$E2E_REPO/conf/api.conf" >"$E2E_TMP/bad.log" 2>&1 &
BAD=$!
wait_until 15 sh -c "! kill -0 $BAD 2>/dev/null"
if kill -0 "$BAD" 2>/dev/null; then
	rc=running
	kill -TERM "$BAD"
	wait "$BAD" 2>/dev/null
else
	wait "$BAD"
	rc=$?
fi
BODY=$(head -c 300 "$E2E_TMP/bad.log")
ok '[ "$rc" != running ] && [ "$rc" != 0 ] && grep -q gold "$E2E_TMP/bad.log" && ! grep -qF "$SK" "$E2E_TMP/bad.log" &&
	[ "$(sql_su "SELECT string_agg(plan_id || '"'"'='"'"' || coalesce(stripe_price_id, '"'"'-'"'"'), '"'"' '"'"' ORDER BY plan_id) FROM caas.plans")" = "$BEFORE" ]' \
	"stripe_prices with an unknown plan (gold): the API does not start (exit $rc), names gold, no price changed"
