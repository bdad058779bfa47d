--
-- 083_oauth.sql — the state of an OAuth 2.0 authorisation in progress
-- (connecting a social account through the platform's consent page).
--
-- The API makes a random state (and, for PKCE, a code verifier), keeps the
-- state's SHA-256 here with who started the flow, for which organisation
-- and platform, and the verifier sealed like a token (AES-256-GCM, key
-- token_key_id, additional data naming the platform), then sends the
-- browser to the platform.  The callback brings the state back:
-- caas.oauth_finish consumes the row (single use) and hands the API what it
-- needs to exchange the code; the API then connects the account with
-- caas.account_connect as the user who started the flow, so the
-- permission is checked again at that moment.  A state lives 10 minutes.
--
-- Not tenant data: a callback is matched by its state alone, before the
-- organisation is known (like refresh_tokens and stripe_events), so the
-- table is keyed by the state hash and org_id is not a foreign key (a
-- state outliving its organisation fails at account_connect).  Rows are
-- reached only through the two functions; expired ones are kept a day so
-- a late callback is told "expired" rather than "unknown", then removed by
-- the next caas.oauth_begin.
--

CREATE TABLE caas.oauth_states (
  org_id        uuid NOT NULL,
  state_hash    bytea PRIMARY KEY CHECK (octet_length(state_hash) = 32),
  user_id       uuid NOT NULL REFERENCES caas.users (user_id) ON DELETE CASCADE,
  platform      text NOT NULL REFERENCES caas.platforms (platform),
  verifier_enc  bytea CHECK (octet_length(verifier_enc) >= 29),
  token_key_id  text CHECK (token_key_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
  redirect_uri  text NOT NULL CHECK (redirect_uri ~ '^https?://[^[:space:]]+$' AND length(redirect_uri) <= 2048),
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  CONSTRAINT oauth_states_verifier_has_key CHECK (verifier_enc IS NULL OR token_key_id IS NOT NULL),
  CONSTRAINT oauth_states_expire_after_creation CHECK (expires_at > created_at)
);
ALTER TABLE caas.oauth_states ENABLE ROW LEVEL SECURITY;
ALTER TABLE caas.oauth_states FORCE ROW LEVEL SECURITY;
COMMENT ON TABLE caas.oauth_states IS
  'OAuth 2.0 authorisations in progress, one row per state the API sent to a platform, consumed by the callback (single use) or expired after 10 minutes. Not tenant data: matched by the state alone. Reached only through caas.oauth_begin and caas.oauth_finish.';
COMMENT ON COLUMN caas.oauth_states.org_id IS 'Organisation the account will be connected to (not a foreign key: see the table''s comment).';
COMMENT ON COLUMN caas.oauth_states.state_hash IS 'SHA-256 of the state parameter; the state itself is never stored.';
COMMENT ON COLUMN caas.oauth_states.user_id IS 'User who started the flow; the account is connected as this user.';
COMMENT ON COLUMN caas.oauth_states.platform IS 'Platform being connected (never the sandbox).';
COMMENT ON COLUMN caas.oauth_states.verifier_enc IS 'PKCE code verifier sealed like a token (AES-256-GCM, key token_key_id); NULL for platforms without PKCE.';
COMMENT ON COLUMN caas.oauth_states.token_key_id IS 'Id of the key that sealed the verifier.';
COMMENT ON COLUMN caas.oauth_states.redirect_uri IS 'Redirect URI sent to the platform; the code exchange must repeat it.';
COMMENT ON COLUMN caas.oauth_states.expires_at IS 'When the state stops being accepted (10 minutes after creation).';
-- The clean-up of expired states in caas.oauth_begin.
CREATE INDEX oauth_states_expires_idx ON caas.oauth_states (expires_at);

CREATE FUNCTION caas.oauth_begin(org uuid, platform text, state_hash bytea, verifier_enc bytea,
                                 token_key_id text, redirect_uri text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  o caas.oauth_states;
BEGIN
  PERFORM caas._require(org, 'account.manage');
  IF NOT EXISTS (SELECT 1 FROM caas.platforms p WHERE p.platform = oauth_begin.platform AND NOT p.is_sandbox) THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = CASE WHEN EXISTS (SELECT 1 FROM caas.platforms p WHERE p.platform = oauth_begin.platform)
                     THEN format('%s accounts are not connected by OAuth', platform)
                     ELSE format('unknown platform "%s"', platform) END,
      HINT = 'Connect an X, LinkedIn or Instagram account.';
  END IF;
  IF state_hash IS NULL OR octet_length(state_hash) <> 32 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'the state hash must be a SHA-256 (32 bytes)';
  END IF;
  IF verifier_enc IS NOT NULL AND (token_key_id IS NULL OR octet_length(verifier_enc) < 29) THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a sealed verifier needs its key id',
      HINT = 'Pass the verifier sealed with AES-256-GCM (nonce, ciphertext, tag) and the id of its key.';
  END IF;
  IF redirect_uri IS NULL OR redirect_uri !~ '^https?://[^[:space:]]+$' OR length(redirect_uri) > 2048 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'invalid redirect URI',
      HINT = 'Give the absolute http(s) callback URL registered with the platform.';
  END IF;

  DELETE FROM caas.oauth_states s WHERE s.expires_at < now() - interval '1 day';
  INSERT INTO caas.oauth_states AS s (org_id, state_hash, user_id, platform, verifier_enc, token_key_id,
                                      redirect_uri, expires_at)
  VALUES (org, state_hash, caas.current_user_id(), platform, verifier_enc, token_key_id,
          redirect_uri, now() + interval '10 minutes')
  RETURNING * INTO o;
  RETURN jsonb_build_object('org_id', o.org_id, 'platform', o.platform, 'expires_at', o.expires_at);
END;
$$;
COMMENT ON FUNCTION caas.oauth_begin(uuid, text, bytea, bytea, text, text) IS
  'Starts connecting a social account by OAuth (account.manage): records the SHA-256 of the state the API sends to the platform, the caller, the PKCE verifier sealed with key token_key_id (or NULL) and the redirect URI, for 10 minutes. Returns {org_id, platform, expires_at}. 22023 for an unknown platform or the sandbox, a state hash that is not 32 bytes, a verifier without key id, an invalid redirect URI.';

CREATE FUNCTION caas.oauth_finish(state_hash bytea)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  o caas.oauth_states;
BEGIN
  DELETE FROM caas.oauth_states s WHERE s.state_hash = oauth_finish.state_hash
  RETURNING * INTO o;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'unknown or used OAuth state',
      HINT = 'Start connecting the account again.';
  END IF;
  IF o.expires_at <= now() THEN
    -- The error undoes the delete; an expired row can never be used anyway
    -- and goes with the next clean-up.
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'OAuth state expired',
      DETAIL = format('It expired at %s.', o.expires_at),
      HINT = 'Start connecting the account again.';
  END IF;
  RETURN jsonb_build_object(
    'org_id', o.org_id, 'user_id', o.user_id, 'platform', o.platform,
    'verifier_enc', caas._b64(o.verifier_enc), 'token_key_id', o.token_key_id,
    'redirect_uri', o.redirect_uri);
END;
$$;
COMMENT ON FUNCTION caas.oauth_finish(bytea) IS
  'Consumes an OAuth state at the callback (single use, whoever calls): returns {org_id, user_id, platform, verifier_enc (sealed, base64, or null), token_key_id, redirect_uri}. P0002 "unknown or used OAuth state", 22023 when expired. The API then calls caas.account_connect as user_id, which checks the permission again.';


REVOKE EXECUTE ON FUNCTION
  caas.oauth_begin(uuid, text, bytea, bytea, text, text), caas.oauth_finish(bytea)
  FROM PUBLIC;

GRANT EXECUTE ON FUNCTION caas.oauth_begin(uuid, text, bytea, bytea, text, text) TO caas_user;
GRANT EXECUTE ON FUNCTION caas.oauth_finish(bytea) TO caas_anon, caas_user;
