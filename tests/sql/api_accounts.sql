--
-- tests/sql/api_accounts.sql — social accounts (extension/sql/0.2/079_api_accounts.sql:
-- caas.account_connect, account_disconnect, account_get, account_list).
--
-- Covers, as caas_user: an owner connects an account with sealed tokens and
-- gets it back without any token column; the connection is audited; a
-- member may not connect or disconnect (42501); an unknown platform or a
-- missing access token is 22023; reconnecting the same identity updates
-- the tokens, keeps the account id and never replaces the stored refresh
-- token with NULL; get and list never show tokens, list paginates, another
-- organisation's account is P0002; disconnecting erases the tokens and
-- cancels the account's waiting posts ("account disconnected") but leaves
-- its published posts alone; on the Free plan (3 accounts) a 4th identity
-- and the comeback of a disconnected one beyond the limit are CA001, while
-- reconnecting an account already counted is accepted.
--
-- Fixed ids (00000000-0000-4000-8000-000000000XXX):
--   0a1 owner, 0a2 member, 0a3 viewer of team org 0c1; 0a5 owner of free org 0c3;
--   0e1/0e3 workspaces; 1xx content.
--

BEGIN;
SELECT plan(29);
SET LOCAL timezone = 'UTC';

INSERT INTO caas.users (user_id, email, password_hash) VALUES
  ('00000000-0000-4000-8000-0000000000a1', 'ac1@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a2', 'ac2@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a3', 'ac3@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a5', 'ac5@example.com', '$argon2id$x');
INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000000c1', 'Team org', 'accounts-team'),
  ('00000000-0000-4000-8000-0000000000c3', 'Free org', 'accounts-free');
INSERT INTO caas.subscriptions (org_id, plan_id, status)
VALUES ('00000000-0000-4000-8000-0000000000c1', 'team', 'active');
INSERT INTO caas.organization_members (org_id, user_id, role) VALUES
  ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000a1', 'owner'),
  ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000a2', 'member'),
  ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000a3', 'viewer'),
  ('00000000-0000-4000-8000-0000000000c3', '00000000-0000-4000-8000-0000000000a5', 'owner');
