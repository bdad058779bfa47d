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
