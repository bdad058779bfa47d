--
-- tests/sql/dispatch_claim.sql — what a claim hands the dispatcher, and the
-- in-flight handle (extension/sql/0.2/078_dispatch.sql: caas.dispatch_claim,
-- caas.dispatch_progress), plus who may call the dispatcher's functions.
--
-- Covers, as caas_dispatcher: a claim returns the account's handle and
-- status, its sealed tokens as one-line base64 that decodes to the stored
-- bytes (a token long enough for encode() to wrap), token_expires_at and
-- remote_ref (null at first); an account without a refresh token gives a
-- null refresh_token_enc; a batch or lease out of range is 22023;
-- dispatch_progress stores the handle on the post and extends the lease
-- (never shortens it), by the lease holder only (CA002 for another
-- dispatcher or a wrong attempt, P0002 for another organisation's id or an
-- unknown post, 22023 for an empty handle or a bad lease); after a retry
-- the next claim returns the handle the earlier attempt stored.  Grants,
-- from the catalog: every caas.dispatch_* function is executable by
-- caas_dispatcher and by no other caas role nor PUBLIC; caas_user cannot
-- call them (42501).
--
-- Fixed ids (00000000-0000-4000-8000-000000000XXX): 1c1/1c2 organisations,
-- 1e1/1e2 workspaces, 1d1 X account of 1c1 (access + refresh token), 1d2
-- sandbox account of 1c2 (access token only); 1f1..1f3 content and posts of
-- 1c1, 1f9 of 1c2.
--

BEGIN;
SELECT plan(28);

INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000001c1', 'Claims', 'dispatch-claims'),
  ('00000000-0000-4000-8000-0000000001c2', 'Other', 'dispatch-other');
