/*
 * server.h: what the files of `kv serve` share: the server, its clients,
 * the limits, and the functions each file offers the others.
 *
 * Its files in floors, each calling only files on the floors below it
 * (tests/structure_test.py checks there is no circle):
 *
 *   top         serve_main.c    options, the listening socket, signals,
 *                               open and close
 *               serve_loop.c    the epoll loop: accept, read, run, write,
 *                               shut down
 *               serve_host.c    the calls a later stage's extension makes
 *                               back into the server (tools/ext/serve_ext.h)
 *   requests    serve_cmd_run.c running a request: the row it names,
 *                               the checks (wait, the gate, AUTH, arity,
 *                               MULTI), what runs it, its counts
 *               serve_cmd_table.c  the command table: a row per command
 *                               and subcommand, found by name; COMMAND
 *   commands    serve_read_cmds.c  PING ECHO GET MGET EXISTS TYPE STRLEN
 *                               RANGE: reads from a view (serve_view)
 *               serve_write_cmds.c SET MSET DEL, each as its effect
 *               serve_conn_cmds.c  QUIT AUTH READONLY READWRITE CLUSTER
 *               serve_multi.c   MULTI, EXEC, DISCARD, RESET: a client's
 *                               queue, its EXEC handed to the batch
 *               serve_watch.c   WATCH, UNWATCH: a kv_txn per watching
 *                               client, and how long it may live
 *               serve_scan.c    SCAN and its cursors; the walk SCAN and
 *                               KEYS share
 *               serve_keys.c    KEYS, answered over several loop passes
 *               serve_info.c    INFO, DBSIZE
 *               serve_config.c  CONFIG GET, SET, RESETSTAT
 *               serve_slowlog.c SLOWLOG
 *               serve_http.c, serve_metrics.c  GET /metrics (--metrics-port)
 *   the batch   serve_commit.c  writes gathered per loop pass, cut into
 *                               chunks of about 64 ops, answered once
 *                               applied (serve_batch.h)
 *               serve_writers.c one kv_write per chunk: inline, or by
 *                               writer threads (with --sync, and for
 *                               large batches)
 *               serve_handoff.c a batch handed to the extension as writes
 *                               with ids, answered from their outcomes
 *               serve_txn.c     running EXECs: their queues in one kv_txn,
 *                               committed
 *               serve_queue.c   an EXEC settled and answered, a queue
 *                               emptied (serve_queue.h)
 *               serve_effect.c  a write's effect applied in a kv_txn, and
 *                               answered from what its ops found
 *   ground      serve_clients.c the loop's lists of clients to run and
 *                               to send to
 *               serve_stats.c   counts per command (serve_stats.h);
 *                               serve_errtally.c per error code
 *               serve_out.c     reply encoding; resp.c request parsing
 *               serve_glob.c    Redis-style glob patterns (serve_glob.h)
 *               serve_log.c, http_request.c, metrics_engine.c
 *
 * The command table (serve_cmd_table.c) is read through server.cmds, so
 * the files below it need not call up to it.
 *
 * Threads: one loop thread does everything except applying batches when
 * --sync is given; then SERVE_WRITERS writer threads call kv_write (which
 * returns after the fsync) while the loop goes on serving other clients.
 * Without --sync one writer thread applies the batches too large to apply
 * on the loop thread (SERVE_INLINE_OPS, SERVE_INLINE_BYTES).
 * The loop thread owns every field below; the writer thread touches only
 * the batch it was handed (serve_commit.c says how).  See docs/server.md.
 *
 * Invariants:
 *   1. A client's replies leave in the order of its requests.  A write
 *      (SET, MSET, DEL) is answered when its batch has been applied; a
 *      client with writes not yet applied runs no other command until they
 *      are, so a GET after a SET in one pipeline sees the SET.
 *   2. A client holds at most SERVE_MAX_REQUEST bytes of unparsed input, and
 *      runs no command while SERVE_OUT_HIGH bytes of replies wait for it.
 *   3. A client is freed only when none of its writes is in a batch, and
 *      a freed client is on no list (ready, dirty).
 *   4. No command holds up the loop for long: SCAN and KEYS stop after
 *      SERVE_WALK_WORK steps (KEYS goes on in the next pass), and large
 *      batches are applied by a writer thread.
 *   5. Writes take effect in the order the loop runs them (gathers them):
 *      the batch applies an EXEC after every write gathered before it and
 *      before every write gathered after it (serve_multi.c).  The only
 *      kv_txn that outlives a command is a client's WATCH (serve_watch.c);
 *      it is aborted or committed before the client is freed.
 */
