/*
 * multi_get.c: kv.h's rules for kv_multi_get, for every stage.  Each key's
 * answer is kv_get's (present, absent, deleted, an empty value, a key in a
 * table or in memory, a large value in one of several tables); values are
 * fresh allocations freed with kv_free, one per key even when a key comes
 * twice; the arguments are checked before any lookup and nothing is
 * written when they are wrong; n = 0 is KV_OK; a key whose read fails
 * does not stop the others, and the call returns the first error with its
 * message; with a writer running, each key's answer is one its kv_get
 * could have given during the call.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "harness.h"
#include "io_fault.h"
#include "kv.h"
#include "stage_caps.h"
#include "testdb.h"

#define MG_MAX 64

/* Keys as kv_multi_get takes them, from NUL-terminated strings. */
typedef struct mg_keys {
    size_t n;
    const void *keys[MG_MAX];
    size_t klens[MG_MAX];
    void *vals[MG_MAX];
    size_t vlens[MG_MAX];
    int rcs[MG_MAX];
} mg_keys;

static void mg_set(mg_keys *m, size_t n, const char *const *keys)
{
    memset(m, 0, sizeof *m);
    m->n = n;
    for (size_t i = 0; i < n; i++) {
        m->keys[i] = keys[i];
        m->klens[i] = strlen(keys[i]);
    }
}

static int mg_run(kv_db *db, mg_keys *m)
{
    return kv_multi_get(db, m->n, m->keys, m->klens, m->vals, m->vlens, m->rcs);
}

static void mg_free(mg_keys *m)
{
    for (size_t i = 0; i < m->n; i++) {
        kv_free(m->vals[i]);
        m->vals[i] = NULL;
    }
}

/* Key i of the answer: found with value v (NULL: absent). */
static void mg_expect(const mg_keys *m, size_t i, const char *v)
{
    harness_context("key %zu (%.*s)", i, (int)m->klens[i], (const char *)m->keys[i]);
    if (v == NULL) {
        CHECK_KV(m->rcs[i], KV_NOT_FOUND);
        CHECK(m->vals[i] == NULL);
        CHECK_EQ(m->vlens[i], 0);
    } else {
        CHECK_KV(m->rcs[i], KV_OK);
        CHECK(m->vals[i] != NULL);
        CHECK_MEM(m->vals[i], m->vlens[i], v, strlen(v));
    }
    harness_context("%s", "");
}

static void multi_get_answers_each_key_as_kv_get(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("a"), S("apple"));
    PUT(db, S("b"), S("banana"));
    PUT(db, S("gone"), S("soon"));
    PUT(db, S("empty"), S(""));
    DEL(db, S("gone"));
    PUT(db, S("b"), S("blueberry"));
    static const char *const keys[] = {"b", "nothing", "a", "gone", "empty", "zzz"};
    static const char *const want[] = {"blueberry", NULL, "apple", NULL, "", NULL};
    mg_keys m;
    for (int round = 0; round < 2; round++) {
        /* Round 1 after a reopen (and kv_flush, from stage 04 on: the keys
         * come from a table then). */
        mg_set(&m, 6, keys);
        CHECK_KV(mg_run(db, &m), KV_OK);
        for (size_t i = 0; i < m.n; i++)
            mg_expect(&m, i, want[i]);
        mg_free(&m);
        CHECK_KV(kv_flush(db), KV_OK);
        CLOSE(db);
        db = OPEN(dir, NULL);
    }
    CLOSE(db);
}

static void multi_get_of_no_keys_is_ok(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("k"), S("v"));
    CHECK_KV(kv_multi_get(db, 0, NULL, NULL, NULL, NULL, NULL), KV_OK);
    mg_keys m;
    static const char *const keys[] = {"k"};
    mg_set(&m, 1, keys);
    m.rcs[0] = 12345;
    CHECK_KV(kv_multi_get(db, 0, m.keys, m.klens, m.vals, m.vlens, m.rcs), KV_OK);
    CHECK_EQ(m.rcs[0], 12345); /* nothing written */
    CHECK_KV(kv_multi_get(NULL, 0, NULL, NULL, NULL, NULL, NULL), KV_ERR_INVALID);
    CLOSE(db);
}

/* Marks every output slot, to see that a refused call wrote nothing. */
static void mg_poison(mg_keys *m)
{
    for (size_t i = 0; i < m->n; i++) {
        m->vals[i] = (void *)(uintptr_t)0x5a5a;
        m->vlens[i] = 77;
        m->rcs[i] = 12345;
    }
}

