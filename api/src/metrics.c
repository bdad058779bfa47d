/*
 * metrics.c — request counters, latency histograms and gauges, and the
 * GET /metrics handler that prints them in Prometheus text format 0.0.4.
 *
 * Layout: one struct route_stats per route of the table plus one for
 * requests that matched no route ("unmatched"), each with a count per HTTP
 * status (100..599) and a latency histogram.  Everything is a relaxed
 * atomic: a scrape may see one request's count a moment before its
 * latency, which Prometheus tolerates.  The arrays are allocated by
 * metrics_init before any thread starts and freed after they stop.
 *
 * Each scrape also asks the database once for caas.service_status() (the
 * dispatcher's heartbeat, the queue, publishing lateness) and prints it as
 * gauges and a histogram; when the database is down those series are
 * left out and the request series still print.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "db.h"
#include "events.h"
#include "handlers.h"
#include "metrics.h"

#define STATUS_MIN	100
#define STATUS_MAX	599

/* Prometheus' default buckets, in microseconds. */
static const uint64_t buckets_us[] = {
	5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};
static const char *const bucket_labels[] = {
	"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
	"1", "2.5", "5", "10",
};
#define NBUCKETS	(sizeof(buckets_us) / sizeof(buckets_us[0]))

struct route_stats {
	atomic_ulong	 status[STATUS_MAX - STATUS_MIN + 1];
	atomic_ulong	 bucket[NBUCKETS + 1];	/* last: +Inf */
	atomic_ulong	 sum_us;
};

static const struct api_route	*metrics_table;
static size_t			 metrics_nroutes;
static struct route_stats	*metrics_routes;	/* nroutes + 1 */
static atomic_long		 in_flight;
static atomic_long		 db_in_use;
static atomic_ulong		 db_acquired;

int
metrics_init(const struct api_route *table)
{
	size_t	 n = 0;

	while (table[n].method != NULL)
		n++;
	if ((metrics_routes = calloc(n + 1, sizeof(*metrics_routes))) == NULL)
		return (-1);
	metrics_table = table;
	metrics_nroutes = n;
	return (0);
}

void
metrics_cleanup(void)
{
	free(metrics_routes);
	metrics_routes = NULL;
	metrics_table = NULL;
	metrics_nroutes = 0;
}

void
metrics_request_begin(void)
{
	atomic_fetch_add_explicit(&in_flight, 1, memory_order_relaxed);
}

long
metrics_in_flight(void)
{
	return (atomic_load(&in_flight));
}

void
metrics_request_end(const struct api_route *route, int status, uint64_t us)
{
	struct route_stats	*st;
	size_t			 i, idx = metrics_nroutes;

	atomic_fetch_sub_explicit(&in_flight, 1, memory_order_relaxed);
	if (metrics_routes == NULL)
		return;
	if (route != NULL && route >= metrics_table &&
	    route < metrics_table + metrics_nroutes)
		idx = (size_t)(route - metrics_table);
	st = &metrics_routes[idx];
	if (status >= STATUS_MIN && status <= STATUS_MAX)
		atomic_fetch_add_explicit(&st->status[status - STATUS_MIN], 1,
		    memory_order_relaxed);
	for (i = 0; i < NBUCKETS && us > buckets_us[i]; i++)
		;
	atomic_fetch_add_explicit(&st->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->sum_us, us, memory_order_relaxed);
}

void
metrics_db_acquire(void)
{
	atomic_fetch_add_explicit(&db_in_use, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&db_acquired, 1, memory_order_relaxed);
}

void
metrics_db_release(void)
{
	atomic_fetch_sub_explicit(&db_in_use, 1, memory_order_relaxed);
}

/* print_route appends one route's series; labels is `method="..",route=".."`. */
static int
print_route(struct buf *b, const struct route_stats *st, const char *labels)
{
	unsigned long	 n, cum = 0;
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i <= STATUS_MAX - STATUS_MIN; i++)
		if ((n = atomic_load(&st->status[i])) != 0)
			rc |= buf_appendf(b, "caas_http_requests_total{%s,code=\"%zu\"} %lu\n",
			    labels, i + STATUS_MIN, n);
	for (i = 0; i <= NBUCKETS; i++)
		cum += atomic_load(&st->bucket[i]);
	if (cum == 0)
		return (rc);
	cum = 0;
	for (i = 0; i <= NBUCKETS; i++) {
		cum += atomic_load(&st->bucket[i]);
		rc |= buf_appendf(b, "caas_http_request_duration_seconds_bucket{%s,le=\"%s\"} %lu\n",
		    labels, i < NBUCKETS ? bucket_labels[i] : "+Inf", cum);
	}
	n = atomic_load(&st->sum_us);
	rc |= buf_appendf(b, "caas_http_request_duration_seconds_sum{%s} %lu.%06lu\n",
	    labels, n / 1000000, n % 1000000);
	rc |= buf_appendf(b, "caas_http_request_duration_seconds_count{%s} %lu\n", labels, cum);
	return (rc);
}

