--
-- 090_housekeeping.sql — periodic clean-up, run by pg_cron.
--
-- CREATE EXTENSION schedules the job "caas-housekeeping" every five
-- minutes in this database (pg_cron must live here: cron.database_name).
-- DROP EXTENSION does not remove it: run
-- SELECT cron.unschedule('caas-housekeeping') first.
--

CREATE FUNCTION caas.housekeeping(
  OUT invitations_expired integer,
  OUT refresh_tokens_deleted integer,
  OUT stripe_events_deleted integer)
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
END;
$$;
COMMENT ON FUNCTION caas.housekeeping() IS
  'Expires pending invitations past their expiry, deletes refresh tokens expired for longer than caas.refresh_token_retention_days and Stripe event ids older than caas.stripe_event_retention_days. Returns the counts. Run by the pg_cron job caas-housekeeping; safe to run by hand at any time.';

SELECT cron.schedule('caas-housekeeping', '*/5 * * * *', 'SELECT caas.housekeeping()');
