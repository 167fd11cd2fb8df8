/*
 * txnbench.c: transactions under load, over an engine behind bench/engine.h
 * that has them (its txn_* calls): a stage of this project (kv.h's kv_txn_*
 * at KV_TXN_SNAPSHOT, bench/engine_kv.c) or RocksDB's optimistic
 * transactions (bench/engine_rocksdb.c with KVBENCH_ROCKSDB_TXN=1).
 *
 *   txnbench [--workload=transfer|readonly] [--accounts=A] [--threads=T]
 *            [--seconds=S] [--seed=S] [--db=DIR] [--csv=FILE] [--rep=R]
 *   txnbench --describe    one line: the engine, its version
 *
 * One run is one database: fresh, A accounts loaded with plain puts (key i:
 * the 16 decimal digits of i; value: 100 bytes, the balance as 20 decimal
 * digits, then filler a compressor halves, as kvbench's values are), each
 * with the same balance.  Then T threads run transactions for S seconds:
 *   transfer   pick two accounts a != b and an amount from 1 to 100; in
 *              one transaction read both balances and write both (a less
 *              the amount, b plus it); commit.  On a conflict, begin again
 *              (a new snapshot, the balances read again) until it commits.
 *              Few accounts make two threads often write the same account
 *              at once (high contention); many, seldom (low).
 *   readonly   read two accounts in one transaction and commit it; nothing
 *              is written, so no commit can conflict.
 * Then every balance is read with plain gets: the total must be what was
 * loaded (a lost update would change it), or the run fails.
 *
 * Figures: commits per second (over the threads' wall time); attempts,
 * conflicts (a commit refused: txn_commit's 1 and 2, engine.h; "unchecked"
 * counts the 2s) and the abort rate, conflicts / attempts; the latency of
 * a transaction from its first begin to its commit, retries included
 * (mean, p50, p99, p99.9), and the p99 of one attempt (begin to commit or
 * conflict).  One line per run on standard output; with --csv, one row
 * appended to FILE (header written if the file is empty).
 * scripts/bench_txn.sh runs this for each engine (`make bench-txn`).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_hist.h"
#include "bench_sys.h"
#include "engine.h"

#define KEY_BYTES 16
#define VALUE_BYTES 100
#define BALANCE_DIGITS 20
#define START_BALANCE ((uint64_t)1000000000)
#define MAX_AMOUNT 100

static const bench_engine *E = &bench_engine_impl;

enum { W_TRANSFER, W_READONLY };
static const char *const workload_names[] = {"transfer", "readonly"};

static struct {
    int workload;
    uint64_t accounts;
    int threads;
    double seconds;
    uint64_t seed;
    const char *db;
    const char *csv;
    int rep;
} cfg = {W_TRANSFER, 100000, 1, 5, 301, NULL, NULL, 1};

/* ---- accounts ------------------------------------------------------------------ */

static char filler[VALUE_BYTES]; /* bytes 20..99 of every value */

static void txnb_make_filler(uint64_t seed)
{
    bench_rng r;
    bench_rng_seed(&r, seed);
    size_t half = (VALUE_BYTES - BALANCE_DIGITS) / 2;
    for (size_t i = 0; i < half; i++)
        filler[BALANCE_DIGITS + i] = (char)(' ' + bench_rng_below(&r, 95));
    memcpy(filler + BALANCE_DIGITS + half, filler + BALANCE_DIGITS, half);
}

static void txnb_digits(char *p, int n, uint64_t v)
{
    for (int d = n - 1; d >= 0; d--, v /= 10)
        p[d] = (char)('0' + v % 10);
}

static void txnb_key(char *k, uint64_t account) { txnb_digits(k, KEY_BYTES, account); }

static void txnb_value(char *v, uint64_t balance)
{
    memcpy(v, filler, VALUE_BYTES);
    txnb_digits(v, BALANCE_DIGITS, balance);
}

/* The balance a value holds; -1 if it is not one txnb_value made. */
static int txnb_balance(const char *v, size_t vlen, uint64_t *balance)
{
    if (vlen != VALUE_BYTES)
        return -1;
    uint64_t b = 0;
    for (int d = 0; d < BALANCE_DIGITS; d++) {
        if (v[d] < '0' || v[d] > '9')
            return -1;
        b = b * 10 + (uint64_t)(v[d] - '0');
    }
    *balance = b;
    return 0;
}

