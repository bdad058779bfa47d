/*
 * adapters/common.c — helpers shared by the platform adapters: results,
 * transport failures, JSON reads, identifiers and safe messages, request
 * building (common.h; rate-limit hints are in ratelimit.c, OAuth token
 * answers in oauth.c).
 *
 * This code reads what remote servers send and runs inside the PostgreSQL
 * postmaster's background worker, where a crash restarts the whole
 * cluster.  So: every read is bounded by the length it was given or by
 * ADAPTERS_JSON_MAX; numbers are range-checked before any arithmetic;
 * JSON values are type-checked before use; nothing is assumed about a body.
 *
 * Secrets: a token is only ever copied into a request header (through a
 * temporary that is wiped) or into struct adapter_tokens.  Messages for
 * people pass through adapters_message_copy, which redacts anything that
 * looks like a credential.
 *
 * Memory: see common.h.  No global state.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"

#define MSG_SCAN_MAX		(64 * 1024)	/* bytes of a body searched */

/* ==== results */

void
adapters_result_reset(struct adapter_result *r)
{
	r->outcome = ADAPTER_UNKNOWN;
	r->remote_id[0] = '\0';
	r->remote_url[0] = '\0';
	r->remote_ref[0] = '\0';
	r->retry_after_ms = -1;
	r->continue_after_ms = 0;
	r->message[0] = '\0';
}

void
adapters_result_set(struct adapter_result *r, enum adapter_outcome outcome,
    const char *fmt, ...)
{
	va_list	 ap;

	r->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

void
adapters_tokens_reset(struct adapter_tokens *t)
{
	t->outcome = ADAPTER_RETRY;
	explicit_bzero(t->access_token, sizeof(t->access_token));
	explicit_bzero(t->refresh_token, sizeof(t->refresh_token));
	t->expires_in_s = -1;
	t->refresh_expires_in_s = -1;
	t->retry_after_ms = -1;
	t->message[0] = '\0';
}

void
adapters_tokens_set(struct adapter_tokens *t, enum adapter_outcome outcome,
    const char *fmt, ...)
{
	va_list	 ap;

	t->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(t->message, sizeof(t->message), fmt, ap);
	va_end(ap);
}

/* ==== transport */

enum adapter_outcome
adapters_transport_outcome(const struct adapter_response *resp,
    bool idempotent, char *msg, size_t msglen)
{
	char	 detail[200];

	adapters_message_copy(detail, sizeof(detail),
	    resp->transport_error != NULL ? resp->transport_error : "", NULL);
	if (!resp->sent) {
		snprintf(msg, msglen, "not sent: %s",
		    detail[0] != '\0' ? detail : "connection failed");
		return (ADAPTER_RETRY);
	}
	snprintf(msg, msglen, "%s: %s",
	    resp->timed_out ? "no answer (timed out)" : "no answer",
	    detail[0] != '\0' ? detail : "connection lost");
	return (idempotent ? ADAPTER_RETRY : ADAPTER_UNKNOWN);
}

/* ==== numbers */

/* skip_ws returns s past blanks. */
static const char *
skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return (s);
}

int64_t
adapters_parse_uint(const char *s, int64_t max)
{
	int64_t	 v = 0, d;

	s = skip_ws(s);
	if (!isdigit((unsigned char)*s))
		return (-1);
	for (; isdigit((unsigned char)*s); s++) {
		d = *s - '0';
		v = v > (max - d) / 10 ? max : v * 10 + d;
	}
	if (*skip_ws(s) != '\0')
		return (-1);
	return (v);
}

/* ==== JSON */

json_t *
adapters_json_parse(const struct adapter_response *resp)
{
	json_error_t	 err;

	if (resp->body == NULL || resp->body_len == 0 ||
	    resp->body_len > ADAPTERS_JSON_MAX)
		return (NULL);
	return (json_loadb(resp->body, resp->body_len, 0, &err));
}

static json_t *
json_walk(json_t *v, va_list ap)
{
	const char	*key;

	while ((key = va_arg(ap, const char *)) != NULL) {
		if (!json_is_object(v))
			return (NULL);
		v = json_object_get(v, key);
	}
	return (v);
}

json_t *
adapters_json_get(json_t *root, ...)
{
	va_list	 ap;
	json_t	*v;

	va_start(ap, root);
	v = json_walk(root, ap);
	va_end(ap);
	return (v);
}

const char *
adapters_json_str(json_t *root, ...)
{
	va_list	 ap;
	json_t	*v;

	va_start(ap, root);
	v = json_walk(root, ap);
	va_end(ap);
	return (json_is_string(v) ? json_string_value(v) : NULL);
}

bool
adapters_json_int(int64_t *out, json_t *root, ...)
{
	va_list	 ap;
	json_t	*v;
	double	 d;
	int64_t	 n;

	va_start(ap, root);
	v = json_walk(root, ap);
	va_end(ap);
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return (true);
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (!(d >= -9e15 && d <= 9e15) || d != (double)(int64_t)d)
			return (false);
		*out = (int64_t)d;
		return (true);
	}
	if (json_is_string(v) && json_string_length(v) <= 18 &&
	    (n = adapters_parse_uint(json_string_value(v), INT64_C(999999999999999999))) >= 0) {
		*out = n;
		return (true);
	}
	return (false);
}

