/*
 * fixture.h — recorded platform answers (tests/fixtures/adapters/) turned
 * into struct adapter_response, for the adapters' unit tests.
 *
 * Header-only (static functions) because tests/unit/Makefile compiles
 * test_*.c files only.  A struct fixture owns the file's bytes; every
 * string in resp and the header table points into them; fixture_free
 * releases it all.  The clock is fixed at FIXTURE_NOW_MS, the time the
 * recorded rate-limit headers are relative to.
 */
#ifndef CAAS_TEST_ADAPTER_FIXTURE_H
#define CAAS_TEST_ADAPTER_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <check.h>

#include "adapter.h"

#ifndef CAAS_FIXTURES_DIR
#define CAAS_FIXTURES_DIR	CAAS_CONF_DIR "/../tests/fixtures"
#endif

#define FIXTURE_NOW_MS		INT64_C(1767225600000)	/* 2026-01-01T00:00:00Z */
#define FIXTURE_MAX_HEADERS	32

struct fixture {
	struct adapter_response	 resp;
	char			*raw;
	const char		*names[FIXTURE_MAX_HEADERS];
	const char		*values[FIXTURE_MAX_HEADERS];
	int			 nheaders;
};

static const char *
fixture_header(const struct adapter_response *resp, const char *name)
{
	const struct fixture	*f = resp->header_ctx;
	int			 i;

	for (i = 0; i < f->nheaders; i++)
		if (strcasecmp(f->names[i], name) == 0)
			return (f->values[i]);
	return (NULL);
}

/* fixture_init: an empty answer (status 0, nothing sent) on the fixed clock. */
static void
fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->resp.body = "";
	f->resp.now_ms = FIXTURE_NOW_MS;
	f->resp.header = fixture_header;
	f->resp.header_ctx = f;
}

/* next_line cuts the line at *p (LF or CRLF) and advances; NULL at the end. */
static char *
fixture_next_line(char **p, char *end)
{
	char	*line = *p, *nl;

	if (*p >= end)
		return (NULL);
	if ((nl = memchr(*p, '\n', (size_t)(end - *p))) == NULL)
		nl = end;
	*p = nl < end ? nl + 1 : end;
	if (nl > line && nl[-1] == '\r')
		nl--;
	*nl = '\0';
	return (line);
}

/*
 * fixture_parse fills f from raw bytes (taking ownership of raw, which
 * must have one spare byte after len).  Returns 0, or -1 when the status
 * line is not HTTP.
 */
static int
fixture_parse(struct fixture *f, char *raw, size_t len)
{
	char	*p = raw, *end = raw + len, *line, *colon;

	fixture_init(f);
	f->raw = raw;
	raw[len] = '\0';
	if ((line = fixture_next_line(&p, end)) == NULL ||
	    strncmp(line, "HTTP/", 5) != 0 || strchr(line, ' ') == NULL)
		return (-1);
	f->resp.status = strtol(strchr(line, ' ') + 1, NULL, 10);
	f->resp.sent = true;
	while ((line = fixture_next_line(&p, end)) != NULL && *line != '\0') {
		if ((colon = strchr(line, ':')) == NULL ||
		    f->nheaders == FIXTURE_MAX_HEADERS)
			continue;
		*colon++ = '\0';
		while (*colon == ' ')
			colon++;
		f->names[f->nheaders] = line;
		f->values[f->nheaders++] = colon;
	}
	f->resp.body = p;
	f->resp.body_len = (size_t)(end - p);
	return (0);
}

/* fixture_load reads tests/fixtures/adapters/<platform>/<name>.http. */
static void
fixture_load(struct fixture *f, const char *platform, const char *name)
{
	char	 path[1024];
	FILE	*fp;
	char	*raw;
	long	 len;

	snprintf(path, sizeof(path), "%s/adapters/%s/%s.http",
	    CAAS_FIXTURES_DIR, platform, name);
	fp = fopen(path, "rb");
	ck_assert_msg(fp != NULL, "cannot open fixture %s", path);
	ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp);
	ck_assert_int_ge(len, 0);
	rewind(fp);
	raw = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(raw);
	ck_assert_uint_eq(fread(raw, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	ck_assert_msg(fixture_parse(f, raw, (size_t)len) == 0,
	    "fixture %s has no HTTP status line", path);
}

/* fixture_no_answer: status 0; sent or not, timed out or not. */
static void
fixture_no_answer(struct fixture *f, bool sent, bool timed_out)
{
	fixture_init(f);
	f->resp.sent = sent;
	f->resp.timed_out = timed_out;
	f->resp.transport_error = sent ?
	    "Operation timed out after 30000 milliseconds with 0 bytes received" :
	    "Failed to connect to 127.0.0.1 port 9: Connection refused";
}

static void
fixture_free(struct fixture *f)
{
	free(f->raw);
	f->raw = NULL;
}

/* request_header: the value of header name in req (case-insensitive). */
static const char *
request_header(const struct adapter_request *req, const char *name)
{
	const struct curl_slist	*l;
	size_t			 n = strlen(name);

	for (l = req->headers; l != NULL; l = l->next)
		if (strncasecmp(l->data, name, n) == 0 && l->data[n] == ':')
			return (l->data[n + 1] == ' ' ? l->data + n + 2 : l->data + n + 1);
	return (NULL);
}

static void
request_init(struct adapter_request *req)
{
	memset(req, 0, sizeof(*req));
	buf_init(&req->body);
}

static void
request_cleanup(struct adapter_request *req)
{
	curl_slist_free_all(req->headers);
	buf_cleanup(&req->body);
	memset(req, 0, sizeof(*req));
}

/* Silence "defined but not used" for the helpers a test file skips. */
static inline void
fixture_helpers_used(void)
{
	(void)fixture_load;
	(void)fixture_no_answer;
	(void)fixture_free;
	(void)request_header;
	(void)request_init;
	(void)request_cleanup;
}

#endif /* CAAS_TEST_ADAPTER_FIXTURE_H */
