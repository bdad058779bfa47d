--
-- 030_identity.sql — people: users, their profiles and their refresh tokens.
--
-- A user can belong to many organisations, so users are not tenant rows; on
-- Citus they are a reference table that tenant tables point to.
--

CREATE TABLE caas.users (
  user_id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email            text NOT NULL,
  password_hash    text NOT NULL CHECK (password_hash ~ '^\$(argon2id|scrypt)\$'),
  is_active        boolean NOT NULL DEFAULT true,
  email_verified_at timestamptz,
  last_login_at    timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_email_key UNIQUE (email),
  CONSTRAINT users_email_format CHECK (
    email = lower(email) AND length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$')
);
COMMENT ON TABLE caas.users IS
  'People who can log in. Global (a user may belong to several organisations); their rights inside an organisation come from caas.organization_members.';
COMMENT ON COLUMN caas.users.user_id IS 'Stable identifier; the JWT subject.';
COMMENT ON COLUMN caas.users.email IS 'Login e-mail, stored lower case; unique.';
COMMENT ON COLUMN caas.users.password_hash IS 'PHC string of an argon2id or scrypt hash; never the password.';
COMMENT ON COLUMN caas.users.is_active IS 'False blocks login without deleting the user.';
COMMENT ON COLUMN caas.users.email_verified_at IS 'When the user proved they own the address; NULL if never.';
COMMENT ON COLUMN caas.users.last_login_at IS 'Instant of the last successful login.';

CREATE TABLE caas.profiles (
  user_id      uuid PRIMARY KEY REFERENCES caas.users (user_id) ON DELETE CASCADE,
  first_name   text NOT NULL DEFAULT '' CHECK (length(first_name) <= 100),
  last_name    text NOT NULL DEFAULT '' CHECK (length(last_name) <= 100),
  avatar_url   text CHECK (avatar_url ~ '^https://' AND length(avatar_url) <= 2048),
  timezone     text NOT NULL DEFAULT 'UTC' CHECK (caas.timezone_is_valid(timezone)),
  locale       text NOT NULL DEFAULT 'en' CHECK (locale ~ '^[a-z]{2,3}(-[A-Z]{2})?$'),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE caas.profiles IS 'What a user tells about themselves; one row per user.';
COMMENT ON COLUMN caas.profiles.user_id IS 'User this profile describes.';
COMMENT ON COLUMN caas.profiles.first_name IS 'Given name, as the user typed it.';
COMMENT ON COLUMN caas.profiles.last_name IS 'Family name, as the user typed it.';
COMMENT ON COLUMN caas.profiles.avatar_url IS 'HTTPS URL of the user''s picture.';
COMMENT ON COLUMN caas.profiles.timezone IS 'IANA zone the dashboard shows times in and schedules default to.';
COMMENT ON COLUMN caas.profiles.locale IS 'BCP 47 language tag (en, fr, pt-BR) for messages and AI drafts.';

CREATE TABLE caas.refresh_tokens (
  token_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid NOT NULL REFERENCES caas.users (user_id) ON DELETE CASCADE,
  family_id     uuid NOT NULL,
  parent_id     uuid REFERENCES caas.refresh_tokens (token_id) ON DELETE SET NULL,
  token_hash    bytea NOT NULL CHECK (octet_length(token_hash) = 32),
  issued_at     timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  consumed_at   timestamptz,
  revoked_at    timestamptz,
  CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash),
  CONSTRAINT refresh_tokens_expiry_after_issue CHECK (expires_at > issued_at),
  CONSTRAINT refresh_tokens_consumed_after_issue CHECK (consumed_at >= issued_at)
);
COMMENT ON TABLE caas.refresh_tokens IS
  'Opaque refresh tokens, stored only as SHA-256 hashes. Rotated on every use: the new token''s parent is the spent one, and all tokens of one login share a family, so presenting a spent token revokes the family.';
COMMENT ON COLUMN caas.refresh_tokens.user_id IS 'User the token was issued to.';
COMMENT ON COLUMN caas.refresh_tokens.family_id IS 'All tokens descending from one login; revoked together on reuse.';
COMMENT ON COLUMN caas.refresh_tokens.parent_id IS 'Token this one replaced; NULL for the first token of a login.';
COMMENT ON COLUMN caas.refresh_tokens.token_hash IS 'SHA-256 of the token; the token itself is never stored.';
COMMENT ON COLUMN caas.refresh_tokens.issued_at IS 'When the token was issued.';
COMMENT ON COLUMN caas.refresh_tokens.expires_at IS 'After this instant the token is refused.';
COMMENT ON COLUMN caas.refresh_tokens.consumed_at IS 'When the token was exchanged for a new one; a second use means theft.';
COMMENT ON COLUMN caas.refresh_tokens.revoked_at IS 'When logout, a password change or reuse detection revoked it.';
CREATE INDEX refresh_tokens_user_idx ON caas.refresh_tokens (user_id);
CREATE INDEX refresh_tokens_family_idx ON caas.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_parent_idx ON caas.refresh_tokens (parent_id);
CREATE INDEX refresh_tokens_expires_idx ON caas.refresh_tokens (expires_at);
