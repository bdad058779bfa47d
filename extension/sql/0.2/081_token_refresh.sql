--
-- 081_token_refresh.sql — the dispatcher refreshes social accounts' tokens
-- before they expire, one refresh at a time per account.
--
-- A refresh is leased like a post (social_accounts.refresh_lease_owner and
-- refresh_lease_expires_at, 079_api_accounts.sql): dispatch_refresh_claim
-- leases accounts whose access token expires within a horizon (the
-- periodic scan), dispatch_refresh_account leases one on demand (after a
-- 401); the lease holder then stores the new tokens (dispatch_token_store)
-- or gives up (dispatch_token_failed), and either releases the lease.  A
-- platform that rotates refresh tokens (X) invalidates the old one as soon
-- as it answers, so storing is accepted from the lease holder even after
-- its lease lapsed, as long as nobody took the account over since.
--
-- Tokens are sealed by the dispatcher (AES-256-GCM, key token_key_id) and
-- travel as bytea in, base64 without newlines out; a stored refresh token
-- is never replaced with NULL.  One key id covers both tokens of an
-- account, so new tokens sealed with another key must bring the refresh
-- token sealed with that key too (22023 otherwise).
--
-- All SECURITY DEFINER, filtering by the org_id they are given, executable
-- by caas_dispatcher only.
--

-- API: Private
CREATE FUNCTION caas._account_tokens_json(a caas.social_accounts)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, caas
AS $$
  SELECT jsonb_build_object(
           'org_id', a.org_id, 'account_id', a.account_id, 'platform', a.platform,
           'external_id', a.external_id, 'token_key_id', a.token_key_id,
           'access_token_enc', caas._b64(a.access_token_enc),
           'refresh_token_enc', caas._b64(a.refresh_token_enc),
           'token_expires_at', a.token_expires_at)
$$;
COMMENT ON FUNCTION caas._account_tokens_json(caas.social_accounts) IS
  'Private: what the dispatcher needs to refresh an account: ids, platform, external_id, token_key_id, the sealed tokens (base64) and token_expires_at.';

-- API: Private
CREATE FUNCTION caas._account_lock(org uuid, account uuid)
RETURNS caas.social_accounts
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  a caas.social_accounts;
BEGIN
  SELECT * INTO a FROM caas.social_accounts s
   WHERE s.org_id = org AND s.account_id = account
   FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = 'social account not found';
  END IF;
  RETURN a;
END;
$$;
COMMENT ON FUNCTION caas._account_lock(uuid, uuid) IS
  'Private: the social account, locked for update (P0002 when it does not exist).';

