--
-- tests/sql/rbac.sql — the permission matrix (extension/src/rbac.c) and the
-- membership helpers that read it (extension/sql/0.2/020_rbac.sql).
--
-- Covers: caas.permission_matrix() returns exactly the actions of the C
-- table, in its order, with its descriptions and role columns; role_can
-- agrees with it for every role and action and raises 22023 for an unknown
-- role or action; as caas_user, caas._require answers the caller's role when
-- it allows the action, P0002 for a non-member, 42501 'permission denied:
-- <action>' for a role that may not, and 42501 'not authenticated' without a
-- caller; caas.error_codes lists every SQLSTATE 0.2 raises on purpose.
--
-- Fixed ids (all 00000000-0000-4000-8000-0000000000XX):
--   a1 owner, a2 viewer, a3 member of org b1;  a4 outsider (owner of b2)
--

BEGIN;
SELECT plan(21);

-- ------------------------------------------------------------- the matrix --

SELECT results_eq($$ SELECT * FROM caas.permission_matrix() $$, $$ VALUES
  ('content.read', 'read content, versions, scheduled posts and usage', true, true, true, true),
  ('content.write', 'create and edit content, restore versions', true, true, true, false),
  ('content.delete', 'delete content', true, true, false, false),
  ('ai.generate', 'generate drafts with AI', true, true, true, false),
  ('post.schedule', 'schedule, reschedule and cancel posts', true, true, true, false),
  ('account.manage', 'connect and disconnect social accounts', true, true, false, false),
  ('member.manage', 'invite, remove and change roles of members', true, true, false, false),
  ('workspace.manage', 'create, rename and delete workspaces, edit brand voice', true, true, false, false),
  ('org.update', 'rename the organisation and change its defaults', true, true, false, false),
  ('audit.read', 'read the audit log', true, true, false, false),
  ('billing.view', 'view the subscription and invoices', true, true, false, false),
  ('billing.manage', 'change the plan and payment details', true, false, false, false),
  ('org.delete', 'delete the organisation', true, false, false, false),
  ('org.transfer', 'transfer ownership to another member', true, false, false, false)
$$, 'the permission matrix has exactly the fourteen documented actions, in order, with their roles');

SELECT is_empty($$
  SELECT m.action, r.role
    FROM caas.permission_matrix() m
   CROSS JOIN LATERAL (VALUES ('owner', m.owner), ('admin', m.admin),
                              ('member', m.member), ('viewer', m.viewer)) AS r (role, allowed)
   WHERE caas.role_can(r.role, m.action) IS DISTINCT FROM r.allowed
$$, 'role_can agrees with the matrix for every role and action');

SELECT is_empty($$
  SELECT m.action FROM caas.permission_matrix() m
   WHERE NOT (m.owner >= m.admin AND m.admin >= m.member AND m.member >= m.viewer)
$$, 'a role never may more than the role above it (owner > admin > member > viewer)');

SELECT throws_ok($$ SELECT caas.role_can('superuser', 'content.read') $$,
  '22023', 'unknown organisation role "superuser"',
  'role_can refuses an unknown role with 22023');
SELECT throws_ok($$ SELECT caas.role_can('owner', 'content.publish') $$,
  '22023', 'unknown action "content.publish"',
  'role_can refuses an unknown action with 22023');
SELECT is(caas.role_can(NULL, 'content.read'), NULL, 'role_can of no role is NULL (it is strict)');

SELECT set_eq($$ SELECT sqlstate FROM caas.error_codes $$,
  ARRAY['42501', 'P0002', '23505', '23503', '23514', '23502', '22023', '22P02', '22007', '55000',
        'CA001', 'CA002', 'CA003', 'CA004', 'CA005', 'CA006', 'CA007', 'CA008'],
  'caas.error_codes lists the SQLSTATEs the API raises on purpose');
SELECT results_eq($$ SELECT name, http_status FROM caas.error_codes WHERE sqlstate IN ('CA001', 'CA007', 'CA008') ORDER BY sqlstate $$,
  $$ VALUES ('quota_exceeded', 402), ('immutable', 409), ('ai_unavailable', 503) $$,
  'quota_exceeded answers 402, immutable 409 and ai_unavailable 503');

-- --------------------------------------------------- as the real caller --

INSERT INTO caas.users (user_id, email, password_hash) VALUES
  ('00000000-0000-4000-8000-0000000000a1', 'owner@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a2', 'viewer@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a3', 'member@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a4', 'outsider@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a5', 'admin@example.com', '$argon2id$x');
INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000000b1', 'Rbac', 'rbac-test'),
  ('00000000-0000-4000-8000-0000000000b2', 'Elsewhere', 'rbac-elsewhere');
