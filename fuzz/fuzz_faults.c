/*
 * fuzz_faults.c: a database operation run with each I/O call failing in
 * turn, and with allocations failing in turn (see fuzz_faults.h).
 */
#include "fuzz_faults.h"
#include "fuzz_io_sweep.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "io.h"
#include "io_fault.h"
#include "io_mem.h"
#include "kv.h"

#include "../tests/alloc/alloc_wrap.h"

long fuzz_faults_spread(long calls, long runs, uint32_t seed, long *stride)
{
    *stride = calls / (runs > 0 ? runs : 1) + 1;
    return 1 + (long)(seed % (uint32_t)*stride);
}

void fuzz_faults_io_fail(long nth, int persistent)
{
    io_fault_plan plan = {.kinds = IO_FAULT_ALL, .fail_at = nth, .persistent = persistent};
    io_fault_install(&plan);
}

/* What the last call through FUZZ_SAID failed with. */
static char faults_said_text[512];

int fuzz_said_after(int rc)
{
    snprintf(faults_said_text, sizeof faults_said_text, "%s", rc < 0 ? kv_errmsg() : "");
    return rc;
}

const char *fuzz_said(void)
{
    return faults_said_text;
}

static uint8_t *faults_identity; /* the stage's IDENTITY, as kv_open wrote it */
static size_t faults_identity_len;

/* What fails in the runs under way: "I/O call" or "allocation". */
static const char *faults_failing_kind = "I/O call";

/* A broken promise: what, and what the last kv call made through
 * FUZZ_SAID said (fuzz_said: empty if it succeeded, never a message an
 * earlier call left). */
static void faults_check(int ok, const char *what, long call)
{
    if (!ok) {
        fprintf(stderr, "fuzz invariant broken with %s %ld failing: %s (the last kv call "
                "said: \"%s\")\n", faults_failing_kind, call, what, fuzz_said());
        abort();
    }
}

/* The call failing in the run under way (0: none), for the messages. */
static long faults_failing;

/* rc of a call through FUZZ_SAID, checked: an error comes with a
 * message, read right after the call. */
static int faults_said(int rc)
{
    if (rc < 0)
        faults_check(fuzz_said()[0] != '\0', "an error comes with a message", faults_failing);
    return rc;
}

/* A kv call, the message cleared before it and checked after it. */
#define FAULTS_CALL(call) faults_said(FUZZ_SAID(call))

static void faults_free_identity(void)
{
    free(faults_identity);
}

void fuzz_faults_place(const fuzz_dbfile *files, size_t n)
{
    if (io_get_ops() != &io_mem_ops)
        io_set_ops(&io_mem_ops);
    if (faults_identity == NULL) {
        io_mem_reset();
        kv_db *db = NULL;
        faults_check(io_mkdir("/kvfuzz") == KV_OK, "mkdir", 0);
        faults_check(FUZZ_SAID(kv_open(FUZZ_DBFILE_DIR, NULL, &db)) == KV_OK &&
                         FUZZ_SAID(kv_close(db)) == KV_OK,
                     "create an empty database", 0);
        const uint8_t *id;
        faults_check(io_mem_get(FUZZ_DBFILE_DIR "/IDENTITY", &id, &faults_identity_len) == 0,
                     "read IDENTITY", 0);
        faults_identity = malloc(faults_identity_len);
        faults_check(faults_identity != NULL, "malloc", 0);
        memcpy(faults_identity, id, faults_identity_len);
        atexit(faults_free_identity);
    }
    io_mem_reset();
    faults_check(io_mem_put(FUZZ_DBFILE_DIR "/IDENTITY", faults_identity,
                            faults_identity_len) == 0, "write IDENTITY", 0);
    for (size_t i = 0; i < n; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", FUZZ_DBFILE_DIR, files[i].name);
        faults_check(io_mem_put(path, files[i].data, files[i].size) == 0, "write an input file",
                     0);
    }
}

/* One run of op with call `fail` of `kinds` failing (0: none); *calls gets
 * how many calls it made. */
