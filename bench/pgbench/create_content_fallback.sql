-- bench/pgbench/create_content_fallback.sql — what caas.content_create
-- does, as a plain INSERT under RLS (used while the function does not exist).
\set n random(1, :orgs)
BEGIN;
SELECT set_config('role', 'caas_user', true),
       set_config('request.jwt.claims', '{"sub":"' || md5('user' || :n)::uuid || '"}', true);
INSERT INTO caas.content (org_id, workspace_id, title, body, platform, created_by)
VALUES (md5('org' || :n)::uuid, md5('ws' || :n)::uuid, 'Bench', 'Bench body for org ' || :n, 'sandbox',
        md5('user' || :n)::uuid)
RETURNING content_id;
COMMIT;
