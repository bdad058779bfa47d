--
-- 090_housekeeping.sql — the periodic clean-up of 0.1 (sql/caas--0.1.sql,
-- 090_housekeeping.sql there), now also failing AI jobs no dispatcher took
-- for a day (their quota reservation is released) and removing finished
-- ones.
--
-- The pg_cron job caas-housekeeping calls caas.housekeeping() by name
-- every five minutes; its result gains a column, so the function is
-- dropped and created again (the job's command is unchanged).
--

DROP FUNCTION caas.housekeeping();

CREATE FUNCTION caas.housekeeping(
  OUT invitations_expired integer,
  OUT refresh_tokens_deleted integer,
  OUT stripe_events_deleted integer,
  OUT ai_jobs_deleted integer,
  OUT ai_jobs_expired integer)
RETURNS record
LANGUAGE plpgsql
SET search_path = pg_catalog, caas
AS $$
BEGIN
  UPDATE caas.invitations
     SET status = 'expired'
   WHERE status = 'pending' AND expires_at <= now();
  GET DIAGNOSTICS invitations_expired = ROW_COUNT;

  DELETE FROM caas.refresh_tokens
   WHERE expires_at < now() - make_interval(days => current_setting('caas.refresh_token_retention_days')::integer);
  GET DIAGNOSTICS refresh_tokens_deleted = ROW_COUNT;

  DELETE FROM caas.stripe_events
   WHERE received_at < now() - make_interval(days => current_setting('caas.stripe_event_retention_days')::integer);
  GET DIAGNOSTICS stripe_events_deleted = ROW_COUNT;

  -- A finished job's outcome lives on in its versions, caas.usage and the
  -- analytics; the job itself (prompts, attempts) is kept 30 days.
  DELETE FROM caas.ai_jobs
   WHERE state IN ('succeeded', 'failed') AND finished_at < now() - interval '30 days';
  GET DIAGNOSTICS ai_jobs_deleted = ROW_COUNT;

  -- A job still queued after a day waits for a dispatcher with a provider
  -- that is not coming; failing it gives its reserved generations back.
  UPDATE caas.ai_jobs
     SET state = 'failed', finished_at = now(), error_code = 'expired',
         error_message = 'no dispatcher took the job within a day'
   WHERE state = 'queued' AND created_at < now() - interval '1 day';
  GET DIAGNOSTICS ai_jobs_expired = ROW_COUNT;
END;
$$;
COMMENT ON FUNCTION caas.housekeeping() IS
  'Expires pending invitations past their expiry, deletes refresh tokens expired for longer than caas.refresh_token_retention_days, Stripe event ids older than caas.stripe_event_retention_days and AI jobs finished more than 30 days ago; fails AI jobs still queued a day after they were requested (error expired, their reserved generations released). Returns the counts. Run by the pg_cron job caas-housekeeping; safe to run by hand at any time.';

REVOKE EXECUTE ON FUNCTION caas.housekeeping() FROM PUBLIC;
