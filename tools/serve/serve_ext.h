/*
 * serve_ext.h: what a later stage adds to `kv serve`, chosen at run time.
 * A stage's kv hands serve_main its extension, or none: every stage's kv
 * but stage 10's passes none and serves its engine as it is; stage 10's
 * passes a member of a Raft group (stages/10-raft/member/, docs/10-raft.md),
 * whose engine is the group's.  The server and its extension meet here and
 * nowhere else, both ways:
 *   - the server calls the extension's operations (serve_ext_ops): its
 *     options, its start and stop, its share of the loop, a gate before
 *     each command, its own commands, and the writes of each batch;
 *   - the extension calls the server back only through the functions at
 *     the end (serve_host_*), which name clients and writes by id: it
 *     holds no pointer into the server and writes none of its structs.
 *
 * A write goes round like this:
 *   1. the server gathers a pass's writes into a batch (serve_commit.c)
 *      and hands them over as serve_writes, each with an id (plain puts
 *      and deletes in a row are one; each EXEC is one, its WATCH's values
 *      as conditions);
 *   2. the extension applies them its own way (a member proposes each as
 *      a command of the group's log);
 *   3. for each id, once, it calls serve_host_settle with the outcome;
 *   4. once every write of the batch is settled, the server answers the
 *      clients, as it answers a batch it applied itself.
 *
 * Threads: everything here runs on the server's loop thread.
 *
 * Invariants:
 *   E1. Each write handed over is settled exactly once, by id; an id the
 *       server no longer waits for is ignored.
 *   E2. A client the gate made WAIT runs the same request again only
 *       after serve_host_wake (or _wake_all) names it.
 *   E3. Keys that start with the prefix serve_host_hide_prefix names are
 *       the extension's own: to every client command they do not exist
 *       (reads find nothing, SCAN, KEYS and DBSIZE skip them) and a write
 *       to one is refused.
 */
#ifndef KV_SERVE_EXT_H
#define KV_SERVE_EXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "kv.h"
#include "resp.h"
#include "serve_out.h"

typedef struct serve_host serve_host;   /* the server, as an extension sees it */

/* A request's words: word i is base + arg[i].off, arg[i].len bytes. */
typedef struct serve_req {
    const char *base;
    const resp_span *arg;
    size_t argc;
} serve_req;

static inline const char *req_ptr(const serve_req *r, size_t i) { return r->base + r->arg[i].off; }
static inline size_t req_len(const serve_req *r, size_t i) { return r->arg[i].len; }
/* 1 if word i of r, any case, is `name`. */
static inline int serve_cmd_is(const serve_req *r, size_t i, const char *name)
{
    size_t n = strlen(name);
    return i < r->argc && req_len(r, i) == n && strncasecmp(req_ptr(r, i), name, n) == 0;
}

/* What a command is, as the command table says it (Redis's COMMAND has
 * the same): flags as bits, and where its keys are among its words. */
enum {
    SERVE_CMD_READONLY = 1 << 0,   /* reads the database, writes nothing */
    SERVE_CMD_WRITE = 1 << 1,      /* answered once its batch is applied */
    SERVE_CMD_FAST = 1 << 2,
    SERVE_CMD_ADMIN = 1 << 3,
    SERVE_CMD_LOADING = 1 << 4,    /* allowed while the database loads */
    SERVE_CMD_STALE = 1 << 5,      /* allowed on a replica that may be behind */
    SERVE_CMD_NOSCRIPT = 1 << 6,
    SERVE_CMD_NO_AUTH = 1 << 7,    /* allowed before AUTH */
    SERVE_CMD_DENYOOM = 1 << 8,
    SERVE_CMD_WATCHES = 1 << 9     /* reads its keys for a later EXEC (WATCH) */
};
typedef struct serve_cmd_info {
    const char *name;              /* lower case */
    unsigned flags;                /* SERVE_CMD_* */
    /* Its keys: words first_key, first_key + key_step, ... up to last_key
     * (-1: the last word); first_key 0 if it names none. */
    int first_key, last_key, key_step;
} serve_cmd_info;

/* A write handed to the extension (step 1 above). */
typedef struct serve_write_op {
    int del;                       /* 1: a delete (val unused) */
    const char *key, *val;
    size_t klen, vlen;
} serve_write_op;
typedef struct serve_write_cond {
    const char *key, *val;         /* holds when the key holds exactly val */
    size_t klen, vlen;
    int absent;                    /* ... or, if 1, when it is absent */
} serve_write_cond;
typedef struct serve_write {
    unsigned long long id;
    const serve_write_cond *conds; /* all hold, or none of ops applies */
    size_t nconds;
    const serve_write_op *ops;
    size_t nops;
} serve_write;
/* What became of a write (step 3). */
enum {
    SERVE_WRITE_APPLIED,    /* existed[i]: op i (a delete) found its key */
    SERVE_WRITE_REFUSED,    /* a condition did not hold: nothing applied */
    SERVE_WRITE_FAILED,     /* certainly not applied: err says why */
    SERVE_WRITE_UNKNOWN     /* may or may not have been applied: err says why */
};

