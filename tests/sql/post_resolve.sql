--
-- tests/sql/post_resolve.sql — a person settles an unconfirmed post
-- (extension/sql/0.2/077_api_posts.sql: caas.post_resolve).
--
-- Covers, with the real roles end to end: a member schedules three posts
-- due now, the dispatcher claims them and records "unknown" for two (they
-- become unconfirmed).  As caas_user: a viewer may not resolve (42501), an
-- outsider does not see the organisation (P0002); a member resolves one as
-- published with the remote id and URL the platform shows: the post is
-- published, published_at is when the attempt sent it, its content becomes
-- published, the resolution is audited and post_get still shows the
-- attempt; resolving it again is CA002; the other is resolved failed with
-- a last_error saying so; a post still scheduled cannot be resolved
-- (CA002); another resolution word, published without remote id, a URL
-- that is not https are 22023; an unknown post, or a post of another
-- organisation under this one's id, is P0002.
--
-- Fixed ids (00000000-0000-4000-8000-000000000XXX): 7c1/7c2 organisations,
-- 7a1 member, 7a2 viewer of 7c1, 7a3 owner of 7c2; 7e1/7e2 workspaces,
-- 7d1/7d2 accounts, 7f1..7f3 content of 7c1, 7f9 content of 7c2.
--

BEGIN;
SELECT plan(20);
SET LOCAL timezone = 'UTC';

INSERT INTO caas.users (user_id, email, password_hash) VALUES
  ('00000000-0000-4000-8000-0000000007a1', 'resolve-member@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000007a2', 'resolve-viewer@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000007a3', 'resolve-other@example.com', '$argon2id$x');
INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000007c1', 'Resolve', 'post-resolve'),
  ('00000000-0000-4000-8000-0000000007c2', 'Other', 'post-resolve-other');
INSERT INTO caas.subscriptions (org_id, plan_id) VALUES ('00000000-0000-4000-8000-0000000007c1', 'team');
INSERT INTO caas.organization_members (org_id, user_id, role) VALUES
  ('00000000-0000-4000-8000-0000000007c1', '00000000-0000-4000-8000-0000000007a1', 'member'),
  ('00000000-0000-4000-8000-0000000007c1', '00000000-0000-4000-8000-0000000007a2', 'viewer'),
  ('00000000-0000-4000-8000-0000000007c2', '00000000-0000-4000-8000-0000000007a3', 'owner');
