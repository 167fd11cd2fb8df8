/*
 * fault.c: the engine under failing I/O, through common/io_fault.h.
 *
 * A short workload (open, gets, puts, deletes, a batch, scans, kv_compact,
 * close)
 * runs once with a plan that never fails, to count the I/O calls it makes.
 * Then, for every N from 1 to that count, it runs again on a fresh database
 * with call N failing: once, and from N on (persistent), with EIO; and for
 * appends with ENOSPC after writing half the bytes.  The persistent plans
 * also run "healed": failures stop after the operation that saw the first
 * one, so the engine must keep working after a failed, partial write.  The
 * rules checked:
 *
 *   1. No crash, and every call during which an injected failure happened
 *      returns an error code, with a non-empty kv_errmsg().  Before the
 *      first injected failure, nothing fails.  (A get, a scan or a write
 *      answers for failures on its own thread; kv_open, kv_compact and
 *      kv_close, which wait for the engine's background work, for all.)
 *   2. A read that fails is never reported as KV_NOT_FOUND or a wrong
 *      value: every answer the engine gives is a state the key could be in.
 *   3. After the backend is put back, the database opens with KV_OK; every
 *      acknowledged put and delete is there; an operation that failed may or
 *      may not have taken effect, and nothing else appears; new writes work
 *      and survive a reopen; no file descriptor is left open.
 *
 * What a key "could be in": the state after its last acknowledged write (or
 * before the workload), or the state after any failed write that came later.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "harness.h"
#include "io_fault.h"
#include "kv.h"
#include "stage_caps.h"
#include "testdb.h"

#define FAULT_KEYS 5
#define FAULT_MAX_EVENTS 16

typedef struct fault_state {
    int present;
    const char *v;
    size_t vl;
} fault_state;

typedef struct fault_event {
    fault_state st;
    int acked;
} fault_event;

typedef struct fault_key {
    fault_state base;
    fault_event ev[FAULT_MAX_EVENTS];
    int nev;
} fault_key;

static const char *const fault_key_names[FAULT_KEYS] = {"k1", "k2", "k3", "k4", "k5"};

static char fault_v100[100], fault_v2000[2000];

enum { FAULT_GET, FAULT_PUT, FAULT_DEL, FAULT_SCAN, FAULT_COMPACT, FAULT_BATCH };
enum { VAL_ONE, VAL_100, VAL_FOUR, VAL_2000, VAL_EMPTY, VAL_TWO, VAL_THREE };

typedef struct fault_step {
    int op, key, val;
} fault_step;

/* The workload between open and close. */
static const fault_step fault_script[] = {
    {FAULT_GET, 0, 0},        {FAULT_PUT, 3, VAL_FOUR}, {FAULT_PUT, 0, VAL_2000},
    {FAULT_DEL, 1, 0},        {FAULT_GET, 1, 0},        {FAULT_SCAN, 0, 0},
    {FAULT_PUT, 4, VAL_EMPTY}, {FAULT_COMPACT, 0, 0},   {FAULT_PUT, 1, VAL_TWO},
    {FAULT_DEL, 3, 0},        {FAULT_GET, 0, 0},        {FAULT_BATCH, 0, 0},
    {FAULT_GET, 2, 0},        {FAULT_SCAN, 0, 0},
};

/* The one batch of the workload (key, value; value -1 = delete). */
static const fault_step fault_batch_ops[] = {
    {FAULT_PUT, 2, VAL_THREE}, {FAULT_DEL, 0, 0}, {FAULT_PUT, 3, VAL_ONE},
    {FAULT_PUT, 0, VAL_TWO},
};

static fault_state fault_value(int val)
{
    switch (val) {
    case VAL_ONE:   return (fault_state){1, "one", 3};
    case VAL_100:   return (fault_state){1, fault_v100, sizeof fault_v100};
    case VAL_FOUR:  return (fault_state){1, "four", 4};
    case VAL_2000:  return (fault_state){1, fault_v2000, sizeof fault_v2000};
    case VAL_EMPTY: return (fault_state){1, "", 0};
    case VAL_TWO:   return (fault_state){1, "two again", 9};
    default:        return (fault_state){1, "three", 5};
    }
}

