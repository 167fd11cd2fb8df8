/*
 * ex_level.h: what the tests of stage 06's exercises share: versions made
 * from tables named by their key ranges (vfiles with no table behind them,
 * through stages/06-leveled/tests/version_test_util.h), and file lists
 * written as the sorted numbers they hold, for messages a learner can
 * compare ("1 4 7").
 */
#ifndef KV_GRADE_EX_LEVEL_H
#define KV_GRADE_EX_LEVEL_H

#include <stddef.h>
#include <stdint.h>

#include "version.h"
#include "version_edit.h"

/* A table of a version to be made: its level, number, size and user keys
 * lo..hi. */
typedef struct ex_file {
    int level;
    uint64_t number, bytes;
    const char *lo, *hi;
} ex_file;

/* The version holding files f[0..n) (and no other). */
version *ex_version(const ex_file *f, size_t n);

/* The numbers of l, sorted ascending and space-separated, in buf. */
const char *ex_sorted_numbers(const vfile_list *l, char *buf, size_t cap);

/* The file of v numbered `number` (NULL if none). */
vfile *ex_find_file(const version *v, uint64_t number);

#endif
