/*
 * adapters/common.h — helpers shared by the platform adapters: results,
 * transport failures, JSON over jansson, safe messages and request
 * building (common.c), rate-limit hints (ratelimit.c), OAuth token answers
 * (oauth.c).  The prefix is "adapters_" (the directory's), so these never
 * clash with the core's adapter_* names.
 *
 * Nothing here does I/O or keeps state; every function is safe on any
 * remote input (garbage, truncation, wrong JSON types, huge bodies).
 *
 * Memory: a json_t returned by adapters_json_parse is the caller's
 * (json_decref).  Strings read out of a json_t are borrowed from it.
 * Everything else writes into caller-owned fixed buffers or the request's
 * buffers (owned and freed by the core).
 */
#ifndef CAAS_ADAPTERS_COMMON_H
#define CAAS_ADAPTERS_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "adapter.h"
#include "buf.h"

/* Bodies longer than this are not parsed as JSON (they are not ours). */
#define ADAPTERS_JSON_MAX	(1024 * 1024)

/*
 * The remote_ref a result carries to ask the core to forget the stored
 * in-flight handle (Instagram: the container failed or expired, so the
 * next attempt must create a fresh one).  Adapters also read it back as
 * "no handle", so a core that stores it verbatim still works.
 */
#define ADAPTERS_REF_CLEAR	"-"

/* ---- results */

