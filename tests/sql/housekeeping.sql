--
-- tests/sql/housekeeping.sql — caas.housekeeping() and its pg_cron job
-- (extension/sql/090_housekeeping.sql).
--
-- Covers: CREATE EXTENSION scheduled the job caas-housekeeping every five
-- minutes in this database; one run expires pending invitations whose
-- expiry has come and leaves future, accepted, revoked and already expired
-- ones alone; deletes refresh tokens expired for longer than
-- caas.refresh_token_retention_days and keeps recently expired and live
-- ones (a kept child of a deleted token loses its parent link); deletes
-- Stripe events received more than caas.stripe_event_retention_days ago
-- and keeps newer ones; deletes AI jobs finished (succeeded or failed)
-- more than 30 days ago and keeps newer ones and unfinished ones however
-- old; returns the four counts; a second run finds nothing to do.
--
-- Rows "in the past" are inserted with explicit timestamps that satisfy the
-- tables' CHECKs (created before expiry, responded after creation).  Ages
-- are computed from the current settings, not hard-coded, so the test
-- holds whatever the operator configured.
--
-- Ids (00000000-0000-4000-8000-0000000000XX): a1 user, b1 organisation,
-- 91..96 invitations, 81..85 refresh tokens, e1 workspace, 61..64 AI jobs.
--

BEGIN;
SELECT plan(23);

-- ------------------------------------------------------------ the cron job --

SELECT has_function('caas', 'housekeeping', ARRAY[]::name[], 'caas.housekeeping() exists');

SELECT results_eq($$
  SELECT schedule, command, database, active FROM cron.job WHERE jobname = 'caas-housekeeping'
$$, $$ VALUES ('*/5 * * * *'::text, 'SELECT caas.housekeeping()'::text, current_database()::text COLLATE "default", true) $$,
  'the pg_cron job caas-housekeeping runs caas.housekeeping() every five minutes in this database');

-- ----------------------------------------------------------------- the data --

CREATE TEMP VIEW retention AS
SELECT make_interval(days => current_setting('caas.refresh_token_retention_days')::integer) AS tokens,
       make_interval(days => current_setting('caas.stripe_event_retention_days')::integer) AS events;

INSERT INTO caas.users (user_id, email, password_hash)
VALUES ('00000000-0000-4000-8000-0000000000a1', 'keeper@example.com', '$argon2id$x');
INSERT INTO caas.organizations (org_id, name, slug)
VALUES ('00000000-0000-4000-8000-0000000000b1', 'Housekeeping', 'housekeeping');

INSERT INTO caas.invitations (org_id, invitation_id, email, role, token_hash, status,
                              created_at, expires_at, accepted_by, responded_at) VALUES
  -- 91: pending, expired yesterday
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-000000000091', 'late@example.com',
   'member', sha256('i91'), 'pending', now() - interval '8 days', now() - interval '1 day', NULL, NULL),
  -- 92: pending, expires at this very instant
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-000000000092', 'now@example.com',
   'member', sha256('i92'), 'pending', now() - interval '7 days', now(), NULL, NULL),
  -- 93: pending, expires tomorrow
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-000000000093', 'soon@example.com',
   'member', sha256('i93'), 'pending', now(), now() + interval '1 day', NULL, NULL),
  -- 94: accepted before an expiry now past
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-000000000094', 'keeper@example.com',
   'admin', sha256('i94'), 'accepted', now() - interval '8 days', now() - interval '1 day',
   '00000000-0000-4000-8000-0000000000a1', now() - interval '7 days'),
  -- 95: revoked before an expiry now past
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-000000000095', 'late@example.com',
   'viewer', sha256('i95'), 'revoked', now() - interval '8 days', now() - interval '1 day',
   NULL, now() - interval '7 days'),
  -- 96: expired by an earlier run
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-000000000096', 'old@example.com',
   'viewer', sha256('i96'), 'expired', now() - interval '30 days', now() - interval '23 days', NULL, NULL);

