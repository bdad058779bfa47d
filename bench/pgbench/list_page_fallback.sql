-- bench/pgbench/list_page_fallback.sql — what caas.content_list does, as a
-- plain SELECT under RLS (used while the function does not exist).
\set n random(1, :orgs)
BEGIN;
SELECT set_config('role', 'caas_user', true),
       set_config('request.jwt.claims', '{"sub":"' || md5('user' || :n)::uuid || '"}', true);
SELECT c.* FROM caas.content c
 WHERE c.org_id = md5('org' || :n)::uuid
 ORDER BY c.created_at DESC, c.content_id DESC
 LIMIT 21;
COMMIT;
