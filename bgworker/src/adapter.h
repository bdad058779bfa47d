/*
 * adapter.h — the contract between the dispatcher core and a platform
 * adapter (STYLE.md "How to add a platform adapter").
 *
 * An adapter turns one claimed post into HTTP requests and classifies each
 * answer; it never does I/O itself.  The core owns the curl handles, the
 * database, timers and retries.  One publish attempt may take several
 * requests (Instagram: create container → poll status → media_publish →
 * read permalink): the adapter says ADAPTER_CONTINUE, keeps its place in
 * struct adapter_state, and prepare() is called again for the next step.
 *
 * Adding a platform: one file adapters/<name>.c defining a const struct
 * caas_adapter, one row in adapters/registry.c, one row in caas.platforms
 * (SQL).  Nothing else in the core changes: settings are declared by the
 * adapter (adapter_setting rows) and read with adapter_conf().
 *
 * Memory: everything an adapter receives is borrowed for the duration of
 * the call.  It writes into the request's buffers and header list (owned
 * and freed by the core) and into fixed-size fields of the result and
 * state.  Adapters keep no global mutable state: the core may run many
 * attempts of many accounts at once.
 */
#ifndef CAAS_ADAPTER_H
#define CAAS_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "buf.h"

#define ADAPTER_URL_MAX		2048
#define ADAPTER_ID_MAX		256
#define ADAPTER_MSG_MAX		512
#define ADAPTER_MAX_MEDIA	10

enum adapter_outcome {
	ADAPTER_PUBLISHED,	/* accepted: remote_id (and remote_url) set */
	ADAPTER_RETRY,		/* surely not applied: try again later */
	ADAPTER_REAUTH,		/* token expired or revoked (401, OAuth error) */
	ADAPTER_PERMANENT,	/* validation error, duplicate: never retried */
	ADAPTER_UNKNOWN,	/* may have been applied, nothing to check: unconfirmed */
	ADAPTER_CONTINUE	/* the attempt goes on with another request */
};

/* A claimed post, as the core hands it over (read-only for adapters). */
struct adapter_post {
	const char	*org_id;
	const char	*post_id;
	const char	*account_id;
	const char	*external_id;	/* X user id, LinkedIn author URN, IG user id */
	const char	*handle;	/* may be "" */
	const char	*text;		/* the pinned version's body, UTF-8 */
	const char	*media_urls[ADAPTER_MAX_MEDIA];
	int		 n_media;
	const char	*access_token;	/* opened by the core; wiped after the attempt */
	const char	*remote_ref;	/* in-flight handle from an earlier attempt, or NULL */
	int		 attempt;	/* 1 for the first try of this post ever */
};

/*
 * Per-attempt scratch the adapter owns the meaning of.  Zeroed by the core
 * before the first prepare() of an attempt; step 0 is the first request.
 */
struct adapter_state {
	int		 step;
	int		 polls;		/* for status polling */
	char		 ref[ADAPTER_ID_MAX];	/* e.g. the Instagram container id */
	char		 remote_id[ADAPTER_ID_MAX];
};

/* One HTTP request, filled by prepare(); the core sends it. */
struct adapter_request {
	char			 method[8];	/* "GET" or "POST" */
	char			 url[ADAPTER_URL_MAX];
	struct curl_slist	*headers;	/* append with curl_slist_append */
	struct buf		 body;		/* empty for GET */
	/*
	 * idempotent: safe to repeat — reads, and requests that publish
	 * nothing (an Instagram media container).  A non-idempotent request
	 * sent without an answer is an unknown outcome.
	 */
	bool			 idempotent;
};

/* What came back (or did not). */
struct adapter_response {
	long		 status;	/* HTTP status, 0 when no answer came */
	bool		 sent;		/* the request reached the wire */
	bool		 timed_out;
	const char	*transport_error;	/* curl's message when status == 0 */
	const char	*body;		/* NUL-terminated; "" when none */
	size_t		 body_len;
	int64_t		 now_ms;	/* wall clock, ms since the epoch */
	/* header(resp, "x-restli-id") → value or NULL (case-insensitive). */
	const char	*(*header)(const struct adapter_response *, const char *name);
	const void	*header_ctx;	/* the core's, for header() */
};

