/*
 * table_test_util.c: helpers for the table and iterator tests
 * (table_test_util.h).
 */
#include "table_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "coding.h"
#include "kv.h"

size_t tt_key(char *buf, int k)
{
    if (k < 0)
        return (size_t)snprintf(buf, 16, "key");
    return (size_t)snprintf(buf, 16, "key%05d", k);
}

static uint64_t tt_rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

memtable *tt_random_memtable(uint64_t seed, int nkeys, int versions, size_t max_vlen)
{
    memtable *m;
    CHECK_KV(memtable_new(1 << 20, &m), KV_OK);
    uint64_t s = seed * 2654435761u + 1;
    uint8_t val[200];
    int ops = nkeys * versions;
    for (int i = 0; i < ops; i++) {
        char key[16];
        size_t klen = tt_key(key, 2 * (int)(tt_rng(&s) % (uint64_t)nkeys));
        uint64_t seq = (uint64_t)i + 1;
        if (tt_rng(&s) % 4 == 0) {
            CHECK_KV(memtable_add(m, seq, IKEY_DELETE, key, klen, NULL, 0), KV_OK);
            continue;
        }
        size_t vlen = tt_rng(&s) % (max_vlen < sizeof val ? max_vlen + 1 : sizeof val);
        for (size_t j = 0; j < vlen; j++)
            val[j] = (uint8_t)(seq + j);
        CHECK_KV(memtable_add(m, seq, IKEY_PUT, key, klen, val, vlen), KV_OK);
    }
    return m;
}

memtable *tt_sequential_memtable(int n, size_t vlen)
{
    memtable *m;
    CHECK_KV(memtable_new(1 << 20, &m), KV_OK);
    uint8_t *val = malloc(vlen ? vlen : 1);
    CHECK(val != NULL);
    for (int k = 0; k < n; k++) {
        char key[16];
        size_t klen = tt_key(key, k);
        memset(val, 'a' + k % 26, vlen);
        CHECK_KV(memtable_add(m, (uint64_t)k + 1, IKEY_PUT, key, klen, val, vlen), KV_OK);
    }
    free(val);
    return m;
}

table_ctx *tt_ctx(void)
{
    table_ctx *ctx;
    CHECK_KV(table_ctx_new(NULL, &ctx), KV_OK);
    return ctx;
}

table *tt_build_and_open(table_ctx *ctx, memtable *m, const char *dir, const char *name)
{
    const char *path = harness_join(dir, name);
    table_builder *b;
    CHECK_KV(table_builder_new(ctx, path, &b), KV_OK);
    iter *it;
    CHECK_KV(memtable_iter_new(m, &it), KV_OK);
    for (iter_seek_first(it); iter_valid(it); iter_next(it))
        CHECK_KV(table_builder_add(b, it->key, it->key_len, it->value, it->value_len), KV_OK);
    iter_free(it);
    table_meta meta;
    CHECK_KV(table_builder_finish(b, &meta), KV_OK);
    CHECK_EQ(meta.entries, memtable_entries(m));
    table *t;
    CHECK_KV(table_open(ctx, path, &t), KV_OK);
    return t;
}

/* The sequence number of the first entry at or after lk's internal key
 * in m, if its user key is lk's; else 0. */
static uint64_t tt_found_seq(memtable *m, const ikey_lookup *lk)
{
    size_t tlen, ulen;
    const uint8_t *target = ikey_lookup_ikey(lk, &tlen);
    ikey_lookup_user(lk, &ulen);
    iter *it;
    CHECK_KV(memtable_iter_new(m, &it), KV_OK);
    iter_seek(it, target, tlen);
    uint64_t seq = 0;
    if (iter_valid(it) && it->key_len - IKEY_TRAILER_SIZE == ulen &&
        memcmp(it->key, target, ulen) == 0)
        seq = ikey_seq(it->key, it->key_len);
    iter_free(it);
    return seq;
}

