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
-- Fixed ids (00000000-0000-4000-8000-000000000XXX): 2c1/2c2 organisations,
-- 2e1 workspace, 2d1 account; 2f1..2f9 content and posts of 2c1.
--

BEGIN;
SELECT plan(21);

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

SELECT * FROM finish();
ROLLBACK;
