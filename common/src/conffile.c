/*
 * conffile.c — the table-driven settings loader (conffile.h).
 *
 * Generic over the program's settings struct: each struct conf_row names a
 * field by offset, so caas-api and the dispatcher share one parser, one
 * environment rule and one secrets rule.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"

#define FIELD(base, row, type)	((type *)(void *)((char *)(base) + (row)->offset))

static const struct conf_row *
row_find(const struct conf_spec *spec, const char *name)
{
	const struct conf_row	*r;

	for (r = spec->rows; r->name != NULL; r++)
		if (strcmp(r->name, name) == 0)
			return (r);
	return (NULL);
}

int
conf_parse_bool(const char *v, bool *out)
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

void
conf_wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/*
 * row_set parses value into base's field for row r.  Returns 0, or -1 with
 * the reason in err (without the location: the caller prefixes it).
 */
static int
row_set(void *base, const struct conf_row *r, const char *value, char *err,
    size_t errlen)
{
	char	*end, *copy;
	long	 n;
	size_t	 len;

	switch (r->type) {
	case CONF_INT:
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0')
			return (snprintf(err, errlen, "%s: not an integer: \"%.64s\"", r->name, value), -1);
		if (n < r->min || n > r->max)
			return (snprintf(err, errlen, "%s: %ld is out of range %ld..%ld", r->name, n, r->min, r->max), -1);
		*FIELD(base, r, int) = (int)n;
		return (0);
	case CONF_BOOL:
		if (conf_parse_bool(value, FIELD(base, r, bool)) == -1)
			return (snprintf(err, errlen, "%s: expected yes or no, not \"%.64s\"", r->name, value), -1);
		return (0);
	case CONF_STRING:
	default:
		len = strlen(value);
		if ((long)len > r->max || ((long)len < r->min && !(r->secret && len == 0)))
			return (snprintf(err, errlen, "%s: length %zu is out of range %ld..%ld", r->name, len, r->min, r->max), -1);
		if ((copy = strdup(value)) == NULL)
			return (snprintf(err, errlen, "out of memory"), -1);
		conf_wipe_free(*FIELD(base, r, char *));
		*FIELD(base, r, char *) = copy;
		return (0);
	}
}

int
conf_init(const struct conf_spec *spec, void *base)
{
	const struct conf_row	*r;
	char			 err[256];

	for (r = spec->rows; r->name != NULL; r++) {
		if (r->type == CONF_STRING) {
			*FIELD(base, r, char *) = NULL;
			if (r->def[0] == '\0') {
				if ((*FIELD(base, r, char *) = strdup("")) == NULL)
					return (-1);
				continue;
			}
		}
		if (row_set(base, r, r->def, err, sizeof(err)) == -1)
			return (-1);
	}
	return (0);
}