#ifndef KV_SERVE_SERVER_H
#define KV_SERVE_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "kv.h"
#include "resp.h"
#include "serve_ext.h"
#include "serve_glob.h"
#include "serve_log.h"
#include "serve_out.h"
#include "serve_stats.h"

#define SERVE_MAX_ARGS     (1024u * 1024u)         /* elements in one request */
#define SERVE_MAX_REQUEST  (2u * KV_MAX_VALUE)     /* bytes in one request */
#define SERVE_MAX_REPLY    (2u * KV_MAX_VALUE)     /* bytes in one reply (MGET, SCAN) */
#define SERVE_MAX_INLINE   (64u * 1024u)           /* an inline command's line */
#define SERVE_IN_HIGH      (64u * 1024u)           /* stop reading past this much unparsed input */
#define SERVE_OUT_HIGH     (64u * 1024u)           /* stop running commands past this much unsent output */
#define SERVE_TURN         256                     /* commands a client runs per loop pass */
#define SERVE_CLIENT_OPS   4096u                   /* unapplied writes a client may have */
#define SERVE_CLIENT_BYTES (4u * 1024u * 1024u)    /* ... and their bytes (plus one request) */
#define SERVE_CHUNK_OPS    16u                     /* ops per kv_write, about (serve_commit.c) */
#define SERVE_CHUNK_OPS_SYNC 64u                   /* ... with --sync */
#define SERVE_WRITERS      16                      /* writer threads with --sync (1 without) */
#define SERVE_INLINE_OPS   4096u                   /* without --sync, larger batches go to the writer */
#define SERVE_INLINE_BYTES (4u * 1024u * 1024u)    /* ... and batches with more bytes */
#define SERVE_MAXCLIENTS   1024u                   /* default --maxclients */
#define SERVE_TABLE_FILES  1000u                   /* kv_options.max_open_files's default (kv.h) */
#define SERVE_ENGINE_FILES 24u                     /* the engine's files besides its table cache */
#define SERVE_OWN_FILES    4u                      /* listening socket, epoll, signalfd, eventfd */
#define SERVE_STOP_SECONDS 10                      /* at shutdown, wait this long for slow readers */
#define SERVE_ACCEPT_PAUSE_MS 100                 /* out of descriptors: accept again after this */
#define SERVE_LOG_EVERY    10                      /* ... and log it at most once per this many s */
#define SERVE_WALK_KEYS    10000                   /* keys a SCAN call or a KEYS pass examines, at most */
#define SERVE_WALK_WORK    (8u * 1024u * 1024u)    /* ... and work steps (serve_scan.c) */
#define SERVE_MULTI_ARGS   4096u                   /* words a client may queue after MULTI */
#define SERVE_MULTI_BYTES  (4u * 1024u * 1024u)    /* ... and their bytes (plus one request) */
#define SERVE_WATCH_KEYS   4096u                   /* keys a client may WATCH */
#define SERVE_WATCH_BYTES  (4u * 1024u * 1024u)    /* ... and their bytes */
#define SERVE_WATCH_MAX_AGE 60                     /* default --watch-max-age, in seconds */
#define SERVE_WATCH_CHECK_MS 100                   /* WATCH ages are checked this often */
#define SERVE_TXN_GROUP    32u                     /* EXECs committed as one kv_txn, at most */
#define SERVE_TXN_RETRIES  100                     /* conflicts an EXEC retries, at most */
#define SERVE_HTTP_CONNS   16                      /* --metrics-port: connections at once */
#define SERVE_HTTP_REQUEST 8192                    /* ... bytes of a request's line and headers */
#define SERVE_HTTP_REQUEST_MS 10000                /* ... time for a request to arrive whole */
#define SERVE_HTTP_WRITE_MS   10000                /* ... time replies may wait unread */
#define SERVE_HTTP_IDLE_MS    60000                /* ... time a kept-alive connection may idle */
#define SERVE_HTTP_DRAIN_MS   2000                 /* ... time a closing one is read, at most */
#define SERVE_HTTP_OUT     (4u * 1024u * 1024u)    /* ... bytes of replies waiting, at most */

