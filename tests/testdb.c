/*
 * testdb.c: the helpers of testdb.h.
 */
#include "testdb.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

kv_db *testdb_open(const char *file, int line, const char *dir, const kv_options *opt)
{
    kv_db *db = NULL;
    int s = kv_open(dir, opt, &db);
    if (s != KV_OK)
        harness_fail_kv(file, line, "kv_open", s, KV_OK, KV_OK);
    if (db == NULL)
        harness_fail(file, line, "kv_open returned KV_OK and a NULL db");
    return db;
}

void testdb_close(const char *file, int line, kv_db *db)
{
    int s = kv_close(db);
    if (s != KV_OK)
        harness_fail_kv(file, line, "kv_close", s, KV_OK, KV_OK);
}

void testdb_put(const char *file, int line, kv_db *db, const void *k, size_t kl,
                const void *v, size_t vl)
{
    int s = kv_put(db, k, kl, v, vl);
    if (s != KV_OK)
        harness_fail_kv(file, line, "kv_put", s, KV_OK, KV_OK);
}

void testdb_del(const char *file, int line, kv_db *db, const void *k, size_t kl)
{
    int s = kv_delete(db, k, kl);
    if (s != KV_OK)
        harness_fail_kv(file, line, "kv_delete", s, KV_OK, KV_OK);
}

/* What kv_get or kv_get_at (`call`) returned must be KV_OK and v. */
static void testdb_check_found(const char *file, int line, const char *call, int s, void *got,
                               size_t glen, const void *k, size_t kl, const void *v, size_t vl)
{
    if (s != KV_OK)
        harness_fail_kv(file, line, call, s, KV_OK, KV_OK);
    if (got == NULL)
        harness_fail(file, line, "%s returned KV_OK and a NULL value", call);
    if (glen != vl || (vl > 0 && memcmp(got, v, vl) != 0)) {
        char hk[HARNESS_HEX_BUF], hg[HARNESS_HEX_BUF], hv[HARNESS_HEX_BUF];
        harness_fail(file, line, "%s of key [%s] (%zu bytes): got %zu bytes [%s], want %zu "
                     "bytes [%s]", call, harness_hex(hk, k, kl), kl, glen,
                     harness_hex(hg, got, glen), vl, harness_hex(hv, v, vl));
    }
    kv_free(got);
}

static void testdb_check_absent(const char *file, int line, const char *call, int s, void *got)
{
    if (s == KV_OK)
        kv_free(got);
    if (s != KV_NOT_FOUND)
        harness_fail_kv(file, line, call, s, KV_NOT_FOUND, KV_NOT_FOUND);
}

void testdb_expect(const char *file, int line, kv_db *db, const void *k, size_t kl,
                   const void *v, size_t vl)
{
    void *got = NULL;
    size_t glen = 12345;
    int s = kv_get(db, k, kl, &got, &glen);
    testdb_check_found(file, line, "kv_get", s, got, glen, k, kl, v, vl);
}

void testdb_absent(const char *file, int line, kv_db *db, const void *k, size_t kl)
{
    void *got = NULL;
    size_t glen = 0;
    int s = kv_get(db, k, kl, &got, &glen);
    testdb_check_absent(file, line, "kv_get of a key that must be absent", s, got);
}

void testdb_expect_at(const char *file, int line, kv_db *db, const kv_snapshot *snap,
                      const void *k, size_t kl, const void *v, size_t vl)
{
    void *got = NULL;
    size_t glen = 12345;
    int s = kv_get_at(db, snap, k, kl, &got, &glen);
    testdb_check_found(file, line, "kv_get_at", s, got, glen, k, kl, v, vl);
}

void testdb_absent_at(const char *file, int line, kv_db *db, const kv_snapshot *snap,
                      const void *k, size_t kl)
{
    void *got = NULL;
    size_t glen = 0;
    int s = kv_get_at(db, snap, k, kl, &got, &glen);
    testdb_check_absent(file, line, "kv_get_at of a key that must be absent", s, got);
}

const char *testdb_dir(void) { return harness_join(harness_tmpdir(), "db"); }

kv_db *testdb_fresh(const char **dir_out)
{
    const char *dir = testdb_dir();
    if (dir_out)
        *dir_out = dir;
    return OPEN(dir, NULL);
}

