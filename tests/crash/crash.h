/*
 * crash.h: the crash-and-restart tester (build/<stage>/crashtest).
 *
 * Three ways to crash an engine, one checker:
 *   kill.c       SIGKILL a child process in the middle of a random workload
 *   powerloss.c  rebuild what the disk could hold after a power loss at every
 *                sync of a recorded workload (common/io_sim.h)
 *   ioerror.c    fail the Nth I/O call, once or from then on (common/io_fault.h)
 *   simtest.c    the power-loss simulator's own tests, rule by rule
 *   workload.c   the random operations (puts, deletes, batches, merges),
 *                their values, and the child's report of each operation to
 *                the parent (the ack protocol)
 *   model.c      what each operation was, which ones were acknowledged, and
 *                the check of a reopened database against that
 *   bank*.c      the transactional workload (--workload=bank: transfers
 *                between accounts whose sum never changes), its model and
 *                check, its kill and power-loss runs (bank.h)
 *
 * The expected state never lives in the database under test: it is the
 * list of operations (regenerated from the seed) and, for each one, whether
 * it was acknowledged, possibly done, or certainly not done.
 *
 * A batch is all or nothing (kv.h).  From stage 03 on (or with
 * --expect-durable) a batch found partly applied after any crash fails.
 * Stages 01 and 02 write a batch with one write(), which a crash can cut
 * short, so there a partly applied batch is counted and shown ("torn"), not
 * failed; but it must still be a prefix of the batch, as a cut write is.
 */
#ifndef KV_TESTS_CRASH_H
#define KV_TESTS_CRASH_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

/* ---- configuration and results (main.c) -------------------------------- */

typedef struct crash_config {
    int quick;            /* the CI-sized share */
    long runs;            /* process-kill runs */
    uint64_t seed;        /* first seed */
    long ops;             /* operations in the power-loss / I/O-error workloads */
    int expect_durable;   /* stage 03+: losses of writes acknowledged with
                             sync = 1, holes, torn batches, failed opens fail */
    int durable_close;    /* stage 03+: a loss of a write acknowledged before a
                             kv_close that returned fails, whatever sync was */
    int power_sync;       /* power loss: 1 or 0 = only the workload whose first
                             open has that sync; -1 = both */
    int verbose;
    int keep;             /* --keep: leave each failing power-loss state on disk */
    int bank;             /* --workload=bank: the transactional workload (bank.h) */
    long ioerr_every;     /* --ioerr-every K: I/O errors at call n of variant v only
                             when (n + v) % K == 0 (so with K = 3, the number of
                             variants, every call still fails once); 0 or 1: all */
    const char *tmp;      /* where databases and crash states are made */
    const char *argv0;    /* for the "reproduce with" lines */
} crash_config;

extern long crash_passed, crash_failed;
extern long crash_only_at; /* --at N, or -1 */
extern char crash_only_torn[16]; /* --torn KIND:OFF: "prefix" or "sector", or "" */
extern unsigned long long crash_only_torn_off;