static int faults_run(const fuzz_dbfile *files, size_t n, unsigned kinds, long fail,
                      fuzz_faults_op op, void *ctx, long *calls, long *failures)
{
    fuzz_faults_place(files, n);
    io_fault_plan plan = {.kinds = kinds, .fail_at = fail};
    io_fault_install(&plan);
    faults_failing = fail;
    int rc = op(ctx);
    *calls = io_fault_calls();
    *failures = io_fault_failures();
    io_fault_uninstall();
    return rc;
}

long fuzz_faults_each_call(const fuzz_dbfile *files, size_t n, unsigned kinds, uint32_t seed,
                           fuzz_faults_op op, fuzz_faults_check check, void *ctx)
{
    long calls = 0, failures = 0, failed_runs = 0;
    int clean = faults_run(files, n, kinds, 0, op, ctx, &calls, &failures);
    faults_check(failures == 0, "no call fails in the reference run", 0);
    long total = calls;
    for (long k = 1 + (long)(seed % FUZZ_FAULTS_STEP); k <= total && failed_runs < FUZZ_FAULTS_MAX;
         k += FUZZ_FAULTS_STEP) {
        int rc = faults_run(files, n, kinds, k, op, ctx, &calls, &failures);
        if (failures == 0)
            break; /* this run made fewer calls */
        failed_runs++;
        check(ctx, rc, clean, k);
    }
    io_mem_reset();
    return failed_runs;
}

/* One run of op with allocation `fail` failing (0: none, the allocations
 * only counted); *calls gets how many it made, *failed whether one failed. */
static int faults_alloc_run(const fuzz_dbfile *files, size_t n, long fail, fuzz_faults_op op,
                            void *ctx, long *calls, int *failed)
{
    fuzz_faults_place(files, n);
    faults_failing = fail;
    alloc_fail_at(fail > 0 ? fail : LONG_MAX);
    int rc = op(ctx);
    *calls = alloc_calls();
    *failed = alloc_disarm();
    return rc;
}

/* A file the engine may do without when it cannot read it (NULL: none),
 * for fuzz_faults_alloc_optional. */
static const char *faults_optional;

/* The answer of op over files[0..n) without the file faults_optional
 * names (as the reference's, nothing failing), or `clean` if none. */
static int faults_answer_without_optional(const fuzz_dbfile *files, size_t n, fuzz_faults_op op,
                                          void *ctx, int clean)
{
    fuzz_dbfile rest[FUZZ_IO_SWEEP_FILES];
    size_t m = 0;
    for (size_t i = 0; faults_optional != NULL && i < n && m < FUZZ_IO_SWEEP_FILES; i++)
        if (strcmp(files[i].name, faults_optional) != 0)
            rest[m++] = files[i];
    if (faults_optional == NULL || m == n)
        return clean;
    long calls = 0;
    int failed = 0;
    int rc = faults_alloc_run(rest, m, 0, op, ctx, &calls, &failed);
    io_mem_reset();
    return rc;
}

long fuzz_faults_each_alloc(const fuzz_dbfile *files, size_t n, uint32_t seed,
                            fuzz_faults_op op, fuzz_faults_check check, void *ctx)
{
    long calls = 0, failed_runs = 0;
    int failed = 0;
    faults_failing_kind = "allocation";
    int clean = faults_alloc_run(files, n, 0, op, ctx, &calls, &failed);
    io_mem_reset();
    int without = faults_answer_without_optional(files, n, op, ctx, clean);
    long total = calls, stride;
    for (long k = fuzz_faults_spread(total, FUZZ_FAULTS_ALLOC_RUNS, seed, &stride); k <= total;
         k += stride) {
        long live = alloc_live();
        int rc = faults_alloc_run(files, n, k, op, ctx, &calls, &failed);
        if (!failed)
            break; /* this run made fewer allocations */
        failed_runs++;
        faults_check(rc == KV_OK || rc == clean || rc == without || rc == KV_ERR_NOMEM ||
                         rc == KV_ERR_IO,
                     "a refused allocation: the answer without it (or without the file the "
                     "engine may do without), KV_ERR_NOMEM, or KV_ERR_IO (the disk in memory "
                     "out of memory)", k);
        check(ctx, rc, clean, k);
        io_mem_reset();
        faults_check(alloc_live() == live, "every block freed after the run and a reopen", k);
    }
    faults_failing_kind = "I/O call";
    faults_failing = 0;
    return failed_runs;
}

