/*
 * readcost.c: build/S/readcost, what a point lookup costs against the
 * number of tables and their size (stage 04's lesson: docs/04-lsm-reference.md,
 * "Measured costs").
 *
 *   readcost [--keys=N] [--tables=T] [--order=random|seq] [--gets=G] [--db=DIR]
 *
 * Loads N keys of kvbench's shape (16-byte keys, 100-byte values) with a
 * memtable sized so that the load makes about T tables (T = 1: the load,
 * then kv_compact, which merges everything into one; the count printed is
 * kv_stats' tables.count, the real one), closes, reopens, then makes G
 * gets of random present keys and G of random absent keys (which fall
 * between present ones).  Every loaded key is in a table when the gets
 * run (see rc_load).  It prints one line per kind of get: the tables, the
 * positioned reads and tables searched per get (from kv_stats:
 * session.get.table_reads, session.get.tables_searched) and the time per get.  With
 * --order=random (the default) every table's key range covers the whole
 * key space, so a lookup searches the tables newest first until one has
 * the key (all of them for an absent key); with seq the ranges are
 * disjoint and a lookup searches one.  For a stage without tables the
 * reads are 0.  The database goes under --db (default: a fresh directory
 * in /tmp) and is removed at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_sys.h"
#include "kv.h"

#define KEY_BYTES 16
#define VALUE_BYTES 100
/* Memtable bytes one entry of this shape takes, about: key and trailer,
 * value, lengths, the skiplist node's links (1.33 on average, 8 bytes each)
 * and alignment (memtable.bytes / memtable.entries of stage 04 with 25,000
 * such entries: 141.6, arena blocks included).  Used only to pick
 * memtable_bytes for T tables. */
#define ENTRY_MEMTABLE_BYTES 140

static void rc_key(char *k, uint64_t i)
{
    for (int d = KEY_BYTES - 1; d >= 0; d--, i /= 10)
        k[d] = (char)('0' + i % 10);
}

static _Noreturn void rc_fail(const char *what, int rc)
{
    fprintf(stderr, "readcost: %s: %s: %s\n", what, kv_strerror(rc), kv_errmsg());
    exit(2);
}

/* The number after "name: " in kv_stats (0 if the stage has none). */
static double rc_stat(kv_db *db, const char *name)
{
    char *text = NULL;
    int rc = kv_stats(db, &text);
    if (rc != KV_OK)
        rc_fail("kv_stats", rc);
    char key[128];
    snprintf(key, sizeof key, "\n%s: ", name);
    const char *at = strstr(text, key);
    double v = at ? strtod(at + strlen(key), NULL) : 0;
    kv_free(text);
    return v;
}