INSERT INTO caas.workspaces (org_id, workspace_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000007c1', '00000000-0000-4000-8000-0000000007e1', 'W', 'w'),
  ('00000000-0000-4000-8000-0000000007c2', '00000000-0000-4000-8000-0000000007e2', 'W', 'w');
INSERT INTO caas.social_accounts (org_id, account_id, platform, external_id, access_token_enc, token_key_id) VALUES
  ('00000000-0000-4000-8000-0000000007c1', '00000000-0000-4000-8000-0000000007d1', 'sandbox', 'resolve', decode(repeat('ab', 29), 'hex'), 'k1'),
  ('00000000-0000-4000-8000-0000000007c2', '00000000-0000-4000-8000-0000000007d2', 'sandbox', 'other', decode(repeat('ab', 29), 'hex'), 'k1');
INSERT INTO caas.content (org_id, content_id, workspace_id, body) VALUES
  ('00000000-0000-4000-8000-0000000007c1', '00000000-0000-4000-8000-0000000007f1', '00000000-0000-4000-8000-0000000007e1', 'one'),
  ('00000000-0000-4000-8000-0000000007c1', '00000000-0000-4000-8000-0000000007f2', '00000000-0000-4000-8000-0000000007e1', 'two'),
  ('00000000-0000-4000-8000-0000000007c1', '00000000-0000-4000-8000-0000000007f3', '00000000-0000-4000-8000-0000000007e1', 'three'),
  ('00000000-0000-4000-8000-0000000007c2', '00000000-0000-4000-8000-0000000007f9', '00000000-0000-4000-8000-0000000007e2', 'other');
CREATE TEMP TABLE posts (name text PRIMARY KEY, org uuid, post uuid);
GRANT ALL ON posts TO caas_user, caas_dispatcher;

-- ---------------------------------- scheduled, claimed, answer unknown --

SET LOCAL ROLE caas_user;
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000007a1"}', true);
INSERT INTO posts
SELECT 'p' || right(c, 1), '00000000-0000-4000-8000-0000000007c1',
       (caas.post_schedule('00000000-0000-4000-8000-0000000007c1', c::uuid, '00000000-0000-4000-8000-0000000007d1',
                           to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'UTC') ->> 'post_id')::uuid
  FROM unnest(ARRAY['00000000-0000-4000-8000-0000000007f1', '00000000-0000-4000-8000-0000000007f2']) c;
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000007a3"}', true);
INSERT INTO posts
SELECT 'other', '00000000-0000-4000-8000-0000000007c2',
       (caas.post_schedule('00000000-0000-4000-8000-0000000007c2', '00000000-0000-4000-8000-0000000007f9',
                           '00000000-0000-4000-8000-0000000007d2', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'UTC')
        ->> 'post_id')::uuid;
RESET ROLE;
SET LOCAL ROLE caas_dispatcher;
SELECT is((SELECT count(*)::integer FROM caas.dispatch_claim('d1', 100, 60) j
            WHERE (j ->> 'post_id')::uuid IN (SELECT post FROM posts)),
  3, 'the dispatcher claims the three due posts');
SELECT is(caas.dispatch_record_batch('d1', (SELECT jsonb_agg(jsonb_build_object('org_id', org, 'post_id', post, 'attempt', 1,
                                                                               'outcome', 'unknown', 'error_message', 'no answer'))
                                              FROM posts)) @? '$[*] ? (@.ok == false)',
  false, 'and records no answer for them: unconfirmed');
RESET ROLE;
SET LOCAL ROLE caas_user;
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000007a1"}', true);
INSERT INTO posts
SELECT 'p3', '00000000-0000-4000-8000-0000000007c1',
       (caas.post_schedule('00000000-0000-4000-8000-0000000007c1', '00000000-0000-4000-8000-0000000007f3',
                           '00000000-0000-4000-8000-0000000007d1', '2030-01-01T09:00:00Z', 'UTC') ->> 'post_id')::uuid;

-- ------------------------------------------------------------- resolve --

SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000007a2"}', true);
SELECT throws_ok($$ SELECT caas.post_resolve('00000000-0000-4000-8000-0000000007c1', (SELECT post FROM posts WHERE name = 'p1'),
                                             'published', '1790000000000000001', NULL) $$,
  '42501', 'permission denied: post.schedule', 'a viewer cannot resolve a post (42501)');
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000007a3"}', true);
SELECT throws_ok($$ SELECT caas.post_resolve('00000000-0000-4000-8000-0000000007c1', (SELECT post FROM posts WHERE name = 'p1'),
                                             'published', '1790000000000000001', NULL) $$,
  'P0002', 'organization not found', 'an outsider does not see the organisation (P0002)');
SELECT throws_ok($$ SELECT caas.post_resolve('00000000-0000-4000-8000-0000000007c2', (SELECT post FROM posts WHERE name = 'p1'),
                                             'published', '1790000000000000001', NULL) $$,
  'P0002', 'post not found', 'nor reaches its post through their own organisation (P0002)');

SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000007a1"}', true);
SELECT throws_ok($$ SELECT caas.post_resolve('00000000-0000-4000-8000-0000000007c1', (SELECT post FROM posts WHERE name = 'p1'),
                                             'maybe', NULL, NULL) $$,
  '22023', 'invalid resolution "maybe"', 'a resolution other than published or failed is refused (22023)');
SELECT throws_ok($$ SELECT caas.post_resolve('00000000-0000-4000-8000-0000000007c1', (SELECT post FROM posts WHERE name = 'p1'),
                                             'published', NULL, NULL) $$,
  '22023', 'a published resolution needs the remote id', 'published without the remote id is refused (22023)');
SELECT throws_ok($$ SELECT caas.post_resolve('00000000-0000-4000-8000-0000000007c1', (SELECT post FROM posts WHERE name = 'p1'),
                                             'published', '1790000000000000001', 'http://sandbox.example/1') $$,
  '22023', 'invalid remote URL', 'a permalink that is not https is refused (22023)');
SELECT throws_ok($$ SELECT caas.post_resolve('00000000-0000-4000-8000-0000000007c1', '00000000-0000-4000-8000-000000000999',
                                             'failed', NULL, NULL) $$,
  'P0002', 'post not found', 'an unknown post is not found (P0002)');

SELECT is(caas.post_resolve('00000000-0000-4000-8000-0000000007c1', (SELECT post FROM posts WHERE name = 'p1'),
                            'published', '1790000000000000001', 'https://sandbox.example/1')
          - 'post_id' - 'org_id' - 'content_id' - 'account_id' - 'content_version' - 'created_by' - 'created_at'
          - 'updated_at' - 'due_at' - 'run_at' - 'published_at' - 'timezone' - 'platform',
  '{"state": "published", "remote_id": "1790000000000000001", "remote_url": "https://sandbox.example/1",
    "last_error": null, "attempts": 1, "max_attempts": 3}'::jsonb,
  'a member resolves an unconfirmed post as published, with the remote id and URL found on the platform');
