/*
 * tests/fakes/fake.h — the fake platform server's shared declarations:
 * the in-memory store (fake_state.c), the platform endpoints
 * (fake_endpoints.c) and the replies they build (fake_platform.c).
 *
 * Vocabulary: a "call" is one HTTP request as the endpoints see it,
 * complete with its body; a "reply" is what will be sent back (or not:
 * the modes "hang" and "close").  A "mode" is the misbehaviour a test
 * asks of one platform for its next requests.
 *
 * Locking: every function of fake_state.c takes the store's one mutex
 * itself; callers never hold it.  Strings handed to the store are copied.
 */
#ifndef CAAS_FAKE_H
#define CAAS_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <microhttpd.h>

#include "fake_common.h"

enum fake_platform {
	FAKE_X,
	FAKE_LINKEDIN,
	FAKE_INSTAGRAM,
	FAKE_NPLATFORMS,
	FAKE_NONE = -1
};

enum fake_mode_kind {
	MODE_OK,
	MODE_500,
	MODE_503,
	MODE_429,
	MODE_GARBAGE,
	MODE_HANG,
	MODE_CLOSE,
	MODE_401,
	MODE_DUPLICATE,
	MODE_SLOW
};

struct fake_mode {
	enum fake_mode_kind	 kind;
	int			 count;		/* requests left; -1 = until changed */
	int			 retry_after;	/* seconds; 0 = not given */
	char			 path_contains[64];	/* "" = every request */
};

struct fake_call {
	struct MHD_Connection	*conn;
	const char		*method;
	const char		*path;
	const char		*body;		/* NUL-terminated */
	size_t			 body_len;
	int64_t			 received_us;
	enum fake_platform	 platform;
	bool			 publish;	/* creates a post (tweet, post, media_publish) */
	char			 token_buf[4096];	/* call_bearer's copy of a form token */
};

/* ---- platform-shaped replies (fake_platform.c; the rest: fake_common.h) */
/* Platform-shaped errors: X problem, LinkedIn message, Graph error object. */
void	reply_error(struct fc_reply *, enum fake_platform, unsigned int status,
	    const char *message);
void	reply_graph_error(struct fc_reply *, unsigned int status, int code,
	    int subcode, const char *message);
void	reply_oauth_error(struct fc_reply *, unsigned int status,
	    const char *error, const char *description);

/* ---- request helpers (fake_platform.c) */
const char *call_arg(const struct fake_call *, const char *name);	/* query */
const char *call_header(const struct fake_call *, const char *name);
/* call_bearer: the token from "Authorization: Bearer", or access_token. */
const char *call_bearer(const struct fake_call *);
/* call_form: a form field of an x-www-form-urlencoded body, decoded; free(). */
char	*call_form(const struct fake_call *, const char *name);

/* ---- endpoints (fake_endpoints.c) */
enum fake_platform endpoint_platform(const char *path);
bool	endpoint_is_publish(const char *method, const char *path);
/* endpoint_dispatch answers a platform request normally (mode "ok"). */
void	endpoint_dispatch(struct fake_call *, struct fc_reply *);
/* endpoint_authorize: GET /_fake/authorize (the user's consent, as JSON). */
void	endpoint_fake_authorize(struct fake_call *, struct fc_reply *);

/* ---- store (fake_state.c) */
int	state_init(void);
void	state_free(void);
void	state_reset(void);
void	state_set_mode(int platform, const struct fake_mode *);	/* -1 = all */
/* state_take_mode: the mode for this request, consuming one of its count. */
struct fake_mode state_take_mode(enum fake_platform, const char *path, bool publish);
/* state_record_post stores an accepted post, counting duplicates. */
void	state_record_post(enum fake_platform, const char *id, const char *text,
	    const char *author, const char *token, int64_t received_us);
json_t	*state_posts_json(void);
json_t	*state_stats_json(void);
void	state_count_request(void);
uint64_t state_next_id(void);

/* Tokens and codes.  user is the account's name ("alice"). */
bool	state_token_valid(enum fake_platform, const char *token, char *user,
	    size_t userlen);
int	state_issue_tokens(enum fake_platform, const char *user, char *access,
	    char *refresh, size_t len);
/* state_use_refresh: 0 ok (user set), -1 unknown, -2 already used. */
int	state_use_refresh(enum fake_platform, const char *token, char *user,
	    size_t userlen);
int	state_new_code(enum fake_platform, const char *user, const char *challenge,
	    const char *redirect_uri, char *code, size_t len);
/* state_use_code: 0 ok, -1 unknown/used, -2 PKCE mismatch, -3 redirect mismatch. */
int	state_use_code(enum fake_platform, const char *code, const char *verifier,
	    const char *redirect_uri, char *user, size_t userlen);

/* Instagram containers. */
enum fake_container_status {
	CONTAINER_IN_PROGRESS, CONTAINER_FINISHED, CONTAINER_PUBLISHED,
	CONTAINER_ERROR
};
int	state_container_new(const char *ig_user, const char *caption,
	    const char *image_url, char *id, size_t len);
/* state_container_status: -1 when unknown; a poll moves IN_PROGRESS on. */
int	state_container_status(const char *id);
/* state_container_publish: 0 ok (media set), -1 unknown, -2 not ready, -3 published. */
int	state_container_publish(const char *id, const char *ig_user, const char *token,
	    int64_t received_us, char *media, size_t len);
/* state_media_exists: true for a media id state_container_publish made. */
bool	state_media_exists(const char *id);
void	state_set_in_progress_polls(int);

/* ---- suspended connections (fake_platform.c) */
extern FILE	*fake_log;

#endif /* CAAS_FAKE_H */
