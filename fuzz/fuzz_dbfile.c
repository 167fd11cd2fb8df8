/*
 * fuzz_dbfile.c: drive a database built from fuzzer bytes (see fuzz_dbfile.h).
 */
#include "fuzz_dbfile.h"

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

static uint8_t *fuzz_identity; /* the stage's IDENTITY file, as kv_open wrote it */
static size_t fuzz_identity_len;

void fuzz_dbfile_ignore_line(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

/* A broken promise: what, and what the last kv call made through
 * FUZZ_SAID said (fuzz_said, fuzz_faults.h: empty if it succeeded, never
 * a message an earlier call left). */
static void fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz invariant broken: %s (the last kv call said: \"%s\")\n", what,
                fuzz_said());
        abort();
    }
}

void fuzz_dbfile_mem_reset(void)
{
    if (io_get_ops() != &io_mem_ops)
        io_set_ops(&io_mem_ops);
    io_mem_reset();
}

void fuzz_dbfile_mem_done(void)
{
    if (io_get_ops() == &io_mem_ops)
        io_mem_reset();
}

void fuzz_dbfile_mem_file(const char *path, const uint8_t *data, size_t size, io_file **f)
{
    fuzz_check(io_mem_put(path, data, size) == 0 && io_open(path, IO_READ, f) == KV_OK,
               "an input file in memory");
}

int fuzz_dbfile_sampled(const uint8_t *data, size_t size)
{
    return fuzz_dbfile_sampled_rarely(data, size, 1);
}

int fuzz_dbfile_every(void)
{
    static int every = -1;
    if (every < 0) {
        const char *e = getenv("KV_FUZZ_ENGINE");
        every = e != NULL && strcmp(e, "all") == 0;
    }
    return every;
}

int fuzz_dbfile_sampled_rarely(const uint8_t *data, size_t size, unsigned n)
{
    return fuzz_dbfile_every() || crc32c_value(data, size) % (FUZZ_DBFILE_SAMPLE * n) == 0;
}

const char *fuzz_dbfile_table_name(void)
{
    return strncmp(kv_stage(), "06", 2) < 0 ? "000000000001-999999999999.tbl" : "000001.tbl";
}

int fuzz_dbfile_exists(const char *name)
{
    char path[256];
    const uint8_t *bytes;
    size_t n;
    snprintf(path, sizeof path, "%s/%s", FUZZ_DBFILE_DIR, name);
    return io_mem_get(path, &bytes, &n) == 0;
}

const char *fuzz_dbfile_second_table_name(void)
{
    return strncmp(kv_stage(), "06", 2) < 0 ? NULL : "000002.tbl";
}

const char *fuzz_dbfile_leftover_name(int i)
{
    if (strncmp(kv_stage(), "06", 2) >= 0)
        return i == 0 ? "000009.tbl.tmp" : NULL;
    return i == 0 ? "000000000001-000000000002.tbl" : i == 1 ? "000000000001-999999999999.tbl.tmp"
                                                   : NULL;
}

static void fuzz_free_identity(void)
{
    free(fuzz_identity);
}

/* Every key the iterator yields must read back, through kv_get, as the
 * iterator's value; keys must come in strictly increasing order.  If d is
 * not NULL, it gets what the iterator gave (fuzz_dbfile_digest). */
static void fuzz_walk(kv_db *db, fuzz_dbfile_digest *d)
{
    if (d != NULL)
        *d = (fuzz_dbfile_digest){0};
    kv_iter *it = NULL;
    if (kv_iter_new(db, &it) != KV_OK)
        return;
    unsigned char *prev = NULL;
    size_t prev_len = 0;
    uint32_t crc = 0;
    uint64_t entries = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
        size_t klen, vlen;
        const void *key = kv_iter_key(it, &klen);
        const void *val = kv_iter_value(it, &vlen);
        if (val == NULL)
            break;
        if (prev != NULL) {
            int c = memcmp(prev, key, prev_len < klen ? prev_len : klen);
            fuzz_check(c < 0 || (c == 0 && prev_len < klen), "iterator order");
        }
        free(prev);
        prev = malloc(klen);
        fuzz_check(prev != NULL, "malloc");
        memcpy(prev, key, klen);
        prev_len = klen;
        uint8_t lens[16];
        coding_put_u64(lens, klen);
        coding_put_u64(lens + 8, vlen);
        crc = crc32c_extend(crc, lens, sizeof lens);
        crc = crc32c_extend(crc, key, klen);
        crc = crc32c_extend(crc, val, vlen);
        entries++;
        void *got = NULL;
        size_t got_len = 0;
        int rc = FUZZ_SAID(kv_get(db, key, klen, &got, &got_len));
        if (rc == KV_OK)
            fuzz_check(got_len == vlen && memcmp(got, val, vlen) == 0,
                       "kv_get differs from the iterator");
        else
            fuzz_check(rc < 0, "kv_get says not found for a key the iterator has");
        kv_free(got);
    }
    if (d != NULL)
        *d = (fuzz_dbfile_digest){.whole = kv_iter_status(it) == KV_OK && !kv_iter_valid(it),
                                  .entries = entries, .crc = crc};
    free(prev);
    kv_iter_free(it);
}

