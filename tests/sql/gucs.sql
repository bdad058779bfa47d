--
-- tests/sql/gucs.sql — the caas.* settings (extension/src/guc.c).
--
-- Covers: the four settings of release 0.1 and caas.past_due_grace_days (0.2) exist, each with its default,
-- bounds, type and context sighup (reloadable, never per session), and any
-- caas.* setting is bounded, described and operator-only; the dispatcher's
-- settings (0.2): caas.dispatcher_workers and caas.dispatcher_database are
-- read by the postmaster at start (context postmaster),
-- caas.dispatcher_config_file, caas.dispatcher_heartbeat_timeout_sec and
-- caas.lateness_window_minutes are reloadable; the caas
-- prefix is reserved, so a misspelt setting is an error instead of a silent
-- placeholder; a session cannot change a sighup setting; other prefixes
-- (the API's request.jwt.claims) stay usable; the column defaults that read
-- caas.invitation_ttl_hours and caas.post_max_attempts follow them.
--

BEGIN;
SELECT plan(20);

-- -------------------------------------------------------- the settings --

-- Every caas.* setting, including one added later, follows the house rules
-- of guc.c: bounded, described, and never changeable by a session.
SELECT is_empty($$
  SELECT name FROM pg_catalog.pg_settings
   WHERE name LIKE 'caas.%'
     AND (context NOT IN ('postmaster', 'sighup', 'superuser') OR short_desc IS NULL
          OR (vartype IN ('integer', 'real') AND (min_val IS NULL OR max_val IS NULL)))
$$, 'every caas.* setting is bounded, described, and set by the operator, not per session');

CREATE FUNCTION pg_temp.setting(setting_name text)
RETURNS TABLE (vartype text, boot_val text, min_val text, max_val text, context text)
LANGUAGE sql STABLE
AS $$
  SELECT vartype, boot_val, min_val, max_val, context
    FROM pg_catalog.pg_settings WHERE name = setting_name
$$;

SELECT results_eq($$ SELECT * FROM pg_temp.setting('caas.invitation_ttl_hours') $$,
  $$ VALUES ('integer', '168', '1', '720', 'sighup') $$,
  'caas.invitation_ttl_hours is an integer defaulting to 168 (one week), from 1 to 720, reloadable');
SELECT results_eq($$ SELECT * FROM pg_temp.setting('caas.refresh_token_retention_days') $$,
  $$ VALUES ('integer', '30', '1', '365', 'sighup') $$,
  'caas.refresh_token_retention_days is an integer defaulting to 30, from 1 to 365, reloadable');
SELECT results_eq($$ SELECT * FROM pg_temp.setting('caas.stripe_event_retention_days') $$,
  $$ VALUES ('integer', '90', '7', '3650', 'sighup') $$,
  'caas.stripe_event_retention_days is an integer defaulting to 90, from 7 to 3650, reloadable');
SELECT results_eq($$ SELECT * FROM pg_temp.setting('caas.post_max_attempts') $$,
  $$ VALUES ('integer', '3', '1', '20', 'sighup') $$,
  'caas.post_max_attempts is an integer defaulting to 3, from 1 to 20, reloadable');
SELECT results_eq($$ SELECT * FROM pg_temp.setting('caas.past_due_grace_days') $$,
  $$ VALUES ('integer', '7', '0', '90', 'sighup') $$,
  'caas.past_due_grace_days is an integer defaulting to 7, from 0 to 90, reloadable');

SELECT results_eq($$ SELECT * FROM pg_temp.setting('caas.dispatcher_workers') $$,
  $$ VALUES ('integer', '1', '0', '8', 'postmaster') $$,
  'caas.dispatcher_workers is an integer defaulting to 1 background worker, from 0 to 8, set at server start');
SELECT results_eq($$ SELECT * FROM pg_temp.setting('caas.dispatcher_database') $$,
  $$ VALUES ('string', 'caas', NULL, NULL, 'postmaster') $$,
  'caas.dispatcher_database is a string defaulting to caas, set at server start');
SELECT results_eq($$ SELECT * FROM pg_temp.setting('caas.dispatcher_config_file') $$,
  $$ VALUES ('string', '', NULL, NULL, 'sighup') $$,
  'caas.dispatcher_config_file is a string defaulting to empty (built-in defaults), reloadable');
SELECT results_eq($$ SELECT * FROM pg_temp.setting('caas.dispatcher_heartbeat_timeout_sec') $$,
  $$ VALUES ('integer', '30', '5', '3600', 'sighup') $$,
  'caas.dispatcher_heartbeat_timeout_sec is an integer defaulting to 30, from 5 to 3600, reloadable');
SELECT results_eq($$ SELECT * FROM pg_temp.setting('caas.lateness_window_minutes') $$,
  $$ VALUES ('integer', '15', '1', '1440', 'sighup') $$,
  'caas.lateness_window_minutes is an integer defaulting to 15, from 1 to 1440, reloadable');

-- --------------------------------------------------- what a session may do --

SELECT throws_ok($$ SET caas.no_such_setting = 1 $$,
  '42602', 'invalid configuration parameter name "caas.no_such_setting"',
  'SET of an unknown caas.* setting fails: the prefix is reserved');
SELECT throws_ok($$ SELECT set_config('caas.invitation_ttl_hour', '10', true) $$,
  '42602', 'invalid configuration parameter name "caas.invitation_ttl_hour"',
  'set_config of a misspelt caas.* setting fails too');
SELECT throws_ok($$ SET caas.invitation_ttl_hours = 10 $$,
  '55P02', 'parameter "caas.invitation_ttl_hours" cannot be changed now',
  'SET caas.invitation_ttl_hours fails: it is a sighup setting');
SELECT throws_ok($$ SET LOCAL caas.post_max_attempts = 20 $$,
  '55P02', 'parameter "caas.post_max_attempts" cannot be changed now',
  'SET LOCAL caas.post_max_attempts fails: a session cannot raise the attempt budget');
SELECT throws_ok($$ SELECT set_config('caas.refresh_token_retention_days', '1', true) $$,
  '55P02', 'parameter "caas.refresh_token_retention_days" cannot be changed now',
  'set_config cannot shorten the refresh token retention for a session');
SELECT throws_ok($$ SET caas.dispatcher_workers = 2 $$,
  '55P02', 'parameter "caas.dispatcher_workers" cannot be changed without restarting the server',
  'SET caas.dispatcher_workers fails: the workers are started by the postmaster');
SELECT lives_ok($$ SELECT set_config('request.jwt.claims', '{"sub": "x"}', true) $$,
  'custom settings under other prefixes (request.jwt.claims) stay usable');
-- The claim above is no user id; clear it before writing content, whose
-- version trigger records caas.current_user_id() as the author.
SELECT set_config('request.jwt.claims', '', true);

-- ----------------------------------------------- defaults that use them --

INSERT INTO caas.organizations (org_id, name, slug)
VALUES ('00000000-0000-4000-8000-0000000000b1', 'Settings', 'settings');
INSERT INTO caas.workspaces (org_id, workspace_id, name, slug)
VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c1', 'Main', 'main');
INSERT INTO caas.content (org_id, content_id, workspace_id, body)
VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000d1',
        '00000000-0000-4000-8000-0000000000c1', 'Hello');
