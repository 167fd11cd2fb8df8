/*
 * ex_block.h: blocks of table format v2 (block_builder.h's layout) made
 * by the tests themselves, so that the tests of one exercise do not lean
 * on the learner's answer to another, and internal keys to fill them.
 */
#ifndef KV_GRADE_EX_BLOCK_H
#define KV_GRADE_EX_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#define EX_KEY_MAX 64

/* Key i of a test block: the user key "key%03d" (i * 2, so that the odd
 * ones fall between), sequence 1, a put, as an internal key in out;
 * returns its length. */
size_t ex_ikey(uint8_t out[EX_KEY_MAX], int i);

/* The contents of a block holding keys[i] (lens[i] bytes) with values
 * "v<i>", a restart point every `interval` entries: entries with shared
 * prefixes, the restart array, its count.  *offsets (if not NULL) gets
 * each entry's offset.  Returns the size; out must hold 64 * n + 16. */
size_t ex_block(uint8_t *out, uint8_t keys[][EX_KEY_MAX], const size_t *lens, int n,
                int interval, uint32_t *offsets);

#endif
