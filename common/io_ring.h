/*
 * io_ring.h: the io_uring backend of the I/O layer, which reads a batch of
 * ranges in one submission.  See docs/io.md.
 *
 * io_uring (Linux 5.1 on; IORING_OP_READ from 5.6) is a pair of rings in
 * memory shared by a process and the kernel: the process writes requests
 * into the submission ring and makes one system call (io_uring_enter) to
 * hand all of them over; the kernel works on them together and posts a
 * completion for each.  So n reads of data not in the page cache cost one
 * system call and about one device round trip instead of n of each, which
 * is what a lookup of many keys (kv_multi_get) needs when their blocks are
 * not cached.  liburing (Debian's liburing-dev) sets the rings up and
 * drives them.
 *
 * What this backend does with it, and what not:
 *   - io_read_batch (io.h) of its files: up to IO_RING_ENTRIES ranges per
 *     submission, then a wait for all of them; a longer batch takes one
 *     submission per IO_RING_ENTRIES ranges.
 *   - Everything else is the POSIX backend's call (io_posix.c): its files
 *     are POSIX's files.  One read, one append or one fsync through a ring
 *     is the same work with the ring's on top: a single call that waits
 *     for its answer gains nothing from a queue (docs/io.md measures a read
 *     both ways), and a sync takes as long either way.  RocksDB draws the
 *     same line: its PosixRandomAccessFile reads with io_uring in MultiRead
 *     and with pread in Read (env/io_posix.cc).
 *
 * Rules:
 *   R1. A ring belongs to one thread.  Each thread that reads a batch sets
 *       up its own at the first one and frees it when it exits, so no ring
 *       is ever shared and no lock is taken (a new ring mapped where an
 *       exited thread's was is said to ThreadSanitizer, which cannot see
 *       liburing's own mmap: io_ring.c, ring_mapped).  A forked child does
 *       not use its parent's (it would share its memory with the
 *       parent's): it starts with none, and probes io_uring again.
 *   R2. A batch never returns while one of its reads is in flight: it
 *       waits for the completion of every request the kernel took, so no
 *       buffer is written after the caller has it back.
 *   R3. Refusal.  A kernel that will not run io_uring for this process (a
 *       seccomp profile, such as Docker's default one; the sysctl
 *       kernel.io_uring_disabled; a kernel without IORING_OP_READ) answers
 *       EPERM, EACCES, ENOSYS, EINVAL or EOPNOTSUPP, at set-up or at any
 *       later submission.  The first such answer marks io_uring refused for
 *       the process, in its own words ("io_uring_setup: Operation not
 *       permitted"); from then on every batch is read with pread, and a
 *       database that opened with io_uring says so (io_mount.h).  The batch
 *       that met the refusal is read with pread too: its caller never sees
 *       it.  Any other failure of the ring (ENOMEM, EMFILE, EAGAIN) falls
 *       back to pread for that batch only.
 *   R4. A failure of the read itself (EIO) is that range's result, as
 *       pread's would be.
 */
#ifndef KV_COMMON_IO_RING_H
#define KV_COMMON_IO_RING_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

/* Requests one submission holds, and each thread's ring. */
#define IO_RING_ENTRIES 64

/* The backend's table, or NULL in a build without io_uring (WebAssembly). */
const io_ops *io_ring_ops(void);

/* 1 if io_uring works in this process; 0 if not, with the reason in
 * why[0..n) ("io_uring_setup: Operation not permitted; the sysctl
 * kernel.io_uring_disabled is 2").  The first call probes: a ring set up,
 * IORING_OP_READ looked for, a no-op submitted and waited for.  Later calls
 * answer from memory, which a refusal (R3) changes. */
int io_ring_usable(char *why, size_t n);

/* What the backend did in this process, counted since it started. */
typedef struct io_ring_counts {
    uint64_t rings;          /* rings set up for threads (R1) */
    uint64_t submissions;    /* io_uring_enter calls that handed over reads */
    uint64_t reads;          /* ranges read through a ring */
    uint64_t fallback_reads; /* ranges of batches read with pread instead (R3) */
} io_ring_counts;
void io_ring_counts_get(io_ring_counts *c);

#endif
