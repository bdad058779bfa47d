/*
 * adapters/instagram.c — Instagram Graph API content publishing: media
 * container → status poll → media_publish → permalink, and the long-lived
 * token's refresh (external-apis.md §3.3, Graph error object §3.7).
 *
 * Steps of one attempt (struct adapter_state.step):
 *   START      resume the stored container (post->remote_ref) at STATUS,
 *              or go to CREATE; a post without an image is PERMANENT.
 *   CREATE     POST /{ver}/{ig-user}/media image_url, caption → container
 *              id, persisted at once (result.remote_ref) → STATUS.  Marked
 *              idempotent: a lost answer here publishes nothing.
 *   STATUS     GET /{ver}/{container}?fields=status_code:
 *                IN_PROGRESS  poll again after poll_interval_ms, at most
 *                             poll_max checks per attempt in all, then
 *                             RETRY (the container is kept: the next
 *                             attempt resumes it);
 *                FINISHED     → PUBLISH;
 *                PUBLISHED    already live → PUBLISHED (PERMALINK when the
 *                             media id is known);
 *                ERROR/EXPIRED  never published: a container inherited
 *                             from an earlier attempt is dropped and a
 *                             fresh one created now; one created in this
 *                             attempt ends it with RETRY and the stored
 *                             handle cleared.
 *   PUBLISH    POST /{ver}/{ig-user}/media_publish creation_id → media id,
 *              persisted as "container/media" → PERMALINK.  An unknown
 *              outcome (sent and no answer, 5xx, garbage, Graph codes 1/2,
 *              subcode 2207051 "action blocked") → RECHECK: the container
 *              status says whether it went live, instead of guessing.
 *   RECHECK    as STATUS, after a PUBLISH of unknown outcome; FINISHED means
 *              not live, so PUBLISH again (a container publishes at most
 *              once, which makes that safe).
 *   PERMALINK  GET /{ver}/{media}?fields=permalink → PUBLISHED with the URL;
 *              any failure here is still PUBLISHED, without a URL.
 *
 * remote_ref, as persisted by the core: "<container>" or
 * "<container>/<media>"; ADAPTERS_REF_CLEAR ("-") asks the core to forget
 * it, and is read back as "none".  Only the first image is posted
 * (carousels and videos are not done here).
 *
 * Memory: the request body and headers are the core's (adapter.h); the
 * state lives in struct adapter_state, owned by the core.
 */
#include <stdio.h>
#include <string.h>

#include "adapter.h"
#include "common.h"

extern const struct caas_adapter adapter_instagram;

enum ig_step {
	IG_START = 0,
	IG_CREATE,
	IG_STATUS,
	IG_PUBLISH,
	IG_RECHECK,
	IG_PERMALINK
};

#define IG_SUB_ACTION_BLOCKED	2207051	/* rate limited; the post may be live */
#define IG_SUB_NOT_READY	2207027	/* media_publish before FINISHED */

static const struct adapter_setting instagram_settings[] = {
	{ "base_url", "https://graph.facebook.com", false,
	    "Graph API base URL (graph.instagram.com for Instagram Login)" },
	{ "api_version", "v21.0", false, "Graph API version path segment" },
	{ "refresh_url", "https://graph.instagram.com/refresh_access_token", false,
	    "long-lived token refresh endpoint" },
	{ "poll_interval_ms", "1000", false,
	    "delay between container status checks" },
	{ "poll_max", "30", false,
	    "status checks per attempt (1..50) before giving up until the next attempt" },
	{ NULL, NULL, false, NULL }
};

/* A parsed Graph error object {"error": {...}}. */
struct graph_error {
	bool		 present;
	int64_t		 code;
	int64_t		 subcode;
	char		 message[ADAPTER_MSG_MAX - 64];
};

/* ==== helpers */

static int64_t
poll_interval_ms(void)
{
	return (adapters_conf_int(&adapter_instagram, "poll_interval_ms", 1000,
	    0, 600000));
}

