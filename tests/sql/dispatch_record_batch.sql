--
-- tests/sql/dispatch_record_batch.sql — many outcomes in one round trip
-- (extension/sql/0.2/078_dispatch.sql: caas.dispatch_record_batch).
--
-- Covers, as caas_dispatcher: a batch of six outcomes of which three are
-- refused (an attempt not held: CA002, a malformed post id: 22P02, an
-- outcome without its "outcome" key: 22023) answers, in input order, ok
-- with the new state for the others and sqlstate + message for the refused
-- ones, and records exactly the accepted ones (published with remote id,
-- URL and content published; retryable scheduled at retry_at; unknown
-- unconfirmed), leaving the refused posts as they were; a batch of
-- accepted outcomes only is recorded whole; an outcome for another
-- organisation's id is P0002 inside the batch, and the post is untouched;
-- an empty array is an empty answer; outcomes that are not an array (an
-- object, NULL) are 22023; the results are the same as dispatch_record's
-- (same private function); a retry due within 60 s sets the transaction's
-- wake flag (caas_posts_due, once per transaction) while a retry due later
-- does not, nor does a refused outcome.  caas_user cannot call it
-- (dispatch_claim.sql checks the grants).
--
-- A batch whose outcomes all apply is recorded set-based
-- (caas._dispatch_record_all); it must leave exactly what dispatch_record
-- one outcome after another leaves: two organisations with the same ten
-- posts (published, both posts of a content item and one of two; retryable
-- with and without retry_at, and with its attempts exhausted; needs_reauth
-- twice on one account, the first message kept; permanent; unknown), one
-- recorded by a batch, the other outcome by outcome, agree on every post,
-- attempt, content item and account afterwards, and the answers agree.  The
-- same post twice in one batch: the first outcome is recorded, the second
-- refused (CA002), as one after the other.
--
-- Fixed ids (00000000-0000-4000-8000-000000000XXX): 2c1/2c2 organisations,
-- 2e1 workspace, 2d1 account; 2f1..2f9 content and posts of 2c1; 3a0/3b0
-- the twin organisations (workspaces 3a1/3b1, accounts 3a2, 3a3/3b2, 3b3;
-- their content and posts from md5), 3c1 content and post of 2c1.
--

BEGIN;
SELECT plan(37);

INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000002c1', 'Batches', 'dispatch-batches'),
  ('00000000-0000-4000-8000-0000000002c2', 'Other', 'dispatch-batches-other');
INSERT INTO caas.workspaces (org_id, workspace_id, name, slug)
VALUES ('00000000-0000-4000-8000-0000000002c1', '00000000-0000-4000-8000-0000000002e1', 'W', 'w');
INSERT INTO caas.social_accounts (org_id, account_id, platform, external_id, access_token_enc, token_key_id)
VALUES ('00000000-0000-4000-8000-0000000002c1', '00000000-0000-4000-8000-0000000002d1', 'sandbox', 'batch',
        decode(repeat('ab', 29), 'hex'), 'k1');
INSERT INTO caas.content (org_id, content_id, workspace_id, body)
SELECT '00000000-0000-4000-8000-0000000002c1', ('00000000-0000-4000-8000-0000000002f' || n)::uuid,
       '00000000-0000-4000-8000-0000000002e1', 'batch post ' || n
  FROM generate_series(1, 9) AS n;
INSERT INTO caas.scheduled_posts (org_id, post_id, content_id, content_version, account_id, due_at, timezone, run_at)
SELECT '00000000-0000-4000-8000-0000000002c1', content_id, content_id, 1, '00000000-0000-4000-8000-0000000002d1',
       now() - interval '1 minute', 'UTC', now() - interval '1 minute'
  FROM caas.content WHERE org_id = '00000000-0000-4000-8000-0000000002c1';

