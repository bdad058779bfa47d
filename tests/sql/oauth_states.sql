--
-- tests/sql/oauth_states.sql — connecting a social account by OAuth: the
-- state between the start and the callback (extension/sql/0.2/083_oauth.sql).
--
-- Covers: as caas_user, an admin starts a flow (oauth_begin) and gets
-- {org_id, platform, expires_at} 10 minutes ahead, the row holding the
-- state hash, the caller, the sealed verifier and the redirect URI; a
-- flow without PKCE verifier is accepted; a member (42501) and an
-- outsider (P0002) cannot start one; an unknown platform, the sandbox, a
-- state hash that is not 32 bytes, a verifier without key id and a bad
-- redirect URI are 22023; the same state twice is 23505.  As caas_anon,
-- oauth_finish returns {org_id, user_id, platform, verifier_enc (one-line
-- base64 of the stored bytes), token_key_id, redirect_uri} and consumes the
-- state: a second finish is P0002 "unknown or used OAuth state", as is a
-- state never issued; an expired state is 22023 "OAuth state expired";
-- caas_user may finish too.  Then the API's next step, account_connect as
-- the user the state names, connects the account.  A new flow removes
-- states expired for more than a day and keeps recent ones.  Neither
-- caas_user nor caas_anon can read the table.
--
-- Fixed ids (00000000-0000-4000-8000-000000000XXX): 6c1/6c2 organisations,
-- 6a1 admin, 6a2 member of 6c1, 6a3 owner of 6c2.
--

BEGIN;
SELECT plan(26);

INSERT INTO caas.users (user_id, email, password_hash) VALUES
  ('00000000-0000-4000-8000-0000000006a1', 'oauth-admin@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000006a2', 'oauth-member@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000006a3', 'oauth-other@example.com', '$argon2id$x');
INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000006c1', 'OAuth', 'oauth-states'),
  ('00000000-0000-4000-8000-0000000006c2', 'Other', 'oauth-states-other');
INSERT INTO caas.subscriptions (org_id, plan_id) VALUES ('00000000-0000-4000-8000-0000000006c1', 'team');
INSERT INTO caas.organization_members (org_id, user_id, role) VALUES
  ('00000000-0000-4000-8000-0000000006c2', '00000000-0000-4000-8000-0000000006a3', 'owner'),
  ('00000000-0000-4000-8000-0000000006c1', '00000000-0000-4000-8000-0000000006a1', 'admin'),
  ('00000000-0000-4000-8000-0000000006c1', '00000000-0000-4000-8000-0000000006a2', 'member');
-- Who owns 6c1 does not matter here; an organisation needs one.
INSERT INTO caas.users (user_id, email, password_hash)
VALUES ('00000000-0000-4000-8000-0000000006a0', 'oauth-owner@example.com', '$argon2id$x');
INSERT INTO caas.organization_members (org_id, user_id, role)
VALUES ('00000000-0000-4000-8000-0000000006c1', '00000000-0000-4000-8000-0000000006a0', 'owner');

CREATE TEMP TABLE v (name text PRIMARY KEY, b bytea);
-- A 64-byte sealed verifier: its base64 is longer than encode()'s 76-character lines.
INSERT INTO v VALUES ('verifier', decode(repeat('5e', 64), 'hex')), ('access', decode(repeat('ac', 40), 'hex'));
GRANT SELECT ON v TO caas_user, caas_anon;
CREATE TEMP TABLE finished (j jsonb);
GRANT ALL ON finished TO caas_anon, caas_user;

-- ----------------------------------------------------------------- begin --

SET LOCAL ROLE caas_user;
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000006a1"}', true);
SELECT is(caas.oauth_begin('00000000-0000-4000-8000-0000000006c1', 'x', sha256('state-1'), (SELECT b FROM v WHERE name = 'verifier'),
                           'k1', 'https://app.example.com/api/v1/accounts/oauth/callback'),
  jsonb_build_object('org_id', '00000000-0000-4000-8000-0000000006c1', 'platform', 'x',
                     'expires_at', now() + interval '10 minutes'),
  'an admin starts connecting an X account: the state lives 10 minutes');