/* The last "answer" line of a kv_inspect_get. */
static void fuzz_answer_line(void *ctx, const char *line)
{
    if (strncmp(line, "answer ", 7) == 0)
        snprintf(ctx, 64, "%s", line);
}

/* kv_inspect of the open database, with and without its parts' parts
 * (the records of each log, the blocks of each table), then kv_inspect_get
 * of its first and last keys and of a key it does not hold: each get's
 * answer line must say what kv_get says. */
static void fuzz_inspect(kv_db *db)
{
    int rc = FUZZ_SAID(kv_inspect(db, 0, fuzz_dbfile_ignore_line, NULL));
    fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT, "kv_inspect: KV_OK or KV_ERR_CORRUPT");
    rc = FUZZ_SAID(kv_inspect(db, KV_INSPECT_DETAIL, fuzz_dbfile_ignore_line, NULL));
    fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT, "kv_inspect with detail: KV_OK or "
               "KV_ERR_CORRUPT");
    kv_iter *it = NULL;
    if (kv_iter_new(db, &it) != KV_OK)
        return;
    for (int i = 0; i < 3; i++) {
        size_t klen = 4;
        const void *key = "\xff\xff\xff\xff"; /* i == 2: a key the seeds never hold */
        if (i < 2) {
            if (i == 0)
                kv_iter_seek_first(it);
            else
                kv_iter_seek_last(it);
            if (!kv_iter_valid(it))
                continue;
            key = kv_iter_key(it, &klen);
        }
        char said[64] = "", want[64];
        void *got = NULL;
        size_t got_len = 0;
        int get_rc = kv_get(db, key, klen, &got, &got_len);
        kv_free(got);
        if (kv_inspect_get(db, key, klen, fuzz_answer_line, said) != KV_OK || get_rc < 0)
            continue; /* damage: each may meet it, or not */
        if (get_rc == KV_OK)
            snprintf(want, sizeof want, "answer result=found vlen=%zu", got_len);
        else
            snprintf(want, sizeof want, "answer result=not_found");
        fuzz_check(strcmp(said, want) == 0, "kv_inspect_get answers as kv_get does");
    }
    kv_iter_free(it);
}

/* The directory emptied, then IDENTITY and the files in it. */
static void fuzz_dbfile_place(const fuzz_dbfile *files, size_t n)
{
    io_mem_reset();
    fuzz_check(io_mem_put(FUZZ_DBFILE_DIR "/IDENTITY", fuzz_identity, fuzz_identity_len) == 0,
               "write IDENTITY");
    for (size_t i = 0; i < n; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", FUZZ_DBFILE_DIR, files[i].name);
        fuzz_check(io_mem_put(path, files[i].data, files[i].size) == 0, "write an input file");
    }
}

void fuzz_dbfile_place_files(const fuzz_dbfile *files, size_t n)
{
    fuzz_check(fuzz_identity != NULL, "fuzz_dbfile_run_files first");
    if (io_get_ops() != &io_mem_ops)
        io_set_ops(&io_mem_ops);
    fuzz_dbfile_place(files, n);
}

