/*
 * bank_model.c: the parent's side of the bank workload (bank.h): a model
 * built from the child's messages, and the check of a reopened database
 * against it.
 *
 * The model is the list of events (writes) in the order they were made,
 * each with its status (acknowledged, maybe, not done) and what it wrote.
 * Every value names its event by its tag, so a check reads the database
 * once, finds for each key the event that wrote it, and asks: is every
 * key's writer an event that may be there (else foreign); is the state the
 * one that the events up to the last one seen leave (else a hole, or a torn
 * commit); do the accounts add up; and is every acknowledged event at or
 * before that last one (else lost).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bank.h"

void bank_model_init(bank_model *m, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->seed = seed;
    m->cur = -1;
}

void bank_model_free(bank_model *m)
{
    free(m->ev);
    free(m->status);
    free(m->durable);
    free(m->by_tag);
    memset(m, 0, sizeof *m);
}

static void bank_problem(bank_model *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void bank_problem(bank_model *m, const char *fmt, ...)
{
    if (m->problem[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->problem, sizeof m->problem, fmt, ap);
    va_end(ap);
}

/* The latest event with this tag, or -1. */
static long bank_event_of(const bank_model *m, uint32_t tag)
{
    return tag < m->tags ? m->by_tag[tag] : -1;
}

static long bank_event_add(bank_model *m, const bank_event *e)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 256;
        m->ev = realloc(m->ev, m->cap * sizeof *m->ev);
        m->status = realloc(m->status, m->cap);
        m->durable = realloc(m->durable, m->cap);
        if (!m->ev || !m->status || !m->durable) {
            perror("crashtest: bank model");
            exit(2);
        }
    }
    if (e->tag >= m->tags) {
        size_t want = (size_t)e->tag * 2 + 64;
        m->by_tag = realloc(m->by_tag, want * sizeof *m->by_tag);
        if (!m->by_tag) {
            perror("crashtest: bank model");
            exit(2);
        }
        for (size_t i = m->tags; i < want; i++)
            m->by_tag[i] = -1;
        m->tags = want;
    }
    m->ev[m->n] = *e;
    m->status[m->n] = CRASH_MAYBE;
    m->durable[m->n] = 0;
    m->by_tag[e->tag] = (long)m->n;
    return (long)m->n++;
}

/* Applies event e to the balances b. */
static void bank_apply(const bank_event *e, int64_t b[BANK_ACCOUNTS])
{
    if (e->kind == BANK_SETUP) {
        for (int a = 0; a < BANK_ACCOUNTS; a++)
            b[a] = BANK_START;
    } else if (e->kind == BANK_TRANSFER) {
        b[e->a] = e->a_after;
        b[e->b] = e->b_after;
    } else if (e->kind == BANK_TOUCH) {
        b[e->a] = e->a_after;
    }
}

/* Does a write of `account` conflict with transfer x (kv.h, transactions)?
 * Under both levels a write of a key x writes; under SERIALIZABLE also one
 * of a key it read, which after a scan is every account between its two. */
static int bank_depends(const bank_transfer *x, uint32_t account)
{
    if (account == x->from || account == x->to)
        return 1;
    uint32_t lo = x->from < x->to ? x->from : x->to, hi = x->from ^ x->to ^ lo;
    return x->level == KV_TXN_SERIALIZABLE && x->scan && account >= lo && account <= hi;
}

/* Must part 0 of op's first commit conflict, given its meddler? */
static int bank_must_conflict(const bank_op *op)
{
    switch (op->meddle) {
    case BANK_RIVAL: return bank_depends(&op->t, op->rival.from) || bank_depends(&op->t, op->rival.to);
    case BANK_TOUCHED: return bank_depends(&op->t, op->account);
    default: return 0;
    }
}

