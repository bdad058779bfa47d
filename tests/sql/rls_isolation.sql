--
-- tests/sql/rls_isolation.sql — tenant isolation by row level security and
-- column privileges (extension/sql/0.2/030_rls.sql), run as caas_user.
--
-- Covers: two organisations A and B, each with rows in every tenant table;
-- as the owner of A, plain SQL sees none of B's rows in any tenant table
-- (found in the catalog, so a new tenant table is covered too) while it sees
-- A's; UPDATE and DELETE of B's rows affect 0 rows (and 1 of A's); INSERT
-- with B's org_id is refused with 42501; the tables caas_user may not
-- change are not changeable at all; a viewer of A cannot write content
-- while a member can; without a caller identity nothing is visible;
-- password hashes, sealed tokens and AI prompts are not readable; the content list page
-- as caas_user is still an index scan of content_org_created_idx.
--
-- Fixed ids (all 00000000-0000-4000-8000-0000000000XX):
--   a1 owner of A, a2 viewer of A, a3 member of A, a4 owner of B
--   b1 A, b2 B;  c1/c2 workspaces;  d1/d2 content;  e1/e2 accounts;
--   f1/f2 scheduled posts;  91/92 invitations;  71/72 AI jobs
--

BEGIN;
SELECT plan(34);

-- --------------------------------------- setup, as the superuser (DBA) --

INSERT INTO caas.users (user_id, email, password_hash) VALUES
  ('00000000-0000-4000-8000-0000000000a1', 'owner-a@example.com', '$argon2id$a1'),
  ('00000000-0000-4000-8000-0000000000a2', 'viewer-a@example.com', '$argon2id$a2'),
  ('00000000-0000-4000-8000-0000000000a3', 'member-a@example.com', '$argon2id$a3'),
  ('00000000-0000-4000-8000-0000000000a4', 'owner-b@example.com', '$argon2id$a4');
INSERT INTO caas.profiles (user_id, first_name) VALUES
  ('00000000-0000-4000-8000-0000000000a1', 'Ann'),
  ('00000000-0000-4000-8000-0000000000a4', 'Bea');
INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000000b1', 'Tenant A', 'rls-tenant-a'),
  ('00000000-0000-4000-8000-0000000000b2', 'Tenant B', 'rls-tenant-b');
INSERT INTO caas.subscriptions (org_id, plan_id) VALUES
  ('00000000-0000-4000-8000-0000000000b1', 'team'),
  ('00000000-0000-4000-8000-0000000000b2', 'team');
INSERT INTO caas.organization_members (org_id, user_id, role) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a1', 'owner'),
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a2', 'viewer'),
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a3', 'member'),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000a4', 'owner');
INSERT INTO caas.invitations (org_id, invitation_id, email, role, token_hash) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-000000000091', 'x@example.com', 'member', sha256('inv a')),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-000000000092', 'x@example.com', 'member', sha256('inv b'));
INSERT INTO caas.workspaces (org_id, workspace_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c1', 'Main', 'main'),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000c2', 'Main', 'main');
INSERT INTO caas.content (org_id, content_id, workspace_id, body) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000d1', '00000000-0000-4000-8000-0000000000c1', 'Hello from A'),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000d2', '00000000-0000-4000-8000-0000000000c2', 'Hello from B');
INSERT INTO caas.social_accounts (org_id, account_id, platform, external_id, status, access_token_enc, token_key_id) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000e1', 'sandbox', 'a', 'connected', decode(repeat('ab', 29), 'hex'), 'k1'),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000e2', 'sandbox', 'b', 'connected', decode(repeat('cd', 29), 'hex'), 'k1');
INSERT INTO caas.scheduled_posts (org_id, post_id, content_id, content_version, account_id, due_at, timezone, run_at) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000f1', '00000000-0000-4000-8000-0000000000d1', 1,
   '00000000-0000-4000-8000-0000000000e1', now() + interval '1 day', 'UTC', now() + interval '1 day'),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000f2', '00000000-0000-4000-8000-0000000000d2', 1,
   '00000000-0000-4000-8000-0000000000e2', now() + interval '1 day', 'UTC', now() + interval '1 day');
