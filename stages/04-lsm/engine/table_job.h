/*
 * table_job.h: a job of the table set (table_set.h), an interface: what
 * the set picked for the engine to do, which tables it reads, where its
 * output goes, and the two questions a merge asks as it writes.  The
 * engine does the work (lsm_flush.c, lsm_compact.c) and hands the job
 * back to table_set_apply; each set implements the questions (stage 04's
 * flat list in flat_set.c, stage 06's levels in level_pick.c).  LevelDB's
 * Compaction plays this part (db/version_set.h: ShouldStopBefore,
 * IsBaseLevelForKey, IsTrivialMove).
 *
 * The kinds:
 *   FLUSH  the frozen memtable's writes lo..hi into one new table (the set
 *          decides at apply where it goes);
 *   MERGE  the inputs (newest first) merged into new tables, without what
 *          drop_rule.h lets go;
 *   MOVE   no byte rewritten: the one input changes level (an edit only).
 */
#ifndef KV_TABLE_JOB_H
#define KV_TABLE_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "level_counters.h"
#include "table.h"

/* What the engine asks table_set_pick for. */
typedef enum table_ask_kind {
    TABLE_ASK_FLUSH,            /* a job for the frozen memtable */
    TABLE_ASK_BACKGROUND,       /* the next job the set wants done, if any */
    TABLE_ASK_MANUAL,           /* kv_compact: the next step of merging
                                   everything down (step 0, then the job's
                                   next_step) */
} table_ask_kind;

typedef struct table_ask {
    table_ask_kind kind;
    uint64_t lo, hi;            /* FLUSH: the writes the memtable holds */
    int during_merge;           /* FLUSH: made while a merge runs */
    int step;                   /* MANUAL */
    uint64_t oldest;            /* BACKGROUND, MANUAL: the oldest live snapshot */
} table_ask;

typedef enum table_job_kind { TABLE_JOB_FLUSH, TABLE_JOB_MERGE, TABLE_JOB_MOVE } table_job_kind;

/* An output table: where the set wants it built, and what the engine
 * wrote, once finished. */
typedef struct table_output {
    char *path;                 /* the set's */
    uint64_t number;            /* the set's name for it */
    int finished;               /* the engine's, from here on */
    table_meta meta;
    uint8_t *smallest, *largest; /* internal keys, malloc'd */
    size_t smallest_len, largest_len;
    uint64_t dead, dead_from;   /* entries a newer version of their key in
                                   the table hides, and the oldest snapshot
                                   from which on all of them may go
                                   (drop_rule.h) */
} table_output;

typedef struct table_job {
    table_job_kind kind;
    int level;                  /* the level its output goes to, for the
                                   engine's counts (a flush: known once
                                   applied); -1: the set has no levels */
    int garbage;                /* picked for the versions no reader needs */
    int manual;                 /* for kv_compact */
    int next_step;              /* MANUAL: the step to ask for next */
    uint64_t lo, hi;            /* FLUSH */
    int during_merge;           /* FLUSH: made while a merge runs */
    table **inputs;             /* MERGE, MOVE: newest first */
    size_t ninputs;
    uint64_t bytes_read;        /* the inputs' bytes */
    int keep_one;               /* a merge's output must hold an entry: if
                                   it would hold none, the newest tombstone
                                   dropped is kept (stage 04: the tables'
                                   names say how far the logs are flushed) */
    table_output *outputs;
    size_t noutputs, outputs_cap;
    void *set;                  /* the set's own */
} table_job;

/* Whether the merge's current output table should end before the entry
 * ikey (its first entry of a user key: a key's versions never span two
 * tables), the output holding `bytes` so far (0: none open). */
int  table_job_split_before(table_job *job, const uint8_t *ikey, size_t len, uint64_t bytes);
/* Whether nothing older of the user key can lie below the job's output
 * (C2 of drop_rule.h: a tombstone may then go). */
int  table_job_base_for_key(table_job *job, const uint8_t *ukey, size_t len);

#endif
