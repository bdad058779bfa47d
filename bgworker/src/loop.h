/*
 * loop.h — the dispatcher's loop, shared by both entry points (loop.c).
 *
 * The entry point (daemon_main.c, worker_main.c) loads the configuration,
 * installs the log sink and signal handlers, and calls loop_run with the
 * descriptors the loop must also wait on.  Signal handlers only set a flag
 * and write a byte to the wake pipe; the loop does the rest.
 */
#ifndef CAAS_LOOP_H
#define CAAS_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct dispatcher_config;	/* config.h */

enum loop_exit {
	LOOP_STOPPED,		/* asked to stop: finished or handed back its work */
	LOOP_DEATH,		/* death_fd fired (the postmaster died): exit now */
	LOOP_FAILED		/* could not start (logged) */
};

struct loop_entry {
	const char		*kind;		/* "daemon" or "worker", for the heartbeat */
	const char		*conninfo;	/* NULL: the config's database_url */
	const char		*name;		/* dispatcher name (lease owner) */
	int			 wake_fd;	/* read end of the self-pipe */
	int			 death_fd;	/* -1, or readable when the loop must die */
	volatile sig_atomic_t	*stop;		/* set by SIGTERM/SIGINT */
	volatile sig_atomic_t	*reload;	/* set by SIGHUP */
	void			(*on_reload)(void *arg);	/* may be NULL */
	void			*arg;
};

/* loop_run publishes until asked to stop.  cfg is read-only meanwhile. */
enum loop_exit loop_run(const struct dispatcher_config *cfg,
	    const struct loop_entry *entry);

/*
 * When the loop must wake next, as monotonic ms (-1: no such deadline).
 * Pure, for tests: loop_timeout_ms is the poll timeout for these at now.
 */
struct loop_timers {
	int64_t		 due_at;	/* next post due; counts only when can_claim */
	bool		 can_claim;	/* connected, not stopping, room for more */
	int64_t		 step_at;	/* next adapter step or held write */
	int64_t		 periodic_at;	/* heartbeat, sweep, rescan, refresh scan */
	int64_t		 reconnect_at;	/* while the database is down */
	int64_t		 stop_at;	/* while stopping: give up waiting */
	bool		 now;		/* work waiting: do not sleep */
	int		 max_ms;	/* longest sleep */
};

int	loop_timeout_ms(const struct loop_timers *t, int64_t now);

/* Monotonic and wall clocks in ms (CLOCK_MONOTONIC, CLOCK_REALTIME). */
int64_t	loop_mono_ms(void);
int64_t	loop_mono_us(void);
int64_t	loop_wall_ms(void);

#endif /* CAAS_LOOP_H */
