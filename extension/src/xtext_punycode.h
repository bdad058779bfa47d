/*
 * extension/src/xtext_punycode.h — punycode lengths, for xtext_url.c.
 * Internal to xtext.
 */
#ifndef CAAS_XTEXT_PUNYCODE_H
#define CAAS_XTEXT_PUNYCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * xtext_punycode_length returns the length of the RFC 3492 encoding of the n
 * code points of s (without "xn--"), or, as soon as that is certain to exceed
 * limit, some value above limit.  Linear in n for a small limit: every
 * encoded code point adds at least one character.
 */
size_t		xtext_punycode_length(const uint32_t *s, size_t n, size_t limit);

#endif							/* CAAS_XTEXT_PUNYCODE_H */
