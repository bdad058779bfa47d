/*
 * caas.c — entry point of the caas module.
 *
 * PostgreSQL loads this library through shared_preload_libraries (or the
 * first call of one of its functions).  _PG_init defines every caas.* GUC
 * and, when loaded by the postmaster from shared_preload_libraries, registers
 * the publishing dispatcher's background workers (caas.dispatcher_workers of
 * them, none when 0).  Nothing else: the SQL-callable functions live in
 * their own files, one file per concern, and the worker's code lives in its
 * own library, caas_dispatcher (bgworker/), which the postmaster loads by
 * name in each worker process.  The worker reaches the database through
 * libpq only, so it asks for shared memory access and no database
 * connection of its own.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"

#include "guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);
static void caas_dispatcher_register(int index);

void
_PG_init(void)
{
	int			i;

	caas_guc_define();

	if (!process_shared_preload_libraries_in_progress)
		return;
	for (i = 0; i < caas_dispatcher_workers; i++)
		caas_dispatcher_register(i);
}

/*
 * Register dispatcher worker number index (0-based, passed as its main
 * argument).  The postmaster restarts it 5 s after it exits abnormally.
 * It attaches to no database (like the logical replication launcher): it
 * works through libpq, and the backend connection only makes it visible in
 * pg_stat_activity and stoppable with pg_terminate_backend().
 */
static void
caas_dispatcher_register(int index)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "caas_dispatcher");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "caas_dispatcher_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "caas dispatcher %d", index);
	snprintf(worker.bgw_type, BGW_MAXLEN, "caas dispatcher");
	worker.bgw_main_arg = Int32GetDatum(index);
	worker.bgw_notify_pid = 0;
	RegisterBackgroundWorker(&worker);
}
