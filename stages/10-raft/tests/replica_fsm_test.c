/*
 * replica_fsm_test.c: the replica as libraft's state machine
 * (replica_fsm.h), called as the library calls it: an apply whose write
 * the engine fails (a full disk) returns RAFT_IOERR and keeps the first
 * failure (the error, the entry's index, the engine's message), which
 * the member stops on; an entry deferred (a follower's) applies at retry or
 * before a snapshot; a snapshot handed to restore that is damaged is refused as
 * RAFT_CORRUPT, the engine as it was, and a whole one is installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "io_fault.h"
#include "replica_fsm.h"

static char *dir_of(const char *name)
{
    char *p = malloc(strlen(harness_tmpdir()) + strlen(name) + 2);
    sprintf(p, "%s/%s", harness_tmpdir(), name);
    return p;
}

/* A command putting key=val, in a buffer of raft_malloc's (as the
 * library hands them over). */
static struct raft_buffer put_cmd(const char *key, const char *val)
{
    command *c = NULL;
    CHECK_KV(command_new(&c), KV_OK);
    CHECK_KV(command_put(c, key, strlen(key), val, strlen(val)), KV_OK);
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    struct raft_buffer b = {raft_malloc(len), len};
    memcpy(b.base, p, len);
    command_free(c);
    return b;
}

/* What the fsm said after its last command (replica_fsm.applied). */
static struct {
    int calls, outcome;
    uint64_t index;
    size_t n;
    uint8_t existed0;
    size_t nreads;
    char reads[8][16]; /* each read's answer: its value, or "(nil)" */
} told;

static void note_applied(void *arg, command_origin origin, uint64_t index,
                         const replica_result *res)
{
    (void)arg, (void)origin;
    told.calls++;
    told.index = index;
    told.outcome = res->outcome;
    told.n = res->nexisted;
    told.existed0 = res->nexisted > 0 ? res->existed[0] : 2;
    told.nreads = res->nreads;
    for (size_t i = 0; i < res->nreads && i < 8; i++) {
        if (!res->reads[i].found)
            snprintf(told.reads[i], sizeof told.reads[i], "(nil)");
        else
            snprintf(told.reads[i], sizeof told.reads[i], "%.*s",
                     (int)(res->reads[i].vlen < 15 ? res->reads[i].vlen : 15),
                     (const char *)res->reads[i].val);
    }
}

/* A replica on a disk of 2 MiB, which a value of 1 MiB fills (the
 * engine keeps 1 MiB free for its own work), as libraft's state machine,
 * telling note_applied what it applies. */
typedef struct {
    char *dir;
    replica *r;
    replica_fsm f;
    struct raft raft;
} small_disk;

static void small_disk_open(small_disk *d, const char *name)
{
    d->dir = dir_of(name);
    d->r = NULL;
    io_fault_plan plan = {.disk_bytes = 2 << 20};
    io_fault_install(&plan);
    CHECK_KV(replica_open(d->dir, NULL, &d->r), KV_OK);
    replica_fsm_init(&d->f, d->r);
    memset(&d->raft, 0, sizeof d->raft);
    replica_fsm_attach(&d->f, &d->raft);
    d->f.applied = note_applied;
    memset(&told, 0, sizeof told);
}

/* A put of key = 1 MiB of 'v', more than the small disk can take. */
static struct raft_buffer put_big(const char *key)
{
    char *big = malloc((1 << 20) + 1);
    memset(big, 'v', 1 << 20);
    big[1 << 20] = '\0';
    struct raft_buffer b = put_cmd(key, big);
    free(big);
    return b;
}

