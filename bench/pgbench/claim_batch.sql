-- bench/pgbench/claim_batch.sql — the dispatcher claims 50 due posts with a
-- 60 s lease, as caas_dispatcher.  Rolled back, so the due backlog stays the
-- same size for the whole run: this measures the claim, under contention
-- (SKIP LOCKED), not the draining of a queue.
BEGIN;
SET LOCAL ROLE caas_dispatcher;
SELECT caas.dispatch_claim('bench', 50, 60);
ROLLBACK;
