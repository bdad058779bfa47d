/*
 * worker_main.c — the dispatcher as a PostgreSQL background worker
 * (caas_dispatcher.so), following worker_spi.
 *
 * The caas extension's _PG_init registers caas.dispatcher_workers workers
 * with bgw_library_name "caas_dispatcher" and bgw_function_name
 * "caas_dispatcher_worker_main" (BGWORKER_SHMEM_ACCESS only: the worker
 * talks to the database through libpq like the daemon, because a
 * background worker may not LISTEN).  It connects back to its own server:
 * host = the first unix_socket_directories entry (localhost when there is
 * none), port = the server's port, dbname = caas.dispatcher_database,
 * user = the operating-system user the server runs as; then SET ROLE
 * database_role as the daemon does.  Settings come from the file named by
 * caas.dispatcher_config_file (or the built-in defaults) and the
 * postmaster's environment.
 *
 * Signals: SIGTERM sets a flag, writes the wake pipe and sets the latch;
 * the loop stops claiming, lets requests in flight finish for up to
 * shutdown_timeout_sec, records, and the worker exits 1: when the server
 * is shutting down nothing is restarted anyway, and when only the worker
 * was told to stop (pg_terminate_backend, kill) the postmaster starts it
 * again after bgw_restart_time, so posts never stop being published until
 * the server restarts (exit 0 would unregister it).
 * SIGHUP re-reads postgresql.conf (ProcessConfigFile) in the loop;
 * dispatcher settings need a worker restart.  Postmaster death: the
 * postmaster-death descriptor is among those the loop waits on, and the
 * worker exits 1 at once.
 *
 * Logging goes through elog(LOG) and elog(WARNING) only, never ERROR: an
 * ERROR would longjmp out of libcurl or libpq and leave them broken.  All
 * memory is malloc'd by the core and freed before proc_exit; nothing of
 * PostgreSQL's allocators crosses into it.
 */
#include "postgres.h"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "postmaster/postmaster.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/wait_event.h"

#include <curl/curl.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "loop.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void caas_dispatcher_worker_main(Datum main_arg);

static volatile sig_atomic_t	 stop_flag;
static volatile sig_atomic_t	 reload_flag;
static int			 wake_pipe[2] = { -1, -1 };

static void
worker_signal(SIGNAL_ARGS)
{
	int	 save_errno = errno;
	ssize_t	 n;

	if (postgres_signal_arg == SIGHUP)
		reload_flag = 1;
	else
		stop_flag = 1;
	if (wake_pipe[1] >= 0) {
		n = write(wake_pipe[1], "", 1);
		(void) n;
	}
	SetLatch(MyLatch);
	errno = save_errno;
}

static void
elog_sink(enum log_level level, const char *line)
{
	if (level <= LOG_LEVEL_WARNING)
		elog(WARNING, "caas dispatcher: %s", line);
	else
		elog(LOG, "caas dispatcher: %s", line);
}

static void
on_reload(void *arg)
{
	(void) arg;
	ProcessConfigFile(PGC_SIGHUP);
	log_info("configuration file reloaded; dispatcher settings change at the worker's next start");
}

/* conninfo_add appends key='value' with value quoted for libpq. */
static void
conninfo_add(struct buf *b, const char *key, const char *value)
{
	const char *p;

	buf_appendf(b, "%s%s='", b->len > 0 ? " " : "", key);
	for (p = value; *p != '\0'; p++) {
		if (*p == '\'' || *p == '\\')
			buf_append(b, "\\", 1);
		buf_append(b, p, 1);
	}
	buf_append(b, "'", 1);
}

/*
 * own_conninfo builds the connection string back to this server into b.
 * Returns 0, or -1 when the server's user cannot be found.
 */
