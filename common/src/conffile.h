/*
 * conffile.h — table-driven settings (Redis static_configs style), shared
 * by caas-api (conf/api.conf) and the dispatcher (conf/dispatcher.conf).
 *
 * A program describes its settings as a NULL-terminated array of struct
 * conf_row, each naming a field of the program's own settings struct by
 * offset, with a type, a default, bounds (for strings: bounds on the
 * length) and flags.  Values come, in order, from the built-in default, the
 * conf file ("key value" lines), the environment (<env_prefix><KEY>), and,
 * for a secret, from the file named by <key>_file.  A secret may not appear
 * in the conf file; setting both a secret and its _file is an error, so the
 * source is never ambiguous.
 *
 * File format: one "key value" per line; the value is the rest of the line
 * with surrounding blanks removed, or a double-quoted string ("" is empty).
 * Lines starting with '#' and blank lines are ignored; there are no
 * trailing comments, because values (connection strings) may hold '#'.
 *
 * Memory: string fields are malloc'd and owned by the settings struct;
 * conf_cleanup wipes (secrets must not linger) and frees them.
 */
#ifndef CAAS_CONFFILE_H
#define CAAS_CONFFILE_H

#include <stdbool.h>
#include <stddef.h>

enum conf_type { CONF_STRING, CONF_INT, CONF_BOOL };

struct conf_row {
	const char	*name;
	enum conf_type	 type;
	size_t		 offset;	/* of an int, bool or char * field */
	const char	*def;		/* default, as text */
	long		 min, max;	/* int value, or string length */
	bool		 reloadable;	/* recorded for a future SIGHUP reload */
	bool		 secret;
	bool		 required;	/* strings: must end up non-empty */
};

struct conf_spec {
	const char		*env_prefix;	/* "CAAS_API_" */
	const struct conf_row	*rows;		/* terminated by name == NULL */
	/*
	 * extra, when set, is offered every file key that is not a row.
	 * Returns 1 when it took the key, 0 when it does not know it either
	 * (an "unknown key" error follows), -1 with the reason in err.
	 */
	int	(*extra)(void *base, const char *key, const char *value,
		    char *err, size_t errlen);
};

/* conf_init sets every row to its default.  Returns 0 or -1 (memory). */
int	conf_init(const struct conf_spec *spec, void *base);

/*
 * conf_load reads path (NULL: no file), then the environment, then the
 * *_file secrets, and checks required keys.  On error returns -1 with a
 * message in err ("conf/api.conf:12: unknown key \"prot\""); base may hold
 * part of the new values and must still be cleaned up.
 */
int	conf_load(const struct conf_spec *spec, void *base, const char *path,
	    char *err, size_t errlen);

/* conf_cleanup wipes and frees every string row.  NULL-safe. */
void	conf_cleanup(const struct conf_spec *spec, void *base);

/*
 * Helpers for programs that keep extra keys of their own.
 *
 * conf_env_name writes <prefix><NAME><suffix> uppercased, '.' and '-'
 * becoming '_', into out.  conf_parse_bool accepts yes/no, true/false,
 * on/off, 1/0 (0 or -1).  conf_read_secret_file returns a new string with
 * the file's content minus trailing newlines (at most 4096 bytes), or NULL
 * with err set; free it with conf_wipe_free, which clears before freeing.
 */
void	conf_env_name(const struct conf_spec *spec, char *out, size_t outlen,
	    const char *name, const char *suffix);
int	conf_parse_bool(const char *v, bool *out);
char	*conf_read_secret_file(const char *path, char *err, size_t errlen);
void	conf_wipe_free(char *s);

#endif /* CAAS_CONFFILE_H */
