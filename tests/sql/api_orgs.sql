--
-- tests/sql/api_orgs.sql — the SQL API for people and organisations
-- (extension/sql/0.2/070_api_orgs.sql) and the audit triggers
-- (080_audit.sql), called as the real roles: caas_anon to register,
-- caas_user with the caller's claims for everything else.
--
BEGIN;
SELECT plan(66);

CREATE FUNCTION pg_temp.act_as(who uuid) RETURNS void LANGUAGE sql AS $$
  SELECT set_config('request.jwt.claims', CASE WHEN who IS NULL THEN '' ELSE json_build_object('sub', who)::text END, true);
$$;
GRANT EXECUTE ON FUNCTION pg_temp.act_as(uuid) TO caas_anon, caas_user;
CREATE TEMP TABLE ids (name text PRIMARY KEY, id uuid);
GRANT ALL ON ids TO caas_anon, caas_user;
CREATE FUNCTION pg_temp.id(n text) RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT id FROM ids WHERE name = n $$;
GRANT EXECUTE ON FUNCTION pg_temp.id(text) TO caas_anon, caas_user;

-- ------------------------------------------------------------- users --
SET LOCAL ROLE caas_anon;
INSERT INTO ids SELECT 'owner', (caas.user_register('Olga@Example.com', '$argon2id$v=19$x', 'Olga', 'Owner') ->> 'user_id')::uuid;
INSERT INTO ids SELECT 'admin', (caas.user_register('adam@example.com', '$argon2id$v=19$x', 'Adam', 'Admin') ->> 'user_id')::uuid;
INSERT INTO ids SELECT 'member', (caas.user_register('mia@example.com', '$argon2id$v=19$x', 'Mia', 'Member') ->> 'user_id')::uuid;
INSERT INTO ids SELECT 'viewer', (caas.user_register('vic@example.com', '$argon2id$v=19$x', 'Vic', 'Viewer') ->> 'user_id')::uuid;
INSERT INTO ids SELECT 'outsider', (caas.user_register('otto@example.com', '$argon2id$v=19$x', '', '') ->> 'user_id')::uuid;
SELECT is((SELECT count(*) FROM ids WHERE id IS NOT NULL), 5::bigint, 'anonymous callers can register users');
SELECT throws_ok($$ SELECT caas.user_register('olga@example.com', '$argon2id$v=19$y') $$, '23505',
  'email already registered', 'an e-mail registers once, whatever its case');
SELECT throws_ok($$ SELECT caas.user_register('not-an-email', '$argon2id$v=19$y') $$, '23514', NULL,
  'a malformed e-mail is refused');
SELECT is((SELECT password_hash FROM caas.user_credentials('OLGA@example.com')), '$argon2id$v=19$x',
  'login finds the hash by e-mail, case-insensitively');
SELECT ok((SELECT user_id FROM caas.user_credentials('nobody@example.com')) IS NULL, 'an unknown e-mail gives no user');
SELECT throws_ok($$ SELECT caas.user_me() $$, '42501', NULL, 'anonymous callers cannot read a profile');

SET LOCAL ROLE caas_user;
SELECT pg_temp.act_as(pg_temp.id('owner'));
SELECT is(caas.user_me() ->> 'email', 'olga@example.com', 'a user reads their own profile');
SELECT ok(NOT (caas.user_me() ? 'password_hash'), 'the profile never shows the password hash');
SELECT is(caas.user_update_me('{"first_name": "Olga B.", "timezone": "Europe/Paris"}') ->> 'timezone', 'Europe/Paris',
  'a user changes their own profile');
SELECT throws_ok($$ SELECT caas.user_update_me('{"email": "x@example.com"}') $$, '22023', 'unknown field "email"',
  'fields that cannot change are refused by name');
SELECT throws_ok($$ SELECT caas.user_update_me('{"timezone": "Mars/Olympus"}') $$, '23514', NULL,
  'a bad zone is refused');

-- ----------------------------------------------------- organisations --
INSERT INTO ids SELECT 'org', (caas.org_create('Acme', 'acme') ->> 'org_id')::uuid;
SELECT is(caas.org_get(pg_temp.id('org')) ->> 'role', 'owner', 'the creator owns the new organisation');
SELECT is(caas.org_get(pg_temp.id('org')) ->> 'plan', 'free', 'a new organisation is on the free plan');
SELECT throws_ok($$ SELECT caas.org_create('Other', 'acme') $$, '23505', 'organization slug "acme" is taken',
  'slugs are unique');
