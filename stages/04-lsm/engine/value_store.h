/*
 * value_store.h: where the engine keeps its tables' values, an interface.
 * A memtable entry holds the value the user gave, and so does
 * the write-ahead log; a table entry holds it too (IKEY_PUT), unless the
 * store keeps it elsewhere: then the entry is an IKEY_PUT_ELSEWHERE, and
 * its value says where, in bytes only the store reads.  The engine asks
 * the store where values cross from one to the other: a flush (what a
 * table entry holds: value_store_flush_*), a read of an entry kept
 * elsewhere (value_store_load), a merge dropping one (value_store_dropped),
 * a log the tables made redundant (value_store_adopt_log: the engine
 * removes it, or the store keeps it), and the store's own jobs, which the
 * engine runs (value_store_pick).  Two implementations:
 *   stage 04   values in place (values_in_place.c): every table entry holds
 *              its value; nothing is kept elsewhere, every call is trivial;
 *   stage 08   the value log (value_log.h): a large value stays in the
 *              write-ahead log that took it, which the store keeps after the
 *              flush, and its table entry says where (as WiscKey's value log
 *              is its write-ahead log too); the store counts what merges drop
 *              and collects the logs whose values no reader needs any more.
 * A stage links exactly one, as it links one table set.
 *
 * Like the table set, a store answers and applies; it never writes through
 * the engine, waits, or fails on its behalf.  Its jobs (value_store_pick)
 * are the engine's to run: moving a value that is still read out of a log
 * to be collected is a write, which only the engine makes.
 *
 * What kv check, kv dump and kv repair ask of the store's files, with
 * the database closed, is in value_store_tools.h.
 *
 * Threads: value_store_load, value_store_pin and value_store_unpin from
 * any thread; the flush, the jobs, adopt_log and collect from the thread
 * that changes the database (the background thread, or kv_open);
 * value_store_dropped from the one running a merge.
 */
#ifndef KV_VALUE_STORE_H
#define KV_VALUE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "db_dir.h"
#include "internal_key.h"
#include "io.h"
#include "kv.h"
#include "lsm_files.h"
#include "table_set.h"

typedef struct value_store value_store;
typedef struct value_flush value_flush;
typedef struct value_job value_job;

typedef struct value_store_env {
    const db_dir *dir;
    const kv_options *opt;
    size_t *memtable_limit;     /* the memtable's size: opt.memtable_bytes, or
                                   the engine's default, which a store may
                                   raise when opt leaves it at 0 */
} value_store_env;

/* ---- open and close ------------------------------------------------------ */

/* kv_open's part, once the table set said that every write up to
 * `flushed` is in tables (l is the directory's listing, the logs it holds
 * nothing else of marked `covered`): the store keeps the covered logs it
 * reads values in (value_store_adopt_log says which).  *has_jobs: whether
 * it will have jobs of its own (value_store_pick), for which the engine
 * runs a thread.  KV_OK or an error; on failure *out may hold a store to
 * close. */
int  value_store_open(const value_store_env *env, const lsm_listing *l, uint64_t flushed,
                      value_store **out, int *has_jobs);
/* kv_close's part.  clean: nothing failed, the database is not read-only,
 * every write is on stable storage and no reader is left (the engine has
 * just called value_store_collect with nothing to wait for): the store
 * may save what it counts.  Frees the store.  KV_OK or the failure of that
 * save.  NULL is a no-op. */
int  value_store_close(value_store *vs, int clean);

/* ---- a flush: what a table entry holds ------------------------------------ */

/* The logs that hold a flush's writes lo..hi (sealed; their files open,
 * read only here), oldest first. */
typedef struct value_logs {
    io_file *const *files;
    const uint64_t *starts;     /* their names */
    const uint64_t *sizes;      /* their valid bytes */
    size_t n;
} value_logs;

/* Before a flush of the writes lo..hi writes its table.  KV_OK or an error
 * (the flush fails).  REQUIRES: no lock held. */
int  value_store_flush_begin(value_store *vs, const value_logs *logs, uint64_t lo, uint64_t hi,
                             value_flush **out);
/* The table entry of a memtable entry (a put of `val` at the sequence in
 * ikey): *type IKEY_PUT and *out val itself, or IKEY_PUT_ELSEWHERE and *out
 * where (valid until the next call).  KV_OK or an error. */