-- API: Private
CREATE FUNCTION caas._account_refresh_held(a caas.social_accounts, dispatcher text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  IF a.refresh_lease_owner IS DISTINCT FROM dispatcher THEN
    RAISE EXCEPTION USING ERRCODE = 'CA002',
      MESSAGE = format('social account is not leased to %s for a token refresh', dispatcher),
      HINT = 'Lease the account with caas.dispatch_refresh_claim or caas.dispatch_refresh_account first; the account may have been disconnected meanwhile.';
  END IF;
END;
$$;
COMMENT ON FUNCTION caas._account_refresh_held(caas.social_accounts, text) IS
  'Private: CA002 unless this dispatcher holds the account''s refresh lease.';

CREATE FUNCTION caas.dispatch_refresh_claim(dispatcher text, batch integer, horizon_seconds integer,
                                            lease_seconds integer)
RETURNS SETOF jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
  IF batch IS NULL OR batch NOT BETWEEN 1 AND 10000 THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = CASE WHEN batch IS NULL THEN 'a batch size is required'
                     ELSE format('batch of %s accounts is out of range', batch) END,
      HINT = 'Claim 1 to 10000 accounts at a time.';
  END IF;
  IF horizon_seconds IS NULL OR horizon_seconds NOT BETWEEN 0 AND 2592000 THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = CASE WHEN horizon_seconds IS NULL THEN 'a horizon is required'
                     ELSE format('horizon of %s seconds is out of range', horizon_seconds) END,
      HINT = 'Look 0 to 2592000 seconds (30 days) ahead.';
  END IF;
  PERFORM caas._dispatch_check_lease(lease_seconds);
  RETURN QUERY
  WITH due AS (
    SELECT a.org_id, a.account_id
      FROM caas.social_accounts a
     WHERE a.status = 'connected' AND a.refresh_token_enc IS NOT NULL
       AND a.token_expires_at < now() + make_interval(secs => dispatch_refresh_claim.horizon_seconds)
       AND (a.refresh_lease_expires_at IS NULL OR a.refresh_lease_expires_at < now())
     ORDER BY a.token_expires_at
     LIMIT dispatch_refresh_claim.batch
       FOR NO KEY UPDATE SKIP LOCKED
  ), leased AS (
    UPDATE caas.social_accounts s
       SET refresh_lease_owner = dispatch_refresh_claim.dispatcher,
           refresh_lease_expires_at = now() + make_interval(secs => dispatch_refresh_claim.lease_seconds)
      FROM due d
     WHERE s.org_id = d.org_id AND s.account_id = d.account_id
    RETURNING s
  )
  SELECT caas._account_tokens_json(l.s) FROM leased l ORDER BY (l.s).token_expires_at;
END;
$$;
COMMENT ON FUNCTION caas.dispatch_refresh_claim(text, integer, integer, integer) IS
  'Dispatcher: leases for lease_seconds up to batch connected accounts that have a refresh token, whose access token expires within horizon_seconds and that no live refresh lease holds, soonest expiry first, with FOR UPDATE SKIP LOCKED. Returns per account {org_id, account_id, platform, external_id, token_key_id, access_token_enc, refresh_token_enc, token_expires_at} (tokens sealed, base64). 22023 for a batch out of 1..10000, a horizon out of 0..2592000 s or a lease out of 1..86400 s.';

CREATE FUNCTION caas.dispatch_refresh_account(dispatcher text, org uuid, account uuid, lease_seconds integer)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  a caas.social_accounts;
BEGIN
  PERFORM caas._dispatch_check_lease(lease_seconds);
  a := caas._account_lock(org, account);
  IF a.status <> 'connected' OR a.refresh_token_enc IS NULL OR a.refresh_lease_expires_at >= now() THEN
    RETURN NULL;
  END IF;
  UPDATE caas.social_accounts s
     SET refresh_lease_owner = dispatcher,
         refresh_lease_expires_at = now() + make_interval(secs => lease_seconds)
   WHERE s.org_id = org AND s.account_id = account
  RETURNING * INTO a;
  RETURN caas._account_tokens_json(a);
END;
$$;
COMMENT ON FUNCTION caas.dispatch_refresh_account(text, uuid, uuid, integer) IS
  'Dispatcher: leases one account for a token refresh now (after the platform refused its access token), for lease_seconds. Returns the same object as caas.dispatch_refresh_claim, or NULL when a refresh already holds the account''s lease (wait for it, then read the new tokens from the next claim) or when the account is not connected or has no refresh token. P0002 for an unknown account.';

CREATE FUNCTION caas.dispatch_token_store(dispatcher text, org uuid, account uuid, access_token_enc bytea,
                                          refresh_token_enc bytea, token_key_id text,
                                          token_expires_at timestamptz, refresh_expires_at timestamptz)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  a caas.social_accounts;
BEGIN
  IF access_token_enc IS NULL OR token_key_id IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'an access token and its key id are required';
  END IF;
  a := caas._account_lock(org, account);
  PERFORM caas._account_refresh_held(a, dispatcher);
  IF refresh_token_enc IS NULL AND a.refresh_token_enc IS NOT NULL
     AND a.token_key_id IS DISTINCT FROM dispatch_token_store.token_key_id THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('the stored refresh token is sealed with key %s, not %s', a.token_key_id, token_key_id),
      HINT = 'Seal the refresh token with the new key too and pass it along.';
  END IF;
  UPDATE caas.social_accounts s
     SET access_token_enc = dispatch_token_store.access_token_enc,
         refresh_token_enc = coalesce(dispatch_token_store.refresh_token_enc, s.refresh_token_enc),
         token_key_id = dispatch_token_store.token_key_id,
         token_expires_at = dispatch_token_store.token_expires_at,
         refresh_expires_at = CASE WHEN dispatch_token_store.refresh_token_enc IS NOT NULL
                                   THEN dispatch_token_store.refresh_expires_at
                                   ELSE coalesce(dispatch_token_store.refresh_expires_at, s.refresh_expires_at) END,
         status = 'connected', last_error = NULL,
         refresh_lease_owner = NULL, refresh_lease_expires_at = NULL
   WHERE s.org_id = org AND s.account_id = account;
  RETURN caas._account_json(org, account);
END;
$$;
COMMENT ON FUNCTION caas.dispatch_token_store(text, uuid, uuid, bytea, bytea, text, timestamptz, timestamptz) IS
  'Dispatcher: stores the tokens a refresh returned (sealed with token_key_id), marks the account connected and releases the refresh lease. A NULL refresh_token_enc keeps the stored one (never replaced with NULL), which needs the same key id (22023 otherwise: re-seal it with the new key). CA002 unless the caller holds the refresh lease (even lapsed, if nobody took it since), P0002 for an unknown account, 22023 without an access token or key id. Returns the account without its tokens.';

CREATE FUNCTION caas.dispatch_token_failed(dispatcher text, org uuid, account uuid, reauth boolean, message text)
RETURNS void
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  a caas.social_accounts;
BEGIN
  IF reauth IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'say whether the account needs re-authorisation';
  END IF;
  a := caas._account_lock(org, account);
  PERFORM caas._account_refresh_held(a, dispatcher);
  UPDATE caas.social_accounts s
     SET refresh_lease_owner = NULL, refresh_lease_expires_at = NULL,
         status = CASE WHEN reauth AND s.status = 'connected' THEN 'needs_reauth' ELSE s.status END,
         last_error = CASE WHEN reauth
                           THEN coalesce(left(message, 2000), 'the platform refused the refresh token')
                           ELSE s.last_error END
   WHERE s.org_id = org AND s.account_id = account;
END;
$$;
COMMENT ON FUNCTION caas.dispatch_token_failed(text, uuid, uuid, boolean, text) IS
  'Dispatcher: a token refresh failed; releases the refresh lease. reauth true (the platform refused the refresh token) marks a connected account needs_reauth with message as last_error, for its owner to reconnect; false (a transient failure) changes nothing else, and the account is tried again at the next claim. message must hold no secret. CA002 unless the caller holds the refresh lease, P0002 for an unknown account.';


REVOKE EXECUTE ON FUNCTION
  caas._account_tokens_json(caas.social_accounts), caas._account_lock(uuid, uuid),
  caas._account_refresh_held(caas.social_accounts, text),
  caas.dispatch_refresh_claim(text, integer, integer, integer),
  caas.dispatch_refresh_account(text, uuid, uuid, integer),
  caas.dispatch_token_store(text, uuid, uuid, bytea, bytea, text, timestamptz, timestamptz),
  caas.dispatch_token_failed(text, uuid, uuid, boolean, text)
  FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
  caas.dispatch_refresh_claim(text, integer, integer, integer),
  caas.dispatch_refresh_account(text, uuid, uuid, integer),
  caas.dispatch_token_store(text, uuid, uuid, bytea, bytea, text, timestamptz, timestamptz),
  caas.dispatch_token_failed(text, uuid, uuid, boolean, text)
  TO caas_dispatcher;
