--
-- 060_publishing.sql — social accounts, scheduled posts and publish attempts.
--
-- A scheduled post is one row per content item × social account.  The
-- dispatcher claims rows in state 'scheduled' whose run_at has come, leases
-- them (state 'publishing'), publishes, and records every try in
-- post_attempts.
--

CREATE TABLE caas.social_accounts (
  org_id              uuid NOT NULL REFERENCES caas.organizations (org_id) ON DELETE CASCADE,
  account_id          uuid NOT NULL DEFAULT gen_random_uuid(),
  platform            text NOT NULL REFERENCES caas.platforms (platform),
  external_id         text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 255),
  handle              text NOT NULL DEFAULT '' CHECK (length(handle) <= 255),
  display_name        text NOT NULL DEFAULT '' CHECK (length(display_name) <= 255),
  status              caas.account_status NOT NULL DEFAULT 'connected',
  access_token_enc    bytea CHECK (octet_length(access_token_enc) >= 29),
  refresh_token_enc   bytea CHECK (octet_length(refresh_token_enc) >= 29),
  token_key_id        text CHECK (token_key_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
  token_expires_at    timestamptz,
  refresh_expires_at  timestamptz,
  scopes              text[] NOT NULL DEFAULT '{}',
  last_error          text CHECK (length(last_error) <= 2000),
  connected_by        uuid REFERENCES caas.users (user_id) ON DELETE SET NULL,
  connected_at        timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, account_id),
  CONSTRAINT social_accounts_identity_key UNIQUE (org_id, platform, external_id),
  CONSTRAINT social_accounts_connected_has_token CHECK (status <> 'connected' OR access_token_enc IS NOT NULL),
  CONSTRAINT social_accounts_tokens_have_key CHECK (
    (access_token_enc IS NULL AND refresh_token_enc IS NULL) OR token_key_id IS NOT NULL)
);
ALTER TABLE caas.social_accounts ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE caas.social_accounts IS
  'Platform identities an organisation has connected (an X user, a LinkedIn member or page, an Instagram professional account), with their tokens encrypted at rest.';
COMMENT ON COLUMN caas.social_accounts.platform IS 'Platform key from caas.platforms.';
COMMENT ON COLUMN caas.social_accounts.external_id IS 'The platform''s id for the identity: X user id, LinkedIn author URN, Instagram user id.';
COMMENT ON COLUMN caas.social_accounts.handle IS 'Public handle (@name) shown to people.';
COMMENT ON COLUMN caas.social_accounts.display_name IS 'Display name on the platform.';
COMMENT ON COLUMN caas.social_accounts.status IS 'connected, needs_reauth (token expired or revoked: the owner must reconnect) or disconnected.';
COMMENT ON COLUMN caas.social_accounts.access_token_enc IS 'Access token sealed with AES-256-GCM: 12-byte nonce, ciphertext, 16-byte tag. Never stored in clear.';
COMMENT ON COLUMN caas.social_accounts.refresh_token_enc IS 'Refresh token sealed like access_token_enc; never overwritten with nothing on reconnect.';
COMMENT ON COLUMN caas.social_accounts.token_key_id IS 'Id of the key that sealed the tokens, for key rotation.';
COMMENT ON COLUMN caas.social_accounts.token_expires_at IS 'When the access token expires; the dispatcher refreshes before.';
COMMENT ON COLUMN caas.social_accounts.refresh_expires_at IS 'When the refresh token expires, if the platform says.';
COMMENT ON COLUMN caas.social_accounts.scopes IS 'OAuth scopes granted.';
COMMENT ON COLUMN caas.social_accounts.last_error IS 'Last token or publish error that changed the status, for the owner to read.';
COMMENT ON COLUMN caas.social_accounts.connected_by IS 'User who connected the account; NULL once that user is deleted.';
COMMENT ON COLUMN caas.social_accounts.connected_at IS 'When the account was connected.';
CREATE INDEX social_accounts_org_created_idx ON caas.social_accounts (org_id, connected_at DESC, account_id DESC);

