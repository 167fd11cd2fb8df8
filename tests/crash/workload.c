/*
 * workload.c: the random workload every crash mode runs, and the child's
 * side of the ack protocol.
 *
 * Operation n of a workload is a pure function of (seed, n), so the parent
 * never needs to be told what an operation was: it regenerates it.  A
 * put's value starts with its operation number and key id, and the rest is
 * derived from both, so a value read back names exactly the put that wrote
 * it, and a damaged or misplaced value cannot pass for a real one.  The
 * members of a batch are on distinct keys, so (operation number, key id)
 * names a member of a batch just as well.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash.h"

static uint64_t crash_mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void crash_workload_init(crash_workload *w, uint64_t seed, uint32_t nkeys)
{
    w->seed = seed;
    w->nkeys = nkeys ? nkeys : 1;
    w->delete_pct = 25;
    w->compact_per_mille = 5;
    w->batch_pct = 15;
    w->big_pct = 3;
    w->segment_bytes = 0;
    w->memtable_bytes = 0;
    w->table_bytes = 0;
    w->l1_bytes = 0;
    w->level_ratio = 0;
}

/* A put or a delete of key k, drawn from the random bits a and b. */
static crash_write crash_write_make(const crash_workload *w, uint32_t k, uint64_t a, uint64_t b)
{
    crash_write x = {.key = k, .vlen = 0, .kind = CRASH_DELETE};
    if ((a >> 10) % 100 >= w->delete_pct) {
        x.kind = CRASH_PUT;
        x.vlen = (a >> 20) % 100 < w->big_pct ? 1000 + (uint32_t)((b >> 32) % 7000)
                                               : 8 + (uint32_t)((b >> 32) % 120);
    }
    return x;
}

static int crash_batch_holds(const crash_op *op, uint32_t k)
{
    for (uint32_t j = 0; j < op->nw; j++)
        if (op->w[j].key == k)
            return 1;
    return 0;
}

void crash_op_make(const crash_workload *w, uint32_t n, crash_op *op)
{
    uint64_t a = crash_mix(w->seed * 0x100000001b3ull ^ n);
    uint64_t b = crash_mix(a);
    memset(op, 0, sizeof *op);
    op->n = n;
    op->key = (uint32_t)(b % w->nkeys);
    if (a % 1000 < w->compact_per_mille) {
        op->kind = CRASH_COMPACT;
        return;
    }
    uint32_t members = 2 + (uint32_t)((a >> 50) % (CRASH_BATCH_MAX - 1));
    if (members > w->nkeys)
        members = w->nkeys;
    if ((a >> 40) % 100 < w->batch_pct && members >= 2) {
        /* Members on distinct keys: the first is op->key, each other one is
         * drawn until it differs from every key already in the batch. */
        op->kind = CRASH_BATCH;
        uint64_t s = b;
        while (op->nw < members) {
            uint32_t k = op->key;
            while (crash_batch_holds(op, k)) {
                s = crash_mix(s);
                k = (uint32_t)(s % w->nkeys);
            }
            uint64_t ma = crash_mix(s ^ 0xba7c4ull), mb = crash_mix(ma);
            op->w[op->nw++] = crash_write_make(w, k, ma, mb);
        }
        return;
    }
    op->w[0] = crash_write_make(w, op->key, a, b);
    op->nw = 1;
    op->kind = op->w[0].kind;
    op->vlen = op->w[0].vlen;
}

size_t crash_key(uint32_t k, char buf[CRASH_KEY_MAX])
{
    int n = snprintf(buf, CRASH_KEY_MAX, "key%05u", (unsigned)(k % 100000));
    size_t len = (size_t)n, suffix = (k * 7u) % 29u;
    for (size_t i = 0; i < suffix; i++)
        buf[len++] = (char)('a' + (k + i) % 26);
    return len;
}

long crash_key_parse(const void *key, size_t klen)
{
    const char *s = key;
    if (klen < 8 || klen >= CRASH_KEY_MAX || memcmp(s, "key", 3) != 0)
        return -1;
    uint32_t k = 0;
    for (int i = 3; i < 8; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        k = k * 10 + (uint32_t)(s[i] - '0');
    }
    char want[CRASH_KEY_MAX];
    size_t wl = crash_key(k, want);
    return wl == klen && memcmp(want, s, klen) == 0 ? (long)k : -1;
}

void crash_value(uint32_t n, const crash_write *w, uint8_t buf[CRASH_VALUE_MAX])
{
    for (int i = 0; i < 4; i++) {
        buf[i] = (uint8_t)(n >> (8 * i));
        buf[4 + i] = (uint8_t)(w->key >> (8 * i));
    }
    uint64_t s = crash_mix(((uint64_t)n << 32) ^ w->key ^ 0x5eedull);
    for (uint32_t i = 8; i < w->vlen; i++) {
        if ((i & 7) == 0)
            s = crash_mix(s);
        buf[i] = (uint8_t)(s >> (8 * (i & 7)));
    }
}

