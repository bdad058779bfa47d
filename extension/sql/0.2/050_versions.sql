--
-- 050_versions.sql — version history: every change of a content item's text
-- is an immutable, numbered version.
--
-- Two ways in, one rule:
--   * a plain UPDATE of content.body (or an INSERT with a body) becomes a
--     'manual' version by the caller: the BEFORE trigger numbers it, the
--     AFTER trigger writes it;
--   * the API functions for AI drafts and restores insert the version row
--     themselves (source ai or restore) and then set content.body and
--     content.current_version to it; the AFTER trigger checks they agree.
-- Versions and audit entries cannot be updated, deleted or truncated by
-- anyone through SQL; they go only with their content item or organisation
-- (a foreign-key cascade, seen as a nested trigger).
--

-- API: Private
CREATE FUNCTION caas._content_number_version()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, caas
AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.current_version := CASE WHEN NEW.body = '' THEN 0 ELSE 1 END;
  ELSIF NEW.body IS DISTINCT FROM OLD.body THEN
    IF NEW.current_version = OLD.current_version THEN
      NEW.current_version := OLD.current_version + 1;
    ELSIF NEW.current_version <> OLD.current_version + 1 THEN
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = format('version %s does not follow version %s', NEW.current_version, OLD.current_version);
    END IF;
  ELSIF NEW.current_version <> OLD.current_version THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'current_version changes only with the text';
  END IF;
  RETURN NEW;
END;
$$;
COMMENT ON FUNCTION caas._content_number_version() IS
  'Private trigger: numbers the next version when a content item''s text changes.';

-- API: Private
CREATE FUNCTION caas._content_write_version()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, caas
-- The lookup is by primary key.  A plan cached while content_versions was
-- empty scans it whole, which made bulk inserts quadratic (10,000 content
-- items: 3.6 s).
SET enable_seqscan = off
AS $$
DECLARE
  v caas.content_versions;
BEGIN
  IF NEW.current_version = 0 OR (TG_OP = 'UPDATE' AND NEW.current_version = OLD.current_version) THEN
    RETURN NULL;
  END IF;
  SELECT * INTO v FROM caas.content_versions
   WHERE org_id = NEW.org_id AND content_id = NEW.content_id AND version = NEW.current_version;
  IF NOT FOUND THEN
    INSERT INTO caas.content_versions (org_id, content_id, version, body, source, author_id)
    VALUES (NEW.org_id, NEW.content_id, NEW.current_version, NEW.body, 'manual', caas.current_user_id());
  ELSIF v.body IS DISTINCT FROM NEW.body THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('content text differs from its version %s', NEW.current_version);
  END IF;
  RETURN NULL;
END;
$$;
COMMENT ON FUNCTION caas._content_write_version() IS
  'Private trigger: writes the manual version for a changed text, unless an API function wrote the version already.';

CREATE TRIGGER number_version BEFORE INSERT OR UPDATE ON caas.content
  FOR EACH ROW EXECUTE FUNCTION caas._content_number_version();
CREATE TRIGGER write_version AFTER INSERT OR UPDATE ON caas.content
  FOR EACH ROW EXECUTE FUNCTION caas._content_write_version();

-- API: Private
CREATE FUNCTION caas._forbid_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, caas
AS $$
DECLARE
  user_col text;
BEGIN
  -- A foreign-key action runs this trigger nested in the RI trigger: let a
  -- cascading delete through, and the ON DELETE SET NULL of a deleted user
  -- when it changes nothing but that column.
  IF pg_trigger_depth() > 1 THEN
    IF TG_OP = 'DELETE' THEN
      RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' THEN
      user_col := CASE TG_TABLE_NAME WHEN 'content_versions' THEN 'author_id' ELSE 'actor_id' END;
      IF to_jsonb(NEW) ->> user_col IS NULL AND to_jsonb(NEW) - user_col = to_jsonb(OLD) - user_col THEN
        RETURN NEW;
      END IF;
    END IF;
  END IF;
  RAISE EXCEPTION USING ERRCODE = 'CA007',
    MESSAGE = format('%s rows are immutable', TG_TABLE_NAME),
    DETAIL = format('%s on %s is not allowed.', TG_OP, TG_TABLE_NAME),
    HINT = CASE TG_TABLE_NAME WHEN 'content_versions'
                THEN 'Restore an old version instead: it becomes a new version.'
                ELSE 'The log is append-only.' END;
END;
$$;
COMMENT ON FUNCTION caas._forbid_change() IS
  'Private trigger: refuses UPDATE, DELETE and TRUNCATE of append-only tables (CA007), except deletes cascading from the parent row and the nulling of a deleted user''s id.';

CREATE TRIGGER immutable BEFORE UPDATE OR DELETE ON caas.content_versions
  FOR EACH ROW EXECUTE FUNCTION caas._forbid_change();
CREATE TRIGGER immutable_truncate BEFORE TRUNCATE ON caas.content_versions
  FOR EACH STATEMENT EXECUTE FUNCTION caas._forbid_change();
CREATE TRIGGER immutable BEFORE UPDATE OR DELETE ON caas.audit_log
  FOR EACH ROW EXECUTE FUNCTION caas._forbid_change();
CREATE TRIGGER immutable_truncate BEFORE TRUNCATE ON caas.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION caas._forbid_change();

CREATE FUNCTION caas.text_diff(old_text text, new_text text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'caas_text_diff'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION caas.text_diff(text, text) IS
  'Word-level diff of two texts (Myers over words, spaces, punctuation, CJK characters and whole emoji): {"ops": [{"op": "equal"|"insert"|"delete", "text": ...}], "inserted_chars": n, "deleted_chars": n}. Applying the ops to old_text gives new_text. Texts over 256 KiB raise 22023.';