/* metrics_render appends the whole exposition to b.  Returns 0 or -1. */
static int
metrics_render(struct buf *b)
{
	char	 labels[512];
	size_t	 i;
	int	 rc = 0;

	rc |= buf_appendf(b, "# HELP caas_http_requests_total HTTP requests by route and status.\n"
	    "# TYPE caas_http_requests_total counter\n"
	    "# HELP caas_http_request_duration_seconds Time from request start to response sent.\n"
	    "# TYPE caas_http_request_duration_seconds histogram\n");
	for (i = 0; metrics_routes != NULL && i <= metrics_nroutes; i++) {
		if (i < metrics_nroutes)
			snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\"",
			    metrics_table[i].method, metrics_table[i].pattern);
		else
			snprintf(labels, sizeof(labels), "method=\"\",route=\"unmatched\"");
		rc |= print_route(b, &metrics_routes[i], labels);
	}
	rc |= buf_appendf(b, "# HELP caas_http_requests_in_flight Requests being served.\n"
	    "# TYPE caas_http_requests_in_flight gauge\ncaas_http_requests_in_flight %ld\n",
	    atomic_load(&in_flight));
	rc |= buf_appendf(b, "# HELP caas_db_connections_in_use Database connections in use.\n"
	    "# TYPE caas_db_connections_in_use gauge\ncaas_db_connections_in_use %ld\n"
	    "# HELP caas_db_acquisitions_total Database connections taken.\n"
	    "# TYPE caas_db_acquisitions_total counter\ncaas_db_acquisitions_total %lu\n",
	    atomic_load(&db_in_use), atomic_load(&db_acquired));
	rc |= buf_appendf(b, "# HELP caas_event_streams Server-Sent Event streams open.\n"
	    "# TYPE caas_event_streams gauge\ncaas_event_streams %ld\n", events_stream_count());
	return (rc == 0 ? 0 : -1);
}

/* gauge prints one gauge from a JSON number; nothing when it is null. */
static int
gauge(struct buf *b, const char *name, const char *help, json_t *v)
{
	if (!json_is_number(v))
		return (0);
	return (buf_appendf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n",
	    name, help, name, name, json_number_value(v)));
}

/*
 * render_lateness prints {"buckets":[[le, cumulative]...,["+Inf", n]],
 * "sum", "count"} as the histogram caas_publish_lateness_seconds.
 */
static int
render_lateness(struct buf *b, json_t *h)
{
	const char	*name = "caas_publish_lateness_seconds";
	json_t		*bk, *le;
	size_t		 i;
	int		 rc;

	if (!json_is_array(bk = json_object_get(h, "buckets")) ||
	    !json_is_number(json_object_get(h, "count")))
		return (0);
	rc = buf_appendf(b, "# HELP %s Time from a post's due instant to its publication, "
	    "posts published in the recent window.\n# TYPE %s histogram\n", name, name);
	for (i = 0; i < json_array_size(bk); i++) {
		le = json_array_get(json_array_get(bk, i), 0);
		if (json_is_number(le))
			rc |= buf_appendf(b, "%s_bucket{le=\"%g\"} %.17g\n", name,
			    json_number_value(le),
			    json_number_value(json_array_get(json_array_get(bk, i), 1)));
		else if (json_is_string(le))
			rc |= buf_appendf(b, "%s_bucket{le=\"+Inf\"} %.17g\n", name,
			    json_number_value(json_array_get(json_array_get(bk, i), 1)));
	}
	rc |= buf_appendf(b, "%s_sum %.17g\n%s_count %.17g\n", name,
	    json_number_value(json_object_get(h, "sum")), name,
	    json_number_value(json_object_get(h, "count")));
	return (rc);
}

/* render_service prints caas.service_status()'s JSON as series. */
static int
render_service(struct buf *b, const char *status_json)
{
	json_t	*st = json_loads(status_json, 0, NULL);
	int	 rc = 0;

	if (!json_is_object(st)) {
		json_decref(st);
		return (0);
	}
	rc |= buf_appendf(b, "# HELP caas_dispatcher_up 1 when a dispatcher's heartbeat is fresh.\n"
	    "# TYPE caas_dispatcher_up gauge\ncaas_dispatcher_up %d\n",
	    json_is_string(json_object_get(st, "dispatcher")) &&
	    strcmp(json_string_value(json_object_get(st, "dispatcher")), "ok") == 0);
	rc |= gauge(b, "caas_dispatcher_heartbeat_age_seconds",
	    "Age of the newest dispatcher heartbeat.", json_object_get(st, "heartbeat_age_s"));
	rc |= gauge(b, "caas_dispatch_queue_depth", "Posts due and waiting to be sent.",
	    json_object_get(st, "queue_depth"));
	rc |= gauge(b, "caas_dispatch_publishing", "Posts being sent now.",
	    json_object_get(st, "publishing"));
	/* No post waiting is an age of 0, not an unknown one. */
	rc |= buf_appendf(b, "# HELP caas_dispatch_oldest_due_age_seconds How long the oldest "
	    "waiting post has been due.\n# TYPE caas_dispatch_oldest_due_age_seconds gauge\n"
	    "caas_dispatch_oldest_due_age_seconds %.17g\n",
	    json_number_value(json_object_get(st, "oldest_due_age_s")));
	rc |= render_lateness(b, json_object_get(st, "lateness"));
	json_decref(st);
	return (rc);
}

/*
 * handle_metrics answers GET /metrics.  The request being served counts as
 * in flight; its own count appears in the next scrape.
 */
int
handle_metrics(struct api_request *req, struct api_response *resp)
{
	char	*status = NULL;
	int	 rc;

	/* The database's view first: a failure here must not lose the rest. */
	if (db_query(req, resp, false, "SELECT caas.service_status()", 0, NULL, &status) == -1)
		status = NULL;
	resp->nheaders = 0;
	buf_cleanup(&resp->body);
	rc = metrics_render(&resp->body);
	if (status != NULL && render_service(&resp->body, status) != 0)
		rc = -1;
	if (rc == -1)
		return (respond_error(resp, 500, "internal_error",
		    "Could not render metrics.", NULL, NULL));
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	return (0);
}