int fuzz_dbfile_run_files(const fuzz_dbfile *files, size_t n)
{
    /* The harness's own files, if it has any, stay where they were. */
    const io_ops *prev = io_set_ops(&io_mem_ops);
    if (fuzz_identity == NULL) {
        /* The directory must say which stage wrote it, or every stage
         * refuses it: keep what a first open writes, for every input. */
        fuzz_dbfile_mem_reset();
        kv_db *db = NULL;
        fuzz_check(io_mkdir("/kvfuzz") == KV_OK, "mkdir");
        fuzz_check(FUZZ_SAID(kv_open(FUZZ_DBFILE_DIR, NULL, &db)) == KV_OK &&
                       FUZZ_SAID(kv_close(db)) == KV_OK,
                   "create an empty database");
        const uint8_t *id;
        fuzz_check(io_mem_get(FUZZ_DBFILE_DIR "/IDENTITY", &id, &fuzz_identity_len) == 0,
                   "read IDENTITY");
        fuzz_identity = malloc(fuzz_identity_len);
        fuzz_check(fuzz_identity != NULL, "malloc");
        memcpy(fuzz_identity, id, fuzz_identity_len);
        atexit(fuzz_free_identity);
    }
    fuzz_dbfile_place(files, n);

    kv_check(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL);
    kv_dump(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL);

    kv_options opt;
    kv_options_init(&opt);
    opt.read_only = 1;
    kv_db *db = NULL;
    if (kv_open(FUZZ_DBFILE_DIR, &opt, &db) == KV_OK) {
        fuzz_walk(db, NULL);
        fuzz_inspect(db);
        fuzz_check(FUZZ_SAID(kv_close(db)) == KV_OK, "close read-only");
    }
    kv_options_init(&opt);
    opt.strict_recovery = 1;
    if (kv_open(FUZZ_DBFILE_DIR, &opt, &db) == KV_OK)
        kv_close(db);
    int opened = kv_open(FUZZ_DBFILE_DIR, NULL, &db) == KV_OK;
    if (opened) {
        fuzz_walk(db, NULL);
        /* A write must go in, unless the database refuses writes as such
         * (KV_ERR_INVALID: its sequence numbers are used up, say). */
        int rc = FUZZ_SAID(kv_put(db, "fuzz", 4, "value", 5));
        fuzz_check(rc == KV_OK || rc == KV_ERR_INVALID, "put after a successful open");
        void *got = NULL;
        size_t got_len = 0;
        if (rc == KV_OK)
            fuzz_check(FUZZ_SAID(kv_get(db, "fuzz", 4, &got, &got_len)) == KV_OK && got_len == 5 &&
                           memcmp(got, "value", 5) == 0, "read back the put");
        kv_free(got);
        fuzz_check(FUZZ_SAID(kv_close(db)) == KV_OK, "close");
        /* What was cut or kept at the first open must open again. */
        fuzz_check(FUZZ_SAID(kv_open(FUZZ_DBFILE_DIR, NULL, &db)) == KV_OK,
                   "reopen after a successful open");
        kv_close(db);
    }
    io_set_ops(prev);
    return opened;
}

/* A write after kv_repair must read back: what the repair kept is older
 * than anything written after it (the first key the database holds is
 * written again, so a sequence number the repair set too low shows). */
static void fuzz_write_after_repair(kv_db *db)
{
    static const char value[] = "written after kv_repair";
    kv_iter *it = NULL;
    fuzz_check(FUZZ_SAID(kv_iter_new(db, &it)) == KV_OK, "an iterator after kv_repair");
    kv_iter_seek_first(it);
    size_t klen = 4;
    const void *key = "fuzz";
    if (kv_iter_valid(it))
        key = kv_iter_key(it, &klen);
    int rc = FUZZ_SAID(kv_put(db, key, klen, value, sizeof value));
    fuzz_check(rc == KV_OK || rc == KV_ERR_INVALID, "a put after kv_repair");
    void *got = NULL;
    size_t got_len = 0;
    if (rc == KV_OK)
        fuzz_check(FUZZ_SAID(kv_get(db, key, klen, &got, &got_len)) == KV_OK &&
                       got_len == sizeof value &&
                       memcmp(got, value, sizeof value) == 0,
                   "a put after kv_repair reads back (newer than what the repair kept)");
    kv_free(got);
    kv_iter_free(it);
}

static int fuzz_repair_here(fuzz_dbfile_digest *held);

int fuzz_dbfile_repair_held(const fuzz_dbfile *files, size_t n, fuzz_dbfile_digest *held)
{
    const io_ops *prev = io_set_ops(&io_mem_ops);
    fuzz_check(fuzz_identity != NULL, "fuzz_dbfile_run_files first");
    fuzz_dbfile_place(files, n);
    int repaired = fuzz_repair_here(held);
    io_set_ops(prev);
    return repaired;
}

/* kv_repair of the directory as it is, and its promise (above). */
static int fuzz_repair_here(fuzz_dbfile_digest *held)
{
    int repaired = FUZZ_SAID(kv_repair(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL)) == KV_OK;
    if (repaired) {
        kv_options opt;
        kv_options_init(&opt);
        opt.strict_recovery = 1;
        kv_db *db = NULL;
        fuzz_check(FUZZ_SAID(kv_open(FUZZ_DBFILE_DIR, &opt, &db)) == KV_OK,
                   "a strict open after kv_repair");
        if (held != NULL)
            fuzz_walk(db, held);
        fuzz_write_after_repair(db);
        fuzz_check(FUZZ_SAID(kv_close(db)) == KV_OK, "close after kv_repair");
        fuzz_check(FUZZ_SAID(kv_check(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL)) == KV_OK,
                   "kv_check after kv_repair");
    }
    return repaired;
}

