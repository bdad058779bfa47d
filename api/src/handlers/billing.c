/*
 * handlers/billing.c — billing with Stripe over HTTP: starting a Checkout
 * Session, opening the customer portal, and Stripe's webhook.  The plans
 * and an organisation's subscription are plain SQL rows in routes.c.
 *
 * Checkout and portal: the body is checked here (ids, absolute http(s)
 * URLs), then caas.billing_checkout / caas.billing_portal decide as the
 * caller whether they may (billing.manage: owners; 42501 → 403 otherwise)
 * and give the price and customer.  That call has committed before
 * Stripe is called (outbound.c, form-encoded, Bearer secret key), so no
 * transaction waits on the network — the one slow call DESIGN.md allows
 * here, and the user waits for it anyway.  Checkout sends an
 * Idempotency-Key "checkout:<org>:<plan>:<k>", k being the client's own
 * Idempotency-Key header (so a client retrying gets the same session) or
 * a random UUID v4.  Stripe's answers: a session → 200 {url, session_id}
 * (portal: {url}); a 4xx → 502 with Stripe's message (keys redacted); a
 * 5xx or no answer → 502; no answer in outbound_timeout_ms → 504.
 *
 * Webhook: Stripe-Signature is verified over the exact raw body (request.c
 * has only bounded its size and checked it is UTF-8 without NULs) before
 * anything is parsed; any failure is a 400 saying what was wrong and
 * nothing else.  Then the body must be a JSON object, and
 * caas.stripe_event_apply, run as caas_billing, records and applies it
 * (idempotent by event id, safe in any order; the database's business).
 * Its 22xxx refusals (a malformed event: retrying will not help) become
 * 400.  One log line per event: id, type, outcome — never the payload.
 *
 * Who hears what: the secret key and the webhook secrets never reach a
 * response or a log (outbound.c wipes the Authorization header); neither
 * do Stripe's answers, beyond a status and a redacted error message.
 * Strings built here live in the request's arena.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "../db.h"
#include "../handlers.h"
#include "../router.h"
#include "../oauth.h"
#include "../outbound.h"
#include "../stripe.h"

#define IDEMPOTENCY_CLIENT_MAX	200	/* the client's part of the key */
#define IDEMPOTENCY_MAX		255	/* Stripe's limit for the whole key */
#define LOG_ID_MAX		80

static const char checkout_sql[] = "SELECT caas.billing_checkout($1::uuid, $2)";
static const char portal_sql[] = "SELECT caas.billing_portal($1::uuid)";
static const char event_sql[] = "SELECT caas.stripe_event_apply($1::jsonb)";

static const struct stripe_config	*billing_cfg;

void
billing_configure(const struct stripe_config *cfg)
{
	billing_cfg = cfg;
}

/* ------------------------------------------------------------ helpers */

/* uuid4 writes a random UUID v4 (RFC 9562).  Returns 0 or -1. */
static int
uuid4(char out[API_UUID_LEN + 1])
{
	unsigned char	 b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return (-1);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, API_UUID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
	return (0);
}

/*
 * text_field takes the string field name of root into *out (arena).
 * Returns 0, or -1 with a 422 naming the field: missing (23502), not a
 * string, or failing ok (22023, with what it must be).
 */
static int
text_field(struct api_request *req, struct api_response *resp, json_t *root,
    const char *name, bool (*ok)(const char *), const char *must, const char **out)
{
	json_t	*v = json_object_get(root, name);
	char	 msg[160];

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		snprintf(msg, sizeof(msg), "%s is required", name);
		return (respond_error(resp, 422, "23502", msg, NULL, NULL));
	}
	if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v) &&
	    (ok == NULL || ok(json_string_value(v))))
		*out = arena_strndup(req->arena, json_string_value(v), json_string_length(v));
	if (*out == NULL) {
		snprintf(msg, sizeof(msg), "%s must be %s", name, must);
		return (respond_error(resp, 422, "22023", msg, NULL, NULL));
	}
	return (0);
}

static bool
non_empty(const char *s)
{
	return (s[0] != '\0');
}

/* row_string: a string field of the SQL answer (arena), or NULL. */
static const char *
row_string(struct api_request *req, json_t *row, const char *name)
{
	json_t	*v = json_object_get(row, name);

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return (NULL);
	return (arena_strndup(req->arena, json_string_value(v), json_string_length(v)));
}

/* log_text copies s for a log line: [A-Za-z0-9_.:-] only, others '?', bounded. */
static const char *
log_text(const char *s, char out[LOG_ID_MAX])
{
	size_t	 i;

	if (s == NULL)
		return ("-");
	for (i = 0; s[i] != '\0' && i < LOG_ID_MAX - 1; i++)
		out[i] = isalnum((unsigned char)s[i]) || strchr("_.:-", s[i]) != NULL ? s[i] : '?';
	out[i] = '\0';
	return (out);
}

