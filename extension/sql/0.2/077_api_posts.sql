--
-- 077_api_posts.sql — scheduling (the SQL API for posts).  The
-- dispatcher's side (claim → call → record) is 078_dispatch.sql.
--
-- Scheduling functions are SECURITY DEFINER (caas_user has no write
-- privilege on scheduled_posts or social_accounts), call caas._require
-- first and filter every statement by org_id themselves, since the definer
-- bypasses RLS.  Reads (post_get, post_list, account_get, account_list) are
-- SECURITY INVOKER: RLS and the column grants decide, as for plain SQL.
--
-- Quota: a post consumes one scheduled post (and one X post on X) each time a
-- person puts it into state scheduled from another state (new, cancelled,
-- failed, unconfirmed); moving a scheduled post in time is free.
--
-- Waking the dispatcher: at most one pg_notify('caas_posts_due', ...) per
-- transaction, and only for a run_at within the next 60 s (the dispatcher's
-- timer catches later ones through caas.dispatch_next_due).  The
-- "already notified" flag is the transaction-local setting caas_tx.notified
-- holding the transaction id: the caas.* prefix is reserved by the module,
-- set_config(..., true) costs nothing and vanishes at commit or rollback
-- (and with a rolled-back savepoint, together with its NOTIFY), and storing
-- the xid makes a stale session-level value harmless.  A temporary table
-- would churn the catalogue on every call and break behind a transaction
-- pooler.
--
-- A post the dispatcher could not confirm (unconfirmed: the request may
-- have been sent, no answer came) waits for a person: post_resolve says
-- what they found on the platform, post_reschedule tries again.
--

-- ------------------------------------------------------------ helpers --

-- API: Private
CREATE FUNCTION caas._parse_instant(at text, timezone text)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  wall timestamp;
  instant timestamptz;
BEGIN
  IF timezone IS NULL OR NOT caas.timezone_is_valid(timezone) THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('invalid time zone "%s"', timezone),
      HINT = 'Use an IANA time zone name such as Europe/Paris or UTC.';
  END IF;
  IF at IS NULL OR at !~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?$' THEN
    RAISE EXCEPTION USING ERRCODE = '22007', MESSAGE = format('invalid instant "%s"', at),
      HINT = 'Use ISO 8601: 2027-05-01T09:30:00Z, 2027-05-01T09:30:00+02:00, or 2027-05-01T09:30 for a wall-clock time in the time zone.';
  END IF;
  BEGIN
    IF at ~ '(Z|[+-]\d{2}(:?\d{2})?)$' THEN
      RETURN at::timestamptz;
    END IF;
    wall := at::timestamp;
  EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
    RAISE EXCEPTION USING ERRCODE = '22007', MESSAGE = format('invalid instant "%s"', at);
  END;
  -- A wall-clock time in the zone.  PostgreSQL maps a time in the
  -- spring-forward gap to an instant whose local time differs; refuse it.
  -- An ambiguous time (autumn fall-back) becomes the later instant, in
  -- standard time.
  instant := wall AT TIME ZONE timezone;
  IF (instant AT TIME ZONE timezone) <> wall THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('%s does not exist in %s', replace(at, 'T', ' '), timezone),
      DETAIL = 'The clocks skip this time when daylight saving time starts.',
      HINT = 'Choose a time outside the gap, or give an instant with an offset.';
  END IF;
  RETURN instant;
END;
$$;
COMMENT ON FUNCTION caas._parse_instant(text, text) IS
  'Private: the instant an ISO 8601 text names: as is when it has an offset or Z, else a wall-clock time in the IANA time zone (22023 for a time the zone skips at a DST change; an ambiguous time is the later, standard-time instant). 22007 when malformed, 22023 for an invalid zone.';

-- API: Private
CREATE FUNCTION caas._post_json(p caas.scheduled_posts)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, caas
AS $$
  SELECT jsonb_build_object(
    'post_id', p.post_id, 'org_id', p.org_id, 'content_id', p.content_id,
    'content_version', p.content_version, 'account_id', p.account_id,
    'platform', (SELECT a.platform FROM caas.social_accounts a
                  WHERE a.org_id = p.org_id AND a.account_id = p.account_id),
    'state', p.state, 'due_at', p.due_at, 'timezone', p.timezone, 'run_at', p.run_at,
    'attempts', p.attempts, 'max_attempts', p.max_attempts,
    'remote_id', p.remote_id, 'remote_url', p.remote_url, 'published_at', p.published_at,
    'last_error', p.last_error, 'created_by', p.created_by,
    'created_at', p.created_at, 'updated_at', p.updated_at)