static void rc_load(const char *dir, uint64_t n, uint64_t tables, int random_order)
{
    kv_options opt;
    kv_options_init(&opt);
    /* T - 1 memtables full and the last one half full: the filler below
     * makes it the T-th table. */
    opt.memtable_bytes = tables > 1 ? (uint64_t)((double)n * ENTRY_MEMTABLE_BYTES /
                                                 ((double)tables - 0.5)) + 1 : 0;
    kv_db *db = NULL;
    int rc = kv_open(dir, &opt, &db);
    if (rc != KV_OK)
        rc_fail("kv_open", rc);
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    if (order == NULL)
        rc_fail("out of memory", KV_ERR_NOMEM);
    for (uint64_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    bench_rng r;
    bench_rng_seed(&r, 42);
    for (uint64_t i = n; random_order && i > 1; i--) {
        uint64_t j = bench_rng_below(&r, i);
        uint32_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    char key[KEY_BYTES], val[VALUE_BYTES];
    memset(val, 'v', sizeof val);
    for (uint64_t i = 0; i < n; i++) {
        rc_key(key, 2 * (uint64_t)order[i]);
        if ((rc = kv_put(db, key, KEY_BYTES, val, VALUE_BYTES)) != KV_OK)
            rc_fail("kv_put", rc);
    }
    free(order);
    if (tables <= 1 && (rc = kv_compact(db)) != KV_OK)
        rc_fail("kv_compact", rc);
    /* Every loaded key in a table: kv_close leaves the last memtable's
     * writes in its log, and the reopen would replay them into a memtable,
     * where a get costs no read.  So filler keys, which sort after every
     * loaded key ("~..."), go in until the memtable is frozen; kv_close
     * waits for its flush, and the reopen replays only filler. */
    double switches = rc_stat(db, "session.write.memtable_switches");
    for (uint64_t i = 0; tables > 1 && rc_stat(db, "session.write.memtable_switches") == switches; i++)
        for (int j = 0; j < 256; j++) {
            char fill[KEY_BYTES + 1];
            snprintf(fill, sizeof fill, "~%015" PRIu64, i * 256 + (uint64_t)j);
            if ((rc = kv_put(db, fill, KEY_BYTES, val, VALUE_BYTES)) != KV_OK)
                rc_fail("kv_put", rc);
        }
    if ((rc = kv_close(db)) != KV_OK)
        rc_fail("kv_close", rc);
}

/* G gets of present (absent = 0) or absent keys; prints their line. */
static void rc_gets(kv_db *db, uint64_t n, uint64_t g, int absent)
{
    double reads0 = rc_stat(db, "session.get.table_reads");
    double searched0 = rc_stat(db, "session.get.tables_searched");
    bench_rng r;
    bench_rng_seed(&r, absent ? 9 : 8);
    char key[KEY_BYTES];
    double t0 = bench_now();
    for (uint64_t i = 0; i < g; i++) {
        void *val = NULL;
        size_t len = 0;
        rc_key(key, 2 * bench_rng_below(&r, n) + (uint64_t)absent);
        int rc = kv_get(db, key, KEY_BYTES, &val, &len);
        if (rc != (absent ? KV_NOT_FOUND : KV_OK))
            rc_fail(absent ? "kv_get of an absent key" : "kv_get of a present key", rc);
        kv_free(val);
    }
    double us = (bench_now() - t0) * 1e6 / (double)g;
    double reads = rc_stat(db, "session.get.table_reads") - reads0;
    double searched = rc_stat(db, "session.get.tables_searched") - searched0;
    printf("readcost: %s keys=%" PRIu64 " tables=%.0f gets=%s: %.2f reads/get, %.2f tables "
           "searched/get, %.2f us/get\n", kv_stage(), n, rc_stat(db, "tables.count"),
           absent ? "absent" : "present", reads / (double)g, searched / (double)g, us);
}

int main(int argc, char **argv)
{
    uint64_t n = 100000, tables = 8, g = 20000;
    int random_order = 1;
    const char *where = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--keys=", 7) == 0)
            n = strtoull(a + 7, NULL, 10);
        else if (strncmp(a, "--tables=", 9) == 0)
            tables = strtoull(a + 9, NULL, 10);
        else if (strncmp(a, "--gets=", 7) == 0)
            g = strtoull(a + 7, NULL, 10);
        else if (strcmp(a, "--order=random") == 0)
            random_order = 1;
        else if (strcmp(a, "--order=seq") == 0)
            random_order = 0;
        else if (strncmp(a, "--db=", 5) == 0)
            where = a + 5;
        else {
            int help = strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
            fprintf(help ? stdout : stderr, "usage: readcost [--keys=N] [--tables=T] [--order=random|seq] "
                            "[--gets=G] [--db=DIR]\n");
            return help ? 0 : 2;
        }
    }
    if (n == 0 || n > UINT32_MAX / 2 || g == 0) {
        fprintf(stderr, "readcost: --keys must be 1 .. %u, --gets at least 1\n",
                UINT32_MAX / 2);
        return 2;
    }
    char tmp[] = "/tmp/kvreadcost.XXXXXX", dir[4096];
    if (where == NULL && (where = mkdtemp(tmp)) == NULL) {
        perror("readcost: mkdtemp");
        return 2;
    }
    if (bench_mkdir(where) != 0) {
        fprintf(stderr, "readcost: %s\n", bench_errmsg());
        return 2;
    }
    snprintf(dir, sizeof dir, "%s/db", where);
    bench_rmtree(dir);
    rc_load(dir, n, tables, random_order);
    kv_db *db = NULL;
    int rc = kv_open(dir, NULL, &db);
    if (rc != KV_OK)
        rc_fail("kv_open", rc);
    rc_gets(db, n, g, 0);
    rc_gets(db, n, g, 1);
    if ((rc = kv_close(db)) != KV_OK)
        rc_fail("kv_close", rc);
    bench_rmtree(dir);
    if (where == tmp)
        rmdir(tmp);
    return 0;
}