static void txnb_fail(const char *what)
{
    fprintf(stderr, "txnbench: %s: %s: %s\n", E->name(), what, E->errmsg());
    fflush(stdout);
    _exit(2);
}

/* A read in a transaction that must find an account's balance. */
static uint64_t txnb_read(void *t, const char *key)
{
    char v[VALUE_BYTES];
    size_t vlen = 0;
    uint64_t b;
    int rc = E->txn_get(t, key, KEY_BYTES, v, sizeof v, &vlen);
    if (rc < 0)
        txnb_fail("transaction get");
    if (rc == 1 || txnb_balance(v, vlen, &b) < 0) {
        fprintf(stderr, "txnbench: %s: account %.16s: %s\n", E->name(), key,
                rc == 1 ? "not found" : "not a balance");
        _exit(2);
    }
    return b;
}

/* ---- one attempt of a transaction ------------------------------------------------ */

/* Returns txn_commit's answer: 0 committed, 1 or 2 refused (engine.h). */
static int txnb_attempt(void *h, const char *ka, const char *kb, uint64_t amount)
{
    void *t;
    if (E->txn_begin(h, &t) < 0)
        txnb_fail("transaction begin");
    uint64_t a = txnb_read(t, ka), b = txnb_read(t, kb);
    if (cfg.workload == W_TRANSFER) {
        char v[VALUE_BYTES];
        if (a < amount)
            amount = 0; /* never at these sizes: balances start at 10^9 */
        txnb_value(v, a - amount);
        if (E->txn_put(t, ka, KEY_BYTES, v, VALUE_BYTES) < 0)
            txnb_fail("transaction put");
        txnb_value(v, b + amount);
        if (E->txn_put(t, kb, KEY_BYTES, v, VALUE_BYTES) < 0)
            txnb_fail("transaction put");
    }
    int rc = E->txn_commit(t);
    if (rc < 0)
        txnb_fail("transaction commit");
    return rc;
}

/* ---- the threads -------------------------------------------------------------------- */

typedef struct txnb_worker {
    pthread_t tid;
    void *h;
    uint64_t seed;
    double deadline;
    uint64_t commits, attempts, conflicts, unchecked;
    bench_hist per_txn;       /* first begin to commit, retries included */
    bench_hist per_attempt;   /* begin to commit or conflict */
} txnb_worker;

static void *txnb_work(void *arg)
{
    txnb_worker *w = arg;
    bench_rng rng;
    bench_rng_seed(&rng, w->seed);
    char ka[KEY_BYTES], kb[KEY_BYTES];
    double now = bench_now();
    while (now < w->deadline) {
        uint64_t a = bench_rng_below(&rng, cfg.accounts);
        uint64_t b = (a + 1 + bench_rng_below(&rng, cfg.accounts - 1)) % cfg.accounts;
        uint64_t amount = 1 + bench_rng_below(&rng, MAX_AMOUNT);
        txnb_key(ka, a);
        txnb_key(kb, b);
        double first = now;
        for (;;) {
            double begin = now;
            int rc = txnb_attempt(w->h, ka, kb, amount);
            now = bench_now();
            w->attempts++;
            bench_hist_add(&w->per_attempt, (uint64_t)((now - begin) * 1e9));
            if (rc == 0)
                break;
            w->conflicts++;
            w->unchecked += rc == 2;
        }
        w->commits++;
        bench_hist_add(&w->per_txn, (uint64_t)((now - first) * 1e9));
    }
    return NULL;
}

/* ---- one run ------------------------------------------------------------------------- */

static void txnb_load(void *h)
{
    char key[KEY_BYTES], v[VALUE_BYTES];
    txnb_value(v, START_BALANCE);
    for (uint64_t i = 0; i < cfg.accounts; i++) {
        txnb_key(key, i);
        if (E->put(h, key, KEY_BYTES, v, VALUE_BYTES) < 0)
            txnb_fail("load");
    }
}

