--
-- tests/sql/dispatch_refresh.sql — token refresh, one at a time per account
-- (extension/sql/0.2/081_token_refresh.sql).
--
-- Covers, as caas_dispatcher: dispatch_refresh_claim leases the connected
-- accounts with a refresh token whose access token expires within the
-- horizon, soonest first, with their sealed tokens (one-line base64), and
-- skips accounts expiring later, without refresh token, not connected or
-- already leased; a second claimer gets nothing; bad batch, horizon or
-- lease is 22023.  dispatch_refresh_account leases one account on demand
-- and answers NULL while another refresh holds it, for an account without
-- refresh token or not connected; it takes over a lapsed lease; P0002 for
-- another organisation's id.  dispatch_token_store, by the lease holder
-- only (CA002 otherwise, even for the holder of a lapsed lease that another
-- dispatcher took over), stores the new tokens, keeps the stored refresh
-- token when given none (22023 when the key id changes without a refresh
-- token sealed with the new key), marks the account connected, releases
-- the lease and returns the account without tokens; 22023 without an
-- access token.  dispatch_token_failed releases the lease, and with reauth
-- marks the account needs_reauth with the message, audited; without reauth
-- it changes nothing else; CA002 for a non-holder.  Disconnecting an
-- account drops its lease, so a refresh in flight cannot store tokens into
-- it (CA002).  caas_user can neither call these functions nor read the
-- lease columns.
--
-- Fixed ids (00000000-0000-4000-8000-000000000XXX): 3c1/3c2 organisations;
-- accounts of 3c1: 3d1 X expiring in 5 min, 3d2 LinkedIn expiring in 1 min,
-- 3d3 X expiring in 2 days, 3d4 X without refresh token, 3d5 X
-- needs_reauth, 3d6 X expiring in 3 min; 3a1 owner.
--

BEGIN;
SELECT plan(35);

INSERT INTO caas.users (user_id, email, password_hash)
VALUES ('00000000-0000-4000-8000-0000000003a1', 'refresh@example.com', '$argon2id$x');
INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000003c1', 'Refresh', 'dispatch-refresh'),
  ('00000000-0000-4000-8000-0000000003c2', 'Other', 'dispatch-refresh-other');
INSERT INTO caas.subscriptions (org_id, plan_id) VALUES ('00000000-0000-4000-8000-0000000003c1', 'team');
INSERT INTO caas.organization_members (org_id, user_id, role)
VALUES ('00000000-0000-4000-8000-0000000003c1', '00000000-0000-4000-8000-0000000003a1', 'owner');
CREATE TEMP TABLE tok (name text PRIMARY KEY, v bytea);
INSERT INTO tok VALUES ('a0', decode(repeat('a0', 100), 'hex')), ('r0', decode(repeat('b0', 100), 'hex')),
                       ('a1', decode(repeat('a1', 40), 'hex')), ('r1', decode(repeat('b1', 40), 'hex')),
                       ('a2', decode(repeat('a2', 40), 'hex'));
GRANT SELECT ON tok TO caas_dispatcher;
INSERT INTO caas.social_accounts (org_id, account_id, platform, external_id, status, access_token_enc,
                                  refresh_token_enc, token_key_id, token_expires_at)
SELECT '00000000-0000-4000-8000-0000000003c1', ('00000000-0000-4000-8000-0000000003d' || n)::uuid, p, 'ext-' || n,
       s::caas.account_status, (SELECT v FROM tok WHERE name = 'a0'),
       CASE WHEN r THEN (SELECT v FROM tok WHERE name = 'r0') END, 'k1', now() + e
  FROM (VALUES (1, 'x', 'connected', true, interval '5 minutes'),
               (2, 'linkedin', 'connected', true, interval '1 minute'),
               (3, 'x', 'connected', true, interval '2 days'),
               (4, 'x', 'connected', false, interval '1 minute'),
               (5, 'x', 'needs_reauth', true, interval '1 minute'),
               (6, 'x', 'connected', true, interval '3 minutes')) AS v(n, p, s, r, e);

CREATE TEMP TABLE leased (j jsonb);
GRANT ALL ON leased TO caas_dispatcher;
-- account N of 3c1
CREATE FUNCTION pg_temp.acct(n integer) RETURNS uuid LANGUAGE sql IMMUTABLE
AS $$ SELECT ('00000000-0000-4000-8000-0000000003d' || n)::uuid $$;
GRANT EXECUTE ON FUNCTION pg_temp.acct(integer) TO caas_dispatcher, caas_user;

-- ------------------------------------------------------------ claim --

SET LOCAL ROLE caas_dispatcher;
SELECT throws_ok($$ SELECT caas.dispatch_refresh_claim('r1', 0, 600, 60) $$,
  '22023', 'batch of 0 accounts is out of range', 'a batch of 0 is refused (22023)');
SELECT throws_ok($$ SELECT caas.dispatch_refresh_claim('r1', 10, -1, 60) $$,
  '22023', 'horizon of -1 seconds is out of range', 'a negative horizon is refused (22023)');
