--
-- tests/sql/api_posts.sql — scheduling posts (extension/sql/0.2/077_api_posts.sql:
-- caas.post_schedule, post_reschedule, post_cancel, post_get, post_list).
--
-- Covers, as caas_user the way the API calls: scheduling pins the current
-- version and consumes quota; one post per content × account (23505, then a
-- cancelled post is scheduled again, same id); platform text rules (X 280
-- weighted / 281, CJK 140 / 141, LinkedIn 3000 / 3001, Instagram needs an
-- image and 2200 / 2201, empty text) with CA003; a content platform that
-- differs from the account's (22023); instants in the past (CA004) with a
-- few seconds' grace; wall-clock times in Europe/Paris across both DST
-- changes (the spring gap is refused with 22023; the autumn ambiguity takes
-- the later, standard-time instant); invalid zone and malformed instant;
-- a foreign account (P0002), a disconnected or needs_reauth one (CA005);
-- viewer 42501, outsider P0002; cancel and its CA002; reschedule re-pins
-- and only a comeback consumes quota; a user cannot reschedule a post
-- being published; post_get with its attempt history; post_list filters
-- and pagination; the once-per-transaction NOTIFY flag; the Free plan's
-- 30 posts and 10 X posts (CA001).  The NOTIFY count itself is checked by
-- tests/integration/claim_race.t (notifications arrive only after commit).
--
-- Fixed ids (00000000-0000-4000-8000-000000000XXX):
--   0a1 owner, 0a2 member, 0a3 viewer, 0a4 outsider, 0a5 free owner;
--   0c1 team org, 0c2 other org, 0c3 free org; 0e1/0e2/0e3 their workspaces;
--   0d1 X, 0d2 LinkedIn, 0d3 Instagram, 0d4 sandbox, 0d5 disconnected,
--   0d6 needs_reauth (all c1), 0d7 sandbox of c2, 0d8 X and 0d9 sandbox of c3;
--   1xx content of c1, 2xx content of c3.
--

BEGIN;
SELECT plan(62);
SET LOCAL timezone = 'UTC';

INSERT INTO caas.users (user_id, email, password_hash) VALUES
  ('00000000-0000-4000-8000-0000000000a1', 'p1@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a2', 'p2@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a3', 'p3@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a4', 'p4@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a5', 'p5@example.com', '$argon2id$x');
INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000000c1', 'Team org', 'posts-team'),
  ('00000000-0000-4000-8000-0000000000c2', 'Other org', 'posts-other'),
  ('00000000-0000-4000-8000-0000000000c3', 'Free org', 'posts-free');
INSERT INTO caas.subscriptions (org_id, plan_id, status)
VALUES ('00000000-0000-4000-8000-0000000000c1', 'team', 'active');
INSERT INTO caas.organization_members (org_id, user_id, role) VALUES
  ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000a1', 'owner'),
  ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000a2', 'member'),
  ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000a3', 'viewer'),
  ('00000000-0000-4000-8000-0000000000c2', '00000000-0000-4000-8000-0000000000a4', 'owner'),
  ('00000000-0000-4000-8000-0000000000c3', '00000000-0000-4000-8000-0000000000a5', 'owner');