/*
 * poll_max: status checks (and re-checks) per attempt, all steps together,
 * so an attempt stays well under the core's DISPATCH_MAX_STEPS (64).
 */
static int64_t
poll_max(void)
{
	return (adapters_conf_int(&adapter_instagram, "poll_max", 30, 1, 50));
}

/*
 * parse_ref splits a stored remote_ref "<container>[/<media>]" into its
 * parts.  Returns false (both "") for none, "-" or garbage.
 */
static bool
parse_ref(const char *ref, char *container, char *media)
{
	char		 tmp[ADAPTER_ID_MAX];
	const char	*slash;
	size_t		 n;

	container[0] = media[0] = '\0';
	if (ref == NULL || (n = strlen(ref)) == 0 || n >= sizeof(tmp) ||
	    strcmp(ref, ADAPTERS_REF_CLEAR) == 0)
		return (false);
	memcpy(tmp, ref, n + 1);
	if ((slash = strchr(tmp, '/')) != NULL) {
		tmp[slash - tmp] = '\0';
		if (!adapters_id_copy(media, ADAPTER_ID_MAX, slash + 1))
			return (false);
	}
	return (adapters_id_copy(container, ADAPTER_ID_MAX, tmp));
}

/* inherited: state->ref is the container stored by an earlier attempt. */
static bool
inherited(const struct adapter_post *post, const struct adapter_state *state)
{
	char	 c[ADAPTER_ID_MAX], m[ADAPTER_ID_MAX];

	return (parse_ref(post->remote_ref, c, m) && strcmp(c, state->ref) == 0);
}

/* graph_read fills e from resp's {"error": {...}}, if there is one. */
static void
graph_read(const struct adapter_response *resp, const char *secret,
    struct graph_error *e)
{
	json_t		*root = adapters_json_parse(resp);
	json_t		*err = adapters_json_get(root, "error", NULL);
	const char	*msg;

	memset(e, 0, sizeof(*e));
	if (json_is_object(err)) {
		e->present = true;
		(void)adapters_json_int(&e->code, err, "code", NULL);
		(void)adapters_json_int(&e->subcode, err, "error_subcode", NULL);
		msg = adapters_json_str(err, "error_user_msg", NULL);
		if (msg == NULL || msg[0] == '\0')
			msg = adapters_json_str(err, "message", NULL);
		adapters_message_copy(e->message, sizeof(e->message), msg, secret);
	}
	json_decref(root);
}

/*
 * buc_wait_ms reads X-Business-Use-Case-Usage's
 * estimated_time_to_regain_access (minutes); -1 when absent.
 */
static int64_t
buc_wait_ms(const struct adapter_response *resp)
{
	const char	*v = adapters_header(resp, "x-business-use-case-usage");
	json_t		*root, *arr, *item;
	const char	*key;
	size_t		 i;
	int64_t		 min, best = -1;
	json_error_t	 jerr;

	if (v == NULL || strlen(v) > 8192 ||
	    (root = json_loads(v, 0, &jerr)) == NULL)
		return (-1);
	if (json_is_object(root))
		json_object_foreach(root, key, arr) {
			if (!json_is_array(arr))
				continue;
			json_array_foreach(arr, i, item)
				if (adapters_json_int(&min, item,
				    "estimated_time_to_regain_access", NULL) &&
				    min > 0 && min <= 7 * 24 * 60 && min * 60000 > best)
					best = min * 60000;
		}
	json_decref(root);
	return (best);
}

static int64_t
retry_hint_ms(const struct adapter_response *resp)
{
	int64_t	 a = adapters_retry_after_ms(resp), b = buc_wait_ms(resp);

	return (a > b ? a : b);
}

/*
 * graph_fail classifies an error answer at any step but PUBLISH: 190 or
 * 401 → REAUTH; throttling and transient codes, 5xx → RETRY; 506 or a
 * duplicate → PERMANENT "duplicate content"; anything else PERMANENT with
 * the platform's message.
 */
