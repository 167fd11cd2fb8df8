/*
 * kvg_run.h: steps, and running them against an engine.  Every rung, and
 * every counterexample it finds, is a list of steps; `kvgrade --replay
 * FILE` runs a saved list again with the same checks (kvg_steps.c reads
 * and writes the file; docs/kvgrade.md, "Replaying a counterexample").
 *
 * The steps:
 *   start            start the engine on the directory
 *   send REQ         send a request and wait for its reply
 *   pipe REQ         send a request; wait only while more than `window`
 *                    replies are outstanding
 *   batch N          the next N pipe steps go to the engine in one write,
 *                    as a client's pipeline does (so an engine that
 *                    gathers what it has read into one sync sees them all)
 *   wait N           wait until at most N replies are outstanding
 *   close            end its input; it must exit with status 0 (a clean
 *                    stop: everything acknowledged must survive it)
 *   kill             SIGKILL, now (with the file system, frozen first);
 *                    replies it wrote before it died still count
 *   arm N            the file system freezes the engine at its N-th
 *                    counted operation from now; kvgrade then kills it
 *   cut              the power cut (kvgrade-fs), after a kill
 *   image N A        the power cut to image N of kvgrade-fs's recording
 *                    (the durable state after its N-th sync: kvfs.h),
 *                    after a kill; the writes after the first A of the
 *                    history count as never acknowledged (they were not,
 *                    when that state was the durable one)
 *   image N A prefix OFF, image N A zero OFF
 *                    the same with the writes the next sync made durable
 *                    torn (kvfs.h, kvfs_tear): kept before byte OFF of
 *                    their file, or all but the sector at OFF
 *   verify           read everything back (RANGE page by page, then a GET
 *                    of every key ever written) and check it: against the
 *                    model, or after a crash against the crash rules
 *   flip FILE OFF    damage (the engine stopped): byte OFF of FILE XORed
 *   truncate FILE N  with 0xFF, or FILE cut to N bytes; "allow A" after
 *                    either says a torn tail may leave the first A writes
 *
 * Checks as the steps run: each reply against the model (kvg_model.h);
 * the engine must never exit or stop answering on its own; after a crash
 * the first verify applies the crash rule of the durability claimed:
 *   sync, kill or cut: a prefix of the writes keeping every acknowledged one
 *   none, kill:        a prefix keeping every write before the last clean stop
 *   none, cut:         every key holds a value once written to it (or none)
 * After damage (the sweep) a read may be refused (an error reply, or the
 * engine exits with a non-zero status), or must show the final state, or
 * one the torn-tail allowance permits; a crash signal or a hang fails.
 */
#ifndef KVGRADE_KVG_RUN_H
#define KVGRADE_KVG_RUN_H

#include "kvg_engine.h"
#include "kvg_fs.h"
#include "kvg_model.h"
#include "kvg_resp.h"

enum { KVG_ST_START, KVG_ST_SEND, KVG_ST_PIPE, KVG_ST_WAIT, KVG_ST_CLOSE, KVG_ST_KILL,
       KVG_ST_ARM, KVG_ST_CUT, KVG_ST_VERIFY, KVG_ST_FLIP, KVG_ST_TRUNCATE, KVG_ST_IMAGE,
       KVG_ST_BATCH };

typedef struct kvg_step {
    int kind;
    kvg_req req;                /* send, pipe */
    unsigned long long n;       /* wait, arm, batch: the count; flip: offset; truncate:
                                   length; image: the image */
    long long allow;            /* flip, truncate: writes a torn tail may keep, or -1;
                                   image: the writes acknowledged then */
    char *file;                 /* flip, truncate */
    char tear;                  /* image: 0, 'p' (a prefix) or 'z' (a lost sector) */
    unsigned long long tear_off; /* image: where */
    /* What happened when it ran: */
    int ran;                    /* 1 ran, 2 skipped (the engine was frozen and killed) */
    int has_reply;
    kvg_reply reply;
    char *note;
    size_t unanswered;          /* kill: requests it never answered */
} kvg_step;

typedef struct kvg_steps {
    kvg_step *s;
    size_t n, cap;
} kvg_steps;

kvg_step *kvg_steps_add(kvg_steps *l, int kind);
void kvg_steps_add_req(kvg_steps *l, int kind, size_t argc, const kvg_buf *argv);
void kvg_steps_free(kvg_steps *l);
void kvg_steps_copy(kvg_steps *to, const kvg_steps *from);   /* without results */
void kvg_steps_clear_results(kvg_steps *l);

/* One crash and what came back, for the report's plot. */
typedef struct kvg_crash_point {
    size_t sent, acked, kept;   /* writes since the last known state; kept = -1: no prefix */
    int cut;
    double restart;             /* seconds to the first reply after the restart */
} kvg_crash_point;

typedef struct kvg_session {
    const kvg_engine_cfg *engine;
    const char *dir;
    kvg_fs *fs;                 /* NULL: no power-cut file system */
    int sync;                   /* durability sync (else none) */
    int window;                 /* pipelined replies outstanding at most */
    /* Called after each acknowledged write, with the model's writes
     * acknowledged so far (the sweep lists the files; the power rung
     * notes the images). */
    void (*after_write)(void *ctx, size_t acked);
    void *ctx;
    /* Steps before this one only tell the model what was written (the
     * sweep starts each case from a copy of the database they made). */
    size_t model_only_until;
    /* Begin a recording of kvgrade-fs at the start (steps with an image
     * step load images of the recording this run makes). */
    int record;
} kvg_session;

enum { KVG_DAMAGE_NONE, KVG_DAMAGE_INTACT, KVG_DAMAGE_PREFIX, KVG_DAMAGE_REFUSED };

typedef struct kvg_result {
    int failed;
    long step;                  /* the step that failed */
    char *what;                 /* why, in words */
    kvg_crash_point *crashes;
    size_t ncrashes;
    double *restarts;           /* seconds from each start to its first reply */
    size_t nrestarts;
    int damage;                 /* after damage: KVG_DAMAGE_* */
    size_t requests;
    size_t writes_acked;
    int refused;                /* the failure: the engine exited with a non-zero status */
    int unreproduced;           /* the failure: an image step's state was not made by this
                                   run (the steps cannot be checked as saved) */
    /* After a crash, the oldest acknowledged write the engine's state
     * lacks (-1: none found): the model's write, its step, the pair. */
    long lost;
    long lost_step;
    kvg_buf lost_key, lost_val;
    int lost_del;
} kvg_result;

/* Runs the steps from a fresh start (dir must be empty or hold what the
 * steps expect: nothing, normally).  0 if every check passed, 1 if one
 * failed (res->what, res->step).  Step results are filled in. */
int  kvg_run(const kvg_session *cfg, kvg_steps *steps, kvg_result *res);
void kvg_result_free(kvg_result *res);

/* kvg_steps.c: the replay file. */
typedef struct kvg_replay_head {
    char *rung;
    int sync;
    int window;
    int needs_fs;
    char *engine;               /* the engine it was found with (a comment) */
    char *what;                 /* the failure it showed */
} kvg_replay_head;

int  kvg_steps_save(const char *path, const kvg_replay_head *h, const kvg_steps *l);
int  kvg_steps_load(const char *path, kvg_replay_head *h, kvg_steps *l, char **why);
/* The steps with what they saw, as text (the counterexample shown). */
void kvg_steps_print(FILE *out, const kvg_steps *l, long fail_step, size_t max_bytes);
void kvg_replay_head_free(kvg_replay_head *h);

#endif
