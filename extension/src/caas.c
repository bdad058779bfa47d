/*
 * caas.c — entry point of the caas module.
 *
 * PostgreSQL loads this library through shared_preload_libraries (or the
 * first call of one of its functions).  _PG_init defines every caas.* GUC and
 * nothing else: the SQL-callable functions live in their own files, one file
 * per concern.
 */
#include "postgres.h"

#include "fmgr.h"

#include "guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	caas_guc_define();
}
