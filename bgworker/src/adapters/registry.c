/*
 * adapters/registry.c — every platform adapter the dispatcher knows, by
 * name (= caas.platforms.platform in SQL).
 *
 * Adding a platform is one line here plus its own adapters/<name>.c; the
 * core finds adapters only through adapter_registry[] and adapter_find.
 * The adapters are const and stateless, so the registry needs no locking.
 */
#include <string.h>

#include "adapter.h"

extern const struct caas_adapter adapter_x;
extern const struct caas_adapter adapter_linkedin;
extern const struct caas_adapter adapter_instagram;
extern const struct caas_adapter adapter_sandbox;

const struct caas_adapter *const adapter_registry[] = {
	&adapter_x,
	&adapter_linkedin,
	&adapter_instagram,
	&adapter_sandbox,
	NULL
};

const struct caas_adapter *
adapter_find(const char *name)
{
	const struct caas_adapter *const	*a;

	if (name == NULL)
		return (NULL);
	for (a = adapter_registry; *a != NULL; a++)
		if (strcmp((*a)->name, name) == 0)
			return (*a);
	return (NULL);
}