/* The adapter's verdict on one response. */
struct adapter_result {
	enum adapter_outcome outcome;
	char		 remote_id[ADAPTER_ID_MAX];
	char		 remote_url[ADAPTER_URL_MAX];	/* https://… or "" */
	/*
	 * remote_ref: set it to persist an in-flight handle at once (the core
	 * calls caas.dispatch_progress before anything else), so a crash never
	 * loses it; it comes back as adapter_post.remote_ref on a later attempt.
	 * "-" (ADAPTERS_REF_CLEAR) means "forget the stored handle"; adapters
	 * read a stored "-" as no handle.
	 */
	char		 remote_ref[ADAPTER_ID_MAX];
	int64_t		 retry_after_ms;	/* platform hint for RETRY, -1 = none */
	int64_t		 continue_after_ms;	/* delay before the next step (CONTINUE) */
	char		 message[ADAPTER_MSG_MAX];	/* for people; never a token */
};

/* Token refresh. */
struct adapter_account {
	const char	*org_id;
	const char	*account_id;
	const char	*external_id;
	const char	*access_token;	/* may be NULL */
	const char	*refresh_token;	/* may be NULL */
};

struct adapter_tokens {
	enum adapter_outcome outcome;	/* PUBLISHED = refreshed, RETRY, REAUTH */
	char		 access_token[8192];
	char		 refresh_token[8192];	/* "" = the platform sent none: keep the old one */
	int64_t		 expires_in_s;		/* -1 = unknown */
	int64_t		 refresh_expires_in_s;	/* -1 = unknown */
	int64_t		 retry_after_ms;
	char		 message[ADAPTER_MSG_MAX];
};

/* A setting an adapter reads (dispatcher.conf key "<adapter>.<key>"). */
struct adapter_setting {
	const char	*key;		/* NULL ends the array */
	const char	*def;		/* default */
	bool		 secret;	/* only from the environment or <key>_file */
	const char	*doc;		/* one line, for --check-config and docs */
};

enum adapter_prepare {
	ADAPTER_SEND,		/* request filled: send it */
	ADAPTER_DONE		/* no request: result filled (sandbox, bad input) */
};

struct caas_adapter {
	const char			*name;		/* = caas.platforms.platform */
	const struct adapter_setting	*settings;	/* may be NULL */

	/*
	 * prepare fills req for state->step, or fills result and returns
	 * ADAPTER_DONE (e.g. PERMANENT for an Instagram post without an image).
	 */
	enum adapter_prepare (*prepare)(const struct adapter_post *,
			    struct adapter_state *, struct adapter_request *,
			    struct adapter_result *);
	/* classify reads resp for state->step and fills result. */
	void		(*classify)(const struct adapter_post *,
			    struct adapter_state *, const struct adapter_response *,
			    struct adapter_result *);

	/* Token refresh; both NULL when the platform has none. */
	enum adapter_prepare (*refresh_prepare)(const struct adapter_account *,
			    struct adapter_request *, struct adapter_tokens *);
	void		(*refresh_classify)(const struct adapter_account *,
			    const struct adapter_response *, struct adapter_tokens *);
};

/* adapters/registry.c: NULL-terminated. */
extern const struct caas_adapter *const adapter_registry[];

/* adapter_find returns the adapter named name, or NULL. */
const struct caas_adapter *adapter_find(const char *name);

/*
 * adapter_conf returns the configured value of one of a's settings (its
 * default when unset); NULL for a key a does not declare.  Provided by the
 * core's configuration (config.c); the string lives as long as the config.
 */
const char	*adapter_conf(const struct caas_adapter *a, const char *key);

#endif /* CAAS_ADAPTER_H */
