/*
 * serve_batch.h: the batch of writes, as serve_commit.c (gathering
 * writes, cutting them into chunks, answering them), serve_writers.c
 * (applying chunks, the writer threads), serve_txn.c (applying a chunk of
 * EXECs) and serve_handoff.c (handing a batch to the server's extension)
 * share it.  The design is in serve_commit.c's opening comment.
 *
 * Ownership: the loop thread owns `gathering` and, outside the window
 * between the hand-off (work = b) and `applied = b`, the flying batches;
 * in that window the writers own the flying batch's chunks and ops'
 * `existed` fields (the writers take one batch at a time: without an
 * extension, one batch flies at a time).  Fields marked "under mu" are read and written with
 * mu held.  A batch handed to the extension is settled through
 * serve_commit.c's own functions (commit_settlers): serve_handoff.c reads
 * the batch and writes none of it.
 */
#ifndef KV_SERVE_BATCH_H
#define KV_SERVE_BATCH_H

#include <pthread.h>

#include "server.h"

/* What an op is: a put or a delete of one key, or a client's EXEC. */
enum { OP_PUT = 0, OP_DEL = 1, OP_EXEC = 2 };

typedef struct commit_op {
    serve_client *c;
    unsigned char kind;     /* OP_* */
    unsigned char cond;     /* a put's condition, SERVE_OP_* (serve_ext.h) */
    unsigned char reply;    /* SERVE_REPLY_*, or 0: none (puts and deletes) */
    unsigned char existed;  /* its key held a value just before it (set when
                               applied, in a batch that reads) */
    size_t first;           /* SERVE_REPLY_COUNT: index of the DEL's first op */
    size_t chunk;           /* the chunk it is applied in */
    size_t koff, klen, voff, vlen;  /* in the batch's bytes; an EXEC: vlen is
                                       its queue's bytes, which are not */
    struct serve_multi *multi;      /* OP_EXEC: the client's queue */
    /* The last op of a command (serve_commit_stamp): its counts, when it
     * began, its first op and its name as written; cmd NULL on the others. */
    const serve_cmd *cmd;
    serve_cmdstat *stat;
    long long started;
    size_t cmd_first;
    char name[8];
    unsigned char name_len;
} commit_op;

/* A chunk: plain (puts and deletes, one kv_write) or an EXEC group (EXECs
 * only, run in one kv_txn: serve_txn.c).  Chunks run in phases: an EXEC
 * group is a phase of its own; the plain chunks between two groups are
 * one phase, applied at the same time by the writers. */
typedef struct commit_chunk {
    size_t start, n;        /* its ops: order[start .. start + n) */
    int exec;               /* an EXEC group */
    size_t phase_end;       /* the first chunk of the next phase */
    int status;             /* KV_OK, or why its kv_write failed */
    unsigned retries;       /* an EXEC group: commits that conflicted */
    char err[256];
} commit_chunk;

typedef struct commit_batch {
    commit_op *ops;
    size_t n, cap;
    unsigned char *bytes;
    size_t blen, bcap;
    int reads;              /* an op reads its key where it applies (a DEL's
                               count, a conditional put): one plain chunk per
                               phase */
    size_t execs;           /* its EXECs: then a writer thread applies it */
    int threaded;           /* applied by the writer threads, not inline */
    size_t *order;          /* op indices grouped by chunk (n of them) */
    size_t order_cap;
    commit_chunk *chunks;
    size_t nchunks, chunks_cap;
    int settled;            /* every write of it applied or failed: to answer */
    long long handed_ns;    /* when it was handed to an extension (serve_now_ns) */
} commit_batch;

struct serve_commit {
    commit_batch *b;        /* nb of them: gathering, flying, or free */
    size_t nb;
    commit_batch *gathering;
    commit_batch **flying;  /* the batches in flight, oldest first */
    size_t nflying;
    size_t max_flying;      /* 1, or as many as the extension takes (serve_ext.h, E4) */
    size_t flying_ops;      /* ... once a batch holds this many ops, if one is out */
    long long gather_ns;    /* the extension's bound on holding a batch (serve_ext.h) */
    unsigned long long settles; /* serve_commit_done's calls that answered a batch */
    size_t answered;        /* clients the last of them answered, not yet back */
    long long hold_until_ns; /* ... the batch gathering goes then anyway */
    int holding;            /* the gathering batch has been held */
    unsigned long long kicks;
    size_t chunk_ops;       /* a chunk is closed at this many ops */
    int sync;               /* --sync: every batch goes to the writers */
    kv_batch *kvb;          /* the loop's, without --sync */
    int efd;
    int nthreads;
    pthread_t thread[SERVE_WRITERS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    commit_batch *work;     /* under mu: the batch being applied */
    kv_db *work_db;         /* under mu: ... to this engine (the server's, then) */
    size_t next_chunk;      /* under mu: the next chunk to take */
    size_t phase_end;       /* under mu: ... if below this (its phase has begun) */
    size_t chunks_done;     /* under mu */
    commit_batch *applied;  /* under mu: set when every chunk is done */
    int quit;               /* under mu */
};

/* serve_writers.c: applies chunk `ch` of batch b: one kv_write, or, for an
 * EXEC group, serve_txn_apply. */
void commit_apply_chunk(kv_db *db, commit_batch *b, commit_chunk *ch, kv_batch *kvb);
/* serve_txn.c: runs the EXECs of group `ch` in one kv_txn and commits it,
 * again after a conflict; each EXEC's replies, or its error, in its
 * serve_multi; the group's commit status in ch. */
void serve_txn_apply(kv_db *db, commit_batch *b, commit_chunk *ch);
/* serve_writers.c: starts n writer threads; KV_OK or an error. */
int  commit_writers_start(struct serve_commit *cm, int n);
/* serve_writers.c: stops and joins them. */
void commit_writers_stop(struct serve_commit *cm);
/* How a batch an extension applies is settled: serve_commit.c's own
 * functions, handed to serve_handoff.c with the batch (so that the
 * hand-off writes nothing of the batch, and calls nothing of
 * serve_commit.c by name). */
typedef struct commit_settlers {
    /* What the extension made of the plain chunks [k0, k1) of b: status
     * KV_OK (existed[0..n): what their ops found, in chunk order) or an
     * error, err saying it. */
    void (*chunks)(commit_batch *b, size_t k0, size_t k1, int status, const char *err,
                   const uint8_t *existed, size_t n);
    /* Every write of batch b is settled: it is answered once every batch
     * handed over before it is (E4). */
    void (*done)(server *s, commit_batch *b);
} commit_settlers;
/* serve_handoff.c: the batch handed to the server's extension as writes
 * (serve_ext.h), settled through settle. */
void serve_handoff_batch(server *s, commit_batch *b, const commit_settlers *settle);

#endif