/* A batch: kv_batch_put / kv_batch_delete of each member, then kv_write. */
static int crash_batch_run(kv_db *db, const crash_op *op)
{
    kv_batch *batch = NULL;
    int rc = kv_batch_new(&batch);
    uint8_t val[CRASH_VALUE_MAX];
    char key[CRASH_KEY_MAX];
    for (uint32_t j = 0; j < op->nw && rc == KV_OK; j++) {
        const crash_write *x = &op->w[j];
        size_t klen = crash_key(x->key, key);
        if (x->kind == CRASH_DELETE) {
            rc = kv_batch_delete(batch, key, klen);
        } else {
            crash_value(op->n, x, val);
            rc = kv_batch_put(batch, key, klen, val, x->vlen);
        }
    }
    if (rc == KV_OK)
        rc = kv_write(db, batch);
    kv_batch_free(batch);
    return rc;
}

int crash_op_run(kv_db *db, const crash_op *op)
{
    char key[CRASH_KEY_MAX];
    size_t klen = crash_key(op->key, key);
    if (op->kind == CRASH_BATCH)
        return crash_batch_run(db, op);
    if (op->kind == CRASH_DELETE)
        return kv_delete(db, key, klen);
    if (op->kind == CRASH_COMPACT)
        return kv_compact(db);
    uint8_t val[CRASH_VALUE_MAX];
    crash_value(op->n, &op->w[0], val);
    return kv_put(db, key, klen, val, op->vlen);
}

/* Messages m[0..count), in one write(); if the parent is gone there is no
 * one to tell, so the child just ends. */
static void crash_send_all(int fd, const crash_msg *m, size_t count)
{
    ssize_t w;
    do
        w = write(fd, m, count * sizeof *m);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)(count * sizeof *m))
        _exit(4);
}

static void crash_send(int fd, uint32_t type, uint32_t op, uint32_t key, int32_t status)
{
    crash_msg m = {.type = type, .op = op, .key = key, .status = status};
    crash_send_all(fd, &m, 1);
}

/* "About to do operation n": for a batch, with one MEMBER per put or delete,
 * all in the same write() (1 + CRASH_BATCH_MAX messages: 144 bytes, well
 * under PIPE_BUF). */
static void crash_send_begin(int fd, const crash_op *op)
{
    crash_msg m[1 + CRASH_BATCH_MAX];
    size_t count = 1;
    m[0] = (crash_msg){.type = CRASH_MSG_BEGIN, .op = op->n, .key = op->key, .status = 0};
    if (op->kind == CRASH_BATCH) {
        m[0].status = (int32_t)op->nw;
        for (uint32_t j = 0; j < op->nw; j++)
            m[count++] = (crash_msg){.type = CRASH_MSG_MEMBER, .op = op->n,
                                     .key = op->w[j].key,
                                     .status = op->w[j].kind == CRASH_DELETE
                                                   ? -1
                                                   : (int32_t)op->w[j].vlen};
    }
    crash_send_all(fd, m, count);
}

/* The WORK messages (crash.h). */
static void crash_send_work(int fd, kv_db *db)
{
    crash_work w = {0};
    crash_work_add(db, &w);
    crash_msg m[2] = {
        {.type = CRASH_MSG_WORK, .op = (uint32_t)w.flushes, .key = (uint32_t)w.compactions,
         .status = (int32_t)w.moves},
        {.type = CRASH_MSG_WORK, .op = (uint32_t)w.rolls, .key = (uint32_t)w.deleted,
         .status = (int32_t)w.named},
    };
    crash_send_all(fd, m, 2);
}

_Noreturn void crash_child(const char *dir, const crash_workload *w, uint32_t first,
                           uint32_t count, int sync, int fd)
{
    kv_options opt;
    crash_options(w, sync, &opt);
    kv_db *db = NULL;
    int rc = kv_open(dir, &opt, &db);
    crash_send(fd, CRASH_MSG_OPENED, 0, 0, rc);
    if (rc != KV_OK) {
        fprintf(stderr, "crashtest child: kv_open %s: %s\n", dir, kv_errmsg());
        _exit(2);
    }
    for (uint32_t n = first; n < first + count; n++) {
        crash_op op;
        crash_op_make(w, n, &op);
        crash_send_begin(fd, &op);
        rc = crash_op_run(db, &op);
        crash_send(fd, CRASH_MSG_ACK, n, op.key, rc);
        if (rc != KV_OK) {
            fprintf(stderr, "crashtest child: operation %u: %s: %s\n", (unsigned)n,
                    kv_strerror(rc), kv_errmsg());
            _exit(3);
        }
        if ((n - first) % CRASH_WORK_EVERY == CRASH_WORK_EVERY - 1)
            crash_send_work(fd, db);
    }
    kv_close(db);
    _exit(0);
}
