/*
 * kv.h: the one API every stage of the engine implements.
 *
 * Each stage under stages/ builds a libkv.a that exports exactly these
 * functions, so one test suite, one crash tester, one fuzz driver and one
 * benchmark drive every stage by linking a different library.
 *
 * Semantics, identical for every stage:
 *   - Keys are 1..KV_MAX_KEY bytes, values 0..KV_MAX_VALUE bytes, any bytes
 *     (NUL included).  Out of range, or NULL where a pointer is needed:
 *     KV_ERR_INVALID, and nothing is written.
 *   - Keys are ordered bytewise (memcmp; when one key is a prefix of the
 *     other, the shorter one sorts first).
 *   - kv_get of an absent or deleted key is KV_NOT_FOUND; deleting an absent
 *     key is KV_OK.
 *   - An iterator sees the database as it was when kv_iter_new returned,
 *     whatever is written afterwards, until it is freed; so do reads at a
 *     snapshot (kv_snapshot_new, below).
 *   - One kv_db may be used from several threads at once.  A second kv_open
 *     of a directory that is already open, in this process or another, fails
 *     with KV_ERR_BUSY.
 *   - A put or delete has been handed to the operating system when the call
 *     returns (no user-space buffering), so killing the process loses nothing
 *     that was acknowledged.  What survives a power loss depends on the stage
 *     and on kv_options.sync; see each stage's page in docs/.
 *   - Any failure returns an error code and leaves a precise message for
 *     kv_errmsg().  The library never prints, exits or aborts.
 *
 * Every snapshot, iterator and transaction of a database is freed (or
 * ended) before its kv_close; while any is live, kv_close returns
 * KV_ERR_INVALID and closes nothing (free them, then call kv_close again).
 */
#ifndef KV_H
#define KV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KV_MAX_KEY   65535u                 /* largest key, in bytes */
#define KV_MAX_VALUE (64u * 1024u * 1024u)  /* largest value, in bytes */
/* The largest batch or transaction (below): ops, and bytes of their keys
 * and values (room for the largest put, and no more). */
#define KV_MAX_BATCH_OPS   (1u << 20)
#define KV_MAX_BATCH_BYTES (KV_MAX_VALUE + KV_MAX_KEY)

typedef struct kv_db kv_db;
typedef struct kv_iter kv_iter;

enum {
    KV_OK = 0,
    KV_NOT_FOUND = 1,
    KV_ERR_IO = -1,       /* the operating system reported an error */
    KV_ERR_CORRUPT = -2,  /* a file holds something the engine did not write */
    KV_ERR_INVALID = -3,  /* a bad argument, or an operation not allowed now */
    KV_ERR_NOMEM = -4,    /* an allocation failed */
    KV_ERR_BUSY = -5,     /* the directory is open elsewhere */
    KV_ERR_CONFLICT = -6  /* kv_txn_commit: another write conflicts: retry */
};