RESET ROLE;
INSERT INTO caas.subscriptions (org_id, plan_id) VALUES (pg_temp.id('org'), 'team');
SET LOCAL ROLE caas_user;
SELECT is(caas.org_get(pg_temp.id('org')) ->> 'plan', 'team', 'the subscription''s plan is in force');

-- ----------------------------------------------------------- members --
SELECT is(caas.member_add(pg_temp.id('org'), 'adam@example.com', 'admin') ->> 'role', 'admin', 'the owner adds an admin');
SELECT throws_ok($$ SELECT caas.member_add(pg_temp.id('org'), 'mia@example.com', 'owner') $$, 'CA006',
  'the owner role cannot be granted', 'nobody is added as owner');
SELECT throws_ok($$ SELECT caas.member_add(pg_temp.id('org'), 'ghost@example.com', 'member') $$, 'P0002',
  'no user with this e-mail', 'adding an unknown e-mail says to invite instead');
SELECT pg_temp.act_as(pg_temp.id('admin'));
SELECT is(caas.member_add(pg_temp.id('org'), 'mia@example.com', 'member') ->> 'role', 'member', 'an admin adds a member');
SELECT throws_ok($$ SELECT caas.member_add(pg_temp.id('org'), 'mia@example.com', 'viewer') $$, '23505', 'already a member',
  'a member is added once');
SELECT throws_ok($$ SELECT caas.member_set_role(pg_temp.id('org'), pg_temp.id('owner'), 'admin') $$, 'CA006',
  'the owner cannot be demoted', 'an admin cannot demote the owner');
SELECT throws_ok($$ SELECT caas.member_remove(pg_temp.id('org'), pg_temp.id('owner')) $$, 'CA006', NULL,
  'an admin cannot remove the owner');
SELECT pg_temp.act_as(pg_temp.id('member'));
SELECT throws_ok($$ SELECT caas.member_add(pg_temp.id('org'), 'vic@example.com', 'viewer') $$, '42501',
  'permission denied: member.manage', 'a member cannot add members');
SELECT is(jsonb_array_length(caas.member_list(pg_temp.id('org')) -> 'items'), 3, 'members see the member list');
SELECT pg_temp.act_as(pg_temp.id('outsider'));
SELECT throws_ok($$ SELECT caas.member_list(pg_temp.id('org')) $$, 'P0002', 'organization not found',
  'an outsider cannot tell the organisation exists');
SELECT throws_ok($$ SELECT caas.org_get(pg_temp.id('org')) $$, 'P0002', 'organization not found',
  'an outsider cannot read it');

-- ------------------------------------------------------- invitations --
SELECT pg_temp.act_as(pg_temp.id('admin'));
INSERT INTO ids SELECT 'inv', (caas.invitation_create(pg_temp.id('org'), 'VIC@example.com', 'viewer') ->> 'invitation_id')::uuid;
CREATE TEMP TABLE tok AS SELECT caas.invitation_create(pg_temp.id('org'), 'otto@example.com', 'member') ->> 'token' AS t;
SELECT throws_ok($$ SELECT caas.invitation_create(pg_temp.id('org'), 'otto@example.com', 'member') $$, '23505',
  'an invitation for this e-mail is already pending', 'one pending invitation per address');
SELECT throws_ok($$ SELECT caas.invitation_create(pg_temp.id('org'), 'new@example.com', 'owner') $$, 'CA006', NULL,
  'nobody is invited as owner');
SELECT throws_ok($$ SELECT caas.invitation_create(pg_temp.id('org'), 'mia@example.com', 'viewer') $$, '23505',
  'already a member', 'members are not invited again');
SELECT is((SELECT count(*) FROM caas.invitations WHERE org_id = pg_temp.id('org')), 2::bigint,
  'admins see the organisation''s invitations');
