/*
 * bank.h: the crash tester's transactional workload (crashtest --workload=bank).
 *
 * A bank of BANK_ACCOUNTS accounts, opened by one transaction that gives
 * each BANK_START, then random transfers between them, each a transaction
 * (kv.h, kv_txn_*) at either isolation level that reads both balances (by
 * kv_txn_get, or by a scan of the accounts between them) and writes both,
 * and a marker key naming the transfer.  Between the transfers: plain puts
 * and deletes of other keys, read-only audits that sum the accounts in one
 * transaction, and merges (kv_compact).
 *
 * Every write names itself: a tag, op * 4 + part (part 0: the op's own
 * write; 1, 2, 3: its meddler's, below), is in each value it makes, and
 * the values are derived from the tag, so a value read back tells which
 * write made it, and a damaged one cannot pass.
 *
 * What a crash must leave (bank_model.c checks it):
 *   B1. The accounts add up to BANK_ACCOUNTS * BANK_START; none is negative.
 *   B2. A commit is all or nothing: a transfer's marker is there exactly
 *       when both of its accounts show it, or a later write of them.
 *   B3. The state is the one the writes, in the order they were made,
 *       leave after some prefix of them: a prefix that holds every write
 *       acknowledged before a process kill, or, after a power loss, every
 *       write the stage promises durable (acknowledged with sync = 1, or
 *       before a clean close: stage_caps.h).
 * B3 implies B1 and B2 (each write keeps the total; a prefix holds whole
 * commits); they are checked on their own too, for their messages.  Before
 * stage 03 a commit is one write() a crash may cut short (kv.h, batches):
 * a commit seen partly applied is counted as torn, not failed, as the
 * crash workload's batches are (and the total is then not checked); from
 * stage 03 on it fails.
 *
 * One child thread makes the writes, so their order is the order of its
 * messages and the model can name the one prefix a state must be.
 * (Transfers from several threads at once are tests/txn.c's, without
 * crashes.)
 *
 * Conflicts, on purpose: between a transfer's reads and its commit
 * something else may happen (its meddler): another transfer committed
 * (part 1), a kv_put that rewrites an account with the balance it has
 * (part 2), or a put of a plain key (part 3).  Its commit must then
 * conflict exactly when the meddler wrote a key the transfer depends on:
 * its two accounts, and under KV_TXN_SERIALIZABLE, if it read them with a
 * scan, every account between them.  Each write here changes the value it
 * writes (the tag is in it), so the stages that compare values (01-06) and
 * the one that compares versions (07) must agree.  After a conflict the
 * transfer begins again, reads again and commits, which must succeed.
 */
#ifndef KV_TESTS_CRASH_BANK_H
#define KV_TESTS_CRASH_BANK_H

#include <stddef.h>
#include <stdint.h>

#include "crash.h"

#define BANK_ACCOUNTS 16
#define BANK_START 1000
#define BANK_TOTAL ((int64_t)BANK_ACCOUNTS * BANK_START)
#define BANK_PLAIN 8            /* plain keys */
#define BANK_NONE UINT32_MAX    /* a tag that names no write: absent */

/* ---- the operations (bank.c) ------------------------------------------- */

enum {
    BANK_SETUP = 1,     /* op 0: the transaction that opens every account */
    BANK_TRANSFER,      /* a transfer (part 0), maybe with a meddler */
    BANK_PUT,           /* kv_put of a plain key */
    BANK_DELETE,        /* kv_delete of a plain key */
    BANK_AUDIT,         /* a read-only transaction that sums the accounts */
    BANK_COMPACT,       /* kv_compact */
    BANK_TOUCH          /* (a meddler) kv_put of an account, same balance */
};

/* What happens between a transfer's reads and its commit. */
enum { BANK_ALONE = 0, BANK_RIVAL = 1, BANK_TOUCHED = 2, BANK_ASIDE = 3 };

typedef struct bank_transfer {
    uint8_t from, to;
    uint32_t want;       /* the amount asked; less if the balance is smaller */
    int level;           /* KV_TXN_SNAPSHOT or KV_TXN_SERIALIZABLE */
    int scan;            /* reads the accounts from the lower to the higher
                            with a scan (else kv_txn_get of the two) */
} bank_transfer;

/* Operation n of a workload, a pure function of (seed, n). */
typedef struct bank_op {
    uint32_t n;
    int kind;            /* BANK_SETUP .. BANK_COMPACT */
    bank_transfer t;     /* BANK_TRANSFER */
    int meddle;          /* BANK_TRANSFER: BANK_ALONE .. BANK_ASIDE */
    bank_transfer rival; /* BANK_RIVAL: the other transfer (part 1) */
    uint8_t account;     /* BANK_TOUCHED: the account rewritten (part 2) */
    uint8_t plain;       /* BANK_PUT, BANK_DELETE, BANK_ASIDE (part 3): the key */
    int level;           /* BANK_AUDIT */
} bank_op;

void bank_op_make(uint64_t seed, uint32_t n, bank_op *op);
static inline uint32_t bank_tag(uint32_t n, uint32_t part) { return n * 4 + part; }

/* Keys and values.  Each value is the only one its arguments make. */
#define BANK_KEY_MAX 16
#define BANK_VALUE_MAX 6000
size_t bank_account_key(uint32_t a, char buf[BANK_KEY_MAX]);   /* "acct07" */
size_t bank_plain_key(uint32_t p, char buf[BANK_KEY_MAX]);     /* "plain3" */
size_t bank_marker_key(uint32_t tag, char buf[BANK_KEY_MAX]);  /* "xfer00000042" */
size_t bank_account_value(int64_t balance, uint32_t tag, uint8_t buf[BANK_VALUE_MAX]);
/* The setup's marker: from = to = BANK_ACCOUNTS, amount BANK_START. */
size_t bank_marker_value(uint32_t tag, uint32_t from, uint32_t to, int64_t amount,
                         uint8_t buf[BANK_VALUE_MAX]);