/* ==== identifiers and messages */

bool
adapters_id_copy(char *dst, size_t cap, const char *src)
{
	size_t	 i;

	dst[0] = '\0';
	if (src == NULL || cap == 0)
		return (false);
	for (i = 0; src[i] != '\0'; i++) {
		if (i + 1 >= cap)
			return (false);
		if (!isalnum((unsigned char)src[i]) &&
		    strchr(":_.,-~()", src[i]) == NULL)
			return (false);
	}
	/* Not empty, and never "." or ".." when it becomes a path segment. */
	if (i == 0 || src[0] == '.')
		return (false);
	memcpy(dst, src, i + 1);
	return (true);
}

/* utf8_len: length of the well-formed UTF-8 sequence at s, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t	 n, i;

	if (s[0] < 0x80)
		return (1);
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return (0);
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return (0);
	/* Overlong 3/4-byte forms, surrogates, above U+10FFFF. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return (0);
	return (n);
}

/*
 * secret_marker returns the length of a credential marker at s ("token=",
 * "Bearer ", …), 0 when there is none.
 */
static size_t
secret_marker(const char *s)
{
	static const char	*const markers[] = {
		"token=", "token\":", "token\" :", "bearer ", "secret=",
		"secret\":", "code=", "password=", "code_verifier=",
	};
	size_t	 i, n;

	for (i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
		n = strlen(markers[i]);
		if (strncasecmp(s, markers[i], n) == 0)
			return (n);
	}
	return (0);
}

/* secret_run: length of the credential-like run at s. */
static size_t
secret_run(const char *s)
{
	size_t	 n = 0;

	while (s[n] != '\0' && !isspace((unsigned char)s[n]) &&
	    strchr("\"&,;}'", s[n]) == NULL)
		n++;
	return (n);
}

void
adapters_message_copy(char *dst, size_t cap, const char *src,
    const char *secret)
{
	static const char	 ellipsis[] = "\xe2\x80\xa6";
	static const char	 redacted[] = "[redacted]";
	const unsigned char	*s = (const unsigned char *)src;
	size_t			 o = 0, limit, n, slen;

	if (cap == 0)
		return;
	dst[0] = '\0';
	if (src == NULL || cap < sizeof(ellipsis) + 1)
		return;
	limit = cap - sizeof(ellipsis);		/* room for "…" and NUL */
	slen = secret != NULL && strlen(secret) >= 4 ? strlen(secret) : 0;
	while (*s != '\0' && (size_t)((const char *)s - src) < MSG_SCAN_MAX) {
		if (slen > 0 && strncmp((const char *)s, secret, slen) == 0) {
			if (o + sizeof(redacted) - 1 > limit)
				break;
			memcpy(dst + o, redacted, sizeof(redacted) - 1);
			o += sizeof(redacted) - 1;
			s += slen;
			continue;
		}
		if ((n = secret_marker((const char *)s)) > 0) {
			if (o + n > limit)
				break;
			memcpy(dst + o, s, n);
			o += n;
			s += n;
			while (*s == ' ' || *s == '"')
				s++;
			if ((n = secret_run((const char *)s)) > 0) {
				if (o + sizeof(redacted) - 1 > limit)
					break;
				memcpy(dst + o, redacted, sizeof(redacted) - 1);
				o += sizeof(redacted) - 1;
				s += n;
			}
			continue;
		}
		if ((n = utf8_len(s)) == 0 || *s < 0x20 || *s == 0x7f) {
			if (o + 1 > limit)
				break;
			dst[o++] = n == 0 ? '?' : ' ';
			s += n == 0 ? 1 : n;
			continue;
		}
		if (o + n > limit)
			break;
		memcpy(dst + o, s, n);
		o += n;
		s += n;
	}
	if (*s != '\0') {
		memcpy(dst + o, ellipsis, sizeof(ellipsis) - 1);
		o += sizeof(ellipsis) - 1;
	}
	dst[o] = '\0';
}

void
adapters_message_scrub(char *msg, size_t cap, const char *secret)
{
	char	 tmp[ADAPTER_MSG_MAX];

	if (secret == NULL || secret[0] == '\0' || strstr(msg, secret) == NULL)
		return;
	adapters_message_copy(tmp, sizeof(tmp), msg, secret);
	adapters_message_copy(msg, cap, tmp, secret);
	explicit_bzero(tmp, sizeof(tmp));
}

bool
adapters_body_contains(const struct adapter_response *resp, const char *needle)
{
	size_t	 len, nlen, i;

	if (resp->body == NULL || needle == NULL || (nlen = strlen(needle)) == 0)
		return (false);
	len = resp->body_len < MSG_SCAN_MAX ? resp->body_len : MSG_SCAN_MAX;
	for (i = 0; i + nlen <= len; i++)
		if (strncasecmp(resp->body + i, needle, nlen) == 0)
			return (true);
	return (false);
}

