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

-- API: Private
CREATE FUNCTION caas._org_plan(org uuid)
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
COMMENT ON FUNCTION caas._org_plan(uuid) IS
  'Private, for quota checks and analytics (no end-user grant: it reads any organisation): the plan whose limits apply to the organisation now: its subscription''s plan while active or trialing, or past due for less than caas.past_due_grace_days; the free plan otherwise (no subscription, canceled, unpaid, grace over).';

CREATE FUNCTION caas.org_plan(org uuid)
RETURNS caas.plans
LANGUAGE plpgsql
STABLE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
BEGIN
  -- An end-user session (SET ROLE caas_user) asks only about its own
  -- organisations; a DBA session asks about any.
  IF current_setting('role') <> 'none' THEN
    PERFORM caas._require(org, 'content.read');
  END IF;
  RETURN caas._org_plan(org);
END;
$$;
COMMENT ON FUNCTION caas.org_plan(uuid) IS
  'The plan whose limits apply to the organisation now (see caas._org_plan). End users may ask only about their own organisations (P0002 otherwise).';

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
  plan_name text := (caas._org_plan(org)).name;
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
  plan caas.plans := caas._org_plan(org);
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
  plan := caas._org_plan(NEW.org_id);
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
