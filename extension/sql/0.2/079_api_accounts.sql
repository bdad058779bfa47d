--
-- 079_api_accounts.sql — social accounts: connect (sealed tokens from the
-- API, never clear text), disconnect, read.  Writers are SECURITY DEFINER
-- with caas._require first; readers run as the caller and never return
-- token columns.
--
-- The dispatcher refreshes an account's tokens under a lease (one refresh
-- at a time per account; 081_token_refresh.sql), held in the two columns
-- added here.  Disconnecting drops the lease with the tokens, so a refresh
-- in flight cannot store tokens back into a disconnected account.
--

ALTER TABLE caas.social_accounts
  ADD COLUMN refresh_lease_owner text CHECK (length(refresh_lease_owner) BETWEEN 1 AND 128),
  ADD COLUMN refresh_lease_expires_at timestamptz,
  ADD CONSTRAINT social_accounts_refresh_lease_complete
    CHECK ((refresh_lease_owner IS NULL) = (refresh_lease_expires_at IS NULL));
COMMENT ON COLUMN caas.social_accounts.refresh_lease_owner IS
  'Dispatcher refreshing the tokens right now; NULL when no refresh is in flight.';
COMMENT ON COLUMN caas.social_accounts.refresh_lease_expires_at IS
  'When the refresh lease lapses and another dispatcher may refresh the account.';
-- The dispatcher's refresh scan: connected accounts with a refresh token, by expiry.
CREATE INDEX social_accounts_refresh_idx ON caas.social_accounts (token_expires_at)
  WHERE status = 'connected' AND refresh_token_enc IS NOT NULL;

