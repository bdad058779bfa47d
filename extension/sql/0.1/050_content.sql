--
-- 050_content.sql — content items and their immutable versions.
--
-- content.body is the current text; every text a content item ever had is a
-- row of content_versions, numbered from 1.  content.current_version names
-- the row body was copied from.
--

CREATE TABLE caas.content (
  org_id           uuid NOT NULL,
  content_id       uuid NOT NULL DEFAULT gen_random_uuid(),
  workspace_id     uuid NOT NULL,
  title            text NOT NULL DEFAULT '' CHECK (length(title) <= 300),
  body             text NOT NULL DEFAULT '' CHECK (length(body) <= 65536),
  platform         text REFERENCES caas.platforms (platform),
  media_urls       text[] NOT NULL DEFAULT '{}'
                   CHECK (cardinality(media_urls) <= 10 AND array_position(media_urls, NULL) IS NULL),
  status           caas.content_status NOT NULL DEFAULT 'draft',
  current_version  integer NOT NULL DEFAULT 0 CHECK (current_version >= 0),
  created_by       uuid REFERENCES caas.users (user_id) ON DELETE SET NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, content_id),
  FOREIGN KEY (org_id) REFERENCES caas.organizations (org_id) ON DELETE CASCADE,
  FOREIGN KEY (org_id, workspace_id) REFERENCES caas.workspaces (org_id, workspace_id) ON DELETE CASCADE
);
ALTER TABLE caas.content ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE caas.content IS
  'Content items: a post in the making, for one platform or none yet. The text''s full history is in caas.content_versions.';
COMMENT ON COLUMN caas.content.workspace_id IS 'Workspace the item belongs to.';
COMMENT ON COLUMN caas.content.title IS 'Internal title for lists; never published.';
COMMENT ON COLUMN caas.content.body IS 'Current text, equal to the body of version current_version.';
COMMENT ON COLUMN caas.content.platform IS 'Platform the text is written for (its length rules apply); NULL while undecided.';
COMMENT ON COLUMN caas.content.media_urls IS 'HTTPS URLs of images attached to the post, in order (Instagram needs one).';
COMMENT ON COLUMN caas.content.status IS 'Editorial status: draft, scheduled, published or archived.';
COMMENT ON COLUMN caas.content.current_version IS 'Number of the version body was taken from; 0 before the first version.';
COMMENT ON COLUMN caas.content.created_by IS 'Author of the item; NULL once that user is deleted.';
-- Keyset pagination of the content list, newest first, optionally by workspace.
CREATE INDEX content_org_created_idx ON caas.content (org_id, created_at DESC, content_id DESC);
CREATE INDEX content_workspace_created_idx ON caas.content (org_id, workspace_id, created_at DESC, content_id DESC);

CREATE TABLE caas.content_versions (
  org_id             uuid NOT NULL,
  content_id         uuid NOT NULL,
  version            integer NOT NULL CHECK (version >= 1),
  body               text NOT NULL CHECK (length(body) <= 65536),
  source             caas.version_source NOT NULL,
  author_id          uuid REFERENCES caas.users (user_id) ON DELETE SET NULL,
  ai_provider        text CHECK (ai_provider ~ '^[a-z][a-z0-9_-]{0,31}$'),
  ai_model           text CHECK (length(ai_model) BETWEEN 1 AND 128),
  prompt_tokens      integer CHECK (prompt_tokens >= 0),
  completion_tokens  integer CHECK (completion_tokens >= 0),
  restored_from      integer,
  created_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, content_id, version),
  FOREIGN KEY (org_id, content_id) REFERENCES caas.content (org_id, content_id) ON DELETE CASCADE,
  CONSTRAINT content_versions_ai_fields CHECK (
    CASE WHEN source = 'ai'
         THEN ai_provider IS NOT NULL AND ai_model IS NOT NULL
              AND prompt_tokens IS NOT NULL AND completion_tokens IS NOT NULL
         ELSE ai_provider IS NULL AND ai_model IS NULL
              AND prompt_tokens IS NULL AND completion_tokens IS NULL
    END),
  CONSTRAINT content_versions_restore_fields CHECK (
    (source = 'restore') = (restored_from IS NOT NULL)
    AND (restored_from IS NULL OR (restored_from >= 1 AND restored_from < version)))
);
ALTER TABLE caas.content_versions ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE caas.content_versions IS
  'Every text a content item has had, numbered from 1. Rows are never updated or deleted, except with their content item.';
COMMENT ON COLUMN caas.content_versions.content_id IS 'Content item this is a version of.';
COMMENT ON COLUMN caas.content_versions.version IS 'Version number, 1 for the first text, +1 for each change.';
COMMENT ON COLUMN caas.content_versions.body IS 'The full text of this version.';
COMMENT ON COLUMN caas.content_versions.source IS 'manual (typed), ai (generated) or restore (copy of an earlier version).';
COMMENT ON COLUMN caas.content_versions.author_id IS 'User who wrote, generated or restored this version.';
COMMENT ON COLUMN caas.content_versions.ai_provider IS 'AI provider that generated the text (openai, gemini, ...); set exactly when source is ai.';
COMMENT ON COLUMN caas.content_versions.ai_model IS 'Model name the provider reported.';
COMMENT ON COLUMN caas.content_versions.prompt_tokens IS 'Input tokens the provider billed for the generation.';
COMMENT ON COLUMN caas.content_versions.completion_tokens IS 'Output tokens the provider billed, thinking tokens included.';
COMMENT ON COLUMN caas.content_versions.restored_from IS 'Version this one copies; set exactly when source is restore.';
