/*
 * fuzz_io_sweep.c: a database's work with each I/O call failing in turn
 * (see fuzz_io_sweep.h).
 */
#include "fuzz_io_sweep.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"
#include "fuzz_faults.h"
#include "io.h"
#include "io_fault.h"
#include "io_mem.h"
#include "kv.h"

/* The key the works write (and leave out of what they compare). */
static const char faults_key[] = "fuzz-faults";
static const char faults_value[] = "written under failures";

static void faults_check(int ok, const char *what, const char *work, long at, int persistent)
{
    if (!ok) {
        fprintf(stderr, "fuzz_io_sweep invariant broken: %s (%s, I/O call %ld failing%s: %s)\n",
                what, work, at, persistent ? " and every one after it" : "", kv_errmsg());
        abort();
    }
}

/* What a database answers: its iterator from the first key, each key read
 * back with kv_get, the works' own key left out. */
typedef struct faults_held {
    int rc;           /* the open's, then the first failure of the walk */
    uint64_t entries;
    uint32_t crc;
} faults_held;

static int faults_is_own_key(const void *key, size_t klen)
{
    return klen == sizeof faults_key - 1 && memcmp(key, faults_key, klen) == 0;
}

/* Walks db into *h; returns the first failure (KV_OK if none). */
static int faults_walk(kv_db *db, faults_held *h)
{
    h->entries = 0;
    h->crc = 0;
    kv_iter *it = NULL;
    int rc = kv_iter_new(db, &it);
    if (rc != KV_OK)
        return rc;
    for (kv_iter_seek_first(it); rc == KV_OK && kv_iter_valid(it); kv_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const void *key = kv_iter_key(it, &klen);
        const void *val = kv_iter_value(it, &vlen);
        if (val == NULL)
            break; /* its failure is the iterator's status */
        if (faults_is_own_key(key, klen))
            continue;
        uint8_t lens[16];
        coding_put_u64(lens, klen);
        coding_put_u64(lens + 8, vlen);
        h->crc = crc32c_extend(h->crc, lens, sizeof lens);
        h->crc = crc32c_extend(h->crc, key, klen);
        h->crc = crc32c_extend(h->crc, val, vlen);
        h->entries++;
        void *got = NULL;
        size_t got_len = 0;
        rc = kv_get(db, key, klen, &got, &got_len);
        if (rc == KV_OK && (got_len != vlen || memcmp(got, val, vlen) != 0))
            rc = KV_ERR_INVALID; /* never a database's answer here: the check fails */
        kv_free(got);
    }
    if (rc == KV_OK)
        rc = kv_iter_status(it);
    kv_iter_free(it);
    return rc;
}

/* A digest of the directory's files (names, sizes, bytes), LOCK aside:
 * what a work that writes nothing must leave as it found it. */
static uint32_t faults_dir_digest(void)
{
    char **names = NULL;
    size_t n = 0;
    uint32_t crc = 0;
    if (io_list(FUZZ_DBFILE_DIR, &names, &n) != KV_OK)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], "LOCK") == 0)
            continue;
        char path[256];
        snprintf(path, sizeof path, "%s/%s", FUZZ_DBFILE_DIR, names[i]);
        const uint8_t *bytes = NULL;
        size_t len = 0;
        if (io_mem_get(path, &bytes, &len) != 0)
            continue;
        uint8_t size[8];
        coding_put_u64(size, len);
        crc = crc32c_extend(crc, names[i], strlen(names[i]) + 1);
        crc = crc32c_extend(crc, size, sizeof size);
        crc = crc32c_extend(crc, bytes, len);
    }
    io_list_free(names, n);
    return crc;
}

/* What an open with nothing failing finds in the directory now. */
static faults_held faults_reopen(int *own_key_reads_back)
{
    faults_held h = {0};
    kv_db *db = NULL;
    *own_key_reads_back = 0;
    h.rc = kv_open(FUZZ_DBFILE_DIR, NULL, &db);
    if (h.rc != KV_OK)
        return h;
    h.rc = faults_walk(db, &h);
    void *got = NULL;
    size_t got_len = 0;
    *own_key_reads_back = kv_get(db, faults_key, sizeof faults_key - 1, &got, &got_len) ==
                              KV_OK &&
                          got_len == sizeof faults_value &&
                          memcmp(got, faults_value, got_len) == 0;
    kv_free(got);
    kv_close(db);
    return h;
}

/* ---- the works: each returns its first failure, or its answer ---------- */

static int faults_check_work(void)
{
    return kv_check(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL);
}

static int faults_dump_work(void)
{
    return kv_dump(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL);
}

