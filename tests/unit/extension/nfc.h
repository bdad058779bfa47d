/*
 * tests/unit/extension/nfc.h — NFC for test input, by PostgreSQL's own
 * unicode_normalize() (libpgcommon), the function the extension calls.
 */
#ifndef CAAS_TEST_NFC_H
#define CAAS_TEST_NFC_H

#include <stddef.h>
#include <stdint.h>

/*
 * test_nfc returns the NFC form of cps[0..n) in a new malloc'd array owned by
 * the caller (free() it), and its length in *nout; NULL if out of memory.
 * cps must not contain U+0000 (PostgreSQL strings cannot).
 */
uint32_t   *test_nfc(const uint32_t *cps, size_t n, size_t *nout);

#endif							/* CAAS_TEST_NFC_H */
