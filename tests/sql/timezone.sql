--
-- tests/sql/timezone.sql — caas.timezone_is_valid (extension/src/timezone.c,
-- declared in extension/sql/010_types.sql) and the CHECK constraints that
-- use it.
--
-- Covers: IANA names PostgreSQL's time zone database knows are valid, digits
-- included (Etc/GMT+5, EST5EDT); offsets, POSIX TZ strings, unknown names,
-- paths and over-long strings are not; NULL gives NULL; the function is
-- immutable and strict so CHECK constraints may use it; a profile, an
-- organisation, a workspace and a scheduled post with a bad zone are
-- rejected with 23514.
--

BEGIN;
SELECT plan(29);

-- -------------------------------------------------------------- function --

SELECT has_function('caas', 'timezone_is_valid', ARRAY['text'],
  'caas.timezone_is_valid(text) exists');
SELECT function_returns('caas', 'timezone_is_valid', ARRAY['text'], 'boolean',
  'caas.timezone_is_valid returns boolean');
SELECT volatility_is('caas', 'timezone_is_valid', ARRAY['text'], 'immutable',
  'caas.timezone_is_valid is immutable, so CHECK constraints may call it');
SELECT is_strict('caas', 'timezone_is_valid', ARRAY['text'],
  'caas.timezone_is_valid is strict');

-- ----------------------------------------------------------- valid names --

SELECT ok(caas.timezone_is_valid('UTC'), 'UTC is a valid zone');
SELECT ok(caas.timezone_is_valid('Europe/Paris'), 'Europe/Paris is a valid zone');
SELECT ok(caas.timezone_is_valid('America/New_York'), 'America/New_York is a valid zone');
SELECT ok(caas.timezone_is_valid('Asia/Kolkata'), 'Asia/Kolkata is a valid zone');
SELECT ok(caas.timezone_is_valid('America/Argentina/Buenos_Aires'), 'a three-level name (America/Argentina/Buenos_Aires) is a valid zone');
SELECT ok(caas.timezone_is_valid('Etc/GMT+5'), 'Etc/GMT+5, a database zone with digits, is valid');
SELECT ok(caas.timezone_is_valid('EST5EDT'), 'EST5EDT, a database zone with digits, is valid');

-- --------------------------------------------------------- invalid names --

SELECT is(caas.timezone_is_valid('+05:00'), false, 'an offset (+05:00) is not a zone');
SELECT is(caas.timezone_is_valid('UTC+5'), false, 'an offset from UTC (UTC+5) is not a zone');
SELECT is(caas.timezone_is_valid('ABC5'), false, 'a POSIX TZ string without DST (ABC5) is not a zone');
SELECT is(caas.timezone_is_valid('ABC5DEF'), false, 'a POSIX TZ string with DST (ABC5DEF) is not a zone');
SELECT is(caas.timezone_is_valid('Mars/Olympus'), false, 'an unknown name (Mars/Olympus) is not a zone');
SELECT is(caas.timezone_is_valid(''), false, 'the empty string is not a zone');
SELECT is(caas.timezone_is_valid('../../etc/passwd'), false, 'a relative path escaping the zone directory is not a zone');
SELECT is(caas.timezone_is_valid('/etc/localtime'), false, 'an absolute path is not a zone');
SELECT is(caas.timezone_is_valid('Europe/Paris/'), false, 'a name with a trailing slash is not a zone');
SELECT is(caas.timezone_is_valid('Europe Paris'), false, 'a name with a space is not a zone');
SELECT is(caas.timezone_is_valid(repeat('A', 100)), false, 'a 100-character string is not a zone');
SELECT is(caas.timezone_is_valid(NULL), NULL, 'NULL gives NULL');

-- -------------------------------------------------- tables that use it --

-- Rows valid in every other respect, so only the time zone can reject them.
INSERT INTO caas.users (user_id, email, password_hash)
VALUES ('00000000-0000-4000-8000-0000000000a1', 'tz@example.com', '$argon2id$x');
INSERT INTO caas.organizations (org_id, name, slug)
VALUES ('00000000-0000-4000-8000-0000000000b1', 'Zones', 'zones');
INSERT INTO caas.workspaces (org_id, workspace_id, name, slug)
VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c1', 'Main', 'main');
INSERT INTO caas.content (org_id, content_id, workspace_id, body)
VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000d1',
        '00000000-0000-4000-8000-0000000000c1', 'Hello');
-- Version 1 ('Hello', manual) is written by the content trigger (050_versions.sql).
INSERT INTO caas.social_accounts (org_id, account_id, platform, external_id, status)
VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000e1', 'sandbox', 'zones', 'disconnected');

SELECT lives_ok($$
  INSERT INTO caas.profiles (user_id, timezone) VALUES ('00000000-0000-4000-8000-0000000000a1', 'Asia/Kolkata')
$$, 'a profile in Asia/Kolkata is accepted');
SELECT throws_ok($$
  UPDATE caas.profiles SET timezone = 'UTC+5' WHERE user_id = '00000000-0000-4000-8000-0000000000a1'
$$, '23514', 'new row for relation "profiles" violates check constraint "profiles_timezone_check"',
  'a profile with an offset as time zone is rejected');
SELECT throws_ok($$
  UPDATE caas.organizations SET default_timezone = 'Mars/Olympus' WHERE org_id = '00000000-0000-4000-8000-0000000000b1'
$$, '23514', 'new row for relation "organizations" violates check constraint "organizations_default_timezone_check"',
  'an organisation with an unknown default zone is rejected');
SELECT throws_ok($$
  UPDATE caas.workspaces SET timezone = 'ABC5DEF' WHERE workspace_id = '00000000-0000-4000-8000-0000000000c1'
$$, '23514', 'new row for relation "workspaces" violates check constraint "workspaces_timezone_check"',
  'a workspace with a POSIX TZ string as zone is rejected');
SELECT lives_ok($$
  INSERT INTO caas.scheduled_posts (org_id, post_id, content_id, content_version, account_id, due_at, timezone, run_at)
  VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000f1',
          '00000000-0000-4000-8000-0000000000d1', 1, '00000000-0000-4000-8000-0000000000e1',
          now(), 'America/New_York', now())
$$, 'a post scheduled in America/New_York is accepted');
SELECT throws_ok($$
  UPDATE caas.scheduled_posts SET timezone = '+05:00' WHERE post_id = '00000000-0000-4000-8000-0000000000f1'
$$, '23514', 'new row for relation "scheduled_posts" violates check constraint "scheduled_posts_timezone_check"',
  'a scheduled post with an offset as time zone is rejected');

SELECT * FROM finish();
ROLLBACK;