/* adapters_result_reset: outcome UNKNOWN, strings empty, no hints. */
void	adapters_result_reset(struct adapter_result *);
/* adapters_result_set sets outcome and a printf-style message. */
void	adapters_result_set(struct adapter_result *, enum adapter_outcome,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* adapters_tokens_reset: outcome RETRY, tokens empty, expiries -1. */
void	adapters_tokens_reset(struct adapter_tokens *);
void	adapters_tokens_set(struct adapter_tokens *, enum adapter_outcome,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * adapters_classify_status applies the status rules X and LinkedIn share to
 * the answer of a publishing request: no answer → adapters_transport_outcome;
 * 2xx → accepted(); 401 → REAUTH; 408, 429, 503 → RETRY with the platform's
 * hint; other 4xx → refused(); other statuses (5xx: the post may have been
 * applied) → UNKNOWN.  result is reset first.
 */
typedef void (*adapters_verdict_fn)(const struct adapter_post *,
    const struct adapter_response *, struct adapter_result *);
void	adapters_classify_status(const struct adapter_post *post,
	    const struct adapter_response *resp, struct adapter_result *result,
	    adapters_verdict_fn accepted, adapters_verdict_fn refused);

/*
 * adapters_transport_outcome classifies an answerless response (status 0):
 * not sent → RETRY (surely not applied); sent and no answer → UNKNOWN,
 * unless the request was idempotent (a read), then RETRY.  msg gets a
 * short description for people.  Call only when resp->status == 0.
 */
enum adapter_outcome adapters_transport_outcome(const struct adapter_response *,
	    bool idempotent, char *msg, size_t msglen);

/*
 * adapters_parse_uint reads decimal digits between optional blanks: the
 * value saturated at max (>= 0), or -1 when anything else is there.
 */
int64_t	adapters_parse_uint(const char *s, int64_t max);

/* ---- rate-limit hints (ratelimit.c) */

/*
 * adapters_retry_after_ms reads Retry-After (delta seconds or an HTTP
 * date), x-rate-limit-reset (epoch seconds; unless x-rate-limit-remaining
 * says calls are left) and X's 24-hour caps when exhausted, relative to
 * resp->now_ms.  Returns the longest valid wait in ms (0 for a time
 * already past), or -1 when there is none.
 */
int64_t	adapters_retry_after_ms(const struct adapter_response *);
/* adapters_header: resp's header name (case-insensitive), or NULL. */
const char *adapters_header(const struct adapter_response *, const char *name);
/* Retry-After's value alone: ms from now_ms, or -1 when unparseable. */
int64_t	adapters_parse_retry_after(const char *value, int64_t now_ms);
/* An epoch-seconds reset time: ms from now_ms (>= 0), or -1. */
int64_t	adapters_parse_epoch_reset(const char *value, int64_t now_ms);
/* An HTTP date (IMF-fixdate, RFC 850, asctime): epoch seconds, or -1. */
int64_t	adapters_parse_http_date(const char *value);

/* ---- JSON */

/* adapters_json_parse parses the body; NULL when empty, too big or bad. */
json_t	*adapters_json_parse(const struct adapter_response *);
/*
 * adapters_json_get walks object keys (NULL-terminated list) and returns
 * the value there, or NULL when any step is missing or not an object.
 */
json_t	*adapters_json_get(json_t *root, ...) __attribute__((sentinel));
/* adapters_json_str: the string at the key path, or NULL (wrong type too). */
const char *adapters_json_str(json_t *root, ...) __attribute__((sentinel));
/*
 * adapters_json_int reads an integer (or a string of digits) at the key
 * path into *out; returns false when missing, of another type, or out of
 * range.
 */
bool	adapters_json_int(int64_t *out, json_t *root, ...) __attribute__((sentinel));

/* ---- identifiers and messages */

/*
 * adapters_id_copy copies a remote identifier when it looks like one:
 * 1..cap-1 bytes of [A-Za-z0-9] and ":_.,-~()", not starting with '.'
 * (it may become a URL path segment).  Returns false (dst "")
 * otherwise, so a garbage id is never stored or put into a URL.
 */
bool	adapters_id_copy(char *dst, size_t cap, const char *src);
/*
 * adapters_message_copy copies remote text for people: control characters
 * become spaces, invalid UTF-8 becomes '?', truncated on a character
 * boundary (with "…"), and any run after "access_token=", "token=",
 * "Bearer " or equal to secret (may be NULL) becomes "[redacted]".
 */
void	adapters_message_copy(char *dst, size_t cap, const char *src,
	    const char *secret);
/* adapters_message_scrub redacts one more secret in msg, in place. */
void	adapters_message_scrub(char *msg, size_t cap, const char *secret);
/* adapters_body_contains: case-insensitive search in the first 64 KiB. */
bool	adapters_body_contains(const struct adapter_response *, const char *needle);

/* ---- requests */

/*
 * adapters_request_url formats req->url; returns -1 when it does not fit.
 * adapters_header_add appends one header, formatted (the temporary copy is
 * wiped, as headers carry tokens); -1 when memory runs out (list intact).
 */
int	adapters_request_url(struct adapter_request *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	adapters_header_add(struct adapter_request *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* adapters_bearer adds "Authorization: Bearer <token>"; -1 on OOM/no token. */
int	adapters_bearer(struct adapter_request *, const char *token);
/* adapters_urlencode appends s percent-encoded (all but RFC 3986 unreserved). */
int	adapters_urlencode(struct buf *, const char *s);
/* adapters_form_add appends "&"? name=urlencoded(value) to a form body. */
int	adapters_form_add(struct buf *, const char *name, const char *value);
/* adapters_base64 appends standard base64 (with padding) of p[0..len). */
int	adapters_base64(struct buf *, const void *p, size_t len);
/* adapters_buf_wipe zeroes a buffer that held a secret, then frees it. */
void	adapters_buf_wipe(struct buf *);
/* adapters_base_url: the setting with trailing slashes dropped, into dst. */
int	adapters_base_url(char *dst, size_t cap, const struct caas_adapter *,
	    const char *key);
/* adapters_conf_int: an integer setting in [min, max], or def. */
int64_t	adapters_conf_int(const struct caas_adapter *, const char *key,
	    int64_t def, int64_t min, int64_t max);

/* ---- OAuth token answers (oauth.c; RFC 6749 §5.1, §5.2), X and LinkedIn */

/*
 * adapters_oauth_classify reads a token endpoint's answer into tok:
 * 2xx with access_token → PUBLISHED (refreshed); 400 invalid_grant and
 * other 4xx but 429 → REAUTH; 429, 5xx, no answer, garbage → RETRY.
 */
void	adapters_oauth_classify(const struct adapter_response *,
	    const struct adapter_account *, struct adapter_tokens *);

/*
 * adapters_oauth_refresh_request starts a refresh_token grant to a's
 * "token_url" setting: POST, form-encoded grant_type, refresh_token and
 * client_id (a's "client_id").  The caller adds how the client proves
 * itself (X: HTTP Basic; LinkedIn: a client_secret field).  Returns
 * ADAPTER_SEND, or ADAPTER_DONE with tok set (no refresh token: REAUTH;
 * an unusable URL or no memory: RETRY).
 */
enum adapter_prepare adapters_oauth_refresh_request(const struct caas_adapter *a,
	    const struct adapter_account *acct, struct adapter_request *req,
	    struct adapter_tokens *tok);

#endif /* CAAS_ADAPTERS_COMMON_H */
