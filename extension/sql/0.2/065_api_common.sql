--
-- 065_api_common.sql — conventions and helpers shared by the SQL API.
--
-- The SQL API is one function per operation the REST API needs, named
-- caas.<resource>_<verb> (caas.org_create, caas.content_list, ...):
--   * SECURITY INVOKER unless a function must write a row the caller cannot
--     see yet (creating an organisation, accepting an invitation); those are
--     SECURITY DEFINER with explicit checks and a fixed search_path.  RLS
--     therefore decides for the API exactly as for plain SQL.
--   * They call caas._require(org, action) first, so a refusal is a clear
--     42501 (or P0002 when the organisation is not the caller's).
--   * They return jsonb the API passes through unchanged: one object, or
--     {"items": [...], "next_cursor": "..."|null} for lists.
--   * Lists use keyset pagination, newest first: the cursor is opaque
--     (caas._cursor_encode/_cursor_decode), the page size 1..100 (20 by
--     default).
--   * Not found, or not visible to the caller, is P0002 "<thing> not found".
--

-- API: Private
CREATE FUNCTION caas._cursor_encode(ts timestamptz, id uuid)
RETURNS text
LANGUAGE sql
IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  SELECT translate(encode(convert_to(
           to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '|' || id::text, 'UTF8'),
         'base64'), E'+/=\n', '-_')
$$;
COMMENT ON FUNCTION caas._cursor_encode(timestamptz, uuid) IS
  'Private: opaque keyset cursor (URL-safe base64 of the instant and the id of the last row of a page).';

-- API: Private
CREATE FUNCTION caas._cursor_decode(cursor text, OUT ts timestamptz, OUT id uuid)
LANGUAGE plpgsql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  b64 text;
  parts text[];
BEGIN
  IF cursor IS NULL THEN
    RETURN;
  END IF;
  b64 := translate(cursor, '-_', '+/');
  b64 := b64 || repeat('=', (4 - length(b64) % 4) % 4);
  BEGIN
    parts := string_to_array(convert_from(decode(b64, 'base64'), 'UTF8'), '|');
    ts := (parts[1] || '+00')::timestamptz;
    id := parts[2]::uuid;
  EXCEPTION WHEN OTHERS THEN
    ts := NULL;
  END;
  IF ts IS NULL OR id IS NULL OR cardinality(parts) <> 2 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'invalid cursor',
      HINT = 'Pass the next_cursor of the previous page unchanged.';
  END IF;
END;
$$;
COMMENT ON FUNCTION caas._cursor_decode(text) IS
  'Private: the instant and id a cursor from caas._cursor_encode holds; 22023 for anything else. NULL in, NULLs out (first page).';

-- API: Private
CREATE FUNCTION caas._page_size(lim integer)
RETURNS integer
LANGUAGE plpgsql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  IF lim IS NULL THEN
    RETURN 20;
  END IF;
  IF lim < 1 OR lim > 100 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('page size %s is out of range', lim),
      HINT = 'Ask for 1 to 100 rows.';
  END IF;
  RETURN lim;
END;
$$;
COMMENT ON FUNCTION caas._page_size(integer) IS 'Private: the page size to use: 20 when NULL, 22023 outside 1..100.';

-- API: Private
CREATE FUNCTION caas._page(items jsonb, lim integer, ts_key text, id_key text)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  -- The caller fetched lim + 1 rows in page order: the extra one only says
  -- that a next page exists, and the cursor points after item number lim.
  SELECT jsonb_build_object(
           'items', coalesce((SELECT jsonb_agg(e ORDER BY n)
                                FROM jsonb_array_elements(items) WITH ORDINALITY AS t(e, n)
                               WHERE n <= lim), '[]'::jsonb),
           'next_cursor',
           CASE WHEN jsonb_array_length(coalesce(items, '[]')) > lim
                THEN to_jsonb(caas._cursor_encode((items -> (lim - 1) ->> ts_key)::timestamptz,
                                                  (items -> (lim - 1) ->> id_key)::uuid))
                ELSE 'null'::jsonb END)
$$;
COMMENT ON FUNCTION caas._page(jsonb, integer, text, text) IS
  'Private: a list page {"items", "next_cursor"} from lim + 1 items fetched in page order; ts_key and id_key name the keyset fields of an item (e.g. created_at, content_id).';

-- API: Private
CREATE FUNCTION caas._audit(org uuid, action text, target_type text, target_id text, details jsonb DEFAULT '{}')
RETURNS void
LANGUAGE sql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
  INSERT INTO caas.audit_log (org_id, actor_id, action, target_type, target_id, details)
  VALUES (org, caas.current_user_id(), action, target_type, target_id, coalesce(details, '{}'))
$$;
COMMENT ON FUNCTION caas._audit(uuid, text, text, text, jsonb) IS
  'Private: appends an entry to the organisation''s audit log, the caller as actor (NULL for the system).';

GRANT EXECUTE ON FUNCTION caas._cursor_encode(timestamptz, uuid), caas._cursor_decode(text),
  caas._page_size(integer), caas._page(jsonb, integer, text, text)
  TO caas_user, caas_analyst;