INSERT INTO caas.post_attempts (org_id, post_id, attempt, dispatcher) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000f1', 1, 'worker:1'),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000f2', 1, 'worker:1');
INSERT INTO caas.usage (org_id, period_start, period_end, scheduled_posts) VALUES
  ('00000000-0000-4000-8000-0000000000b1', date_trunc('month', now()), date_trunc('month', now()) + interval '1 month', 1),
  ('00000000-0000-4000-8000-0000000000b2', date_trunc('month', now()), date_trunc('month', now()) + interval '1 month', 1);
INSERT INTO caas.audit_log (org_id, actor_id, action, target_type) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a1', 'org.updated', 'org'),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000a4', 'org.updated', 'org');
INSERT INTO caas.ai_jobs (org_id, job_id, workspace_id, platform, tone, brief, system_prompt, user_prompt) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-000000000071', '00000000-0000-4000-8000-0000000000c1',
   'sandbox', 'casual', '{"topic": "A"}', 'Write.', '{"brief": {"topic": "A"}}'),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-000000000072', '00000000-0000-4000-8000-0000000000c2',
   'sandbox', 'casual', '{"topic": "B"}', 'Write.', '{"brief": {"topic": "B"}}');

-- Row counts per tenant table (every caas table with an org_id column, from
-- the catalog), as whoever calls it.
CREATE FUNCTION pg_temp.tenant_rows(org uuid)
RETURNS TABLE (table_name name, n bigint)
LANGUAGE plpgsql
AS $$
DECLARE
  t name;
BEGIN
  FOR t IN
    SELECT c.relname
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
     WHERE c.relnamespace = 'caas'::regnamespace AND c.relkind IN ('r', 'p')
       AND c.relname NOT IN ('stripe_events', 'oauth_states')   -- not tenant data, not granted to caas_user
     ORDER BY c.relname
  LOOP
    table_name := t;
    EXECUTE format('SELECT count(*) FROM caas.%I WHERE org_id = $1', t) INTO n USING org;
    RETURN NEXT;
  END LOOP;
END;
$$;

-- Rows a statement affected.
CREATE FUNCTION pg_temp.affected(stmt text)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  n bigint;
BEGIN
  EXECUTE stmt;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END;
$$;

