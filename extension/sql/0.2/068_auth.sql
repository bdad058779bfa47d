--
-- 068_auth.sql — refresh tokens and password changes, for the API's auth
-- endpoints.
--
-- The API verifies passwords (argon2id, in C) and signs access tokens; the
-- database keeps refresh tokens, only as SHA-256 hashes.  A refresh token is
-- rotated on every use: the spent one is marked consumed and a new one of
-- the same family issued.  Presenting a spent token again means it was
-- stolen: the whole family is revoked (RFC 6819 §4.14.2).  Logout revokes
-- the family; a password change revokes every family of the user.
--
-- Trust: auth_refresh_issue is executable by caas_anon, i.e. by the API
-- before it knows the caller: the database trusts the API to call it only
-- after checking the password.  No other role may call it.
--

CREATE FUNCTION caas.auth_refresh_issue(user_id uuid, token_hash bytea, ttl_seconds integer)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  family uuid := gen_random_uuid();
BEGIN
  IF ttl_seconds IS NULL OR ttl_seconds < 60 OR ttl_seconds > 90 * 86400 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'refresh token lifetime out of range';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM caas.users u WHERE u.user_id = auth_refresh_issue.user_id AND u.is_active) THEN
    RAISE EXCEPTION USING ERRCODE = '28000', MESSAGE = 'no such active user';
  END IF;
  INSERT INTO caas.refresh_tokens (user_id, family_id, token_hash, expires_at)
  VALUES (auth_refresh_issue.user_id, family, token_hash, now() + make_interval(secs => ttl_seconds));
  UPDATE caas.users u SET last_login_at = now() WHERE u.user_id = auth_refresh_issue.user_id;
  RETURN family;
END;
$$;
COMMENT ON FUNCTION caas.auth_refresh_issue(uuid, bytea, integer) IS
  'After a successful login: stores the SHA-256 of a new refresh token as the first of a new family, valid ttl_seconds, and records the login. For the API only (caas_anon).';

CREATE FUNCTION caas.auth_refresh_rotate(old_hash bytea, new_hash bytea, ttl_seconds integer)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  t caas.refresh_tokens;
BEGIN
  SELECT * INTO t FROM caas.refresh_tokens r WHERE r.token_hash = old_hash FOR UPDATE;
  IF NOT FOUND OR t.revoked_at IS NOT NULL OR t.expires_at <= now()
     OR NOT EXISTS (SELECT 1 FROM caas.users u WHERE u.user_id = t.user_id AND u.is_active) THEN
    RETURN jsonb_build_object('status', 'invalid');
  END IF;
  IF t.consumed_at IS NOT NULL THEN
    -- Reuse of a spent token: revoke the family, and say so (the caller
    -- answers 401 either way; the change commits).
    UPDATE caas.refresh_tokens SET revoked_at = now()
     WHERE family_id = t.family_id AND revoked_at IS NULL;
    RAISE LOG 'caas: refresh token reuse, family % of user % revoked', t.family_id, t.user_id;
    RETURN jsonb_build_object('status', 'reused');
  END IF;
  UPDATE caas.refresh_tokens SET consumed_at = now() WHERE token_id = t.token_id;
  INSERT INTO caas.refresh_tokens (user_id, family_id, parent_id, token_hash, expires_at)
  VALUES (t.user_id, t.family_id, t.token_id, new_hash, now() + make_interval(secs => ttl_seconds));
  RETURN jsonb_build_object('status', 'ok', 'user_id', t.user_id);
END;
$$;
COMMENT ON FUNCTION caas.auth_refresh_rotate(bytea, bytea, integer) IS
  'Exchanges a refresh token (by its SHA-256) for a new one of the same family: {"status": "ok", "user_id"}; "invalid" for an unknown, expired or revoked token; "reused" for a spent one, whose whole family is then revoked.';

CREATE FUNCTION caas.auth_logout(token_hash bytea)
RETURNS void
LANGUAGE sql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
  UPDATE caas.refresh_tokens SET revoked_at = now()
   WHERE family_id = (SELECT r.family_id FROM caas.refresh_tokens r WHERE r.token_hash = auth_logout.token_hash)
     AND revoked_at IS NULL
$$;
COMMENT ON FUNCTION caas.auth_logout(bytea) IS 'Revokes the family of a refresh token (logout). Silent for unknown tokens.';

CREATE FUNCTION caas.user_password_hash()
RETURNS text
LANGUAGE sql
STABLE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
  SELECT u.password_hash FROM caas.users u WHERE u.user_id = caas._require_user()
$$;
COMMENT ON FUNCTION caas.user_password_hash() IS
  'The calling user''s own password hash, for the API to check the current password before a change.';

CREATE FUNCTION caas.user_set_password(password_hash text)
RETURNS void
LANGUAGE plpgsql
VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
DECLARE
  uid uuid := caas._require_user();
BEGIN
  UPDATE caas.users u SET password_hash = user_set_password.password_hash WHERE u.user_id = uid;
  UPDATE caas.refresh_tokens SET revoked_at = now() WHERE user_id = uid AND revoked_at IS NULL;
END;
$$;
COMMENT ON FUNCTION caas.user_set_password(text) IS
  'Sets the calling user''s password hash (computed by the API) and revokes all their refresh tokens.';

REVOKE EXECUTE ON FUNCTION caas.auth_refresh_issue(uuid, bytea, integer), caas.auth_refresh_rotate(bytea, bytea, integer),
  caas.auth_logout(bytea), caas.user_password_hash(), caas.user_set_password(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION caas.auth_refresh_issue(uuid, bytea, integer), caas.auth_refresh_rotate(bytea, bytea, integer),
  caas.auth_logout(bytea) TO caas_anon;
GRANT EXECUTE ON FUNCTION caas.user_password_hash(), caas.user_set_password(text) TO caas_user;
