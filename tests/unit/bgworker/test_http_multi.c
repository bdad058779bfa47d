/*
 * test_http_multi.c — bgworker/src/http_multi.c against a tiny HTTP server
 * this file runs on 127.0.0.1 in a thread (no other network): status,
 * body and headers, keep-alive reuse, the "sent" flag (refused connection:
 * not sent; silence or a closed connection after the request: sent), which
 * phase timed out, the body cap, cancellation.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../suites.h"
#include "http_multi.h"

enum srv_mode { SRV_REPLY, SRV_SILENT, SRV_CLOSE, SRV_BIG };

static struct {
	int			 lfd;
	int			 port;
	pthread_t		 thread;
	volatile enum srv_mode	 mode;
	volatile int		 stop;
	volatile int		 accepts;
	volatile int		 requests;
	char			 last_request[4096];
} srv;

/* read_request reads one request (headers and a Content-Length body). */
static int
read_request(int fd)
{
	char	 buf[8192];
	size_t	 len = 0;
	char	*end, *cl;
	long	 body = 0;
	ssize_t	 n;
	struct pollfd p = { fd, POLLIN, 0 };

	for (;;) {
		if (poll(&p, 1, 50) == 0) {
			if (srv.stop)
				return (-1);
			continue;
		}
		if ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0)
			return (-1);
		len += (size_t)n;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		if ((cl = strcasestr(buf, "Content-Length:")) != NULL && cl < end)
			body = strtol(cl + 15, NULL, 10);
		if ((long)(len - (size_t)(end + 4 - buf)) >= body)
			break;
	}
	snprintf(srv.last_request, sizeof(srv.last_request), "%.4000s", buf);
	srv.requests++;
	return (0);
}

static void
write_all(int fd, const char *s, size_t n)
{
	ssize_t	 w;

	while (n > 0 && (w = write(fd, s, n)) > 0) {
		s += w;
		n -= (size_t)w;
	}
}

static void
serve_connection(int fd)
{
	static const char reply[] =
	    "HTTP/1.1 201 Created\r\nX-RestLi-Id: urn:li:share:42\r\n"
	    "Retry-After: 7\r\nContent-Length: 5\r\n\r\nhello";
	char	*big;
	size_t	 n = 100 * 1024, hl;

	while (!srv.stop && read_request(fd) == 0) {
		switch (srv.mode) {
		case SRV_REPLY:
			write_all(fd, reply, sizeof(reply) - 1);
			continue;	/* keep-alive */
		case SRV_BIG:
			big = malloc(n + 128);
			hl = (size_t)snprintf(big, 128, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
			memset(big + hl, 'x', n);
			write_all(fd, big, hl + n);
			free(big);
			continue;
		case SRV_SILENT:
			while (!srv.stop && read_request(fd) == 0)
				;
			return;
		case SRV_CLOSE:
		default:
			return;
		}
	}
}

static void *
server_main(void *arg)
{
	struct pollfd	 p = { srv.lfd, POLLIN, 0 };
	int		 fd;

	(void)arg;
	while (!srv.stop) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		if ((fd = accept(srv.lfd, NULL, NULL)) == -1)
			continue;
		srv.accepts++;
		serve_connection(fd);
		close(fd);
	}
	return (NULL);
}

/* listen_any opens a listening socket on 127.0.0.1; returns its port. */
static int
listen_any(int *fdp)
{
	struct sockaddr_in	 a;
	socklen_t		 len = sizeof(a);
	int			 fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*fdp = fd;
	return (ntohs(a.sin_port));
}

/* ------------------------------------------------------- the client */

static struct http_multi	*m;
static struct http_call		 call;
static bool			 done;
static long			 got_status;
static bool			 got_sent, got_timed_out;
static char			 got_error[512], got_body[64], got_restli[64], got_retry[16];
static size_t			 got_len;

static void
on_done(struct http_call *c, const struct adapter_response *r)
{
	const char	*h;

	ck_assert_ptr_eq(c, &call);
	ck_assert_ptr_null(c->xfer);
	done = true;
	got_status = r->status;
	got_sent = r->sent;
	got_timed_out = r->timed_out;
	snprintf(got_error, sizeof(got_error), "%s", r->transport_error != NULL ? r->transport_error : "");
	snprintf(got_body, sizeof(got_body), "%.*s", (int)(r->body_len < 63 ? r->body_len : 63), r->body);
	got_len = r->body_len;
	h = r->header(r, "x-restli-id");
	snprintf(got_restli, sizeof(got_restli), "%s", h != NULL ? h : "");
	h = r->header(r, "RETRY-AFTER");
	snprintf(got_retry, sizeof(got_retry), "%s", h != NULL ? h : "");
	ck_assert_ptr_null(r->header(r, "x-absent"));
}

