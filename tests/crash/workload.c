/*
 * workload.c: the random workload every crash mode runs, and the child's
 * side of the ack protocol.
 *
 * Operation n of a workload is a pure function of (seed, n), so the parent
 * never needs to be told what an operation was: it regenerates it.  A
 * put's value starts with its operation number and key id, and the rest is
 * derived from both, so a value read back names exactly the put that wrote
 * it, and a damaged or misplaced value cannot pass for a real one.
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
    w->big_pct = 3;
    w->segment_bytes = 0;
}

/* HOOK (batches): when kv.h gains an atomic batch, draw CRASH_BATCH here
 * with a few member puts and deletes, run it in crash_op_run, and teach
 * model.c that a batch in flight is all or nothing (crash.h). */
void crash_op_make(const crash_workload *w, uint32_t n, crash_op *op)
{
    uint64_t a = crash_mix(w->seed * 0x100000001b3ull ^ n);
    uint64_t b = crash_mix(a);
    op->n = n;
    op->key = (uint32_t)(b % w->nkeys);
    op->vlen = 0;
    if (a % 1000 < w->compact_per_mille) {
        op->kind = CRASH_COMPACT;
        return;
    }
    op->kind = (a >> 10) % 100 < w->delete_pct ? CRASH_DELETE : CRASH_PUT;
    if (op->kind == CRASH_PUT)
        op->vlen = (a >> 20) % 100 < w->big_pct ? 1000 + (uint32_t)((b >> 32) % 7000)
                                                 : 8 + (uint32_t)((b >> 32) % 120);
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

void crash_value(const crash_op *op, uint8_t buf[CRASH_VALUE_MAX])
{
    for (int i = 0; i < 4; i++) {
        buf[i] = (uint8_t)(op->n >> (8 * i));
        buf[4 + i] = (uint8_t)(op->key >> (8 * i));
    }
    uint64_t s = crash_mix(((uint64_t)op->n << 32) ^ op->key ^ 0x5eedull);
    for (uint32_t i = 8; i < op->vlen; i++) {
        if ((i & 7) == 0)
            s = crash_mix(s);
        buf[i] = (uint8_t)(s >> (8 * (i & 7)));
    }
}

int crash_op_run(kv_db *db, const crash_op *op)
{
    char key[CRASH_KEY_MAX];
    size_t klen = crash_key(op->key, key);
    if (op->kind == CRASH_DELETE)
        return kv_delete(db, key, klen);
    if (op->kind == CRASH_COMPACT)
        return kv_compact(db);
    uint8_t val[CRASH_VALUE_MAX];
    crash_value(op, val);
    return kv_put(db, key, klen, val, op->vlen);
}

/* One message, in one write(); if the parent is gone there is no one to
 * tell, so the child just ends. */
static void crash_send(int fd, uint32_t type, uint32_t op, uint32_t key, int32_t status)
{
    crash_msg m = {.type = type, .op = op, .key = key, .status = status};
    ssize_t w;
    do
        w = write(fd, &m, sizeof m);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)sizeof m)
        _exit(4);
}

_Noreturn void crash_child(const char *dir, const crash_workload *w, uint32_t first,
                           uint32_t count, int sync, int fd)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.sync = sync;
    opt.segment_bytes = w->segment_bytes;
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
        crash_send(fd, CRASH_MSG_BEGIN, n, op.key, 0);
        rc = crash_op_run(db, &op);
        crash_send(fd, CRASH_MSG_ACK, n, op.key, rc);
        if (rc != KV_OK) {
            fprintf(stderr, "crashtest child: operation %u: %s: %s\n", (unsigned)n,
                    kv_strerror(rc), kv_errmsg());
            _exit(3);
        }
    }
    kv_close(db);
    _exit(0);
}
