/*
 * io_fault.h: an I/O backend that fails the calls a test chooses.
 *
 * It wraps whatever backend is current when it is installed (normally
 * POSIX), counts every call of the kinds the plan names, and makes the Nth of
 * them fail, once or from then on, with the errno the plan gives.  An append
 * chosen to fail can first write half of its bytes, as a full disk does.
 * LevelDB's tests do the same with a fault-injecting Env.
 *
 * A plan may also give the disk a size: the backend then counts the bytes
 * of every file it sees written (appends, truncations, renames over a file,
 * removals) and fails an append that would pass the size, as a full file
 * system does, so that a test can fill a disk of a few megabytes without
 * mounting one.  Files that were there before it was installed count as
 * empty.
 *
 * It is for tests, the crash tester and the fuzz harnesses, and is linked
 * into libkv.a only so that every program can reach it; the engine never
 * installs it.  Counting is thread-safe; installing and removing are not
 * (do them while no database is open).
 */
#ifndef KV_COMMON_IO_FAULT_H
#define KV_COMMON_IO_FAULT_H

#include <stdint.h>

/* Kinds of call, for io_fault_plan.kinds. */
enum {
    IO_FAULT_OPEN = 1 << 0,
    IO_FAULT_APPEND = 1 << 1,
    IO_FAULT_READ = 1 << 2,     /* io_read_at's calls; each range of io_read_batch */
    IO_FAULT_SYNC = 1 << 3,     /* io_sync and io_sync_dir */
    IO_FAULT_TRUNCATE = 1 << 4,
    IO_FAULT_META = 1 << 5,     /* rename, unlink, mkdir, list, exists, lock, size */
    IO_FAULT_DIR_OPEN = 1 << 6, /* opening a directory to sync it (EMFILE, say):
                                   io_sync_dir fails, but no fsync did */
    IO_FAULT_WRITES = IO_FAULT_APPEND | IO_FAULT_SYNC | IO_FAULT_TRUNCATE,
    IO_FAULT_ALL = 0x7f
};

typedef struct io_fault_plan {
    unsigned kinds;   /* which calls are counted (IO_FAULT_*) */
    long fail_at;     /* 1-based number of the counted call that fails; 0 = none */
    int persistent;   /* 1 = every counted call from fail_at on fails too */
    int err;          /* the errno returned (EIO if 0) */
    int short_write;  /* 1 = a failing append first writes half its bytes */
    uint64_t disk_bytes; /* > 0: the files live on a disk of this many bytes:
                            an append past it writes what fits and fails
                            with ENOSPC, and io_space says what is left */
} io_fault_plan;

/* Installs the fault backend over the current one, with counters at zero. */
void io_fault_install(const io_fault_plan *plan);
/* Puts back the backend that was current before io_fault_install. */
void io_fault_uninstall(void);
/* Uninstalls it and forgets the files of plan.disk_bytes's disk (as the
 * next io_fault_install would), freeing what it held for them: the end
 * of a test (tests/harness.c), when no file of it is open any more. */
void io_fault_reset(void);
/* Counted calls so far, and how many of them were failed. */
long io_fault_calls(void);
long io_fault_failures(void);
/* Failures injected into calls the calling thread made, since it started
 * (never reset: compare two readings).  A test that blames an operation
 * for a failure a background thread met during it uses this. */
long io_fault_failures_here(void);

#endif