/* ---- kv_repair --------------------------------------------------------------- */

static int faults_repair_op(void *ctx)
{
    (void)ctx;
    return FAULTS_CALL(kv_repair(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL));
}

static void faults_repair_check(void *ctx, int rc, int clean, long call)
{
    (void)ctx;
    faults_check(rc == KV_OK || rc < 0, "kv_repair: KV_OK or an error", call);
    int again = FUZZ_SAID(kv_repair(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL));
    faults_check(again == clean || (clean < 0 && again < 0),
                 "a repair after one a failing call cut short answers as the first did", call);
    if (again != KV_OK)
        return;
    kv_options opt;
    kv_options_init(&opt);
    opt.strict_recovery = 1;
    kv_db *db = NULL;
    faults_check(FUZZ_SAID(kv_open(FUZZ_DBFILE_DIR, &opt, &db)) == KV_OK,
                 "a strict open after the repair that followed a failed one", call);
    faults_check(FUZZ_SAID(kv_close(db)) == KV_OK, "a close after the repair", call);
    faults_check(FUZZ_SAID(kv_check(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL)) == KV_OK,
                 "kv_check after the repair that followed a failed one", call);
}

long fuzz_faults_repair(const fuzz_dbfile *files, size_t n, uint32_t seed)
{
    return fuzz_faults_each_call(files, n, IO_FAULT_ALL, seed, faults_repair_op, faults_repair_check,
                                 NULL) +
           fuzz_faults_each_alloc(files, n, seed, faults_repair_op, faults_repair_check, NULL);
}

/* ---- an open, a write, a close ------------------------------------------------ */

/* ctx: an int, set when the put and the close said KV_OK (the put must
 * then read back after a reopen). */
static int faults_open_op(void *ctx)
{
    int *kept = ctx;
    *kept = 0;
    kv_db *db = NULL;
    int rc = FAULTS_CALL(kv_open(FUZZ_DBFILE_DIR, NULL, &db));
    if (rc != KV_OK)
        return rc;
    rc = FAULTS_CALL(kv_put(db, "fuzz", 4, "value", 5));
    int put = rc == KV_OK;
    if (rc == KV_OK)
        rc = FAULTS_CALL(kv_compact(db));
    if (rc == KV_OK) {
        void *got = NULL;
        size_t len = 0;
        rc = FAULTS_CALL(kv_get(db, "fuzz", 4, &got, &len));
        if (rc == KV_OK && (len != 5 || memcmp(got, "value", 5) != 0))
            faults_check(0, "a put reads back", io_fault_calls());
        kv_free(got);
    }
    int closed = FAULTS_CALL(kv_close(db));
    *kept = put && closed == KV_OK;
    return rc != KV_OK ? rc : closed;
}

static void faults_open_check(void *ctx, int rc, int clean, long call)
{
    const int *kept = ctx;
    (void)rc;
    kv_db *db = NULL;
    int again = FUZZ_SAID(kv_open(FUZZ_DBFILE_DIR, NULL, &db));
    faults_check(again == KV_OK || clean != KV_OK,
                 "an open after a failed open, write or close succeeds as the first did", call);
    if (again != KV_OK)
        return;
    kv_iter *it = NULL;
    if (kv_iter_new(db, &it) == KV_OK) {
        for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
            size_t klen, vlen, got_len = 0;
            const void *key = kv_iter_key(it, &klen);
            const void *val = kv_iter_value(it, &vlen);
            void *got = NULL;
            if (val != NULL && FUZZ_SAID(kv_get(db, key, klen, &got, &got_len)) == KV_OK)
                faults_check(got_len == vlen && memcmp(got, val, vlen) == 0,
                             "kv_get answers as the iterator after a failed open", call);
            kv_free(got);
        }
        kv_iter_free(it);
    }
    if (*kept) {
        void *got = NULL;
        size_t len = 0;
        faults_check(FUZZ_SAID(kv_get(db, "fuzz", 4, &got, &len)) == KV_OK && len == 5 &&
                         memcmp(got, "value", 5) == 0,
                     "a put that said KV_OK, and its close, read back after a reopen", call);
        kv_free(got);
    }
    faults_check(FUZZ_SAID(kv_close(db)) == KV_OK,
                 "a close after the open that followed a failed one", call);
}

