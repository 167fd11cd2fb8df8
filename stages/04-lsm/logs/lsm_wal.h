/*
 * lsm_wal.h: stage 04's write-ahead logs: stage 03's log format and
 * group-commit queue (stages/03-wal: wal_format.h, wal_writer.h,
 * wal_reader.h, wal_marker.h, wal_batch.h, wal_queue.h), linked unchanged,
 * with a file header of its own and sequence numbers in its records.
 *
 * A log file (named by lsm_files.h: the sequence number of its first write):
 *
 *   offset  size  field
 *   0       16    file header: "KVS04LOG", version 1, crc32c (file_header.h)
 *   16      ...   32 KiB blocks of fragments (wal_format.h), the first
 *                 block 16 bytes short, as in stage 03
 *
 * Each record is one kv_put, kv_delete or kv_write, or a sync marker or
 * seal (wal_marker.h, first byte 0):
 *
 *   record := batch (wal_batch.h: count, then the ops)
 *             sequence: u64 little-endian, the first op's; op i of the
 *                       batch has sequence + i
 *
 * Why the sequence number comes last, in 8 fixed bytes: a record's length
 * must be known when it joins the queue, before the leader numbers it
 * (the leader writes these 8 bytes just before the queue frames the
 * record: lsm_write.c), and the
 * first byte of a record must not be 0 (the mark of a marker), which the
 * low byte of a little-endian number often is.  A batch starts with its
 * count, never 0.  LevelDB puts a fixed 8-byte sequence first in its
 * WriteBatch (db/write_batch.cc); its logs have no markers.
 *
 * Life of a log (lsm_write.c): it is created with its header, synced (so a
 * crash never leaves a new log with a garbled header under records), and
 * takes every write until the memtable it protects is frozen; then it is
 * synced, sealed (a final marker naming its own offset) and synced again,
 * and a new log takes the writes.  It is deleted once a table holds its
 * writes (lsm_bg.c).  kv_open replays the logs that are not yet in
 * tables (lsm_replay.c).
 *
 * Appends go through a mapping of the file, which grows a MiB at a time
 * (io.h, IO_GROW): a put costs a memcpy, not a write() system call.  So a
 * log that was not closed (the process was killed, or the power failed)
 * may end in up to IO_GROW_STEP zero bytes after its last record: room it
 * had grown into.  The scan calls them `spare`, not damage, in the last
 * log and after a seal (a sealed log keeps them until it is deleted or
 * closed); kv_open trims them from the last log before it appends.
 */
#ifndef KV_LSM_WAL_H
#define KV_LSM_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "coding.h"
#include "file_header.h"
#include "io.h"
#include "lsm_files.h"
#include "kv.h"

#define LSM_WAL_VERSION 1u
#define LSM_WAL_START FILE_HEADER_SIZE     /* where records begin */
#define LSM_WAL_SEQ_BYTES 8u

/* ---- records ---------------------------------------------------------- */

/* Bytes of the record of ops[0..n). */
uint64_t lsm_wal_record_size(const batch_op *ops, size_t n);
/* Writes it at dst (lsm_wal_record_size bytes), its sequence 0 until
 * lsm_wal_record_stamp. */
void lsm_wal_record_encode(uint8_t *dst, const batch_op *ops, size_t n);
static inline void lsm_wal_record_stamp(uint8_t *rec, size_t len, uint64_t seq)
{
    coding_put_u64(rec + len - LSM_WAL_SEQ_BYTES, seq);
}

/* A record's contents, decoded and checked: a batch, and a first sequence
 * from which every op's number fits in 1..IKEY_MAX_SEQ.  0, or -1 with *why. */
typedef struct lsm_wal_record {
    uint64_t seq;               /* the first op's */
    size_t count;               /* ops */
    const uint8_t *batch, *batch_end;
} lsm_wal_record;
int lsm_wal_record_decode(const uint8_t *p, size_t len, lsm_wal_record *r, const char **why);

