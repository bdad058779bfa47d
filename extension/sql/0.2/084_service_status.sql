--
-- 084_service_status.sql — is publishing healthy: dispatcher heartbeats and
-- the queue, as aggregates anyone may read.
--
-- Each dispatcher (background worker or daemon) upserts its row in
-- caas.dispatchers every few seconds with caas.dispatch_heartbeat.
-- caas.service_status() sums up the heartbeats, the queue and the lateness
-- of recent publications for /metrics and /api/v1/health/: no tenant data,
-- so every caas role may call it.  Settings: caas.dispatcher_heartbeat_timeout_sec
-- (a heartbeat older than this is stale) and caas.lateness_window_minutes
-- (which publications the lateness histogram counts).
--

CREATE TABLE caas.dispatchers (
  name          text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 128),
  kind          text NOT NULL CHECK (kind IN ('worker', 'daemon')),
  host          text CHECK (length(host) BETWEEN 1 AND 255),
  pid           integer CHECK (pid > 0),
  started_at    timestamptz NOT NULL DEFAULT now(),
  heartbeat_at  timestamptz NOT NULL DEFAULT now(),
  in_flight     integer NOT NULL DEFAULT 0 CHECK (in_flight >= 0),
  stats         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(stats) = 'object')
);
ALTER TABLE caas.dispatchers ENABLE ROW LEVEL SECURITY;
ALTER TABLE caas.dispatchers FORCE ROW LEVEL SECURITY;
COMMENT ON TABLE caas.dispatchers IS
  'The dispatchers running now or lately, one row each, upserted by their heartbeat (caas.dispatch_heartbeat); a row silent for a day is removed. A catalogue, not tenant data; read through caas.service_status().';
COMMENT ON COLUMN caas.dispatchers.name IS 'Dispatcher name, as in lease_owner and post_attempts.dispatcher (configured, or host:pid).';
COMMENT ON COLUMN caas.dispatchers.kind IS 'worker (a PostgreSQL background worker) or daemon (caas-dispatcher).';
COMMENT ON COLUMN caas.dispatchers.host IS 'Address the dispatcher connects from; local for a Unix socket.';
COMMENT ON COLUMN caas.dispatchers.pid IS 'Its process id on that host.';
COMMENT ON COLUMN caas.dispatchers.started_at IS 'First heartbeat of this process (reset when the pid or kind changes).';
COMMENT ON COLUMN caas.dispatchers.heartbeat_at IS 'Last heartbeat.';
COMMENT ON COLUMN caas.dispatchers.in_flight IS 'Platform calls it had in flight at the last heartbeat.';
COMMENT ON COLUMN caas.dispatchers.stats IS 'Counters the dispatcher reports (published, retried, ...), as it chooses; no secrets.';

CREATE FUNCTION caas.dispatch_heartbeat(dispatcher text, kind text, pid integer, in_flight integer, stats jsonb)
RETURNS void
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
BEGIN
  IF kind IS NULL OR kind NOT IN ('worker', 'daemon') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('invalid dispatcher kind "%s"', kind),
      HINT = 'Say worker or daemon.';
  END IF;
  IF dispatcher IS NULL OR length(dispatcher) NOT BETWEEN 1 AND 128 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a dispatcher name of 1 to 128 characters is required';
  END IF;
  IF in_flight < 0 OR pid <= 0 OR jsonb_typeof(stats) <> 'object' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'invalid heartbeat',
      HINT = 'in_flight is a count, pid a process id and stats a JSON object (or NULL).';
  END IF;
  INSERT INTO caas.dispatchers AS d (name, kind, host, pid, in_flight, stats)
  VALUES (dispatcher, kind, coalesce(host(inet_client_addr()), 'local'), pid,
          coalesce(in_flight, 0), coalesce(stats, '{}'))
  ON CONFLICT (name) DO UPDATE
     SET kind = EXCLUDED.kind, host = EXCLUDED.host, pid = EXCLUDED.pid,
         started_at = CASE WHEN d.pid IS DISTINCT FROM EXCLUDED.pid OR d.kind <> EXCLUDED.kind
                           THEN now() ELSE d.started_at END,
         heartbeat_at = now(), in_flight = EXCLUDED.in_flight, stats = EXCLUDED.stats;
  DELETE FROM caas.dispatchers d WHERE d.heartbeat_at < now() - interval '1 day';
END;
$$;
COMMENT ON FUNCTION caas.dispatch_heartbeat(text, text, integer, integer, jsonb) IS
  'Dispatcher: records that it is alive (kind worker or daemon, its pid, calls in flight, its counters as a JSON object); call it every few seconds, well within caas.dispatcher_heartbeat_timeout_sec. Rows silent for a day are removed. 22023 for another kind or a malformed value.';

