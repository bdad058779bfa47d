/*
 * tests/fakes/fake_stripe.h — the fake Stripe API's shared declarations:
 * the server, its stores and control API (fake_stripe.c), the requests
 * held unanswered (fake_stripe_hold.c), form-encoded bodies
 * (fake_stripe_form.c) and Stripe's formats — credentials, validation, the
 * Checkout and billing-portal Session objects and the error bodies
 * (fake_stripe_api.c).
 *
 * Vocabulary: a "call" is one request to a Stripe endpoint as the API side
 * sees it, with its decoded form; a "reply" is what will be sent back (or
 * not: the failure "hang").  The "mode" is the failure a test asked for
 * (POST /_fake/mode).
 *
 * Memory: a reply owns its body and headers (fc_reply_clear, fake_common.h);
 * a form owns its decoded names and values (fs_form_clear); a call borrows
 * everything it points to from the request that made it.
 */
#ifndef CAAS_FAKE_STRIPE_H
#define CAAS_FAKE_STRIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fake_common.h"

enum fs_endpoint {
	FS_CHECKOUT,		/* POST /v1/checkout/sessions */
	FS_PORTAL,		/* POST /v1/billing_portal/sessions */
	FS_RETRIEVE,		/* GET  /v1/checkout/sessions/{id} */
	FS_NONE = -1
};

/* Keep in step with fs_fail_names (fake_stripe_api.c). */
enum fs_fail {
	FS_FAIL_NONE,
	FS_FAIL_SERVER_ERROR,
	FS_FAIL_CARD_DECLINED,
	FS_FAIL_HANG,
	FS_NFAILS
};

extern const char *const fs_fail_names[FS_NFAILS];

#define FS_IDEM_KEY_MAX	255	/* Stripe's limit on an Idempotency-Key */

struct fs_param {
	char		*name;		/* decoded: "line_items[0][price]" */
	char		*value;		/* decoded */
};

struct fs_form {
	struct fs_param	*v;		/* in the order received */
	size_t		 n, cap;
};

struct fs_call {
	enum fs_endpoint	 endpoint;
	const char		*method;
	const char		*path;		/* without the query string */
	const char		*authorization;	/* header, NULL when absent */
	const char		*content_type;	/* header, NULL when absent */
	const struct fs_form	*form;
	const char		*want_key;	/* --secret-key; NULL = any sk_/rk_ key */
	const char *const	*prices;	/* --prices, NULL-terminated; NULL = any price_ */
	bool			 livemode;	/* set by fs_auth from the key */
};

/*
 * A request held unanswered (the failure "hang"), in the held list of
 * fake_stripe_hold.c.  Embedded in the server's request; zeroed when not
 * held.  held: suspended now; closing: resumed to be dropped (the handler
 * then answers MHD_NO).
 */
struct MHD_Connection;
struct fs_hold {
	struct MHD_Connection	*conn;
	int			 fd;
	uint64_t		 serial;
	bool			 held, closing;
	struct fs_hold		*next;
};

/* ---- held requests (fake_stripe_hold.c) */
bool	fs_hold_start(void);		/* the watcher thread; false + errno */
void	fs_hold_add(struct fs_hold *, struct MHD_Connection *);
void	fs_hold_release_all(void);	/* close every held request */
int64_t	fs_hold_count(void);
void	fs_hold_stop(void);		/* join the watcher, release all */
void	fs_hold_free(void);		/* after the daemon stopped */

/* ---- Stripe's error body {"error":{type, code, message, param[, doc_url]}}
 * (replies: fake_common.h). */
void	fs_error(struct fc_reply *, unsigned int status, const char *type,
	    const char *code, const char *param, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));

/* ---- form encoding (fake_stripe_form.c) */
void	 fs_form_parse(struct fs_form *, const char *body, size_t len);
void	 fs_form_clear(struct fs_form *);
/* fs_form_get: the last value of name, or NULL. */
const char *fs_form_get(const struct fs_form *, const char *name);
/* fs_form_json: {name: value} (a repeated name: an array of its values). */
json_t	*fs_form_json(const struct fs_form *);
/* fs_json_text: a JSON string of s; bytes that are not UTF-8 become '?'. */
json_t	*fs_json_text(const char *s);

/* ---- the API (fake_stripe_api.c, like the replies above) */
enum fs_endpoint fs_route(const char *method, const char *path);
/* fs_not_found: 404 "Unrecognized request URL (METHOD: PATH)". */
void	fs_not_found(struct fc_reply *, const char *method, const char *path);
/* fs_auth: true when the credentials pass (c->livemode set); else r holds the 401. */
bool	fs_auth(struct fs_call *c, struct fc_reply *r);
/* fs_content_type_ok: false (r holds the 400) for a body that is not form-encoded. */
bool	fs_content_type_ok(const struct fs_call *c, size_t body_len,
	    struct fc_reply *r);
/* fs_validate: true when the parameters pass; else r holds Stripe's 400. */
bool	fs_validate(const struct fs_call *c, struct fc_reply *r);
/* The objects a valid call creates; seq makes the id unique.  Caller owns. */
json_t	*fs_checkout_session(const struct fs_call *c, uint64_t seq);
json_t	*fs_portal_session(const struct fs_call *c, uint64_t seq);
/* fs_fail_reply: the error answer of a failure (not none or hang). */
void	fs_fail_reply(enum fs_fail f, struct fc_reply *r);
int	fs_fail_of(const char *name);		/* -1 when unknown */
/* fs_random_id: prefix + n random characters of [A-Za-z0-9]; caller frees. */
char	*fs_random_id(const char *prefix, size_t n);

#endif /* CAAS_FAKE_STRIPE_H */
