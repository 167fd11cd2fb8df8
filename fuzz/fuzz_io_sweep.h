/*
 * fuzz_io_sweep.h: a database's work run again with each of its I/O calls
 * failing in turn, for the file-format harnesses (fuzz_dbfile.h).
 *
 * A harness hands over the files of a database directory (the input's
 * files and the stage's IDENTITY, in memory: fuzz_dbfile.h) and some of
 * the works below.  The sweep places the files and runs a work once with
 * nothing failing, counting its I/O calls (common/io_fault.h over the
 * in-memory backend), then runs it again, the files placed afresh each
 * time, with every FUZZ_IO_SWEEP_STRIDE-th of those calls failing in turn
 * (EIO), up to the FUZZ_IO_SWEEP_MOST-th: that call alone, or that call
 * and every one after it (a disk gone bad).  The crc32c of the files
 * picks the first call and which of the two each gets, so that the
 * replay of a few dozen seeds fails every call of a work both ways at a
 * fraction of the cost of failing each call of every seed.  What a
 * failure reaches, no byte of a file can: the branch of every read,
 * size, append, sync, truncation, rename and removal the I/O layer
 * refuses.
 *
 * Each run with a failure must
 *   - answer as the run without one did, or KV_ERR_IO with the failed
 *     call's own message (the injected errno's text): an I/O error is
 *     never reported as damage, never lost, never an abort; where a file
 *     is only a shortcut (a hint: an engine that cannot read it reads the
 *     segment instead), the answer may also be the one without that file;
 *   - leave files that a later open with nothing failing reads as it
 *     reads the files the run without a failure left: the same verdict
 *     (it opens, or the same error) and the same keys and values (the
 *     key the work itself writes aside); a failed write changes nothing
 *     a reader sees;
 *   - and, where the work writes nothing (kv_check, kv_dump, a read-only
 *     open), leave the files byte for byte as they were.
 * A leak on a failure path is LeakSanitizer's, in the replay drivers.
 * Then the works run again with their allocations failing in turn
 * (fuzz_faults_alloc: kv_check, kv_dump and kv_inspect for the first
 * three, an open with a put and kv_compact for the last two), and
 * kv_repair with its promise; there too, a run may answer as the work
 * does without the optional file (fuzz_faults_alloc_optional).
 * The harness aborts on a broken check, as every harness does.
 */
#ifndef KV_FUZZ_IO_SWEEP_H
#define KV_FUZZ_IO_SWEEP_H

#include <stddef.h>

#include "fuzz_dbfile.h"

/* Every FUZZ_IO_SWEEP_STRIDE-th call fails, up to the FUZZ_IO_SWEEP_MOST-th,
 * of a directory of at most FUZZ_IO_SWEEP_FILES files. */
#define FUZZ_IO_SWEEP_STRIDE 4
#define FUZZ_IO_SWEEP_MOST 160
#define FUZZ_IO_SWEEP_FILES 16

/* The works. */
enum {
    FUZZ_IO_SWEEP_CHECK = 1 << 0,   /* kv_check */
    FUZZ_IO_SWEEP_DUMP = 1 << 1,    /* kv_dump */
    FUZZ_IO_SWEEP_READ = 1 << 2,    /* a read-only open, every key read,
                                       kv_inspect, kv_inspect_get, close */
    FUZZ_IO_SWEEP_WRITE = 1 << 3,   /* an open that may write, every key read,
                                     a put read back, close */
    FUZZ_IO_SWEEP_COMPACT = 1 << 4, /* an open, a key written twice, kv_compact
                                       (again if it failed), every key read
                                       again, close */
    FUZZ_IO_SWEEP_ALL = 0x1f
};

/* Runs each work of `works` over files[0..n), with the I/O calls it makes
 * failing in turn, and checks what the header says; `optional` (or NULL)
 * names a file the engine may do without when it cannot read it.
 * REQUIRES: a fuzz_dbfile_run_files before (the stage's IDENTITY).
 * Leaves the in-memory backend installed. */
void fuzz_io_sweep(const fuzz_dbfile *files, size_t n, const char *optional, unsigned works);

#endif
