/*
 * model.c: the expected state, and the check of a reopened database.
 *
 * The model is the list of operations with a status each: acknowledged,
 * maybe (in flight at the crash, or returned an error), or not done.  For
 * every key the rule is:
 *
 *   the key must hold what its last acknowledged operation left (absent if
 *   there is none), or what one of its "maybe" operations after that one
 *   left; nothing else.
 *
 * The check reads every key the workload can touch with kv_multi_get (while
 * no block is cached, so that it reads them itself), then with kv_get,
 * whose answers it must agree with, then walks one full iteration, which
 * must show exactly the keys kv_get found, in order, with the same values
 * (so no extra key can hide).  A key holding an
 * older value than the rule allows counts the acknowledged operations it
 * lost; a value no allowed operation wrote is "foreign".  For the power-loss
 * mode it also decides whether the state is a prefix: the state some cut of
 * the operation sequence would leave.  A state that is not has a hole: a
 * later write survived while an earlier one was lost.  Last (power loss,
 * I/O errors), it puts one more key, closes and reopens: recovery must
 * leave a database that takes writes and reads back the same.
 *
 * The rule is per key, so a batch counts as its members, each a put or a
 * delete of its own key; then each batch is judged whole (crash_batches):
 * it is torn if one member is certainly in effect and another certainly
 * not.  "Certainly" is judged by which operations could have left each
 * key as it is: a member is in effect for sure only if its batch is the
 * one operation that explains its key, and certainly not if only earlier
 * operations do.  Anything else (a delete of a key that was already absent,
 * a member a later write overwrote) could be either, and tears nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"

enum { SEEN_ABSENT = -1, SEEN_FOREIGN = -2, SEEN_ERROR = -3 };

typedef struct crash_seen {
    long op;       /* the put whose value the key holds, or SEEN_* */
    uint64_t hash; /* of the value bytes, to compare with the iterator */
} crash_seen;

void crash_model_init(crash_model *m, const crash_workload *w)
{
    memset(m, 0, sizeof *m);
    m->w = *w;
}

void crash_model_free(crash_model *m)
{
    free(m->ops);
    free(m->status);
    free(m->dropped);
    free(m->durable);
    memset(m, 0, sizeof *m);
}

void crash_model_grow(crash_model *m, size_t n)
{
    if (n > m->cap) {
        size_t cap = m->cap ? m->cap : 1024;
        while (cap < n)
            cap *= 2;
        m->ops = realloc(m->ops, cap * sizeof *m->ops);
        m->status = realloc(m->status, cap);
        m->dropped = realloc(m->dropped, cap);
        m->durable = realloc(m->durable, cap);
        if (m->ops == NULL || m->status == NULL || m->dropped == NULL || m->durable == NULL) {
            fprintf(stderr, "crashtest: out of memory\n");
            exit(2);
        }
        m->cap = cap;
    }
    for (; m->n < n; m->n++) {
        crash_op_make(&m->w, (uint32_t)m->n, &m->ops[m->n]);
        m->status[m->n] = CRASH_NOT_DONE;
        m->dropped[m->n] = 0;
        m->durable[m->n] = 0;
    }
}

/* Which write of operation op is on key k: its index in op->w, or -1. */
static int crash_write_on(const crash_op *op, uint32_t k)
{
    for (uint32_t j = 0; j < op->nw; j++)
        if (op->w[j].key == k)
            return (int)j;
    return -1;
}

/* The status of write j of operation i: the operation's, unless it is a
 * torn batch whose member j was resolved as not done. */
static int crash_write_status(const crash_model *m, size_t i, uint32_t j)
{
    return (m->dropped[i] >> j) & 1 ? CRASH_NOT_DONE : m->status[i];
}