long fuzz_faults_open(const fuzz_dbfile *files, size_t n, uint32_t seed)
{
    int kept = 0;
    return fuzz_faults_each_call(files, n, IO_FAULT_ALL, seed, faults_open_op, faults_open_check,
                                 &kept) +
           fuzz_faults_each_alloc(files, n, seed, faults_open_op, faults_open_check, &kept);
}

/* ---- kv_check, kv_dump ---------------------------------------------------------- */

static int faults_tools_op(void *ctx)
{
    (void)ctx;
    int rc = FAULTS_CALL(kv_check(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL));
    if (rc < 0 && rc != KV_ERR_CORRUPT)
        return rc;
    int dumped = FAULTS_CALL(kv_dump_with(FUZZ_DBFILE_DIR, KV_DUMP_FRAMES,
                                          fuzz_dbfile_ignore_line, NULL));
    if (dumped < 0 && dumped != KV_ERR_CORRUPT)
        return dumped;
    kv_options opt;
    kv_options_init(&opt);
    opt.read_only = 1;
    kv_db *db = NULL;
    if (FAULTS_CALL(kv_open(FUZZ_DBFILE_DIR, &opt, &db)) == KV_OK) {
        int inspected = FAULTS_CALL(kv_inspect(db, KV_INSPECT_DETAIL, fuzz_dbfile_ignore_line,
                                               NULL));
        int closed = FAULTS_CALL(kv_close(db));
        if (inspected < 0 && inspected != KV_ERR_CORRUPT)
            return inspected;
        if (closed != KV_OK)
            return closed;
    }
    return rc;
}

static void faults_tools_check(void *ctx, int rc, int clean, long call)
{
    (void)ctx;
    faults_check(rc == clean || rc < 0, "kv_check and kv_dump with a failing read: the "
                 "answer without it, or an error", call);
}

long fuzz_faults_tools(const fuzz_dbfile *files, size_t n, uint32_t seed)
{
    return fuzz_faults_each_call(files, n, IO_FAULT_ALL, seed, faults_tools_op, faults_tools_check,
                                 NULL) +
           fuzz_faults_each_alloc(files, n, seed, faults_tools_op, faults_tools_check, NULL);
}

/* ---- a walk with handles held ------------------------------------------------ */

/* What a walk gave: its entries and the crc32c of their keys and values,
 * in order (the reference's, kept from the first run: fuzz_faults_each_alloc
 * runs the reference first). */
typedef struct faults_walk_ctx {
    int have_reference, reference_opened;
    uint64_t entries;
    uint32_t crc;
} faults_walk_ctx;

/* Walks it from the first key; *entries and *crc get what it gave.  An
 * error kv_iter_status keeps comes with the message of the step that met
 * it (cleared before the walk). */
static int faults_walk_iter(kv_iter *it, uint64_t *entries, uint32_t *crc)
{
    *entries = 0;
    *crc = 0;
    kv_error_clear();
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
        size_t klen, vlen;
        const void *key = kv_iter_key(it, &klen);
        const void *val = kv_iter_value(it, &vlen);
        if (val == NULL)
            break; /* its value could not be read: kv_iter_status says why */
        *crc = crc32c_extend(crc32c_extend(*crc, key, klen), val, vlen);
        (*entries)++;
    }
    return faults_said(fuzz_said_after(kv_iter_status(it)));
}

/* A walk that said KV_OK gave what the reference's did (the first walk of
 * the reference run is the reference). */
static void faults_walk_same(faults_walk_ctx *c, uint64_t entries, uint32_t crc,
                             const char *what)
{
    if (!c->have_reference) {
        c->have_reference = 1;
        c->entries = entries;
        c->crc = crc;
        return;
    }
    faults_check(entries == c->entries && crc == c->crc, what, faults_failing);
}