static void mg_check_untouched(const mg_keys *m)
{
    for (size_t i = 0; i < m->n; i++) {
        CHECK(m->vals[i] == (void *)(uintptr_t)0x5a5a);
        CHECK_EQ(m->vlens[i], 77);
        CHECK_EQ(m->rcs[i], 12345);
    }
}

static void multi_get_checks_arguments_before_any_lookup(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("a"), S("1"));
    static const char *const keys[] = {"a", "b", "c"};
    mg_keys m;
    mg_set(&m, 3, keys);

    mg_poison(&m);
    CHECK_KV(kv_multi_get(NULL, 3, m.keys, m.klens, m.vals, m.vlens, m.rcs), KV_ERR_INVALID);
    mg_check_untouched(&m);
    CHECK_KV(kv_multi_get(db, 3, NULL, m.klens, m.vals, m.vlens, m.rcs), KV_ERR_INVALID);
    CHECK_KV(kv_multi_get(db, 3, m.keys, NULL, m.vals, m.vlens, m.rcs), KV_ERR_INVALID);
    CHECK_KV(kv_multi_get(db, 3, m.keys, m.klens, NULL, m.vlens, m.rcs), KV_ERR_INVALID);
    CHECK_KV(kv_multi_get(db, 3, m.keys, m.klens, m.vals, NULL, m.rcs), KV_ERR_INVALID);
    mg_check_untouched(&m);
    CHECK_KV(kv_multi_get(db, 3, m.keys, m.klens, m.vals, m.vlens, NULL), KV_ERR_INVALID);
    mg_check_untouched(&m);

    /* A bad key anywhere refuses the whole call, naming the key's index. */
    m.klens[2] = 0;
    CHECK_KV(mg_run(db, &m), KV_ERR_INVALID);
    CHECK_MSG(strstr(kv_errmsg(), "keys[2]") != NULL, "message: %s", kv_errmsg());
    mg_check_untouched(&m);
    m.klens[2] = KV_MAX_KEY + 1;
    CHECK_KV(mg_run(db, &m), KV_ERR_INVALID);
    mg_check_untouched(&m);
    m.klens[2] = 1;
    m.keys[1] = NULL;
    CHECK_KV(mg_run(db, &m), KV_ERR_INVALID);
    CHECK_MSG(strstr(kv_errmsg(), "keys[1]") != NULL, "message: %s", kv_errmsg());
    mg_check_untouched(&m);

    /* More keys than a batch may hold: refused before the arrays are read. */
    CHECK_KV(kv_multi_get(db, (size_t)KV_MAX_BATCH_OPS + 1, m.keys, m.klens, m.vals, m.vlens,
                          m.rcs), KV_ERR_INVALID);
    mg_check_untouched(&m);

    /* The longest key is a key. */
    char *longest = malloc(KV_MAX_KEY);
    CHECK(longest != NULL);
    memset(longest, 'x', KV_MAX_KEY);
    PUT(db, longest, KV_MAX_KEY, S("long"));
    m.keys[1] = longest;
    m.klens[1] = KV_MAX_KEY;
    CHECK_KV(mg_run(db, &m), KV_OK);
    mg_expect(&m, 0, "1");
    CHECK_KV(m.rcs[1], KV_OK);
    CHECK_MEM(m.vals[1], m.vlens[1], "long", 4);
    mg_free(&m);
    free(longest);
    CLOSE(db);
}

static void multi_get_gives_each_duplicate_its_own_copy(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("dup"), S("the value"));
    PUT(db, S("nul\0key"), S("with\0nul"));
    static const char *const keys[] = {"dup", "dup", "x", "dup"};
    mg_keys m;
    mg_set(&m, 4, keys);
    CHECK_KV(mg_run(db, &m), KV_OK);
    mg_expect(&m, 0, "the value");
    mg_expect(&m, 1, "the value");
    mg_expect(&m, 2, NULL);
    mg_expect(&m, 3, "the value");
    CHECK(m.vals[0] != m.vals[1] && m.vals[1] != m.vals[3] && m.vals[0] != m.vals[3]);
    memset(m.vals[0], '!', m.vlens[0]); /* each copy is the caller's own */
    CHECK_MEM(m.vals[1], m.vlens[1], "the value", 9);
    mg_free(&m);

    /* Keys and values are bytes: NULs included. */
    m.n = 1;
    m.keys[0] = "nul\0key";
    m.klens[0] = 7;
    CHECK_KV(mg_run(db, &m), KV_OK);
    CHECK_MEM(m.vals[0], m.vlens[0], "with\0nul", 8);
    mg_free(&m);
    CLOSE(db);
}

