--
-- tests/sql/service_status.sql — dispatcher heartbeats and the service
-- status (extension/sql/0.2/084_service_status.sql).
--
-- Covers: caas.service_status() answers exactly the documented keys, no
-- ids; without any heartbeat the dispatcher is "absent"; heartbeats (as
-- caas_dispatcher) make it "ok" with the number alive; once the newest is
-- older than caas.dispatcher_heartbeat_timeout_sec it is "stale" with its
-- age; a heartbeat upserts (started_at kept for the same process, reset
-- for a new pid) and removes rows silent for a day; a bad kind, count or
-- stats is 22023.  The queue: due and waiting posts (not future ones),
-- publishing posts and the age of the oldest due post.  The lateness
-- histogram of the posts published within caas.lateness_window_minutes
-- (one older is left out): cumulative Prometheus buckets with inclusive
-- upper bounds (0.5 s counts under 0.5), "+Inf", sum and count.  Counts
-- are compared with the answer before the test's rows, so rows other
-- suites left do not matter.  caas_anon, caas_user, caas_analyst and
-- caas_dispatcher may call service_status; only caas_dispatcher may send
-- heartbeats.
--
-- Fixed ids (00000000-0000-4000-8000-000000000XXX): 4c1 organisation, 4e1
-- workspace, 4d1 account, content and posts 401..413.
--

BEGIN;
SELECT plan(28);

CREATE TEMP TABLE base AS SELECT caas.service_status() AS s;
DELETE FROM caas.dispatchers;

-- ----------------------------------------------------------- the shape --

SET LOCAL ROLE caas_anon;
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(caas.service_status()) k),
  ARRAY['dispatcher', 'dispatchers', 'heartbeat_age_s', 'lateness', 'oldest_due_age_s', 'publishing', 'queue_depth'],
  'service_status answers the documented keys, as caas_anon');
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(caas.service_status() -> 'lateness') k),
  ARRAY['buckets', 'count', 'sum'], 'lateness is a histogram: buckets, sum and count');
SELECT is(caas.service_status() -> 'dispatcher', '"absent"', 'without any heartbeat the dispatcher is absent');
SELECT is((caas.service_status() -> 'heartbeat_age_s') || (caas.service_status() -> 'dispatchers'),
  '[null, 0]'::jsonb, 'with no heartbeat age and no dispatcher alive');
RESET ROLE;

-- --------------------------------------------------------- heartbeats --

SET LOCAL ROLE caas_dispatcher;
SELECT lives_ok($$ SELECT caas.dispatch_heartbeat('caas dispatcher 0', 'worker', 4242, 3, '{"published": 5}') $$,
  'a background worker sends a heartbeat');
SELECT lives_ok($$ SELECT caas.dispatch_heartbeat('host-b:99', 'daemon', 99, 0, NULL) $$,
  'a daemon sends one too');
SELECT throws_ok($$ SELECT caas.dispatch_heartbeat('x', 'thread', 1, 0, NULL) $$,
  '22023', 'invalid dispatcher kind "thread"', 'a kind other than worker or daemon is refused (22023)');
SELECT throws_ok($$ SELECT caas.dispatch_heartbeat('x', 'daemon', 1, -1, NULL) $$,
  '22023', 'invalid heartbeat', 'a negative in-flight count is refused (22023)');
SELECT throws_ok($$ SELECT caas.dispatch_heartbeat('x', 'daemon', 1, 0, '[1]') $$,
  '22023', 'invalid heartbeat', 'stats that are not an object are refused (22023)');
SELECT throws_ok($$ SELECT caas.dispatch_heartbeat(NULL, 'daemon', 1, 0, NULL) $$,
  '22023', 'a dispatcher name of 1 to 128 characters is required', 'a heartbeat needs a name (22023)');
SELECT is((caas.service_status() -> 'dispatcher') || (caas.service_status() -> 'dispatchers')
          || (caas.service_status() -> 'heartbeat_age_s'),
  '["ok", 2, 0]'::jsonb, 'after the heartbeats the dispatcher is ok, two alive, heartbeat age 0');
RESET ROLE;
SELECT results_eq($$ SELECT name, kind, host, pid, in_flight, stats FROM caas.dispatchers ORDER BY name $$,
  $$ VALUES ('caas dispatcher 0', 'worker', 'local', 4242, 3, '{"published": 5}'::jsonb),
            ('host-b:99', 'daemon', 'local', 99, 0, '{}'::jsonb) $$,
  'each dispatcher has its row: kind, host (local over the Unix socket), pid, in flight, stats');

