--
-- 078_dispatch.sql — the dispatcher's side of scheduled posts: claim → call
-- → record (DESIGN.md decision 3), in-flight progress, the sweeper.
--
-- Every function here is SECURITY DEFINER, filters by the org_id it is
-- given, and is executable by caas_dispatcher only.  The attempt number of a
-- post_attempts row counts every try of the post ever made;
-- scheduled_posts.attempts counts the tries of the current run only (reset
-- to 0 when a person schedules it again) and is what max_attempts bounds.
--
-- Tokens leave the database only here, sealed (AES-256-GCM, opened by the
-- dispatcher with the key token_key_id names), as base64 without newlines
-- under keys ending in _enc.
--
-- Recording: dispatch_record records one outcome; dispatch_record_batch a
-- whole loop iteration's outcomes in one round trip, each exactly as
-- dispatch_record would (caas._dispatch_record): set-based for the whole
-- batch when every outcome applies (caas._dispatch_record_all), else one
-- subtransaction per outcome.  A retry due within 60 s wakes the
-- dispatchers like a new post does (caas._post_wake: one NOTIFY per
-- transaction).
--
-- Plans: a dispatcher's session runs the same statements thousands of times
-- and PL/pgSQL keeps their plans, made when the tables were as they were
-- then.  A fresh post_attempts looks empty to the planner, which then
-- prefers reading all of it to an index lookup, and keeps that plan while
-- the table grows (a batch of 20 outcomes took 2 ms at first, 11 ms after
-- 10,000 posts).  Every statement here reaches rows by key or through the
-- partial indexes, so the functions that run them turn sequential scans off
-- (SET enable_seqscan = off, also for the triggers they fire).
--

