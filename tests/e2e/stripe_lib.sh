# tests/e2e/stripe_lib.sh — Stripe helpers for tests/e2e/billing.t: the
# fake Stripe API (tests/fakes/build/fake_stripe) on a free loopback port,
# Stripe-Signature headers computed in the shell (openssl dgst -hmac over
# "t.body", as Stripe signs), webhook deliveries, realistic Event objects
# (subscription, invoice, checkout session) and snapshots of an
# organisation's subscription row.  Sourced after lib.sh; its EXIT trap
# chains before lib.sh's (stops the fake, puts the plans' price ids back,
# then lib.sh stops the API and removes $E2E_TMP).
#
# Nothing here prints a secret: the secret key and the webhook secrets stay
# in shell variables and on the command lines of the fake and openssl.

STRIPE_FAKE_BIN=${STRIPE_FAKE_BIN:-$E2E_REPO/tests/fakes/build/fake_stripe}
STRIPE_FAKE_PID=
STRIPE_PLANS_SAVED=

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_until SECONDS CMD... — poll CMD every 20 ms; false after SECONDS.
wait_until() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	while [ "$(now_ms)" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.02
	done
	return 1
}

# rand_id — 24 hex digits, for ids Stripe spells [A-Za-z0-9].
rand_id() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# --------------------------------------------------------------- the fake

# stripe_fake_start SECRET-KEY PRICE... — start the fake knowing these
# prices; sets FAKE (its base URL) once it printed "listening on N".
stripe_fake_start() {
	local key=$1 port prices
	shift
	prices=$(IFS=,; echo "$*")
	[ -x "$STRIPE_FAKE_BIN" ] || { echo "Bail out! $STRIPE_FAKE_BIN is missing (make -C tests/fakes)"; exit 1; }
	"$STRIPE_FAKE_BIN" --port 0 --secret-key "$key" --prices "$prices" >"$E2E_TMP/fake_stripe.log" 2>&1 &
	STRIPE_FAKE_PID=$!
	wait_until 10 grep -q "listening on [0-9]" "$E2E_TMP/fake_stripe.log" || {
		echo "Bail out! fake_stripe did not start"
		sed 's/^/# /' "$E2E_TMP/fake_stripe.log" >&2
		exit 1
	}
	port=$(sed -n 's/.*listening on \([0-9]*\).*/\1/p' "$E2E_TMP/fake_stripe.log" | head -n 1)
	FAKE="http://127.0.0.1:$port"
}

stripe_fake_stop() {
	if [ -n "$STRIPE_FAKE_PID" ] && kill -0 "$STRIPE_FAKE_PID" 2>/dev/null; then
		kill -TERM "$STRIPE_FAKE_PID"
		wait "$STRIPE_FAKE_PID" 2>/dev/null
	fi
	STRIPE_FAKE_PID=
}

# fake_requests [JQ-FILTER] — the requests the fake received (an array of
# {method, path, auth_ok, idempotency_key, params, at_ms}), filtered.
fake_requests() {
	curl -fsS "$FAKE/_fake/requests" | jq -c "(if type == \"array\" then . else .requests end) | ${1:-.}"
}
# fake_count PATH — how many requests the fake received on PATH.
fake_count() { fake_requests "[.[] | select(.path == \"$1\")] | length"; }
fake_reset() { curl -fsS -o /dev/null -X POST "$FAKE/_fake/reset"; }
# fake_mode FAIL COUNT — the next COUNT requests fail that way.
fake_mode() {
	curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
		--data-binary "$(jq -cn --arg f "$1" --argjson c "$2" '{fail:$f, count:$c}')" "$FAKE/_fake/mode"
}

# ------------------------------------------------------------- signatures

# stripe_hmac SECRET T BODY — hex HMAC-SHA256 of "T.BODY" keyed with the
# whole secret string ("whsec_…" included), as Stripe computes v1.
stripe_hmac() {
	printf '%s.%s' "$2" "$3" | openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1
}
# stripe_sign SECRET BODY [T] — a Stripe-Signature header value.
stripe_sign() {
	local t=${3:-$(date +%s)}
	printf 't=%s,v1=%s' "$t" "$(stripe_hmac "$1" "$t" "$2")"
}