static void
graph_fail(const struct adapter_post *post, const struct adapter_response *resp,
    struct adapter_result *result)
{
	struct graph_error	 e;

	graph_read(resp, post->access_token, &e);
	if (e.code == 190 || e.code == 102 || resp->status == 401)
		adapters_result_set(result, ADAPTER_REAUTH,
		    "the access token is expired or revoked%s%s",
		    e.message[0] != '\0' ? ": " : "", e.message);
	else if (e.code == 4 || e.code == 17 || e.code == 32 || e.code == 341 ||
	    e.code == 613 || (e.code >= 80000 && e.code < 81000) ||
	    e.subcode == IG_SUB_ACTION_BLOCKED || resp->status == 429) {
		result->retry_after_ms = retry_hint_ms(resp);
		adapters_result_set(result, ADAPTER_RETRY, "rate limited%s%s",
		    e.message[0] != '\0' ? ": " : "", e.message);
	} else if (e.code == 1 || e.code == 2 || e.subcode == 2207052 ||
	    e.subcode == 2207003 || resp->status >= 500 || resp->status == 408)
		adapters_result_set(result, ADAPTER_RETRY, "HTTP %ld: %s",
		    resp->status, e.message[0] != '\0' ? e.message : "transient error");
	else if (e.code == 506 || strcasestr(e.message, "duplicate") != NULL)
		adapters_result_set(result, ADAPTER_PERMANENT, "duplicate content");
	else
		adapters_result_set(result, ADAPTER_PERMANENT, "HTTP %ld: %s",
		    resp->status, e.message[0] != '\0' ? e.message :
		    "refused by Instagram");
}

static void
go(struct adapter_state *state, enum ig_step step,
    struct adapter_result *result, int64_t after_ms)
{
	state->step = step;
	result->outcome = ADAPTER_CONTINUE;
	result->continue_after_ms = after_ms;
}

/*
 * state_ok: every step past CREATE has its container, PERMALINK its media
 * id.  The core never hands over anything else, but a state that does not
 * hold together ends the attempt as UNKNOWN rather than being trusted.
 */
static bool
state_ok(const struct adapter_state *state, struct adapter_result *result)
{
	if ((state->step == IG_CREATE || state->ref[0] != '\0') &&
	    (state->step != IG_PERMALINK || state->remote_id[0] != '\0'))
		return (true);
	adapters_result_set(result, ADAPTER_UNKNOWN,
	    "internal error: step %d without its identifiers", state->step);
	return (false);
}

/* ==== prepare */

static int
prepare_common(const struct adapter_post *post, struct adapter_request *req,
    const char *method, bool idempotent)
{
	snprintf(req->method, sizeof(req->method), "%s", method);
	req->idempotent = idempotent;
	return (adapters_bearer(req, post->access_token));
}

static enum adapter_prepare
prepare_start(const struct adapter_post *post, struct adapter_state *state,
    struct adapter_result *result)
{
	if (parse_ref(post->remote_ref, state->ref, state->remote_id)) {
		/* A media id means media_publish succeeded: it is live. */
		state->step = state->remote_id[0] != '\0' ? IG_PERMALINK : IG_STATUS;
		return (ADAPTER_SEND);
	}
	if (post->n_media < 1 || post->media_urls[0] == NULL ||
	    post->media_urls[0][0] == '\0') {
		adapters_result_set(result, ADAPTER_PERMANENT,
		    "Instagram needs an image");
		return (ADAPTER_DONE);
	}
	state->step = IG_CREATE;
	return (ADAPTER_SEND);
}

static int
prepare_create(const struct adapter_post *post, const char *base,
    const char *ver, const char *user, struct adapter_request *req)
{
	/*
	 * Marked idempotent: a container publishes nothing, so repeating its
	 * creation after a lost answer is safe (the orphan just expires).
	 */
	if (adapters_request_url(req, "%s/%s/%s/media", base, ver, user) == -1 ||
	    prepare_common(post, req, "POST", true) == -1 ||
	    adapters_header_add(req,
	    "Content-Type: application/x-www-form-urlencoded") == -1 ||
	    adapters_form_add(&req->body, "image_url", post->media_urls[0]) == -1 ||
	    adapters_form_add(&req->body, "caption",
	    post->text != NULL ? post->text : "") == -1)
		return (-1);
	return (0);
}

