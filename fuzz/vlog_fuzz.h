/*
 * vlog_fuzz.h: what the files of the value log's fuzz harness share
 * (vlog_fuzz.c, the entry, says what an input is and what it checks;
 * vlog_fuzz_files.c, vlog_fuzz_db.c and vlog_fuzz_load.c hold its modes).
 * Not an interface of the engine: the harness's own helpers, so that each
 * of its files holds one idea.
 *
 * Invariants: every byte of a span or a file the harness makes is
 * vlog_fuzz_byte of its file offset; the fixed file (VLOG_FUZZ_NAME in
 * vlog_fuzz_fixed, VLOG_FUZZ_FILE_SIZE bytes) is kept between inputs (made
 * again after an engine run), its bytes a function of their offsets
 * alone, so that no input sees another's; a broken promise aborts
 * (vlog_fuzz_check).
 */
#ifndef KV_FUZZ_VLOG_FUZZ_H
#define KV_FUZZ_VLOG_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "value_log.h"
#include "wal_format.h"

/* The value-log file of modes 1 and 3: four blocks and a bit, every byte a
 * function of its offset (vlog_fuzz_byte). */
#define VLOG_FUZZ_FILE_SIZE (4u * WAL_BLOCK_SIZE + 1000u)

/* Gathers and loads of longer values check the span's arithmetic only, or
 * only that the load fails no other way than KV_ERR_CORRUPT (speed: each
 * byte costs tens of instructions here; a value from near a block's end
 * crosses a boundary at any length). */
#define VLOG_FUZZ_GATHER_MAX (36u << 10)

/* The name every file of the harness has: file 1. */
#define VLOG_FUZZ_NAME "000000000001" VLOG_SUFFIX

/* Runs on every input in the replays, one in 64 when fuzzing. */
#define VLOG_FUZZ_ALLOC_RARELY 64

/* Names a mode-4 body lists, at most. */
#define VLOG_FUZZ_LISTED 8
/* A name, at most this long. */
#define VLOG_FUZZ_NAME_MAX 40

/* What value_store_describe said (its lines, and kv_inspect's): the
 * settings, the count of files and their live bytes, and the files'
 * numbers in order. */
typedef struct vlog_fuzz_said {
    uint64_t threshold, files, live;
    long gc_percent;
    uint64_t starts[VLOG_FUZZ_LISTED + 1];
    size_t nstarts;
    int ascending;
} vlog_fuzz_said;

/* ---- vlog_fuzz.c: the file layout's arithmetic ---- */

/* Aborts with what was broken and kv_errmsg() unless ok. */
void vlog_fuzz_check(int ok, const char *what);
/* The byte at file offset o of every span and file the harness makes. */
uint8_t vlog_fuzz_byte(uint64_t o);
/* Whether file offset o is inside a block's header. */
int vlog_fuzz_in_header(uint64_t o);

/* ---- vlog_fuzz_files.c: the harness's files and stores, modes 1 and 2 ---- */

/* The two directories in memory: the fixed file's, and the input's. */
extern const char vlog_fuzz_fixed[], vlog_fuzz_input[];
void vlog_fuzz_write(const char *dir, const char *name, const uint8_t *p, size_t n);
void vlog_fuzz_remove(const char *dir, const char *name);
/* Removes every file of dir but `keep` (NULL: every one). */
void vlog_fuzz_empty(const char *dir, const char *keep);
/* The fixed file's bytes, made once. */
const uint8_t *vlog_fuzz_image(void);
/* Both directories, the fixed file in one (made again after an engine run). */
void vlog_fuzz_dirs(void);
/* The end of an input: every file it left goes but the fixed file. */
void vlog_fuzz_tidy(void);
/* A copy of p[0, n) in an allocation of exactly its size (1 if empty). */
uint8_t *vlog_fuzz_copy(const uint8_t *p, size_t n);
/* value_store_open over dir into *vs (to be closed whatever it returns). */
int vlog_fuzz_store_try(const char *dir, uint64_t flushed, value_store **vs);
/* A store over dir, or NULL where a faulted I/O call failed its open. */
value_store *vlog_fuzz_store_open(const char *dir, uint64_t flushed, int faulted);
/* Whether rc is a failing call's error (with faulted), never KV_ERR_CORRUPT. */
int vlog_fuzz_failed(int rc, int faulted);
/* A line of value_store_describe's into the vlog_fuzz_said at ctx. */
void vlog_fuzz_said_line(void *ctx, const char *line);
/* io_fault installed, call number nth failing (0: none). */
void vlog_fuzz_fault(long nth);
/* Mode 1: the body as VLOGCOUNTS; again with call nth failing. */
void vlog_fuzz_counts_file(const uint8_t *p, size_t n);
void vlog_fuzz_counts_faulted(const uint8_t *p, size_t n, long nth);
/* Mode 2: the body as a value-log file (through the engine if engine and
 * the input is sampled); again with call nth failing. */
void vlog_fuzz_log_file(const uint8_t *p, size_t n, int engine);
void vlog_fuzz_log_file_faulted(const uint8_t *p, size_t n, long nth);

/* ---- vlog_fuzz_db.c: modes 6 and 4 ---- */

/* Mode 6: the body as a whole database's files. */
void vlog_fuzz_db(const uint8_t *p, size_t n);
/* Mode 4: a store opened over files the body names, with its settings. */
void vlog_fuzz_settings(const uint8_t *p, size_t n);
/* Whether name[0, n) may name a file of the directory: letters, digits,
 * '.', '-' and '_', not "." or "..", and not IDENTITY or LOCK (the
 * directory's own, fuzz_dbfile.h). */
int vlog_fuzz_good_name(const char *name, size_t n);

/* ---- vlog_fuzz_handover.c ---- */

/* Mode 4 with bit 7 of byte 5: the files kv_open hands a store and the
 * logs handed over after, then the same with each I/O call failing in
 * turn. */
void vlog_fuzz_handover(const uint8_t *p, size_t n);

/* ---- vlog_fuzz_load.c: mode 3 and the allocations refused ---- */

/* Mode 3: the body as a where, loaded through a store over the fixed file. */
void vlog_fuzz_store(const uint8_t *p, size_t n, int faulted);
/* Modes 2 and 3 again with each of their allocations refused in turn. */
void vlog_fuzz_alloc_faults(int mode, const uint8_t *p, size_t n, uint32_t seed);

#endif