SELECT lives_ok($$ SELECT caas.oauth_begin('00000000-0000-4000-8000-0000000006c1', 'linkedin', sha256('state-2'), NULL, NULL,
                                           'http://localhost:8080/callback') $$,
  'a flow without PKCE verifier (LinkedIn) and with a local http redirect is accepted');
SELECT throws_ok($$ SELECT caas.oauth_begin('00000000-0000-4000-8000-0000000006c1', 'x', sha256('state-1'), NULL, NULL,
                                            'https://app.example.com/cb') $$,
  '23505', NULL, 'the same state cannot be issued twice (23505)');
SELECT throws_ok($$ SELECT caas.oauth_begin('00000000-0000-4000-8000-0000000006c1', 'myspace', sha256('s'), NULL, NULL,
                                            'https://app.example.com/cb') $$,
  '22023', 'unknown platform "myspace"', 'an unknown platform is refused (22023)');
SELECT throws_ok($$ SELECT caas.oauth_begin('00000000-0000-4000-8000-0000000006c1', 'sandbox', sha256('s'), NULL, NULL,
                                            'https://app.example.com/cb') $$,
  '22023', 'sandbox accounts are not connected by OAuth', 'the sandbox has no OAuth (22023)');
SELECT throws_ok($$ SELECT caas.oauth_begin('00000000-0000-4000-8000-0000000006c1', 'x', '\x0102', NULL, NULL,
                                            'https://app.example.com/cb') $$,
  '22023', 'the state hash must be a SHA-256 (32 bytes)', 'a state hash that is not a SHA-256 is refused (22023)');
SELECT throws_ok($$ SELECT caas.oauth_begin('00000000-0000-4000-8000-0000000006c1', 'x', sha256('s'),
                                            (SELECT b FROM v WHERE name = 'verifier'), NULL, 'https://app.example.com/cb') $$,
  '22023', 'a sealed verifier needs its key id', 'a verifier without its key id is refused (22023)');
SELECT throws_ok($$ SELECT caas.oauth_begin('00000000-0000-4000-8000-0000000006c1', 'x', sha256('s'), NULL, NULL,
                                            'javascript:alert(1)') $$,
  '22023', 'invalid redirect URI', 'a redirect URI that is not http(s) is refused (22023)');

SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000006a2"}', true);
SELECT throws_ok($$ SELECT caas.oauth_begin('00000000-0000-4000-8000-0000000006c1', 'x', sha256('s'), NULL, NULL,
                                            'https://app.example.com/cb') $$,
  '42501', 'permission denied: account.manage', 'a member cannot connect accounts (42501)');
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000006a3"}', true);
SELECT throws_ok($$ SELECT caas.oauth_begin('00000000-0000-4000-8000-0000000006c1', 'x', sha256('s'), NULL, NULL,
                                            'https://app.example.com/cb') $$,
  'P0002', 'organization not found', 'an outsider does not see the organisation (P0002)');
SELECT throws_ok($$ SELECT * FROM caas.oauth_states $$, '42501', NULL, 'caas_user cannot read the OAuth states');
RESET ROLE;

SELECT results_eq($$ SELECT org_id, user_id, platform, verifier_enc IS NOT NULL, token_key_id, redirect_uri
                       FROM caas.oauth_states WHERE state_hash = sha256('state-1') $$,
  $$ VALUES ('00000000-0000-4000-8000-0000000006c1'::uuid, '00000000-0000-4000-8000-0000000006a1'::uuid, 'x', true,
             'k1', 'https://app.example.com/api/v1/accounts/oauth/callback') $$,
  'the state row holds the organisation, the admin who started, the sealed verifier, its key and the redirect URI');

-- ---------------------------------------------------------------- finish --

SET LOCAL ROLE caas_anon;
SELECT set_config('request.jwt.claims', '', true);
SELECT throws_ok($$ SELECT * FROM caas.oauth_states $$, '42501', NULL, 'caas_anon cannot read the OAuth states');
INSERT INTO finished SELECT caas.oauth_finish(sha256('state-1'));
SELECT is((SELECT j - 'verifier_enc' FROM finished),
  '{"org_id": "00000000-0000-4000-8000-0000000006c1", "user_id": "00000000-0000-4000-8000-0000000006a1",
    "platform": "x", "token_key_id": "k1", "redirect_uri": "https://app.example.com/api/v1/accounts/oauth/callback"}'::jsonb,
  'the callback, unauthenticated, gets back the organisation, the user, the platform, the key id and the redirect URI');
