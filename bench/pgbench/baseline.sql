-- bench/pgbench/baseline.sql — the reference: one content row by primary
-- key, as the superuser (no RLS, no function).  -D orgs=, -D per_org=.
\set n random(1, :orgs)
\set k random(1, :per_org)
SELECT * FROM caas.content
 WHERE org_id = md5('org' || :n)::uuid AND content_id = md5('content' || :n || '-' || :k)::uuid;