/* Makes op n the one the messages are about (a new one: its state reset). */
static void bank_model_op(bank_model *m, uint32_t n)
{
    if (m->have_op && m->op.n == n)
        return;
    bank_op_make(m->seed, n, &m->op);
    m->have_op = 1;
    m->have_read[0] = m->have_read[1] = 0;
    m->attempts = 0;
    m->meddled += m->op.kind == BANK_TRANSFER && m->op.meddle != BANK_ALONE;
}

static void bank_take_read(bank_model *m, const crash_msg *msg)
{
    uint32_t part = msg->op % 4;
    bank_model_op(m, msg->op / 4);
    const bank_op *op = &m->op;
    if (op->kind != BANK_TRANSFER || part > 1 || (part == 1 && op->meddle != BANK_RIVAL)) {
        bank_problem(m, "protocol: a read for write %u, which is no transfer", (unsigned)msg->op);
        return;
    }
    const bank_transfer *x = part ? &op->rival : &op->t;
    int64_t from = msg->key, to = msg->status;
    if (from != m->bal[x->from] || to != m->bal[x->to])
        bank_problem(m, "transfer %u read acct%02u = %" PRId64 ", acct%02u = %" PRId64
                     "; the acknowledged writes left %" PRId64 " and %" PRId64,
                     (unsigned)msg->op, x->from, from, x->to, to, m->bal[x->from],
                     m->bal[x->to]);
    m->read_from[part] = from;
    m->read_to[part] = to;
    m->have_read[part] = 1;
}

static void bank_take_begin(bank_model *m, const crash_msg *msg)
{
    uint32_t part = msg->op % 4;
    bank_model_op(m, msg->op / 4);
    const bank_op *op = &m->op;
    int kind = (int)msg->key;
    int want = part == 0 ? op->kind : part == 1 ? BANK_TRANSFER : part == 2 ? BANK_TOUCH : BANK_PUT;
    m->cur = -1;
    m->cur_kind = kind;
    m->audit_seen = 0;
    if (kind != want) {
        bank_problem(m, "protocol: write %u began as kind %d, not %d", (unsigned)msg->op, kind,
                     want);
        return;
    }
    bank_event e = {.tag = msg->op, .kind = kind};
    if (kind == BANK_TRANSFER) {
        const bank_transfer *x = part ? &op->rival : &op->t;
        if (!m->have_read[part]) {
            bank_problem(m, "protocol: transfer %u committed before it read",
                         (unsigned)msg->op);
            return;
        }
        int64_t amount = x->want < m->read_from[part] ? x->want : m->read_from[part];
        if (msg->status != amount)
            bank_problem(m, "transfer %u moves %d, where %" PRId64 " was due",
                         (unsigned)msg->op, msg->status, amount);
        e.a = x->from;
        e.b = x->to;
        e.amount = amount;
        e.a_after = m->read_from[part] - amount;
        e.b_after = m->read_to[part] + amount;
        m->have_read[part] = 0;
    } else if (kind == BANK_TOUCH) {
        e.a = op->account;
        e.a_after = msg->status;
        if (msg->status != m->bal[op->account])
            bank_problem(m, "write %u rewrote acct%02u with %d, where it held %" PRId64,
                         (unsigned)msg->op, op->account, msg->status, m->bal[op->account]);
    } else if (kind == BANK_PUT || kind == BANK_DELETE) {
        e.a = op->plain;
        m->plain++;
    } else if (kind != BANK_SETUP) {
        m->merges += kind == BANK_COMPACT;
        return; /* an audit or a merge writes nothing */
    }
    m->cur = bank_event_add(m, &e);
}