static void an_apply_the_engine_fails_is_kept_with_its_entry(void)
{
    small_disk d;
    small_disk_open(&d, "r");
    replica_fsm *f = &d.f;
    struct raft *raft = &d.raft;
    replica *r = d.r;
    struct raft_buffer b = put_cmd("x", "1");
    void *result = NULL;
    raft->last_applied = 4;
    CHECK_MSG(f->fsm.apply(&f->fsm, &b, &result) == 0 &&
                  replica_fsm_outcome(result) == REPLICA_APPLIED,
              "entry 5, a put, applies");
    CHECK_MSG(f->failed == KV_OK && f->counts[REPLICA_APPLIED] == 1,
              "no failure; one applied");
    CHECK_MSG(told.calls == 1 && told.index == 5 && told.outcome == REPLICA_APPLIED &&
                  told.n == 1 && told.existed0 == 0,
              "the member is told: entry 5 applied, one write, its key held nothing before "
              "(%d calls, index %llu, %zu writes)", told.calls, (unsigned long long)told.index,
              told.n);
    raft->last_applied = 5;
    struct raft_buffer b2 = put_big("y");
    CHECK_MSG(f->fsm.apply(&f->fsm, &b2, &result) == RAFT_IOERR,
              "entry 6, whose write the engine fails, returns RAFT_IOERR");
    CHECK_MSG(told.calls == 1, "and the member is told nothing of it (the entry did not apply)");
    CHECK_MSG(f->failed == KV_ERR_IO && f->failed_index == 6 &&
                  strstr(f->why, "free on its file system") != NULL,
              "the failure is kept: the engine's error, entry 6, its message (got %d, %llu, %s)",
              f->failed, (unsigned long long)f->failed_index, f->why);
    int first = f->failed;
    char why[sizeof f->why];
    memcpy(why, f->why, sizeof why);
    /* A second failure (libraft tries the entry again) does not replace
     * the first. */
    raft->last_applied = 6;
    CHECK_MSG(f->fsm.apply(&f->fsm, &b2, &result) == RAFT_IOERR, "entry 7 fails too");
    CHECK_MSG(f->failed == first && f->failed_index == 6 && strcmp(f->why, why) == 0,
              "the first failure is the one kept (got entry %llu)",
              (unsigned long long)f->failed_index);
    CHECK_MSG(replica_applied(r) == 5, "the applied index is the last entry applied, 5 (got "
              "%llu)", (unsigned long long)replica_applied(r));
    raft_free(b.base);
    raft_free(b2.base);
    replica_fsm_free(f);
    replica_close(r); /* (the engine may report the failed write again) */
    io_fault_uninstall();
    free(d.dir);
}

/* A command deleting key, as put_cmd's. */
static struct raft_buffer del_cmd(const char *key)
{
    command *c = NULL;
    CHECK_KV(command_new(&c), KV_OK);
    CHECK_KV(command_delete(c, key, strlen(key)), KV_OK);
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    struct raft_buffer b = {raft_malloc(len), len};
    memcpy(b.base, p, len);
    command_free(c);
    return b;
}

static int answer_is_wanted;
static int want_answer(void *arg, command_origin origin)
{
    (void)arg, (void)origin;
    return answer_is_wanted;
}

/* What a command's deletes found is read only where `wanted` says a
 * client waits for it (the member that proposed it): elsewhere the
 * delete applies with no lookup, and the member is told no answers. */
static void a_delete_reads_its_key_only_where_its_count_is_wanted(void)
{
    small_disk d;
    small_disk_open(&d, "r");
    replica_fsm *f = &d.f;
    f->wanted = want_answer;
    void *result = NULL;
    struct raft_buffer put = put_cmd("x", "1"), del = del_cmd("x");
    kv_cost cost;
    d.raft.last_applied = 1;
    answer_is_wanted = 0;
    CHECK_MSG(f->fsm.apply(&f->fsm, &put, &result) == 0, "entry 2, a put, applies");
    d.raft.last_applied = 2;
    kv_cost_reset();
    CHECK_MSG(f->fsm.apply(&f->fsm, &del, &result) == 0 &&
                  replica_fsm_outcome(result) == REPLICA_APPLIED,
              "entry 3, a delete no one waits for, applies");
    kv_cost_get(&cost);
    CHECK_MSG(cost.gets == 0 && told.n == 0,
              "with no lookup, and no answers told (%llu lookups, %zu answers)", cost.gets,
              told.n);
    d.raft.last_applied = 3;
    CHECK_MSG(f->fsm.apply(&f->fsm, &put, &result) == 0, "entry 4 puts x again");
    answer_is_wanted = 1;
    d.raft.last_applied = 4;
    kv_cost_reset();
    CHECK_MSG(f->fsm.apply(&f->fsm, &del, &result) == 0, "entry 5, a delete a client waits "
              "for, applies");
    kv_cost_get(&cost);
    CHECK_MSG(cost.gets == 1 && told.n == 1 && told.existed0 == 1,
              "reading its key once, and telling that it found x (%llu lookups, %zu answers, "
              "%u)", cost.gets, told.n, told.existed0);
    raft_free(put.base);
    raft_free(del.base);
    replica_fsm_free(f);
    replica_close(d.r);
    io_fault_uninstall();
    free(d.dir);
}

