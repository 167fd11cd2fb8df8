/*
 * kvg_sweep.c: rung 5, the black-box corruption sweep.  A small database
 * is written (puts, overwrites, deletes, an empty value, a key holding a
 * NUL, an MSET if the engine has one, three values of ~460 bytes, a
 * single put last: the shape of tests/sweep.c's), the engine stopped
 * cleanly, and its files saved.  Then, case by case, one file is damaged
 * in a copy: one byte XORed with 0xFF (a flip), or the file cut to a
 * length (a cut), every byte of a small database, a sample of a large
 * one (the first and last 16 bytes of each file always).  The engine is
 * started on the copy and every key is read back (RANGE, then GET each).
 *
 * Accepted: a clear refusal (an error reply, or the engine exits with a
 * non-zero status), or the right data.  Also accepted, as in
 * tests/sweep.c, the state a torn last write leaves, where the damage can
 * be one: kvgrade lists the directory after each acknowledged write, and
 * "the last file" L is the one file that grew during the last write (kept,
 * same inode, no shorter, by the clean stop); a cut of L may drop the
 * writes whose bytes it cut, a flip inside the last write's bytes may
 * drop that write.  Anything else (a wrong value, a resurrected delete, a
 * lost key, an invented one), a crash (a signal), or a hang fails.  The
 * engine's format stays its own business: only what it answers counts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvgrade.h"

typedef struct sweep_file {
    char *path;                  /* relative to the database directory */
    ino_t ino;
    off_t size;
    unsigned char *bytes;        /* the saved content (final listing only) */
} sweep_file;

typedef struct sweep_listing {
    size_t writes;               /* model writes acknowledged when it was taken */
    sweep_file *f;
    size_t n;
} sweep_listing;

typedef struct sweep_state {
    const char *dir;
    sweep_listing *lists;
    size_t nlists, cap;
} sweep_state;

static void list_walk(const char *root, const char *rel, sweep_listing *out, int read_bytes)
{
    char *path = rel[0] ? kvg_printf("%s/%s", root, rel) : kvg_strdup(root);
    DIR *d = opendir(path);
    if (d == NULL) {
        free(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *r = rel[0] ? kvg_printf("%s/%s", rel, e->d_name) : kvg_strdup(e->d_name);
        char *full = kvg_printf("%s/%s", root, r);
        struct stat st;
        if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
            list_walk(root, r, out, read_bytes);
            free(r);
        } else if (lstat(full, &st) == 0 && S_ISREG(st.st_mode)) {
            out->f = kvg_realloc(out->f, (out->n + 1) * sizeof *out->f);
            sweep_file *sf = &out->f[out->n++];
            sf->path = r;
            sf->ino = st.st_ino;
            sf->size = st.st_size;
            sf->bytes = NULL;
            if (read_bytes) {
                sf->bytes = kvg_alloc((size_t)st.st_size + 1);
                int fd = open(full, O_RDONLY);
                ssize_t got = fd >= 0 ? pread(fd, sf->bytes, (size_t)st.st_size, 0) : -1;
                if (fd >= 0)
                    close(fd);
                if (got != st.st_size)
                    sf->size = got > 0 ? got : 0;
            }
        } else {
            free(r);
        }
        free(full);
    }
    closedir(d);
    free(path);
}

static void listing_free(sweep_listing *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->f[i].path);
        free(l->f[i].bytes);
    }
    free(l->f);
    memset(l, 0, sizeof *l);
}

static void sweep_after_write(void *arg, size_t writes)
{
    sweep_state *s = arg;
    if (s->nlists == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->lists = kvg_realloc(s->lists, s->cap * sizeof *s->lists);
    }
    sweep_listing *l = &s->lists[s->nlists++];
    memset(l, 0, sizeof *l);
    l->writes = writes;
    list_walk(s->dir, "", l, 0);
}

static const sweep_file *listing_find(const sweep_listing *l, const char *path)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->f[i].path, path) == 0)
            return &l->f[i];
    return NULL;
}

/* ---- the database ---------------------------------------------------------- */

static void sweep_put(kvg_steps *l, const char *key, size_t klen, size_t vlen, int *op)
{
    char head[24];
    int hn = snprintf(head, sizeof head, "op%d-", ++*op);
    kvg_buf v = {kvg_alloc(vlen + (size_t)hn + 1), 0};
    if (vlen > 0) {
        memcpy(v.p, head, (size_t)hn);
        v.n = (size_t)hn;
        for (; v.n < vlen; v.n++)
            v.p[v.n] = (unsigned char)('a' + (v.n * 7 + (size_t)*op) % 26);
    }
    kvg_buf argv[3] = {kvg_buf_str("SET"), kvg_buf_of(key, klen), v};
    kvg_steps_add_req(l, KVG_ST_SEND, 3, argv);
    for (int i = 0; i < 3; i++)
        kvg_buf_free(&argv[i]);
}