typedef struct serve_config {
    const char *dir;
    const char *bind;          /* default 127.0.0.1 */
    int port;                  /* default 6380; 0 = any free port */
    int sync;                  /* kv_options.sync */
    int stdio;                 /* --stdio: one client, standard input and output */
    const char *passfile;      /* --requirepass FILE, or NULL */
    char *password;            /* its first line */
    size_t passlen;
    int verbose;
    size_t maxclients;
    int max_open_files;        /* kv_options.max_open_files: given, or chosen (0 = default) */
    kv_options knobs;          /* the kv command's knobs (kv_knobs.c): what
                                  sizes the engine's files, 0 = default */
    long watch_max_age;        /* seconds a WATCH may keep its snapshot; 0 = no bound */
    int metrics_port;          /* --metrics-port: GET /metrics there; -1 = none, 0 = any */
    /* The open-file budget (serve_main.c, "Open files"): */
    unsigned long long nofile; /* the open-file limit (RLIMIT_NOFILE) */
    size_t engine_files;       /* descriptors kept for the engine */
    int maxclients_lowered, max_open_files_lowered;
} serve_config;

typedef struct serve_client serve_client;
struct serve_client {
    int fd;                         /* requests come from here */
    int out_fd;                     /* replies go there: fd, or standard output with --stdio */
    unsigned long long id;
    char addr[64];                  /* "127.0.0.1:51234", for log lines */
    char *in;                       /* received bytes; [in_start, in_len) unparsed */
    size_t in_start, in_len, in_cap;
    resp_parser ps;                 /* the request at in + in_start */
    serve_out out;
    int authed;
    size_t pending_ops;             /* its writes in batches not yet applied */
    size_t pending_bytes;
    int eof;                        /* the peer closed its side, or we stopped reading */
    int closing;                    /* close once the output is sent (QUIT, bad input) */
    int dead;                       /* the socket failed: free when pending_ops is 0 */
    int waiting;                    /* stopped until its writes are applied */
    struct serve_keys *keys;        /* a KEYS in progress (serve_keys.c), or NULL */
    long long keys_ns;              /* ... the time it ran so far (serve_stats.h) */
    unsigned events;                /* epoll interest now registered */
    int on_ready, on_dirty;         /* in s->ready / s->dirty */
    unsigned long long batch_kick;  /* serve_commit.c: the batch being cut */
    size_t batch_chunk;             /* ... and this client's chunk in it */
    struct serve_multi *multi;      /* MULTI's queue, EXEC's replies (serve_queue.h), or NULL */
    kv_txn *watch_txn;              /* begun by WATCH, or NULL */
    long long watch_since_ms;       /* ... when (CLOCK_MONOTONIC) */
    int watch_expired;              /* --watch-max-age ended the WATCH: EXEC answers *-1 */
    struct serve_keylist *watched;  /* the keys WATCH named, read at EXEC (serve_watch.c) */
    size_t nwatch, watch_bytes;     /* watched keys and their bytes (the limits) */
    /* With an extension (serve_ext.h): the loop pass in which its last
     * bytes arrived, whether the gate made it wait (until
     * serve_host_wake), and READONLY (a replica may answer its reads). */
    unsigned long long input_pass;
    int ext_waiting, readonly;
    unsigned long long answered;    /* serve_commit.c: the settle that answered it, its next
                                       command not yet run (0: none) */
    serve_client *prev, *next;      /* every client */
};

typedef struct serve_stats {
    unsigned long long connections, rejected, commands, errors;
    unsigned long long batches, batch_ops, largest_batch, chunks;
    unsigned long long most_flying;     /* the most batches in flight at once (serve_ext.h, E4) */
    unsigned long long held, held_out;  /* batches held for answered clients; ... to the bound */
    unsigned long long accept_pauses;   /* accept failed for want of a descriptor */
    unsigned long long execs, exec_watch_nulls, exec_aborts;  /* EXEC: applied, *-1, EXECABORT */
    unsigned long long txn_commits, txn_retries;  /* kv_txn commits of EXECs, conflicts retried */
    unsigned long long watch_expired;   /* WATCHes ended by --watch-max-age */
} serve_stats;