typedef struct fault_variant {
    const char *name;
    int prepopulate;  /* start from a database holding k1, k2 and a deleted k3 */
    int sync;         /* kv_options.sync for the faulted open */
    size_t segment_bytes;  /* kv_options.segment_bytes for every open */
} fault_variant;

/* A plan, and whether the disk heals: with `heal`, the failures stop after
 * the operation in which the first one happened (a full disk that gets space
 * back), so later writes succeed after a failed, possibly partial, one. */
typedef struct fault_shape {
    io_fault_plan plan;
    int heal;
} fault_shape;

typedef struct fault_run {
    const fault_variant *var;
    const fault_shape *shape;
    long failures_healed;   /* failures counted before the plan was healed */
    fault_key keys[FAULT_KEYS];
    const char *dir;
    kv_db *db;
    char what[160];   /* the operation under way, for messages */
} fault_run;

static void fault_init_values(void)
{
    for (size_t i = 0; i < sizeof fault_v100; i++)
        fault_v100[i] = (char)('a' + i % 26);
    for (size_t i = 0; i < sizeof fault_v2000; i++)
        fault_v2000[i] = (char)(i * 7 + (i >> 8));
}

static int fault_state_equal(fault_state a, int present, const void *v, size_t vl)
{
    if (a.present != present)
        return 0;
    return !present || (a.vl == vl && (vl == 0 || memcmp(a.v, v, vl) == 0));
}

/* 1 if the key may hold this state now (see the comment at the top). */
static int fault_allowed(const fault_key *k, int present, const void *v, size_t vl)
{
    int last = -1;
    for (int i = 0; i < k->nev; i++)
        if (k->ev[i].acked)
            last = i;
    fault_state settled = last < 0 ? k->base : k->ev[last].st;
    if (fault_state_equal(settled, present, v, vl))
        return 1;
    for (int i = last + 1; i < k->nev; i++)
        if (fault_state_equal(k->ev[i].st, present, v, vl))
            return 1;
    return 0;
}

/* Injected failures so far in this run. */
static long fault_failures(const fault_run *r)
{
    return r->failures_healed + io_fault_failures();
}

/* Between operations: a healing plan stops failing once it has failed. */
static void fault_maybe_heal(fault_run *r)
{
    if (r->shape == NULL || !r->shape->heal || io_fault_failures() == 0)
        return;
    r->failures_healed += io_fault_failures();
    io_fault_plan healed = {.kinds = r->shape->plan.kinds};
    io_fault_install(&healed);   /* open files use the new plan at once */
}

static int fault_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* Injected failures so far, all of them and those of this thread: a
 * reading taken before a call. */
typedef struct fault_mark {
    long all, here;
} fault_mark;

static fault_mark fault_mark_now(const fault_run *r)
{
    return (fault_mark){fault_failures(r), io_fault_failures_here()};
}

/* Rule 1 for the call just made.  A call that does its I/O on the calling
 * thread (a get, a scan, a write) is blamed only for failures of this
 * thread: a failure the engine's background thread (a flush, a compaction,
 * the value store's work) met meanwhile is that work's, which a later call
 * reports.  kv_open, kv_compact and kv_close wait for the background's
 * work (waits_for_background): every failure during them is theirs. */
static void fault_check_status(fault_run *r, int status, fault_mark before,
                               int waits_for_background)
{
    long during = waits_for_background ? fault_failures(r) - before.all
                                       : io_fault_failures_here() - before.here;
    if (status < 0) {
        CHECK_MSG(fault_failures(r) > 0,
                  "%s returned %d (%s) though no failure was injected: \"%s\"", r->what,
                  status, kv_strerror(status), kv_errmsg());
        CHECK_MSG(kv_errmsg()[0] != '\0', "%s returned %d (%s) with an empty kv_errmsg",
                  r->what, status, kv_strerror(status));
    } else {
        CHECK_MSG(during == 0,
                  "%s returned %d (%s) though %ld injected failure(s) happened during it%s",
                  r->what, status, kv_strerror(status), during,
                  waits_for_background ? "" : " on its own thread");
    }
}

