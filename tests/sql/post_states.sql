--
-- tests/sql/post_states.sql — the scheduled-post state machine
-- (extension/sql/0.2/076_post_states.sql: caas.post_transitions and the
-- check_transition trigger; the dispatcher's side in 078_dispatch.sql).
--
-- Covers: the catalogue holds exactly the agreed moves, with actors; every
-- cell of the state × state grid, as the superuser updating the state
-- directly (the trigger applies to everyone): a listed move succeeds, any
-- other raises CA002 "cannot move a post from <a> to <b>".  The diagonal
-- cell <s> → <s> is a change of run_at within state s (only scheduled may be
-- moved in time); an update touching neither state nor run_at/due_at is no
-- move and always passes.  caas_user and caas_dispatcher may read the
-- catalogue, not change it.  The trigger decides listed moves through
-- caas._post_move_listed, the catalogue compiled into an expression: it
-- agrees with the table on the whole grid, and follows the table when a
-- move is added or removed (as the superuser).
--
-- Then the dispatcher's side, as caas_dispatcher: the claim's due-post query
-- uses scheduled_posts_due_idx in order (and is the text dispatch_claim
-- runs); a claim leases the due posts oldest first with what the adapter
-- needs, and a second claimer gets nothing; dispatch_record (only by the
-- lease owner, once; published needs a remote id) for each outcome:
-- published (content published too), retryable twice then exhausted,
-- needs_reauth (account marked), unknown (unconfirmed); the sweeper turns an
-- expired lease into unconfirmed / unknown "lease expired" and a late record
-- is refused; a person's reschedule of a failed post restarts its attempts
-- while attempt numbers go on; dispatch_next_due; who may execute what.
-- Concurrent claimers: tests/integration/claim_race.t.
--
-- Fixed ids (00000000-0000-4000-8000-0000000000XX): 51 org, 52 workspace,
-- 53 account, 61..65 due posts, 0a1 owner; grid posts are numbered per cell.
--

BEGIN;
SELECT plan(82);

INSERT INTO caas.organizations (org_id, name, slug)
VALUES ('00000000-0000-4000-8000-000000000051', 'States', 'post-states');
INSERT INTO caas.workspaces (org_id, workspace_id, name, slug)
VALUES ('00000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000052', 'W', 'w');
INSERT INTO caas.social_accounts (org_id, account_id, platform, external_id, access_token_enc, token_key_id)
VALUES ('00000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000053', 'sandbox', 'grid',
        decode(repeat('ab', 29), 'hex'), 'k1');

-- One post per grid cell, inserted directly in its from-state (inserts are
-- not moves).
CREATE TEMP TABLE grid AS
SELECT f.s AS from_state, t.s AS to_state,
       row_number() OVER (ORDER BY f.n, t.n) AS cell,
       EXISTS (SELECT 1 FROM caas.post_transitions pt WHERE pt.from_state = f.s AND pt.to_state = t.s) AS allowed
  FROM unnest(enum_range(NULL::caas.post_state)) WITH ORDINALITY AS f(s, n),
       unnest(enum_range(NULL::caas.post_state)) WITH ORDINALITY AS t(s, n);
ALTER TABLE grid ADD COLUMN post_id uuid;
UPDATE grid SET post_id = ('00000000-0000-4000-8000-00000000' || lpad(to_hex(4096 + cell::integer), 4, '0'))::uuid;

INSERT INTO caas.content (org_id, content_id, workspace_id, body)
SELECT '00000000-0000-4000-8000-000000000051', post_id, '00000000-0000-4000-8000-000000000052', 'cell ' || cell
  FROM grid;
INSERT INTO caas.scheduled_posts (org_id, post_id, content_id, content_version, account_id, state,
                                  due_at, timezone, run_at, attempts, lease_owner, lease_expires_at,
                                  remote_id, published_at)
SELECT '00000000-0000-4000-8000-000000000051', post_id, post_id, 1, '00000000-0000-4000-8000-000000000053',
       from_state, now() + interval '1 hour', 'UTC', now() + interval '1 hour',
       CASE WHEN from_state = 'publishing' THEN 1 ELSE 0 END,
       CASE WHEN from_state = 'publishing' THEN 'grid-dispatcher' END,
       CASE WHEN from_state = 'publishing' THEN now() + interval '5 minutes' END,
       CASE WHEN from_state = 'published' THEN 'remote-1' END,
       CASE WHEN from_state = 'published' THEN now() END
  FROM grid;

SELECT set_eq(
  $$ SELECT from_state::text, to_state::text, actor FROM caas.post_transitions $$,
  $$ VALUES ('scheduled', 'publishing', 'dispatcher'), ('scheduled', 'cancelled', 'user'),
            ('scheduled', 'scheduled', 'user'), ('publishing', 'published', 'dispatcher'),
            ('publishing', 'failed', 'dispatcher'), ('publishing', 'unconfirmed', 'dispatcher'),
            ('publishing', 'scheduled', 'dispatcher'), ('unconfirmed', 'published', 'user'),
            ('unconfirmed', 'failed', 'user'), ('unconfirmed', 'scheduled', 'user'),
            ('unconfirmed', 'cancelled', 'user'), ('failed', 'scheduled', 'user'),
            ('cancelled', 'scheduled', 'user') $$,
  'the transition catalogue holds exactly the agreed 13 moves with their actors');
SELECT is((SELECT count(*)::integer FROM grid), 36, 'the grid covers all 6 × 6 state pairs');

-- Every cell: the move the grid names, with the columns the table's CHECKs
-- need for the target state (a lease exactly while publishing, a remote id
-- once published).  A forbidden move must fail in the trigger, before any
-- CHECK could.
SELECT CASE WHEN g.allowed
            THEN lives_ok(g.stmt, format('%s → %s is allowed', g.from_state, g.to_state))
            ELSE throws_ok(g.stmt, 'CA002', format('cannot move a post from %s to %s', g.from_state, g.to_state),
                           format('%s → %s is refused with CA002', g.from_state, g.to_state))
       END
  FROM (SELECT grid.*, format($f$
          UPDATE caas.scheduled_posts
             SET state = %1$L,
                 run_at = CASE WHEN %1$L = %2$L THEN run_at + interval '1 minute' ELSE run_at END,
                 lease_owner = CASE WHEN %1$L = 'publishing' THEN 'grid-dispatcher' END,
                 lease_expires_at = CASE WHEN %1$L = 'publishing' THEN now() + interval '5 minutes' END,
                 attempts = CASE WHEN %1$L = 'publishing' THEN 1 ELSE attempts END,
                 remote_id = CASE WHEN %1$L = 'published' THEN 'remote-1' ELSE remote_id END,
                 published_at = CASE WHEN %1$L = 'published' THEN now() ELSE published_at END
           WHERE org_id = '00000000-0000-4000-8000-000000000051' AND post_id = %3$L $f$,
          to_state, from_state, post_id) AS stmt
          FROM grid) g
 ORDER BY g.cell;

SELECT is((SELECT count(*)::integer FROM grid g JOIN caas.scheduled_posts p USING (post_id)
            WHERE p.state = g.to_state AND g.allowed),
  13, 'each allowed move left its post in the target state');

SELECT lives_ok($$
  UPDATE caas.scheduled_posts SET last_error = 'noted', created_by = NULL
   WHERE org_id = '00000000-0000-4000-8000-000000000051'
$$, 'an update that changes neither state nor timing is no move, in any state');

-- The compiled catalogue.
CREATE FUNCTION pg_temp.compiled_differs() RETURNS SETOF text LANGUAGE sql AS $f$
  SELECT f.s::text || ' -> ' || t.s::text
    FROM unnest(enum_range(NULL::caas.post_state)) AS f(s), unnest(enum_range(NULL::caas.post_state)) AS t(s)
   WHERE caas._post_move_listed(f.s, t.s)
         IS DISTINCT FROM EXISTS (SELECT 1 FROM caas.post_transitions pt WHERE pt.from_state = f.s AND pt.to_state = t.s)
$f$;
SELECT is_empty($$ SELECT * FROM pg_temp.compiled_differs() $$,
  'caas._post_move_listed lists exactly the catalogue''s moves');
SELECT ok(position('AND (NOT caas._post_move_listed(old.state, new.state))' IN
                   (SELECT pg_get_triggerdef(t.oid) FROM pg_catalog.pg_trigger t
                     WHERE t.tgrelid = 'caas.scheduled_posts'::regclass AND t.tgname = 'check_transition')) > 0,
  'the trigger runs only for moves it does not list');
INSERT INTO caas.post_transitions (from_state, to_state, actor, description)
VALUES ('published', 'cancelled', 'system', 'test only');
DELETE FROM caas.post_transitions WHERE from_state = 'scheduled' AND to_state = 'cancelled';
SELECT is_empty($$ SELECT * FROM pg_temp.compiled_differs() $$,
  'a move added to or removed from the catalogue is compiled in at once');
SELECT lives_ok(format($f$ UPDATE caas.scheduled_posts SET state = 'cancelled' WHERE post_id = %L $f$,
                       (SELECT post_id FROM grid WHERE from_state = 'published' AND to_state = 'cancelled')),
  'the added move is allowed');
SELECT throws_ok(format($f$ UPDATE caas.scheduled_posts SET state = 'cancelled' WHERE post_id = %L $f$,
                        (SELECT post_id FROM grid WHERE from_state = 'scheduled' AND to_state = 'failed')),
  'CA002', 'cannot move a post from scheduled to cancelled', 'the removed move is refused');
DELETE FROM caas.post_transitions WHERE from_state = 'published' AND to_state = 'cancelled';
INSERT INTO caas.post_transitions (from_state, to_state, actor, description)
VALUES ('scheduled', 'cancelled', 'user', 'a person cancels the post, or its account is disconnected');
SELECT is_empty($$ SELECT * FROM pg_temp.compiled_differs() $$,
  'and the catalogue restored is compiled back');

SET LOCAL ROLE caas_user;
SELECT is((SELECT count(*)::integer FROM caas.post_transitions), 13, 'caas_user can read the catalogue');
RESET ROLE;
SET LOCAL ROLE caas_dispatcher;
SELECT throws_ok($$ DELETE FROM caas.post_transitions $$, '42501', NULL,
  'caas_dispatcher reads the catalogue but cannot change it');
RESET ROLE;

-- ------------------------------------------- the dispatcher's lifecycle --
-- Posts 61..66 of content 61..66 on account 53 are due a minute ago.

INSERT INTO caas.content (org_id, content_id, workspace_id, body)
SELECT '00000000-0000-4000-8000-000000000051', ('00000000-0000-4000-8000-0000000000' || n)::uuid,
       '00000000-0000-4000-8000-000000000052', 'due post ' || n
  FROM generate_series(61, 65) AS n;
INSERT INTO caas.scheduled_posts (org_id, post_id, content_id, content_version, account_id, due_at, timezone, run_at)
SELECT '00000000-0000-4000-8000-000000000051', ('00000000-0000-4000-8000-0000000000' || n)::uuid,
       ('00000000-0000-4000-8000-0000000000' || n)::uuid, 1, '00000000-0000-4000-8000-000000000053',
       now() - interval '1 minute', 'UTC', now() - interval '1 minute' + (n - 60) * interval '1 second'
  FROM generate_series(61, 64) AS n;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE r record; s text := '';
BEGIN
  FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP s := s || r."QUERY PLAN" || E'\n'; END LOOP;
  RETURN s;
END $f$;
CREATE TEMP TABLE claims (n serial, j jsonb);
GRANT ALL ON claims, claims_n_seq TO caas_dispatcher;

-- As in schema_tables.sql: with sequential scans off the planner must still
-- answer the claim from the partial index, in order (the test tables are too
-- small for costs to mean anything, and ANALYZE here would leave statistics
-- behind for the suites that run after this one).
SET LOCAL enable_seqscan = off;
SELECT matches(pg_temp.plan_of($$SELECT s.ctid FROM caas.scheduled_posts s WHERE s.state = 'scheduled' AND s.run_at <= now() + make_interval(secs => 0.02) ORDER BY s.run_at LIMIT 10 FOR UPDATE SKIP LOCKED$$),
  'Index Scan using scheduled_posts_due_idx', 'the claim''s due-post query scans scheduled_posts_due_idx');
SELECT doesnt_match(pg_temp.plan_of($$SELECT s.ctid FROM caas.scheduled_posts s WHERE s.state = 'scheduled' AND s.run_at <= now() + make_interval(secs => 0.02) ORDER BY s.run_at LIMIT 10 FOR UPDATE SKIP LOCKED$$),
  'Sort', 'and takes its order from the index, without a sort');
RESET enable_seqscan;
SELECT ok(position($$SELECT s.ctid FROM caas.scheduled_posts s WHERE s.state = 'scheduled' AND s.run_at <= now() + make_interval(secs => $2) ORDER BY s.run_at LIMIT $1 FOR UPDATE SKIP LOCKED$$
                   IN regexp_replace(pg_get_functiondef('caas.dispatch_claim(text, integer, integer, integer)'::regprocedure), '\s+', ' ', 'g')) > 0,
  'that is the query caas.dispatch_claim runs');
-- The leased rows are updated through the ctids of the locked rows (a TID
-- scan), never by "WHERE (org_id, post_id) IN (subquery)", which plans as a
-- sequential scan of the whole table at scale (bench/run.sh measured 230 ms
-- per claim at 1M posts).
SELECT ok(position($$WHERE p.ctid = ANY (due) AND p.state = 'scheduled'$$
                   IN regexp_replace(pg_get_functiondef('caas.dispatch_claim(text, integer, integer, integer)'::regprocedure), '\s+', ' ', 'g')) > 0,
  'the claim updates the locked rows through their ctids');

SET LOCAL ROLE caas_user;
SELECT throws_ok($$ SELECT caas.dispatch_claim('me', 10, 60) $$, '42501', NULL, 'caas_user cannot claim posts');
RESET ROLE;

SET LOCAL ROLE caas_dispatcher;
INSERT INTO claims (j) SELECT caas.dispatch_claim('d1', 10, 60);
SELECT is((SELECT array_agg(j ->> 'post_id' ORDER BY n) FROM claims),
  ARRAY['00000000-0000-4000-8000-000000000061', '00000000-0000-4000-8000-000000000062',
        '00000000-0000-4000-8000-000000000063', '00000000-0000-4000-8000-000000000064'],
  'the dispatcher claims the 4 due posts, oldest run_at first, and nothing that is not due');
SELECT is((SELECT j - 'lease_expires_at' - 'due_at' FROM claims WHERE j ->> 'post_id' LIKE '%61'),
  jsonb_build_object('org_id', '00000000-0000-4000-8000-000000000051', 'post_id', '00000000-0000-4000-8000-000000000061',
    'content_id', '00000000-0000-4000-8000-000000000061', 'content_version', 1,
    'account_id', '00000000-0000-4000-8000-000000000053', 'platform', 'sandbox', 'external_id', 'grid',
    'handle', '', 'account_status', 'connected', 'token_key_id', 'k1',
    'access_token_enc', encode(decode(repeat('ab', 29), 'hex'), 'base64'), 'refresh_token_enc', NULL,
    'token_expires_at', NULL, 'text', 'due post 61', 'media_urls', '[]'::jsonb, 'remote_ref', NULL,
    'attempt', 1, 'attempts', 1, 'max_attempts', 3, 'start_in_us', 0),
  'a claim returns what the dispatcher needs to publish, with the sealed tokens and the attempt number');
SELECT is(caas.dispatch_claim('d2', 10, 60), NULL, 'a second claimer finds nothing left');
SELECT throws_ok($$ SELECT * FROM caas.scheduled_posts $$, '42501', NULL,
  'the dispatcher works through the functions only');
RESET ROLE;
SELECT is((SELECT array_agg(DISTINCT state::text || '/' || lease_owner) FROM caas.scheduled_posts
            WHERE post_id::text LIKE '%00000000006_'),
  ARRAY['publishing/d1'], 'the claimed posts are publishing, leased to d1');
SELECT is((SELECT count(*)::integer FROM caas.post_attempts
            WHERE org_id = '00000000-0000-4000-8000-000000000051' AND finished_at IS NULL),
  4, 'each claim opened an attempt');

SET LOCAL ROLE caas_dispatcher;
SELECT is(caas.dispatch_record('d1', '00000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000061', 1,
                               'published', 201, NULL, 'remote-61', 'https://sandbox.example/61', NULL) ->> 'state',
  'published', 'a published outcome publishes the post');
SELECT throws_ok($$ SELECT caas.dispatch_record('d1', '00000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000061', 1,
                        'published', 201, NULL, 'remote-61', NULL, NULL) $$,
  'CA002', 'post is not leased to d1 for attempt 1', 'an outcome cannot be recorded twice (CA002)');
SELECT throws_ok($$ SELECT caas.dispatch_record('d2', '00000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000062', 1,
                        'permanent', 400, 'bad', NULL, NULL, NULL) $$,
  'CA002', 'post is not leased to d2 for attempt 1', 'only the lease owner records an outcome (CA002)');
SELECT throws_ok($$ SELECT caas.dispatch_record('d1', '00000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000062', 1,
                        'published', 200, NULL, NULL, NULL, NULL) $$,
  '22023', 'a published outcome needs the remote id', 'a published outcome without a remote id is refused (22023)');

-- Post 62: retryable three times, then it fails.
SELECT is(caas.dispatch_record('d1', '00000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000062', 1,
                               'retryable', 503, 'busy', NULL, NULL, now()) ->> 'state',
  'scheduled', 'a retryable outcome puts the post back to scheduled');
SELECT is((SELECT (j ->> 'attempt') || '/' || (j ->> 'attempts')
             FROM caas.dispatch_claim('d1', 10, 60) j),
  '2/2', 'it is claimed again as attempt 2');
SELECT is(caas.dispatch_record('d1', '00000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000062', 2,
                               'retryable', 503, 'busy', NULL, NULL, now()) ->> 'state',
  'scheduled', 'attempt 2 of 3 is retried too');
SELECT is((SELECT j ->> 'attempt' FROM caas.dispatch_claim('d1', 10, 60) j), '3', 'and claimed as attempt 3');
SELECT is(caas.dispatch_record('d1', '00000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000062', 3,
                               'retryable', 503, 'busy', NULL, NULL, now()) ->> 'last_error',
  'busy (gave up after 3 attempts)', 'the third retryable outcome fails the post for good');
SELECT is(caas.dispatch_record('d1', '00000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000063', 1,
                               'needs_reauth', 401, 'token revoked', NULL, NULL, NULL) ->> 'state',
  'failed', 'a needs_reauth outcome fails the post');
SELECT is(caas.dispatch_record('d1', '00000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000064', 1,
                               'unknown', NULL, 'timeout after sending', NULL, NULL, NULL) ->> 'state',
  'unconfirmed', 'an unknown outcome leaves the post unconfirmed, never retried');
RESET ROLE;
SELECT is((SELECT status::text || ': ' || last_error FROM caas.social_accounts
            WHERE account_id = '00000000-0000-4000-8000-000000000053'),
  'needs_reauth: token revoked', 'and marks the account needs_reauth with the reason');
SELECT is((SELECT remote_id || ' ' || remote_url || ' ' || (published_at IS NOT NULL)
             FROM caas.scheduled_posts WHERE post_id = '00000000-0000-4000-8000-000000000061'),
  'remote-61 https://sandbox.example/61 true', 'the published post keeps its remote id, URL and time');
SELECT is((SELECT status::text FROM caas.content WHERE content_id = '00000000-0000-4000-8000-000000000061'),
  'published', 'content whose every post is published becomes published');
SELECT is((SELECT array_agg(attempt || ':' || outcome || ':' || coalesce(http_status::text, '-') ORDER BY attempt)
             FROM caas.post_attempts WHERE post_id = '00000000-0000-4000-8000-000000000062'),
  ARRAY['1:retryable:503', '2:retryable:503', '3:retryable:503'], 'every attempt of post 62 is recorded');

-- The sweeper: post 65's lease lapses.
UPDATE caas.social_accounts SET status = 'connected' WHERE account_id = '00000000-0000-4000-8000-000000000053';
INSERT INTO caas.scheduled_posts (org_id, post_id, content_id, content_version, account_id, due_at, timezone, run_at)
VALUES ('00000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000065', '00000000-0000-4000-8000-000000000065',
        1, '00000000-0000-4000-8000-000000000053', now() - interval '1 minute', 'UTC', now() - interval '1 minute');
SET LOCAL ROLE caas_dispatcher;
SELECT is((SELECT count(*)::integer FROM caas.dispatch_claim('d3', 10, 30)), 1, 'd3 claims post 65');
RESET ROLE;
UPDATE caas.scheduled_posts SET lease_expires_at = now() - interval '1 second'
 WHERE post_id = '00000000-0000-4000-8000-000000000065';
SET LOCAL ROLE caas_dispatcher;
SELECT is(caas.dispatch_sweep(), 1, 'the sweeper finds one expired lease');
SELECT is(caas.dispatch_sweep(), 0, 'and nothing the second time');
SELECT throws_ok($$ SELECT caas.dispatch_record('d3', '00000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000065', 1,
                        'published', 201, NULL, 'late', NULL, NULL) $$,
  'CA002', 'post is not leased to d3 for attempt 1', 'a record after the sweep is refused (CA002)');
RESET ROLE;
SELECT is((SELECT p.state::text || '/' || p.last_error || '/' || a.outcome || '/' || a.error_message
             FROM caas.scheduled_posts p JOIN caas.post_attempts a USING (org_id, post_id)
            WHERE p.post_id = '00000000-0000-4000-8000-000000000065'),
  'unconfirmed/lease expired/unknown/lease expired', 'the swept post is unconfirmed and its attempt unknown: lease expired');

-- A person retries the failed post 62: a new run, attempt numbers go on.
INSERT INTO caas.users (user_id, email, password_hash)
VALUES ('00000000-0000-4000-8000-0000000000a1', 'states@example.com', '$argon2id$x');
INSERT INTO caas.organization_members (org_id, user_id, role)
VALUES ('00000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-0000000000a1', 'owner');
SET LOCAL ROLE caas_user;
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000a1"}', true);
SELECT is(caas.post_reschedule('00000000-0000-4000-8000-000000000051', '00000000-0000-4000-8000-000000000062',
                               to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), NULL) ->> 'attempts',
  '0', 'a person reschedules the failed post: its attempts start again');
RESET ROLE;
SELECT is(caas.dispatch_next_due(), (SELECT run_at FROM caas.scheduled_posts WHERE post_id = '00000000-0000-4000-8000-000000000062'),
  'dispatch_next_due is the earliest run_at waiting');
SELECT ok(has_function_privilege('caas_dispatcher', 'caas.dispatch_next_due()', 'execute')
          AND has_function_privilege('caas_dispatcher', 'caas.dispatch_sweep()', 'execute')
          AND NOT has_function_privilege('caas_user', 'caas.dispatch_next_due()', 'execute')
          AND NOT has_function_privilege('caas_user', 'caas.dispatch_record(text, uuid, uuid, integer, caas.attempt_outcome, integer, text, text, text, timestamptz)', 'execute')
          AND NOT has_function_privilege('caas_dispatcher', 'caas.post_schedule(uuid, uuid, uuid, text, text)', 'execute'),
  'the dispatch functions are for caas_dispatcher only, and the user functions not for it');
SET LOCAL ROLE caas_dispatcher;
SELECT is((SELECT (j ->> 'attempt') || '/' || (j ->> 'attempts') FROM caas.dispatch_claim('d1', 10, 60) j),
  '4/1', 'its next claim is attempt 4 of the post, the first of the new run');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