static int
prepare_publish(const struct adapter_post *post, const struct adapter_state *state,
    const char *base, const char *ver, const char *user,
    struct adapter_request *req)
{
	if (adapters_request_url(req, "%s/%s/%s/media_publish", base, ver,
	    user) == -1 ||
	    prepare_common(post, req, "POST", false) == -1 ||
	    adapters_header_add(req,
	    "Content-Type: application/x-www-form-urlencoded") == -1 ||
	    adapters_form_add(&req->body, "creation_id", state->ref) == -1)
		return (-1);
	return (0);
}

static enum adapter_prepare
instagram_prepare(const struct adapter_post *post, struct adapter_state *state,
    struct adapter_request *req, struct adapter_result *result)
{
	char	 base[ADAPTER_URL_MAX], ver[32], user[ADAPTER_ID_MAX];
	int	 rc;

	adapters_result_reset(result);
	if (adapters_base_url(base, sizeof(base), &adapter_instagram, "base_url") == -1 ||
	    !adapters_id_copy(ver, sizeof(ver),
	    adapter_conf(&adapter_instagram, "api_version"))) {
		adapters_result_set(result, ADAPTER_RETRY,
		    "instagram.base_url or api_version is not usable");
		return (ADAPTER_DONE);
	}
	if (!adapters_id_copy(user, sizeof(user), post->external_id)) {
		adapters_result_set(result, ADAPTER_PERMANENT,
		    "the account has no valid Instagram user id");
		return (ADAPTER_DONE);
	}
	if (state->step == IG_START &&
	    prepare_start(post, state, result) == ADAPTER_DONE)
		return (ADAPTER_DONE);
	if (!state_ok(state, result))
		return (ADAPTER_DONE);

	switch (state->step) {
	case IG_CREATE:
		rc = prepare_create(post, base, ver, user, req);
		break;
	case IG_STATUS:
	case IG_RECHECK:
		rc = adapters_request_url(req, "%s/%s/%s?fields=status_code",
		    base, ver, state->ref) == -1 ? -1 :
		    prepare_common(post, req, "GET", true);
		break;
	case IG_PUBLISH:
		rc = prepare_publish(post, state, base, ver, user, req);
		break;
	case IG_PERMALINK:
		rc = adapters_request_url(req, "%s/%s/%s?fields=permalink",
		    base, ver, state->remote_id) == -1 ? -1 :
		    prepare_common(post, req, "GET", true);
		break;
	default:
		adapters_result_set(result, ADAPTER_UNKNOWN,
		    "internal error: unknown step %d", state->step);
		return (ADAPTER_DONE);
	}
	if (rc == -1) {
		if (post->access_token == NULL || post->access_token[0] == '\0')
			adapters_result_set(result, ADAPTER_REAUTH,
			    "no usable access token");
		else
			adapters_result_set(result, ADAPTER_RETRY,
			    "could not build the request (out of memory or too long)");
		return (ADAPTER_DONE);
	}
	return (ADAPTER_SEND);
}

/* ==== classify, one function per step */

static void
classify_create(const struct adapter_post *post, struct adapter_state *state,
    const struct adapter_response *resp, struct adapter_result *result)
{
	json_t	*root;

	if (resp->status == 0) {
		/* An orphan container is harmless: it is never published. */
		(void)adapters_transport_outcome(resp, true, result->message,
		    sizeof(result->message));
		result->outcome = ADAPTER_RETRY;
		return;
	}
	if (resp->status < 200 || resp->status >= 300) {
		graph_fail(post, resp, result);
		return;
	}
	root = adapters_json_parse(resp);
	if (!adapters_id_copy(state->ref, sizeof(state->ref),
	    adapters_json_str(root, "id", NULL)))
		adapters_result_set(result, ADAPTER_RETRY,
		    "HTTP %ld without a container id", resp->status);
	else if (inherited(post, state))
		/* The failed container again: never loop on it. */
		adapters_result_set(result, ADAPTER_RETRY,
		    "the platform returned the failed container again");
	else {
		snprintf(result->remote_ref, sizeof(result->remote_ref), "%s",
		    state->ref);
		go(state, IG_STATUS, result, 0);
		snprintf(result->message, sizeof(result->message),
		    "container %s created", state->ref);
	}
	json_decref(root);
}

