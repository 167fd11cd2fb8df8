/*
 * offline.h: what every stage's offline tools share (kv_check, kv_dump and
 * kv_repair in include/kv.h, which work on a closed directory): the checks
 * before they read anything, how the statuses of many files add up to
 * one, and the words of the verdict.
 *
 * A tool reports each file as it goes and ends with one line of totals;
 * offline_verdict is that line's last word, and offline_finish leaves the
 * message kv_errmsg() gives for damage.  The statuses, best to worst:
 *   KV_OK              intact;
 *   KV_CHECK_WILL_CUT  readable, but kv_open cuts off a torn tail;
 *   KV_ERR_CORRUPT     damage kv_open refuses;
 *   any other error    a file could not be read at all (I/O, memory).
 *
 * kv_repair sets aside what it cannot use in the directory's lost/ folder
 * (OFFLINE_LOST_DIR), as LevelDB's RepairDB does (db/repair.cc): never
 * part of the database, kept for whoever wants to look at it.
 */
#ifndef KV_COMMON_OFFLINE_H
#define KV_COMMON_OFFLINE_H

#include <stddef.h>

#include "kv.h"

#define OFFLINE_LOST_DIR "lost"

/* The directory argument of tool `call` ("kv_check", ...): not NULL, and a
 * directory that exists.  KV_OK, or KV_ERR_INVALID naming it. */
int offline_dir_check(const char *call, const char *dir);

/* The worse of two statuses (above). */
int offline_worse(int a, int b);

/* The statuses of many files added up (offline_status_add: the worse of
 * two), keeping the message of the first failure that is not damage (an
 * I/O error, no memory): the files checked after it set or clear
 * kv_errmsg, and the tool must return that failure saying why. */
#define OFFLINE_WHY_MAX 512
typedef struct offline_status {
    int rc;                      /* the worst so far */
    char why[OFFLINE_WHY_MAX];   /* kv_errmsg of the failure rc is, if one */
} offline_status;

void offline_status_add(offline_status *s, int rc);
/* Returns s->rc with kv_errmsg() saying why: a failure's own message, or
 * for damage offline_finish's (not if dir is NULL: kv_dump, whose lines
 * are the report). */
int offline_status_end(const char *dir, const offline_status *s);

/* "ok", "kv_open will cut a torn tail" or "DAMAGED", for the totals line. */
const char *offline_verdict(int status);

/* Returns status; for KV_ERR_CORRUPT it also sets kv_errmsg() to say that
 * the lines above list the damage. */
int offline_finish(const char *dir, int status);

/* 1 if `name`, in a database directory, is kv_repair's lost/ folder. */
int offline_is_lost_dir(const char *name);

/* Copies dir's file `name` into dir/lost/ (as lost/NAME, or lost/NAME.1,
 * NAME.2, ... if that is taken), synced, the folders synced; *kept_as gets
 * its path within dir.  KV_OK or an error. */
int offline_set_aside(const char *dir, const char *name, char *kept_as, size_t cap);

#endif
