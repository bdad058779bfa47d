-- bench/pgbench/list_page.sql — first page (20) of a random organisation's
-- content through caas.content_list, as its owner: caas_user, RLS on, the
-- caller set per transaction the way the API does.
\set n random(1, :orgs)
BEGIN;
SELECT set_config('role', 'caas_user', true),
       set_config('request.jwt.claims', '{"sub":"' || md5('user' || :n)::uuid || '"}', true);
SELECT caas.content_list(md5('org' || :n)::uuid, NULL, NULL, NULL, NULL, 20);
COMMIT;