CREATE FUNCTION caas.service_status()
RETURNS jsonb
LANGUAGE plpgsql
STABLE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  timeout interval := make_interval(secs => current_setting('caas.dispatcher_heartbeat_timeout_sec')::integer);
  since timestamptz := now() - make_interval(mins => current_setting('caas.lateness_window_minutes')::integer);
  -- Upper bounds (seconds) of the lateness buckets, Prometheus style.
  bounds double precision[] := '{0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,5,10,30,60}';
  nb integer := cardinality(bounds);
  hb record;
  q record;
  per_bucket bigint[] := array_fill(0::bigint, ARRAY[cardinality(bounds) + 1]);
  r record;
  total bigint := 0;
  seconds double precision := 0;
  buckets jsonb := '[]';
  i integer;
BEGIN
  SELECT max(d.heartbeat_at) AS newest, count(*) FILTER (WHERE d.heartbeat_at >= now() - timeout) AS alive
    INTO hb FROM caas.dispatchers d;
  SELECT count(*) AS depth, min(s.run_at) AS oldest
    INTO q FROM caas.scheduled_posts s WHERE s.state = 'scheduled' AND s.run_at <= now();

  -- One pass over the window's publications: each lateness x falls in the
  -- first bucket whose bound is >= x.  width_bucket(-x, -bounds reversed)
  -- counts the bounds >= x, k, so that bucket is number nb + 1 - k
  -- (nb + 1 is +Inf).
  FOR r IN
    SELECT nb + 1 - width_bucket(-l.x, (SELECT array_agg(-b ORDER BY b DESC) FROM unnest(bounds) b)) AS bucket,
           count(*) AS n, sum(l.x) AS x
      FROM (SELECT extract(epoch FROM s.published_at - s.due_at)::double precision AS x
              FROM caas.scheduled_posts s
             WHERE s.state = 'published' AND s.published_at >= since) l
     GROUP BY 1
  LOOP
    per_bucket[r.bucket] := r.n;
    total := total + r.n;
    seconds := seconds + r.x;
  END LOOP;
  FOR i IN 1 .. nb + 1 LOOP
    IF i > 1 THEN
      per_bucket[i] := per_bucket[i] + per_bucket[i - 1];
    END IF;
    buckets := buckets || jsonb_build_array(jsonb_build_array(
                 CASE WHEN i <= nb THEN to_jsonb(bounds[i]) ELSE to_jsonb('+Inf'::text) END, per_bucket[i]));
  END LOOP;

  RETURN jsonb_build_object(
    'dispatcher', CASE WHEN hb.newest IS NULL THEN 'absent'
                       WHEN hb.newest < now() - timeout THEN 'stale'
                       ELSE 'ok' END,
    -- greatest() skips a NULL: an age is NULL when there is nothing to measure.
    'heartbeat_age_s', CASE WHEN hb.newest IS NOT NULL
                            THEN greatest(extract(epoch FROM now() - hb.newest)::double precision, 0) END,
    'dispatchers', hb.alive,
    'queue_depth', q.depth,
    'publishing', (SELECT count(*) FROM caas.scheduled_posts s WHERE s.state = 'publishing'),
    'oldest_due_age_s', CASE WHEN q.oldest IS NOT NULL
                             THEN greatest(extract(epoch FROM now() - q.oldest)::double precision, 0) END,
    'lateness', jsonb_build_object('buckets', buckets, 'sum', seconds, 'count', total));
END;
$$;
COMMENT ON FUNCTION caas.service_status() IS
  'Health of publishing, aggregates only (no tenant data): {"dispatcher": "ok"|"stale"|"absent" (newest heartbeat within caas.dispatcher_heartbeat_timeout_sec, older, none at all), "heartbeat_age_s", "dispatchers" (alive), "queue_depth" (posts due and waiting), "publishing", "oldest_due_age_s" (since the oldest waiting post''s run_at), "lateness": {"buckets": [[le_seconds, cumulative count], ..., ["+Inf", n]], "sum", "count"}} where lateness is published_at − due_at of the posts published in the last caas.lateness_window_minutes. Ages are null when there is nothing to measure.';


REVOKE EXECUTE ON FUNCTION
  caas.dispatch_heartbeat(text, text, integer, integer, jsonb), caas.service_status()
  FROM PUBLIC;

GRANT EXECUTE ON FUNCTION caas.dispatch_heartbeat(text, text, integer, integer, jsonb) TO caas_dispatcher;
GRANT EXECUTE ON FUNCTION caas.service_status() TO caas_anon, caas_user, caas_analyst, caas_dispatcher;
