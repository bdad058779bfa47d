-- caas 0.1 -> 0.2 upgrade script, generated from extension/sql/0.2/*.sql.
\echo Use "ALTER EXTENSION caas UPDATE TO '0.2'" to load this file. \quit
--
-- 010_roles.sql — database roles and the caller's identity.
--
-- caas_authenticator  the role the API logs in as.  NOINHERIT and no table
--                     privileges of its own: each request switches, for its
--                     transaction only, to caas_anon or caas_user.
-- caas_anon           unauthenticated requests: register, log in, refresh,
--                     read the plan list.  Nothing else.
-- caas_user           authenticated end users.  Row level security and the
--                     permission matrix decide what each one may do.
-- caas_analyst        read-only analytics (works on a hot standby).
-- caas_dispatcher     the publishing dispatcher: claims and records posts.
-- The extension's owner (a superuser, the DBA path) owns every object.
--
-- The API passes the caller per transaction:
--   BEGIN;
--   SELECT set_config('role', 'caas_user', true),
--          set_config('request.jwt.claims', '{"sub":"<user uuid>", ...}', true);
--   SELECT caas.<function>(...);
--   COMMIT;
--

DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['caas_anon', 'caas_user', 'caas_analyst', 'caas_dispatcher'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'caas_authenticator') THEN
    CREATE ROLE caas_authenticator LOGIN NOINHERIT;
  END IF;
END;
$$;
GRANT caas_anon, caas_user TO caas_authenticator;
COMMENT ON ROLE caas_authenticator IS 'caas: the API''s login role; no privileges of its own, switches to caas_anon or caas_user per transaction. Set its password with ALTER ROLE.';
COMMENT ON ROLE caas_anon IS 'caas: unauthenticated API requests (register, login, refresh, plans).';
COMMENT ON ROLE caas_user IS 'caas: authenticated end users; row level security and the permission matrix decide.';
COMMENT ON ROLE caas_analyst IS 'caas: read-only analytics, on the primary or a hot standby.';
COMMENT ON ROLE caas_dispatcher IS 'caas: the publishing dispatcher (claims due posts, records outcomes).';

GRANT USAGE ON SCHEMA caas TO caas_anon, caas_user, caas_analyst, caas_dispatcher;


CREATE FUNCTION caas.current_user_id()
RETURNS uuid
LANGUAGE sql
STABLE PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  SELECT (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid
$$;
COMMENT ON FUNCTION caas.current_user_id() IS
  'The calling user''s id: the "sub" claim the API set for this transaction with set_config(''request.jwt.claims'', ..., true); NULL when no user is set.';
GRANT EXECUTE ON FUNCTION caas.current_user_id() TO caas_anon, caas_user, caas_analyst, caas_dispatcher;

-- API: Private
CREATE FUNCTION caas._require_user()
RETURNS uuid
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  uid uuid := caas.current_user_id();
BEGIN
  IF uid IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'not authenticated',
      HINT = 'Set request.jwt.claims with a "sub" claim for this transaction.';
  END IF;
  RETURN uid;
END;
$$;
COMMENT ON FUNCTION caas._require_user() IS 'Private: the calling user''s id, or 42501 when none is set.';
GRANT EXECUTE ON FUNCTION caas._require_user() TO caas_anon, caas_user;
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
CREATE FUNCTION caas._my_org_ids()
RETURNS uuid[]
LANGUAGE sql
STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  SELECT coalesce(array_agg(m.org_id), '{}')
    FROM caas.organization_members m
   WHERE m.user_id = caas.current_user_id()
$$;
COMMENT ON FUNCTION caas._my_org_ids() IS
  'Private: the organisations the calling user belongs to. Used by RLS policies as (SELECT caas._my_org_ids()).';

-- API: Private
CREATE FUNCTION caas._my_role(org uuid)
RETURNS caas.org_role
LANGUAGE sql
STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  SELECT m.role
    FROM caas.organization_members m
   WHERE m.org_id = org AND m.user_id = caas.current_user_id()
$$;
COMMENT ON FUNCTION caas._my_role(uuid) IS
  'Private: the calling user''s role in the organisation, NULL when not a member.';

-- API: Private
CREATE FUNCTION caas._may(org uuid, action text)
RETURNS boolean
LANGUAGE sql
STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  SELECT coalesce(caas.role_can(caas._my_role(org)::text, action), false)
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
LANGUAGE sql
STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  SELECT other = caas.current_user_id()
      OR EXISTS (SELECT 1
                   FROM caas.organization_members a
                   JOIN caas.organization_members b USING (org_id)
                  WHERE a.user_id = caas.current_user_id() AND b.user_id = other)
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
  ('CA001', 'quota_exceeded', 402, 'the plan''s limit is reached; the message names the limit and the plan'),
  ('CA002', 'invalid_state_transition', 409, 'the post is not in a state that allows this'),
  ('CA003', 'text_rejected', 422, 'the platform would refuse this text or media'),
  ('CA004', 'schedule_in_past', 422, 'the instant has already passed'),
  ('CA005', 'account_unavailable', 409, 'the social account is disconnected or needs re-authorisation'),
  ('CA006', 'ownership_rule', 409, 'the organisation must keep exactly one owner'),
  ('CA007', 'immutable', 409, 'versions and audit entries are never changed');
COMMENT ON VIEW caas.error_codes IS
  'Every SQLSTATE the caas API raises on purpose, with the HTTP status the API answers. The API and the tests both read this list.';
--
-- 030_rls.sql — tenant isolation: privileges and row level security.
--
-- Privileges say which roles may touch a table at all; policies say which
-- rows.  Every tenant table has RLS forced, so even a non-superuser owner
-- obeys it.  Reading needs membership of the row's organisation; writing
-- needs a role the permission matrix allows.  Membership helpers are wrapped
-- in "(SELECT ...)" so they run once per statement (an InitPlan) and the
-- org_id condition can use the table's (org_id, ...) indexes.
--
-- Policy names are sentences (basejump): "<who> can <do> <what>".
--

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['organizations', 'organization_members', 'invitations', 'workspaces',
                           'content', 'content_versions', 'social_accounts', 'scheduled_posts',
                           'post_attempts', 'subscriptions', 'usage', 'audit_log'] LOOP
    EXECUTE format('ALTER TABLE caas.%I FORCE ROW LEVEL SECURITY', t);
  END LOOP;
END;
$$;
ALTER TABLE caas.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE caas.users FORCE ROW LEVEL SECURITY;
ALTER TABLE caas.profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE caas.profiles FORCE ROW LEVEL SECURITY;
ALTER TABLE caas.refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE caas.refresh_tokens FORCE ROW LEVEL SECURITY;
ALTER TABLE caas.stripe_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE caas.stripe_events FORCE ROW LEVEL SECURITY;

-- Shared catalogues: readable by every caas role.
GRANT SELECT ON caas.platforms, caas.plans TO caas_anon, caas_user, caas_analyst, caas_dispatcher;
GRANT SELECT ON caas.error_codes TO caas_anon, caas_user, caas_analyst, caas_dispatcher;

-- People.  Password hashes are never readable by end users (column grants).
GRANT SELECT (user_id, email, is_active, email_verified_at, last_login_at, created_at, updated_at)
  ON caas.users TO caas_user;
CREATE POLICY "users can see themselves and people they share an organization with"
  ON caas.users FOR SELECT TO caas_user
  USING (caas._shares_org(user_id));

GRANT SELECT ON caas.profiles TO caas_user;
GRANT UPDATE (first_name, last_name, avatar_url, timezone, locale) ON caas.profiles TO caas_user;
CREATE POLICY "users can see profiles of people they share an organization with"
  ON caas.profiles FOR SELECT TO caas_user
  USING (caas._shares_org(user_id));
CREATE POLICY "users can update their own profile"
  ON caas.profiles FOR UPDATE TO caas_user
  USING (user_id = (SELECT caas.current_user_id()))
  WITH CHECK (user_id = (SELECT caas.current_user_id()));

-- Organisations.
GRANT SELECT, DELETE ON caas.organizations TO caas_user;
GRANT UPDATE (name, default_timezone) ON caas.organizations TO caas_user;
CREATE POLICY "members can see their organizations"
  ON caas.organizations FOR SELECT TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]));
CREATE POLICY "owners and admins can update their organization"
  ON caas.organizations FOR UPDATE TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]) AND caas._may(org_id, 'org.update'))
  WITH CHECK (caas._may(org_id, 'org.update'));
CREATE POLICY "owners can delete their organization"
  ON caas.organizations FOR DELETE TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]) AND caas._may(org_id, 'org.delete'));

-- Members: readable by fellow members; changed only through the API
-- functions, which keep the one-owner and no-escalation invariants.
GRANT SELECT ON caas.organization_members TO caas_user;
CREATE POLICY "members can see the members of their organizations"
  ON caas.organization_members FOR SELECT TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]));

-- Invitations: seen by those who may manage members; token hashes never.
GRANT SELECT (org_id, invitation_id, email, role, status, invited_by, created_at, expires_at,
              accepted_by, responded_at)
  ON caas.invitations TO caas_user;
CREATE POLICY "member managers can see invitations"
  ON caas.invitations FOR SELECT TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]) AND caas._may(org_id, 'member.manage'));

-- Workspaces.
GRANT SELECT, DELETE ON caas.workspaces TO caas_user;
GRANT INSERT (org_id, workspace_id, name, slug, description, timezone, brand_voice, created_by),
      UPDATE (name, slug, description, timezone, brand_voice)
  ON caas.workspaces TO caas_user;
CREATE POLICY "members can see workspaces"
  ON caas.workspaces FOR SELECT TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]));
CREATE POLICY "workspace managers can create workspaces"
  ON caas.workspaces FOR INSERT TO caas_user
  WITH CHECK (caas._may(org_id, 'workspace.manage'));
CREATE POLICY "workspace managers can update workspaces"
  ON caas.workspaces FOR UPDATE TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]) AND caas._may(org_id, 'workspace.manage'))
  WITH CHECK (caas._may(org_id, 'workspace.manage'));
CREATE POLICY "workspace managers can delete workspaces"
  ON caas.workspaces FOR DELETE TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]) AND caas._may(org_id, 'workspace.manage'));

-- Content.
GRANT SELECT, DELETE ON caas.content TO caas_user;
GRANT INSERT (org_id, content_id, workspace_id, title, body, platform, media_urls, status, created_by),
      UPDATE (workspace_id, title, body, platform, media_urls, status)
  ON caas.content TO caas_user;
CREATE POLICY "members can see content"
  ON caas.content FOR SELECT TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]));
CREATE POLICY "editors can create content"
  ON caas.content FOR INSERT TO caas_user
  WITH CHECK (caas._may(org_id, 'content.write'));
CREATE POLICY "editors can update content"
  ON caas.content FOR UPDATE TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]) AND caas._may(org_id, 'content.write'))
  WITH CHECK (caas._may(org_id, 'content.write'));
CREATE POLICY "content managers can delete content"
  ON caas.content FOR DELETE TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]) AND caas._may(org_id, 'content.delete'));

-- Versions: written by the content trigger (as the caller), never changed.
GRANT SELECT, INSERT ON caas.content_versions TO caas_user;
CREATE POLICY "members can see versions"
  ON caas.content_versions FOR SELECT TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]));
CREATE POLICY "editors can add versions"
  ON caas.content_versions FOR INSERT TO caas_user
  WITH CHECK (caas._may(org_id, 'content.write'));

-- Social accounts: everyone in the organisation sees them, nobody but the
-- dispatcher reads the sealed tokens.
GRANT SELECT (org_id, account_id, platform, external_id, handle, display_name, status,
              token_expires_at, refresh_expires_at, scopes, last_error, connected_by,
              connected_at, updated_at)
  ON caas.social_accounts TO caas_user;
GRANT DELETE ON caas.social_accounts TO caas_user;
CREATE POLICY "members can see social accounts"
  ON caas.social_accounts FOR SELECT TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]));
CREATE POLICY "account managers can delete social accounts"
  ON caas.social_accounts FOR DELETE TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]) AND caas._may(org_id, 'account.manage'));

-- Scheduled posts and attempts: readable by members; changed through the
-- scheduling functions, which validate text, time and state.
GRANT SELECT ON caas.scheduled_posts, caas.post_attempts TO caas_user;
CREATE POLICY "members can see scheduled posts"
  ON caas.scheduled_posts FOR SELECT TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]));
CREATE POLICY "members can see publish attempts"
  ON caas.post_attempts FOR SELECT TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]));

-- Billing and usage.
GRANT SELECT ON caas.subscriptions, caas.usage TO caas_user;
CREATE POLICY "billing viewers can see the subscription"
  ON caas.subscriptions FOR SELECT TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]) AND caas._may(org_id, 'billing.view'));
CREATE POLICY "members can see usage"
  ON caas.usage FOR SELECT TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]));

-- Audit log: owners and admins of the organisation only.
GRANT SELECT ON caas.audit_log TO caas_user;
CREATE POLICY "owners and admins can read the audit log"
  ON caas.audit_log FOR SELECT TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]) AND caas._may(org_id, 'audit.read'));
--
-- 040_quotas.sql — plan limits, enforced atomically.
--
-- Two kinds of limit:
--   * counts of things that exist (members, workspaces, social accounts):
--     a BEFORE INSERT trigger locks the organisation row (FOR NO KEY UPDATE,
--     which does not block foreign-key checks) and counts, so concurrent
--     inserts into one organisation are serialised and never overshoot;
--   * uses per billing period (AI generations, scheduled posts, X posts):
--     one INSERT ... ON CONFLICT DO UPDATE ... WHERE used + n <= limit on
--     caas.usage; the row lock makes the check and the increment one step.
-- Going over raises CA001 naming the limit and the plan.  A downgrade keeps
-- existing data; only new use beyond the new limits is refused.
--

CREATE FUNCTION caas.org_plan(org uuid)
RETURNS caas.plans
LANGUAGE sql
STABLE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
  SELECT p.*
    FROM caas.plans p
   WHERE p.plan_id = coalesce(
           (SELECT s.plan_id
              FROM caas.subscriptions s
             WHERE s.org_id = org
               AND (s.status IN ('active', 'trialing')
                    OR (s.status = 'past_due'
                        AND s.past_due_since > now() - make_interval(
                              days => current_setting('caas.past_due_grace_days')::integer)))),
           'free')
$$;
COMMENT ON FUNCTION caas.org_plan(uuid) IS
  'The plan whose limits apply to the organisation now: its subscription''s plan while active or trialing, or past due for less than caas.past_due_grace_days; the free plan otherwise (no subscription, canceled, unpaid, grace over).';

-- API: Private
CREATE FUNCTION caas._billing_period(org uuid, OUT period_start timestamptz, OUT period_end timestamptz)
LANGUAGE plpgsql
STABLE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  s caas.subscriptions;
  months integer;
BEGIN
  SELECT * INTO s FROM caas.subscriptions WHERE org_id = org;
  IF FOUND AND now() >= s.current_period_start AND now() < s.current_period_end THEN
    period_start := s.current_period_start;
    period_end := s.current_period_end;
  ELSIF FOUND AND now() >= s.current_period_end THEN
    -- Stripe has not told us about the renewal yet: count in whole months
    -- from the last known period.
    months := (extract(year FROM age(now(), s.current_period_start)) * 12
               + extract(month FROM age(now(), s.current_period_start)))::integer;
    period_start := s.current_period_start + make_interval(months => months);
    period_end := period_start + interval '1 month';
  ELSE
    period_start := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    period_end := period_start + interval '1 month';
  END IF;
END;
$$;
COMMENT ON FUNCTION caas._billing_period(uuid) IS
  'Private: the billing period usage is counted in now: the subscription''s current period, or the calendar month (UTC) without a subscription.';

-- API: Private
CREATE FUNCTION caas._quota_exceeded(org uuid, what text, quota integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, caas
AS $$
DECLARE
  plan_name text := (caas.org_plan(org)).name;
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'CA001',
    MESSAGE = format('quota exceeded: %s (%s on the %s plan)', what, quota, plan_name),
    DETAIL = format('The %s plan allows %s %s.', plan_name, quota, what),
    HINT = 'Upgrade the plan, or free some capacity.';
END;
$$;
COMMENT ON FUNCTION caas._quota_exceeded(uuid, text, integer) IS 'Private: raises CA001 naming the limit and the plan.';

-- API: Private
CREATE FUNCTION caas._consume(org uuid, counter text, n integer DEFAULT 1)
RETURNS integer
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  plan caas.plans := caas.org_plan(org);
  quota integer;
  what text;
  used integer;
  ps timestamptz;
  pe timestamptz;
BEGIN
  CASE counter
    WHEN 'ai_generations' THEN quota := plan.ai_generations_per_month; what := 'AI generations per month';
    WHEN 'scheduled_posts' THEN quota := plan.scheduled_posts_per_month; what := 'scheduled posts per month';
    WHEN 'x_posts' THEN quota := plan.x_posts_per_month; what := 'X posts per month';
    ELSE RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown usage counter "%s"', counter);
  END CASE;
  SELECT b.period_start, b.period_end INTO ps, pe FROM caas._billing_period(org) b;
  EXECUTE format(
    'INSERT INTO caas.usage AS u (org_id, period_start, period_end, %1$I)
     SELECT $1, $2, $3, $4 WHERE $5::integer IS NULL OR $4 <= $5
     ON CONFLICT (org_id, period_start) DO UPDATE
        SET %1$I = u.%1$I + EXCLUDED.%1$I
      WHERE $5::integer IS NULL OR u.%1$I + EXCLUDED.%1$I <= $5
     RETURNING %1$I', counter)
    INTO used USING org, ps, pe, n, quota;
  IF used IS NULL THEN
    PERFORM caas._quota_exceeded(org, what, quota);
  END IF;
  RETURN used;
END;
$$;
COMMENT ON FUNCTION caas._consume(uuid, text, integer) IS
  'Private: atomically adds n to a usage counter (ai_generations, scheduled_posts, x_posts) of the organisation''s current billing period, or raises CA001 if that would pass the plan''s limit. Returns the new total.';

-- API: Private
CREATE FUNCTION caas._check_count_quota()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  plan caas.plans;
  quota integer;
  what text;
  n bigint;
BEGIN
  -- Serialise concurrent inserts into one organisation.
  PERFORM 1 FROM caas.organizations WHERE org_id = NEW.org_id FOR NO KEY UPDATE;
  plan := caas.org_plan(NEW.org_id);
  CASE TG_TABLE_NAME
    WHEN 'organization_members' THEN
      quota := plan.max_members; what := 'members';
      SELECT count(*) INTO n FROM caas.organization_members WHERE org_id = NEW.org_id;
    WHEN 'workspaces' THEN
      quota := plan.max_workspaces; what := 'workspaces';
      SELECT count(*) INTO n FROM caas.workspaces WHERE org_id = NEW.org_id;
    WHEN 'social_accounts' THEN
      quota := plan.max_social_accounts; what := 'social accounts';
      SELECT count(*) INTO n FROM caas.social_accounts WHERE org_id = NEW.org_id AND status <> 'disconnected';
  END CASE;
  IF quota IS NOT NULL AND n + 1 > quota THEN
    PERFORM caas._quota_exceeded(NEW.org_id, what, quota);
  END IF;
  RETURN NEW;
END;
$$;
COMMENT ON FUNCTION caas._check_count_quota() IS
  'Private trigger: refuses a new member, workspace or social account beyond the plan''s limit (CA001).';

CREATE TRIGGER check_quota BEFORE INSERT ON caas.organization_members
  FOR EACH ROW EXECUTE FUNCTION caas._check_count_quota();
CREATE TRIGGER check_quota BEFORE INSERT ON caas.workspaces
  FOR EACH ROW EXECUTE FUNCTION caas._check_count_quota();
CREATE TRIGGER check_quota BEFORE INSERT ON caas.social_accounts
  FOR EACH ROW EXECUTE FUNCTION caas._check_count_quota();
--
-- 050_versions.sql — version history: every change of a content item's text
-- is an immutable, numbered version.
--
-- Two ways in, one rule:
--   * a plain UPDATE of content.body (or an INSERT with a body) becomes a
--     'manual' version by the caller: the BEFORE trigger numbers it, the
--     AFTER trigger writes it;
--   * the API functions for AI drafts and restores insert the version row
--     themselves (source ai or restore) and then set content.body and
--     content.current_version to it; the AFTER trigger checks they agree.
-- Versions and audit entries cannot be updated, deleted or truncated by
-- anyone through SQL; they go only with their content item or organisation
-- (a foreign-key cascade, seen as a nested trigger).
--

-- API: Private
CREATE FUNCTION caas._content_number_version()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, caas
AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.current_version := CASE WHEN NEW.body = '' THEN 0 ELSE 1 END;
  ELSIF NEW.body IS DISTINCT FROM OLD.body THEN
    IF NEW.current_version = OLD.current_version THEN
      NEW.current_version := OLD.current_version + 1;
    ELSIF NEW.current_version <> OLD.current_version + 1 THEN
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = format('version %s does not follow version %s', NEW.current_version, OLD.current_version);
    END IF;
  ELSIF NEW.current_version <> OLD.current_version THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'current_version changes only with the text';
  END IF;
  RETURN NEW;
END;
$$;
COMMENT ON FUNCTION caas._content_number_version() IS
  'Private trigger: numbers the next version when a content item''s text changes.';

-- API: Private
CREATE FUNCTION caas._content_write_version()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, caas
AS $$
DECLARE
  v caas.content_versions;
BEGIN
  IF NEW.current_version = 0 OR (TG_OP = 'UPDATE' AND NEW.current_version = OLD.current_version) THEN
    RETURN NULL;
  END IF;
  SELECT * INTO v FROM caas.content_versions
   WHERE org_id = NEW.org_id AND content_id = NEW.content_id AND version = NEW.current_version;
  IF NOT FOUND THEN
    INSERT INTO caas.content_versions (org_id, content_id, version, body, source, author_id)
    VALUES (NEW.org_id, NEW.content_id, NEW.current_version, NEW.body, 'manual', caas.current_user_id());
  ELSIF v.body IS DISTINCT FROM NEW.body THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('content text differs from its version %s', NEW.current_version);
  END IF;
  RETURN NULL;
END;
$$;
COMMENT ON FUNCTION caas._content_write_version() IS
  'Private trigger: writes the manual version for a changed text, unless an API function wrote the version already.';

CREATE TRIGGER number_version BEFORE INSERT OR UPDATE ON caas.content
  FOR EACH ROW EXECUTE FUNCTION caas._content_number_version();
CREATE TRIGGER write_version AFTER INSERT OR UPDATE ON caas.content
  FOR EACH ROW EXECUTE FUNCTION caas._content_write_version();

-- API: Private
CREATE FUNCTION caas._forbid_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, caas
AS $$
DECLARE
  user_col text;
BEGIN
  -- A foreign-key action runs this trigger nested in the RI trigger: let a
  -- cascading delete through, and the ON DELETE SET NULL of a deleted user
  -- when it changes nothing but that column.
  IF pg_trigger_depth() > 1 THEN
    IF TG_OP = 'DELETE' THEN
      RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' THEN
      user_col := CASE TG_TABLE_NAME WHEN 'content_versions' THEN 'author_id' ELSE 'actor_id' END;
      IF to_jsonb(NEW) ->> user_col IS NULL AND to_jsonb(NEW) - user_col = to_jsonb(OLD) - user_col THEN
        RETURN NEW;
      END IF;
    END IF;
  END IF;
  RAISE EXCEPTION USING ERRCODE = 'CA007',
    MESSAGE = format('%s rows are immutable', TG_TABLE_NAME),
    DETAIL = format('%s on %s is not allowed.', TG_OP, TG_TABLE_NAME),
    HINT = CASE TG_TABLE_NAME WHEN 'content_versions'
                THEN 'Restore an old version instead: it becomes a new version.'
                ELSE 'The log is append-only.' END;
END;
$$;
COMMENT ON FUNCTION caas._forbid_change() IS
  'Private trigger: refuses UPDATE, DELETE and TRUNCATE of append-only tables (CA007), except deletes cascading from the parent row and the nulling of a deleted user''s id.';

CREATE TRIGGER immutable BEFORE UPDATE OR DELETE ON caas.content_versions
  FOR EACH ROW EXECUTE FUNCTION caas._forbid_change();
CREATE TRIGGER immutable_truncate BEFORE TRUNCATE ON caas.content_versions
  FOR EACH STATEMENT EXECUTE FUNCTION caas._forbid_change();
CREATE TRIGGER immutable BEFORE UPDATE OR DELETE ON caas.audit_log
  FOR EACH ROW EXECUTE FUNCTION caas._forbid_change();
CREATE TRIGGER immutable_truncate BEFORE TRUNCATE ON caas.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION caas._forbid_change();

CREATE FUNCTION caas.text_diff(old_text text, new_text text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'caas_text_diff'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION caas.text_diff(text, text) IS
  'Word-level diff of two texts (Myers over words, spaces, punctuation, CJK characters and whole emoji): {"ops": [{"op": "equal"|"insert"|"delete", "text": ...}], "inserted_chars": n, "deleted_chars": n}. Applying the ops to old_text gives new_text. Texts over 256 KiB raise 22023.';
--
-- 060_text_rules.sql — what each platform accepts, checked before a post is
-- scheduled (and again on every reschedule).
--
-- X counts weighted characters the way twitter-text does (extension/src/
-- xtext*.c: URL = 23, CJK and emoji = 2, NFC first); the others count
-- characters.  Limits and the media requirement are data in caas.platforms.
--

CREATE FUNCTION caas.x_weighted_length(body text)
RETURNS integer
AS 'MODULE_PATHNAME', 'caas_x_weighted_length'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION caas.x_weighted_length(text) IS
  'Length of a post as X counts it (twitter-text v3 rules): NFC-normalised, each URL 23, code points outside the light ranges (CJK, emoji sequences) 2, the rest 1. X accepts up to 280.';

CREATE FUNCTION caas.x_text_is_valid(body text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'caas_x_text_is_valid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION caas.x_text_is_valid(text) IS
  'True when X would accept the text: not empty and a weighted length of at most 280 (twitter-text''s isValid).';

CREATE FUNCTION caas.text_length(platform text, body text)
RETURNS integer
LANGUAGE sql
IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  SELECT CASE WHEN platform = 'x' THEN caas.x_weighted_length(body) ELSE char_length(body) END
$$;
COMMENT ON FUNCTION caas.text_length(text, text) IS
  'Length of the text in the platform''s own unit: weighted characters for X, characters otherwise.';

CREATE FUNCTION caas.check_post_text(platform text, body text, media_urls text[] DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  p caas.platforms;
  len integer;
BEGIN
  SELECT * INTO p FROM caas.platforms WHERE platforms.platform = check_post_text.platform;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown platform "%s"', platform);
  END IF;
  IF body IS NULL OR btrim(body, E' \t\n\r') = '' THEN
    RAISE EXCEPTION USING ERRCODE = 'CA003', MESSAGE = format('%s needs text to post', p.display_name);
  END IF;
  len := caas.text_length(p.platform, body);
  IF len > p.max_text_length THEN
    RAISE EXCEPTION USING ERRCODE = 'CA003',
      MESSAGE = format('text too long for %s: %s of %s %s', p.display_name, len, p.max_text_length,
                       CASE WHEN p.weighted_length THEN 'weighted characters' ELSE 'characters' END),
      HINT = CASE WHEN p.weighted_length THEN 'Links count 23 and CJK characters and emoji count 2.'
                  ELSE 'Shorten the text.' END;
  END IF;
  IF p.requires_media AND cardinality(coalesce(media_urls, '{}')) = 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'CA003', MESSAGE = format('%s needs an image', p.display_name),
      HINT = 'Attach at least one image URL (media_urls).';
  END IF;
END;
$$;
COMMENT ON FUNCTION caas.check_post_text(text, text, text[]) IS
  'Raises CA003 when the platform would refuse the post: empty text, text over the platform''s limit (X weighted), or no image where one is required (Instagram); 22023 for an unknown platform.';
--
-- 065_api_common.sql — conventions and helpers shared by the SQL API.
--
-- The SQL API is one function per operation the REST API needs, named
-- caas.<resource>_<verb> (caas.org_create, caas.content_list, ...):
--   * SECURITY INVOKER unless a function must write a row the caller cannot
--     see yet (creating an organisation, accepting an invitation); those are
--     SECURITY DEFINER with explicit checks and a fixed search_path.  RLS
--     therefore decides for the API exactly as for plain SQL.
--   * They call caas._require(org, action) first, so a refusal is a clear
--     42501 (or P0002 when the organisation is not the caller's).
--   * They return jsonb the API passes through unchanged: one object, or
--     {"items": [...], "next_cursor": "..."|null} for lists.
--   * Lists use keyset pagination, newest first: the cursor is opaque
--     (caas._cursor_encode/_cursor_decode), the page size 1..100 (20 by
--     default).
--   * Not found, or not visible to the caller, is P0002 "<thing> not found".
--

-- API: Private
CREATE FUNCTION caas._cursor_encode(ts timestamptz, id uuid)
RETURNS text
LANGUAGE sql
IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  SELECT translate(encode(convert_to(
           to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '|' || id::text, 'UTF8'),
         'base64'), E'+/=\n', '-_')
$$;
COMMENT ON FUNCTION caas._cursor_encode(timestamptz, uuid) IS
  'Private: opaque keyset cursor (URL-safe base64 of the instant and the id of the last row of a page).';

-- API: Private
CREATE FUNCTION caas._cursor_decode(cursor text, OUT ts timestamptz, OUT id uuid)
LANGUAGE plpgsql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  b64 text;
  parts text[];
BEGIN
  IF cursor IS NULL THEN
    RETURN;
  END IF;
  b64 := translate(cursor, '-_', '+/');
  b64 := b64 || repeat('=', (4 - length(b64) % 4) % 4);
  BEGIN
    parts := string_to_array(convert_from(decode(b64, 'base64'), 'UTF8'), '|');
    ts := (parts[1] || '+00')::timestamptz;
    id := parts[2]::uuid;
  EXCEPTION WHEN OTHERS THEN
    ts := NULL;
  END;
  IF ts IS NULL OR id IS NULL OR cardinality(parts) <> 2 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'invalid cursor',
      HINT = 'Pass the next_cursor of the previous page unchanged.';
  END IF;
END;
$$;
COMMENT ON FUNCTION caas._cursor_decode(text) IS
  'Private: the instant and id a cursor from caas._cursor_encode holds; 22023 for anything else. NULL in, NULLs out (first page).';

-- API: Private
CREATE FUNCTION caas._page_size(lim integer)
RETURNS integer
LANGUAGE plpgsql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  IF lim IS NULL THEN
    RETURN 20;
  END IF;
  IF lim < 1 OR lim > 100 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('page size %s is out of range', lim),
      HINT = 'Ask for 1 to 100 rows.';
  END IF;
  RETURN lim;
END;
$$;
COMMENT ON FUNCTION caas._page_size(integer) IS 'Private: the page size to use: 20 when NULL, 22023 outside 1..100.';

-- API: Private
CREATE FUNCTION caas._page(items jsonb, lim integer, ts_key text, id_key text)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  -- The caller fetched lim + 1 rows in page order: the extra one only says
  -- that a next page exists, and the cursor points after item number lim.
  SELECT jsonb_build_object(
           'items', coalesce((SELECT jsonb_agg(e ORDER BY n)
                                FROM jsonb_array_elements(items) WITH ORDINALITY AS t(e, n)
                               WHERE n <= lim), '[]'::jsonb),
           'next_cursor',
           CASE WHEN jsonb_array_length(coalesce(items, '[]')) > lim
                THEN to_jsonb(caas._cursor_encode((items -> (lim - 1) ->> ts_key)::timestamptz,
                                                  (items -> (lim - 1) ->> id_key)::uuid))
                ELSE 'null'::jsonb END)
$$;
COMMENT ON FUNCTION caas._page(jsonb, integer, text, text) IS
  'Private: a list page {"items", "next_cursor"} from lim + 1 items fetched in page order; ts_key and id_key name the keyset fields of an item (e.g. created_at, content_id).';

-- API: Private
CREATE FUNCTION caas._audit(org uuid, action text, target_type text, target_id text, details jsonb DEFAULT '{}')
RETURNS void
LANGUAGE sql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
  INSERT INTO caas.audit_log (org_id, actor_id, action, target_type, target_id, details)
  VALUES (org, caas.current_user_id(), action, target_type, target_id, coalesce(details, '{}'))
$$;
COMMENT ON FUNCTION caas._audit(uuid, text, text, text, jsonb) IS
  'Private: appends an entry to the organisation''s audit log, the caller as actor (NULL for the system).';

GRANT EXECUTE ON FUNCTION caas._cursor_encode(timestamptz, uuid), caas._cursor_decode(text),
  caas._page_size(integer), caas._page(jsonb, integer, text, text)
  TO caas_user, caas_analyst;
--
-- 990_grants.sql — who may call which function.
--
-- Nothing in caas is executable by PUBLIC unless listed here.  RLS policies
-- and CHECK constraints call some helpers as the querying role, so those
-- are granted to the roles that query.
--

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA caas FROM PUBLIC;

-- Used by CHECK constraints and column defaults: any role that writes rows.
GRANT EXECUTE ON FUNCTION caas.timezone_is_valid(text) TO PUBLIC;

-- Read-only introspection.
GRANT EXECUTE ON FUNCTION caas.role_can(text, text), caas.permission_matrix()
  TO caas_anon, caas_user, caas_analyst, caas_dispatcher;

-- Called by RLS policies and by the API functions as the end user.
GRANT EXECUTE ON FUNCTION
  caas._my_org_ids(), caas._my_role(uuid), caas._may(uuid, text), caas._require(uuid, text),
  caas._shares_org(uuid), caas.org_plan(uuid), caas.text_diff(text, text)
  TO caas_user;

-- Platform text rules: anyone may ask how long a text is.
GRANT EXECUTE ON FUNCTION caas.x_weighted_length(text), caas.x_text_is_valid(text),
  caas.text_length(text, text), caas.check_post_text(text, text, text[])
  TO caas_anon, caas_user, caas_analyst, caas_dispatcher;