# webhook BODY [SIGNATURE-HEADER] — deliver BODY as Stripe does; without a
# second argument no Stripe-Signature header is sent.  Sets STATUS, BODY.
webhook() {
	local args=(-sS -o "$E2E_TMP/body" -w '%{http_code}' -X POST
		-H 'Content-Type: application/json; charset=utf-8' -H 'User-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)'
		--data-binary "$1")
	# curl drops a header given as "Name:" with no value; "Name;" sends it empty.
	if [ $# -ge 2 ] && [ -n "$2" ]; then
		args+=(-H "Stripe-Signature: $2")
	elif [ $# -ge 2 ]; then
		args+=(-H "Stripe-Signature;")
	fi
	STATUS=$(curl "${args[@]}" "$API/api/v1/subscriptions/webhook/")
	BODY=$(cat "$E2E_TMP/body")
}
# webhook_file FILE SIGNATURE-HEADER — the same with the body in FILE.
webhook_file() {
	STATUS=$(curl -sS -o "$E2E_TMP/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-H "Stripe-Signature: $2" --data-binary "@$1" "$API/api/v1/subscriptions/webhook/")
	BODY=$(cat "$E2E_TMP/body")
}

# ------------------------------------------------------------------ events

# stripe_event ID TYPE CREATED OBJECT-JSON [API-VERSION] — an Event object.
stripe_event() {
	jq -cn --arg id "$1" --arg type "$2" --argjson created "$3" --argjson obj "$4" --arg v "${5:-2024-06-20}" \
		'{id:$id, object:"event", api_version:$v, created:$created, livemode:false, pending_webhooks:1,
		  request:{id:("req_" + ($id | ltrimstr("evt_"))), idempotency_key:null}, type:$type,
		  data:{object:$obj}}'
}

# subscription_obj SUB CUS ORG PLAN PRICE STATUS START END [STYLE [EXTRA]] —
# a Subscription.  STYLE "top" (default) carries current_period_start/end
# on the subscription (API versions before 2025-03-31), "items" only on
# items.data[0] (newer versions).  EXTRA (a JSON object) is merged last.
subscription_obj() {
	jq -cn --arg sub "$1" --arg cus "$2" --arg org "$3" --arg plan "$4" --arg price "$5" --arg st "$6" \
		--argjson ps "$7" --argjson pe "$8" --arg style "${9:-top}" --argjson x "${10:-{\}}" \
		'{id:$sub, object:"subscription", application:null, billing_cycle_anchor:$ps, cancel_at:null,
		  cancel_at_period_end:false, canceled_at:null, collection_method:"charge_automatically",
		  created:($ps - 60), currency:"usd", customer:$cus, default_payment_method:("pm_" + ($sub | ltrimstr("sub_"))),
		  ended_at:null, latest_invoice:("in_" + ($sub | ltrimstr("sub_"))), livemode:false,
		  metadata:{org_id:$org, plan:$plan}, start_date:$ps, status:$st, trial_start:null, trial_end:null,
		  items:{object:"list", has_more:false, total_count:1, url:("/v1/subscription_items?subscription=" + $sub),
		         data:[{id:("si_" + ($sub | ltrimstr("sub_"))), object:"subscription_item", created:$ps, quantity:1,
		                subscription:$sub, metadata:{},
		                price:{id:$price, object:"price", active:true, currency:"usd", livemode:false,
		                       product:("prod_" + $plan), type:"recurring",
		                       unit_amount:(if $plan == "team" then 9900 else 2900 end),
		                       recurring:{interval:"month", interval_count:1, usage_type:"licensed"}}}
		               + (if $style == "items" then {current_period_start:$ps, current_period_end:$pe} else {} end)]}}
		 + (if $style == "items" then {} else {current_period_start:$ps, current_period_end:$pe} end)
		 + $x'
}

# invoice_obj INVOICE SUB CUS STATUS PERIOD-START PERIOD-END [EXTRA] — an
# Invoice of the subscription (no metadata: the organisation is found by
# the subscription id).
invoice_obj() {
	jq -cn --arg in "$1" --arg sub "$2" --arg cus "$3" --arg st "$4" --argjson ps "$5" --argjson pe "$6" \
		--argjson x "${7:-{\}}" \
		'{id:$in, object:"invoice", account_country:"US", amount_due:2900,
		  amount_paid:(if $st == "paid" then 2900 else 0 end), amount_remaining:(if $st == "paid" then 0 else 2900 end),
		  attempt_count:1, attempted:true, billing_reason:"subscription_cycle", collection_method:"charge_automatically",
		  created:$ps, currency:"usd", customer:$cus, customer_email:null, hosted_invoice_url:null,
		  livemode:false, metadata:{}, number:"ABCD-0001", paid:($st == "paid"), period_start:$ps, period_end:$pe,
		  status:$st, subscription:$sub,
		  lines:{object:"list", has_more:false, total_count:1, url:("/v1/invoices/" + $in + "/lines"),
		         data:[{id:("il_" + ($in | ltrimstr("in_"))), object:"line_item", amount:2900, currency:"usd",
		                period:{start:$ps, end:$pe}, subscription:$sub, type:"subscription"}]}}
		 + $x'
}