int  value_store_flush_entry(value_flush *f, const uint8_t *ikey, size_t klen,
                             const uint8_t *val, size_t vlen, ikey_type *type,
                             const uint8_t **out, size_t *outlen);
/* The flush is over: `applied` says whether its table is part of the
 * database now.  Frees f; NULL is a no-op. */
void value_store_flush_end(value_store *vs, value_flush *f, int applied);

/* A log whose writes are all in tables: *kept 1 if the store keeps it
 * (its values are read there), 0 if the engine may remove it.  KV_OK, or
 * the failure of what the store did to keep it (*kept is 1 all the same:
 * kv_open hands it over again). */
int  value_store_adopt_log(value_store *vs, uint64_t start, int *kept);

/* ---- reads --------------------------------------------------------------- */

/* A buffer a read of a value kept elsewhere may use; zeroed to start,
 * freed with value_buf_free.  held and held_at are the store's: what
 * value_store_read_ahead keeps open for the value it left in this buffer
 * to read, until value_store_load reads it or value_store_let_go. */
typedef struct value_buf {
    uint8_t *p;
    size_t cap;
    void *held;
    uint64_t held_at;
} value_buf;
/* REQUIRES: nothing held (value_store_let_go). */
void value_buf_free(value_buf *b);

/* A pin: from value_store_pin to value_store_unpin, no value a reader may
 * find in the view it takes after pinning goes away.  Take it before the
 * view. */
uint64_t value_store_pin(value_store *vs);
void value_store_unpin(value_store *vs, uint64_t pin);
/* The value of an IKEY_PUT_ELSEWHERE entry (where: its table value): *val
 * points into buf, vlen bytes.  KV_OK, or KV_ERR_CORRUPT (a value whose
 * bytes are not what the entry says), an I/O error, NOMEM.
 * REQUIRES: a pin held since before the view the entry came from. */
int  value_store_load(value_store *vs, const uint8_t *where, size_t wlen, value_buf *buf,
                      const uint8_t **val, size_t *vlen);
/* What value_store_read_ahead keeps in buf for a value left, let go: the
 * value is not going to be asked for.  A no-op if nothing is held. */
void value_store_let_go(value_store *vs, value_buf *buf);
/* The length of the value an IKEY_PUT_ELSEWHERE entry's where names, as
 * it says (0 if it does not read). */
size_t value_store_value_size(value_store *vs, const uint8_t *where, size_t wlen);
/* n values at once, as n value_store_load calls would give them (rcs[i]
 * and vals[i], vlens[i] into bufs[i]), read together: a scan's values
 * read ahead (lsm_iter_ahead.h).  Returns the first rcs[i] that is not
 * KV_OK, else KV_OK.  REQUIRES: as value_store_load. */
int  value_store_load_many(value_store *vs, size_t n, const uint8_t *const where[],
                           const size_t wlen[], value_buf bufs[], const uint8_t *vals[],
                           size_t vlens[], int rcs[]);
/* The fewest values a scan's window should tell the store about at once
 * (lsm_iter_ahead.h): fewer gain nothing over reading each alone when it
 * is asked for.  1 where any batch gains (reads with calls, made at once);
 * more where only a long one does (mapped files: asking the kernel for
 * pages costs a call per value, which pays only on a long scan). */
size_t value_store_ahead_min(value_store *vs);
/* A scan's next n values, told before they are asked for (lsm_iter_ahead.h):
 * as value_store_load_many, except that a value the store can read as fast
 * alone when it is asked for (one in a mapped file) it need not read now:
 * rcs[i] KV_OK and vals[i] NULL say it was left for value_store_load with
 * bufs[i], which may keep what the read needs (its file held) until then,
 * or until value_store_let_go.  It may still start its reads (a long batch
 * asks the kernel for a mapped file's pages).  Returns the first rcs[i]
 * that is not KV_OK, else KV_OK.  REQUIRES: as value_store_load; nothing
 * held in bufs[]. */
int  value_store_read_ahead(value_store *vs, size_t n, const uint8_t *const where[],
                            const size_t wlen[], value_buf bufs[], const uint8_t *vals[],
                            size_t vlens[], int rcs[]);

/* ---- merges -------------------------------------------------------------- */

/* A merge dropped an IKEY_PUT_ELSEWHERE entry (its value where): the value
 * no version holds any more, once the merge is applied. */
void value_store_dropped(value_store *vs, const uint8_t *where, size_t wlen);

/* ---- the store's own jobs ------------------------------------------------- */

