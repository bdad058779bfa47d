--
-- tests/sql/api_content.sql — the content and version SQL API
-- (extension/sql/wip/075_api_content.sql), called as caas_user.
--
-- Covers: content_create/get/update/delete as member and admin, refused to
-- a viewer (42501) and invisible to a non-member (P0002) or across
-- organisations; unknown workspace, platform and patch keys; content_list
-- walks 45 items in pages of 20 (20 + 20 + 5, no duplicates, newest first,
-- ties broken by id), refuses a tampered cursor and page sizes 0 and 101,
-- filters by workspace, status and platform, and its statements scan
-- content_org_created_idx / content_workspace_created_idx (EXPLAIN of the
-- function's own query as a generic plan, and the transaction's index scan
-- counters around a real call); version_list/get/diff/restore; and
-- version_add_ai: a new current AI version with usage counted, refused over
-- the Free plan's 20 generations (CA001) and for text too long for X
-- (CA003), leaving no version and no usage behind.
--
-- Fixed ids (all 00000000-0000-4000-8000-0000000000XX):
--   a1 owner, a2 admin, a3 member, a4 viewer of b1 and owner of b3;
--   a5 owner of b2 (Free plan);  a6 member of nothing
--   b1 team org, b2 free org, b3 team org with 45 items (pagination)
--   c1, c2 workspaces of b1;  c3 of b2;  c4, c5 of b3
--   d1 content of b1, created through the API (pg_temp.d1());  d3 X content of b2
--

BEGIN;
SELECT plan(80);

-- --------------------------------------- setup, as the superuser (DBA) --

INSERT INTO caas.users (user_id, email, password_hash)
SELECT ('00000000-0000-4000-8000-0000000000a' || i)::uuid, 'content-' || i || '@example.com', '$argon2id$x'
  FROM generate_series(1, 6) AS i;
INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000000b1', 'Team org', 'content-team'),
  ('00000000-0000-4000-8000-0000000000b2', 'Free org', 'content-free'),
  ('00000000-0000-4000-8000-0000000000b3', 'Busy org', 'content-busy');
INSERT INTO caas.subscriptions (org_id, plan_id) VALUES
  ('00000000-0000-4000-8000-0000000000b1', 'team'),
  ('00000000-0000-4000-8000-0000000000b3', 'team');
INSERT INTO caas.organization_members (org_id, user_id, role) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a1', 'owner'),
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a2', 'admin'),
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a3', 'member'),
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a4', 'viewer'),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000a5', 'owner'),
  ('00000000-0000-4000-8000-0000000000b3', '00000000-0000-4000-8000-0000000000a4', 'owner');
INSERT INTO caas.workspaces (org_id, workspace_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c1', 'Main', 'main'),
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c2', 'Other', 'other'),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000c3', 'Main', 'main'),
  ('00000000-0000-4000-8000-0000000000b3', '00000000-0000-4000-8000-0000000000c4', 'Main', 'main'),
  ('00000000-0000-4000-8000-0000000000b3', '00000000-0000-4000-8000-0000000000c5', 'Other', 'other');
-- 45 items in b3: three per instant (the id breaks ties), 30 in c4 and 15
-- in c5, every 5th archived, every 3rd for X.
INSERT INTO caas.content (org_id, workspace_id, title, body, platform, status, created_at)
SELECT '00000000-0000-4000-8000-0000000000b3',
       CASE WHEN i % 3 = 0 THEN '00000000-0000-4000-8000-0000000000c5'::uuid
            ELSE '00000000-0000-4000-8000-0000000000c4'::uuid END,
       'Item ' || i, 'Text ' || i,
       CASE WHEN i % 3 = 1 THEN 'x' END,
       CASE WHEN i % 5 = 0 THEN 'archived' ELSE 'draft' END::caas.content_status,
       timestamptz '2026-01-01 00:00:00+00' + (i / 3) * interval '1 minute'
  FROM generate_series(1, 45) AS i;
