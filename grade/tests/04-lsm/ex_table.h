/*
 * ex_table.h: table format v1 (stages/04-lsm/table_v1/table_v1_format.h) encoded by
 * the tests themselves, so that the tests of the lookup do not lean on
 * the learner's builder, and the builder's bytes have something to be
 * compared with.
 */
#ifndef KV_GRADE_EX_TABLE_H
#define KV_GRADE_EX_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "internal_key.h"
#include "table.h"

/* An entry: user key, sequence, type, value (ignored for a tombstone). */
typedef struct ex_entry {
    const char *key;
    size_t klen;             /* 0: strlen(key) */
    uint64_t seq;
    ikey_type type;
    const char *val;         /* NULL: empty */
    size_t vlen;             /* 0 with val: strlen(val) */
} ex_entry;

/* The internal key of e into out (at least klen + 8 bytes); its length. */
size_t ex_entry_ikey(const ex_entry *e, uint8_t *out);
size_t ex_entry_vlen(const ex_entry *e);

/* The bytes of a v1 table of e[0..n) (in THE ORDER), malloc'd, *size its
 * size; *offsets (if not NULL) gets a malloc'd array of the records'
 * offsets. */
uint8_t *ex_table_bytes(const ex_entry *e, size_t n, size_t *size, uint64_t **offsets);

/* Writes those bytes as dir/name; returns the path. */
const char *ex_table_file(const ex_entry *e, size_t n, const char *name);

/* The record head as a v1 table holds it: into out (at least 18 + klen +
 * 8 bytes), followed by the value if with_value; returns its length. */
size_t ex_record(const ex_entry *e, uint8_t *out, int with_value);

/* Entries for n keys "key%05d" of even number, `versions` versions each
 * (sequence numbers 1..n*versions, a tombstone every fourth), values of
 * 0..40 bytes, sorted; the strings live until ex_entries_free. */
ex_entry *ex_entries(int n, int versions);
void ex_entries_free(ex_entry *e, int count);

#endif