/* What the gate is asked about: a command about to run, and its client. */
typedef struct serve_gate {
    unsigned long long client;     /* its id */
    int readonly;                  /* it said READONLY */
    /* The server's loop pass in which its last bytes arrived: a read may
     * be answered from what was committed after that (a read index). */
    unsigned long long input_pass;
    const serve_cmd_info *cmd;
    const serve_req *req;
    serve_out *out;                /* where an ANSWERED reply goes */
} serve_gate;
enum { SERVE_GATE_GO = 0, SERVE_GATE_WAIT = 1, SERVE_GATE_ANSWERED = 2 };

/* One of the extension's figures, for INFO's Cluster section and for
 * GET /metrics: `name` (lower case, no kv_ prefix) with an optional label
 * (label_key="label_value"): INFO says "name_labelvalue:value" (or
 * "name:value"), the metrics "kv_name{label_key="label_value"} value",
 * a counter's name followed by _total.  Figures of one name come one
 * after the other. */
typedef struct serve_figure {
    const char *name, *help;
    const char *label_key, *label_value;  /* both NULL: no label */
    int counter;                          /* 1 a counter, 0 a gauge */
    double value;
} serve_figure;
typedef void (*serve_figure_fn)(void *ctx, const serve_figure *f);

/* Where an extension's engine lives, as the server was told. */
typedef struct serve_ext_env {
    const char *dir;
    kv_options opt;                /* the engine's options (knobs, sync, files) */
} serve_ext_env;

typedef struct serve_ext_ops {
    const char *name;              /* for log lines: "a member of a Raft group" */
    /* Its state, made before the options are read; NULL: out of memory. */
    void *(*create)(void);
    void (*destroy)(void *x);
    /* Its options: usage lines; 1 if args[*i] is one of them (its value
     * taken, *i moved past it; *bad set after a message if the value is
     * not one), else 0. */
    void (*usage)(FILE *to);
    int  (*option)(void *x, char **args, int nargs, int *i, int *bad);
    /* After the options: 1 if they ask for the extension, 0 if the server
     * runs as any stage's, -1 after a message (they do not fit together,
     * or not with --stdio). */
    int  (*wanted)(void *x, int stdio);
    /* Opens its engine (serve_host_set_db) and starts: 0, or -1 after a
     * message. */
    int  (*start)(void *x, serve_host *h, const serve_ext_env *env);
    void (*stop)(void *x);         /* its engine closed, set back to NULL */
    /* Its share of the loop: a descriptor to watch (-1: none), the ms
     * until it needs to run (-1: no timer), and what is ready, done:
     * once a loop pass, after the pass read its clients' bytes (`pass`
     * numbers the passes from 1, as serve_gate's input_pass does). */
    int  (*fd)(void *x);
    int  (*timeout)(void *x);
    void (*run)(void *x, unsigned long long pass);
    /* Before a command runs: SERVE_GATE_*. */
    int  (*gate)(void *x, const serve_gate *g);
    /* CLUSTER (the extension's own command): its reply to out. */
    void (*cluster)(void *x, unsigned long long client, const serve_req *r, serve_out *out);
    /* The writes of a batch, in the order they must take effect (each
     * settled by id, E1; settling inside this call is allowed). */
    void (*propose)(void *x, const serve_write *w, size_t n);
    /* Its figures, each handed to fn (NULL: none). */
    void (*figures)(void *x, serve_figure_fn fn, void *ctx);
    /* The descriptors it may hold besides the engine's (its sockets),
     * kept out of the clients' share of the open-file limit. */
    size_t files;
} serve_ext_ops;

/* Calls back into the server (the extension's only way in). */
void serve_host_set_db(serve_host *h, kv_db *db);     /* the engine the server reads */
void serve_host_release_engine(serve_host *h);        /* its handles on the engine ended */
void serve_host_hide_prefix(serve_host *h, const char *prefix, size_t len);  /* E3 */
void serve_host_wake(serve_host *h, unsigned long long client);   /* E2 */
void serve_host_wake_all(serve_host *h);              /* every client the gate made wait */
int  serve_host_client_here(serve_host *h, unsigned long long client);
void serve_host_settle(serve_host *h, unsigned long long id, int outcome,
                       const uint8_t *existed, size_t nexisted, const char *err);  /* E1 */

#endif