/* ---- log files ---------------------------------------------------------- */

typedef struct lsm_wal {
    uint64_t start;         /* its name: its first write's sequence number */
    io_file *file;
    uint64_t size;          /* its valid bytes (where the next group goes) */
    uint64_t records;       /* records in it, replayed or written */
    int sealed;             /* its last record is its seal: no more writes */
    uint64_t behind;        /* bytes before this were handed to write-behind */
} lsm_wal;

/* The logs whose writes are not all in tables yet, oldest first; the last
 * takes writes (the engine's `logs`, guarded by its write_lock). */
typedef struct lsm_logs {
    lsm_wal **v;
    size_t n, cap;
} lsm_logs;

/* With sync = 0, the log's bytes are handed to the device (io_write_behind)
 * each time another this many have been appended, so that the sync of the
 * switch (lsm_wal_seal) finds at most about this much still to write,
 * instead of the whole memtable's worth, while the writer waits.  They
 * are handed over one IO_GROW_STEP behind the end: bytes the log's mapping
 * no longer holds, so that writing them back does not write-protect pages
 * the writer still stores into (a TLB flush per page, and a fault on the
 * next store). */
#define LSM_WAL_WRITE_BEHIND_BYTES (1u << 20)

/* Creates dir's log for writes from `start` on: empty, header, fdatasync.
 * A failure removes the file again.  KV_OK, KV_ERR_IO, KV_ERR_NOMEM. */
int  lsm_wal_create(const char *dir, uint64_t start, lsm_wal **out);
/* Opens an existing log (IO_READ or IO_WRITE); size is its file's size. */
int  lsm_wal_open(const char *dir, uint64_t start, int flags, lsm_wal **out);
/* Syncs the log, appends its seal, syncs again: no write may follow.  On
 * failure *final says whether the caller must make it final: a failed
 * fsync (a retried one proves nothing), or a failed append that could not
 * be cut off again; an append cut off again leaves the log as it was.
 * REQUIRES: no group is being appended to it. */
int  lsm_wal_seal(lsm_wal *w, int *final);
/* Hands the bytes appended since the last call, but the last
 * IO_GROW_STEP, to write-behind, once they are LSM_WAL_WRITE_BEHIND_BYTES
 * or more.  A hint: nothing is durable before lsm_wal_seal or a sync.
 * REQUIRES: the caller appends to w. */
void lsm_wal_write_behind(lsm_wal *w);
/* Closes it (the file stays); NULL is a no-op. */
void lsm_wal_free(lsm_wal *w);
/* Removes dir's log `start` (no directory sync). */
int  lsm_wal_remove(const char *dir, uint64_t start);

/* ---- reading a log: what kv_open, kv_check, kv_dump and kv_repair see --- */

/* What lsm_wal_scan_file found. */
typedef struct lsm_wal_scan {
    int header;             /* FILE_START_* of its first 16 bytes */
    uint64_t end;           /* its valid bytes end here (the damage, or the size) */
    uint64_t records;       /* valid records before `end`, markers not counted */
    uint64_t last_seq;      /* the last op's sequence number (0: no record) */
    int sealed;             /* the last valid record is a seal naming its offset */
    int damaged;
    /* If damaged: */
    uint64_t bad;           /* offset of the first byte that is not a record */
    const char *why;
    int has_next;           /* a valid record starts later, at `next` */
    uint64_t next;
    uint64_t records_after; /* valid records after the damage */
    int unsynced;           /* no marker after the damage says its bytes had
                               been synced */
    int torn;               /* a crash can leave this: nothing valid after
                               it, or only unsynced writes */
    uint64_t spare;         /* not damage: this many zero bytes end the file
                               (at most IO_GROW_STEP), room the log had grown
                               into; `end` is where they start */
    char why_text[400];
} lsm_wal_scan;

