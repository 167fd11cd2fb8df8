/*
 * bank.c: the transactional workload (bank.h): its operations, its keys and
 * values, running an operation on a database, and the child of a kill run.
 *
 * Operation n is a pure function of (seed, n), so the parent regenerates
 * it; what depends on the database (the balances a transfer reads, so the
 * amount it moves) the child reports (bank.h, the ack protocol), and the
 * parent checks it against its model.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bank.h"

static uint64_t bank_mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A transfer between two distinct accounts, from the random bits r. */
static bank_transfer bank_transfer_make(uint64_t r)
{
    bank_transfer t;
    t.from = (uint8_t)(r % BANK_ACCOUNTS);
    t.to = (uint8_t)((t.from + 1 + (r >> 8) % (BANK_ACCOUNTS - 1)) % BANK_ACCOUNTS);
    t.want = (uint32_t)((r >> 16) % 400);
    t.level = (r >> 32) & 1 ? KV_TXN_SERIALIZABLE : KV_TXN_SNAPSHOT;
    t.scan = (r >> 33) % 4 == 0;
    return t;
}

void bank_op_make(uint64_t seed, uint32_t n, bank_op *op)
{
    memset(op, 0, sizeof *op);
    op->n = n;
    if (n == 0) {
        op->kind = BANK_SETUP;
        return;
    }
    uint64_t a = bank_mix(seed * 0x100000001b3ull ^ ((uint64_t)n << 1) ^ 0xba4bull);
    uint64_t b = bank_mix(a);
    uint32_t pick = (uint32_t)(a % 1000);
    op->plain = (uint8_t)((a >> 40) % BANK_PLAIN);
    if (pick < 600) {
        op->kind = BANK_TRANSFER;
        op->t = bank_transfer_make(b);
        uint32_t m = (uint32_t)((a >> 20) % 100);
        op->meddle = m < 45 ? BANK_ALONE : m < 70 ? BANK_RIVAL : m < 85 ? BANK_TOUCHED
                                                                         : BANK_ASIDE;
        op->rival = bank_transfer_make(bank_mix(b));
        op->rival.scan = 0;
        op->account = (uint8_t)((a >> 48) % BANK_ACCOUNTS);
    } else if (pick < 850) {
        op->kind = pick < 790 ? BANK_PUT : BANK_DELETE;
    } else if (pick < 990) {
        op->kind = BANK_AUDIT;
        op->level = (a >> 30) & 1 ? KV_TXN_SERIALIZABLE : KV_TXN_SNAPSHOT;
    } else {
        op->kind = BANK_COMPACT;
    }
}

/* ---- keys and values ------------------------------------------------------ */

size_t bank_account_key(uint32_t a, char buf[BANK_KEY_MAX])
{
    return (size_t)snprintf(buf, BANK_KEY_MAX, "acct%02u", (unsigned)a);
}

size_t bank_plain_key(uint32_t p, char buf[BANK_KEY_MAX])
{
    return (size_t)snprintf(buf, BANK_KEY_MAX, "plain%u", (unsigned)p);
}

size_t bank_marker_key(uint32_t tag, char buf[BANK_KEY_MAX])
{
    return (size_t)snprintf(buf, BANK_KEY_MAX, "xfer%08u", (unsigned)tag);
}

/* Appends len bytes derived from s at buf + at; returns the new length. */
static size_t bank_fill(uint8_t *buf, size_t at, size_t len, uint64_t s)
{
    for (size_t i = 0; i < len; i++) {
        if (i % 8 == 0)
            s = bank_mix(s);
        buf[at + i] = (uint8_t)('a' + (s >> (8 * (i % 8))) % 26);
    }
    return at + len;
}