SELECT is((SELECT p.published_at = a.started_at FROM caas.scheduled_posts p
             JOIN caas.post_attempts a USING (org_id, post_id) WHERE p.post_id = (SELECT post FROM posts WHERE name = 'p1')),
  true, 'its publication time is when the attempt sent it');
SELECT is((SELECT status::text FROM caas.content WHERE content_id = '00000000-0000-4000-8000-0000000007f1'),
  'published', 'its content is published');
SELECT is((caas.post_get('00000000-0000-4000-8000-0000000007c1', (SELECT post FROM posts WHERE name = 'p1'))
           -> 'attempt_history' -> 0) - 'started_at' - 'finished_at',
  '{"attempt": 1, "dispatcher": "d1", "outcome": "unknown", "http_status": null, "error_message": "no answer", "remote_id": null}'::jsonb,
  'post_get still shows the attempt that got no answer');
RESET ROLE;
SELECT is((SELECT action || ' ' || (details ->> 'resolution') || ' ' || (details ->> 'remote_id') || ' ' || actor_id
             FROM caas.audit_log WHERE target_id = (SELECT post FROM posts WHERE name = 'p1')::text),
  'post.resolved published 1790000000000000001 00000000-0000-4000-8000-0000000007a1', 'the resolution is audited, with who made it');
SET LOCAL ROLE caas_user;
SELECT throws_ok($$ SELECT caas.post_resolve('00000000-0000-4000-8000-0000000007c1', (SELECT post FROM posts WHERE name = 'p1'),
                                             'failed', NULL, NULL) $$,
  'CA002', 'cannot move a post from published to failed', 'a published post cannot be resolved again (CA002)');

SELECT is(caas.post_resolve('00000000-0000-4000-8000-0000000007c1', (SELECT post FROM posts WHERE name = 'p2'), 'failed')
          ->> 'last_error',
  'not published (checked by a person)', 'the other unconfirmed post is resolved failed');
SELECT is((SELECT state::text || ' ' || coalesce(remote_id, '-') FROM caas.scheduled_posts
            WHERE post_id = (SELECT post FROM posts WHERE name = 'p2')),
  'failed -', 'it is failed, without remote id');
SELECT is((SELECT status::text FROM caas.content WHERE content_id = '00000000-0000-4000-8000-0000000007f2'),
  'draft', 'its content is not published');
SELECT throws_ok($$ SELECT caas.post_resolve('00000000-0000-4000-8000-0000000007c1', (SELECT post FROM posts WHERE name = 'p3'),
                                             'failed', NULL, NULL) $$,
  'CA002', 'cannot move a post from scheduled to failed', 'a post still scheduled cannot be resolved (CA002)');
SELECT throws_ok($$ SELECT caas.post_resolve('00000000-0000-4000-8000-0000000007c1', (SELECT post FROM posts WHERE name = 'p2'),
                                             'published', 'late', NULL) $$,
  'CA002', 'cannot move a post from failed to published', 'nor a post already failed (CA002)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
