/*
 * stats_file.h: DIR/STATS, the counters a database keeps from one session
 * to the next: how many flushes and compactions it has made, the bytes
 * they wrote and read, and (stage 06) the same for each level, from which
 * kv_stats works out the write amplification so far.  What the tables
 * and levels hold needs no such file: kv_open finds it in the tables.
 *
 * Byte table (docs/formats.md, "STATS"):
 *
 *   offset  size  field
 *   0       16    file header (file_header.h): magic "KVS04STA", version 1
 *   16      4     count: how many counters follow, 0..STATS_FILE_MAX
 *   20      ...   count counters, each:
 *                   1   name length n, 1..STATS_FILE_NAME_MAX
 *                   n   name: bytes of a-z, 0-9, '.' and '_'
 *                   8   value, little-endian
 *   end-4   4     crc32c of every byte from offset 16 up to here, little-endian
 *
 * and the file ends right after the crc32c.
 *
 * Invariants:
 *   SF0. It is written only when a total changed (lsm_totals.c): a database
 *        that has never flushed has none.
 *   SF1. STATS is always whole: it is written as STATS.tmp, synced, and
 *        renamed over STATS (io.h's io_replace), so a crash leaves the old
 *        file or the new one (and maybe a STATS.tmp, which a writable
 *        kv_open removes).
 *   SF2. The counters are a record of the past, not data: a missing or
 *        damaged STATS never stops kv_open.  The totals then count from that
 *        open, and kv_stats says so and why (lsm_totals.c).  kv check reports
 *        a damaged STATS as damage (KV_ERR_CORRUPT, as for a damaged hint in
 *        stage 02); kv repair sets it aside.
 *   SF3. Only counters that are not zero are written, and a counter the
 *        file does not name is zero.  A name twice in one file is damage.  A
 *        name this build does not count is skipped on load: the file stays
 *        readable by a build that counts more or fewer things.
 *   SF4. stats_file_decode reads only inside [p, p + n) and names the file
 *        and the offset of the first wrong byte in every message.
 */
#ifndef KV_LSM_STATS_FILE_H
#define KV_LSM_STATS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

#define STATS_FILE_NAME "STATS"
#define STATS_FILE_TMP "STATS.tmp"
#define STATS_FILE_MAX 256      /* counters in one file */
#define STATS_FILE_NAME_MAX 47  /* bytes of one counter's name */

/* The counters a database keeps, each bound to the engine's field that
 * counts it (updated with __atomic builtins by whoever counts). */
typedef struct stats_counters {
    size_t n;
    struct {
        char name[STATS_FILE_NAME_MAX + 1];
        uint64_t *value;
    } c[STATS_FILE_MAX];
} stats_counters;

/* Binds name (printf-style) to *value.  REQUIRES: fewer than STATS_FILE_MAX
 * bound, and the name valid and new (a programming error otherwise, caught by
 * the tests: stats_file_encode refuses it). */
void stats_counters_add(stats_counters *s, uint64_t *value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The file's bytes for the counters' present values: KV_OK with *out (free
 * it) and *n, KV_ERR_NOMEM, or KV_ERR_INVALID for a bad binding. */
int stats_file_encode(const stats_counters *s, uint8_t **out, size_t *n);

/* Decodes [p, p + n), the bytes of the file at path (named in messages):
 * calls each(ctx, name, value, offset of the counter) for every counter.
 * KV_OK, or KV_ERR_CORRUPT naming path, the offset and what is wrong (and
 * then each may have been called for the counters before the damage). */
typedef void stats_file_each(void *ctx, const char *name, uint64_t value, size_t offset);
int stats_file_decode(const char *path, const uint8_t *p, size_t n, stats_file_each *each,
                      void *ctx);

/* Reads DIR/STATS into the bound counters, all of them or none: KV_OK with
 * *found = 1 (the counters named in the file are set, the others zeroed), KV_OK
 * with *found = 0 (no file), KV_ERR_CORRUPT (nothing set; kv_errmsg says
 * where), or an I/O error.  With writable, a leftover STATS.tmp is removed. */
int stats_file_load(const char *dir, const stats_counters *s, int writable, int *found);
/* The same, for a caller that has listed the directory: `listed` and
 * `tmp_listed` say whether STATS and STATS.tmp are there, so that an open
 * of a database without them makes no I/O call for them. */
int stats_file_load_listed(const char *dir, const stats_counters *s, int listed,
                           int tmp_listed, int writable, int *found);

/* Writes DIR/STATS with the counters' present values (SF1).  KV_OK or an
 * error naming the file. */
int stats_file_save(const char *dir, const stats_counters *s);

/* kv check's lines for STATS and STATS.tmp: KV_OK (intact or absent) or
 * KV_ERR_CORRUPT (SF2).  kv dump's: each counter with its offset. */
int stats_file_check(const char *dir, kv_line_fn line, void *ctx);
int stats_file_dump(const char *dir, kv_line_fn line, void *ctx);

/* kv repair's: a damaged STATS is copied to lost/ and removed (the next
 * kv_open counts the totals from there); *changed = 1 if it was.  KV_OK or
 * an error that left it in place. */
int stats_file_repair(const char *dir, kv_line_fn line, void *ctx, int *changed);

/* 1 if name is STATS or STATS.tmp (the tools list them as this file's). */
int stats_file_is_named(const char *name);

#endif
