--
-- tests/sql/schema_tables.sql — the shape of the caas schema, read from the
-- catalogs (extension/sql/010_types.sql … 070_billing.sql).
--
-- Covers: the set of tables and enum types; the multi-tenant rules every
-- tenant table must keep so the schema distributes by org_id (org_id in the
-- primary key, in every unique constraint or unique index and in every
-- foreign key to another tenant table; no catalogue or identity table points
-- at a tenant table); row level security on every tenant table; comments on
-- every table, column, type and function; the OAuth states and dispatcher
-- heartbeats closed to plain SQL; the definitions of the indexes the API,
-- the dispatcher and housekeeping rely on, and the plans of the
-- dispatcher's claim query, the AI job claim, the token refresh scan, the
-- lateness histogram and the content list's keyset pagination.
--
-- Wording: a *tenant table* is any table of schema caas except the global
-- ones listed in pg_temp.global_tables below.  The checks are catalog queries,
-- not lists of tables or columns, so a table added later is held to the same
-- rules without touching this file.
--

BEGIN;
SELECT plan(51);

-- The tables that are not tenant data: identity (a user belongs to many
-- organisations), catalogues every tenant reads, the Stripe event log, the
-- OAuth states (matched by the state alone, before the organisation is
-- known), the dispatchers' heartbeats and the AI tones and prompt templates.
CREATE FUNCTION pg_temp.global_tables()
RETURNS name[]
LANGUAGE sql IMMUTABLE
AS $$ SELECT ARRAY['users', 'profiles', 'refresh_tokens', 'plans', 'platforms', 'stripe_events', 'post_transitions',
                   'oauth_states', 'dispatchers', 'ai_tones', 'ai_prompt_templates']::name[] $$;

-- Every tenant table, with the attnum of its org_id column (NULL when it has none).
CREATE VIEW pg_temp.tenant_tables AS
SELECT c.oid, c.relname, a.attnum AS org_attnum
  FROM pg_catalog.pg_class c
  LEFT JOIN pg_catalog.pg_attribute a
         ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
 WHERE c.relnamespace = 'caas'::regnamespace
   AND c.relkind IN ('r', 'p')
   AND c.relname <> ALL (pg_temp.global_tables());

-- EXPLAIN output of a query as one text, so a test can match on it.
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

-- ---------------------------------------------------------------- tables --

SELECT has_schema('caas', 'schema caas exists');

SELECT tables_are('caas', ARRAY[
  'platforms', 'plans', 'post_transitions',
  'users', 'profiles', 'refresh_tokens',
  'organizations', 'organization_members', 'invitations', 'workspaces',
  'content', 'content_versions',
  'social_accounts', 'scheduled_posts', 'post_attempts',
  'subscriptions', 'usage', 'stripe_events', 'audit_log',
  'oauth_states', 'dispatchers',
  'ai_tones', 'ai_prompt_templates', 'ai_jobs'],
  'schema caas has exactly the tables of the data model');

SELECT cmp_ok((SELECT count(*) FROM pg_temp.tenant_tables), '=', 13::bigint,
  'thirteen tables are tenant tables (all but the eleven global ones)');

-- ------------------------------------------------------ tenant key rules --

SELECT is_empty($$
  SELECT relname FROM pg_temp.tenant_tables WHERE org_attnum IS NULL
$$, 'every tenant table has an org_id column');

SELECT is_empty($$
  SELECT t.relname
    FROM pg_temp.tenant_tables t
    LEFT JOIN pg_catalog.pg_constraint pk ON pk.conrelid = t.oid AND pk.contype = 'p'
   WHERE pk.oid IS NULL OR NOT t.org_attnum = ANY (pk.conkey)
$$, 'every tenant table has a primary key that includes org_id');

-- Unique constraints and unique indexes alike: on a distributed table both
-- must contain the distribution column.  organizations_slug_key is the one
-- known exception, asserted separately below.
SELECT is_empty($$
  SELECT i.indexrelid::regclass::text
    FROM pg_catalog.pg_index i
    JOIN pg_temp.tenant_tables t ON t.oid = i.indrelid
   WHERE i.indisunique
     AND NOT t.org_attnum = ANY (i.indkey::int2[])
     AND i.indexrelid::regclass::text <> 'caas.organizations_slug_key'
$$, 'every unique constraint and unique index of a tenant table includes org_id');

