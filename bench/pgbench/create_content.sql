-- bench/pgbench/create_content.sql — a random owner creates a content item
-- (version 1 written by the trigger) through caas.content_create.
\set n random(1, :orgs)
BEGIN;
SELECT set_config('role', 'caas_user', true),
       set_config('request.jwt.claims', '{"sub":"' || md5('user' || :n)::uuid || '"}', true);
SELECT caas.content_create(md5('org' || :n)::uuid, md5('ws' || :n)::uuid, 'Bench', 'Bench body for org ' || :n,
                           'sandbox', '{}');
COMMIT;