/* ==== requests */

int
adapters_request_url(struct adapter_request *req, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(req->url, sizeof(req->url), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(req->url)) {
		req->url[0] = '\0';
		return (-1);
	}
	return (0);
}

int
adapters_header_add(struct adapter_request *req, const char *fmt, ...)
{
	struct curl_slist	*l;
	va_list			 ap;
	char			*line;
	int			 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (line = malloc((size_t)n + 1)) == NULL)
		return (-1);
	va_start(ap, fmt);
	vsnprintf(line, (size_t)n + 1, fmt, ap);
	va_end(ap);
	l = curl_slist_append(req->headers, line);
	explicit_bzero(line, (size_t)n);
	free(line);
	if (l == NULL)
		return (-1);
	req->headers = l;
	return (0);
}

int
adapters_bearer(struct adapter_request *req, const char *token)
{
	const char	*p;

	if (token == NULL || *token == '\0')
		return (-1);
	/* Visible ASCII only: no header injection through a stored token. */
	for (p = token; *p != '\0'; p++)
		if (*p < 0x21 || *p > 0x7e)
			return (-1);
	return (adapters_header_add(req, "Authorization: Bearer %s", token));
}

int
adapters_urlencode(struct buf *b, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	char			 esc[3];

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' ||
		    *p == '~') {
			if (buf_append(b, p, 1) == -1)
				return (-1);
			continue;
		}
		esc[0] = '%';
		esc[1] = hex[*p >> 4];
		esc[2] = hex[*p & 0x0f];
		if (buf_append(b, esc, 3) == -1)
			return (-1);
	}
	return (0);
}

int
adapters_form_add(struct buf *b, const char *name, const char *value)
{
	if ((b->len > 0 && buf_append(b, "&", 1) == -1) ||
	    adapters_urlencode(b, name) == -1 || buf_append(b, "=", 1) == -1 ||
	    adapters_urlencode(b, value != NULL ? value : "") == -1)
		return (-1);
	return (0);
}

int
adapters_base64(struct buf *b, const void *p, size_t len)
{
	static const char	 tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char	*s = p;
	char			 out[4];
	uint32_t		 v;
	size_t			 i;

	for (i = 0; i < len; i += 3) {
		v = (uint32_t)s[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		out[0] = tab[(v >> 18) & 0x3f];
		out[1] = tab[(v >> 12) & 0x3f];
		out[2] = i + 1 < len ? tab[(v >> 6) & 0x3f] : '=';
		out[3] = i + 2 < len ? tab[v & 0x3f] : '=';
		if (buf_append(b, out, 4) == -1)
			return (-1);
	}
	if (b->data == NULL && buf_append(b, "", 0) == -1)
		return (-1);
	explicit_bzero(out, sizeof(out));
	return (0);
}

void
adapters_buf_wipe(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_cleanup(b);
}

int
adapters_base_url(char *dst, size_t cap, const struct caas_adapter *a,
    const char *key)
{
	const char	*v = adapter_conf(a, key);
	size_t		 n;

	dst[0] = '\0';
	if (v == NULL || (strncmp(v, "http://", 7) != 0 &&
	    strncmp(v, "https://", 8) != 0))
		return (-1);
	n = strlen(v);
	while (n > 0 && v[n - 1] == '/')
		n--;
	if (n >= cap)
		return (-1);
	memcpy(dst, v, n);
	dst[n] = '\0';
	return (0);
}

int64_t
adapters_conf_int(const struct caas_adapter *a, const char *key, int64_t def,
    int64_t min, int64_t max)
{
	const char	*v = adapter_conf(a, key);
	int64_t		 n;

	if (v == NULL || (n = adapters_parse_uint(v, INT64_C(999999999999))) < 0 ||
	    n < min || n > max)
		return (def);
	return (n);
}


void
adapters_classify_status(const struct adapter_post *post,
    const struct adapter_response *resp, struct adapter_result *result,
    adapters_verdict_fn accepted, adapters_verdict_fn refused)
{
	long	 st = resp->status;

	adapters_result_reset(result);
	if (st == 0)
		result->outcome = adapters_transport_outcome(resp, false,
		    result->message, sizeof(result->message));
	else if (st >= 200 && st < 300)
		accepted(post, resp, result);
	else if (st == 401)
		adapters_result_set(result, ADAPTER_REAUTH,
		    "HTTP 401: the access token is expired or revoked");
	else if (st == 429 || st == 503 || st == 408) {
		result->retry_after_ms = adapters_retry_after_ms(resp);
		adapters_result_set(result, ADAPTER_RETRY, "HTTP %ld%s", st,
		    st == 429 ? ": rate limited" : "");
	} else if (st >= 400 && st < 500)
		refused(post, resp, result);
	else
		adapters_result_set(result, ADAPTER_UNKNOWN,
		    "HTTP %ld: the post may have been published", st);
}