static void bank_take_ack(bank_model *m, const crash_msg *msg)
{
    m->acks++;
    uint32_t part = msg->op % 4;
    if (m->cur_kind == BANK_AUDIT || m->cur_kind == BANK_COMPACT) {
        if (msg->status != KV_OK)
            bank_problem(m, "%s %u returned %s in the child",
                         m->cur_kind == BANK_AUDIT ? "audit" : "merge", (unsigned)msg->op,
                         kv_strerror(msg->status));
        else if (m->cur_kind == BANK_AUDIT && !m->audit_seen)
            bank_problem(m, "protocol: audit %u ended without its sum", (unsigned)msg->op);
        m->audits += m->cur_kind == BANK_AUDIT;
        m->cur_kind = 0;
        return;
    }
    long e = m->cur;
    if (e < 0 || m->ev[e].tag != msg->op) {
        bank_problem(m, "protocol: an end for write %u, which did not begin", (unsigned)msg->op);
        return;
    }
    m->cur = -1;
    int is_commit = m->ev[e].kind == BANK_TRANSFER || m->ev[e].kind == BANK_SETUP;
    int first = m->ev[e].kind == BANK_TRANSFER && part == 0 && m->attempts++ == 0;
    if (msg->status == KV_ERR_CONFLICT && is_commit) {
        m->ev[e].failed = 1;
        m->status[e] = CRASH_NOT_DONE;
        m->conflicts++;
        if (!first || !bank_must_conflict(&m->op))
            bank_problem(m, "transfer %u conflicted%s", (unsigned)msg->op,
                         first ? ", though its meddler wrote nothing it depends on"
                               : ", with nothing to conflict with");
        return;
    }
    if (msg->status != KV_OK) {
        bank_problem(m, "write %u returned %s in the child", (unsigned)msg->op,
                     kv_strerror(msg->status));
        return;
    }
    if (first && bank_must_conflict(&m->op))
        bank_problem(m, "transfer %u committed, though its meddler (%s) wrote an account "
                     "it depends on", (unsigned)msg->op,
                     m->op.meddle == BANK_RIVAL ? "another transfer" : "a kv_put");
    m->retries += m->ev[e].kind == BANK_TRANSFER && part == 0 && m->attempts > 1;
    m->commits += is_commit;
    m->status[e] = CRASH_ACKED;
    bank_apply(&m->ev[e], m->bal);
}

void bank_model_take(bank_model *m, const crash_msg *msg)
{
    if (m->problem[0])
        return;
    switch (msg->type) {
    case CRASH_MSG_OPENED:
        if (msg->status != KV_OK)
            bank_problem(m, "the child's kv_open failed: %s", kv_strerror(msg->status));
        return;
    case BANK_MSG_READ: bank_take_read(m, msg); break;
    case CRASH_MSG_BEGIN: bank_take_begin(m, msg); break;
    case BANK_MSG_AUDIT:
        m->audit_seen = 1;
        if (msg->key != BANK_ACCOUNTS || msg->status != BANK_TOTAL)
            bank_problem(m, "audit %u saw %u accounts adding up to %d, not %d and %" PRId64,
                         (unsigned)msg->op, (unsigned)msg->key, msg->status, BANK_ACCOUNTS,
                         BANK_TOTAL);
        break;
    case CRASH_MSG_ACK: bank_take_ack(m, msg); break;
    default: bank_problem(m, "protocol: message type %u", (unsigned)msg->type); return;
    }
    if (msg->op / 4 + 1 > m->next_op)
        m->next_op = msg->op / 4 + 1;
}

void bank_model_settle(bank_model *m)
{
    memset(m->bal, 0, sizeof m->bal);
    for (size_t i = 0; i < m->n; i++) {
        if (m->status[i] != CRASH_ACKED) { /* not done, or unresolved */
            m->status[i] = CRASH_NOT_DONE;
            m->ev[i].failed = 1;
        }
        if (m->status[i] == CRASH_ACKED)
            bank_apply(&m->ev[i], m->bal);
    }
    if (m->n == 0 || m->status[0] != CRASH_ACKED)
        m->next_op = 0;
    m->have_op = 0;
    m->cur = -1;
    m->cur_kind = 0;
}

/* ---- the check ----------------------------------------------------------- */