/* Every balance, with plain gets: their total must not have changed. */
static void txnb_check(void *h)
{
    char key[KEY_BYTES], v[VALUE_BYTES];
    uint64_t total = 0, b;
    for (uint64_t i = 0; i < cfg.accounts; i++) {
        size_t vlen = 0;
        txnb_key(key, i);
        int rc = E->get(h, key, KEY_BYTES, v, sizeof v, &vlen);
        if (rc < 0)
            txnb_fail("check");
        if (rc == 1 || txnb_balance(v, vlen, &b) < 0) {
            fprintf(stderr, "txnbench: %s: check: account %" PRIu64 ": %s\n", E->name(), i,
                    rc == 1 ? "not found" : "not a balance");
            _exit(2);
        }
        total += b;
    }
    if (total != cfg.accounts * START_BALANCE) {
        fprintf(stderr, "txnbench: %s: check: the balances add up to %" PRIu64 ", not %" PRIu64
                " (an update was lost or made up)\n", E->name(), total,
                cfg.accounts * START_BALANCE);
        _exit(2);
    }
}

static const char csv_header[] =
    "engine,workload,accounts,threads,rep,seconds,commits,commits_per_sec,attempts,conflicts,"
    "unchecked,abort_rate,us_per_txn,p50,p99,p999,p99_attempt\n";

static void txnb_report(const txnb_worker *sum, double seconds)
{
    double rate = seconds > 0 ? (double)sum->commits / seconds : 0;
    double aborts = sum->attempts ? (double)sum->conflicts / (double)sum->attempts : 0;
    double mean = bench_hist_mean(&sum->per_txn) / 1e3;
    double p50 = bench_hist_percentile(&sum->per_txn, 0.50) / 1e3;
    double p99 = bench_hist_percentile(&sum->per_txn, 0.99) / 1e3;
    double p999 = bench_hist_percentile(&sum->per_txn, 0.999) / 1e3;
    double p99a = bench_hist_percentile(&sum->per_attempt, 0.99) / 1e3;
    printf("%-9s : %10.0f commits/sec; %.2f%% of %" PRIu64 " attempts refused (%" PRIu64
           " conflicts, %" PRIu64 " unchecked); a transaction, retries included: %.2f us "
           "mean, p50 %.2f p99 %.2f p99.9 %.2f us; p99 of an attempt %.2f us (%" PRIu64
           " accounts, %d threads, %" PRIu64 " commits in %.2f s; balances checked)\n",
           workload_names[cfg.workload], rate, 100 * aborts, sum->attempts, sum->conflicts,
           sum->unchecked, mean, p50, p99, p999, p99a, cfg.accounts, cfg.threads, sum->commits,
           seconds);
    fflush(stdout);
    if (cfg.csv == NULL)
        return;
    FILE *f = fopen(cfg.csv, "a");
    if (f == NULL) {
        perror(cfg.csv);
        _exit(2);
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && st.st_size == 0)
        fputs(csv_header, f);
    fprintf(f, "%s,%s,%" PRIu64 ",%d,%d,%.4f,%" PRIu64 ",%.1f,%" PRIu64 ",%" PRIu64 ",%" PRIu64
            ",%.5f,%.4f,%.4f,%.4f,%.4f,%.4f\n",
            E->name(), workload_names[cfg.workload], cfg.accounts, cfg.threads, cfg.rep, seconds,
            sum->commits, rate, sum->attempts, sum->conflicts, sum->unchecked, aborts, mean, p50,
            p99, p999, p99a);
    fclose(f);
}

static void txnb_run(const char *dir)
{
    void *h;
    if (bench_rmtree(dir) != 0 || E->open(dir, 0, &h) < 0)
        txnb_fail("open");
    txnb_load(h);
    txnb_worker *w = calloc((size_t)cfg.threads, sizeof *w);
    txnb_worker *sum = calloc(1, sizeof *sum);
    if (w == NULL || sum == NULL) {
        fprintf(stderr, "txnbench: out of memory\n");
        _exit(2);
    }
    double start = bench_now();
    for (int t = 0; t < cfg.threads; t++) {
        w[t].h = h;
        w[t].seed = cfg.seed + 1000 * (uint64_t)(t + 1);
        w[t].deadline = start + cfg.seconds;
        if (pthread_create(&w[t].tid, NULL, txnb_work, &w[t]) != 0) {
            fprintf(stderr, "txnbench: cannot start a thread\n");
            _exit(2);
        }
    }
    for (int t = 0; t < cfg.threads; t++) {
        pthread_join(w[t].tid, NULL);
        sum->commits += w[t].commits;
        sum->attempts += w[t].attempts;
        sum->conflicts += w[t].conflicts;
        sum->unchecked += w[t].unchecked;
        bench_hist_merge(&sum->per_txn, &w[t].per_txn);
        bench_hist_merge(&sum->per_attempt, &w[t].per_attempt);
    }
    double seconds = bench_now() - start;
    txnb_check(h);
    txnb_report(sum, seconds);
    free(w);
    free(sum);
    if (E->close(h) < 0)
        txnb_fail("close");
    bench_rmtree(dir);
}

