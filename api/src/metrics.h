/*
 * metrics.h — counters for GET /metrics (Prometheus text format).
 *
 * All counters are C11 atomics, so any thread may record without a lock.
 * metrics_init sizes the per-route arrays from the route table once,
 * before the daemon starts.
 */
#ifndef CAAS_METRICS_H
#define CAAS_METRICS_H

#include <stdint.h>

#include "api.h"

/* metrics_init prepares counters for table's routes.  Returns 0 or -1. */
int	metrics_init(const struct api_route *table);
void	metrics_cleanup(void);

/* A request started / finished; route NULL when no route matched. */
void	metrics_request_begin(void);
void	metrics_request_end(const struct api_route *route, int status,
	    uint64_t latency_us);
/* Requests begun and not yet ended (for shutdown). */
long	metrics_in_flight(void);

/* db.c: a pooled connection was taken / given back. */
void	metrics_db_acquire(void);
void	metrics_db_release(void);

/* handle_metrics (GET /metrics) is declared in handlers.h. */

#endif /* CAAS_METRICS_H */
