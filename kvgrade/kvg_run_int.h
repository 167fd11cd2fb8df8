/*
 * kvg_run_int.h: the state of a run of steps, shared by the files of
 * kvg_run.h's implementation: kvg_run.c (the loop: starting, sending,
 * stopping the engine, the file system's steps), kvg_verify.c (a verify
 * step: reading everything back and applying the check of kvg_run.h,
 * after damage or a crash) and kvg_run_engine.c (what both do with the
 * engine: its replies read and judged, waiting, killing, failures
 * recorded).  Nothing else includes it.
 */
#ifndef KVGRADE_KVG_RUN_INT_H
#define KVGRADE_KVG_RUN_INT_H

#include "kvg_run.h"

typedef struct run_pending {
    size_t step;
    int cls;                    /* KVG_Q_* */
    kvg_reply want;
    size_t first, count;        /* the writes it became */
} run_pending;

typedef struct run {
    const kvg_session *cfg;
    kvg_steps *steps;
    kvg_result *res;
    kvg_engine e;
    int running;                /* e is started and not yet stopped or killed */
    int dead;                   /* killed by a freeze: sends are skipped until start */
    kvg_model m;
    run_pending *q;
    size_t nq, qcap, qhead;
    int crash;                  /* 0 none, 1 kill, 2 cut: the next verify checks it */
    int fs_draining;            /* the file system drops ops: resume (or cut) before start */
    long long damage_allow;     /* -2: no damage; else the writes a torn tail may keep (-1: none) */
    int engine_error;           /* the engine broke a rule outside any check */
    double start_time;
    int restart_pending;        /* the first reply after a start is a restart time */
    size_t unanswered;          /* requests the last killed engine never answered */
    char *refusal;              /* the first error a read was answered with (text) */
    unsigned char *batch;       /* a batch step's requests, gathered to be sent in one write */
    size_t batch_len, batch_cap, batch_left;
} run;

/* kvg_run_engine.c: */
/* Records the run's first failure (step, what); later ones are dropped. */
void  run_fail(run *r, long step, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A note shown under a step (malloc'd text replaced). */
void  run_note(kvg_step *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *run_text_req(const kvg_req *q);       /* a request as text, malloc'd */
char *run_text_reply(const kvg_reply *p);   /* a reply as text, malloc'd */
/* How the engine ended, with the last lines of its standard error
 * (malloc'd text). */
char *run_exit_text(run *r);
/* The descriptor a wait also watches: the file system's, or -1. */
int   run_watch_fd(const run *r);
/* The engine killed (replies it wrote before it died read and checked). */
void  run_kill(run *r);
/* After the file system's descriptor woke a wait: reads what it said, and
 * if it froze (the cut point reached) kills the engine and marks the run
 * dead: 1; else 0. */
int   run_frozen(run *r);
/* The engine ended on its own: reaped and judged (doing: what it was asked). */
void  run_engine_gone(run *r, long step, const char *doing);
/* Reads replies until at most `left` are outstanding: 0, or -1 if the
 * engine is gone (killed by a freeze, ended, or failed a check). */
int   run_wait(run *r, size_t left);
/* 0 if step i (a verify, a close) may run now: the engine runs and has
 * answered everything; else -1 (the step marked skipped, or the engine
 * gone while waiting). */
int   run_step_ready(run *r, size_t i);
/* kvg_verify.c: a verify step. */
void  run_verify(run *r, size_t i);

#endif