INSERT INTO caas.refresh_tokens (token_id, user_id, family_id, parent_id, token_hash, issued_at, expires_at, consumed_at)
SELECT v.token_id, '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000080',
       v.parent_id, sha256(v.token_id::text::bytea), v.expires_at - interval '30 days', v.expires_at, v.consumed_at
  FROM retention r,
       LATERAL (VALUES
         -- 81: expired one day longer ago than the retention
         ('00000000-0000-4000-8000-000000000081'::uuid, NULL::uuid, now() - r.tokens - interval '1 day',
          now() - r.tokens - interval '20 days'),
         -- 82: expired one day less long ago than the retention
         ('00000000-0000-4000-8000-000000000082', NULL, now() - r.tokens + interval '1 day', NULL),
         -- 83: expired yesterday
         ('00000000-0000-4000-8000-000000000083', NULL, now() - interval '1 day', NULL),
         -- 84: live
         ('00000000-0000-4000-8000-000000000084', NULL, now() + interval '30 days', NULL),
         -- 85: live, issued in exchange for 81
         ('00000000-0000-4000-8000-000000000085', '00000000-0000-4000-8000-000000000081', now() + interval '10 days', NULL)
       ) AS v(token_id, parent_id, expires_at, consumed_at);

INSERT INTO caas.stripe_events (event_id, event_type, livemode, stripe_created_at, received_at, outcome, payload)
SELECT v.event_id, 'invoice.paid', false, v.received_at, v.received_at, 'applied', '{}'
  FROM retention r,
       LATERAL (VALUES
         ('evt_Old', now() - r.events - interval '1 day'),
         ('evt_Recent', now() - r.events + interval '1 day'),
         ('evt_New', now())
       ) AS v(event_id, received_at);

INSERT INTO caas.workspaces (org_id, workspace_id, name, slug)
VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000e1', 'W', 'w');
INSERT INTO caas.ai_jobs (org_id, job_id, workspace_id, content_id, platform, tone, brief, system_prompt, user_prompt,
                          state, claims, created_at, started_at, finished_at, result, error_code,
                          lease_owner, lease_expires_at)
SELECT '00000000-0000-4000-8000-0000000000b1', v.job_id, '00000000-0000-4000-8000-0000000000e1',
       CASE WHEN v.state = 'succeeded' THEN '00000000-0000-4000-8000-0000000000d1'::uuid END,
       'sandbox', 'casual', '{"topic": "t"}', 'Write.', '{}', v.state::caas.ai_job_state,
       CASE WHEN v.state = 'queued' THEN 0 ELSE 1 END,
       v.at, CASE WHEN v.state <> 'queued' THEN v.at END, CASE WHEN v.state IN ('succeeded', 'failed') THEN v.at END,
       CASE WHEN v.state = 'succeeded' THEN '{"versions": []}'::jsonb END,
       CASE WHEN v.state = 'failed' THEN 'server_error' END,
       CASE WHEN v.state = 'running' THEN 'worker:1' END, CASE WHEN v.state = 'running' THEN v.at END
  FROM (VALUES
    -- 61, 62: finished one day longer ago than 30 days
    ('00000000-0000-4000-8000-000000000061'::uuid, 'succeeded', now() - interval '31 days'),
    ('00000000-0000-4000-8000-000000000062', 'failed', now() - interval '31 days'),
    -- 63: finished 29 days ago
    ('00000000-0000-4000-8000-000000000063', 'succeeded', now() - interval '29 days'),
    -- 64: still running, started 40 days ago
    ('00000000-0000-4000-8000-000000000064', 'running', now() - interval '40 days'),
    -- 65: queued two days ago, never taken; 66: queued an hour ago
    ('00000000-0000-4000-8000-000000000065', 'queued', now() - interval '2 days'),
    ('00000000-0000-4000-8000-000000000066', 'queued', now() - interval '1 hour')
  ) AS v(job_id, state, at);

SELECT is((SELECT count(*) FROM caas.invitations) + (SELECT count(*) FROM caas.refresh_tokens)
          + (SELECT count(*) FROM caas.stripe_events), 14::bigint,
  'the test starts with six invitations, five refresh tokens and three Stripe events');

-- ------------------------------------------------------------------ one run --

SELECT results_eq($$
  SELECT invitations_expired, refresh_tokens_deleted, stripe_events_deleted, ai_jobs_deleted, ai_jobs_expired
    FROM caas.housekeeping()
$$, $$ VALUES (2, 1, 1, 2, 1) $$,
  'housekeeping reports two invitations expired, one refresh token, one Stripe event and two AI jobs deleted, one AI job expired');

CREATE FUNCTION pg_temp.invitation_status(id uuid)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT status::text FROM caas.invitations WHERE invitation_id = id $$;

SELECT is(pg_temp.invitation_status('00000000-0000-4000-8000-000000000091'), 'expired',
  'a pending invitation whose expiry has passed is expired');
