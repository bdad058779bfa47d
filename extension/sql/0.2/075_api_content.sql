--
-- 075_api_content.sql — the SQL API for content items and their versions.
--
-- Content:  caas.content_create, content_get, content_update, content_delete,
--           content_list (keyset, newest first: the hot path).
-- Versions: caas.version_list, version_get, version_diff, version_restore,
--           version_add_ai.
--
-- Who writes versions:
--   * content_create/content_update are SECURITY INVOKER: they write
--     content.body as the caller, and the content triggers (050_versions.sql)
--     make the next 'manual' version.  RLS decides exactly as for plain SQL.
--   * version_restore and version_add_ai must set content.current_version,
--     a column caas_user may not write (030_rls.sql), and version_add_ai
--     also counts usage, a table caas_user may not write.  They are
--     SECURITY DEFINER: RLS does not apply to them, so every statement in
--     them names the organisation, and they call caas._require first.  They
--     lock the content row (FOR UPDATE) before numbering, so a concurrent
--     edit waits and gets the next number.
-- A restore or an AI draft whose text equals the current text is refused
-- (22023): the version trigger allows current_version to move only with the
-- text, and a version that changes nothing is noise.
--
-- Content objects are to_jsonb(caas.content) (no column of caas.content is
-- secret); version objects are to_jsonb(caas.content_versions).
--

-- API: Private
CREATE FUNCTION caas._platform_exists(platform text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  IF platform IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM caas.platforms p WHERE p.platform = _platform_exists.platform) THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown platform "%s"', platform),
      HINT = 'The platforms are listed in caas.platforms.';
  END IF;
END;
$$;
COMMENT ON FUNCTION caas._platform_exists(text) IS
  'Private: 22023 "unknown platform" unless the platform is NULL or a row of caas.platforms.';

-- API: Private
CREATE FUNCTION caas._workspace_visible(org uuid, workspace uuid)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM caas.workspaces w WHERE w.org_id = org AND w.workspace_id = workspace) THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'workspace not found';
  END IF;
END;
$$;
COMMENT ON FUNCTION caas._workspace_visible(uuid, uuid) IS
  'Private: P0002 "workspace not found" unless the caller sees the workspace in the organisation (runs as the caller, under RLS).';

-- ------------------------------------------------------------ content --