typedef struct kv_options {
    int create_if_missing;  /* default 1: create the directory and its files */
    int sync;               /* default 0: 1 = each write is on stable storage
                               when it returns (stage 03 and later) */
    int read_only;          /* default 0: 1 = open without writing anything and
                               without taking the lock exclusively; a torn
                               tail is left in place; kv_put, kv_delete,
                               kv_write (an empty batch too) and kv_flush are
                               KV_ERR_INVALID */
    int strict_recovery;    /* default 0: a torn tail (a last record cut
                               short by a crash) is cut off at open and
                               counted in kv_stats; 1 = it is KV_ERR_CORRUPT */
    size_t segment_bytes;   /* stage 02+: roll the active log file over at this
                               size; 0 = default (64 MiB) */
    size_t memtable_bytes;  /* stage 04+: freeze the in-memory table and flush
                               it to a table file at this size; 0 = default
                               (4 MiB; 64 MiB from stage 08, whose logs are
                               its value log); ignored before stage 04 */
    /* Stage 05+ (ignored before): the block-based table format. */
    size_t block_bytes;     /* target size of a table's data block before
                               compression; 0 = default (4 KiB) */
    int bloom_bits_per_key; /* bits per key of each table's bloom filter;
                               0 = default (10); KV_NO_BLOOM = no filters */
    int compression;        /* KV_COMPRESSION_*; 0 = default (lz4; 09: _LZ4_VALUES) */
    size_t cache_bytes;     /* block cache: uncompressed blocks kept in
                               memory; 0 = default (8 MiB) */
    int max_open_files;     /* table cache: tables kept open at once; 0 =
                               default (1000) */
    int map_tables;         /* 0 = default: each open table file is mapped
                               into memory and its blocks read in place, no
                               system call, every page read counted in the
                               process's resident memory; KV_NO_MAP: blocks
                               come by positioned reads, and a read leaves
                               nothing resident beyond what the cache keeps */
    int block_restart_interval; /* entries of a data block from one restart
                               point (a key stored whole, where a lookup's
                               binary search lands) to the next, 1..1024;
                               0 = default (16; 4 from stage 09, whose
                               lookups read blocks where they lie: a shorter
                               walk from the restart point for a few bytes
                               more a block) */
    int filters_for_hits;   /* 1 = gets are expected to find their keys:
                               the last table a get can reach (no older
                               table can hold its key: the oldest table;
                               from stage 06, one no deeper level has a
                               table for) is searched without asking its
                               filter, which for a key that exists only
                               costs (RocksDB's optimize_filters_for_hits);
                               a get of an absent key then searches that
                               table's index and one block.  0 = default
                               (off; on from stage 09); KV_FILTERS_ALWAYS:
                               every table's filter asked */
    /* Stage 06+ (ignored before): leveled compaction. */
    int level_ratio;        /* each level >= 2 may hold this many times the
                               bytes of the one above; 0 = default (10) */
    size_t l1_bytes;        /* target size of level 1; 0 = default (10 MiB) */
    size_t table_bytes;     /* a compaction starts a new output table past
                               this size; 0 = default (2 MiB) */
    int l0_slowdown;        /* with this many level-0 tables, each write
                               waits 1 ms once; 0 = default (8) */
    int l0_stop;            /* with this many, writes wait for compaction;
                               0 = default (12) */
    /* Every stage: how the files are read and written (docs/io.md). */
    int io;                 /* KV_IO_AUTO (0, the default): io_uring where
                               the kernel allows it, else the POSIX calls;
                               KV_IO_POSIX: the POSIX calls; KV_IO_URING:
                               io_uring, or kv_open fails (KV_ERR_IO, with
                               the kernel's refusal).  The environment
                               variable KV_IO (auto, posix or uring), when
                               set, replaces it.  kv_stats' line io.backend
                               says which one the database opened with, and
                               why it is posix when it is. */
    /* Stage 08+ (ignored before): values apart from keys. */
    size_t value_threshold; /* a put's value of at least this many bytes is
                               read from the write-ahead log that took it
                               (kept as a value log), its table entry
                               holding where; 0 = default (512) */
    int value_gc_percent;   /* a value-log file is collected (its live values
                               written again, the file removed) once at
                               least this percent of it is garbage, 1..99;
                               0 = default (50) */
    /* From stage 09 on (ignored before): the record cache, the rate limiter. */
    int record_cache_percent; /* the part of cache_bytes that keeps records
                               (the newest version of a key in a table, as
                               a get found it) rather than blocks, 1..90;
                               0 = default (25); KV_NO_RECORD_CACHE = none,
                               every byte to blocks */
    size_t background_bytes_per_sec; /* bytes per second that flushes and
                               compactions may write to new tables, asked
                               of a token bucket before each write, kept
                               exactly from 1 up to SIZE_MAX (a burst of
                               100 ms' worth saved while idle); 0 =
                               default (no limit); kv_set_background_rate
                               changes it while open.  Flushes ask first:
                               a compaction takes nothing while a flush
                               waits.  Writes that outrun the compactions
                               it holds back meet stage 06's slowdowns and
                               stops (l0_slowdown, l0_stop); and writes
                               that fill a memtable while the last one's
                               flush is still paced wait for that flush at
                               the switch, level 0 empty or not: at a rate
                               below the write rate, that is most of their
                               time (kv_stats: session.write.stalls and
                               stall_ms; the flushes' own wait,
                               rate_limiter.flushes_waiting now and
                               session.rate_limiter.flush_waited_us) */
    int table_partitions;   /* 0 = default: each new table's whole index
                               and filter, kept in memory while it is open
                               (stage 05's tables: nothing to look up to
                               find them); KV_PARTITIONS: new tables cut
                               them into partitions of about a block, read
                               through the cache, an open table keeping only
                               their top level, so that what open tables
                               keep does not grow with the data.  Tables of
                               either kind are read */
    /* Stage 05+ again (ignored before), with map_tables. */
    size_t map_bytes;       /* tables mapped: at most this many bytes of
                               table files mapped at once, so that the pages
                               their reads leave resident in the process
                               stay within it; a file opened past it is read
                               with positioned reads, as under KV_NO_MAP,
                               until the table cache closes it; 0 = default
                               (no bound: every open table file mapped) */
    int block_hash_index;   /* 1 = each data block of a new table ends in a
                               hash index of its keys (RocksDB's data-block
                               hash index), so that a get finds the run of
                               entries its key is in by one probe instead
                               of a binary search over the restart points,
                               for about 4 bytes a key; a block of more
                               than 253 restart points gets none.  0 =
                               default (off; on from stage 09);
                               KV_NO_BLOCK_HASH: off.  Blocks of either
                               kind are read */
} kv_options;

