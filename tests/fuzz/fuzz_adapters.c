/*
 * tests/fuzz/fuzz_adapters.c — libFuzzer target for the platform adapters
 * (every file of bgworker/src/adapters/): arbitrary statuses, headers and bodies fed
 * to every adapter's classify at every step, through whole multi-step
 * attempts, and to refresh_classify.
 *
 * Input:
 *   byte 0   adapter: registry row (mod the number of rows)
 *   byte 1   mode (low 2 bits): 0 one classify at step byte1 >> 2 (any
 *            value, valid or not), 1 a whole attempt (prepare/classify until
 *            the outcome is not CONTINUE), 2 token refresh, 3 the shared
 *            parsers on the raw bytes
 *   byte 2   the stored remote_ref: 0 none, 1 a container, 2 container/media,
 *            3 "-", 4 garbage
 *   then responses, each: status (2 bytes LE, mod 600), flags (bit 0 sent,
 *   bit 1 timed out), then bytes up to "\n--\n": header lines up to the
 *   first empty line ("\n\n"), the rest the body.  Missing responses are
 *   "not sent".
 *
 * A crash or sanitizer report is a bug, and so is a broken contract,
 * checked with abort():
 *   - the outcome is one of the enum's, and CONTINUE only from a
 *     multi-step adapter; an attempt ends within MAX_STEPS requests;
 *   - message, remote_id, remote_url, remote_ref are NUL-terminated within
 *     their arrays, and none carries a token the adapter was given;
 *   - PUBLISHED has a remote_id made of id characters; a remote_url is
 *     https://; refresh outcomes are PUBLISHED (with an access token),
 *     RETRY or REAUTH.
 * The tokens contain '/', '+' and '=', which no identifier may, so an id
 * the platform sends can never be mistaken for a leaked token.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapter.h"
#include "adapter_conf.h"
#include "adapters/common.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

#define MAX_HEADERS	16
#define MAX_STEPS	64
#define ACCESS		"tok-FUZZ/access+7f3a9c="
#define REFRESH		"tok-FUZZ/refresh+51be02="

struct input {
	const uint8_t	*p;
	size_t		 n;
};

struct fresp {
	struct adapter_response	 resp;
	char			*body;
	char			*names[MAX_HEADERS];
	char			*values[MAX_HEADERS];
	int			 nheaders;
};

static void
check(int cond)
{
	if (!cond)
		abort();
}

static const char *
fresp_header(const struct adapter_response *resp, const char *name)
{
	const struct fresp	*f = resp->header_ctx;
	int			 i;

	for (i = 0; i < f->nheaders; i++)
		if (strcasecmp(f->names[i], name) == 0)
			return (f->values[i]);
	return (NULL);
}

static char *
dup_bytes(const uint8_t *p, size_t n)
{
	char	*s = malloc(n + 1);

	check(s != NULL);
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return (s);
}

static const uint8_t *
find(const uint8_t *p, size_t n, const char *needle)
{
	size_t	 k = strlen(needle), i;

	for (i = 0; i + k <= n; i++)
		if (memcmp(p + i, needle, k) == 0)
			return (p + i);
	return (NULL);
}

/* parse_headers splits "name: value" lines of p[0..n) into f. */
static void
parse_headers(struct fresp *f, const uint8_t *p, size_t n)
{
	const uint8_t	*end = p + n, *nl, *colon;

	while (p < end && f->nheaders < MAX_HEADERS) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		colon = memchr(p, ':', (size_t)(nl - p));
		if (colon != NULL) {
			f->names[f->nheaders] = dup_bytes(p, (size_t)(colon - p));
			colon++;
			while (colon < nl && *colon == ' ')
				colon++;
			f->values[f->nheaders++] = dup_bytes(colon, (size_t)(nl - colon));
		}
		p = nl < end ? nl + 1 : end;
	}
}

