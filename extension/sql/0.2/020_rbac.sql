--
-- 020_rbac.sql — the permission matrix and the membership helpers RLS uses.
--
-- The matrix lives in C (extension/src/rbac.c) as data; these functions read
-- it.  The membership helpers are SECURITY DEFINER so a policy on
-- organization_members can call them without recursing into itself; they
-- are STABLE and meant to be wrapped in a scalar subquery in policies,
-- "(SELECT caas._my_org_ids())::uuid[]", so they run once per statement and the
-- org_id comparison can use an index.
--

CREATE FUNCTION caas.role_can(role text, action text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'caas_role_can'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION caas.role_can(text, text) IS
  'True when an organisation member with this role (owner, admin, member, viewer) may perform this action; 22023 for an unknown role or action. The matrix is caas.permission_matrix().';

CREATE FUNCTION caas.permission_matrix(
  OUT action text, OUT description text,
  OUT owner boolean, OUT admin boolean, OUT member boolean, OUT viewer boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'caas_permission_matrix'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 16;
COMMENT ON FUNCTION caas.permission_matrix() IS
  'The whole permission matrix: one row per action, a column per role saying whether it is allowed.';

-- API: Private
-- The helpers below are plpgsql rather than SQL for speed: a SECURITY
-- DEFINER SQL function is never inlined and is planned anew on every call;
-- plpgsql keeps its plans for the session.
CREATE FUNCTION caas._my_org_ids()
RETURNS uuid[]
LANGUAGE plpgsql
STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  RETURN (SELECT coalesce(array_agg(m.org_id), '{}')
            FROM caas.organization_members m
           WHERE m.user_id = caas.current_user_id());
END;
$$;
COMMENT ON FUNCTION caas._my_org_ids() IS
  'Private: the organisations the calling user belongs to. Used by RLS policies as (SELECT caas._my_org_ids()).';

-- API: Private
CREATE FUNCTION caas._my_role(org uuid)
RETURNS caas.org_role
LANGUAGE plpgsql
STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  RETURN (SELECT m.role
            FROM caas.organization_members m
           WHERE m.org_id = _my_role.org AND m.user_id = caas.current_user_id());
END;
$$;
COMMENT ON FUNCTION caas._my_role(uuid) IS
  'Private: the calling user''s role in the organisation, NULL when not a member.';

-- API: Private
CREATE FUNCTION caas._may(org uuid, action text)
RETURNS boolean
LANGUAGE plpgsql
STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  RETURN coalesce(caas.role_can(caas._my_role(org)::text, action), false);
END;
$$;
COMMENT ON FUNCTION caas._may(uuid, text) IS
  'Private: true when the calling user is a member of the organisation whose role allows the action.';

-- API: Private
CREATE FUNCTION caas._require(org uuid, action text)
RETURNS caas.org_role
LANGUAGE plpgsql
STABLE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  r caas.org_role;
BEGIN
  PERFORM caas._require_user();
  r := caas._my_role(org);
  IF r IS NULL THEN
    -- Not a member: the organisation is not visible, so it does not exist.
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'organization not found';
  END IF;
  IF NOT caas.role_can(r::text, action) THEN
    RAISE EXCEPTION USING ERRCODE = '42501',
      MESSAGE = format('permission denied: %s', action),
      DETAIL = format('The %s role may not %s.', r,
                      (SELECT p.description FROM caas.permission_matrix() p WHERE p.action = _require.action)),
      HINT = 'Ask an owner or admin of the organization.';
  END IF;
  RETURN r;
END;
$$;
COMMENT ON FUNCTION caas._require(uuid, text) IS
  'Private: the calling user''s role in the organisation if it allows the action; P0002 when the user is not a member (the organisation stays invisible), 42501 when the role does not allow it.';

-- API: Private
CREATE FUNCTION caas._shares_org(other uuid)
RETURNS boolean
LANGUAGE plpgsql
STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  RETURN other = caas.current_user_id()
      OR EXISTS (SELECT 1
                   FROM caas.organization_members a
                   JOIN caas.organization_members b USING (org_id)
                  WHERE a.user_id = caas.current_user_id() AND b.user_id = other);
END;
$$;
COMMENT ON FUNCTION caas._shares_org(uuid) IS
  'Private: true when the user is the caller or belongs to one of the caller''s organisations.';

CREATE VIEW caas.error_codes (sqlstate, name, http_status, meaning) AS
VALUES
  ('42501', 'insufficient_privilege', 403, 'the role may not do this (401 when not authenticated)'),
  ('P0002', 'no_data_found', 404, 'no such object, or not visible to the caller'),
  ('23505', 'unique_violation', 409, 'already exists'),
  ('23503', 'foreign_key_violation', 409, 'refers to something that does not exist'),
  ('23514', 'check_violation', 422, 'a value breaks a rule of the data model'),
  ('23502', 'not_null_violation', 422, 'a required value is missing'),
  ('22023', 'invalid_parameter_value', 422, 'an argument is not acceptable'),
  ('22P02', 'invalid_text_representation', 422, 'a value is malformed (uuid, enum, JSON)'),
  ('22007', 'invalid_datetime_format', 422, 'a date or time is malformed'),
  ('55000', 'object_not_in_prerequisite_state', 409, 'not possible in the present state (billing: no Stripe price or customer yet, already subscribed)'),
  ('CA001', 'quota_exceeded', 402, 'the plan''s limit is reached; the message names the limit and the plan'),
  ('CA002', 'invalid_state_transition', 409, 'the post is not in a state that allows this'),
  ('CA003', 'text_rejected', 422, 'the platform would refuse this text or media'),
  ('CA004', 'schedule_in_past', 422, 'the instant has already passed'),
  ('CA005', 'account_unavailable', 409, 'the social account is disconnected or needs re-authorisation'),
  ('CA006', 'ownership_rule', 409, 'the organisation must keep exactly one owner'),
  ('CA007', 'immutable', 409, 'versions and audit entries are never changed'),
  ('CA008', 'ai_unavailable', 503, 'no running dispatcher reports an AI provider; the hint names the settings');
COMMENT ON VIEW caas.error_codes IS
  'Every SQLSTATE the caas API raises on purpose, with the HTTP status the API answers. The API and the tests both read this list.';
