--
-- 082_events.sql — status changes as notifications, one channel per
-- organisation.
--
-- Every change of a scheduled post's state (its creation included) and of a
-- social account's status sends pg_notify(caas.events_channel_name(org_id),
-- payload) from an AFTER trigger, whoever makes it (the API functions, the
-- dispatcher, the sweeper, a DBA's plain SQL).  The payload is JSON:
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
-- they agree).
--
-- Posts change by the thousand (a claim, a batch of outcomes), so their
-- triggers are statement triggers with transition tables: one query per
-- statement sends one notification per post whose state changed, in the
-- order the statement changed them, instead of a PL/pgSQL call per row.  A
-- trigger with transition tables cannot name columns (UPDATE OF state), so
-- the update trigger fires for every UPDATE of scheduled_posts and pairs the
-- old and new rows by primary key to compare their states (nothing changes
-- a post's key).  Accounts change one at a time and keep a row trigger.
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
CREATE FUNCTION caas._post_events()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  at text := to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
BEGIN
  -- The channel name inline, as caas.events_channel_name spells it: a
  -- function call per row would cost more than the rest.
  IF TG_OP = 'INSERT' THEN
    PERFORM pg_notify('caas_org_' || replace(n.org_id::text, '-', ''), jsonb_build_object(
      'type', 'post.state', 'org_id', n.org_id, 'post_id', n.post_id, 'state', n.state,
      'previous', NULL, 'at', at)::text)
       FROM new_posts n;
  ELSE
    PERFORM pg_notify('caas_org_' || replace(n.org_id::text, '-', ''), jsonb_build_object(
      'type', 'post.state', 'org_id', n.org_id, 'post_id', n.post_id, 'state', n.state,
      'previous', o.state, 'at', at)::text)
       FROM (SELECT row_number() OVER () AS i, x.* FROM new_posts x) n
       JOIN old_posts o ON o.org_id = n.org_id AND o.post_id = n.post_id
      WHERE o.state IS DISTINCT FROM n.state
      ORDER BY n.i;
  END IF;
  RETURN NULL;
END;
$$;
COMMENT ON FUNCTION caas._post_events() IS
  'Private statement trigger: notifies each organisation''s event channel of its scheduled posts the statement created or moved to another state, one notification per post, in the statement''s order.';

-- API: Private
CREATE FUNCTION caas._account_event()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
BEGIN
  -- Inline like caas._post_events.
  PERFORM pg_notify('caas_org_' || replace(NEW.org_id::text, '-', ''), jsonb_build_object(
    'type', 'account.status', 'org_id', NEW.org_id, 'account_id', NEW.account_id, 'status', NEW.status,
    'previous', OLD.status, 'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text);
  RETURN NULL;
END;
$$;
COMMENT ON FUNCTION caas._account_event() IS
  'Private trigger: notifies the organisation''s event channel that a social account changed status.';

CREATE TRIGGER events AFTER INSERT ON caas.scheduled_posts
  REFERENCING NEW TABLE AS new_posts
  FOR EACH STATEMENT EXECUTE FUNCTION caas._post_events();
CREATE TRIGGER events_update AFTER UPDATE ON caas.scheduled_posts
  REFERENCING OLD TABLE AS old_posts NEW TABLE AS new_posts
  FOR EACH STATEMENT EXECUTE FUNCTION caas._post_events();
CREATE TRIGGER events_update AFTER UPDATE OF status ON caas.social_accounts
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION caas._account_event();


REVOKE EXECUTE ON FUNCTION
  caas.events_channel_name(uuid), caas.events_channel(uuid), caas._post_events(), caas._account_event()
  FROM PUBLIC;

GRANT EXECUTE ON FUNCTION caas.events_channel(uuid) TO caas_user;
