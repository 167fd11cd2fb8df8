/*
 * kvfs_server.h: kvgrade-fs, the FUSE server over the tree of kvfs.h, and
 * the switch kvgrade works it with: a freeze that stops the engine at a
 * chosen file-system operation, and the cut.
 *
 *   kvfs_ops.c   the FUSE low-level operations, each over the tree, and
 *                the gate every operation that changes the tree passes
 *   kvfs_main.c  the mount, the loop, and the control commands kvgrade
 *                sends on standard input (docs/kvgrade.md)
 *
 * The gate.  An operation that changes files or names (write, truncate,
 * fallocate, create, mkdir, unlink, rmdir, rename, link, fsync, fsyncdir)
 * asked by a process (the kernel's own writeback, with no process, is
 * never held) is counted.  Armed with `freeze-at N`, the N-th counted
 * operation from then on is not run: it is held unanswered, and so is
 * every later one, and kvgrade is told ("frozen").  The process waits
 * inside that system call; kvgrade then kills it, and `drop` answers the
 * held operations with EIO (the process is dying: the calls never
 * happened) and every later one too, until `cut` (the power cut, then
 * back to normal) or `resume` (back to normal: a process kill alone).
 *
 * Handles opened before a cut are stale: any operation through one fails
 * with EIO (the kernel may still write back pages of a dead process).
 */
#ifndef KVGRADE_KVFS_SERVER_H
#define KVGRADE_KVFS_SERVER_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include "kvfs.h"

enum { KVFS_RUN = 0, KVFS_FROZEN = 1, KVFS_DRAINING = 2 };

typedef struct kvfs_server {
    kvfs fs;
    struct fuse_session *se;
    int state;                   /* KVFS_RUN, KVFS_FROZEN, KVFS_DRAINING */
    unsigned long long ops;      /* counted operations so far */
    unsigned long long syncs;    /* ... of which fsync and fsyncdir */
    unsigned long long freeze_at; /* freeze at this count (0: not armed) */
    const char *frozen_op;       /* the operation the freeze stopped */
    fuse_req_t *held;
    size_t nheld, held_cap;
    int tell_frozen;             /* say "frozen" on the control channel */
} kvfs_server;

extern const struct fuse_lowlevel_ops kvfs_ops;

/* Answers every held operation with EIO; returns how many there were. */
size_t kvfs_drop_held(kvfs_server *s);

#endif