SELECT throws_ok($$ SELECT caas.dispatch_refresh_claim('r1', 10, 600, NULL) $$,
  '22023', 'a lease length is required', 'a missing lease is refused (22023)');

-- Account 6 is being refreshed by r0 already.
SELECT isnt(caas.dispatch_refresh_account('r0', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(6), 60), NULL,
  'r0 leases account 6 on demand');
INSERT INTO leased SELECT caas.dispatch_refresh_claim('r1', 10, 600, 60);
SELECT is((SELECT array_agg(right(j ->> 'account_id', 3)) FROM leased),
  ARRAY['3d2', '3d1'],
  'r1 leases the connected accounts with a refresh token expiring within 10 minutes, soonest first, not the one r0 holds');
SELECT is((SELECT j - 'access_token_enc' - 'refresh_token_enc' - 'token_expires_at' FROM leased
            WHERE j ->> 'account_id' = '00000000-0000-4000-8000-0000000003d1'),
  '{"org_id": "00000000-0000-4000-8000-0000000003c1", "account_id": "00000000-0000-4000-8000-0000000003d1",
    "platform": "x", "external_id": "ext-1", "token_key_id": "k1"}'::jsonb,
  'a leased account comes with its ids, platform, external id and key id');
SELECT is((SELECT decode(j ->> 'access_token_enc', 'base64') = (SELECT v FROM tok WHERE name = 'a0')
                  AND decode(j ->> 'refresh_token_enc', 'base64') = (SELECT v FROM tok WHERE name = 'r0')
                  AND strpos(j ->> 'refresh_token_enc', E'\n') = 0
                  AND (j ->> 'token_expires_at')::timestamptz = now() + interval '5 minutes'
             FROM leased WHERE j ->> 'account_id' = '00000000-0000-4000-8000-0000000003d1'),
  true, 'and its sealed tokens (one-line base64) and expiry');
SELECT is(caas.dispatch_refresh_claim('r2', 10, 600, 60), NULL, 'a second claimer finds nothing left to refresh');
SELECT is((SELECT count(*)::integer FROM caas.dispatch_refresh_claim('r2', 10, 3 * 86400, 60)), 1,
  'a horizon of three days also finds the account expiring in two');

-- ----------------------------------------------------- on demand --

SELECT is(caas.dispatch_refresh_account('r2', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(1), 60), NULL,
  'an account whose refresh another dispatcher holds is not leased again (NULL)');
SELECT is(caas.dispatch_refresh_account('r1', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(1), 60), NULL,
  'not even to its holder: one refresh at a time');
SELECT is(caas.dispatch_refresh_account('r2', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(4), 60), NULL,
  'an account without refresh token cannot be refreshed (NULL)');
SELECT is(caas.dispatch_refresh_account('r2', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(5), 60), NULL,
  'nor one that needs re-authorisation (NULL)');
SELECT throws_ok($$ SELECT caas.dispatch_refresh_account('r2', '00000000-0000-4000-8000-0000000003c2', pg_temp.acct(2), 60) $$,
  'P0002', 'social account not found', 'an account id under another organisation''s id is not found (P0002)');
RESET ROLE;
UPDATE caas.social_accounts SET refresh_lease_expires_at = now() - interval '1 second' WHERE account_id = pg_temp.acct(2);
SET LOCAL ROLE caas_dispatcher;
SELECT is(caas.dispatch_refresh_account('r3', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(2), 60) ->> 'account_id',
  pg_temp.acct(2)::text, 'a lapsed lease (r1 on account 2) is taken over by r3');

-- ------------------------------------------------------------ store --

SELECT throws_ok($$ SELECT caas.dispatch_token_store('r2', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(1),
                        (SELECT v FROM tok WHERE name = 'a1'), NULL, 'k1', now() + interval '2 hours', NULL) $$,
  'CA002', 'social account is not leased to r2 for a token refresh', 'only the lease holder stores tokens (CA002)');
SELECT throws_ok($$ SELECT caas.dispatch_token_store('r1', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(2),
                        (SELECT v FROM tok WHERE name = 'a1'), NULL, 'k1', now() + interval '2 hours', NULL) $$,
  'CA002', 'social account is not leased to r1 for a token refresh',
  'a holder whose lapsed lease was taken over cannot store any more (CA002)');
SELECT throws_ok($$ SELECT caas.dispatch_token_store('r1', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(1),
                        NULL, NULL, 'k1', now() + interval '2 hours', NULL) $$,
  '22023', 'an access token and its key id are required', 'storing without an access token is refused (22023)');
SELECT throws_ok($$ SELECT caas.dispatch_token_store('r1', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(1),
                        (SELECT v FROM tok WHERE name = 'a1'), NULL, 'k2', now() + interval '2 hours', NULL) $$,
  '22023', 'the stored refresh token is sealed with key k1, not k2',
  'a new key id without the refresh token sealed with it is refused (22023)');