enum { KV_IO_AUTO = 0, KV_IO_POSIX = 1, KV_IO_URING = 2 };

#define KV_NO_BLOOM (-1)
#define KV_NO_MAP (-1)
#define KV_NO_RECORD_CACHE (-1)
#define KV_FILTERS_ALWAYS (-1)
#define KV_NO_BLOCK_HASH (-1)
#define KV_PARTITIONS 1
enum {
    KV_COMPRESSION_DEFAULT = 0,  /* lz4 */
    KV_COMPRESSION_NONE = 1,
    KV_COMPRESSION_LZ4 = 2,
    KV_COMPRESSION_LZ4_VALUES = 3  /* keys raw, each value lz4 alone */
};

void kv_options_init(kv_options *opt);

int  kv_open(const char *dir, const kv_options *opt /* NULL = defaults */, kv_db **db);
int  kv_close(kv_db *db);  /* NULL is a no-op */

int  kv_put(kv_db *db, const void *key, size_t klen, const void *val, size_t vlen);
/* On KV_OK, *val is a fresh allocation of *vlen bytes (never NULL, even for
 * an empty value) to be released with kv_free. */
int  kv_get(kv_db *db, const void *key, size_t klen, void **val, size_t *vlen);
int  kv_delete(kv_db *db, const void *key, size_t klen);
void kv_free(void *p);

/* Looks up n keys in one call: what a stage that can read the blocks of
 * many keys in one submission does faster than n kv_gets (docs/io.md).
 *   - For each i, rcs[i] is KV_OK (vals[i] a fresh allocation of vlens[i]
 *     bytes, never NULL, to be released with kv_free), KV_NOT_FOUND, or the
 *     error its lookup met; whenever rcs[i] is not KV_OK, vals[i] is NULL
 *     and vlens[i] 0.  Each lookup is kv_get's: the same answer, the same
 *     errors.  A key that fails does not stop the others.
 *   - It returns KV_OK when every lookup ran (each rcs[i] is KV_OK or
 *     KV_NOT_FOUND), else the first error: that of the lowest i that
 *     failed, with kv_errmsg() its message.
 *   - The arguments are checked before any lookup: db, and for n > 0 each
 *     array, not NULL; n at most KV_MAX_BATCH_OPS; every key as kv_get
 *     checks it.  Otherwise KV_ERR_INVALID (naming the first bad key by its
 *     index), and nothing is written to vals, vlens or rcs.  n = 0 is KV_OK
 *     (the arrays may then be NULL).
 *   - The same key twice is looked up twice: each has its own copy.
 *   - What it sees: each key's answer is what kv_get of that key would
 *     have answered at some moment during the call, so every write
 *     acknowledged before the call is seen (or a later one of the same
 *     key), and nothing that starts after it returns.  The keys are not
 *     promised one moment together: a write that runs during the call may
 *     be seen by one key and not by another (a batch too).  For answers
 *     that agree with each other, read at a snapshot (kv_get_at, below).
 *   - Threads: as kv_get. */
int  kv_multi_get(kv_db *db, size_t n, const void *const keys[], const size_t klens[],
                  void *vals[], size_t vlens[], int rcs[]);

/* Reclaims space taken by overwritten and deleted records.  A stage with
 * nothing to reclaim returns KV_OK at once. */
int  kv_compact(kv_db *db);

/* Writes what the stage holds only in memory (and its log) to its tables,
 * and returns once they hold it: from stage 04 on, the memtable becomes a
 * table (kv_stats: flush.count; stage 06 may then compact in the
 * background).  The stages before keep nothing in memory that is not in
 * their files: KV_OK at once.  It is not a durability barrier (that is
 * kv_options.sync, or kv_close).  A read-only database: KV_ERR_INVALID. */