/* status_gone: the container errored or expired, so it was never published. */
static void
status_gone(const struct adapter_post *post, struct adapter_state *state,
    const char *code, struct adapter_result *result)
{
	snprintf(result->remote_ref, sizeof(result->remote_ref), "%s",
	    ADAPTERS_REF_CLEAR);
	if (state->step == IG_STATUS && inherited(post, state)) {
		/* Failed after an earlier attempt ended: start afresh now. */
		state->ref[0] = state->remote_id[0] = '\0';
		go(state, IG_CREATE, result, 0);
		snprintf(result->message, sizeof(result->message),
		    "stored container %s: creating a new one", code);
		return;
	}
	adapters_result_set(result, ADAPTER_RETRY,
	    "media container %s (the image could not be processed or it timed out)",
	    code);
}

static void
status_wait(const struct adapter_post *post, struct adapter_state *state,
    const char *code, struct adapter_result *result)
{
	int64_t	 max = poll_max();
	char	 c[32];

	adapters_message_copy(c, sizeof(c), code != NULL ? code : "no status",
	    post->access_token);
	if (++state->polls >= max) {
		adapters_result_set(result, ADAPTER_RETRY,
		    "media container still %s after %d checks", c, state->polls);
		return;
	}
	go(state, state->step, result, poll_interval_ms());
	snprintf(result->message, sizeof(result->message), "container %s", c);
}

static void
status_answer(const struct adapter_post *post, struct adapter_state *state,
    const struct adapter_response *resp, struct adapter_result *result)
{
	json_t		*root = adapters_json_parse(resp);
	const char	*code = adapters_json_str(root, "status_code", NULL);

	if (code != NULL && strcmp(code, "FINISHED") == 0)
		go(state, IG_PUBLISH, result, 0);
	else if (code != NULL && strcmp(code, "PUBLISHED") == 0) {
		if (state->remote_id[0] != '\0')
			go(state, IG_PERMALINK, result, 0);
		else {
			/* Live, media id unknown: the container id stands in. */
			snprintf(result->remote_id, sizeof(result->remote_id), "%s",
			    state->ref);
			adapters_result_set(result, ADAPTER_PUBLISHED,
			    "published (found by its container status)");
		}
	} else if (code != NULL && (strcmp(code, "ERROR") == 0 ||
	    strcmp(code, "EXPIRED") == 0))
		status_gone(post, state, code, result);
	else
		status_wait(post, state, code, result);
	json_decref(root);
}

static void
classify_status(const struct adapter_post *post, struct adapter_state *state,
    const struct adapter_response *resp, struct adapter_result *result)
{
	if (resp->status == 0) {
		/* A read: retrying is safe, the container is stored. */
		(void)adapters_transport_outcome(resp, true, result->message,
		    sizeof(result->message));
		result->outcome = ADAPTER_RETRY;
		return;
	}
	if (resp->status >= 200 && resp->status < 300) {
		status_answer(post, state, resp, result);
		return;
	}
	graph_fail(post, resp, result);
	if (result->outcome != ADAPTER_PERMANENT)
		return;
	/*
	 * The container cannot be read.  One made in this attempt and never
	 * published can be dropped; otherwise it may be live: a person decides.
	 */
	if (state->step == IG_STATUS && !inherited(post, state)) {
		result->outcome = ADAPTER_RETRY;
		snprintf(result->remote_ref, sizeof(result->remote_ref), "%s",
		    ADAPTERS_REF_CLEAR);
	} else
		result->outcome = ADAPTER_UNKNOWN;
}

