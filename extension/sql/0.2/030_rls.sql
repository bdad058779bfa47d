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

-- Versions: read-only for end users.  They are written only by the content
-- trigger and the API functions (as their definer), so nobody can forge an
-- 'ai' version with invented token counts or skip a number.
GRANT SELECT ON caas.content_versions TO caas_user;
CREATE POLICY "members can see versions"
  ON caas.content_versions FOR SELECT TO caas_user
  USING (org_id = ANY ((SELECT caas._my_org_ids())::uuid[]));

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
