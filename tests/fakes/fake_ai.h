/*
 * tests/fakes/fake_ai.h — the fake AI providers' shared declarations: the
 * server and its control API (fake_ai.c) and the providers' protocols,
 * request validation and generated answers (fake_ai_proto.c).
 *
 * Vocabulary: a "call" is one provider request as the protocols see it,
 * complete with its parsed body; a "reply" is what will be sent back (or
 * not: the steps "hang" and "close").  A "step" is what a test scripted
 * for one request of one provider (POST /_fake/script).
 *
 * Memory: a reply owns its body and headers (fc_reply_clear, fake_common.h);
 * a call borrows everything it points to from the request that made it.
 */
#ifndef CAAS_FAKE_AI_H
#define CAAS_FAKE_AI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fake_common.h"

enum fai_provider {
	FAI_OPENAI,
	FAI_GEMINI,
	FAI_COMPAT,
	FAI_NPROVIDERS,
	FAI_NONE = -1
};

/* Keep in step with fai_step_names (fake_ai_proto.c). */
enum fai_step {
	FAI_OK,
	FAI_LONG,
	FAI_LONG_ONE,
	FAI_TEXT,
	FAI_FENCED,
	FAI_EMPTY,
	FAI_RATE_LIMIT,
	FAI_INSUFFICIENT_QUOTA,
	FAI_SERVER_ERROR,
	FAI_UNAVAILABLE,
	FAI_BAD_REQUEST,
	FAI_UNAUTHORIZED,
	FAI_FORBIDDEN,
	FAI_NOT_FOUND,
	FAI_MALFORMED,
	FAI_TRUNCATED,
	FAI_BLOCKED,
	FAI_PROMPT_BLOCKED,
	FAI_REFUSAL,
	FAI_HANG,
	FAI_CLOSE,
	FAI_NSTEPS
};

extern const char *const fai_step_names[FAI_NSTEPS];
extern const char *const fai_provider_names[FAI_NPROVIDERS];

/* What a generated answer takes from the provider's script. */
struct fai_params {
	int		 length;		/* characters of a "long" variant */
	int64_t		 retry_after_ms;	/* the rate limit's retry hint */
};

struct fai_call {
	enum fai_provider	 provider;
	const char		*method;
	const char		*path;		/* without the query string */
	json_t			*body;		/* parsed object, NULL when not one */
	const char		*authorization;	/* header, NULL when absent */
	const char		*goog_key;	/* x-goog-api-key or ?key=, or NULL */
	const char		*want_key;	/* configured key; NULL = any */
	uint64_t		 seq;		/* request number, for ids */
	char			 model[256];	/* from the path (Gemini) or body */
};

/* ---- protocols (fake_ai_proto.c) */
enum fai_provider fai_provider_of(const char *path);
/*
 * fai_validate checks the route, the credentials and the body as the real
 * API does.  true: the call may be answered (c->model set); false: r holds
 * the real API's error.  *auth_ok tells whether the credentials passed.
 */
bool	fai_validate(struct fai_call *c, struct fc_reply *r, bool *auth_ok);
/* fai_answer fills r with the answer of step (not hang/close) to a valid call. */
void	fai_answer(const struct fai_call *c, enum fai_step step,
	    const struct fai_params *p, struct fc_reply *r);
int	fai_step_of(const char *name);	/* -1 when unknown */

#endif /* CAAS_FAKE_AI_H */