/* recheck: media_publish's outcome is unknown; ask the container. */
static void
recheck(struct adapter_state *state, struct adapter_result *result,
    const char *why)
{
	int64_t	 max = poll_max();

	if (++state->polls >= max) {
		adapters_result_set(result, ADAPTER_UNKNOWN,
		    "media_publish %s and the container never confirmed it", why);
		return;
	}
	go(state, IG_RECHECK, result, poll_interval_ms());
	snprintf(result->message, sizeof(result->message),
	    "media_publish %s: checking the container", why);
}

static void
publish_error(const struct adapter_post *post, struct adapter_state *state,
    const struct adapter_response *resp, struct adapter_result *result)
{
	struct graph_error	 e;

	graph_read(resp, post->access_token, &e);
	if (resp->status >= 500 || e.code == 1 || e.code == 2 ||
	    e.subcode == IG_SUB_ACTION_BLOCKED)
		recheck(state, result, "may have been applied");
	else if (e.code == 9007 || e.subcode == IG_SUB_NOT_READY) {
		/* Published too early: wait for FINISHED like any poll. */
		state->step = IG_STATUS;
		status_wait(post, state, "not ready to publish", result);
	} else
		graph_fail(post, resp, result);
}

static void
classify_publish(const struct adapter_post *post, struct adapter_state *state,
    const struct adapter_response *resp, struct adapter_result *result)
{
	json_t	*root;

	if (resp->status == 0) {
		if (adapters_transport_outcome(resp, false, result->message,
		    sizeof(result->message)) == ADAPTER_RETRY)
			result->outcome = ADAPTER_RETRY;	/* not sent */
		else
			recheck(state, result, "got no answer");
		return;
	}
	if (resp->status < 200 || resp->status >= 300) {
		publish_error(post, state, resp, result);
		return;
	}
	root = adapters_json_parse(resp);
	if (!adapters_id_copy(state->remote_id, sizeof(state->remote_id),
	    adapters_json_str(root, "id", NULL)))
		recheck(state, result, "answered without a media id");
	else {
		if (snprintf(result->remote_ref, sizeof(result->remote_ref), "%s/%s",
		    state->ref, state->remote_id) >= (int)sizeof(result->remote_ref))
			result->remote_ref[0] = '\0';
		go(state, IG_PERMALINK, result, 0);
		snprintf(result->message, sizeof(result->message), "published");
	}
	json_decref(root);
}

