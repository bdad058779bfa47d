--
-- bench/data.sql — set-based bench data, loaded by bench/run.sh as the
-- superuser into a throwaway database.
--
-- psql variables: orgs (10000) and per_org (100).  For org n (1..orgs):
--   org       md5('org' || n)::uuid        owner user  md5('user' || n)::uuid
--   workspace md5('ws' || n)::uuid         account     md5('acct' || n)::uuid (sandbox, connected)
--   content k (1..per_org)  md5('content' || n || '-' || k)::uuid, with its version 1
--   one scheduled post per content item, to the org's account
-- so the pgbench scripts compute every id from random numbers.  Each org has
-- an active Team subscription.
--
-- Triggers are off for the load (session_replication_role = replica): the
-- rows are written already in the shape the triggers would give them
-- (content.current_version = 1 with its manual version 1; counts within the
-- Team limits), which is what makes a million rows take seconds, not
-- minutes.  Foreign keys are not checked either; the ids above are
-- consistent by construction.
--
-- Posts: 2% due in the last 10 minutes (the dispatcher's backlog), 18%
-- published in the past (1 to 120 s late), 80% scheduled over the next 60
-- days.
--
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET synchronous_commit = off;
SET session_replication_role = replica;
SET maintenance_work_mem = '256MB';

\timing on
BEGIN;
INSERT INTO caas.users (user_id, email, password_hash, created_at)
SELECT md5('user' || n)::uuid, 'owner' || n || '@bench.example.com',
       '$argon2id$v=19$m=65536,t=3,p=4$YmVuY2g$YmVuY2hiZW5jaGJlbmNo', now() - interval '400 days'
  FROM generate_series(1, :orgs) n;
INSERT INTO caas.profiles (user_id, first_name) SELECT md5('user' || n)::uuid, 'Owner ' || n
  FROM generate_series(1, :orgs) n;
INSERT INTO caas.organizations (org_id, name, slug, created_at)
SELECT md5('org' || n)::uuid, 'Bench org ' || n, 'bench-org-' || n, now() - interval '400 days'
  FROM generate_series(1, :orgs) n;
INSERT INTO caas.subscriptions (org_id, plan_id, status, stripe_customer_id, stripe_subscription_id)
SELECT md5('org' || n)::uuid, 'team', 'active', 'cus_bench' || n, 'sub_bench' || n
  FROM generate_series(1, :orgs) n;
INSERT INTO caas.organization_members (org_id, user_id, role)
SELECT md5('org' || n)::uuid, md5('user' || n)::uuid, 'owner'
  FROM generate_series(1, :orgs) n;
INSERT INTO caas.workspaces (org_id, workspace_id, name, slug, created_by)
SELECT md5('org' || n)::uuid, md5('ws' || n)::uuid, 'Main', 'main', md5('user' || n)::uuid
  FROM generate_series(1, :orgs) n;
INSERT INTO caas.social_accounts (org_id, account_id, platform, external_id, handle, status,
                                  access_token_enc, token_key_id, connected_by)
SELECT md5('org' || n)::uuid, md5('acct' || n)::uuid, 'sandbox', 'sandbox-' || n, '@bench' || n, 'connected',
       decode(repeat('5a', 48), 'hex'), 'bench', md5('user' || n)::uuid
  FROM generate_series(1, :orgs) n;
COMMIT;

-- Content and version 1 in one pass over generate_series.
BEGIN;
CREATE TEMP TABLE bench_content ON COMMIT DROP AS
SELECT md5('org' || n)::uuid AS org_id,
       md5('content' || n || '-' || k)::uuid AS content_id,
       n, k,
       'Post ' || k || ' of org ' || n || ': ' || repeat('lorem ipsum ', 1 + (k % 8)) AS body,
       now() - make_interval(secs => ((:per_org - k) * 86400 * 3 + (n % 86400))::double precision) AS created_at
  FROM generate_series(1, :orgs) n, generate_series(1, :per_org) k;
INSERT INTO caas.content (org_id, content_id, workspace_id, title, body, platform, status,
                          current_version, created_by, created_at, updated_at)
SELECT org_id, content_id, md5('ws' || n)::uuid, 'Item ' || k, body, 'sandbox',
       CASE WHEN k % 100 < 20 THEN 'published' ELSE 'scheduled' END::caas.content_status,
       1, md5('user' || n)::uuid, created_at, created_at
  FROM bench_content;
INSERT INTO caas.content_versions (org_id, content_id, version, body, source, author_id, created_at)
SELECT org_id, content_id, 1, body, 'manual', md5('user' || n)::uuid, created_at
  FROM bench_content;
INSERT INTO caas.scheduled_posts (org_id, content_id, content_version, account_id, state, due_at, timezone,
                                  run_at, attempts, remote_id, published_at, created_by, created_at)
SELECT org_id, content_id, 1, md5('acct' || n)::uuid, s.state::caas.post_state, s.due, 'UTC', s.due,
       CASE WHEN s.state = 'published' THEN 1 ELSE 0 END,
       CASE WHEN s.state = 'published' THEN 'remote-' || n || '-' || k END,
       CASE WHEN s.state = 'published' THEN s.due + make_interval(secs => (1 + (n + k) % 120)::double precision) END,
       md5('user' || n)::uuid, created_at
  FROM bench_content,
       LATERAL (SELECT CASE WHEN k % 100 < 2 THEN 'scheduled'
                            WHEN k % 100 < 20 THEN 'published'
                            ELSE 'scheduled' END AS state,
                       CASE WHEN k % 100 < 2 THEN now() - make_interval(secs => ((n * 7 + k) % 600)::double precision)
                            WHEN k % 100 < 20 THEN created_at + interval '1 hour'
                            ELSE now() + make_interval(secs => ((n * 131 + k * 8641) % (60 * 86400))::double precision)
                       END AS due) s;
COMMIT;

-- This period's usage: what the scheduled posts consumed.
INSERT INTO caas.usage (org_id, period_start, period_end, scheduled_posts)
SELECT o.org_id, s.current_period_start, s.current_period_end, :per_org
  FROM caas.organizations o JOIN caas.subscriptions s USING (org_id);
\timing off

VACUUM (ANALYZE) caas.users, caas.organizations, caas.subscriptions, caas.organization_members,
  caas.workspaces, caas.social_accounts, caas.content, caas.content_versions, caas.scheduled_posts,
  caas.usage;