size_t bank_account_value(int64_t balance, uint32_t tag, uint8_t buf[BANK_VALUE_MAX])
{
    int n = snprintf((char *)buf, BANK_VALUE_MAX, "%" PRId64 "/%u/", balance, (unsigned)tag);
    return bank_fill(buf, (size_t)n, (tag * 7u) % 40u, ((uint64_t)tag << 20) ^ 0xacc7ull);
}

size_t bank_marker_value(uint32_t tag, uint32_t from, uint32_t to, int64_t amount,
                         uint8_t buf[BANK_VALUE_MAX])
{
    int n = snprintf((char *)buf, BANK_VALUE_MAX, "%u:%u>%u:%" PRId64 ":", (unsigned)tag,
                     (unsigned)from, (unsigned)to, amount);
    /* 1 in 16 markers is large, so a commit's batch crosses pages. */
    size_t pad = tag % 16 == 5 ? 1500 + tag % 2500 : tag % 60;
    return bank_fill(buf, (size_t)n, pad, ((uint64_t)tag << 24) ^ 0x3a7cull);
}

size_t bank_plain_value(uint32_t tag, uint32_t p, uint8_t buf[BANK_VALUE_MAX])
{
    int n = snprintf((char *)buf, BANK_VALUE_MAX, "%u=%u:", (unsigned)tag, (unsigned)p);
    size_t pad = tag % 8 == 3 ? 2000 + tag % 3000 : tag % 100;
    return bank_fill(buf, (size_t)n, pad, ((uint64_t)tag << 16) ^ p ^ 0x91a1ull);
}

int bank_account_parse(const void *val, size_t vlen, int64_t *balance, uint32_t *tag)
{
    char text[48];
    size_t n = vlen < sizeof text - 1 ? vlen : sizeof text - 1;
    memcpy(text, val, n);
    text[n] = '\0';
    long long b = 0;
    unsigned t = 0;
    if (sscanf(text, "%lld/%u/", &b, &t) != 2)
        return 0;
    uint8_t want[BANK_VALUE_MAX];
    size_t wl = bank_account_value(b, t, want);
    if (wl != vlen || memcmp(want, val, vlen) != 0)
        return 0;
    *balance = b;
    *tag = t;
    return 1;
}

/* ---- running an operation ---------------------------------------------------- */

typedef struct bank_run {
    kv_db *db;
    bank_send_fn send;
    void *ctx;
} bank_run;

static void bank_say(const bank_run *r, uint32_t type, uint32_t tag, uint32_t key,
                     int32_t status)
{
    crash_msg m = {.type = type, .op = tag, .key = key, .status = status};
    r->send(r->ctx, &m, 1);
}

/* Reports the end of write `tag` (ACK) and returns its status. */
static int bank_ack(const bank_run *r, uint32_t tag, int rc)
{
    bank_say(r, CRASH_MSG_ACK, tag, 0, rc);
    return rc;
}

/* The balance of account a in t (kv_txn_get), or -1 with *rc set. */
static int64_t bank_txn_balance(kv_txn *t, uint32_t a, int *rc)
{
    char key[BANK_KEY_MAX];
    size_t klen = bank_account_key(a, key);
    void *v = NULL;
    size_t vl = 0;
    int64_t bal = -1;
    uint32_t tag = 0;
    *rc = kv_txn_get(t, key, klen, &v, &vl);
    if (*rc == KV_OK && !bank_account_parse(v, vl, &bal, &tag)) {
        bal = -1;
        *rc = KV_ERR_CORRUPT;
    } else if (*rc == KV_NOT_FOUND) {
        *rc = KV_ERR_CORRUPT;
    }
    kv_free(v);
    return bal;
}

/* Reads x's two balances by a scan from the lower account to the higher,
 * stopping there (so under SERIALIZABLE that range is what it read). */
