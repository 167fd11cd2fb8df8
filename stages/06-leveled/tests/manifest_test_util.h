/*
 * manifest_test_util.h: helpers for the tests of stage 06's manifest:
 * internal keys and edits made from short strings, files written and read
 * whole, and a manifest's state as text (so two states compare with one
 * strcmp and a failure shows both).
 */
#ifndef KV_MANIFEST_TEST_UTIL_H
#define KV_MANIFEST_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "manifest_state.h"
#include "version_edit.h"

/* The internal key (user, seq, put) into out (room for strlen(user) + 8);
 * returns its length. */
size_t mt_ikey(uint8_t *out, const char *user, uint64_t seq);

/* Adds table `number` to `level`, its keys from ("lo", 9) to ("hi", 1),
 * file_bytes = 1000 * number, entries = number. */
void mt_add(version_edit *e, int level, uint64_t number, const char *lo, const char *hi);
/* Sets all three counters: a snapshot's. */
void mt_counters(version_edit *e, uint64_t log_seq, uint64_t next_file, uint64_t last_seq);
/* Sets the level's compact pointer to ("key", 5). */
void mt_pointer(version_edit *e, int level, const char *key);

/* The edit's encoding (malloc'd) and its length. */
uint8_t *mt_encode(const version_edit *e, size_t *len);

/* A manifest's bytes in memory, as manifest_create and manifest_append
 * write them: header, then each edit as a record.  ends[i] (if not NULL)
 * gets where record i ends.  malloc'd. */
uint8_t *mt_manifest_bytes(const version_edit *const *edits, size_t n, size_t *len,
                           uint64_t *ends);

/* The state as text: every counter, pointer and table, one per line. */
typedef struct mt_text {
    char s[1 << 18];
    size_t len;
} mt_text;
void mt_state_text(const manifest_state *st, mt_text *out);
/* An edit as text (version_edit_describe). */
void mt_edit_text(const version_edit *e, mt_text *out);

/* A history: a new database's snapshot, two flushes, a compaction of
 * both into L1, a trivial move of one L1 table to L2; and the state it
 * replays to, as text. */
#define MT_HISTORY 5
void mt_history(version_edit h[MT_HISTORY]);
void mt_history_free(version_edit h[MT_HISTORY]);
extern const char *const mt_history_text;
/* dir/MANIFEST-000001 made live with h[0], then h[1..n) appended; the
 * writer, still open. */
manifest_writer *mt_write_history(const char *dir, const version_edit *h, size_t n);
/* Pointers to h[0..n) (n <= 64), in storage reused by the next call. */
const version_edit *const *mt_edit_ptrs(const version_edit *h, size_t n);
/* The state the bytes [0, n) replay to (KV_OK required), as text. */
void mt_replayed_text(const uint8_t *p, size_t n, mt_text *t);
/* The state manifest_recover reads from dir (KV_OK required), as text. */
void mt_recovered_text(const char *dir, mt_text *t);

/* Whole files. */
uint8_t *mt_read_file(const char *path, size_t *n);
void mt_write_file(const char *path, const uint8_t *p, size_t n);

#endif