/* Calls fn for each valid record of f (a log of `size` bytes named
 * `start`) in order, until the first damage, then looks past it (no more
 * calls).  A record that is not a batch with its sequence, or whose
 * numbers do not follow the previous record's (or start below the log's
 * name), is damage.  Markers are not handed to fn.  Returns KV_OK (see
 * *s), an I/O error, KV_ERR_NOMEM, or fn's first non-zero value. */
typedef int (*lsm_wal_record_fn)(void *ctx, const lsm_wal_record *r, uint64_t offset,
                                 uint64_t end);
int lsm_wal_scan_file(io_file *f, uint64_t size, uint64_t start, lsm_wal_record_fn fn,
                      void *ctx, lsm_wal_scan *s);

/* The one verdict on a log, which kv_open acts on and kv_check reports
 * (docs/04-lsm-reference.md, "Recovery"): only the last log can end in a write a
 * crash cut short, and every log before it was sealed when it was closed.
 *   KEEP    its records are whole (a log before the last also ends with
 *           its seal);
 *   CUT     the last log ends in what a crash leaves (a torn tail, a header
 *           cut short, unsynced writes lost out of order): kv_open cuts it
 *           at `keep` (below LSM_WAL_START: a fresh header), unless strict;
 *   REFUSE  anything else: KV_ERR_CORRUPT. */
enum { LSM_WAL_KEEP, LSM_WAL_CUT, LSM_WAL_REFUSE };
typedef struct lsm_wal_verdict {
    int action;
    uint64_t keep;          /* valid bytes after kv_open */
    uint64_t spare;         /* KEEP: zero bytes after them, which kv_open
                               trims from the last log (not a torn tail) */
    uint64_t cut;           /* CUT: bytes cut off */
    uint64_t records_lost;  /* CUT: valid records among them */
    char text[900];         /* CUT, REFUSE: from the offset on */
} lsm_wal_verdict;
void lsm_wal_judge(uint64_t size, const lsm_wal_scan *s, int last, int strict,
                   lsm_wal_verdict *v);

/* F4 (lsm_files.h) on a directory's logs wals[0..n) (oldest first), whose
 * tables hold every write up to `flushed`: KV_OK if the log they owe is
 * there with a whole header, or none is owed; KV_ERR_CORRUPT, with the
 * reason in kv_errmsg() (the log named, and the writes lost), if not; or
 * an I/O error.  kv_open refuses such a directory, and kv check says so. */
int lsm_wal_check_owed(const char *dir, const lsm_listed_wal *wals, size_t n, uint64_t flushed);
/* ---- kv check and kv dump of one log (lsm_wal_tools.c) ------------------ */

/* What the database's kv_check knows of a log before reading it. */
typedef struct lsm_wal_check_args {
    int covered;            /* kv_open removes it unread: it is not read */
    int last;               /* the last log: it may end in a torn tail */
    uint64_t in_tables;     /* every write up to here is in tables */
    kv_line_fn line;
    void *ctx;
} lsm_wal_check_args;

/* What the logs read add up to. */
typedef struct lsm_wal_check_totals {
    size_t logs;            /* logs read (not the covered ones) */
    uint64_t bytes, records;
} lsm_wal_check_totals;

/* kv check of dir's log `start`: a line with its size, records, last
 * sequence number and the verdict kv_open acts on (lsm_wal_judge), and,
 * unless kv_open keeps it as it is, a line saying what it does.  Returns
 * KV_OK, KV_CHECK_WILL_CUT, KV_ERR_CORRUPT or an I/O error. */
int lsm_wal_check(const char *dir, uint64_t start, const lsm_wal_check_args *a,
                  lsm_wal_check_totals *t);

/* kv dump of dir's log `start`: every record (offset, sequence numbers,
 * ops), marker and damaged region.  KV_OK (damage is shown, not returned),
 * or an error if it cannot be read. */
int lsm_wal_dump(const char *dir, uint64_t start, kv_line_fn line, void *ctx);

#endif