SELECT ok(NOT (caas.invitation_list(pg_temp.id('org')) -> 'items' -> 0 ? 'token_hash'), 'invitation lists never show token hashes');
SELECT pg_temp.act_as(pg_temp.id('viewer'));
SELECT throws_ok($$ SELECT caas.invitation_accept((SELECT t FROM tok)) $$, '42501',
  'this invitation is for another e-mail address', 'an invitation is accepted only by its addressee');
SELECT throws_ok($$ SELECT caas.invitation_accept((SELECT regexp_replace(t, '.$', 'x') FROM tok)) $$, 'P0002',
  'invitation not found or expired', 'a forged token is refused');
SELECT throws_ok($$ SELECT caas.invitation_accept('garbage') $$, 'P0002', 'invitation not found or expired',
  'a malformed token is refused the same way');
SELECT pg_temp.act_as(pg_temp.id('outsider'));
SELECT is(caas.invitation_accept((SELECT t FROM tok)) ->> 'role', 'member', 'the addressee accepts and joins with the role');
SELECT throws_ok($$ SELECT caas.invitation_accept((SELECT t FROM tok)) $$, 'P0002', NULL, 'a token is spent once');
SELECT pg_temp.act_as(pg_temp.id('admin'));
SELECT lives_ok($$ SELECT caas.invitation_revoke(pg_temp.id('org'), pg_temp.id('inv')) $$, 'an admin revokes an invitation');
SELECT throws_ok($$ SELECT caas.invitation_revoke(pg_temp.id('org'), pg_temp.id('inv')) $$, 'P0002', NULL,
  'a revoked invitation cannot be revoked again');

-- ------------------------------------------------ roles and leaving --
SELECT is(caas.member_set_role(pg_temp.id('org'), pg_temp.id('outsider'), 'viewer') ->> 'role', 'viewer',
  'an admin changes a member''s role');
SELECT pg_temp.act_as(pg_temp.id('outsider'));
SELECT lives_ok($$ SELECT caas.member_remove(pg_temp.id('org'), pg_temp.id('outsider')) $$, 'anyone may leave');
SELECT pg_temp.act_as(pg_temp.id('owner'));
SELECT throws_ok($$ SELECT caas.member_remove(pg_temp.id('org'), pg_temp.id('owner')) $$, 'CA006',
  'the owner cannot leave or be removed', 'the owner cannot leave');
SELECT throws_ok($$ SELECT caas.org_transfer_ownership(pg_temp.id('org'), pg_temp.id('outsider')) $$, 'P0002',
  'member not found', 'ownership goes only to a member');
SELECT pg_temp.act_as(pg_temp.id('admin'));
SELECT throws_ok($$ SELECT caas.org_transfer_ownership(pg_temp.id('org'), pg_temp.id('admin')) $$, '42501',
  'permission denied: org.transfer', 'an admin cannot take ownership');
SELECT pg_temp.act_as(pg_temp.id('owner'));
SELECT is(caas.org_transfer_ownership(pg_temp.id('org'), pg_temp.id('admin')) ->> 'role', 'admin',
  'the owner transfers ownership and becomes an admin');
RESET ROLE;
SELECT is((SELECT array_agg(user_id) FROM caas.organization_members WHERE org_id = pg_temp.id('org') AND role = 'owner'),
  ARRAY[pg_temp.id('admin')], 'the organisation still has exactly one owner, the new one');
SET LOCAL ROLE caas_user;

-- -------------------------------------------------------- workspaces --
SELECT pg_temp.act_as(pg_temp.id('owner'));   -- now an admin
INSERT INTO ids SELECT 'ws', (caas.workspace_create(pg_temp.id('org'), 'Brand', 'Brand') ->> 'workspace_id')::uuid;
SELECT is(caas.workspace_get(pg_temp.id('org'), pg_temp.id('ws')) ->> 'slug', 'brand', 'admins create workspaces (slug lower-cased)');
SELECT is(caas.workspace_update(pg_temp.id('org'), pg_temp.id('ws'), '{"brand_voice": "Warm, short."}') ->> 'brand_voice',
  'Warm, short.', 'admins edit the brand voice');
SELECT pg_temp.act_as(pg_temp.id('member'));
SELECT throws_ok($$ SELECT caas.workspace_create(pg_temp.id('org'), 'X', 'x') $$, '42501', 'permission denied: workspace.manage',
  'members cannot create workspaces');