static void fault_check_get(fault_run *r, int key, int status, const void *v, size_t vl)
{
    if (status == KV_OK || status == KV_NOT_FOUND) {
        char hex[HARNESS_HEX_BUF];
        CHECK_MSG(fault_allowed(&r->keys[key], status == KV_OK, v, vl),
                  "%s: %s%s%s is not a state %s can be in", r->what,
                  status == KV_OK ? "value [" : "KV_NOT_FOUND",
                  status == KV_OK ? harness_hex(hex, v, vl) : "", status == KV_OK ? "]" : "",
                  fault_key_names[key]);
    }
}

static int fault_key_index(const void *k, size_t kl)
{
    for (int i = 0; i < FAULT_KEYS; i++)
        if (strlen(fault_key_names[i]) == kl && memcmp(fault_key_names[i], k, kl) == 0)
            return i;
    return -1;
}

static void fault_do_get(fault_run *r, int key)
{
    const char *k = fault_key_names[key];
    snprintf(r->what, sizeof r->what, "kv_get(%s)", k);
    void *v = NULL;
    size_t vl = 0;
    fault_mark before = fault_mark_now(r);
    kv_error_clear();
    int s = kv_get(r->db, k, strlen(k), &v, &vl);
    fault_check_status(r, s, before, 0);
    if (s == KV_OK)
        CHECK_MSG(v != NULL, "%s: KV_OK with a NULL value", r->what);
    fault_check_get(r, key, s, v, vl);
    if (s == KV_OK)
        kv_free(v);
}

/* A full scan: every key seen is a possible state, in order, and when the
 * scan ends cleanly every key not seen may be absent. */
static int fault_do_scan(fault_run *r)
{
    snprintf(r->what, sizeof r->what, "scan (kv_iter_new, seek_first, next...)");
    fault_mark before = fault_mark_now(r);
    kv_iter *it = NULL;
    kv_error_clear();
    int s = kv_iter_new(r->db, &it);
    if (s == KV_OK) {
        int seen[FAULT_KEYS] = {0}, prev = -1;
        for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
            size_t kl = 0, vl = 0;
            const void *k = kv_iter_key(it, &kl);
            int key = fault_key_index(k, kl);
            char hex[HARNESS_HEX_BUF];
            CHECK_MSG(key >= 0, "%s: unknown key [%s]", r->what, harness_hex(hex, k, kl));
            CHECK_MSG(key > prev, "%s: key %s out of order or repeated", r->what,
                      fault_key_names[key]);
            prev = key;
            seen[key] = 1;
            const void *v = kv_iter_value(it, &vl);
            if (v == NULL) {
                CHECK_MSG(kv_iter_status(it) < 0, "%s: kv_iter_value is NULL but "
                          "kv_iter_status is %d", r->what, kv_iter_status(it));
                break;
            }
            fault_check_get(r, key, KV_OK, v, vl);
        }
        s = kv_iter_status(it);
        if (s == KV_OK)
            for (int i = 0; i < FAULT_KEYS; i++)
                if (!seen[i])
                    fault_check_get(r, i, KV_NOT_FOUND, NULL, 0);
        kv_iter_free(it);
    }
    fault_check_status(r, s, before, 0);
    return s;
}

static void fault_do_write(fault_run *r, int key, int is_delete, int val)
{
    const char *k = fault_key_names[key];
    fault_state st = is_delete ? (fault_state){0, NULL, 0} : fault_value(val);
    snprintf(r->what, sizeof r->what, "%s(%s, %zu bytes)", is_delete ? "kv_delete" : "kv_put",
             k, st.vl);
    fault_mark before = fault_mark_now(r);
    kv_error_clear();
    int s = is_delete ? kv_delete(r->db, k, strlen(k))
                      : kv_put(r->db, k, strlen(k), st.v, st.vl);
    fault_check_status(r, s, before, 0);
    CHECK_MSG(s == KV_OK || s < 0, "%s returned %d", r->what, s);
    fault_key *fk = &r->keys[key];
    CHECK(fk->nev < FAULT_MAX_EVENTS);
    fk->ev[fk->nev++] = (fault_event){st, s == KV_OK};
}

/* kv_write of fault_batch_ops; a failed write may have applied any of its
 * ops, as far as the state after a reopen goes (stages 01 and 02 promise
 * no more; readers of the open database are checked in concurrency.c). */