CREATE TABLE caas.scheduled_posts (
  org_id            uuid NOT NULL,
  post_id           uuid NOT NULL DEFAULT gen_random_uuid(),
  content_id        uuid NOT NULL,
  content_version   integer NOT NULL,
  account_id        uuid NOT NULL,
  state             caas.post_state NOT NULL DEFAULT 'scheduled',
  due_at            timestamptz NOT NULL,
  timezone          text NOT NULL CHECK (caas.timezone_is_valid(timezone)),
  run_at            timestamptz NOT NULL,
  attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts      integer NOT NULL DEFAULT current_setting('caas.post_max_attempts')::integer
                    CHECK (max_attempts BETWEEN 1 AND 20),
  lease_owner       text CHECK (length(lease_owner) BETWEEN 1 AND 128),
  lease_expires_at  timestamptz,
  remote_id         text CHECK (length(remote_id) BETWEEN 1 AND 255),
  remote_url        text CHECK (remote_url ~ '^https://' AND length(remote_url) <= 2048),
  published_at      timestamptz,
  last_error        text CHECK (length(last_error) <= 2000),
  created_by        uuid REFERENCES caas.users (user_id) ON DELETE SET NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, post_id),
  CONSTRAINT scheduled_posts_one_per_target UNIQUE (org_id, content_id, account_id),
  FOREIGN KEY (org_id) REFERENCES caas.organizations (org_id) ON DELETE CASCADE,
  FOREIGN KEY (org_id, content_id) REFERENCES caas.content (org_id, content_id) ON DELETE CASCADE,
  FOREIGN KEY (org_id, content_id, content_version)
    REFERENCES caas.content_versions (org_id, content_id, version),
  FOREIGN KEY (org_id, account_id) REFERENCES caas.social_accounts (org_id, account_id) ON DELETE RESTRICT,
  CONSTRAINT scheduled_posts_attempts_bounded CHECK (attempts <= max_attempts),
  CONSTRAINT scheduled_posts_lease_matches_state CHECK (
    (state = 'publishing') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)
    AND (lease_owner IS NULL) = (lease_expires_at IS NULL)),
  CONSTRAINT scheduled_posts_published_has_remote_id CHECK (
    state <> 'published' OR (remote_id IS NOT NULL AND published_at IS NOT NULL)),
  CONSTRAINT scheduled_posts_run_not_before_due CHECK (run_at >= due_at)
);
ALTER TABLE caas.scheduled_posts ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE caas.scheduled_posts IS
  'One row per content item × social account: what will be (or was) published where and when, and how it went.';