int  kv_flush(kv_db *db);

/* Sets kv_options.background_bytes_per_sec of an open database (from
 * stage 09 on): the flushes and compactions then write new tables at most
 * this many bytes a second, a write under way from its next request on;
 * 0 = no limit.  In the stages before, nothing paces them: 0 is KV_OK
 * (that is how they write), any other rate KV_ERR_INVALID, saying so.
 * Any thread. */
int  kv_set_background_rate(kv_db *db, size_t bytes_per_sec);

/* Atomic batches: puts and deletes applied together, in order (a later op
 * on the same key wins).  kv_batch_put and kv_batch_delete check their
 * arguments as kv_put and kv_delete do and copy the bytes; kv_write applies
 * the whole batch or, on error, none of it that any reader can see.
 * Crash atomicity is the stage's: from stage 03 on a batch is never half
 * applied after any crash; stages 01 and 02 write a batch with one system
 * call, which a kill or power loss can still cut short (see their docs).
 * An empty batch is KV_OK and writes nothing.
 * A batch holds at most KV_MAX_BATCH_OPS ops and KV_MAX_BATCH_BYTES bytes
 * of keys and values (a delete counts its key): kv_batch_put and
 * kv_batch_delete refuse the op that would pass either bound with
 * KV_ERR_INVALID, and leave the batch as it was.  The bound is the memory
 * one write may take at once: a batch is applied whole (from stage 04, into
 * one memtable, which it may take past memtable_bytes by its own size), so
 * more than that is written as several batches, each atomic, not together. */
typedef struct kv_batch kv_batch;
int  kv_batch_new(kv_batch **b);
int  kv_batch_put(kv_batch *b, const void *key, size_t klen, const void *val, size_t vlen);
int  kv_batch_delete(kv_batch *b, const void *key, size_t klen);
void kv_batch_clear(kv_batch *b);  /* empties it for reuse */
void kv_batch_free(kv_batch *b);   /* NULL is a no-op */
int  kv_write(kv_db *db, const kv_batch *b);

/* Iteration in key order over a snapshot taken by kv_iter_new (or given
 * to kv_iter_new_at, below).  A new iterator is not positioned: call
 * kv_iter_seek_first, kv_iter_seek_last or kv_iter_seek.
 * Pointers from kv_iter_key / kv_iter_value stay valid until the next call
 * that moves or frees the iterator.  kv_iter_value returns NULL (and
 * kv_iter_status reports why) if the value cannot be read. */
int         kv_iter_new(kv_db *db, kv_iter **it);
void        kv_iter_seek_first(kv_iter *it);
void        kv_iter_seek(kv_iter *it, const void *key, size_t klen); /* first key >= key;
                                              klen 0 (key may be NULL): the first key */
int         kv_iter_valid(const kv_iter *it);
void        kv_iter_next(kv_iter *it);
const void *kv_iter_key(const kv_iter *it, size_t *klen);
const void *kv_iter_value(const kv_iter *it, size_t *vlen);
int         kv_iter_status(const kv_iter *it);  /* KV_OK, or the error that stopped it */
void        kv_iter_free(kv_iter *it);

/* Reverse iteration, on any iterator.  kv_iter_seek_last positions it at
 * the last key (not valid if there is none).  kv_iter_prev moves it to the
 * key before; from the first key it becomes not valid.  Next and prev mix
 * freely: prev after next comes back to the same key.  kv_iter_seek(k) then
 * kv_iter_prev gives the last key < k when the seek found a key; when the
 * seek went past the last key the iterator is not valid, and the last key
 * < k is kv_iter_seek_last's.  kv_iter_next and kv_iter_prev leave an
 * iterator that is not valid as it is: only a seek positions it again. */
void        kv_iter_seek_last(kv_iter *it);
void        kv_iter_prev(kv_iter *it);