SELECT results_eq($$
  SELECT pg_get_indexdef(i.indexrelid)
    FROM pg_catalog.pg_index i
    JOIN pg_temp.tenant_tables t ON t.oid = i.indrelid
   WHERE i.indisunique AND NOT t.org_attnum = ANY (i.indkey::int2[])
$$, $$ VALUES ('CREATE UNIQUE INDEX organizations_slug_key ON caas.organizations USING btree (slug)') $$,
  'the only tenant unique index without org_id is the global organisation slug');

SELECT is_empty($$
  SELECT c.conname
    FROM pg_catalog.pg_constraint c
    JOIN pg_temp.tenant_tables t ON t.oid = c.conrelid
    JOIN pg_temp.tenant_tables r ON r.oid = c.confrelid
   WHERE c.contype = 'f'
     AND NOT EXISTS (SELECT 1 FROM unnest(c.conkey, c.confkey) AS k(fk_col, pk_col)
                      WHERE k.fk_col = t.org_attnum AND k.pk_col = r.org_attnum)
$$, 'every foreign key between tenant tables maps org_id to org_id');

SELECT cmp_ok((SELECT count(*)
                 FROM pg_catalog.pg_constraint c
                 JOIN pg_temp.tenant_tables t ON t.oid = c.conrelid
                 JOIN pg_temp.tenant_tables r ON r.oid = c.confrelid
                WHERE c.contype = 'f' AND c.conrelid <> 'caas.organizations'::regclass
                  AND c.confrelid <> 'caas.organizations'::regclass),
  '>=', 6::bigint,
  'the foreign-key rule above is checked against at least six tenant-to-tenant keys below organisations');

SELECT is_empty($$
  SELECT c.conrelid::regclass::text || ' -> ' || c.confrelid::regclass::text
    FROM pg_catalog.pg_constraint c
    JOIN pg_catalog.pg_class src ON src.oid = c.conrelid
    JOIN pg_temp.tenant_tables r ON r.oid = c.confrelid
   WHERE c.contype = 'f'
     AND src.relnamespace = 'caas'::regnamespace
     AND src.relname = ANY (pg_temp.global_tables())
$$, 'no global table has a foreign key to a tenant table');

-- ------------------------------------------------------ row level security --

SELECT is_empty($$
  SELECT t.relname
    FROM pg_temp.tenant_tables t
    JOIN pg_catalog.pg_class c ON c.oid = t.oid
   WHERE NOT c.relrowsecurity
$$, 'row level security is enabled on every tenant table');

-- The global tables reached only through functions: RLS forced without any
-- policy, and no privilege for any caas role, so plain SQL sees nothing.
SELECT is_empty($$
  SELECT c.relname || ' ' || r.rolname
    FROM pg_catalog.pg_class c
   CROSS JOIN (VALUES ('caas_anon'), ('caas_user'), ('caas_analyst'), ('caas_dispatcher')) AS r(rolname)
   WHERE c.oid IN ('caas.oauth_states'::regclass, 'caas.dispatchers'::regclass)
     AND (NOT c.relrowsecurity OR NOT c.relforcerowsecurity
          OR has_table_privilege(r.rolname, c.oid, 'SELECT, INSERT, UPDATE, DELETE'))
$$, 'oauth_states and dispatchers force row level security and grant nothing to the caas roles');

-- ----------------------------------------------------------------- comments --

SELECT is_empty($$
  SELECT c.relname
    FROM pg_catalog.pg_class c
   WHERE c.relnamespace = 'caas'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
     AND obj_description(c.oid, 'pg_class') IS NULL
$$, 'every table of schema caas has a comment');

-- A column may go without a comment only when its name says it all:
-- org_id, created_at, updated_at, or the table's own identifier (a *_id
-- column of the primary key that is not a foreign key to another table).
SELECT is_empty($$
  SELECT c.relname || '.' || a.attname
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_catalog.pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
   WHERE c.relnamespace = 'caas'::regnamespace AND c.relkind IN ('r', 'p')
     AND col_description(c.oid, a.attnum) IS NULL
     AND a.attname NOT IN ('org_id', 'created_at', 'updated_at')
     AND NOT (a.attname LIKE '%\_id'
              AND a.attnum = ANY (pk.conkey)
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint fk
                               WHERE fk.conrelid = c.oid AND fk.contype = 'f'
                                 AND a.attnum = ANY (fk.conkey)))