SELECT is(jsonb_array_length(caas.workspace_list(pg_temp.id('org')) -> 'items'), 1, 'members list workspaces');

-- ------------------------------------------- plans, billing, usage --
SELECT is(jsonb_array_length(caas.plan_list()), 3, 'three public plans are listed');
SELECT throws_ok($$ SELECT caas.subscription_get(pg_temp.id('org')) $$, '42501', 'permission denied: billing.view',
  'members do not see billing');
SELECT is(caas.usage_get(pg_temp.id('org')) -> 'members' ->> 'used', '3', 'usage counts members');
SELECT is(caas.usage_get(pg_temp.id('org')) -> 'workspaces' ->> 'limit', '20', 'usage shows the team plan''s limits');
SELECT pg_temp.act_as(pg_temp.id('admin'));
SELECT is(caas.subscription_get(pg_temp.id('org')) -> 'plan' ->> 'plan_id', 'team', 'the owner sees the subscription');

-- ------------------------------------------------------------- audit --
SELECT ok((SELECT array_agg(e ->> 'action') FROM jsonb_array_elements(caas.audit_list(pg_temp.id('org'), NULL, 100) -> 'items') e)
          @> ARRAY['member.added', 'member.role_changed', 'member.removed', 'ownership.transferred',
                   'invitation.created', 'invitation.revoked', 'invitation.accepted', 'billing.subscribed'],
  'membership, invitation, ownership and billing changes are in the audit log');
SELECT is((SELECT count(*) FROM jsonb_array_elements(caas.audit_list(pg_temp.id('org'), NULL, 100) -> 'items') e
            WHERE e ->> 'action' = 'ownership.transferred' AND e ->> 'actor_email' = 'olga@example.com'), 1::bigint,
  'the audit log names who acted');
CREATE TEMP TABLE page1 AS SELECT caas.audit_list(pg_temp.id('org'), NULL, 3) AS p;
SELECT is(jsonb_array_length((SELECT p FROM page1) -> 'items'), 3, 'the audit log is paginated');
SELECT ok(NOT EXISTS (
  SELECT 1 FROM jsonb_array_elements((SELECT p FROM page1) -> 'items') a,
               jsonb_array_elements(caas.audit_list(pg_temp.id('org'), (SELECT p ->> 'next_cursor' FROM page1), 3) -> 'items') b
   WHERE a ->> 'audit_id' = b ->> 'audit_id'), 'the next page does not repeat entries');
SELECT pg_temp.act_as(pg_temp.id('member'));
SELECT throws_ok($$ SELECT caas.audit_list(pg_temp.id('org')) $$, '42501', 'permission denied: audit.read',
  'members cannot read the audit log');
SELECT is((SELECT count(*) FROM caas.audit_log), 0::bigint, 'and see no audit rows through plain SQL');
SELECT throws_ok($$ INSERT INTO caas.audit_log (org_id, action) VALUES (pg_temp.id('org'), 'fake.entry') $$, '42501', NULL,
  'end users cannot write the audit log');
SELECT pg_temp.act_as(pg_temp.id('admin'));
SELECT lives_ok($$ SELECT caas.workspace_delete(pg_temp.id('org'), pg_temp.id('ws')) $$, 'admins delete workspaces');
SELECT is((SELECT count(*) FROM jsonb_array_elements(caas.audit_list(pg_temp.id('org'), NULL, 100) -> 'items') e
            WHERE e ->> 'action' = 'workspace.deleted'), 1::bigint, 'deletions are audited');

-- -------------------------------------------------- organisation end --
SELECT pg_temp.act_as(pg_temp.id('owner'));
SELECT throws_ok($$ SELECT caas.org_delete(pg_temp.id('org')) $$, '42501', 'permission denied: org.delete',
  'only the owner deletes the organisation');
SELECT pg_temp.act_as(pg_temp.id('admin'));
SELECT lives_ok($$ SELECT caas.org_delete(pg_temp.id('org')) $$, 'the owner deletes the organisation');
RESET ROLE;
SELECT is((SELECT count(*) FROM caas.audit_log WHERE org_id = pg_temp.id('org')), 0::bigint,
  'its audit log went with it');

SELECT * FROM finish();
ROLLBACK;
