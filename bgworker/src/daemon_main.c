/*
 * daemon_main.c — caas-dispatcher, the dispatcher as a standalone daemon:
 * arguments, configuration, signals and logging, then loop_run().
 *
 *   caas-dispatcher [-c conf/dispatcher.conf] [--check-config]
 *
 * Logging: one line per event to stderr, "<UTC time> caas-dispatcher[pid]
 * <level>: <message>", for systemd or the container runtime to collect.
 *
 * Signals: SIGTERM and SIGINT ask the loop to stop (stop claiming, let
 * requests in flight finish for up to shutdown_timeout_sec, record what
 * finished, exit 0); SIGHUP is logged (changes need a restart).  Handlers
 * only set a flag and write a byte to the wake pipe the loop polls.
 * SIGPIPE is ignored (libcurl and libpq see EPIPE as an error).
 *
 * Memory: the configuration lives in main's frame until exit; everything
 * the loop allocates is freed before loop_run returns, so a clean stop is
 * valgrind-clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "log.h"
#include "loop.h"

#define DEFAULT_CONF	"conf/dispatcher.conf"

static volatile sig_atomic_t	 stop_flag;
static volatile sig_atomic_t	 reload_flag;
static int			 wake_pipe[2] = { -1, -1 };

static void
usage(void)
{
	fprintf(stderr, "usage: caas-dispatcher [-c conf] [--check-config]\n");
	exit(2);
}

static void
on_signal(int sig)
{
	int	 saved = errno;
	ssize_t	 n;

	if (sig == SIGHUP)
		reload_flag = 1;
	else
		stop_flag = 1;
	n = write(wake_pipe[1], "", 1);
	(void)n;
	errno = saved;
}

static void
stderr_sink(enum log_level level, const char *line)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	struct timespec	 ts;
	struct tm	 tm;
	char		 when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ caas-dispatcher[%d] %s: %s\n", when,
	    ts.tv_nsec / 1000000, (int)getpid(), names[level], line);
}

static void
on_reload(void *arg)
{
	(void)arg;
	log_info("SIGHUP: configuration changes take effect at the next restart");
}

/* signals_setup installs the handlers and the wake pipe.  0 or -1. */
static int
signals_setup(void)
{
	struct sigaction	 sa;

	if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		return (-1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1)
		return (-1);
	signal(SIGPIPE, SIG_IGN);
	return (0);
}

int
main(int argc, char **argv)
{
	static struct dispatcher_config	 cfg;
	struct loop_entry		 e;
	const char			*conf = DEFAULT_CONF;
	char				 err[1024], name[192], host[128];
	bool				 check_only = false;
	enum loop_exit			 rc;
	int				 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			conf = argv[++i];
		else if (strcmp(argv[i], "--check-config") == 0)
			check_only = true;
		else
			usage();
	}
	log_set_sink(stderr_sink);
	if (dispatcher_config_init(&cfg) == -1 ||
	    dispatcher_config_load(&cfg, conf, err, sizeof(err)) == -1) {
		log_error("%s", err);
		dispatcher_config_cleanup(&cfg);
		return (EXIT_FAILURE);
	}
	log_set_level(cfg.level);
	if (check_only) {
		dispatcher_config_describe(&cfg);
		log_info("%s: configuration ok", conf);
		dispatcher_config_cleanup(&cfg);
		return (EXIT_SUCCESS);
	}
	if (cfg.name[0] != '\0')
		snprintf(name, sizeof(name), "%s", cfg.name);
	else {
		if (gethostname(host, sizeof(host)) == -1)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(name, sizeof(name), "%.100s:%d", host, (int)getpid());
	}
	if (signals_setup() == -1 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("start-up failed: %s", strerror(errno));
		dispatcher_config_cleanup(&cfg);
		return (EXIT_FAILURE);
	}
	memset(&e, 0, sizeof(e));
	e.kind = "daemon";
	e.name = name;
	e.wake_fd = wake_pipe[0];
	e.death_fd = -1;
	e.stop = &stop_flag;
	e.reload = &reload_flag;
	e.on_reload = on_reload;
	rc = loop_run(&cfg, &e);
	curl_global_cleanup();
	dispatcher_config_cleanup(&cfg);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	return (rc == LOOP_STOPPED ? EXIT_SUCCESS : EXIT_FAILURE);
}