-- outcome N — the JSON of one outcome for post 2fN, attempt 1.
CREATE FUNCTION pg_temp.outcome(n integer, outcome text, extra jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE sql
AS $$
  SELECT jsonb_build_object('org_id', '00000000-0000-4000-8000-0000000002c1',
                            'post_id', '00000000-0000-4000-8000-0000000002f' || n,
                            'attempt', 1, 'outcome', outcome) || extra
$$;
GRANT EXECUTE ON FUNCTION pg_temp.outcome(integer, text, jsonb) TO caas_dispatcher;
CREATE TEMP TABLE answer (j jsonb);
GRANT ALL ON answer TO caas_dispatcher;

SET LOCAL ROLE caas_dispatcher;
SELECT is((SELECT count(*)::integer FROM caas.dispatch_claim('d1', 100, 60) j
            WHERE j ->> 'org_id' = '00000000-0000-4000-8000-0000000002c1'),
  9, 'd1 claims the nine due posts');

-- ------------------------------------------------- a batch with refusals --

SELECT set_config('caas_tx.notified', '', true);
INSERT INTO answer SELECT caas.dispatch_record_batch('d1', jsonb_build_array(
  pg_temp.outcome(1, 'published', '{"http_status": 201, "remote_id": "r-1", "remote_url": "https://sandbox.example/r-1"}'),
  pg_temp.outcome(2, 'retryable', jsonb_build_object('http_status', 503, 'error_message', 'busy',
                                                     'retry_at', to_char(now() + interval '10 seconds', 'YYYY-MM-DD"T"HH24:MI:SS.USOF'))),
  pg_temp.outcome(3, 'published', '{"remote_id": "r-3", "attempt": 2}'),
  pg_temp.outcome(4, 'permanent', '{"post_id": "nope"}'),
  pg_temp.outcome(5, 'unknown') - 'outcome',
  pg_temp.outcome(6, 'unknown', '{"error_message": "timeout after sending"}')));

SELECT is((SELECT jsonb_path_query_array(j, '$[*].post_id') FROM answer),
  '["00000000-0000-4000-8000-0000000002f1", "00000000-0000-4000-8000-0000000002f2", "00000000-0000-4000-8000-0000000002f3",
    "nope", "00000000-0000-4000-8000-0000000002f5", "00000000-0000-4000-8000-0000000002f6"]'::jsonb,
  'the answer lists the six outcomes in input order, each with the post id given');
SELECT is((SELECT j -> 0 FROM answer),
  '{"post_id": "00000000-0000-4000-8000-0000000002f1", "ok": true, "state": "published"}'::jsonb,
  'a published outcome is ok: published');
SELECT is((SELECT j -> 1 FROM answer),
  '{"post_id": "00000000-0000-4000-8000-0000000002f2", "ok": true, "state": "scheduled"}'::jsonb,
  'a retryable outcome is ok: scheduled again');
SELECT is((SELECT j -> 2 FROM answer),
  '{"post_id": "00000000-0000-4000-8000-0000000002f3", "ok": false, "sqlstate": "CA002",
    "message": "post is not leased to d1 for attempt 2"}'::jsonb,
  'an outcome for an attempt not held is refused with CA002 and its message');
SELECT is((SELECT (j -> 3) - 'message' FROM answer),
  '{"post_id": "nope", "ok": false, "sqlstate": "22P02"}'::jsonb,
  'a malformed post id is refused with 22P02');
SELECT is((SELECT j -> 4 FROM answer),
  '{"post_id": "00000000-0000-4000-8000-0000000002f5", "ok": false, "sqlstate": "22023",
    "message": "an outcome needs org_id, post_id, attempt and outcome"}'::jsonb,
  'an outcome without its outcome key is refused with 22023');
SELECT is((SELECT j -> 5 FROM answer),
  '{"post_id": "00000000-0000-4000-8000-0000000002f6", "ok": true, "state": "unconfirmed"}'::jsonb,
  'an unknown outcome is ok: unconfirmed');
SELECT is(current_setting('caas_tx.notified', true), pg_current_xact_id()::text,
  'the retry due in 10 s woke the dispatchers (the transaction''s notified flag is set)');
RESET ROLE;