INSERT INTO caas.content (org_id, content_id, workspace_id, body, platform) VALUES
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000d3',
   '00000000-0000-4000-8000-0000000000c3', 'Short post', 'x');
-- The Free org has used 19 of its 20 AI generations this month.
INSERT INTO caas.usage (org_id, period_start, period_end, ai_generations)
SELECT '00000000-0000-4000-8000-0000000000b2', b.period_start, b.period_end, 19
  FROM caas._billing_period('00000000-0000-4000-8000-0000000000b2') b;

CREATE FUNCTION pg_temp.login(who text)
RETURNS void
LANGUAGE sql
AS $$
  SELECT set_config('request.jwt.claims', format('{"sub":"00000000-0000-4000-8000-0000000000%s"}', who), true)
$$;

-- Walks content_list to its end: the size of each page and every id in order.
CREATE FUNCTION pg_temp.walk(org uuid, ws uuid, lim integer, OUT sizes integer[], OUT ids uuid[])
LANGUAGE plpgsql
AS $$
DECLARE
  page jsonb;
  cur text;
BEGIN
  sizes := '{}';
  ids := '{}';
  LOOP
    page := caas.content_list(org, ws, NULL, NULL, cur, lim)::jsonb;
    sizes := sizes || jsonb_array_length(page -> 'items');
    ids := ids || ARRAY(SELECT (e ->> 'content_id')::uuid FROM jsonb_array_elements(page -> 'items') e);
    cur := page ->> 'next_cursor';
    EXIT WHEN cur IS NULL OR cardinality(sizes) > 10;
  END LOOP;
END;
$$;

CREATE FUNCTION pg_temp.plan_of(query text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  line   text;
  result text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    result := result || line || E'\n';
  END LOOP;
  RETURN result;
END;
$$;

-- The content the member creates first (d1 in the text above).
CREATE TEMP TABLE created (item jsonb);
GRANT SELECT, INSERT ON created TO caas_user;
CREATE FUNCTION pg_temp.d1()
RETURNS uuid
LANGUAGE sql
AS $$ SELECT (item ->> 'content_id')::uuid FROM created $$;

SET LOCAL ROLE caas_user;

-- ---------------------------------------------------- create and read --

SELECT pg_temp.login('a3');
INSERT INTO created
SELECT caas.content_create('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c1',
                           'Launch', 'Hello world');
SELECT is(
  (SELECT jsonb_build_object('title', r -> 'title', 'body', r -> 'body', 'current_version', r -> 'current_version',
                             'created_by', r -> 'created_by', 'status', r -> 'status')
     FROM created AS c(r)),
  '{"title": "Launch", "body": "Hello world", "current_version": 1, "status": "draft",
    "created_by": "00000000-0000-4000-8000-0000000000a3"}'::jsonb,
  'a member creates content and gets it back at version 1, as a draft, by them');
SELECT results_eq(
  $$ SELECT version, body, source::text, author_id FROM caas.content_versions
      WHERE content_id = pg_temp.d1() $$,
  $$ VALUES (1, 'Hello world', 'manual', '00000000-0000-4000-8000-0000000000a3'::uuid) $$,
  'creating content with text wrote version 1, manual, by the member');
SELECT is(
  (caas.content_create('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c2',
                       'Empty', '', 'linkedin', '{https://cdn.example.com/a.png}') ->> 'current_version')::integer,
  0, 'content created without text is at version 0');
SELECT throws_ok($$
  SELECT caas.content_create('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c1', 'T', 'B', 'myspace')
$$, '22023', 'unknown platform "myspace"', 'an unknown platform is refused with 22023');
SELECT throws_ok($$
  SELECT caas.content_create('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c3', 'T', 'B')
$$, 'P0002', 'workspace not found', 'a workspace of another organisation is not found');

SELECT pg_temp.login('a4');
SELECT throws_ok($$
  SELECT caas.content_create('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c1', 'T', 'B')
$$, '42501', 'permission denied: content.write', 'a viewer cannot create content');
SELECT is(caas.content_get('00000000-0000-4000-8000-0000000000b1', pg_temp.d1()) ->> 'body',
  'Hello world', 'a viewer reads content');
