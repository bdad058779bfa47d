--
-- tests/sql/fixtures.sql — the catalogue rows: the plans of
-- sql/fixtures/plans.sql and the platforms of extension/sql/020_catalogue.sql.
--
-- Covers: free, pro and team exist at 0, 2900 and 9900 usd a month; every
-- quota column (found in the catalog by name: max_* and *_per_month) is set
-- for every plan and never decreases from free to pro to team; running the
-- fixture file again changes nothing (not even rewriting a row), keeps a
-- stripe_price_id an operator set, and puts back a price or quota an
-- operator changed; the platforms catalogue has x, linkedin, instagram and
-- sandbox with their text rules.  The plan rows are kept by pg_dump.
--
-- Expects the database the harness builds: caas installed, then
-- sql/fixtures/plans.sql loaded once.
--

BEGIN;
SELECT plan(13);

-- ------------------------------------------------------------------ plans --

SELECT set_eq($$ SELECT plan_id FROM caas.plans $$, ARRAY['free', 'pro', 'team'],
  'the plans are free, pro and team');

SELECT results_eq($$
  SELECT plan_id, name, price_cents, currency, billing_interval, is_public
    FROM caas.plans ORDER BY sort_order
$$, $$ VALUES ('free', 'Free', 0, 'usd', 'month', true),
              ('pro', 'Pro', 2900, 'usd', 'month', true),
              ('team', 'Team', 9900, 'usd', 'month', true) $$,
  'free, pro and team cost 0, 29 and 99 usd a month, are public and listed in that order');

SELECT is((SELECT stripe_price_id FROM caas.plans WHERE plan_id = 'free'), NULL,
  'the free plan has no Stripe price');

-- The quota columns, by naming convention, so the checks below cover a
-- quota added later; the list pins the convention itself.
CREATE TEMP VIEW quota_columns AS
SELECT attname::text AS quota
  FROM pg_catalog.pg_attribute
 WHERE attrelid = 'caas.plans'::regclass AND attnum > 0 AND NOT attisdropped
   AND (attname LIKE 'max\_%' OR attname LIKE '%\_per\_month');

SELECT set_eq($$ SELECT quota FROM quota_columns $$,
  ARRAY['max_members', 'max_workspaces', 'max_social_accounts',
        'ai_generations_per_month', 'scheduled_posts_per_month', 'x_posts_per_month'],
  'plans has six quota columns');

CREATE TEMP VIEW plan_quotas AS
SELECT p.plan_id, q.quota, (to_jsonb(p) ->> q.quota)::integer AS value,
       array_position(ARRAY['free', 'pro', 'team'], p.plan_id) AS rank
  FROM caas.plans p CROSS JOIN quota_columns q
 WHERE p.plan_id IN ('free', 'pro', 'team');

SELECT is((SELECT count(*) FROM plan_quotas), 18::bigint,
  'three plans times six quotas are checked');

SELECT is_empty($$ SELECT plan_id || '.' || quota FROM plan_quotas WHERE value IS NULL $$,
  'every quota of free, pro and team is set (none is unlimited)');

SELECT is_empty($$
  SELECT plan_id || '.' || quota || ' = ' || value || ' < ' || previous
    FROM (SELECT plan_id, quota, value, lag(value) OVER (PARTITION BY quota ORDER BY rank) AS previous
            FROM plan_quotas) AS q
   WHERE value < previous
$$, 'no quota decreases from free to pro to team');

-- Plan rows are operator data (Stripe price ids): pg_dump must keep them.
SELECT ok((SELECT 'caas.plans'::regclass::oid = ANY (extconfig) FROM pg_catalog.pg_extension WHERE extname = 'caas'),
  'caas.plans is an extension configuration table, so pg_dump keeps its rows');

-- --------------------------------------------------- re-running the fixture --

CREATE TEMP TABLE plans_before AS
SELECT plan_id, to_jsonb(p) AS row, p.xmin::text AS row_version FROM caas.plans p;

\ir ../../sql/fixtures/plans.sql

SELECT results_eq($$ SELECT plan_id, to_jsonb(p), p.xmin::text FROM caas.plans p ORDER BY plan_id $$,
  $$ SELECT plan_id, row, row_version FROM plans_before ORDER BY plan_id $$,
  'running the fixture again leaves every plan row as it was, not even rewritten');

-- An operator configures a Stripe price and, by mistake, edits a price and a quota.
UPDATE caas.plans SET stripe_price_id = 'price_1ProMonthly' WHERE plan_id = 'pro';
UPDATE caas.plans SET price_cents = 100 WHERE plan_id = 'pro';
UPDATE caas.plans SET max_members = 999 WHERE plan_id = 'team';

\ir ../../sql/fixtures/plans.sql

SELECT is((SELECT stripe_price_id FROM caas.plans WHERE plan_id = 'pro'), 'price_1ProMonthly',
  'running the fixture again keeps the Stripe price an operator set');
SELECT results_eq($$
  SELECT plan_id, to_jsonb(p) - 'stripe_price_id' - 'updated_at' FROM caas.plans p ORDER BY plan_id
$$, $$ SELECT plan_id, row - 'stripe_price_id' - 'updated_at' FROM plans_before ORDER BY plan_id $$,
  'running the fixture again puts back the prices and quotas an operator changed');
SELECT is((SELECT count(*) FROM caas.plans), 3::bigint,
  'running the fixture again still leaves three plans');

-- -------------------------------------------------------------- platforms --

SELECT results_eq($$
  SELECT platform, display_name, max_text_length, weighted_length, requires_media, is_sandbox
    FROM caas.platforms ORDER BY platform
$$, $$ VALUES ('instagram', 'Instagram', 2200, false, true, false),
              ('linkedin', 'LinkedIn', 3000, false, false, false),
              ('sandbox', 'Sandbox (local only)', 3000, false, false, true),
              ('x', 'X', 280, true, false, false) $$,
  'the platforms are x (280, weighted), linkedin (3000), instagram (2200, needs media) and sandbox');
SELECT * FROM finish();
ROLLBACK;