/* One value of a job: key is its user key, where its table value (a key
 * whose newest version is an IKEY_PUT_ELSEWHERE holding exactly these
 * bytes reads the value there).  move: the job empties a file, so a value
 * still read there must be written again; 0: the job only measures.  All
 * point into the job, valid until the next call. */
typedef struct value_move {
    const uint8_t *key;
    size_t klen;
    const uint8_t *where;
    size_t wlen;
    int move;
} value_move;

/* What the engine did with a job's value (value_store_job_result). */
typedef enum value_fate {
    VALUE_DEAD,     /* no newest version holds it: garbage */
    VALUE_LIVE,     /* the newest version of its key holds it (kept) */
    VALUE_MOVED     /* it was, and is written again (a new put) */
} value_fate;

/* A job if the store has one, or *out NULL: a file to empty (each value
 * still read there written again, as a new put, by the engine) or to
 * measure (its live bytes unknown: after a crash).  oldest: the oldest
 * live snapshot.  KV_OK or an error.  REQUIRES: write_lock held. */
int  value_store_pick(value_store *vs, uint64_t oldest, value_job **out);
/* A job if the store has one for an engine that has time: a file to count
 * again, its counts older than the write numbered `since` (merges drop
 * entries late, so a count may say more is live than is), or, with
 * damaged, a file a job found damaged and has not tried since, to empty of
 * whatever a key still reads there.  *out NULL if there is none.  KV_OK or
 * an error.  REQUIRES: write_lock held. */
int  value_store_pick_recount(value_store *vs, uint64_t since, int damaged, value_job **out);
/* 1 if the job cannot list its values from its file (a damaged one): the
 * engine offers, before the first value_store_job_next, the newest version
 * of each key that is kept elsewhere (value_store_job_offer), and the job
 * keeps those in its file. */
int  value_store_job_wants_keys(const value_job *job);
/* key's newest version, an IKEY_PUT_ELSEWHERE holding where: KV_OK or
 * NOMEM. */
int  value_store_job_offer(value_job *job, const uint8_t *key, size_t klen,
                           const uint8_t *where, size_t wlen);
/* The job's next value: 1 with *m, 0 when there is none left, or a
 * negative error.  No lock held (it reads the file). */
int  value_store_job_next(value_job *job, value_move *m);
/* The bytes of the value job_next gave last (for a move): *val valid until
 * the next call.  KV_OK or an error (KV_ERR_CORRUPT: not what its
 * table entry says). */
int  value_store_job_value(value_job *job, const uint8_t **val, size_t *vlen);
/* What became of the value job_next gave last. */
void value_store_job_result(value_job *job, value_fate fate);
/* The job is over (KV_OK: every value it gave answered, those moved written before
 * the write numbered `seq`; a job that found its file damaged failed, whatever
 * status says: it gave no value past the damage).  Frees the job either way. */
void value_store_job_end(value_store *vs, value_job *job, uint64_t seq, int status);
/* Removes the files no reader can need: they were emptied before a write
 * that is now on stable storage (durable: every write up to it is, in
 * tables or in a synced log) and at or below every snapshot (oldest), and
 * no pin is older.  *removed counts them.  KV_OK or the first failure
 * (harmless: kv_open sees to them).  No lock held. */
int  value_store_collect(value_store *vs, uint64_t oldest, uint64_t durable, uint64_t *removed);
/* The write that must be on stable storage before a file that waits for
 * nothing else can go (value_store_collect), or 0 if none waits for that:
 * the engine syncs its log, or flushes, and collects. */
uint64_t value_store_durable_wanted(value_store *vs, uint64_t oldest);
/* Whether writes may go on: TABLE_ADMIT_SLOW while the store is behind
 * (its garbage over its target), never TABLE_ADMIT_STOP (what it may wait
 * for, a snapshot's end, need never come).  Any thread; cheap. */
table_admit value_store_admit(value_store *vs);

/* kv_stats's lines (inspect 0) or kv_inspect's (1) about the store. */
int  value_store_describe(value_store *vs, int inspect, kv_line_fn line, void *ctx);
/* kv_inspect_get's line about a value kept elsewhere (where: its table
 * value): where it is; *vlen its length.  KV_OK or KV_ERR_CORRUPT (where
 * is not a place this store wrote). */
int  value_store_describe_value(value_store *vs, const uint8_t *where, size_t wlen,
                                size_t *vlen, kv_line_fn line, void *ctx);

#endif