UPDATE caas.dispatchers SET heartbeat_at = now() - interval '31 seconds', started_at = now() - interval '1 hour';
SET LOCAL ROLE caas_user;
SELECT is((caas.service_status() -> 'dispatcher') || (caas.service_status() -> 'dispatchers')
          || (caas.service_status() -> 'heartbeat_age_s'),
  '["stale", 0, 31]'::jsonb,
  'heartbeats older than caas.dispatcher_heartbeat_timeout_sec (30 s) make the dispatcher stale, as caas_user sees it');
RESET ROLE;

INSERT INTO caas.dispatchers (name, kind, heartbeat_at) VALUES ('gone:1', 'daemon', now() - interval '2 days');
SET LOCAL ROLE caas_dispatcher;
SELECT lives_ok($$ SELECT caas.dispatch_heartbeat('caas dispatcher 0', 'worker', 4242, 0, '{}') $$,
  'the worker sends its next heartbeat');
SELECT lives_ok($$ SELECT caas.dispatch_heartbeat('host-b:99', 'daemon', 100, 0, '{}') $$,
  'the daemon, restarted under the same name, sends one with a new pid');
RESET ROLE;
SELECT results_eq($$ SELECT name, pid, started_at = now() - interval '1 hour', heartbeat_at = now() FROM caas.dispatchers ORDER BY name $$,
  $$ VALUES ('caas dispatcher 0', 4242, true, true), ('host-b:99', 100, false, true) $$,
  'a heartbeat keeps started_at for the same process and resets it for a new one; the row silent for two days is gone');
SET LOCAL ROLE caas_analyst;
SELECT is((caas.service_status() -> 'dispatcher') || (caas.service_status() -> 'dispatchers'),
  '["ok", 2]'::jsonb, 'with fresh heartbeats the dispatcher is ok again, as caas_analyst sees it');
RESET ROLE;

-- -------------------------------------------------------------- queue --

INSERT INTO caas.organizations (org_id, name, slug) VALUES ('00000000-0000-4000-8000-0000000004c1', 'Status', 'service-status');
INSERT INTO caas.workspaces (org_id, workspace_id, name, slug)
VALUES ('00000000-0000-4000-8000-0000000004c1', '00000000-0000-4000-8000-0000000004e1', 'W', 'w');
INSERT INTO caas.social_accounts (org_id, account_id, platform, external_id, access_token_enc, token_key_id)
VALUES ('00000000-0000-4000-8000-0000000004c1', '00000000-0000-4000-8000-0000000004d1', 'sandbox', 'status',
        decode(repeat('ab', 29), 'hex'), 'k1');
INSERT INTO caas.content (org_id, content_id, workspace_id, body)
SELECT '00000000-0000-4000-8000-0000000004c1', ('00000000-0000-4000-8000-000000000' || n)::uuid,
       '00000000-0000-4000-8000-0000000004e1', 'status ' || n
  FROM generate_series(401, 413) AS n;
-- post N: state, due_at, run_at, published_at (NULL unless published).
CREATE FUNCTION pg_temp.post(n integer, state caas.post_state, due timestamptz, run timestamptz, published timestamptz)
RETURNS void
LANGUAGE sql
AS $$
  INSERT INTO caas.scheduled_posts (org_id, post_id, content_id, content_version, account_id, state, due_at, timezone,
                                    run_at, attempts, lease_owner, lease_expires_at, remote_id, published_at)
  VALUES ('00000000-0000-4000-8000-0000000004c1', ('00000000-0000-4000-8000-000000000' || n)::uuid,
          ('00000000-0000-4000-8000-000000000' || n)::uuid, 1, '00000000-0000-4000-8000-0000000004d1', state, due, 'UTC',
          run, CASE WHEN state IN ('publishing', 'published') THEN 1 ELSE 0 END,
          CASE WHEN state = 'publishing' THEN 'd1' END, CASE WHEN state = 'publishing' THEN now() + interval '1 minute' END,
          CASE WHEN state = 'published' THEN 'r-' || n END, published)