/* Snapshots: one moment of the database, for reads that must agree with
 * each other whatever is written meanwhile.
 *   - kv_snapshot_new sees every write acknowledged before it was called,
 *     nothing that starts after it returns, and a write that runs at the
 *     same time whole or not at all (a batch is never half seen).
 *   - What a snapshot shows never changes: later puts, deletes, batches,
 *     kv_compact and (stage 04 on) memtable flushes and compactions leave
 *     every read at it as it was.  Taking one costs O(1) on every
 *     stage: stage 01 notes the log's length; stages 02-03 open a layer
 *     that keeps the place of each key written while it lives, and the
 *     files those places are in; from stage 04 a snapshot is a sequence
 *     number that keeps the versions it sees from being dropped.  Reads at
 *     it cost what the stage makes them cost.  See each stage's page.
 *   - kv_get_at is kv_get at the snapshot: the same argument checks, the
 *     same answers, *val owned by the caller (kv_free).  snap NULL is
 *     KV_ERR_INVALID.
 *   - kv_iter_new_at makes an iterator over the snapshot; snap NULL means
 *     a snapshot taken now, which is what kv_iter_new does.  Iterators made
 *     at one snapshot, at any time, all show the same keys and values.  An
 *     iterator does not need the snapshot handle once made: the snapshot may
 *     be freed first (the iterator still counts for kv_close).
 *   - A snapshot belongs to the database that made it: with another kv_db,
 *     kv_get_at and kv_iter_new_at return KV_ERR_INVALID, and
 *     kv_snapshot_free does nothing (the snapshot stays live, and its own
 *     database's kv_close reports it).
 *   - One snapshot may be read from several threads at once.
 *   - kv_snapshot_free of NULL does nothing.  A snapshot does not survive
 *     kv_close (see the top of this file) and is never written to disk. */
typedef struct kv_snapshot kv_snapshot;
int  kv_snapshot_new(kv_db *db, const kv_snapshot **snap);  /* sees every write acknowledged
                                                               before the call */
void kv_snapshot_free(kv_db *db, const kv_snapshot *snap);  /* NULL is a no-op; all freed
                                                               before kv_close */
int  kv_get_at(kv_db *db, const kv_snapshot *snap, const void *key, size_t klen, void **val,
               size_t *vlen);                               /* snap NULL: KV_ERR_INVALID */
int  kv_iter_new_at(kv_db *db, const kv_snapshot *snap, kv_iter **it);  /* snap NULL = now */