-- Version 1 ('Hello', manual) is written by the content trigger (050_versions.sql).
INSERT INTO caas.social_accounts (org_id, account_id, platform, external_id, status)
VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000e1', 'sandbox', 'settings', 'disconnected');
INSERT INTO caas.invitations (org_id, invitation_id, email, role, token_hash)
VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-000000000091',
        'new@example.com', 'member', sha256('invite'));
INSERT INTO caas.scheduled_posts (org_id, post_id, content_id, content_version, account_id, due_at, timezone, run_at)
VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000f1',
        '00000000-0000-4000-8000-0000000000d1', 1, '00000000-0000-4000-8000-0000000000e1', now(), 'UTC', now());

SELECT is((SELECT expires_at - created_at FROM caas.invitations
            WHERE invitation_id = '00000000-0000-4000-8000-000000000091'),
  make_interval(hours => current_setting('caas.invitation_ttl_hours')::integer),
  'a new invitation expires caas.invitation_ttl_hours after its creation');
SELECT is((SELECT max_attempts FROM caas.scheduled_posts
            WHERE post_id = '00000000-0000-4000-8000-0000000000f1'),
  current_setting('caas.post_max_attempts')::integer,
  'a new scheduled post gets caas.post_max_attempts attempts');

SELECT * FROM finish();
ROLLBACK;
