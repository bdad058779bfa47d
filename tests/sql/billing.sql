--
-- tests/sql/billing.sql — billing with Stripe (extension/sql/0.2/087_billing.sql),
-- every function called as the role that calls it in production:
-- caas.stripe_prices_sync as caas_authenticator, caas.billing_checkout and
-- caas.billing_portal as caas_user with the caller's claims,
-- caas.stripe_event_apply as caas_billing (pg_temp.stripe switches to it).
--
-- Covers: who may execute what; the price sync (every refusal, clearing,
-- moving a price between plans); the checkout and portal checks (owner
-- only, unknown, hidden and free plans, no price, already subscribed, no
-- customer); a malformed event envelope (22023, nothing recorded); one
-- organisation's life through the webhook: checkout (links, grants
-- nothing) → subscription.created delivered late (pro) → replay
-- (duplicate, applied once) → updated (team) → an older event (stale) → an
-- event of the same second (applied) → payment failed (past due, team kept
-- within the grace period) → again (past_due_since kept) → payment action
-- required (URL shown by subscription_get) → grace over (free) → invoice
-- paid (active, team) → trial ending → an unknown type (not handled) →
-- deleted (free, data kept); caas.org_plan and caas.usage_get follow each
-- step.  Then: how the organisation is found (and each reason an event is
-- ignored), past_due_since from the event time (beyond the grace at once),
-- a replaced subscription whose late events are ignored, and a checkout
-- for an organisation that already has a row.
--
-- Concurrent deliveries of one event need two sessions: tests/e2e/billing.t
-- sends them in parallel.
--
-- Fixed ids (all 00000000-0000-4000-8000-0000000000XX):
--   a1 owner of b1;  a2 admin of b5;  a3 member of b5;  a4 owner of b2, b3, b5;
--   a5 outsider;  b1 the journey, b2 grace and replaced subscriptions,
--   b3 no subscription, b5 a team organisation without Stripe ids
--

BEGIN;
SELECT plan(118);

-- ---------------------------------------------------------------- setup --

INSERT INTO caas.users (user_id, email, password_hash) VALUES
  ('00000000-0000-4000-8000-0000000000a1', 'owner1@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a2', 'admin5@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a3', 'member5@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a4', 'owner2@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a5', 'outsider@example.com', '$argon2id$x');
INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000000b1', 'Journey', 'billing-journey'),
  ('00000000-0000-4000-8000-0000000000b2', 'Grace', 'billing-grace'),
  ('00000000-0000-4000-8000-0000000000b3', 'Nothing', 'billing-nothing'),
  ('00000000-0000-4000-8000-0000000000b5', 'Team', 'billing-team');
INSERT INTO caas.subscriptions (org_id, plan_id, status) VALUES
  ('00000000-0000-4000-8000-0000000000b5', 'team', 'active');
INSERT INTO caas.organization_members (org_id, user_id, role) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a1', 'owner'),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000a4', 'owner'),
  ('00000000-0000-4000-8000-0000000000b3', '00000000-0000-4000-8000-0000000000a4', 'owner'),
  ('00000000-0000-4000-8000-0000000000b5', '00000000-0000-4000-8000-0000000000a4', 'owner'),
  ('00000000-0000-4000-8000-0000000000b5', '00000000-0000-4000-8000-0000000000a2', 'admin'),
  ('00000000-0000-4000-8000-0000000000b5', '00000000-0000-4000-8000-0000000000a3', 'member');
INSERT INTO caas.plans (plan_id, name, price_cents, is_public, sort_order) VALUES ('legacy', 'Legacy', 1900, false, 9);