static void fault_do_batch(fault_run *r)
{
    kv_batch *b = NULL;
    CHECK_KV(kv_batch_new(&b), KV_OK);
    size_t n = sizeof fault_batch_ops / sizeof fault_batch_ops[0];
    for (size_t i = 0; i < n; i++) {
        const fault_step *op = &fault_batch_ops[i];
        const char *k = fault_key_names[op->key];
        if (op->op == FAULT_DEL) {
            CHECK_KV(kv_batch_delete(b, k, strlen(k)), KV_OK);
        } else {
            fault_state st = fault_value(op->val);
            CHECK_KV(kv_batch_put(b, k, strlen(k), st.v, st.vl), KV_OK);
        }
    }
    snprintf(r->what, sizeof r->what, "kv_write(a batch of %zu ops)", n);
    fault_mark before = fault_mark_now(r);
    kv_error_clear();
    int s = kv_write(r->db, b);
    fault_check_status(r, s, before, 0);
    CHECK_MSG(s == KV_OK || s < 0, "%s returned %d", r->what, s);
    kv_batch_free(b);
    for (size_t i = 0; i < n; i++) {
        const fault_step *op = &fault_batch_ops[i];
        fault_key *fk = &r->keys[op->key];
        CHECK(fk->nev < FAULT_MAX_EVENTS);
        fault_state st = op->op == FAULT_DEL ? (fault_state){0, NULL, 0} : fault_value(op->val);
        fk->ev[fk->nev++] = (fault_event){st, s == KV_OK};
    }
}

/* Builds the starting database (no faults) and the keys' base states. */
static void fault_prepare(fault_run *r)
{
    memset(r->keys, 0, sizeof r->keys);
    r->dir = harness_join(harness_tmpdir(), "db");
    if (!r->var->prepopulate)
        return;
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = r->var->segment_bytes;
    kv_db *db = OPEN(r->dir, &opt);
    fault_state one = fault_value(VAL_ONE), v100 = fault_value(VAL_100);
    fault_state three = fault_value(VAL_THREE);
    PUT(db, "k1", 2, one.v, one.vl);
    PUT(db, "k2", 2, v100.v, v100.vl);
    PUT(db, "k3", 2, three.v, three.vl);
    DEL(db, "k3", 2);
    CLOSE(db);
    r->keys[0].base = one;
    r->keys[1].base = v100;
}

/* Opens, runs the script and closes under `plan` (healing as r->shape
 * says); returns the number of counted calls. */
static long fault_workload(fault_run *r, const io_fault_plan *plan)
{
    r->failures_healed = 0;
    kv_options opt;
    kv_options_init(&opt);
    opt.sync = r->var->sync;
    opt.segment_bytes = r->var->segment_bytes;
    io_fault_install(plan);
    snprintf(r->what, sizeof r->what, "kv_open");
    r->db = NULL;
    kv_error_clear();
    int s = kv_open(r->dir, &opt, &r->db);
    fault_check_status(r, s, (fault_mark){0, 0}, 1);
    fault_maybe_heal(r);
    if (s == KV_OK) {
        CHECK(r->db != NULL);
        for (size_t i = 0; i < sizeof fault_script / sizeof fault_script[0]; i++) {
            const fault_step *st = &fault_script[i];
            switch (st->op) {
            case FAULT_GET:
                fault_do_get(r, st->key);
                break;
            case FAULT_PUT:
                fault_do_write(r, st->key, 0, st->val);
                break;
            case FAULT_DEL:
                fault_do_write(r, st->key, 1, 0);
                break;
            case FAULT_SCAN:
                fault_do_scan(r);
                break;
            case FAULT_BATCH:
                fault_do_batch(r);
                break;
            default: {
                snprintf(r->what, sizeof r->what, "kv_compact");
                fault_mark before = fault_mark_now(r);
                kv_error_clear();
                fault_check_status(r, kv_compact(r->db), before, 1);
                break;
            }
            }
            fault_maybe_heal(r);
        }
        snprintf(r->what, sizeof r->what, "kv_close");
        fault_mark before = fault_mark_now(r);
        kv_error_clear();
        fault_check_status(r, kv_close(r->db), before, 1);
        r->db = NULL;
    }
    long calls = io_fault_calls();
    io_fault_uninstall();
    return calls;
}