SELECT is(caas.dispatch_token_store('r1', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(1),
                                    (SELECT v FROM tok WHERE name = 'a1'), NULL, 'k1', now() + interval '2 hours', NULL)
          ?| ARRAY['access_token_enc', 'refresh_token_enc', 'token_key_id', 'refresh_lease_owner'],
  false, 'the holder stores a new access token; the answer shows no token, key or lease');
RESET ROLE;
SELECT is((SELECT access_token_enc = (SELECT v FROM tok WHERE name = 'a1')
                  AND refresh_token_enc = (SELECT v FROM tok WHERE name = 'r0')
                  AND token_expires_at = now() + interval '2 hours'
                  AND refresh_lease_owner IS NULL AND refresh_lease_expires_at IS NULL
             FROM caas.social_accounts WHERE account_id = pg_temp.acct(1)),
  true, 'the new access token and expiry are stored, the refresh token kept, the lease released');
SET LOCAL ROLE caas_dispatcher;
SELECT throws_ok($$ SELECT caas.dispatch_token_store('r1', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(1),
                        (SELECT v FROM tok WHERE name = 'a2'), NULL, 'k1', NULL, NULL) $$,
  'CA002', 'social account is not leased to r1 for a token refresh', 'a stored refresh releases the lease: no second store (CA002)');
SELECT lives_ok($$ SELECT caas.dispatch_token_store('r3', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(2),
                       (SELECT v FROM tok WHERE name = 'a2'), (SELECT v FROM tok WHERE name = 'r1'), 'k2',
                       now() + interval '2 hours', now() + interval '60 days') $$,
  'a refresh that rotates the refresh token stores both, sealed with a new key');
RESET ROLE;
SELECT is((SELECT refresh_token_enc = (SELECT v FROM tok WHERE name = 'r1') AND token_key_id = 'k2'
                  AND refresh_expires_at = now() + interval '60 days'
             FROM caas.social_accounts WHERE account_id = pg_temp.acct(2)),
  true, 'the rotated refresh token, its key and its expiry are stored');

-- ----------------------------------------------------------- failed --

SET LOCAL ROLE caas_dispatcher;
SELECT throws_ok($$ SELECT caas.dispatch_token_failed('r1', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(6), true, 'revoked') $$,
  'CA002', 'social account is not leased to r1 for a token refresh', 'only the lease holder reports a failure (CA002)');
SELECT lives_ok($$ SELECT caas.dispatch_token_failed('r0', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(6), false, 'timeout') $$,
  'a transient failure is reported');
RESET ROLE;
SELECT is((SELECT status::text || ' ' || coalesce(last_error, '-') || ' ' || coalesce(refresh_lease_owner, '-')
             FROM caas.social_accounts WHERE account_id = pg_temp.acct(6)),
  'connected - -', 'a transient failure only releases the lease');
SET LOCAL ROLE caas_dispatcher;
SELECT isnt(caas.dispatch_refresh_account('r0', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(6), 60), NULL,
  'so the account can be leased again');
SELECT lives_ok($$ SELECT caas.dispatch_token_failed('r0', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(6), true,
                                                     'the platform revoked the refresh token') $$,
  'a refused refresh token is reported');
RESET ROLE;
SELECT is((SELECT status::text || ': ' || last_error || ' ' || coalesce(refresh_lease_owner, '-')
             FROM caas.social_accounts WHERE account_id = pg_temp.acct(6)),
  'needs_reauth: the platform revoked the refresh token -', 'it marks the account needs_reauth with the reason and releases the lease');
SELECT is((SELECT action FROM caas.audit_log WHERE target_id = pg_temp.acct(6)::text ORDER BY audit_id DESC LIMIT 1),
  'account.needs_reauth', 'and the change of status is audited');

-- ------------------------------------------------ disconnect in flight --

SELECT is((SELECT refresh_lease_owner FROM caas.social_accounts WHERE account_id = pg_temp.acct(3)),
  'r2', 'r2 is refreshing account 3 (from its three-day claim)');
SET LOCAL ROLE caas_user;
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000003a1"}', true);
SELECT is(caas.account_disconnect('00000000-0000-4000-8000-0000000003c1', pg_temp.acct(3)) ->> 'status',
  'disconnected', 'the owner disconnects account 3 during the refresh');
SELECT throws_ok($$ SELECT caas.dispatch_token_failed('r2', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(3), false, 'x') $$,
  '42501', NULL, 'caas_user cannot call the refresh functions');
SELECT throws_ok($$ SELECT refresh_lease_owner FROM caas.social_accounts $$, '42501', NULL,
  'nor read the refresh lease');
RESET ROLE;
SET LOCAL ROLE caas_dispatcher;
SELECT throws_ok($$ SELECT caas.dispatch_token_store('r2', '00000000-0000-4000-8000-0000000003c1', pg_temp.acct(3),
                        (SELECT v FROM tok WHERE name = 'a1'), (SELECT v FROM tok WHERE name = 'r1'), 'k1', NULL, NULL) $$,
  'CA002', 'social account is not leased to r2 for a token refresh',
  'the refresh in flight cannot store tokens into the disconnected account (CA002)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