/* The transaction of reads_answer_in_log_order: x and y, then
 * GET x, SET x 2, GET x, SET x 3 NX, GET x, DEL x, GET x, SET y 4 NX,
 * GET y, GET z; under the condition that w is absent if `watched`. */
static struct raft_buffer txn_cmd(int watched)
{
    command *c = NULL;
    CHECK_KV(command_new(&c), KV_OK);
    if (watched)
        CHECK_KV(command_if_absent(c, "w", 1), KV_OK);
    CHECK_KV(command_read(c, "x", 1), KV_OK);
    CHECK_KV(command_put(c, "x", 1, "2", 1), KV_OK);
    CHECK_KV(command_read(c, "x", 1), KV_OK);
    CHECK_KV(command_put_when(c, COMMAND_PUT_IF_ABSENT, "x", 1, "3", 1), KV_OK);
    CHECK_KV(command_read(c, "x", 1), KV_OK);
    CHECK_KV(command_delete(c, "x", 1), KV_OK);
    CHECK_KV(command_read(c, "x", 1), KV_OK);
    CHECK_KV(command_put_when(c, COMMAND_PUT_IF_ABSENT, "y", 1, "4", 1), KV_OK);
    CHECK_KV(command_read(c, "y", 1), KV_OK);
    CHECK_KV(command_read(c, "z", 1), KV_OK);
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    struct raft_buffer b = {raft_malloc(len), len};
    memcpy(b.base, p, len);
    command_free(c);
    return b;
}

/* A command's reads (GETs inside EXEC) answer where someone waits for
 * them, each what its key holds after the command's own ops before it
 * (a SET NX that does not apply changes nothing); where no one waits,
 * they are passed over without a lookup, and the engine ends the same;
 * a command refused by its condition answers no read. */