/* Transactions: reads, and writes that depend on them, as one atomic step.
 *   - kv_txn_begin starts one now: its reads see the database as it was
 *     then (a snapshot, as kv_snapshot_new takes), with the transaction's
 *     own writes over it; no one else sees its writes before it commits.
 *   - kv_txn_commit applies all of its writes as one batch (atomic and
 *     durable as kv_write's: kv_options.sync), unless a write committed by
 *     anyone (a transaction, kv_put, kv_write) after the transaction began
 *     conflicts with it: then nothing of it is applied, and it returns
 *     KV_ERR_CONFLICT (begin again and retry).  Which writes conflict is
 *     the isolation level's:
 *       KV_TXN_SNAPSHOT      one to a key the transaction writes (first
 *                            committer wins): no lost update, but write
 *                            skew is allowed (two transactions that each
 *                            read what the other writes both commit);
 *       KV_TXN_SERIALIZABLE  also one to a key it read (found or absent),
 *                            or inside a range its iterator stepped over:
 *                            what commits behaves as if the transactions
 *                            had run one after the other.
 *     A transaction that writes nothing commits at once (KV_OK).
 *     What "a write conflicts" means differs by stage (each page says how
 *     it is found, and what it costs):
 *       stage 07     any write since the snapshot, found by its version
 *                    (sequence number): KV_TXN_SNAPSHOT is snapshot
 *                    isolation exactly, KV_TXN_SERIALIZABLE serializable.
 *       stages 01-06 a key whose value now differs from its value at the
 *                    snapshot (changed, created or deleted), found by
 *                    comparing values under the write lock.  A key
 *                    written and written back (A, B, A), or rewritten
 *                    with its value, does not count.  What that keeps:
 *                    under KV_TXN_SERIALIZABLE everything the transaction
 *                    read holds at commit exactly what it read, so it is
 *                    as if it ran whole at that moment: serializable still.
 *                    Under KV_TXN_SNAPSHOT each key it writes holds at
 *                    commit the value it read (or would have read) there,
 *                    so no update is lost; but it is not snapshot
 *                    isolation: keys it read and does not write may have
 *                    moved on.  The history that shows it:
 *                      put 1=10, 2=20; T1 (SNAPSHOT) reads 1 and 2;
 *                      T2 puts 1=15, 2=25 and commits; T3 puts 1=10 and
 *                      commits; T1 puts 1=30 and commits.
 *                    Stages 01-06 commit T1 (key 1 holds 10, as at T1's
 *                    snapshot), leaving {1=30, 2=25}, which no serial
 *                    order and no snapshot-isolated one produces (T1 saw
 *                    2=20, so it ran before T2, yet its 1=30 is last);
 *                    stage 07 answers KV_ERR_CONFLICT (T2 wrote key 1
 *                    since T1 began); under KV_TXN_SERIALIZABLE every
 *                    stage does (key 2, which T1 read, changed).
 *                    tests/txn.c runs it on every stage
 *                    (aba_history_commits_on_values_conflicts_on_versions).
 *   - kv_txn_check asks what kv_txn_commit would check, without ending
 *     the transaction or writing anything: KV_OK if nothing it depends on
 *     at its isolation level (the keys it writes; under
 *     KV_TXN_SERIALIZABLE also the keys and ranges it read) was written
 *     since it began, KV_ERR_CONFLICT naming what was, or an error.  The
 *     answer is the database's at the moment of the call.  A transaction
 *     that only reads commits at once, whatever was written meanwhile (it
 *     read one snapshot); kv_txn_check gives it optimistic locking's
 *     answer, "has what I read changed?" (`kv serve` answers a watched
 *     EXEC that writes nothing with it, as Redis does).  A NULL
 *     transaction is KV_ERR_INVALID.
 *   - kv_txn_commit and kv_txn_abort end a transaction and free it,
 *     whatever they return (a NULL transaction is KV_ERR_INVALID for
 *     commit, a no-op for abort).  Commit with the transaction's iterators
 *     still live writes nothing and returns KV_ERR_INVALID; what the
 *     transaction holds is then freed with its last iterator.  A live
 *     transaction counts for kv_close as a snapshot does.  A transaction
 *     is used by one thread at a time.
 *   - kv_txn_get, kv_txn_put and kv_txn_delete check their arguments as
 *     kv_get, kv_put and kv_delete do; a failed one changes nothing of the
 *     transaction.  A transaction's writes are one batch at commit, so they
 *     are bounded as a batch is: at most KV_MAX_BATCH_OPS keys written and
 *     KV_MAX_BATCH_BYTES bytes of their keys and last values (a key written
 *     again counts once, with its last value).  A put or delete that would
 *     pass either bound is KV_ERR_INVALID, and the transaction stays as it
 *     was (commit it, or abort it, and write the rest in another).
 *   - A transaction's iterator sees its own writes over its snapshot, in
 *     key order, forward; it is freed before the transaction ends.  The
 *     transaction may write while its iterator is live (a scan that
 *     updates what it reads): the iterator sees those writes from its next
 *     move on (a key written ahead of where it stands is shown, one behind
 *     it is not), and the key and value it stands on, and their pointers,
 *     stay as they were shown until it moves.  Under
 *     KV_TXN_SERIALIZABLE the keys from where it was positioned to where
 *     it stopped count as read, present or not (so an insert there by
 *     another conflicts: no phantom). */
typedef struct kv_txn kv_txn;
typedef struct kv_txn_iter kv_txn_iter;
enum { KV_TXN_SNAPSHOT = 0, KV_TXN_SERIALIZABLE = 1 };
int  kv_txn_begin(kv_db *db, int isolation, kv_txn **txn);
int  kv_txn_get(kv_txn *txn, const void *key, size_t klen, void **val, size_t *vlen);
int  kv_txn_put(kv_txn *txn, const void *key, size_t klen, const void *val, size_t vlen);
int  kv_txn_delete(kv_txn *txn, const void *key, size_t klen);
int  kv_txn_check(kv_txn *txn);   /* KV_OK or KV_ERR_CONFLICT (or an error); txn stays */
int  kv_txn_commit(kv_txn *txn);  /* KV_OK, KV_ERR_CONFLICT or an error; txn freed */
void kv_txn_abort(kv_txn *txn);   /* NULL is a no-op; txn freed */
int         kv_txn_iter_new(kv_txn *txn, kv_txn_iter **it);
void        kv_txn_iter_seek_first(kv_txn_iter *it);
void        kv_txn_iter_seek(kv_txn_iter *it, const void *key, size_t klen);
int         kv_txn_iter_valid(const kv_txn_iter *it);
void        kv_txn_iter_next(kv_txn_iter *it);
const void *kv_txn_iter_key(const kv_txn_iter *it, size_t *klen);
const void *kv_txn_iter_value(const kv_txn_iter *it, size_t *vlen);
int         kv_txn_iter_status(const kv_txn_iter *it);
void        kv_txn_iter_free(kv_txn_iter *it);

