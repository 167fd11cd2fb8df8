/*
 * value_log.h: stage 08's value store (stages/04-lsm/engine/value_store.h):
 * keys apart from values.  A put's value of at least value_threshold bytes
 * (512 by default) is not copied into the tables: it stays in the
 * write-ahead log that took it, and the table entry (an IKEY_PUT_ELSEWHERE)
 * holds where.  A log whose writes are all in tables is not removed but
 * renamed into a value-log file, from which reads come, until garbage
 * collection empties and removes it.  WiscKey (FAST '16) made its value
 * log its write-ahead log the same way; RocksDB's BlobDB writes its blob
 * files at flush instead (docs/08-vlog.md compares them).
 *
 * Files (the log's name: the sequence number of its first write):
 *   000000000101.log     a write-ahead log (lsm_wal.h), the engine's
 *   000000000101.vlog    the same bytes once the tables hold all its
 *                        writes: the value log's; nothing is rewritten
 *   VLOGCOUNTS           what the value log knew of its files when the
 *                        database was last closed (vlog_counts.c)
 *
 * Where a value is (the table value of an IKEY_PUT_ELSEWHERE; vlog_where.c):
 *   file     varint64   the log's name (its first sequence number)
 *   offset   varint64   the file offset of the value's first byte
 *   length   varint32   the value's bytes, 1 .. 64 MiB
 *   crc      4 bytes    crc32c of the value, little-endian
 * The value's bytes sit in the log as the record's payload put them, cut
 * by the 7-byte header of each 32 KiB block they cross (wal_format.h: a
 * fragment that is not a record's last fills its block), so one read of
 * length + 7 per boundary brings them all (vlog_span).
 *
 * Invariants:
 *   V1. An IKEY_PUT_ELSEWHERE a reader can reach names a file that exists,
 *       under one of its two names, until no reader can reach it: the
 *       flush writes its table only after the log was sealed (synced), a
 *       log is renamed, never rewritten, and a file is removed only once
 *       every value still read in it was written again (a new put), that
 *       write is in tables, every snapshot is at or past it, and no pin is
 *       older (the collection, vlog_gc.c).
 *   V2. A file's garbage is its value bytes less its live bytes, as far
 *       as the store knows.  Its value bytes are every value of at least
 *       the threshold it holds for writes the tables took: a value written
 *       over in the same memtable was never pointed at, and is garbage
 *       from the start.  Its live bytes are those tables point at: counted
 *       at the flush, lowered when a merge drops an entry (as BlobDB counts
 *       its garbage), measured by a job when unknown (after a crash) or
 *       when an idle engine counts again.  A count never says less is live
 *       than is (a value a job found dead, whose entry a merge drops later,
 *       is taken off `undropped`, not off the live bytes).  The rest of the
 *       file (headers, keys, values kept in tables) is never garbage:
 *       emptying the file would write it again.  The counts decide which
 *       file to collect, never whether a value is read: each value is
 *       checked against the tables when its file is emptied.
 *   V3. Loads read through a pin (value_store_pin): the epoch scheme of
 *       vlog_store.c never lets a file go while a pin older than its end
 *       is held.
 */
#ifndef KV_VALUE_LOG_H
#define KV_VALUE_LOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "file_cache.h"
#include "io.h"
#include "kv.h"
#include "value_store.h"

#define VLOG_DEFAULT_THRESHOLD 512u
#define VLOG_DEFAULT_GC_PERCENT 50
#define VLOG_MAX_VALUE (64u << 20)      /* batch.h's bound on a value */
#define VLOG_WHERE_MAX 29u              /* 10 + 10 + 5 + 4 */
/* The memtable's size unless kv_options.memtable_bytes says otherwise
 * (the engine's default is 4 MiB; RocksDB's write buffer is 64 MiB). */
#define VLOG_MEMTABLE_BYTES (64u << 20)
#define VLOG_SUFFIX ".vlog"
#define VLOG_COUNTS_NAME "VLOGCOUNTS"

/* ---- where a value is (vlog_where.c) ---------------------------------------- */

typedef struct vlog_where {
    uint64_t file;
    uint64_t offset;
    uint32_t len;
    uint32_t crc;
} vlog_where;

