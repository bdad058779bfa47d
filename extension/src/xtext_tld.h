/*
 * extension/src/xtext_tld.h — top-level domains as twitter-text's URL
 * extractor matches them, for xtext_url.c.  Internal to xtext.
 */
#ifndef CAAS_XTEXT_TLD_H
#define CAAS_XTEXT_TLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * xtext_tld_match returns the length in code points of the TLD that starts
 * at t[q] (a generic TLD if one matches, else a country TLD, else
 * "xn--[-0-9a-z]+"), looking at nothing at or past t[bound]; 0 if none does.
 */
size_t		xtext_tld_match(const uint32_t *t, size_t q, size_t bound);

#endif							/* CAAS_XTEXT_TLD_H */