size_t bank_plain_value(uint32_t tag, uint32_t p, uint8_t buf[BANK_VALUE_MAX]);
/* The balance and tag an account's value holds; 0 if it is not one that
 * bank_account_value makes. */
int bank_account_parse(const void *val, size_t vlen, int64_t *balance, uint32_t *tag);

/* ---- the ack protocol (crash.h's messages, with these meanings) ---------
 * Each group is one write() on the pipe (or one call of the send function
 * in a recording); op is always the tag of the write concerned.
 *   READ  (a transfer, after its reads)  key = its from balance as read,
 *                                        status = its to balance as read
 *   BEGIN (before the write call)        key = BANK_SETUP .. BANK_TOUCH,
 *                                        status = a transfer's amount, a
 *                                        touch's balance, a put's length
 *   AUDIT (an audit, before its ACK)     key = accounts seen, status = total
 *   ACK   (after it returned)            status = its kv status (a commit:
 *                                        KV_OK or KV_ERR_CONFLICT)
 * A merge sends BEGIN and ACK too; an audit BEGIN, AUDIT and ACK. */
enum { BANK_MSG_READ = 16, BANK_MSG_AUDIT = 17 };

typedef void (*bank_send_fn)(void *ctx, const crash_msg *m, size_t count);

/* Runs operation op on db, reporting through send; returns KV_OK, or the
 * status that stopped it (already reported in an ACK). */
int bank_op_run(kv_db *db, const bank_op *op, bank_send_fn send, void *ctx);

/* The child of a kill run: opens dir (crash_options(w, sync)), sends
 * OPENED, runs operations first, first + 1, ... until killed. */
_Noreturn void bank_child(const char *dir, const crash_workload *w, uint64_t seed,
                          uint32_t first, int sync, int fd);

/* ---- the model and the checker (bank_model.c) ---------------------------- */

/* One write that reached, or may have reached, the database, in the order
 * they were made (one child at a time makes them).  A commit that
 * conflicted wrote nothing: its event stays, `failed`, and names nothing
 * the database may show; so does one a kill cut short that a check found
 * not done. */
typedef struct bank_event {
    uint32_t tag;
    int kind;                 /* BANK_SETUP, BANK_TRANSFER, BANK_TOUCH, BANK_PUT,
                                 BANK_DELETE */
    uint8_t a, b;             /* TRANSFER: from, to; TOUCH: the account; PUT,
                                 DELETE: the plain key */
    int64_t a_after, b_after; /* TRANSFER: the balances it writes; TOUCH: a's */
    int64_t amount;           /* TRANSFER */
    int failed;
} bank_event;

typedef struct bank_model {
    uint64_t seed;
    bank_event *ev;
    uint8_t *status, *durable; /* per event, as crash_model's per operation */
    size_t n, cap;
    long *by_tag;             /* tag -> its latest event, or -1 */
    size_t tags;
    int64_t bal[BANK_ACCOUNTS]; /* what the acknowledged events leave */
    /* The operation the messages are about, and its transfers' reads. */
    bank_op op;
    int have_op;
    int64_t read_from[2], read_to[2]; /* parts 0 and 1 */
    int have_read[2];
    int attempts;             /* part 0's commits so far */
    long cur;                 /* the event in flight, or -1 */
    int cur_kind;             /* what the last BEGIN announced */
    int audit_seen;
    uint32_t next_op;         /* where the next child starts */
    long acks;
    char problem[300];
    /* What the messages showed, for the summary. */
    long commits, conflicts, retries, meddled, audits, merges, plain;
} bank_model;

void bank_model_init(bank_model *m, uint64_t seed);
void bank_model_free(bank_model *m);
/* Takes one message (the parent's side of the protocol): a read, an
 * amount, a commit's outcome that is not what the rules above say sets
 * m->problem; a write becomes an event. */
void bank_model_take(bank_model *m, const crash_msg *msg);
/* After a kill run's check (CRASH_CHECK_RESOLVE): the balances of the
 * acknowledged events again, and where the next child starts: after the
 * last operation it began (an operation cut short is not run again), or
 * op 0 if the bank was never opened. */
void bank_model_settle(bank_model *m);

/* Opens dir with default options and checks it against the model (B1 to
 * B3): every key is an account, a plain key or a marker that an event
 * wrote (else foreign), the state is what some prefix of the events
 * leaves (else hole, or torn if a commit shows partly; the longest such
 * prefix counts, since a put that a later delete undid leaves no trace),
 * the accounts add up (else inconsistent, unless a commit is torn), and
 * every acknowledged event is in that prefix (else lost; with
 * CRASH_CHECK_LOSSY only the durable ones must be: lost_durable).  CRASH_CHECK_RESOLVE turns the
 * event in flight into acknowledged or failed, as the state shows;
 * CRASH_CHECK_PROBE commits one more transaction, reopens and reads it.
 * Returns 1 if the database opened. */
int bank_check_dir(const char *dir, bank_model *m, int flags, crash_verdict *v);
/* A process kill's verdict: crash_verdict_bad's, and a hole that no torn
 * commit explains. */
int bank_verdict_bad(const crash_verdict *v, int atomic);

/* ---- the modes (bank_crash.c) ------------------------------------------- */

int crash_bank_kill_test(const crash_config *cfg);
int crash_bank_power_test(const crash_config *cfg);

#endif