struct serve_commit;
struct serve_scan;

typedef struct server {
    serve_config cfg;
    kv_db *db;
    int epfd, listen_fd, signal_fd;
    int port;                        /* the port actually bound */
    serve_client *clients;
    size_t nclients;
    unsigned long long next_id;
    serve_client **ready;            /* clients with commands to run */
    size_t nready, ready_cap;
    serve_client **dirty;            /* clients with new output */
    size_t ndirty, dirty_cap;
    int stopping;
    time_t stop_at, started;
    int accept_paused;               /* the listening socket is out of the epoll set */
    long long accept_resume_ms;      /* ... until then (CLOCK_MONOTONIC) */
    time_t accept_logged;            /* the last "accept: ..." log line */
    unsigned long long accept_quiet; /* failures not logged since */
    size_t nwatching;                /* clients with a live WATCH kv_txn */
    long long watch_check_ms;        /* when WATCH ages are next checked */
    struct serve_commit *commit;
    struct serve_scan *scan;
    serve_stats stats;
    serve_obs obs;                   /* per command and error code; the slow log */
    struct serve_http *http;         /* --metrics-port (serve_http.c), or NULL */
    /* A later stage's extension, installed by its kv (serve_ext.h), and
     * its state; NULL: the server serves its engine as it is. */
    const serve_ext_ops *ext;
    void *ext_state;
    struct serve_handoff *handoff;   /* the batch's writes handed to it (serve_handoff.c) */
    unsigned long long passes;       /* the loop's passes so far */
    int ext_ready;                   /* the extension's descriptor was ready in this pass's wait */
    /* Keys that start with hidden_prefix are the extension's own, not
     * the clients' (E3 of serve_ext.h).  NULL: none. */
    const char *hidden_prefix;
    size_t hidden_len;
    const struct serve_cmd *cmds;    /* the command table (serve_cmd_table_init), set */
    size_t ncmds;                    /* ... before anything else runs */
} server;

/* CLOCK_MONOTONIC, in ms and in ns. */
static inline long long serve_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static inline long long serve_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}


/* serve_loop.c */
int  serve_loop_run(server *s);
/* --stdio: the one client, reading standard input and writing standard
 * output; the server stops once it is done.  0, or -1 (message logged). */
int  serve_loop_add_stdio(server *s);

/* serve_clients.c: the loop's lists of clients. */
void serve_client_ready(server *s, serve_client *c);   /* has commands to run */
void serve_client_dirty(server *s, serve_client *c);   /* has output to send */
void serve_client_unlist(server *s, serve_client *c);  /* off both lists (it is freed) */

/* A read's answers from a list rather than an engine (serve_readlist.c):
 * an EXEC an extension applies is run twice by the server, once before
 * it is handed over, recording the keys its reads ask for (they become
 * the write's read ops: serve_handoff.c), and once when it is settled,
 * answering each from what the extension found, in the same order
 * (serve_queue.c). */
typedef struct serve_readlist {
    int replay;           /* 0: record; 1: answer from found */
    /* Recording: each key asked for is handed to keep (unless NULL) and
     * answered absent. */
    int (*keep)(void *arg, const char *key, size_t klen);
    void *arg;
    int failed;           /* serve_readlist_get could not answer (below) */
    /* Replaying: the answers, and the next to hand out. */
    const serve_read_found *found;
    size_t nfound;
    size_t n;             /* keys asked for so far (either way) */
} serve_readlist;
/* serve_readlist.c: the answer to a read of key from list l (recording or
 * replaying), as kv_get answers: KV_OK (*val to kv_free) or KV_NOT_FOUND.
 * What goes wrong (keep fails, a replay asks for more answers than it was
 * given, no memory for a value's copy) sets l->failed and answers
 * KV_NOT_FOUND: the caller checks failed once the read has run. */
int serve_readlist_get(serve_readlist *l, const void *key, size_t klen, void **val, size_t *vlen);

/* Where a read looks: the database as it is (db), a transaction's view
 * (txn: an EXEC's, serve_txn.c), or a list of answers (list: an EXEC an
 * extension applies).  Exactly one is set.  A read of several keys from
 * db takes a snapshot and reads them all at it (serve_read_cmds.c). */
