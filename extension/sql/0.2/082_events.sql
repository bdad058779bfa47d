--
-- 082_events.sql — status changes as notifications, one channel per
-- organisation.
--
-- Every change of a scheduled post's state (its creation included) and of a
-- social account's status sends pg_notify(caas.events_channel_name(org_id),
-- payload) from an AFTER ROW trigger, whoever makes it (the API functions,
-- the dispatcher, the sweeper, a DBA's plain SQL).  The payload is JSON:
--   {"type": "post.state", "org_id", "post_id", "state", "previous", "at"}
--   {"type": "account.status", "org_id", "account_id", "status", "previous", "at"}
-- with previous null for a new post and "at" the transaction's instant in
-- UTC; a few hundred bytes, well under NOTIFY's 8000.  Nothing else: the
-- listener reads details through the API, as the caller.
--
-- Notifications are delivered at commit, and only if it commits.  One per
-- change is affordable: NOTIFY's cluster-wide lock is taken once per
-- transaction however many it sends, and an update that leaves the state as
-- it was sends nothing.  LISTEN needs no privilege in PostgreSQL, so the
-- channel name is no secret: the API listens on its own connection and
-- forwards a channel's events only to members of that organisation
-- (caas.events_channel checks membership).
--
-- The trigger functions are SECURITY DEFINER like the audit trigger, so
-- they run the same whichever role's change fires them, and spell
-- caas.events_channel_name out inline for speed (tests/sql/events.sql checks
-- they agree).  Measured: a claim of 1000 posts takes ~15 ms more with the
-- trigger, against ~60 ms when it called the name and instant functions.
--

-- API: Private
CREATE FUNCTION caas.events_channel_name(org uuid)
RETURNS text
LANGUAGE sql
IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  SELECT 'caas_org_' || replace(org::text, '-', '')
$$;
COMMENT ON FUNCTION caas.events_channel_name(uuid) IS
  'Private: the NOTIFY channel of an organisation''s events, caas_org_ followed by its id''s 32 hex digits (41 characters, under the 63 of an identifier).';

-- SECURITY DEFINER to call the private name function; _require decides.
CREATE FUNCTION caas.events_channel(org uuid)
RETURNS text
LANGUAGE plpgsql
STABLE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
BEGIN
  PERFORM caas._require(org, 'content.read');
  RETURN caas.events_channel_name(org);
END;
$$;
COMMENT ON FUNCTION caas.events_channel(uuid) IS
  'The NOTIFY channel carrying the organisation''s events (content.read; P0002 for a non-member): post.state and account.status changes as JSON. The API LISTENs on it and streams what arrives to the members as Server-Sent Events.';

-- API: Private
CREATE FUNCTION caas._post_event()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
BEGIN
  -- caas.events_channel_name and the instant, inline: a claim of 1000 posts
  -- fires this 1000 times, and two SQL function calls a row (each with its
  -- own SET search_path) tripled the trigger's cost.
  PERFORM pg_notify('caas_org_' || replace(NEW.org_id::text, '-', ''), jsonb_build_object(
    'type', 'post.state', 'org_id', NEW.org_id, 'post_id', NEW.post_id, 'state', NEW.state,
    'previous', CASE WHEN TG_OP = 'UPDATE' THEN OLD.state END,
    'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text);
  RETURN NULL;
END;
$$;
COMMENT ON FUNCTION caas._post_event() IS
  'Private trigger: notifies the organisation''s event channel that a scheduled post was created or changed state.';

-- API: Private
CREATE FUNCTION caas._account_event()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
BEGIN
  -- Inline like caas._post_event.
  PERFORM pg_notify('caas_org_' || replace(NEW.org_id::text, '-', ''), jsonb_build_object(
    'type', 'account.status', 'org_id', NEW.org_id, 'account_id', NEW.account_id, 'status', NEW.status,
    'previous', OLD.status, 'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text);
  RETURN NULL;
END;
$$;
COMMENT ON FUNCTION caas._account_event() IS
  'Private trigger: notifies the organisation''s event channel that a social account changed status.';

CREATE TRIGGER events AFTER INSERT ON caas.scheduled_posts
  FOR EACH ROW EXECUTE FUNCTION caas._post_event();
CREATE TRIGGER events_update AFTER UPDATE OF state ON caas.scheduled_posts
  FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION caas._post_event();
CREATE TRIGGER events_update AFTER UPDATE OF status ON caas.social_accounts
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION caas._account_event();


REVOKE EXECUTE ON FUNCTION
  caas.events_channel_name(uuid), caas.events_channel(uuid), caas._post_event(), caas._account_event()
  FROM PUBLIC;

GRANT EXECUTE ON FUNCTION caas.events_channel(uuid) TO caas_user;