-- Epoch seconds of now() - i (the transaction's instant: fixed all through).
CREATE FUNCTION pg_temp.ago(i interval) RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT extract(epoch FROM now() - i)::bigint
$$;

-- A Stripe Event object around a data.object.
CREATE FUNCTION pg_temp.event(id text, type text, created bigint, obj jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('id', id, 'object', 'event', 'api_version', '2025-03-31.basil', 'type', type,
                            'created', created, 'livemode', false, 'pending_webhooks', 1,
                            'data', jsonb_build_object('object', obj))
$$;

-- A Subscription object as of API 2025-03-31 (period on the item); extra
-- overrides or adds fields.
CREATE FUNCTION pg_temp.sub(id text, cus text, status text, price text, org uuid, extra jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
           'id', id, 'object', 'subscription', 'customer', cus, 'status', status,
           'cancel_at_period_end', false, 'trial_end', NULL,
           'metadata', CASE WHEN org IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('org_id', org) END,
           'items', jsonb_build_object('object', 'list', 'data', jsonb_build_array(jsonb_build_object(
             'id', 'si_1', 'object', 'subscription_item', 'price', jsonb_build_object('id', price, 'object', 'price'),
             'current_period_start', pg_temp.ago('2 days'), 'current_period_end', pg_temp.ago('-28 days')))))
         || extra
$$;

-- Applies an event as caas_billing, the role of the API's webhook.
CREATE FUNCTION pg_temp.stripe(ev jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r jsonb;
BEGIN
  PERFORM set_config('role', 'caas_billing', true);
  r := caas.stripe_event_apply(ev);
  PERFORM set_config('role', 'none', true);
  RETURN r;
END;
$$;

-- usage_get as a user (caas_user with their claims), as the API calls it.
CREATE FUNCTION pg_temp.usage_as(who uuid, org uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r jsonb;
BEGIN
  PERFORM set_config('role', 'caas_user', true);
  PERFORM set_config('request.jwt.claims', json_build_object('sub', who)::text, true);
  r := caas.usage_get(org);
  PERFORM set_config('role', 'none', true);
  PERFORM set_config('request.jwt.claims', '', true);
  RETURN r;
END;
$$;

CREATE FUNCTION pg_temp.act_as(who uuid) RETURNS void LANGUAGE sql AS $$
  SELECT set_config('request.jwt.claims', CASE WHEN who IS NULL THEN '' ELSE json_build_object('sub', who)::text END, true);
$$;
GRANT EXECUTE ON FUNCTION pg_temp.act_as(uuid), pg_temp.ago(interval) TO caas_user, caas_billing, caas_authenticator;
GRANT EXECUTE ON FUNCTION pg_temp.event(text, text, bigint, jsonb), pg_temp.sub(text, text, text, text, uuid, jsonb)
  TO caas_billing;

CREATE VIEW pg_temp.b1 AS SELECT * FROM caas.subscriptions WHERE org_id = '00000000-0000-4000-8000-0000000000b1';
CREATE VIEW pg_temp.b2 AS SELECT * FROM caas.subscriptions WHERE org_id = '00000000-0000-4000-8000-0000000000b2';

-- ------------------------------------------------------------ privileges --

SELECT ok((SELECT prosecdef FROM pg_catalog.pg_proc WHERE oid = 'caas.stripe_event_apply(jsonb)'::regprocedure),
  'stripe_event_apply is SECURITY DEFINER');
SELECT is_empty($$
  SELECT f || ' ' || r
    FROM unnest(ARRAY['caas.stripe_event_apply(jsonb)', 'caas.stripe_prices_sync(jsonb)',
                      'caas.billing_checkout(uuid, text)', 'caas.billing_portal(uuid)']) f
   CROSS JOIN unnest(ARRAY['caas_anon', 'caas_user', 'caas_analyst', 'caas_dispatcher', 'caas_billing', 'caas_authenticator']) r
   WHERE has_function_privilege(r, f::regprocedure, 'EXECUTE')
         <> (f, r) IN (('caas.stripe_event_apply(jsonb)', 'caas_billing'),
                       ('caas.stripe_prices_sync(jsonb)', 'caas_authenticator'),
                       ('caas.billing_checkout(uuid, text)', 'caas_user'),
                       ('caas.billing_portal(uuid)', 'caas_user'))
$$, 'stripe_event_apply is for caas_billing, stripe_prices_sync for caas_authenticator, checkout and portal for caas_user: nobody else');
SELECT is_empty($$
  SELECT p.oid::regprocedure::text
    FROM pg_catalog.pg_proc p, aclexplode(p.proacl) a
   WHERE p.pronamespace = 'caas'::regnamespace AND (p.proname LIKE '%stripe%' OR p.proname LIKE 'billing%')
     AND a.grantee = 0
$$, 'no billing function is executable by PUBLIC');
SELECT ok((SELECT NOT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = 'caas_billing')
          AND pg_has_role('caas_authenticator', 'caas_billing', 'MEMBER')
          AND NOT pg_has_role('caas_authenticator', 'caas_billing', 'USAGE'),
  'caas_billing cannot log in; caas_authenticator may switch to it without inheriting its rights');
SELECT is_empty($$
  SELECT c.relname FROM pg_catalog.pg_class c
   WHERE c.relnamespace = 'caas'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
     AND has_table_privilege('caas_billing', c.oid, 'SELECT, INSERT, UPDATE, DELETE')
$$, 'caas_billing has no privilege on any table or view of caas');
SET LOCAL ROLE caas_billing;
SELECT throws_ok($$ SELECT 1 FROM caas.subscriptions $$, '42501', NULL,
  'caas_billing reads no table: it can only apply events');
RESET ROLE;

-- ------------------------------------------------------------ price sync --

SET LOCAL ROLE caas_authenticator;
SELECT throws_ok($$ SELECT caas.stripe_prices_sync('["price_A"]') $$, '22023',
  'stripe_prices must be a JSON object of plan ids to Stripe price ids', 'the prices are a JSON object');
SELECT throws_ok($$ SELECT caas.stripe_prices_sync('{"pro": "price_Pro1", "gold": "price_Gold"}') $$, '22023',
  'unknown plan "gold" in stripe_prices', 'an unknown plan is refused by name');
SELECT throws_ok($$ SELECT caas.stripe_prices_sync('{"free": "price_Free"}') $$, '22023',
  'plan free is free: it has no Stripe price', 'the free plan gets no price');
SELECT throws_ok($$ SELECT caas.stripe_prices_sync('{"pro": "prod_Pro1"}') $$, '22023',
  'the Stripe price of plan pro is not a price id', 'a value that is not a price id is refused, naming the plan');
SELECT throws_ok($$ SELECT caas.stripe_prices_sync('{"team": 42}') $$, '22023',
  'the Stripe price of plan team is not a price id', 'a number is not a price id');
SELECT throws_ok($$ SELECT caas.stripe_prices_sync('{"pro": "price_Same", "team": "price_Same"}') $$, '22023',
  'plans pro and team would have the same Stripe price', 'one price for two plans is refused, naming both');
SELECT throws_ok($$ SELECT caas.stripe_prices_sync('{"pro": "price_A"}'); SELECT caas.stripe_prices_sync('{"team": "price_A"}') $$,
  '22023', 'plans pro and team would have the same Stripe price', 'a price another plan keeps is refused too');
SELECT is((SELECT jsonb_object_agg(e ->> 'plan_id', e -> 'stripe_price_id')
             FROM jsonb_array_elements(caas.stripe_prices_sync('{"pro": "price_Team1", "team": "price_Pro1"}')) e),
  '{"free": null, "pro": "price_Team1", "team": "price_Pro1"}'::jsonb,
  'the sync returns the plan list with the price ids it set');
SELECT is((SELECT jsonb_object_agg(e ->> 'plan_id', e -> 'stripe_price_id')
             FROM jsonb_array_elements(caas.stripe_prices_sync('{"pro": "price_Pro1", "team": "price_Team1"}')) e),
  '{"free": null, "pro": "price_Pro1", "team": "price_Team1"}'::jsonb,
  'prices may move between plans in one sync (the unique key holds throughout)');
SELECT is((SELECT e -> 'max_workspaces' FROM jsonb_array_elements(caas.stripe_prices_sync('{}')) e
            WHERE e ->> 'plan_id' = 'team'), '20'::jsonb,
  'an empty sync changes nothing; the list still shows the limits');
RESET ROLE;
SELECT is((SELECT stripe_price_id FROM caas.plans WHERE plan_id = 'legacy'), NULL, 'plans not named keep their price');
SET LOCAL ROLE caas_user;
SELECT pg_temp.act_as('00000000-0000-4000-8000-0000000000a4');
SELECT throws_ok($$ SELECT caas.stripe_prices_sync('{}') $$, '42501', NULL, 'end users cannot set prices');
RESET ROLE;

-- ------------------------------------------------------ checkout, portal --

SET LOCAL ROLE caas_user;
SELECT pg_temp.act_as('00000000-0000-4000-8000-0000000000a2');
SELECT throws_ok($$ SELECT caas.billing_checkout('00000000-0000-4000-8000-0000000000b5', 'pro') $$, '42501',
  'permission denied: billing.manage', 'an admin may not start a checkout');
SELECT throws_ok($$ SELECT caas.billing_portal('00000000-0000-4000-8000-0000000000b5') $$, '42501',
  'permission denied: billing.manage', 'an admin may not open the billing portal');
SELECT pg_temp.act_as('00000000-0000-4000-8000-0000000000a3');
SELECT throws_ok($$ SELECT caas.billing_checkout('00000000-0000-4000-8000-0000000000b5', 'pro') $$, '42501',
  'permission denied: billing.manage', 'a member may not start a checkout');
SELECT pg_temp.act_as('00000000-0000-4000-8000-0000000000a5');
SELECT throws_ok($$ SELECT caas.billing_checkout('00000000-0000-4000-8000-0000000000b5', 'pro') $$, 'P0002',
  'organization not found', 'an outsider does not see the organisation');
SELECT pg_temp.act_as('00000000-0000-4000-8000-0000000000a4');
SELECT throws_ok($$ SELECT caas.billing_checkout('00000000-0000-4000-8000-0000000000b5', 'gold') $$, 'P0002',
  'plan not found', 'an unknown plan is not found');
SELECT throws_ok($$ SELECT caas.billing_checkout('00000000-0000-4000-8000-0000000000b5', 'legacy') $$, 'P0002',
  'plan not found', 'a hidden plan is not found');
SELECT throws_ok($$ SELECT caas.billing_checkout('00000000-0000-4000-8000-0000000000b5', 'free') $$, '22023',
  'the free plan needs no checkout', 'the free plan needs no checkout');
SELECT throws_ok($$ SELECT caas.billing_checkout('00000000-0000-4000-8000-0000000000b5', 'team') $$, '55000',
  'the organisation already has an active subscription to team', 'no second checkout for the plan in force');
SELECT is(caas.billing_checkout('00000000-0000-4000-8000-0000000000b5', 'pro'),
  '{"org_id": "00000000-0000-4000-8000-0000000000b5", "plan": "pro", "price_id": "price_Pro1",
    "customer_id": null, "customer_email": "owner2@example.com"}'::jsonb,
  'the owner gets the price, no customer yet, and their e-mail');
SELECT throws_ok($$ SELECT caas.billing_portal('00000000-0000-4000-8000-0000000000b5') $$, '55000',
  'the organisation has no Stripe customer yet: subscribe first', 'no portal without a Stripe customer');
RESET ROLE;
UPDATE caas.plans SET stripe_price_id = NULL WHERE plan_id = 'pro';
SET LOCAL ROLE caas_user;
SELECT throws_ok($$ SELECT caas.billing_checkout('00000000-0000-4000-8000-0000000000b5', 'pro') $$, '55000',
  'plan pro has no Stripe price configured (set stripe_prices in the API''s configuration)',
  'a plan without a Stripe price cannot be bought (55000 names the setting)');
RESET ROLE;
UPDATE caas.plans SET stripe_price_id = 'price_Pro1' WHERE plan_id = 'pro';
SELECT is((SELECT http_status FROM caas.error_codes WHERE sqlstate = '55000'), 409, '55000 answers 409');

-- --------------------------------------------------------- the envelope --

SELECT throws_ok($$ SELECT pg_temp.stripe('[]') $$, '22023', 'a Stripe event must be a JSON object',
  'an event is an object');
SELECT throws_ok($$ SELECT pg_temp.stripe(pg_temp.event('evt_X', 'invoice.paid', 1700000000, '{}') - 'id') $$, '22023',
  'the Stripe event has no valid id (evt_...)', 'an event without id is refused');
SELECT throws_ok($$ SELECT pg_temp.stripe(pg_temp.event('ev''1', 'invoice.paid', 1700000000, '{}')) $$, '22023',
  'the Stripe event has no valid id (evt_...)', 'an id that is not evt_... is refused');
SELECT throws_ok($$ SELECT pg_temp.stripe(pg_temp.event('evt_X', 'Invoice Paid', 1700000000, '{}')) $$, '22023',
  'the Stripe event has no valid type', 'a malformed type is refused');
SELECT throws_ok($$ SELECT pg_temp.stripe(pg_temp.event('evt_X', 'invoice.paid', 1700000000, '{}') - 'type') $$, '22023',
  'the Stripe event has no valid type', 'an event without type is refused');
SELECT throws_ok($$ SELECT pg_temp.stripe(jsonb_set(pg_temp.event('evt_X', 'invoice.paid', 0, '{}'), '{created}', '"soon"')) $$,
  '22023', 'the Stripe event has no valid created time (epoch seconds)', 'created as a string is refused');
SELECT throws_ok($$ SELECT pg_temp.stripe(jsonb_set(pg_temp.event('evt_X', 'invoice.paid', 0, '{}'), '{created}', '1700000000.5')) $$,
  '22023', 'the Stripe event has no valid created time (epoch seconds)', 'a fractional created is refused');
SELECT throws_ok($$ SELECT pg_temp.stripe(jsonb_set(pg_temp.event('evt_X', 'invoice.paid', 1700000000, '{}'), '{data}', '{}')) $$,
  '22023', 'the Stripe event has no data.object', 'an event without data.object is refused');
SELECT throws_ok($$ SELECT pg_temp.stripe(jsonb_set(pg_temp.event('evt_X', 'invoice.paid', 1700000000, '{}'), '{livemode}', '"yes"')) $$,
  '22023', 'the Stripe event''s livemode is not a boolean', 'a livemode that is not a boolean is refused');
SELECT is((SELECT count(*) FROM caas.stripe_events), 0::bigint, 'a refused event is not recorded');

-- ------------------------------------------------------------ the journey --

SELECT is(pg_temp.usage_as('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b1') -> 'workspaces' ->> 'limit', '1',
  'before any event the organisation is on the free plan');

-- Checkout completes; Stripe delivers it before the subscription.created it
-- stamped a little earlier.
CREATE TEMP TABLE r AS SELECT 'checkout'::text AS step, pg_temp.stripe(pg_temp.event('evt_B1checkout', 'checkout.session.completed',
  pg_temp.ago('10 days') + 10,
  jsonb_build_object('id', 'cs_test_B1', 'object', 'checkout.session', 'mode', 'subscription', 'status', 'complete',
                     'payment_status', 'paid', 'client_reference_id', '00000000-0000-4000-8000-0000000000b1',
                     'customer', 'cus_B1', 'subscription', 'sub_B1',
                     'metadata', jsonb_build_object('org_id', '00000000-0000-4000-8000-0000000000b1', 'plan', 'pro')))) AS a;
SELECT is((SELECT a - 'effect' FROM r WHERE step = 'checkout'),
  '{"event_id": "evt_B1checkout", "type": "checkout.session.completed", "outcome": "applied", "duplicate": false,
    "org_id": "00000000-0000-4000-8000-0000000000b1"}'::jsonb,
  'checkout.session.completed is applied to the organisation of its metadata');
SELECT is((SELECT (plan_id, status, stripe_customer_id, stripe_subscription_id, stripe_updated_at)::text FROM pg_temp.b1),
  '(pro,incomplete,cus_B1,sub_B1,)',
  'checkout links the customer and subscription, status incomplete on the plan asked for, no Stripe time taken');
SELECT is((caas.org_plan('00000000-0000-4000-8000-0000000000b1')).plan_id, 'free',
  'checkout alone grants nothing: the free plan''s limits apply until the subscription''s event');

INSERT INTO r SELECT 'created', pg_temp.stripe(pg_temp.event('evt_B1created', 'customer.subscription.created',
  pg_temp.ago('10 days'),
  pg_temp.sub('sub_B1', 'cus_B1', 'active', 'price_Pro1', '00000000-0000-4000-8000-0000000000b1',
              jsonb_build_object('current_period_start', pg_temp.ago('10 days'), 'current_period_end', pg_temp.ago('-20 days')))));
SELECT is((SELECT a ->> 'outcome' FROM r WHERE step = 'created'), 'applied',
  'subscription.created stamped before the checkout is still applied after it');
SELECT is((SELECT (plan_id, status, current_period_start, current_period_end, stripe_updated_at) FROM pg_temp.b1),
  ('pro'::text, 'active'::caas.subscription_status, to_timestamp(pg_temp.ago('10 days')),
   to_timestamp(pg_temp.ago('-20 days')), to_timestamp(pg_temp.ago('10 days'))),
  'the subscription''s full state is held: plan from the price, status, period (top-level fields of older API versions), Stripe time');
SELECT is(pg_temp.usage_as('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b1') ->> 'plan', 'pro',
  'free → pro: usage_get shows the pro plan');
SELECT is(pg_temp.usage_as('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b1') -> 'workspaces' ->> 'limit', '3',
  'free → pro: usage_get shows the pro plan''s limits');
SELECT matches((SELECT a ->> 'effect' FROM r WHERE step = 'created'), '^subscription sub_B1: plan pro, status active, period ',
  'the effect says the plan, status and period');

SELECT is((SELECT count(*) FROM caas.audit_log WHERE org_id = '00000000-0000-4000-8000-0000000000b1' AND action LIKE 'billing.%'),
  2::bigint, 'the audit log has the row''s creation and the status change');
INSERT INTO r SELECT 'replay', pg_temp.stripe(pg_temp.event('evt_B1created', 'customer.subscription.created',
  pg_temp.ago('10 days'),
  pg_temp.sub('sub_B1', 'cus_B1', 'canceled', 'price_Team1', '00000000-0000-4000-8000-0000000000b1')));
SELECT is((SELECT a FROM r WHERE step = 'replay'), (SELECT a || '{"duplicate": true}' FROM r WHERE step = 'created'),
  'a replayed event answers the stored outcome and effect with duplicate true');
SELECT is((SELECT (plan_id, status)::text FROM pg_temp.b1), '(pro,active)', 'a replay changes nothing');
SELECT is((SELECT count(*) FROM caas.stripe_events WHERE event_id = 'evt_B1created'), 1::bigint, 'a replay is recorded once');
SELECT is((SELECT count(*) FROM caas.audit_log WHERE org_id = '00000000-0000-4000-8000-0000000000b1' AND action LIKE 'billing.%'),
  2::bigint, 'a replay writes no audit entry');

INSERT INTO r SELECT 'team', pg_temp.stripe(pg_temp.event('evt_B1team', 'customer.subscription.updated',
  pg_temp.ago('9 days'),
  pg_temp.sub('sub_B1', 'cus_B1', 'active', 'price_Team1', '00000000-0000-4000-8000-0000000000b1')));
SELECT is((SELECT (plan_id, status, current_period_start, current_period_end) FROM pg_temp.b1),
  ('team'::text, 'active'::caas.subscription_status, to_timestamp(pg_temp.ago('2 days')), to_timestamp(pg_temp.ago('-28 days'))),
  'pro → team by subscription.updated; the period from the item (API 2025-03-31)');
SELECT is(pg_temp.usage_as('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b1') -> 'workspaces' ->> 'limit', '20',
  'pro → team: usage_get shows the team plan''s limits');
SELECT is((SELECT action FROM caas.audit_log WHERE org_id = '00000000-0000-4000-8000-0000000000b1' ORDER BY audit_id DESC LIMIT 1),
  'billing.plan_changed', 'the plan change is in the audit log');
INSERT INTO caas.workspaces (org_id, name, slug)
SELECT '00000000-0000-4000-8000-0000000000b1', 'Space ' || i, 'space-' || i FROM generate_series(1, 3) i;
INSERT INTO caas.content (org_id, workspace_id, title, body)
SELECT w.org_id, w.workspace_id, 'Post in ' || w.name, 'Hello' FROM caas.workspaces w
 WHERE w.org_id = '00000000-0000-4000-8000-0000000000b1';

INSERT INTO r SELECT 'stale', pg_temp.stripe(pg_temp.event('evt_B1stale', 'customer.subscription.updated',
  pg_temp.ago('9 days 12 hours'),
  pg_temp.sub('sub_B1', 'cus_B1', 'active', 'price_Pro1', '00000000-0000-4000-8000-0000000000b1')));
SELECT is((SELECT a ->> 'outcome' FROM r WHERE step = 'stale'), 'stale', 'an event older than the state held is stale');
SELECT matches((SELECT a ->> 'effect' FROM r WHERE step = 'stale'), '^older than the state held \(event of .*\): nothing changed$',
  'the effect of a stale event says so');
SELECT is((SELECT (plan_id, stripe_updated_at) FROM pg_temp.b1), ('team'::text, to_timestamp(pg_temp.ago('9 days'))),
  'a stale event changes nothing: the newer state stays');
SELECT is((SELECT (outcome, org_id) FROM caas.stripe_events WHERE event_id = 'evt_B1stale'),
  ('stale'::text, '00000000-0000-4000-8000-0000000000b1'::uuid), 'a stale event is recorded as stale');
SELECT is(pg_temp.stripe(pg_temp.event('evt_B1stale', 'customer.subscription.updated', 1, '{}')) ->> 'outcome', 'stale',
  'a replayed stale event stays stale');

INSERT INTO r SELECT 'tie', pg_temp.stripe(pg_temp.event('evt_B1tie', 'customer.subscription.updated',
  pg_temp.ago('9 days'),
  pg_temp.sub('sub_B1', 'cus_B1', 'active', 'price_Team1', '00000000-0000-4000-8000-0000000000b1',
              '{"cancel_at_period_end": true}')));
SELECT is((SELECT (a ->> 'outcome', cancel_at_period_end) FROM r, pg_temp.b1 WHERE step = 'tie'), ('applied'::text, true),
  'an event of the same second as the state held is applied (Stripe gives no order within a second)');

INSERT INTO r SELECT 'failed', pg_temp.stripe(pg_temp.event('evt_B1failed', 'invoice.payment_failed',
  pg_temp.ago('1 day'),
  '{"id": "in_B1a", "object": "invoice", "customer": "cus_B1", "subscription": "sub_B1", "attempt_count": 1, "status": "open"}'));
SELECT is((SELECT (status, past_due_since) FROM pg_temp.b1), ('past_due'::caas.subscription_status, to_timestamp(pg_temp.ago('1 day'))),
  'invoice.payment_failed: active → past_due since the event''s time');
SELECT matches((SELECT a ->> 'effect' FROM r WHERE step = 'failed'),
  '^invoice in_B1a payment failed \(attempt 1\): status active → past_due, past due since .*; the team plan''s limits apply until ',
  'the effect says since when and until when the plan is kept');
SELECT is((caas.org_plan('00000000-0000-4000-8000-0000000000b1')).plan_id, 'team', 'past due within the grace period keeps the plan');
SELECT is(pg_temp.usage_as('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b1') -> 'workspaces' ->> 'limit', '20',
  'past due within the grace period: usage_get keeps the team plan''s limits');
SELECT pg_temp.stripe(pg_temp.event('evt_B1failed2', 'invoice.payment_failed', pg_temp.ago('1 day') + 3600,
  '{"id": "in_B1a", "object": "invoice", "customer": "cus_B1", "subscription": "sub_B1", "attempt_count": 2}'));
SELECT is((SELECT (status, past_due_since) FROM pg_temp.b1), ('past_due'::caas.subscription_status, to_timestamp(pg_temp.ago('1 day'))),
  'another failed payment keeps past_due_since');

INSERT INTO r SELECT 'action', pg_temp.stripe(pg_temp.event('evt_B1action', 'invoice.payment_action_required',
  pg_temp.ago('23 hours'),
  '{"id": "in_B1a", "object": "invoice", "customer": "cus_B1", "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/test_B1",
    "parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_B1", "metadata": {}}}}'));
SELECT is((SELECT (a ->> 'org_id', payment_action_url, status) FROM r, pg_temp.b1 WHERE step = 'action'),
  ('00000000-0000-4000-8000-0000000000b1'::text, 'https://invoice.stripe.com/i/acct_1/test_B1'::text, 'past_due'::caas.subscription_status),
  'invoice.payment_action_required (found by parent.subscription_details) records the hosted invoice URL');
SET LOCAL ROLE caas_user;
SELECT pg_temp.act_as('00000000-0000-4000-8000-0000000000a1');
SELECT is(caas.subscription_get('00000000-0000-4000-8000-0000000000b1') ->> 'payment_action_url',
  'https://invoice.stripe.com/i/acct_1/test_B1', 'subscription_get shows the payment action URL');
SELECT ok(NOT caas.subscription_get('00000000-0000-4000-8000-0000000000b1') ?| ARRAY['stripe_customer_id', 'stripe_subscription_id'],
  'subscription_get never shows the Stripe ids');
SELECT is(caas.subscription_get('00000000-0000-4000-8000-0000000000b1') ->> 'status', 'past_due', 'subscription_get shows past_due');
RESET ROLE;

-- Time passes: the grace period is over.
UPDATE caas.subscriptions SET past_due_since = now() - interval '8 days'
 WHERE org_id = '00000000-0000-4000-8000-0000000000b1';
SELECT is((caas.org_plan('00000000-0000-4000-8000-0000000000b1')).plan_id, 'free',
  'past due for longer than caas.past_due_grace_days falls back to free');
SELECT is(pg_temp.usage_as('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b1') -> 'workspaces',
  '{"used": 3, "limit": 1}'::jsonb, 'grace over: the free plan''s limits, the workspaces kept');

INSERT INTO r SELECT 'paid', pg_temp.stripe(pg_temp.event('evt_B1paid', 'invoice.paid', pg_temp.ago('1 hour'),
  jsonb_build_object('id', 'in_B1b', 'object', 'invoice', 'customer', 'cus_B1', 'subscription', 'sub_B1',
                     'billing_reason', 'subscription_cycle', 'status', 'paid',
                     'lines', jsonb_build_object('data', jsonb_build_array(jsonb_build_object(
                       'period', jsonb_build_object('start', pg_temp.ago('1 hour'), 'end', pg_temp.ago('-30 days'))))))));
SELECT is((SELECT (status, past_due_since, payment_action_url, current_period_start, current_period_end) FROM pg_temp.b1),
  ('active'::caas.subscription_status, NULL::timestamptz, NULL::text, to_timestamp(pg_temp.ago('1 hour')), to_timestamp(pg_temp.ago('-30 days'))),
  'invoice.paid: past_due → active, past_due_since and the payment URL cleared, the period from the invoice line');
SELECT is((caas.org_plan('00000000-0000-4000-8000-0000000000b1')).plan_id, 'team', 'paid: the team plan applies again');
SELECT is((SELECT a ->> 'effect' FROM r WHERE step = 'paid'),
  'invoice in_B1b paid: status past_due → active, period ' || caas._stripe_fmt(to_timestamp(pg_temp.ago('1 hour')))
    || ' to ' || caas._stripe_fmt(to_timestamp(pg_temp.ago('-30 days'))),
  'the effect of invoice.paid says the status change and the period');
SELECT pg_temp.stripe(pg_temp.event('evt_B1proration', 'invoice.paid', pg_temp.ago('50 minutes'),
  jsonb_build_object('id', 'in_B1c', 'object', 'invoice', 'customer', 'cus_B1', 'subscription', 'sub_B1',
                     'billing_reason', 'subscription_update',
                     'lines', jsonb_build_object('data', jsonb_build_array(jsonb_build_object(
                       'period', jsonb_build_object('start', pg_temp.ago('50 minutes'), 'end', pg_temp.ago('-30 days'))))))));
SELECT is((SELECT current_period_start FROM pg_temp.b1), to_timestamp(pg_temp.ago('1 hour')),
  'a proration invoice does not move the billing period');

INSERT INTO r SELECT 'trial', pg_temp.stripe(pg_temp.event('evt_B1trial', 'customer.subscription.trial_will_end',
  pg_temp.ago('40 minutes'),
  pg_temp.sub('sub_B1', 'cus_B1', 'active', 'price_Team1', '00000000-0000-4000-8000-0000000000b1',
              jsonb_build_object('trial_end', pg_temp.ago('-3 days')))));
SELECT is((SELECT trial_end FROM pg_temp.b1), to_timestamp(pg_temp.ago('-3 days')), 'trial_will_end records the trial''s end');
SELECT is((SELECT a ->> 'effect' FROM r WHERE step = 'trial'),
  'trial of subscription sub_B1 ends ' || caas._stripe_fmt(to_timestamp(pg_temp.ago('-3 days'))) || ' (in 3 days)',
  'the effect says when the trial ends');

CREATE TEMP TABLE before_unknown AS SELECT * FROM pg_temp.b1;
INSERT INTO r SELECT 'unknown', pg_temp.stripe(pg_temp.event('evt_B1unknown', 'customer.updated', pg_temp.ago('30 minutes'),
  '{"id": "cus_B1", "object": "customer", "metadata": {"org_id": "00000000-0000-4000-8000-0000000000b1"}}'));
SELECT is((SELECT a - 'org_id' FROM r WHERE step = 'unknown'),
  '{"event_id": "evt_B1unknown", "type": "customer.updated", "outcome": "unknown_type", "duplicate": false, "effect": "not handled"}'::jsonb,
  'an unknown type is recorded as unknown_type, "not handled"');
SELECT is((SELECT to_jsonb(b) FROM pg_temp.b1 b), (SELECT to_jsonb(b) FROM before_unknown b), 'an unknown type changes nothing');

INSERT INTO r SELECT 'deleted', pg_temp.stripe(pg_temp.event('evt_B1deleted', 'customer.subscription.deleted',
  pg_temp.ago('10 minutes'),
  pg_temp.sub('sub_B1', 'cus_B1', 'canceled', 'price_Team1', '00000000-0000-4000-8000-0000000000b1')));
SELECT is((SELECT (plan_id, status, past_due_since) FROM pg_temp.b1), ('team'::text, 'canceled'::caas.subscription_status, NULL::timestamptz),
  'subscription.deleted: status canceled, the subscribed plan remembered');
SELECT is((caas.org_plan('00000000-0000-4000-8000-0000000000b1')).plan_id, 'free', 'canceled → the free plan');
SELECT is(pg_temp.usage_as('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b1') -> 'workspaces',
  '{"used": 3, "limit": 1}'::jsonb, 'canceled: the free plan''s limits, all three workspaces kept');
SELECT is((SELECT count(*) FROM caas.content WHERE org_id = '00000000-0000-4000-8000-0000000000b1'), 3::bigint,
  'canceled: the content made on the team plan is kept');
SELECT matches((SELECT a ->> 'effect' FROM r WHERE step = 'deleted'), 'status canceled.*the free plan''s limits apply, the organisation''s data is kept$',
  'the effect says the free plan applies and the data is kept');
INSERT INTO r SELECT 'failed_canceled', pg_temp.stripe(pg_temp.event('evt_B1failedlate', 'invoice.payment_failed', pg_temp.ago('5 minutes'),
  '{"id": "in_B1d", "object": "invoice", "customer": "cus_B1"}'));
SELECT is((SELECT (a ->> 'org_id', a ->> 'outcome', a ->> 'effect', status) FROM r, pg_temp.b1 WHERE step = 'failed_canceled'),
  ('00000000-0000-4000-8000-0000000000b1'::text, 'applied'::text, 'invoice in_B1d payment failed: status canceled unchanged'::text,
   'canceled'::caas.subscription_status),
  'found by customer alone; a failed payment does not make a canceled subscription past due');

SET LOCAL ROLE caas_user;
SELECT pg_temp.act_as('00000000-0000-4000-8000-0000000000a1');
SELECT is(caas.billing_checkout('00000000-0000-4000-8000-0000000000b1', 'team') ->> 'customer_id', 'cus_B1',
  'a new checkout after the cancellation reuses the Stripe customer');
SELECT is(caas.billing_portal('00000000-0000-4000-8000-0000000000b1'),
  '{"org_id": "00000000-0000-4000-8000-0000000000b1", "customer_id": "cus_B1"}'::jsonb,
  'the portal opens for the organisation''s Stripe customer');
RESET ROLE;
SELECT is((SELECT count(*) FROM caas.audit_log
            WHERE org_id = '00000000-0000-4000-8000-0000000000b1' AND action LIKE 'billing.%' AND actor_id IS NOT NULL),
  0::bigint, 'billing changes from Stripe are audited with the system as actor');

-- ----------------------------------------------- finding the organisation --

SELECT is(pg_temp.stripe(pg_temp.event('evt_Org1', 'customer.subscription.updated', pg_temp.ago('1 minute'),
            pg_temp.sub('sub_Z', 'cus_Z', 'active', 'price_Pro1', NULL, '{"metadata": {"org_id": "acme"}}'))) - 'event_id' - 'type',
  '{"outcome": "ignored", "duplicate": false, "org_id": null, "effect": "metadata.org_id \"acme\" is not an organisation id"}'::jsonb,
  'metadata.org_id that is not a uuid: ignored, saying why');
SELECT is(pg_temp.stripe(pg_temp.event('evt_Org2', 'customer.subscription.updated', pg_temp.ago('1 minute'),
            pg_temp.sub('sub_Z', 'cus_Z', 'active', 'price_Pro1', '00000000-0000-4000-8000-0000000000ff'))) ->> 'effect',
  'organisation 00000000-0000-4000-8000-0000000000ff (metadata.org_id) does not exist',
  'metadata.org_id of no organisation: ignored, saying why');
SELECT is(pg_temp.stripe(pg_temp.event('evt_Org3', 'invoice.paid', pg_temp.ago('1 minute'),
            '{"id": "in_Z", "object": "invoice", "customer": "cus_Nobody", "subscription": "sub_Nobody"}')) ->> 'effect',
  'no organisation has subscription sub_Nobody or customer cus_Nobody',
  'unknown subscription and customer: ignored, saying why');
SELECT is(pg_temp.stripe(pg_temp.event('evt_Org4', 'checkout.session.completed', pg_temp.ago('1 minute'),
            '{"id": "cs_Z", "object": "checkout.session", "client_reference_id": "00000000-0000-4000-8000-0000000000b3",
              "customer": "cus_B3", "subscription": "sub_B3"}')) ->> 'org_id',
  '00000000-0000-4000-8000-0000000000b3', 'a checkout session without metadata (nor mode) is found by client_reference_id');
SELECT is((SELECT (plan_id, status)::text FROM caas.subscriptions WHERE org_id = '00000000-0000-4000-8000-0000000000b3'),
  '(free,incomplete)', 'a checkout without metadata.plan creates the row on free, incomplete');
SELECT is(pg_temp.stripe(pg_temp.event('evt_Org5', 'customer.subscription.created', pg_temp.ago('1 minute'),
            pg_temp.sub('sub_B3', 'cus_B3', 'active', 'price_Unknown', NULL) - 'object')) - 'event_id' - 'type' - 'duplicate',
  '{"outcome": "ignored", "org_id": "00000000-0000-4000-8000-0000000000b3",
    "effect": "subscription sub_B3: price price_Unknown is the Stripe price of no plan (set stripe_prices in the API''s configuration)"}'::jsonb,
  'found by subscription id; a price of no plan is ignored, saying why');
SELECT is((SELECT (plan_id, status)::text FROM caas.subscriptions WHERE org_id = '00000000-0000-4000-8000-0000000000b3'),
  '(free,incomplete)', 'an ignored event changes nothing');
SELECT is(pg_temp.stripe(pg_temp.event('evt_Org6', 'checkout.session.completed', pg_temp.ago('1 minute'),
            '{"id": "cs_Y", "object": "checkout.session", "mode": "payment", "client_reference_id": "00000000-0000-4000-8000-0000000000b3"}')) ->> 'effect',
  'checkout session in mode payment, not subscription', 'a checkout that is not for a subscription is ignored');
SELECT is(pg_temp.stripe(pg_temp.event('evt_Org7', 'invoice.paid', pg_temp.ago('1 minute'),
            '{"id": "in_Y", "object": "invoice", "parent": {"subscription_details": {"metadata": {"org_id": "00000000-0000-4000-8000-0000000000b2"}}}}'))
          - 'event_id' - 'type' - 'duplicate',
  '{"outcome": "ignored", "org_id": "00000000-0000-4000-8000-0000000000b2",
    "effect": "invoice in_Y: the organisation has no subscription on record"}'::jsonb,
  'an invoice is found by its subscription''s metadata; without a subscription on record it is ignored');
