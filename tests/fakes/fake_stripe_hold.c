/*
 * tests/fakes/fake_stripe_hold.c — the fake Stripe API's requests held
 * unanswered (the failure "hang"): a held request's connection is
 * suspended and listed; one watcher thread polls the listed sockets
 * (POLLRDHUP) and closes a request whose client went away; reset and
 * shutdown close them all.  Closing means: resume the connection with
 * closing set, so that the handler answers MHD_NO and libmicrohttpd drops
 * it.  An eventfd wakes the watcher when the list changes.
 *
 * Locking: one mutex for the list, taken before libmicrohttpd's own
 * (MHD_suspend/resume_connection are called under it), never together
 * with the server's store lock.
 *
 * Memory: the list links struct fs_hold values embedded in the server's
 * requests; it owns none of them.  A request stays listed, so alive, until
 * it is resumed: libmicrohttpd frees nothing suspended.  fs_hold_stop
 * resumes every one before the daemon stops.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <microhttpd.h>

#include "fake_stripe.h"

static struct {
	pthread_mutex_t	 lock;
	struct fs_hold	*head;
	int		 efd;
	bool		 stopping;
	uint64_t	 serial;
	pthread_t	 watcher;
} held = { .lock = PTHREAD_MUTEX_INITIALIZER, .efd = -1 };

static void
wake_watcher(void)
{
	uint64_t	 one = 1;

	if (write(held.efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		perror("fake_stripe: eventfd");
}

void
fs_hold_add(struct fs_hold *h, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	pthread_mutex_lock(&held.lock);
	h->conn = conn;
	h->fd = ci != NULL ? ci->connect_fd : -1;
	h->serial = ++held.serial;
	h->held = true;
	h->closing = false;
	MHD_suspend_connection(conn);
	h->next = held.head;
	held.head = h;
	pthread_mutex_unlock(&held.lock);
	wake_watcher();
}

/* unhold_locked unlinks *pp and resumes it, to be closed.  Caller holds the lock. */
static void
unhold_locked(struct fs_hold **pp)
{
	struct fs_hold	*h = *pp;

	*pp = h->next;
	h->next = NULL;
	h->held = false;
	h->closing = true;
	MHD_resume_connection(h->conn);
}

/*
 * fs_hold_release_all closes every held request, then wakes the watcher:
 * while it sits in poll(2) on a socket, closing that socket sends nothing.
 */
void
fs_hold_release_all(void)
{
	pthread_mutex_lock(&held.lock);
	while (held.head != NULL)
		unhold_locked(&held.head);
	pthread_mutex_unlock(&held.lock);
	wake_watcher();
}

int64_t
fs_hold_count(void)
{
	struct fs_hold	*h;
	int64_t		 n = 0;

	pthread_mutex_lock(&held.lock);
	for (h = held.head; h != NULL; h = h->next)
		n++;
	pthread_mutex_unlock(&held.lock);
	return (n);
}

/* poll_set fills pfd/serial (grown as needed) with the eventfd and the held sockets. */
static size_t
poll_set(struct pollfd **pfd, uint64_t **serial, size_t *cap)
{
	struct fs_hold	*h;
	size_t		 n = 1;

	for (h = held.head; h != NULL; h = h->next)
		n++;
	if (n > *cap) {
		*cap = n * 2;
		if ((*pfd = realloc(*pfd, *cap * sizeof(**pfd))) == NULL ||
		    (*serial = realloc(*serial, *cap * sizeof(**serial))) == NULL)
			abort();
	}
	(*pfd)[0].fd = held.efd;
	(*pfd)[0].events = POLLIN;
	n = 1;
	for (h = held.head; h != NULL; h = h->next) {
		if (h->fd < 0)
			continue;
		(*pfd)[n].fd = h->fd;
		(*pfd)[n].events = POLLRDHUP;
		(*serial)[n++] = h->serial;
	}
	return (n);
}

/*
 * watcher_main closes held requests whose client hung up.  Blocks in
 * poll(2) until a socket event or a wake-up.
 */
static void *
watcher_main(void *unused)
{
	struct pollfd	*pfd = NULL;
	uint64_t	*serial = NULL, v;
	size_t		 cap = 0, n, i;
	struct fs_hold	**pp;

	(void)unused;
	pthread_mutex_lock(&held.lock);
	while (!held.stopping) {
		n = poll_set(&pfd, &serial, &cap);
		pthread_mutex_unlock(&held.lock);
		if (poll(pfd, n, -1) > 0 && (pfd[0].revents & POLLIN) != 0 &&
		    read(held.efd, &v, sizeof(v)) == -1 && errno != EAGAIN)
			perror("fake_stripe: eventfd");
		pthread_mutex_lock(&held.lock);
		/* A listed request still owns its socket: the event is its own. */
		for (i = 1; i < n; i++) {
			if ((pfd[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0)
				continue;
			for (pp = &held.head; *pp != NULL; pp = &(*pp)->next)
				if ((*pp)->serial == serial[i]) {
					unhold_locked(pp);
					break;
				}
		}
	}
	pthread_mutex_unlock(&held.lock);
	free(pfd);
	free(serial);
	return (NULL);
}

bool
fs_hold_start(void)
{
	if ((held.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return (false);
	if ((errno = pthread_create(&held.watcher, NULL, watcher_main, NULL)) != 0)
		return (false);
	return (true);
}

void
fs_hold_stop(void)
{
	pthread_mutex_lock(&held.lock);
	held.stopping = true;
	pthread_mutex_unlock(&held.lock);
	wake_watcher();
	pthread_join(held.watcher, NULL);
	fs_hold_release_all();
}

void
fs_hold_free(void)
{
	if (held.efd != -1)
		close(held.efd);
	held.efd = -1;
}