static int bank_scan_balances(kv_txn *t, const bank_transfer *x, int64_t *from, int64_t *to)
{
    uint32_t lo = x->from < x->to ? x->from : x->to, hi = x->from ^ x->to ^ lo;
    char key[BANK_KEY_MAX];
    size_t klen = bank_account_key(lo, key);
    kv_txn_iter *it = NULL;
    int rc = kv_txn_iter_new(t, &it);
    if (rc != KV_OK)
        return rc;
    uint32_t want = lo;
    *from = *to = -1;
    for (kv_txn_iter_seek(it, key, klen); kv_txn_iter_valid(it) && want <= hi;
         kv_txn_iter_next(it), want++) {
        size_t kl = 0, vl = 0;
        const void *k = kv_txn_iter_key(it, &kl);
        const void *v = kv_txn_iter_value(it, &vl);
        klen = bank_account_key(want, key);
        int64_t bal = -1;
        uint32_t tag = 0;
        if (kl != klen || memcmp(k, key, kl) != 0 || v == NULL ||
            !bank_account_parse(v, vl, &bal, &tag))
            break; /* an account missing or damaged */
        if (want == x->from)
            *from = bal;
        if (want == x->to)
            *to = bal;
        if (want == hi)
            break; /* the range read ends at the higher account */
    }
    rc = kv_txn_iter_status(it);
    kv_txn_iter_free(it);
    if (rc == KV_OK && (*from < 0 || *to < 0))
        rc = KV_ERR_CORRUPT;
    return rc;
}

/* The writes of transfer x, tagged tag, in t: both accounts and the marker. */
static int bank_transfer_writes(kv_txn *t, const bank_transfer *x, uint32_t tag, int64_t from,
                                int64_t to, int64_t amount)
{
    char key[BANK_KEY_MAX];
    uint8_t val[BANK_VALUE_MAX];
    size_t klen = bank_account_key(x->from, key), vlen = bank_account_value(from - amount, tag, val);
    int rc = kv_txn_put(t, key, klen, val, vlen);
    klen = bank_account_key(x->to, key);
    vlen = bank_account_value(to + amount, tag, val);
    if (rc == KV_OK)
        rc = kv_txn_put(t, key, klen, val, vlen);
    klen = bank_marker_key(tag, key);
    vlen = bank_marker_value(tag, x->from, x->to, amount, val);
    if (rc == KV_OK)
        rc = kv_txn_put(t, key, klen, val, vlen);
    return rc;
}

static int bank_meddle(const bank_run *r, const bank_op *op);

/* A transfer, tagged tag: begin, read, report the reads, let its meddler
 * run (part 0, first attempt only), write, commit; again after a conflict
 * (at most 3 attempts: the retry has nothing to conflict with). */
static int bank_transfer_run(const bank_run *r, const bank_op *op, const bank_transfer *x,
                             uint32_t tag)
{
    int rc = KV_ERR_CONFLICT;
    for (int attempt = 0; attempt < 3 && rc == KV_ERR_CONFLICT; attempt++) {
        kv_txn *t = NULL;
        if ((rc = kv_txn_begin(r->db, x->level, &t)) != KV_OK)
            return bank_ack(r, tag, rc);
        int64_t from = -1, to = -1;
        if (x->scan) {
            rc = bank_scan_balances(t, x, &from, &to);
        } else {
            from = bank_txn_balance(t, x->from, &rc);
            if (rc == KV_OK)
                to = bank_txn_balance(t, x->to, &rc);
        }
        if (rc != KV_OK) {
            kv_txn_abort(t);
            return bank_ack(r, tag, rc);
        }
        bank_say(r, BANK_MSG_READ, tag, (uint32_t)from, (int32_t)to);
        if (attempt == 0 && op != NULL && (rc = bank_meddle(r, op)) != KV_OK) {
            kv_txn_abort(t);
            return rc;
        }
        int64_t amount = x->want < from ? x->want : from;
        if ((rc = bank_transfer_writes(t, x, tag, from, to, amount)) != KV_OK) {
            kv_txn_abort(t);
            return bank_ack(r, tag, rc);
        }
        bank_say(r, CRASH_MSG_BEGIN, tag, BANK_TRANSFER, (int32_t)amount);
        rc = bank_ack(r, tag, kv_txn_commit(t));
    }
    return rc;
}