static void
client(long request_timeout_ms, size_t max_bytes)
{
	struct http_multi_config c = { 1000, request_timeout_ms, max_bytes, 4 };
	char			 err[128];

	m = http_multi_create(&c, err, sizeof(err));
	ck_assert_ptr_nonnull(m);
}

static void
prepare(const char *method, const char *path, const char *body)
{
	http_call_init(&call);
	call.done = on_done;
	snprintf(call.req.method, sizeof(call.req.method), "%s", method);
	snprintf(call.req.url, sizeof(call.req.url), "http://127.0.0.1:%d%s", srv.port, path);
	call.req.headers = curl_slist_append(NULL, "Content-Type: application/json");
	call.req.idempotent = strcmp(method, "GET") == 0;
	if (body != NULL)
		ck_assert_int_eq(buf_append(&call.req.body, body, strlen(body)), 0);
	done = false;
}

/* run drives the client until the call is done (or 5 s pass). */
static void
run(void)
{
	int	 i;

	for (i = 0; i < 500 && !done; i++) {
		ck_assert_int_eq(http_multi_wait(m, NULL, 0, 10), 0);
		http_multi_process(m);
	}
	ck_assert_msg(done, "the call never finished");
	http_call_reset(&call);
}

static void
send_and_run(const char *method, const char *path, const char *body)
{
	char	 err[128];

	prepare(method, path, body);
	ck_assert_int_eq(http_multi_send(m, &call, err, sizeof(err)), 0);
	ck_assert_int_eq(http_multi_in_flight(m), 1);
	run();
	ck_assert_int_eq(http_multi_in_flight(m), 0);
}

static void
setup(void)
{
	memset(&srv, 0, sizeof(srv));
	srv.port = listen_any(&srv.lfd);
	ck_assert_int_eq(pthread_create(&srv.thread, NULL, server_main, NULL), 0);
	m = NULL;
}

static void
teardown(void)
{
	http_multi_destroy(m);
	srv.stop = 1;
	pthread_join(srv.thread, NULL);
	close(srv.lfd);
}

/* --------------------------------------------------------------- tests */

START_TEST(test_answer_with_body_and_headers)
{
	client(5000, 1024 * 1024);
	srv.mode = SRV_REPLY;
	send_and_run("POST", "/rest/posts", "{\"a\":1}");
	ck_assert_int_eq(got_status, 201);
	ck_assert(got_sent);
	ck_assert(!got_timed_out);
	ck_assert_str_eq(got_error, "");
	ck_assert_str_eq(got_body, "hello");
	ck_assert_str_eq(got_restli, "urn:li:share:42");
	ck_assert_str_eq(got_retry, "7");
	ck_assert_ptr_nonnull(strstr(srv.last_request, "POST /rest/posts HTTP/1.1"));
	ck_assert_ptr_nonnull(strstr(srv.last_request, "{\"a\":1}"));
	ck_assert_ptr_nonnull(strstr(srv.last_request, "Content-Type: application/json"));
	ck_assert_ptr_null(strcasestr(srv.last_request, "Expect:"));
}
END_TEST

START_TEST(test_get_and_keep_alive)
{
	client(5000, 1024 * 1024);
	srv.mode = SRV_REPLY;
	send_and_run("GET", "/one", NULL);
	send_and_run("GET", "/two?fields=status_code", NULL);
	ck_assert_int_eq(got_status, 201);
	ck_assert_ptr_nonnull(strstr(srv.last_request, "GET /two?fields=status_code HTTP/1.1"));
	ck_assert_int_eq(srv.requests, 2);
	ck_assert_int_eq(srv.accepts, 1);	/* one connection, reused */
}
END_TEST

START_TEST(test_requests_that_must_go_once_never_reuse_a_connection)
{
	client(5000, 1024 * 1024);
	srv.mode = SRV_REPLY;
	send_and_run("POST", "/2/tweets", "{}");
	send_and_run("POST", "/2/tweets", "{}");
	ck_assert_int_eq(got_status, 201);
	ck_assert_int_eq(srv.requests, 2);
	/*
	 * A connection of their own each: curl resends a request whose reused
	 * connection dies before answering, which could publish twice.
	 */
	ck_assert_int_eq(srv.accepts, 2);
}
END_TEST

