/*
 * kvgrade.h: kvgrade, the grader of an engine written in any language
 * that speaks RESP2 on its standard input and output (docs/kvgrade.md).
 * What the rungs share: the run's settings, each rung's result, and the
 * helpers every rung uses (fresh directories, running steps, saving and
 * shrinking a counterexample).
 *
 *   kvg_main.c     the command line, the order of the rungs, the exit status
 *   kvg_rung.c     the helpers below
 *   kvg_shrink.c   shrinking a failing list of steps (delta debugging)
 *   kvg_conform.c  rung 1, conformance: named checks of each command
 *   kvg_random.c   rung 2, the model: random sequences, shrunk on failure
 *   kvg_crash.c    rungs 3 and 4, kills and power cuts; the power rung's
 *                  exact part in kvg_images.c (its torn states kvg_torn.c,
 *                  the cause of a lost write kvg_cause.c: kvg_images.h)
 *   kvg_sweep.c    rung 5, the corruption sweep
 *   kvg_speed.c    rung 6, speed, with our stages beside the engine
 *   kvg_report.c   the scorecard and the HTML report
 * and below them kvg_run.h (steps and the checks: kvg_run.c runs them,
 * kvg_verify.c reads everything back), kvg_model.h (what the
 * engine must answer), kvg_engine.h (the process), kvg_fs.h (kvgrade-fs),
 * kvg_resp.h (RESP2).
 */
#ifndef KVGRADE_KVGRADE_H
#define KVGRADE_KVGRADE_H

#include <stdint.h>

#include "kvg_engine.h"
#include "kvg_fs.h"
#include "kvg_run.h"

enum { KVG_RUNG_CONFORMANCE, KVG_RUNG_MODEL, KVG_RUNG_KILLS, KVG_RUNG_POWER, KVG_RUNG_SWEEP,
       KVG_RUNG_SPEED, KVG_NRUNGS };
extern const char *const kvg_rung_names[KVG_NRUNGS];

enum { KVG_NOT_RUN, KVG_PASS, KVG_FAIL, KVG_SKIP };

typedef struct kvg_speed_row {
    char *engine;               /* "yours", or a stage */
    char *phase;
    double ops_per_s, p50_us, p99_us;
} kvg_speed_row;

typedef struct kvg_rung_result {
    int status;
    char *summary;              /* one line for the scorecard */
    char *detail;               /* figures, several lines */
    char *reason;               /* why it failed or was skipped */
    double seconds;
    /* The counterexample, if it failed: */
    kvg_steps cex;
    long cex_step;
    char *cex_file;             /* the replay file */
    char *cex_text;             /* the steps as text */
    /* For the plots: */
    kvg_crash_point *points;
    size_t npoints;
    kvg_speed_row *speed;
    size_t nspeed;
} kvg_rung_result;

typedef struct kvg_ctx {
    kvg_engine_cfg engine;
    int sync;                   /* --durability sync */
    int quick;                  /* --quick: the CI-sized share */
    size_t power_bytes;         /* --power-bytes: the power rung's exact run writes this much */
    uint64_t seed;
    char *work;                 /* this run's directory (removed at the end) */
    char *out;                  /* where counterexamples go: --report DIR, else the current directory */
    const char *fuse_missing;   /* why the power-cut file system cannot be used, or NULL */
    int pretend_no_fuse;
    int has_mset;               /* the engine answers MSET */
    int rung_wanted[KVG_NRUNGS];
    char *scale_kv[8];          /* our stages' kv, for the speed rung */
    char *scale_name[8];
    int nscale;
    unsigned long long dirs;    /* fresh directories made so far */
    char *self;                 /* how to run kvgrade again (for replay lines) */
    char *replay_engine_arg;    /* --engine as given, quoted for a shell */
    double started;
} kvg_ctx;

/* A small, fast random number generator (splitmix64): the same seed gives
 * the same rungs. */
uint64_t kvg_rand(uint64_t *state);
size_t   kvg_rand_below(uint64_t *state, size_t n);   /* in [0, n) */

/* A new, empty directory under parent (made durable in parent, so that a
 * cut keeps it); malloc'd path. */
char *kvg_fresh_dir(kvg_ctx *ctx, const char *parent, const char *tag);
/* Makes a directory and every missing one above it (mkdir -p): 0 or -1
 * (errno says why). */
int   kvg_make_dirs(const char *path);
/* Removes a directory tree. */
void  kvg_remove_tree(const char *path);

/* Runs steps on a fresh directory under parent (the file system's mount
 * or the work directory), with window w. */
int  kvg_try(kvg_ctx *ctx, kvg_steps *steps, kvg_fs *fs, const char *parent, int window,
             kvg_result *res);

/* Shrinks a failing list of steps (kvg_shrink.c): units are ranges of
 * steps that may be left out together; the failure must stay (any
 * failure).  Stops after `tries` runs or `seconds`.  Returns the runs made. */
typedef struct kvg_unit {
    size_t from, to;            /* [from, to) */
} kvg_unit;
typedef int (*kvg_fails_fn)(void *arg, kvg_steps *candidate);
size_t kvg_shrink(kvg_steps *steps, kvg_unit *units, size_t nunits, kvg_fails_fn fails, void *arg,
                  size_t tries, double seconds);

/* Records a failure: the steps (with what they saw) become the rung's
 * counterexample, saved as a replay file OUT/kvgrade-RUNG.replay. */
void kvg_rung_fail(kvg_ctx *ctx, kvg_rung_result *rr, const char *rung, const kvg_steps *steps,
                   const kvg_result *res, int window, int needs_fs);
void kvg_rung_skip(kvg_rung_result *rr, const char *why);
void kvg_rung_result_free(kvg_rung_result *rr);

/* The rungs. */
void kvg_probe_mset(kvg_ctx *ctx);
void kvg_rung_conformance(kvg_ctx *ctx, kvg_rung_result *rr);
void kvg_rung_model(kvg_ctx *ctx, kvg_rung_result *rr);
void kvg_rung_kills(kvg_ctx *ctx, kvg_rung_result *rr);
void kvg_rung_power(kvg_ctx *ctx, kvg_rung_result *rr);
/* The power rung's exact part (kvg_images.c): a cut after every
 * acknowledgement and at every sync point of a recorded run, on fs.  1 if
 * it failed (rr holds the counterexample); *line says what it covered. */
int  kvg_images_check(kvg_ctx *ctx, kvg_fs *fs, kvg_rung_result *rr, char **line);
void kvg_rung_sweep(kvg_ctx *ctx, kvg_rung_result *rr);
void kvg_rung_speed(kvg_ctx *ctx, kvg_rung_result *rr);

/* kvg_report.c */
void kvg_scorecard(FILE *out, const kvg_ctx *ctx, kvg_rung_result *rr);
int  kvg_report_html(const char *dir, const kvg_ctx *ctx, kvg_rung_result *rr);

#endif