static void sweep_del(kvg_steps *l, const char *key, size_t klen, int *op)
{
    ++*op;
    kvg_buf argv[2] = {kvg_buf_str("DEL"), kvg_buf_of(key, klen)};
    kvg_steps_add_req(l, KVG_ST_SEND, 2, argv);
    kvg_buf_free(&argv[0]);
    kvg_buf_free(&argv[1]);
}

#define K(s) s, sizeof(s) - 1

static void sweep_build(kvg_steps *l, int has_mset)
{
    int op = 0;
    kvg_steps_add(l, KVG_ST_START);
    sweep_put(l, K("big0"), 460, &op);
    sweep_put(l, K("k0"), 8, &op);
    sweep_put(l, K("k1"), 12, &op);
    sweep_put(l, K("big1"), 450, &op);
    sweep_put(l, K("k2"), 0, &op);
    sweep_put(l, K("k0"), 20, &op);
    sweep_del(l, K("k1"), &op);
    sweep_put(l, K("k3"), 10, &op);
    sweep_put(l, K("big2"), 470, &op);
    sweep_put(l, K("big0"), 455, &op);
    if (has_mset) {
        kvg_buf argv[7] = {kvg_buf_str("MSET"), kvg_buf_str("k4"), kvg_buf_str("op-m-four"),
                           kvg_buf_str("k1"), kvg_buf_str("op-m-one-again"), kvg_buf_of("n\0l", 3),
                           kvg_buf_str("op-m-nul")};
        kvg_steps_add_req(l, KVG_ST_SEND, 7, argv);
        for (int i = 0; i < 7; i++)
            kvg_buf_free(&argv[i]);
    } else {
        sweep_put(l, K("k4"), 9, &op);
        sweep_put(l, K("k1"), 14, &op);
        sweep_put(l, K("n\0l"), 6, &op);
    }
    sweep_del(l, K("k3"), &op);
    sweep_put(l, K("k5"), 16, &op);
    sweep_del(l, K("k2"), &op);
    sweep_put(l, K("k6"), 5, &op);
    sweep_put(l, K("k0"), 11, &op);
    sweep_put(l, K("k7"), 25, &op);
    sweep_del(l, K("k6"), &op);
    sweep_put(l, K("k2"), 13, &op);
    sweep_put(l, K("big1"), 30, &op);
    sweep_put(l, K("k3"), 17, &op);
    sweep_put(l, K("k8"), 40, &op);
    sweep_put(l, K("k9"), 35, &op);
    sweep_put(l, K("k6"), 50, &op);
    sweep_del(l, K("n\0l"), &op);
    sweep_put(l, K("k7"), 60, &op);
    sweep_put(l, K("k2"), 45, &op);
    sweep_del(l, K("k9"), &op);
    sweep_put(l, K("k0"), 15, &op);
    kvg_steps_add(l, KVG_ST_CLOSE);
}

/* ---- the torn-tail rule ------------------------------------------------------- */

typedef struct sweep_tail {
    const char *path;            /* L, or NULL: no torn tail anywhere */
    size_t nw;
    size_t *from_writes;         /* write group k: the model writes before it */
    off_t *lo, *hi;              /* the bytes of L it wrote */
} sweep_tail;

static void sweep_find_tail(const sweep_state *s, const sweep_listing *final, sweep_tail *t)
{
    memset(t, 0, sizeof *t);
    if (s->nlists < 2)
        return;
    const sweep_listing *last = &s->lists[s->nlists - 1], *prev = &s->lists[s->nlists - 2];
    const sweep_file *L = NULL;
    for (size_t i = 0; i < last->n; i++) {
        const sweep_file *b = listing_find(prev, last->f[i].path);
        if (b == NULL || b->ino != last->f[i].ino || last->f[i].size > b->size) {
            if (L != NULL)
                return; /* two files grew: no single last file */
            L = &last->f[i];
        }
    }
    if (L == NULL)
        return;
    const sweep_file *F = listing_find(final, L->path);
    if (F == NULL || F->ino != L->ino || F->size < L->size)
        return;
    t->path = L->path;
    t->from_writes = kvg_alloc(s->nlists * sizeof *t->from_writes);
    t->lo = kvg_alloc(s->nlists * sizeof *t->lo);
    t->hi = kvg_alloc(s->nlists * sizeof *t->hi);
    for (size_t k = s->nlists - 1; k >= 1; k--) {
        const sweep_file *a = listing_find(&s->lists[k], L->path);
        const sweep_file *b = listing_find(&s->lists[k - 1], L->path);
        if (a == NULL || a->ino != L->ino)
            break;
        if (b == NULL || b->ino != L->ino) { /* made by this write */
            t->from_writes[t->nw] = s->lists[k - 1].writes;
            t->lo[t->nw] = 0;
            t->hi[t->nw++] = a->size;
            break;
        }
        if (a->size < b->size)
            break;
        if (a->size > b->size) {
            t->from_writes[t->nw] = s->lists[k - 1].writes;
            t->lo[t->nw] = b->size;
            t->hi[t->nw++] = a->size;
        }
    }
}