static void reads_answer_in_log_order_where_they_are_wanted(void)
{
    small_disk d;
    small_disk_open(&d, "r");
    replica_fsm *f = &d.f;
    f->wanted = want_answer;
    void *result = NULL;
    struct raft_buffer put = put_cmd("x", "1"), txn = txn_cmd(0), watched = txn_cmd(1),
                       putw = put_cmd("w", "1");
    answer_is_wanted = 1;
    d.raft.last_applied = 1;
    CHECK_MSG(f->fsm.apply(&f->fsm, &put, &result) == 0, "entry 2 puts x = 1");
    d.raft.last_applied = 2;
    CHECK_MSG(f->fsm.apply(&f->fsm, &txn, &result) == 0 &&
                  replica_fsm_outcome(result) == REPLICA_APPLIED,
              "entry 3, the transaction, applies");
    const char *want[] = {"1", "2", "2", "(nil)", "4", "(nil)"};
    CHECK_MSG(told.nreads == 6, "the member is told six reads' answers (got %zu)", told.nreads);
    for (size_t i = 0; i < 6; i++)
        CHECK_MSG(strcmp(told.reads[i], want[i]) == 0, "read %zu answers %s (got %s)", i + 1,
                  want[i], told.reads[i]);
    CHECK_MSG(told.n == 4, "and one answer per write, four (got %zu)", told.n);
    void *v = NULL;
    size_t vlen = 0;
    CHECK_KV(kv_get(replica_db(d.r), "x", 1, &v, &vlen), KV_NOT_FOUND);
    CHECK_KV(kv_get(replica_db(d.r), "y", 1, &v, &vlen), KV_OK);
    CHECK_MSG(vlen == 1 && memcmp(v, "4", 1) == 0, "y holds 4");
    kv_free(v);
    /* Again where no one waits: x = 1 first, then the same transaction. */
    answer_is_wanted = 0;
    d.raft.last_applied = 3;
    CHECK_MSG(f->fsm.apply(&f->fsm, &put, &result) == 0, "entry 4 puts x = 1 again");
    kv_cost cost;
    kv_cost_reset();
    d.raft.last_applied = 4;
    CHECK_MSG(f->fsm.apply(&f->fsm, &txn, &result) == 0 &&
                  replica_fsm_outcome(result) == REPLICA_APPLIED,
              "entry 5, the transaction no one waits for, applies");
    kv_cost_get(&cost);
    CHECK_MSG(told.nreads == 0 && told.n == 0, "no answers are told (%zu reads, %zu writes)",
              told.nreads, told.n);
    CHECK_MSG(cost.gets == 1, "and only the SET NX of y reads its key: one lookup, none for "
              "the reads (got %llu)", cost.gets);
    CHECK_KV(kv_get(replica_db(d.r), "x", 1, &v, &vlen), KV_NOT_FOUND);
    /* Refused: w is present, so the watched transaction writes nothing
     * and answers no read. */
    answer_is_wanted = 1;
    d.raft.last_applied = 5;
    CHECK_MSG(f->fsm.apply(&f->fsm, &putw, &result) == 0, "entry 6 puts w");
    d.raft.last_applied = 6;
    CHECK_MSG(f->fsm.apply(&f->fsm, &watched, &result) == 0 &&
                  replica_fsm_outcome(result) == REPLICA_REFUSED,
              "entry 7, the transaction under w absent, is refused");
    CHECK_MSG(told.outcome == REPLICA_REFUSED && told.nreads == 0,
              "and the member is told so, with no reads (%zu)", told.nreads);
    raft_free(put.base);
    raft_free(txn.base);
    raft_free(watched.base);
    raft_free(putw.base);
    replica_fsm_free(f);
    replica_close(d.r);
    io_fault_uninstall();
    free(d.dir);
}

static int wait_answer;
static int answer_wait(void *arg)
{
    (void)arg;
    return wait_answer;
}

/* W1-W3: on a disk short of room, a command the engine cannot apply is
 * kept, libraft told it applied, and every later command kept behind it
 * in order; no snapshot meanwhile; once there is room, retry applies
 * them in order and tells the member each. */
static void a_command_the_full_disk_refuses_waits_and_applies_in_order(void)
{
    small_disk d;
    small_disk_open(&d, "w");
    replica_fsm *f = &d.f;
    struct raft *raft = &d.raft;
    replica *r = d.r;
    f->may_wait = answer_wait;
    wait_answer = 1;
    void *result = NULL;
    struct raft_buffer a = put_cmd("x", "1");
    raft->last_applied = 4;
    CHECK(f->fsm.apply(&f->fsm, &a, &result) == 0 && told.calls == 1);
    struct raft_buffer b = put_big("y"), c = put_cmd("z", "3");
    raft->last_applied = 5;
    CHECK_MSG(f->fsm.apply(&f->fsm, &b, &result) == 0 && replica_fsm_behind(f) &&
                  f->failed == KV_OK && told.calls == 1,
              "entry 6, which the full disk refuses, is kept: libraft told 0, the member "
              "told nothing yet, no failure (W1)");
    raft->last_applied = 6;
    CHECK_MSG(f->fsm.apply(&f->fsm, &c, &result) == 0 && f->nwaiting == 2 && told.calls == 1,
              "entry 7, a small put the engine could take, waits behind it, in order");
    struct raft_buffer *bufs = NULL;
    unsigned n = 0;
    CHECK_MSG(f->fsm.snapshot(&f->fsm, &bufs, &n) == RAFT_BUSY,
              "no snapshot while entries wait: it would claim them (W3)");
    CHECK_MSG(replica_applied(r) == 5, "the engine holds up to entry 5");
    CHECK_MSG(replica_fsm_retry(f) != KV_OK && replica_fsm_behind(f) && f->failed == KV_OK,
              "a retry on the full disk fails, and they go on waiting");
    io_fault_uninstall(); /* room again */
    CHECK_KV(replica_fsm_retry(f), KV_OK);
    CHECK_MSG(!replica_fsm_behind(f) && told.calls == 3 && told.index == 7 &&
                  replica_applied(r) == 7, "once there is room, entries 6 and 7 apply, in "
              "order, each told (the last: %llu)", (unsigned long long)told.index);
    wait_answer = 0;
    raft_free(a.base);
    raft_free(b.base);
    raft_free(c.base);
    replica_fsm_free(f);
    CHECK_KV(replica_close(r), KV_OK);
    free(d.dir);
}