static void crash_note(crash_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void crash_note(crash_verdict *v, const char *fmt, ...)
{
    if (v->what[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->what, sizeof v->what, fmt, ap);
    va_end(ap);
}

/* Notes a break of a rule every stage keeps, whatever it promises about
 * power loss: also kept apart in v->broken. */
static void crash_break(crash_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void crash_break(crash_verdict *v, const char *fmt, ...)
{
    char text[sizeof v->what];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (v->broken[0] == '\0')
        snprintf(v->broken, sizeof v->broken, "%s", text);
    crash_note(v, "%s", text);
}

static uint64_t crash_hash(const void *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ull;
    return h ^ n;
}

static const char *crash_seen_text(long op, char *buf, size_t n)
{
    if (op == SEEN_ABSENT)
        snprintf(buf, n, "absent");
    else if (op == SEEN_FOREIGN)
        snprintf(buf, n, "a value no allowed operation wrote");
    else if (op == SEEN_ERROR)
        snprintf(buf, n, "a read error");
    else
        snprintf(buf, n, "the value of op %ld", op);
    return buf;
}

/* Which put wrote this value of key k, or SEEN_FOREIGN. */
static long crash_classify(const crash_model *m, uint32_t k, const uint8_t *val, size_t vlen)
{
    if (vlen < 8)
        return SEEN_FOREIGN;
    uint32_t n = 0, key = 0;
    for (int i = 0; i < 4; i++) {
        n |= (uint32_t)val[i] << (8 * i);
        key |= (uint32_t)val[4 + i] << (8 * i);
    }
    if (key != k || n >= m->n || m->status[n] == CRASH_NOT_DONE)
        return SEEN_FOREIGN;
    const crash_op *op = &m->ops[n];
    int j = crash_write_on(op, k);
    if (j < 0 || op->w[j].kind != CRASH_PUT || op->w[j].vlen != vlen ||
        crash_write_status(m, n, (uint32_t)j) == CRASH_NOT_DONE)
        return SEEN_FOREIGN;
    uint8_t want[CRASH_VALUE_MAX];
    crash_value(n, &op->w[j], want);
    return memcmp(want, val, vlen) == 0 ? (long)n : SEEN_FOREIGN;
}

/* kv_get of every key. */
static void crash_read_gets(kv_db *db, const crash_model *m, crash_seen *seen, crash_verdict *v)
{
    char key[CRASH_KEY_MAX], text[64];
    for (uint32_t k = 0; k < m->w.nkeys; k++) {
        size_t klen = crash_key(k, key);
        void *val = NULL;
        size_t vlen = 0;
        int rc = kv_get(db, key, klen, &val, &vlen);
        seen[k].hash = 0;
        if (rc == KV_NOT_FOUND) {
            seen[k].op = SEEN_ABSENT;
        } else if (rc == KV_OK) {
            seen[k].op = crash_classify(m, k, val, vlen);
            seen[k].hash = crash_hash(val, vlen);
            if (seen[k].op == SEEN_FOREIGN) {
                v->foreign++;
                crash_break(v, "key %.*s holds %s (%zu bytes)", (int)klen, key,
                           crash_seen_text(SEEN_FOREIGN, text, sizeof text), vlen);
            }
            kv_free(val);
        } else {
            seen[k].op = SEEN_ERROR;
            v->read_errors++;
            crash_note(v, "kv_get %.*s: %s: %s", (int)klen, key, kv_strerror(rc), kv_errmsg());
        }
    }
}

/* kv_multi_get of every key: into seen, as crash_read_gets fills it
 * (SEEN_ERROR for a failed key, hash of the value found, op 0 for any
 * value: crash_multi_agree compares the hashes). */
static void crash_read_multi(kv_db *db, const crash_model *m, crash_seen *seen,
                             crash_verdict *v)
{
    size_t n = m->w.nkeys;
    if (n == 0)
        return;
    char (*keys)[CRASH_KEY_MAX] = malloc(n * sizeof *keys);
    const void **kp = malloc(n * sizeof *kp);
    size_t *klens = malloc(n * sizeof *klens), *vlens = malloc(n * sizeof *vlens);
    void **vals = malloc(n * sizeof *vals);
    int *rcs = malloc(n * sizeof *rcs);
    if (keys == NULL || kp == NULL || klens == NULL || vlens == NULL || vals == NULL ||
        rcs == NULL) {
        fprintf(stderr, "crashtest: out of memory\n");
        exit(2);
    }
    for (size_t k = 0; k < n; k++) {
        klens[k] = crash_key((uint32_t)k, keys[k]);
        kp[k] = keys[k];
        rcs[k] = KV_ERR_INVALID; /* a call that failed before any lookup */
    }
    int rc = kv_multi_get(db, n, kp, klens, vals, vlens, rcs);
    if (rc != KV_OK) {
        v->read_errors++;
        crash_note(v, "kv_multi_get: %s: %s", kv_strerror(rc), kv_errmsg());
    }
    for (size_t k = 0; k < n; k++) {
        seen[k].hash = 0;
        seen[k].op = rcs[k] == KV_NOT_FOUND ? SEEN_ABSENT : rcs[k] == KV_OK ? 0 : SEEN_ERROR;
        if (rcs[k] == KV_OK) {
            seen[k].hash = crash_hash(vals[k], vlens[k]);
            kv_free(vals[k]);
        }
    }
    free(keys);
    free(kp);
    free(klens);
    free(vlens);
    free(vals);
    free(rcs);
}

/* Each key's kv_multi_get answer (multi) against its kv_get answer (seen). */
static void crash_multi_agree(const crash_model *m, const crash_seen *multi,
                              const crash_seen *seen, crash_verdict *v)
{
    char key[CRASH_KEY_MAX];
    for (uint32_t k = 0; k < m->w.nkeys; k++) {
        int mabsent = multi[k].op == SEEN_ABSENT, merr = multi[k].op == SEEN_ERROR;
        int gabsent = seen[k].op == SEEN_ABSENT, gerr = seen[k].op == SEEN_ERROR;
        if (mabsent == gabsent && merr == gerr &&
            (mabsent || merr || multi[k].hash == seen[k].hash))
            continue;
        size_t klen = crash_key(k, key);
        v->inconsistent = 1;
        crash_break(v, "kv_multi_get of key %.*s says %s, kv_get %s", (int)klen, key,
                    mabsent ? "absent" : merr ? "an error" : "a value",
                    gabsent ? "absent" : gerr ? "an error" : "another");
        return;
    }
}

static int crash_keycmp(const void *a, size_t al, const void *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* One full iteration: the same keys and values as kv_get found, in order. */
static void crash_read_iter(kv_db *db, const crash_model *m, const crash_seen *seen,
                            crash_verdict *v)
{
    kv_iter *it = NULL;
    int rc = kv_iter_new(db, &it);
    if (rc != KV_OK) {
        v->read_errors++;
        crash_note(v, "kv_iter_new: %s: %s", kv_strerror(rc), kv_errmsg());
        return;
    }
    char prev[CRASH_KEY_MAX + 8];
    size_t prevlen = 0, count = 0;
    int have_prev = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const char *key = kv_iter_key(it, &klen);
        const void *val = kv_iter_value(it, &vlen);
        if (val == NULL)
            break; /* kv_iter_status says why */
        if (have_prev && crash_keycmp(prev, prevlen, key, klen) >= 0) {
            v->inconsistent = 1;
            crash_break(v, "the iterator is out of order at key %.*s", (int)klen, key);
        }
        long k = crash_key_parse(key, klen);
        if (k < 0 || (uint32_t)k >= m->w.nkeys) {
            v->foreign++;
            crash_break(v, "the iterator shows a key no operation wrote (%zu bytes)", klen);
        } else if (seen[k].op == SEEN_ABSENT) {
            v->inconsistent = 1;
            crash_break(v, "the iterator shows key %.*s, which kv_get says is absent",
                       (int)klen, key);
        } else if (seen[k].op != SEEN_ERROR && crash_hash(val, vlen) != seen[k].hash) {
            v->inconsistent = 1;
            crash_break(v, "the iterator's value of key %.*s differs from kv_get's", (int)klen,
                       key);
        }
        if (klen <= CRASH_KEY_MAX) {
            memcpy(prev, key, klen);
            prevlen = klen;
            have_prev = 1;
        }
        count++;
    }
    if ((rc = kv_iter_status(it)) != KV_OK) {
        v->read_errors++;
        crash_note(v, "iteration: %s: %s", kv_strerror(rc), kv_errmsg());
    }
    kv_iter_free(it);
    size_t present = 0;
    int errors = 0;
    for (uint32_t k = 0; k < m->w.nkeys; k++) {
        present += seen[k].op >= 0 || seen[k].op == SEEN_FOREIGN;
        errors |= seen[k].op == SEEN_ERROR;
    }
    if (!errors && rc == KV_OK && count != present) {
        v->inconsistent = 1;
        crash_break(v, "the iterator shows %zu keys, kv_get finds %zu", count, present);
    }
}

/* Does key k's state `seen` equal what operation i (-1: none) leaves it? */
static int crash_matches(const crash_model *m, long seen, long i, uint32_t k)
{
    if (seen == SEEN_FOREIGN || seen == SEEN_ERROR)
        return 0;
    int j = i < 0 ? -1 : crash_write_on(&m->ops[i], k);
    if (j < 0 || m->ops[i].w[j].kind == CRASH_DELETE)
        return seen == SEEN_ABSENT;
    return seen == i;
}

enum { CRASH_NONE = -3 }; /* below -1, which stands for "no operation" */

/* Judges every batch whole (see the top of this file); with
 * CRASH_CHECK_RESOLVE, also resolves each batch that was in flight.
 * floor[k] is the earliest operation that may explain key k (the last
 * acknowledged one, when nothing acknowledged may be lost), lo[k] and hi[k]
 * the earliest and latest that do, from the floor on (CRASH_NONE if none). */
static void crash_batches(crash_model *m, const crash_seen *seen, const long *floor,
                          const long *lo, const long *hi, int flags, crash_verdict *v)
{
    for (size_t i = 0; i < m->n; i++) {
        const crash_op *op = &m->ops[i];
        if (op->kind != CRASH_BATCH || m->status[i] == CRASH_NOT_DONE || m->dropped[i])
            continue;
        unsigned in = 0, out = 0, seen_b = 0; /* bit j: member j */
        for (uint32_t j = 0; j < op->nw; j++) {
            uint32_t k = op->w[j].key;
            int mine = (long)i >= floor[k] && crash_matches(m, seen[k].op, (long)i, k);
            int before = lo[k] != CRASH_NONE && lo[k] < (long)i, after = hi[k] > (long)i;
            seen_b |= (unsigned)mine << j;
            if (mine && !before && !after)
                in |= 1u << j;
            else if (!mine && before && !after)
                out |= 1u << j;
        }
        if (in && out) {
            /* A cut write leaves a prefix of the members: the lowest member
             * that is certainly out must come after every one that is in. */
            int first_out = __builtin_ctz(out), last_in = 31 - __builtin_clz(in);
            int gap = first_out < last_in;
            v->torn++;
            v->torn_gaps += gap;
            if (v->torn_what[0] == '\0') {
                char key[CRASH_KEY_MAX];
                uint32_t a = op->w[last_in].key, b = op->w[first_out].key;
                size_t alen = crash_key(a, key);
                int n = snprintf(v->torn_what, sizeof v->torn_what,
                                 "batch op %zu (%u members, %s) is torn: member %d (key %.*s) "
                                 "took effect",
                                 i, (unsigned)op->nw,
                                 m->status[i] == CRASH_ACKED ? "acknowledged" : "in flight",
                                 last_in, (int)alen, key);
                size_t blen = crash_key(b, key);
                if (n > 0 && (size_t)n < sizeof v->torn_what)
                    snprintf(v->torn_what + n, sizeof v->torn_what - (size_t)n,
                             ", member %d (key %.*s) did not%s", first_out, (int)blen, key,
                             gap ? ", and it comes first: not a prefix of the batch" : "");
            }
        }
        if ((flags & CRASH_CHECK_RESOLVE) && m->status[i] == CRASH_MAYBE) {
            /* In effect if any member surely is; then the members that do
             * not show it are dropped (none, unless the batch is torn). */
            m->status[i] = in ? CRASH_ACKED : CRASH_NOT_DONE;
            m->dropped[i] = in ? (uint8_t)(~seen_b & ((1u << op->nw) - 1)) : 0;
        }
    }
}

/* Applies the rule per key: counts lost operations, and resolves MAYBEs;
 * then judges the batches (crash_batches). */
static void crash_judge(crash_model *m, const crash_seen *seen, int flags, crash_verdict *v)
{
    uint32_t nk = m->w.nkeys;
    long *last = malloc(nk * sizeof *last);   /* last acknowledged op per key */
    long *maybe = malloc(nk * sizeof *maybe); /* the latest matching MAYBE after it */
    long *older = malloc(nk * sizeof *older); /* the latest matching op before it */
    long *floor = malloc(nk * sizeof *floor), *lo = malloc(nk * sizeof *lo),
         *hi = malloc(nk * sizeof *hi);      /* for crash_batches */
    if (!last || !maybe || !older || !floor || !lo || !hi) {
        fprintf(stderr, "crashtest: out of memory\n");
        exit(2);
    }
    long *lastd = malloc(nk * sizeof *lastd); /* last acknowledged durable op per key */
    if (lastd == NULL) {
        fprintf(stderr, "crashtest: out of memory\n");
        exit(2);
    }
    for (uint32_t k = 0; k < nk; k++)
        last[k] = maybe[k] = older[k] = lastd[k] = -1;
    for (size_t i = 0; i < m->n; i++)
        for (uint32_t j = 0; j < m->ops[i].nw; j++)
            if (crash_write_status(m, i, j) == CRASH_ACKED) {
                last[m->ops[i].w[j].key] = (long)i;
                if (m->durable[i])
                    lastd[m->ops[i].w[j].key] = (long)i;
            }
    for (size_t i = 0; i < m->n; i++) {
        const crash_op *op = &m->ops[i];
        for (uint32_t j = 0; j < op->nw; j++) {
            uint32_t k = op->w[j].key;
            int st = crash_write_status(m, i, j);
            if (st == CRASH_NOT_DONE || !crash_matches(m, seen[k].op, (long)i, k))
                continue;
            if ((long)i > last[k] && st == CRASH_MAYBE)
                maybe[k] = (long)i;
            else if ((long)i < last[k])
                older[k] = (long)i;
        }
    }
    char text[64];
    for (uint32_t k = 0; k < nk; k++) {
        long s = seen[k].op;
        floor[k] = !(flags & CRASH_CHECK_LOSSY) ? last[k] : lastd[k] >= 0 ? lastd[k] : CRASH_NONE;
        if (s == SEEN_FOREIGN || s == SEEN_ERROR || maybe[k] >= 0 ||
            crash_matches(m, s, last[k], k))
            continue;
        floor[k] = CRASH_NONE; /* the key lost something: any op may explain it */
        if (last[k] < 0) { /* cannot happen: a put seen is acked or maybe */
            v->foreign++;
            crash_break(v, "key %u holds %s, but no operation on it was acknowledged",
                        (unsigned)k, crash_seen_text(s, text, sizeof text));
            continue;
        }
        long lost = 0;
        for (size_t i = (size_t)(older[k] + 1); (long)i <= last[k]; i++) {
            int j = crash_write_on(&m->ops[i], k);
            int gone = j >= 0 && crash_write_status(m, i, (uint32_t)j) == CRASH_ACKED;
            lost += gone;
            v->lost_durable += gone && m->durable[i];
        }
        v->lost += lost;
        char key[CRASH_KEY_MAX];
        size_t klen = crash_key(k, key);
        const crash_op *lop = &m->ops[last[k]];
        int lj = crash_write_on(lop, k);
        crash_note(v, "key %.*s: op %ld (a %s%s) was acknowledged, but the key is %s",
                   (int)klen, key, last[k], lop->w[lj].kind == CRASH_PUT ? "put" : "delete",
                   lop->kind == CRASH_BATCH ? " in a batch" : "",
                   crash_seen_text(s, text, sizeof text));
    }
    if (v->lost > 0) {
        size_t len = strlen(v->what);
        if (flags & CRASH_CHECK_LOSSY)
            snprintf(v->what + len, sizeof v->what - len,
                     " (%ld acknowledged op(s) lost over all keys, %ld of them promised "
                     "durable)", v->lost, v->lost_durable);
        else
            snprintf(v->what + len, sizeof v->what - len,
                     " (%ld acknowledged op(s) lost over all keys)", v->lost);
    }
    /* Which operations explain each key, from its floor on. */
    for (uint32_t k = 0; k < nk; k++)
        lo[k] = hi[k] = floor[k] <= -1 && crash_matches(m, seen[k].op, -1, k) ? -1 : CRASH_NONE;
    for (size_t i = 0; i < m->n; i++) {
        const crash_op *op = &m->ops[i];
        for (uint32_t j = 0; j < op->nw; j++) {
            uint32_t k = op->w[j].key;
            if ((long)i < floor[k] || crash_write_status(m, i, j) == CRASH_NOT_DONE ||
                !crash_matches(m, seen[k].op, (long)i, k))
                continue;
            if (lo[k] == CRASH_NONE)
                lo[k] = (long)i;
            hi[k] = (long)i;
        }
    }
    crash_batches(m, seen, floor, lo, hi, flags, v);
    if (flags & CRASH_CHECK_RESOLVE) {
        for (size_t i = 0; i < m->n; i++)
            if (m->status[i] == CRASH_MAYBE)
                m->status[i] = (long)i == maybe[m->ops[i].key] && m->ops[i].nw == 1
                                   ? CRASH_ACKED
                                   : CRASH_NOT_DONE;
    }
    free(last);
    free(lastd);
    free(maybe);
    free(older);
    free(floor);
    free(lo);
    free(hi);
}

/* Is the state what some prefix of the started operations leaves? */
static int crash_is_prefix(const crash_model *m, const crash_seen *seen)
{
    uint32_t nk = m->w.nkeys;
    long *state = malloc(nk * sizeof *state);
    if (state == NULL) {
        fprintf(stderr, "crashtest: out of memory\n");
        exit(2);
    }
    long mismatched = 0;
    for (uint32_t k = 0; k < nk; k++) {
        state[k] = -1;
        mismatched += !crash_matches(m, seen[k].op, -1, k);
    }
    /* A cut may fall inside a batch: a torn batch is judged apart (it is
     * torn, not a hole). */
    int found = mismatched == 0;
    for (size_t i = 0; i < m->n && !found; i++) {
        const crash_op *op = &m->ops[i];
        for (uint32_t j = 0; j < op->nw && !found; j++) {
            uint32_t k = op->w[j].key;
            if (crash_write_status(m, i, j) == CRASH_NOT_DONE)
                continue;
            mismatched -= !crash_matches(m, seen[k].op, state[k], k);
            state[k] = (long)i;
            mismatched += !crash_matches(m, seen[k].op, state[k], k);
            found = mismatched == 0;
        }
    }
    free(state);
    return found;
}

#define CRASH_PROBE_KEY "zz-probe-after-recovery"

/* Recovery must leave a database that takes writes: put once more, reopen,
 * and every key must read as before, plus the new one. */
static void crash_probe(kv_db **db, const char *dir, const crash_model *m,
                        const crash_seen *seen, crash_verdict *v)
{
    static const char val[] = "written after recovery";
    int rc = kv_put(*db, CRASH_PROBE_KEY, sizeof CRASH_PROBE_KEY - 1, val, sizeof val - 1);
    if (rc == KV_OK)
        rc = kv_close(*db);
    else
        kv_close(*db);
    *db = NULL;
    if (rc == KV_OK)
        rc = kv_open(dir, NULL, db);
    if (rc != KV_OK) {
        v->probe_failed = 1;
        crash_break(v, "after recovery, a put, close and reopen failed: %s: %s",
                   kv_strerror(rc), kv_errmsg());
        return;
    }
    void *got = NULL;
    size_t glen = 0;
    rc = kv_get(*db, CRASH_PROBE_KEY, sizeof CRASH_PROBE_KEY - 1, &got, &glen);
    if (rc != KV_OK || glen != sizeof val - 1 || memcmp(got, val, glen) != 0) {
        v->probe_failed = 1;
        crash_break(v, "a put made after recovery is not there after reopening (%s)",
                   kv_strerror(rc));
    }
    if (rc == KV_OK)
        kv_free(got);
    crash_seen *again = calloc(m->w.nkeys, sizeof *again);
    crash_verdict scratch = {0};
    crash_read_gets(*db, m, again, &scratch);
    char a[64], b[64], key[CRASH_KEY_MAX];
    for (uint32_t k = 0; k < m->w.nkeys; k++)
        if (again[k].op != seen[k].op || again[k].hash != seen[k].hash) {
            v->probe_failed = 1;
            size_t klen = crash_key(k, key);
            crash_break(v, "after recovery, a put and a reopen, key %.*s went from %s to %s",
                       (int)klen, key, crash_seen_text(seen[k].op, a, sizeof a),
                       crash_seen_text(again[k].op, b, sizeof b));
        }
    free(again);
}

int crash_check_dir(const char *dir, crash_model *m, int flags, crash_verdict *v)
{
    memset(v, 0, sizeof *v);
    kv_db *db = NULL;
    v->open_status = kv_open(dir, NULL, &db);
    if (v->open_status != KV_OK) {
        crash_note(v, "kv_open: %s: %s", kv_strerror(v->open_status), kv_errmsg());
        return 0;
    }
    crash_seen *seen = calloc(m->w.nkeys, sizeof *seen);
    crash_seen *multi = calloc(m->w.nkeys, sizeof *multi);
    if (seen == NULL || multi == NULL) {
        fprintf(stderr, "crashtest: out of memory\n");
        exit(2);
    }
    crash_read_multi(db, m, multi, v);
    crash_read_gets(db, m, seen, v);
    crash_multi_agree(m, multi, seen, v);
    free(multi);
    crash_read_iter(db, m, seen, v);
    if ((flags & CRASH_CHECK_PREFIX) && v->foreign == 0 && v->read_errors == 0)
        v->hole = !crash_is_prefix(m, seen);
    crash_judge(m, seen, flags, v);
    if ((flags & CRASH_CHECK_PREFIX) && v->torn_gaps)
        v->hole = 1; /* a later member of a batch survived an earlier one */
    if (flags & CRASH_CHECK_PROBE)
        crash_probe(&db, dir, m, seen, v);
    kv_close(db);
    free(seen);
    return 1;
}

int crash_verdict_bad(const crash_verdict *v, int atomic)
{
    return v->open_status != KV_OK || v->lost || v->foreign || v->read_errors ||
           v->inconsistent || v->probe_failed || v->torn_gaps || (atomic && v->torn);
}

const char *crash_verdict_why(const crash_verdict *v, int atomic, char *buf, size_t n)
{
    int torn = v->torn_gaps || (atomic && v->torn);
    snprintf(buf, n, "%s%s%s", v->what, v->what[0] && torn ? "; and " : "",
             torn ? v->torn_what : "");
    return buf;
}