/* Many keys at once, more than a submission holds (io_ring.h). */
static void multi_get_of_many_keys(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    enum { N = 500 };
    char k[32], v[64];
    for (int i = 0; i < N; i += 2) {
        snprintf(k, sizeof k, "key%05d", i);
        int vl = snprintf(v, sizeof v, "value of %d", i);
        PUT(db, k, strlen(k), v, (size_t)vl);
    }
    CHECK_KV(kv_flush(db), KV_OK);
    CLOSE(db);
    db = OPEN(dir, NULL);
    static char names[N][32];
    const void *keys[N];
    size_t klens[N], vlens[N];
    void *vals[N];
    int rcs[N];
    for (int i = 0; i < N; i++) {
        /* Out of order, so that neighbours are not read one after another. */
        int j = (i * 7919) % N;
        snprintf(names[i], sizeof names[i], "key%05d", j);
        keys[i] = names[i];
        klens[i] = strlen(names[i]);
    }
    CHECK_KV(kv_multi_get(db, N, keys, klens, vals, vlens, rcs), KV_OK);
    for (int i = 0; i < N; i++) {
        int j = (i * 7919) % N;
        harness_context("key %d (%s)", i, names[i]);
        if (j % 2) {
            CHECK_KV(rcs[i], KV_NOT_FOUND);
            CHECK(vals[i] == NULL);
        } else {
            int vl = snprintf(v, sizeof v, "value of %d", j);
            CHECK_KV(rcs[i], KV_OK);
            CHECK_MEM(vals[i], vlens[i], v, (size_t)vl);
            kv_free(vals[i]);
        }
    }
    CLOSE(db);
}

/* Key i's value in round r: large ones (past stage 08's value_threshold,
 * so kept apart from the keys there) and small ones. */
static size_t mg_big_value(char *v, size_t cap, int i, int r)
{
    size_t n = (size_t)(i % 3 == 0 ? 40 : 600 + (i * 131 + r * 977) % 3000);
    if (n > cap)
        n = cap;
    for (size_t j = 0; j < n; j++)
        v[j] = (char)('a' + (i * 7 + r * 3 + (int)j) % 26);
    return n;
}

/* Values large and small, in several tables (written, overwritten and
 * deleted across flushes) and in memory, read back together: each answer
 * is kv_get's. */
static void multi_get_of_large_values_in_many_tables(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    enum { N = 120, ROUNDS = 4 };
    static char v[4096];
    char k[32];
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = r; i < N; i += r + 1) {
            snprintf(k, sizeof k, "big%04d", i);
            if (r == 2 && i % 4 == 0)
                DEL(db, k, strlen(k));
            else
                PUT(db, k, strlen(k), v, mg_big_value(v, sizeof v, i, r));
        }
        if (r < ROUNDS - 1)
            CHECK_KV(kv_flush(db), KV_OK);
    }
    for (int pass = 0; pass < 2; pass++) {
        static char names[N + 1][32];
        const void *keys[N + 1];
        size_t klens[N + 1], vlens[N + 1];
        void *vals[N + 1];
        int rcs[N + 1];
        for (int i = 0; i <= N; i++) {
            snprintf(names[i], sizeof names[i], "big%04d", (i * 37) % (N + 1));
            keys[i] = names[i];
            klens[i] = strlen(names[i]);
        }
        CHECK_KV(kv_multi_get(db, N + 1, keys, klens, vals, vlens, rcs), KV_OK);
        int found = 0;
        for (int i = 0; i <= N; i++) {
            void *want = NULL;
            size_t wl = 0;
            harness_context("pass %d, key %s", pass, names[i]);
            int rc = kv_get(db, keys[i], klens[i], &want, &wl);
            CHECK_KV(rcs[i], rc);
            if (rc == KV_OK) {
                CHECK_MEM(vals[i], vlens[i], want, wl);
                found++;
            } else {
                CHECK(vals[i] == NULL && vlens[i] == 0);
            }
            kv_free(want);
            kv_free(vals[i]);
        }
        harness_context("%s", "");
        CHECK(found > N / 2);
        /* Then from the tables alone, after a reopen. */
        CHECK_KV(kv_flush(db), KV_OK);
        CLOSE(db);
        db = OPEN(dir, NULL);
    }
    CLOSE(db);
}