/* W4: an entry a follower defers is kept unapplied, libraft told it
 * applied; retry applies the kept ones in order, each told; a snapshot
 * asked for applies them first; and one the full disk then refuses
 * waits as W1 says, and no snapshot is taken until it applies. */
static void a_deferred_command_applies_at_retry_or_before_a_snapshot(void)
{
    small_disk d;
    small_disk_open(&d, "d");
    replica_fsm *f = &d.f;
    f->defer = f->may_wait = answer_wait; /* every entry deferred; a full disk waited out */
    wait_answer = 1;
    void *result = NULL;
    struct raft_buffer a = put_cmd("x", "1"), b = put_cmd("y", "2"), c = put_cmd("z", "3");
    d.raft.last_applied = 4;
    CHECK_MSG(f->fsm.apply(&f->fsm, &a, &result) == 0 && replica_fsm_behind(f) &&
                  told.calls == 0 && replica_applied(d.r) == 0,
              "entry 5, deferred, is kept: libraft told 0, the engine and the member "
              "untouched (applied %llu)", (unsigned long long)replica_applied(d.r));
    d.raft.last_applied = 5;
    CHECK_MSG(f->fsm.apply(&f->fsm, &b, &result) == 0 && f->nwaiting == 2 && told.calls == 0,
              "entry 6 is kept behind it");
    CHECK_KV(replica_fsm_retry(f), KV_OK);
    CHECK_MSG(!replica_fsm_behind(f) && told.calls == 2 && told.index == 6 &&
                  replica_applied(d.r) == 6, "retry applies entries 5 and 6, in order, each told");
    d.raft.last_applied = 6;
    CHECK(f->fsm.apply(&f->fsm, &c, &result) == 0 && replica_fsm_behind(f));
    struct raft_buffer *bufs = NULL;
    unsigned n = 0;
    CHECK_MSG(f->fsm.snapshot(&f->fsm, &bufs, &n) == 0 && replica_applied(d.r) == 7 &&
                  told.calls == 3 && !replica_fsm_behind(f),
              "a snapshot applies the deferred entry 7 first, and is taken");
    CHECK(f->fsm.snapshot_finalize(&f->fsm, &bufs, &n) == 0);
    struct raft_buffer big = put_big("w");
    d.raft.last_applied = 7;
    CHECK(f->fsm.apply(&f->fsm, &big, &result) == 0 && replica_fsm_behind(f));
    CHECK_MSG(replica_fsm_retry(f) != KV_OK && replica_fsm_behind(f) && f->failed == KV_OK,
              "entry 8, deferred, then refused by the full disk, waits for room (W1)");
    CHECK_MSG(f->fsm.snapshot(&f->fsm, &bufs, &n) == RAFT_BUSY && replica_applied(d.r) == 7,
              "no snapshot while it waits for room (W3)");
    io_fault_uninstall(); /* room again */
    CHECK_KV(replica_fsm_retry(f), KV_OK);
    CHECK(!replica_fsm_behind(f) && replica_applied(d.r) == 8 && told.calls == 4);
    wait_answer = 0;
    raft_free(a.base);
    raft_free(b.base);
    raft_free(c.base);
    raft_free(big.base);
    replica_fsm_free(f);
    CHECK_KV(replica_close(d.r), KV_OK);
    free(d.dir);
}