$$, 'every column has a comment, except org_id, created_at, updated_at and a table''s own id');

SELECT is_empty($$
  SELECT t.typname
    FROM pg_catalog.pg_type t
   WHERE t.typnamespace = 'caas'::regnamespace AND t.typtype IN ('e', 'd')
     AND obj_description(t.oid, 'pg_type') IS NULL
$$, 'every enum and domain of schema caas has a comment');

SELECT is_empty($$
  SELECT p.oid::regprocedure::text
    FROM pg_catalog.pg_proc p
   WHERE p.pronamespace = 'caas'::regnamespace
     AND obj_description(p.oid, 'pg_proc') IS NULL
$$, 'every function of schema caas has a comment');

-- -------------------------------------------------------------- enum types --

SELECT enums_are('caas', ARRAY[
  'org_role', 'invitation_status', 'content_status', 'version_source',
  'account_status', 'post_state', 'attempt_outcome', 'subscription_status', 'ai_job_state'],
  'schema caas has exactly the enum types of the data model');

SELECT enum_has_labels('caas', 'org_role',
  ARRAY['owner', 'admin', 'member', 'viewer'],
  'org_role lists the roles from most to least powerful');
SELECT enum_has_labels('caas', 'invitation_status',
  ARRAY['pending', 'accepted', 'revoked', 'expired'],
  'invitation_status has pending, accepted, revoked and expired');
SELECT enum_has_labels('caas', 'content_status',
  ARRAY['draft', 'scheduled', 'published', 'archived'],
  'content_status has draft, scheduled, published and archived');
SELECT enum_has_labels('caas', 'version_source',
  ARRAY['manual', 'ai', 'restore'],
  'version_source has manual, ai and restore');
SELECT enum_has_labels('caas', 'account_status',
  ARRAY['connected', 'needs_reauth', 'disconnected'],
  'account_status has connected, needs_reauth and disconnected');
SELECT enum_has_labels('caas', 'post_state',
  ARRAY['scheduled', 'publishing', 'published', 'failed', 'unconfirmed', 'cancelled'],
  'post_state has the six states of a scheduled post, in life order');
SELECT enum_has_labels('caas', 'attempt_outcome',
  ARRAY['published', 'retryable', 'needs_reauth', 'permanent', 'unknown'],
  'attempt_outcome has the five outcome classes of the adapters');
SELECT enum_has_labels('caas', 'ai_job_state',
  ARRAY['queued', 'running', 'succeeded', 'failed'],
  'ai_job_state has the four states of an AI generation job, in life order');
SELECT enum_has_labels('caas', 'subscription_status',
  ARRAY['trialing', 'active', 'past_due', 'canceled', 'unpaid', 'incomplete', 'incomplete_expired', 'paused'],
  'subscription_status spells the Stripe statuses as Stripe does');

-- ----------------------------------------------------------------- indexes --

CREATE FUNCTION pg_temp.indexdef(index_name name)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT indexdef FROM pg_catalog.pg_indexes WHERE schemaname = 'caas' AND indexname = index_name $$;

SELECT is(pg_temp.indexdef('content_org_created_idx'),
  'CREATE INDEX content_org_created_idx ON caas.content USING btree (org_id, created_at DESC, content_id DESC)',
  'content_org_created_idx orders an organisation''s content newest first for keyset pagination');
SELECT is(pg_temp.indexdef('content_workspace_created_idx'),
  'CREATE INDEX content_workspace_created_idx ON caas.content USING btree (org_id, workspace_id, created_at DESC, content_id DESC)',
  'content_workspace_created_idx paginates one workspace''s content newest first');
SELECT is(pg_temp.indexdef('scheduled_posts_due_idx'),
  'CREATE INDEX scheduled_posts_due_idx ON caas.scheduled_posts USING btree (run_at) WHERE (state = ''scheduled''::caas.post_state)',
  'scheduled_posts_due_idx indexes run_at of waiting posts only');
SELECT is(pg_temp.indexdef('scheduled_posts_lease_idx'),
  'CREATE INDEX scheduled_posts_lease_idx ON caas.scheduled_posts USING btree (lease_expires_at) WHERE (state = ''publishing''::caas.post_state)',
  'scheduled_posts_lease_idx indexes the leases of publishing posts for the sweeper');