static int faults_walk_op(void *ctx)
{
    faults_walk_ctx *c = ctx;
    kv_db *db = NULL;
    int rc = FAULTS_CALL(kv_open(FUZZ_DBFILE_DIR, NULL, &db));
    if (!c->have_reference)
        c->reference_opened = rc == KV_OK;
    if (rc != KV_OK)
        return rc;
    const kv_snapshot *snap = NULL;
    kv_iter *at = NULL, *now = NULL;
    uint64_t entries;
    uint32_t crc;
    rc = FAULTS_CALL(kv_snapshot_new(db, &snap));
    if (rc == KV_OK)
        rc = FAULTS_CALL(kv_iter_new_at(db, snap, &at));
    if (rc == KV_OK && (rc = faults_walk_iter(at, &entries, &crc)) == KV_OK)
        faults_walk_same(c, entries, crc, "a walk at a snapshot gives what the reference's did");
    if (rc == KV_OK)
        rc = FAULTS_CALL(kv_iter_new(db, &now));
    if (rc == KV_OK && (rc = faults_walk_iter(now, &entries, &crc)) == KV_OK)
        faults_walk_same(c, entries, crc, "a walk now gives what the reference's did");
    if (rc == KV_OK) {
        char *text = NULL;
        rc = FAULTS_CALL(kv_stats(db, &text));
        kv_free(text);
    }
    if (rc == KV_OK)
        rc = FAULTS_CALL(kv_compact(db));
    if (rc == KV_OK && (rc = faults_walk_iter(at, &entries, &crc)) == KV_OK)
        faults_walk_same(c, entries, crc, "a walk at a snapshot after kv_compact gives what "
                         "the reference's did");
    kv_iter_free(now);
    kv_iter_free(at);
    kv_snapshot_free(db, snap);
    int closed = FAULTS_CALL(kv_close(db));
    return rc != KV_OK ? rc : closed;
}

static void faults_walk_check(void *ctx, int rc, int clean, long call)
{
    faults_walk_ctx *c = ctx;
    (void)rc;
    (void)clean;
    kv_db *db = NULL;
    int again = FUZZ_SAID(kv_open(FUZZ_DBFILE_DIR, NULL, &db));
    faults_check(again == KV_OK || !c->reference_opened,
                 "an open after a refused allocation succeeds as the reference's did", call);
    if (again != KV_OK)
        return;
    kv_iter *it = NULL;
    faults_check(FUZZ_SAID(kv_iter_new(db, &it)) == KV_OK,
                 "kv_iter_new after a refused allocation", call);
    uint64_t entries;
    uint32_t crc;
    if (faults_walk_iter(it, &entries, &crc) == KV_OK && c->have_reference)
        faults_walk_same(c, entries, crc, "after a refused allocation, the database reads as "
                         "the reference's walk did");
    kv_iter_free(it);
    faults_check(FUZZ_SAID(kv_close(db)) == KV_OK, "a close after the open that followed a "
                 "refused allocation", call);
}

long fuzz_faults_walk(const fuzz_dbfile *files, size_t n, uint32_t seed)
{
    faults_walk_ctx c = {0};
    return fuzz_faults_each_alloc(files, n, seed, faults_walk_op, faults_walk_check, &c);
}

long fuzz_faults_alloc_optional(const fuzz_dbfile *files, size_t n, uint32_t seed, unsigned ops,
                                const char *optional)
{
    faults_optional = optional;
    long runs = fuzz_faults_alloc(files, n, seed, ops);
    faults_optional = NULL;
    return runs;
}

long fuzz_faults_alloc(const fuzz_dbfile *files, size_t n, uint32_t seed, unsigned ops)
{
    int kept = 0;
    long runs = 0;
    if (ops & FUZZ_FAULTS_TOOLS)
        runs += fuzz_faults_each_alloc(files, n, seed, faults_tools_op, faults_tools_check, NULL);
    if (ops & FUZZ_FAULTS_REPAIR)
        runs += fuzz_faults_each_alloc(files, n, seed, faults_repair_op, faults_repair_check,
                                       NULL);
    if (ops & FUZZ_FAULTS_OPEN)
        runs += fuzz_faults_each_alloc(files, n, seed, faults_open_op, faults_open_check, &kept);
    return runs;
}
