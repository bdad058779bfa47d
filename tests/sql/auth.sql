--
-- tests/sql/auth.sql — refresh tokens and password changes
-- (extension/sql/0.2/068_auth.sql), as the roles the API uses.
--
BEGIN;
SELECT plan(16);

INSERT INTO caas.users (user_id, email, password_hash) VALUES
  ('00000000-0000-4000-8000-0000000000a1', 'ann@example.com', '$argon2id$old'),
  ('00000000-0000-4000-8000-0000000000a2', 'off@example.com', '$argon2id$x');
UPDATE caas.users SET is_active = false WHERE user_id = '00000000-0000-4000-8000-0000000000a2';

SET LOCAL ROLE caas_anon;
CREATE TEMP TABLE fam AS
  SELECT caas.auth_refresh_issue('00000000-0000-4000-8000-0000000000a1', sha256('t1'), 3600) AS f;
SELECT isnt((SELECT f FROM fam), NULL, 'a login issues a refresh token and names its family');
SELECT throws_ok($$ SELECT caas.auth_refresh_issue('00000000-0000-4000-8000-0000000000a2', sha256('tx'), 3600) $$,
  '28000', 'no such active user', 'an inactive user gets no token');
SELECT throws_ok($$ SELECT caas.auth_refresh_issue('00000000-0000-4000-8000-0000000000a1', sha256('ty'), 10) $$,
  '22023', NULL, 'the lifetime is bounded');
SELECT is(caas.auth_refresh_rotate(sha256('t1'), sha256('t2'), 3600) ->> 'status', 'ok', 'a fresh token rotates');
SELECT is(caas.auth_refresh_rotate(sha256('t2'), sha256('t3'), 3600) ->> 'user_id',
  '00000000-0000-4000-8000-0000000000a1', 'the successor rotates too and names its user');
SELECT is(caas.auth_refresh_rotate(sha256('nope'), sha256('t9'), 3600) ->> 'status', 'invalid', 'an unknown token is invalid');
SELECT is(caas.auth_refresh_rotate(sha256('t1'), sha256('t4'), 3600) ->> 'status', 'reused', 'a spent token is detected as reused');
SELECT is(caas.auth_refresh_rotate(sha256('t3'), sha256('t5'), 3600) ->> 'status', 'invalid',
  'after reuse the whole family is revoked, the live token included');
RESET ROLE;
SELECT is((SELECT count(*) FROM caas.refresh_tokens WHERE family_id = (SELECT f FROM fam) AND revoked_at IS NULL), 0::bigint,
  'no token of the family is left alive');

SET LOCAL ROLE caas_anon;
SELECT caas.auth_refresh_issue('00000000-0000-4000-8000-0000000000a1', sha256('l1'), 3600);
SELECT lives_ok($$ SELECT caas.auth_logout(sha256('l1')) $$, 'logout revokes the token''s family');
SELECT is(caas.auth_refresh_rotate(sha256('l1'), sha256('l2'), 3600) ->> 'status', 'invalid', 'a logged-out token no longer rotates');
SELECT lives_ok($$ SELECT caas.auth_logout(sha256('never issued')) $$, 'logout of an unknown token is silent');
SELECT throws_ok($$ SELECT caas.user_password_hash() $$, '42501', NULL, 'anonymous callers cannot read a password hash');
SELECT caas.auth_refresh_issue('00000000-0000-4000-8000-0000000000a1', sha256('p1'), 3600);

SET LOCAL ROLE caas_user;
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a1"}', true);
SELECT is(caas.user_password_hash(), '$argon2id$old', 'a user reads their own hash, to check the current password');
SELECT throws_ok($$ SELECT caas.auth_refresh_issue('00000000-0000-4000-8000-0000000000a1', sha256('z'), 3600) $$,
  '42501', NULL, 'end users cannot mint refresh tokens');
SELECT caas.user_set_password('$argon2id$new');
RESET ROLE;
SELECT results_eq($$ SELECT password_hash, (SELECT count(*) FROM caas.refresh_tokens WHERE user_id = u.user_id AND revoked_at IS NULL)
                      FROM caas.users u WHERE user_id = '00000000-0000-4000-8000-0000000000a1' $$,
  $$ VALUES ('$argon2id$new'::text, 0::bigint) $$, 'a password change stores the new hash and revokes every refresh token');

SELECT * FROM finish();
ROLLBACK;