SELECT is(pg_temp.invitation_status('00000000-0000-4000-8000-000000000092'), 'expired',
  'a pending invitation expiring at this instant is expired');
SELECT is(pg_temp.invitation_status('00000000-0000-4000-8000-000000000093'), 'pending',
  'a pending invitation expiring later stays pending');
SELECT results_eq($$
  SELECT status::text, accepted_by FROM caas.invitations WHERE invitation_id = '00000000-0000-4000-8000-000000000094'
$$, $$ VALUES ('accepted', '00000000-0000-4000-8000-0000000000a1'::uuid) $$,
  'an accepted invitation past its expiry stays accepted, with its acceptor');
SELECT is(pg_temp.invitation_status('00000000-0000-4000-8000-000000000095'), 'revoked',
  'a revoked invitation past its expiry stays revoked');
SELECT is(pg_temp.invitation_status('00000000-0000-4000-8000-000000000096'), 'expired',
  'an invitation already expired stays expired');
SELECT is((SELECT count(*) FROM caas.invitations), 6::bigint,
  'housekeeping deletes no invitation');

SELECT is_empty($$ SELECT 1 FROM caas.refresh_tokens WHERE token_id = '00000000-0000-4000-8000-000000000081' $$,
  'a refresh token expired for longer than the retention is deleted');
SELECT isnt_empty($$ SELECT 1 FROM caas.refresh_tokens WHERE token_id = '00000000-0000-4000-8000-000000000082' $$,
  'a refresh token expired for less than the retention is kept for reuse detection');
SELECT isnt_empty($$ SELECT 1 FROM caas.refresh_tokens WHERE token_id = '00000000-0000-4000-8000-000000000083' $$,
  'a refresh token expired yesterday is kept');
SELECT isnt_empty($$ SELECT 1 FROM caas.refresh_tokens WHERE token_id = '00000000-0000-4000-8000-000000000084' $$,
  'a live refresh token is kept');
SELECT results_eq($$
  SELECT family_id, parent_id FROM caas.refresh_tokens WHERE token_id = '00000000-0000-4000-8000-000000000085'
$$, $$ VALUES ('00000000-0000-4000-8000-000000000080'::uuid, NULL::uuid) $$,
  'a live token whose parent was deleted is kept, in its family, without the parent link');

SELECT is_empty($$ SELECT 1 FROM caas.stripe_events WHERE event_id = 'evt_Old' $$,
  'a Stripe event received longer ago than the retention is deleted');
SELECT isnt_empty($$ SELECT 1 FROM caas.stripe_events WHERE event_id = 'evt_Recent' $$,
  'a Stripe event received less long ago than the retention is kept for deduplication');
SELECT isnt_empty($$ SELECT 1 FROM caas.stripe_events WHERE event_id = 'evt_New' $$,
  'a Stripe event received now is kept');

SELECT results_eq($$ SELECT job_id FROM caas.ai_jobs WHERE org_id = '00000000-0000-4000-8000-0000000000b1' ORDER BY job_id $$,
  $$ VALUES ('00000000-0000-4000-8000-000000000063'::uuid), ('00000000-0000-4000-8000-000000000064'::uuid),
            ('00000000-0000-4000-8000-000000000065'::uuid), ('00000000-0000-4000-8000-000000000066'::uuid) $$,
  'AI jobs finished more than 30 days ago are deleted; one finished later, one running and the queued ones are kept');
SELECT results_eq($$ SELECT job_id, state::text, error_code FROM caas.ai_jobs
                    WHERE job_id IN ('00000000-0000-4000-8000-000000000065', '00000000-0000-4000-8000-000000000066') ORDER BY job_id $$,
  $$ VALUES ('00000000-0000-4000-8000-000000000065'::uuid, 'failed', 'expired'),
            ('00000000-0000-4000-8000-000000000066'::uuid, 'queued', NULL) $$,
  'an AI job queued for more than a day fails as expired (its reservation released); one queued an hour ago waits');

-- -------------------------------------------------------------- second run --

SELECT results_eq($$ SELECT * FROM caas.housekeeping() $$, $$ VALUES (0, 0, 0, 0, 0) $$,
  'a second run finds nothing to do');
SELECT is((SELECT count(*) FROM caas.invitations) + (SELECT count(*) FROM caas.refresh_tokens)
          + (SELECT count(*) FROM caas.stripe_events), 12::bigint,
  'a second run deletes nothing more');

SELECT * FROM finish();
ROLLBACK;
