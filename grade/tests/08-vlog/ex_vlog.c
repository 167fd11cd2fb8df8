/*
 * ex_vlog.c: the helpers of ex_vlog.h.  Nothing here calls an exercise's
 * function (vlog_where.c's, value_store_pick, value_store_job_end,
 * value_store_collect): a where is encoded from the format's table, and
 * a value's place is found by walking the bytes written.
 */
#include "ex_vlog.h"

#include <dirent.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "coding.h"
#include "crc32c.h"
#include "exercise.h"
#include "file_header.h"
#include "lsm_wal.h"
#include "wal_format.h"
#include "wal_marker.h"
#include "wal_writer.h"

uint8_t ex_value_byte(uint64_t file, size_t i, size_t j)
{
    return (uint8_t)(j * 7 + (j >> 8) * 13 + i * 29 + file * 101 + 1);
}

uint64_t ex_payload_at(uint64_t rec_start, uint64_t k)
{
    uint64_t at = rec_start + WAL_HEADER_SIZE;
    for (;;) {
        while (at % WAL_BLOCK_SIZE < WAL_HEADER_SIZE)
            at++;
        if (k == 0)
            return at;
        k--;
        at++;
    }
}

uint64_t ex_vlog_write(const char *dir, uint64_t start, int as_log, const size_t *vlens,
                       size_t n, ex_place *place)
{
    uint64_t cap = LSM_WAL_START + wal_framed_max(WAL_SEAL_SIZE);
    for (size_t i = 0; i < n; i++)
        cap += wal_framed_max(vlens[i] + 64);
    uint8_t *file = calloc(1, (size_t)cap);
    EX_CHECK(file != NULL, "the test's helper: out of memory");
    file_header_encode(file, FILE_MAGIC_LOG04, LSM_WAL_VERSION);
    uint64_t at = LSM_WAL_START;
    for (size_t i = 0; i < n; i++) {
        char key[48];
        snprintf(key, sizeof key, "k%llu-%zu", (unsigned long long)start, i);
        size_t klen = strlen(key), vlen = vlens[i];
        uint8_t *val = malloc(vlen ? vlen : 1);
        EX_CHECK(val != NULL, "the test's helper: out of memory");
        for (size_t j = 0; j < vlen; j++)
            val[j] = ex_value_byte(start, i, j);
        batch_op op = {.key = key, .klen = klen, .val = val, .vlen = vlen};
        size_t rlen = (size_t)lsm_wal_record_size(&op, 1);
        uint8_t *rec = malloc(rlen);
        EX_CHECK(rec != NULL, "the test's helper: out of memory");
        lsm_wal_record_encode(rec, &op, 1);
        lsm_wal_record_stamp(rec, rlen, start + i);
        /* A batch of one put: count, type, key length, value length, key,
         * value (docs/03-wal.md), then the sequence. */
        size_t voff = 2 + (size_t)coding_varint_length(klen) +
                      (size_t)coding_varint_length(vlen) + klen;
        EX_CHECK(voff + vlen + LSM_WAL_SEQ_BYTES == rlen && memcmp(rec + voff, val, vlen) == 0,
                 "the test's helper: a record is a batch of one put, then its sequence");
        uint64_t rec_start = at;
        if (WAL_BLOCK_SIZE - at % WAL_BLOCK_SIZE < WAL_HEADER_SIZE)
            rec_start += WAL_BLOCK_SIZE - at % WAL_BLOCK_SIZE; /* the trailer */
        at += wal_frame(file + at, at, rec, rlen);
        uint64_t first = ex_payload_at(rec_start, voff), o = first;
        for (size_t j = 0; j < vlen; j++) { /* the walk finds every byte where it is */
            EX_CHECK(file[o] == val[j], "the test's helper: value byte %zu of put %zu is where "
                     "the walk says", j, i);
            for (o++; o % WAL_BLOCK_SIZE < WAL_HEADER_SIZE; o++)
                ;
        }
        if (place != NULL)
            place[i] = (ex_place){.file = start, .offset = first, .len = (uint32_t)vlen,
                                  .crc = crc32c_value(val, vlen)};
        free(rec);
        free(val);
    }
    uint8_t seal[WAL_SEAL_SIZE];
    size_t slen = wal_marker_encode(seal, at, 1);
    at += wal_frame(file + at, at, seal, slen);
    char name[64];
    snprintf(name, sizeof name, "%012llu%s", (unsigned long long)start,
             as_log ? ".log" : VLOG_SUFFIX);
    const char *path = harness_join(dir, name);
    FILE *f = fopen(path, "wb");
    EX_CHECK(f != NULL && fwrite(file, 1, (size_t)at, f) == at && fclose(f) == 0,
             "the test's helper: cannot write %s", path);
    free(file);
    return at;
}

size_t ex_where(uint8_t out[VLOG_WHERE_MAX], uint64_t file, uint64_t offset, uint32_t len,
                uint32_t crc)
{
    uint8_t *p = coding_put_varint64(out, file);
    p = coding_put_varint64(p, offset);
    p = coding_put_varint32(p, len);
    coding_put_u32(p, crc);
    return (size_t)(p + 4 - out);
}