-- The Instagram container id (or another platform's in-flight handle),
-- stored the moment it comes back, so a later attempt or a person can find
-- what an earlier attempt left on the platform.
ALTER TABLE caas.scheduled_posts
  ADD COLUMN remote_ref text CHECK (length(remote_ref) BETWEEN 1 AND 255);
COMMENT ON COLUMN caas.scheduled_posts.remote_ref IS
  'The platform''s handle for a publication in progress (Instagram media container id), stored by caas.dispatch_progress the moment it comes back and kept across attempts.';

-- caas.service_status()'s lateness histogram: posts published lately.
CREATE INDEX scheduled_posts_published_idx ON caas.scheduled_posts (published_at) WHERE state = 'published';

-- ------------------------------------------------------------ helpers --

-- API: Private
-- No SET clause, so that PostgreSQL inlines it (a claim calls it twice per
-- post): schema-qualified calls instead.
CREATE FUNCTION caas._b64(data bytea)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
AS $$
  SELECT pg_catalog.translate(pg_catalog.encode(data, 'base64'), E'\n', '')
$$;
COMMENT ON FUNCTION caas._b64(bytea) IS
  'Private: standard base64 on one line (encode() breaks lines every 76 characters); NULL for NULL.';

-- API: Private
CREATE FUNCTION caas._dispatch_check_lease(lease_seconds integer)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  IF lease_seconds IS NULL OR lease_seconds NOT BETWEEN 1 AND 86400 THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = CASE WHEN lease_seconds IS NULL THEN 'a lease length is required'
                     ELSE format('lease of %s seconds is out of range', lease_seconds) END,
      HINT = 'Lease for 1 to 86400 seconds.';
  END IF;
END;
$$;
COMMENT ON FUNCTION caas._dispatch_check_lease(integer) IS
  'Private: 22023 unless a lease length is 1 to 86400 seconds.';

-- API: Private
CREATE FUNCTION caas._dispatch_lease_held(p caas.scheduled_posts, dispatcher text, attempt integer)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  IF p.state <> 'publishing' OR p.lease_owner IS DISTINCT FROM dispatcher
     OR NOT EXISTS (SELECT 1 FROM caas.post_attempts t
                     WHERE t.org_id = p.org_id AND t.post_id = p.post_id AND t.attempt = _dispatch_lease_held.attempt
                       AND t.dispatcher = _dispatch_lease_held.dispatcher AND t.finished_at IS NULL) THEN
    RAISE EXCEPTION USING ERRCODE = 'CA002',
      MESSAGE = format('post is not leased to %s for attempt %s', dispatcher, attempt),
      DETAIL = format('The post is %s.', p.state),
      HINT = 'The lease may have expired and the sweeper marked the post unconfirmed.';
  END IF;
END;
$$;
COMMENT ON FUNCTION caas._dispatch_lease_held(caas.scheduled_posts, text, integer) IS
  'Private: CA002 unless the post is publishing, leased to this dispatcher, with this attempt still open.';

-- --------------------------------------------------------------- claim --

CREATE FUNCTION caas.dispatch_claim(dispatcher text, batch integer, lease_seconds integer,
                                    ahead_ms integer DEFAULT 0)
RETURNS SETOF jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
SET enable_seqscan = off
AS $$
DECLARE
  due tid[];
BEGIN
  IF batch IS NULL OR batch NOT BETWEEN 1 AND 10000 THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = CASE WHEN batch IS NULL THEN 'a batch size is required'
                     ELSE format('batch of %s posts is out of range', batch) END,
      HINT = 'Claim 1 to 10000 posts at a time.';
  END IF;
  PERFORM caas._dispatch_check_lease(lease_seconds);
  IF ahead_ms IS NULL OR ahead_ms NOT BETWEEN 0 AND 1000 THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('claiming %s ms ahead is out of range', coalesce(ahead_ms::text, 'NULL')),
      HINT = 'Claim 0 to 1000 ms ahead of the due instant.';
  END IF;
  -- Two statements.  The first locks the due posts and is planned at every
  -- call (EXECUTE) with the actual batch size: with LIMIT as an unknown
  -- parameter the planner expects a tenth of the table and may sort a
  -- sequential scan.  The second leases what the first locked, through the
  -- rows' ctids (a TID scan per post, whatever the table's size), and is
  -- planned once per session: planning it at every claim took a fifth of
  -- the claim's time.  A locked row cannot change, so its ctid still names
  -- it, and the second statement's snapshot, taken after the lock, sees it.
  EXECUTE $q$SELECT array_agg(d.ctid) FROM (
    SELECT s.ctid FROM caas.scheduled_posts s
     WHERE s.state = 'scheduled' AND s.run_at <= now() + make_interval(secs => $2)
     ORDER BY s.run_at
     LIMIT $1
       FOR UPDATE SKIP LOCKED) d$q$
    INTO due USING batch, ahead_ms / 1000.0;
  IF due IS NULL THEN
    RETURN;
  END IF;
  RETURN QUERY
  WITH claimed AS (
    UPDATE caas.scheduled_posts p
       SET state = 'publishing', lease_owner = dispatch_claim.dispatcher,
           lease_expires_at = now() + make_interval(secs => dispatch_claim.lease_seconds),
           attempts = p.attempts + 1
     WHERE p.ctid = ANY (due) AND p.state = 'scheduled'
    RETURNING p.*
  ), started AS (
    INSERT INTO caas.post_attempts (org_id, post_id, attempt, dispatcher)
    SELECT c.org_id, c.post_id,
           coalesce((SELECT max(t.attempt) FROM caas.post_attempts t
                      WHERE t.org_id = c.org_id AND t.post_id = c.post_id), 0) + 1,
           dispatch_claim.dispatcher
      FROM claimed c
    RETURNING org_id, post_id, attempt
  )
  SELECT jsonb_build_object(
           'org_id', c.org_id, 'post_id', c.post_id, 'content_id', c.content_id,
           'content_version', c.content_version, 'account_id', c.account_id,
           'platform', a.platform, 'external_id', a.external_id, 'handle', a.handle,
           'account_status', a.status, 'token_key_id', a.token_key_id,
           'access_token_enc', caas._b64(a.access_token_enc), 'refresh_token_enc', caas._b64(a.refresh_token_enc),
           'token_expires_at', a.token_expires_at,
           'text', v.body, 'media_urls', to_jsonb(ct.media_urls), 'remote_ref', c.remote_ref,
           'attempt', st.attempt, 'attempts', c.attempts, 'max_attempts', c.max_attempts,
           'due_at', c.due_at, 'lease_expires_at', c.lease_expires_at,
           'start_in_us', greatest(0, ceil(extract(epoch FROM c.run_at - clock_timestamp()) * 1000000))::bigint)
    FROM claimed c
    JOIN started st ON st.org_id = c.org_id AND st.post_id = c.post_id
    JOIN caas.social_accounts a ON a.org_id = c.org_id AND a.account_id = c.account_id
    JOIN caas.content ct ON ct.org_id = c.org_id AND ct.content_id = c.content_id
    JOIN caas.content_versions v
      ON v.org_id = c.org_id AND v.content_id = c.content_id AND v.version = c.content_version
   ORDER BY c.run_at;
