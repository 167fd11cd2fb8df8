/*
 * group_commit_test.c: exercise group_commit, wal_queue_join and
 * wal_queue_finish (stages/03-wal/wal/wal_queue.c): writers queue up, and the
 * one at the head leads a group: one append and one fsync for every
 * record of the group, applied in queue order before anyone returns.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "error.h"
#include "ex_owner.h"
#include "ex_wal.h"
#include "exercise.h"
#include "kv.h"
#include "wal_marker.h"
#include "wal_queue.h"
#include "wal_writer.h"
#include "wal_reader.h"

static void group_commit_a_lone_writer(void)
{
    EX_DEADLINE(5, EX_RULES("2 and 5", "a lone writer leads at once; finish takes the group "
                            "off the queue") "5 writes one after the other, no contention: each "
                "returns, since "
                "wal_queue_finish takes its group's n entries off the queue (the next "
                "writer then finds it empty and leads) and marks each done");
    ex_owner o;
    ex_owner_init(&o, 1);
    for (uint32_t i = 0; i < 5; i++) {
        ex_write w;
        ex_write_init(&w, &o, i);
        harness_context("wal_queue_join/finish, one writer, no contention, write %u: it leads a "
                        "group of one, applied under the write lock, and returns only once "
                        "its group is finished", i);
        int rc = ex_write_run(&w);
        EX_CHECK(rc == KV_OK, EX_RULE(2, "a lone writer leads at once") "a lone writer's write "
                 "returns KV_OK (got %d: %s)", rc, kv_errmsg());
        EX_CHECK(w.applied, EX_RULE(4, "a writer returns once its group was finished") "a "
                 "writer's wal_queue_join returns only after its group was applied and finished");
    }
    EX_CHECK(o.napplied == 5, "5 records applied (got %d)", o.napplied);
    EX_CHECK(o.applied_locked == 0, "apply runs under the owner's write lock, which the "
             "leader holds from making room to the last apply");
    wal_queue_stats st;
    wal_queue_stats_get(o.q, &st);
    EX_CHECK(st.records == 5 && st.groups == 5, EX_RULE(2, "a lone writer leads at once") "a "
             "lone writer leads a group of one: 5 groups "
             "of 5 records (got %llu groups, %llu records)", (unsigned long long)st.groups,
             (unsigned long long)st.records);
    EX_CHECK(ex_owner_close(&o) == KV_OK, "wal_queue_close");
}

typedef struct thread_arg {
    ex_owner *o;
    uint32_t first, count;
    int errors;
} thread_arg;

static void *writer(void *p)
{
    thread_arg *a = p;
    for (uint32_t i = 0; i < a->count; i++) {
        ex_write w;
        ex_write_init(&w, a->o, a->first + i);
        if (ex_write_run(&w) != KV_OK || !w.applied)
            a->errors++;
    }
    return NULL;
}

static void group_commit_many_writers_share_syncs(void)
{
    EX_DEADLINE(8, EX_RULES("5 and 6", "finish takes the group off the queue and wakes the "
                            "next head") "8 threads of 25 writes each return: each group counts "
                "its entries "
                "(n), wal_queue_finish takes exactly those off the queue and wakes the next "
                "leader, so no writer is left waiting");
    harness_context("8 threads of 25 synced writes each (wal_queue_join, wal_queue_finish), fsync "
                    "3 ms: a leader takes the writers queued behind it; each record applied once, "
                    "in log order, before its writer returns");
    ex_trace_install(3); /* each fsync takes 3 ms: writers pile up behind the leader */
    ex_owner o;
    ex_owner_init(&o, 1);
    enum { THREADS = 8, EACH = 25 };
    pthread_t t[THREADS];
    thread_arg a[THREADS];
    for (int i = 0; i < THREADS; i++) {
        a[i] = (thread_arg){.o = &o, .first = (uint32_t)(i * 1000), .count = EACH};
        pthread_create(&t[i], NULL, writer, &a[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    ex_trace_uninstall();
    int errors = 0;
    for (int i = 0; i < THREADS; i++)
        errors += a[i].errors;
    EX_CHECK(errors == 0, EX_RULE(5, "each member given its status") "every write of 8 threads "
             "returns KV_OK after its record was applied "
             "(%d did not)", errors);
    EX_CHECK(o.napplied == THREADS * EACH, EX_RULE(1, "only the head leads") "each record is "
             "applied exactly once: %d (got %d)",
             THREADS * EACH, o.napplied);
    EX_CHECK(o.applied_locked == 0, "apply runs under the write lock");
    wal_queue_stats st;
    wal_queue_stats_get(o.q, &st);
    EX_CHECK(st.groups < st.records / 2,
             EX_RULE(3, "the writers behind the leader") "with 8 writers and a slow fsync, a "
             "leader takes the writers queued behind it into "
             "its group: far fewer groups (and fsyncs) than records (%llu groups for %llu "
             "records)", (unsigned long long)st.groups, (unsigned long long)st.records);
    EX_CHECK(st.syncs <= st.groups, "one fsync per group at most (%llu for %llu groups)",
             (unsigned long long)st.syncs, (unsigned long long)st.groups);
    /* Each thread's records, in the order it wrote them, and the log in
     * the order they were applied. */
    uint32_t next[THREADS] = {0};
    for (int i = 0; i < o.napplied && i < EX_OWNER_MAX; i++) {
        uint32_t id = o.applied[i], th = id / 1000;
        EX_CHECK(th < THREADS && id % 1000 == next[th],
                 EX_RULE(1, "queue order") "a thread's records are applied in the order it "
                 "wrote them");
        next[th]++;
        EX_CHECK(i == 0 || o.applied_end[i] > o.applied_end[i - 1],
                 EX_RULE(1, "queue order") "records are applied in the order they are in the log");
    }
    EX_CHECK(ex_owner_close(&o) == KV_OK, "wal_queue_close");
}

static int started; /* writers about to join the queue (__atomic) */

static void *failing_writer(void *p)
{
    thread_arg *a = p;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    ex_write w;
    ex_write_init(&w, a->o, a->first);
    int rc = ex_write_run(&w);
    if (rc != KV_OK && strstr(kv_errmsg(), "refused this group") != NULL)
        a->errors = 1; /* the group's error, with its message, in this thread */
    else if (rc != KV_OK)
        a->errors = 2;
    return NULL;
}

static void group_commit_a_failed_group_fails_every_member(void)
{
    EX_DEADLINE(8, EX_RULES("5 and 6", "each member marked done and woken; the next head "
                            "woken") "4 writers, a group refused: every writer returns, each "
                "member of the "
                "failed group marked done by wal_queue_finish");
    ex_owner o;
    ex_owner_init(&o, 0);
    /* Hold the write lock so that writers pile up: the first leads a group
     * of one, the rest queue behind it and form the second group, which
     * the owner refuses. */
    harness_context("4 writers queued while the write lock is held, the second group refused by "
                    "the owner: wal_queue_finish marks every member done with the group's error, "
                    "none of its records applied");
    pthread_mutex_lock(&o.lock);
    o.fail_prepare = 2;
    __atomic_store_n(&started, 0, __ATOMIC_SEQ_CST);
    enum { THREADS = 4 };
    pthread_t t[THREADS];
    thread_arg a[THREADS];
    for (int i = 0; i < THREADS; i++) {
        a[i] = (thread_arg){.o = &o, .first = (uint32_t)(i + 1)};
        pthread_create(&t[i], NULL, failing_writer, &a[i]);
    }
    /* Every writer has started, and a while later is in the queue. */
    struct timespec ts = {0, 10 * 1000000L};
    for (int waited = 0; __atomic_load_n(&started, __ATOMIC_SEQ_CST) < THREADS && waited < 1000;
         waited++)
        nanosleep(&ts, NULL);
    ts.tv_nsec = 100 * 1000000L;
    nanosleep(&ts, NULL);
    pthread_mutex_unlock(&o.lock);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    int failed = 0, other = 0;
    for (int i = 0; i < THREADS; i++) {
        failed += a[i].errors == 1;
        other += a[i].errors == 2;
    }
    EX_CHECK(other == 0, EX_RULE(4, "the leader's message") "a writer that fails gets the "
             "group's own error message");
    EX_CHECK(failed == THREADS - 1,
             EX_RULE(5, "each member given its status") "every member of a refused group fails "
             "with the group's error, not only its "
             "leader: the 3 writers queued behind the first (%d failed)", failed);
    EX_CHECK(o.napplied == 1, EX_RULE(5, "each member given its status") "a record of a failed "
             "group is never applied (%d applied)",
             o.napplied);
    ex_write after;
    ex_write_init(&after, &o, 99);
    harness_context("a write after a refused group (wal_queue_join, wal_queue_finish): a refused "
                    "group fails that group only");
    EX_CHECK(ex_write_run(&after) == KV_OK,
             EX_RULE(6, "the next head") "a refused group fails that group only: the next write "
             "succeeds");
    EX_CHECK(ex_owner_close(&o) == KV_OK, "wal_queue_close");
}

static void group_commit_a_lone_leader_fixes_its_group(void)
{
    EX_DEADLINE(5, EX_RULE(2, "a lone writer leads at once") "wal_queue_join on an idle queue "
                "returns at once: its writer is the "
                "head, and leads");
    ex_owner o;
    ex_owner_init(&o, 0);
    static const uint8_t payload[40] = {1};
    wal_entry e;
    memset(&e, 0x5a, sizeof e); /* a writer's entry on its stack: its fields are garbage */
    e.call = "test";
    e.payload = payload;
    e.len = sizeof payload;
    e.room = 1000;
    e.alone = 0;
    e.ctx = NULL;
    wal_group g;
    memset(&g, 0x5a, sizeof g);
    ex_context(EX_RULES("1 to 3", "the only writer leads, its group itself") "wal_queue_join of one entry (40 bytes, room 1000) on an idle queue: it "
               "leads a group of itself (first = last, n 1), g.bytes a marker and it "
               "framed, g.room 1000; join sets the entry's next itself");
    int lead = wal_queue_join(o.q, &e, &g);
    EX_CHECK(lead == 1, EX_RULE(1, "the head leads") "the only writer is at the head of the "
             "queue: it leads (join returns 1)");
    EX_CHECK(g.first == &e && g.last == &e && g.n == 1,
             EX_RULE(3, "the group") "its group is itself alone: first = last = its entry, n = "
             "1 (got n %zu); join "
             "sets everything of the entry the queue uses (next) itself", g.n);
    EX_CHECK(g.bytes == wal_framed_max(WAL_MARKER_SIZE) + wal_framed_max(sizeof payload),
             EX_RULE(3, "g->bytes") "g.bytes is the most log bytes the group may take, a marker "
             "and each record "
             "framed (wal_framed_max): %llu (got %llu)",
             (unsigned long long)(wal_framed_max(WAL_MARKER_SIZE) +
                                  wal_framed_max(sizeof payload)),
             (unsigned long long)g.bytes);
    EX_CHECK(g.room == 1000, EX_RULE(3, "g->room") "g.room is the sum of its entries' room: "
             "1000 (got %llu)",
             (unsigned long long)g.room);
    ex_context(EX_RULES("5 and 6", "the group taken off the queue, the next head woken if "
               "there is one") "wal_queue_finish of the lone leader's group (n 1), KV_OK: "
               "it takes the entry "
               "off the queue and marks it done with the group's status");
    wal_queue_finish(o.q, &g, KV_OK);
    EX_CHECK(e.done == 1 && e.status == KV_OK,
             EX_RULE(5, "done, with the status") "wal_queue_finish marks each entry of the "
             "group done, with the group's status");

    /* A record larger than a group may hold still makes a group: itself. */
    wal_entry big;
    memset(&big, 0x5a, sizeof big);
    big.call = "test";
    big.payload = payload; /* never read by join or finish */
    big.len = (size_t)WAL_QUEUE_GROUP_MAX + 1;
    big.room = 7;
    big.alone = 0;
    big.ctx = NULL;
    memset(&g, 0x5a, sizeof g);
    harness_context("wal_queue_join of one entry of WAL_QUEUE_GROUP_MAX + 1 bytes on an idle "
                    "queue, after a group of one finished: it leads at once, a group of one "
                    "whatever its size; its payload is never read");
    lead = wal_queue_join(o.q, &big, &g);
    EX_CHECK(lead == 1, EX_RULE(5, "the group taken off the queue") "once a group is finished "
             "the queue is empty: the next writer leads at "
             "once (join returns 1)");
    EX_CHECK(g.first == &big && g.last == &big && g.n == 1,
             EX_RULE(3, "the leader always") "a record larger than WAL_QUEUE_GROUP_MAX is a "
             "group of one: a group always "
             "takes its leader, whatever its size (got n %zu)", g.n);
    EX_CHECK(g.bytes == wal_framed_max(WAL_MARKER_SIZE) + wal_framed_max(big.len),
             EX_RULE(3, "g->bytes") "g.bytes is a marker and the record framed "
             "(wal_framed_max), even for a record "
             "over the group limit: %llu (got %llu)",
             (unsigned long long)(wal_framed_max(WAL_MARKER_SIZE) + wal_framed_max(big.len)),
             (unsigned long long)g.bytes);
    wal_queue_finish(o.q, &g, KV_OK);
    EX_CHECK(ex_owner_close(&o) == KV_OK, "wal_queue_close");
}

/* A follower of group_commit_group_max_is_inclusive: joins with an entry
 * of half WAL_QUEUE_GROUP_MAX bytes; if it leads, keeps its group's n and
 * finishes the group. */
typedef struct half_arg {
    wal_queue *q;
    wal_entry e;
    size_t led;        /* n of the group it led, 0 if it followed */
    int msg_kept;      /* a follower of a group that succeeded kept its kv_errmsg */
} half_arg;

static void *half_writer(void *p)
{
    half_arg *a = p;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    wal_group g;
    memset(&g, 0x5a, sizeof g);
    kv_error(KV_ERR_INVALID, "this thread's last failure, before its write");
    if (wal_queue_join(a->q, &a->e, &g) == 1) {
        a->led = g.n;
        wal_queue_finish(a->q, &g, KV_OK);
    } else {
        a->msg_kept = a->e.status == KV_OK &&
                      strcmp(kv_errmsg(), "this thread's last failure, before its write") == 0;
    }
    return NULL;
}

/* A leader alone, then `threads` writers of WAL_QUEUE_GROUP_MAX / 2
 * bytes each queued behind it; once the leader finishes, the groups they
 * make, as their sizes sorted (led[i] is 0 for a writer that did not
 * lead). */
static void group_commit_halves(int threads, size_t *led)
{
    EX_DEADLINE(8, EX_RULES("5 and 6", "each member woken; the next head woken") "a leader and "
                "%d writers queued behind it: every wal_queue_join returns, "
                "each group finished by its leader", threads);
    ex_owner o;
    ex_owner_init(&o, 0);
    static const uint8_t payload[40] = {1};
    wal_entry lead;
    memset(&lead, 0x5a, sizeof lead);
    lead.call = "test";
    lead.payload = payload;
    lead.len = sizeof payload;
    lead.room = 1;
    lead.alone = 0;
    lead.ctx = NULL;
    wal_group g;
    memset(&g, 0x5a, sizeof g);
    harness_context("wal_queue_join of a 40-byte entry on an idle queue: the only writer leads");
    EX_CHECK(wal_queue_join(o.q, &lead, &g) == 1, "the only writer leads (join returns 1)");
    /* Writers of WAL_QUEUE_GROUP_MAX / 2 bytes each queue up behind the
     * leader (their payload is never read by join or finish). */
    __atomic_store_n(&started, 0, __ATOMIC_SEQ_CST);
    enum { THREADS_MAX = 3 };
    pthread_t t[THREADS_MAX];
    half_arg a[THREADS_MAX];
    for (int i = 0; i < threads; i++) {
        memset(&a[i], 0, sizeof a[i]);
        memset(&a[i].e, 0x5a, sizeof a[i].e);
        a[i].q = o.q;
        a[i].e.call = "test";
        a[i].e.payload = payload;
        a[i].e.len = WAL_QUEUE_GROUP_MAX / 2;
        a[i].e.room = WAL_QUEUE_GROUP_MAX; /* what applying needs: not the payload */
        a[i].e.alone = 0;
        a[i].e.ctx = NULL;
        pthread_create(&t[i], NULL, half_writer, &a[i]);
    }
    struct timespec ts = {0, 10 * 1000000L};
    for (int waited = 0; __atomic_load_n(&started, __ATOMIC_SEQ_CST) < threads && waited < 1000;
         waited++)
        nanosleep(&ts, NULL);
    ts.tv_nsec = 100 * 1000000L;
    nanosleep(&ts, NULL);
    ex_context(EX_RULES("5 and 6", "the group taken off the queue, the next head woken") "wal_queue_finish of the leader's group of one, with %d writers of "
               "WAL_QUEUE_GROUP_MAX / 2 bytes queued behind it: the next at the head leads, "
               "taking writers while their payload adds up to at most "
               "WAL_QUEUE_GROUP_MAX", threads);
    wal_queue_finish(o.q, &g, KV_OK); /* the next at the head leads */
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < threads; i++) {
        led[i] = a[i].led;
        EX_CHECK(a[i].led != 0 || a[i].msg_kept,
                 EX_RULE(4, "the leader's message only if the group failed") "a writer whose "
                 "group succeeded returns 0 from wal_queue_join with its kv_errmsg() as it was: "
                 "the message of a failure only when its group failed (writer %d)", i);
    }
    for (int i = 1; i < threads; i++) /* sorted, smallest first */
        for (int j = i; j > 0 && led[j - 1] > led[j]; j--) {
            size_t x = led[j];
            led[j] = led[j - 1];
            led[j - 1] = x;
        }
    EX_CHECK(ex_owner_close(&o) == KV_OK, "wal_queue_close");
}

static void group_commit_group_max_is_inclusive(void)
{
    size_t led[2];
    group_commit_halves(2, led);
    harness_context("(after) two entries of WAL_QUEUE_GROUP_MAX / 2 bytes queued behind a "
                    "leader: the group limit is inclusive, so they make one group of 2");
    EX_CHECK(led[0] == 0 && led[1] == 2,
             EX_RULE(3, "WAL_QUEUE_GROUP_MAX inclusive") "a group takes the writers behind its "
             "leader while their payload is at most "
             "WAL_QUEUE_GROUP_MAX bytes, that many included: two records of half of it each "
             "make one group of 2 (got groups of %zu and %zu)", led[0], led[1]);
}

static void group_commit_group_max_bounds_a_group(void)
{
    size_t led[3];
    group_commit_halves(3, led);
    harness_context("(after) three entries of WAL_QUEUE_GROUP_MAX / 2 bytes queued behind a "
                    "leader: two fill a group, the third leads the next");
    EX_CHECK(led[0] == 0 && led[1] == 1 && led[2] == 2,
             EX_RULE(3, "at most WAL_QUEUE_GROUP_MAX") "a group's payload, the sum of its "
             "records' lengths, is at most "
             "WAL_QUEUE_GROUP_MAX bytes: of three records of half of it each, two make a "
             "group and the third a group of its own (got groups of %zu, %zu and %zu)",
             led[0], led[1], led[2]);
}

static const harness_test group_commit_tests[] = {
    HARNESS_TEST(group_commit_a_lone_leader_fixes_its_group),
    HARNESS_TEST(group_commit_a_lone_writer),
    HARNESS_TEST(group_commit_many_writers_share_syncs),
    HARNESS_TEST(group_commit_a_failed_group_fails_every_member),
    HARNESS_TEST(group_commit_group_max_is_inclusive),
    HARNESS_TEST(group_commit_group_max_bounds_a_group),
};
const harness_suite group_commit_suite = HARNESS_SUITE("group_commit", group_commit_tests);
