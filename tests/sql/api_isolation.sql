--
-- tests/sql/api_isolation.sql — no SQL API function lets a user reach an
-- organisation they do not belong to.
--
-- Catalog-driven, so a function added later is covered without editing
-- this file: every public caas function whose first argument is "org uuid"
-- is called by a user of organisation B with organisation A's id (other
-- arguments NULL) and must answer P0002 "organization not found" — the
-- organisation stays invisible — before doing anything else.
--
BEGIN;
SELECT plan(5);

INSERT INTO caas.users (user_id, email, password_hash) VALUES
  ('00000000-0000-4000-8000-0000000000a1', 'alice@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000000a2', 'bert@example.com', '$argon2id$x');
INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000000b1', 'A', 'iso-a'),
  ('00000000-0000-4000-8000-0000000000b2', 'B', 'iso-b');
INSERT INTO caas.organization_members (org_id, user_id, role) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a1', 'owner'),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000a2', 'owner');

CREATE FUNCTION pg_temp.org_functions()
RETURNS TABLE (fn regprocedure, call text)
LANGUAGE sql
AS $$
  SELECT p.oid::regprocedure,
         format('SELECT %s(%s)', p.oid::regproc,
                (SELECT string_agg(CASE WHEN i = 1 THEN '''00000000-0000-4000-8000-0000000000b1''::uuid'
                                        ELSE format('NULL::%s', format_type(t, NULL)) END, ', ' ORDER BY i)
                   FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, i)))
    FROM pg_proc p
   WHERE p.pronamespace = 'caas'::regnamespace
     AND p.proname !~ '^_'
     AND p.pronargs >= 1
     AND p.proargnames[1] = 'org' AND p.proargtypes[0] = 'uuid'::regtype
     AND p.prokind = 'f'
     AND has_function_privilege('caas_user', p.oid, 'EXECUTE')
$$;

SELECT cmp_ok((SELECT count(*) FROM pg_temp.org_functions()), '>=', 20::bigint,
  'the API has at least twenty organisation-scoped functions to check');

CREATE FUNCTION pg_temp.try_all()
RETURNS TABLE (fn text, outcome text)
LANGUAGE plpgsql
AS $$
DECLARE
  f record;
BEGIN
  FOR f IN SELECT * FROM pg_temp.org_functions() LOOP
    fn := f.fn::text;
    BEGIN
      EXECUTE f.call;
      outcome := 'no error';
    EXCEPTION WHEN OTHERS THEN
      outcome := SQLSTATE || ' ' || SQLERRM;
    END;
    RETURN NEXT;
  END LOOP;
END;
$$;
GRANT EXECUTE ON FUNCTION pg_temp.try_all(), pg_temp.org_functions() TO caas_user;

SET LOCAL ROLE caas_user;
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a2"}', true);
SELECT is_empty($$ SELECT * FROM pg_temp.try_all() WHERE outcome <> 'P0002 organization not found' $$,
  'every organisation-scoped function hides another organisation (P0002)');
SELECT is(caas._user_json('00000000-0000-4000-8000-0000000000a1'), NULL,
  'the private user formatter shows nobody outside the caller''s organisations');
SELECT throws_ok($$ SELECT caas._org_plan('00000000-0000-4000-8000-0000000000b1') $$, '42501', NULL,
  'the unguarded plan lookup is not executable by end users');
SELECT set_config('request.jwt.claims', '', true);
SELECT is_empty($$ SELECT * FROM pg_temp.try_all() WHERE outcome !~ '^42501 ' $$,
  'without a caller identity every organisation-scoped function refuses with 42501');

SELECT * FROM finish();
ROLLBACK;