SELECT is((SELECT count(*) FROM caas.stripe_events WHERE event_id LIKE 'evt_Org%' AND outcome = 'ignored'), 6::bigint,
  'ignored events are recorded as ignored');

-- ------------------------- grace by the event's time, replaced subscriptions --

SELECT pg_temp.stripe(pg_temp.event('evt_B2created', 'customer.subscription.created', pg_temp.ago('40 days'),
  pg_temp.sub('sub_B2a', 'cus_B2', 'active', 'price_Pro1', '00000000-0000-4000-8000-0000000000b2')));
SELECT pg_temp.stripe(pg_temp.event('evt_B2pastdue', 'customer.subscription.updated', pg_temp.ago('30 days'),
  pg_temp.sub('sub_B2a', 'cus_B2', 'past_due', 'price_Pro1', '00000000-0000-4000-8000-0000000000b2')));
SELECT is((SELECT (status, past_due_since) FROM pg_temp.b2), ('past_due'::caas.subscription_status, to_timestamp(pg_temp.ago('30 days'))),
  'subscription.updated to past_due: past_due_since is the event''s time');
SELECT is((caas.org_plan('00000000-0000-4000-8000-0000000000b2')).plan_id, 'free',
  'past due since longer than the grace period: free at once');
SELECT pg_temp.stripe(pg_temp.event('evt_B2pastdue2', 'customer.subscription.updated', pg_temp.ago('29 days'),
  pg_temp.sub('sub_B2a', 'cus_B2', 'past_due', 'price_Pro1', '00000000-0000-4000-8000-0000000000b2')));