INSERT INTO caas.subscriptions (org_id, plan_id) VALUES ('00000000-0000-4000-8000-0000000000b1', 'team');
INSERT INTO caas.organization_members (org_id, user_id, role) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a1', 'owner'),
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a2', 'viewer'),
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a3', 'member'),
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a5', 'admin'),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000a4', 'owner');

SET LOCAL ROLE caas_user;

SELECT throws_ok($$ SELECT caas._require('00000000-0000-4000-8000-0000000000b1', 'content.read') $$,
  '42501', 'not authenticated',
  '_require without a caller identity is refused with 42501');

SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a4"}', true);
SELECT is(caas.current_user_id(), '00000000-0000-4000-8000-0000000000a4'::uuid,
  'current_user_id is the sub claim of request.jwt.claims');
SELECT throws_ok($$ SELECT caas._require('00000000-0000-4000-8000-0000000000b1', 'content.read') $$,
  'P0002', 'organization not found',
  '_require for a non-member says the organisation does not exist (P0002)');
SELECT is(caas._my_role('00000000-0000-4000-8000-0000000000b1'), NULL::caas.org_role,
  'a non-member has no role in the organisation');

SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a2"}', true);
SELECT is(caas._require('00000000-0000-4000-8000-0000000000b1', 'content.read'), 'viewer'::caas.org_role,
  '_require lets a viewer read content and answers the role');
SELECT throws_ok($$ SELECT caas._require('00000000-0000-4000-8000-0000000000b1', 'content.write') $$,
  '42501', 'permission denied: content.write',
  '_require refuses a viewer who wants to write content with 42501');

SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a3"}', true);
SELECT is(caas._require('00000000-0000-4000-8000-0000000000b1', 'content.write'), 'member'::caas.org_role,
  '_require lets a member write content');
SELECT throws_ok($$ SELECT caas._require('00000000-0000-4000-8000-0000000000b1', 'content.delete') $$,
  '42501', 'permission denied: content.delete',
  '_require refuses a member who wants to delete content');
SELECT is(caas._may('00000000-0000-4000-8000-0000000000b2', 'content.read'), false,
  '_may is false, not an error, for an organisation the caller is not in');

SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a1"}', true);
SELECT is(caas._require('00000000-0000-4000-8000-0000000000b1', 'billing.manage'), 'owner'::caas.org_role,
  '_require lets the owner manage billing');
SELECT set_eq($$ SELECT unnest(caas._my_org_ids()) $$,
  ARRAY['00000000-0000-4000-8000-0000000000b1'::uuid],
  '_my_org_ids lists only the caller''s organisations');

RESET ROLE;

-- The whole grid, as the real callers: for every role and every action,
-- caas._require (which every API function calls first) allows exactly what
-- the matrix allows and refuses the rest with 42501 naming the action.
CREATE FUNCTION pg_temp.require_grid()
RETURNS TABLE (role text, action text, allowed boolean, outcome text)
LANGUAGE plpgsql
AS $$
DECLARE
  u record;
  m record;
BEGIN
  FOR u IN SELECT * FROM (VALUES ('owner', '00000000-0000-4000-8000-0000000000a1'),
                                 ('admin', '00000000-0000-4000-8000-0000000000a5'),
                                 ('member', '00000000-0000-4000-8000-0000000000a3'),
                                 ('viewer', '00000000-0000-4000-8000-0000000000a2')) v (r, id) LOOP
    PERFORM set_config('request.jwt.claims', json_build_object('sub', u.id)::text, true);
    FOR m IN SELECT * FROM caas.permission_matrix() LOOP
      role := u.r; action := m.action;
      allowed := CASE u.r WHEN 'owner' THEN m.owner WHEN 'admin' THEN m.admin
                          WHEN 'member' THEN m.member ELSE m.viewer END;
      BEGIN
        outcome := 'allowed as ' || caas._require('00000000-0000-4000-8000-0000000000b1', m.action);
      EXCEPTION WHEN OTHERS THEN
        outcome := SQLSTATE || ' ' || SQLERRM;
      END;
      RETURN NEXT;
    END LOOP;
  END LOOP;
END;
$$;
GRANT EXECUTE ON FUNCTION pg_temp.require_grid() TO caas_user;
SET LOCAL ROLE caas_user;
SELECT is_empty($$
  SELECT * FROM pg_temp.require_grid()
   WHERE outcome IS DISTINCT FROM CASE WHEN allowed THEN 'allowed as ' || role
                                       ELSE '42501 permission denied: ' || action END
$$, 'every role × action is allowed or refused with 42501 exactly as the matrix says (56 cases)');
SELECT is((SELECT count(*) FROM pg_temp.require_grid()), 56::bigint, 'the grid covers 4 roles × 14 actions');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