INSERT INTO caas.workspaces (org_id, workspace_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000e1', 'W', 'w');
INSERT INTO caas.content (org_id, content_id, workspace_id, body)
SELECT '00000000-0000-4000-8000-0000000000c1', ('00000000-0000-4000-8000-000000000' || n)::uuid,
       '00000000-0000-4000-8000-0000000000e1', 'post ' || n
  FROM generate_series(101, 103) AS n;

-- Sealed tokens as the API hands them over: 12-byte nonce, ciphertext, 16-byte tag.
CREATE TEMP TABLE tok (name text PRIMARY KEY, v bytea);
INSERT INTO tok VALUES ('a1', decode(repeat('a1', 40), 'hex')), ('r1', decode(repeat('b1', 40), 'hex')),
                       ('a2', decode(repeat('a2', 40), 'hex'));
GRANT SELECT ON tok TO caas_user;

SET LOCAL ROLE caas_user;
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a1"}', true);

SELECT is(caas.account_connect('00000000-0000-4000-8000-0000000000c1', 'x', '4242', '@caas', 'CaaS',
                               (SELECT v FROM tok WHERE name = 'a1'), (SELECT v FROM tok WHERE name = 'r1'),
                               'k1', '2027-01-01T00:00:00Z', ARRAY['tweet.write'])
          - 'account_id' - 'connected_at' - 'updated_at',
  jsonb_build_object('org_id', '00000000-0000-4000-8000-0000000000c1', 'platform', 'x', 'external_id', '4242',
    'handle', '@caas', 'display_name', 'CaaS', 'status', 'connected', 'token_expires_at', '2027-01-01T00:00:00+00:00',
    'refresh_expires_at', NULL, 'scopes', '["tweet.write"]'::jsonb, 'last_error', NULL,
    'connected_by', '00000000-0000-4000-8000-0000000000a1'),
  'an owner connects an X account and gets it back without tokens');
SELECT is((SELECT count(*)::integer FROM caas.audit_log
            WHERE org_id = '00000000-0000-4000-8000-0000000000c1' AND action = 'account.connect'),
  1, 'the connection is in the audit log');
CREATE TEMP TABLE acct ON COMMIT DROP AS
SELECT account_id FROM caas.social_accounts WHERE external_id = '4242';

SELECT is(caas.account_connect('00000000-0000-4000-8000-0000000000c1', 'x', '4242', NULL, NULL,
                               (SELECT v FROM tok WHERE name = 'a2'), NULL, 'k2', NULL, NULL) ->> 'account_id',
  (SELECT account_id::text FROM acct), 'reconnecting the same identity keeps the account');
RESET ROLE;
SELECT is((SELECT (access_token_enc = (SELECT v FROM tok WHERE name = 'a2'))
                  AND (refresh_token_enc = (SELECT v FROM tok WHERE name = 'r1'))
                  AND token_key_id = 'k2' AND handle = '@caas' AND scopes = ARRAY['tweet.write']
             FROM caas.social_accounts WHERE account_id = (SELECT account_id FROM acct)),
  true, 'the reconnection replaced the access token but kept the refresh token, handle and scopes it did not give');
SET LOCAL ROLE caas_user;

SELECT throws_ok($$ SELECT caas.account_connect('00000000-0000-4000-8000-0000000000c1', 'myspace', '1', '', '',
                        (SELECT v FROM tok WHERE name = 'a1'), NULL, 'k1', NULL, NULL) $$,
  '22023', 'unknown platform "myspace"', 'an unknown platform is refused (22023)');
SELECT throws_ok($$ SELECT caas.account_connect('00000000-0000-4000-8000-0000000000c1', 'linkedin', 'urn:li:person:1', '', '',
                        NULL, NULL, 'k1', NULL, NULL) $$,
  '22023', 'an access token and its key id are required', 'a connection without an access token is refused (22023)');
SELECT lives_ok($$
  SELECT caas.account_connect('00000000-0000-4000-8000-0000000000c1', p, 'id-' || p, '@' || p, p,
                              (SELECT v FROM tok WHERE name = 'a1'), NULL, 'k1', NULL, NULL)
    FROM unnest(ARRAY['linkedin', 'sandbox']) AS p
$$, 'the owner connects a LinkedIn and a sandbox account');

SELECT is(caas.account_get('00000000-0000-4000-8000-0000000000c1', (SELECT account_id FROM acct))
          ?| ARRAY['access_token_enc', 'refresh_token_enc', 'token_key_id'],
  false, 'account_get never returns token columns');
SELECT throws_ok($$ SELECT caas.account_get('00000000-0000-4000-8000-0000000000c3', (SELECT account_id FROM acct)) $$,
  'P0002', 'organization not found', 'an organisation the caller is not in is P0002');
SELECT throws_ok($$ SELECT caas.account_get('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000999') $$,
  'P0002', 'social account not found', 'an unknown account is P0002');

-- ---------------------------------------------------------- roles --

SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a2"}', true);
SELECT throws_ok($$ SELECT caas.account_connect('00000000-0000-4000-8000-0000000000c1', 'instagram', '77', '', '',
                        (SELECT v FROM tok WHERE name = 'a1'), NULL, 'k1', NULL, NULL) $$,
  '42501', 'permission denied: account.manage', 'a member cannot connect accounts (42501)');
SELECT throws_ok($$ SELECT caas.account_disconnect('00000000-0000-4000-8000-0000000000c1', (SELECT account_id FROM acct)) $$,
  '42501', 'permission denied: account.manage', 'a member cannot disconnect accounts (42501)');
SELECT throws_ok($$ SELECT access_token_enc FROM caas.social_accounts $$, '42501', NULL,
  'a member cannot read the sealed tokens directly either');
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a3"}', true);
SELECT is(jsonb_array_length(caas.account_list('00000000-0000-4000-8000-0000000000c1') -> 'items'),
  3, 'a viewer lists the organisation''s three accounts');
SELECT is((SELECT bool_or(e ?| ARRAY['access_token_enc', 'refresh_token_enc', 'token_key_id'])
             FROM jsonb_array_elements(caas.account_list('00000000-0000-4000-8000-0000000000c1') -> 'items') e),
  false, 'account_list never returns token columns');
SELECT isnt(caas.account_list('00000000-0000-4000-8000-0000000000c1', lim => 2) ->> 'next_cursor', NULL,
  'a page of 2 of 3 accounts has a next cursor');
SELECT is(jsonb_array_length(caas.account_list('00000000-0000-4000-8000-0000000000c1',
            cursor => caas.account_list('00000000-0000-4000-8000-0000000000c1', lim => 2) ->> 'next_cursor',
            lim => 2) -> 'items'),
  1, 'the next page holds the third account');

-- ---------------------------------------------------- disconnecting --

SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a1"}', true);
SELECT lives_ok($$
  SELECT caas.post_schedule('00000000-0000-4000-8000-0000000000c1', ('00000000-0000-4000-8000-000000000' || n)::uuid,
                            (SELECT account_id FROM acct), '2027-05-01T09:30:00Z', 'UTC')
    FROM generate_series(101, 103) AS n
$$, 'three posts are scheduled for the X account');
RESET ROLE;
UPDATE caas.scheduled_posts SET state = 'publishing', attempts = 1, lease_owner = 't', lease_expires_at = now() + interval '1 minute'
 WHERE content_id = '00000000-0000-4000-8000-000000000103';
UPDATE caas.scheduled_posts SET state = 'published', lease_owner = NULL, lease_expires_at = NULL, remote_id = '99', published_at = now()
 WHERE content_id = '00000000-0000-4000-8000-000000000103';
SET LOCAL ROLE caas_user;
SELECT is(caas.account_disconnect('00000000-0000-4000-8000-0000000000c1', (SELECT account_id FROM acct))
          - 'account_id' - 'connected_at' - 'updated_at' - 'org_id' - 'connected_by' - 'handle' - 'display_name'
          - 'external_id' - 'scopes' - 'platform',
  jsonb_build_object('status', 'disconnected', 'token_expires_at', NULL, 'refresh_expires_at', NULL,
                     'last_error', NULL, 'posts_cancelled', 2),
  'disconnecting says the account is disconnected and how many posts were cancelled');
SELECT is((SELECT array_agg(state::text || ':' || coalesce(last_error, '-') ORDER BY content_id)
             FROM caas.scheduled_posts WHERE account_id = (SELECT account_id FROM acct)),
  ARRAY['cancelled:account disconnected', 'cancelled:account disconnected', 'published:-'],
  'its waiting posts are cancelled with "account disconnected", its published post stays');
RESET ROLE;
SELECT is((SELECT access_token_enc IS NULL AND refresh_token_enc IS NULL AND token_key_id IS NULL
             FROM caas.social_accounts WHERE account_id = (SELECT account_id FROM acct)),
  true, 'a disconnected account keeps no tokens');
SET LOCAL ROLE caas_user;
SELECT throws_ok($$ SELECT caas.account_disconnect('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000999') $$,
  'P0002', 'social account not found', 'disconnecting an unknown account is P0002');
SELECT is(caas.account_connect('00000000-0000-4000-8000-0000000000c1', 'x', '4242', NULL, NULL,
                               (SELECT v FROM tok WHERE name = 'a1'), NULL, 'k1', NULL, NULL) ->> 'status',
  'connected', 'a disconnected account can be connected again');

-- ------------------------------------------------ Free plan limit --

SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a5"}', true);
SELECT lives_ok($$
  SELECT caas.account_connect('00000000-0000-4000-8000-0000000000c3', 'sandbox', 'free-' || n, '', '',
                              (SELECT v FROM tok WHERE name = 'a1'), NULL, 'k1', NULL, NULL)
    FROM generate_series(1, 3) AS n
$$, 'a Free organisation connects 3 accounts');
SELECT throws_ok($$ SELECT caas.account_connect('00000000-0000-4000-8000-0000000000c3', 'sandbox', 'free-4', '', '',
                        (SELECT v FROM tok WHERE name = 'a1'), NULL, 'k1', NULL, NULL) $$,
  'CA001', 'quota exceeded: social accounts (3 on the Free plan)', 'a 4th account is refused (CA001)');
SELECT lives_ok($$ SELECT caas.account_connect('00000000-0000-4000-8000-0000000000c3', 'sandbox', 'free-1', '', '',
                       (SELECT v FROM tok WHERE name = 'a2'), NULL, 'k1', NULL, NULL) $$,
  'reconnecting one of the 3, at the limit, is accepted: it is already counted');
SELECT lives_ok($$ SELECT caas.account_disconnect('00000000-0000-4000-8000-0000000000c3',
                         (SELECT account_id FROM caas.social_accounts WHERE external_id = 'free-3')) $$,
  'disconnecting one frees a place');
SELECT lives_ok($$ SELECT caas.account_connect('00000000-0000-4000-8000-0000000000c3', 'sandbox', 'free-4', '', '',
                       (SELECT v FROM tok WHERE name = 'a1'), NULL, 'k1', NULL, NULL) $$,
  'which a new account takes');
SELECT throws_ok($$ SELECT caas.account_connect('00000000-0000-4000-8000-0000000000c3', 'sandbox', 'free-3', '', '',
                        (SELECT v FROM tok WHERE name = 'a1'), NULL, 'k1', NULL, NULL) $$,
  'CA001', 'quota exceeded: social accounts (3 on the Free plan)',
  'the disconnected account cannot come back beyond the limit (CA001)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
