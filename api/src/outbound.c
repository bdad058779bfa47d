/*
 * outbound.c — one blocking HTTP exchange with libcurl's easy interface,
 * for the calls a user waits for anyway (outbound.h).
 *
 * Each call makes and frees its own easy handle (a few per account
 * connection: no pool needed).  CURLOPT_NOSIGNAL because the server is
 * multi-threaded; redirects are not followed, so a token never travels to
 * a host the configuration did not name.  The headers list holds the
 * bearer token: it is wiped before it is freed.
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "outbound.h"

int
outbound_global_init(void)
{
	return (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1);
}

void
outbound_global_cleanup(void)
{
	curl_global_cleanup();
}

/* collect appends the answer to the caller's buffer, up to the limit. */
static size_t
collect(char *data, size_t size, size_t nmemb, void *cls)
{
	struct buf	*b = cls;
	size_t		 n = size * nmemb;

	if (b->len + n > OUTBOUND_BODY_MAX || buf_append(b, data, n) == -1)
		return (0);	/* curl fails the transfer: CURLE_WRITE_ERROR */
	return (n);
}

/* free_headers wipes each header (one may be the bearer token), then frees. */
static void
free_headers(struct curl_slist *h)
{
	struct curl_slist	*p;

	for (p = h; p != NULL; p = p->next)
		OPENSSL_cleanse(p->data, strlen(p->data));
	curl_slist_free_all(h);
}

/* add_header appends one header; NULL when memory ran out (h freed). */
static struct curl_slist *
add_header(struct curl_slist *h, const char *line)
{
	struct curl_slist	*n = curl_slist_append(h, line);

	if (n == NULL)
		free_headers(h);
	return (n);
}

/*
 * make_headers builds Accept, Content-Type for a form, the caller's extra
 * header and, with a bearer token, Authorization.
 */
static struct curl_slist *
make_headers(const struct oauth_http *rq)
{
	struct curl_slist	*h;
	struct buf		 auth;

	if ((h = add_header(NULL, "Accept: application/json")) == NULL)
		return (NULL);
	if (rq->post && (h = add_header(h,
	    "Content-Type: application/x-www-form-urlencoded")) == NULL)
		return (NULL);
	if (rq->extra_header != NULL && (h = add_header(h, rq->extra_header)) == NULL)
		return (NULL);
	if (rq->bearer == NULL)
		return (h);
	buf_init(&auth);
	if (buf_appendf(&auth, "Authorization: Bearer %s", rq->bearer) == -1) {
		free_headers(h);
		return (NULL);
	}
	h = add_header(h, auth.data);
	OPENSSL_cleanse(auth.data, auth.len);
	buf_cleanup(&auth);
	return (h);
}

int
outbound_fetch(const struct oauth_http *rq, int timeout_ms, long *status,
    struct buf *out, char *err, size_t errlen)
{
	CURL			*c;
	struct curl_slist	*hdrs;
	CURLcode		 rc;

	*status = 0;
	if (rq->url.data == NULL || (c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "no request");
		return (-1);
	}
	if ((hdrs = make_headers(rq)) == NULL) {
		curl_easy_cleanup(c);
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	curl_easy_setopt(c, CURLOPT_URL, rq->url.data);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "caas-api");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (rq->post) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body.data != NULL ? rq->body.data : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)rq->body.len);
	}
	if (rq->basic_user != NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, rq->basic_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, rq->basic_password);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	else {
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
		if (rc == CURLE_OPERATION_TIMEDOUT)
			*status = OUTBOUND_TIMED_OUT;
	}
	curl_easy_cleanup(c);
	free_headers(hdrs);
	return (rc == CURLE_OK ? 0 : -1);
}
