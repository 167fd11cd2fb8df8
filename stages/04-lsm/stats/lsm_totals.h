/*
 * lsm_totals.h: the totals, the counters of lsm_stats.h a database keeps
 * from one session to the next in DIR/STATS (S1 of lsm_stats.h;
 * stats_file.h is the file).  They sit above the counters: they bind them
 * to STATS, load them at open, save them, and print where they count from;
 * the counters know nothing of them.  lsm_totals.c says when a save
 * happens and what a crash loses.
 */
#ifndef KV_LSM_TOTALS_H
#define KV_LSM_TOTALS_H

#include <pthread.h>
#include <stdint.h>

#include "lsm_files.h"
#include "lsm_stats.h"
#include "stats_file.h"
#include "stats_text.h"

typedef struct lsm_totals {
    const char *dir;            /* where STATS is (the engine's path) */
    int read_only;              /* STATS is never written */
    uint64_t since_seq;         /* they count the work after this write (0: all) */
    char since[640];            /* and why from there, for kv_stats */
    stats_counters *bound;      /* the counters STATS keeps: since_seq, st's
                                   totals and levels */
    uint64_t *saved;            /* their values in STATS, as loaded or last saved */
    int rewrite;                /* STATS is damaged: the next save replaces it
                                   even if no total changed */
    pthread_mutex_t lock;       /* one save at a time; guards the four below */
    uint64_t saved_us;          /* lsm_now_us of the last save */
    uint64_t period_us;         /* while working, at most this long between saves */
    uint64_t save_failures;
    char save_error[512];
} lsm_totals;

/* What an engine counts: the counters, and the totals kept of them. */
typedef struct lsm_counting {
    lsm_stats stats;            /* lsm_stats.h */
    lsm_totals totals;
} lsm_counting;

/* At kv_open, once the table set is open (every write up to `flushed` is
 * in its tables, st->levels set) and the logs replayed (every write up to
 * last_seq is back): binds st's totals and loads DIR/STATS into them if
 * the listing l has it (a missing or damaged one is not an error: the
 * totals then count from here, and totals.since says why), and sets
 * st->opened.  dir and st must outlive t.  KV_OK or an error that is not
 * about STATS (memory, I/O).  REQUIRES: t->lock initialised. */
int  lsm_totals_open(lsm_totals *t, lsm_stats *st, const char *dir, int read_only,
                     uint64_t last_seq, const lsm_listing *l, uint64_t flushed);
/* After a background job: saves STATS if period_us has passed since the
 * last save.  A failed save is counted, not fatal.  REQUIRES: held locked
 * by the caller (released while saving). */
void lsm_totals_tick(lsm_totals *t, pthread_mutex_t *held);
/* At kv_close, after the last job: saves STATS if the totals changed since
 * the last save (or STATS must be written again).  KV_OK or the error. */
int  lsm_totals_save(lsm_totals *t);
/* kv_stats's lines about them: where they count from, failed saves. */
void lsm_totals_stats(lsm_totals *t, stats_text *s);
/* Frees what lsm_totals_open made (not the lock).  A zeroed t is a no-op. */
void lsm_totals_free(lsm_totals *t);

#endif
