--
-- tests/sql/quotas.sql — plan limits (extension/sql/0.2/040_quotas.sql).
--
-- Covers: on the Free plan (no subscription) the 1st member, workspace and
-- the 3rd social account are accepted and the next one refused with CA001
-- naming the limit and the plan; disconnected accounts do not count; the
-- Pro plan's workspace boundary; caas._consume counts up to the monthly
-- limit, then refuses with CA001 without counting, and refuses an unknown
-- counter with 22023; a downgrade from Team to Free keeps existing rows but
-- refuses new ones; caas.org_plan falls back to Free without a
-- subscription, when canceled and when past due beyond
-- caas.past_due_grace_days, and keeps the plan while trialing or within the
-- grace period.  Workspaces are created as caas_user, as the API does.
--
-- Fixed ids (all 00000000-0000-4000-8000-0000000000XX):
--   a1..a4 users;  b1 free org, b2 pro org, b3 downgraded org, b4 org_plan org
--

BEGIN;
SELECT plan(27);

INSERT INTO caas.users (user_id, email, password_hash) VALUES
  ('00000000-0000-4000-8000-0000000000a1', 'q1@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a2', 'q2@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a3', 'q3@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a4', 'q4@example.com', '$argon2id$x');
INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000000b1', 'Free org', 'quota-free'),
  ('00000000-0000-4000-8000-0000000000b2', 'Pro org', 'quota-pro'),
  ('00000000-0000-4000-8000-0000000000b3', 'Shrinking org', 'quota-downgrade'),
  ('00000000-0000-4000-8000-0000000000b4', 'Billing org', 'quota-billing');

-- ------------------------------------------------------ the Free plan --

SELECT lives_ok($$
  INSERT INTO caas.organization_members (org_id, user_id, role)
  VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a1', 'owner')
$$, 'the first member of a Free organisation is accepted');
SELECT throws_ok($$
  INSERT INTO caas.organization_members (org_id, user_id, role)
  VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a2', 'member')
$$, 'CA001', 'quota exceeded: members (1 on the Free plan)',
  'the second member of a Free organisation is refused with CA001');

SET LOCAL ROLE caas_user;
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a1"}', true);
SELECT lives_ok($$
  INSERT INTO caas.workspaces (org_id, name, slug) VALUES ('00000000-0000-4000-8000-0000000000b1', 'One', 'one')
$$, 'the owner creates the first workspace of a Free organisation');
SELECT throws_ok($$
  INSERT INTO caas.workspaces (org_id, name, slug) VALUES ('00000000-0000-4000-8000-0000000000b1', 'Two', 'two')
$$, 'CA001', 'quota exceeded: workspaces (1 on the Free plan)',
  'the second workspace of a Free organisation is refused with CA001');
RESET ROLE;

SELECT lives_ok($$
  INSERT INTO caas.social_accounts (org_id, account_id, platform, external_id, status, access_token_enc, token_key_id)
  SELECT '00000000-0000-4000-8000-0000000000b1', ('00000000-0000-4000-8000-0000000000e' || i)::uuid,
         'sandbox', 'acct-' || i, 'connected', decode(repeat('ab', 29), 'hex'), 'k1'
    FROM generate_series(1, 3) AS i
$$, 'three social accounts fit the Free plan');
SELECT throws_ok($$
  INSERT INTO caas.social_accounts (org_id, platform, external_id, status, access_token_enc, token_key_id)
  VALUES ('00000000-0000-4000-8000-0000000000b1', 'sandbox', 'acct-4', 'connected', decode(repeat('ab', 29), 'hex'), 'k1')
$$, 'CA001', 'quota exceeded: social accounts (3 on the Free plan)',
  'the fourth social account of a Free organisation is refused with CA001');
UPDATE caas.social_accounts SET status = 'disconnected', access_token_enc = NULL, token_key_id = NULL
 WHERE account_id = '00000000-0000-4000-8000-0000000000e1';
SELECT lives_ok($$
  INSERT INTO caas.social_accounts (org_id, platform, external_id, status, access_token_enc, token_key_id)
  VALUES ('00000000-0000-4000-8000-0000000000b1', 'sandbox', 'acct-4', 'connected', decode(repeat('ab', 29), 'hex'), 'k1')
$$, 'a disconnected account does not count: another one fits');

SELECT is((SELECT max(caas._consume('00000000-0000-4000-8000-0000000000b1', 'x_posts', 1))
             FROM generate_series(1, 10)),
  10, '_consume counts X posts one by one up to the Free plan''s 10');
SELECT throws_ok($$ SELECT caas._consume('00000000-0000-4000-8000-0000000000b1', 'x_posts', 1) $$,
  'CA001', 'quota exceeded: X posts per month (10 on the Free plan)',
  'the eleventh X post of the month is refused with CA001');
SELECT is((SELECT x_posts FROM caas.usage WHERE org_id = '00000000-0000-4000-8000-0000000000b1'),
  10, 'a refused use is not counted');
SELECT is(caas._consume('00000000-0000-4000-8000-0000000000b1', 'scheduled_posts', 30),
  30, '_consume takes a whole batch that exactly reaches the limit');
SELECT throws_ok($$ SELECT caas._consume('00000000-0000-4000-8000-0000000000b1', 'ai_generations', 21) $$,
  'CA001', 'quota exceeded: AI generations per month (20 on the Free plan)',
  'a batch that would pass the limit is refused as a whole');
SELECT throws_ok($$ SELECT caas._consume('00000000-0000-4000-8000-0000000000b1', 'tweets', 1) $$,
  '22023', 'unknown usage counter "tweets"',
  '_consume refuses an unknown counter with 22023');