SELECT is((SELECT past_due_since FROM pg_temp.b2), to_timestamp(pg_temp.ago('30 days')), 'still past due: past_due_since kept');
SELECT is(pg_temp.stripe(pg_temp.event('evt_B2new', 'customer.subscription.created', pg_temp.ago('2 days'),
            pg_temp.sub('sub_B2b', 'cus_B2', 'active', 'price_Team1', '00000000-0000-4000-8000-0000000000b2'))) ->> 'effect',
  'subscription sub_B2b, replacing sub_B2a: plan team, status active, period '
    || caas._stripe_fmt(to_timestamp(pg_temp.ago('2 days'))) || ' to ' || caas._stripe_fmt(to_timestamp(pg_temp.ago('-28 days'))),
  'a new live subscription replaces the one on record');
SELECT is((SELECT (plan_id, status, stripe_subscription_id, past_due_since)::text FROM pg_temp.b2), '(team,active,sub_B2b,)',
  'the new subscription''s state is held, past_due_since cleared');
SELECT is(pg_temp.stripe(pg_temp.event('evt_B2olddeleted', 'customer.subscription.deleted', pg_temp.ago('1 day'),
            pg_temp.sub('sub_B2a', 'cus_B2', 'canceled', 'price_Pro1', '00000000-0000-4000-8000-0000000000b2'))) ->> 'effect',
  'subscription sub_B2a (canceled) is not the organisation''s current one: sub_B2b is active',
  'the late deletion of the replaced subscription is ignored');