/* Rule 3: the real backend finds a possible state and takes new writes. */
static void fault_verify_after(fault_run *r)
{
    snprintf(r->what, sizeof r->what, "reopen with the real backend");
    kv_db *db = OPEN(r->dir, NULL);
    r->db = db;
    fault_state now[FAULT_KEYS];
    for (int i = 0; i < FAULT_KEYS; i++) {
        const char *k = fault_key_names[i];
        snprintf(r->what, sizeof r->what, "after reopen: kv_get(%s)", k);
        void *v = NULL;
        size_t vl = 0;
        int s = kv_get(db, k, strlen(k), &v, &vl);
        if (s != KV_OK && s != KV_NOT_FOUND)
            harness_fail_kv(__FILE__, __LINE__, r->what, s, KV_OK, KV_NOT_FOUND);
        fault_check_get(r, i, s, v, vl);
        /* Remember it, as one of the key's own states, for after the next reopen. */
        now[i] = (fault_state){0, NULL, 0};
        if (s == KV_OK) {
            int found = 0;
            for (int e = -1; e < r->keys[i].nev && !found; e++) {
                fault_state c = e < 0 ? r->keys[i].base : r->keys[i].ev[e].st;
                if (fault_state_equal(c, 1, v, vl)) {
                    now[i] = c;
                    found = 1;
                }
            }
            kv_free(v);
        }
    }
    snprintf(r->what, sizeof r->what, "after reopen: scan");
    CHECK_KV(fault_do_scan(r), KV_OK);
    snprintf(r->what, sizeof r->what, "after reopen: new writes");
    PUT(db, S("new"), S("value"));
    EXPECT(db, S("new"), S("value"));
    CLOSE(db);
    db = OPEN(r->dir, NULL);
    EXPECT(db, S("new"), S("value"));
    for (int i = 0; i < FAULT_KEYS; i++) {
        if (now[i].present)
            EXPECT(db, fault_key_names[i], 2, now[i].v, now[i].vl);
        else
            ABSENT(db, fault_key_names[i], 2);
    }
    CLOSE(db);
    r->db = NULL;
}

static const char *fault_plan_text(const io_fault_plan *p)
{
    static char buf[160];
    snprintf(buf, sizeof buf, "kinds 0x%x, fail_at %ld%s, err %s%s", p->kinds, p->fail_at,
             p->persistent ? " persistent" : " once", strerror(p->err ? p->err : EIO),
             p->short_write ? ", short write" : "");
    return buf;
}

static void fault_sweep(const fault_variant *var)
{
    fault_init_values();
    fault_run r = {.var = var};
    io_fault_plan counting = {.kinds = IO_FAULT_ALL};
    harness_context("variant %s, counting run (%s)", var->name, fault_plan_text(&counting));
    fault_prepare(&r);
    long all_calls = fault_workload(&r, &counting);
    fault_verify_after(&r);
    CHECK_MSG(all_calls > 0, "the workload made no I/O calls through io_fault");

    io_fault_plan appends = {.kinds = IO_FAULT_APPEND};
    fault_prepare(&r);
    long append_calls = fault_workload(&r, &appends);
    fault_verify_after(&r);

    printf("    %s: %ld counted calls, %ld of them appends\n", var->name, all_calls,
           append_calls);
    static const fault_shape shapes[] = {
        {{.kinds = IO_FAULT_ALL, .err = EIO}, 0},
        {{.kinds = IO_FAULT_ALL, .err = EIO, .persistent = 1}, 0},
        {{.kinds = IO_FAULT_ALL, .err = EIO, .persistent = 1}, 1},
        {{.kinds = IO_FAULT_APPEND, .err = ENOSPC, .persistent = 1, .short_write = 1}, 0},
        {{.kinds = IO_FAULT_APPEND, .err = ENOSPC, .persistent = 1, .short_write = 1}, 1},
    };
    for (size_t p = 0; p < sizeof shapes / sizeof shapes[0]; p++) {
        long count = shapes[p].plan.kinds == IO_FAULT_APPEND ? append_calls : all_calls;
        r.shape = &shapes[p];
        for (long n = 1; n <= count; n++) {
            io_fault_plan plan = shapes[p].plan;
            plan.fail_at = n;
            harness_context("variant %s, plan %s%s (of %ld counted calls)", var->name,
                            fault_plan_text(&plan),
                            shapes[p].heal ? ", healed after the failing operation" : "",
                            count);
            fault_prepare(&r);
            int fds = fault_open_fds();
            fault_workload(&r, &plan);
            CHECK_MSG(fault_failures(&r) >= 1, "call %ld never came (the workload is not "
                      "deterministic?)", n);
            CHECK_MSG(fault_open_fds() == fds,
                      "%d file descriptors open after kv_close, %d before kv_open",
                      fault_open_fds(), fds);
            fault_verify_after(&r);
        }
    }
}