SELECT results_eq($$
  SELECT right(p.post_id::text, 3), p.state::text, p.lease_owner, a.outcome::text, a.http_status,
         coalesce(p.remote_id, '') || coalesce(' ' || p.remote_url, '')
    FROM caas.scheduled_posts p
    JOIN caas.post_attempts a ON a.org_id = p.org_id AND a.post_id = p.post_id AND a.attempt = 1
   WHERE p.org_id = '00000000-0000-4000-8000-0000000002c1' AND right(p.post_id::text, 1) IN ('1', '2', '3', '5', '6')
   ORDER BY p.post_id $$,
  $$ VALUES ('2f1', 'published', NULL::text, 'published', 201, 'r-1 https://sandbox.example/r-1'),
            ('2f2', 'scheduled', NULL, 'retryable', 503, ''),
            ('2f3', 'publishing', 'd1', NULL, NULL, ''),
            ('2f5', 'publishing', 'd1', NULL, NULL, ''),
            ('2f6', 'unconfirmed', NULL, 'unknown', NULL, '') $$,
  'the accepted outcomes are recorded, the refused posts are still publishing with their attempt open');
SELECT is((SELECT run_at = now() + interval '10 seconds' FROM caas.scheduled_posts
            WHERE post_id = '00000000-0000-4000-8000-0000000002f2'),
  true, 'the retried post runs again at the retry_at given');
SELECT is((SELECT status::text FROM caas.content WHERE content_id = '00000000-0000-4000-8000-0000000002f1'),
  'published', 'the published post''s content is published');

-- ------------------------------------------------ a batch that all passes --

