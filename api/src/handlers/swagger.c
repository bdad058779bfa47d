/*
 * handlers/swagger.c — Swagger UI for this server, at /api/schema/swagger-ui/.
 *
 * The page is ours (it points Swagger UI at /api/schema/ and keeps the
 * bearer token given to "Authorize"); the scripts and styles are the
 * files of the npm package swagger-ui-dist that scripts/deps.sh installs
 * (config key swagger_ui_dir).  Only the files named in swagger_files[] are
 * served: a request can never name a path of its own.  Files are read once
 * and kept in memory for the life of the process.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config.h"
#include "../handlers.h"

#define SWAGGER_FILE_MAX	(8 * 1024 * 1024)

static const char swagger_page[] =
	"<!doctype html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<title>caas API</title>\n"
	"<link rel=\"stylesheet\" href=\"/api/schema/swagger-ui/swagger-ui.css\">\n"
	"<link rel=\"icon\" href=\"/api/schema/swagger-ui/favicon-32x32.png\">\n"
	"</head>\n"
	"<body>\n"
	"<div id=\"swagger-ui\"></div>\n"
	"<script src=\"/api/schema/swagger-ui/swagger-ui-bundle.js\"></script>\n"
	"<script>\n"
	"window.ui = SwaggerUIBundle({ url: '/api/schema/', dom_id: '#swagger-ui',\n"
	"  persistAuthorization: true, deepLinking: true });\n"
	"</script>\n"
	"</body>\n"
	"</html>\n";

static struct {
	const char	*name;
	const char	*content_type;
	char		*data;		/* loaded once, never freed */
	size_t		 len;
} swagger_files[] = {
	{ "swagger-ui.css",		"text/css; charset=utf-8", NULL, 0 },
	{ "swagger-ui-bundle.js",	"text/javascript; charset=utf-8", NULL, 0 },
	{ "favicon-32x32.png",		"image/png", NULL, 0 },
	{ NULL, NULL, NULL, 0 }
};

static pthread_mutex_t	swagger_lock = PTHREAD_MUTEX_INITIALIZER;

/* Reads dir/name into a new malloc'd buffer; 0 / -1. */
static int
read_file(const char *dir, const char *name, char **data, size_t *len)
{
	char	 path[1024];
	FILE	*f;
	long	 size;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    (f = fopen(path, "rb")) == NULL)
		return (-1);
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    size > SWAGGER_FILE_MAX || fseek(f, 0, SEEK_SET) != 0 ||
	    (*data = malloc((size_t)size + 1)) == NULL) {
		fclose(f);
		return (-1);
	}
	if (fread(*data, 1, (size_t)size, f) != (size_t)size) {
		free(*data);
		*data = NULL;
		fclose(f);
		return (-1);
	}
	fclose(f);
	*len = (size_t)size;
	return (0);
}

int
handle_swagger_ui(struct api_request *req, struct api_response *resp)
{
	const char	*name = req->nparams > 0 ? req->params[0] : NULL;
	int		 i, rc = -1;

	if (name == NULL) {
		resp->content_type = "text/html; charset=utf-8";
		buf_append(&resp->body, swagger_page, sizeof(swagger_page) - 1);
		resp->status = 200;
		return (0);
	}
	for (i = 0; swagger_files[i].name != NULL; i++)
		if (strcmp(swagger_files[i].name, name) == 0)
			break;
	if (swagger_files[i].name == NULL)
		return (respond_error(resp, 404, "P0002", "no such file", NULL, NULL));
	pthread_mutex_lock(&swagger_lock);
	if (swagger_files[i].data != NULL ||
	    read_file(api_config.swagger_ui_dir, swagger_files[i].name,
	    &swagger_files[i].data, &swagger_files[i].len) == 0)
		rc = 0;
	pthread_mutex_unlock(&swagger_lock);
	if (rc != 0)
		return (respond_error(resp, 503, "58P01", "Swagger UI is not installed",
		    NULL, "Run scripts/deps.sh."));
	resp->content_type = swagger_files[i].content_type;
	buf_append(&resp->body, swagger_files[i].data, swagger_files[i].len);
	resp->status = 200;
	respond_header(resp, "Cache-Control", "public, max-age=3600");
	return (0);
}
