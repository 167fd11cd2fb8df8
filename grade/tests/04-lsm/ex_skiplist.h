/*
 * ex_skiplist.h: skiplists for the tests of exercises skiplist_search and
 * skiplist_insert: keys "k00000", "k00002", ... (NUL-terminated, so that
 * the odd numbers fall between them), a comparator that counts its calls,
 * lists linked by the tests themselves (so that the search's tests do not
 * lean on the learner's insert), and a check of every level of a list by
 * walking its links (so that the insert's tests do not lean on the
 * learner's search).
 */
#ifndef KV_GRADE_EX_SKIPLIST_H
#define KV_GRADE_EX_SKIPLIST_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "skiplist.h"

#define EX_SL_KEY 16 /* "k00000" and its NUL, padded */

/* Comparisons made by ex_sl_cmp since the counter was last set to 0. */
extern long ex_sl_compares;
int ex_sl_cmp(const uint8_t *a, const uint8_t *b);
/* The key of number k ("k%05d"). */
void ex_sl_key(char out[EX_SL_KEY], int k);

/* A list of the keys 0, 2, ..., 2 (n - 1), linked by hand: node i has
 * height heights[i] (NULL: every node of height 1; the list's height is
 * the largest).  nodes[i] (if not NULL) gets node i.  The arena must be
 * initialised; it holds the nodes. */
void ex_sl_build(skiplist *sl, arena *a, int n, const int *heights, uint8_t **nodes);

/* Random heights as skiplist.h gives them (p = 1/4, at most 12), from seed. */
void ex_sl_heights(int *heights, int n, uint64_t seed);

/* The node after x on level i, loaded by hand (NULL at the end). */
uint8_t *ex_sl_next(const uint8_t *x, int level);

#endif