typedef struct serve_view {
    kv_db *db;
    kv_txn *txn;
    const char *hidden;   /* keys with this prefix are not there (serve_ext.h, E3), or NULL */
    size_t hidden_len;
    serve_readlist *list;
} serve_view;

/* What a write does to the engine, as data (the command table's): its
 * ops, one put or delete of a key each (serve_write_op, serve_ext.h, with
 * its condition), and how it is answered.  The batch gathers these ops
 * (serve_commit.c), a transaction applies them (serve_effect.c), and an
 * extension is handed them (serve_handoff.c): one description for all. */
enum {
    SERVE_REPLY_OK = 1,     /* +OK if its last op applied, else nil (SET NX) */
    SERVE_REPLY_COUNT = 2   /* how many of its ops found their key (DEL) */
};
typedef struct serve_effect {
    /* 1 after answering (to o, unless NULL) why r is refused: its
     * arguments, or a size past one atomic write's (kv.h's batch bound). */
    int (*refused)(serve_out *o, const serve_req *r);
    size_t (*nops)(const serve_req *r);            /* the ops r makes */
    void (*op)(const serve_req *r, size_t i, serve_write_op *op);  /* op i of them */
    int reply;                                     /* SERVE_REPLY_* */
} serve_effect;

/* serve_cmd_table.c: the command table (COMMAND lists it). */
enum {                      /* serve_cmd.in_multi: after MULTI, the command is */
    MULTI_QUEUE = 0,        /* ... queued, and run by EXEC */
    MULTI_NOW = 1,          /* ... run at once (DISCARD, QUIT, RESET, ...) */
    MULTI_REFUSE = 2,       /* ... refused */
    MULTI_EXEC = 3          /* ... run at once, running the queue (EXEC) */
};
/* A row of the table: a command, or one of its subcommands (CONFIG GET).
 * A command's subcommand rows come right after its own row; a request
 * whose word 1 is one of them (any case) is that row's, else the
 * command's own (serve_cmd_find).  Each row has its own arity, flags,
 * counts (INFO commandstats: "config|get") and COMMAND INFO entry. */
typedef struct serve_cmd {
    const char *name;   /* lower case */
    const char *sub;    /* a subcommand's row: its word, lower case; NULL: the command's own */
    int arity;          /* Redis's convention, every word counted (CONFIG GET key: -3):
                           n = exactly n words, -n = n or more (serve_arity_fits) */
    unsigned flags;     /* SERVE_CMD_* (serve_ext.h) */
    int first_key, last_key, key_step;  /* where its keys are (serve_cmd_key) */
    int in_multi;       /* MULTI_* */
    /* Runs it; NULL for a read or a write described by `write`.  The
     * command's own row of a command with subcommands runs for a request
     * none of them takes (a word 1 none has, or too many or too few
     * words for the one it names), with cmd the row the request names:
     * it answers as the command answers a subcommand it does not take. */
    void (*run)(server *s, serve_client *c, const struct serve_cmd *cmd, const serve_req *r);
    /* A read (and PING, ECHO): its reply from view v.  Inside EXEC, on the
     * thread applying it (serve_txn.c), so it touches nothing but v and o. */
    void (*read)(const serve_view *v, serve_out *o, const serve_req *r);
    /* A write: what it does to the engine (it is answered once applied). */
    const serve_effect *write;
    /* A row an extension added (a subcommand of CLUSTER: serve_ext.h), or
     * NULL: the server's own. */
    const serve_ext_cmd *ext;
} serve_cmd;
/* The table in server.cmds, server.ncmds, which serve_main.c builds before
 * anything runs (the server's rows, and an extension's after the command
 * they belong to): the files below serve_cmd_table.c read it there.
 * KV_OK, or KV_ERR_NOMEM. */
int  serve_cmd_table_init(server *s);
void serve_cmd_table_free(server *s);
/* The row request r names: its command's (word 0, any case), or that
 * command's subcommand's (word 1); NULL if no command has that name.
 * serve_cmd_table.c is the one file that looks a name up. */
const serve_cmd *serve_cmd_find(const server *s, const serve_req *r);
/* The command's own row of a row: itself, or the row its subcommand's
 * follows (T1 of serve_cmd_table.c). */