SELECT is((SELECT strpos(j ->> 'verifier_enc', E'\n') = 0 AND decode(j ->> 'verifier_enc', 'base64') = (SELECT b FROM v WHERE name = 'verifier')
             FROM finished),
  true, 'and the sealed verifier as one-line base64');
SELECT throws_ok($$ SELECT caas.oauth_finish(sha256('state-1')) $$,
  'P0002', 'unknown or used OAuth state', 'a state is used once (P0002 the second time)');
SELECT throws_ok($$ SELECT caas.oauth_finish(sha256('never issued')) $$,
  'P0002', 'unknown or used OAuth state', 'a state never issued is unknown (P0002)');
SELECT throws_ok($$ SELECT caas.oauth_finish(NULL) $$,
  'P0002', 'unknown or used OAuth state', 'no state at all is unknown (P0002)');
RESET ROLE;
UPDATE caas.oauth_states SET created_at = now() - interval '11 minutes', expires_at = now() - interval '1 minute'
 WHERE state_hash = sha256('state-2');
SET LOCAL ROLE caas_anon;
SELECT throws_ok($$ SELECT caas.oauth_finish(sha256('state-2')) $$,
  '22023', 'OAuth state expired', 'an expired state is refused (22023)');
RESET ROLE;
SELECT is((SELECT count(*)::integer FROM caas.oauth_states WHERE state_hash = sha256('state-1')), 0,
  'the used state is gone');

-- ------------------------------------------- the API's next step, and more --

SET LOCAL ROLE caas_user;
SELECT set_config('request.jwt.claims', jsonb_build_object('sub', (SELECT j ->> 'user_id' FROM finished))::text, true);
SELECT is(caas.account_connect((SELECT (j ->> 'org_id')::uuid FROM finished), 'x', '4242', '@oauth', 'OAuth',
                               (SELECT b FROM v WHERE name = 'access'), NULL, 'k1', now() + interval '2 hours', '{tweet.write}')
          ->> 'status',
  'connected', 'connecting the account as the user the state names succeeds');
SELECT lives_ok($$ SELECT caas.oauth_begin('00000000-0000-4000-8000-0000000006c1', 'instagram', sha256('state-3'), NULL, NULL,
                                           'https://app.example.com/cb') $$,
  'the admin starts another flow');
SELECT lives_ok($$ INSERT INTO finished SELECT caas.oauth_finish(sha256('state-3')) $$,
  'caas_user may finish a flow too');
RESET ROLE;

INSERT INTO caas.oauth_states (org_id, state_hash, user_id, platform, redirect_uri, created_at, expires_at) VALUES
  ('00000000-0000-4000-8000-0000000006c1', sha256('old'), '00000000-0000-4000-8000-0000000006a1', 'x',
   'https://app.example.com/cb', now() - interval '2 days', now() - interval '2 days' + interval '10 minutes');
SET LOCAL ROLE caas_user;
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000006a1"}', true);
SELECT lives_ok($$ SELECT caas.oauth_begin('00000000-0000-4000-8000-0000000006c1', 'x', sha256('state-4'), NULL, NULL,
                                           'https://app.example.com/cb') $$,
  'a new flow starts');
RESET ROLE;
SELECT set_eq($$ SELECT state_hash FROM caas.oauth_states WHERE user_id = '00000000-0000-4000-8000-0000000006a1' $$,
  $$ VALUES (sha256('state-2')), (sha256('state-4')) $$,
  'and removes the state expired for two days, keeping the one expired a minute ago');
SELECT is((SELECT count(*)::integer FROM caas.oauth_states WHERE user_id = '00000000-0000-4000-8000-0000000006a1'
             AND expires_at = now() + interval '10 minutes'), 1, 'the new state expires in 10 minutes');

SELECT * FROM finish();
ROLLBACK;
