/*
 * config.c — table-driven settings (Redis static_configs style).
 *
 * Each row of config_rows[] is one key: its type, default, bounds (for
 * strings, bounds on the length), whether a reload could change it, and
 * whether it is a secret.  A secret may not appear in the conf file; it is
 * read from CAAS_API_<KEY> or from the file named by <key>_file (Docker
 * secrets), whose trailing newlines are dropped.  Setting both a secret and
 * its _file is an error, so the source is never ambiguous.
 *
 * The file format: one "key value" per line; the value is the rest of the
 * line with surrounding blanks removed, or a double-quoted string ("" is
 * empty).  Lines starting with '#' and blank lines are ignored; there are
 * no trailing comments, because values (connection strings) may hold '#'.
 *
 * "reloadable" is recorded for a future SIGHUP reload; today every change
 * needs a restart.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

struct api_config api_config;

enum config_type { CONFIG_STRING, CONFIG_INT, CONFIG_BOOL };

struct config_row {
	const char	*name;
	enum config_type type;
	size_t		 offset;	/* into struct api_config */
	const char	*def;		/* default, as text */
	long		 min, max;	/* int value, or string length */
	bool		 reloadable;
	bool		 secret;
	bool		 required;
};

#define OFF(f)	offsetof(struct api_config, f)
#define MIB	(1024L * 1024L)

static const struct config_row config_rows[] = {
	{ "listen_address", CONFIG_STRING, OFF(listen_address), "127.0.0.1", 1, 255, false, false, false },
	{ "port", CONFIG_INT, OFF(port), "8000", 1, 65535, false, false, false },
	{ "threads", CONFIG_INT, OFF(threads), "4", 1, 64, false, false, false },
	{ "connection_timeout_sec", CONFIG_INT, OFF(connection_timeout_sec), "10", 1, 3600, true, false, false },
	{ "connection_limit", CONFIG_INT, OFF(connection_limit), "1024", 1, 65536, false, false, false },
	{ "per_ip_connection_limit", CONFIG_INT, OFF(per_ip_connection_limit), "64", 0, 65536, false, false, false },
	{ "connection_memory_limit_bytes", CONFIG_INT, OFF(connection_memory_limit_bytes), "65536", 16384, 1 * MIB, false, false, false },
	{ "shutdown_timeout_sec", CONFIG_INT, OFF(shutdown_timeout_sec), "10", 0, 600, true, false, false },
	{ "database_url", CONFIG_STRING, OFF(database_url), "host=/var/run/postgresql dbname=caas user=caas_authenticator", 1, 4096, false, false, false },
	{ "database_password", CONFIG_STRING, OFF(database_password), "", 0, 1024, false, true, false },
	{ "database_password_file", CONFIG_STRING, OFF(database_password_file), "", 0, 4096, false, false, false },
	{ "statement_timeout_ms", CONFIG_INT, OFF(statement_timeout_ms), "5000", 0, 600000, true, false, false },
	{ "jwt_secret", CONFIG_STRING, OFF(jwt_secret), "", 32, 64, true, true, true },
	{ "jwt_secret_file", CONFIG_STRING, OFF(jwt_secret_file), "", 0, 4096, true, false, false },
	{ "jwt_issuer", CONFIG_STRING, OFF(jwt_issuer), "caas", 1, 255, true, false, false },
	{ "jwt_audience", CONFIG_STRING, OFF(jwt_audience), "caas-api", 1, 255, true, false, false },
	{ "jwt_key_id", CONFIG_STRING, OFF(jwt_key_id), "k1", 1, 32, true, false, false },
	{ "jwt_previous_secret", CONFIG_STRING, OFF(jwt_previous_secret), "", 32, 64, true, true, false },
	{ "jwt_previous_secret_file", CONFIG_STRING, OFF(jwt_previous_secret_file), "", 0, 4096, true, false, false },
	{ "jwt_previous_key_id", CONFIG_STRING, OFF(jwt_previous_key_id), "", 0, 32, true, false, false },
	{ "jwt_leeway_sec", CONFIG_INT, OFF(jwt_leeway_sec), "30", 0, 300, true, false, false },
	{ "login_per_ip", CONFIG_INT, OFF(login_per_ip), "20", 1, 100000, true, false, false },
	{ "login_per_email", CONFIG_INT, OFF(login_per_email), "5", 1, 100000, true, false, false },
	{ "login_window_sec", CONFIG_INT, OFF(login_window_sec), "300", 1, 86400, true, false, false },
	{ "hash_concurrency", CONFIG_INT, OFF(hash_concurrency), "2", 1, 64, false, false, false },
	{ "access_ttl_sec", CONFIG_INT, OFF(access_ttl_sec), "900", 60, 86400, true, false, false },
	{ "refresh_ttl_sec", CONFIG_INT, OFF(refresh_ttl_sec), "604800", 3600, 31536000, true, false, false },
	{ "cors_origins", CONFIG_STRING, OFF(cors_origins), "", 0, 4096, true, false, false },
	{ "max_body_bytes", CONFIG_INT, OFF(max_body_bytes), "1048576", 1024, 16 * MIB, true, false, false },
	{ "user", CONFIG_STRING, OFF(user), "nobody", 1, 64, false, false, false },
	{ "swagger_ui_dir", CONFIG_STRING, OFF(swagger_ui_dir), "api/swagger/node_modules/swagger-ui-dist", 0, 4096, true, false, false },
	{ "access_log", CONFIG_BOOL, OFF(access_log), "yes", 0, 1, true, false, false },
	{ NULL, CONFIG_INT, 0, NULL, 0, 0, false, false, false },
};