static inline const serve_cmd *serve_cmd_top(const serve_cmd *cmd)
{
    while (cmd->sub != NULL)
        cmd--;
    return cmd;
}
/* The command as data, as an extension sees it. */
serve_cmd_info serve_cmd_info_of(const serve_cmd *cmd);
/* The walk over a command's keys, by the table's first key, last key and
 * step (Redis's getKeysFromCommand): every rule that looks at keys (the
 * gate, WATCH, the hidden keys, redirects) takes them from here:
 *     for (size_t i = serve_cmd_key(cmd, r, 0); i != 0; i = serve_cmd_key(cmd, r, i))
 * gives the word index of each key; 0 after the last (or if it has none).
 * A negative last_key counts from the end (-1: the last word). */
static inline size_t serve_cmd_key(const serve_cmd *cmd, const serve_req *r, size_t i)
{
    if (cmd->first_key <= 0 || r->argc == 0)
        return 0;
    long last = cmd->last_key < 0 ? (long)r->argc + cmd->last_key : cmd->last_key;
    i = i == 0 ? (size_t)cmd->first_key : i + (size_t)cmd->key_step;
    return (long)i <= last && i < r->argc ? i : 0;
}
/* 1 if a key of klen bytes is in kv.h's range (1 to KV_MAX_KEY): writes
 * refuse others, reads find them absent (no such key can exist). */
static inline int serve_key_ok(size_t klen)
{
    return klen >= 1 && klen <= KV_MAX_KEY;
}
/* 1 if key k (klen bytes) is one of the extension's own (E3 of serve_ext.h). */
static inline int serve_key_hidden(const char *hidden, size_t hlen, const void *k, size_t klen)
{
    return hidden != NULL && klen >= hlen && memcmp(k, hidden, hlen) == 0;
}

/* serve_effect.c: a write's effect applied in a transaction (EXEC on the
 * server's own engine: serve_txn.c), and answered from what its ops
 * found (an EXEC applied by an extension: serve_queue.c). */
/* The ops r makes, and at most how many bytes of keys and values (its
 * words after the name: a bound on what the ops hold). */
size_t serve_effect_size(const serve_effect *e, const serve_req *r, uint64_t *bytes);
/* Applies r's ops in t (a conditional op, and a counted one, reads its
 * key first), its reply to o.  KV_OK, or the kv_txn error that fails the
 * whole EXEC (kv_errmsg() says it). */
int  serve_effect_txn(const serve_effect *e, kv_txn *t, serve_out *o, const serve_req *r);
/* r's reply to o, its ops having found existed[0..n) (serve_ext.h,
 * SERVE_WRITE_APPLIED). */
void serve_effect_reply(const serve_effect *e, serve_out *o, const serve_req *r,
                        const uint8_t *existed, size_t n);

/* Runs one request.  SERVE_CMD_WAIT: the client must first
 * wait for its writes to be applied, and the request was not run.  A KEYS
 * not finished in this pass leaves c->keys set: the loop does not consume
 * the request and runs it again in the next pass. */
enum { SERVE_CMD_DONE = 0, SERVE_CMD_WAIT = 1 };
int serve_cmd_run(server *s, serve_client *c, const serve_req *r);

/* serve_commit.c */
int  serve_commit_init(server *s);          /* KV_OK or KV_ERR_NOMEM / thread failure */
void serve_commit_free(server *s);          /* REQUIRES: nothing in flight */
int  serve_commit_event_fd(const server *s); /* readable when a batch is applied */
/* Adds a write's op (key and value copied), answered (reply, SERVE_REPLY_*,
 * or 0 for none: an op before a command's last) once applied; a COUNT
 * reply counts the ops from index `first` on (serve_commit_mark gives the
 * index the next op will have).  0, or -1 when out of memory. */
int    serve_commit_op(server *s, serve_client *c, const serve_write_op *op, int reply,
                       size_t first);
size_t serve_commit_mark(const server *s);
/* Adds the client's EXEC (its queue, m), applied after the writes gathered
 * before it and before those gathered after it.  0, or -1 (no memory). */
int    serve_commit_exec(server *s, serve_client *c, struct serve_multi *m);
/* The command that added the ops from index `mark` on (the last of them
 * answers it) began at `started` (serve_now_ns): when the batch is
 * applied its time is counted and, if slow, it goes to the slow log with
 * its words read back from the ops (name: its name as the client wrote
 * it). */