INSERT INTO caas.workspaces (org_id, workspace_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000e1', 'W', 'w'),
  ('00000000-0000-4000-8000-0000000000c2', '00000000-0000-4000-8000-0000000000e2', 'W', 'w'),
  ('00000000-0000-4000-8000-0000000000c3', '00000000-0000-4000-8000-0000000000e3', 'W', 'w');
INSERT INTO caas.social_accounts (org_id, account_id, platform, external_id, handle, status, access_token_enc, token_key_id)
SELECT o::uuid, a::uuid, p, 'ext-' || right(a, 2), '@' || right(a, 2), s::caas.account_status,
       CASE WHEN s <> 'disconnected' THEN decode(repeat('ab', 29), 'hex') END,
       CASE WHEN s <> 'disconnected' THEN 'k1' END
  FROM (VALUES
    ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000d1', 'x', 'connected'),
    ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000d2', 'linkedin', 'connected'),
    ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000d3', 'instagram', 'connected'),
    ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000d4', 'sandbox', 'connected'),
    ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000d5', 'sandbox', 'disconnected'),
    ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000d6', 'sandbox', 'needs_reauth'),
    ('00000000-0000-4000-8000-0000000000c2', '00000000-0000-4000-8000-0000000000d7', 'sandbox', 'connected'),
    ('00000000-0000-4000-8000-0000000000c3', '00000000-0000-4000-8000-0000000000d8', 'x', 'connected'),
    ('00000000-0000-4000-8000-0000000000c3', '00000000-0000-4000-8000-0000000000d9', 'sandbox', 'connected')
  ) AS v(o, a, p, s);
INSERT INTO caas.content (org_id, content_id, workspace_id, body, platform, media_urls)
SELECT '00000000-0000-4000-8000-0000000000c1', ('00000000-0000-4000-8000-000000000' || n)::uuid,
       '00000000-0000-4000-8000-0000000000e1', b, p, m
  FROM (VALUES
    (101, 'hello', NULL, '{}'::text[]),
    (102, repeat('a', 280), 'x', '{}'), (103, repeat('a', 281), 'x', '{}'),
    (104, repeat('漢', 140), 'x', '{}'), (105, repeat('漢', 141), 'x', '{}'),
    (106, repeat('b', 3000), 'linkedin', '{}'), (107, repeat('b', 3001), 'linkedin', '{}'),
    (108, 'a picture', 'instagram', '{}'),
    (109, repeat('c', 2200), 'instagram', '{https://cdn.example.com/1.jpg}'),
    (110, repeat('c', 2201), 'instagram', '{https://cdn.example.com/1.jpg}'),
    (111, '', NULL, '{}'), (112, 'for linkedin only', 'linkedin', '{}'),
    (113, 'wall clock', NULL, '{}'), (114, 'right now', NULL, '{}'),
    (115, 'disconnected', NULL, '{}'), (116, 'paged', NULL, '{}')
  ) AS v(n, b, p, m);
INSERT INTO caas.content (org_id, content_id, workspace_id, body)
SELECT '00000000-0000-4000-8000-0000000000c3', ('00000000-0000-4000-8000-000000000' || n)::uuid,
       '00000000-0000-4000-8000-0000000000e3', 'free post ' || n
  FROM generate_series(201, 232) AS n;

SET LOCAL ROLE caas_user;
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a2"}', true);

-- ------------------------------------------------------ scheduling --

SELECT is(caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000101',
                             '00000000-0000-4000-8000-0000000000d4', '2027-05-01T09:30:00Z', 'UTC')
          - 'post_id' - 'created_at' - 'updated_at',
  jsonb_build_object('org_id', '00000000-0000-4000-8000-0000000000c1',
    'content_id', '00000000-0000-4000-8000-000000000101', 'content_version', 1,
    'account_id', '00000000-0000-4000-8000-0000000000d4', 'platform', 'sandbox', 'state', 'scheduled',
    'due_at', '2027-05-01T09:30:00+00:00', 'timezone', 'UTC', 'run_at', '2027-05-01T09:30:00+00:00',
    'attempts', 0, 'max_attempts', 3, 'remote_id', NULL, 'remote_url', NULL, 'published_at', NULL,
    'last_error', NULL, 'created_by', '00000000-0000-4000-8000-0000000000a2'),
  'a member schedules content: state scheduled, version pinned, run_at = due_at, no attempts');
SELECT is(current_setting('caas_tx.notified', true), NULL,
  'a post due in 2027 does not wake the dispatcher');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000101',
                        '00000000-0000-4000-8000-0000000000d4', '2027-06-01T09:30:00Z', 'UTC') $$,
  '23505', 'post already scheduled for this account', 'the same content cannot be scheduled twice for one account');
SELECT is((SELECT scheduled_posts FROM caas.usage WHERE org_id = '00000000-0000-4000-8000-0000000000c1'),
  1, 'scheduling consumed one scheduled post');

-- ---------------------------------------------- platform text rules --

SELECT lives_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000102',
                       '00000000-0000-4000-8000-0000000000d1', '2027-05-01T09:30:00Z', 'UTC') $$,
  'X accepts 280 weighted characters');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000103',
                        '00000000-0000-4000-8000-0000000000d1', '2027-05-01T09:30:00Z', 'UTC') $$,
  'CA003', 'text too long for X: 281 of 280 weighted characters', 'X refuses 281 weighted characters (CA003)');