END;
$$;
COMMENT ON FUNCTION caas.dispatch_claim(text, integer, integer, integer) IS
  'Dispatcher: leases up to batch (1..10000) due posts (state scheduled, run_at passed or within ahead_ms (0..1000) of now, oldest first) for lease_seconds (1..86400), locked with FOR UPDATE SKIP LOCKED so that concurrent dispatchers never get the same post, and opens an attempt row for each. Returns per post: ids, platform, external_id, handle, account_status, token_key_id, the sealed access_token_enc and refresh_token_enc (base64), token_expires_at, the pinned version''s text, media_urls, remote_ref (an earlier attempt''s in-flight handle, or null), attempt (the number to pass to dispatch_record), attempts of this run, max_attempts, and start_in_us (how long until run_at, 0 when passed: a post claimed ahead is sent at its instant, the claim''s round trip off the critical path). Commit right after; call the platform with no transaction open.';

-- -------------------------------------------------------------- record --

-- API: Private
CREATE FUNCTION caas._dispatch_record(dispatcher text, org uuid, post uuid, attempt integer,
                                      outcome caas.attempt_outcome, http_status integer,
                                      error_message text, remote_id text,
                                      remote_url text, retry_at timestamptz)
RETURNS caas.scheduled_posts
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
SET enable_seqscan = off
AS $$
DECLARE
  p caas.scheduled_posts;
  next_state caas.post_state;
  err text := left(error_message, 2000);
BEGIN
  IF outcome IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'an outcome is required',
      HINT = 'Say published, retryable, needs_reauth, permanent or unknown.';
  END IF;
  SELECT * INTO p FROM caas.scheduled_posts s WHERE s.org_id = org AND s.post_id = post FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'post not found';
  END IF;
  PERFORM caas._dispatch_lease_held(p, dispatcher, attempt);
  IF outcome = 'published' AND remote_id IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a published outcome needs the remote id';
  END IF;

  UPDATE caas.post_attempts t
     SET finished_at = greatest(now(), t.started_at), outcome = _dispatch_record.outcome,
         http_status = _dispatch_record.http_status, error_message = err,
         remote_id = _dispatch_record.remote_id
   WHERE t.org_id = org AND t.post_id = post AND t.attempt = _dispatch_record.attempt;

  next_state := CASE outcome
    WHEN 'published' THEN 'published'
    WHEN 'retryable' THEN CASE WHEN p.attempts < p.max_attempts THEN 'scheduled' ELSE 'failed' END
    WHEN 'unknown' THEN 'unconfirmed'
    ELSE 'failed' END::caas.post_state;
  UPDATE caas.scheduled_posts s
     SET state = next_state, lease_owner = NULL, lease_expires_at = NULL,
         remote_id = CASE WHEN outcome = 'published' THEN _dispatch_record.remote_id ELSE s.remote_id END,
         remote_url = CASE WHEN outcome = 'published' THEN _dispatch_record.remote_url ELSE s.remote_url END,
         published_at = CASE WHEN outcome = 'published' THEN now() ELSE s.published_at END,
         last_error = CASE WHEN outcome = 'published' THEN NULL
                           WHEN next_state = 'failed' AND outcome = 'retryable'
                             THEN left(format('%s (gave up after %s attempts)', coalesce(err, 'retryable error'), p.attempts), 2000)
                           ELSE coalesce(err, outcome::text) END,
         run_at = CASE WHEN next_state = 'scheduled'
                       THEN greatest(coalesce(_dispatch_record.retry_at,
                                              now() + make_interval(secs => 60 * 2 ^ (p.attempts - 1))),
                                     s.due_at)
                       ELSE s.run_at END
   WHERE s.org_id = org AND s.post_id = post
  RETURNING * INTO p;

  IF next_state = 'scheduled' THEN
    PERFORM caas._post_wake(p.run_at);
  END IF;
  IF outcome = 'needs_reauth' THEN
    UPDATE caas.social_accounts a
       SET status = 'needs_reauth', last_error = coalesce(err, 'the platform refused the account''s token')
     WHERE a.org_id = org AND a.account_id = p.account_id AND a.status = 'connected';
  END IF;
  IF outcome = 'published' THEN
    PERFORM caas._content_mark_published(org, p.content_id);
  END IF;
  RETURN p;
