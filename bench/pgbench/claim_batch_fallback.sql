-- bench/pgbench/claim_batch_fallback.sql — what caas.dispatch_claim does, as
-- one UPDATE ... FOR UPDATE SKIP LOCKED (used while the function does not
-- exist).  Runs as the role run.sh passes as -D role= (caas_dispatcher
-- when it may update scheduled_posts, else the superuser).  Rolled back,
-- like claim_batch.sql.
BEGIN;
SET LOCAL ROLE :role;
UPDATE caas.scheduled_posts p
   SET state = 'publishing', lease_owner = 'bench', lease_expires_at = now() + interval '60 seconds',
       attempts = p.attempts + 1
  FROM (SELECT d.org_id, d.post_id
          FROM caas.scheduled_posts d
         WHERE d.state = 'scheduled' AND d.run_at <= now()
         ORDER BY d.run_at
         LIMIT 50
           FOR UPDATE SKIP LOCKED) due
 WHERE p.org_id = due.org_id AND p.post_id = due.post_id
RETURNING p.org_id, p.post_id, p.content_id, p.account_id;
ROLLBACK;