/* ----------------------------------------------------- talking to Stripe */

/*
 * stripe_refused answers a Stripe 4xx: 502 with Stripe's (redacted)
 * message, which says what to fix (an unknown price, a bad URL, a key).
 */
static int
stripe_refused(struct api_request *req, struct api_response *resp,
    const char *what, long status, const struct buf *ans)
{
	char	 m[STRIPE_MESSAGE_MAX], msg[STRIPE_MESSAGE_MAX + 64];

	(void)stripe_error_message(ans->data, ans->len, m);
	fprintf(stderr, "caas-api: request %s: stripe %s: HTTP %ld: %s\n",
	    req->request_id, what, status, m[0] != '\0' ? m : "(no message)");
	snprintf(msg, sizeof(msg), "Stripe refused the request: %s",
	    m[0] != '\0' ? m : "no reason given");
	return (respond_error(resp, 502, "stripe_error", msg, NULL,
	    status == 401 ? "Check stripe_secret_key." : NULL));
}

/*
 * stripe_session runs rq and reads the session Stripe made into id and
 * url.  Returns 0, or -1 with 502/504 set (see the file's comment).
 */
static int
stripe_session(struct api_request *req, struct api_response *resp,
    const char *what, const struct oauth_http *rq, char *id, char *url)
{
	struct buf	 ans;
	char		 err[256], msg[96];
	long		 status;
	int		 rc;

	buf_init(&ans);
	if (outbound_fetch(rq, billing_cfg->timeout_ms, &status, &ans, err, sizeof(err)) == -1) {
		fprintf(stderr, "caas-api: request %s: stripe %s: no answer: %s\n",
		    req->request_id, what, err);
		buf_cleanup(&ans);
		if (status == OUTBOUND_TIMED_OUT)
			return (respond_error(resp, 504, "stripe_timeout",
			    "Stripe did not answer in time", NULL, "Try again in a moment."));
		return (respond_error(resp, 502, "stripe_unavailable",
		    "Stripe could not be reached", NULL, "Try again later."));
	}
	if (status >= 200 && status <= 299 && stripe_session_parse(ans.data, ans.len, id, url) == 0)
		rc = 0;
	else if (status >= 400 && status <= 499)
		rc = stripe_refused(req, resp, what, status, &ans);
	else {
		fprintf(stderr, "caas-api: request %s: stripe %s: HTTP %ld%s\n", req->request_id,
		    what, status, status <= 299 ? ", no session in the answer" : "");
		snprintf(msg, sizeof(msg), status <= 299 ? "Stripe's answer could not be read" :
		    "Stripe answered HTTP %ld", status);
		rc = respond_error(resp, 502, "stripe_unavailable", msg, NULL, "Try again later.");
	}
	buf_cleanup(&ans);
	return (rc);
}

/* answer_session replies 200 {"url": url[, "session_id": id]}. */
static int
answer_session(struct api_response *resp, const char *url, const char *id)
{
	struct buf	 b;
	int		 rc;

	buf_init(&b);
	rc = buf_append(&b, "{\"url\":", 7);
	rc |= buf_append_json_string(&b, url, strlen(url));
	if (id != NULL) {
		rc |= buf_append(&b, ",\"session_id\":", 14);
		rc |= buf_append_json_string(&b, id, strlen(id));
	}
	rc |= buf_append(&b, "}", 1);
	rc = rc == 0 ? respond_json(resp, 200, b.data, b.len) :
	    respond_error(resp, 500, "internal_error", "Out of memory.", NULL, NULL);
	buf_cleanup(&b);
	return (rc);
}

/* sql_row parses the SQL answer text (a new reference), or sets a 500. */
static json_t *
sql_row(struct api_response *resp, const char *text)
{
	json_t	*row = text != NULL ? json_loads(text, 0, NULL) : NULL;

	if (!json_is_object(row)) {
		json_decref(row);
		respond_error(resp, 500, "internal_error", "The database's answer could not be read.",
		    NULL, "Quote the request id to support.");
		return (NULL);
	}
	return (row);
}

/* ------------------------------------------------------------ checkout */

/*
 * idempotency_key builds "Idempotency-Key: checkout:<org>:<plan>:<k>"
 * (arena).  Returns it, or NULL with 400 (the client's key is not 1..200
 * printable ASCII characters) or 500 set.
 */