END;
$$;
COMMENT ON FUNCTION caas._dispatch_record(text, uuid, uuid, integer, caas.attempt_outcome, integer, text, text, text, timestamptz) IS
  'Private: what caas.dispatch_record and caas.dispatch_record_batch do for one outcome; returns the post as it now is.';

CREATE FUNCTION caas.dispatch_record(dispatcher text, org uuid, post uuid, attempt integer,
                                     outcome caas.attempt_outcome, http_status integer DEFAULT NULL,
                                     error_message text DEFAULT NULL, remote_id text DEFAULT NULL,
                                     remote_url text DEFAULT NULL, retry_at timestamptz DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
BEGIN
  RETURN caas._post_json(caas._dispatch_record(dispatcher, org, post, attempt, outcome, http_status,
                                               error_message, remote_id, remote_url, retry_at));
END;
$$;
COMMENT ON FUNCTION caas.dispatch_record(text, uuid, uuid, integer, caas.attempt_outcome, integer, text, text, text, timestamptz) IS
  'Dispatcher: records the outcome of an attempt it holds the lease for (CA002 otherwise, P0002 for an unknown post) and moves the post: published (remote id required, stored with the URL; the content becomes published once all its live posts are), retryable (scheduled again at retry_at, default 60 s·2^(n-1), or failed when attempts are exhausted; a retry due within 60 s wakes the dispatchers), needs_reauth (failed, and the account marked needs_reauth), permanent (failed), unknown (unconfirmed: never retried automatically).';

-- API: Private
CREATE FUNCTION caas._dispatch_record_all(dispatcher text, outcomes jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
SET enable_seqscan = off
AS $$
DECLARE
  n_posts integer;
  n_attempts integer;
  results jsonb;
  orgs uuid[];
  contents uuid[];
  wakes timestamptz[];
  w timestamptz;
BEGIN
  -- The outcomes as rows; an element caas._dispatch_record would refuse
  -- before reading the database (not an object, a key missing, no outcome,
  -- published without a remote id) is left out, and a value that does not
  -- parse raises.  The post's row is locked and moved first, then its
  -- attempt closed (caas._dispatch_record too locks the post first); a post
  -- that is not publishing under this dispatcher's lease, or twice in the
  -- batch, is not updated, nor an attempt that is not this dispatcher's and
  -- open.  What each outcome does is caas._dispatch_record's, row by row.
  WITH input AS (
    SELECT a.n, a.e,
           (a.e ->> 'org_id')::uuid AS org_id, (a.e ->> 'post_id')::uuid AS post_id,
           (a.e ->> 'attempt')::integer AS attempt, (a.e ->> 'outcome')::caas.attempt_outcome AS outcome,
           (a.e ->> 'http_status')::integer AS http_status, left(a.e ->> 'error_message', 2000) AS err,
           a.e ->> 'remote_id' AS remote_id, a.e ->> 'remote_url' AS remote_url,
           (a.e ->> 'retry_at')::timestamptz AS retry_at
      FROM jsonb_array_elements(outcomes) WITH ORDINALITY AS a(e, n)
     WHERE jsonb_typeof(a.e) = 'object' AND a.e ?& ARRAY['org_id', 'post_id', 'attempt', 'outcome']
       AND a.e ->> 'outcome' IS NOT NULL
       AND (a.e ->> 'outcome' <> 'published' OR a.e ->> 'remote_id' IS NOT NULL)
  ), posts AS (
    UPDATE caas.scheduled_posts s
       SET state = CASE i.outcome
                     WHEN 'published' THEN 'published'
                     WHEN 'retryable' THEN CASE WHEN s.attempts < s.max_attempts THEN 'scheduled' ELSE 'failed' END
                     WHEN 'unknown' THEN 'unconfirmed'
                     ELSE 'failed' END::caas.post_state,
           lease_owner = NULL, lease_expires_at = NULL,
           remote_id = CASE WHEN i.outcome = 'published' THEN i.remote_id ELSE s.remote_id END,
           remote_url = CASE WHEN i.outcome = 'published' THEN i.remote_url ELSE s.remote_url END,
           published_at = CASE WHEN i.outcome = 'published' THEN now() ELSE s.published_at END,
           last_error = CASE WHEN i.outcome = 'published' THEN NULL
                             WHEN i.outcome = 'retryable' AND NOT s.attempts < s.max_attempts
                               THEN left(format('%s (gave up after %s attempts)', coalesce(i.err, 'retryable error'), s.attempts), 2000)
                             ELSE coalesce(i.err, i.outcome::text) END,
           run_at = CASE WHEN i.outcome = 'retryable' AND s.attempts < s.max_attempts
                         THEN greatest(coalesce(i.retry_at, now() + make_interval(secs => 60 * 2 ^ (s.attempts - 1))),
                                       s.due_at)
                         ELSE s.run_at END
      FROM input i
     WHERE s.org_id = i.org_id AND s.post_id = i.post_id
       -- Publishing: a post has a lease owner exactly while it is publishing
       -- (scheduled_posts_lease_matches_state).  Not spelt "state =
       -- 'publishing'", which lets the planner scan the partial index of
       -- publishing posts once per outcome when its statistics say there
       -- are none (a fresh table: 40,000 rows for a batch of 200).
       AND s.lease_owner = _dispatch_record_all.dispatcher
    RETURNING i.n, i.e, i.attempt, i.outcome, i.http_status, i.err, i.remote_id,
              s.org_id, s.post_id, s.content_id, s.account_id, s.state, s.run_at
  ), attempts AS (
    UPDATE caas.post_attempts t
       SET finished_at = greatest(now(), t.started_at), outcome = p.outcome,
           http_status = p.http_status, error_message = p.err, remote_id = p.remote_id
      FROM posts p
     WHERE t.org_id = p.org_id AND t.post_id = p.post_id AND t.attempt = p.attempt
       AND t.dispatcher = _dispatch_record_all.dispatcher AND t.finished_at IS NULL
    RETURNING t.post_id
  ), accounts AS (
    -- The first needs_reauth outcome of an account marks it, as in order.
    -- (Run to completion though nothing reads it, like every data-modifying
    -- WITH query.)
    UPDATE caas.social_accounts a
       SET status = 'needs_reauth', last_error = coalesce(r.err, 'the platform refused the account''s token')
      FROM (SELECT DISTINCT ON (p.org_id, p.account_id) p.org_id, p.account_id, p.err
              FROM posts p WHERE p.outcome = 'needs_reauth'
             ORDER BY p.org_id, p.account_id, p.n) r
     WHERE a.org_id = r.org_id AND a.account_id = r.account_id AND a.status = 'connected'
    RETURNING a.account_id
  )
  SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM attempts),
         (SELECT jsonb_agg(jsonb_build_object('post_id', p.e -> 'post_id', 'ok', true, 'state', p.state) ORDER BY p.n)
            FROM posts p),
         (SELECT array_agg(p.org_id) FROM posts p WHERE p.state = 'published'),
         (SELECT array_agg(p.content_id) FROM posts p WHERE p.state = 'published'),
         (SELECT array_agg(p.run_at ORDER BY p.n) FROM posts p WHERE p.state = 'scheduled')
    INTO n_posts, n_attempts, results, orgs, contents, wakes;
  IF n_posts <> jsonb_array_length(outcomes) OR n_attempts <> n_posts THEN
    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'not every outcome of the batch applies';
  END IF;

  -- As caas._content_mark_published, once the batch's posts have moved.
  UPDATE caas.content c SET status = 'published'
    FROM unnest(orgs, contents) AS x(org_id, content_id)
   WHERE c.org_id = x.org_id AND c.content_id = x.content_id AND c.status <> 'published'
     AND NOT EXISTS (SELECT 1 FROM caas.scheduled_posts s
                      WHERE s.org_id = c.org_id AND s.content_id = c.content_id
                        AND s.state NOT IN ('published', 'cancelled'));
  IF wakes IS NOT NULL THEN
    FOREACH w IN ARRAY wakes LOOP
      PERFORM caas._post_wake(w);
    END LOOP;
  END IF;
  RETURN coalesce(results, '[]');
END;
$$;
COMMENT ON FUNCTION caas._dispatch_record_all(text, jsonb) IS
  'Private: applies a whole batch of outcomes as caas._dispatch_record would one after the other, in a few statements; raises (leaving the caller to roll back and go outcome by outcome) unless every outcome applies.';

CREATE FUNCTION caas.dispatch_record_batch(dispatcher text, outcomes jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  item jsonb;
  p caas.scheduled_posts;
  results jsonb[] := '{}';
  code text;
  msg text;
BEGIN
  IF outcomes IS NULL OR jsonb_typeof(outcomes) <> 'array' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'outcomes must be a JSON array',
      HINT = 'Pass [{"org_id", "post_id", "attempt", "outcome", ...}, ...].';
  END IF;
  -- Each outcome is applied in its own subtransaction, so one refused
  -- outcome (a lease lost to the sweeper) leaves the others recorded.  A
  -- subtransaction that writes takes an xid, and past 64 of them a
  -- transaction's snapshot data overflows to pg_subtrans, which slows every
  -- other session's snapshots while it runs.  So the whole batch is first
  -- applied set-based in one subtransaction (caas._dispatch_record_all: a
  -- statement per table instead of a few per outcome), and only when an
  -- outcome does not apply is that rolled back and the batch applied one
  -- subtransaction per outcome: same result, one xid in the common case.
  BEGIN
    RETURN caas._dispatch_record_all(dispatcher, outcomes);
  EXCEPTION WHEN OTHERS THEN
    NULL;
  END;
  FOR item IN SELECT e FROM jsonb_array_elements(outcomes) WITH ORDINALITY AS a(e, n) ORDER BY n LOOP
    BEGIN
      p := caas._dispatch_record_item(dispatcher, item);
      results := results || jsonb_build_object('post_id', item -> 'post_id', 'ok', true, 'state', p.state);
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
      results := results || jsonb_build_object('post_id', item -> 'post_id', 'ok', false,
                                               'sqlstate', code, 'message', msg);
    END;
  END LOOP;
  RETURN to_jsonb(results);
END;
$$;
COMMENT ON FUNCTION caas.dispatch_record_batch(text, jsonb) IS
  'Dispatcher: records many outcomes in one round trip. outcomes is an array of {org_id, post_id, attempt, outcome, http_status?, error_message?, remote_id?, remote_url?, retry_at? (ISO 8601)}; each is applied exactly as caas.dispatch_record would apply it, one after the other, and a refused one leaves the others recorded (all at once when every outcome applies, else one subtransaction per outcome). Returns, in input order, [{post_id, ok: true, state} | {post_id, ok: false, sqlstate, message}]. 22023 when outcomes is not an array.';

-- API: Private
CREATE FUNCTION caas._dispatch_record_item(dispatcher text, item jsonb)
RETURNS caas.scheduled_posts
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  IF jsonb_typeof(item) IS DISTINCT FROM 'object'
     OR NOT item ?& ARRAY['org_id', 'post_id', 'attempt', 'outcome'] THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'an outcome needs org_id, post_id, attempt and outcome';
  END IF;
  RETURN caas._dispatch_record(dispatcher, (item ->> 'org_id')::uuid, (item ->> 'post_id')::uuid,
                               (item ->> 'attempt')::integer, (item ->> 'outcome')::caas.attempt_outcome,
                               (item ->> 'http_status')::integer, item ->> 'error_message',
                               item ->> 'remote_id', item ->> 'remote_url',
                               (item ->> 'retry_at')::timestamptz);
END;
$$;
COMMENT ON FUNCTION caas._dispatch_record_item(text, jsonb) IS
  'Private: one element of caas.dispatch_record_batch''s outcomes, recorded by caas._dispatch_record (22023 when a key is missing, 22P02/22007 when a value does not parse).';

-- ------------------------------------------------------------ progress --

CREATE FUNCTION caas.dispatch_progress(dispatcher text, org uuid, post uuid, attempt integer,
                                       remote_ref text, lease_seconds integer)
RETURNS void
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
SET enable_seqscan = off
AS $$
DECLARE
  p caas.scheduled_posts;
BEGIN
  IF remote_ref IS NULL OR length(remote_ref) NOT BETWEEN 1 AND 255 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a remote reference of 1 to 255 characters is required';
  END IF;
  PERFORM caas._dispatch_check_lease(lease_seconds);
  SELECT * INTO p FROM caas.scheduled_posts s WHERE s.org_id = org AND s.post_id = post FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'post not found';
  END IF;
  PERFORM caas._dispatch_lease_held(p, dispatcher, attempt);
  UPDATE caas.scheduled_posts s
     SET remote_ref = dispatch_progress.remote_ref,
         lease_expires_at = greatest(s.lease_expires_at, now() + make_interval(secs => lease_seconds))
   WHERE s.org_id = org AND s.post_id = post;
END;
$$;
COMMENT ON FUNCTION caas.dispatch_progress(text, uuid, uuid, integer, text, integer) IS
  'Dispatcher: stores the in-flight handle a platform returned (Instagram container id) on the post the moment it comes back, kept across attempts and returned by the next claim, and extends the lease to at least lease_seconds from now (never shortens it). CA002 unless the caller holds the lease for this attempt, P0002 for an unknown post, 22023 for an empty reference or a lease out of 1..86400.';

-- ------------------------------------------------------- sweep, timer --

CREATE FUNCTION caas.dispatch_sweep()
RETURNS integer
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  n integer;
BEGIN
  WITH expired AS (
    UPDATE caas.scheduled_posts p
       SET state = 'unconfirmed', lease_owner = NULL, lease_expires_at = NULL, last_error = 'lease expired'
     WHERE (p.org_id, p.post_id) IN (
             SELECT s.org_id, s.post_id FROM caas.scheduled_posts s
              WHERE s.state = 'publishing' AND s.lease_expires_at < now()
              FOR UPDATE SKIP LOCKED)
    RETURNING p.org_id, p.post_id
  ), closed AS (
    UPDATE caas.post_attempts t
       SET finished_at = greatest(now(), t.started_at), outcome = 'unknown', error_message = 'lease expired'
      FROM expired e
     WHERE t.org_id = e.org_id AND t.post_id = e.post_id AND t.finished_at IS NULL
    RETURNING 1
  )
  SELECT count(*) INTO n FROM expired;
  RETURN n;
END;
$$;
COMMENT ON FUNCTION caas.dispatch_sweep() IS
  'Dispatcher: posts whose lease expired while publishing become unconfirmed, their open attempt closed as unknown with "lease expired": the request may have been sent, so they are never retried automatically. Returns how many.';

CREATE FUNCTION caas.dispatch_next_due()
RETURNS timestamptz
LANGUAGE sql
STABLE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
  SELECT min(s.run_at) FROM caas.scheduled_posts s WHERE s.state = 'scheduled'
$$;
COMMENT ON FUNCTION caas.dispatch_next_due() IS
  'Dispatcher: the earliest run_at of a post waiting in state scheduled (NULL when none), for the dispatcher''s timer.';

-- ------------------------------------------------------------ grants --

REVOKE EXECUTE ON FUNCTION
  caas._b64(bytea), caas._dispatch_check_lease(integer),
  caas._dispatch_lease_held(caas.scheduled_posts, text, integer),
  caas._dispatch_record(text, uuid, uuid, integer, caas.attempt_outcome, integer, text, text, text, timestamptz),
  caas._dispatch_record_item(text, jsonb), caas._dispatch_record_all(text, jsonb),
  caas.dispatch_claim(text, integer, integer, integer),
  caas.dispatch_record(text, uuid, uuid, integer, caas.attempt_outcome, integer, text, text, text, timestamptz),
  caas.dispatch_record_batch(text, jsonb),
  caas.dispatch_progress(text, uuid, uuid, integer, text, integer),
  caas.dispatch_sweep(), caas.dispatch_next_due()
  FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
  caas.dispatch_claim(text, integer, integer, integer),
  caas.dispatch_record(text, uuid, uuid, integer, caas.attempt_outcome, integer, text, text, text, timestamptz),
  caas.dispatch_record_batch(text, jsonb),
  caas.dispatch_progress(text, uuid, uuid, integer, text, integer),
  caas.dispatch_sweep(), caas.dispatch_next_due()
  TO caas_dispatcher;