/* kv_put of plain key p by write tag (BEGIN, put, ACK). */
static int bank_plain_put(const bank_run *r, uint32_t p, uint32_t tag)
{
    char key[BANK_KEY_MAX];
    uint8_t val[BANK_VALUE_MAX];
    size_t klen = bank_plain_key(p, key), vlen = bank_plain_value(tag, p, val);
    bank_say(r, CRASH_MSG_BEGIN, tag, BANK_PUT, (int32_t)vlen);
    return bank_ack(r, tag, kv_put(r->db, key, klen, val, vlen));
}

/* Rewrites account a with the balance it has (kv_get, then kv_put). */
static int bank_touch(const bank_run *r, uint32_t a, uint32_t tag)
{
    char key[BANK_KEY_MAX];
    uint8_t val[BANK_VALUE_MAX];
    size_t klen = bank_account_key(a, key);
    void *v = NULL;
    size_t vl = 0;
    int64_t bal = -1;
    uint32_t old = 0;
    int rc = kv_get(r->db, key, klen, &v, &vl);
    if (rc == KV_OK && !bank_account_parse(v, vl, &bal, &old))
        rc = KV_ERR_CORRUPT;
    kv_free(v);
    if (rc != KV_OK)
        return bank_ack(r, tag, rc == KV_NOT_FOUND ? KV_ERR_CORRUPT : rc);
    size_t vlen = bank_account_value(bal, tag, val);
    bank_say(r, CRASH_MSG_BEGIN, tag, BANK_TOUCH, (int32_t)bal);
    return bank_ack(r, tag, kv_put(r->db, key, klen, val, vlen));
}

static int bank_meddle(const bank_run *r, const bank_op *op)
{
    switch (op->meddle) {
    case BANK_RIVAL: return bank_transfer_run(r, NULL, &op->rival, bank_tag(op->n, 1));
    case BANK_TOUCHED: return bank_touch(r, op->account, bank_tag(op->n, 2));
    case BANK_ASIDE: return bank_plain_put(r, op->plain, bank_tag(op->n, 3));
    default: return KV_OK;
    }
}

/* Sums the accounts with a scan in one read-only transaction; a missing,
 * damaged or negative account makes it KV_ERR_CORRUPT. */
static int bank_audit(const bank_run *r, const bank_op *op, uint32_t tag)
{
    bank_say(r, CRASH_MSG_BEGIN, tag, BANK_AUDIT, 0);
    kv_txn *t = NULL;
    kv_txn_iter *it = NULL;
    int rc = kv_txn_begin(r->db, op->level, &t);
    if (rc == KV_OK && (rc = kv_txn_iter_new(t, &it)) != KV_OK)
        kv_txn_abort(t);
    if (rc != KV_OK)
        return bank_ack(r, tag, rc);
    int64_t total = 0;
    uint32_t seen = 0;
    int bad = 0;
    for (kv_txn_iter_seek(it, "acct", 4); kv_txn_iter_valid(it); kv_txn_iter_next(it)) {
        size_t kl = 0, vl = 0;
        const char *k = kv_txn_iter_key(it, &kl);
        if (kl < 4 || memcmp(k, "acct", 4) != 0)
            break;
        const void *v = kv_txn_iter_value(it, &vl);
        int64_t bal = -1;
        uint32_t wtag = 0;
        bad |= v == NULL || !bank_account_parse(v, vl, &bal, &wtag) || bal < 0;
        total += bal;
        seen++;
    }
    rc = kv_txn_iter_status(it);
    kv_txn_iter_free(it);
    int crc = kv_txn_commit(t); /* read-only: KV_OK at once */
    if (rc == KV_OK)
        rc = crc != KV_OK ? crc : bad ? KV_ERR_CORRUPT : KV_OK;
    bank_say(r, BANK_MSG_AUDIT, tag, seen, (int32_t)total);
    return bank_ack(r, tag, rc);
}