$$;
SELECT pg_temp.post(401, 'scheduled', now() - interval '30 seconds', now() - interval '10 seconds', NULL);  -- a retry, due since 10 s
SELECT pg_temp.post(402, 'scheduled', now() - interval '20 seconds', now() - interval '20 seconds', NULL);
SELECT pg_temp.post(403, 'scheduled', now() - interval '5 seconds', now() - interval '5 seconds', NULL);
SELECT pg_temp.post(404, 'scheduled', now() + interval '1 hour', now() + interval '1 hour', NULL);
SELECT pg_temp.post(405, 'publishing', now() - interval '1 second', now() - interval '1 second', NULL);
-- Published within the window, late by 3 ms, 20 ms, 0.5 s twice, 45 s, 120 s;
-- and one published before the window.
SELECT pg_temp.post(405 + n::integer, 'published', now() - interval '1 minute' - l, now() - interval '1 minute' - l, now() - interval '1 minute')
  FROM unnest(ARRAY[interval '0.003 s', '0.02 s', '0.5 s', '0.5 s', '45 s', '120 s']) WITH ORDINALITY AS t(l, n);
SELECT pg_temp.post(412, 'published', now() - interval '2 days', now() - interval '2 days',
                    now() - make_interval(mins => current_setting('caas.lateness_window_minutes')::integer + 5));

CREATE TEMP TABLE now_status AS SELECT caas.service_status() AS s;
CREATE TEMP VIEW delta AS SELECT (n.s ->> 'queue_depth')::bigint - (b.s ->> 'queue_depth')::bigint AS queue_depth,
                                 (n.s ->> 'publishing')::bigint - (b.s ->> 'publishing')::bigint AS publishing,
                                 (n.s -> 'lateness' ->> 'count')::bigint - (b.s -> 'lateness' ->> 'count')::bigint AS lateness_count,
                                 round(((n.s -> 'lateness' ->> 'sum')::numeric - (b.s -> 'lateness' ->> 'sum')::numeric), 6) AS lateness_sum,
                                 n.s AS now_s, b.s AS base_s
                            FROM now_status n, base b;

SELECT is((SELECT queue_depth FROM delta), 3::bigint, 'the three due posts are in the queue, not the future one');
SELECT is((SELECT publishing FROM delta), 1::bigint, 'the post being published is counted');
SELECT is((SELECT (now_s ->> 'oldest_due_age_s')::double precision FROM delta),
  greatest(20, (SELECT (s ->> 'oldest_due_age_s')::double precision FROM base)),
  'the oldest due post waits since its run_at, 20 s ago (a retry counts from its retry instant)');

-- --------------------------------------------------------------- lateness --

SELECT is((SELECT jsonb_agg(b -> 0) FROM jsonb_array_elements((SELECT now_s FROM delta) -> 'lateness' -> 'buckets') b),
  '[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, "+Inf"]'::jsonb,
  'the buckets are bounded at 5 ms … 60 s, then +Inf');
SELECT is((SELECT jsonb_agg((n -> 1)::bigint - (b -> 1)::bigint ORDER BY i)
             FROM delta,
                  jsonb_array_elements(now_s -> 'lateness' -> 'buckets') WITH ORDINALITY AS x(n, i)
             JOIN jsonb_array_elements(base_s -> 'lateness' -> 'buckets') WITH ORDINALITY AS y(b, j) ON i = j),
  '[1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 4, 5, 6]'::jsonb,
  'the counts are cumulative, an upper bound is inclusive (0.5 s counts under 0.5), and 120 s only under +Inf');
SELECT is((SELECT lateness_count FROM delta), 6::bigint,
  'the count is the six posts published within the window, not the one before');
SELECT is((SELECT lateness_sum FROM delta), 166.023, 'the sum is their lateness in seconds');
SELECT is((SELECT (now_s -> 'lateness' -> 'buckets' -> -1 ->> 1)::bigint FROM delta),
  (SELECT (now_s -> 'lateness' ->> 'count')::bigint FROM delta), 'the +Inf bucket holds the count');

-- ----------------------------------------------------------------- grants --

SELECT ok(has_function_privilege('caas_anon', 'caas.service_status()', 'EXECUTE')
          AND has_function_privilege('caas_user', 'caas.service_status()', 'EXECUTE')
          AND has_function_privilege('caas_analyst', 'caas.service_status()', 'EXECUTE')
          AND has_function_privilege('caas_dispatcher', 'caas.service_status()', 'EXECUTE'),
  'every caas role may read the service status');
SET LOCAL ROLE caas_user;
SELECT throws_ok($$ SELECT caas.dispatch_heartbeat('fake', 'daemon', 1, 0, NULL) $$, '42501', NULL,
  'caas_user cannot fake a heartbeat');
SELECT throws_ok($$ SELECT * FROM caas.dispatchers $$, '42501', NULL,
  'nor read the dispatchers table');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