-- API: Private
CREATE FUNCTION caas._account_json(org uuid, account uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, caas
AS $$
  SELECT jsonb_build_object(
           'account_id', a.account_id, 'org_id', a.org_id, 'platform', a.platform,
           'external_id', a.external_id, 'handle', a.handle, 'display_name', a.display_name,
           'status', a.status, 'token_expires_at', a.token_expires_at,
           'refresh_expires_at', a.refresh_expires_at, 'scopes', to_jsonb(a.scopes),
           'last_error', a.last_error, 'connected_by', a.connected_by,
           'connected_at', a.connected_at, 'updated_at', a.updated_at)
    FROM caas.social_accounts a
   WHERE a.org_id = org AND a.account_id = account
$$;
COMMENT ON FUNCTION caas._account_json(uuid, uuid) IS
  'Private: a social account as the API returns it, never its tokens; NULL when not visible.';

CREATE FUNCTION caas.account_connect(org uuid, platform text, external_id text, handle text,
                                     display_name text, access_token_enc bytea, refresh_token_enc bytea,
                                     token_key_id text, token_expires_at timestamptz, scopes text[])
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  a caas.social_accounts;
  quota integer;
  n bigint;
BEGIN
  PERFORM caas._require(org, 'account.manage');
  IF NOT EXISTS (SELECT 1 FROM caas.platforms p WHERE p.platform = account_connect.platform) THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown platform "%s"', platform);
  END IF;
  IF access_token_enc IS NULL OR token_key_id IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'an access token and its key id are required';
  END IF;
  SELECT * INTO a FROM caas.social_accounts s
   WHERE s.org_id = org AND s.platform = account_connect.platform AND s.external_id = account_connect.external_id
   FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO caas.social_accounts AS s
      (org_id, platform, external_id, handle, display_name, status, access_token_enc, refresh_token_enc,
       token_key_id, token_expires_at, scopes, connected_by)
    VALUES (org, platform, external_id, coalesce(handle, ''), coalesce(display_name, ''), 'connected',
            access_token_enc, refresh_token_enc, token_key_id, token_expires_at, coalesce(scopes, '{}'),
            caas.current_user_id())
    RETURNING * INTO a;
  ELSE
    IF a.status = 'disconnected' THEN
      -- Coming back counts like a new account (the insert trigger's rule).
      PERFORM 1 FROM caas.organizations o WHERE o.org_id = org FOR NO KEY UPDATE;
      quota := (caas.org_plan(org)).max_social_accounts;
      SELECT count(*) INTO n FROM caas.social_accounts s WHERE s.org_id = org AND s.status <> 'disconnected';
      IF quota IS NOT NULL AND n + 1 > quota THEN
        PERFORM caas._quota_exceeded(org, 'social accounts', quota);
      END IF;
    END IF;
    UPDATE caas.social_accounts s
       SET status = 'connected', handle = coalesce(account_connect.handle, s.handle),
           display_name = coalesce(account_connect.display_name, s.display_name),
           access_token_enc = account_connect.access_token_enc,
           refresh_token_enc = coalesce(account_connect.refresh_token_enc, s.refresh_token_enc),
           token_key_id = account_connect.token_key_id,
           token_expires_at = account_connect.token_expires_at,
           scopes = coalesce(account_connect.scopes, s.scopes), last_error = NULL
     WHERE s.org_id = org AND s.account_id = a.account_id
    RETURNING * INTO a;
  END IF;
  PERFORM caas._audit(org, 'account.connect', 'social_account', a.account_id::text,
                      jsonb_build_object('platform', a.platform, 'external_id', a.external_id));
  RETURN caas._account_json(org, a.account_id);
END;
$$;
COMMENT ON FUNCTION caas.account_connect(uuid, text, text, text, text, bytea, bytea, text, timestamptz, text[]) IS
  'Connects a social account (account.manage) with tokens the API sealed (AES-256-GCM, key token_key_id); never clear text. Reconnecting the same platform identity updates its tokens and status and never replaces a stored refresh token with NULL. CA001 beyond the plan''s social accounts, 22023 for an unknown platform or a missing access token. Returns the account without its tokens.';

CREATE FUNCTION caas.account_disconnect(org uuid, account uuid)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  n integer;
BEGIN
  PERFORM caas._require(org, 'account.manage');
  UPDATE caas.social_accounts s
     SET status = 'disconnected', access_token_enc = NULL, refresh_token_enc = NULL, token_key_id = NULL,
         token_expires_at = NULL, refresh_expires_at = NULL,
         refresh_lease_owner = NULL, refresh_lease_expires_at = NULL
   WHERE s.org_id = org AND s.account_id = account;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'social account not found';
  END IF;
  UPDATE caas.scheduled_posts p SET state = 'cancelled', last_error = 'account disconnected'
   WHERE p.org_id = org AND p.account_id = account AND p.state = 'scheduled';
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM caas._audit(org, 'account.disconnect', 'social_account', account::text,
                      jsonb_build_object('posts_cancelled', n));
  RETURN caas._account_json(org, account) || jsonb_build_object('posts_cancelled', n);
END;
$$;
COMMENT ON FUNCTION caas.account_disconnect(uuid, uuid) IS
  'Disconnects a social account (account.manage): its tokens are erased (and a token refresh in flight loses its lease) and its posts waiting in state scheduled are cancelled with last_error "account disconnected" (posts_cancelled says how many). P0002 when not found.';

CREATE FUNCTION caas.account_get(org uuid, account uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  r jsonb;
BEGIN
  PERFORM caas._require(org, 'content.read');
  r := caas._account_json(org, account);
  IF r IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'social account not found';
  END IF;
  RETURN r;
END;
$$;
COMMENT ON FUNCTION caas.account_get(uuid, uuid) IS
  'One social account of the organisation (content.read), without its tokens. P0002 when not found.';

CREATE FUNCTION caas.account_list(org uuid, cursor text DEFAULT NULL, lim integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  n integer := caas._page_size(lim);
  c record;
BEGIN
  PERFORM caas._require(org, 'content.read');
  SELECT * INTO c FROM caas._cursor_decode(cursor);
  RETURN caas._page((
    SELECT jsonb_agg(caas._account_json(org, a.account_id) ORDER BY a.connected_at DESC, a.account_id DESC)
      FROM (SELECT s.account_id, s.connected_at
              FROM caas.social_accounts s
             WHERE s.org_id = org
               AND (c.ts IS NULL OR (s.connected_at, s.account_id) < (c.ts, c.id))
             ORDER BY s.connected_at DESC, s.account_id DESC
             LIMIT n + 1) a), n, 'connected_at', 'account_id');
END;
$$;
COMMENT ON FUNCTION caas.account_list(uuid, text, integer) IS
  'Social accounts of the organisation (content.read), newest connection first, keyset-paginated on (connected_at, account_id): {"items", "next_cursor"}. Never returns tokens.';


REVOKE EXECUTE ON FUNCTION
  caas._account_json(uuid, uuid),
  caas.account_connect(uuid, text, text, text, text, bytea, bytea, text, timestamptz, text[]),
  caas.account_disconnect(uuid, uuid), caas.account_get(uuid, uuid), caas.account_list(uuid, text, integer)
  FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
  caas.account_connect(uuid, text, text, text, text, bytea, bytea, text, timestamptz, text[]),
  caas.account_disconnect(uuid, uuid), caas.account_get(uuid, uuid), caas.account_list(uuid, text, integer),
  caas._account_json(uuid, uuid)
  TO caas_user;
