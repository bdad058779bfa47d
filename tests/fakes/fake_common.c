/*
 * tests/fakes/fake_common.c — the plumbing the fake servers share: replies,
 * request bodies, the request-log ring, clocks, the daemon's start-up and
 * main()'s signals (fake_common.h says who owns what).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_common.h"

/* ==== replies */

void
fc_reply_clear(struct fc_reply *r)
{
	int	 i;

	free(r->body);
	for (i = 0; i < r->nheaders; i++) {
		free(r->hname[i]);
		free(r->hvalue[i]);
	}
	memset(r, 0, sizeof(*r));
}

void
fc_reply_raw(struct fc_reply *r, unsigned int status, const char *ctype,
    const char *body, size_t len)
{
	fc_reply_clear(r);
	r->status = status;
	r->content_type = ctype;
	if ((r->body = malloc(len + 1)) == NULL)
		abort();
	memcpy(r->body, body, len);
	r->body[len] = '\0';
	r->len = len;
}

void
fc_reply_text(struct fc_reply *r, unsigned int status, const char *ctype,
    const char *text)
{
	fc_reply_raw(r, status, ctype, text, strlen(text));
}

void
fc_reply_json(struct fc_reply *r, unsigned int status, json_t *take)
{
	char	*s = take != NULL ? json_dumps(take, JSON_COMPACT) : NULL;

	json_decref(take);
	if (s == NULL) {
		fc_reply_text(r, 500, "application/json", fc_json_error);
		return;
	}
	fc_reply_text(r, status, "application/json", s);
	free(s);
}

void
fc_reply_header(struct fc_reply *r, const char *name, const char *fmt, ...)
{
	va_list	 ap;
	char	*v;

	if (r->nheaders == FC_MAX_HEADERS)
		return;
	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		abort();
	va_end(ap);
	if ((r->hname[r->nheaders] = strdup(name)) == NULL)
		abort();
	r->hvalue[r->nheaders++] = v;
}

enum MHD_Result
fc_queue_reply(struct MHD_Connection *conn, const struct fc_reply *r)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;
	int			 i;

	resp = MHD_create_response_from_buffer(r->len, r->body != NULL ? r->body : "",
	    MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return (MHD_NO);
	if (r->content_type != NULL)
		MHD_add_response_header(resp, "Content-Type", r->content_type);
	for (i = 0; i < r->nheaders; i++)
		MHD_add_response_header(resp, r->hname[i], r->hvalue[i]);
	ret = MHD_queue_response(conn, r->status != 0 ? r->status : 500, resp);
	MHD_destroy_response(resp);
	return (ret);
}

/* ==== request bodies */

void
fc_body_add(struct fc_body *b, const char *data, size_t n, size_t max)
{
	if (b->len + n > max) {
		b->too_large = true;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((b->buf = realloc(b->buf, b->cap)) == NULL)
			abort();
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

const char *
fc_body_str(const struct fc_body *b)
{
	return (b->buf != NULL ? b->buf : "");
}

void
fc_body_free(struct fc_body *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

/* ==== the request-log ring */

int
fc_ring_init(struct fc_ring *g, size_t max)
{
	memset(g, 0, sizeof(*g));
	g->max = max;
	if ((g->v = calloc(max, sizeof(*g->v))) == NULL)
		return (-1);
	return (0);
}

void
fc_ring_push(struct fc_ring *g, json_t *take)
{
	if (take == NULL)
		return;
	if (g->n == g->max) {
		json_decref(g->v[g->head]);
		g->head = (g->head + 1) % g->max;
		g->n--;
		g->dropped++;
	}
	g->v[(g->head + g->n) % g->max] = take;
	g->n++;
}

void
fc_ring_clear(struct fc_ring *g)
{
	size_t	 i;

	for (i = 0; i < g->n; i++)
		json_decref(g->v[(g->head + i) % g->max]);
	g->head = g->n = 0;
	g->dropped = 0;
}

void
fc_ring_free(struct fc_ring *g)
{
	if (g->v != NULL)
		fc_ring_clear(g);
	free(g->v);
	g->v = NULL;
}

json_t *
fc_ring_select(const struct fc_ring *g, const char *name, const char *value)
{
	json_t		*arr = json_array(), *e;
	const char	*ev;
	size_t		 i;

	for (i = 0; i < g->n; i++) {
		e = g->v[(g->head + i) % g->max];
		ev = json_string_value(json_object_get(e, name));
		if (value == NULL || (ev != NULL && strcmp(ev, value) == 0))
			json_array_append(arr, e);
	}
	return (arr);
}

/* ==== clocks */

int64_t
fc_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int64_t
fc_wall_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

int64_t
fc_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* ==== the daemon and main() */

struct MHD_Daemon *
fc_listen(const char *prog, int port, int threads, const struct fc_limits *lim,
    MHD_AccessHandlerCallback handler, MHD_RequestCompletedCallback done)
{
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon	*d;
	struct sockaddr_in	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/*
	 * The backlog goes last: without one, MHD_OPTION_END stands in its
	 * place and the value after it is never read.
	 */
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME, (uint16_t)port, NULL, NULL,
	    handler, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
	    MHD_OPTION_CONNECTION_LIMIT, lim->connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, lim->timeout,
	    MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
	    lim->backlog != 0 ? MHD_OPTION_LISTEN_BACKLOG_SIZE : MHD_OPTION_END,
	    lim->backlog,
	    MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "%s: cannot listen on 127.0.0.1:%d\n", prog, port);
		return (NULL);
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("listening on %u\n", info != NULL ? info->port : (unsigned)port);
	fflush(stdout);
	return (d);
}

void
fc_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

void
fc_wait_stop(sigset_t *set)
{
	int	 sig;

	sigdelset(set, SIGPIPE);
	do {
		if (sigwait(set, &sig) != 0)
			sig = SIGTERM;
	} while (sig != SIGTERM && sig != SIGINT);
}