static void bank_note(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bank_note(char *buf, size_t n, const char *fmt, ...)
{
    if (buf[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

#define BANK_ABSENT (-2L)

/* What one reading of the database found: for each account and plain key
 * the event that wrote it (or BANK_ABSENT), which markers are there. */
typedef struct bank_seen {
    long acct[BANK_ACCOUNTS];
    int64_t bal[BANK_ACCOUNTS];
    long plain[BANK_PLAIN];
    uint8_t *marker; /* per event */
} bank_seen;

/* The event that wrote account a's value (val, vlen), or -1 (foreign). */
static long bank_account_writer(const bank_model *m, uint32_t a, const void *val, size_t vlen,
                                int64_t *bal)
{
    uint32_t tag = 0;
    if (!bank_account_parse(val, vlen, bal, &tag))
        return -1;
    long e = bank_event_of(m, tag);
    if (e < 0 || m->ev[e].failed || m->status[e] == CRASH_NOT_DONE)
        return -1;
    const bank_event *ev = &m->ev[e];
    int ok = ev->kind == BANK_SETUP ? *bal == BANK_START
             : ev->kind == BANK_TRANSFER ? (a == ev->a && *bal == ev->a_after) ||
                                               (a == ev->b && *bal == ev->b_after)
             : ev->kind == BANK_TOUCH ? a == ev->a && *bal == ev->a_after
                                      : 0;
    return ok ? e : -1;
}

static long bank_plain_writer(const bank_model *m, uint32_t p, const void *val, size_t vlen)
{
    char text[32];
    size_t n = vlen < sizeof text - 1 ? vlen : sizeof text - 1;
    memcpy(text, val, n);
    text[n] = '\0';
    unsigned tag = 0, pp = 0;
    uint8_t want[BANK_VALUE_MAX];
    if (sscanf(text, "%u=%u:", &tag, &pp) != 2 || pp != p ||
        bank_plain_value(tag, p, want) != vlen || memcmp(want, val, vlen) != 0)
        return -1;
    long e = bank_event_of(m, tag);
    if (e < 0 || m->ev[e].failed || m->status[e] == CRASH_NOT_DONE ||
        m->ev[e].kind != BANK_PUT || m->ev[e].a != p)
        return -1;
    return e;
}

static long bank_marker_writer(const bank_model *m, uint32_t tag, const void *val, size_t vlen)
{
    long e = bank_event_of(m, tag);
    if (e < 0 || m->ev[e].failed || m->status[e] == CRASH_NOT_DONE)
        return -1;
    const bank_event *ev = &m->ev[e];
    uint8_t want[BANK_VALUE_MAX];
    size_t wl;
    if (ev->kind == BANK_SETUP)
        wl = bank_marker_value(tag, BANK_ACCOUNTS, BANK_ACCOUNTS, BANK_START, want);
    else if (ev->kind == BANK_TRANSFER)
        wl = bank_marker_value(tag, ev->a, ev->b, ev->amount, want);
    else
        return -1;
    return wl == vlen && memcmp(want, val, vlen) == 0 ? e : -1;
}

/* Parses "acctNN", "plainN", "xferNNNNNNNN": 'a', 'p' or 'x' and *id, or 0. */
static int bank_key_parse(const char *k, size_t kl, uint32_t *id)
{
    char text[BANK_KEY_MAX + 1];
    if (kl == 0 || kl > BANK_KEY_MAX)
        return 0;
    memcpy(text, k, kl);
    text[kl] = '\0';
    char buf[BANK_KEY_MAX];
    unsigned x = 0;
    if (sscanf(text, "acct%u", &x) == 1 && x < BANK_ACCOUNTS &&
        bank_account_key(x, buf) == kl && memcmp(buf, k, kl) == 0)
        return *id = x, 'a';
    if (sscanf(text, "plain%u", &x) == 1 && x < BANK_PLAIN && bank_plain_key(x, buf) == kl &&
        memcmp(buf, k, kl) == 0)
        return *id = x, 'p';
    if (sscanf(text, "xfer%u", &x) == 1 && bank_marker_key(x, buf) == kl &&
        memcmp(buf, k, kl) == 0)
        return *id = x, 'x';
    return 0;
}

/* Reads the whole database with one iterator, then each account and plain
 * key with kv_get, which must agree. */
static void bank_read(kv_db *db, const bank_model *m, bank_seen *s, crash_verdict *v)
{
    for (int a = 0; a < BANK_ACCOUNTS; a++)
        s->acct[a] = BANK_ABSENT;
    for (int p = 0; p < BANK_PLAIN; p++)
        s->plain[p] = BANK_ABSENT;
    kv_iter *it = NULL;
    int rc = kv_iter_new(db, &it);
    if (rc != KV_OK) {
        v->read_errors++;
        bank_note(v->what, sizeof v->what, "kv_iter_new: %s", kv_strerror(rc));
        return;
    }
    char prev[BANK_KEY_MAX + 1];
    size_t prevlen = 0;
    int first = 1;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
        size_t kl = 0, vl = 0;
        const char *k = kv_iter_key(it, &kl);
        const void *val = kv_iter_value(it, &vl);
        uint32_t id = 0;
        int what = bank_key_parse(k, kl, &id);
        if (!what || val == NULL) {
            v->foreign++;
            bank_note(v->broken, sizeof v->broken, "a key no write made: %.*s",
                      (int)(kl < 40 ? kl : 40), k);
            bank_note(v->what, sizeof v->what, "%s", v->broken);
            continue;
        }
        size_t cl = kl < prevlen ? kl : prevlen;
        int c = memcmp(prev, k, cl);
        if (!first && (c > 0 || (c == 0 && prevlen >= kl))) {
            v->inconsistent = 1;
            bank_note(v->what, sizeof v->what, "the iterator went from %.*s to %.*s",
                      (int)prevlen, prev, (int)kl, k);
        }
        memcpy(prev, k, kl);
        prevlen = kl;
        first = 0;
        long e = -1;
        if (what == 'a')
            e = s->acct[id] = bank_account_writer(m, id, val, vl, &s->bal[id]);
        else if (what == 'p')
            e = s->plain[id] = bank_plain_writer(m, id, val, vl);
        else if ((e = bank_marker_writer(m, id, val, vl)) >= 0)
            s->marker[e] = 1;
        if (e < 0) {
            v->foreign++;
            bank_note(v->what, sizeof v->what, "%.*s holds a value no allowed write made",
                      (int)kl, k);
        }
    }
    if ((rc = kv_iter_status(it)) != KV_OK) {
        v->read_errors++;
        bank_note(v->what, sizeof v->what, "the iterator failed: %s", kv_strerror(rc));
    }
    kv_iter_free(it);
    /* kv_get must agree with the iterator. */
    for (int i = 0; i < BANK_ACCOUNTS + BANK_PLAIN; i++) {
        char key[BANK_KEY_MAX];
        int acct = i < BANK_ACCOUNTS;
        uint32_t id = acct ? (uint32_t)i : (uint32_t)(i - BANK_ACCOUNTS);
        size_t klen = acct ? bank_account_key(id, key) : bank_plain_key(id, key);
        void *val = NULL;
        size_t vl = 0;
        rc = kv_get(db, key, klen, &val, &vl);
        long want = acct ? s->acct[id] : s->plain[id], got = BANK_ABSENT;
        int64_t bal = 0;
        if (rc == KV_OK)
            got = acct ? bank_account_writer(m, id, val, vl, &bal) : bank_plain_writer(m, id, val, vl);
        else if (rc != KV_NOT_FOUND) {
            v->read_errors++;
            bank_note(v->what, sizeof v->what, "kv_get %s: %s", key, kv_strerror(rc));
            got = want;
        }
        kv_free(val);
        if (got != want) {
            v->inconsistent = 1;
            bank_note(v->what, sizeof v->what, "kv_get %s disagrees with the iterator", key);
        }
    }
}

/* One more commit after recovery, then a reopen: it must be there. */
static void bank_probe(kv_db **db, const char *dir, crash_verdict *v)
{
    static const char key[] = "zz-probe", val[] = "committed after recovery";
    kv_txn *t = NULL;
    int rc = kv_txn_begin(*db, KV_TXN_SERIALIZABLE, &t);
    if (rc == KV_OK && (rc = kv_txn_put(t, key, sizeof key - 1, val, sizeof val - 1)) != KV_OK)
        kv_txn_abort(t);
    else if (rc == KV_OK)
        rc = kv_txn_commit(t);
    int crc = kv_close(*db);
    *db = NULL;
    if (rc == KV_OK)
        rc = crc;
    if (rc == KV_OK)
        rc = kv_open(dir, NULL, db);
    void *got = NULL;
    size_t glen = 0;
    if (rc == KV_OK)
        rc = kv_get(*db, key, sizeof key - 1, &got, &glen);
    if (rc != KV_OK || glen != sizeof val - 1 || memcmp(got, val, glen) != 0) {
        v->probe_failed = 1;
        bank_note(v->broken, sizeof v->broken,
                  "a commit after recovery, a close and a reopen: %s", kv_strerror(rc));
        bank_note(v->what, sizeof v->what, "%s", v->broken);
    }
    kv_free(got);
}

/* Does event i count (not failed, not known undone)? */
static int bank_counts(const bank_model *m, size_t i)
{
    return !m->ev[i].failed && m->status[i] != CRASH_NOT_DONE;
}

/* Commits up to `seen` (the last event the state shows) must show whole
 * or not at all: their marker and their accounts (unless a later write
 * covered one).  Counts the torn ones. */
static void bank_judge_torn(const bank_model *m, const bank_seen *s, long seen, crash_verdict *v)
{
    for (long i = 0; i <= seen; i++) {
        const bank_event *e = &m->ev[i];
        if (!bank_counts(m, (size_t)i) || (e->kind != BANK_SETUP && e->kind != BANK_TRANSFER))
            continue;
        int parts = 1, shown = s->marker[i];
        for (int a = 0; a < BANK_ACCOUNTS; a++)
            if (e->kind == BANK_SETUP || a == e->a || a == e->b) {
                parts++;
                shown += s->acct[a] >= i; /* it, or a later write of a */
            }
        if (shown != 0 && shown != parts) {
            v->torn++;
            bank_note(v->torn_what, sizeof v->torn_what, "commit %u shows %d of its %d writes",
                      (unsigned)e->tag, shown, parts);
        }
    }
}

/* The longest prefix of the events whose state is exactly the one seen:
 * its last event, -1 for the empty prefix, or -2 if there is none (a
 * hole).  Only prefixes that reach `seen` can match; a longer one may too,
 * through writes that left no trace (a delete of a key seen absent, or a
 * put that a later delete undid). */
static long bank_longest_prefix(const bank_model *m, const bank_seen *s, long seen)
{
    long acct[BANK_ACCOUNTS], plain[BANK_PLAIN], best = seen < 0 ? -1 : -2;
    for (int a = 0; a < BANK_ACCOUNTS; a++)
        acct[a] = BANK_ABSENT;
    for (int p = 0; p < BANK_PLAIN; p++)
        plain[p] = BANK_ABSENT;
    long missing = 0; /* commits in the prefix whose marker is not there */
    for (size_t i = 0; i < m->n; i++) {
        const bank_event *e = &m->ev[i];
        if (!bank_counts(m, i))
            continue;
        if (e->kind == BANK_SETUP)
            for (int a = 0; a < BANK_ACCOUNTS; a++)
                acct[a] = (long)i;
        if (e->kind == BANK_TRANSFER)
            acct[e->a] = acct[e->b] = (long)i;
        if (e->kind == BANK_TOUCH)
            acct[e->a] = (long)i;
        if (e->kind == BANK_PUT)
            plain[e->a] = (long)i;
        if (e->kind == BANK_DELETE)
            plain[e->a] = BANK_ABSENT;
        missing += (e->kind == BANK_SETUP || e->kind == BANK_TRANSFER) && !s->marker[i];
        if ((long)i < seen || missing)
            continue;
        int same = memcmp(acct, s->acct, sizeof acct) == 0 &&
                   memcmp(plain, s->plain, sizeof plain) == 0;
        if (same)
            best = (long)i;
    }
    return best;
}

int bank_check_dir(const char *dir, bank_model *m, int flags, crash_verdict *v)
{
    memset(v, 0, sizeof *v);
    kv_db *db = NULL;
    v->open_status = kv_open(dir, NULL, &db);
    if (v->open_status != KV_OK) {
        snprintf(v->what, sizeof v->what, "kv_open: %s: %s", kv_strerror(v->open_status),
                 kv_errmsg());
        return 0;
    }
    bank_seen s;
    s.marker = calloc(m->n + 1, 1);
    bank_read(db, m, &s, v);
    /* The last event the state shows, and the longest prefix it is. */
    long seen = -1;
    for (int a = 0; a < BANK_ACCOUNTS; a++)
        seen = s.acct[a] > seen ? s.acct[a] : seen;
    for (int p = 0; p < BANK_PLAIN; p++)
        seen = s.plain[p] > seen ? s.plain[p] : seen;
    for (size_t i = 0; i < m->n; i++)
        if (s.marker[i] && (long)i > seen)
            seen = (long)i;
    bank_judge_torn(m, &s, seen, v);
    long last = bank_longest_prefix(m, &s, seen);
    if (last == -2) {
        v->hole = 1;
        last = seen;
        if (!v->torn)
            bank_note(v->what, sizeof v->what, "not the state of any prefix of the writes "
                      "(the last write seen: %u)", seen >= 0 ? (unsigned)m->ev[seen].tag : 0u);
    }
    /* B1: the accounts add up, and none is negative. */
    int present = 0;
    int64_t total = 0, lowest = 0;
    for (int a = 0; a < BANK_ACCOUNTS; a++)
        if (s.acct[a] >= 0) {
            present++;
            total += s.bal[a];
            lowest = s.bal[a] < lowest ? s.bal[a] : lowest;
        }
    if (present > 0 && (present != BANK_ACCOUNTS || total != BANK_TOTAL || lowest < 0) &&
        !v->torn) {
        v->inconsistent = 1;
        bank_note(v->what, sizeof v->what,
                  "%d accounts holding %" PRId64 " in all (lowest %" PRId64 "), not %d holding %"
                  PRId64, present, total, lowest, BANK_ACCOUNTS, BANK_TOTAL);
    }
    /* Every acknowledged write is there (with LOSSY, every durable one). */
    for (size_t i = 0; i < m->n; i++) {
        if (m->ev[i].failed || m->status[i] != CRASH_ACKED || (long)i <= last)
            continue;
        v->lost++;
        v->lost_durable += m->durable[i];
        if (!(flags & CRASH_CHECK_LOSSY) || m->durable[i])
            bank_note(v->what, sizeof v->what,
                      "acknowledged write %u (%s) is lost; the last write seen is %ld",
                      (unsigned)m->ev[i].tag,
                      m->ev[i].kind == BANK_TRANSFER ? "a transfer" : "not a commit",
                      last >= 0 ? (long)m->ev[last].tag : -1L);
    }
    if (flags & CRASH_CHECK_RESOLVE)
        for (size_t i = 0; i < m->n; i++)
            if (m->status[i] == CRASH_MAYBE && !m->ev[i].failed)
                m->status[i] = (long)i <= last ? CRASH_ACKED : CRASH_NOT_DONE;
    if (flags & CRASH_CHECK_PROBE)
        bank_probe(&db, dir, v);
    if (db)
        kv_close(db);
    free(s.marker);
    return 1;
}

int bank_verdict_bad(const crash_verdict *v, int atomic)
{
    return crash_verdict_bad(v, atomic) || (v->hole && !v->torn);
}