void tt_expect_same(memtable *m, table *t, const void *key, size_t klen, uint64_t seq)
{
    ikey_lookup lk;
    CHECK_KV(ikey_lookup_init(&lk, key, klen, seq), KV_OK);
    const uint8_t *v = NULL;
    size_t vlen = 0;
    ikey_lookup_state want = memtable_get(m, &lk, &v, &vlen);
    table_get_result r;
    CHECK_KV(table_get(t, &lk, &r), KV_OK);
    CHECK_MSG(r.state == want, "table_get of a key at sequence %llu answers as the memtable "
              "holding the same entries does: state %d, want %d", (unsigned long long)seq,
              (int)r.state, (int)want);
    /* and the version it found */
    uint64_t want_seq = want == IKEY_ABSENT ? 0 : tt_found_seq(m, &lk);
    CHECK_MSG(r.seq == want_seq, "table_get reports the sequence number of the version it "
              "found (table.h's table_get_result.seq), %llu, not the lookup's, %llu (got %llu)",
              (unsigned long long)want_seq, (unsigned long long)seq, (unsigned long long)r.seq);
    if (want == IKEY_FOUND) {
        CHECK(r.value != NULL);
        CHECK_MEM(r.value, r.value_len, v, vlen);
    } else {
        CHECK(r.value == NULL);
    }
    free(r.value);
    ikey_lookup_free(&lk);
}

void tt_expect_same_lookups(memtable *m, table *t, int max_key)
{
    uint64_t last = memtable_entries(m);
    /* Every key in a plain build; under a sanitizer (harness_cases) every
     * fourth and the two ends, which still reach every block. */
    int step = (int)(4 / harness_cases(4, 4));
    for (int k = -1; k <= max_key; k++) {
        if (k > 0 && k < max_key && k % step != 0)
            continue;
        char key[32];
        size_t klen = tt_key(key, k);
        for (uint64_t seq = 0; seq <= last + 1; seq += 1 + seq / 7) {
            harness_context("key %d seq %llu", k, (unsigned long long)seq);
            tt_expect_same(m, t, key, klen, seq);
        }
    }
}

void tt_expect_file_hex(const char *path, const char *hex)
{
    uint8_t *got;
    size_t n = tt_read_file(path, &got);
    size_t cap = strlen(hex) / 2 + 1;
    uint8_t *want = malloc(cap);
    CHECK(want != NULL);
    size_t wn = tt_unhex(hex, want, cap);
    if (n != wn || memcmp(got, want, n) != 0) {
        tt_print_hex(got, n);
        CHECK_MSG(0, "the file's %zu bytes differ from the worked example's %zu", n, wn);
    }
    free(want);
    free(got);
}

static void tt_expect_entry(const iter *want, const iter *got)
{
    CHECK_EQ(got->valid, want->valid);
    CHECK_KV(got->status, KV_OK);
    if (want->valid) {
        CHECK_MEM(got->key, got->key_len, want->key, want->key_len);
        CHECK_MEM(got->value, got->value_len, want->value, want->value_len);
    }
}

void tt_expect_same_iteration(iter *want, iter *got)
{
    size_t n = 0;
    iter_seek_first(want);
    iter_seek_first(got);
    for (;;) {
        tt_expect_entry(want, got);
        if (!iter_valid(want))
            break;
        iter_next(want);
        iter_next(got);
        n++;
    }
    iter_seek_last(want);
    iter_seek_last(got);
    for (;;) {
        tt_expect_entry(want, got);
        if (!iter_valid(want))
            break;
        iter_prev(want);
        iter_prev(got);
    }
    /* A seek to every key (and just past it), and a step each way. */
    iter *keys = want;
    uint8_t *k = NULL;
    size_t i = 0;
    for (iter_seek_first(keys); i < n; i++) {
        iter_seek_first(keys);
        for (size_t j = 0; j < i; j++)
            iter_next(keys);
        size_t klen = keys->key_len;
        k = realloc(k, klen + 1);
        CHECK(k != NULL);
        memcpy(k, keys->key, klen);
        iter_seek(want, k, klen);
        iter_seek(got, k, klen);
        tt_expect_entry(want, got);
        iter_next(want);
        iter_next(got);
        tt_expect_entry(want, got);
        iter_seek(want, k, klen);
        iter_seek(got, k, klen);
        iter_prev(want);
        iter_prev(got);
        tt_expect_entry(want, got);
        if (n > 200)
            i += n / 100; /* a sample of a long one */
    }
    free(k);
    /* A walk that turns around often. */
    uint64_t s = 99;
    iter_seek_first(want);
    iter_seek_first(got);
    for (int step = 0; step < 3000 && iter_valid(want); step++) {
        if (tt_rng(&s) % 3 == 0) {
            iter_prev(want);
            iter_prev(got);
        } else {
            iter_next(want);
            iter_next(got);
        }
        tt_expect_entry(want, got);
        if (!iter_valid(want)) {
            iter_seek_last(want);
            iter_seek_last(got);
        }
    }
}

