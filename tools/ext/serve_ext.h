/*
 * serve_ext.h: what a later stage adds to `kv serve`, chosen at run time.
 * A stage's kv hands serve_main its extension, or none: every stage's kv
 * but stage 10's passes none and serves its engine as it is; stage 10's
 * passes a member of a Raft group (stages/10-raft/member/, docs/10-raft.md),
 * whose engine is the group's.  The server and its extension meet here and
 * nowhere else, both ways:
 *   - the server calls the extension's operations (serve_ext_ops): its
 *     options, its start and stop, its share of the loop, a gate before
 *     each command, its own commands (rows of the server's command
 *     table: serve_ext_cmd), and the writes of each batch;
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
 *   4. once every write of the batch is settled, and every batch handed
 *      over before it is answered, the server answers the clients, as it
 *      answers a batch it applied itself.
 * The extension says how many batches it may hold at once (`in_flight`):
 * the server hands over the next pass's batch while earlier ones are
 * still out, up to that many, once it holds `in_flight_ops` ops; with
 * none out, it may hold a batch a little for the clients the last one
 * answered (`gather_us`), so that they ride in one batch, not two.
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
 *   E4. Batches are answered in the order they were handed over, whatever
 *       order their writes are settled in: a client whose pipelined
 *       writes went out in several batches gets its replies in the order
 *       it sent them.  At most `in_flight` batches are out at once.
 */
#ifndef KV_SERVE_EXT_H
#define KV_SERVE_EXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "kv.h"
#include "serve_out.h"
#include "serve_req.h"

typedef struct serve_host serve_host;   /* the server, as an extension sees it */

/* What a command is, as the command table says it (Redis's COMMAND has
 * the same): flags as bits, and where its keys are among its words.
 * Every rule about commands reads these, never a command's name. */
enum {
    SERVE_CMD_READONLY = 1 << 0,   /* reads the database, writes nothing */
    SERVE_CMD_WRITE = 1 << 1,      /* answered once its batch is applied */
    SERVE_CMD_WATCHES = 1 << 2,    /* reads its keys for a later EXEC (WATCH) */
    SERVE_CMD_NO_AUTH = 1 << 3,    /* allowed before AUTH (with --requirepass) */
    SERVE_CMD_SKIP_SLOWLOG = 1 << 4, /* never in the slow log (EXEC: its commands are) */
    SERVE_CMD_SECRET = 1 << 5,     /* its words after the name are never logged (AUTH) */
    SERVE_CMD_EXTENSION = 1 << 6,  /* the extension's own (CLUSTER): its subcommands
                                      are the extension's rows (serve_ext_cmd) */
    /* Reported by COMMAND for clients, in Redis's words; decided on by
     * nothing here: */
    SERVE_CMD_FAST = 1 << 7,
    SERVE_CMD_ADMIN = 1 << 8,
    SERVE_CMD_DENYOOM = 1 << 9
};
typedef struct serve_cmd_info {
    const char *name;              /* lower case: for messages, never compared */
    const char *sub;               /* a subcommand's row: its word, likewise; else NULL */
    int arity;                     /* its words: n exactly, or -n: n or more (serve_arity_fits) */
    unsigned flags;                /* SERVE_CMD_* */
    /* Its keys: words first_key, first_key + key_step, ... up to last_key
     * (-1: the last word); first_key 0 if it names none. */
    int first_key, last_key, key_step;
    int kind;                      /* an extension's row: its own number (serve_ext_cmd);
                                      the server's rows: 0 */
} serve_cmd_info;
/* 1 if a request of argc words fits a row's arity (Redis's convention,
 * every word counted, the command's name and its subcommand's too: n
 * words exactly, or -n: n or more).  The one reading of an arity. */
static inline int serve_arity_fits(int arity, size_t argc)
{
    return arity > 0 ? argc == (size_t)arity : argc >= (size_t)-arity;
}

