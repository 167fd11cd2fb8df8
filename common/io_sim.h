/*
 * io_sim.h: an I/O backend that records what a power loss could undo.
 *
 * It wraps the current backend (normally POSIX) and passes every call
 * through, so the engine runs on real files exactly as usual.  On the side,
 * for every file and directory under a chosen root, it keeps a journal of
 * each operation that changes the disk: create, mkdir, rename, unlink,
 * append (with its bytes), truncate, sync of a file, sync of a directory.
 * From that journal, io_sim_materialize() writes into a fresh directory what
 * the disk could hold if the power had gone out after any prefix of the
 * journal, with a chosen fate for the operations that were not yet synced.
 * The crash tester (tests/crash/powerloss.c) opens each such directory with
 * the normal backend and checks what the engine recovers.  SQLite's crash
 * tests do the same with a simulated file system (src/test6.c), LevelDB's
 * with an Env that drops unsynced data (db/fault_injection_test.cc).
 *
 * THE MODEL: what a sync promises, and what it does not.
 *
 * It is Linux with ext4 or XFS, seen pessimistically: nothing is kept that
 * POSIX and the kernel do not promise, except that a write never damages
 * bytes that were already on stable storage.
 *
 *   1. A file's bytes, and its size, are on stable storage up to its last
 *      io_sync (fdatasync).  Whatever was appended or truncated after that
 *      is in the page cache only.  A power loss may keep each such write,
 *      drop it, or leave garbage of the same length in its place, each
 *      write independently of the others: the kernel writes dirty pages
 *      back in any order, and a page being written when the power fails
 *      can hold anything.  A write that was dropped while a later one was
 *      kept leaves a hole, which reads back as zeros.  So, without a sync,
 *      what survives need NOT be a prefix of what was written.
 *
 *   2. A name in a directory (a file created, renamed or unlinked; a
 *      directory made) is on stable storage only once io_sync_dir of that
 *      directory has returned after the change.  Syncing the file does not
 *      make its name durable, and syncing a directory does not make the
 *      directory's own name in its parent durable.  Until then, a power
 *      loss may remove a new file, revert a rename (the old name is back,
 *      and the file the rename replaced is back under the new name), or
 *      undo an unlink.  A file's name and its data are separate: a file
 *      whose name survived can hold none of its unsynced data, and data
 *      synced into a file whose name did not survive is lost with it.
 *
 *   3. The names changed in one directory since its last sync reach the
 *      disk in the order they were made (a journaling file system commits
 *      its metadata in order).  So of those changes, a crash keeps a
 *      prefix: if a rename survived, so did every earlier create in that
 *      directory.
 *
 *   4. Synced bytes and synced names are never damaged by a crash.
 *
 * Rule 1 is what makes a sync=0 write lossy on every stage, and why stage 03
 * syncs its write-ahead log before a sync=1 put returns.  Rule 2 is why a
 * merge that writes a new file and renames it over an old one must sync the
 * new file, rename, and then sync the directory before it deletes anything
 * the old file was needed for.  Rule 3 is the one piece of kindness: real
 * file systems give it, and without it no ordering of metadata would be
 * possible at all.  The model is pessimistic on purpose: ext4 often keeps
 * more (its default data=ordered mode writes a file's data before the
 * metadata that names it), but an engine that relies on that is relying on
 * luck the next file system may not share.
 *
 * What the model leaves out: the lock file (io_ops.lock) is not journaled,
 * so a crash state never holds it (kv_open creates it), nor is its unlink
 * (a directory of an engine cleared whole); file timestamps and
 * modes; a sync that fails (it is not journaled, so it promises nothing);
 * renames of directories.  A rename between two directories is durable
 * once both are synced, and counts for rule 3 as a change of the one it
 * leaves.  An unsynced truncate, like an unsynced append, is kept or
 * dropped (never garbled).
 *
 * Rules for callers:
 *   - REQUIRES: root exists and is empty when io_sim_install is called, and
 *     the engine names files under it as root + "/" + relative path (as
 *     io_join does).  Calls outside root pass through and are not recorded.
 *   - Installing and uninstalling are not thread-safe (do them while no
 *     database is open); recording is (one mutex orders the journal).
 *   - The journal outlives io_sim_uninstall, so crash states can be built
 *     after the workload; io_sim_reset frees it.
 */
#ifndef KV_COMMON_IO_SIM_H
#define KV_COMMON_IO_SIM_H

#include <stddef.h>
#include <stdint.h>