int fuzz_dbfile_check_files(const fuzz_dbfile *files, size_t n,
                            void (*line)(void *ctx, const char *line), void *ctx)
{
    const io_ops *prev = io_set_ops(&io_mem_ops);
    fuzz_check(fuzz_identity != NULL, "fuzz_dbfile_run_files first");
    fuzz_dbfile_place(files, n);
    int rc = kv_check(FUZZ_DBFILE_DIR, line, ctx);
    io_set_ops(prev);
    return rc;
}

/* What a tool on a failing disk may answer (fuzz_dbfile_tools_faulted),
 * rc from a call through FUZZ_SAID. */
static void fuzz_faulted_answer(int rc, const char *what)
{
    /* (kv_check's KV_CHECK_WILL_CUT, above KV_OK, is no error.) */
    fuzz_check(rc >= KV_OK || rc == KV_ERR_CORRUPT ||
               (io_fault_failures() > 0 && fuzz_said()[0] != '\0'), what);
}

long fuzz_dbfile_tools_faulted(const fuzz_dbfile *files, size_t n, const io_fault_plan *plan)
{
    const io_ops *prev = io_set_ops(&io_mem_ops);
    fuzz_check(fuzz_identity != NULL, "fuzz_dbfile_run_files first");
    fuzz_dbfile_place(files, n);
    io_fault_install(plan);
    fuzz_faulted_answer(FUZZ_SAID(kv_check(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL)),
                        "kv_check on a failing disk answers KV_OK, KV_ERR_CORRUPT, or the "
                        "error with a message");
    fuzz_faulted_answer(FUZZ_SAID(kv_dump(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL)),
                        "kv_dump on a failing disk answers KV_OK, KV_ERR_CORRUPT, or the "
                        "error with a message");
    fuzz_faulted_answer(FUZZ_SAID(kv_repair(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL)),
                        "kv_repair on a failing disk answers KV_OK, KV_ERR_CORRUPT, or the "
                        "error with a message");
    long calls = io_fault_calls();
    io_fault_uninstall();
    io_set_ops(prev);
    return calls;
}

void fuzz_dbfile_repair_faulted(const fuzz_dbfile *files, size_t n, unsigned tries,
                                unsigned alloc_ops, uint32_t salt)
{
    const io_ops *prev = io_set_ops(&io_mem_ops);
    fuzz_check(fuzz_identity != NULL, "fuzz_dbfile_run_files first");
    fuzz_dbfile_place(files, n);
    fuzz_faults_io_fail(0, 0);
    (void)kv_repair(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL);
    long calls = io_fault_calls();
    io_fault_uninstall();
    long step;
    for (long nth = fuzz_faults_spread(calls, tries, salt, &step); tries > 0 && nth <= calls;
         nth += step) {
        fuzz_dbfile_place(files, n);
        fuzz_faults_io_fail(nth, 0);
        int rc = FUZZ_SAID(kv_check(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL));
        /* (KV_CHECK_WILL_CUT, above KV_OK, is no error.) */
        fuzz_check(rc >= KV_OK || fuzz_said()[0] != '\0', "a kv_check that fails says why");
        fuzz_faults_io_fail(nth, 0);
        rc = FUZZ_SAID(kv_dump(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL));
        fuzz_check(rc == KV_OK || rc < 0, "kv_dump: its answers");
        fuzz_faults_io_fail(nth, 0);
        rc = FUZZ_SAID(kv_repair(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL));
        io_fault_uninstall();
        fuzz_check(rc == KV_OK || fuzz_said()[0] != '\0', "a kv_repair that fails says why");
        kv_check(FUZZ_DBFILE_DIR, fuzz_dbfile_ignore_line, NULL);
        fuzz_repair_here(NULL);
    }
    fuzz_faults_alloc(files, n, salt, alloc_ops);
    io_set_ops(prev);
}

void fuzz_dbfile_repair_files(const fuzz_dbfile *files, size_t n)
{
    fuzz_dbfile_repair_held(files, n, NULL);
}

void fuzz_dbfile_repair(const char *name, const uint8_t *data, size_t size)
{
    fuzz_dbfile f = {name, data, size};
    fuzz_dbfile_repair_files(&f, 1);
}

int fuzz_dbfile_run(const char *name, const uint8_t *data, size_t size)
{
    fuzz_dbfile f = {name, data, size};
    return fuzz_dbfile_run_files(&f, 1);
}