/* next_response takes one response off in (or a "not sent" one). */
static void
next_response(struct input *in, struct fresp *f)
{
	const uint8_t	*chunk, *sep, *blank;
	size_t		 len;
	int		 flags;

	memset(f, 0, sizeof(*f));
	f->resp.now_ms = INT64_C(1767225600000);
	f->resp.header = fresp_header;
	f->resp.header_ctx = f;
	if (in->n < 3) {
		f->body = dup_bytes(NULL, 0);
		f->resp.body = f->body;
		f->resp.transport_error = "Connection refused";
		in->n = 0;
		return;
	}
	f->resp.status = (long)((in->p[0] | in->p[1] << 8) % 600);
	flags = in->p[2];
	f->resp.sent = (flags & 1) != 0 || f->resp.status != 0;
	f->resp.timed_out = (flags & 2) != 0;
	if (f->resp.status == 0)
		f->resp.transport_error = (flags & 4) != 0 ? NULL :
		    "Operation timed out after 30000 ms: access_token=" ACCESS;
	in->p += 3;
	in->n -= 3;
	chunk = in->p;
	sep = find(chunk, in->n, "\n--\n");
	len = sep != NULL ? (size_t)(sep - chunk) : in->n;
	in->p += sep != NULL ? len + 4 : len;
	in->n -= sep != NULL ? len + 4 : len;
	blank = find(chunk, len, "\n\n");
	if (blank != NULL) {
		parse_headers(f, chunk, (size_t)(blank - chunk));
		f->body = dup_bytes(blank + 2, len - (size_t)(blank - chunk) - 2);
		f->resp.body_len = len - (size_t)(blank - chunk) - 2;
	} else {
		f->body = dup_bytes(chunk, len);
		f->resp.body_len = len;
	}
	f->resp.body = f->body;
}

static void
fresp_free(struct fresp *f)
{
	int	 i;

	for (i = 0; i < f->nheaders; i++) {
		free(f->names[i]);
		free(f->values[i]);
	}
	free(f->body);
}

/*
 * check_str: NUL-terminated within cap, and without the tokens the adapter
 * was given (classify sees the access token only; refresh both).
 */
static void
check_str(const char *s, size_t cap, bool refresh_known)
{
	check(memchr(s, '\0', cap) != NULL);
	check(strstr(s, ACCESS) == NULL);
	check(!refresh_known || strstr(s, REFRESH) == NULL);
}