/* Statistics about an open database, as "name: value" lines of text.
 * On KV_OK, *text is a NUL-terminated allocation to release with kv_free.
 * A stage prints what it likes; these lines are read by the shared tests
 * (tests/), so every engine that claims a stage prints them, with these
 * meanings, as decimal numbers:
 *   open.torn_tail_bytes_found  bytes of torn tail the last kv_open found
 *   open.torn_tail_bytes_cut    of those, the bytes it cut off (0 read-only)
 *   log.records                 stage 01: records in the log
 *   segments.count              stages 02-03: log files (segments)
 *   live.keys, live.bytes       stages 02-03: keys in the index, and the
 *                               bytes of their live records
 *   flush.count                 stage 04 on: memtables written as tables
 *                               since kv_open (kv_flush adds one)
 *   tables.count                stage 04 on: tables the database reads
 *   memtable.entries            stage 04 on: entries in the active memtable
 *   level.N                     stage 06 on: tables at level N (0..6)
 * kv_inspect's counts agree with them (tests/inspect.c).  Every stage also
 * prints how long its work took, a latency histogram per kind of call
 * (and, from stage 02, of its own work: merges, flushes, compactions,
 * stalls), two lines each (docs/metrics.md, "The engine's histograms"):
 *   session.get.latency_us: count=N,sum=S,p50=A,p99=B,p99.9=C,max=D
 *   session.get.latency_us.buckets: 1.024=N,...   (N took less than B us)
 * sum and the percentiles in microseconds; tests/latency.c reads them. */
int  kv_stats(kv_db *db, char **text);

/* What this thread's lookups cost: RocksDB's perf context, the counts a
 * learner needs to see why one get was slow (`kv DIR get --cost KEY`
 * prints them).  Each kv_get and kv_get_at (so each lookup of
 * kv_multi_get, and kv_txn_get's reads at the snapshot) adds what it did
 * to the calling thread's counts, in whatever database; kv_cost_reset
 * zeroes them (and has each later lookup of the thread timed: nanos),
 * kv_cost_get copies them out:
 *     kv_cost c;
 *     kv_cost_reset();
 *     kv_get(db, "k", 1, &val, &vlen);
 *     kv_cost_get(&c);      c.tables_searched, c.blocks_read, ...
 * Counting costs a few additions per lookup; nothing is shared between
 * threads, and no other call (writes, iterators, the background work)
 * changes the counts.  A stage counts the work it has and leaves the rest
 * 0; the stage each field starts at is in brackets:
 *   gets              lookups counted
 *   nanos             their time, in nanoseconds: each lookup's own
 *                     once the thread has called kv_cost_reset; before,
 *                     one lookup in 8 is timed and the others count the
 *                     last timed one's, as kv_stats' histograms do (0 in
 *                     a build without histograms: make FLAVOUR=nohist)
 *   memtables         memtables searched: the one taking writes, and the
 *                     one being flushed if any (04)
 *   tables_in_range   tables whose key range holds the key: each of them
 *                     is asked (04); a table outside costs nothing
 *   bloom_checks      of those, tables whose bloom filter was asked (05)
 *   bloom_skips       tables the filter ruled out: no block read (05)
 *   bloom_false_positives
 *                     tables the filter let through that did not hold
 *                     the key (05)
 *   tables_searched   tables whose index was searched (in range, not
 *                     ruled out) (04)
 *   blocks_read       data blocks read from a file (05)
 *   block_cache_hits  data blocks found in the block cache (05)
 *   block_hash_probes data blocks searched through their hash index
 *                     (kv_options.block_hash_index): one probe of its
 *                     buckets instead of a binary search, unless the key's
 *                     bucket is shared by two runs, which takes the search
 *                     after all (05)
 *   record_cache_hits tables whose answer was found in the record cache:
 *                     no filter, index or block of theirs asked (09)
 *   reads             reads of files (a read of a mapped table counts
 *                     as one) (01)
 *   bytes_read        bytes those reads returned (stage 01: its scan of
 *                     the whole log, and the record it reads again) (01)
 * (Stage 08's reads of values kept in its value log are not counted yet.)
 */
typedef struct kv_cost {
    unsigned long long gets, nanos;
    unsigned long long memtables, tables_in_range;
    unsigned long long bloom_checks, bloom_skips, bloom_false_positives;
    unsigned long long tables_searched, blocks_read, block_cache_hits;
    unsigned long long reads, bytes_read;
    unsigned long long record_cache_hits;
    unsigned long long block_hash_probes;
} kv_cost;
void kv_cost_reset(void);
void kv_cost_get(kv_cost *out);  /* NULL is a no-op */