/* A subcommand of CLUSTER (the extension's own command), as the extension
 * declares it: a row the server puts in its command table, after CLUSTER's
 * own, when it starts with the extension (serve_cmd_table.c).  Like every
 * row, it is found by its word (CLUSTER's word 1, any case), its arity is
 * checked before it runs (a request it refuses gets `cluster` below), and
 * COMMAND INFO, INFO commandstats ("cluster|slots") and the gate read it.
 * The gate is told its `kind` and its arity, so that no rule of the
 * extension compares a subcommand's name; a row the gate answers itself
 * checks the arity there (serve_arity_fits).  Its flags are the server's
 * SERVE_CMD_* (SERVE_CMD_EXTENSION is added). */
typedef struct serve_ext_cmd {
    const char *sub;               /* lower case */
    int arity;                     /* every word counted: CLUSTER KEYSLOT key is 3 */
    unsigned flags;                /* SERVE_CMD_* */
    int kind;                      /* the extension's own number for it (0 if none) */
    /* Its reply to out; NULL for a row the gate always answers (WAIT,
     * then ANSWERED: a membership change). */
    void (*run)(void *x, unsigned long long client, const serve_req *r, serve_out *out);
} serve_ext_cmd;

/* A write handed to the extension (step 1 above): a put or a delete of
 * one key, applied only if its condition holds on the key just before it
 * (after the ops before it in the same write); or, inside an EXEC, a
 * read of one key (GET, MGET, EXISTS...), answered with what the key
 * holds there, after the ops before it, where the write applies. */
enum {
    SERVE_OP_ALWAYS = 0,
    SERVE_OP_IF_ABSENT = 1,        /* SET ... NX */
    SERVE_OP_IF_PRESENT = 2        /* SET ... XX */
};
typedef struct serve_write_op {
    int del;                       /* 1: a delete (val unused) */
    int cond;                      /* SERVE_OP_*: a put's (a delete's is ALWAYS) */
    const char *key, *val;
    size_t klen, vlen;
    int read;                      /* 1: a read of key (del, cond and val unused) */
} serve_write_op;
/* 1 if an op whose key held a value just before it (existed) or not
 * applies, by its condition. */
static inline int serve_op_applies(int cond, int existed)
{
    return cond == SERVE_OP_ALWAYS || (cond == SERVE_OP_IF_ABSENT) == !existed;
}
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
/* What applying a write found, for its replies: one byte per op that is
 * not a read, in order, 1 if its key held a value just before it (a DEL's
 * count, a SET NX's answer); one answer per read, in order (what its key
 * held there).  The extension's, valid during serve_host_settle. */
typedef struct serve_read_found {
    int found;
    const char *val;               /* found: the value, vlen bytes */
    size_t vlen;
} serve_read_found;
typedef struct serve_found {
    const uint8_t *existed;
    size_t nexisted;
    const serve_read_found *reads;
    size_t nreads;
    const char *reads_lost;        /* not NULL: the write applied, but its reads'
                                      answers could not be returned, and why */
} serve_found;
/* What became of a write (step 3). */
enum {
    SERVE_WRITE_APPLIED,    /* `found` says what its ops found */
    SERVE_WRITE_REFUSED,    /* a condition did not hold: nothing applied */
    SERVE_WRITE_FAILED,     /* certainly not applied: err says why */
    SERVE_WRITE_UNKNOWN     /* may or may not have been applied: err says why */
};

/* What the gate is asked about: a command about to run (or be queued
 * after MULTI), and its client.  Every command passes it, queued ones
 * too, as every command passes Redis Cluster's redirect check. */
