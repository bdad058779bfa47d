--
-- 070_api_orgs.sql — the SQL API for people and organisations: users and
-- profiles, organisations, ownership, members, invitations, workspaces,
-- plans, subscription, usage and the audit log.
--
-- Invariants kept here:
--   * an organisation always has exactly one owner: it is created with one,
--     ownership only moves by caas.org_transfer_ownership, and the owner can
--     neither leave, be removed nor be demoted (CA006);
--   * nobody grants a role above their own, and owner is never granted by
--     invitation or role change (CA006 / 42501).
--

-- ---------------------------------------------------------------- users --

CREATE FUNCTION caas.user_register(email text, password_hash text, first_name text DEFAULT '', last_name text DEFAULT '')
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  uid uuid;
BEGIN
  INSERT INTO caas.users (email, password_hash)
  VALUES (lower(btrim(user_register.email)), user_register.password_hash)
  RETURNING user_id INTO uid;
  INSERT INTO caas.profiles (user_id, first_name, last_name)
  VALUES (uid, coalesce(btrim(user_register.first_name), ''), coalesce(btrim(user_register.last_name), ''));
  RETURN caas._user_json(uid);
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION USING ERRCODE = '23505', MESSAGE = 'email already registered';
END;
$$;
COMMENT ON FUNCTION caas.user_register(text, text, text, text) IS
  'Creates a user and their profile from an e-mail (stored lower case) and a password hash the API computed (argon2id or scrypt PHC string). 23505 when the e-mail is taken, 23514 for a malformed e-mail or hash.';

