/*
 * arena.c — a bump allocator for one HTTP request.
 *
 * Memory comes in blocks of at least ARENA_BLOCK_SIZE bytes (larger when
 * one allocation needs more); arena_alloc hands out pieces aligned for any
 * type (max_align_t) and never frees them one by one.  arena_destroy frees
 * every block at once.  An arena is used by one thread at a time (the
 * libmicrohttpd thread serving its connection), so there is no locking.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define ARENA_BLOCK_SIZE	4096
#define ARENA_ALIGN		alignof(max_align_t)

struct arena_block {
	struct arena_block	*next;
	size_t			 size;	/* usable bytes after the header */
	size_t			 used;
	alignas(max_align_t) unsigned char data[];
};

struct api_arena {
	struct arena_block	*head;	/* current block, then older ones */
};

/* arena_create returns a new empty arena, or NULL when out of memory. */
struct api_arena *
arena_create(void)
{
	return (calloc(1, sizeof(struct api_arena)));
}

/* arena_destroy frees the arena and everything allocated from it; NULL-safe. */
void
arena_destroy(struct api_arena *a)
{
	struct arena_block	*b, *next;

	if (a == NULL)
		return;
	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

static struct arena_block *
block_new(size_t min)
{
	struct arena_block	*b;
	size_t			 size = min < ARENA_BLOCK_SIZE ? ARENA_BLOCK_SIZE : min;

	if (size > SIZE_MAX - sizeof(*b))
		return (NULL);
	if ((b = malloc(sizeof(*b) + size)) == NULL)
		return (NULL);
	b->size = size;
	b->used = 0;
	b->next = NULL;
	return (b);
}

/*
 * arena_alloc returns n bytes aligned for any type, owned by the arena, or
 * NULL when out of memory.  n == 0 returns a valid unique pointer.
 */
void *
arena_alloc(struct api_arena *a, size_t n)
{
	struct arena_block	*b = a->head;
	size_t			 off;

	if (n > SIZE_MAX - ARENA_ALIGN)
		return (NULL);
	n = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (n == 0)
		n = ARENA_ALIGN;
	if (b == NULL || b->size - b->used < n) {
		if ((b = block_new(n)) == NULL)
			return (NULL);
		b->next = a->head;
		a->head = b;
	}
	off = b->used;
	b->used += n;
	return (b->data + off);
}

/*
 * arena_strndup copies at most n bytes of s, stopping at a NUL, into a new
 * NUL-terminated arena string.  Returns NULL when out of memory.
 */
char *
arena_strndup(struct api_arena *a, const char *s, size_t n)
{
	size_t	 len = strnlen(s, n);
	char	*p;

	if ((p = arena_alloc(a, len + 1)) == NULL)
		return (NULL);
	memcpy(p, s, len);
	p[len] = '\0';
	return (p);
}
