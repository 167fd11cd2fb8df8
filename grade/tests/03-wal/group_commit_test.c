/*
 * group_commit_test.c: exercise group_commit, wal_queue_join and
 * wal_queue_finish (stages/03-wal/wal/wal_queue.c): writers queue up, and the
 * one at the head leads a group: one append and one fsync for every
 * record of the group, applied in queue order before anyone returns.
 * The leaders append with the test's own framing (ex_owner's own_append),
 * not through wal_queue_append, the next exercise's.
 *
 * Who is queued behind whom is never left to the scheduler: a test that
 * needs writers waiting behind a leader leads itself (it holds its group
 * open), and starts each writer only once the one before is in the queue,
 * which it sees as the entry before naming it (`next`, which
 * wal_queue_join sets under queue_lock as it queues a writer; wal_group_next
 * walks a group by it).  No sleep, no "a while later": the same queue
 * every run, on any machine, however busy.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
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

/* Waits until e is queued right behind prev (prev->next names it): the
 * writer that joins with e has linked it under queue_lock.  Spins, so that
 * a join that never links it uses the test's CPU and fails it with rule 1.
 * Then puts back the test's own bound: `seconds` and `rule`. */
static void gc_wait_queued(const wal_entry *prev, const wal_entry *e, unsigned seconds,
                           const char *rule)
{
    EX_BOUND(10, EX_RULE(1, "queues the writer") "wal_queue_join queues its writer behind the "
             "last one, under queue_lock, before it waits: the entry before it names it "
             "(next), which wal_group_next follows");
    while (__atomic_load_n(&prev->next, __ATOMIC_ACQUIRE) != e)
        sched_yield();
    EX_BOUND(seconds, "%s", rule);
}

