/*
 * auth.h — configuration of the auth endpoints (handlers/auth.c).
 */
#ifndef CAAS_AUTH_H
#define CAAS_AUTH_H

#include "auth_jwt.h"

struct auth_config {
	struct jwt_config	jwt;		/* access tokens */
	int			refresh_ttl_sec;
	int			login_per_ip;	/* attempts per window */
	int			login_per_email;
	int			login_window_sec;
	int			hash_concurrency; /* argon2 hashes at once */
};

/* Called once at start-up, before the server starts; borrows cfg. */
void	auth_configure(const struct auth_config *cfg);

#endif /* CAAS_AUTH_H */