SELECT lives_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000104',
                       '00000000-0000-4000-8000-0000000000d1', '2027-05-01T09:30:00Z', 'UTC') $$,
  'X accepts 140 CJK characters (280 weighted)');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000105',
                        '00000000-0000-4000-8000-0000000000d1', '2027-05-01T09:30:00Z', 'UTC') $$,
  'CA003', 'text too long for X: 282 of 280 weighted characters', 'X refuses 141 CJK characters (CA003)');
SELECT lives_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000106',
                       '00000000-0000-4000-8000-0000000000d2', '2027-05-01T09:30:00Z', 'UTC') $$,
  'LinkedIn accepts 3000 characters');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000107',
                        '00000000-0000-4000-8000-0000000000d2', '2027-05-01T09:30:00Z', 'UTC') $$,
  'CA003', 'text too long for LinkedIn: 3001 of 3000 characters', 'LinkedIn refuses 3001 characters (CA003)');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000108',
                        '00000000-0000-4000-8000-0000000000d3', '2027-05-01T09:30:00Z', 'UTC') $$,
  'CA003', 'Instagram needs an image', 'Instagram refuses a post without an image (CA003)');
SELECT lives_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000109',
                       '00000000-0000-4000-8000-0000000000d3', '2027-05-01T09:30:00Z', 'UTC') $$,
  'Instagram accepts 2200 characters with an image');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000110',
                        '00000000-0000-4000-8000-0000000000d3', '2027-05-01T09:30:00Z', 'UTC') $$,
  'CA003', 'text too long for Instagram: 2201 of 2200 characters', 'Instagram refuses 2201 characters (CA003)');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000111',
                        '00000000-0000-4000-8000-0000000000d4', '2027-05-01T09:30:00Z', 'UTC') $$,
  'CA003', 'Sandbox (local only) needs text to post', 'content without text cannot be scheduled (CA003)');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000112',
                        '00000000-0000-4000-8000-0000000000d4', '2027-05-01T09:30:00Z', 'UTC') $$,
  '22023', 'content written for linkedin cannot go to a sandbox account',
  'content written for another platform than the account''s is refused (22023)');
SELECT is((SELECT x_posts FROM caas.usage WHERE org_id = '00000000-0000-4000-8000-0000000000c1'),
  2, 'only the two accepted X posts count as X posts');

-- ---------------------------------------------------------- time --

SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000114',
                        '00000000-0000-4000-8000-0000000000d4', '2020-01-01T00:00:00Z', 'UTC') $$,
  'CA004', '2020-01-01T00:00:00Z has already passed', 'an instant in the past is refused (CA004)');
