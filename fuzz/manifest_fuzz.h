/*
 * manifest_fuzz.h: what the two files of the manifest fuzz harness share
 * (manifest_fuzz.c, the entry, which says what an input is and what it
 * checks; manifest_fuzz_mutate.c, its mutator).  Not an interface of the
 * engine: the harness's own helpers.
 *
 * Invariants: a broken promise aborts (manifest_fuzz_check); a manifest's
 * checksums are made right in place, its length kept
 * (manifest_fuzz_repair).
 */
#ifndef KV_FUZZ_MANIFEST_FUZZ_H
#define KV_FUZZ_MANIFEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Aborts with what was broken and kv_errmsg() unless ok. */
void manifest_fuzz_check(int ok, const char *what);
/* Makes the checksums of the manifest [m, m + n) right, in place (the file
 * header's, and every fragment's the reader's walk finds); returns whether
 * a byte changed. */
int manifest_fuzz_repair(uint8_t *m, size_t n);
/* level_rebuild over two copies of table [table, table + n), then again
 * with each of its allocations refused in turn (manifest_fuzz_rebuild.c). */
void manifest_fuzz_rebuild(const uint8_t *table, size_t n);

#endif