void
conf_cleanup(const struct conf_spec *spec, void *base)
{
	const struct conf_row	*r;

	if (base == NULL)
		return;
	for (r = spec->rows; r->name != NULL; r++)
		if (r->type == CONF_STRING) {
			conf_wipe_free(*FIELD(base, r, char *));
			*FIELD(base, r, char *) = NULL;
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

void
conf_env_name(const struct conf_spec *spec, char *out, size_t outlen,
    const char *name, const char *suffix)
{
	size_t	 i;

	snprintf(out, outlen, "%.32s%.64s%.8s", spec->env_prefix, name, suffix);
	for (i = 0; out[i] != '\0'; i++)
		out[i] = (out[i] == '.' || out[i] == '-') ? '_' :
		    (char)toupper((unsigned char)out[i]);
}

/* file_line applies one key/value of the file.  Returns 0 or -1 (why set). */
static int
file_line(const struct conf_spec *spec, void *base, const char *key,
    const char *value, char *why, size_t whylen)
{
	const struct conf_row	*r;
	char			 env[128];
	int			 rc;

	if ((r = row_find(spec, key)) == NULL) {
		rc = spec->extra != NULL ?
		    spec->extra(base, key, value, why, whylen) : 0;
		if (rc == 0)
			return (snprintf(why, whylen, "unknown key \"%.64s\"", key), -1);
		return (rc == 1 ? 0 : -1);
	}
	if (r->secret) {
		conf_env_name(spec, env, sizeof(env), key, "");
		return (snprintf(why, whylen, "%.64s is a secret: set %.100s or %.64s_file instead", key, env, key), -1);
	}
	return (row_set(base, r, value, why, whylen));
}

/* load_file applies path's lines to base.  Returns 0 or -1 (err set). */
static int
load_file(const struct conf_spec *spec, void *base, const char *path,
    char *err, size_t errlen)
{
	FILE	*fp;
	char	 line[8192], why[512], *key, *value;
	int	 lineno = 0, rc;

	if ((fp = fopen(path, "r")) == NULL)
		return (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		rc = split_line(line, &key, &value, why, sizeof(why));
		if (rc == 1)
			rc = file_line(spec, base, key, value, why, sizeof(why));
		if (rc == -1) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			explicit_bzero(line, sizeof(line));
			fclose(fp);
			return (-1);
		}
	}
	explicit_bzero(line, sizeof(line));
	fclose(fp);
	return (0);
}

/* load_env applies <prefix>* variables.  Returns 0 or -1 (err set). */
static int
load_env(const struct conf_spec *spec, void *base, char *err, size_t errlen)
{
	const struct conf_row	*r;
	char			 name[128], why[512];
	const char		*v;

	for (r = spec->rows; r->name != NULL; r++) {
		conf_env_name(spec, name, sizeof(name), r->name, "");
		if ((v = getenv(name)) == NULL)
			continue;
		if (row_set(base, r, v, why, sizeof(why)) == -1)
			return (snprintf(err, errlen, "environment %s: %s", name, why), -1);
	}
	return (0);
}

char *
conf_read_secret_file(const char *path, char *err, size_t errlen)
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
		conf_wipe_free(s);
		return (snprintf(err, errlen, "%s: unreadable or longer than 4096 bytes", path), NULL);
	}
	fclose(fp);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return (s);
}

/* load_secrets fills each secret from its _file key.  Returns 0 or -1. */
static int
load_secrets(const struct conf_spec *spec, void *base, char *err,
    size_t errlen)
{
	const struct conf_row	*r, *fr;
	char			 fname[128], why[512], *s;
	const char		*path;
	int			 rc;

	for (r = spec->rows; r->name != NULL; r++) {
		if (!r->secret)
			continue;
		snprintf(fname, sizeof(fname), "%s_file", r->name);
		if ((fr = row_find(spec, fname)) == NULL)
			continue;
		path = *FIELD(base, fr, char *);
		if (path[0] == '\0')
			continue;
		if ((*FIELD(base, r, char *))[0] != '\0')
			return (snprintf(err, errlen, "%s and %s are both set; use one", r->name, fname), -1);
		if ((s = conf_read_secret_file(path, why, sizeof(why))) == NULL)
			return (snprintf(err, errlen, "%s: %s", fname, why), -1);
		rc = row_set(base, r, s, why, sizeof(why));
		conf_wipe_free(s);
		if (rc == -1)
			return (snprintf(err, errlen, "%s: %s", fname, why), -1);
	}
	return (0);
}

/* check_required refuses to start without required keys. */
static int
check_required(const struct conf_spec *spec, void *base, char *err,
    size_t errlen)
{
	const struct conf_row	*r;
	char			 name[128];

	for (r = spec->rows; r->name != NULL; r++) {
		if (!r->required || r->type != CONF_STRING ||
		    (*FIELD(base, r, char *))[0] != '\0')
			continue;
		conf_env_name(spec, name, sizeof(name), r->name, "");
		return (snprintf(err, errlen, "%s is not set: set %s or %s_file", r->name, name, r->name), -1);
	}
	return (0);
}

int
conf_load(const struct conf_spec *spec, void *base, const char *path,
    char *err, size_t errlen)
{
	if (path != NULL && load_file(spec, base, path, err, errlen) == -1)
		return (-1);
	if (load_env(spec, base, err, errlen) == -1 ||
	    load_secrets(spec, base, err, errlen) == -1 ||
	    check_required(spec, base, err, errlen) == -1)
		return (-1);
	return (0);
}