$$;
COMMENT ON FUNCTION caas._post_json(caas.scheduled_posts) IS
  'Private: a scheduled post as the API returns it (no lease details).';

-- API: Private
CREATE FUNCTION caas._post_wake(run_at timestamptz)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  xid text := pg_current_xact_id()::text;
BEGIN
  IF run_at >= now() + interval '60 seconds'
     OR current_setting('caas_tx.notified', true) IS NOT DISTINCT FROM xid THEN
    RETURN;
  END IF;
  PERFORM set_config('caas_tx.notified', xid, true);
  PERFORM pg_notify('caas_posts_due', to_char(run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'));
END;
$$;
COMMENT ON FUNCTION caas._post_wake(timestamptz) IS
  'Private: NOTIFY caas_posts_due (payload: the run_at, UTC) when a post becomes due within 60 s, at most once per transaction (flag: the transaction-local setting caas_tx.notified).';

-- API: Private
CREATE FUNCTION caas._post_validate(org uuid, content_id uuid, account_id uuid,
                                    OUT version integer, OUT platform text)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  a caas.social_accounts;
  c caas.content;
BEGIN
  SELECT * INTO a FROM caas.social_accounts s WHERE s.org_id = org AND s.account_id = _post_validate.account_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'social account not found';
  END IF;
  IF a.status <> 'connected' THEN
    RAISE EXCEPTION USING ERRCODE = 'CA005',
      MESSAGE = format('social account %s is %s', coalesce(nullif(a.handle, ''), a.external_id),
                       replace(a.status::text, '_', ' ')),
      HINT = 'Reconnect the account, then schedule again.';
  END IF;
  SELECT * INTO c FROM caas.content x WHERE x.org_id = org AND x.content_id = _post_validate.content_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'content not found';
  END IF;
  IF c.platform IS NOT NULL AND c.platform <> a.platform THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('content written for %s cannot go to a %s account', c.platform, a.platform),
      HINT = 'Choose an account of the content''s platform, or clear the content''s platform.';
  END IF;
  PERFORM caas.check_post_text(a.platform, c.body, c.media_urls);
  version := c.current_version;
  platform := a.platform;
END;
$$;
COMMENT ON FUNCTION caas._post_validate(uuid, uuid, uuid) IS
  'Private: checks a content item can go to a social account of the organisation now (P0002, CA005, 22023, CA003) and returns the version to pin and the platform.';

-- API: Private
CREATE FUNCTION caas._post_consume(org uuid, platform text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  PERFORM caas._consume(org, 'scheduled_posts', 1);
  IF platform = 'x' THEN
    PERFORM caas._consume(org, 'x_posts', 1);
  END IF;
END;
$$;
COMMENT ON FUNCTION caas._post_consume(uuid, text) IS
  'Private: counts one scheduled post, and one X post for X, against the plan (CA001 beyond).';

-- API: Private
CREATE FUNCTION caas._content_mark_published(org uuid, content uuid)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  UPDATE caas.content c SET status = 'published'
   WHERE c.org_id = org AND c.content_id = content AND c.status <> 'published'
     AND NOT EXISTS (SELECT 1 FROM caas.scheduled_posts s
                      WHERE s.org_id = org AND s.content_id = content
                        AND s.state NOT IN ('published', 'cancelled'));
END;
$$;
COMMENT ON FUNCTION caas._content_mark_published(uuid, uuid) IS
  'Private: marks a content item published once every post of it is published or cancelled (called after one of its posts is published).';

-- ------------------------------------------------ scheduling (users) --

CREATE FUNCTION caas.post_schedule(org uuid, content uuid, account uuid, at text, timezone text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  tz text;
  due timestamptz;
  v record;
  p caas.scheduled_posts;
BEGIN
  PERFORM caas._require(org, 'post.schedule');
  tz := coalesce(timezone, (SELECT o.default_timezone FROM caas.organizations o WHERE o.org_id = org));
  due := caas._parse_instant(at, tz);
  IF due < now() - interval '5 seconds' THEN
    RAISE EXCEPTION USING ERRCODE = 'CA004', MESSAGE = format('%s has already passed', at),
      HINT = 'Choose an instant in the future.';
  END IF;
  SELECT * INTO v FROM caas._post_validate(org, content, account);

  SELECT * INTO p FROM caas.scheduled_posts s
   WHERE s.org_id = org AND s.content_id = content AND s.account_id = account
   FOR UPDATE;
  IF FOUND AND p.state = 'scheduled' THEN
    RAISE EXCEPTION USING ERRCODE = '23505', MESSAGE = 'post already scheduled for this account',
      DETAIL = format('Post %s is scheduled for %s.', p.post_id, p.due_at),
      HINT = 'Reschedule that post instead.';
  ELSIF FOUND THEN
    PERFORM caas._post_require_move(p.state, 'scheduled', 'user');
  END IF;
  PERFORM caas._post_consume(org, v.platform);

  IF p.post_id IS NULL THEN
    BEGIN
      INSERT INTO caas.scheduled_posts AS s
        (org_id, content_id, content_version, account_id, due_at, timezone, run_at, created_by)
      VALUES (org, content, v.version, account, due, tz, due, caas.current_user_id())
      RETURNING * INTO p;
    EXCEPTION WHEN unique_violation THEN
      RAISE EXCEPTION USING ERRCODE = '23505', MESSAGE = 'post already scheduled for this account';
    END;
  ELSE
    UPDATE caas.scheduled_posts s
       SET state = 'scheduled', content_version = v.version, due_at = due, timezone = tz, run_at = due,
           attempts = 0, last_error = NULL, remote_id = NULL, remote_url = NULL, published_at = NULL
     WHERE s.org_id = org AND s.post_id = p.post_id
    RETURNING * INTO p;
  END IF;
  PERFORM caas._post_wake(p.run_at);
  RETURN caas._post_json(p);
END;
$$;
COMMENT ON FUNCTION caas.post_schedule(uuid, uuid, uuid, text, text) IS
  'Schedules a content item for a social account of the organisation (post.schedule). at is ISO 8601: an instant with an offset or Z, or a wall-clock time in timezone (IANA; the organisation''s default when NULL). Pins the current version. A cancelled or failed post of the same content and account is scheduled again. Consumes one scheduled post (and one X post for X). Errors: 22007/22023 bad instant or zone (22023 for a time skipped by DST), CA004 in the past, P0002 account or content not found, CA005 account not connected, 22023 platform mismatch, CA003 text refused, 23505 already scheduled, CA002 post in a state that cannot be rescheduled, CA001 quota.';

CREATE FUNCTION caas.post_reschedule(org uuid, post uuid, at text, timezone text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  due timestamptz;
  v record;
  p caas.scheduled_posts;
BEGIN
  PERFORM caas._require(org, 'post.schedule');
  SELECT * INTO p FROM caas.scheduled_posts s WHERE s.org_id = org AND s.post_id = post FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'post not found';
  END IF;
  PERFORM caas._post_require_move(p.state, 'scheduled', 'user');
  due := caas._parse_instant(at, coalesce(timezone, p.timezone));
  IF due < now() - interval '5 seconds' THEN
    RAISE EXCEPTION USING ERRCODE = 'CA004', MESSAGE = format('%s has already passed', at),
      HINT = 'Choose an instant in the future.';
  END IF;
  SELECT * INTO v FROM caas._post_validate(org, p.content_id, p.account_id);
  IF p.state <> 'scheduled' THEN
    PERFORM caas._post_consume(org, v.platform);
  END IF;
  UPDATE caas.scheduled_posts s
     SET state = 'scheduled', content_version = v.version, due_at = due,
         timezone = coalesce(post_reschedule.timezone, p.timezone), run_at = due,
         attempts = 0, last_error = NULL, remote_id = NULL, remote_url = NULL, published_at = NULL
   WHERE s.org_id = org AND s.post_id = post
  RETURNING * INTO p;
  PERFORM caas._post_wake(p.run_at);
  RETURN caas._post_json(p);
END;
$$;
COMMENT ON FUNCTION caas.post_reschedule(uuid, uuid, text, text) IS
  'Moves a post to a new instant (post.schedule), or schedules a cancelled, failed or unconfirmed post again; re-pins the content''s current version and re-checks its text and account. timezone NULL keeps the post''s zone. Only a post coming back from another state consumes quota. Same errors as caas.post_schedule; CA002 for a post being published or already published.';

CREATE FUNCTION caas.post_cancel(org uuid, post uuid)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  p caas.scheduled_posts;
BEGIN
  PERFORM caas._require(org, 'post.schedule');
  SELECT * INTO p FROM caas.scheduled_posts s WHERE s.org_id = org AND s.post_id = post FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'post not found';
  END IF;
  PERFORM caas._post_require_move(p.state, 'cancelled', 'user');
  UPDATE caas.scheduled_posts s SET state = 'cancelled'
   WHERE s.org_id = org AND s.post_id = post
  RETURNING * INTO p;
  RETURN caas._post_json(p);
END;
$$;
COMMENT ON FUNCTION caas.post_cancel(uuid, uuid) IS
  'Cancels a scheduled or unconfirmed post (post.schedule). P0002 when not found, CA002 from any other state. Used quota is not given back.';

CREATE FUNCTION caas.post_resolve(org uuid, post uuid, resolution text,
                                  remote_id text DEFAULT NULL, remote_url text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  p caas.scheduled_posts;
BEGIN
  PERFORM caas._require(org, 'post.schedule');
  IF resolution IS NULL OR resolution NOT IN ('published', 'failed') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('invalid resolution "%s"', resolution),
      HINT = 'Say published (with the remote id found on the platform) or failed.';
  END IF;
  IF resolution = 'published' AND (remote_id IS NULL OR length(remote_id) NOT BETWEEN 1 AND 255) THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a published resolution needs the remote id',
      HINT = 'Give the id the platform shows for the post (1 to 255 characters).';
  END IF;
  IF resolution = 'published' AND remote_url IS NOT NULL
     AND (remote_url !~ '^https://' OR length(remote_url) > 2048) THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'invalid remote URL',
      HINT = 'Give the post''s https:// permalink, or none.';
  END IF;
  SELECT * INTO p FROM caas.scheduled_posts s WHERE s.org_id = org AND s.post_id = post FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'post not found';
  END IF;
  PERFORM caas._post_require_move(p.state, resolution::caas.post_state, 'user');

  -- Published: the platform took it when the last attempt sent it, so that
  -- is its publication time (and the lateness it counts with), not now.
  UPDATE caas.scheduled_posts s
     SET state = resolution::caas.post_state,
         remote_id = CASE WHEN resolution = 'published' THEN post_resolve.remote_id ELSE s.remote_id END,
         remote_url = CASE WHEN resolution = 'published' THEN post_resolve.remote_url ELSE s.remote_url END,
         published_at = CASE WHEN resolution = 'published'
                             THEN coalesce((SELECT max(t.started_at) FROM caas.post_attempts t
                                             WHERE t.org_id = org AND t.post_id = post), now())
                             ELSE s.published_at END,
         last_error = CASE WHEN resolution = 'published' THEN NULL
                           ELSE 'not published (checked by a person)' END
   WHERE s.org_id = org AND s.post_id = post
  RETURNING * INTO p;
  IF resolution = 'published' THEN
    PERFORM caas._content_mark_published(org, p.content_id);
  END IF;
  PERFORM caas._audit(org, 'post.resolved', 'post', post::text,
                      jsonb_strip_nulls(jsonb_build_object('resolution', resolution,
                                                           'remote_id', post_resolve.remote_id)));
  RETURN caas._post_json(p);
END;
$$;
COMMENT ON FUNCTION caas.post_resolve(uuid, uuid, text, text, text) IS
  'Settles an unconfirmed post (post.schedule) after a person checked the platform: resolution published (remote_id required, remote_url optional; published_at is when the last attempt sent it) or failed. CA002 unless the post is unconfirmed, 22023 for another resolution or a missing remote id, P0002 when not found. To try again instead, use caas.post_reschedule.';

CREATE FUNCTION caas.post_get(org uuid, post uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  p caas.scheduled_posts;
BEGIN
  PERFORM caas._require(org, 'content.read');
  SELECT * INTO p FROM caas.scheduled_posts s WHERE s.org_id = org AND s.post_id = post;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'post not found';
  END IF;
  RETURN caas._post_json(p) || jsonb_build_object('attempt_history', coalesce(
    (SELECT jsonb_agg(jsonb_build_object(
              'attempt', t.attempt, 'dispatcher', t.dispatcher, 'started_at', t.started_at,
              'finished_at', t.finished_at, 'outcome', t.outcome, 'http_status', t.http_status,
              'error_message', t.error_message, 'remote_id', t.remote_id) ORDER BY t.attempt)
       FROM caas.post_attempts t WHERE t.org_id = org AND t.post_id = post), '[]'::jsonb));
END;
$$;
COMMENT ON FUNCTION caas.post_get(uuid, uuid) IS
  'One scheduled post of the organisation (content.read) with attempt_history, its publish attempts oldest first. P0002 when not found.';

CREATE FUNCTION caas.post_list(org uuid, status caas.post_state DEFAULT NULL, platform text DEFAULT NULL,
                               account uuid DEFAULT NULL, from_ts timestamptz DEFAULT NULL,
                               to_ts timestamptz DEFAULT NULL, cursor text DEFAULT NULL,
                               lim integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  n integer := caas._page_size(lim);
  c record;
BEGIN
  PERFORM caas._require(org, 'content.read');
  SELECT * INTO c FROM caas._cursor_decode(cursor);
  RETURN caas._page((
    SELECT jsonb_agg(caas._post_json(p) ORDER BY p.created_at DESC, p.post_id DESC)
      FROM (SELECT s.*
              FROM caas.scheduled_posts s
             WHERE s.org_id = org
               AND (post_list.status IS NULL OR s.state = post_list.status)
               AND (account IS NULL OR s.account_id = account)
               AND (post_list.platform IS NULL OR EXISTS (
                      SELECT 1 FROM caas.social_accounts a
                       WHERE a.org_id = s.org_id AND a.account_id = s.account_id
                         AND a.platform = post_list.platform))
               AND (from_ts IS NULL OR s.due_at >= from_ts)
               AND (to_ts IS NULL OR s.due_at < to_ts)
               AND (c.ts IS NULL OR (s.created_at, s.post_id) < (c.ts, c.id))
             ORDER BY s.created_at DESC, s.post_id DESC
             LIMIT n + 1) p), n, 'created_at', 'post_id');
END;
$$;
COMMENT ON FUNCTION caas.post_list(uuid, caas.post_state, text, uuid, timestamptz, timestamptz, text, integer) IS
  'Scheduled posts of the organisation (content.read), newest first, keyset-paginated: {"items", "next_cursor"}. Filters: state, platform, account, due_at in [from_ts, to_ts).';

-- ------------------------------------------------------------ grants --

REVOKE EXECUTE ON FUNCTION
  caas._parse_instant(text, text), caas._post_json(caas.scheduled_posts), caas._post_wake(timestamptz),
  caas._post_validate(uuid, uuid, uuid), caas._post_consume(uuid, text),
  caas._content_mark_published(uuid, uuid),
  caas.post_schedule(uuid, uuid, uuid, text, text), caas.post_reschedule(uuid, uuid, text, text),
  caas.post_cancel(uuid, uuid), caas.post_resolve(uuid, uuid, text, text, text), caas.post_get(uuid, uuid),
  caas.post_list(uuid, caas.post_state, text, uuid, timestamptz, timestamptz, text, integer)
  FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
  caas.post_schedule(uuid, uuid, uuid, text, text), caas.post_reschedule(uuid, uuid, text, text),
  caas.post_cancel(uuid, uuid), caas.post_resolve(uuid, uuid, text, text, text), caas.post_get(uuid, uuid),
  caas.post_list(uuid, caas.post_state, text, uuid, timestamptz, timestamptz, text, integer),
  -- Called as the end user by the SECURITY INVOKER readers above.
  caas._post_json(caas.scheduled_posts)
  TO caas_user;