INSERT INTO caas.workspaces (org_id, workspace_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000001c1', '00000000-0000-4000-8000-0000000001e1', 'W', 'w'),
  ('00000000-0000-4000-8000-0000000001c2', '00000000-0000-4000-8000-0000000001e2', 'W', 'w');
-- 100-byte sealed tokens: their base64 (136 characters) is longer than the
-- 76 at which encode() breaks lines.
CREATE TEMP TABLE tok (name text PRIMARY KEY, v bytea);
INSERT INTO tok VALUES ('access', decode(repeat('a1b2', 50), 'hex')), ('refresh', decode(repeat('c3d4', 50), 'hex'));
INSERT INTO caas.social_accounts (org_id, account_id, platform, external_id, handle, access_token_enc,
                                  refresh_token_enc, token_key_id, token_expires_at) VALUES
  ('00000000-0000-4000-8000-0000000001c1', '00000000-0000-4000-8000-0000000001d1', 'x', '4242', '@claims',
   (SELECT v FROM tok WHERE name = 'access'), (SELECT v FROM tok WHERE name = 'refresh'), 'k1',
   '2030-01-01T00:00:00Z'),
  ('00000000-0000-4000-8000-0000000001c2', '00000000-0000-4000-8000-0000000001d2', 'sandbox', 'other', '',
   (SELECT v FROM tok WHERE name = 'access'), NULL, 'k1', NULL);
INSERT INTO caas.content (org_id, content_id, workspace_id, body)
SELECT o::uuid, c::uuid, w::uuid, 'claim me ' || right(c, 3)
  FROM (VALUES ('00000000-0000-4000-8000-0000000001c1', '00000000-0000-4000-8000-0000000001f1', '00000000-0000-4000-8000-0000000001e1'),
               ('00000000-0000-4000-8000-0000000001c1', '00000000-0000-4000-8000-0000000001f2', '00000000-0000-4000-8000-0000000001e1'),
               ('00000000-0000-4000-8000-0000000001c1', '00000000-0000-4000-8000-0000000001f3', '00000000-0000-4000-8000-0000000001e1'),
               ('00000000-0000-4000-8000-0000000001c2', '00000000-0000-4000-8000-0000000001f9', '00000000-0000-4000-8000-0000000001e2')) AS v(o, c, w);
INSERT INTO caas.scheduled_posts (org_id, post_id, content_id, content_version, account_id, due_at, timezone, run_at)
SELECT c.org_id, c.content_id, c.content_id, 1,
       CASE WHEN c.org_id = '00000000-0000-4000-8000-0000000001c1'::uuid
            THEN '00000000-0000-4000-8000-0000000001d1'::uuid ELSE '00000000-0000-4000-8000-0000000001d2'::uuid END,
       now() - interval '1 minute', 'UTC', now() - interval '1 minute'
  FROM caas.content c WHERE c.org_id IN ('00000000-0000-4000-8000-0000000001c1', '00000000-0000-4000-8000-0000000001c2');

CREATE TEMP TABLE claims (j jsonb);
GRANT ALL ON claims TO caas_dispatcher;
GRANT SELECT ON tok TO caas_dispatcher;

-- ------------------------------------------------------------- claim --

SET LOCAL ROLE caas_dispatcher;
SELECT throws_ok($$ SELECT caas.dispatch_claim('d1', 0, 60) $$,
  '22023', 'batch of 0 posts is out of range', 'a batch of 0 is refused (22023)');
SELECT throws_ok($$ SELECT caas.dispatch_claim('d1', 10, 0) $$,
  '22023', 'lease of 0 seconds is out of range', 'a lease of 0 seconds is refused (22023)');
SELECT throws_ok($$ SELECT caas.dispatch_claim('d1', 10, 60, 1001) $$,
  '22023', 'claiming 1001 ms ahead is out of range', 'claiming more than 1000 ms ahead is refused (22023)');
INSERT INTO claims SELECT caas.dispatch_claim('d1', 100, 60);

SELECT is((SELECT j - 'post_id' - 'content_id' - 'text' - 'due_at' - 'lease_expires_at' - 'access_token_enc' - 'refresh_token_enc'
             FROM claims WHERE j ->> 'post_id' = '00000000-0000-4000-8000-0000000001f1'),
  jsonb_build_object('org_id', '00000000-0000-4000-8000-0000000001c1', 'account_id', '00000000-0000-4000-8000-0000000001d1',
    'content_version', 1, 'platform', 'x', 'external_id', '4242', 'handle', '@claims', 'account_status', 'connected',
    'token_key_id', 'k1', 'token_expires_at', '2030-01-01T00:00:00+00:00', 'media_urls', '[]'::jsonb,
    'remote_ref', NULL, 'attempt', 1, 'attempts', 1, 'max_attempts', 3, 'start_in_us', 0),
  'a claim carries the account''s handle, status, key id and token expiry, no remote_ref yet, and start_in_us 0 for a post already due');
SELECT is((SELECT position(E'\n' IN j ->> 'access_token_enc') + position(E'\n' IN j ->> 'refresh_token_enc')
             FROM claims WHERE j ->> 'post_id' = '00000000-0000-4000-8000-0000000001f1'),
  0, 'the sealed tokens are base64 on one line, however long');
SELECT is((SELECT decode(j ->> 'access_token_enc', 'base64') = (SELECT v FROM tok WHERE name = 'access')
                  AND decode(j ->> 'refresh_token_enc', 'base64') = (SELECT v FROM tok WHERE name = 'refresh')
             FROM claims WHERE j ->> 'post_id' = '00000000-0000-4000-8000-0000000001f1'),
  true, 'and decode to the stored access and refresh tokens');
SELECT is((SELECT (j -> 'refresh_token_enc') || (j -> 'token_expires_at')
             FROM claims WHERE j ->> 'post_id' = '00000000-0000-4000-8000-0000000001f9'),
  '[null, null]'::jsonb, 'an account without refresh token or expiry gives nulls');
SELECT is((SELECT count(*)::integer FROM claims
            WHERE j ->> 'org_id' IN ('00000000-0000-4000-8000-0000000001c1', '00000000-0000-4000-8000-0000000001c2')),
  4, 'the four due posts of both organisations were claimed');

-- ---------------------------------------------------------- progress --

SELECT lives_ok($$ SELECT caas.dispatch_progress('d1', '00000000-0000-4000-8000-0000000001c1',
                        '00000000-0000-4000-8000-0000000001f1', 1, '17895695668004550', 600) $$,
  'the lease holder stores the in-flight handle');
RESET ROLE;
SELECT is((SELECT remote_ref || ' ' || (lease_expires_at = now() + interval '600 seconds')
             FROM caas.scheduled_posts WHERE post_id = '00000000-0000-4000-8000-0000000001f1'),
  '17895695668004550 true', 'the handle is on the post and the lease now ends 600 s from now');
SET LOCAL ROLE caas_dispatcher;
SELECT lives_ok($$ SELECT caas.dispatch_progress('d1', '00000000-0000-4000-8000-0000000001c1',
                        '00000000-0000-4000-8000-0000000001f1', 1, '17895695668004551', 5) $$,
  'a second progress report with a shorter lease is accepted');
RESET ROLE;
SELECT is((SELECT remote_ref || ' ' || (lease_expires_at = now() + interval '600 seconds')
             FROM caas.scheduled_posts WHERE post_id = '00000000-0000-4000-8000-0000000001f1'),
  '17895695668004551 true', 'it replaces the handle but never shortens the lease');
SET LOCAL ROLE caas_dispatcher;
SELECT throws_ok($$ SELECT caas.dispatch_progress('d2', '00000000-0000-4000-8000-0000000001c1',
                        '00000000-0000-4000-8000-0000000001f1', 1, 'x', 60) $$,
  'CA002', 'post is not leased to d2 for attempt 1', 'another dispatcher cannot report progress (CA002)');
SELECT throws_ok($$ SELECT caas.dispatch_progress('d1', '00000000-0000-4000-8000-0000000001c1',
                        '00000000-0000-4000-8000-0000000001f1', 2, 'x', 60) $$,
  'CA002', 'post is not leased to d1 for attempt 2', 'nor the holder for another attempt (CA002)');
SELECT throws_ok($$ SELECT caas.dispatch_progress('d1', '00000000-0000-4000-8000-0000000001c2',
                        '00000000-0000-4000-8000-0000000001f1', 1, 'x', 60) $$,
  'P0002', 'post not found', 'a post id under another organisation''s id is not found (P0002)');
SELECT throws_ok($$ SELECT caas.dispatch_progress('d1', '00000000-0000-4000-8000-0000000001c1',
                        '00000000-0000-4000-8000-000000000999', 1, 'x', 60) $$,
  'P0002', 'post not found', 'an unknown post is not found (P0002)');
SELECT throws_ok($$ SELECT caas.dispatch_progress('d1', '00000000-0000-4000-8000-0000000001c1',
                        '00000000-0000-4000-8000-0000000001f1', 1, '', 60) $$,
  '22023', 'a remote reference of 1 to 255 characters is required', 'an empty handle is refused (22023)');
SELECT throws_ok($$ SELECT caas.dispatch_progress('d1', '00000000-0000-4000-8000-0000000001c1',
                        '00000000-0000-4000-8000-0000000001f1', 1, 'x', -1) $$,
  '22023', 'lease of -1 seconds is out of range', 'a negative lease is refused (22023)');

-- The attempt fails retryably; the next claim of the post hands the
-- handle back, so the adapter can check the container it already made.
SELECT is(caas.dispatch_record('d1', '00000000-0000-4000-8000-0000000001c1', '00000000-0000-4000-8000-0000000001f1', 1,
                               'retryable', 503, 'busy', NULL, NULL, now() - interval '1 second') ->> 'state',
  'scheduled', 'the attempt is retried');
SELECT is((SELECT j ->> 'remote_ref' FROM caas.dispatch_claim('d1', 100, 60) j
            WHERE j ->> 'post_id' = '00000000-0000-4000-8000-0000000001f1'),
  '17895695668004551', 'the next claim returns the handle the earlier attempt stored');
SELECT throws_ok($$ SELECT count(*) FROM caas.scheduled_posts $$, '42501', NULL,
  'the dispatcher still has no direct access to the posts');
RESET ROLE;

-- ------------------------------------------------------------ grants --

SELECT cmp_ok((SELECT count(*) FROM pg_catalog.pg_proc
                WHERE pronamespace = 'caas'::regnamespace AND proname LIKE 'dispatch\_%'),
  '>=', 11::bigint, 'there are at least eleven caas.dispatch_* functions');
SELECT is_empty($$
  SELECT p.oid::regprocedure::text
    FROM pg_catalog.pg_proc p
   WHERE p.pronamespace = 'caas'::regnamespace AND p.proname LIKE 'dispatch\_%'
     AND NOT has_function_privilege('caas_dispatcher', p.oid, 'EXECUTE')
$$, 'caas_dispatcher may execute every caas.dispatch_* function');
SELECT is_empty($$
  SELECT p.oid::regprocedure::text || ' ' || r.rolname
    FROM pg_catalog.pg_proc p
   CROSS JOIN (VALUES ('caas_anon'), ('caas_user'), ('caas_analyst'), ('caas_authenticator')) AS r(rolname)
   WHERE p.pronamespace = 'caas'::regnamespace AND p.proname LIKE 'dispatch\_%'
     AND has_function_privilege(r.rolname, p.oid, 'EXECUTE')
$$, 'no other caas role may execute any of them');
SELECT is_empty($$
  SELECT p.oid::regprocedure::text
    FROM pg_catalog.pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
   WHERE p.pronamespace = 'caas'::regnamespace AND p.proname LIKE 'dispatch\_%'
     AND a.grantee = 0 AND a.privilege_type = 'EXECUTE'
$$, 'nor PUBLIC');
SELECT is_empty($$
  SELECT p.oid::regprocedure::text
    FROM pg_catalog.pg_proc p
   WHERE p.pronamespace = 'caas'::regnamespace AND p.proname LIKE 'dispatch\_%'
     AND NOT (p.prosecdef AND 'search_path=pg_catalog, caas' = ANY (p.proconfig))
$$, 'every one is SECURITY DEFINER with search_path pg_catalog, caas');
SET LOCAL ROLE caas_user;
SELECT throws_ok($$ SELECT caas.dispatch_record_batch('me', '[]') $$, '42501', NULL,
  'caas_user cannot record outcomes');
SELECT throws_ok($$ SELECT caas.dispatch_progress('me', '00000000-0000-4000-8000-0000000001c1',
                        '00000000-0000-4000-8000-0000000001f1', 1, 'x', 60) $$, '42501', NULL,
  'nor report progress');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