#define FIELD(cfg, row, type)	((type *)(void *)((char *)(cfg) + (row)->offset))

static const struct config_row *
row_find(const char *name)
{
	const struct config_row	*r;

	for (r = config_rows; r->name != NULL; r++)
		if (strcmp(r->name, name) == 0)
			return (r);
	return (NULL);
}

static int
parse_bool(const char *v, bool *out)
{
	static const char *yes[] = { "yes", "true", "on", "1", NULL };
	static const char *no[] = { "no", "false", "off", "0", NULL };
	int	 i;

	for (i = 0; yes[i] != NULL; i++)
		if (strcasecmp(v, yes[i]) == 0)
			return (*out = true, 0);
	for (i = 0; no[i] != NULL; i++)
		if (strcasecmp(v, no[i]) == 0)
			return (*out = false, 0);
	return (-1);
}

/* wipe_free clears and frees a string (secrets must not linger). */
static void
wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/*
 * row_set parses value into cfg's field for row r.  Returns 0, or -1 with
 * the reason in err (without the location: the caller prefixes it).
 */
static int
row_set(struct api_config *cfg, const struct config_row *r, const char *value,
    char *err, size_t errlen)
{
	char	*end, *copy;
	long	 n;
	size_t	 len;

	switch (r->type) {
	case CONFIG_INT:
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0')
			return (snprintf(err, errlen, "%s: not an integer: \"%.64s\"", r->name, value), -1);
		if (n < r->min || n > r->max)
			return (snprintf(err, errlen, "%s: %ld is out of range %ld..%ld", r->name, n, r->min, r->max), -1);
		*FIELD(cfg, r, int) = (int)n;
		return (0);
	case CONFIG_BOOL:
		if (parse_bool(value, FIELD(cfg, r, bool)) == -1)
			return (snprintf(err, errlen, "%s: expected yes or no, not \"%.64s\"", r->name, value), -1);
		return (0);
	case CONFIG_STRING:
	default:
		len = strlen(value);
		if ((long)len > r->max || ((long)len < r->min && !(r->secret && len == 0)))
			return (snprintf(err, errlen, "%s: length %zu is out of range %ld..%ld", r->name, len, r->min, r->max), -1);
		if ((copy = strdup(value)) == NULL)
			return (snprintf(err, errlen, "out of memory"), -1);
		wipe_free(*FIELD(cfg, r, char *));
		*FIELD(cfg, r, char *) = copy;
		return (0);
	}
}

int
config_init(struct api_config *cfg)
{
	const struct config_row	*r;
	char			 err[256];

	memset(cfg, 0, sizeof(*cfg));
	for (r = config_rows; r->name != NULL; r++) {
		if (r->type == CONFIG_STRING && r->def[0] == '\0') {
			if ((*FIELD(cfg, r, char *) = strdup("")) == NULL)
				return (-1);
			continue;
		}
		if (row_set(cfg, r, r->def, err, sizeof(err)) == -1)
			return (-1);
	}
	return (0);
}

void
config_cleanup(struct api_config *cfg)
{
	const struct config_row	*r;

	if (cfg == NULL)
		return;
	for (r = config_rows; r->name != NULL; r++)
		if (r->type == CONFIG_STRING) {
			wipe_free(*FIELD(cfg, r, char *));
			*FIELD(cfg, r, char *) = NULL;
		}
}

/*
 * split_line cuts line into key and value in place.  Returns 1 for a
 * key/value, 0 for a blank or comment line, -1 (reason in err) otherwise.
 */