value_store *ex_store(const char *dir, const uint64_t *files, size_t n, int gc_percent)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.value_gc_percent = gc_percent;
    db_dir d;
    memset(&d, 0, sizeof d);
    d.path = (char *)dir;
    char **names = calloc(n + 1, sizeof *names);
    EX_CHECK(names != NULL, "the test's helper: out of memory");
    for (size_t i = 0; i < n; i++) {
        names[i] = malloc(32);
        EX_CHECK(names[i] != NULL, "the test's helper: out of memory");
        snprintf(names[i], 32, "%012llu%s", (unsigned long long)files[i], VLOG_SUFFIX);
    }
    lsm_listing l;
    memset(&l, 0, sizeof l);
    l.others = names;
    l.nothers = n;
    size_t memtable = 4u << 20;
    value_store_env env = {.dir = &d, .opt = &opt, .memtable_limit = &memtable};
    value_store *vs = NULL;
    int has_jobs = 0;
    /* The tables hold every write up to the last file's start, as in a
     * database (a value-log file past them would be moved to lost/). */
    uint64_t flushed = 0;
    for (size_t i = 0; i < n; i++)
        if (files[i] > flushed)
            flushed = files[i];
    int rc = EX_KV(value_store_open(&env, &l, flushed, &vs, &has_jobs));
    EX_CHECK(rc == KV_OK, "the test's helper: value_store_open over %zu value-log files "
             "returns KV_OK (got %d: %s)", n, rc, ex_errmsg(rc));
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return vs;
}

vlog_file *ex_store_file(value_store *vs, uint64_t start)
{
    vlog_file *f = vlog_find(vs, start);
    EX_CHECK(f != NULL, "the store lists value-log file %llu (it was there, and nothing "
             "removed it)", (unsigned long long)start);
    return f;
}

int ex_vlog_exists(const char *dir, uint64_t start)
{
    char name[64];
    snprintf(name, sizeof name, "%012llu%s", (unsigned long long)start, VLOG_SUFFIX);
    return access(harness_join(dir, name), F_OK) == 0;
}

kv_db *ex_vlog_db(const char **dir, size_t threshold)
{
    *dir = harness_join(harness_tmpdir(), "db");
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 64u << 10;
    opt.value_threshold = threshold;
    return ex_open(*dir, &opt, "a database of stage 08");
}

static void ex_fill(uint8_t *v, size_t vlen, uint8_t seed)
{
    for (size_t j = 0; j < vlen; j++)
        v[j] = (uint8_t)(seed + j * 3 + (j >> 9));
}

void ex_put_big(kv_db *db, const char *k, size_t vlen, uint8_t seed)
{
    uint8_t *v = malloc(vlen ? vlen : 1);
    EX_CHECK(v != NULL, "the test's helper: out of memory");
    ex_fill(v, vlen, seed);
    int rc = EX_KV(kv_put(db, k, strlen(k), v, vlen));
    free(v);
    EX_CHECK(rc == KV_OK, "kv_put(%s) of a %zu-byte value returns KV_OK (got %d: %s)", k, vlen,
             rc, ex_errmsg(rc));
}

void ex_expect_big(kv_db *db, const char *k, size_t vlen, uint8_t seed, const char *rule)
{
    void *got = NULL;
    size_t gl = 0;
    int rc = EX_KV(kv_get(db, k, strlen(k), &got, &gl));
    EX_CHECK(rc == KV_OK, "%s: kv_get(%s) returns KV_OK (got %d: %s)", rule, k, rc,
             ex_errmsg(rc));
    uint8_t *want = malloc(vlen ? vlen : 1);
    EX_CHECK(want != NULL, "the test's helper: out of memory");
    ex_fill(want, vlen, seed);
    size_t diff = 0;
    while (diff < vlen && diff < gl && ((uint8_t *)got)[diff] == want[diff])
        diff++;
    int same = gl == vlen && diff == vlen;
    kv_free(got);
    free(want);
    EX_CHECK(same, "%s: kv_get(%s) gives the %zu bytes put (got %zu bytes, the first "
             "difference at byte %zu)", rule, k, vlen, gl, diff);
}

size_t ex_vlog_files(const char *dir, uint64_t *out, size_t cap)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    if (d == NULL)
        return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name), s = strlen(VLOG_SUFFIX);
        if (len <= s || strcmp(e->d_name + len - s, VLOG_SUFFIX) != 0 || n == cap)
            continue;
        uint64_t v = strtoull(e->d_name, NULL, 10);
        size_t at = n++;
        while (at > 0 && out[at - 1] > v) {
            out[at] = out[at - 1];
            at--;
        }
        out[at] = v;
    }
    closedir(d);
    return n;
}

int ex_waits_for_lock(pthread_mutex_t *lock, void *(*fn)(void *), void *arg,
                      _Atomic int *done)
{
    pthread_mutex_lock(lock);
    pthread_t t;
    EX_CHECK(pthread_create(&t, NULL, fn, arg) == 0, "test setup: pthread_create");
    /* Until fn has returned, or waits for the lock: glibc marks a mutex a
     * thread is about to sleep on (its word 2: locked, with a waiter)
     * before that thread sleeps, and the test's lock has no other user. */
    while (!atomic_load(done) && __atomic_load_n(&lock->__data.__lock, __ATOMIC_ACQUIRE) != 2)
        sched_yield();
    int early = atomic_load(done);
    pthread_mutex_unlock(lock);
    pthread_join(t, NULL);
    return !early;
}

void ex_vlog_overwrites(kv_db *db)
{
    char key[16];
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "key%d", i);
        ex_put_big(db, key, 3000, (uint8_t)(10 * (i + 1)));
    }
    EX_CHECK(EX_KV(kv_flush(db)) == KV_OK, "test setup: kv_flush (%s)", ex_kv_errmsg());
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof key, "key%d", i);
        ex_put_big(db, key, 2000, 3);
    }
    EX_CHECK(EX_KV(kv_flush(db)) == KV_OK, "test setup: kv_flush (%s)", ex_kv_errmsg());
}

void ex_vlog_expect_overwrites(kv_db *db, const char *rule)
{
    char key[16];
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "key%d", i);
        ex_expect_big(db, key, i < 6 ? 2000 : 3000, (uint8_t)(i < 6 ? 3 : 10 * (i + 1)), rule);
    }
}
