/*
 * ex_replica.c: replicas and snapshots for stage 10's exercise tests
 * (ex_replica.h).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "ex_replica.h"
#include "exercise.h"
#include "kv.h"
#include "snapshot_format.h"

const char *ex_replica_value(replica *r, const char *key)
{
    static char buf[256];
    void *v = NULL;
    size_t n = 0;
    int rc = EX_KV(kv_get(replica_db(r), key, strlen(key), &v, &n));
    if (rc == KV_NOT_FOUND)
        return "-";
    EX_CHECK(rc == KV_OK, "kv_get(%s): %s", key, ex_errmsg(rc));
    snprintf(buf, sizeof buf, "%.*s", (int)n, (const char *)v);
    kv_free(v);
    return buf;
}

void ex_replica_expect(replica *r, const char *key, const char *want, const char *rule)
{
    const char *got = ex_replica_value(r, key);
    EX_CHECK(strcmp(got, want) == 0, "%s: %s is %s (got %s)", rule, key,
             strcmp(want, "-") == 0 ? "absent" : want, strcmp(got, "-") == 0 ? "absent" : got);
}

replica *ex_replica_open_opt(const char *dir, const kv_options *opt)
{
    replica *r = NULL;
    harness_context("replica_open(%s): the live engine is the one REPLICA names, at the applied "
                    "index written with it", dir);
    int rc = EX_KV(replica_open(dir, opt, &r));
    EX_CHECK(rc == KV_OK, "replica_open(%s): %s", dir, ex_errmsg(rc));
    return r;
}

replica *ex_replica_open(const char *dir)
{
    return ex_replica_open_opt(dir, NULL);
}

void ex_replica_close(replica *r)
{
    int rc = EX_KV(replica_close(r));
    EX_CHECK(rc == KV_OK, "replica_close: %s", ex_errmsg(rc));
}

replica *ex_replica_at(const char *dir, uint64_t index, const char *pairs)
{
    replica *r = ex_replica_open(dir);
    kv_batch *b = NULL;
    EX_CHECK(kv_batch_new(&b) == KV_OK, "test setup: kv_batch_new");
    char *copy = strdup(pairs), *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        char *e = strchr(w, '=');
        EX_CHECK(kv_batch_put(b, w, (size_t)(e - w), e + 1, strlen(e + 1)) == KV_OK,
                 "test setup: kv_batch_put");
    }
    free(copy);
    uint8_t at[8];
    coding_put_u64(at, index);
    EX_CHECK(EX_KV(kv_batch_put(b, REPLICA_APPLIED_KEY, REPLICA_APPLIED_KEY_LEN, at, 8)) == KV_OK &&
                 EX_KV(kv_write(replica_db(r), b)) == KV_OK,
             "test setup: the replica's contents written: %s", ex_kv_errmsg());
    kv_batch_free(b);
    ex_replica_close(r);
    r = ex_replica_open(dir);
    EX_CHECK(replica_applied(r) == index, "test setup: the replica is at index %llu (got %llu)",
             (unsigned long long)index, (unsigned long long)replica_applied(r));
    return r;
}

size_t ex_snapshot_seal(uint8_t *p, size_t end, uint64_t index, uint64_t count)
{
    memcpy(p, SNAPSHOT_MAGIC, 8);
    coding_put_u64(p + 8, index);
    coding_put_u64(p + 16, count);
    coding_put_u32(p + end, crc32c_value(p, end));
    return end + 4;
}

uint8_t *ex_snapshot(uint64_t index, const char *pairs, size_t *len)
{
    size_t cap = SNAPSHOT_HEADER + strlen(pairs) * 9 + 8, at = SNAPSHOT_HEADER;
    uint8_t *p = malloc(cap);
    EX_CHECK(p != NULL, "test setup: out of memory");
    uint64_t count = 0;
    char *copy = strdup(pairs), *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        char *e = strchr(w, '=');
        size_t klen = (size_t)(e - w), vlen = strlen(e + 1);
        coding_put_u32(p + at, (uint32_t)klen);
        coding_put_u32(p + at + 4, (uint32_t)vlen);
        memcpy(p + at + 8, w, klen);
        memcpy(p + at + 8 + klen, e + 1, vlen);
        at += 8 + klen + vlen;
        count++;
    }
    free(copy);
    *len = ex_snapshot_seal(p, at, index, count);
    return p;
}

uint8_t *ex_snapshot_keys(uint64_t index, int n, size_t *len)
{
    size_t cap = SNAPSHOT_HEADER + (size_t)n * 32 + 4, at = SNAPSHOT_HEADER;
    uint8_t *p = malloc(cap);
    EX_CHECK(p != NULL, "test setup: out of memory");
    for (int i = 0; i < n; i++) {
        char k[16];
        int klen = snprintf(k, sizeof k, "k%05d", i);
        coding_put_u32(p + at, (uint32_t)klen);
        coding_put_u32(p + at + 4, 8);
        memcpy(p + at + 8, k, (size_t)klen);
        memset(p + at + 8 + klen, 'v', 8);
        at += 8 + (size_t)klen + 8;
    }
    *len = ex_snapshot_seal(p, at, index, (uint64_t)n);
    return p;
}

size_t ex_client_keys(replica *r)
{
    kv_iter *it = NULL;
    EX_CHECK(EX_KV(kv_iter_new(replica_db(r), &it)) == KV_OK, "kv_iter_new: %s", ex_kv_errmsg());
    size_t n = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
        size_t klen;
        const void *k = kv_iter_key(it, &klen);
        n += klen < COMMAND_RESERVED_LEN || memcmp(k, COMMAND_RESERVED, COMMAND_RESERVED_LEN) != 0;
    }
    EX_CHECK(EX_KV(kv_iter_status(it)) == KV_OK, "kv_iter_status: %s", ex_kv_errmsg());
    kv_iter_free(it);
    return n;
}

size_t ex_files_in(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

const char *ex_replica_live(const char *dir)
{
    static char name[16];
    name[0] = '\0';
    FILE *f = fopen(harness_join(dir, "REPLICA"), "r");
    if (f == NULL)
        return name;
    if (fgets(name, sizeof name, f) == NULL)
        name[0] = '\0';
    fclose(f);
    name[strcspn(name, "\n")] = '\0';
    return name;
}
