/*
 * alloc_run.h: running one operation with each of its allocations failing
 * in turn (alloc_wrap.h), and what must hold afterwards.
 *
 * A case names a database to start from (a template, built once per test
 * without failures), whether the operation needs the database open, the
 * operation itself, and what it changes when it succeeds.  The driver
 * (alloc_run_case) runs it for n = 1, 2, ... with the nth allocation of the
 * operation failing, until a run reaches no failure, and requires of each
 * run:
 *   - the operation returns what it returns without failures (KV_OK, or
 *     what the case says), or KV_ERR_NOMEM with a kv_errmsg();
 *   - no crash and no sanitizer report (the binary runs under ASan and
 *     UBSan in `make test`, each test in a process of its own);
 *   - on an open database, a failed write shows nothing of itself to a
 *     reader (kv.h), and the database still takes a write;
 *   - after a close and a reopen without failures, every key holds what
 *     the model says (a failed write may or may not be there, whole), and
 *     kv_check finds nothing wrong;
 *   - every block the library allocated during the run is freed again.
 */
#ifndef KV_TESTS_ALLOC_RUN_H
#define KV_TESTS_ALLOC_RUN_H

#include <stddef.h>

#include "kv.h"

#define ALLOC_KEYS 16 /* the model's keys: "key00".."key15" */

/* What each key holds: a value, or absent (len < 0). */
typedef struct alloc_model {
    char value[ALLOC_KEYS][3000];
    int len[ALLOC_KEYS];
} alloc_model;

/* The database a case starts from. */
enum {
    ALLOC_FROM_NOTHING,  /* no directory yet */
    ALLOC_FROM_SEGMENTS, /* puts, overwrites and deletes over small segments */
    ALLOC_FROM_MERGED,   /* the same, merged (hint files, where a stage has
                            them), and a few puts after the merge */
    ALLOC_FROM_TORN      /* ALLOC_FROM_SEGMENTS and a last put cut short by a
                            crash (a torn tail) */
};

typedef struct alloc_env {
    const char *dir;   /* the database */
    kv_db *db;         /* open (without failures) if the case needs it */
    kv_options opt;    /* the options of every open */
    const alloc_model *model; /* what the database holds before the operation */
    char problem[300]; /* set by an operation that saw something wrong */
} alloc_env;

typedef struct alloc_case {
    const char *name;
    int from;          /* ALLOC_FROM_* */
    int needs_open;
    int sync;          /* kv_options.sync of every open */
    int strict;        /* kv_options.strict_recovery of the operation's open */
    int read_only;     /* kv_options.read_only of the operation's open */
    int want;          /* what the operation returns without failures */
    /* The operation, run with failures armed; returns its kv status. */
    int (*run)(alloc_env *e);
    /* What it changes when it succeeds (NULL: nothing). */
    void (*effect)(alloc_model *m);
} alloc_case;

/* Runs the case with each allocation failing in turn (see the top). */
void alloc_run_case(const alloc_case *c);

/* The name of key i ("key07"), and a value for it. */
size_t alloc_key(char buf[8], int i);
void alloc_model_put(alloc_model *m, int i, const char *val, size_t len);
void alloc_model_delete(alloc_model *m, int i);
/* Whether db holds exactly m (checked with kv_get, no failures armed). */
int alloc_model_matches(kv_db *db, const alloc_model *m, char *why, size_t n);

#endif