COMMENT ON COLUMN caas.scheduled_posts.content_id IS 'Content item to publish.';
COMMENT ON COLUMN caas.scheduled_posts.content_version IS 'Version of the content that will be published; pinned when scheduled, so later edits need a reschedule.';
COMMENT ON COLUMN caas.scheduled_posts.account_id IS 'Social account the post goes to.';
COMMENT ON COLUMN caas.scheduled_posts.state IS 'scheduled, publishing, published, failed, unconfirmed or cancelled; transitions are enforced by the extension.';
COMMENT ON COLUMN caas.scheduled_posts.due_at IS 'Instant the user asked for, in UTC.';
COMMENT ON COLUMN caas.scheduled_posts.timezone IS 'IANA zone the user chose the instant in; used to show it back and to keep wall-clock intent across DST.';
COMMENT ON COLUMN caas.scheduled_posts.run_at IS 'Next instant the dispatcher may try: due_at at first, later after a retry backoff.';
COMMENT ON COLUMN caas.scheduled_posts.attempts IS 'Publish attempts made so far (the first one counts).';
COMMENT ON COLUMN caas.scheduled_posts.max_attempts IS 'Attempts allowed before the post fails; defaults to caas.post_max_attempts.';
COMMENT ON COLUMN caas.scheduled_posts.lease_owner IS 'Dispatcher holding the post while publishing; set exactly in state publishing.';
COMMENT ON COLUMN caas.scheduled_posts.lease_expires_at IS 'When the lease lapses and the sweeper may take the post back.';
COMMENT ON COLUMN caas.scheduled_posts.remote_id IS 'Id the platform gave the published post, stored the moment it comes back.';
COMMENT ON COLUMN caas.scheduled_posts.remote_url IS 'Permalink of the published post, where the platform gives one.';
COMMENT ON COLUMN caas.scheduled_posts.published_at IS 'When the platform accepted the post.';
COMMENT ON COLUMN caas.scheduled_posts.last_error IS 'Message of the last failed attempt, for people.';
COMMENT ON COLUMN caas.scheduled_posts.created_by IS 'User who scheduled the post; NULL once that user is deleted.';
-- The dispatcher's access path: due posts by due instant, waiting state only.
CREATE INDEX scheduled_posts_due_idx ON caas.scheduled_posts (run_at) WHERE state = 'scheduled';
-- The sweeper's access path: leases that may have lapsed.
CREATE INDEX scheduled_posts_lease_idx ON caas.scheduled_posts (lease_expires_at) WHERE state = 'publishing';
-- Lists: by due instant (calendar) and by creation (keyset pagination).
CREATE INDEX scheduled_posts_org_due_idx ON caas.scheduled_posts (org_id, due_at, post_id);
CREATE INDEX scheduled_posts_org_created_idx ON caas.scheduled_posts (org_id, created_at DESC, post_id DESC);
CREATE INDEX scheduled_posts_account_idx ON caas.scheduled_posts (org_id, account_id, due_at);

CREATE TABLE caas.post_attempts (
  org_id         uuid NOT NULL,
  post_id        uuid NOT NULL,
  attempt        integer NOT NULL CHECK (attempt >= 1),
  dispatcher     text NOT NULL CHECK (length(dispatcher) BETWEEN 1 AND 128),
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  outcome        caas.attempt_outcome,
  http_status    integer CHECK (http_status BETWEEN 100 AND 599),
  error_message  text CHECK (length(error_message) <= 2000),
  remote_id      text CHECK (length(remote_id) BETWEEN 1 AND 255),
  PRIMARY KEY (org_id, post_id, attempt),
  FOREIGN KEY (org_id, post_id) REFERENCES caas.scheduled_posts (org_id, post_id) ON DELETE CASCADE,
  CONSTRAINT post_attempts_finish_after_start CHECK (finished_at >= started_at),
  CONSTRAINT post_attempts_outcome_when_finished CHECK ((finished_at IS NULL) = (outcome IS NULL)),
  CONSTRAINT post_attempts_published_has_remote_id CHECK (outcome <> 'published' OR remote_id IS NOT NULL)
);
ALTER TABLE caas.post_attempts ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE caas.post_attempts IS 'Every publish attempt of every scheduled post: when, who, the HTTP status and the outcome class.';
COMMENT ON COLUMN caas.post_attempts.post_id IS 'Scheduled post this attempt tried to publish.';
COMMENT ON COLUMN caas.post_attempts.attempt IS 'Attempt number, 1 for the first try.';
COMMENT ON COLUMN caas.post_attempts.dispatcher IS 'Dispatcher instance that made the attempt (host:pid or worker name).';
COMMENT ON COLUMN caas.post_attempts.started_at IS 'When the request was about to be sent.';
COMMENT ON COLUMN caas.post_attempts.finished_at IS 'When the outcome was recorded; NULL while in flight.';
COMMENT ON COLUMN caas.post_attempts.outcome IS 'published, retryable, needs_reauth, permanent or unknown.';
COMMENT ON COLUMN caas.post_attempts.http_status IS 'HTTP status the platform answered; NULL when no answer came.';
COMMENT ON COLUMN caas.post_attempts.error_message IS 'What went wrong, safe to show the customer (no tokens).';
COMMENT ON COLUMN caas.post_attempts.remote_id IS 'Id the platform returned, when it returned one.';