static int
split_line(char *line, char **key, char **value, char *err, size_t errlen)
{
	char	*p = line, *end;

	line[strcspn(line, "\r\n")] = '\0';
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#')
		return (0);
	*key = p;
	while (*p != '\0' && !isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		*p++ = '\0';
	while (isspace((unsigned char)*p))
		p++;
	end = p + strlen(p);
	while (end > p && isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (*p == '"') {
		if (end - p < 2 || end[-1] != '"')
			return (snprintf(err, errlen, "unterminated quoted value"), -1);
		end[-1] = '\0';
		p++;
	}
	*value = p;
	return (1);
}

/* env_name writes CAAS_API_<NAME uppercased><suffix> into out. */
static void
env_name(char *out, size_t outlen, const char *name, const char *suffix)
{
	size_t	 i;

	snprintf(out, outlen, "CAAS_API_%.64s%.8s", name, suffix);
	for (i = 0; out[i] != '\0'; i++)
		out[i] = (char)toupper((unsigned char)out[i]);
}

/* load_file applies path's lines to cfg.  Returns 0 or -1 (err set). */
static int
load_file(struct api_config *cfg, const char *path, char *err, size_t errlen)
{
	FILE			*fp;
	char			 line[8192], why[512], env[128], *key, *value;
	const struct config_row	*r;
	int			 lineno = 0, rc;

	if ((fp = fopen(path, "r")) == NULL)
		return (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		rc = split_line(line, &key, &value, why, sizeof(why));
		if (rc == 0)
			continue;
		if (rc == 1 && (r = row_find(key)) == NULL)
			rc = (snprintf(why, sizeof(why), "unknown key \"%.64s\"", key), -1);
		else if (rc == 1 && r->secret) {
			env_name(env, sizeof(env), key, "");
			rc = (snprintf(why, sizeof(why), "%.64s is a secret: set %.100s or %.64s_file instead", key, env, key), -1);
		}
		else if (rc == 1)
			rc = row_set(cfg, r, value, why, sizeof(why));
		if (rc == -1) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			fclose(fp);
			return (-1);
		}
	}
	fclose(fp);
	return (0);
}

/* load_env applies CAAS_API_* variables.  Returns 0 or -1 (err set). */
static int
load_env(struct api_config *cfg, char *err, size_t errlen)
{
	const struct config_row	*r;
	char			 name[128], why[512];
	const char		*v;

	for (r = config_rows; r->name != NULL; r++) {
		env_name(name, sizeof(name), r->name, "");
		if ((v = getenv(name)) == NULL)
			continue;
		if (row_set(cfg, r, v, why, sizeof(why)) == -1)
			return (snprintf(err, errlen, "environment %s: %s", name, why), -1);
	}
	return (0);
}

/*
 * read_secret_file reads path into a new string without trailing newlines.
 * Returns NULL with err set on failure.
 */
static char *
read_secret_file(const char *path, char *err, size_t errlen)
{
	FILE	*fp;
	char	*s;
	size_t	 n;

	if ((fp = fopen(path, "r")) == NULL)
		return (snprintf(err, errlen, "%s: %s", path, strerror(errno)), NULL);
	if ((s = calloc(1, 4097)) == NULL) {
		fclose(fp);
		return (snprintf(err, errlen, "out of memory"), NULL);
	}
	n = fread(s, 1, 4096, fp);
	if (!feof(fp) || ferror(fp)) {
		fclose(fp);
		wipe_free(s);
		return (snprintf(err, errlen, "%s: unreadable or longer than 4096 bytes", path), NULL);
	}
	fclose(fp);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return (s);
}

/* load_secrets fills each secret from its _file key.  Returns 0 or -1. */
static int
load_secrets(struct api_config *cfg, char *err, size_t errlen)
{
	const struct config_row	*r, *fr;
	char			 fname[128], why[512], *s;
	const char		*path;
	int			 rc;

	for (r = config_rows; r->name != NULL; r++) {
		if (!r->secret)
			continue;
		snprintf(fname, sizeof(fname), "%s_file", r->name);
		if ((fr = row_find(fname)) == NULL)
			continue;
		path = *FIELD(cfg, fr, char *);
		if (path[0] == '\0')
			continue;
		if ((*FIELD(cfg, r, char *))[0] != '\0')
			return (snprintf(err, errlen, "%s and %s are both set; use one", r->name, fname), -1);
		if ((s = read_secret_file(path, why, sizeof(why))) == NULL)
			return (snprintf(err, errlen, "%s: %s", fname, why), -1);
		rc = row_set(cfg, r, s, why, sizeof(why));
		wipe_free(s);
		if (rc == -1)
			return (snprintf(err, errlen, "%s: %s", fname, why), -1);
	}
	return (0);
}

/* check_required refuses to start without required keys. */
static int
check_required(const struct api_config *cfg, char *err, size_t errlen)
{
	const struct config_row	*r;
	char			 name[128];

	for (r = config_rows; r->name != NULL; r++) {
		if (!r->required || r->type != CONFIG_STRING ||
		    (*FIELD(cfg, r, char *))[0] != '\0')
			continue;
		env_name(name, sizeof(name), r->name, "");
		return (snprintf(err, errlen, "%s is not set: set %s or %s_file", r->name, name, r->name), -1);
	}
	return (0);
}

int
config_load(struct api_config *cfg, const char *path, char *err, size_t errlen)
{
	if (path != NULL && load_file(cfg, path, err, errlen) == -1)
		return (-1);
	if (load_env(cfg, err, errlen) == -1 ||
	    load_secrets(cfg, err, errlen) == -1 ||
	    check_required(cfg, err, errlen) == -1)
		return (-1);
	return (0);
}

bool
config_origin_allowed(const struct api_config *cfg, const char *origin)
{
	const char	*p = cfg->cors_origins;
	size_t		 len, olen;

	if (origin == NULL || p == NULL || p[0] == '\0')
		return (false);
	olen = strlen(origin);
	while (*p != '\0') {
		p += strspn(p, ", \t");
		len = strcspn(p, ", \t");
		if (len == 1 && p[0] == '*')
			return (true);
		if (len > 0 && len == olen && strncasecmp(p, origin, len) == 0)
			return (true);
		p += len;
	}
	return (false);
}