/* Some read failed: it must say corrupt (the file is readable). */
static int tt_caught(int rc)
{
    CHECK_MSG(rc == KV_ERR_CORRUPT, "a damaged table gave %s: %s", kv_strerror(rc),
              kv_errmsg());
    return 1;
}

int tt_reads_right_or_corrupt(table_ctx *ctx, memtable *m, const char *path)
{
    table *t;
    int rc = table_open(ctx, path, &t);
    if (rc != KV_OK)
        return tt_caught(rc);
    int caught = 0;
    iter *a, *b;
    CHECK_KV(memtable_iter_new(m, &a), KV_OK);
    CHECK_KV(table_iter_new(t, &b), KV_OK);
    for (int dir = 0; dir < 2 && !caught; dir++) {
        if (dir == 0) {
            iter_seek_first(a);
            iter_seek_first(b);
        } else {
            iter_seek_last(a);
            iter_seek_last(b);
        }
        while (iter_valid(a)) {
            if (iter_status(b) != KV_OK) {
                caught = tt_caught(iter_status(b));
                break;
            }
            tt_expect_entry(a, b);
            if (dir == 0) {
                iter_next(a);
                iter_next(b);
            } else {
                iter_prev(a);
                iter_prev(b);
            }
        }
        if (!caught && iter_status(b) != KV_OK)
            caught = tt_caught(iter_status(b));
        if (!caught)
            CHECK(!iter_valid(b));
    }
    iter_free(b);
    for (iter_seek_first(a); iter_valid(a); iter_next(a)) {
        ikey_lookup lk;
        CHECK_KV(ikey_lookup_init(&lk, a->key, a->key_len - 8, ikey_seq(a->key, a->key_len)),
                 KV_OK);
        const uint8_t *v = NULL;
        size_t vlen = 0;
        ikey_lookup_state want = memtable_get(m, &lk, &v, &vlen);
        table_get_result r;
        rc = table_get(t, &lk, &r);
        ikey_lookup_free(&lk);
        if (rc != KV_OK) {
            caught = tt_caught(rc);
            continue;
        }
        CHECK_EQ(r.state, want);
        if (want == IKEY_FOUND)
            CHECK_MEM(r.value, r.value_len, v, vlen);
        free(r.value);
    }
    iter_free(a);
    table_unref(t);
    return caught;
}

size_t tt_read_file(const char *path, uint8_t **bytes)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *bytes = malloc((size_t)n + 1);
    CHECK(*bytes != NULL);
    CHECK(fread(*bytes, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    return (size_t)n;
}

void tt_write_file(const char *path, const uint8_t *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(bytes, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

size_t tt_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int half = -1;
    for (; *hex; hex++) {
        int d = *hex >= '0' && *hex <= '9'   ? *hex - '0'
                : *hex >= 'a' && *hex <= 'f' ? *hex - 'a' + 10
                                             : -1;
        if (d < 0)
            continue;
        if (half < 0) {
            half = d;
        } else {
            CHECK(n < cap);
            out[n++] = (uint8_t)(half << 4 | d);
            half = -1;
        }
    }
    return n;
}

void tt_print_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        printf("      %04zx ", i);
        for (size_t j = i; j < i + 16 && j < n; j++)
            printf(" %02x", p[j]);
        printf("\n");
    }
}

uint64_t tt_offset_array_at(const uint8_t *bytes, size_t n)
{
    return coding_get_u64(bytes + n - 52 + 32);
}

void tt_collect(void *ctx, const char *line)
{
    tt_lines *l = ctx;
    size_t add = strlen(line) + 1;
    l->text = realloc(l->text, l->len + add + 1);
    CHECK(l->text != NULL);
    memcpy(l->text + l->len, line, add - 1);
    l->text[l->len + add - 1] = '\n';
    l->len += add;
    l->text[l->len] = '\0';
    l->count++;
}

void tt_lines_clear(tt_lines *l)
{
    free(l->text);
    l->text = NULL;
    l->len = l->count = 0;
}