/* Opens the bank: every account at BANK_START, and op 0's marker. */
static int bank_setup(const bank_run *r)
{
    kv_txn *t = NULL;
    int rc = kv_txn_begin(r->db, KV_TXN_SERIALIZABLE, &t);
    char key[BANK_KEY_MAX];
    uint8_t val[BANK_VALUE_MAX];
    for (uint32_t a = 0; a < BANK_ACCOUNTS && rc == KV_OK; a++) {
        size_t klen = bank_account_key(a, key), vlen = bank_account_value(BANK_START, 0, val);
        rc = kv_txn_put(t, key, klen, val, vlen);
    }
    size_t klen = bank_marker_key(0, key);
    size_t vlen = bank_marker_value(0, BANK_ACCOUNTS, BANK_ACCOUNTS, BANK_START, val);
    if (rc == KV_OK)
        rc = kv_txn_put(t, key, klen, val, vlen);
    if (rc != KV_OK) {
        kv_txn_abort(t);
        return bank_ack(r, 0, rc);
    }
    bank_say(r, CRASH_MSG_BEGIN, 0, BANK_SETUP, BANK_START);
    return bank_ack(r, 0, kv_txn_commit(t));
}

int bank_op_run(kv_db *db, const bank_op *op, bank_send_fn send, void *ctx)
{
    bank_run r = {.db = db, .send = send, .ctx = ctx};
    uint32_t tag = bank_tag(op->n, 0);
    char key[BANK_KEY_MAX];
    switch (op->kind) {
    case BANK_SETUP: return bank_setup(&r);
    case BANK_TRANSFER: return bank_transfer_run(&r, op, &op->t, tag);
    case BANK_PUT: return bank_plain_put(&r, op->plain, tag);
    case BANK_DELETE: {
        size_t klen = bank_plain_key(op->plain, key);
        bank_say(&r, CRASH_MSG_BEGIN, tag, BANK_DELETE, 0);
        return bank_ack(&r, tag, kv_delete(db, key, klen));
    }
    case BANK_AUDIT: return bank_audit(&r, op, tag);
    default:
        bank_say(&r, CRASH_MSG_BEGIN, tag, BANK_COMPACT, 0);
        return bank_ack(&r, tag, kv_compact(db));
    }
}

/* ---- the child of a kill run -------------------------------------------------- */

/* One group of messages, one write() (at most PIPE_BUF bytes: atomic). */
static void bank_pipe_send(void *ctx, const crash_msg *m, size_t count)
{
    int fd = *(const int *)ctx;
    ssize_t w;
    do
        w = write(fd, m, count * sizeof *m);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)(count * sizeof *m))
        _exit(4); /* the parent is gone */
}

_Noreturn void bank_child(const char *dir, const crash_workload *w, uint64_t seed,
                          uint32_t first, int sync, int fd)
{
    kv_options opt;
    crash_options(w, sync, &opt);
    kv_db *db = NULL;
    int rc = kv_open(dir, &opt, &db);
    crash_msg opened = {.type = CRASH_MSG_OPENED, .status = rc};
    bank_pipe_send(&fd, &opened, 1);
    if (rc != KV_OK) {
        fprintf(stderr, "crashtest child: kv_open %s: %s\n", dir, kv_errmsg());
        _exit(2);
    }
    for (uint32_t n = first;; n++) {
        bank_op op;
        bank_op_make(seed, n, &op);
        if ((rc = bank_op_run(db, &op, bank_pipe_send, &fd)) != KV_OK) {
            fprintf(stderr, "crashtest child: bank op %u: %s: %s\n", (unsigned)n,
                    kv_strerror(rc), kv_errmsg());
            _exit(3);
        }
    }
}
