--
-- 080_triggers.sql — row triggers shared by many tables.
--

-- API: Private
CREATE FUNCTION caas._touch_updated_at()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, caas
AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;
COMMENT ON FUNCTION caas._touch_updated_at() IS
  'Private trigger function: sets updated_at to the transaction''s instant on every UPDATE.';

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['plans', 'users', 'profiles', 'organizations', 'organization_members',
                           'workspaces', 'content', 'social_accounts', 'scheduled_posts',
                           'subscriptions', 'usage']
  LOOP
    EXECUTE format('CREATE TRIGGER touch_updated_at BEFORE UPDATE ON caas.%I '
                   'FOR EACH ROW EXECUTE FUNCTION caas._touch_updated_at()', t);
  END LOOP;
END;
$$;