CREATE FUNCTION caas.content_create(org uuid, workspace uuid, title text, body text,
                                    platform text DEFAULT NULL, media_urls text[] DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  c caas.content;
BEGIN
  PERFORM caas._require(org, 'content.write');
  PERFORM caas._workspace_visible(org, workspace);
  PERFORM caas._platform_exists(platform);
  INSERT INTO caas.content (org_id, workspace_id, title, body, platform, media_urls, created_by)
  VALUES (org, workspace, coalesce(title, ''), coalesce(body, ''), platform, coalesce(media_urls, '{}'),
          caas.current_user_id())
  RETURNING * INTO c;
  RETURN to_jsonb(c);
END;
$$;
COMMENT ON FUNCTION caas.content_create(uuid, uuid, text, text, text, text[]) IS
  'Creates a content item in a workspace of the organisation (needs content.write) and returns it. A non-empty body becomes version 1 (manual, by the caller). P0002 for an unknown workspace, 22023 for an unknown platform, 23514 for a title over 300 characters, a body over 64 KiB or more than 10 media URLs.';

CREATE FUNCTION caas.content_get(org uuid, content uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  result jsonb;
BEGIN
  PERFORM caas._require(org, 'content.read');
  SELECT to_jsonb(c) INTO result FROM caas.content c WHERE c.org_id = org AND c.content_id = content;
  IF result IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'content not found';
  END IF;
  RETURN result;
END;
$$;
COMMENT ON FUNCTION caas.content_get(uuid, uuid) IS
  'One content item of the organisation (needs content.read); P0002 "content not found".';

CREATE FUNCTION caas.content_update(org uuid, content uuid, patch jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  bad text;
  media text[];
  updated caas.content;
BEGIN
  PERFORM caas._require(org, 'content.write');
  IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'patch must be a JSON object';
  END IF;
  SELECT k INTO bad FROM jsonb_object_keys(patch) AS k
   WHERE k NOT IN ('title', 'body', 'platform', 'media_urls', 'status', 'workspace_id')
   ORDER BY k LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown field "%s"', bad),
      HINT = 'A content patch may set title, body, platform, media_urls, status and workspace_id.';
  END IF;
  IF patch ? 'media_urls' THEN
    IF jsonb_typeof(patch -> 'media_urls') <> 'array' THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'media_urls must be an array of URLs';
    END IF;
    media := ARRAY(SELECT jsonb_array_elements_text(patch -> 'media_urls'));
  END IF;
  IF patch ? 'platform' THEN
    PERFORM caas._platform_exists(patch ->> 'platform');
  END IF;
  IF patch ? 'workspace_id' THEN
    PERFORM caas._workspace_visible(org, (patch ->> 'workspace_id')::uuid);
  END IF;
  -- A JSON null for title or body is a 23502; for platform it means "none yet".
  UPDATE caas.content c
     SET title = CASE WHEN patch ? 'title' THEN patch ->> 'title' ELSE c.title END,
         body = CASE WHEN patch ? 'body' THEN patch ->> 'body' ELSE c.body END,
         platform = CASE WHEN patch ? 'platform' THEN patch ->> 'platform' ELSE c.platform END,
         media_urls = CASE WHEN patch ? 'media_urls' THEN media ELSE c.media_urls END,
         status = CASE WHEN patch ? 'status' THEN (patch ->> 'status')::caas.content_status ELSE c.status END,
         workspace_id = CASE WHEN patch ? 'workspace_id' THEN (patch ->> 'workspace_id')::uuid ELSE c.workspace_id END
   WHERE c.org_id = org AND c.content_id = content
  RETURNING * INTO updated;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'content not found';
  END IF;
  RETURN to_jsonb(updated);
END;
$$;
COMMENT ON FUNCTION caas.content_update(uuid, uuid, jsonb) IS
  'Changes a content item (needs content.write) and returns it. patch is an object with any of title, body, platform (null: none yet), media_urls (array), status, workspace_id; any other key is 22023 naming it. A changed body becomes the next version (manual, by the caller). P0002 for unknown content or workspace, 22023 for an unknown platform, 22P02 for a malformed status or id.';

CREATE FUNCTION caas.content_delete(org uuid, content uuid)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  PERFORM caas._require(org, 'content.delete');
  IF EXISTS (SELECT 1 FROM caas.scheduled_posts p
              WHERE p.org_id = org AND p.content_id = content AND p.state = 'publishing') THEN
    RAISE EXCEPTION USING ERRCODE = 'CA002', MESSAGE = 'a post of this content is being published',
      HINT = 'Try again in a minute.';
  END IF;
  DELETE FROM caas.content c WHERE c.org_id = org AND c.content_id = content;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'content not found';
  END IF;
END;
$$;
COMMENT ON FUNCTION caas.content_delete(uuid, uuid) IS
  'Deletes a content item with its versions and scheduled posts (needs content.delete); P0002 "content not found"; CA002 while one of its posts is being published.';

CREATE FUNCTION caas.content_list(org uuid, workspace uuid DEFAULT NULL, status caas.content_status DEFAULT NULL,
                                  platform text DEFAULT NULL, cursor text DEFAULT NULL, lim integer DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
-- The hot path of the dashboard (bench/run.sh).  Three choices, each measured:
--   * it returns json built by json_agg, not jsonb: converting 21 rows to
--     jsonb and back to text for the client cost a third of the throughput;
--   * its plans are cached like any plpgsql statement: planning every call
--     (plan_cache_mode = force_custom_plan) cost another third;
--   * a cached generic plan cannot see which organisation is asked for, and
--     RLS's org_id = ANY(...) beside org_id = $1 makes it expect a single
--     row, so it could prefer a bitmap scan plus a sort of the whole
--     organisation (8-30 ms instead of 0.5 ms).  Turning bitmap scans off
--     for this function leaves it the ordered index scan, the right plan
--     for every page of every size.
SET enable_bitmapscan = off
AS $$
DECLARE
  n integer := caas._page_size(lim);
  after_ts timestamptz;
  after_id uuid;
  page json;
BEGIN
  PERFORM caas._require(org, 'content.read');
  SELECT d.ts, d.id INTO after_ts, after_id FROM caas._cursor_decode(cursor) d;
  -- The first page starts after a sentinel above every row, so the keyset
  -- condition is always an index condition.
  after_ts := coalesce(after_ts, 'infinity');
  after_id := coalesce(after_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff');
  -- Two statements, one per index (with "workspace IS NULL OR ..." one plan
  -- could not serve both).  Each fetches n + 1 rows: the extra one only says
  -- that a next page exists.
  IF workspace IS NULL THEN
    RETURN (
      SELECT json_build_object(
               'items', coalesce(json_agg(q.r ORDER BY q.rn) FILTER (WHERE q.rn <= n), '[]'),
               'next_cursor', CASE WHEN count(*) > n
                                   THEN caas._cursor_encode((array_agg(q.ts) FILTER (WHERE q.rn = n))[1],
                                                            (array_agg(q.id) FILTER (WHERE q.rn = n))[1]) END)
        FROM (SELECT c AS r, c.created_at AS ts, c.content_id AS id,
                     row_number() OVER (ORDER BY c.created_at DESC, c.content_id DESC) AS rn
                FROM caas.content c
               WHERE c.org_id = org
                 AND (c.created_at, c.content_id) < (after_ts, after_id)
                 AND (content_list.status IS NULL OR c.status = content_list.status)
                 AND (content_list.platform IS NULL OR c.platform = content_list.platform)
               ORDER BY c.created_at DESC, c.content_id DESC
               LIMIT n + 1) q);
  END IF;
  -- A workspace page is planned on each call (dynamic SQL) with the actual
  -- ids: a generic plan cannot tell how much of the organisation one
  -- workspace holds, and walks the organisation's index filtering by
  -- workspace instead of using content_workspace_created_idx.
  EXECUTE $q$
    SELECT json_build_object(
             'items', coalesce(json_agg(q.r ORDER BY q.rn) FILTER (WHERE q.rn <= $7), '[]'),
             'next_cursor', CASE WHEN count(*) > $7
                                 THEN caas._cursor_encode((array_agg(q.ts) FILTER (WHERE q.rn = $7))[1],
                                                          (array_agg(q.id) FILTER (WHERE q.rn = $7))[1]) END)
      FROM (SELECT c AS r, c.created_at AS ts, c.content_id AS id,
                   row_number() OVER (ORDER BY c.created_at DESC, c.content_id DESC) AS rn
              FROM caas.content c
             WHERE c.org_id = $1 AND c.workspace_id = $2
               AND (c.created_at, c.content_id) < ($3, $4)
               AND ($5::caas.content_status IS NULL OR c.status = $5)
               AND ($6::text IS NULL OR c.platform = $6)
             ORDER BY c.created_at DESC, c.content_id DESC
             LIMIT $7 + 1) q
  $q$ INTO page USING org, workspace, after_ts, after_id, content_list.status, content_list.platform, n;
  RETURN page;
END;
$$;
COMMENT ON FUNCTION caas.content_list(uuid, uuid, caas.content_status, text, text, integer) IS
  'A page of the organisation''s content items, newest first (needs content.read): {"items": [...], "next_cursor": "..."|null}, optionally only one workspace, status or platform. Pass next_cursor back unchanged for the next page; lim is 1..100 (20 by default). 22023 for a malformed cursor or page size.';

-- ----------------------------------------------------------- versions --

-- API: Private
CREATE FUNCTION caas._version_cursor_encode(version integer)
RETURNS text
LANGUAGE sql
IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  SELECT translate(encode(convert_to('v|' || version::text, 'UTF8'), 'base64'), E'+/=\n', '-_')
$$;
COMMENT ON FUNCTION caas._version_cursor_encode(integer) IS
  'Private: opaque cursor of a version list page (URL-safe base64 of the last version number shown).';

-- API: Private
CREATE FUNCTION caas._version_cursor_decode(cursor text)
RETURNS integer
LANGUAGE plpgsql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  b64 text;
  plain text;
BEGIN
  IF cursor IS NULL THEN
    RETURN NULL;
  END IF;
  b64 := translate(cursor, '-_', '+/');
  b64 := b64 || repeat('=', (4 - length(b64) % 4) % 4);
  BEGIN
    plain := convert_from(decode(b64, 'base64'), 'UTF8');
  EXCEPTION WHEN OTHERS THEN
    plain := NULL;
  END;
  IF plain IS NULL OR plain !~ '^v\|[1-9][0-9]{0,8}$' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'invalid cursor',
      HINT = 'Pass the next_cursor of the previous page unchanged.';
  END IF;
  RETURN substr(plain, 3)::integer;
END;
$$;
COMMENT ON FUNCTION caas._version_cursor_decode(text) IS
  'Private: the version number a cursor from caas._version_cursor_encode holds; 22023 for anything else; NULL for NULL (first page).';

-- API: Private
CREATE FUNCTION caas._content_exists(org uuid, content uuid)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM caas.content c WHERE c.org_id = org AND c.content_id = content) THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'content not found';
  END IF;
END;
$$;
COMMENT ON FUNCTION caas._content_exists(uuid, uuid) IS
  'Private: P0002 "content not found" unless the caller sees the content item (runs as the caller, under RLS).';

CREATE FUNCTION caas.version_list(org uuid, content uuid, cursor text DEFAULT NULL, lim integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  n integer := caas._page_size(lim);
  below integer := coalesce(caas._version_cursor_decode(cursor), 2147483647);
  items jsonb;
BEGIN
  PERFORM caas._require(org, 'content.read');
  PERFORM caas._content_exists(org, content);
  SELECT coalesce(jsonb_agg(to_jsonb(p) ORDER BY p.version DESC), '[]') INTO items
    FROM (SELECT v.*
            FROM caas.content_versions v
           WHERE v.org_id = org AND v.content_id = content AND v.version < below
           ORDER BY v.version DESC
           LIMIT n + 1) p;
  RETURN jsonb_build_object(
    'items', coalesce((SELECT jsonb_agg(e ORDER BY i)
                         FROM jsonb_array_elements(items) WITH ORDINALITY AS t(e, i)
                        WHERE i <= n), '[]'),
    'next_cursor', CASE WHEN jsonb_array_length(items) > n
                        THEN to_jsonb(caas._version_cursor_encode((items -> (n - 1) ->> 'version')::integer))
                        ELSE 'null'::jsonb END);
END;
$$;
COMMENT ON FUNCTION caas.version_list(uuid, uuid, text, integer) IS
  'A page of a content item''s versions, newest first (needs content.read): {"items": [...], "next_cursor": "..."|null}; lim 1..100 (20 by default). P0002 "content not found", 22023 for a malformed cursor or page size.';

CREATE FUNCTION caas.version_get(org uuid, content uuid, version integer)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  result jsonb;
BEGIN
  PERFORM caas._require(org, 'content.read');
  PERFORM caas._content_exists(org, content);
  SELECT to_jsonb(v) INTO result
    FROM caas.content_versions v
   WHERE v.org_id = org AND v.content_id = content AND v.version = version_get.version;
  IF result IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('version %s not found', version);
  END IF;
  RETURN result;
END;
$$;
COMMENT ON FUNCTION caas.version_get(uuid, uuid, integer) IS
  'One version of a content item (needs content.read); P0002 "content not found" or "version N not found".';

CREATE FUNCTION caas.version_diff(org uuid, content uuid, from_version integer, to_version integer)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  old_body text;
  new_body text;
BEGIN
  PERFORM caas._require(org, 'content.read');
  PERFORM caas._content_exists(org, content);
  SELECT v.body INTO old_body FROM caas.content_versions v
   WHERE v.org_id = org AND v.content_id = content AND v.version = from_version;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('version %s not found', from_version);
  END IF;
  SELECT v.body INTO new_body FROM caas.content_versions v
   WHERE v.org_id = org AND v.content_id = content AND v.version = to_version;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('version %s not found', to_version);
  END IF;
  RETURN jsonb_build_object('from', from_version, 'to', to_version) || caas.text_diff(old_body, new_body);
END;
$$;
COMMENT ON FUNCTION caas.version_diff(uuid, uuid, integer, integer) IS
  'Word-level diff between two versions of a content item (needs content.read): {"from", "to", "ops", "inserted_chars", "deleted_chars"} as caas.text_diff; either order is allowed. P0002 "content not found" or "version N not found".';

-- API: Private
CREATE FUNCTION caas._version_append(org uuid, c caas.content, v caas.content_versions)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  -- Protocol of 050_versions.sql: the version row first, then the content,
  -- whose AFTER trigger finds the row and checks the text matches.
  v.org_id := org;
  v.content_id := c.content_id;
  v.version := c.current_version + 1;
  v.author_id := caas.current_user_id();
  v.created_at := now();
  INSERT INTO caas.content_versions VALUES (v.*);
  UPDATE caas.content SET body = v.body, current_version = v.version
   WHERE org_id = org AND content_id = c.content_id;
  RETURN to_jsonb(v);
END;
$$;
COMMENT ON FUNCTION caas._version_append(uuid, caas.content, caas.content_versions) IS
  'Private: adds v (body, source and its fields) as the next version of the locked content item c, by the caller, and makes it the current text. Caller must hold the row lock and have checked the permission.';

CREATE FUNCTION caas.version_restore(org uuid, content uuid, version integer)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  c caas.content;
  earlier caas.content_versions;
  v caas.content_versions;
BEGIN
  PERFORM caas._require(org, 'content.write');
  SELECT * INTO c FROM caas.content x WHERE x.org_id = org AND x.content_id = version_restore.content FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'content not found';
  END IF;
  SELECT * INTO earlier FROM caas.content_versions cv
   WHERE cv.org_id = org AND cv.content_id = version_restore.content AND cv.version = version_restore.version;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('version %s not found', version);
  END IF;
  IF version = c.current_version THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('version %s is already current', version);
  END IF;
  IF earlier.body = c.body THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('version %s has the same text as the current version %s', version, c.current_version);
  END IF;
  v.body := earlier.body;
  v.source := 'restore';
  v.restored_from := earlier.version;
  RETURN caas._version_append(org, c, v);
END;
$$;
COMMENT ON FUNCTION caas.version_restore(uuid, uuid, integer) IS
  'Makes an earlier version''s text current again as a new version (source restore, restored_from = that version, by the caller) and returns the new version (needs content.write). P0002 "content not found" or "version N not found"; 22023 when the version is already current or has the current text. SECURITY DEFINER: caas_user may not set content.current_version.';

CREATE FUNCTION caas.version_add_ai(org uuid, content uuid, body text, provider text, model text,
                                    prompt_tokens integer, completion_tokens integer)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  c caas.content;
  v caas.content_versions;
  result jsonb;
BEGIN
  PERFORM caas._require(org, 'ai.generate');
  IF body IS NULL OR provider IS NULL OR model IS NULL OR prompt_tokens IS NULL OR completion_tokens IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'body, provider, model and token counts are required';
  END IF;
  SELECT * INTO c FROM caas.content x WHERE x.org_id = org AND x.content_id = version_add_ai.content FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'content not found';
  END IF;
  IF c.platform IS NOT NULL THEN
    -- Only the text: media is checked when the post is scheduled.
    PERFORM caas.check_post_text(c.platform, body, ARRAY['media checked when scheduled']);
  ELSIF btrim(body, E' \t\n\r') = '' THEN
    RAISE EXCEPTION USING ERRCODE = 'CA003', MESSAGE = 'the generated text is empty';
  END IF;
  IF body = c.body THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'the generated text is the current text';
  END IF;
  PERFORM caas._consume(org, 'ai_generations', 1);
  v.body := body;
  v.source := 'ai';
  v.ai_provider := provider;
  v.ai_model := model;
  v.prompt_tokens := prompt_tokens;
  v.completion_tokens := completion_tokens;
  result := caas._version_append(org, c, v);
  -- _consume made sure the period's row exists.
  UPDATE caas.usage u
     SET ai_prompt_tokens = u.ai_prompt_tokens + version_add_ai.prompt_tokens,
         ai_completion_tokens = u.ai_completion_tokens + version_add_ai.completion_tokens
   WHERE u.org_id = org AND u.period_start = (SELECT b.period_start FROM caas._billing_period(org) b);
  RETURN result;
END;
$$;
COMMENT ON FUNCTION caas.version_add_ai(uuid, uuid, text, text, text, integer, integer) IS
  'Records an AI-generated text as the next version of a content item (source ai, by the caller) and makes it current (needs ai.generate); returns the version. Counts one AI generation and the tokens in caas.usage, all in the caller''s transaction. CA003 when the content''s platform would refuse the text (or it is empty), CA001 over the plan''s AI generations, 22023 when the text equals the current text or an argument is missing, P0002 "content not found". SECURITY DEFINER: caas_user may write neither content.current_version nor caas.usage.';

GRANT EXECUTE ON FUNCTION
  caas._platform_exists(text), caas._workspace_visible(uuid, uuid), caas._content_exists(uuid, uuid),
  caas._version_cursor_encode(integer), caas._version_cursor_decode(text),
  caas.content_create(uuid, uuid, text, text, text, text[]), caas.content_get(uuid, uuid),
  caas.content_update(uuid, uuid, jsonb), caas.content_delete(uuid, uuid),
  caas.content_list(uuid, uuid, caas.content_status, text, text, integer),
  caas.version_list(uuid, uuid, text, integer), caas.version_get(uuid, uuid, integer),
  caas.version_diff(uuid, uuid, integer, integer), caas.version_restore(uuid, uuid, integer),
  caas.version_add_ai(uuid, uuid, text, text, text, integer, integer)
  TO caas_user;

-- New functions are executable by PUBLIC by default (990_grants.sql ran
-- before this file): only caas_user, above, may call these.
REVOKE EXECUTE ON FUNCTION
  caas._platform_exists(text), caas._workspace_visible(uuid, uuid), caas._content_exists(uuid, uuid),
  caas._version_cursor_encode(integer), caas._version_cursor_decode(text),
  caas._version_append(uuid, caas.content, caas.content_versions),
  caas.content_create(uuid, uuid, text, text, text, text[]), caas.content_get(uuid, uuid),
  caas.content_update(uuid, uuid, jsonb), caas.content_delete(uuid, uuid),
  caas.content_list(uuid, uuid, caas.content_status, text, text, integer),
  caas.version_list(uuid, uuid, text, integer), caas.version_get(uuid, uuid, integer),
  caas.version_diff(uuid, uuid, integer, integer), caas.version_restore(uuid, uuid, integer),
  caas.version_add_ai(uuid, uuid, text, text, text, integer, integer)
  FROM PUBLIC;
