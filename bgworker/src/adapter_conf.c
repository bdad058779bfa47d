/*
 * adapter_conf.c — configured values of adapter settings (adapter_conf.h).
 *
 * A small list: a handful of adapters with a handful of settings each, read
 * once per request at most, so a linear search is the simple right thing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "adapter_conf.h"

struct conf_value {
	const struct caas_adapter	*adapter;
	const char			*key;	/* the declaration's own string */
	char				*value;
	struct conf_value		*next;
};

static struct conf_value *values;

const struct adapter_setting *
adapter_setting_find(const struct caas_adapter *a, const char *key)
{
	const struct adapter_setting	*s;

	if (a == NULL || a->settings == NULL || key == NULL)
		return (NULL);
	for (s = a->settings; s->key != NULL; s++)
		if (strcmp(s->key, key) == 0)
			return (s);
	return (NULL);
}

int
adapter_conf_set(const struct caas_adapter *a, const char *key,
    const char *value, char *err, size_t errlen)
{
	const struct adapter_setting	*s;
	struct conf_value		*v;
	char				*copy;

	if ((s = adapter_setting_find(a, key)) == NULL)
		return (snprintf(err, errlen, "unknown setting \"%s.%.64s\"",
		    a != NULL ? a->name : "?", key), -1);
	if ((copy = strdup(value)) == NULL)
		return (snprintf(err, errlen, "out of memory"), -1);
	for (v = values; v != NULL; v = v->next)
		if (v->adapter == a && v->key == s->key) {
			explicit_bzero(v->value, strlen(v->value));
			free(v->value);
			v->value = copy;
			return (0);
		}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		free(copy);
		return (snprintf(err, errlen, "out of memory"), -1);
	}
	v->adapter = a;
	v->key = s->key;
	v->value = copy;
	v->next = values;
	values = v;
	return (0);
}

const char *
adapter_conf(const struct caas_adapter *a, const char *key)
{
	const struct adapter_setting	*s;
	const struct conf_value		*v;

	if ((s = adapter_setting_find(a, key)) == NULL)
		return (NULL);
	for (v = values; v != NULL; v = v->next)
		if (v->adapter == a && v->key == s->key)
			return (v->value);
	return (s->def != NULL ? s->def : "");
}

void
adapter_conf_reset(void)
{
	struct conf_value	*v, *next;

	for (v = values; v != NULL; v = next) {
		next = v->next;
		explicit_bzero(v->value, strlen(v->value));
		free(v->value);
		free(v);
	}
	values = NULL;
}