static int
own_conninfo(struct buf *b)
{
	const char	*dirs = Unix_socket_directories != NULL ? Unix_socket_directories : "";
	const char	*db = GetConfigOption("caas.dispatcher_database", true, false);
	struct passwd	*pw = getpwuid(geteuid());
	char		 host[MAXPGPATH], port[16];
	size_t		 n;

	if (pw == NULL)
		return -1;
	while (*dirs == ' ')
		dirs++;
	n = strcspn(dirs, ",");
	while (n > 0 && dirs[n - 1] == ' ')
		n--;
	if (n == 0 || n >= sizeof(host))
		snprintf(host, sizeof(host), "localhost");
	else
		snprintf(host, sizeof(host), "%.*s", (int) n, dirs);
	snprintf(port, sizeof(port), "%d", PostPortNumber);
	conninfo_add(b, "host", host);
	conninfo_add(b, "port", port);
	conninfo_add(b, "dbname", db != NULL && db[0] != '\0' ? db : "caas");
	conninfo_add(b, "user", pw->pw_name);
	return b->data != NULL ? 0 : -1;
}

/*
 * wait_for_fix idles after a configuration error until SIGTERM or SIGHUP,
 * then exits 1: the postmaster starts the worker again, which reads the
 * fixed file (or, while the server shuts down, nothing restarts).
 */
static void
wait_for_fix(void)
{
	while (!stop_flag && !reload_flag) {
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1L,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	proc_exit(1);
}

void
caas_dispatcher_worker_main(Datum main_arg)
{
	static struct dispatcher_config cfg;
	struct loop_entry e;
	struct buf	conninfo;
	const char *file;
	char		err[1024], name[192], hostname[128];

	pqsignal(SIGTERM, worker_signal);
	pqsignal(SIGHUP, worker_signal);
	pqsignal(SIGPIPE, SIG_IGN);
	if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
	{
		elog(LOG, "caas dispatcher: cannot create the wake pipe: %m");
		proc_exit(1);
	}
	BackgroundWorkerUnblockSignals();
	/* No database: shows the worker in pg_stat_activity, nothing more. */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	log_set_sink(elog_sink);

	file = GetConfigOption("caas.dispatcher_config_file", true, false);
	if (dispatcher_config_init(&cfg) == -1 ||
		dispatcher_config_load(&cfg, file != NULL && file[0] != '\0' ? file : NULL,
							   err, sizeof(err)) == -1)
	{
		elog(WARNING, "caas dispatcher %d: %s; fix it and reload (SELECT pg_reload_conf())",
			 DatumGetInt32(main_arg), err);
		dispatcher_config_cleanup(&cfg);
		wait_for_fix();
	}
	log_set_level(cfg.level);

	buf_init(&conninfo);
	if (own_conninfo(&conninfo) == -1 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
	{
		elog(WARNING, "caas dispatcher: cannot start (server user unknown, or out of memory)");
		buf_cleanup(&conninfo);
		dispatcher_config_cleanup(&cfg);
		proc_exit(1);
	}
	if (cfg.name[0] != '\0')
		snprintf(name, sizeof(name), "%s", cfg.name);
	else
	{
		if (gethostname(hostname, sizeof(hostname)) == -1)
			snprintf(hostname, sizeof(hostname), "localhost");
		hostname[sizeof(hostname) - 1] = '\0';
		snprintf(name, sizeof(name), "%.100s:%d", hostname, (int) MyProcPid);
	}

	memset(&e, 0, sizeof(e));
	e.kind = "worker";
	e.conninfo = conninfo.data;
	e.name = name;
	e.wake_fd = wake_pipe[0];
	e.death_fd = postmaster_alive_fds[POSTMASTER_FD_WATCH];
	e.stop = &stop_flag;
	e.reload = &reload_flag;
	e.on_reload = on_reload;
	(void) loop_run(&cfg, &e);

	curl_global_cleanup();
	buf_cleanup(&conninfo);
	dispatcher_config_cleanup(&cfg);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	proc_exit(1);
}
