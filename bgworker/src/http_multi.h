/*
 * http_multi.h — the dispatcher's HTTP client: one libcurl multi handle,
 * many transfers at once, no thread.
 *
 * A struct http_call is one request an adapter filled (struct
 * adapter_request) plus the function to call with the answer.  The caller
 * (dispatch.c, refresh.c) owns the call and the request's header list and
 * body; the transport borrows them from send until done() runs or the call
 * is cancelled, whichever comes first.  done() is called from
 * http_multi_process(), never from inside a curl callback, with a
 * struct adapter_response whose body and headers live until done()
 * returns.
 *
 * The core reaches the transport through struct http_transport, so unit
 * tests of dispatch.c replace it with a fake.
 */
#ifndef CAAS_HTTP_MULTI_H
#define CAAS_HTTP_MULTI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "adapter.h"

struct http_xfer;

struct http_call {
	struct adapter_request	 req;
	void			(*done)(struct http_call *,
				    const struct adapter_response *);
	void			*owner;		/* the caller's (a job) */
	long			 timeout_ms;	/* whole transfer; 0 = request_timeout_ms */
	struct http_xfer	*xfer;		/* the transport's, while in flight */
};

/* http_call_init empties the request; http_call_reset wipes and frees it. */
void	http_call_init(struct http_call *call);
void	http_call_reset(struct http_call *call);

/* How the core sends.  send returns 0, or -1 (nothing sent, err set). */
struct http_transport {
	void	*ctx;
	int	(*send)(void *ctx, struct http_call *call, char *err, size_t errlen);
	/* cancel forgets a call in flight without calling done(). */
	void	(*cancel)(void *ctx, struct http_call *call);
};

struct http_multi_config {
	long	 connect_timeout_ms;
	long	 request_timeout_ms;	/* whole transfer, queueing included */
	size_t	 response_max_bytes;	/* body beyond this is dropped */
	long	 max_host_connections;	/* 0 = no limit */
};

struct http_multi;

/* http_multi_create returns a new client, or NULL with err set. */
struct http_multi *http_multi_create(const struct http_multi_config *cfg,
	    char *err, size_t errlen);
/* http_multi_destroy cancels every transfer (done() is not called). */
void	http_multi_destroy(struct http_multi *m);

int	http_multi_send(struct http_multi *m, struct http_call *call,
	    char *err, size_t errlen);
void	http_multi_cancel(struct http_multi *m, struct http_call *call);
/* http_multi_transport fills t to send through m. */
void	http_multi_transport(struct http_multi *m, struct http_transport *t);

/*
 * http_multi_wait waits until a transfer can progress, one of extra's
 * descriptors is ready (revents set), or timeout_ms pass (curl's own
 * timers may shorten it).  Returns 0, or -1 when polling failed.
 */
int	http_multi_wait(struct http_multi *m, struct curl_waitfd *extra,
	    unsigned int nextra, int timeout_ms);

/*
 * http_multi_process drives every transfer and calls done() for each one
 * that finished.  Returns how many finished.
 */
int	http_multi_process(struct http_multi *m);

/* Transfers in flight (sent or queued for a connection). */
int	http_multi_in_flight(const struct http_multi *m);

#endif /* CAAS_HTTP_MULTI_H */