SELECT is(caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000114',
                             '00000000-0000-4000-8000-0000000000d4',
                             to_char((now() - interval '2 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                             'UTC') ->> 'state',
  'scheduled', 'an instant a couple of seconds ago is within the grace and accepted');
SELECT is(current_setting('caas_tx.notified', true), pg_current_xact_id()::text,
  'a post due now sets the transaction''s notified flag (one NOTIFY for the transaction)');
SELECT is((caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000113',
                              '00000000-0000-4000-8000-0000000000d4', '2027-07-01T12:00', 'Europe/Paris') ->> 'due_at')::timestamptz,
  '2027-07-01 10:00:00+00'::timestamptz, 'a wall-clock time in Europe/Paris in summer is 2 hours ahead of UTC');
SELECT throws_ok(format($$ SELECT caas.post_reschedule('00000000-0000-4000-8000-0000000000c1', %L, '2027-03-28T02:30', 'Europe/Paris') $$,
                        (SELECT post_id FROM caas.scheduled_posts WHERE content_id = '00000000-0000-4000-8000-000000000113')),
  '22023', '2027-03-28 02:30 does not exist in Europe/Paris',
  '02:30 on the spring-forward day does not exist in Europe/Paris (22023)');
SELECT is((caas.post_reschedule('00000000-0000-4000-8000-0000000000c1',
             (SELECT post_id FROM caas.scheduled_posts WHERE content_id = '00000000-0000-4000-8000-000000000113'),
             '2027-03-28T03:30', 'Europe/Paris') ->> 'due_at')::timestamptz,
  '2027-03-28 01:30:00+00'::timestamptz, '03:30 on the spring-forward day is already summer time (UTC+2)');
SELECT is((caas.post_reschedule('00000000-0000-4000-8000-0000000000c1',
             (SELECT post_id FROM caas.scheduled_posts WHERE content_id = '00000000-0000-4000-8000-000000000113'),
             '2027-10-31T02:30', 'Europe/Paris') ->> 'due_at')::timestamptz,
  '2027-10-31 01:30:00+00'::timestamptz,
  'the ambiguous 02:30 on the fall-back day is taken as the later instant, in standard time (UTC+1)');
SELECT is((caas.post_reschedule('00000000-0000-4000-8000-0000000000c1',
             (SELECT post_id FROM caas.scheduled_posts WHERE content_id = '00000000-0000-4000-8000-000000000113'),
             '2027-12-01T09:00:00+05:30', NULL) ->> 'due_at')::timestamptz,
  '2027-12-01 03:30:00+00'::timestamptz, 'an instant with an offset is taken as is, whatever the zone');
SELECT is((SELECT timezone FROM caas.scheduled_posts WHERE content_id = '00000000-0000-4000-8000-000000000113'),
  'Europe/Paris', 'a reschedule without a zone keeps the post''s zone');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000115',
                        '00000000-0000-4000-8000-0000000000d4', '2027-05-01T09:30', '+02:00') $$,
  '22023', 'invalid time zone "+02:00"', 'an offset is not a time zone (22023)');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000115',
                        '00000000-0000-4000-8000-0000000000d4', 'tomorrow', 'UTC') $$,
  '22007', 'invalid instant "tomorrow"', 'a malformed instant is refused (22007)');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000115',
                        '00000000-0000-4000-8000-0000000000d4', '2027-02-30T09:00', 'UTC') $$,
  '22007', 'invalid instant "2027-02-30T09:00"', 'an impossible date is refused (22007)');

-- ------------------------------------------- accounts and roles --

SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000115',
                        '00000000-0000-4000-8000-0000000000d7', '2027-05-01T09:30:00Z', 'UTC') $$,
  'P0002', 'social account not found', 'another organisation''s account is invisible (P0002)');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000115',
                        '00000000-0000-4000-8000-0000000000d5', '2027-05-01T09:30:00Z', 'UTC') $$,
  'CA005', 'social account @d5 is disconnected', 'a disconnected account cannot receive posts (CA005)');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000115',
                        '00000000-0000-4000-8000-0000000000d6', '2027-05-01T09:30:00Z', 'UTC') $$,
  'CA005', 'social account @d6 is needs reauth', 'an account that needs re-authorisation cannot receive posts (CA005)');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000999',
                        '00000000-0000-4000-8000-0000000000d4', '2027-05-01T09:30:00Z', 'UTC') $$,
  'P0002', 'content not found', 'unknown content is P0002');

SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a3"}', true);
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000115',
                        '00000000-0000-4000-8000-0000000000d4', '2027-05-01T09:30:00Z', 'UTC') $$,
  '42501', 'permission denied: post.schedule', 'a viewer cannot schedule (42501)');
SELECT is((caas.post_list('00000000-0000-4000-8000-0000000000c1', status => 'scheduled', platform => 'x') -> 'items')
          -> 0 ->> 'platform', 'x', 'a viewer can list posts, filtered by state and platform');
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a4"}', true);
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000115',
                        '00000000-0000-4000-8000-0000000000d4', '2027-05-01T09:30:00Z', 'UTC') $$,
  'P0002', 'organization not found', 'an outsider does not see the organisation (P0002)');
SELECT throws_ok($$ SELECT caas.post_get('00000000-0000-4000-8000-0000000000c2',
                        (SELECT post_id FROM caas.scheduled_posts LIMIT 1)) $$,
  'P0002', 'post not found', 'an outsider''s own organisation does not have the other''s posts (P0002)');

-- -------------------------------------------- cancel, reschedule --

SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a2"}', true);
CREATE TEMP TABLE first_post ON COMMIT DROP AS
SELECT post_id FROM caas.scheduled_posts WHERE content_id = '00000000-0000-4000-8000-000000000101';
SELECT is(caas.post_cancel('00000000-0000-4000-8000-0000000000c1', (SELECT post_id FROM first_post)) ->> 'state',
  'cancelled', 'a scheduled post can be cancelled');