/* ---- arguments ------------------------------------------------------------------------ */

static void txnb_usage(FILE *f)
{
    fprintf(f,
            "usage: txnbench [--workload=transfer|readonly] [--accounts=A] [--threads=T]\n"
            "                [--seconds=S] [--seed=S] [--db=DIR] [--csv=FILE] [--rep=R]\n"
            "       txnbench --describe\n"
            "  --workload  transfer (default): two balances read and written per transaction;\n"
            "              readonly: two balances read\n"
            "  --accounts  accounts in the database (default 100000; at least 2)\n"
            "  --threads   threads running transactions (default 1)\n"
            "  --seconds   how long they run (default 5)\n"
            "  --seed      seed of every random choice (default 301)\n"
            "  --db        where the database goes (default: a fresh directory in /tmp)\n"
            "  --csv       append one row to this file\n"
            "  --rep       repetition number written in the CSV row (default 1)\n");
    exit(f == stdout ? 0 : 2);
}

static int txnb_flag(const char *arg, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0 || arg[n] != '=')
        return 0;
    *value = arg + n + 1;
    return 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--describe") == 0) {
        printf("%s: %s\n", E->name(), E->version());
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
        txnb_usage(stdout);
    for (int i = 1; i < argc; i++) {
        const char *v;
        char *end = NULL;
        if (txnb_flag(argv[i], "--workload", &v)) {
            if (strcmp(v, "transfer") == 0)
                cfg.workload = W_TRANSFER;
            else if (strcmp(v, "readonly") == 0)
                cfg.workload = W_READONLY;
            else
                txnb_usage(stderr);
        } else if (txnb_flag(argv[i], "--accounts", &v)) {
            cfg.accounts = strtoull(v, &end, 10);
        } else if (txnb_flag(argv[i], "--threads", &v)) {
            cfg.threads = (int)strtol(v, &end, 10);
        } else if (txnb_flag(argv[i], "--seconds", &v)) {
            cfg.seconds = strtod(v, &end);
        } else if (txnb_flag(argv[i], "--seed", &v)) {
            cfg.seed = strtoull(v, &end, 10);
        } else if (txnb_flag(argv[i], "--rep", &v)) {
            cfg.rep = (int)strtol(v, &end, 10);
        } else if (txnb_flag(argv[i], "--db", &v)) {
            cfg.db = v;
        } else if (txnb_flag(argv[i], "--csv", &v)) {
            cfg.csv = v;
        } else {
            txnb_usage(stderr);
        }
        if (end != NULL && (*end != '\0' || end == v))
            txnb_usage(stderr);
    }
    /* The balances' total must fit in 64 bits. */
    if (cfg.accounts < 2 || cfg.accounts > UINT64_MAX / START_BALANCE / 2 || cfg.threads < 1 ||
        cfg.threads > 256 || cfg.seconds <= 0)
        txnb_usage(stderr);
    if (E->txn_begin == NULL) {
        fprintf(stderr, "txnbench: %s has no transactions in bench/engine.h\n", E->name());
        return 2;
    }

    char tmpdir[] = "/tmp/txnbench.XXXXXX";
    int own_dir = cfg.db == NULL;
    if (own_dir && (cfg.db = mkdtemp(tmpdir)) == NULL) {
        perror("txnbench: mkdtemp");
        return 2;
    }
    if (bench_mkdir(cfg.db) < 0) {
        fprintf(stderr, "txnbench: %s\n", bench_errmsg());
        return 2;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/txn", cfg.db);
    txnb_make_filler(cfg.seed);
    printf("txnbench: engine %s (%s); %s, %" PRIu64 " accounts (keys of %d bytes, values of "
           "%d bytes), %d threads, %.1f s; seed %" PRIu64 "; rep %d; sync = 0\n",
           E->name(), E->version(), workload_names[cfg.workload], cfg.accounts, KEY_BYTES,
           VALUE_BYTES, cfg.threads, cfg.seconds, cfg.seed, cfg.rep);
    txnb_run(dir);
    if (own_dir)
        rmdir(cfg.db);
    return 0;
}