/* The writes a torn tail may keep after this damage, or -1. */
static long long sweep_allow(const sweep_tail *t, const char *path, int cut, off_t at)
{
    if (t->path == NULL || strcmp(t->path, path) != 0 || t->nw == 0)
        return -1;
    if (cut) {
        /* the earliest write to L whose bytes end after `at` (t is newest first) */
        long long allow = -1;
        for (size_t k = 0; k < t->nw; k++)
            if (t->hi[k] > at)
                allow = (long long)t->from_writes[k];
        return allow;
    }
    return at >= t->lo[0] && at < t->hi[0] ? (long long)t->from_writes[0] : -1;
}

/* ---- the cases ------------------------------------------------------------------ */

static int sweep_restore(const char *dir, const sweep_listing *final)
{
    for (size_t i = 0; i < final->n; i++) {
        char *path = kvg_printf("%s/%s", dir, final->f[i].path);
        for (char *p = path + strlen(dir) + 1; *p; p++)
            if (*p == '/') {
                *p = '\0';
                mkdir(path, 0755);
                *p = '/';
            }
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int ok = fd >= 0 && (final->f[i].size == 0 ||
                             write(fd, final->f[i].bytes, (size_t)final->f[i].size) == final->f[i].size);
        if (fd >= 0)
            close(fd);
        free(path);
        if (!ok)
            return -1;
    }
    return 0;
}

typedef struct sweep_case {
    size_t file;
    int cut;
    off_t at;
} sweep_case;

static int case_cmp(const void *a, const void *b)
{
    const sweep_case *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    if (x->cut != y->cut)
        return x->cut - y->cut;
    return (x->at > y->at) - (x->at < y->at);
}

/* Every byte if the budget allows, else the ends of each file and a
 * random sample in between, in proportion to the file sizes. */
static sweep_case *sweep_cases(const sweep_listing *final, size_t budget, uint64_t *rng, size_t *n)
{
    off_t total = 0;
    for (size_t i = 0; i < final->n; i++)
        total += final->f[i].size;
    sweep_case *c = kvg_alloc(((size_t)total * 2 + budget + 64) * sizeof *c);
    *n = 0;
    int all = (size_t)total * 2 <= budget;
    for (size_t i = 0; i < final->n; i++) {
        off_t size = final->f[i].size;
        for (int cut = 0; cut < 2; cut++) {
            if (all) {
                for (off_t p = 0; p < size; p++)
                    c[(*n)++] = (sweep_case){i, cut, p};
                continue;
            }
            size_t share = total > 0 ? (size_t)((double)budget / 2 * (double)size / (double)total) : 0;
            size_t start = *n;
            for (off_t p = 0; p < size; p++)
                if (p < 16 || p >= size - 16)
                    c[(*n)++] = (sweep_case){i, cut, p};
            for (size_t k = 0; k < share && size > 32; k++)
                c[(*n)++] = (sweep_case){i, cut, 16 + (off_t)kvg_rand_below(rng, (size_t)size - 32)};
            /* drop repeats */
            qsort(c + start, *n - start, sizeof *c, case_cmp);
            size_t w = start;
            for (size_t k = start; k < *n; k++)
                if (w == start || case_cmp(&c[w - 1], &c[k]) != 0)
                    c[w++] = c[k];
            *n = w;
        }
    }
    return c;
}

