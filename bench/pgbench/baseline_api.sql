-- bench/pgbench/baseline_api.sql — the reference for the API's protocol: the
-- same transaction as list_page.sql (caller set with set_config, RLS on, as
-- caas_user) around a plain indexed single-row select.  list_page /
-- baseline_api is what the SQL API function itself costs.
\set n random(1, :orgs)
\set k random(1, :per_org)
BEGIN;
SELECT set_config('role', 'caas_user', true),
       set_config('request.jwt.claims', '{"sub":"' || md5('user' || :n)::uuid || '"}', true);
SELECT * FROM caas.content
 WHERE org_id = md5('org' || :n)::uuid AND content_id = md5('content' || :n || '-' || :k)::uuid;
COMMIT;
