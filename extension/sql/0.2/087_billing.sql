--
-- 087_billing.sql — billing with Stripe: the price ids from the API's
-- configuration, the checks before a Checkout or Customer Portal session,
-- and the webhook's events applied to caas.subscriptions.
--
-- Who calls what:
--   caas.stripe_prices_sync    the API at start-up, as caas_authenticator
--                              (before any SET ROLE), with its stripe_prices
--                              setting;
--   caas.billing_checkout      the API as the calling owner (caas_user), then
--   caas.billing_portal        it asks Stripe for the session itself, with no
--                              transaction open;
--   caas.stripe_event_apply    the webhook, as caas_billing, with the Event
--                              object whose signature the API has verified.
--
-- Wording: the *event time* is the event's `created` (epoch seconds, as
-- Stripe stamps it); the *subscription on record* is the organisation's
-- caas.subscriptions row and its stripe_subscription_id.  A subscription
-- is *ended* when canceled or incomplete_expired, *not yet live* when
-- incomplete, and *live* otherwise.
--
-- Idempotency: each event is inserted into caas.stripe_events first,
-- INSERT ... ON CONFLICT (event_id) DO NOTHING, and its effect is applied
-- in the same transaction.  A second delivery of an event that was applied
-- finds the row and changes nothing (outcome as stored, duplicate true).
-- Concurrent deliveries of one event serialise on the primary key: the
-- second INSERT finds the first's uncommitted index entry and waits for
-- that transaction to end (speculative insertion).  If it commits, the
-- second INSERT does nothing and the next statement, with a new snapshot
-- (READ COMMITTED), reads the committed outcome; if it rolls back, the
-- second inserts and applies the event itself.  (Under REPEATABLE READ or
-- SERIALIZABLE the waiter gets 40001 instead; Stripe retries, and the retry
-- is a duplicate.)  Event ids are forgotten after
-- caas.stripe_event_retention_days (caas.housekeeping); Stripe stops
-- retrying after three days, and an event delivered later than that is in
-- any case older than the state held, so stale.
--
-- Order: Stripe does not deliver events in order.  Different events of one
-- organisation serialise on its caas.organizations row (FOR NO KEY UPDATE,
-- as the quota triggers do), taken before the subscription is read, so each
-- compares against the newest committed state.  An event whose time is
-- older than subscriptions.stripe_updated_at is *stale*: recorded, nothing
-- changed.  An event with the *same* second as stripe_updated_at is
-- applied: Stripe stamps several events of one change in the same second
-- (customer.subscription.updated, invoice.paid, checkout.session.completed)
-- and gives no order among them, so refusing ties would drop real changes;
-- between two events of one second the later delivery wins, and the full
-- state of the next subscription event repairs any mix-up.  Applied events
-- set stripe_updated_at to their time, except checkout.session.completed
-- (below).
--
-- The organisation of an event: data.object.metadata.org_id (for an
-- invoice also its parent.subscription_details.metadata.org_id, the
-- subscription's metadata), else the checkout session's
-- client_reference_id, else the subscription on record
-- with the object's subscription id (invoice: `subscription`, or
-- `parent.subscription_details.subscription` in API versions from
-- 2025-03-31; subscription: `id`), else the one with the object's
-- `customer`.  The first of these the object has decides: a value that is
-- not the uuid of an existing organisation, or ids nobody has, make the
-- event *ignored* (recorded with the reason; Stripe gets a 200, as a retry
-- would not help).
--
-- Effects by type:
--   customer.subscription.created|updated  the full state: plan (price of
--       items.data[0] → caas.plans.stripe_price_id; an unknown price is
--       ignored), status, period (current_period_start/end of the object or,
--       from API version 2025-03-31, of items.data[0]), cancel_at_period_end,
--       trial_end, customer, subscription id.  The row is created if missing.
--   customer.subscription.deleted  status canceled: caas._org_plan falls back
--       to free; nothing of the organisation's is deleted.
--   invoice.paid  past_due or unpaid → active; payment_action_url cleared;
--       the period from lines.data[0].period when the invoice opens one
--       (billing_reason subscription_create or subscription_cycle, or
--       absent; a proration invoice's line covers part of a period only).
--   invoice.payment_failed  active or trialing → past_due.
--   invoice.payment_action_required  payment_action_url = hosted_invoice_url.
--   customer.subscription.trial_will_end  trial_end recorded.
--   checkout.session.completed  links the customer and subscription ids to
--       the organisation.  It never grants a plan: Checkout completes before
--       an asynchronous payment settles, and the subscription's own events
--       are the source of truth.  A missing row is created with status
--       incomplete (so the free plan's limits apply) and the plan of
--       metadata.plan when that names a paid plan, free otherwise; an
--       existing row keeps its plan and status, and its subscription id is
--       replaced only when the one on record is not live.  It carries no
--       subscription state, so it leaves stripe_updated_at alone: the
--       customer.subscription.created Stripe stamped a moment before it must
--       still apply when delivered after it.
--   anything else  outcome unknown_type, effect "not handled", nothing done.
-- Events about a subscription other than the one on record are ignored when
-- the one on record is live and theirs is ended or not yet live (the late
-- deletion of a replaced subscription must not cancel the new one);
-- otherwise a subscription event replaces the one on record.
--
-- past_due_since (constraint subscriptions_past_due_since): the event time
-- when the status becomes past_due, kept while it stays past_due, NULL in
-- every other status.  payment_action_url: kept while the status is
-- past_due, unpaid or incomplete, NULL in every other status.
--
-- Subscription changes reach the audit log through caas._audit_row (actor
-- NULL: the system).
--

ALTER TABLE caas.stripe_events
  ADD COLUMN effect text CHECK (length(effect) <= 2000);
COMMENT ON COLUMN caas.stripe_events.effect IS
  'What was done with the event, for people: the new plan and status, why it was ignored or stale, "not handled" for types caas does not use.';

ALTER TABLE caas.subscriptions
  ADD COLUMN payment_action_url text CHECK (payment_action_url ~ '^https://' AND length(payment_action_url) <= 2048);
COMMENT ON COLUMN caas.subscriptions.payment_action_url IS
  'Stripe''s hosted invoice page while a payment needs the customer''s action (3-D Secure; invoice.payment_action_required); NULL otherwise. Cleared when an invoice is paid or the status leaves past_due, unpaid and incomplete.';

-- ------------------------------------------------------------- helpers --

-- API: Private
CREATE FUNCTION caas._stripe_id(v jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  -- Stripe sends a related object as its id, or as the object when expanded.
  SELECT CASE jsonb_typeof(v)
           WHEN 'string' THEN v #>> '{}'
           WHEN 'object' THEN CASE WHEN jsonb_typeof(v -> 'id') = 'string' THEN v ->> 'id' END
         END
$$;
COMMENT ON FUNCTION caas._stripe_id(jsonb) IS
  'Private: the id of a Stripe reference, given as an id string or as the expanded object; NULL for anything else.';

-- API: Private
CREATE FUNCTION caas._stripe_time(v jsonb)
RETURNS timestamptz
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  -- Epoch seconds, 1970 to 2286 (ten digits); anything else is NULL.
  SELECT CASE WHEN jsonb_typeof(v) = 'number'
              THEN CASE WHEN (v #>> '{}')::numeric BETWEEN 0 AND 9999999999
                        THEN to_timestamp((v #>> '{}')::numeric::double precision) END END
$$;
COMMENT ON FUNCTION caas._stripe_time(jsonb) IS
  'Private: a Stripe timestamp (epoch seconds) as timestamptz; NULL when absent, not a number or out of range.';

-- API: Private
CREATE FUNCTION caas._stripe_fmt(ts timestamptz)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  SELECT coalesce(to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'unknown')
$$;
COMMENT ON FUNCTION caas._stripe_fmt(timestamptz) IS
  'Private: an instant as the effects of Stripe events write it (ISO 8601, UTC).';

-- API: Private
CREATE FUNCTION caas._stripe_live(status caas.subscription_status)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  SELECT status NOT IN ('canceled', 'incomplete_expired', 'incomplete')
$$;
COMMENT ON FUNCTION caas._stripe_live(caas.subscription_status) IS
  'Private: true for a subscription Stripe bills or may bill again (trialing, active, past_due, unpaid, paused); false when ended (canceled, incomplete_expired) or not yet live (incomplete).';

-- API: Private
CREATE FUNCTION caas._stripe_event_org(obj jsonb, OUT org uuid, OUT why text)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  ref text;
  source text;
  sub_id text := coalesce(caas._stripe_id(obj -> 'subscription'),
                          caas._stripe_id(obj #> '{parent,subscription_details,subscription}'),
                          CASE WHEN obj ->> 'id' LIKE 'sub\_%' THEN obj ->> 'id' END);
  cus_id text := caas._stripe_id(obj -> 'customer');
BEGIN
  IF jsonb_typeof(obj #> '{metadata,org_id}') = 'string' THEN
    ref := obj #>> '{metadata,org_id}'; source := 'metadata.org_id';
  ELSIF jsonb_typeof(obj #> '{parent,subscription_details,metadata,org_id}') = 'string' THEN
    ref := obj #>> '{parent,subscription_details,metadata,org_id}'; source := 'the subscription''s metadata.org_id';
  ELSIF jsonb_typeof(obj -> 'client_reference_id') = 'string' THEN
    ref := obj ->> 'client_reference_id'; source := 'client_reference_id';
  END IF;
  IF source IS NOT NULL THEN
    IF ref !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
      why := format('%s "%s" is not an organisation id', source, left(ref, 64));
      RETURN;
    END IF;
    SELECT o.org_id INTO org FROM caas.organizations o WHERE o.org_id = ref::uuid;
    IF NOT FOUND THEN
      why := format('organisation %s (%s) does not exist', ref, source);
    END IF;
    RETURN;
  END IF;
  IF sub_id IS NOT NULL THEN
    SELECT s.org_id INTO org FROM caas.subscriptions s
     WHERE s.stripe_subscription_id = sub_id ORDER BY s.updated_at DESC LIMIT 1;
    IF FOUND THEN
      RETURN;
    END IF;
  END IF;
  IF cus_id IS NOT NULL THEN
    SELECT s.org_id INTO org FROM caas.subscriptions s
     WHERE s.stripe_customer_id = cus_id ORDER BY s.updated_at DESC LIMIT 1;
    IF FOUND THEN
      RETURN;
    END IF;
  END IF;
  why := CASE WHEN sub_id IS NULL AND cus_id IS NULL
              THEN 'the event names no organisation, subscription or customer'
              ELSE format('no organisation has %s', concat_ws(' or ',
                            'subscription ' || left(sub_id, 64), 'customer ' || left(cus_id, 64))) END;
END;
$$;
COMMENT ON FUNCTION caas._stripe_event_org(jsonb) IS
  'Private: the organisation a Stripe event''s object concerns (metadata.org_id, client_reference_id, then the subscription on record by subscription id, then by customer id), or NULL and why not.';

-- -------------------------------------------- configuration: price ids --

CREATE FUNCTION caas.stripe_prices_sync(prices jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  k text;
  v jsonb;
  p caas.plans;
  wanted jsonb := '{}';
  dup text[];
BEGIN
  IF prices IS NULL OR jsonb_typeof(prices) <> 'object' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'stripe_prices must be a JSON object of plan ids to Stripe price ids',
      HINT = 'For example {"pro": "price_...", "team": "price_..."}.';
  END IF;
  FOR k, v IN SELECT e.key, e.value FROM jsonb_each(prices) e ORDER BY e.key LOOP
    SELECT * INTO p FROM caas.plans WHERE plan_id = k;
    IF NOT FOUND THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown plan "%s" in stripe_prices', left(k, 64)),
        HINT = format('Plans: %s.', (SELECT string_agg(plan_id, ', ' ORDER BY sort_order, plan_id) FROM caas.plans));
    END IF;
    IF p.price_cents = 0 THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('plan %s is free: it has no Stripe price', k);
    END IF;
    IF jsonb_typeof(v) = 'null' OR v = '""' THEN
      wanted := wanted || jsonb_build_object(k, NULL);
    ELSIF jsonb_typeof(v) = 'string' AND v #>> '{}' ~ '^price_[A-Za-z0-9]+$' AND length(v #>> '{}') <= 255 THEN
      wanted := wanted || jsonb_build_object(k, v);
    ELSE
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('the Stripe price of plan %s is not a price id', k),
        HINT = 'A Stripe price id looks like price_1AbC...; null or "" clears it.';
    END IF;
  END LOOP;
  -- One price, one plan (plans.stripe_price_id is unique): say which.
  WITH after_sync AS (
    SELECT e.key AS plan_id, e.value #>> '{}' AS price FROM jsonb_each(wanted) e
    UNION ALL
    SELECT pl.plan_id, pl.stripe_price_id FROM caas.plans pl WHERE NOT wanted ? pl.plan_id)
  SELECT array_agg(a.plan_id ORDER BY a.plan_id) INTO dup
    FROM after_sync a
   WHERE a.price IN (SELECT b.price FROM after_sync b WHERE b.price IS NOT NULL GROUP BY b.price HAVING count(*) > 1);
  IF dup IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('plans %s would have the same Stripe price', array_to_string(dup, ' and ')),
      HINT = 'Each paid plan needs its own Stripe price.';
  END IF;
  -- Two steps, so that prices may move between plans (the unique key is
  -- checked row by row): clear what changes, then set.
  UPDATE caas.plans pl SET stripe_price_id = NULL
   WHERE wanted ? pl.plan_id AND pl.stripe_price_id IS DISTINCT FROM wanted ->> pl.plan_id
     AND pl.stripe_price_id IS NOT NULL;
  UPDATE caas.plans pl SET stripe_price_id = wanted ->> pl.plan_id
   WHERE wanted ? pl.plan_id AND pl.stripe_price_id IS DISTINCT FROM wanted ->> pl.plan_id;
  RETURN caas.plan_list();
END;
$$;
COMMENT ON FUNCTION caas.stripe_prices_sync(jsonb) IS
  'Sets the Stripe price ids of the plans named, from the API''s stripe_prices setting at start-up: {"pro": "price_...", "team": "price_..."}; a JSON null or "" clears one; plans not named keep theirs. 22023 naming the plan for an unknown plan, the free plan, a value that is not a price id, or one price for two plans. Returns caas.plan_list(). For caas_authenticator only.';

-- ------------------------------------------------------ checkout, portal --

CREATE FUNCTION caas.billing_checkout(org uuid, plan text)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  p caas.plans;
  s caas.subscriptions;
BEGIN
  PERFORM caas._require(org, 'billing.manage');
  SELECT * INTO p FROM caas.plans WHERE plan_id = plan AND is_public;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'plan not found',
      HINT = 'GET /api/v1/plans/ lists the plans.';
  END IF;
  IF p.price_cents = 0 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'the free plan needs no checkout',
      HINT = 'To leave a paid plan, cancel it in the billing portal.';
  END IF;
  IF p.stripe_price_id IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '55000',
      MESSAGE = format('plan %s has no Stripe price configured (set stripe_prices in the API''s configuration)', p.plan_id);
  END IF;
  SELECT * INTO s FROM caas.subscriptions WHERE org_id = org;
  IF FOUND AND s.plan_id = p.plan_id AND s.status IN ('active', 'trialing') THEN
    RAISE EXCEPTION USING ERRCODE = '55000',
      MESSAGE = format('the organisation already has an active subscription to %s', p.plan_id),
      HINT = 'Change or cancel it in the billing portal.';
  END IF;
  RETURN jsonb_build_object(
    'org_id', org, 'plan', p.plan_id, 'price_id', p.stripe_price_id,
    'customer_id', s.stripe_customer_id,
    'customer_email', (SELECT u.email FROM caas.users u WHERE u.user_id = caas.current_user_id()));
END;
$$;
COMMENT ON FUNCTION caas.billing_checkout(uuid, text) IS
  'What the API needs to open a Stripe Checkout session for a plan: {org_id, plan, price_id, customer_id (null before the first subscription), customer_email (the caller''s)}. Owners only (billing.manage, 42501 otherwise); P0002 for an unknown or hidden plan; 22023 for the free plan; 55000 when the plan has no Stripe price configured or the organisation is already active or trialing on it.';

CREATE FUNCTION caas.billing_portal(org uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  cus text;
BEGIN
  PERFORM caas._require(org, 'billing.manage');
  SELECT s.stripe_customer_id INTO cus FROM caas.subscriptions s WHERE s.org_id = org;
  IF cus IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'the organisation has no Stripe customer yet: subscribe first';
  END IF;
  RETURN jsonb_build_object('org_id', org, 'customer_id', cus);
END;
$$;
COMMENT ON FUNCTION caas.billing_portal(uuid) IS
  'What the API needs to open a Stripe Customer Portal session: {org_id, customer_id}. Owners only (billing.manage, 42501 otherwise); 55000 when the organisation has no Stripe customer yet.';

-- ------------------------------------------------- applying the events --

-- API: Private
CREATE FUNCTION caas._stripe_apply_subscription(org uuid, s caas.subscriptions, obj jsonb, ev_at timestamptz,
                                                deleted boolean, OUT outcome text, OUT effect text)
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  had boolean := s.org_id IS NOT NULL;
  sub_id text := caas._stripe_id(obj -> 'id');
  cus_id text := coalesce(caas._stripe_id(obj -> 'customer'), s.stripe_customer_id);
  status_text text := obj ->> 'status';
  st caas.subscription_status;
  price text := obj #>> '{items,data,0,price,id}';
  plan text;
  ps timestamptz := coalesce(caas._stripe_time(obj -> 'current_period_start'),
                             caas._stripe_time(obj #> '{items,data,0,current_period_start}'));
  pe timestamptz := coalesce(caas._stripe_time(obj -> 'current_period_end'),
                             caas._stripe_time(obj #> '{items,data,0,current_period_end}'));
  cape boolean := coalesce(CASE WHEN jsonb_typeof(obj -> 'cancel_at_period_end') = 'boolean'
                                THEN (obj -> 'cancel_at_period_end')::boolean END, false);
  te timestamptz := caas._stripe_time(obj -> 'trial_end');
  since timestamptz;
  url text;
  note text := '';
BEGIN
  outcome := 'ignored';
  IF sub_id IS NULL OR sub_id !~ '^sub_[A-Za-z0-9]+$' THEN
    effect := 'the object is not a subscription (no sub_ id)';
    RETURN;
  END IF;
  IF cus_id IS NULL OR cus_id !~ '^cus_[A-Za-z0-9]+$' THEN
    effect := format('subscription %s names no customer (cus_ id)', sub_id);
    RETURN;
  END IF;
  IF deleted THEN
    status_text := 'canceled';
  END IF;
  IF status_text IS NULL OR NOT status_text = ANY (enum_range(NULL::caas.subscription_status)::text[]) THEN
    effect := format('subscription %s has an unknown status "%s"', sub_id, left(coalesce(status_text, 'null'), 32));
    RETURN;
  END IF;
  st := status_text::caas.subscription_status;
  SELECT p.plan_id INTO plan FROM caas.plans p WHERE p.stripe_price_id = price;
  IF plan IS NULL AND deleted AND had THEN
    plan := s.plan_id;
  ELSIF plan IS NULL THEN
    effect := format('subscription %s: price %s is the Stripe price of no plan (set stripe_prices in the API''s configuration)',
                     sub_id, coalesce(left(price, 64), '(none)'));
    RETURN;
  END IF;
  IF had AND s.stripe_subscription_id IS DISTINCT FROM sub_id AND s.stripe_subscription_id IS NOT NULL THEN
    IF caas._stripe_live(s.status) AND NOT caas._stripe_live(st) THEN
      effect := format('subscription %s (%s) is not the organisation''s current one: %s is %s',
                       sub_id, st, s.stripe_subscription_id, s.status);
      RETURN;
    END IF;
    note := format(', replacing %s', s.stripe_subscription_id);
  END IF;
  IF ps IS NULL OR pe IS NULL OR pe <= ps THEN
    -- The UTC calendar month, as caas._billing_period counts without a
    -- subscription (not the session's time zone).
    ps := CASE WHEN had THEN s.current_period_start
               ELSE date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' END;
    pe := CASE WHEN had THEN s.current_period_end ELSE ps + interval '1 month' END;
  END IF;
  -- Still past due on the same subscription: the grace period keeps running.
  since := CASE WHEN st = 'past_due'
                THEN CASE WHEN had AND s.status = 'past_due' AND s.stripe_subscription_id IS NOT DISTINCT FROM sub_id
                          THEN s.past_due_since ELSE ev_at END END;
  url := CASE WHEN st IN ('past_due', 'unpaid', 'incomplete') AND had THEN s.payment_action_url END;
  IF had THEN
    UPDATE caas.subscriptions x
       SET plan_id = plan, status = st, stripe_customer_id = cus_id, stripe_subscription_id = sub_id,
           current_period_start = ps, current_period_end = pe, cancel_at_period_end = cape,
           trial_end = te, past_due_since = since, payment_action_url = url, stripe_updated_at = ev_at
     WHERE x.org_id = org;
  ELSE
    INSERT INTO caas.subscriptions (org_id, plan_id, status, stripe_customer_id, stripe_subscription_id,
                                    current_period_start, current_period_end, cancel_at_period_end,
                                    trial_end, past_due_since, payment_action_url, stripe_updated_at)
    VALUES (org, plan, st, cus_id, sub_id, ps, pe, cape, te, since, url, ev_at);
  END IF;
  outcome := 'applied';
  effect := format('subscription %s%s: plan %s, status %s, period %s to %s', sub_id, note, plan, st,
                   caas._stripe_fmt(ps), caas._stripe_fmt(pe))
         || CASE WHEN cape AND st <> 'canceled' THEN ', cancels at the end of the period' ELSE '' END
         || CASE WHEN te IS NOT NULL AND st = 'trialing' THEN ', trial ends ' || caas._stripe_fmt(te) ELSE '' END
         || CASE WHEN st = 'past_due'
                 THEN format(', past due since %s (the plan''s limits apply until %s)', caas._stripe_fmt(since),
                             caas._stripe_fmt(since + make_interval(days => current_setting('caas.past_due_grace_days')::integer)))
                 ELSE '' END
         || CASE WHEN st NOT IN ('active', 'trialing', 'past_due')
                 THEN '; the free plan''s limits apply, the organisation''s data is kept' ELSE '' END;
END;
$$;
COMMENT ON FUNCTION caas._stripe_apply_subscription(uuid, caas.subscriptions, jsonb, timestamptz, boolean) IS
  'Private: applies a customer.subscription.created, .updated or (deleted = true) .deleted event''s full Subscription object to the organisation''s row (s, NULL fields when there is none yet); returns the outcome (applied or ignored) and its effect.';

-- API: Private
CREATE FUNCTION caas._stripe_apply_invoice(org uuid, s caas.subscriptions, obj jsonb, ev_at timestamptz, kind text,
                                           OUT outcome text, OUT effect text)
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  sub_id text := coalesce(caas._stripe_id(obj -> 'subscription'),
                          caas._stripe_id(obj #> '{parent,subscription_details,subscription}'));
  inv text := coalesce(left(caas._stripe_id(obj -> 'id'), 64), 'without id');
  st caas.subscription_status := s.status;
  since timestamptz := s.past_due_since;
  url text := s.payment_action_url;
  ps timestamptz := s.current_period_start;
  pe timestamptz := s.current_period_end;
  lps timestamptz := caas._stripe_time(obj #> '{lines,data,0,period,start}');
  lpe timestamptz := caas._stripe_time(obj #> '{lines,data,0,period,end}');
  attempts text := CASE WHEN jsonb_typeof(obj -> 'attempt_count') = 'number'
                        THEN format(' (attempt %s)', obj ->> 'attempt_count') ELSE '' END;
  grace_end timestamptz;
BEGIN
  outcome := 'ignored';
  IF s.org_id IS NULL THEN
    effect := format('invoice %s: the organisation has no subscription on record', inv);
    RETURN;
  END IF;
  IF sub_id IS NOT NULL AND s.stripe_subscription_id IS NOT NULL AND sub_id <> s.stripe_subscription_id THEN
    effect := format('invoice %s is for subscription %s, not the organisation''s current one (%s)',
                     inv, left(sub_id, 64), s.stripe_subscription_id);
    RETURN;
  END IF;
  CASE kind
    WHEN 'invoice.paid' THEN
      IF st IN ('past_due', 'unpaid') THEN
        st := 'active';
        since := NULL;
      END IF;
      url := NULL;
      IF lps IS NOT NULL AND lpe > lps
         AND coalesce(obj ->> 'billing_reason', 'subscription_cycle') IN ('subscription_create', 'subscription_cycle') THEN
        ps := lps;
        pe := lpe;
      END IF;
      effect := format('invoice %s paid: status %s', inv, CASE WHEN st = s.status THEN st || ' unchanged'
                                                             ELSE format('%s → %s', s.status, st) END)
             || format(', period %s to %s', caas._stripe_fmt(ps), caas._stripe_fmt(pe));
    WHEN 'invoice.payment_failed' THEN
      IF st IN ('active', 'trialing') THEN
        st := 'past_due';
        since := ev_at;
      END IF;
      IF st = 'past_due' THEN
        grace_end := since + make_interval(days => current_setting('caas.past_due_grace_days')::integer);
        effect := format('invoice %s payment failed%s: status %s, past due since %s; the %s plan''s limits apply until %s',
                         inv, attempts, CASE WHEN st = s.status THEN 'past_due unchanged'
                                             ELSE format('%s → past_due', s.status) END,
                         caas._stripe_fmt(since), s.plan_id, caas._stripe_fmt(grace_end));
      ELSE
        effect := format('invoice %s payment failed%s: status %s unchanged', inv, attempts, st);
      END IF;
    WHEN 'invoice.payment_action_required' THEN
      url := obj ->> 'hosted_invoice_url';
      IF jsonb_typeof(obj -> 'hosted_invoice_url') IS DISTINCT FROM 'string' OR url !~ '^https://' OR length(url) > 2048 THEN
        effect := format('invoice %s needs the customer''s action but has no https hosted_invoice_url', inv);
        RETURN;
      END IF;
      effect := format('invoice %s needs the customer''s action: payment_action_url set to its hosted page; status %s',
                       inv, st);
  END CASE;
  UPDATE caas.subscriptions x
     SET status = st, past_due_since = since, payment_action_url = url,
         current_period_start = ps, current_period_end = pe, stripe_updated_at = ev_at
   WHERE x.org_id = org;
  outcome := 'applied';
END;
$$;
COMMENT ON FUNCTION caas._stripe_apply_invoice(uuid, caas.subscriptions, jsonb, timestamptz, text) IS
  'Private: applies invoice.paid, invoice.payment_failed or invoice.payment_action_required (kind) to the organisation''s subscription row s; returns the outcome (applied or ignored) and its effect.';

-- API: Private
CREATE FUNCTION caas._stripe_apply_checkout(org uuid, s caas.subscriptions, obj jsonb,
                                            OUT outcome text, OUT effect text)
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  cus_id text := caas._stripe_id(obj -> 'customer');
  sub_id text := caas._stripe_id(obj -> 'subscription');
  plan text;
BEGIN
  outcome := 'ignored';
  IF obj ? 'mode' AND obj ->> 'mode' IS DISTINCT FROM 'subscription' THEN
    effect := format('checkout session in mode %s, not subscription', coalesce(left(obj ->> 'mode', 32), 'unknown'));
    RETURN;
  END IF;
  IF cus_id IS NULL OR cus_id !~ '^cus_[A-Za-z0-9]+$' OR sub_id IS NULL OR sub_id !~ '^sub_[A-Za-z0-9]+$' THEN
    effect := 'checkout session without a customer (cus_) and a subscription (sub_)';
    RETURN;
  END IF;
  IF s.org_id IS NULL THEN
    SELECT p.plan_id INTO plan FROM caas.plans p WHERE p.plan_id = obj #>> '{metadata,plan}' AND p.price_cents > 0;
    plan := coalesce(plan, 'free');
    INSERT INTO caas.subscriptions (org_id, plan_id, status, stripe_customer_id, stripe_subscription_id)
    VALUES (org, plan, 'incomplete', cus_id, sub_id);
    effect := format('checkout completed: customer %s and subscription %s linked; status incomplete on plan %s until the subscription''s own event (the free plan''s limits apply meanwhile)',
                     cus_id, sub_id, plan);
  ELSIF s.stripe_subscription_id IS NULL OR s.stripe_subscription_id = sub_id OR NOT caas._stripe_live(s.status) THEN
    UPDATE caas.subscriptions x SET stripe_customer_id = cus_id, stripe_subscription_id = sub_id WHERE x.org_id = org;
    effect := format('checkout completed: customer %s and subscription %s linked; plan %s and status %s unchanged until the subscription''s own event',
                     cus_id, sub_id, s.plan_id, s.status);
  ELSE
    effect := format('checkout completed for subscription %s while %s is %s: nothing linked; the subscription''s own events decide',
                     sub_id, s.stripe_subscription_id, s.status);
    RETURN;
  END IF;
  outcome := 'applied';
END;
$$;
COMMENT ON FUNCTION caas._stripe_apply_checkout(uuid, caas.subscriptions, jsonb) IS
  'Private: applies checkout.session.completed: links the customer and subscription ids to the organisation, creating its row with status incomplete (plan from metadata.plan, else free) when missing; never grants a plan and leaves stripe_updated_at alone. Returns the outcome and its effect.';

-- API: Private
CREATE FUNCTION caas._stripe_apply_trial_end(org uuid, s caas.subscriptions, obj jsonb, ev_at timestamptz,
                                             OUT outcome text, OUT effect text)
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  sub_id text := caas._stripe_id(obj -> 'id');
  te timestamptz := caas._stripe_time(obj -> 'trial_end');
BEGIN
  outcome := 'ignored';
  IF s.org_id IS NULL THEN
    effect := 'trial ending: the organisation has no subscription on record';
    RETURN;
  END IF;
  IF s.stripe_subscription_id IS NOT NULL AND sub_id IS DISTINCT FROM s.stripe_subscription_id THEN
    effect := format('trial ending of subscription %s, not the organisation''s current one (%s)',
                     coalesce(left(sub_id, 64), 'without id'), s.stripe_subscription_id);
    RETURN;
  END IF;
  IF te IS NULL THEN
    effect := 'trial ending, but the subscription has no trial_end';
    RETURN;
  END IF;
  UPDATE caas.subscriptions x SET trial_end = te, stripe_updated_at = ev_at WHERE x.org_id = org;
  outcome := 'applied';
  effect := format('trial of subscription %s ends %s', coalesce(sub_id, s.stripe_subscription_id), caas._stripe_fmt(te))
         || CASE WHEN te > now()
                 THEN format(' (in %s days)', round(extract(epoch FROM te - now()) / 86400)::integer) ELSE '' END;
END;
$$;
COMMENT ON FUNCTION caas._stripe_apply_trial_end(uuid, caas.subscriptions, jsonb, timestamptz) IS
  'Private: applies customer.subscription.trial_will_end: records the subscription''s trial_end; returns the outcome and its effect, which says when the trial ends.';

CREATE FUNCTION caas.stripe_event_apply(event jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
-- Stripe acts, not a user: the audit entries name the system as actor
-- whatever claims the transaction carries.
SET request.jwt.claims = ''
AS $$
DECLARE
  ev_id text;
  ev_type text;
  ev_at timestamptz;
  obj jsonb;
  live boolean;
  e caas.stripe_events;
  org uuid;
  why text;
  s caas.subscriptions;
  res_outcome text;
  res_effect text;
BEGIN
  -- The envelope: what the API answers 400 for when it is wrong.
  IF event IS NULL OR jsonb_typeof(event) <> 'object' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a Stripe event must be a JSON object';
  END IF;
  ev_id := CASE WHEN jsonb_typeof(event -> 'id') = 'string' THEN event ->> 'id' END;
  IF ev_id IS NULL OR ev_id !~ '^evt_[A-Za-z0-9]+$' OR length(ev_id) > 255 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'the Stripe event has no valid id (evt_...)';
  END IF;
  ev_type := CASE WHEN jsonb_typeof(event -> 'type') = 'string' THEN event ->> 'type' END;
  IF ev_type IS NULL OR ev_type !~ '^[a-z_]+(\.[a-z_]+)+$' OR length(ev_type) > 255 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'the Stripe event has no valid type';
  END IF;
  ev_at := caas._stripe_time(event -> 'created');
  IF ev_at IS NOT NULL AND (event ->> 'created')::numeric <> trunc((event ->> 'created')::numeric) THEN
    ev_at := NULL;
  END IF;
  IF ev_at IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'the Stripe event has no valid created time (epoch seconds)';
  END IF;
  IF jsonb_typeof(event #> '{data,object}') IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'the Stripe event has no data.object';
  END IF;
  IF jsonb_typeof(event -> 'livemode') NOT IN ('boolean', 'null') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'the Stripe event''s livemode is not a boolean';
  END IF;
  obj := event #> '{data,object}';
  live := coalesce(CASE WHEN jsonb_typeof(event -> 'livemode') = 'boolean' THEN (event -> 'livemode')::boolean END, false);

  -- Once per event id: see the file header for why concurrent deliveries
  -- of one event serialise here.  The outcome is provisional until the end
  -- of this transaction; nobody sees it before.
  INSERT INTO caas.stripe_events (event_id, event_type, livemode, stripe_created_at, outcome, effect, payload)
  VALUES (ev_id, ev_type, live, ev_at, 'ignored', 'being applied', event)
  ON CONFLICT (event_id) DO NOTHING;
  IF NOT FOUND THEN
    SELECT * INTO e FROM caas.stripe_events x WHERE x.event_id = ev_id;
    RETURN jsonb_build_object('event_id', e.event_id, 'type', e.event_type, 'outcome', e.outcome,
                              'duplicate', true, 'org_id', e.org_id, 'effect', e.effect);
  END IF;

  SELECT o.org, o.why INTO org, why FROM caas._stripe_event_org(obj) o;
  IF ev_type NOT IN ('checkout.session.completed', 'customer.subscription.created', 'customer.subscription.updated',
                     'customer.subscription.deleted', 'customer.subscription.trial_will_end',
                     'invoice.paid', 'invoice.payment_failed', 'invoice.payment_action_required') THEN
    res_outcome := 'unknown_type';
    res_effect := 'not handled';
  ELSIF org IS NULL THEN
    res_outcome := 'ignored';
    res_effect := why;
  ELSE
    -- Serialise the events of one organisation (see the file header).
    PERFORM 1 FROM caas.organizations o WHERE o.org_id = org FOR NO KEY UPDATE;
    SELECT * INTO s FROM caas.subscriptions x WHERE x.org_id = org FOR UPDATE;
    IF s.stripe_updated_at IS NOT NULL AND ev_at < s.stripe_updated_at THEN
      res_outcome := 'stale';
      res_effect := format('older than the state held (event of %s, state of %s): nothing changed',
                           caas._stripe_fmt(ev_at), caas._stripe_fmt(s.stripe_updated_at));
    ELSE
      CASE ev_type
        WHEN 'checkout.session.completed' THEN
          SELECT a.outcome, a.effect INTO res_outcome, res_effect FROM caas._stripe_apply_checkout(org, s, obj) a;
        WHEN 'customer.subscription.created', 'customer.subscription.updated' THEN
          SELECT a.outcome, a.effect INTO res_outcome, res_effect
            FROM caas._stripe_apply_subscription(org, s, obj, ev_at, false) a;
        WHEN 'customer.subscription.deleted' THEN
          IF s.org_id IS NULL THEN
            res_outcome := 'ignored';
            res_effect := 'subscription deleted: the organisation has no subscription on record';
          ELSE
            SELECT a.outcome, a.effect INTO res_outcome, res_effect
              FROM caas._stripe_apply_subscription(org, s, obj, ev_at, true) a;
          END IF;
        WHEN 'customer.subscription.trial_will_end' THEN
          SELECT a.outcome, a.effect INTO res_outcome, res_effect FROM caas._stripe_apply_trial_end(org, s, obj, ev_at) a;
        ELSE
          SELECT a.outcome, a.effect INTO res_outcome, res_effect
            FROM caas._stripe_apply_invoice(org, s, obj, ev_at, ev_type) a;
      END CASE;
    END IF;
  END IF;

  UPDATE caas.stripe_events x SET org_id = org, outcome = res_outcome, effect = left(res_effect, 2000)
   WHERE x.event_id = ev_id
  RETURNING * INTO e;
  RETURN jsonb_build_object('event_id', e.event_id, 'type', e.event_type, 'outcome', e.outcome,
                            'duplicate', false, 'org_id', e.org_id, 'effect', e.effect);
END;
$$;
COMMENT ON FUNCTION caas.stripe_event_apply(jsonb) IS
  'Applies one Stripe webhook event (the Event object, signature already verified) once: records it in caas.stripe_events and, in the same transaction, its effect on the organisation''s subscription (see 087_billing.sql for each type). Returns {event_id, type, outcome (applied, stale, ignored, unknown_type), duplicate, org_id, effect}; a delivery of an event already recorded changes nothing and returns the stored outcome with duplicate true. 22023 when id, type, created or data.object is missing or malformed. For caas_billing only.';

-- ----------------------------------------------------------------- grants --

REVOKE EXECUTE ON FUNCTION
  caas._stripe_id(jsonb), caas._stripe_time(jsonb), caas._stripe_fmt(timestamptz),
  caas._stripe_live(caas.subscription_status), caas._stripe_event_org(jsonb),
  caas.stripe_prices_sync(jsonb), caas.billing_checkout(uuid, text), caas.billing_portal(uuid),
  caas._stripe_apply_subscription(uuid, caas.subscriptions, jsonb, timestamptz, boolean),
  caas._stripe_apply_invoice(uuid, caas.subscriptions, jsonb, timestamptz, text),
  caas._stripe_apply_checkout(uuid, caas.subscriptions, jsonb),
  caas._stripe_apply_trial_end(uuid, caas.subscriptions, jsonb, timestamptz),
  caas.stripe_event_apply(jsonb)
  FROM PUBLIC;

GRANT EXECUTE ON FUNCTION caas.stripe_prices_sync(jsonb) TO caas_authenticator;
GRANT EXECUTE ON FUNCTION caas.billing_checkout(uuid, text), caas.billing_portal(uuid) TO caas_user;
GRANT EXECUTE ON FUNCTION caas.stripe_event_apply(jsonb) TO caas_billing;