/* Offline tools over a closed database directory, used by the kv command.
 * Each emits lines of text through `line` (the library never prints).
 * kv_check verifies every file and reports each problem with its file and
 * offset, and what kv_open will do about it.  It returns
 *   KV_OK              everything is intact: kv_open (strict_recovery too)
 *                      opens it and changes nothing;
 *   KV_CHECK_WILL_CUT  the only damage is what a crash leaves (a torn tail):
 *                      kv_open opens it and cuts that off, losing the bytes
 *                      (and records) a line starting "FILE: offset X: torn"
 *                      names; a read-only open leaves it; strict_recovery
 *                      refuses it;
 *   KV_ERR_CORRUPT     other damage: kv_open refuses it (or, for a file it
 *                      does not read at open, a read of it fails later);
 *   another error      it could not read.
 * kv_dump emits every record of the stage's files, decoded, with offsets. */
#define KV_CHECK_WILL_CUT 2
typedef void (*kv_line_fn)(void *ctx, const char *line);
int  kv_check(const char *dir, kv_line_fn line, void *ctx);
int  kv_dump(const char *dir, kv_line_fn line, void *ctx);
/* kv_dump with options: KV_DUMP_FRAMES adds, for a stage whose log frames
 * its records (stage 03 on: blocks and fragments), one line per frame with
 * its offset, length, type and checksum; for other stages it changes
 * nothing.  kv_dump(dir, ...) is kv_dump_with(dir, 0, ...). */
#define KV_DUMP_FRAMES 1u
int  kv_dump_with(const char *dir, unsigned flags, kv_line_fn line, void *ctx);
/* kv_repair mends a closed database, keeping all it can, so that kv_open
 * opens it (strict_recovery too) and kv_check finds it intact:
 *   - stage 03 on: each damaged log is rewritten with every intact record
 *     it had, in order (a batch stays whole), and nothing else;
 *   - stage 04 on: each damaged table is rewritten with every entry that
 *     can still be read, and each file replaced is first copied to
 *     DIR/lost/;
 *   - stage 06: a new manifest names the tables: the live version without
 *     the tables that are missing or unreadable, or, when CURRENT or the
 *     manifest cannot be read, another manifest's version or one rebuilt
 *     from the tables alone.
 * It emits lines naming each file it changed and what was lost: byte
 * ranges; for tables the key ranges, how many entries and, where the stage
 * knows, their sequence numbers; and the older versions a lost entry may
 * let show.  KV_OK if nothing needed repair or all was repaired; an error,
 * with nothing changed, for damage it cannot mend (a damaged IDENTITY);
 * KV_ERR_BUSY if the database is open; KV_ERR_INVALID in a stage before 03
 * ("kv repair is available from stage 03 on"). */
int  kv_repair(const char *dir, kv_line_fn line, void *ctx);

/* What an open database is made of, now, for pictures (the lab of
 * docs/lab.md; the grammar of the lines is its table "kv_inspect lines").
 * kv_inspect emits one line per part (a log, a segment, the index, a
 * memtable, a table, a level), "KIND name=value ...", keys quoted as
 * common/escape.h writes them.  flags: KV_INSPECT_DETAIL adds the parts
 * inside each one (the records of a log, the slots of an index, the
 * entries of a memtable, the blocks of a table), at most
 * KV_INSPECT_DETAIL_MAX lines per part, then a "cut" line if there were
 * more.  kv_inspect_get emits the places a kv_get of key looks, in the
 * order it looks, one line each with what that place said (absent, found,
 * deleted, skipped by its key range, skipped by its bloom filter), then
 * one "answer" line: found or not_found, as kv_get would answer now.
 * Both only read: they may run while other threads write, and they hold
 * no lock for longer than a copy of a list.  KV_OK or an error (nothing
 * is emitted after it). */
#define KV_INSPECT_DETAIL 1u
#define KV_INSPECT_DETAIL_MAX 256u
int  kv_inspect(kv_db *db, unsigned flags, kv_line_fn line, void *ctx);
int  kv_inspect_get(kv_db *db, const void *key, size_t klen, kv_line_fn line, void *ctx);

const char *kv_strerror(int status);
const char *kv_errmsg(void);  /* this thread's last failure: file, offset, what, errno text */
const char *kv_stage(void);   /* "01-log", "02-hash", ... */

#ifdef __cplusplus
}
#endif
#endif /* KV_H */