void   serve_commit_stamp(server *s, size_t mark, const serve_cmd *cmd, serve_cmdstat *st,
                          long long started, const char *name, size_t nlen);
/* Removes the ops from index `mark` on (a command that failed half way). */
void   serve_commit_undo(server *s, size_t mark);
/* 1 if the client may add a write of `ops` ops and `bytes` bytes now: its
 * limits (SERVE_CLIENT_*), and its ops in one batch stay within kv.h's
 * bound (KV_MAX_BATCH_OPS, KV_MAX_BATCH_BYTES), since they go to one
 * kv_write (serve_commit.c). */
int  serve_commit_has_room(const serve_client *c, size_t ops, uint64_t bytes);
/* Starts the gathered batch, if any and none is in flight; inline (no
 * --sync) it is applied and answered before this returns. */
void serve_commit_kick(server *s);
/* Called when the event fd is readable: answers the applied batch. */
void serve_commit_done(server *s);
int  serve_commit_busy(const server *s);    /* a batch gathered or in flight */
/* A client answered by a settled batch sent its next command (or left):
 * it no longer holds the next batch back (serve_ext.h, `gather_us`). */
void serve_commit_back(server *s, serve_client *c);
/* The ms until a held batch goes anyway, or -1 if none is held. */
int  serve_commit_hold_ms(const server *s);

/* serve_scan.c */
void serve_scan_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
void serve_scan_free(server *s);
/* Examines keys from `it` on (SCAN's walk, also KEYS's): up to max_keys,
 * stopping once keys->len >= max_bytes or `work` steps are spent; matching
 * keys (g NULL: every key) are appended to keys as bulk strings and
 * counted in *nkeys.  If the work ran out in the middle of a key, *mid is
 * 1 and *st holds the match, the key stays current, and the next call
 * (with *mid still 1) goes on with it.  Returns kv_iter_status(it). */
int  serve_scan_step(const server *s, kv_iter *it, const glob_pattern *g, glob_state *st, int *mid,
                     size_t max_keys, size_t max_bytes, uint64_t work,
                     serve_out *keys, size_t *nkeys);
/* Compiles a SCAN or KEYS pattern; *g is NULL for "*".  0, or -1 after
 * answering the client with the error (too long, out of memory). */
int  serve_glob_compile(serve_client *c, const char *pat, size_t plen, glob_pattern **g);

/* serve_keys.c: KEYS pattern, over as many loop passes as it takes. */
void serve_keys_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
void serve_keys_free(serve_client *c);  /* a KEYS in progress, if any */
/* serve_handoff.c: what handing batches to the extension kept, freed. */
void serve_handoff_free(server *s);
/* serve_release.c: every handle the server keeps on s->db between
 * commands ended (WATCHes, KEYS and SCAN under way), so that the engine
 * may be closed and replaced (a member installing a snapshot). */
void serve_engine_release(server *s);
/* SCAN's saved iterators closed; the cursors stay valid (serve_scan.c). */
void serve_scan_close_iters(server *s);

/* serve_multi.c: MULTI, EXEC, DISCARD, RESET, and queuing. */
void serve_multi_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
void serve_exec_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
void serve_discard_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
void serve_reset_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
/* Leaves MULTI and drops the watches (an EXEC a gate redirected, as Redis
 * Cluster drops it). */
void serve_multi_drop(server *s, serve_client *c);
/* Queues the request (+QUEUED), or refuses it past the limits. */
void serve_multi_queue(serve_client *c, const serve_cmd *cmd, const serve_req *r);
/* A command was refused while queuing: EXEC will answer EXECABORT. */
void serve_multi_refuse(serve_client *c);
/* EXEC with arguments: Redis's EXECABORT, and the transaction dropped. */
void serve_exec_arity(server *s, serve_client *c);
void serve_multi_free(server *s, serve_client *c);  /* REQUIRES: no EXEC in flight */

/* serve_watch.c: WATCH and UNWATCH, on a kv_txn per watching client. */
void serve_watch_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
void serve_unwatch_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
/* UNWATCH queued after MULTI, as EXEC runs it: +OK (the watches ended
 * when EXEC began). */