SELECT is(pg_temp.stripe(pg_temp.event('evt_B2oldfailed', 'invoice.payment_failed', pg_temp.ago('1 hour'),
            '{"id": "in_B2", "object": "invoice", "customer": "cus_B2", "subscription": "sub_B2a"}')) ->> 'outcome',
  'ignored', 'an invoice of the replaced subscription is ignored');
SELECT is((SELECT (plan_id, status)::text FROM pg_temp.b2), '(team,active)', 'the new subscription stays in force');
SELECT is(pg_temp.stripe(pg_temp.event('evt_B2noaction', 'invoice.payment_action_required', pg_temp.ago('50 minutes'),
            '{"id": "in_B2b", "object": "invoice", "customer": "cus_B2", "subscription": "sub_B2b"}')) - 'event_id' - 'type' - 'duplicate' - 'org_id',
  '{"outcome": "ignored", "effect": "invoice in_B2b needs the customer''s action but has no https hosted_invoice_url"}'::jsonb,
  'payment action required without a hosted invoice URL is ignored, saying why');
SELECT is(pg_temp.stripe(pg_temp.event('evt_B2paid', 'invoice.paid', pg_temp.ago('40 minutes'),
            jsonb_build_object('id', 'in_B2c', 'object', 'invoice', 'customer', 'cus_B2', 'subscription', 'sub_B2b',
                               'lines', jsonb_build_object('data', jsonb_build_array(jsonb_build_object(
                                 'period', jsonb_build_object('start', pg_temp.ago('40 minutes'), 'end', pg_temp.ago('-30 days')))))))) ->> 'effect',
  'invoice in_B2c paid: status active unchanged, period ' || caas._stripe_fmt(to_timestamp(pg_temp.ago('40 minutes')))
    || ' to ' || caas._stripe_fmt(to_timestamp(pg_temp.ago('-30 days'))),
  'invoice.paid of an active subscription keeps the status and, without billing_reason, takes the line''s period');