static void
check_result(const struct caas_adapter *a, const struct adapter_result *r)
{
	size_t	 n;

	check(r->outcome >= ADAPTER_PUBLISHED && r->outcome <= ADAPTER_CONTINUE);
	check_str(r->message, sizeof(r->message), false);
	check_str(r->remote_id, sizeof(r->remote_id), false);
	check_str(r->remote_url, sizeof(r->remote_url), false);
	check_str(r->remote_ref, sizeof(r->remote_ref), false);
	if (r->outcome == ADAPTER_CONTINUE)
		check(strcmp(a->name, "instagram") == 0);
	if (r->outcome == ADAPTER_PUBLISHED) {
		n = strlen(r->remote_id);
		check(n > 0 && strspn(r->remote_id, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.,-~()") == n);
	}
	if (r->remote_url[0] != '\0')
		check(strncmp(r->remote_url, "https://", 8) == 0);
}

static void
base_post(struct adapter_post *post, int ref)
{
	static const char *const refs[] = {
		NULL, "17889455560051444", "17889455560051444/17920238422030506",
		"-", "../..//x?y",
	};

	memset(post, 0, sizeof(*post));
	post->org_id = "00000000-0000-0000-0000-0000000000a1";
	post->post_id = "00000000-0000-0000-0000-0000000000b1";
	post->account_id = "00000000-0000-0000-0000-0000000000c1";
	post->external_id = "17841400000000000";
	post->handle = "fuzz";
	post->text = "fuzz (text) #1 @you";
	post->media_urls[0] = "https://cdn.example.com/a.jpg";
	post->n_media = 1;
	post->access_token = ACCESS;
	post->remote_ref = refs[ref % 5];
	post->attempt = 1;
}

static void
request_reset(struct adapter_request *req)
{
	curl_slist_free_all(req->headers);
	buf_cleanup(&req->body);
	memset(req, 0, sizeof(*req));
	buf_init(&req->body);
}

static void
one_classify(const struct caas_adapter *a, int step, int ref, struct input *in)
{
	struct adapter_post	 post;
	struct adapter_state	 st;
	struct adapter_result	 r;
	struct fresp		 f;

	base_post(&post, ref);
	memset(&st, 0, sizeof(st));
	st.step = step;
	st.polls = ref;
	if (ref & 1)
		snprintf(st.ref, sizeof(st.ref), "17889455560051444");
	if (ref & 2)
		snprintf(st.remote_id, sizeof(st.remote_id), "17920238422030506");
	next_response(in, &f);
	a->classify(&post, &st, &f.resp, &r);
	check_result(a, &r);
	fresp_free(&f);
}

static void
whole_attempt(const struct caas_adapter *a, int ref, struct input *in)
{
	struct adapter_post	 post;
	struct adapter_state	 st;
	struct adapter_request	 req;
	struct adapter_result	 r;
	struct fresp		 f;
	int			 steps;

	base_post(&post, ref);
	memset(&st, 0, sizeof(st));
	memset(&req, 0, sizeof(req));
	buf_init(&req.body);
	for (steps = 0; ; steps++) {
		check(steps < MAX_STEPS);
		request_reset(&req);
		if (a->prepare(&post, &st, &req, &r) == ADAPTER_DONE) {
			check_result(a, &r);
			check(r.outcome != ADAPTER_CONTINUE);
			break;
		}
		check(req.url[0] != '\0' && memchr(req.url, '\0', sizeof(req.url)));
		next_response(in, &f);
		a->classify(&post, &st, &f.resp, &r);
		fresp_free(&f);
		check_result(a, &r);
		if (r.outcome != ADAPTER_CONTINUE)
			break;
	}
	request_reset(&req);
	buf_cleanup(&req.body);
}

static void
refresh(const struct caas_adapter *a, struct input *in)
{
	struct adapter_account	 acct = {
		.org_id = "00000000-0000-0000-0000-0000000000a1",
		.account_id = "00000000-0000-0000-0000-0000000000c1",
		.external_id = "17841400000000000",
		.access_token = ACCESS,
		.refresh_token = REFRESH,
	};
	struct adapter_request	 req;
	struct adapter_tokens	 t;
	struct fresp		 f;

	if (a->refresh_prepare == NULL)
		return;
	memset(&req, 0, sizeof(req));
	buf_init(&req.body);
	(void)a->refresh_prepare(&acct, &req, &t);
	request_reset(&req);
	buf_cleanup(&req.body);
	next_response(in, &f);
	a->refresh_classify(&acct, &f.resp, &t);
	fresp_free(&f);
	check(t.outcome == ADAPTER_PUBLISHED || t.outcome == ADAPTER_RETRY ||
	    t.outcome == ADAPTER_REAUTH);
	check_str(t.message, sizeof(t.message), true);
	check(memchr(t.access_token, '\0', sizeof(t.access_token)) != NULL);
	check(memchr(t.refresh_token, '\0', sizeof(t.refresh_token)) != NULL);
	if (t.outcome == ADAPTER_PUBLISHED)
		check(t.access_token[0] != '\0');
	else
		check(t.access_token[0] == '\0');
}

static void
parsers(struct input *in)
{
	char	*s = dup_bytes(in->p, in->n);
	char	 msg[64], id[32];
	int64_t	 v;

	v = adapters_parse_retry_after(s, INT64_C(1767225600000));
	check(v >= -1);
	v = adapters_parse_epoch_reset(s, INT64_C(1767225600000));
	check(v >= -1);
	(void)adapters_parse_http_date(s);
	adapters_message_copy(msg, sizeof(msg), s, ACCESS);
	check(memchr(msg, '\0', sizeof(msg)) != NULL && strstr(msg, ACCESS) == NULL);
	(void)adapters_id_copy(id, sizeof(id), s);
	check(memchr(id, '\0', sizeof(id)) != NULL);
	free(s);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 err[128];

	(void)argc;
	(void)argv;
	/* Short polling budget: whole attempts stay well under MAX_STEPS. */
	if (adapter_conf_set(adapter_find("instagram"), "poll_max", "4", err,
	    sizeof(err)) == -1)
		abort();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct caas_adapter	*a;
	struct input			 in;
	int				 nrows, mode;

	if (size < 3)
		return (0);
	for (nrows = 0; adapter_registry[nrows] != NULL; nrows++)
		;
	a = adapter_registry[data[0] % nrows];
	mode = data[1] & 3;
	in.p = data + 3;
	in.n = size - 3;
	switch (mode) {
	case 0:
		one_classify(a, data[1] >> 2, data[2], &in);
		break;
	case 1:
		whole_attempt(a, data[2], &in);
		break;
	case 2:
		refresh(a, &in);
		break;
	default:
		parsers(&in);
		break;
	}
	return (0);
}