# checkout_obj SESSION ORG CUS SUB PLAN EMAIL — a completed Checkout Session.
checkout_obj() {
	jq -cn --arg cs "$1" --arg org "$2" --arg cus "$3" --arg sub "$4" --arg plan "$5" --arg email "$6" \
		'{id:$cs, object:"checkout.session", amount_subtotal:2900, amount_total:2900,
		  cancel_url:"https://app.example.com/billing", client_reference_id:$org, currency:"usd",
		  customer:$cus, customer_details:{email:$email, name:null}, customer_email:$email, livemode:false,
		  metadata:{org_id:$org, plan:$plan}, mode:"subscription", payment_status:"paid", status:"complete",
		  subscription:$sub, success_url:"https://app.example.com/billing/success", url:null}'
}

# ----------------------------------------------------------- the database

# sub_state ORG — the organisation's subscription row, one line:
# plan|status|period start|period end|cancel_at_period_end|trial_end|
# past_due_since|payment_action_url|customer|subscription|stripe_updated_at
# (times in epoch seconds), "none" without a row.
sub_state() {
	local s
	s=$(sql_su "SELECT concat_ws('|', plan_id, status, extract(epoch FROM current_period_start)::bigint,
			extract(epoch FROM current_period_end)::bigint, cancel_at_period_end,
			coalesce(extract(epoch FROM trial_end)::bigint::text, '-'),
			coalesce(extract(epoch FROM past_due_since)::bigint::text, '-'), coalesce(payment_action_url, '-'),
			coalesce(stripe_customer_id, '-'), coalesce(stripe_subscription_id, '-'),
			coalesce(extract(epoch FROM stripe_updated_at)::bigint::text, '-'), updated_at)
		FROM caas.subscriptions WHERE org_id = '$1'")
	echo "${s:-none}"
}
# sub_field ORG N — field N (1-based) of sub_state.
sub_field() { sub_state "$1" | cut -d'|' -f"$2"; }
# event_row EVENT-ID — outcome|org_id|effect of the stored event, or "".
event_row() {
	sql_su "SELECT concat_ws('|', outcome, coalesce(org_id::text, '-'), coalesce(effect, '-'))
		FROM caas.stripe_events WHERE event_id = '$1'"
}
event_count() { sql_su "SELECT count(*) FROM caas.stripe_events WHERE event_id = '$1'"; }
org_events() { sql_su "SELECT count(*) FROM caas.stripe_events WHERE org_id = '$1'"; }

# plans_save / plans_restore — the plans' price ids before this file set
# them (the database is shared with the other e2e files).
plans_save() {
	STRIPE_PLANS_SAVED=$(sql_su "SELECT coalesce(string_agg(format('(%L, %L)', plan_id, stripe_price_id), ','), '')
		FROM caas.plans")
}
plans_restore() {
	[ -n "$STRIPE_PLANS_SAVED" ] || return 0
	sql_su "UPDATE caas.plans p SET stripe_price_id = v.price
		FROM (VALUES $STRIPE_PLANS_SAVED) v (plan_id, price) WHERE p.plan_id = v.plan_id
		AND p.stripe_price_id IS DISTINCT FROM v.price" >/dev/null 2>&1
}

# ------------------------------------------------------------ the EXIT trap

stripe_cleanup() {
	stripe_fake_stop
	plans_restore
}
# Chain before whatever EXIT trap is set (lib.sh's: api_stop, rm $E2E_TMP).
eval "set -- $(trap -p EXIT)"
STRIPE_PREV_TRAP=${3:-}
trap 'stripe_cleanup; eval "$STRIPE_PREV_TRAP"' EXIT
set --