void kvg_rung_sweep(kvg_ctx *ctx, kvg_rung_result *rr)
{
    kvg_steps build = {0};
    sweep_build(&build, ctx->has_mset);
    char *dir = kvg_fresh_dir(ctx, ctx->work, "sweep-db");
    sweep_state st = {dir, NULL, 0, 0};
    sweep_after_write(&st, 0);
    kvg_session s = {&ctx->engine, dir, NULL, ctx->sync, 1, sweep_after_write, &st, 0, 0};
    kvg_result res;
    sweep_listing final = {0};
    sweep_tail tail = {0};
    sweep_case *cases = NULL;
    if (kvg_run(&s, &build, &res) != 0) {
        kvg_rung_fail(ctx, rr, "sweep", &build, &res, 1, 0);
        rr->summary = kvg_printf("writing the database failed: %s", res.what);
        kvg_result_free(&res);
        goto out;
    }
    kvg_result_free(&res);
    list_walk(dir, "", &final, 1);
    sweep_find_tail(&st, &final, &tail);
    off_t total = 0;
    for (size_t i = 0; i < final.n; i++)
        total += final.f[i].size;
    if (total == 0) {
        rr->status = KVG_FAIL;
        rr->reason = kvg_strdup("the engine left no bytes in its directory: nothing it wrote "
                                "survives a restart, so there is nothing to damage");
        rr->summary = kvg_strdup(rr->reason);
        goto out;
    }
    uint64_t rng = ctx->seed ^ 0x7377656570ull;
    size_t ncases;
    cases = sweep_cases(&final, ctx->quick ? 150 : 1500, &rng, &ncases);
    size_t counts[4] = {0}, flips = 0, cuts = 0, done = 0;
    double t0 = kvg_now();
    rr->status = KVG_PASS;
    for (size_t k = 0; k < ncases; k++) {
        const sweep_case *c = &cases[k];
        const sweep_file *f = &final.f[c->file];
        kvg_steps l = {0};
        kvg_steps_copy(&l, &build);
        size_t damage_at = l.n;
        kvg_step *d = kvg_steps_add(&l, c->cut ? KVG_ST_TRUNCATE : KVG_ST_FLIP);
        d->file = kvg_strdup(f->path);
        d->n = (unsigned long long)c->at;
        d->allow = sweep_allow(&tail, f->path, c->cut, c->at);
        kvg_steps_add(&l, KVG_ST_START);
        kvg_steps_add(&l, KVG_ST_VERIFY);
        kvg_steps_add(&l, KVG_ST_CLOSE);
        char *cdir = kvg_fresh_dir(ctx, ctx->work, "sweep-case");
        if (sweep_restore(cdir, &final) != 0) {
            fprintf(stderr, "kvgrade: cannot copy the database for the sweep\n");
            exit(2);
        }
        kvg_session cs = {&ctx->engine, cdir, NULL, ctx->sync, 1, NULL, NULL, damage_at, 0};
        int failed = kvg_run(&cs, &l, &res);
        kvg_remove_tree(cdir);
        free(cdir);
        done++;
        c->cut ? cuts++ : flips++;
        if (failed) {
            char *what = kvg_printf("%s of %s at byte %lld of %lld: %s", c->cut ? "a cut" : "a flip",
                                    f->path, (long long)c->at, (long long)f->size, res.what);
            free(res.what);
            res.what = what;
            kvg_rung_fail(ctx, rr, "sweep", &l, &res, 1, 0);
            rr->summary = kvg_printf("case %zu of %zu: %s", k + 1, ncases, what);
            kvg_result_free(&res);
            kvg_steps_free(&l);
            break;
        }
        counts[res.damage]++;
        kvg_result_free(&res);
        kvg_steps_free(&l);
    }
    char *files = kvg_strdup("");
    for (size_t i = 0; i < final.n; i++) {
        char *x = kvg_printf("%s%s%s (%lld bytes)", files, i ? ", " : "", final.f[i].path,
                             (long long)final.f[i].size);
        free(files);
        files = x;
    }
    rr->detail = kvg_printf("%zu cases run of %zu (%zu flips, %zu cuts) over %zu files, %lld bytes: "
                            "%s; %s; intact %zu, torn last write dropped %zu, refused %zu; "
                            "%.1f s; the last file (torn-tail rule): %s",
                            done, ncases, flips, cuts, final.n, (long long)total, files,
                            (size_t)total * 2 <= (ctx->quick ? 150u : 1500u) ? "every byte"
                                                                            : "a sample",
                            counts[KVG_DAMAGE_INTACT], counts[KVG_DAMAGE_PREFIX],
                            counts[KVG_DAMAGE_REFUSED], kvg_now() - t0,
                            tail.path != NULL ? tail.path : "none");
    free(files);
    if (rr->status == KVG_PASS)
        rr->summary = kvg_printf("%zu damaged copies: %zu refused, %zu intact, %zu torn last "
                                 "write dropped; no wrong data", done, counts[KVG_DAMAGE_REFUSED],
                                 counts[KVG_DAMAGE_INTACT], counts[KVG_DAMAGE_PREFIX]);
out:
    free(cases);
    free(tail.from_writes);
    free(tail.lo);
    free(tail.hi);
    listing_free(&final);
    for (size_t i = 0; i < st.nlists; i++)
        listing_free(&st.lists[i]);
    free(st.lists);
    kvg_steps_free(&build);
    kvg_remove_tree(dir);
    free(dir);
}
