/*
 * tests/fakes/fake_state.c — the fake platform's memory: accepted posts
 * (with duplicate detection), modes, OAuth codes and tokens, Instagram
 * containers.
 *
 * One mutex guards everything; each function takes it for its own short
 * critical section, so callers never hold it (fake.h).  Posts live in a
 * growing array; duplicates are found through an open-addressing hash set
 * of (platform, author, text) over that array.  Containers are an array
 * indexed by their id minus CONTAINER_BASE, so a lookup is O(1) at any
 * volume.  Tokens and codes are short lists: a test issues a handful.
 *
 * Memory: every string is copied in and freed by state_free (and, except
 * tokens and codes, by state_reset); nothing is handed out but copies and
 * new JSON values the caller owns.
 *
 * Users: a token the fake issued belongs to the user it was issued for; a
 * pasted "tok-NAME[-…]" token belongs to NAME.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "fake.h"

#define CONTAINER_BASE	UINT64_C(17889455560000000)
#define MEDIA_BASE	UINT64_C(17920238420000000)
#define ID_BASE		UINT64_C(1880000000000000000)

struct post {
	enum fake_platform	 platform;
	char			*id;
	char			*text;
	char			*author;
	char			*token;
	int64_t			 received_us;
};

struct token {
	enum fake_platform	 platform;
	char			*value;
	char			 user[64];
	bool			 refresh;
	bool			 used;
	struct token		*next;
};

struct code {
	enum fake_platform	 platform;
	char			*value;
	char			 user[64];
	char			*challenge;
	char			*redirect_uri;
	bool			 used;
	struct code		*next;
};

struct container {
	char	*ig_user;
	char	*caption;
	char	*image_url;
	int	 polls_left;		/* IN_PROGRESS answers before FINISHED */
	int	 status;
};

static struct {
	pthread_mutex_t		 lock;
	struct post		*posts;
	size_t			 nposts, cap;
	uint32_t		*set;		/* post index + 1; 0 = empty */
	size_t			 setcap;
	uint64_t		 duplicates;
	uint64_t		 requests;
	uint64_t		 next_id;
	struct fake_mode	 modes[FAKE_NPLATFORMS];
	struct token		*tokens;
	struct code		*codes;
	struct container	*containers;
	size_t			 ncontainers, ccap;
	int			 in_progress_polls;
} st = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const char *const platform_names[] = { "x", "linkedin", "instagram" };

static char *
xstrdup(const char *s)
{
	char	*d = strdup(s != NULL ? s : "");

	if (d == NULL)
		abort();
	return (d);
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		abort();
	return (p);
}

int
state_init(void)
{
	st.setcap = 1024;
	st.set = calloc(st.setcap, sizeof(*st.set));
	return (st.set != NULL ? 0 : -1);
}

static void
free_posts(void)
{
	size_t	 i;

	for (i = 0; i < st.nposts; i++) {
		free(st.posts[i].id);
		free(st.posts[i].text);
		free(st.posts[i].author);
		free(st.posts[i].token);
	}
	st.nposts = 0;
	memset(st.set, 0, st.setcap * sizeof(*st.set));
	st.duplicates = 0;
	st.requests = 0;
}

static void
free_containers(void)
{
	size_t	 i;

	for (i = 0; i < st.ncontainers; i++) {
		free(st.containers[i].ig_user);
		free(st.containers[i].caption);
		free(st.containers[i].image_url);
	}
	st.ncontainers = 0;
}

void
state_reset(void)
{
	pthread_mutex_lock(&st.lock);
	free_posts();
	free_containers();
	memset(st.modes, 0, sizeof(st.modes));
	st.in_progress_polls = 0;
	pthread_mutex_unlock(&st.lock);
}

void
state_free(void)
{
	struct token	*t, *tn;
	struct code	*c, *cn;

	pthread_mutex_lock(&st.lock);
	free_posts();
	free_containers();
	free(st.posts);
	free(st.set);
	free(st.containers);
	for (t = st.tokens; t != NULL; t = tn) {
		tn = t->next;
		free(t->value);
		free(t);
	}
	for (c = st.codes; c != NULL; c = cn) {
		cn = c->next;
		free(c->value);
		free(c->challenge);
		free(c->redirect_uri);
		free(c);
	}
	st.tokens = NULL;
	st.codes = NULL;
	pthread_mutex_unlock(&st.lock);
}

/* ==== modes */

void
state_set_mode(int platform, const struct fake_mode *m)
{
	int	 i;

	pthread_mutex_lock(&st.lock);
	for (i = 0; i < FAKE_NPLATFORMS; i++)
		if (platform == -1 || platform == i)
			st.modes[i] = *m;
	pthread_mutex_unlock(&st.lock);
}