SELECT throws_ok($$
  SELECT caas.content_get('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000ff')
$$, 'P0002', 'content not found', 'unknown content is not found');

SELECT pg_temp.login('a6');
SELECT throws_ok($$
  SELECT caas.content_create('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c1', 'T', 'B')
$$, 'P0002', 'organization not found', 'a non-member cannot create content: the organisation is not found');
SELECT throws_ok($$
  SELECT caas.content_get('00000000-0000-4000-8000-0000000000b1', pg_temp.d1())
$$, 'P0002', 'organization not found', 'a non-member cannot read content');
SELECT throws_ok($$ SELECT caas.content_list('00000000-0000-4000-8000-0000000000b1')::jsonb $$,
  'P0002', 'organization not found', 'a non-member cannot list content');
SELECT is((SELECT count(*) FROM caas.content), 0::bigint, 'a non-member sees no content at all');

SELECT pg_temp.login('a5');
SELECT throws_ok($$
  SELECT caas.content_get('00000000-0000-4000-8000-0000000000b2', pg_temp.d1())
$$, 'P0002', 'content not found', 'another organisation''s content is not found through one''s own organisation');
SELECT throws_ok($$
  SELECT caas.content_update('00000000-0000-4000-8000-0000000000b2', pg_temp.d1(), '{"title": "Mine"}')
$$, 'P0002', 'content not found', 'another organisation''s content cannot be updated');

-- ------------------------------------------------------------- update --

SELECT pg_temp.login('a2');
SELECT is(
  (SELECT jsonb_build_object('title', r -> 'title', 'current_version', r -> 'current_version')
     FROM caas.content_update('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(),
                              '{"title": "Launch day", "body": "Hello brave world"}') AS r),
  '{"title": "Launch day", "current_version": 2}'::jsonb,
  'an admin changes title and text: the text becomes version 2');
SELECT results_eq(
  $$ SELECT source::text, author_id FROM caas.content_versions
      WHERE content_id = pg_temp.d1() AND version = 2 $$,
  $$ VALUES ('manual', '00000000-0000-4000-8000-0000000000a2'::uuid) $$,
  'version 2 is manual, by the admin');
SELECT is(
  (SELECT jsonb_build_object('platform', r -> 'platform', 'status', r -> 'status', 'media_urls', r -> 'media_urls',
                             'workspace_id', r -> 'workspace_id', 'current_version', r -> 'current_version')
     FROM caas.content_update('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(),
                              '{"platform": "linkedin", "status": "scheduled", "media_urls": ["https://cdn.example.com/b.png"],
                                "workspace_id": "00000000-0000-4000-8000-0000000000c2"}') AS r),
  '{"platform": "linkedin", "status": "scheduled", "media_urls": ["https://cdn.example.com/b.png"],
    "workspace_id": "00000000-0000-4000-8000-0000000000c2", "current_version": 2}'::jsonb,
  'platform, status, media and workspace change without a new version');
SELECT is(
  caas.content_update('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(),
                      '{"platform": null, "status": "draft"}') -> 'platform',
  'null'::jsonb, 'a null platform means none yet');