SELECT throws_ok(format($$ SELECT caas.post_cancel('00000000-0000-4000-8000-0000000000c1', %L) $$,
                        (SELECT post_id FROM first_post)),
  'CA002', 'cannot move a post from cancelled to cancelled', 'a cancelled post cannot be cancelled again (CA002)');
SELECT is(caas.post_schedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000101',
                             '00000000-0000-4000-8000-0000000000d4', '2027-06-01T09:30:00Z', 'UTC') ->> 'post_id',
  (SELECT post_id::text FROM first_post),
  'scheduling the same content and account again revives the cancelled post, same id');
SELECT is((SELECT scheduled_posts FROM caas.usage WHERE org_id = '00000000-0000-4000-8000-0000000000c1'),
  8, 'coming back from cancelled consumed a scheduled post again');
RESET ROLE;
UPDATE caas.content SET body = 'hello, edited' WHERE content_id = '00000000-0000-4000-8000-000000000101';
SET LOCAL ROLE caas_user;
SELECT is(caas.post_reschedule('00000000-0000-4000-8000-0000000000c1', (SELECT post_id FROM first_post),
                               '2027-06-02T09:30:00Z', NULL) -> 'content_version',
  '2'::jsonb, 'a reschedule re-pins the content''s current version');
SELECT is((SELECT scheduled_posts FROM caas.usage WHERE org_id = '00000000-0000-4000-8000-0000000000c1'),
  8, 'moving a scheduled post in time consumes nothing');
SELECT throws_ok(format($$ SELECT caas.post_reschedule('00000000-0000-4000-8000-0000000000c1', %L, '2020-06-02T09:30:00Z', NULL) $$,
                        (SELECT post_id FROM first_post)),
  'CA004', '2020-06-02T09:30:00Z has already passed', 'a reschedule into the past is refused (CA004)');
SELECT throws_ok($$ SELECT caas.post_reschedule('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000999',
                        '2027-06-02T09:30:00Z', NULL) $$,
  'P0002', 'post not found', 'rescheduling an unknown post is P0002');

RESET ROLE;
UPDATE caas.scheduled_posts
   SET state = 'publishing', attempts = 1, lease_owner = 'test', lease_expires_at = now() + interval '1 minute'
 WHERE post_id = (SELECT post_id FROM first_post);
INSERT INTO caas.post_attempts (org_id, post_id, attempt, dispatcher, started_at, finished_at, outcome, http_status, error_message)
SELECT '00000000-0000-4000-8000-0000000000c1'::uuid, post_id, 1, 'test', now() - interval '1 hour', now() - interval '1 hour', 'retryable', 503, 'busy'
  FROM first_post
UNION ALL
SELECT '00000000-0000-4000-8000-0000000000c1'::uuid, post_id, 2, 'test', now(), NULL::timestamptz, NULL::caas.attempt_outcome, NULL::integer, NULL
  FROM first_post;
SET LOCAL ROLE caas_user;
SELECT throws_ok(format($$ SELECT caas.post_reschedule('00000000-0000-4000-8000-0000000000c1', %L, '2027-06-02T09:30:00Z', NULL) $$,
                        (SELECT post_id FROM first_post)),
  'CA002', 'cannot move a post from publishing to scheduled',
  'a user cannot reschedule a post being published, although the dispatcher may (CA002)');
SELECT throws_ok(format($$ SELECT caas.post_cancel('00000000-0000-4000-8000-0000000000c1', %L) $$,
                        (SELECT post_id FROM first_post)),
  'CA002', 'cannot move a post from publishing to cancelled', 'nor cancel it (CA002)');
SELECT is((SELECT jsonb_agg(e ->> 'outcome') FROM jsonb_array_elements(
             caas.post_get('00000000-0000-4000-8000-0000000000c1', (SELECT post_id FROM first_post)) -> 'attempt_history') e),
  '["retryable", null]'::jsonb, 'post_get returns the attempt history, oldest first');
SELECT is(caas.post_get('00000000-0000-4000-8000-0000000000c1', (SELECT post_id FROM first_post)) ?| ARRAY['lease_owner', 'lease_expires_at'],
  false, 'post_get does not expose lease details');

-- ---------------------------------------------------------- lists --