struct fake_mode
state_take_mode(enum fake_platform p, const char *path, bool publish)
{
	struct fake_mode	 m = { .kind = MODE_OK };
	struct fake_mode	*cur;

	if (p < 0 || p >= FAKE_NPLATFORMS)
		return (m);
	pthread_mutex_lock(&st.lock);
	cur = &st.modes[p];
	if (cur->kind != MODE_OK && cur->count != 0 &&
	    (cur->path_contains[0] == '\0' || strstr(path, cur->path_contains) != NULL) &&
	    (cur->kind != MODE_DUPLICATE || publish)) {
		m = *cur;
		if (cur->count > 0 && --cur->count == 0)
			cur->kind = MODE_OK;
	}
	pthread_mutex_unlock(&st.lock);
	return (m);
}

void
state_set_in_progress_polls(int n)
{
	pthread_mutex_lock(&st.lock);
	st.in_progress_polls = n;
	pthread_mutex_unlock(&st.lock);
}

/* ==== posts */

static uint64_t
post_hash(enum fake_platform p, const char *author, const char *text)
{
	uint64_t	 h = UINT64_C(1469598103934665603) ^ (uint64_t)p;
	const char	*s;

	for (s = author; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	h = (h ^ 0xff) * UINT64_C(1099511628211);
	for (s = text; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return (h);
}

static bool
same_post(const struct post *a, enum fake_platform p, const char *author,
    const char *text)
{
	return (a->platform == p && strcmp(a->author, author) == 0 &&
	    strcmp(a->text, text) == 0);
}

/* set_grow doubles the hash set and re-inserts first occurrences. */
static void
set_grow(void)
{
	size_t	 i, j, mask;

	free(st.set);
	st.setcap *= 2;
	if ((st.set = calloc(st.setcap, sizeof(*st.set))) == NULL)
		abort();
	mask = st.setcap - 1;
	for (i = 0; i < st.nposts; i++) {
		j = post_hash(st.posts[i].platform, st.posts[i].author,
		    st.posts[i].text) & mask;
		while (st.set[j] != 0 && !same_post(&st.posts[st.set[j] - 1],
		    st.posts[i].platform, st.posts[i].author, st.posts[i].text))
			j = (j + 1) & mask;
		if (st.set[j] == 0)
			st.set[j] = (uint32_t)i + 1;
	}
}

/* seen_before looks the post up, inserting index i when it is new. */
static bool
seen_before(enum fake_platform p, const char *author, const char *text, size_t i)
{
	size_t	 mask = st.setcap - 1;
	size_t	 j = post_hash(p, author, text) & mask;

	while (st.set[j] != 0) {
		if (same_post(&st.posts[st.set[j] - 1], p, author, text))
			return (true);
		j = (j + 1) & mask;
	}
	st.set[j] = (uint32_t)i + 1;
	return (false);
}

void
state_record_post(enum fake_platform p, const char *id, const char *text,
    const char *author, const char *token, int64_t received_us)
{
	struct post	*post;

	pthread_mutex_lock(&st.lock);
	if (st.nposts == st.cap) {
		st.cap = st.cap == 0 ? 1024 : st.cap * 2;
		st.posts = xrealloc(st.posts, st.cap * sizeof(*st.posts));
	}
	if ((st.nposts + 1) * 2 > st.setcap)
		set_grow();
	post = &st.posts[st.nposts];
	post->platform = p;
	post->id = xstrdup(id);
	post->text = xstrdup(text);
	post->author = xstrdup(author);
	post->token = xstrdup(token);
	post->received_us = received_us;
	if (seen_before(p, post->author, post->text, st.nposts))
		st.duplicates++;
	st.nposts++;
	pthread_mutex_unlock(&st.lock);
}

json_t *
state_posts_json(void)
{
	json_t		*arr = json_array();
	struct post	*p;
	size_t		 i;

	pthread_mutex_lock(&st.lock);
	for (i = 0; i < st.nposts; i++) {
		p = &st.posts[i];
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}",
		    "platform", platform_names[p->platform], "id", p->id,
		    "text", p->text, "author", p->author,
		    "received_us", (json_int_t)p->received_us, "token", p->token));
	}
	pthread_mutex_unlock(&st.lock);
	return (arr);
}

json_t *
state_stats_json(void)
{
	json_t	*j;

	pthread_mutex_lock(&st.lock);
	j = json_pack("{s:I, s:I, s:I}", "received", (json_int_t)st.nposts,
	    "duplicates", (json_int_t)st.duplicates,
	    "requests", (json_int_t)st.requests);
	pthread_mutex_unlock(&st.lock);
	return (j);
}

void
state_count_request(void)
{
	pthread_mutex_lock(&st.lock);
	st.requests++;
	pthread_mutex_unlock(&st.lock);
}