/* Writes w at out (VLOG_WHERE_MAX bytes of room); returns its length. */
size_t vlog_where_encode(uint8_t *out, const vlog_where *w);
/* Decodes the bytes [p, p + n): 0, or -1 with *why (not a place a log can
 * hold a value: a short or long field, an offset inside a block's header
 * or the file header, a length of 0 or past the bound). */
int    vlog_where_decode(const uint8_t *p, size_t n, vlog_where *w, const char **why);
/* The file bytes from w->offset that hold the value: its length and 7 per
 * block boundary it crosses. */
uint64_t vlog_span(const vlog_where *w);
/* Gathers the value from span (vlog_span bytes read at w->offset) into out
 * (w->len bytes; it may be span itself), skipping the block headers. */
void   vlog_gather(const vlog_where *w, const uint8_t *span, uint8_t *out);
/* The file offset of byte i of a record whose first fragment starts at
 * rec_start (wal_format.h): where a flush finds a value's place. */
uint64_t vlog_payload_offset(uint64_t rec_start, uint64_t i);
/* "000000000101.vlog", or ".log" (log 1) */
void   vlog_file_name(char *out, size_t cap, uint64_t file, int log);
/* 1 with *start if name is a value-log file's, exactly as vlog_file_name
 * writes it (a number from 1; "0000000000101.vlog", with a zero more, is
 * not: reads would look for the file under the other name); else 0. */
int    vlog_name_parse(const char *name, uint64_t *start);

/* ---- the store (vlog_store.c) ------------------------------------------------ */

/* What the store knows of one file. */
typedef enum vlog_state {
    VLOG_LIVE,          /* read; a candidate for a job */
    VLOG_BUSY,          /* a job reads it */
    VLOG_EMPTIED,       /* its values still read were written again, before
                           moved_seq; removed once no reader can need it */
} vlog_state;

typedef struct vlog_file {
    uint64_t start;         /* its name */
    int is_log;             /* still named .log (not renamed yet) */
    int adopted;            /* the engine handed it over: no longer a log
                               it may append to or remove */
    vlog_state state;
    uint64_t bytes;         /* its size */
    int counted;            /* live_bytes known (V2) */
    int damaged;            /* a job found it is not a whole log: left alone
                               (kv check says what is wrong) */
    uint64_t value_bytes;   /* the values of at least the threshold it holds
                               for writes in tables (V2) */
    uint64_t live_bytes;    /* of those, what tables still point at */
    uint64_t undropped;     /* of the others, what a job found dead but a
                               merge may still drop (V2): a drop takes it
                               from here first, so live_bytes is never
                               counted below what is live */
    uint64_t counted_at;    /* the last write when live_bytes was counted
                               (a flush or a job): a count older than the
                               last write may be stale (value_store_pick_recount) */
    uint64_t moved_seq;     /* EMPTIED: the last write when it was emptied */
    uint64_t retired;       /* EMPTIED: the epoch it was emptied at */
} vlog_file;

struct value_store {
    char *dir;
    int read_only;
    uint64_t flushed;       /* every write up to it is in tables */
    size_t threshold;
    int gc_percent;
    pthread_mutex_t lock;   /* the fields below, and each file's */
    vlog_file **files;      /* by start, ascending */
    size_t nfiles, cap;
    file_cache *fc;         /* the files open for reads, by start (its own
                               lock) */
    pthread_rwlock_t names_lock; /* a read finding a file by name holds it to
                               read, a rename to write: no read sees the
                               file under neither name */
    /* Pins (V3): the epoch, and the pins held in each parity of it. */
    _Atomic uint64_t epoch;
    _Atomic uint64_t pins[2];
    /* Whether writes should slow down (value_store_admit), and how often
     * they did. */
    atomic_int behind;
    _Atomic uint64_t slowdowns;
    _Atomic uint64_t ahead_batches, ahead_values; /* value_store_load_many */
    _Atomic int64_t ahead_held; /* files kept held in value_bufs now, for
                               values value_store_read_ahead left (0 once
                               every window is closed) */
    /* What the last value_store_collect was told (kv_stats: why emptied
     * files wait). */
    uint64_t seen_oldest, seen_durable;
    /* Counted this session (kv_stats). */
    uint64_t jobs, measured, emptied, moved, moved_bytes, dead, removed, removed_bytes;
    uint64_t flush_values, flush_value_bytes, flush_inline, flush_mismatches;
};