SELECT is(pg_temp.indexdef('scheduled_posts_published_idx'),
  'CREATE INDEX scheduled_posts_published_idx ON caas.scheduled_posts USING btree (published_at) WHERE (state = ''published''::caas.post_state)',
  'scheduled_posts_published_idx indexes recent publications for the lateness histogram');
SELECT is(pg_temp.indexdef('social_accounts_refresh_idx'),
  'CREATE INDEX social_accounts_refresh_idx ON caas.social_accounts USING btree (token_expires_at) WHERE ((status = ''connected''::caas.account_status) AND (refresh_token_enc IS NOT NULL))',
  'social_accounts_refresh_idx finds the connected accounts whose tokens expire soonest, for the refresh scan');
SELECT is(pg_temp.indexdef('oauth_states_expires_idx'),
  'CREATE INDEX oauth_states_expires_idx ON caas.oauth_states USING btree (expires_at)',
  'oauth_states_expires_idx serves the clean-up of expired OAuth states');
SELECT is(pg_temp.indexdef('organization_members_user_idx'),
  'CREATE INDEX organization_members_user_idx ON caas.organization_members USING btree (user_id, org_id)',
  'organization_members_user_idx finds a user''s organisations for the RLS helpers');
SELECT is(pg_temp.indexdef('organization_members_one_owner'),
  'CREATE UNIQUE INDEX organization_members_one_owner ON caas.organization_members USING btree (org_id) WHERE (role = ''owner''::caas.org_role)',
  'organization_members_one_owner allows one owner per organisation');
SELECT is(pg_temp.indexdef('invitations_one_pending_per_email'),
  'CREATE UNIQUE INDEX invitations_one_pending_per_email ON caas.invitations USING btree (org_id, email) WHERE (status = ''pending''::caas.invitation_status)',
  'invitations_one_pending_per_email allows one pending invitation per address and organisation');
SELECT is(pg_temp.indexdef('invitations_pending_expiry_idx'),
  'CREATE INDEX invitations_pending_expiry_idx ON caas.invitations USING btree (expires_at) WHERE (status = ''pending''::caas.invitation_status)',
  'invitations_pending_expiry_idx serves the housekeeping job''s expiry scan');
SELECT is(pg_temp.indexdef('refresh_tokens_expires_idx'),
  'CREATE INDEX refresh_tokens_expires_idx ON caas.refresh_tokens USING btree (expires_at)',
  'refresh_tokens_expires_idx serves the housekeeping job''s token clean-up');
SELECT is(pg_temp.indexdef('stripe_events_received_idx'),
  'CREATE INDEX stripe_events_received_idx ON caas.stripe_events USING btree (received_at)',
  'stripe_events_received_idx serves the housekeeping job''s event clean-up');

SELECT is(pg_temp.indexdef('ai_jobs_due_idx'),
  'CREATE INDEX ai_jobs_due_idx ON caas.ai_jobs USING btree (run_at) WHERE (state = ''queued''::caas.ai_job_state)',
  'ai_jobs_due_idx indexes run_at of queued AI jobs for the claim');
SELECT is(pg_temp.indexdef('ai_jobs_lease_idx'),
  'CREATE INDEX ai_jobs_lease_idx ON caas.ai_jobs USING btree (lease_expires_at) WHERE (state = ''running''::caas.ai_job_state)',
  'ai_jobs_lease_idx indexes the leases of running AI jobs for the claim of lapsed ones');
SELECT is(pg_temp.indexdef('ai_jobs_open_idx'),
  'CREATE INDEX ai_jobs_open_idx ON caas.ai_jobs USING btree (org_id, variants) WHERE (state = ANY (ARRAY[''queued''::caas.ai_job_state, ''running''::caas.ai_job_state]))',
  'ai_jobs_open_idx holds the variants of an organisation''s open AI jobs for the quota reservation');
SELECT is(pg_temp.indexdef('ai_jobs_org_created_idx'),
  'CREATE INDEX ai_jobs_org_created_idx ON caas.ai_jobs USING btree (org_id, created_at DESC, job_id DESC)',
  'ai_jobs_org_created_idx orders an organisation''s AI jobs newest first for keyset pagination');

-- --------------------------------------------------------- query plans --

-- With sequential scans off the planner must still find an index that
-- answers the query in order; the empty test tables make costs meaningless
-- otherwise.  SET LOCAL ends with the transaction.
SET LOCAL enable_seqscan = off;