START_TEST(test_refused_connection_was_not_sent)
{
	int	 fd, port;

	client(5000, 1024 * 1024);
	port = listen_any(&fd);
	close(fd);				/* nobody listens there now */
	prepare("POST", "/x", "{}");
	snprintf(call.req.url, sizeof(call.req.url), "http://127.0.0.1:%d/x", port);
	ck_assert_int_eq(http_multi_send(m, &call, got_error, sizeof(got_error)), 0);
	run();
	ck_assert_int_eq(got_status, 0);
	ck_assert(!got_sent);
	ck_assert(!got_timed_out);
	ck_assert_ptr_nonnull(strstr(got_error, "nothing sent"));
}
END_TEST

START_TEST(test_silence_after_the_request_is_sent_and_timed_out)
{
	client(300, 1024 * 1024);
	srv.mode = SRV_SILENT;
	send_and_run("POST", "/2/tweets", "{\"text\":\"hi\"}");
	ck_assert_int_eq(got_status, 0);
	ck_assert(got_sent);
	ck_assert(got_timed_out);
	ck_assert_ptr_nonnull(strstr(got_error, "no response within 300 ms"));
	ck_assert_int_eq(srv.requests, 1);
}
END_TEST

START_TEST(test_connection_closed_after_the_request_was_sent)
{
	client(5000, 1024 * 1024);
	srv.mode = SRV_CLOSE;
	send_and_run("POST", "/2/tweets", "{}");
	ck_assert_int_eq(got_status, 0);
	ck_assert(got_sent);
	ck_assert(!got_timed_out);
	ck_assert_str_ne(got_error, "");
}
END_TEST

START_TEST(test_body_is_capped)
{
	client(5000, 4096);
	srv.mode = SRV_BIG;
	send_and_run("GET", "/big", NULL);
	ck_assert_msg(got_status == 200, "status %ld: %s", got_status, got_error);
	ck_assert_uint_eq(got_len, 4096);
}
END_TEST

START_TEST(test_cancel_forgets_the_call)
{
	char	 err[128];
	int	 i;

	client(5000, 1024 * 1024);
	srv.mode = SRV_SILENT;
	prepare("POST", "/slow", "{}");
	ck_assert_int_eq(http_multi_send(m, &call, err, sizeof(err)), 0);
	for (i = 0; i < 50 && srv.requests == 0; i++) {
		http_multi_wait(m, NULL, 0, 10);
		http_multi_process(m);
	}
	http_multi_cancel(m, &call);
	ck_assert_ptr_null(call.xfer);
	ck_assert_int_eq(http_multi_in_flight(m), 0);
	for (i = 0; i < 5; i++) {
		http_multi_wait(m, NULL, 0, 10);
		http_multi_process(m);
	}
	ck_assert(!done);
	http_call_reset(&call);
}
END_TEST

START_TEST(test_destroy_with_transfers_in_flight)
{
	char	 err[128];

	client(5000, 1024 * 1024);
	srv.mode = SRV_SILENT;
	prepare("POST", "/slow", "{}");
	ck_assert_int_eq(http_multi_send(m, &call, err, sizeof(err)), 0);
	http_multi_process(m);
	http_multi_destroy(m);
	m = NULL;
	ck_assert_ptr_null(call.xfer);
	ck_assert(!done);
	http_call_reset(&call);
}
END_TEST

START_TEST(test_extra_descriptor_wakes_the_wait)
{
	struct curl_waitfd	 w;
	int			 p[2];

	client(5000, 1024 * 1024);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	w.fd = p[0];
	w.events = CURL_WAIT_POLLIN;
	w.revents = 0;
	ck_assert_int_eq(http_multi_wait(m, &w, 1, 5000), 0);
	ck_assert(w.revents != 0);
	close(p[0]);
	close(p[1]);
}
END_TEST

Suite *
http_multi_suite(void)
{
	Suite	*s = suite_create("http_multi");
	TCase	*tc = tcase_create("local server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_answer_with_body_and_headers);
	tcase_add_test(tc, test_get_and_keep_alive);
	tcase_add_test(tc, test_requests_that_must_go_once_never_reuse_a_connection);
	tcase_add_test(tc, test_refused_connection_was_not_sent);
	tcase_add_test(tc, test_silence_after_the_request_is_sent_and_timed_out);
	tcase_add_test(tc, test_connection_closed_after_the_request_was_sent);
	tcase_add_test(tc, test_body_is_capped);
	tcase_add_test(tc, test_cancel_forgets_the_call);
	tcase_add_test(tc, test_destroy_with_transfers_in_flight);
	tcase_add_test(tc, test_extra_descriptor_wakes_the_wait);
	suite_add_tcase(s, tc);
	return s;
}
