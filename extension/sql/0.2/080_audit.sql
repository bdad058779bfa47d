--
-- 080_audit.sql — the audit log is written by triggers, so every path
-- (the API functions, a DBA's plain SQL, the Stripe webhook) is recorded.
--
-- Recorded: membership changes (added, role changed, removed), invitations
-- (created, revoked, accepted), social accounts (connected, status changed,
-- deleted), subscription changes (plan, status), deletions of workspaces
-- and content.  Deletes cascading from a deleted organisation (or content
-- from a deleted workspace) are not recorded one by one: the log goes with
-- the organisation, and the workspace's own entry stands for its content.
-- The trigger functions are SECURITY DEFINER: end users cannot write the
-- log themselves.
--

-- API: Private
CREATE FUNCTION caas._audit_row()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  row_new jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
  row_old jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
  r jsonb := coalesce(row_new, row_old);
  org uuid := (r ->> 'org_id')::uuid;
  action text;
  target_type text;
  target_id text;
  details jsonb := '{}';
BEGIN
  -- Rows removed with their organisation, or content with its workspace: the
  -- cascade's AFTER triggers fire once the parent is gone, so look for it.
  IF TG_OP = 'DELETE' THEN
    IF NOT EXISTS (SELECT 1 FROM caas.organizations o WHERE o.org_id = org) THEN
      RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'organization_members' AND NOT EXISTS (
         SELECT 1 FROM caas.users u WHERE u.user_id = (r ->> 'user_id')::uuid) THEN
      RETURN NULL;   -- the user was deleted
    END IF;
    IF TG_TABLE_NAME = 'content' AND NOT EXISTS (
         SELECT 1 FROM caas.workspaces w WHERE w.org_id = org AND w.workspace_id = (r ->> 'workspace_id')::uuid) THEN
      RETURN NULL;
    END IF;
  END IF;
  CASE TG_TABLE_NAME
    WHEN 'organization_members' THEN
      target_type := 'member'; target_id := r ->> 'user_id';
      action := CASE TG_OP WHEN 'INSERT' THEN 'member.added' WHEN 'DELETE' THEN 'member.removed'
                           ELSE 'member.role_changed' END;
      details := jsonb_strip_nulls(jsonb_build_object('role', row_new -> 'role', 'previous_role', row_old -> 'role'));
    WHEN 'invitations' THEN
      target_type := 'invitation'; target_id := r ->> 'invitation_id';
      action := CASE WHEN TG_OP = 'INSERT' THEN 'invitation.created'
                     ELSE 'invitation.' || (row_new ->> 'status') END;
      details := jsonb_build_object('email', r ->> 'email', 'role', r ->> 'role');
    WHEN 'social_accounts' THEN
      target_type := 'account'; target_id := r ->> 'account_id';
      action := CASE TG_OP WHEN 'INSERT' THEN 'account.connected' WHEN 'DELETE' THEN 'account.deleted'
                           ELSE CASE row_new ->> 'status' WHEN 'connected' THEN 'account.reconnected'
                                                          WHEN 'disconnected' THEN 'account.disconnected'
                                                          ELSE 'account.needs_reauth' END END;
      details := jsonb_build_object('platform', r ->> 'platform', 'handle', r ->> 'handle', 'external_id', r ->> 'external_id');
    WHEN 'subscriptions' THEN
      target_type := 'subscription'; target_id := r ->> 'org_id';
      action := CASE WHEN TG_OP = 'INSERT' THEN 'billing.subscribed'
                     WHEN row_new ->> 'plan_id' IS DISTINCT FROM row_old ->> 'plan_id' THEN 'billing.plan_changed'
                     ELSE 'billing.status_changed' END;
      details := jsonb_strip_nulls(jsonb_build_object('plan', row_new -> 'plan_id', 'previous_plan', row_old -> 'plan_id',
                                                      'status', row_new -> 'status', 'previous_status', row_old -> 'status'));
    WHEN 'workspaces' THEN
      target_type := 'workspace'; target_id := r ->> 'workspace_id'; action := 'workspace.deleted';
      details := jsonb_build_object('name', r ->> 'name', 'slug', r ->> 'slug');
    WHEN 'content' THEN
      target_type := 'content'; target_id := r ->> 'content_id'; action := 'content.deleted';
      details := jsonb_build_object('title', r ->> 'title', 'versions', r -> 'current_version');
  END CASE;
  INSERT INTO caas.audit_log (org_id, actor_id, action, target_type, target_id, details)
  VALUES (org, (SELECT u.user_id FROM caas.users u WHERE u.user_id = caas.current_user_id()),
          action, target_type, target_id, details);
  RETURN NULL;
END;
$$;
COMMENT ON FUNCTION caas._audit_row() IS
  'Private trigger: appends what a privileged change did to the organisation''s audit log, the caller as actor.';

CREATE TRIGGER audit AFTER INSERT OR DELETE ON caas.organization_members
  FOR EACH ROW EXECUTE FUNCTION caas._audit_row();
CREATE TRIGGER audit_update AFTER UPDATE OF role ON caas.organization_members
  FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role) EXECUTE FUNCTION caas._audit_row();
CREATE TRIGGER audit AFTER INSERT ON caas.invitations
  FOR EACH ROW EXECUTE FUNCTION caas._audit_row();
CREATE TRIGGER audit_update AFTER UPDATE OF status ON caas.invitations
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION caas._audit_row();
CREATE TRIGGER audit AFTER INSERT OR DELETE ON caas.social_accounts
  FOR EACH ROW EXECUTE FUNCTION caas._audit_row();
CREATE TRIGGER audit_update AFTER UPDATE OF status ON caas.social_accounts
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION caas._audit_row();
CREATE TRIGGER audit AFTER INSERT ON caas.subscriptions
  FOR EACH ROW EXECUTE FUNCTION caas._audit_row();
CREATE TRIGGER audit_update AFTER UPDATE OF plan_id, status ON caas.subscriptions
  FOR EACH ROW WHEN (OLD.plan_id IS DISTINCT FROM NEW.plan_id OR OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION caas._audit_row();
CREATE TRIGGER audit AFTER DELETE ON caas.workspaces
  FOR EACH ROW EXECUTE FUNCTION caas._audit_row();
CREATE TRIGGER audit AFTER DELETE ON caas.content
  FOR EACH ROW EXECUTE FUNCTION caas._audit_row();