/* ---- errors ------------------------------------------------------------------ */

static const io_fault_plan mg_never = {.kinds = IO_FAULT_ALL, .fail_at = 0};

/* kv_get of key alone under the installed plan: its status, and its
 * message in msg. */
static int mg_get_alone(kv_db *db, const char *key, char *msg, size_t n)
{
    void *v = NULL;
    size_t vl = 0;
    kv_error_clear();
    int s = kv_get(db, key, strlen(key), &v, &vl);
    if (s == KV_OK)
        kv_free(v);
    snprintf(msg, n, "%s", kv_errmsg());
    return s;
}

/* With every read failing, each key that reads fails on its own and the
 * others are still answered; the call returns the first failure, with its
 * message, not the last one's. */
static void multi_get_returns_the_first_error(void)
{
    const char *dir = testdb_dir();
    kv_db *db = OPEN(dir, NULL);
    PUT(db, S("first"), S("1"));
    char k[32], big[1024];
    memset(big, 'f', sizeof big);
    for (int i = 0; i < 200; i++) { /* so that the two keys are far apart */
        snprintf(k, sizeof k, "middle%04d", i);
        PUT(db, k, strlen(k), big, sizeof big);
    }
    PUT(db, S("second"), S("2"));
    CHECK_KV(kv_flush(db), KV_OK);
    CLOSE(db);

    io_fault_install(&mg_never);
    db = OPEN(dir, NULL);
    io_fault_plan plan = {.kinds = IO_FAULT_READ, .fail_at = 1, .persistent = 1, .err = EIO};
    io_fault_install(&plan);
    char msg_first[1024], msg_second[1024];
    int s_first = mg_get_alone(db, "first", msg_first, sizeof msg_first);
    int s_second = mg_get_alone(db, "second", msg_second, sizeof msg_second);
    if (io_fault_failures() == 0) {
        printf("    note: the engine answered without reading; nothing was checked\n");
        io_fault_uninstall();
        CLOSE(db);
        return;
    }
    static const char *const order[2][3] = {{"first", "absent", "second"},
                                            {"second", "absent", "first"}};
    for (int o = 0; o < 2; o++) {
        mg_keys m;
        mg_set(&m, 3, order[o]);
        const char *want_msg = o == 0 ? msg_first : msg_second;
        int want = o == 0 ? s_first : s_second, other = o == 0 ? s_second : s_first;
        int s = mg_run(db, &m);
        /* Each key's status is its kv_get's (the absent one may be known
         * absent without a read, or fail). */
        CHECK_KV(m.rcs[0], want);
        CHECK_KV(m.rcs[2], other);
        CHECK(m.rcs[1] == KV_NOT_FOUND || m.rcs[1] == KV_ERR_IO);
        for (size_t i = 0; i < 3; i++)
            if (m.rcs[i] != KV_OK) {
                CHECK(m.vals[i] == NULL);
                CHECK_EQ(m.vlens[i], 0);
            }
        if (want != KV_OK) {
            CHECK_KV(s, want);
            CHECK_MSG(strcmp(kv_errmsg(), want_msg) == 0, "message: %s; the first key's: %s",
                      kv_errmsg(), want_msg);
        } else if (m.rcs[1] == KV_ERR_IO || other == KV_ERR_IO) {
            CHECK_KV(s, KV_ERR_IO);
        }
        mg_free(&m);
    }
    if (strcmp(msg_first, msg_second) == 0)
        printf("    note: both keys fail with the same message; the order was not seen\n");

    /* The disk is back: the same call answers everything. */
    io_fault_install(&mg_never);
    mg_keys m;
    mg_set(&m, 3, order[0]);
    CHECK_KV(mg_run(db, &m), KV_OK);
    mg_expect(&m, 0, "1");
    mg_expect(&m, 1, NULL);
    mg_expect(&m, 2, "2");
    mg_free(&m);
    io_fault_uninstall();
    CLOSE(db);
}

/* ---- with a writer ----------------------------------------------------------- */

#define MG_WRITER_KEYS 16

typedef struct mg_writer {
    kv_db *db;
    int rounds;   /* how many to write at most */
    int stop;     /* atomic */
    int acked;    /* atomic: the last round every key of which was acknowledged */
    int failures;
} mg_writer;

