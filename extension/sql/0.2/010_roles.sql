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
-- caas_billing        the API's Stripe webhook: applies verified events
--                     (caas.stripe_event_apply) and nothing else.
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
  FOREACH r IN ARRAY ARRAY['caas_anon', 'caas_user', 'caas_analyst', 'caas_dispatcher', 'caas_billing'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'caas_authenticator') THEN
    CREATE ROLE caas_authenticator LOGIN NOINHERIT;
  END IF;
END;
$$;
GRANT caas_anon, caas_user, caas_billing TO caas_authenticator;
COMMENT ON ROLE caas_authenticator IS 'caas: the API''s login role; no privileges of its own, switches to caas_anon, caas_user or caas_billing per transaction. Set its password with ALTER ROLE.';
COMMENT ON ROLE caas_anon IS 'caas: unauthenticated API requests (register, login, refresh, plans).';
COMMENT ON ROLE caas_user IS 'caas: authenticated end users; row level security and the permission matrix decide.';
COMMENT ON ROLE caas_analyst IS 'caas: read-only analytics, on the primary or a hot standby.';
COMMENT ON ROLE caas_dispatcher IS 'caas: the publishing dispatcher (claims due posts, records outcomes).';
COMMENT ON ROLE caas_billing IS 'caas: the API''s Stripe webhook; may only apply verified Stripe events (caas.stripe_event_apply).';

GRANT USAGE ON SCHEMA caas TO caas_anon, caas_user, caas_analyst, caas_dispatcher, caas_billing;
-- The API prepares its statements once per connection, as itself, before it
-- switches role per request: it must be able to look caas names up.  USAGE
-- grants nothing else: executing a function is checked against the role of
-- the request.
GRANT USAGE ON SCHEMA caas TO caas_authenticator;


-- Hot path: called by every policy and API function.  plpgsql, not SQL: a
-- non-inlined SQL function is planned anew on every call, a plpgsql one
-- keeps its plan for the session (bench/run.sh measured the difference).
CREATE FUNCTION caas.current_user_id()
RETURNS uuid
LANGUAGE plpgsql
STABLE PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  RETURN (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid;
END;
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