-- -------------------------------------------------------- the Pro plan --

INSERT INTO caas.subscriptions (org_id, plan_id) VALUES ('00000000-0000-4000-8000-0000000000b2', 'pro');
INSERT INTO caas.organization_members (org_id, user_id, role)
VALUES ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000a2', 'owner');
SET LOCAL ROLE caas_user;
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a2"}', true);
SELECT lives_ok($$
  INSERT INTO caas.workspaces (org_id, name, slug)
  SELECT '00000000-0000-4000-8000-0000000000b2', 'W' || i, 'w' || i FROM generate_series(1, 3) AS i
$$, 'three workspaces fit the Pro plan');
SELECT throws_ok($$
  INSERT INTO caas.workspaces (org_id, name, slug) VALUES ('00000000-0000-4000-8000-0000000000b2', 'W4', 'w4')
$$, 'CA001', 'quota exceeded: workspaces (3 on the Pro plan)',
  'the fourth workspace of a Pro organisation is refused with CA001');
RESET ROLE;

-- ---------------------------------------------------------- downgrade --

INSERT INTO caas.subscriptions (org_id, plan_id) VALUES ('00000000-0000-4000-8000-0000000000b3', 'team');
INSERT INTO caas.organization_members (org_id, user_id, role) VALUES
  ('00000000-0000-4000-8000-0000000000b3', '00000000-0000-4000-8000-0000000000a1', 'owner'),
  ('00000000-0000-4000-8000-0000000000b3', '00000000-0000-4000-8000-0000000000a2', 'admin'),
  ('00000000-0000-4000-8000-0000000000b3', '00000000-0000-4000-8000-0000000000a3', 'member');
INSERT INTO caas.workspaces (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000000b3', 'One', 'one'),
  ('00000000-0000-4000-8000-0000000000b3', 'Two', 'two');

SELECT lives_ok($$
  UPDATE caas.subscriptions SET plan_id = 'free' WHERE org_id = '00000000-0000-4000-8000-0000000000b3'
$$, 'a Team organisation with 3 members and 2 workspaces can move to the Free plan');
SELECT results_eq($$
  SELECT (SELECT count(*) FROM caas.organization_members WHERE org_id = '00000000-0000-4000-8000-0000000000b3'),
         (SELECT count(*) FROM caas.workspaces WHERE org_id = '00000000-0000-4000-8000-0000000000b3')
$$, $$ VALUES (3::bigint, 2::bigint) $$,
  'after the downgrade the existing members and workspaces stay');
SELECT throws_ok($$
  INSERT INTO caas.workspaces (org_id, name, slug) VALUES ('00000000-0000-4000-8000-0000000000b3', 'Three', 'three')
$$, 'CA001', 'quota exceeded: workspaces (1 on the Free plan)',
  'after the downgrade a new workspace is refused');
SELECT throws_ok($$
  INSERT INTO caas.organization_members (org_id, user_id, role)
  VALUES ('00000000-0000-4000-8000-0000000000b3', '00000000-0000-4000-8000-0000000000a4', 'viewer')
$$, 'CA001', 'quota exceeded: members (1 on the Free plan)',
  'after the downgrade a new member is refused');

-- ------------------------------------------------------- org_plan --

SELECT is((caas.org_plan('00000000-0000-4000-8000-0000000000b4')).plan_id, 'free',
  'an organisation without a subscription is on the Free plan');
INSERT INTO caas.subscriptions (org_id, plan_id, status)
VALUES ('00000000-0000-4000-8000-0000000000b4', 'team', 'trialing');
SELECT is((caas.org_plan('00000000-0000-4000-8000-0000000000b4')).plan_id, 'team',
  'a trialing subscription gives its plan');
UPDATE caas.subscriptions SET status = 'active' WHERE org_id = '00000000-0000-4000-8000-0000000000b4';
SELECT is((caas.org_plan('00000000-0000-4000-8000-0000000000b4')).plan_id, 'team',
  'an active subscription gives its plan');
UPDATE caas.subscriptions SET status = 'canceled' WHERE org_id = '00000000-0000-4000-8000-0000000000b4';
SELECT is((caas.org_plan('00000000-0000-4000-8000-0000000000b4')).plan_id, 'free',
  'a canceled subscription falls back to the Free plan');
UPDATE caas.subscriptions SET status = 'past_due', past_due_since = now() - interval '6 days'
 WHERE org_id = '00000000-0000-4000-8000-0000000000b4';
SELECT is((caas.org_plan('00000000-0000-4000-8000-0000000000b4')).plan_id, 'team',
  'a subscription past due for 6 days keeps its plan within the 7-day grace period');
UPDATE caas.subscriptions SET past_due_since = now() - interval '8 days'
 WHERE org_id = '00000000-0000-4000-8000-0000000000b4';
SELECT is((caas.org_plan('00000000-0000-4000-8000-0000000000b4')).plan_id, 'free',
  'a subscription past due beyond the grace period falls back to the Free plan');
SELECT throws_ok($$ SELECT caas._consume('00000000-0000-4000-8000-0000000000b4', 'x_posts', 11) $$,
  'CA001', 'quota exceeded: X posts per month (10 on the Free plan)',
  'beyond the grace period the Free plan''s limits apply');
UPDATE caas.subscriptions SET status = 'unpaid', past_due_since = NULL
 WHERE org_id = '00000000-0000-4000-8000-0000000000b4';
SELECT is((caas.org_plan('00000000-0000-4000-8000-0000000000b4')).plan_id, 'free',
  'an unpaid subscription falls back to the Free plan');

SELECT * FROM finish();
ROLLBACK;
