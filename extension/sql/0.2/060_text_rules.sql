--
-- 060_text_rules.sql — what each platform accepts, checked before a post is
-- scheduled (and again on every reschedule).
--
-- X counts weighted characters the way twitter-text does (extension/src/
-- xtext*.c: URL = 23, CJK and emoji = 2, NFC first); the others count
-- characters.  Limits and the media requirement are data in caas.platforms.
--

CREATE FUNCTION caas.x_weighted_length(body text)
RETURNS integer
AS 'MODULE_PATHNAME', 'caas_x_weighted_length'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION caas.x_weighted_length(text) IS
  'Length of a post as X counts it (twitter-text v3 rules): NFC-normalised, each URL 23, code points outside the light ranges (CJK, emoji sequences) 2, the rest 1. X accepts up to 280.';

CREATE FUNCTION caas.x_text_is_valid(body text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'caas_x_text_is_valid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION caas.x_text_is_valid(text) IS
  'True when X would accept the text: not empty and a weighted length of at most 280 (twitter-text''s isValid).';

CREATE FUNCTION caas.text_length(platform text, body text)
RETURNS integer
LANGUAGE sql
IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, caas
AS $$
  SELECT CASE WHEN platform = 'x' THEN caas.x_weighted_length(body) ELSE char_length(body) END
$$;
COMMENT ON FUNCTION caas.text_length(text, text) IS
  'Length of the text in the platform''s own unit: weighted characters for X, characters otherwise.';

CREATE FUNCTION caas.check_post_text(platform text, body text, media_urls text[] DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
DECLARE
  p caas.platforms;
  len integer;
BEGIN
  SELECT * INTO p FROM caas.platforms WHERE platforms.platform = check_post_text.platform;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown platform "%s"', platform);
  END IF;
  IF body IS NULL OR btrim(body, E' \t\n\r') = '' THEN
    RAISE EXCEPTION USING ERRCODE = 'CA003', MESSAGE = format('%s needs text to post', p.display_name);
  END IF;
  len := caas.text_length(p.platform, body);
  IF len > p.max_text_length THEN
    RAISE EXCEPTION USING ERRCODE = 'CA003',
      MESSAGE = format('text too long for %s: %s of %s %s', p.display_name, len, p.max_text_length,
                       CASE WHEN p.weighted_length THEN 'weighted characters' ELSE 'characters' END),
      HINT = CASE WHEN p.weighted_length THEN 'Links count 23 and CJK characters and emoji count 2.'
                  ELSE 'Shorten the text.' END;
  END IF;
  IF p.requires_media AND cardinality(coalesce(media_urls, '{}')) = 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'CA003', MESSAGE = format('%s needs an image', p.display_name),
      HINT = 'Attach at least one image URL (media_urls).';
  END IF;
END;
$$;
COMMENT ON FUNCTION caas.check_post_text(text, text, text[]) IS
  'Raises CA003 when the platform would refuse the post: empty text, text over the platform''s limit (X weighted), or no image where one is required (Instagram); 22023 for an unknown platform.';