static int faults_read_work(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.read_only = 1;
    kv_db *db = NULL;
    int rc = kv_open(FUZZ_DBFILE_DIR, &opt, &db);
    if (rc != KV_OK)
        return rc;
    faults_held h;
    rc = faults_walk(db, &h);
    /* kv_inspect with its parts' parts, and kv_inspect_get of a key. */
    if (rc == KV_OK)
        rc = kv_inspect(db, KV_INSPECT_DETAIL, fuzz_dbfile_ignore_line, NULL);
    if (rc == KV_OK)
        rc = kv_inspect_get(db, "a", 1, fuzz_dbfile_ignore_line, NULL);
    int crc = kv_close(db);
    return rc != KV_OK ? rc : crc;
}

/* *put_ok: the put said KV_OK and the close too (the key must then read
 * back after a reopen). */
static int faults_write_work(int compact, int *put_ok)
{
    kv_db *db = NULL;
    *put_ok = 0;
    int rc = kv_open(FUZZ_DBFILE_DIR, NULL, &db);
    if (rc != KV_OK)
        return rc;
    faults_held h;
    rc = faults_walk(db, &h);
    for (int i = compact ? 0 : 1; rc == KV_OK && i < 2; i++)
        rc = kv_put(db, faults_key, sizeof faults_key - 1, i ? faults_value : "",
                    i ? sizeof faults_value : 0);
    int put = rc == KV_OK;
    if (rc == KV_ERR_IO) {
        /* Once more, after the failure: it goes in (the failed put was
         * undone), or the database refuses writes until it is reopened. */
        char first[1024];
        snprintf(first, sizeof first, "%s", kv_errmsg());
        int again = kv_put(db, faults_key, sizeof faults_key - 1, faults_value,
                           sizeof faults_value);
        faults_check(again == KV_OK || again == KV_ERR_IO, "a put after a failed put: KV_OK "
                     "or KV_ERR_IO", "an open, a put", -1, 0);
        put = again == KV_OK;
        kv_error(rc, "%s", first);
    }
    if (rc == KV_OK) {
        void *got = NULL;
        size_t got_len = 0;
        rc = kv_get(db, faults_key, sizeof faults_key - 1, &got, &got_len);
        if (rc == KV_OK && (got_len != sizeof faults_value ||
                            memcmp(got, faults_value, got_len) != 0))
            rc = KV_ERR_INVALID; /* never a database's answer here: the check fails */
        kv_free(got);
    }
    if (rc == KV_OK && compact) {
        rc = kv_compact(db);
        if (rc != KV_OK) {
            /* Once more: it finishes what the failed one left (a file it
             * could not remove), or fails in turn; no answer changes. */
            char first[1024];
            snprintf(first, sizeof first, "%s", kv_errmsg());
            int again = kv_compact(db);
            faults_check(again == KV_OK || again == rc || again == KV_ERR_IO,
                         "a kv_compact after a failed one: KV_OK, or an error", "an open, "
                         "kv_compact", -1, 0);
            kv_error(rc, "%s", first);
        }
    }
    if (rc == KV_OK && compact)
        rc = faults_walk(db, &h);
    int crc = kv_close(db);
    *put_ok = put && crc == KV_OK;
    return rc != KV_OK ? rc : crc;
}

static int faults_run(unsigned work, int *put_ok)
{
    *put_ok = 0;
    switch (work) {
    case FUZZ_IO_SWEEP_CHECK: return faults_check_work();
    case FUZZ_IO_SWEEP_DUMP: return faults_dump_work();
    case FUZZ_IO_SWEEP_READ: return faults_read_work();
    case FUZZ_IO_SWEEP_WRITE: return faults_write_work(0, put_ok);
    default: return faults_write_work(1, put_ok);
    }
}

static const char *faults_work_name(unsigned work)
{
    switch (work) {
    case FUZZ_IO_SWEEP_CHECK: return "kv_check";
    case FUZZ_IO_SWEEP_DUMP: return "kv_dump";
    case FUZZ_IO_SWEEP_READ: return "a read-only open";
    case FUZZ_IO_SWEEP_WRITE: return "an open, a put";
    default: return "an open, kv_compact";
    }
}

/* ---- the sweep ----------------------------------------------------------- */

/* One run of `work` over the files placed afresh, call `at` failing (0:
 * none) and, if persistent, every call after it; *calls gets the calls
 * counted. */
static int faults_one(const fuzz_dbfile *files, size_t n, unsigned work, long at,
                      int persistent, long *calls, int *put_ok, uint32_t *before)
{
    fuzz_dbfile_place_files(files, n);
    *before = faults_dir_digest();
    io_fault_plan plan = {.kinds = IO_FAULT_ALL, .fail_at = at, .persistent = persistent,
                          .err = EIO};
    io_fault_install(&plan);
    kv_error_clear();
    int rc = faults_run(work, put_ok);
    *calls = io_fault_calls();
    io_fault_uninstall();
    return rc;
}

