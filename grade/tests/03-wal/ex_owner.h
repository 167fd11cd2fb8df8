/*
 * ex_owner.h: an owner of a group-commit queue (wal_queue.h) for the
 * tests: one log file, records that carry a number, and a record of the
 * order in which they were applied.  Its write (ex_write_run) follows the
 * steps of wal_queue.h, as stages 03 and 04 do: join; as the leader, under
 * the write lock, make room, append, apply each record; finish.
 */
#ifndef KV_GRADE_EX_OWNER_H
#define KV_GRADE_EX_OWNER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "wal_queue.h"

#define EX_OWNER_MAX 4096

typedef struct ex_owner {
    pthread_mutex_t lock;       /* the write lock */
    const char *dir;
    io_file *log;
    uint64_t size;
    int fail_prepare;           /* making room refuses its call number fail_prepare (1-based) */
    int failed_calls;           /* appends that failed for good (wal_queue_failed) */
    int applied_locked;         /* apply ran without the write lock: counted */
    uint64_t synced_before_apply_violations;
    int napplied;
    uint32_t applied[EX_OWNER_MAX];
    uint64_t applied_start[EX_OWNER_MAX]; /* each applied entry's start and end */
    uint64_t applied_end[EX_OWNER_MAX];
    int prepares;
    int sync;                   /* as the queue was made with */
    int own_append;             /* a leader appends with the test's own
                                   framing (ex_wal.h), not wal_queue_append:
                                   the group tests do not lean on exercise
                                   commit, which comes after them */
    int groups, records;        /* counted by the leaders, under the lock */
    wal_queue *q;
} ex_owner;

/* One write: 'R' then a 4-byte number. */
typedef struct ex_write {
    wal_entry e;
    ex_owner *o;
    uint8_t payload[8];
    int applied;
} ex_write;

void ex_owner_init(ex_owner *o, int sync);
/* Fills w for number `id` of owner o. */
void ex_write_init(ex_write *w, ex_owner *o, uint32_t id);
/* Writes w through the queue: KV_OK once it was applied, or the error. */
int  ex_write_run(ex_write *w);
/* What a leader does once wal_queue_join returned 1 with g: under the
 * write lock, make room, append (wal_queue_append, or with own_append the
 * test's own framing, one write and, with sync, one fsync), apply each
 * record; then finish g.  Returns the group's status. */
int  ex_owner_lead(ex_owner *o, wal_group *g);
int ex_owner_close(ex_owner *o);
/* Appends the n writes w[0..n) as one group made by hand (no join, no
 * finish: the queue is idle), as a leader would: make room, append, apply.
 * KV_OK or wal_queue_append's error. */
int ex_owner_append_group(ex_owner *o, ex_write *w, size_t n);

#endif
