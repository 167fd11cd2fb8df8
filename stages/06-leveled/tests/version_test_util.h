/*
 * version_test_util.h: helpers for the tests of versions, the level
 * iterator and the picker: internal keys from strings, edits of tables
 * named by their key ranges, and versions made from them.
 */
#ifndef KV_LEVELED_VERSION_TEST_UTIL_H
#define KV_LEVELED_VERSION_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "version.h"
#include "version_edit.h"

/* The internal key (user key `ukey`, seq, IKEY_PUT) in buf (>= strlen + 8
 * bytes); returns its length. */
size_t vt_ikey(uint8_t *buf, const char *ukey, uint64_t seq);

/* Adds table `number` of `bytes` bytes to e at level, holding user keys
 * lo..hi (smallest lo@100, largest hi@1). */
void vt_add(version_edit *e, int level, uint64_t number, uint64_t bytes, const char *lo,
            const char *hi);

/* base + e (vfiles without tables); the test fails unless KV_OK.  e is
 * freed. */
version *vt_apply(const version *base, version_edit *e);

/* An empty version whose released file numbers vt_released lists. */
version *vt_empty(void);
extern uint64_t vt_released[64];
extern int vt_nreleased;

/* The numbers of a file list, "1 2 3", in buf (for CHECK messages). */
const char *vt_numbers(const vfile_list *l, char *buf, size_t cap);

/* The numbers of a level of v, the same way. */
const char *vt_level(const version *v, int level, char *buf, size_t cap);

#endif