uint64_t
state_next_id(void)
{
	uint64_t	 id;

	pthread_mutex_lock(&st.lock);
	id = ID_BASE + ++st.next_id;
	pthread_mutex_unlock(&st.lock);
	return (id);
}

/* ==== tokens and codes */

static void
random_hex(char *out, size_t nbytes)
{
	unsigned char	 r[32];
	size_t		 i;

	if (nbytes > sizeof(r) || RAND_bytes(r, (int)nbytes) != 1)
		abort();
	for (i = 0; i < nbytes; i++)
		snprintf(out + i * 2, 3, "%02x", r[i]);
}

/* pasted_user: NAME of a "tok-NAME[-…]" token, false for other tokens. */
static bool
pasted_user(const char *token, char *user, size_t len)
{
	size_t	 n;

	if (strncmp(token, "tok-", 4) != 0 || token[4] == '\0')
		return (false);
	n = strcspn(token + 4, "-");
	snprintf(user, len, "%.*s", (int)(n < len - 1 ? n : len - 1), token + 4);
	return (true);
}

static struct token *
find_token(enum fake_platform p, const char *value, bool refresh)
{
	struct token	*t;

	for (t = st.tokens; t != NULL; t = t->next)
		if (t->platform == p && t->refresh == refresh &&
		    strcmp(t->value, value) == 0)
			return (t);
	return (NULL);
}

static struct token *
add_token(enum fake_platform p, const char *value, const char *user, bool refresh)
{
	struct token	*t = calloc(1, sizeof(*t));

	if (t == NULL)
		abort();
	t->platform = p;
	t->value = xstrdup(value);
	snprintf(t->user, sizeof(t->user), "%s", user);
	t->refresh = refresh;
	t->next = st.tokens;
	st.tokens = t;
	return (t);
}

bool
state_token_valid(enum fake_platform p, const char *token, char *user,
    size_t userlen)
{
	struct token	*t;
	bool		 ok;

	if (token == NULL || token[0] == '\0')
		return (false);
	if (pasted_user(token, user, userlen))
		return (true);
	pthread_mutex_lock(&st.lock);
	if ((ok = (t = find_token(p, token, false)) != NULL))
		snprintf(user, userlen, "%s", t->user);
	pthread_mutex_unlock(&st.lock);
	return (ok);
}

int
state_issue_tokens(enum fake_platform p, const char *user, char *access,
    char *refresh, size_t len)
{
	char	 hex[65];

	if (len < 96)
		return (-1);
	random_hex(hex, 20);
	snprintf(access, len, "fake-%s-access-%s", platform_names[p], hex);
	random_hex(hex, 20);
	snprintf(refresh, len, "fake-%s-refresh-%s", platform_names[p], hex);
	pthread_mutex_lock(&st.lock);
	add_token(p, access, user, false);
	add_token(p, refresh, user, true);
	pthread_mutex_unlock(&st.lock);
	return (0);
}

int
state_use_refresh(enum fake_platform p, const char *token, char *user,
    size_t userlen)
{
	struct token	*t;
	int		 rc = -1;
	bool		 pasted;

	if (token == NULL || token[0] == '\0')
		return (-1);
	pasted = pasted_user(token, user, userlen);
	pthread_mutex_lock(&st.lock);
	/* A pasted refresh token is remembered once used, so reuse is caught. */
	if ((t = find_token(p, token, true)) == NULL && pasted)
		t = add_token(p, token, user, true);
	if (t != NULL) {
		rc = t->used ? -2 : 0;
		t->used = true;
		snprintf(user, userlen, "%s", t->user);
	}
	pthread_mutex_unlock(&st.lock);
	return (rc);
}

int
state_new_code(enum fake_platform p, const char *user, const char *challenge,
    const char *redirect_uri, char *code, size_t len)
{
	struct code	*c;
	char		 hex[33];

	if (len < 48 || (c = calloc(1, sizeof(*c))) == NULL)
		return (-1);
	random_hex(hex, 16);
	snprintf(code, len, "code-%s", hex);
	c->platform = p;
	c->value = xstrdup(code);
	snprintf(c->user, sizeof(c->user), "%s", user);
	c->challenge = xstrdup(challenge);
	c->redirect_uri = xstrdup(redirect_uri);
	pthread_mutex_lock(&st.lock);
	c->next = st.codes;
	st.codes = c;
	pthread_mutex_unlock(&st.lock);
	return (0);
}

/* pkce_s256 writes BASE64URL(SHA256(verifier)) without padding. */
static void
pkce_s256(const char *verifier, char out[64])
{
	static const char	 tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char		 d[SHA256_DIGEST_LENGTH];
	size_t			 i, o = 0;
	uint32_t		 v;

	SHA256((const unsigned char *)verifier, strlen(verifier), d);
	for (i = 0; i < sizeof(d); i += 3) {
		v = (uint32_t)d[i] << 16 | (i + 1 < sizeof(d) ? (uint32_t)d[i + 1] << 8 : 0) |
		    (i + 2 < sizeof(d) ? d[i + 2] : 0);
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		if (i + 1 < sizeof(d))
			out[o++] = tab[v >> 6 & 63];
		if (i + 2 < sizeof(d))
			out[o++] = tab[v & 63];
	}
	out[o] = '\0';
}

