/*
 * kvg_images.h: the parts of the power rung's exact part (kvg_images.c)
 * that stand alone: the torn states a cut at an image can leave, and
 * which of them to check (kvg_torn.c), and the cause of a lost write in
 * words, from what kvgrade-fs saw (kvg_cause.c).
 *
 * A torn state is image i with the writes the next sync was making
 * durable (every write of one file since its last completed fsync: one
 * request's, or a pipelined batch's) kept in part, as a disk that writes
 * 512-byte sectors in any order leaves them (kvgrade/fs/kvfs.h,
 * kvfs_tear): a prefix, or all of them but one sector.
 */
#ifndef KVGRADE_KVG_IMAGES_H
#define KVGRADE_KVG_IMAGES_H

#include <stddef.h>

#include "kvgrade.h"

#define KVG_SECTOR 512u

/* The kinds of torn state, in the order the sample favours them. */
enum {
    KVG_TORN_HOLE,      /* a window of several writes (or 3 sectors or more) that lost its
                           first sector and kept the rest: damage followed by good bytes */
    KVG_TORN_TAIL,      /* the prefix that loses the window's last sector */
    KVG_TORN_SECTOR,    /* another lost sector */
    KVG_TORN_PREFIX,    /* another prefix: a sector boundary or an odd byte */
    KVG_TORN_KINDS
};

typedef struct kvg_torn_state {
    unsigned long long image;
    char tear;                  /* 'p' (a prefix) or 'z' (a lost sector): kvfs_tear */
    size_t off;
    size_t lo, hi, old_len;     /* the window: bytes [lo, hi) of file, durable length old_len */
    size_t writes;              /* the write calls that made the window */
    char *file;                 /* in the engine's directory */
    int kind;                   /* KVG_TORN_* */
} kvg_torn_state;

typedef struct kvg_torn_states {
    kvg_torn_state *s;
    size_t n, cap;
} kvg_torn_states;

/* Adds the torn states of image i (none if the sync after it is not a
 * named file's): a prefix cut at each sector boundary inside the window
 * and at its first, middle and last byte, and each sector lost but the
 * one holding its last byte.  dir: the engine's directory (file names
 * are said below it). */
void   kvg_torn_collect(kvg_fs *fs, const char *dir, unsigned long long i, kvg_torn_states *out);
/* Which states to check, at most `limit`: all, or of each kind a share
 * (holes a quarter, tails a half, other lost sectors an eighth, other
 * prefixes the rest; a share a kind leaves unused goes to the next),
 * each kind sampled evenly.  Sets pick[]; returns how many. */
size_t kvg_torn_pick(const kvg_torn_states *l, size_t limit, char *pick);
/* The state, and the rule it checks, in words (malloc'd). */
char  *kvg_torn_words(const kvg_torn_state *st);
void   kvg_torn_states_free(kvg_torn_states *l);

/* Why res->lost (an acknowledged write missing after the cut to image
 * `image`) was lost, from kvgrade-fs's journal: ack_op is the journal's
 * length when it was acknowledged, req the request that wrote it, dir the
 * engine's directory.  A sentence naming the file or directory and the
 * sync it lacked (malloc'd), or NULL when kvgrade-fs cannot tell. */
char  *kvg_cause(kvg_fs *fs, const char *dir, size_t ack_op, unsigned long long image,
                 const kvg_req *req, const kvg_result *res);

#endif