static const char *
idempotency_key(struct api_request *req, struct api_response *resp,
    const char *org, const char *plan)
{
	const char	*client = request_header(req, "Idempotency-Key");
	char		 rnd[API_UUID_LEN + 1], line[32 + IDEMPOTENCY_MAX];
	size_t		 i, n;

	if (client != NULL) {
		n = strlen(client);
		for (i = 0; i < n && client[i] >= 0x21 && client[i] <= 0x7e; i++)
			;
		if (n == 0 || n > IDEMPOTENCY_CLIENT_MAX || i < n) {
			respond_error(resp, 400, "22023",
			    "Idempotency-Key must be 1 to 200 printable ASCII characters",
			    NULL, "Leave it out and a random one is used.");
			return (NULL);
		}
	} else if (uuid4(rnd) == 0)
		client = rnd;
	else {
		respond_error(resp, 500, "internal_error", "No randomness.", NULL, NULL);
		return (NULL);
	}
	n = (size_t)snprintf(line, sizeof(line), "Idempotency-Key: checkout:%s:%s:%s",
	    org, plan, client);
	if (n - strlen("Idempotency-Key: ") > IDEMPOTENCY_MAX) {
		respond_error(resp, 400, "22023", "Idempotency-Key is too long for this plan",
		    NULL, NULL);
		return (NULL);
	}
	return (arena_strndup(req->arena, line, n));
}

/* What the checkout body says, checked. */
struct checkout_input {
	const char	*org;
	const char	*plan;
	const char	*success_url;
	const char	*cancel_url;
};

static int
checkout_input(struct api_request *req, struct api_response *resp,
    struct checkout_input *in)
{
	json_t	*root;
	int	 rc;

	if (body_object_or_reply(req, resp, &root) == -1)
		return (-1);
	rc = text_field(req, resp, root, "org_id", router_uuid_text, "an organisation id (a uuid)", &in->org);
	if (rc == 0)
		rc = text_field(req, resp, root, "plan", non_empty, "a plan id", &in->plan);
	if (rc == 0)
		rc = text_field(req, resp, root, "success_url", stripe_url_ok,
		    "an absolute http(s) URL", &in->success_url);
	if (rc == 0)
		rc = text_field(req, resp, root, "cancel_url", stripe_url_ok,
		    "an absolute http(s) URL", &in->cancel_url);
	json_decref(root);
	return (rc);
}

int
handle_billing_checkout(struct api_request *req, struct api_response *resp)
{
	struct checkout_input	 in;
	struct stripe_checkout	 c;
	struct oauth_http	 rq;
	const char		*params[2];
	char			*text, id[STRIPE_ID_MAX], url[STRIPE_URL_MAX];
	json_t			*row;
	int			 rc;

	if (checkout_input(req, resp, &in) == -1)
		return (-1);
	if (billing_cfg == NULL || billing_cfg->secret_key[0] == '\0')
		return (respond_unconfigured(resp, "stripe_secret_key"));
	params[0] = in.org;
	params[1] = in.plan;
	if (db_query(req, resp, true, checkout_sql, 2, params, &text) == -1)
		return (-1);
	if ((row = sql_row(resp, text)) == NULL)
		return (-1);
	memset(&c, 0, sizeof(c));
	c.org_id = row_string(req, row, "org_id");
	c.plan = row_string(req, row, "plan");
	c.price_id = row_string(req, row, "price_id");
	c.customer_id = row_string(req, row, "customer_id");
	c.customer_email = row_string(req, row, "customer_email");
	c.success_url = in.success_url;
	c.cancel_url = in.cancel_url;
	json_decref(row);
	if (c.org_id == NULL || c.plan == NULL || c.price_id == NULL)
		return (respond_error(resp, 500, "internal_error",
		    "The database's answer could not be read.", NULL, NULL));
	oauth_http_init(&rq);
	rq.post = true;
	rq.bearer = billing_cfg->secret_key;
	if ((rq.extra_header = idempotency_key(req, resp, c.org_id, c.plan)) == NULL) {
		oauth_http_cleanup(&rq);
		return (-1);
	}
	if (stripe_checkout_request(billing_cfg->base_url, &c, &rq.url, &rq.body) == -1) {
		oauth_http_cleanup(&rq);
		return (respond_error(resp, 500, "internal_error", "Out of memory.", NULL, NULL));
	}
	rc = stripe_session(req, resp, "checkout", &rq, id, url);
	oauth_http_cleanup(&rq);
	return (rc == 0 ? answer_session(resp, url, id) : -1);
}

/* -------------------------------------------------------------- portal */