/* Kinds of journal entry. */
enum {
    IO_SIM_CREATE = 1,  /* a new file's name (names: rule 2) */
    IO_SIM_MKDIR,       /* a new directory's name (rule 2) */
    IO_SIM_RENAME,      /* rule 2 */
    IO_SIM_UNLINK,      /* rule 2 */
    IO_SIM_APPEND,      /* bytes at the end of a file (data: rule 1) */
    IO_SIM_TRUNCATE,    /* a file's new size (rule 1) */
    IO_SIM_SYNC,        /* io_sync of a file: its data so far is durable */
    IO_SIM_SYNC_DIR     /* io_sync_dir: the directory's names so far are durable */
};

/* Starts recording under root (a fresh, empty journal) and installs the
 * simulator over the current backend.  KV_OK, or an error with kv_errmsg. */
int io_sim_install(const char *root);
/* Puts back the backend that was current before; the journal is kept. */
void io_sim_uninstall(void);
/* Frees the journal. */
void io_sim_reset(void);

/* The number of journal entries so far: a crash "at" this position loses
 * only what the next entries would have done. */
size_t io_sim_position(void);
/* The kind of entry i (IO_SIM_*), or 0 if there is none. */
int io_sim_kind(size_t i);
/* For an IO_SIM_APPEND: its offset in the file and its length; else 0, 0. */
void io_sim_extent(size_t i, uint64_t *off, uint64_t *len);
/* Entry i in words ("fsync the file created as db/data.log", "rename
 * db/MERGE.tmp to db/000002.log"...) into buf; returns buf. */
const char *io_sim_describe(size_t i, char *buf, size_t n);
/* Operations under root the journal could not follow (a file opened that
 * it never saw created, a rename of something it does not know).  Crash
 * states are only trustworthy while this is 0. */
long io_sim_untracked(void);

/* The fate of unsynced operations in a crash state. */
enum {
    IO_SIM_LOSE = 0,   /* every one is lost */
    IO_SIM_KEEP = 1,   /* every one survives */
    IO_SIM_RANDOM = 2  /* data: each write kept, dropped or garbled on its own
                          (rule 1); names: a random prefix per directory
                          (rule 3) */
};

/* How the torn variants cut the last unsynced append (with data = KEEP),
 * or the torn file's whole unsynced region (io_sim_torn_region): the
 * writes in flight when the power went reached the disk in part, a prefix
 * of them or all but one 512-byte sector (a later sector written, an
 * earlier one not), as LazyFS's torn writes and ALICE's prefix and
 * zero-fill states have it. */
enum {
    IO_SIM_TORN_NONE = 0,
    IO_SIM_TORN_1B,     /* only its first byte survives */
    IO_SIM_TORN_THIRD,  /* its first third (at least one byte) */
    IO_SIM_TORN_4K,     /* up to its last 4 KiB boundary in the file */
    IO_SIM_TORN_PREFIX, /* the region's bytes before torn_off kept, the rest lost */
    IO_SIM_TORN_SECTOR  /* the region kept but its sector [torn_off, torn_off + 512),
                           which reads as zeros; not the sector of its last byte */
};

typedef struct io_sim_crash {
    size_t at;       /* the power fails after the first `at` journal entries */
    int data;        /* IO_SIM_LOSE, _KEEP or _RANDOM: unsynced appends, truncates */
    int names;       /* IO_SIM_LOSE, _KEEP or _RANDOM: unsynced names */
    int torn;        /* IO_SIM_TORN_*: applies to the last unsynced append */
    uint64_t torn_off; /* IO_SIM_TORN_PREFIX and _SECTOR: where, in the file */
    uint64_t seed;   /* for the random choices and the garbage bytes */
} io_sim_crash;

/* The torn file at a crash after the first `at` journal entries: the file
 * of the last unsynced append, and its unsynced region [*lo, *hi) (its
 * appends since its last sync); its name ("the file created as PATH")
 * into path[0..n).  1 if there is one, 0 if nothing is unsynced. */
int io_sim_torn_region(size_t at, uint64_t *lo, uint64_t *hi, char *path, size_t n);

/* What a crash state holds, compared with the journal. */
typedef struct io_sim_state {
    uint64_t hash;          /* of every surviving path and its bytes */
    unsigned writes_unsynced, writes_dropped, writes_garbled;
    unsigned names_unsynced, names_reverted;
    unsigned files;         /* files in the state */
} io_sim_state;

enum { IO_SIM_NO_STATE = 1 };

/* Builds the crash state `c` and, if out is not NULL, writes it under out
 * (an existing empty directory that stands for root).  Returns KV_OK,
 * IO_SIM_NO_STATE when c does not apply (a torn variant with no unsynced
 * append to tear, or no 4 KiB boundary inside it), or KV_ERR_IO/NOMEM.
 * *st (if not NULL) describes the state. */
int io_sim_materialize(const io_sim_crash *c, const char *out, io_sim_state *st);

#endif
