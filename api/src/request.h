/*
 * request.h — the libmicrohttpd callbacks of request.c, for main.c.
 *
 * main.c passes these to MHD_start_daemon: request_uri_begin as
 * MHD_OPTION_URI_LOG_CALLBACK (creates the per-request state from the raw
 * URI), request_access as the access handler, request_completed as
 * MHD_OPTION_NOTIFY_COMPLETED (frees it).
 */
#ifndef CAAS_REQUEST_H
#define CAAS_REQUEST_H

#include <microhttpd.h>

#include "api.h"

/* request_init prepares thread cleanup (db_thread_cleanup).  Returns 0 or -1. */
int	request_init(void);

void	*request_uri_begin(void *cls, const char *uri,
	    struct MHD_Connection *conn);
enum MHD_Result request_access(void *cls, struct MHD_Connection *conn,
	    const char *url, const char *method, const char *version,
	    const char *upload_data, size_t *upload_data_size, void **req_cls);
void	request_completed(void *cls, struct MHD_Connection *conn,
	    void **req_cls, enum MHD_RequestTerminationCode toe);

/*
 * request_percent_decode decodes s[0..len) ("%XX"; '+' as space when
 * plus_space) into a new arena string.  Returns NULL for a malformed
 * escape, an encoded NUL, or out of memory.
 */
char	*request_percent_decode(struct api_arena *a, const char *s, size_t len,
	    bool plus_space);

#endif /* CAAS_REQUEST_H */