static void group_commit_a_lone_writer(void)
{
    EX_BOUND(5, EX_RULES("2 and 5", "a lone writer leads at once; finish takes the group "
                            "off the queue") "5 writes one after the other, no contention: each "
                "returns, since "
                "wal_queue_finish takes its group's n entries off the queue (the next "
                "writer then finds it empty and leads) and marks each done");
    ex_owner o;
    ex_owner_init(&o, 1);
    o.own_append = 1;
    for (uint32_t i = 0; i < 5; i++) {
        ex_write w;
        ex_write_init(&w, &o, i);
        harness_context("wal_queue_join/finish, one writer, no contention, write %u: it leads a "
                        "group of one, applied under the write lock, and returns only once "
                        "its group is finished", i);
        int rc = EX_KV(ex_write_run(&w));
        EX_CHECK(rc == KV_OK, EX_RULE(2, "a lone writer leads at once") "a lone writer's write "
                 "returns KV_OK (got %d: %s)", rc, ex_errmsg(rc));
        EX_CHECK(w.applied, EX_RULE(4, "a writer returns once its group was finished") "a "
                 "writer's wal_queue_join returns only after its group was applied and finished");
    }
    EX_CHECK(o.napplied == 5, "5 records applied (got %d)", o.napplied);
    EX_CHECK(o.applied_locked == 0, "apply runs under the owner's write lock, which the "
             "leader holds from making room to the last apply");
    EX_CHECK(o.records == 5 && o.groups == 5, EX_RULE(2, "a lone writer leads at once") "a "
             "lone writer leads a group of one: 5 groups of 5 records (got %d groups, %d "
             "records)", o.groups, o.records);
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

/* Threads writing at once, as they will: whatever groups the scheduler
 * makes, every write returns once its record is applied, each record once,
 * in log order.  (The fsync is made slow so that writers pile up behind
 * a leader; no check depends on how many do.) */
static void group_commit_many_writers_share_syncs(void)
{
    EX_BOUND(8, EX_RULES("5 and 6", "finish takes the group off the queue and wakes the "
                         "next head") "8 threads of 25 writes each return: each group counts "
             "its entries (n), wal_queue_finish takes exactly those off the queue and wakes "
             "the next leader, so no writer is left waiting");
    harness_context("8 threads of 25 synced writes each (wal_queue_join, wal_queue_finish), fsync "
                    "3 ms: a leader takes the writers queued behind it; each record applied once, "
                    "in log order, before its writer returns");
    ex_trace_install(3); /* each fsync takes 3 ms: writers pile up behind the leader */
    ex_owner o;
    ex_owner_init(&o, 1);
    o.own_append = 1;
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

/* The same writers under ThreadSanitizer (the race rung): what a leader
 * gives each member of its group (status, done) is written under
 * queue_lock, as each member reads it (invariant 1 of wal_queue.c). */
static void group_commit_race_members_given_their_status_under_the_lock(void)
{
    ex_race_rule(EX_RULE(5, "finish gives each member its status, marks it done and wakes it, "
                         "under queue_lock"));
    group_commit_many_writers_share_syncs();
}

/* A writer started by a test that queues it itself (gc_wait_queued): its
 * write, run through the owner (ex_write_run), and what came of it. */
typedef struct queued_write {
    ex_write w;
    pthread_t t;
    int rc;
    int msg_kept;       /* its kv_errmsg() as it was before the write */
    int group_msg;      /* it failed with the owner's refusal as its kv_errmsg() */
} queued_write;

static void *queued_write_run(void *p)
{
    queued_write *q = p;
    kv_error(KV_ERR_INVALID, "this thread's last failure, before its write");
    q->rc = ex_write_run(&q->w);
    q->msg_kept = strcmp(kv_errmsg(), "this thread's last failure, before its write") == 0;
    q->group_msg = q->rc != KV_OK && strstr(kv_errmsg(), "refused this group") != NULL;
    return NULL;
}

/* The test leads (its own write, `lead`, joined on an idle queue), and the
 * n writes of w are queued behind it, in that order, each started once
 * the one before is in the queue.  Returns the test's group, to be led
 * (ex_owner_lead) once the test is ready. */
static wal_group gc_lead_with_queue(ex_owner *o, ex_write *lead, queued_write *w, int n,
                                    unsigned seconds, const char *bound)
{
    wal_group g;
    memset(&g, 0x5a, sizeof g);
    harness_context("wal_queue_join of the test's own write on an idle queue: it leads");
    EX_CHECK(wal_queue_join(o->q, &lead->e, &g) == 1, EX_RULE(2, "a lone writer leads at once")
             "the only writer leads (wal_queue_join returns 1)");
    const wal_entry *prev = &lead->e;
    for (int i = 0; i < n; i++) {
        EX_CHECK(pthread_create(&w[i].t, NULL, queued_write_run, &w[i]) == 0,
                 "test setup: pthread_create");
        gc_wait_queued(prev, &w[i].w.e, seconds, bound);
        prev = &w[i].w.e;
    }
    return g;
}

/* Seven writers queued behind a leader: once it is done, the next at the
 * head leads them all, in queue order, one append and one fsync. */
static void group_commit_takes_the_writers_queued_behind(void)
{
    static const char *bound = EX_RULES("5 and 6", "finish takes the group off the queue and "
                                        "wakes the next head") "a leader and 7 writers queued "
                               "behind it: every write returns";
    EX_BOUND(8, "%s", bound);
    ex_owner o;
    ex_owner_init(&o, 1);
    o.own_append = 1;
    enum { N = 7 };
    ex_write lead;
    ex_write_init(&lead, &o, 100);
    queued_write w[N];
    for (int i = 0; i < N; i++) {
        memset(&w[i], 0, sizeof w[i]);
        ex_write_init(&w[i].w, &o, (uint32_t)i);
    }
    wal_group g = gc_lead_with_queue(&o, &lead, w, N, 8, bound);
    ex_context(EX_RULES("5 and 6", "the group taken off the queue, the next head woken")
               "the test's group of one led and finished, 7 writers queued behind it: the "
               "next at the head leads them");
    EX_CHECK(EX_KV(ex_owner_lead(&o, &g)) == KV_OK, "the test's own write returns KV_OK (%s)",
             ex_kv_errmsg());
    for (int i = 0; i < N; i++)
        pthread_join(w[i].t, NULL);
    for (int i = 0; i < N; i++)
        EX_CHECK(w[i].rc == KV_OK && w[i].w.applied, EX_RULE(5, "each member given its status")
                 "every writer queued behind the leader returns KV_OK once its record is "
                 "applied (writer %d: %d)", i, w[i].rc);
    EX_CHECK(o.records == N + 1 && o.groups == 2,
             EX_RULE(3, "the writers behind the leader") "a leader takes the writers queued "
             "behind it into its group: the test's write alone (nobody was queued when it "
             "led), then the 7 writers queued behind it in one group, 8 records in 2 groups "
             "(got %d groups for %d records)", o.groups, o.records);
    EX_CHECK(o.napplied == N + 1 && o.applied[0] == 100, EX_RULE(1, "only the head leads")
             "each record applied once, the leader's first: %d records (got %d)", N + 1,
             o.napplied);
    for (int i = 1; i <= N && i < o.napplied; i++)
        EX_CHECK(o.applied[i] == (uint32_t)(i - 1) && o.applied_end[i] > o.applied_end[i - 1],
                 EX_RULE(4, "every record of the group, in queue order") "a group's records "
                 "are framed and applied in queue order: record %d is the write queued %d%s "
                 "(got the write queued %u)", i, i, i == 1 ? "st" : i == 2 ? "nd" : i == 3 ?
                 "rd" : "th", o.applied[i] + 1);
    EX_CHECK(ex_owner_close(&o) == KV_OK, "wal_queue_close");
}

/* Three writers queued behind the test's write; their group, the second,
 * is refused by the owner: each of them fails with the group's error and
 * message, none of their records applied, and the next write succeeds. */
static void group_commit_a_failed_group_fails_every_member(void)
{
    static const char *bound = EX_RULES("5 and 6", "each member marked done and woken; the "
                                        "next head woken") "3 writers queued behind a "
                               "leader, their group refused: every writer returns, each "
                               "member of the failed group marked done by wal_queue_finish";
    EX_BOUND(8, "%s", bound);
    ex_owner o;
    ex_owner_init(&o, 0);
    o.own_append = 1;
    o.fail_prepare = 2; /* the second group */
    enum { N = 3 };
    ex_write lead;
    ex_write_init(&lead, &o, 100);
    queued_write w[N];
    for (int i = 0; i < N; i++) {
        memset(&w[i], 0, sizeof w[i]);
        ex_write_init(&w[i].w, &o, (uint32_t)(i + 1));
    }
    wal_group g = gc_lead_with_queue(&o, &lead, w, N, 8, bound);
    harness_context("3 writers queued behind the test's write, their group (the second) refused "
                    "by the owner: wal_queue_finish marks every member done with the group's "
                    "error, none of its records applied");
    EX_CHECK(EX_KV(ex_owner_lead(&o, &g)) == KV_OK, "test setup: the first group succeeds (%s)",
             ex_kv_errmsg());
    for (int i = 0; i < N; i++)
        pthread_join(w[i].t, NULL);
    for (int i = 0; i < N; i++) {
        EX_CHECK(w[i].rc != KV_OK, EX_RULE(5, "each member given its status") "every member "
                 "of a refused group fails with the group's error, not only its leader: the "
                 "%d writers queued behind the first (writer %d returned KV_OK)", N, i);
        EX_CHECK(w[i].group_msg, EX_RULE(4, "the leader's message") "a writer whose group "
                 "failed gets the group's own error message as its kv_errmsg(), in its own "
                 "thread (writer %d)", i);
    }
    EX_CHECK(o.napplied == 1, EX_RULE(5, "each member given its status") "a record of a failed "
             "group is never applied (%d applied)", o.napplied);
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
    EX_BOUND(5, EX_RULE(2, "a lone writer leads at once") "wal_queue_join on an idle queue "
                "returns at once: its writer is the "
                "head, and leads");
    ex_owner o;
    ex_owner_init(&o, 0);
    o.own_append = 1;
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

/* A writer the tests queue themselves behind a leader they hold: joins
 * with its entry; if it leads, keeps its group's n and finishes the group. */
typedef struct half_arg {
    wal_queue *q;
    wal_entry e;
    pthread_t t;
    size_t led;        /* n of the group it led, 0 if it followed */
    int msg_kept;      /* a follower of a group that succeeded kept its kv_errmsg */
} half_arg;

static void *half_writer(void *p)
{
    half_arg *a = p;
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

/* An entry of `len` bytes, `alone` or not, its other fields garbage as on
 * a writer's stack. */
static void gc_entry(wal_entry *e, size_t len, int alone)
{
    static const uint8_t payload[40] = {1}; /* never read by join or finish */
    memset(e, 0x5a, sizeof *e);
    e->call = "test";
    e->payload = payload;
    e->len = len;
    e->room = 1;
    e->alone = alone;
    e->ctx = NULL;
}

/* The test leads with a 40-byte entry on an idle queue and holds its
 * group open; the writers of a (their entries set) are queued behind it,
 * in order, each started once the one before is in the queue; then the
 * test finishes its group, and the writers make their groups.  led[i] is
 * the size of the group writer i led (0 if it followed). */
static void gc_groups_behind(half_arg *a, int threads, size_t *led, const char *bound)
{
    EX_BOUND(8, "%s", bound);
    ex_owner o;
    ex_owner_init(&o, 0);
    o.own_append = 1;
    wal_entry lead;
    gc_entry(&lead, 40, 0);
    wal_group g;
    memset(&g, 0x5a, sizeof g);
    harness_context("wal_queue_join of a 40-byte entry on an idle queue: the only writer leads");
    EX_CHECK(wal_queue_join(o.q, &lead, &g) == 1, EX_RULE(2, "a lone writer leads at once")
             "the only writer leads (join returns 1)");
    const wal_entry *prev = &lead;
    for (int i = 0; i < threads; i++) {
        a[i].q = o.q;
        EX_CHECK(pthread_create(&a[i].t, NULL, half_writer, &a[i]) == 0,
                 "test setup: pthread_create");
        gc_wait_queued(prev, &a[i].e, 8, bound);
        prev = &a[i].e;
    }
    ex_context(EX_RULES("5 and 6", "the group taken off the queue, the next head woken")
               "wal_queue_finish of the leader's group of one, with %d writers queued behind "
               "it: the next at the head leads", threads);
    wal_queue_finish(o.q, &g, KV_OK); /* the next at the head leads */
    for (int i = 0; i < threads; i++)
        pthread_join(a[i].t, NULL);
    for (int i = 0; i < threads; i++) {
        led[i] = a[i].led;
        EX_CHECK(a[i].led != 0 || a[i].msg_kept,
                 EX_RULE(4, "the leader's message only if the group failed") "a writer whose "
                 "group succeeded returns 0 from wal_queue_join with its kv_errmsg() as it was: "
                 "the message of a failure only when its group failed (writer %d)", i);
    }
    EX_CHECK(ex_owner_close(&o) == KV_OK, "wal_queue_close");
}

/* A leader alone, then `threads` writers of WAL_QUEUE_GROUP_MAX / 2
 * bytes each queued behind it; once the leader finishes, the groups they
 * make, as their sizes sorted (led[i] is 0 for a writer that did not
 * lead). */
static void group_commit_halves(int threads, size_t *led)
{
    char bound[400];
    snprintf(bound, sizeof bound, EX_RULES("5 and 6", "each member woken; the next head "
                                           "woken") "a leader and %d writers queued behind "
             "it: every wal_queue_join returns, each group finished by its leader", threads);
    enum { THREADS_MAX = 3 };
    half_arg a[THREADS_MAX];
    for (int i = 0; i < threads; i++) {
        memset(&a[i], 0, sizeof a[i]);
        gc_entry(&a[i].e, WAL_QUEUE_GROUP_MAX / 2, 0);
        a[i].e.room = WAL_QUEUE_GROUP_MAX; /* what applying needs: not the payload */
    }
    gc_groups_behind(a, threads, led, bound);
    for (int i = 1; i < threads; i++) /* sorted, smallest first */
        for (int j = i; j > 0 && led[j - 1] > led[j]; j--) {
            size_t x = led[j];
            led[j] = led[j - 1];
            led[j - 1] = x;
        }
}

/* A transaction's commit is an entry marked alone: its leader checks its
 * condition under the write lock with no other record between, so it is
 * never a member of another writer's group, and no writer is a member of
 * its group.  Queued: the test's leader, a plain write, a commit, a plain
 * write: three groups of one after the leader's. */
static void group_commit_an_alone_entry_goes_in_a_group_of_its_own(void)
{
    static const char *bound = EX_RULES("5 and 6", "each member woken; the next head woken")
        "a leader, then a plain write, a commit (alone) and a plain write queued behind it: "
        "every wal_queue_join returns, each group finished by its leader";
    enum { N = 3 };
    half_arg a[N];
    for (int i = 0; i < N; i++) {
        memset(&a[i], 0, sizeof a[i]);
        gc_entry(&a[i].e, 40, i == 1);
    }
    size_t led[N];
    gc_groups_behind(a, N, led, bound);
    EX_CHECK(led[0] == 1,
             EX_RULE(3, "an entry marked alone goes in a group of its own") "a plain write at "
             "the head with a commit (an entry marked alone) queued right behind it leads a "
             "group of itself only: the commit must not join another writer's group, or the "
             "condition its own leader checks under the write lock before its record never "
             "runs (got a group of %zu%s)", led[0],
             led[0] == 0 ? ": the plain write did not lead" : ", the commit in it");
    EX_CHECK(led[1] == 1,
             EX_RULE(3, "an entry marked alone goes in a group of its own") "a commit (an entry "
             "marked alone) at the head leads a group of itself only, the plain write queued "
             "behind it left for the next group (got a group of %zu%s)", led[1],
             led[1] == 0 ? ": the commit never led one" : ", with the write behind it");
    EX_CHECK(led[2] == 1,
             EX_RULE(3, "an entry marked alone goes in a group of its own") "the plain write "
             "queued behind a commit leads a group of its own once the commit's is done (got "
             "a group of %zu%s)", led[2], led[2] == 0 ? ": it joined the commit's" : "");
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
    HARNESS_TEST(group_commit_race_members_given_their_status_under_the_lock),
    HARNESS_TEST(group_commit_a_failed_group_fails_every_member),
    HARNESS_TEST(group_commit_group_max_is_inclusive),
    HARNESS_TEST(group_commit_group_max_bounds_a_group),
    HARNESS_TEST(group_commit_takes_the_writers_queued_behind),
    HARNESS_TEST(group_commit_an_alone_entry_goes_in_a_group_of_its_own),
};
const harness_suite group_commit_suite = HARNESS_SUITE("group_commit", group_commit_tests);