int
handle_billing_portal(struct api_request *req, struct api_response *resp)
{
	struct oauth_http	 rq;
	const char		*org, *return_url, *customer, *params[1];
	char			*text, id[STRIPE_ID_MAX], url[STRIPE_URL_MAX];
	json_t			*root, *row;
	int			 rc;

	if (body_object_or_reply(req, resp, &root) == -1)
		return (-1);
	rc = text_field(req, resp, root, "org_id", router_uuid_text, "an organisation id (a uuid)", &org);
	if (rc == 0)
		rc = text_field(req, resp, root, "return_url", stripe_url_ok,
		    "an absolute http(s) URL", &return_url);
	json_decref(root);
	if (rc == -1)
		return (-1);
	if (billing_cfg == NULL || billing_cfg->secret_key[0] == '\0')
		return (respond_unconfigured(resp, "stripe_secret_key"));
	params[0] = org;
	if (db_query(req, resp, true, portal_sql, 1, params, &text) == -1)
		return (-1);
	if ((row = sql_row(resp, text)) == NULL)
		return (-1);
	customer = row_string(req, row, "customer_id");
	json_decref(row);
	if (customer == NULL)
		return (respond_error(resp, 500, "internal_error",
		    "The database's answer could not be read.", NULL, NULL));
	oauth_http_init(&rq);
	rq.post = true;
	rq.bearer = billing_cfg->secret_key;
	if (stripe_portal_request(billing_cfg->base_url, customer, return_url,
	    &rq.url, &rq.body) == -1) {
		oauth_http_cleanup(&rq);
		return (respond_error(resp, 500, "internal_error", "Out of memory.", NULL, NULL));
	}
	rc = stripe_session(req, resp, "portal", &rq, id, url);
	oauth_http_cleanup(&rq);
	return (rc == 0 ? answer_session(resp, url, NULL) : -1);
}

/* ------------------------------------------------------------- webhook */

/* log_event writes the one line per event: id, type, outcome. */
static void
log_event(struct api_request *req, const char *text)
{
	json_t	*row = text != NULL ? json_loads(text, 0, NULL) : NULL;
	char	 id[LOG_ID_MAX], type[LOG_ID_MAX], outcome[LOG_ID_MAX];

	fprintf(stderr, "caas-api: request %s: stripe event %s %s: %s%s\n", req->request_id,
	    log_text(json_string_value(json_object_get(row, "event_id")), id),
	    log_text(json_string_value(json_object_get(row, "type")), type),
	    log_text(json_string_value(json_object_get(row, "outcome")), outcome),
	    json_is_true(json_object_get(row, "duplicate")) ? " (duplicate)" : "");
	json_decref(row);
}

/* sig_hint: what an operator reading Stripe's delivery log should check. */
static const char *
sig_hint(enum stripe_sig_result r)
{
	switch (r) {
	case STRIPE_SIG_STALE:
	case STRIPE_SIG_FUTURE:
		return ("The signed time must be within stripe_webhook_tolerance_sec of this "
		    "server's clock.");
	case STRIPE_SIG_MISMATCH:
		return ("stripe_webhook_secrets must hold the endpoint's signing secret, and the "
		    "body must be exactly as Stripe sent it.");
	default:
		return ("Stripe sends Stripe-Signature: t=<seconds>,v1=<hex>.");
	}
}

int
handle_billing_webhook(struct api_request *req, struct api_response *resp)
{
	enum stripe_sig_result	 r;
	json_t			*root;
	const char		*params[1];
	char			*text, msg[128];

	if (billing_cfg == NULL || billing_cfg->nsecrets == 0)
		return (respond_unconfigured(resp, "stripe_webhook_secrets"));
	r = stripe_verify(request_header(req, "Stripe-Signature"), req->body, req->body_len,
	    billing_cfg->secrets, billing_cfg->nsecrets, time(NULL), billing_cfg->tolerance_sec);
	if (r != STRIPE_SIG_OK) {
		snprintf(msg, sizeof(msg), "invalid Stripe signature: %s", stripe_sig_reason(r));
		fprintf(stderr, "caas-api: request %s: stripe webhook refused: %s\n",
		    req->request_id, stripe_sig_reason(r));
		return (respond_error(resp, 400, "22023", msg, NULL, sig_hint(r)));
	}
	if (body_object_or_reply(req, resp, &root) == -1)
		return (-1);
	json_decref(root);
	params[0] = req->body;
	if (db_query_as(req, resp, DB_ROLE_BILLING, event_sql, 1, params, &text) == -1) {
		if (resp->status == 422)	/* a malformed event: a retry won't help */
			resp->status = 400;
		fprintf(stderr, "caas-api: request %s: stripe event not applied: HTTP %d\n",
		    req->request_id, resp->status);
		return (-1);
	}
	log_event(req, text);
	if (text == NULL)
		return (respond_error(resp, 500, "internal_error",
		    "The database's answer could not be read.", NULL, NULL));
	return (respond_json(resp, 200, text, strlen(text)));
}
