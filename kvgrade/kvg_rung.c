/*
 * kvg_rung.c: what every rung uses: random numbers, fresh directories,
 * running steps, and recording a counterexample (kvgrade.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvgrade.h"

const char *const kvg_rung_names[KVG_NRUNGS] = {"conformance", "model", "kills",
                                                "power", "sweep", "speed"};

uint64_t kvg_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

size_t kvg_rand_below(uint64_t *s, size_t n)
{
    return n == 0 ? 0 : (size_t)(kvg_rand(s) % n);
}

char *kvg_fresh_dir(kvg_ctx *ctx, const char *parent, const char *tag)
{
    char *path = kvg_printf("%s/%s-%llu", parent, tag, ++ctx->dirs);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "kvgrade: mkdir %s: %s\n", path, strerror(errno));
        exit(2);
    }
    int fd = open(parent, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd); /* on kvgrade-fs: the directory survives every cut */
        close(fd);
    }
    return path;
}

int kvg_make_dirs(const char *path)
{
    char *p = kvg_strdup(path);
    int rc = 0;
    for (char *s = p + 1; rc == 0; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            rc = -1;
        *s = c;
        if (c == '\0')
            break;
    }
    struct stat st;
    if (rc == 0 && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)))
        rc = -1;
    free(p);
    return rc;
}

void kvg_remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *p = kvg_printf("%s/%s", path, e->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                kvg_remove_tree(p);
            else
                unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(path);
}

int kvg_try(kvg_ctx *ctx, kvg_steps *steps, kvg_fs *fs, const char *parent, int window,
            kvg_result *res)
{
    char *dir = kvg_fresh_dir(ctx, parent, "db");
    int images = 0; /* steps that load images record the run they make */
    for (size_t i = 0; i < steps->n; i++)
        images |= steps->s[i].kind == KVG_ST_IMAGE;
    kvg_session s = {&ctx->engine, dir, fs, ctx->sync, window, NULL, NULL, 0, images};
    int rc = kvg_run(&s, steps, res);
    kvg_remove_tree(dir);
    free(dir);
    return rc;
}

void kvg_rung_skip(kvg_rung_result *rr, const char *why)
{
    rr->status = KVG_SKIP;
    rr->reason = kvg_strdup(why);
    rr->summary = kvg_printf("skipped: %s", why);
}

void kvg_rung_fail(kvg_ctx *ctx, kvg_rung_result *rr, const char *rung, const kvg_steps *steps,
                   const kvg_result *res, int window, int needs_fs)
{
    rr->status = KVG_FAIL;
    rr->reason = kvg_strdup(res->what != NULL ? res->what : "(no reason given)");
    kvg_steps_free(&rr->cex);
    rr->cex_step = -1;
    /* Keep what the steps saw, for the text; leave out the requests that
     * were never sent (the engine was frozen and killed before them). */
    for (size_t i = 0; i < steps->n; i++) {
        const kvg_step *f = &steps->s[i];
        if (f->ran == 2 && (f->kind == KVG_ST_PIPE || f->kind == KVG_ST_SEND || f->kind == KVG_ST_WAIT))
            continue;
        if ((long)i == res->step)
            rr->cex_step = (long)rr->cex.n;
        kvg_step *t = kvg_steps_add(&rr->cex, f->kind);
        t->req = kvg_req_dup(&f->req);
        t->n = f->n;
        t->allow = f->allow;
        t->file = f->file != NULL ? kvg_strdup(f->file) : NULL;
        t->tear = f->tear;
        t->tear_off = f->tear_off;
        t->ran = f->ran;
        if (f->has_reply) {
            t->has_reply = 1;
            t->reply = kvg_reply_dup(&f->reply);
        }
        if (f->note != NULL)
            t->note = kvg_strdup(f->note);
    }
    kvg_replay_head h = {(char *)rung, ctx->sync, window, needs_fs, (char *)ctx->engine.template,
                         res->what};
    free(rr->cex_file);
    rr->cex_file = kvg_printf("%s/kvgrade-%s.replay", ctx->out, rung);
    if (kvg_steps_save(rr->cex_file, &h, &rr->cex) != 0) {
        fprintf(stderr, "kvgrade: cannot write %s\n", rr->cex_file);
        free(rr->cex_file);
        rr->cex_file = NULL;
    }
    char *text = NULL;
    size_t n;
    FILE *f = open_memstream(&text, &n);
    kvg_steps_print(f, &rr->cex, rr->cex_step, 80);
    fclose(f);
    free(rr->cex_text);
    rr->cex_text = text;
}

void kvg_rung_result_free(kvg_rung_result *rr)
{
    free(rr->summary);
    free(rr->detail);
    free(rr->reason);
    kvg_steps_free(&rr->cex);
    free(rr->cex_file);
    free(rr->cex_text);
    free(rr->points);
    for (size_t i = 0; i < rr->nspeed; i++) {
        free(rr->speed[i].engine);
        free(rr->speed[i].phase);
    }
    free(rr->speed);
    memset(rr, 0, sizeof *rr);
}
