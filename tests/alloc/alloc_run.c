/*
 * alloc_run.c: the templates, the model and the driver of alloc_run.h.
 */
#include "alloc_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness.h"
#include "../stage_caps.h"
#include "../testdb.h"
#include "alloc_wrap.h"
#include "error.h"

#define ALLOC_SEGMENT_BYTES 2048 /* several segments, for the stages that have them */
#define ALLOC_MAX_RUNS 100000    /* more allocations than this: a loop, surely */

size_t alloc_key(char buf[8], int i) { return (size_t)snprintf(buf, 8, "key%02d", i); }

void alloc_model_put(alloc_model *m, int i, const char *val, size_t len)
{
    memcpy(m->value[i], val, len);
    m->len[i] = (int)len;
}

void alloc_model_delete(alloc_model *m, int i) { m->len[i] = -1; }

int alloc_model_matches(kv_db *db, const alloc_model *m, char *why, size_t n)
{
    for (int i = 0; i < ALLOC_KEYS; i++) {
        char key[8];
        size_t klen = alloc_key(key, i);
        void *val = NULL;
        size_t vlen = 0;
        int rc = kv_get(db, key, klen, &val, &vlen);
        int ok = m->len[i] < 0 ? rc == KV_NOT_FOUND
                               : rc == KV_OK && vlen == (size_t)m->len[i] &&
                                     memcmp(val, m->value[i], vlen) == 0;
        if (rc == KV_OK)
            kv_free(val);
        if (!ok) {
            snprintf(why, n, "%s: kv_get returned %s (%zu bytes); the model says %s (%d bytes)",
                     key, kv_strerror(rc), vlen, m->len[i] < 0 ? "absent" : "a value",
                     m->len[i]);
            return 0;
        }
    }
    return 1;
}

/* ---- templates -------------------------------------------------------------- */

/* A value for key i in round r: its length and bytes depend on both. */
static size_t alloc_value(char *buf, int i, int r)
{
    size_t len = 150 + (size_t)((i * 37 + r * 11) % 200);
    for (size_t j = 0; j < len; j++)
        buf[j] = (char)('a' + (i + r + (int)j) % 26);
    return len;
}

static void alloc_put(kv_db *db, alloc_model *m, int i, int r)
{
    char key[8], val[400];
    size_t klen = alloc_key(key, i), vlen = alloc_value(val, i, r);
    PUT(db, key, klen, val, vlen);
    alloc_model_put(m, i, val, vlen);
}

static void alloc_delete(kv_db *db, alloc_model *m, int i)
{
    char key[8];
    DEL(db, key, alloc_key(key, i));
    alloc_model_delete(m, i);
}

/* A child opens the database, puts one record and dies without kv_close;
 * the file it wrote the record to is cut in the middle of what it wrote
 * there (the file that grew, or the new file if the put rolled over and
 * sealed the one before; not stage 06's manifest or CURRENT, which the
 * open rewrote: stage_caps_is_meta_file).  The model does not change: the cut record is
 * dropped at open. */
static void alloc_tear(const char *dir, const kv_options *opt)
{
    char names[64][256];
    long long sizes[64];
    int n = 0;
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        struct stat st;
        snprintf(names[n], sizeof names[n], "%s", e->d_name);
        if (e->d_name[0] != '.' && stat(harness_join(dir, e->d_name), &st) == 0)
            sizes[n++] = st.st_size;
    }
    closedir(d);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        kv_db *db = NULL;
        static char value[300];
        memset(value, 'T', sizeof value);
        if (kv_open(dir, opt, &db) != KV_OK || kv_put(db, S("torn"), value, sizeof value))
            _exit(1);
        _exit(0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int grown = 0, created = 0;
    const char *cut = NULL;
    long long cut_at = 0;
    d = opendir(dir);
    CHECK(d != NULL);
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        const char *path = harness_join(dir, e->d_name);
        if (e->d_name[0] == '.' || strcmp(e->d_name, "LOCK") == 0 ||
            stage_caps_is_meta_file(e->d_name) || stat(path, &st) != 0)
            continue;
        long long before = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(names[i], e->d_name) == 0)
                before = sizes[i];
        if (st.st_size > before && (before < 0 || !created)) {
            grown++;
            created |= before < 0;
            cut = path;
            cut_at = (before < 0 ? 0 : before) + (st.st_size - (before < 0 ? 0 : before)) / 2;
        }
    }
    closedir(d);
    CHECK_MSG(cut != NULL && (grown == 1 || created), "%d files grew with one put", grown);
    CHECK(truncate(cut, cut_at) == 0);
}

/* Builds the template `from` in dir (not existing yet) and its model. */
static void alloc_template(int from, const char *dir, const kv_options *opt, alloc_model *m)
{
    for (int i = 0; i < ALLOC_KEYS; i++)
        m->len[i] = -1;
    if (from == ALLOC_FROM_NOTHING)
        return;
    kv_db *db = OPEN(dir, opt);
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < ALLOC_KEYS; i++)
            if ((i + r) % 4 != 0 || r == 0)
                alloc_put(db, m, i, r);
    for (int i = 0; i < ALLOC_KEYS; i += 5)
        alloc_delete(db, m, i);
    if (from == ALLOC_FROM_MERGED) {
        CHECK_KV(kv_compact(db), KV_OK);
        for (int i = 1; i < ALLOC_KEYS; i += 6)
            alloc_put(db, m, i, 7);
    }
    CLOSE(db);
    if (from == ALLOC_FROM_TORN)
        alloc_tear(dir, opt);
}

