/*
 * handlers.h — every request handler, one line each, grouped by the file
 * that defines it (handlers/<resource>.c).  The route table (routes.c) is
 * the only caller.
 */
#ifndef CAAS_HANDLERS_H
#define CAAS_HANDLERS_H

#include <jansson.h>

#include "api.h"

/*
 * handlers/body.c: parses the request body as a JSON object into *root
 * (a new reference the caller decrefs).  Returns 0, or -1 with a 400 set:
 * no body, malformed JSON, duplicate keys, or not an object.
 */
int	body_object_or_reply(struct api_request *, struct api_response *, json_t **root);

/* handlers/auth.c: the caller's identity (request.c calls it for
 * API_AUTH_USER routes) and the auth endpoints. */
int	auth_request(struct api_request *, struct api_response *);
int	handle_auth_register(struct api_request *, struct api_response *);
int	handle_auth_login(struct api_request *, struct api_response *);
int	handle_auth_refresh(struct api_request *, struct api_response *);
int	handle_auth_logout(struct api_request *, struct api_response *);
int	handle_auth_password(struct api_request *, struct api_response *);

/*
 * handlers/accounts.c: connecting social accounts (OAuth 2.0, pasted
 * tokens).  accounts_configure borrows the sealing keys for the process
 * lifetime; an empty ring makes these endpoints answer 503.
 */
struct seal_ring;
void	accounts_configure(const struct seal_ring *ring);
int	handle_accounts_oauth_begin(struct api_request *, struct api_response *);
int	handle_accounts_oauth_callback(struct api_request *, struct api_response *);
int	handle_accounts_paste(struct api_request *, struct api_response *);

/*
 * handlers/ai.c: asking for an AI generation (202 and a job), reading a
 * job with an optional long-poll (?wait=S; suspends, see api.h).
 */
int	handle_ai_generate(struct api_request *, struct api_response *);
int	handle_ai_job_get(struct api_request *, struct api_response *);

/*
 * handlers/billing.c: Stripe Checkout and the customer portal (the
 * database decides who may), and Stripe's webhook (signature verified
 * before anything is parsed; applied as caas_billing).  billing_configure
 * borrows cfg (stripe.h) for the process lifetime; without a secret key
 * checkout and portal answer 503, without webhook secrets the webhook.
 */
struct stripe_config;
void	billing_configure(const struct stripe_config *cfg);
int	handle_billing_checkout(struct api_request *, struct api_response *);
int	handle_billing_portal(struct api_request *, struct api_response *);
int	handle_billing_webhook(struct api_request *, struct api_response *);

/* handlers/events.c: GET /api/v1/events/, Server-Sent Events (events.c). */
int	handle_events(struct api_request *, struct api_response *);

/* handlers/sql.c: a route whose row names its SQL API call. */
int	handle_sql(struct api_request *, struct api_response *);

/* handlers/health.c, handlers/schema.c, metrics.c */
int	handle_health(struct api_request *, struct api_response *);
int	handle_openapi(struct api_request *, struct api_response *);
int	handle_swagger_ui(struct api_request *, struct api_response *);
int	handle_metrics(struct api_request *, struct api_response *);

#endif /* CAAS_HANDLERS_H */