SELECT is(jsonb_array_length(caas.post_list('00000000-0000-4000-8000-0000000000c1') -> 'items'),
  (SELECT count(*)::integer FROM caas.scheduled_posts WHERE org_id = '00000000-0000-4000-8000-0000000000c1'),
  'post_list returns every post of the organisation on one page');
SELECT is(jsonb_array_length(caas.post_list('00000000-0000-4000-8000-0000000000c1', platform => 'x') -> 'items'),
  2, 'post_list filters by platform');
SELECT is(jsonb_array_length(caas.post_list('00000000-0000-4000-8000-0000000000c1', account => '00000000-0000-4000-8000-0000000000d3') -> 'items'),
  1, 'post_list filters by account');
SELECT is(jsonb_array_length(caas.post_list('00000000-0000-4000-8000-0000000000c1', status => 'publishing') -> 'items'),
  1, 'post_list filters by state');
SELECT is(jsonb_array_length(caas.post_list('00000000-0000-4000-8000-0000000000c1',
            from_ts => '2027-10-01', to_ts => '2028-01-01') -> 'items'),
  1, 'post_list filters by due instant range');
SELECT is((SELECT count(DISTINCT e ->> 'post_id')::integer
             FROM (SELECT caas.post_list('00000000-0000-4000-8000-0000000000c1', lim => 3) AS p1) a,
                  LATERAL (SELECT caas.post_list('00000000-0000-4000-8000-0000000000c1', cursor => a.p1 ->> 'next_cursor', lim => 3) AS p2) b,
                  LATERAL (SELECT caas.post_list('00000000-0000-4000-8000-0000000000c1', cursor => b.p2 ->> 'next_cursor', lim => 3) AS p3) c,
                  LATERAL jsonb_array_elements((a.p1 -> 'items') || (b.p2 -> 'items') || (c.p3 -> 'items')) e),
  (SELECT count(*)::integer FROM caas.scheduled_posts WHERE org_id = '00000000-0000-4000-8000-0000000000c1'),
  'three pages of 3 return each post exactly once');
SELECT throws_ok($$ SELECT caas.post_list('00000000-0000-4000-8000-0000000000c1', cursor => 'garbage') $$,
  '22023', 'invalid cursor', 'a forged cursor is refused (22023)');

-- ------------------------------------------------------ direct writes --

SELECT throws_ok($$ UPDATE caas.scheduled_posts SET state = 'cancelled' $$, '42501', NULL,
  'caas_user cannot change posts except through the functions');

-- ------------------------------------------------- Free plan quota --

SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a5"}', true);
SELECT lives_ok($$
  SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c3', ('00000000-0000-4000-8000-000000000' || n)::uuid,
                            '00000000-0000-4000-8000-0000000000d8', '2027-05-01T09:30:00Z', 'UTC')
    FROM generate_series(201, 210) AS n
$$, 'a Free organisation schedules 10 X posts');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c3', '00000000-0000-4000-8000-000000000211',
                        '00000000-0000-4000-8000-0000000000d8', '2027-05-01T09:30:00Z', 'UTC') $$,
  'CA001', 'quota exceeded: X posts per month (10 on the Free plan)', 'the 11th X post of the month is refused (CA001)');
SELECT lives_ok($$
  SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c3', ('00000000-0000-4000-8000-000000000' || n)::uuid,
                            '00000000-0000-4000-8000-0000000000d9', '2027-05-01T09:30:00Z', 'UTC')
    FROM generate_series(211, 230) AS n
$$, 'and 20 other posts, 30 in all');
SELECT throws_ok($$ SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c3', '00000000-0000-4000-8000-000000000231',
                        '00000000-0000-4000-8000-0000000000d9', '2027-05-01T09:30:00Z', 'UTC') $$,
  'CA001', 'quota exceeded: scheduled posts per month (30 on the Free plan)', 'the 31st post of the month is refused (CA001)');
SELECT is((SELECT scheduled_posts || '/' || x_posts FROM caas.usage WHERE org_id = '00000000-0000-4000-8000-0000000000c3'),
  '30/10', 'refused posts did not count');
SELECT is((SELECT count(*)::integer FROM caas.scheduled_posts WHERE org_id = '00000000-0000-4000-8000-0000000000c3'),
  30, 'exactly 30 posts exist for the Free organisation');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