/* ---- copying a directory ------------------------------------------------------- */

static int alloc_rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

/* Makes `to` a copy of `from` (files only; `from` may not exist). */
static void alloc_copy_dir(const char *from, const char *to)
{
    nftw(to, alloc_rm, 16, FTW_DEPTH | FTW_PHYS);
    DIR *d = opendir(from);
    if (d == NULL)
        return;
    CHECK(mkdir(to, 0755) == 0);
    struct dirent *e;
    static char buf[1 << 16];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char src[4096], dst[4096];
        snprintf(src, sizeof src, "%s/%s", from, e->d_name);
        snprintf(dst, sizeof dst, "%s/%s", to, e->d_name);
        int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        CHECK(in >= 0 && out >= 0);
        ssize_t got;
        while ((got = read(in, buf, sizeof buf)) > 0)
            CHECK(write(out, buf, (size_t)got) == got);
        CHECK(got == 0);
        close(in);
        close(out);
    }
    closedir(d);
}

/* ---- the driver ------------------------------------------------------------------ */

static void alloc_line(void *ctx, const char *line)
{
    (void)line;
    ++*(long *)ctx;
}

/* After run n: close, reopen without failures, compare with the models.
 * `failed`: an allocation failed during the operation.  That allocation may
 * have been the background thread's (a flush the open started, under a
 * loaded machine, still running when the operation began): the operation
 * then succeeds, and kv_close reports the flush that failed, as kv.h says a
 * background failure is reported; the reopen below still checks that
 * nothing was lost. */
static void alloc_verify(const alloc_case *c, alloc_env *e, int rc, int failed,
                         const alloc_model *before, const alloc_model *after)
{
    char why[300];
    const alloc_model *now = rc == c->want ? after : before;
    if (e->db != NULL) {
        /* Still open: a failed write shows nothing; the database takes a write. */
        CHECK_MSG(alloc_model_matches(e->db, now, why, sizeof why), "on the open database: %s",
                  why);
        if (!c->read_only) {
            CHECK_KV(kv_put(e->db, S("zz-after"), S("written after the operation")), KV_OK);
            EXPECT(e->db, S("zz-after"), S("written after the operation"));
        }
        int crc = kv_close(e->db);
        e->db = NULL;
        CHECK_MSG(crc == KV_OK || (failed && crc == KV_ERR_NOMEM &&
                                   strstr(kv_errmsg(), "in the background") != NULL),
                  "kv_close returned %s (%s)%s", kv_strerror(crc), kv_errmsg(),
                  failed ? "; only a failure in the background may show here" : "");
    }
    kv_options opt = e->opt;
    opt.strict_recovery = 0;
    opt.read_only = 0;
    kv_db *db = OPEN(e->dir, &opt);
    /* A failed write may be in the log after all: whole, or not at all. */
    int as_now = alloc_model_matches(db, now, why, sizeof why);
    CHECK_MSG(as_now || (now == before && alloc_model_matches(db, after, why, sizeof why)),
              "after a reopen: %s", why);
    CLOSE(db);
    long lines = 0;
    int check = kv_check(e->dir, alloc_line, &lines);
    CHECK_MSG(check == KV_OK, "kv_check after the operation: %s: %s", kv_strerror(check),
              kv_errmsg());
}

void alloc_run_case(const alloc_case *c)
{
    const char *root = harness_tmpdir();
    const char *tmpl = harness_join(root, "template"), *work = harness_join(root, "db");
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = ALLOC_SEGMENT_BYTES;
    opt.sync = c->sync;
    static alloc_model before, after;
    alloc_template(c->from, tmpl, &opt, &before);
    after = before;
    if (c->effect)
        c->effect(&after);

    long n = 1;
    for (; n <= ALLOC_MAX_RUNS; n++) {
        harness_context("%s: allocation %ld of the operation fails", c->name, n);
        alloc_copy_dir(tmpl, work);
        long live = alloc_live();
        alloc_env e = {.dir = work, .opt = opt, .model = &before};
        if (c->needs_open)
            e.db = OPEN(work, &opt);
        e.opt.strict_recovery = c->strict;
        e.opt.read_only = c->read_only;
        kv_error_clear(); /* so that a message after a failure is the operation's */
        alloc_fail_at(n);
        int rc = c->run(&e);
        int failed = alloc_disarm();
        CHECK_MSG(e.problem[0] == '\0', "%s", e.problem);
        /* (A failure the library can do without, it may ride out.) */
        CHECK_MSG(rc == c->want || (failed && rc == KV_ERR_NOMEM),
                  "returned %s (%s)%s; expected %s%s", kv_strerror(rc), kv_errmsg(),
                  failed ? "" : " without any allocation failing", kv_strerror(c->want),
                  failed ? " or KV_ERR_NOMEM" : "");
        if (rc == KV_ERR_NOMEM)
            CHECK_MSG(kv_errmsg()[0] != '\0', "KV_ERR_NOMEM with no kv_errmsg");
        alloc_verify(c, &e, rc, failed, &before, &after);
        long leaked = alloc_live() - live;
        CHECK_MSG(leaked == 0, "%ld block(s) allocated during the run were not freed", leaked);
        if (!failed)
            break;
    }
    harness_context("%s", c->name);
    CHECK_MSG(n <= ALLOC_MAX_RUNS, "still allocating after %d runs", ALLOC_MAX_RUNS);
    printf("    %s: %ld allocation(s), each failed in turn\n", c->name, n - 1);
}