static void fault_on_fresh_db_keeps_acknowledged_writes(void)
{
    static const fault_variant v = {"fresh", 0, 0, 0};
    fault_sweep(&v);
}

static void fault_on_existing_db_keeps_acknowledged_writes(void)
{
    static const fault_variant v = {"existing", 1, 0, 0};
    fault_sweep(&v);
}

static void fault_with_sync_keeps_acknowledged_writes(void)
{
    static const fault_variant v = {"existing, sync=1", 1, 1, 0};
    fault_sweep(&v);
}

/* The counted calls of a variant's workload: all of them, and appends. */
static void fault_count_calls(const fault_variant *var, long *all, long *appends)
{
    fault_init_values();
    fault_run r = {.var = var};
    io_fault_plan counting = {.kinds = IO_FAULT_ALL};
    io_fault_plan appending = {.kinds = IO_FAULT_APPEND};
    fault_prepare(&r);
    *all = fault_workload(&r, &counting);
    fault_verify_after(&r);
    fault_prepare(&r);
    *appends = fault_workload(&r, &appending);
    fault_verify_after(&r);
}

/* Segments of 256 bytes: the workload's writes roll over to new files.  A
 * stage that keeps one log whatever segment_bytes (stage_caps.h) makes the
 * same calls as the "existing" variant, whose failures the test above
 * tried one by one: shown here by counting both, then not tried twice. */
static void fault_with_small_segments_keeps_acknowledged_writes(void)
{
    static const fault_variant v = {"existing, segment_bytes=256", 1, 0, 256};
    static const fault_variant existing = {"existing", 1, 0, 0};
    const stage_caps *caps = stage_caps_find();
    CHECK(caps != NULL);
    if (!caps->has_segments) {
        long all, appends, all_existing, appends_existing;
        fault_count_calls(&v, &all, &appends);
        fault_count_calls(&existing, &all_existing, &appends_existing);
        if (all == all_existing && appends == appends_existing) {
            printf("    %s: %ld counted calls, %ld of them appends, as \"existing\": stage %s "
                   "keeps one log whatever segment_bytes, so its failures were tried there\n",
                   v.name, all, appends, kv_stage());
            return;
        }
    }
    fault_sweep(&v);
}

static const io_fault_plan fault_never = {.kinds = IO_FAULT_ALL};

/* Opens a database holding k1 = "one" and one other key, through the fault
 * backend (files remember the backend they were opened with), and then puts
 * `plan` in force: its counting starts after the open. */
static const char *fault_make_k1(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = OPEN(dir, NULL);
    PUT(db, S("k1"), S("one"));
    PUT(db, S("filler"), S("so that there is more than one record"));
    CLOSE(db);
    return dir;
}

static kv_db *fault_open_with_k1(const io_fault_plan *plan)
{
    const char *dir = fault_make_k1();
    io_fault_install(&fault_never);
    kv_db *db = OPEN(dir, NULL);
    io_fault_install(plan);
    return db;
}

static void fault_note_no_read(void)
{
    if (io_fault_calls() == 0)
        printf("    note: the engine answered without reading; nothing was checked\n");
}

/* Rule 2, head on: with every read failing, a get is KV_ERR_IO, never
 * KV_NOT_FOUND and never a wrong value; a scan never looks empty. */