/* The file `start`, or NULL.  REQUIRES: lock held. */
vlog_file *vlog_find(value_store *vs, uint64_t start);
/* Adds a file the store did not know (KV_OK, or NOMEM).  REQUIRES: lock held. */
int  vlog_add(value_store *vs, uint64_t start, int is_log, uint64_t bytes, vlog_file **out);
/* Removes f from the list and frees it.  REQUIRES: lock held, no readers. */
void vlog_drop(value_store *vs, vlog_file *f);
/* The collection's one rule (V2): a file is worth emptying once its
 * garbage is at least gc_percent of its value bytes, or nothing in it is
 * live (vlog_rule.c).  The pick (vlog_gc.c) and the writers' slowdown
 * (vlog_update_behind) both ask it. */
int  vlog_worth_collecting(const vlog_file *f, int gc_percent);
/* A file's garbage, as counted: its value bytes less its live bytes; all
 * of it if nothing is live. */
uint64_t vlog_garbage(const vlog_file *f);
/* Recomputes `behind` from the counts.  REQUIRES: lock held. */
void vlog_update_behind(value_store *vs);
/* Reads [off, off + n) of the file h holds (vlog_hold) into buf, and
 * releases h.  KV_OK, KV_ERR_CORRUPT (the file is too short: a dangling
 * pointer, or a file cut short), an I/O error.  No lock held. */
int  vlog_read_held(value_store *vs, file_cache_handle *h, uint64_t off, uint8_t *buf, size_t n);
/* The value at w, read into buf and checked: *val points into buf.  KV_OK,
 * KV_ERR_CORRUPT (its bytes do not match w's crc32c), or vlog_hold's and
 * vlog_read_held's errors. */
int  vlog_load_where(value_store *vs, const vlog_where *w, value_buf *buf, const uint8_t **val);
/* The pieces of a read, also for reads made together (vlog_read_ahead.c):
 * file `start` held open (file_cache_release when done; a file the store
 * does not list, but a reader names, is opened by name: read-only
 * databases leave logs unrenamed; KV_ERR_CORRUPT if it is missing, a
 * dangling pointer, or an I/O error); the error of a read `got` bytes of
 * n at off; where's bytes decoded (KV_ERR_CORRUPT naming what is wrong);
 * buf grown to hold w's span, to be read through h (a span h's file
 * cannot hold is a short read's KV_ERR_CORRUPT, found before buf grows;
 * KV_ERR_NOMEM); and w's span, read into buf, gathered and checked
 * against its crc32c (*val points into buf). */
int  vlog_hold(value_store *vs, uint64_t start, file_cache_handle **h);
int  vlog_short(file_cache_handle *h, uint64_t off, size_t n, size_t got);
int  vlog_where_of(const uint8_t *where, size_t wlen, vlog_where *w);
int  vlog_buf_room(value_buf *buf, file_cache_handle *h, const vlog_where *w);
int  vlog_value_check(value_store *vs, const vlog_where *w, value_buf *buf, const uint8_t **val);

/* ---- the counts kept across sessions (vlog_counts.c) ------------------------ */

/* One file's line of VLOGCOUNTS. */
typedef struct vlog_count {
    uint64_t start, bytes, value_bytes, live_bytes, undropped, counted_at;
} vlog_count;

/* Encodes counts[0..n) as the whole file for flushed into a malloc'd
 * buffer. */
int  vlog_counts_encode(uint64_t flushed, const vlog_count *counts, size_t n, uint8_t **out,
                        size_t *len);
/* Decodes a whole file: KV_OK with *counts malloc'd, or KV_ERR_CORRUPT
 * naming `path` and the offset. */
int  vlog_counts_decode(const char *path, const uint8_t *p, size_t len, uint64_t *flushed,
                        vlog_count **counts, size_t *n);
/* At open: dir's VLOGCOUNTS, if it was saved when the tables held exactly
 * `flushed` (else, or damaged: none), in *counts (malloc'd; *n of them);
 * and, unless read_only, the file removed (a crash from now on leaves
 * none: the files are measured again), and a save cut short.  KV_OK or
 * an I/O error. */
int  vlog_counts_load(const char *dir, int read_only, uint64_t flushed, vlog_count **counts,
                      size_t *n);
/* At a clean close: counts[0..n) written as VLOGCOUNTS (a temporary file,
 * synced, renamed, the directory synced). */
int  vlog_counts_save(const char *dir, uint64_t flushed, const vlog_count *counts, size_t n);

#endif