typedef struct serve_gate {
    unsigned long long client;     /* its id */
    int readonly;                  /* it said READONLY */
    /* The server's loop pass in which its last bytes arrived: a read may
     * be answered from what was committed after that (a read index). */
    unsigned long long input_pass;
    /* What the command is.  For EXEC, what its transaction does: a write
     * if a queued command writes or a WATCH is live (its values become
     * conditions), a read if a queued command reads. */
    const serve_cmd_info *cmd;
    const serve_req *req;
    int queued;                    /* after MULTI: to be queued, not run now */
    /* The first of its keys (EXEC: of its queue's, else of its WATCH's),
     * by the table's positions: what a redirect names; NULL if none. */
    const char *key;
    size_t klen;
    serve_out *out;                /* where an ANSWERED reply goes */
} serve_gate;
/* GO: run it (or queue it).  WAIT: run it again once woken (E2).
 * ANSWERED: the reply is written (a redirect, a refusal); a queued
 * command so answered makes its EXEC answer EXECABORT, and an EXEC so
 * answered drops its transaction, as Redis Cluster does. */
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
     * numbers the passes from 1, as serve_gate's input_pass does); and
     * again at the end of the pass, with the same number, if its timeout
     * is 0 once the pass's clients have run (their writes, handed over,
     * gave it work it can do at once: a member's messages to send). */
    int  (*fd)(void *x);
    int  (*timeout)(void *x);
    void (*run)(void *x, unsigned long long pass);
    /* Before a command runs, or is queued: SERVE_GATE_*. */
    int  (*gate)(void *x, const serve_gate *g);
    /* CLUSTER (the extension's own command): its subcommands' rows
     * (serve_ext_cmd, ended by one with a NULL sub), and its reply to a
     * CLUSTER that none of them takes (a word 1 none has, or a number of
     * words its row's arity refuses). */
    const serve_ext_cmd *cluster_cmds;
    void (*cluster)(void *x, unsigned long long client, const serve_req *r, serve_out *out);
    /* The writes of a batch, in the order they must take effect, after
     * those of every batch handed over before (each settled by id, E1;
     * settling inside this call is allowed). */
    void (*propose)(void *x, const serve_write *w, size_t n);
    /* How many batches it may hold unsettled at once (E4); 0 or 1: one
     * at a time, the next handed over once the last is settled.  And how
     * many ops a batch must hold to be handed over while another is out:
     * a smaller one waits for more, as it waits with in_flight 1 (each
     * batch costs the extension a price of its own whatever its size: a
     * member, an entry with its messages and appends). */
    size_t in_flight, in_flight_ops;
    /* How long a batch may wait, with nothing in flight, for the clients
     * the last settled batch answered, in microseconds (0: it never
     * waits).  Clients that each send a write and wait for its answer
     * come back one by one: handed over at once, the first back would
     * ride alone and the rest in the batch after, two thin batches
     * each round where one would carry them all.  So the server holds
     * the gathering batch until every client that batch answered has
     * sent its next command (a read counts) or left, at most this long
     * and at most as long as that batch was out. */
    unsigned gather_us;
    /* Its figures, each handed to fn (NULL: none). */
    void (*figures)(void *x, serve_figure_fn fn, void *ctx);
    /* The descriptors it may hold besides the engine's (its sockets),
     * kept out of the clients' share of the open-file limit. */
    size_t files;
} serve_ext_ops;

/* Calls back into the server (the extension's only way in). */
/* The engine the server reads and writes: set once the extension's
 * start has opened it, again after it replaced it (a restore), and to
 * NULL at stop; between, the server's handles on the old one ended
 * first (serve_host_release_engine). */
void serve_host_set_db(serve_host *h, kv_db *db);
void serve_host_release_engine(serve_host *h);        /* its handles on the engine ended */
void serve_host_hide_prefix(serve_host *h, const char *prefix, size_t len);  /* E3 */
void serve_host_wake(serve_host *h, unsigned long long client);   /* E2 */
void serve_host_wake_all(serve_host *h);              /* every client the gate made wait */
int  serve_host_client_here(serve_host *h, unsigned long long client);
/* 1 if the extension's descriptor (fd) was ready in this pass's wait. */
int  serve_host_ext_ready(serve_host *h);
/* E1: found (NULL: nothing) for APPLIED, err for FAILED and UNKNOWN. */
void serve_host_settle(serve_host *h, unsigned long long id, int outcome,
                       const serve_found *found, const char *err);

#endif