SELECT matches(
  pg_temp.plan_of($$SELECT org_id, post_id FROM caas.scheduled_posts
                    WHERE state = 'scheduled' AND run_at <= now()
                    ORDER BY run_at LIMIT 100 FOR UPDATE SKIP LOCKED$$),
  'Index Scan using scheduled_posts_due_idx on scheduled_posts\s+Index Cond: \(run_at <= now\(\)\)',
  'the dispatcher''s claim query scans scheduled_posts_due_idx with run_at as index condition');
SELECT doesnt_match(
  pg_temp.plan_of($$SELECT org_id, post_id FROM caas.scheduled_posts
                    WHERE state = 'scheduled' AND run_at <= now()
                    ORDER BY run_at LIMIT 100 FOR UPDATE SKIP LOCKED$$),
  'Sort',
  'the dispatcher''s claim query gets its order from the index, without a sort');
SELECT matches(
  pg_temp.plan_of($$SELECT org_id, post_id FROM caas.scheduled_posts
                    WHERE state = 'scheduled' AND run_at <= now()
                    ORDER BY run_at LIMIT 100 FOR UPDATE SKIP LOCKED$$),
  'Limit\s+->\s+LockRows',
  'the dispatcher''s claim query locks only the rows under its LIMIT');

SELECT matches(
  pg_temp.plan_of($$SELECT ctid FROM caas.ai_jobs
                    WHERE state = 'queued' AND run_at <= now()
                    ORDER BY run_at LIMIT 100 FOR UPDATE SKIP LOCKED$$),
  'Limit\s+->\s+LockRows\s+->\s+Index Scan using ai_jobs_due_idx on ai_jobs\s+Index Cond: \(run_at <= now\(\)\)',
  'the AI claim takes queued jobs in run_at order from ai_jobs_due_idx and locks only those under its LIMIT');

SELECT matches(
  pg_temp.plan_of($$SELECT published_at - due_at FROM caas.scheduled_posts
                    WHERE state = 'published' AND published_at >= now() - interval '15 minutes'$$),
  'Index Scan using scheduled_posts_published_idx on scheduled_posts\s+Index Cond: \(published_at >= ',
  'the lateness histogram reads the window''s publications from scheduled_posts_published_idx');
SELECT matches(
  pg_temp.plan_of($$SELECT org_id, account_id FROM caas.social_accounts
                    WHERE status = 'connected' AND refresh_token_enc IS NOT NULL
                      AND token_expires_at < now() + interval '10 minutes'
                    ORDER BY token_expires_at LIMIT 50 FOR NO KEY UPDATE SKIP LOCKED$$),
  'Limit\s+->\s+LockRows\s+->\s+Index Scan using social_accounts_refresh_idx on social_accounts\s+Index Cond: \(token_expires_at < ',
  'the refresh scan takes the soonest expiries from social_accounts_refresh_idx and locks only those under its LIMIT');

-- The content list's page, with sorts off too: the test tables hold the
-- rows earlier suites rolled back, so costs alone would pick a plan
-- depending on when autovacuum last ran.  A Sort node still shows if no
-- index gives the order.
SET LOCAL enable_sort = off;
SELECT matches(
  pg_temp.plan_of($$SELECT content_id FROM caas.content
                    WHERE org_id = '00000000-0000-0000-0000-000000000001'
                      AND (created_at, content_id) < ('2026-01-01 00:00:00+00', '00000000-0000-0000-0000-000000000001')
                    ORDER BY created_at DESC, content_id DESC LIMIT 20$$),
  'Index (Only )?Scan using content_org_created_idx on content\s+Index Cond: \(\(org_id = .*ROW\(created_at, content_id\) <',
  'the content list''s keyset page is an index range scan of content_org_created_idx');
SELECT doesnt_match(
  pg_temp.plan_of($$SELECT content_id FROM caas.content
                    WHERE org_id = '00000000-0000-0000-0000-000000000001'
                      AND (created_at, content_id) < ('2026-01-01 00:00:00+00', '00000000-0000-0000-0000-000000000001')
                    ORDER BY created_at DESC, content_id DESC LIMIT 20$$),
  'Sort',
  'the content list''s keyset page needs no sort');

SELECT * FROM finish();
ROLLBACK;
