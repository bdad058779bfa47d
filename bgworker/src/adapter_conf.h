/*
 * adapter_conf.h — where adapter settings live once configured.
 *
 * The dispatcher's config loader (config.c) calls adapter_conf_set for
 * every "<adapter>.<key>" it reads from the file or the environment; unit
 * tests call it directly.  adapter_conf (adapter.h) reads them back, falling
 * back to the setting's default.
 *
 * Memory: values are copied; adapter_conf_reset wipes (secrets) and frees
 * them.  Not thread-safe: set before the loop starts, read afterwards.
 */
#ifndef CAAS_ADAPTER_CONF_H
#define CAAS_ADAPTER_CONF_H

#include "adapter.h"

/*
 * adapter_conf_set stores value for a's setting key.  Returns 0, or -1 when
 * a does not declare key (err says so) or memory runs out.
 */
int	adapter_conf_set(const struct caas_adapter *a, const char *key,
	    const char *value, char *err, size_t errlen);

/* adapter_setting_find returns a's declaration of key, or NULL. */
const struct adapter_setting *adapter_setting_find(const struct caas_adapter *a,
	    const char *key);

/* adapter_conf_reset forgets every stored value. */
void	adapter_conf_reset(void);

#endif /* CAAS_ADAPTER_CONF_H */