static void *mg_writer_run(void *arg)
{
    mg_writer *w = arg;
    char k[16], v[32];
    for (int round = 1; round <= w->rounds && !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE);
         round++) {
        kv_batch *b = NULL;
        if (kv_batch_new(&b) != KV_OK) {
            w->failures++;
            break;
        }
        for (int i = 0; i < MG_WRITER_KEYS; i++) {
            snprintf(k, sizeof k, "w%02d", i);
            int vl = snprintf(v, sizeof v, "%d", round);
            if (kv_batch_put(b, k, strlen(k), v, (size_t)vl) != KV_OK)
                w->failures++;
        }
        if (kv_write(w->db, b) != KV_OK)
            w->failures++;
        kv_batch_free(b);
        __atomic_store_n(&w->acked, round, __ATOMIC_RELEASE);
        if (round % 64 == 0 && kv_flush(w->db) != KV_OK)
            w->failures++;
    }
    return NULL;
}

/* Each key's answer is a round no older than the last one acknowledged
 * before the call, and no newer than the last one acknowledged after it
 * (plus the one being written). */
static void multi_get_with_a_writer_sees_acknowledged_writes(void)
{
    kv_db *db = testdb_fresh(NULL);
    /* Where a get reads the whole log, fewer rounds keep it short. */
    const stage_caps *caps = stage_caps_find();
    CHECK(caps != NULL);
    int calls_max = caps->gets_scan_log ? 60 : 300;
    mg_writer w = {.db = db, .rounds = caps->gets_scan_log ? 150 : 3000};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, mg_writer_run, &w) == 0);
    static char names[MG_WRITER_KEYS][16];
    const void *keys[MG_WRITER_KEYS];
    size_t klens[MG_WRITER_KEYS], vlens[MG_WRITER_KEYS];
    void *vals[MG_WRITER_KEYS];
    int rcs[MG_WRITER_KEYS];
    for (int i = 0; i < MG_WRITER_KEYS; i++) {
        snprintf(names[i], sizeof names[i], "w%02d", i);
        keys[i] = names[i];
        klens[i] = strlen(names[i]);
    }
    int bad = 0, bad_key = -1, bad_round = 0, bad_lo = 0, bad_hi = 0, calls = 0, status = KV_OK;
    for (calls = 0; calls < calls_max && status == KV_OK && bad == 0; calls++) {
        int lo = __atomic_load_n(&w.acked, __ATOMIC_ACQUIRE);
        status = kv_multi_get(db, MG_WRITER_KEYS, keys, klens, vals, vlens, rcs);
        int hi = __atomic_load_n(&w.acked, __ATOMIC_ACQUIRE) + 1;
        for (int i = 0; i < MG_WRITER_KEYS; i++) {
            int round = 0;
            if (rcs[i] == KV_OK) {
                char num[32] = {0};
                memcpy(num, vals[i], vlens[i] < sizeof num - 1 ? vlens[i] : sizeof num - 1);
                round = atoi(num);
                kv_free(vals[i]);
            }
            if ((rcs[i] != KV_OK && (rcs[i] != KV_NOT_FOUND || lo > 0)) || round < lo ||
                round > hi) {
                bad++;
                bad_key = i, bad_round = round, bad_lo = lo, bad_hi = hi;
            }
        }
    }
    __atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    CHECK_KV(status, KV_OK);
    CHECK_EQ(w.failures, 0);
    CHECK_MSG(bad == 0, "key w%02d answered round %d, outside [%d, %d]", bad_key, bad_round,
              bad_lo, bad_hi);
    CLOSE(db);
}

static const harness_test multi_get_tests[] = {
    HARNESS_TEST(multi_get_answers_each_key_as_kv_get),
    HARNESS_TEST(multi_get_of_no_keys_is_ok),
    HARNESS_TEST(multi_get_checks_arguments_before_any_lookup),
    HARNESS_TEST(multi_get_gives_each_duplicate_its_own_copy),
    HARNESS_TEST(multi_get_of_many_keys),
    HARNESS_TEST(multi_get_of_large_values_in_many_tables),
    HARNESS_TEST(multi_get_returns_the_first_error),
    HARNESS_TEST(multi_get_with_a_writer_sees_acknowledged_writes),
};

const harness_suite multi_get_suite = HARNESS_SUITE("multi_get", multi_get_tests);