/* What a database answered before a kv_compact: each key the iterator
 * gave whose kv_get succeeded, with its value's crc32c and length. */
typedef struct fuzz_answers {
    uint8_t *keys;          /* back to back */
    size_t keys_len, keys_cap;
    struct fuzz_answer {
        size_t at, klen, vlen;
        uint32_t crc;
    } *a;
    size_t n, cap;
} fuzz_answers;

static void fuzz_answers_take(kv_db *db, fuzz_answers *w)
{
    kv_iter *it = NULL;
    if (kv_iter_new(db, &it) != KV_OK)
        return;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
        size_t klen;
        const void *key = kv_iter_key(it, &klen);
        void *got = NULL;
        size_t got_len = 0;
        if (kv_get(db, key, klen, &got, &got_len) != KV_OK)
            continue;
        if (w->n == w->cap) {
            w->cap = w->cap ? 2 * w->cap : 16;
            w->a = realloc(w->a, w->cap * sizeof *w->a);
            fuzz_check(w->a != NULL, "malloc");
        }
        if (w->keys_len + klen > w->keys_cap) {
            w->keys_cap = 2 * (w->keys_len + klen);
            w->keys = realloc(w->keys, w->keys_cap);
            fuzz_check(w->keys != NULL, "malloc");
        }
        memcpy(w->keys + w->keys_len, key, klen);
        w->a[w->n++] = (struct fuzz_answer){w->keys_len, klen, got_len,
                                            crc32c_value(got, got_len)};
        w->keys_len += klen;
        kv_free(got);
    }
    kv_iter_free(it);
}

/* Whether a file of the directory has a temporary name (.tmp: a file being
 * written, which an open that may write removes). */
static int fuzz_tmp_left(void)
{
    char **names = NULL;
    size_t n = 0;
    int left = 0;
    if (io_list(FUZZ_DBFILE_DIR, &names, &n) != KV_OK)
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        left |= len >= 4 && strcmp(names[i] + len - 4, ".tmp") == 0;
    }
    io_list_free(names, n);
    return left;
}

/* Every answer of before, asked again after a kv_compact: the same value,
 * or (if the compaction failed: whole said it did not) an error; never
 * "not found". */
static void fuzz_answers_check(kv_db *db, const fuzz_answers *before, int whole)
{
    for (size_t i = 0; i < before->n; i++) {
        const struct fuzz_answer *a = &before->a[i];
        void *got = NULL;
        size_t got_len = 0;
        int rc = FUZZ_SAID(kv_get(db, before->keys + a->at, a->klen, &got, &got_len));
        if (rc == KV_OK)
            fuzz_check(got_len == a->vlen && crc32c_value(got, got_len) == a->crc,
                       "kv_get after kv_compact answers as before it");
        else
            fuzz_check(rc < 0 && !whole, "kv_get after a kv_compact that said KV_OK reads "
                       "what it read before");
        kv_free(got);
    }
}

void fuzz_dbfile_compact_files(const fuzz_dbfile *files, size_t n)
{
    const io_ops *prev = io_set_ops(&io_mem_ops);
    fuzz_check(fuzz_identity != NULL, "fuzz_dbfile_run_files first");
    fuzz_dbfile_place(files, n);
    kv_db *db = NULL;
    if (kv_open(FUZZ_DBFILE_DIR, NULL, &db) == KV_OK) {
        /* A key written twice: something for the compaction to reclaim
         * (stage 02's merge of a database whose every byte is live does
         * nothing), and the answers taken after it. */
        for (int i = 0; i < 2; i++) {
            int rc = FUZZ_SAID(kv_put(db, "fuzz", 4, i ? "2" : "1", 1));
            fuzz_check(rc == KV_OK || rc == KV_ERR_INVALID, "a put before kv_compact");
        }
        fuzz_answers before = {0};
        fuzz_answers_take(db, &before);
        int rc = FUZZ_SAID(kv_compact(db));
        fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT, "kv_compact: KV_OK or KV_ERR_CORRUPT");
        if (rc != KV_OK)
            fuzz_check(!fuzz_tmp_left(), "a kv_compact that failed leaves no file of its own");
        fuzz_answers_check(db, &before, rc == KV_OK);
        fuzz_walk(db, NULL);
        kv_close(db);
        fuzz_check(FUZZ_SAID(kv_open(FUZZ_DBFILE_DIR, NULL, &db)) == KV_OK,
                   "an open after kv_compact");
        fuzz_answers_check(db, &before, rc == KV_OK);
        fuzz_walk(db, NULL);
        kv_close(db);
        free(before.a);
        free(before.keys);
    }
    io_set_ops(prev);
}