static int restore_calls;
static void count_restore(void *arg)
{
    (void)arg;
    restore_calls++;
}

static void a_damaged_snapshot_restored_is_refused_as_corrupt(void)
{
    char *da = dir_of("a"), *db = dir_of("b");
    replica *a = NULL, *b = NULL;
    CHECK_KV(replica_open(da, NULL, &a), KV_OK);
    CHECK_KV(replica_open(db, NULL, &b), KV_OK);
    replica_fsm fa, fb;
    replica_fsm_init(&fa, a);
    replica_fsm_init(&fb, b);
    struct raft raft;
    memset(&raft, 0, sizeof raft);
    replica_fsm_attach(&fa, &raft);
    replica_fsm_attach(&fb, &raft);
    fb.before_restore = count_restore;
    struct raft_buffer cmd = put_cmd("k", "v");
    void *result = NULL;
    CHECK(fa.fsm.apply(&fa.fsm, &cmd, &result) == 0);
    raft_free(cmd.base);
    struct raft_buffer *bufs = NULL;
    unsigned n = 0;
    CHECK_MSG(fa.fsm.snapshot(&fa.fsm, &bufs, &n) == 0 && n == 1,
              "a snapshot is one buffer");
    struct raft_buffer good = {raft_malloc(bufs[0].len), bufs[0].len};
    memcpy(good.base, bufs[0].base, good.len);
    CHECK_MSG(fa.snapshots == 0, "not counted before the library has written it");
    CHECK(fa.fsm.snapshot_finalize(&fa.fsm, &bufs, &n) == 0);
    CHECK_MSG(fa.snapshots == 1 && fa.snapshot_index == 1 && bufs == NULL && n == 0,
              "counted once finalized, at index 1 (got %llu), its buffers freed",
              (unsigned long long)fa.snapshot_index);
    struct raft_buffer bad = {raft_malloc(good.len), good.len};
    memcpy(bad.base, good.base, bad.len);
    ((uint8_t *)bad.base)[bad.len / 2] ^= 0x01;
    restore_calls = 0;
    CHECK_MSG(fb.fsm.restore(&fb.fsm, &bad) == RAFT_CORRUPT,
              "a snapshot with a byte changed is refused as RAFT_CORRUPT");
    CHECK_MSG(fb.restores == 0 && restore_calls == 1 && replica_applied(b) == 0,
              "not counted as installed; the engine as it was");
    CHECK_MSG(fb.fsm.restore(&fb.fsm, &good) == 0, "the whole one is installed");
    CHECK_MSG(fb.restores == 1 && replica_applied(b) == 1, "counted; b at index 1 (got %llu)",
              (unsigned long long)replica_applied(b));
    replica_fsm_free(&fa);
    replica_fsm_free(&fb);
    CHECK_KV(replica_close(a), KV_OK);
    CHECK_KV(replica_close(b), KV_OK);
    free(da);
    free(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(an_apply_the_engine_fails_is_kept_with_its_entry),
    HARNESS_TEST(a_delete_reads_its_key_only_where_its_count_is_wanted),
    HARNESS_TEST(reads_answer_in_log_order_where_they_are_wanted),
    HARNESS_TEST(a_command_the_full_disk_refuses_waits_and_applies_in_order),
    HARNESS_TEST(a_deferred_command_applies_at_retry_or_before_a_snapshot),
    HARNESS_TEST(a_damaged_snapshot_restored_is_refused_as_corrupt),
};
const harness_suite replica_fsm_suite = HARNESS_SUITE("replica_fsm", tests);