CREATE FUNCTION pg_temp.plan_of(query text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  line   text;
  result text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    result := result || line || E'\n';
  END LOOP;
  RETURN result;
END;
$$;

SELECT is((SELECT count(*) FROM pg_temp.tenant_rows('00000000-0000-4000-8000-0000000000b2') WHERE n > 0),
  13::bigint, 'as the superuser, B has rows in all thirteen tenant tables');

-- ----------------------------------------------- the owner of A reads --

SET LOCAL ROLE caas_user;
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a1"}', true);

SELECT is_empty($$ SELECT table_name FROM pg_temp.tenant_rows('00000000-0000-4000-8000-0000000000b1') WHERE n = 0 $$,
  'the owner of A sees A''s rows in every tenant table');
SELECT is_empty($$ SELECT table_name || ': ' || n FROM pg_temp.tenant_rows('00000000-0000-4000-8000-0000000000b2') WHERE n > 0 $$,
  'the owner of A sees none of B''s rows in any tenant table');
SELECT results_eq($$ SELECT user_id FROM caas.users ORDER BY user_id $$,
  $$ VALUES ('00000000-0000-4000-8000-0000000000a1'::uuid), ('00000000-0000-4000-8000-0000000000a2'::uuid),
            ('00000000-0000-4000-8000-0000000000a3'::uuid) $$,
  'the owner of A sees the users of A, not the owner of B');
SELECT results_eq($$ SELECT user_id FROM caas.profiles $$,
  $$ VALUES ('00000000-0000-4000-8000-0000000000a1'::uuid) $$,
  'the owner of A sees profiles of A''s people only');

-- ----------------------------------------- the owner of A writes to B --

SELECT is(pg_temp.affected($$ UPDATE caas.organizations SET name = 'Taken' WHERE org_id = '00000000-0000-4000-8000-0000000000b2' $$),
  0::bigint, 'UPDATE of B''s organisation affects no row');
SELECT is(pg_temp.affected($$ UPDATE caas.workspaces SET name = 'Taken' WHERE org_id = '00000000-0000-4000-8000-0000000000b2' $$),
  0::bigint, 'UPDATE of B''s workspaces affects no row');
SELECT is(pg_temp.affected($$ UPDATE caas.content SET title = 'Taken' WHERE org_id = '00000000-0000-4000-8000-0000000000b2' $$),
  0::bigint, 'UPDATE of B''s content affects no row');
SELECT is(pg_temp.affected($$ UPDATE caas.profiles SET first_name = 'Taken' WHERE user_id = '00000000-0000-4000-8000-0000000000a4' $$),
  0::bigint, 'UPDATE of the profile of B''s owner affects no row');
SELECT is(pg_temp.affected($$ DELETE FROM caas.social_accounts WHERE org_id = '00000000-0000-4000-8000-0000000000b2' $$),
  0::bigint, 'DELETE of B''s social accounts affects no row');
SELECT is(pg_temp.affected($$ DELETE FROM caas.content WHERE org_id = '00000000-0000-4000-8000-0000000000b2' $$),
  0::bigint, 'DELETE of B''s content affects no row');
SELECT is(pg_temp.affected($$ DELETE FROM caas.workspaces WHERE org_id = '00000000-0000-4000-8000-0000000000b2' $$),
  0::bigint, 'DELETE of B''s workspaces affects no row');
SELECT is(pg_temp.affected($$ DELETE FROM caas.organizations WHERE org_id = '00000000-0000-4000-8000-0000000000b2' $$),
  0::bigint, 'DELETE of B''s organisation affects no row');
SELECT is(pg_temp.affected($$ UPDATE caas.content SET title = 'Mine' WHERE org_id = '00000000-0000-4000-8000-0000000000b1' $$),
  1::bigint, 'the same UPDATE of A''s content affects A''s row');

SELECT throws_ok($$
  INSERT INTO caas.workspaces (org_id, name, slug) VALUES ('00000000-0000-4000-8000-0000000000b2', 'Planted', 'planted')
$$, '42501', 'new row violates row-level security policy for table "workspaces"',
  'INSERT of a workspace with B''s org_id is refused');
SELECT throws_ok($$
  INSERT INTO caas.content (org_id, workspace_id, body)
  VALUES ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000c2', 'Planted')
$$, '42501', 'new row violates row-level security policy for table "content"',
  'INSERT of content with B''s org_id is refused');
SELECT throws_ok($$
  INSERT INTO caas.content_versions (org_id, content_id, version, body, source)
  VALUES ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000d2', 2, 'Planted', 'manual')
$$, '42501', 'permission denied for table content_versions',
  'INSERT of a version of B''s content is refused (end users never write versions directly)');

-- Tables caas_user only reads: changed through API functions, never by SQL.
SELECT is_empty($$
  SELECT c.relname
    FROM pg_catalog.pg_class c
   WHERE c.relnamespace = 'caas'::regnamespace AND c.relkind = 'r'
     AND c.relname IN ('organization_members', 'invitations', 'scheduled_posts', 'post_attempts',
                       'subscriptions', 'usage', 'audit_log', 'ai_jobs')
     AND (has_table_privilege('caas_user', c.oid, 'INSERT') OR has_table_privilege('caas_user', c.oid, 'UPDATE')
          OR has_table_privilege('caas_user', c.oid, 'DELETE') OR has_any_column_privilege('caas_user', c.oid, 'UPDATE'))
$$, 'caas_user cannot INSERT, UPDATE or DELETE members, invitations, posts, attempts, subscriptions, usage, audit entries or AI jobs');
SELECT throws_ok($$ UPDATE caas.scheduled_posts SET run_at = now() WHERE org_id = '00000000-0000-4000-8000-0000000000b2' $$,
  '42501', 'permission denied for table scheduled_posts',
  'UPDATE of scheduled posts by plain SQL is refused');
SELECT throws_ok($$ DELETE FROM caas.organization_members WHERE org_id = '00000000-0000-4000-8000-0000000000b2' $$,
  '42501', 'permission denied for table organization_members',
  'DELETE of members by plain SQL is refused');

-- ------------------------------------------------------ secret columns --

SELECT throws_ok($$ SELECT password_hash FROM caas.users $$,
  '42501', 'permission denied for table users',
  'caas_user cannot read password hashes');
SELECT throws_ok($$ SELECT access_token_enc FROM caas.social_accounts $$,
  '42501', 'permission denied for table social_accounts',
  'caas_user cannot read sealed access tokens');
SELECT throws_ok($$ SELECT refresh_token_enc FROM caas.social_accounts $$,
  '42501', 'permission denied for table social_accounts',
  'caas_user cannot read sealed refresh tokens');
SELECT throws_ok($$ SELECT token_hash FROM caas.invitations $$,
  '42501', 'permission denied for table invitations',
  'caas_user cannot read invitation token hashes');
SELECT throws_ok($$ SELECT system_prompt FROM caas.ai_jobs $$,
  '42501', 'permission denied for table ai_jobs',
  'caas_user cannot read the prompts of AI jobs');
SELECT lives_ok($$ SELECT user_id, email FROM caas.users $$,
  'caas_user can read the granted user columns');

-- ---------------------------------------------------- the content list --

-- With sequential scans and sorts off, as a large table would be planned:
-- the test tables hold a few rows (and the rows earlier suites rolled back),
-- so costs alone pick a plan depending on when autovacuum last ran.
SET LOCAL enable_seqscan = off;
SET LOCAL enable_sort = off;
SELECT matches(
  pg_temp.plan_of($$SELECT content_id, title FROM caas.content
                    WHERE org_id = '00000000-0000-4000-8000-0000000000b1'
                    ORDER BY created_at DESC, content_id DESC LIMIT 20$$),
  'Index (Only )?Scan using content_org_created_idx on content',
  'the content list page as caas_user scans content_org_created_idx');
SELECT doesnt_match(
  pg_temp.plan_of($$SELECT content_id, title FROM caas.content
                    WHERE org_id = '00000000-0000-4000-8000-0000000000b1'
                    ORDER BY created_at DESC, content_id DESC LIMIT 20$$),
  'Sort',
  'the content list page as caas_user needs no sort');
SET LOCAL enable_seqscan = on;
SET LOCAL enable_sort = on;

-- ------------------------------------------------ viewer and member of A --

SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a2"}', true);
SELECT throws_ok($$
  INSERT INTO caas.content (org_id, workspace_id, body)
  VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c1', 'By a viewer')
$$, '42501', 'new row violates row-level security policy for table "content"',
  'a viewer of A cannot create content in A');
SELECT is(pg_temp.affected($$ UPDATE caas.content SET body = 'Edited by a viewer' WHERE org_id = '00000000-0000-4000-8000-0000000000b1' $$),
  0::bigint, 'a viewer''s UPDATE of A''s content affects no row');
SELECT is((SELECT count(*) FROM caas.content), 1::bigint, 'a viewer of A still reads A''s content');

SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a3"}', true);
SELECT lives_ok($$
  INSERT INTO caas.content (org_id, workspace_id, body)
  VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c1', 'By a member')
$$, 'a member of A can create content in A');
SELECT is(pg_temp.affected($$ UPDATE caas.content SET body = 'Edited by a member' WHERE content_id = '00000000-0000-4000-8000-0000000000d1' $$),
  1::bigint, 'a member of A can edit A''s content');

-- ----------------------------------------------------- nobody at all --

SELECT set_config('request.jwt.claims', '', true);
SELECT is_empty($$
  SELECT table_name FROM pg_temp.tenant_rows('00000000-0000-4000-8000-0000000000b1') WHERE n > 0
  UNION ALL
  SELECT table_name FROM pg_temp.tenant_rows('00000000-0000-4000-8000-0000000000b2') WHERE n > 0
  UNION ALL
  SELECT 'users' FROM caas.users
$$, 'without a caller identity caas_user sees no tenant row and no user');

RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