static void
classify_permalink(const struct adapter_post *post, struct adapter_state *state,
    const struct adapter_response *resp, struct adapter_result *result)
{
	json_t		*root = NULL;
	const char	*url = NULL;
	size_t		 n;

	if (resp->status >= 200 && resp->status < 300 &&
	    (root = adapters_json_parse(resp)) != NULL)
		url = adapters_json_str(root, "permalink", NULL);
	/* Only a plain https URL of visible ASCII, never echoing the token. */
	if (url != NULL && strncmp(url, "https://", 8) == 0 &&
	    (post->access_token == NULL || post->access_token[0] == '\0' ||
	    strstr(url, post->access_token) == NULL) &&
	    (n = strlen(url)) < sizeof(result->remote_url) &&
	    strspn(url, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._~:/?#[]@!$&'()*+,;=%") == n)
		memcpy(result->remote_url, url, n + 1);
	snprintf(result->remote_id, sizeof(result->remote_id), "%s",
	    state->remote_id);
	adapters_result_set(result, ADAPTER_PUBLISHED, "%s",
	    result->remote_url[0] != '\0' ? "published" :
	    "published (permalink not available)");
	json_decref(root);
}

static void
instagram_classify(const struct adapter_post *post, struct adapter_state *state,
    const struct adapter_response *resp, struct adapter_result *result)
{
	adapters_result_reset(result);
	if (!state_ok(state, result))
		return;
	switch (state->step) {
	case IG_CREATE:
		classify_create(post, state, resp, result);
		break;
	case IG_STATUS:
	case IG_RECHECK:
		classify_status(post, state, resp, result);
		break;
	case IG_PUBLISH:
		classify_publish(post, state, resp, result);
		break;
	case IG_PERMALINK:
		classify_permalink(post, state, resp, result);
		break;
	default:
		adapters_result_set(result, ADAPTER_UNKNOWN,
		    "internal error: answer for unknown step %d", state->step);
		break;
	}
}

/* ==== token refresh: the long-lived token refreshes itself */

static enum adapter_prepare
instagram_refresh_prepare(const struct adapter_account *acct,
    struct adapter_request *req, struct adapter_tokens *tok)
{
	const char	*url = adapter_conf(&adapter_instagram, "refresh_url");
	const char	*token = acct->refresh_token != NULL &&
	    acct->refresh_token[0] != '\0' ? acct->refresh_token : acct->access_token;
	struct buf	 q;
	int		 rc;

	adapters_tokens_reset(tok);
	if (token == NULL || token[0] == '\0') {
		adapters_tokens_set(tok, ADAPTER_REAUTH, "no token to refresh");
		return (ADAPTER_DONE);
	}
	if (url == NULL || (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0)) {
		adapters_tokens_set(tok, ADAPTER_RETRY,
		    "instagram.refresh_url is not a usable http(s) URL");
		return (ADAPTER_DONE);
	}
	buf_init(&q);
	rc = adapters_form_add(&q, "grant_type", "ig_refresh_token");
	rc |= adapters_form_add(&q, "access_token", token);
	if (rc == 0)
		rc = adapters_request_url(req, "%s%c%s", url,
		    strchr(url, '?') != NULL ? '&' : '?', q.data);
	adapters_buf_wipe(&q);
	if (rc != 0) {
		adapters_tokens_set(tok, ADAPTER_RETRY,
		    "could not build the refresh request");
		return (ADAPTER_DONE);
	}
	snprintf(req->method, sizeof(req->method), "GET");
	req->idempotent = true;
	return (ADAPTER_SEND);
}

static void
instagram_refresh_classify(const struct adapter_account *acct,
    const struct adapter_response *resp, struct adapter_tokens *tok)
{
	struct graph_error	 e;
	const char		*secret = acct->refresh_token != NULL &&
	    acct->refresh_token[0] != '\0' ? acct->refresh_token : acct->access_token;

	if (resp->status < 400 || resp->status == 429 || resp->status >= 500) {
		adapters_oauth_classify(resp, acct, tok);
		/* The new token is also the next refresh's. */
		if (tok->outcome == ADAPTER_PUBLISHED && acct->refresh_token != NULL &&
		    acct->refresh_token[0] != '\0')
			memcpy(tok->refresh_token, tok->access_token,
			    sizeof(tok->refresh_token));
		return;
	}
	adapters_tokens_reset(tok);
	graph_read(resp, secret, &e);
	if (e.code == 4 || e.code == 17 || e.code == 32 || e.code == 613 ||
	    e.code == 1 || e.code == 2) {
		tok->retry_after_ms = retry_hint_ms(resp);
		adapters_tokens_set(tok, ADAPTER_RETRY, "token refresh: HTTP %ld: %s",
		    resp->status, e.message);
		adapters_message_scrub(tok->message, sizeof(tok->message),
		    acct->access_token);
		return;
	}
	adapters_tokens_set(tok, ADAPTER_REAUTH, "token refresh refused (HTTP %ld)%s%s",
	    resp->status, e.message[0] != '\0' ? ": " : "", e.message);
	adapters_message_scrub(tok->message, sizeof(tok->message),
	    acct->access_token);
}

const struct caas_adapter adapter_instagram = {
	.name = "instagram",
	.settings = instagram_settings,
	.prepare = instagram_prepare,
	.classify = instagram_classify,
	.refresh_prepare = instagram_refresh_prepare,
	.refresh_classify = instagram_refresh_classify,
};