/* Prints one failure (with how to reproduce it) and counts it. */
void crash_fail(const char *repro, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A fresh directory under cfg->tmp, and removal of a whole tree. */
char *crash_mkdtemp(const crash_config *cfg, const char *tag);
void crash_rmtree(const char *path);
double crash_now(void); /* seconds, monotonic */
/* "what: done of total, N failed, T s", at most every CRASH_PROGRESS_S
 * seconds (and with -v, every call), so that a long run says how far it
 * is; a run shorter than that prints nothing. */
#define CRASH_PROGRESS_S 30
void crash_progress(const char *what, long done, long total);

int crash_sim_test(const crash_config *cfg);
int crash_kill_test(const crash_config *cfg);
int crash_power_test(const crash_config *cfg);
int crash_ioerror_test(const crash_config *cfg);

/* ---- the workload (workload.c) ----------------------------------------- */

enum {
    CRASH_PUT = 0,
    CRASH_DELETE = 1,
    CRASH_COMPACT = 2,  /* kv_compact: a merge; changes nothing a reader sees */
    CRASH_BATCH = 3     /* kv_write of 2..CRASH_BATCH_MAX puts and deletes on
                           distinct keys: all or nothing (model.c) */
};

/* The shape of a random workload; everything else follows from the seed. */
typedef struct crash_workload {
    uint64_t seed;
    uint32_t nkeys;             /* keys are drawn from 0..nkeys-1 */
    unsigned delete_pct;        /* of the puts and deletes */
    unsigned compact_per_mille; /* of all operations */
    unsigned batch_pct;         /* of all operations */
    unsigned big_pct;           /* values of 1 to 8 KiB, crossing 4 KiB pages */
    size_t segment_bytes;       /* kv_options.segment_bytes (stage 02+): small
                                   segments roll over often; 0 = default */
    size_t memtable_bytes;      /* kv_options.memtable_bytes (stage 04+): small
                                   memtables flush to tables often; 0 = default */
    size_t table_bytes;         /* kv_options.table_bytes, l1_bytes and */
    size_t l1_bytes;            /* level_ratio (stage 06+): small levels compact */
    int level_ratio;            /* often; 0 = default (crash_workload_levels) */
} crash_workload;

#define CRASH_BATCH_MAX 8

/* One put or delete: a whole operation, or one member of a batch. */
typedef struct crash_write {
    uint32_t key;
    uint32_t vlen;  /* put: the value's length; delete: 0 */
    int kind;       /* CRASH_PUT or CRASH_DELETE */
} crash_write;

/* Operation number n of a workload.  Its writes are listed the same way
 * for every kind, so the checker reads one list: a put or a delete is one
 * write (w[0], and key, vlen repeat it), a batch is its members in the
 * order kv_write applies them, a merge is none. */
typedef struct crash_op {
    uint32_t n;
    uint32_t key;     /* put, delete: the key id; batch: its first member's */
    uint32_t vlen;    /* put: the value's length */
    int kind;
    uint32_t nw;      /* writes in w[] */
    crash_write w[CRASH_BATCH_MAX];
} crash_op;

#define CRASH_KEY_MAX 48
#define CRASH_VALUE_MAX 9000

void crash_workload_init(crash_workload *w, uint64_t seed, uint32_t nkeys);
void crash_op_make(const crash_workload *w, uint32_t n, crash_op *op);
/* The key with id k ("key00042" and a suffix of 0..28 letters). */
size_t crash_key(uint32_t k, char buf[CRASH_KEY_MAX]);
/* The key id of a key, or -1 if no crash_key() makes it. */
long crash_key_parse(const void *key, size_t klen);
/* The value a put (alone or in batch n) writes: the op number and the key
 * id (little-endian u32s), then bytes derived from both, so the checker can
 * tell which put it is.  REQUIRES: w->kind == CRASH_PUT. */
void crash_value(uint32_t n, const crash_write *w, uint8_t buf[CRASH_VALUE_MAX]);
/* ---- background work (tuning.c) ------------------------------------------ */

/* Lowers what the engine has no kv.h option for (stage 06's manifest
 * roll-over size), so that short workloads reach it.  Call before any
 * database is opened. */
void crash_tune_engine(void);
/* Levels small enough to compact many times in a short workload: tables of
 * table_bytes, level 1 four of them, each level twice the one above. */
void crash_workload_levels(crash_workload *w, size_t table_bytes);
/* kv_options_init, then w's sizes and `sync`. */
void crash_options(const crash_workload *w, int sync, kv_options *opt);

/* What the background work of some opens added up to, from kv_stats. */
typedef struct crash_work {
    long flushes, compactions, moves, rolls, deleted;
    long gc_jobs, gc_removed; /* stage 08: the value log's collection (not
                                 reported by a killed child) */
    unsigned named;  /* which of them the stage's kv_stats has (CRASH_WORK_*):
                        only those are printed */
} crash_work;
enum { CRASH_WORK_FLUSHES = 1, CRASH_WORK_COMPACTIONS = 2, CRASH_WORK_MOVES = 4,
       CRASH_WORK_ROLLS = 8, CRASH_WORK_DELETED = 16, CRASH_WORK_VALUE_GC = 32 };
/* Adds what db did since it was opened (call just before kv_close). */
void crash_work_add(kv_db *db, crash_work *w);
/* "  background work WHAT (kv_stats): N flushes, ..." */
void crash_work_print(const char *what, const crash_work *w);

/* Runs one operation; returns its kv status. */
int crash_op_run(kv_db *db, const crash_op *op);

/* The ack protocol: the child sends one message before each operation and
 * one after it returns, each a single write() (atomic on a pipe: at most
 * PIPE_BUF bytes), so when the child dies the parent knows every
 * acknowledged operation and the one (at most) in flight.  Before a batch,
 * that one write() is a BEGIN ("about to do batch n") followed by one
 * MEMBER message per put or delete in it, so the parent knows the members
 * of a batch in flight and checks them against its own copy. */
enum { CRASH_MSG_OPENED = 1, CRASH_MSG_BEGIN = 2, CRASH_MSG_ACK = 3, CRASH_MSG_MEMBER = 4,
       CRASH_MSG_WORK = 5, CRASH_MSG_STARTED = 6 };
/* A child started afresh (crash_kill_io.exec_argv) first sends STARTED, as
 * it is about to call kv_open; crash_kill_run takes it and starts the
 * clock of a timed kill then, so that the kill lands where it would in a
 * forked child, not while the new process is still being loaded. */
/* Every CRASH_WORK_EVERY operations (after the ACK) the child also sends
 * its background work since it opened the database, in one write(): two
 * WORK messages, (op, key, status) = (flushes, compactions, moves), then
 * (manifest roll-overs, obsolete tables deleted, crash_work.named). */
#define CRASH_WORK_EVERY 8
typedef struct crash_msg {
    uint32_t type;
    uint32_t op;     /* BEGIN, MEMBER, ACK: the operation number */
    uint32_t key;    /* BEGIN, MEMBER: the key id, so the parent can cross-check */
    int32_t status;  /* ACK, OPENED: the kv status; BEGIN: the number of
                        MEMBER messages that follow; MEMBER: the value's
                        length for a put, -1 for a delete */
} crash_msg;

/* The child's side: opens dir, runs operations first..first+count-1 (or until
 * one fails), reporting each through fd, then closes and _exits. */
_Noreturn void crash_child(const char *dir, const crash_workload *w, uint32_t first,
                           uint32_t count, int sync, int fd);

/* One child forked (or started afresh), killed at a chosen moment, its reports read (kill.c),
 * for any workload: the crash workload's (kill.c) and the bank's (bank_crash.c). */
typedef struct crash_kill_io {
    void (*child)(void *arg, int fd); /* runs in the child, reporting through fd;
                                         never returns */
    void *arg;
    /* If set, and the parent is large (kill.c: KILL_EXEC_RSS), the child
     * is not forked but started afresh: this program again, with these
     * arguments (exec_argv[0] the first after its name, NULL-terminated),
     * the pipe's descriptor in place of any "FD" (crash_exec_child reads
     * them).  A fork copies the parent's page tables, and under ASan a
     * parent can hold hundreds of MB (its quarantine of freed memory),
     * which made the forks most of stage 01's sanitized crash test's
     * time; a new process starts small. */
    const char *const *exec_argv;
    void (*take)(void *ctx, const crash_msg *msg); /* each message the parent reads */
    void *ctx;
    const long *acks;      /* ACKs taken so far (take counts them), for after_acks */
    char *problem;         /* "" while all is well; take or the runner says what broke */
    size_t problem_size;
} crash_kill_io;
/* Forks io->child (or starts io->exec_argv) and kills it after delay_us
 * microseconds, or once
 * *io->acks reaches after_acks (the other one -1), then reads what is left
 * in the pipe and reaps it; *killed says whether SIGKILL ended it (else it
 * finished first).  Returns 1, or 0 with io->problem set. */
int crash_kill_run(const crash_kill_io *io, long delay_us, long after_acks, int *killed);
/* crashtest --kill-child ARGS: the child crash_kill_run started with
 * exec_argv; runs crash_child with what ARGS say (kill.c).  Never returns. */
_Noreturn void crash_exec_child(int argc, char **argv);

/* ---- the model and the checker (model.c) -------------------------------- */

enum {
    CRASH_NOT_DONE = 0, /* never started, or known not to have happened */
    CRASH_ACKED = 1,    /* returned KV_OK before the crash */
    CRASH_MAYBE = 2     /* in flight at the crash, or returned an error */
};

typedef struct crash_model {
    crash_workload w;
    crash_op *ops;
    uint8_t *status;    /* CRASH_NOT_DONE / ACKED / MAYBE, per operation */
    uint8_t *dropped;   /* per batch, bit j: member j is known NOT_DONE though
                           the batch is ACKED (a torn batch, resolved) */
    uint8_t *durable;   /* per operation, with CRASH_CHECK_LOSSY: 1 if it must
                           survive even so (acknowledged with sync = 1, or
                           before a clean close, where the stage promises it) */
    size_t n, cap;      /* operations generated so far */
} crash_model;

void crash_model_init(crash_model *m, const crash_workload *w);
void crash_model_free(crash_model *m);
/* Makes sure ops[0..n) exist (new ones are CRASH_NOT_DONE). */
void crash_model_grow(crash_model *m, size_t n);

/* What a reopened database held, measured against the model. */
typedef struct crash_verdict {
    int open_status;   /* kv_open's status */
    long lost;         /* acknowledged operations whose effect is missing */
    long lost_durable; /* of those, the ones marked durable in the model */
    long foreign;      /* keys holding a value no allowed operation wrote,
                          or keys no operation wrote */
    long read_errors;  /* kv_get or iterator failures after a good open */
    int inconsistent;  /* the iterator disagrees with kv_get, or is unsorted */
    int hole;          /* not the state of any prefix of the operations */
    int probe_failed;  /* a write after recovery, then reopen, went wrong */
    long torn;         /* batches seen partly applied: some members in effect,
                          some certainly not (a failure from stage 03 on) */
    long torn_gaps;    /* of those, batches where a member is in effect but
                          an earlier one is not: no cut write leaves that */
    char torn_what[300]; /* the first torn batch, in words */
    char what[400];    /* the first problem, in words */
    char broken[400];  /* the first foreign, inconsistent or probe problem */
} crash_verdict;

enum {
    CRASH_CHECK_PROBE = 1,   /* after checking, write once more and reopen */
    CRASH_CHECK_PREFIX = 2,  /* also decide `hole` */
    CRASH_CHECK_RESOLVE = 4, /* turn each MAYBE into ACKED or NOT_DONE as seen
                                (a torn batch: ACKED, its absent members dropped) */
    CRASH_CHECK_LOSSY = 8    /* acknowledged writes may be lost here (a power
                                loss the stage does not promise to survive),
                                except those marked durable in the model */
};

/* Opens dir with the current backend and default options, checks every key
 * and a full iteration against m, closes.  Returns 1 if the database opened. */
int crash_check_dir(const char *dir, crash_model *m, int flags, crash_verdict *v);
/* Whether v is a failure by the rules every stage keeps (open, nothing
 * lost, nothing foreign, iterator consistent, recovery writable, a batch
 * torn only as a cut write leaves it) and, when `atomic` (stage 03 on, or
 * --expect-durable), no batch torn at all.  For a process kill or an I/O
 * error; power loss judges holes and losses by its own rules. */
int crash_verdict_bad(const crash_verdict *v, int atomic);
/* The words for what crash_verdict_bad(v, atomic) found, into buf. */
const char *crash_verdict_why(const crash_verdict *v, int atomic, char *buf, size_t n);

/* ---- power loss at every sync, for any workload (powerloss.c) ------------ */

/* A recorded workload closes and reopens the database this many times. */
#define CRASH_POWER_PHASES 4

/* One open of a recorded workload: its sync setting, its units [first,
 * end), and where in the journal kv_open and kv_close returned. */
typedef struct crash_power_phase {
    int sync;
    long first, end;
    size_t opened, closed;
} crash_power_phase;

/* A workload recorded on the power-loss simulator, in units (the crash
 * workload's operations, or the bank's writes: bank.h), each with where it
 * began and returned in the journal; and how to check a crash state. */
typedef struct crash_power_ref {
    long units;                /* recorded so far */
    size_t *begin, *end;       /* per unit: journal positions */
    uint8_t *status, *durable; /* per unit, set for each crash point as
                                  crash_model's are (what check reads) */
    crash_power_phase phases[CRASH_POWER_PHASES];
    size_t journal;
    long syncs, dir_syncs;
    crash_work work;           /* the reference workload's background work */
    /* Checks the database in dir as crash_check_dir does, against the
     * statuses of the units. */
    int (*check)(void *ctx, const char *dir, int flags, crash_verdict *v);
    void *ctx;
    const char *repro;         /* the options that record it again, for messages */
    const char *what;          /* "" or " (transactions)", for messages */
} crash_power_ref;

/* Phase p of a recording: run the workload's units on db, each one's
 * journal positions in ref->begin and ref->end, ref->units counting them. */
typedef int (*crash_power_run_fn)(void *ctx, kv_db *db, int p, crash_power_ref *ref);

/* Records a workload on the simulator: CRASH_POWER_PHASES opens of a fresh
 * database with crash_options(w, sync), sync = first_sync at the first and
 * switching at each reopen, run(ctx, db, p, ref) in each.  Returns 1, or 0
 * after reporting the failure (crash_fail with ref->repro). */
int crash_power_record(const crash_config *cfg, const crash_workload *w, int first_sync,
                       crash_power_ref *ref, crash_power_run_fn run, void *ctx);

/* The rows of the table, one per crash model (powerloss.c's top). */
#define CRASH_POWER_MODELS 8
typedef struct crash_power_row {
    long states, opened, no_open, losing, lost, durable_lost, holes, torn, foreign, bad_reads,
        broken;
} crash_power_row;

/* Builds and checks every crash state at every crash point of a recorded
 * workload (a point every `step` units besides the syncs; with --quick at
 * most 24 points), judging each by the stage's rules; fills rows and
 * returns the number of crash points. */
size_t crash_power_check(const crash_config *cfg, crash_power_ref *ref, long step,
                         crash_power_row rows[CRASH_POWER_MODELS]);
void crash_power_table(const crash_power_row *rows);
void crash_power_legend(void);

#endif