SELECT is((caas.org_plan('00000000-0000-4000-8000-0000000000b2')).plan_id, 'team', 'and its plan applies');

-- -------------------------------------- checkout for an existing subscription --

SELECT is(pg_temp.stripe(pg_temp.event('evt_B5checkout', 'checkout.session.completed', pg_temp.ago('1 minute'),
            '{"id": "cs_B5", "object": "checkout.session", "mode": "subscription", "customer": "cus_B5", "subscription": "sub_B5",
              "metadata": {"org_id": "00000000-0000-4000-8000-0000000000b5", "plan": "pro"}}')) ->> 'outcome',
  'applied', 'checkout for an organisation with a row without Stripe ids is applied');
SELECT is((SELECT (plan_id, status, stripe_customer_id, stripe_subscription_id, stripe_updated_at)::text
             FROM caas.subscriptions WHERE org_id = '00000000-0000-4000-8000-0000000000b5'),
  '(team,active,cus_B5,sub_B5,)', 'it links the ids and keeps the plan and status until the subscription''s event');
SET LOCAL ROLE caas_user;
SELECT pg_temp.act_as('00000000-0000-4000-8000-0000000000a4');
SELECT is(caas.billing_portal('00000000-0000-4000-8000-0000000000b5') ->> 'customer_id', 'cus_B5',
  'once linked, the owner may open the portal');
RESET ROLE;

-- A subscription event without a period for an organisation with no row
-- yet: the period is the UTC calendar month, whatever the session's zone.
INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000000b6', 'Zone', 'billing-zone');
SET LOCAL TimeZone = 'Pacific/Kiritimati';
SELECT is(pg_temp.stripe(pg_temp.event('evt_Zone1', 'customer.subscription.created', pg_temp.ago('1 minute'),
            pg_temp.sub('sub_B6', 'cus_B6', 'active', 'price_Pro1', '00000000-0000-4000-8000-0000000000b6',
              '{"items": {"object": "list", "data": [{"id": "si_6", "object": "subscription_item",
                 "price": {"id": "price_Pro1", "object": "price"}}]}}'))) ->> 'outcome',
  'applied', 'a subscription event without a period is applied');
SELECT is((SELECT (current_period_start, current_period_end)::text FROM caas.subscriptions
            WHERE org_id = '00000000-0000-4000-8000-0000000000b6'),
          (SELECT (m, m + interval '1 month')::text
             FROM (SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m) x),
  '... its period is the UTC calendar month, not the session''s (UTC+14) month');
RESET TimeZone;

SELECT is((SELECT count(*) FROM caas.stripe_events WHERE effect IS NULL OR effect = 'being applied'), 0::bigint,
  'every recorded event has its effect');

SELECT * FROM finish();
ROLLBACK;