void serve_unwatch_read(const serve_view *v, serve_out *o, const serve_req *r);
/* A read (GET, MGET, EXISTS, TYPE, STRLEN) by a client that watches: run
 * in its WATCH's kv_txn, its keys counted against the WATCH limits. */
void serve_watch_read(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
/* Forgets the client's watches, aborting their kv_txn (DISCARD, UNWATCH,
 * RESET, close; EXEC takes the kv_txn and the keys over first). */
void serve_watch_drop(server *s, serve_client *c);
/* Ends the WATCHes older than --watch-max-age (their snapshots freed; the
 * next EXEC of each answers *-1).  Returns the epoll_wait timeout the
 * next check needs, in ms, or -1 if no WATCH is live. */
int  serve_watch_expire(server *s);
/* Ends every live WATCH now, as --watch-max-age would (serve_release.c). */
void serve_watch_end_all(server *s);
/* The keys a client's WATCH named, in the order named. */
typedef struct serve_keylist {
    char *bytes;
    resp_span *keys;
    size_t n, blen, bcap, kcap;
} serve_keylist;
void serve_keylist_free(serve_keylist *l);  /* NULL is a no-op (serve_queue.c) */

/* serve_http.c: GET /metrics on --metrics-port (docs/metrics.md), on the
 * loop thread: its sockets are in an epoll set of their own, whose fd the
 * loop watches; serve_http_ready does what is ready.  start: 0, or -1
 * (logged); listen_fd is the bound, listening, non-blocking socket. */
int  serve_http_start(server *s, int listen_fd);
int  serve_http_fd(const server *s);      /* -1 without --metrics-port */
void serve_http_ready(server *s);
/* Closes connections past their time; the ms until the next is due, or -1. */
int  serve_http_expire(server *s);
void serve_http_stop(server *s);

/* serve_metrics.c: the body of GET /metrics, appended to o; http holds
 * the endpoint's own counts (serve_http.c). */
typedef struct serve_http_counts {
    size_t conns;                    /* connections open now */
    unsigned long long requests;     /* requests answered */
    unsigned long long evicted, timed_out;  /* closed to make room, or for taking too long */
} serve_http_counts;
void serve_metrics_text(server *s, const serve_http_counts *http, serve_out *o);

/* serve_read_cmds.c: the reads, rows' `read` (PING and ECHO too). */
void serve_ping_read(const serve_view *v, serve_out *o, const serve_req *r);
void serve_echo_read(const serve_view *v, serve_out *o, const serve_req *r);
void serve_get_read(const serve_view *v, serve_out *o, const serve_req *r);
void serve_mget_read(const serve_view *v, serve_out *o, const serve_req *r);
void serve_exists_read(const serve_view *v, serve_out *o, const serve_req *r);
void serve_type_read(const serve_view *v, serve_out *o, const serve_req *r);
void serve_strlen_read(const serve_view *v, serve_out *o, const serve_req *r);
void serve_range_read(const serve_view *v, serve_out *o, const serve_req *r);
/* serve_write_cmds.c: the writes, rows' `write`. */
extern const serve_effect serve_set_effect, serve_mset_effect, serve_del_effect;
/* serve_conn_cmds.c: QUIT, AUTH, READONLY, READWRITE; CLUSTER's own row,
 * and the run of each of the extension's rows of CLUSTER's subcommands. */
void serve_quit_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
void serve_auth_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
void serve_readonly_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
void serve_readwrite_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
void serve_cluster_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
void serve_cluster_sub_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
/* serve_info.c */
void serve_info_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
void serve_dbsize_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
/* serve_config.c: CONFIG's own row (its answer to a subcommand it does
 * not take), CONFIG GET, SET, RESETSTAT; the parameters that are also
 * options of `kv serve` (--slowlog-log-slower-than ...): 1 if argv[*i] is
 * one (its value taken, *i moved past it; *bad set, after a message, if
 * the value is not one), else 0. */
void serve_config_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
void serve_config_get(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
void serve_config_set(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
void serve_config_resetstat(server *s, serve_client *c, const serve_cmd *cmd,
                            const serve_req *r);
int  serve_config_option(server *s, char **argv, int argc, int *i, int *bad);
/* The defaults of those parameters. */
void serve_config_defaults(server *s);


#endif