static void read_error_is_never_not_found(void)
{
    io_fault_plan plan = {.kinds = IO_FAULT_READ, .fail_at = 1, .persistent = 1, .err = EIO};
    kv_db *db = fault_open_with_k1(&plan);

    void *v = NULL;
    size_t vl = 0;
    kv_error_clear();
    int s = kv_get(db, S("k1"), &v, &vl);
    if (io_fault_failures() > 0) {
        CHECK_KV(s, KV_ERR_IO);
        CHECK(kv_errmsg()[0] != '\0');
    } else {
        CHECK_KV(s, KV_OK);        /* served without reading: must be right */
        CHECK_MEM(v, vl, "one", 3);
        kv_free(v);
    }

    long before = io_fault_failures();
    kv_error_clear();
    s = kv_get(db, S("absent"), &v, &vl);
    if (io_fault_failures() > before) {
        CHECK_KV(s, KV_ERR_IO);
        CHECK(kv_errmsg()[0] != '\0');
    } else {
        CHECK_KV(s, KV_NOT_FOUND);
    }

    before = io_fault_failures();
    kv_iter *it = NULL;
    s = kv_iter_new(db, &it);
    if (s == KV_OK) {
        kv_iter_seek_first(it);
        int status = kv_iter_status(it);
        if (io_fault_failures() > before) {
            /* Either it says so now, or the value it cannot read says so. */
            if (status == KV_OK) {
                CHECK_MSG(kv_iter_valid(it), "a scan whose reads failed looks empty "
                          "with status KV_OK");
                size_t n;
                if (kv_iter_value(it, &n) == NULL)
                    CHECK(kv_iter_status(it) < 0);
            } else {
                CHECK_KV(status, KV_ERR_IO);
            }
        }
        kv_iter_free(it);
    } else {
        CHECK_KV(s, KV_ERR_IO);
    }
    fault_note_no_read();

    io_fault_install(&fault_never);   /* the disk is back: all is still there */
    EXPECT(db, S("k1"), S("one"));
    ABSENT(db, S("absent"));
    CLOSE(db);
}

/* A single failed read fails one call; the next call works again. */
static void read_error_once_fails_only_that_call(void)
{
    io_fault_plan plan = {.kinds = IO_FAULT_READ, .fail_at = 1, .err = EIO};
    kv_db *db = fault_open_with_k1(&plan);
    void *v = NULL;
    size_t vl = 0;
    int s = kv_get(db, S("k1"), &v, &vl);
    if (io_fault_failures() > 0) {
        CHECK_KV(s, KV_ERR_IO);
    } else {
        CHECK_KV(s, KV_OK);
        kv_free(v);
    }
    fault_note_no_read();
    EXPECT(db, S("k1"), S("one"));
    PUT(db, S("k2"), S("two"));
    EXPECT(db, S("k2"), S("two"));
    CLOSE(db);
}

/* Opening with every read failing fails (if it reads at all), and leaves
 * the database as it was. */
static void read_error_during_open_fails_open(void)
{
    const char *dir = fault_make_k1();
    kv_db *db;
    io_fault_plan plan = {.kinds = IO_FAULT_READ, .fail_at = 1, .persistent = 1, .err = EIO};
    io_fault_install(&plan);
    db = NULL;
    kv_error_clear();
    int s = kv_open(dir, NULL, &db);
    if (io_fault_failures() > 0) {
        CHECK_KV(s, KV_ERR_IO);
        CHECK(kv_errmsg()[0] != '\0');
    } else {
        CHECK_KV(s, KV_OK);
        CHECK_KV(kv_close(db), KV_OK);
    }
    fault_note_no_read();
    io_fault_uninstall();
    db = OPEN(dir, NULL);
    EXPECT(db, S("k1"), S("one"));
    CLOSE(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(fault_on_fresh_db_keeps_acknowledged_writes),
    HARNESS_TEST(fault_on_existing_db_keeps_acknowledged_writes),
    HARNESS_TEST(fault_with_sync_keeps_acknowledged_writes),
    HARNESS_TEST(fault_with_small_segments_keeps_acknowledged_writes),
    HARNESS_TEST(read_error_is_never_not_found),
    HARNESS_TEST(read_error_once_fails_only_that_call),
    HARNESS_TEST(read_error_during_open_fails_open),
};
const harness_suite fault_suite = HARNESS_SUITE("fault", tests);