int
state_use_code(enum fake_platform p, const char *code, const char *verifier,
    const char *redirect_uri, char *user, size_t userlen)
{
	struct code	*c;
	char		 s256[64];
	int		 rc = -1;

	if (code == NULL)
		return (-1);
	pthread_mutex_lock(&st.lock);
	for (c = st.codes; c != NULL; c = c->next)
		if (c->platform == p && strcmp(c->value, code) == 0)
			break;
	if (c != NULL && !c->used) {
		c->used = true;		/* single use, even when refused */
		rc = 0;
		if (c->challenge[0] != '\0') {
			pkce_s256(verifier != NULL ? verifier : "", s256);
			if (verifier == NULL || strcmp(s256, c->challenge) != 0)
				rc = -2;
		}
		if (rc == 0 && c->redirect_uri[0] != '\0' && (redirect_uri == NULL ||
		    strcmp(redirect_uri, c->redirect_uri) != 0))
			rc = -3;
		snprintf(user, userlen, "%s", c->user);
	}
	pthread_mutex_unlock(&st.lock);
	return (rc);
}

/* ==== Instagram containers */

int
state_container_new(const char *ig_user, const char *caption,
    const char *image_url, char *id, size_t len)
{
	struct container	*c;

	pthread_mutex_lock(&st.lock);
	if (st.ncontainers == st.ccap) {
		st.ccap = st.ccap == 0 ? 256 : st.ccap * 2;
		st.containers = xrealloc(st.containers, st.ccap * sizeof(*c));
	}
	c = &st.containers[st.ncontainers];
	c->ig_user = xstrdup(ig_user);
	c->caption = xstrdup(caption);
	c->image_url = xstrdup(image_url);
	c->polls_left = st.in_progress_polls;
	c->status = c->polls_left > 0 ? CONTAINER_IN_PROGRESS : CONTAINER_FINISHED;
	snprintf(id, len, "%" PRIu64, CONTAINER_BASE + st.ncontainers);
	st.ncontainers++;
	pthread_mutex_unlock(&st.lock);
	return (0);
}

/* container_index: the index of container id, or -1. */
static long
id_index(const char *id, uint64_t base, size_t n)
{
	char		*end;
	uint64_t	 v;

	if (id == NULL || *id < '0' || *id > '9')
		return (-1);
	v = strtoull(id, &end, 10);
	if (*end != '\0' || v < base || v - base >= n)
		return (-1);
	return ((long)(v - base));
}

int
state_container_status(const char *id)
{
	struct container	*c;
	long			 i;
	int			 s = -1;

	pthread_mutex_lock(&st.lock);
	if ((i = id_index(id, CONTAINER_BASE, st.ncontainers)) >= 0) {
		c = &st.containers[i];
		s = c->status;
		if (c->status == CONTAINER_IN_PROGRESS && --c->polls_left <= 0)
			c->status = CONTAINER_FINISHED;
	}
	pthread_mutex_unlock(&st.lock);
	return (s);
}

int
state_container_publish(const char *id, const char *ig_user, const char *token,
    int64_t received_us, char *media, size_t len)
{
	struct container	*c;
	char			*caption = NULL;
	long			 i;
	int			 rc;

	pthread_mutex_lock(&st.lock);
	if ((i = id_index(id, CONTAINER_BASE, st.ncontainers)) < 0 ||
	    strcmp(st.containers[i].ig_user, ig_user) != 0)
		rc = -1;
	else if ((c = &st.containers[i])->status == CONTAINER_PUBLISHED)
		rc = -3;
	else if (c->status != CONTAINER_FINISHED)
		rc = -2;
	else {
		c->status = CONTAINER_PUBLISHED;
		snprintf(media, len, "%" PRIu64, MEDIA_BASE + (uint64_t)i);
		caption = xstrdup(c->caption);
		rc = 0;
	}
	pthread_mutex_unlock(&st.lock);
	if (rc == 0) {
		state_record_post(FAKE_INSTAGRAM, media, caption, ig_user, token,
		    received_us);
		free(caption);
	}
	return (rc);
}

bool
state_media_exists(const char *id)
{
	bool	 ok;
	long	 i;

	pthread_mutex_lock(&st.lock);
	ok = (i = id_index(id, MEDIA_BASE, st.ncontainers)) >= 0 &&
	    st.containers[i].status == CONTAINER_PUBLISHED;
	pthread_mutex_unlock(&st.lock);
	return (ok);
}
