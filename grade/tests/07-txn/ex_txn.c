/*
 * ex_txn.c: see ex_txn.h.
 */
#include "ex_txn.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "exercise.h"

kv_db *ex_txn_open(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 4096;
    return ex_open(harness_join(harness_tmpdir(), "db"), &opt, "open the test's database");
}

kv_txn *ex_begin(kv_db *db, int isolation)
{
    kv_txn *t = NULL;
    int rc = EX_KV(kv_txn_begin(db, isolation, &t));
    EX_CHECK(rc == KV_OK, "kv_txn_begin returns KV_OK (got %d: %s)", rc, ex_errmsg(rc));
    return t;
}

void ex_txn_put(kv_txn *t, const char *k, const char *v)
{
    int rc = EX_KV(kv_txn_put(t, k, strlen(k), v, strlen(v)));
    EX_CHECK(rc == KV_OK, "kv_txn_put(%s) returns KV_OK (got %d: %s)", k, rc, ex_errmsg(rc));
}

void ex_commit(kv_txn *t, int want, const char *rule)
{
    harness_context("kv_txn_commit: %s", rule);
    int rc = EX_KV(kv_txn_commit(t));
    EX_CHECK(rc == want, "%s: kv_txn_commit returns %s, got %d (%s)", rule,
             want == KV_OK ? "KV_OK" : "KV_ERR_CONFLICT", rc,
             rc == KV_OK ? "committed" : ex_errmsg(rc));
}

void ex_fill_others(kv_db *db, int n)
{
    char k[32], v[80];
    for (int i = 0; i < n; i++) {
        int kl = snprintf(k, sizeof k, "zz-other%05d", i);
        int vl = snprintf(v, sizeof v, "a value long enough to fill memtables quickly %05d", i);
        int rc = EX_KV(kv_put(db, k, (size_t)kl, v, (size_t)vl));
        EX_CHECK(rc == KV_OK, "kv_put(%s) returns KV_OK (got %d: %s)", k, rc, ex_errmsg(rc));
    }
}

void ex_delete(kv_db *db, const char *k)
{
    int rc = EX_KV(kv_delete(db, k, strlen(k)));
    EX_CHECK(rc == KV_OK, "kv_delete(%s) returns KV_OK (got %d: %s)", k, rc, ex_errmsg(rc));
}

void ex_txn_scan(kv_txn *t, const char *from, const char *to)
{
    kv_txn_iter *it = NULL;
    int rc = EX_KV(kv_txn_iter_new(t, &it));
    EX_CHECK(rc == KV_OK, "kv_txn_iter_new returns KV_OK (got %d: %s)", rc, ex_errmsg(rc));
    if (from == NULL)
        kv_txn_iter_seek_first(it);
    else
        kv_txn_iter_seek(it, from, strlen(from));
    while (kv_txn_iter_valid(it)) {
        size_t kl = 0;
        const char *k = kv_txn_iter_key(it, &kl);
        size_t tl = to ? strlen(to) : 0;
        if (to != NULL) {
            int c = memcmp(k, to, kl < tl ? kl : tl);
            if (c > 0 || (c == 0 && kl >= tl))
                break;
        }
        kv_txn_iter_next(it);
    }
    rc = EX_KV(kv_txn_iter_status(it));
    EX_CHECK(rc == KV_OK, "the transaction's scan ends with KV_OK (got %d: %s)", rc,
             ex_errmsg(rc));
    kv_txn_iter_free(it);
}

int ex_table_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    EX_CHECK(d != NULL, "test setup: the database's directory opens");
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name);
        n += l > 4 && strcmp(e->d_name + l - 4, ".tbl") == 0;
    }
    closedir(d);
    return n;
}

int ex_table_files_settled(kv_db *db, const char *dir, uint64_t *tables)
{
    int files = 0;
    for (int i = 0; i < 3; i++) {
        harness_context("kv_compact after the commits (%d of at most 3)", i + 1);
        EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "kv_compact returns KV_OK (%s)", ex_kv_errmsg());
        files = ex_table_files(dir);
        *tables = ex_stat(db, "tables.count");
        if ((uint64_t)files == *tables)
            break;
    }
    return files;
}