/* files[0..n) without the one named `gone`; *m gets how many are left.
 * REQUIRES: n <= FUZZ_IO_SWEEP_FILES. */
static void faults_without(const fuzz_dbfile *files, size_t n, const char *gone,
                           fuzz_dbfile *out, size_t *m)
{
    *m = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(files[i].name, gone) != 0)
            out[(*m)++] = files[i];
}

static void faults_sweep_work(const fuzz_dbfile *files, size_t n, const char *optional,
                              unsigned work, uint32_t seed)
{
    const char *name = faults_work_name(work);
    int writes = work == FUZZ_IO_SWEEP_WRITE || work == FUZZ_IO_SWEEP_COMPACT;
    long calls = 0;
    int put_ok = 0, reads_back = 0;
    uint32_t before = 0;
    /* The answers without a failure: with every file, and (if a file is
     * optional) without that one, as the engine reads the directory when
     * it cannot read that file. */
    long ignored;
    int clean_fewer = KV_OK;
    faults_held want_fewer = {0};
    if (optional != NULL) {
        fuzz_dbfile fewer[FUZZ_IO_SWEEP_FILES];
        size_t nfewer = 0;
        faults_without(files, n, optional, fewer, &nfewer);
        clean_fewer = faults_one(fewer, nfewer, work, 0, 0, &ignored, &put_ok, &before);
        want_fewer = faults_reopen(&reads_back);
    }
    int clean = faults_one(files, n, work, 0, 0, &calls, &put_ok, &before);
    faults_held want = faults_reopen(&reads_back);
    const char *eio = strerror(EIO);
    for (long at = 1 + seed % FUZZ_IO_SWEEP_STRIDE; at <= calls && at <= FUZZ_IO_SWEEP_MOST;
         at += FUZZ_IO_SWEEP_STRIDE) {
        int persistent = (int)((seed / FUZZ_IO_SWEEP_STRIDE + (uint32_t)at) % 2);
        int rc = faults_one(files, n, work, at, persistent, &ignored, &put_ok, &before);
        int as_clean = rc == clean || (optional != NULL && rc == clean_fewer);
        if (!as_clean && !(rc == KV_ERR_IO && strstr(kv_errmsg(), eio) != NULL))
            fprintf(stderr, "fuzz_io_sweep: %s answered %s; with nothing failing %s%s%s\n",
                    name, kv_strerror(rc), kv_strerror(clean), optional ? ", without " : "",
                    optional ? kv_strerror(clean_fewer) : "");
        faults_check(as_clean || (rc == KV_ERR_IO && strstr(kv_errmsg(), eio) != NULL),
                     "a run with a failing I/O call answers as the run without it did "
                     "(or without the optional file), or KV_ERR_IO with that call's message",
                     name, at, persistent);
        if (!writes) {
            faults_check(faults_dir_digest() == before,
                         "a work that writes nothing leaves the files as they were", name, at,
                         persistent);
            continue;
        }
        faults_held got = faults_reopen(&reads_back);
        int same = got.rc == want.rc && got.entries == want.entries && got.crc == want.crc;
        int same_fewer = optional != NULL && got.rc == want_fewer.rc &&
                         got.entries == want_fewer.entries && got.crc == want_fewer.crc;
        faults_check(same || same_fewer,
                     "after a failed write, an open finds what it finds after the same work "
                     "without a failure (or without the optional file)", name, at, persistent);
        faults_check(!put_ok || reads_back,
                     "a put that said KV_OK (and its close) reads back after a reopen", name,
                     at, persistent);
    }
}

void fuzz_io_sweep(const fuzz_dbfile *files, size_t n, const char *optional, unsigned works)
{
    faults_check(n <= FUZZ_IO_SWEEP_FILES, "at most FUZZ_IO_SWEEP_FILES files", "the sweep",
                 0, 0);
    uint32_t seed = 0;
    for (size_t i = 0; i < n; i++)
        seed = crc32c_extend(seed, files[i].data, files[i].size);
    for (unsigned work = 1; work <= FUZZ_IO_SWEEP_COMPACT; work <<= 1)
        if (works & work)
            faults_sweep_work(files, n, optional, work, seed);
    /* The same works with allocations failing: kv_check, kv_dump and a
     * read-only open's kv_inspect; an open that writes; and kv_repair. */
    unsigned ops = FUZZ_FAULTS_REPAIR;
    if (works & (FUZZ_IO_SWEEP_CHECK | FUZZ_IO_SWEEP_DUMP | FUZZ_IO_SWEEP_READ))
        ops |= FUZZ_FAULTS_TOOLS;
    if (works & (FUZZ_IO_SWEEP_WRITE | FUZZ_IO_SWEEP_COMPACT))
        ops |= FUZZ_FAULTS_OPEN;
    fuzz_faults_alloc_optional(files, n, seed, ops, optional);
}