SELECT throws_ok($$
  SELECT caas.content_update('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(),
                             '{"title": "x", "colour": "red"}')
$$, '22023', 'unknown field "colour"', 'an unknown patch key is refused with 22023 naming it');
SELECT throws_ok($$
  SELECT caas.content_update('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(), '["title"]')
$$, '22023', 'patch must be a JSON object', 'a patch that is not an object is refused');
SELECT throws_ok($$
  SELECT caas.content_update('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000ff', '{"title": "x"}')
$$, 'P0002', 'content not found', 'updating unknown content is not found');

SELECT pg_temp.login('a4');
SELECT throws_ok($$
  SELECT caas.content_update('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(), '{"title": "x"}')
$$, '42501', 'permission denied: content.write', 'a viewer cannot update content');

-- ------------------------------------------------------------- delete --

SELECT pg_temp.login('a3');
SELECT throws_ok($$
  SELECT caas.content_delete('00000000-0000-4000-8000-0000000000b1', pg_temp.d1())
$$, '42501', 'permission denied: content.delete', 'a member cannot delete content');
SELECT pg_temp.login('a2');
SELECT lives_ok($$
  SELECT caas.content_delete('00000000-0000-4000-8000-0000000000b1',
                             (SELECT content_id FROM caas.content WHERE title = 'Empty'))
$$, 'an admin deletes content');
SELECT is((SELECT count(*) FROM caas.content WHERE title = 'Empty'), 0::bigint, 'the deleted content is gone');
SELECT throws_ok($$
  SELECT caas.content_delete('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000ff')
$$, 'P0002', 'content not found', 'deleting unknown content is not found');

-- ---------------------------------------------------------- the list --

SELECT pg_temp.login('a4');
SELECT is((SELECT sizes FROM pg_temp.walk('00000000-0000-4000-8000-0000000000b3', NULL, 20)),
  '{20,20,5}'::integer[], '45 items come in pages of 20, 20 and 5');
RESET ROLE;
CREATE TEMP TABLE expected_order AS
SELECT array_agg(content_id ORDER BY created_at DESC, content_id DESC) AS ids
  FROM caas.content WHERE org_id = '00000000-0000-4000-8000-0000000000b3';
GRANT SELECT ON expected_order TO caas_user;
SET LOCAL ROLE caas_user;
SELECT is((SELECT ids FROM pg_temp.walk('00000000-0000-4000-8000-0000000000b3', NULL, 20)),
  (SELECT ids FROM expected_order),
  'the pages hold every item once, newest first, ties in descending id order');
SELECT is((SELECT count(DISTINCT id) FROM pg_temp.walk('00000000-0000-4000-8000-0000000000b3', NULL, 20), unnest(ids) AS id),
  45::bigint, 'no item appears twice');
SELECT is((SELECT sizes FROM pg_temp.walk('00000000-0000-4000-8000-0000000000b3', NULL, NULL)),
  '{20,20,5}'::integer[], 'the default page size is 20');
SELECT is((SELECT sizes FROM pg_temp.walk('00000000-0000-4000-8000-0000000000b3', NULL, 45)),
  '{45}'::integer[], 'a page exactly as long as the list has no next cursor');
SELECT is(
  caas.content_list('00000000-0000-4000-8000-0000000000b1', NULL, NULL, NULL, NULL, 5)::jsonb -> 'items' -> 0 ->> 'content_id',
  pg_temp.d1()::text, 'each organisation lists its own content');
SELECT throws_ok($$
  SELECT caas.content_list('00000000-0000-4000-8000-0000000000b3', NULL, NULL, NULL,
    (caas.content_list('00000000-0000-4000-8000-0000000000b3') ->> 'next_cursor') || 'x')::jsonb
$$, '22023', 'invalid cursor', 'a tampered cursor is refused with 22023');
SELECT throws_ok($$ SELECT caas.content_list('00000000-0000-4000-8000-0000000000b3', NULL, NULL, NULL, 'not a cursor')::jsonb $$,
  '22023', 'invalid cursor', 'a made-up cursor is refused with 22023');
SELECT throws_ok($$ SELECT caas.content_list('00000000-0000-4000-8000-0000000000b3', lim => 0)::jsonb $$,
  '22023', 'page size 0 is out of range', 'a page size of 0 is refused');
SELECT throws_ok($$ SELECT caas.content_list('00000000-0000-4000-8000-0000000000b3', lim => 101)::jsonb $$,
  '22023', 'page size 101 is out of range', 'a page size of 101 is refused');

SELECT is((SELECT sizes FROM pg_temp.walk('00000000-0000-4000-8000-0000000000b3', '00000000-0000-4000-8000-0000000000c5', 10)),
  '{10,5}'::integer[], 'the workspace filter lists its 15 items, in pages');
SELECT is(
  (SELECT count(*) FROM jsonb_array_elements(
     caas.content_list('00000000-0000-4000-8000-0000000000b3', '00000000-0000-4000-8000-0000000000c5', lim => 100)::jsonb -> 'items') e
    WHERE e ->> 'workspace_id' <> '00000000-0000-4000-8000-0000000000c5'),
  0::bigint, 'the workspace filter lists nothing from other workspaces');
SELECT is(
  jsonb_array_length(caas.content_list('00000000-0000-4000-8000-0000000000b3', status => 'archived', lim => 100)::jsonb -> 'items'),
  9, 'the status filter lists the 9 archived items');
SELECT is(
  jsonb_array_length(caas.content_list('00000000-0000-4000-8000-0000000000b3', platform => 'x', lim => 100)::jsonb -> 'items'),
  15, 'the platform filter lists the 15 X items');
SELECT is(
  jsonb_array_length(caas.content_list('00000000-0000-4000-8000-0000000000b3', '00000000-0000-4000-8000-0000000000c4',
                                       'archived', 'x', NULL, 100)::jsonb -> 'items'),
  3, 'the filters combine');
SELECT is(
  caas.content_list('00000000-0000-4000-8000-0000000000b3', platform => 'instagram')::jsonb,
  '{"items": [], "next_cursor": null}'::jsonb, 'an empty list is an empty page without cursor');

-- The plans of content_list's two statements, as caas_user, as content_list
-- runs them, with bitmap scans off: the organisation page as a
-- cached generic plan, the workspace page planned with its values (see the
-- function).  Small tables: with fresh statistics, and without the
-- sequential scans a large table would never get for a 21-row page.
RESET ROLE;
ANALYZE caas.content;
SET LOCAL ROLE caas_user;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SET LOCAL plan_cache_mode = force_generic_plan;
PREPARE org_page(uuid, timestamptz, uuid, caas.content_status, text, integer) AS
  SELECT c.* FROM caas.content c
   WHERE c.org_id = $1 AND (c.created_at, c.content_id) < ($2, $3)
     AND ($4 IS NULL OR c.status = $4) AND ($5 IS NULL OR c.platform = $5)
   ORDER BY c.created_at DESC, c.content_id DESC LIMIT $6 + 1;
PREPARE workspace_page(uuid, uuid, timestamptz, uuid, caas.content_status, text, integer) AS
  SELECT c.* FROM caas.content c
   WHERE c.org_id = $1 AND c.workspace_id = $2 AND (c.created_at, c.content_id) < ($3, $4)
     AND ($5 IS NULL OR c.status = $5) AND ($6 IS NULL OR c.platform = $6)
   ORDER BY c.created_at DESC, c.content_id DESC LIMIT $7 + 1;
SELECT matches(
  pg_temp.plan_of($$ EXECUTE org_page('00000000-0000-4000-8000-0000000000b3', 'infinity', 'ffffffff-ffff-ffff-ffff-ffffffffffff', NULL, NULL, 20) $$),
  'Index Scan using content_org_created_idx on content c\s+Index Cond: .*\(org_id = \$1\) AND \(ROW\(created_at, content_id\) < ROW\(',
  'the organisation page is an index scan of content_org_created_idx, keyset included');
SELECT doesnt_match(
  pg_temp.plan_of($$ EXECUTE org_page('00000000-0000-4000-8000-0000000000b3', 'infinity', 'ffffffff-ffff-ffff-ffff-ffffffffffff', NULL, NULL, 20) $$),
  'Sort', 'the organisation page needs no sort');
SET LOCAL plan_cache_mode = force_custom_plan;   -- the workspace page is dynamic SQL
SELECT matches(
  pg_temp.plan_of($$ EXECUTE workspace_page('00000000-0000-4000-8000-0000000000b3', '00000000-0000-4000-8000-0000000000c5', 'infinity', 'ffffffff-ffff-ffff-ffff-ffffffffffff', NULL, NULL, 20) $$),
  'Index Scan using content_workspace_created_idx on content c\s+Index Cond: .*\(org_id = ''[0-9a-f-]+''::uuid\) AND \(workspace_id = ''[0-9a-f-]+''::uuid\) AND \(ROW\(created_at, content_id\) < ROW\(',
  'the workspace page is an index scan of content_workspace_created_idx, keyset included');
SELECT doesnt_match(
  pg_temp.plan_of($$ EXECUTE workspace_page('00000000-0000-4000-8000-0000000000b3', '00000000-0000-4000-8000-0000000000c5', 'infinity', 'ffffffff-ffff-ffff-ffff-ffffffffffff', NULL, NULL, 20) $$),
  'Sort', 'the workspace page needs no sort');
SELECT is(
  (SELECT proconfig FROM pg_catalog.pg_proc WHERE oid = 'caas.content_list'::regproc),
  '{"search_path=pg_catalog, caas",enable_bitmapscan=off}'::text[],
  'content_list runs with bitmap scans off, so its cached plan keeps the ordered index scan');
-- The function itself: this transaction's scan counters around real calls
-- (the planner's own probes of an index's end count too, so "more", not
-- an exact number).
CREATE TEMP TABLE scans (step text, seq bigint, org_idx bigint, ws_idx bigint);
GRANT INSERT, SELECT ON scans TO caas_user;
CREATE FUNCTION pg_temp.count_scans(step text)
RETURNS void
LANGUAGE sql
AS $$
  INSERT INTO scans
  SELECT step, pg_stat_get_xact_numscans('caas.content'::regclass),
         pg_stat_get_xact_numscans('caas.content_org_created_idx'::regclass),
         pg_stat_get_xact_numscans('caas.content_workspace_created_idx'::regclass)
$$;
SELECT pg_temp.count_scans('before');
SELECT caas.content_list('00000000-0000-4000-8000-0000000000b3', cursor =>
         caas.content_list('00000000-0000-4000-8000-0000000000b3') ->> 'next_cursor')::jsonb IS NOT NULL;
SELECT pg_temp.count_scans('org');
SELECT caas.content_list('00000000-0000-4000-8000-0000000000b3', '00000000-0000-4000-8000-0000000000c5')::jsonb IS NOT NULL;
SELECT pg_temp.count_scans('workspace');
SELECT ok((SELECT o.org_idx > b.org_idx FROM scans b, scans o WHERE b.step = 'before' AND o.step = 'org'),
  'content_list for the organisation scanned content_org_created_idx');
SELECT ok((SELECT w.ws_idx > o.ws_idx FROM scans o, scans w WHERE o.step = 'org' AND w.step = 'workspace'),
  'content_list for a workspace scanned content_workspace_created_idx');
SELECT is((SELECT w.seq - b.seq FROM scans b, scans w WHERE b.step = 'before' AND w.step = 'workspace'),
  0::bigint, 'content_list never scanned the content table sequentially');
RESET plan_cache_mode;
RESET enable_bitmapscan;
SET LOCAL enable_seqscan = on;

-- ----------------------------------------------------------- versions --

SELECT pg_temp.login('a4');
SELECT is(
  (SELECT jsonb_agg(e -> 'version') FROM jsonb_array_elements(
     caas.version_list('00000000-0000-4000-8000-0000000000b1', pg_temp.d1()) -> 'items') e),
  '[2, 1]'::jsonb, 'a viewer lists the versions, newest first');
SELECT is(
  caas.version_list('00000000-0000-4000-8000-0000000000b1', pg_temp.d1()) -> 'next_cursor',
  'null'::jsonb, 'a single page of versions has no next cursor');
SELECT is(
  (SELECT ARRAY[p1 -> 'items' -> 0 ->> 'version',
                caas.version_list('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(),
                                  p1 ->> 'next_cursor', 1) -> 'items' -> 0 ->> 'version',
                caas.version_list('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(),
                                  p1 ->> 'next_cursor', 1) ->> 'next_cursor']
     FROM caas.version_list('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(), NULL, 1) AS p1),
  ARRAY['2', '1', NULL], 'versions page one at a time: 2, then 1, then no cursor');
SELECT throws_ok($$
  SELECT caas.version_list('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(), 'djE=x')
$$, '22023', 'invalid cursor', 'a tampered version cursor is refused');
SELECT throws_ok($$
  SELECT caas.version_list('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000ff')
$$, 'P0002', 'content not found', 'the versions of unknown content are not found');
SELECT is(
  (SELECT jsonb_build_object('version', r -> 'version', 'body', r -> 'body', 'source', r -> 'source')
     FROM caas.version_get('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(), 1) AS r),
  '{"version": 1, "body": "Hello world", "source": "manual"}'::jsonb, 'a viewer reads version 1');
SELECT throws_ok($$
  SELECT caas.version_get('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(), 9)
$$, 'P0002', 'version 9 not found', 'an unknown version is not found');
SELECT is(
  caas.version_diff('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(), 1, 2),
  '{"from": 1, "to": 2, "inserted_chars": 6, "deleted_chars": 0,
    "ops": [{"op": "equal", "text": "Hello "}, {"op": "insert", "text": "brave "}, {"op": "equal", "text": "world"}]}'::jsonb,
  'the diff from version 1 to 2 shows the inserted word');
SELECT throws_ok($$
  SELECT caas.version_diff('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(), 1, 7)
$$, 'P0002', 'version 7 not found', 'a diff with an unknown version is not found');
SELECT throws_ok($$
  SELECT caas.version_restore('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(), 1)
$$, '42501', 'permission denied: content.write', 'a viewer cannot restore a version');

SELECT pg_temp.login('a6');
SELECT throws_ok($$
  SELECT caas.version_list('00000000-0000-4000-8000-0000000000b1', pg_temp.d1())
$$, 'P0002', 'organization not found', 'a non-member cannot list versions');
SELECT pg_temp.login('a5');
SELECT throws_ok($$
  SELECT caas.version_restore('00000000-0000-4000-8000-0000000000b2', pg_temp.d1(), 1)
$$, 'P0002', 'content not found', 'another organisation''s content cannot be restored through one''s own');

SELECT pg_temp.login('a3');
SELECT is(
  (SELECT jsonb_build_object('version', r -> 'version', 'source', r -> 'source', 'restored_from', r -> 'restored_from',
                             'author_id', r -> 'author_id', 'body', r -> 'body')
     FROM caas.version_restore('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(), 1) AS r),
  '{"version": 3, "source": "restore", "restored_from": 1, "body": "Hello world",
    "author_id": "00000000-0000-4000-8000-0000000000a3"}'::jsonb,
  'a member restores version 1: it becomes version 3, a restore by them');
SELECT is(
  (SELECT r ->> 'body' || ' @ ' || (r ->> 'current_version')
     FROM caas.content_get('00000000-0000-4000-8000-0000000000b1', pg_temp.d1()) AS r),
  'Hello world @ 3', 'the restored text is the current text, at version 3');
SELECT throws_ok($$
  SELECT caas.version_restore('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(), 3)
$$, '22023', 'version 3 is already current', 'restoring the current version is refused');
SELECT throws_ok($$
  SELECT caas.version_restore('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(), 1)
$$, '22023', 'version 1 has the same text as the current version 3', 'restoring the current text again is refused');
SELECT throws_ok($$
  SELECT caas.version_restore('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(), 99)
$$, 'P0002', 'version 99 not found', 'restoring an unknown version is not found');

-- ------------------------------------------------------------ AI text --

SELECT is(
  (SELECT jsonb_build_object('version', r -> 'version', 'source', r -> 'source', 'ai_provider', r -> 'ai_provider',
                             'ai_model', r -> 'ai_model', 'author_id', r -> 'author_id')
     FROM caas.version_add_ai('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(),
                              'Hello, wonderful world!', 'openai', 'gpt-4o-mini', 120, 30) AS r),
  '{"version": 4, "source": "ai", "ai_provider": "openai", "ai_model": "gpt-4o-mini",
    "author_id": "00000000-0000-4000-8000-0000000000a3"}'::jsonb,
  'a member records an AI draft as version 4');
SELECT is(
  (SELECT r ->> 'body' || ' @ ' || (r ->> 'current_version')
     FROM caas.content_get('00000000-0000-4000-8000-0000000000b1', pg_temp.d1()) AS r),
  'Hello, wonderful world! @ 4', 'the AI draft is the current text');
SELECT results_eq(
  $$ SELECT ai_generations, ai_prompt_tokens, ai_completion_tokens FROM caas.usage
      WHERE org_id = '00000000-0000-4000-8000-0000000000b1' $$,
  $$ VALUES (1, 120::bigint, 30::bigint) $$,
  'the generation and its tokens are counted in the period''s usage');
SELECT throws_ok($$
  SELECT caas.version_add_ai('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(),
                             'Hello, wonderful world!', 'openai', 'gpt-4o-mini', 1, 1)
$$, '22023', 'the generated text is the current text', 'an AI draft equal to the current text is refused');
SELECT pg_temp.login('a4');
SELECT throws_ok($$
  SELECT caas.version_add_ai('00000000-0000-4000-8000-0000000000b1', pg_temp.d1(),
                             'Viewer text', 'openai', 'gpt-4o-mini', 1, 1)
$$, '42501', 'permission denied: ai.generate', 'a viewer cannot record AI drafts');

-- The Free organisation: 19 of 20 generations used, content for X.
SELECT pg_temp.login('a5');
SELECT throws_ok(format($$
  SELECT caas.version_add_ai('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000d3',
                             %L, 'openai', 'gpt-4o-mini', 50, 300)
$$, repeat('a', 281)), 'CA003', 'text too long for X: 281 of 280 weighted characters',
  'an AI draft too long for X is refused with CA003');
SELECT is(
  caas.version_add_ai('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000d3',
                      'Twentieth draft', 'gemini', 'gemini-1.5-flash', 40, 20) ->> 'version',
  '2', 'the 20th generation of the month is accepted on the Free plan');
SELECT throws_ok($$
  SELECT caas.version_add_ai('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000d3',
                             'Twenty-first draft', 'openai', 'gpt-4o-mini', 50, 25)
$$, 'CA001', 'quota exceeded: AI generations per month (20 on the Free plan)',
  'the 21st generation of the month is refused with CA001');
SELECT results_eq(
  $$ SELECT version, source::text FROM caas.content_versions
      WHERE content_id = '00000000-0000-4000-8000-0000000000d3' ORDER BY version $$,
  $$ VALUES (1, 'manual'), (2, 'ai') $$,
  'the refused drafts left no version behind');
SELECT results_eq(
  $$ SELECT body, current_version FROM caas.content WHERE content_id = '00000000-0000-4000-8000-0000000000d3' $$,
  $$ VALUES ('Twentieth draft', 2) $$,
  'the refused drafts did not change the content');
SELECT results_eq(
  $$ SELECT ai_generations, ai_prompt_tokens, ai_completion_tokens FROM caas.usage
      WHERE org_id = '00000000-0000-4000-8000-0000000000b2' $$,
  $$ VALUES (20, 40::bigint, 20::bigint) $$,
  'the refused drafts counted no generation and no tokens');

RESET ROLE;
SELECT ok(NOT has_function_privilege('caas_anon', 'caas.content_list(uuid, uuid, caas.content_status, text, text, integer)', 'EXECUTE'),
  'anonymous callers cannot list content');
SELECT ok(NOT has_function_privilege('caas_user', 'caas._version_append(uuid, caas.content, caas.content_versions)', 'EXECUTE'),
  'caas_user cannot call the private version writer directly');
SELECT * FROM finish();
ROLLBACK;
