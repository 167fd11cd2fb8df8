/*
 * kvg_fs.h: kvgrade's side of the power-cut file system: starting
 * kvgrade-fs on a mount point, its commands (freeze-at, freeze, drop,
 * cut, resume, stats: kvgrade/fs/kvfs_main.c), and clearing the mounts a
 * killed kvgrade left behind.
 *
 * kvg_fs_start says why when it cannot mount (no /dev/fuse, no fuse3, no
 * permission, or KVGRADE_NO_FUSE set): the rungs that need it are then
 * skipped, loudly, never passed.
 */
#ifndef KVGRADE_KVG_FS_H
#define KVGRADE_KVG_FS_H

#include <sys/types.h>

typedef struct kvg_fs {
    pid_t pid;
    int to, from;          /* its standard input and output */
    char *mount;           /* the mount point */
    char line[2048];       /* the last line it answered */
    char buf[4096];        /* bytes read, not yet a whole line */
    size_t len;
    int frozen;            /* it said "frozen" */
    char frozen_op[32];
} kvg_fs;

/* The path of kvgrade-fs: $KVGRADE_FS, or beside this program. */
const char *kvg_fs_program(void);
/* Why FUSE cannot be used here (NULL if it may be): KVGRADE_NO_FUSE set
 * (or `pretend` set by --no-fuse), no /dev/fuse, no kvgrade-fs program. */
const char *kvg_fs_unavailable(int pretend);
/* Mounts a new, empty file system on mount (made if missing): 0, or -1
 * with *why (malloc'd). */
int  kvg_fs_start(kvg_fs *fs, const char *mount, char **why);
/* Sends a command and reads its answer into fs->line (a "frozen" line on
 * the way sets fs->frozen): 0 if it began with "ok", -1 otherwise. */
int  kvg_fs_cmd(kvg_fs *fs, const char *cmd);
/* Reads what kvgrade-fs said unasked (after poll found fs->from
 * readable): sets fs->frozen on "frozen". */
void kvg_fs_poll(kvg_fs *fs);
/* Unmounts and waits for it to exit. */
void kvg_fs_stop(kvg_fs *fs);
/* Detaches every mount under base whose owner (base/run-PID-...) is no
 * longer running, and removes those run directories. */
void kvg_fs_clear_stale(const char *base);

#endif