-- API: Private
CREATE FUNCTION caas._user_json(uid uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, caas
AS $$
  SELECT jsonb_build_object(
           'user_id', u.user_id, 'email', u.email, 'is_active', u.is_active,
           'email_verified_at', u.email_verified_at, 'created_at', u.created_at,
           'first_name', p.first_name, 'last_name', p.last_name, 'avatar_url', p.avatar_url,
           'timezone', p.timezone, 'locale', p.locale)
    FROM caas.users u
    LEFT JOIN caas.profiles p USING (user_id)
   WHERE u.user_id = uid
$$;
COMMENT ON FUNCTION caas._user_json(uuid) IS 'Private: a user and profile as the API shows them (never the password hash); runs as the caller, so RLS decides whom one can see.';

CREATE FUNCTION caas.user_credentials(email text, OUT user_id uuid, OUT password_hash text, OUT is_active boolean)
RETURNS record
LANGUAGE sql
STABLE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
  SELECT u.user_id, u.password_hash, u.is_active FROM caas.users u WHERE u.email = lower(btrim(user_credentials.email))
$$;
COMMENT ON FUNCTION caas.user_credentials(text) IS
  'For the API''s login only (role caas_anon): the user id, password hash and active flag for an e-mail, or NULLs. The API verifies the password itself and answers the same way for unknown e-mails.';

CREATE FUNCTION caas.user_me()
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, caas
AS $$
  SELECT caas._user_json(caas._require_user())
         || jsonb_build_object('organizations', coalesce((
              SELECT jsonb_agg(jsonb_build_object('org_id', o.org_id, 'name', o.name, 'slug', o.slug, 'role', m.role)
                               ORDER BY o.name, o.org_id)
                FROM caas.organization_members m
                JOIN caas.organizations o USING (org_id)
               WHERE m.user_id = caas.current_user_id()), '[]'::jsonb))
$$;
COMMENT ON FUNCTION caas.user_me() IS 'The calling user, their profile and their organisations with their role in each.';

CREATE FUNCTION caas.user_update_me(patch jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  uid uuid := caas._require_user();
  k text;
BEGIN
  PERFORM caas._check_keys(patch, ARRAY['first_name', 'last_name', 'avatar_url', 'timezone', 'locale']);
  UPDATE caas.profiles p
     SET first_name = CASE WHEN patch ? 'first_name' THEN coalesce(patch ->> 'first_name', '') ELSE p.first_name END,
         last_name  = CASE WHEN patch ? 'last_name' THEN coalesce(patch ->> 'last_name', '') ELSE p.last_name END,
         avatar_url = CASE WHEN patch ? 'avatar_url' THEN patch ->> 'avatar_url' ELSE p.avatar_url END,
         timezone   = CASE WHEN patch ? 'timezone' THEN patch ->> 'timezone' ELSE p.timezone END,
         locale     = CASE WHEN patch ? 'locale' THEN patch ->> 'locale' ELSE p.locale END
   WHERE p.user_id = uid;
  RETURN caas._user_json(uid);
END;
$$;
COMMENT ON FUNCTION caas.user_update_me(jsonb) IS
  'Changes the calling user''s profile: keys first_name, last_name, avatar_url, timezone, locale; 22023 for any other key, 23514 for a bad value.';

-- API: Private
CREATE FUNCTION caas._check_keys(patch jsonb, allowed text[])
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  k text;
BEGIN
  IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'the changes must be a JSON object';
  END IF;
  FOR k IN SELECT jsonb_object_keys(patch) LOOP
    IF NOT k = ANY (allowed) THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown field "%s"', k),
        HINT = format('Fields that can change: %s.', array_to_string(allowed, ', '));
    END IF;
  END LOOP;
END;
$$;
COMMENT ON FUNCTION caas._check_keys(jsonb, text[]) IS 'Private: 22023 unless patch is an object whose keys are all allowed.';

-- -------------------------------------------------------- organizations --

-- API: Private
CREATE FUNCTION caas._org_json(org uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, caas
AS $$
  SELECT jsonb_build_object('org_id', o.org_id, 'name', o.name, 'slug', o.slug,
                            'default_timezone', o.default_timezone, 'created_at', o.created_at,
                            'updated_at', o.updated_at, 'role', caas._my_role(o.org_id),
                            'plan', (caas.org_plan(o.org_id)).plan_id)
    FROM caas.organizations o
   WHERE o.org_id = org
$$;
COMMENT ON FUNCTION caas._org_json(uuid) IS 'Private: an organisation as the API shows it, with the caller''s role and the plan in force.';

CREATE FUNCTION caas.org_create(name text, slug text, default_timezone text DEFAULT 'UTC')
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  uid uuid := caas._require_user();
  org uuid;
BEGIN
  INSERT INTO caas.organizations (name, slug, default_timezone)
  VALUES (btrim(org_create.name), lower(btrim(org_create.slug)), coalesce(org_create.default_timezone, 'UTC'))
  RETURNING org_id INTO org;
  INSERT INTO caas.organization_members (org_id, user_id, role) VALUES (org, uid, 'owner');
  RETURN caas._org_json(org);
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION USING ERRCODE = '23505', MESSAGE = format('organization slug "%s" is taken', slug);
END;
$$;
COMMENT ON FUNCTION caas.org_create(text, text, text) IS
  'Creates an organisation with the caller as its owner (on the free plan until a subscription says otherwise). 23505 when the slug is taken, 23514 for a bad name, slug or zone.';

CREATE FUNCTION caas.org_list(cursor text DEFAULT NULL, lim integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, caas
AS $$
  WITH c AS (SELECT * FROM caas._cursor_decode(cursor)),
       n AS (SELECT caas._page_size(lim) AS lim),
       rows AS (
         SELECT o.org_id, o.name, o.slug, o.default_timezone, o.created_at, m.role
           FROM caas.organizations o
           JOIN caas.organization_members m ON m.org_id = o.org_id AND m.user_id = caas._require_user()
          WHERE (SELECT ts FROM c) IS NULL OR (o.created_at, o.org_id) < ((SELECT ts FROM c), (SELECT id FROM c))
          ORDER BY o.created_at DESC, o.org_id DESC
          LIMIT (SELECT lim FROM n) + 1)
  SELECT caas._page(coalesce(jsonb_agg(to_jsonb(rows) ORDER BY rows.created_at DESC, rows.org_id DESC), '[]'),
                    (SELECT lim FROM n), 'created_at', 'org_id')
    FROM rows
$$;
COMMENT ON FUNCTION caas.org_list(text, integer) IS 'The caller''s organisations with their role, newest first, keyset-paginated.';

CREATE FUNCTION caas.org_get(org uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  PERFORM caas._require(org, 'content.read');
  RETURN caas._org_json(org);
END;
$$;
COMMENT ON FUNCTION caas.org_get(uuid) IS 'One of the caller''s organisations; P0002 for any other.';

CREATE FUNCTION caas.org_update(org uuid, patch jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  PERFORM caas._require(org, 'org.update');
  PERFORM caas._check_keys(patch, ARRAY['name', 'default_timezone']);
  UPDATE caas.organizations o
     SET name = CASE WHEN patch ? 'name' THEN btrim(patch ->> 'name') ELSE o.name END,
         default_timezone = CASE WHEN patch ? 'default_timezone' THEN patch ->> 'default_timezone' ELSE o.default_timezone END
   WHERE o.org_id = org;
  RETURN caas._org_json(org);
END;
$$;
COMMENT ON FUNCTION caas.org_update(uuid, jsonb) IS 'Renames an organisation or changes its default zone (keys name, default_timezone); owners and admins.';

CREATE FUNCTION caas.org_delete(org uuid)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  PERFORM caas._require(org, 'org.delete');
  IF EXISTS (SELECT 1 FROM caas.scheduled_posts WHERE org_id = org AND state = 'publishing') THEN
    RAISE EXCEPTION USING ERRCODE = 'CA002', MESSAGE = 'a post of this organization is being published',
      HINT = 'Try again in a minute.';
  END IF;
  RAISE LOG 'caas: organization % deleted by user %', org, caas.current_user_id();
  DELETE FROM caas.organizations WHERE org_id = org;
END;
$$;
COMMENT ON FUNCTION caas.org_delete(uuid) IS
  'Deletes an organisation and everything it owns (owner only). Refused (CA002) while one of its posts is being published.';

CREATE FUNCTION caas.org_transfer_ownership(org uuid, new_owner uuid)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  uid uuid := caas._require_user();
BEGIN
  PERFORM caas._require(org, 'org.transfer');
  IF new_owner = uid THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'you already own this organization';
  END IF;
  -- Lock both rows: two transfers at once cannot leave two owners or none.
  PERFORM 1 FROM caas.organization_members WHERE org_id = org AND user_id IN (uid, new_owner) FOR UPDATE;
  IF NOT EXISTS (SELECT 1 FROM caas.organization_members WHERE org_id = org AND user_id = new_owner) THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'member not found',
      HINT = 'Ownership goes to an existing member; invite them first.';
  END IF;
  UPDATE caas.organization_members SET role = 'admin' WHERE org_id = org AND user_id = uid;
  UPDATE caas.organization_members SET role = 'owner' WHERE org_id = org AND user_id = new_owner;
  PERFORM caas._audit(org, 'ownership.transferred', 'member', new_owner::text,
                      jsonb_build_object('from', uid, 'to', new_owner));
  RETURN caas._org_json(org);
END;
$$;
COMMENT ON FUNCTION caas.org_transfer_ownership(uuid, uuid) IS
  'Makes another member the owner; the previous owner becomes an admin. Owner only; P0002 when the new owner is not a member.';

-- -------------------------------------------------------------- members --

CREATE FUNCTION caas.member_list(org uuid, cursor text DEFAULT NULL, lim integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  c record := caas._cursor_decode(cursor);
  n integer := caas._page_size(lim);
BEGIN
  PERFORM caas._require(org, 'content.read');
  RETURN (
    WITH rows AS (
      SELECT m.user_id, m.role, m.created_at, u.email, p.first_name, p.last_name
        FROM caas.organization_members m
        JOIN caas.users u USING (user_id)
        LEFT JOIN caas.profiles p USING (user_id)
       WHERE m.org_id = org
         AND (c.ts IS NULL OR (m.created_at, m.user_id) < (c.ts, c.id))
       ORDER BY m.created_at DESC, m.user_id DESC
       LIMIT n + 1)
    SELECT caas._page(coalesce(jsonb_agg(to_jsonb(rows) ORDER BY rows.created_at DESC, rows.user_id DESC), '[]'),
                      n, 'created_at', 'user_id')
      FROM rows);
END;
$$;
COMMENT ON FUNCTION caas.member_list(uuid, text, integer) IS 'Members of an organisation with e-mail, name and role, newest first.';

-- API: Private
CREATE FUNCTION caas._check_grant(org uuid, granted caas.org_role)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  mine caas.org_role := caas._require(org, 'member.manage');
BEGIN
  IF granted = 'owner' THEN
    RAISE EXCEPTION USING ERRCODE = 'CA006', MESSAGE = 'the owner role cannot be granted',
      HINT = 'Transfer ownership instead.';
  END IF;
  -- The enum is ordered owner < admin < member < viewer: smaller is more powerful.
  IF granted < mine THEN
    RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = format('a %s cannot grant the %s role', mine, granted);
  END IF;
END;
$$;
COMMENT ON FUNCTION caas._check_grant(uuid, caas.org_role) IS
  'Private: refuses granting owner (CA006) or a role above the caller''s own (42501); needs member.manage.';

CREATE FUNCTION caas.member_add(org uuid, email text, role caas.org_role)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  uid uuid;
BEGIN
  PERFORM caas._check_grant(org, role);
  SELECT u.user_id INTO uid FROM caas.users u WHERE u.email = lower(btrim(member_add.email));
  IF uid IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'no user with this e-mail',
      HINT = 'Invite them instead: caas.invitation_create.';
  END IF;
  INSERT INTO caas.organization_members (org_id, user_id, role, invited_by)
  VALUES (org, uid, role, caas.current_user_id());
  RETURN jsonb_build_object('org_id', org, 'user_id', uid, 'role', role);
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION USING ERRCODE = '23505', MESSAGE = 'already a member';
END;
$$;
COMMENT ON FUNCTION caas.member_add(uuid, text, caas.org_role) IS
  'Adds an existing user (by e-mail) with a role no higher than the caller''s and never owner. Quota on members applies (CA001).';

CREATE FUNCTION caas.member_set_role(org uuid, member uuid, role caas.org_role)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  current_role_of caas.org_role;
  mine caas.org_role;
BEGIN
  PERFORM caas._check_grant(org, role);
  mine := caas._my_role(org);
  SELECT m.role INTO current_role_of FROM caas.organization_members m
   WHERE m.org_id = org AND m.user_id = member FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'member not found';
  END IF;
  IF current_role_of = 'owner' THEN
    RAISE EXCEPTION USING ERRCODE = 'CA006', MESSAGE = 'the owner cannot be demoted',
      HINT = 'Transfer ownership first.';
  END IF;
  IF current_role_of < mine THEN
    RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = format('a %s cannot change the role of a %s', mine, current_role_of);
  END IF;
  UPDATE caas.organization_members m SET role = member_set_role.role WHERE m.org_id = org AND m.user_id = member;
  RETURN jsonb_build_object('org_id', org, 'user_id', member, 'role', role);
END;
$$;
COMMENT ON FUNCTION caas.member_set_role(uuid, uuid, caas.org_role) IS
  'Changes a member''s role: never to or from owner (CA006), never above the caller''s own role (42501).';

CREATE FUNCTION caas.member_remove(org uuid, member uuid)
RETURNS void
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  uid uuid := caas._require_user();
  target caas.org_role;
  mine caas.org_role;
BEGIN
  -- Anyone may leave; removing someone else needs member.manage.
  IF member = uid THEN
    mine := caas._require(org, 'content.read');
  ELSE
    mine := caas._require(org, 'member.manage');
  END IF;
  SELECT m.role INTO target FROM caas.organization_members m WHERE m.org_id = org AND m.user_id = member FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'member not found';
  END IF;
  IF target = 'owner' THEN
    RAISE EXCEPTION USING ERRCODE = 'CA006', MESSAGE = 'the owner cannot leave or be removed',
      HINT = 'Transfer ownership first, or delete the organization.';
  END IF;
  IF member <> uid AND target < mine THEN
    RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = format('a %s cannot remove a %s', mine, target);
  END IF;
  DELETE FROM caas.organization_members m WHERE m.org_id = org AND m.user_id = member;
END;
$$;
COMMENT ON FUNCTION caas.member_remove(uuid, uuid) IS
  'Removes a member, or lets the caller leave. The owner can do neither (CA006); nobody removes someone above them (42501).';

-- ---------------------------------------------------------- invitations --

CREATE FUNCTION caas.invitation_create(org uuid, email text, role caas.org_role)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  secret text := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
  inv caas.invitations;
  quota integer;
BEGIN
  PERFORM caas._check_grant(org, role);
  quota := (caas._org_plan(org)).max_members;
  PERFORM 1 FROM caas.organizations WHERE org_id = org FOR NO KEY UPDATE;
  IF quota IS NOT NULL
     AND (SELECT count(*) FROM caas.organization_members WHERE org_id = org)
       + (SELECT count(*) FROM caas.invitations WHERE org_id = org AND status = 'pending' AND expires_at > now()) >= quota THEN
    PERFORM caas._quota_exceeded(org, 'members', quota);
  END IF;
  IF EXISTS (SELECT 1 FROM caas.organization_members m JOIN caas.users u USING (user_id)
              WHERE m.org_id = org AND u.email = lower(btrim(invitation_create.email))) THEN
    RAISE EXCEPTION USING ERRCODE = '23505', MESSAGE = 'already a member';
  END IF;
  BEGIN
    INSERT INTO caas.invitations (org_id, email, role, token_hash, invited_by)
    VALUES (org, lower(btrim(invitation_create.email)), role, sha256(convert_to(secret, 'UTF8')), caas.current_user_id())
    RETURNING * INTO inv;
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION USING ERRCODE = '23505', MESSAGE = 'an invitation for this e-mail is already pending';
  END;
  RETURN jsonb_build_object('invitation_id', inv.invitation_id, 'org_id', org, 'email', inv.email,
                            'role', inv.role, 'status', inv.status, 'expires_at', inv.expires_at,
                            'token', org::text || '.' || inv.invitation_id::text || '.' || secret);
END;
$$;
COMMENT ON FUNCTION caas.invitation_create(uuid, text, caas.org_role) IS
  'Invites an e-mail address with a role (never owner, never above the caller''s). Returns the token once — only its SHA-256 is stored. Pending invitations count toward the members quota (CA001).';

CREATE FUNCTION caas.invitation_list(org uuid, cursor text DEFAULT NULL, lim integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  c record := caas._cursor_decode(cursor);
  n integer := caas._page_size(lim);
BEGIN
  PERFORM caas._require(org, 'member.manage');
  RETURN (
    WITH rows AS (
      SELECT i.invitation_id, i.email, i.role, i.status, i.invited_by, i.created_at, i.expires_at, i.responded_at
        FROM caas.invitations i
       WHERE i.org_id = org
         AND (c.ts IS NULL OR (i.created_at, i.invitation_id) < (c.ts, c.id))
       ORDER BY i.created_at DESC, i.invitation_id DESC
       LIMIT n + 1)
    SELECT caas._page(coalesce(jsonb_agg(to_jsonb(rows) ORDER BY rows.created_at DESC, rows.invitation_id DESC), '[]'),
                      n, 'created_at', 'invitation_id')
      FROM rows);
END;
$$;
COMMENT ON FUNCTION caas.invitation_list(uuid, text, integer) IS 'Invitations of an organisation, newest first (member managers only).';

CREATE FUNCTION caas.invitation_revoke(org uuid, invitation uuid)
RETURNS void
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
BEGIN
  PERFORM caas._require(org, 'member.manage');
  UPDATE caas.invitations SET status = 'revoked', responded_at = now()
   WHERE org_id = org AND invitation_id = invitation AND status = 'pending';
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'pending invitation not found';
  END IF;
END;
$$;
COMMENT ON FUNCTION caas.invitation_revoke(uuid, uuid) IS 'Revokes a pending invitation; P0002 when there is none.';

CREATE FUNCTION caas.invitation_accept(token text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  uid uuid := caas._require_user();
  parts text[] := string_to_array(token, '.');
  org uuid;
  inv_id uuid;
  inv caas.invitations;
BEGIN
  BEGIN
    org := parts[1]::uuid;
    inv_id := parts[2]::uuid;
  EXCEPTION WHEN invalid_text_representation THEN
    org := NULL;
  END;
  IF cardinality(parts) <> 3 OR org IS NULL OR inv_id IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'invitation not found or expired';
  END IF;
  SELECT * INTO inv FROM caas.invitations i
   WHERE i.org_id = org AND i.invitation_id = inv_id
     AND i.token_hash = sha256(convert_to(parts[3], 'UTF8'))
   FOR UPDATE;
  IF NOT FOUND OR inv.status <> 'pending' OR inv.expires_at <= now() THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'invitation not found or expired';
  END IF;
  IF inv.email <> (SELECT email FROM caas.users WHERE user_id = uid) THEN
    RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'this invitation is for another e-mail address';
  END IF;
  -- The invitation no longer counts as pending once the member row exists.
  UPDATE caas.invitations SET status = 'accepted', accepted_by = uid, responded_at = now()
   WHERE org_id = org AND invitation_id = inv_id;
  INSERT INTO caas.organization_members (org_id, user_id, role, invited_by)
  VALUES (org, uid, inv.role, inv.invited_by);
  RETURN caas._org_json(org);
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION USING ERRCODE = '23505', MESSAGE = 'already a member';
END;
$$;
COMMENT ON FUNCTION caas.invitation_accept(text) IS
  'Accepts an invitation by its token, for the user whose e-mail it was sent to. P0002 for an unknown, spent, revoked or expired token (all look alike); 42501 for another user.';

-- ----------------------------------------------------------- workspaces --

CREATE FUNCTION caas.workspace_create(org uuid, name text, slug text, description text DEFAULT '', timezone text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  w caas.workspaces;
BEGIN
  PERFORM caas._require(org, 'workspace.manage');
  INSERT INTO caas.workspaces (org_id, name, slug, description, timezone, created_by)
  VALUES (org, btrim(name), lower(btrim(slug)), coalesce(description, ''),
          coalesce(timezone, (SELECT default_timezone FROM caas.organizations WHERE org_id = org)),
          caas.current_user_id())
  RETURNING * INTO w;
  RETURN to_jsonb(w);
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION USING ERRCODE = '23505', MESSAGE = format('workspace slug "%s" is taken', slug);
END;
$$;
COMMENT ON FUNCTION caas.workspace_create(uuid, text, text, text, text) IS
  'Creates a workspace (owners and admins); quota on workspaces applies (CA001); 23505 for a slug taken in this organisation.';

CREATE FUNCTION caas.workspace_list(org uuid, cursor text DEFAULT NULL, lim integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  c record := caas._cursor_decode(cursor);
  n integer := caas._page_size(lim);
BEGIN
  PERFORM caas._require(org, 'content.read');
  RETURN (
    WITH rows AS (
      SELECT w.* FROM caas.workspaces w
       WHERE w.org_id = org AND (c.ts IS NULL OR (w.created_at, w.workspace_id) < (c.ts, c.id))
       ORDER BY w.created_at DESC, w.workspace_id DESC
       LIMIT n + 1)
    SELECT caas._page(coalesce(jsonb_agg(to_jsonb(rows) ORDER BY rows.created_at DESC, rows.workspace_id DESC), '[]'),
                      n, 'created_at', 'workspace_id')
      FROM rows);
END;
$$;
COMMENT ON FUNCTION caas.workspace_list(uuid, text, integer) IS 'Workspaces of an organisation, newest first.';

CREATE FUNCTION caas.workspace_get(org uuid, workspace uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  w caas.workspaces;
BEGIN
  PERFORM caas._require(org, 'content.read');
  SELECT * INTO w FROM caas.workspaces WHERE org_id = org AND workspace_id = workspace;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'workspace not found';
  END IF;
  RETURN to_jsonb(w);
END;
$$;
COMMENT ON FUNCTION caas.workspace_get(uuid, uuid) IS 'One workspace; P0002 when absent or not visible.';

CREATE FUNCTION caas.workspace_update(org uuid, workspace uuid, patch jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  w caas.workspaces;
BEGIN
  PERFORM caas._require(org, 'workspace.manage');
  PERFORM caas._check_keys(patch, ARRAY['name', 'slug', 'description', 'timezone', 'brand_voice']);
  UPDATE caas.workspaces x
     SET name = CASE WHEN patch ? 'name' THEN btrim(patch ->> 'name') ELSE x.name END,
         slug = CASE WHEN patch ? 'slug' THEN lower(btrim(patch ->> 'slug')) ELSE x.slug END,
         description = CASE WHEN patch ? 'description' THEN coalesce(patch ->> 'description', '') ELSE x.description END,
         timezone = CASE WHEN patch ? 'timezone' THEN patch ->> 'timezone' ELSE x.timezone END,
         brand_voice = CASE WHEN patch ? 'brand_voice' THEN coalesce(patch ->> 'brand_voice', '') ELSE x.brand_voice END
   WHERE x.org_id = org AND x.workspace_id = workspace
  RETURNING * INTO w;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'workspace not found';
  END IF;
  RETURN to_jsonb(w);
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION USING ERRCODE = '23505', MESSAGE = 'workspace slug is taken';
END;
$$;
COMMENT ON FUNCTION caas.workspace_update(uuid, uuid, jsonb) IS
  'Changes a workspace (keys name, slug, description, timezone, brand_voice); owners and admins.';

CREATE FUNCTION caas.workspace_delete(org uuid, workspace uuid)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  PERFORM caas._require(org, 'workspace.manage');
  IF EXISTS (SELECT 1 FROM caas.scheduled_posts p JOIN caas.content c USING (org_id, content_id)
              WHERE p.org_id = org AND c.workspace_id = workspace AND p.state = 'publishing') THEN
    RAISE EXCEPTION USING ERRCODE = 'CA002', MESSAGE = 'a post of this workspace is being published';
  END IF;
  DELETE FROM caas.workspaces WHERE org_id = org AND workspace_id = workspace;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'workspace not found';
  END IF;
END;
$$;
COMMENT ON FUNCTION caas.workspace_delete(uuid, uuid) IS
  'Deletes a workspace and its content (owners and admins); CA002 while one of its posts is being published.';

-- ------------------------------------------- plans, subscription, usage --

CREATE FUNCTION caas.plan_list()
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, caas
AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(p) - 'created_at' - 'updated_at' - 'is_public' ORDER BY p.sort_order, p.plan_id), '[]')
    FROM caas.plans p
   WHERE p.is_public
$$;
COMMENT ON FUNCTION caas.plan_list() IS 'Public plans with prices, Stripe price ids and limits, cheapest first.';

CREATE FUNCTION caas.subscription_get(org uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  s caas.subscriptions;
BEGIN
  PERFORM caas._require(org, 'billing.view');
  SELECT * INTO s FROM caas.subscriptions WHERE org_id = org;
  RETURN jsonb_build_object(
    'org_id', org,
    'status', coalesce(s.status::text, 'none'),
    'subscribed_plan', s.plan_id,
    'plan', to_jsonb(caas.org_plan(org)) - 'created_at' - 'updated_at',
    'current_period_start', s.current_period_start,
    'current_period_end', s.current_period_end,
    'cancel_at_period_end', coalesce(s.cancel_at_period_end, false),
    'trial_end', s.trial_end,
    'past_due_since', s.past_due_since,
    -- 087_billing.sql: Stripe's hosted invoice page while a payment needs
    -- the customer's action.  The Stripe customer id is never shown.
    'payment_action_url', s.payment_action_url);
END;
$$;
COMMENT ON FUNCTION caas.subscription_get(uuid) IS
  'The organisation''s subscription and the plan in force with its limits (owners and admins). Status none = free plan, no subscription. payment_action_url: Stripe''s hosted invoice page while a payment needs the customer''s action, else null.';

CREATE FUNCTION caas.usage_get(org uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  p caas.plans;
  u caas.usage;
  ps timestamptz;
  pe timestamptz;
BEGIN
  PERFORM caas._require(org, 'content.read');
  p := caas._org_plan(org);
  SELECT b.period_start, b.period_end INTO ps, pe FROM caas._billing_period(org) b;
  SELECT * INTO u FROM caas.usage WHERE org_id = org AND period_start = ps;
  RETURN jsonb_build_object(
    'org_id', org, 'plan', p.plan_id, 'period_start', ps, 'period_end', pe,
    'ai_generations', jsonb_build_object('used', coalesce(u.ai_generations, 0), 'limit', p.ai_generations_per_month,
                                         -- Held by queued and running AI jobs (086_ai.sql).
                                         'reserved', caas._ai_reserved(org)),
    'ai_prompt_tokens', coalesce(u.ai_prompt_tokens, 0),
    'ai_completion_tokens', coalesce(u.ai_completion_tokens, 0),
    'scheduled_posts', jsonb_build_object('used', coalesce(u.scheduled_posts, 0), 'limit', p.scheduled_posts_per_month),
    'x_posts', jsonb_build_object('used', coalesce(u.x_posts, 0), 'limit', p.x_posts_per_month),
    'members', jsonb_build_object('used', (SELECT count(*) FROM caas.organization_members WHERE org_id = org), 'limit', p.max_members),
    'workspaces', jsonb_build_object('used', (SELECT count(*) FROM caas.workspaces WHERE org_id = org), 'limit', p.max_workspaces),
    'social_accounts', jsonb_build_object('used', (SELECT count(*) FROM caas.social_accounts WHERE org_id = org AND status <> 'disconnected'),
                                          'limit', p.max_social_accounts));
END;
$$;
COMMENT ON FUNCTION caas.usage_get(uuid) IS 'Use in the current billing period and counts against each limit of the plan in force (NULL limit = unlimited); ai_generations also has reserved, the variants of the organisation''s queued and running AI jobs, which count against the limit too.';

CREATE FUNCTION caas.audit_list(org uuid, cursor text DEFAULT NULL, lim integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  c record := caas._cursor_decode(cursor);
  -- Audit ids are integers: the cursor carries one as the last group of a uuid.
  after_id bigint := CASE WHEN c.id IS NOT NULL THEN ('x' || lpad(split_part(c.id::text, '-', 5), 16, '0'))::bit(64)::bigint END;
  n integer := caas._page_size(lim);
BEGIN
  PERFORM caas._require(org, 'audit.read');
  RETURN (
    WITH rows AS (
      SELECT a.audit_id, a.occurred_at, a.actor_id, u.email AS actor_email, a.action, a.target_type,
             a.target_id, a.details,
             ('00000000-0000-0000-0000-' || lpad(to_hex(a.audit_id), 12, '0'))::uuid AS cursor_id
        FROM caas.audit_log a
        LEFT JOIN caas.users u ON u.user_id = a.actor_id
       WHERE a.org_id = org
         AND (c.ts IS NULL OR (a.occurred_at, a.audit_id) < (c.ts, after_id))
       ORDER BY a.occurred_at DESC, a.audit_id DESC
       LIMIT n + 1)
    SELECT caas._page(coalesce(jsonb_agg(to_jsonb(rows) ORDER BY rows.occurred_at DESC, rows.audit_id DESC), '[]'),
                      n, 'occurred_at', 'cursor_id')
      FROM rows);
END;
$$;
COMMENT ON FUNCTION caas.audit_list(uuid, text, integer) IS 'The organisation''s audit log, newest first (owners and admins only).';

GRANT EXECUTE ON FUNCTION caas.user_register(text, text, text, text), caas.user_credentials(text), caas.plan_list()
  TO caas_anon;
GRANT EXECUTE ON FUNCTION
  caas.user_me(), caas.user_update_me(jsonb), caas._check_keys(jsonb, text[]), caas._require_user(),
  caas.org_create(text, text, text), caas.org_list(text, integer), caas.org_get(uuid),
  caas.org_update(uuid, jsonb), caas.org_delete(uuid), caas.org_transfer_ownership(uuid, uuid), caas._org_json(uuid),
  caas.member_list(uuid, text, integer), caas._check_grant(uuid, caas.org_role), caas.member_add(uuid, text, caas.org_role),
  caas.member_set_role(uuid, uuid, caas.org_role), caas.member_remove(uuid, uuid),
  caas.invitation_create(uuid, text, caas.org_role), caas.invitation_list(uuid, text, integer),
  caas.invitation_revoke(uuid, uuid), caas.invitation_accept(text),
  caas.workspace_create(uuid, text, text, text, text), caas.workspace_list(uuid, text, integer),
  caas.workspace_get(uuid, uuid), caas.workspace_update(uuid, uuid, jsonb), caas.workspace_delete(uuid, uuid),
  caas.plan_list(),
  caas.subscription_get(uuid), caas.usage_get(uuid), caas.audit_list(uuid, text, integer),
  caas._user_json(uuid)
  TO caas_user;

-- API: Private
CREATE FUNCTION caas._user_keep_ownership()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, caas
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM caas.organization_members WHERE user_id = OLD.user_id AND role = 'owner') THEN
    RAISE EXCEPTION USING ERRCODE = 'CA006', MESSAGE = 'the user owns an organization',
      HINT = 'Transfer ownership or delete the organization first.';
  END IF;
  RETURN OLD;
END;
$$;
COMMENT ON FUNCTION caas._user_keep_ownership() IS
  'Private trigger: a user who owns an organisation cannot be deleted (CA006); the organisation would be left without an owner.';
CREATE TRIGGER keep_ownership BEFORE DELETE ON caas.users
  FOR EACH ROW EXECUTE FUNCTION caas._user_keep_ownership();