/* The entry `it` stands on must be want (entry number i of a walk). */
static void testdb_iter_check_entry(kv_iter *it, const testdb_pair *want, size_t i, size_t n)
{
    CHECK_MSG(kv_iter_valid(it), "iterator ended after %zu of %zu entries (status %d)", i, n,
              kv_iter_status(it));
    size_t kl = 0, vl = 0;
    const void *k = kv_iter_key(it, &kl);
    const void *v = kv_iter_value(it, &vl);
    CHECK(k != NULL);
    CHECK_MSG(v != NULL, "entry %zu: kv_iter_value is NULL, status %d", i, kv_iter_status(it));
    char hk[HARNESS_HEX_BUF], hw[HARNESS_HEX_BUF];
    CHECK_MSG(kl == want->kl && memcmp(k, want->k, kl) == 0, "entry %zu: key [%s], want [%s]",
              i, harness_hex(hk, k, kl), harness_hex(hw, want->k, want->kl));
    CHECK_MSG(vl == want->vl && (vl == 0 || memcmp(v, want->v, vl) == 0),
              "entry %zu (key [%s]): value of %zu bytes [%s], want %zu bytes", i,
              harness_hex(hk, k, kl), vl, harness_hex(hw, v, vl), want->vl);
}

static void testdb_iter_check_end(kv_iter *it, size_t n)
{
    if (kv_iter_valid(it)) {
        size_t kl = 0;
        const void *k = kv_iter_key(it, &kl);
        char hk[HARNESS_HEX_BUF];
        harness_fail(__FILE__, __LINE__, "iterator has an extra entry after %zu: key [%s]",
                     n, harness_hex(hk, k, kl));
    }
    CHECK_KV(kv_iter_status(it), KV_OK);
}

void testdb_iter_expect(kv_iter *it, const testdb_pair *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        testdb_iter_check_entry(it, &want[i], i, n);
        kv_iter_next(it);
    }
    testdb_iter_check_end(it, n);
}

void testdb_iter_expect_backward(kv_iter *it, const testdb_pair *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        testdb_iter_check_entry(it, &want[n - 1 - i], i, n);
        kv_iter_prev(it);
    }
    testdb_iter_check_end(it, n);
}

/* Forward from the first key, then backward from the last. */
static void testdb_iter_expect_both_ways(kv_iter *it, const testdb_pair *want, size_t n)
{
    CHECK(it != NULL);
    kv_iter_seek_first(it);
    testdb_iter_expect(it, want, n);
    kv_iter_seek_last(it);
    testdb_iter_expect_backward(it, want, n);
    kv_iter_free(it);
}

void testdb_expect_scan_at(kv_db *db, const kv_snapshot *snap, const testdb_pair *want,
                           size_t n)
{
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new_at(db, snap, &it), KV_OK);
    testdb_iter_expect_both_ways(it, want, n);
}

void testdb_expect_scan(kv_db *db, const testdb_pair *want, size_t n)
{
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    testdb_iter_expect_both_ways(it, want, n);
}

static uint64_t testdb_bytes_total;

static int testdb_bytes_one(const char *path, const struct stat *st, int flag,
                            struct FTW *ftw)
{
    if (flag == FTW_F && S_ISREG(st->st_mode) && strcmp(path + ftw->base, "IDENTITY") != 0)
        testdb_bytes_total += (uint64_t)st->st_size;
    return 0;
}

uint64_t testdb_dir_bytes(const char *dir)
{
    testdb_bytes_total = 0;
    nftw(dir, testdb_bytes_one, 16, FTW_PHYS);
    return testdb_bytes_total;
}

void testdb_lines_add(void *ctx, const char *line)
{
    testdb_lines *l = ctx;
    size_t n = strlen(line);
    char *grown = realloc(l->text, l->len + n + 2);
    if (grown == NULL)
        return;
    memcpy(grown + l->len, line, n);
    grown[l->len + n] = '\n';
    grown[l->len + n + 1] = '\0';
    l->text = grown;
    l->len += n + 1;
    l->count++;
}

void testdb_lines_free(testdb_lines *l)
{
    free(l->text);
    memset(l, 0, sizeof *l);
}

void testdb_rng_seed(testdb_rng *r, uint64_t seed)
{
    /* splitmix64 of the seed, so small seeds still start well mixed */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    r->s = (z ^ (z >> 31)) | 1;
}

uint64_t testdb_rng_next(testdb_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}

uint32_t testdb_rng_below(testdb_rng *r, uint32_t n)
{
    return n == 0 ? 0 : (uint32_t)((testdb_rng_next(r) >> 32) % n);
}

void testdb_rng_fill(testdb_rng *r, void *p, size_t n)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(testdb_rng_next(r) >> 56);
}

double testdb_stat(kv_db *db, const char *name)
{
    char *text = NULL;
    CHECK_KV(kv_stats(db, &text), KV_OK);
    double v = -1;
    size_t n = strlen(name);
    for (const char *p = text; *p != '\0';) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            v = strtod(p + n + 1, NULL);
            break;
        }
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    kv_free(text);
    return v;
}