SELECT set_config('caas_tx.notified', '', true);
SET LOCAL ROLE caas_dispatcher;
SELECT is(caas.dispatch_record_batch('d1', jsonb_build_array(
            pg_temp.outcome(3, 'published', '{"remote_id": "r-3"}'),
            pg_temp.outcome(5, 'retryable', jsonb_build_object('retry_at', to_char(now() + interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SSOF'))),
            pg_temp.outcome(7, 'permanent', '{"http_status": 400, "error_message": "text rejected"}'))),
  '[{"post_id": "00000000-0000-4000-8000-0000000002f3", "ok": true, "state": "published"},
    {"post_id": "00000000-0000-4000-8000-0000000002f5", "ok": true, "state": "scheduled"},
    {"post_id": "00000000-0000-4000-8000-0000000002f7", "ok": true, "state": "failed"}]'::jsonb,
  'a batch of accepted outcomes is recorded whole');
SELECT is(current_setting('caas_tx.notified', true), '',
  'a retry due in an hour does not wake the dispatchers');
SELECT is(caas.dispatch_record_batch('d1', jsonb_build_array(
            pg_temp.outcome(8, 'published', '{"remote_id": "r-8", "org_id": "00000000-0000-4000-8000-0000000002c2"}'))),
  '[{"post_id": "00000000-0000-4000-8000-0000000002f8", "ok": false, "sqlstate": "P0002", "message": "post not found"}]'::jsonb,
  'a post id under another organisation''s id is not found (P0002)');
SELECT is(caas.dispatch_record_batch('d1', jsonb_build_array(
            pg_temp.outcome(8, 'retryable', jsonb_build_object('retry_at', to_char(now(), 'YYYY-MM-DD"T"HH24:MI:SS.USOF'),
                                                               'attempt', 7)))) -> 0 ->> 'sqlstate',
  'CA002', 'a refused retry due now is refused (CA002) ...');
SELECT is(current_setting('caas_tx.notified', true), '', '... and wakes nobody');
SELECT is(caas.dispatch_record_batch('d1', '[]'), '[]'::jsonb, 'an empty batch is an empty answer');
SELECT throws_ok($$ SELECT caas.dispatch_record_batch('d1', '{"post_id": "x"}') $$,
  '22023', 'outcomes must be a JSON array', 'outcomes that are an object are refused (22023)');
SELECT throws_ok($$ SELECT caas.dispatch_record_batch('d1', NULL) $$,
  '22023', 'outcomes must be a JSON array', 'no outcomes at all is refused (22023)');
RESET ROLE;

SELECT is((SELECT state::text || ' ' || attempts FROM caas.scheduled_posts WHERE post_id = '00000000-0000-4000-8000-0000000002f8'),
  'publishing 1', 'the post the refused outcomes named is still publishing, untouched');

-- ------------------------------- a batch does what one by one does --

INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000003a0', 'Twin A', 'dispatch-twin-a'),
  ('00000000-0000-4000-8000-0000000003b0', 'Twin B', 'dispatch-twin-b');
CREATE TEMP TABLE twin AS
SELECT side, org, ws, slot, acct,
       md5(side || 'content' || content_key)::uuid AS content_id, md5(side || 'post' || slot)::uuid AS post_id,
       max_attempts, outcome
  FROM (VALUES ('a', '00000000-0000-4000-8000-0000000003a0'::uuid, '00000000-0000-4000-8000-0000000003a1'::uuid),
               ('b', '00000000-0000-4000-8000-0000000003b0'::uuid, '00000000-0000-4000-8000-0000000003b1'::uuid)) AS o(side, org, ws),
       (VALUES (1, 2, 'x', 3, '{"outcome": "published", "http_status": 201, "remote_id": "r-1", "remote_url": "https://sandbox.example/r-1"}'::jsonb),
               (2, 3, 'x', 3, '{"outcome": "published", "remote_id": "r-2"}'),
               (3, 2, 'y', 3, '{"outcome": "published", "remote_id": "r-3"}'),
               (4, 3, 'y', 3, '{"outcome": "retryable", "http_status": 503, "error_message": "busy", "retry_at": "+10s"}'),
               (5, 2, 'z', 3, '{"outcome": "retryable", "http_status": 429}'),
               (6, 2, 'w', 1, '{"outcome": "retryable", "http_status": 500, "error_message": "oops"}'),
               (7, 3, 'v', 3, '{"outcome": "needs_reauth", "http_status": 401, "error_message": "token revoked"}'),
               (8, 3, 'u', 3, '{"outcome": "needs_reauth", "http_status": 401}'),
               (9, 2, 't', 3, '{"outcome": "permanent", "http_status": 400, "error_message": "too long"}'),
               (10, 2, 's', 3, '{"outcome": "unknown"}')) AS p(slot, acct_no, content_key, max_attempts, outcome),
       LATERAL (SELECT ('00000000-0000-4000-8000-0000000003' || side || acct_no)::uuid AS acct) a;
INSERT INTO caas.workspaces (org_id, workspace_id, name, slug) SELECT DISTINCT org, ws, 'W', 'w' FROM twin;
INSERT INTO caas.social_accounts (org_id, account_id, platform, external_id, access_token_enc, token_key_id)
SELECT DISTINCT org, acct, 'sandbox', 'twin-' || acct, decode(repeat('ab', 29), 'hex'), 'k1' FROM twin;
INSERT INTO caas.content (org_id, content_id, workspace_id, body)
SELECT DISTINCT org, content_id, ws, 'twin ' || content_id FROM twin;
INSERT INTO caas.scheduled_posts (org_id, post_id, content_id, content_version, account_id, due_at, timezone, run_at, max_attempts)
SELECT org, post_id, content_id, 1, acct, now() - interval '1 minute', 'UTC', now() - interval '1 minute', max_attempts FROM twin;
CREATE TEMP TABLE twin_claims (j jsonb);
CREATE TEMP TABLE twin_answers (side text, slot integer, state text);
GRANT ALL ON twin, twin_claims, twin_answers TO caas_dispatcher;

-- twin_outcome SIDE SLOT — the outcome of the slot's post as the dispatcher sends it.
CREATE FUNCTION pg_temp.twin_outcome(side_ text, slot_ integer)
RETURNS jsonb
LANGUAGE sql
AS $$
  SELECT (t.outcome - 'retry_at')
         || jsonb_build_object('org_id', t.org, 'post_id', t.post_id, 'attempt', (c.j ->> 'attempt')::integer)
         || CASE WHEN t.outcome ? 'retry_at'
                 THEN jsonb_build_object('retry_at', to_char(now() + interval '10 seconds', 'YYYY-MM-DD"T"HH24:MI:SS.USOF'))
                 ELSE '{}' END
    FROM twin t JOIN twin_claims c ON (c.j ->> 'post_id')::uuid = t.post_id
   WHERE t.side = side_ AND t.slot = slot_
$$;
GRANT EXECUTE ON FUNCTION pg_temp.twin_outcome(text, integer) TO caas_dispatcher;

SET LOCAL ROLE caas_dispatcher;
INSERT INTO twin_claims SELECT caas.dispatch_claim('d3', 100, 60);
SELECT is((SELECT count(*)::integer FROM twin_claims), 20, 'd3 claims the twenty twin posts');
SELECT set_config('caas_tx.notified', '', true);
INSERT INTO twin_answers
SELECT 'a', n::integer, e ->> 'state'
  FROM jsonb_array_elements(caas.dispatch_record_batch('d3',
         (SELECT jsonb_agg(pg_temp.twin_outcome('a', slot) ORDER BY slot) FROM twin WHERE side = 'a')))
       WITH ORDINALITY AS r(e, n);
SELECT is(current_setting('caas_tx.notified', true), pg_current_xact_id()::text,
  'the batch''s retry due in 10 s woke the dispatchers');
SELECT set_config('caas_tx.notified', '', true);
INSERT INTO twin_answers
SELECT 'b', slot, caas.dispatch_record('d3', o.org, o.post, o.attempt, o.outcome, o.http_status, o.error_message,
                                       o.remote_id, o.remote_url, o.retry_at) ->> 'state'
  FROM (SELECT t.slot, x.*
          FROM twin t, jsonb_to_record(pg_temp.twin_outcome('b', t.slot))
               AS x(org_id uuid, post_id uuid, attempt integer, outcome caas.attempt_outcome, http_status integer,
                    error_message text, remote_id text, remote_url text, retry_at timestamptz)
         WHERE t.side = 'b' ORDER BY t.slot) AS o(slot, org, post, attempt, outcome, http_status, error_message,
                                                  remote_id, remote_url, retry_at);
SELECT is(current_setting('caas_tx.notified', true), pg_current_xact_id()::text,
  'as did dispatch_record''s');
RESET ROLE;

SELECT results_eq($$ SELECT slot, state FROM twin_answers WHERE side = 'a' ORDER BY slot $$,
                  $$ SELECT slot, state FROM twin_answers WHERE side = 'b' ORDER BY slot $$,
  'the batch answers the states dispatch_record answers');
SELECT is((SELECT string_agg(state, ' ' ORDER BY slot) FROM twin_answers WHERE side = 'a'),
  'published published published scheduled scheduled failed failed failed failed unconfirmed',
  'and they are the expected ones');
CREATE FUNCTION pg_temp.twin_posts(side_ text)
RETURNS TABLE (slot integer, state text, run_at timestamptz, attempts integer, lease text, remote text,
               published_at timestamptz, last_error text, updated_at timestamptz)
LANGUAGE sql
AS $$
  SELECT t.slot, p.state::text, p.run_at, p.attempts, p.lease_owner || p.lease_expires_at,
         p.remote_id || ' ' || coalesce(p.remote_url, '-'), p.published_at, p.last_error, p.updated_at
    FROM twin t JOIN caas.scheduled_posts p ON p.org_id = t.org AND p.post_id = t.post_id
   WHERE t.side = side_ ORDER BY t.slot
$$;
SELECT results_eq($$ SELECT * FROM pg_temp.twin_posts('a') $$, $$ SELECT * FROM pg_temp.twin_posts('b') $$,
  'every post is left as dispatch_record leaves it: state, run_at, attempts, lease, remote id and URL, published_at, last_error');
SELECT results_eq($$ SELECT last_error FROM pg_temp.twin_posts('a') WHERE slot IN (5, 6, 7, 8) ORDER BY slot $$,
  $$ VALUES ('retryable'), ('oops (gave up after 1 attempts)'), ('token revoked'), ('needs_reauth') $$,
  'retried without a message, given up, and the re-authorisations say why');
SELECT is((SELECT run_at = now() + interval '60 seconds' FROM pg_temp.twin_posts('a') WHERE slot = 5),
  true, 'a retry without retry_at waits the first backoff, 60 s');
CREATE FUNCTION pg_temp.twin_attempts(side_ text)
RETURNS TABLE (slot integer, attempt integer, dispatcher text, finished_at timestamptz, outcome text,
               http_status integer, error_message text, remote_id text)
LANGUAGE sql
AS $$
  SELECT t.slot, a.attempt, a.dispatcher, a.finished_at, a.outcome::text, a.http_status, a.error_message, a.remote_id
    FROM twin t JOIN caas.post_attempts a ON a.org_id = t.org AND a.post_id = t.post_id
   WHERE t.side = side_ ORDER BY t.slot, a.attempt
$$;
SELECT results_eq($$ SELECT * FROM pg_temp.twin_attempts('a') $$, $$ SELECT * FROM pg_temp.twin_attempts('b') $$,
  'every attempt is closed as dispatch_record closes it');
SELECT results_eq(
  $$ SELECT DISTINCT t.slot, c.status::text FROM twin t JOIN caas.content c ON c.org_id = t.org AND c.content_id = t.content_id
      WHERE t.side = 'a' ORDER BY 1 $$,
  $$ SELECT DISTINCT t.slot, c.status::text FROM twin t JOIN caas.content c ON c.org_id = t.org AND c.content_id = t.content_id
      WHERE t.side = 'b' ORDER BY 1 $$,
  'the same content items are published');
SELECT is((SELECT array_agg(c.status::text = 'published' ORDER BY c.body) FROM caas.content c
            WHERE c.content_id IN (md5('acontentx')::uuid, md5('acontenty')::uuid)),
  (SELECT array_agg(x ORDER BY b) FROM (VALUES ('twin ' || md5('acontentx')::uuid, true),
                                               ('twin ' || md5('acontenty')::uuid, false)) AS v(b, x)),
  'the item both of whose posts were published is published, the one with a post retrying is not');
SELECT results_eq(
  $$ SELECT right(a.account_id::text, 1), a.status::text, a.last_error FROM caas.social_accounts a
      WHERE a.org_id = '00000000-0000-4000-8000-0000000003a0' ORDER BY 1 $$,
  $$ SELECT right(a.account_id::text, 1), a.status::text, a.last_error FROM caas.social_accounts a
      WHERE a.org_id = '00000000-0000-4000-8000-0000000003b0' ORDER BY 1 $$,
  'the same account is marked needs_reauth ...');
SELECT is((SELECT status::text || ': ' || last_error FROM caas.social_accounts
            WHERE account_id = '00000000-0000-4000-8000-0000000003a3'),
  'needs_reauth: token revoked', '... with the first needs_reauth outcome''s message');

-- The same post twice in one batch.
INSERT INTO caas.content (org_id, content_id, workspace_id, body)
VALUES ('00000000-0000-4000-8000-0000000002c1', '00000000-0000-4000-8000-0000000003c1', '00000000-0000-4000-8000-0000000002e1', 'twice');
INSERT INTO caas.scheduled_posts (org_id, post_id, content_id, content_version, account_id, due_at, timezone, run_at)
VALUES ('00000000-0000-4000-8000-0000000002c1', '00000000-0000-4000-8000-0000000003c1', '00000000-0000-4000-8000-0000000003c1',
        1, '00000000-0000-4000-8000-0000000002d1', now() - interval '1 minute', 'UTC', now() - interval '1 minute');
SET LOCAL ROLE caas_dispatcher;
SELECT is((SELECT count(*)::integer FROM caas.dispatch_claim('d4', 10, 60)), 1, 'd4 claims the post');
SELECT is(caas.dispatch_record_batch('d4', jsonb_build_array(
            jsonb_build_object('org_id', '00000000-0000-4000-8000-0000000002c1', 'post_id', '00000000-0000-4000-8000-0000000003c1',
                               'attempt', 1, 'outcome', 'published', 'remote_id', 'first'),
            jsonb_build_object('org_id', '00000000-0000-4000-8000-0000000002c1', 'post_id', '00000000-0000-4000-8000-0000000003c1',
                               'attempt', 1, 'outcome', 'published', 'remote_id', 'second'))),
  '[{"post_id": "00000000-0000-4000-8000-0000000003c1", "ok": true, "state": "published"},
    {"post_id": "00000000-0000-4000-8000-0000000003c1", "ok": false, "sqlstate": "CA002",
     "message": "post is not leased to d4 for attempt 1"}]'::jsonb,
  'the same post twice in a batch: the first outcome is recorded, the second refused (CA002)');
RESET ROLE;
SELECT is((SELECT remote_id FROM caas.scheduled_posts WHERE post_id = '00000000-0000-4000-8000-0000000003c1'),
  'first', 'the post keeps the first outcome''s remote id');

SELECT * FROM finish();
ROLLBACK;
