/*
 * kvg_images.c: the power rung's exact part: a power cut after every
 * acknowledgement and at every sync point, checked after the fact.
 *
 * Under the model of kvgrade-fs (kvgrade/fs/kvfs.h) what a power cut
 * leaves is the durable state, and the durable state changes only when
 * the engine syncs a file or a directory.  So a run has as many distinct
 * crash states as it has syncs that changed something, and kvgrade-fs
 * records each of them (its "images", kvfs_record.c).  The run:
 *
 *   1. One session of writes, each sent alone and answered before the
 *      next (so the engine does nothing between an answer and the next
 *      request), with a clean stop and a restart half way and at the end;
 *      long enough (--power-bytes) that an engine that compacts its files
 *      renames, removes or creates some.  After each answer kvgrade asks
 *      kvgrade-fs how many images there are: c_k after write k.
 *   2. For each image i: the writes whose answers came while image i was
 *      the durable state or before (c_k <= i) were acknowledged when a
 *      cut could leave exactly image i, so they must be there; the next
 *      write was in flight (it may be there or not).  kvgrade-fs makes
 *      image i the file system, the engine starts on it, and kvgrade
 *      reads everything back and applies the crash rule (kvg_run.h).
 *
 * Every image is checked when there are at most IMAGES_ALL of them (so
 * with --quick, always); beyond that, every image made by a directory's
 * sync and an even sample of the rest, IMAGES_FULL in all.  A failure is
 * run again from scratch as a counterexample (the writes up to the one in
 * flight, then "image N A", start, verify), which `kvgrade --replay` runs
 * the same way.
 */
#include <stdlib.h>
#include <string.h>

#include "kvgrade.h"

#define IMAGES_POOL 48
#define IMAGES_ALL 700
#define IMAGES_FULL 700
#define IMAGES_BYTES_QUICK (80u << 10)
#define IMAGES_BYTES_FULL (256u << 10)

typedef struct images_marks {
    kvg_fs *fs;
    size_t n, cap;
    unsigned long long *images;  /* c_k: images recorded when answer k was read */
    size_t *model_n;             /* the model's writes then */
    int failed;
} images_marks;

static void images_after_write(void *arg, size_t writes)
{
    images_marks *m = arg;
    if (kvg_fs_cmd(m->fs, "mark") != 0) {
        m->failed = 1;
        return;
    }
    if (m->n == m->cap) {
        m->cap = m->cap == 0 ? 256 : 2 * m->cap;
        m->images = kvg_realloc(m->images, m->cap * sizeof *m->images);
        m->model_n = kvg_realloc(m->model_n, m->cap * sizeof *m->model_n);
    }
    m->images[m->n] = strtoull(m->fs->line + 3, NULL, 10);
    m->model_n[m->n] = writes;
    m->n++;
}

/* The run's writes: SET (most), DEL, MSET, values of 200 to 1,200 bytes
 * over 48 keys, until `bytes` were written; a clean stop half way. */
static void images_steps(kvg_ctx *ctx, size_t bytes, kvg_steps *l, size_t **send_at, size_t *nsends)
{
    uint64_t rng = ctx->seed ^ 0x696d61676573ull;
    unsigned long long serial = 0;
    size_t written = 0, cap = 64, restarted = 0;
    *send_at = kvg_alloc(cap * sizeof **send_at);
    *nsends = 0;
    kvg_steps_add(l, KVG_ST_START);
    kvg_steps_add(l, KVG_ST_VERIFY);
    while (written < bytes) {
        if (!restarted && written >= bytes / 2) {
            kvg_steps_add(l, KVG_ST_CLOSE);
            kvg_steps_add(l, KVG_ST_START);
            kvg_steps_add(l, KVG_ST_VERIFY);
            restarted = 1;
        }
        size_t r = kvg_rand_below(&rng, 100), pairs = r < 15 && ctx->has_mset ? 2 : 1;
        int del = r >= 15 && r < 30;
        kvg_buf argv[5];
        size_t argc = 0;
        argv[argc++] = kvg_buf_str(del ? "DEL" : pairs > 1 ? "MSET" : "SET");
        for (size_t j = 0; j < pairs; j++) {
            char k[32];
            snprintf(k, sizeof k, "key-%02zu", kvg_rand_below(&rng, IMAGES_POOL));
            argv[argc++] = kvg_buf_str(k);
            if (del)
                break;
            size_t extra = 200 + kvg_rand_below(&rng, 1000);
            char head[40];
            int hn = snprintf(head, sizeof head, "v%llu-", ++serial);
            kvg_buf v = {kvg_alloc((size_t)hn + extra + 1), (size_t)hn + extra};
            memcpy(v.p, head, (size_t)hn);
            for (size_t i = 0; i < extra; i++)
                v.p[hn + i] = (unsigned char)('a' + kvg_rand_below(&rng, 26));
            argv[argc++] = v;
            written += v.n + 16;
        }
        if (del)
            written += 16;
        if (*nsends == cap) {
            cap *= 2;
            *send_at = kvg_realloc(*send_at, cap * sizeof **send_at);
        }
        (*send_at)[(*nsends)++] = l->n;
        kvg_steps_add_req(l, KVG_ST_SEND, argc, argv);
        for (size_t j = 0; j < argc; j++)
            kvg_buf_free(&argv[j]);
    }
    kvg_steps_add(l, KVG_ST_CLOSE);
}

/* Steps [0, upto) of from, then to.  */
static void images_copy_prefix(kvg_steps *to, const kvg_steps *from, size_t upto)
{
    for (size_t i = 0; i < upto; i++) {
        const kvg_step *f = &from->s[i];
        if (f->kind == KVG_ST_SEND || f->kind == KVG_ST_PIPE)
            kvg_steps_add_req(to, f->kind, f->req.argc, f->req.argv);
        else
            kvg_steps_add(to, f->kind)->n = f->n;
    }
}

/* Image i checked with the first k answers counted (the writes after
 * them: the next in flight, the rest not sent): steps copied from the run
 * up to the write in flight, told to the model only, then the image, a
 * start and a read of everything.  1 if it failed (*res says why). */
static int images_check_one(kvg_ctx *ctx, kvg_fs *fs, const char *dir, const kvg_steps *run,
                            const images_marks *marks, const size_t *send_at,
                            unsigned long long i, size_t k, kvg_steps *check, kvg_result *res)
{
    size_t upto = k < marks->n ? send_at[k] + 1 : run->n;
    images_copy_prefix(check, run, upto);
    kvg_step *im = kvg_steps_add(check, KVG_ST_IMAGE);
    im->n = i;
    im->allow = (long long)(k > 0 ? marks->model_n[k - 1] : 0);
    kvg_steps_add(check, KVG_ST_START);
    kvg_steps_add(check, KVG_ST_VERIFY);
    kvg_steps_add(check, KVG_ST_KILL);
    kvg_session cs = {&ctx->engine, dir, fs, ctx->sync, 1, NULL, NULL, upto, 0};
    return kvg_run(&cs, check, res);
}

static unsigned long long images_seen(kvg_fs *fs, const char *what)
{
    const char *p = strstr(fs->line, what);
    return p != NULL ? strtoull(p + strlen(what), NULL, 10) : 0;
}

int kvg_images_check(kvg_ctx *ctx, kvg_fs *fs, kvg_rung_result *rr, char **line)
{
    size_t bytes = ctx->power_bytes > 0 ? ctx->power_bytes
                   : ctx->quick        ? IMAGES_BYTES_QUICK
                                       : IMAGES_BYTES_FULL;
    kvg_steps run = {0};
    size_t *send_at = NULL, nsends = 0;
    images_steps(ctx, bytes, &run, &send_at, &nsends);
    images_marks marks = {fs, 0, 0, NULL, NULL, 0};
    char *dir = kvg_fresh_dir(ctx, fs->mount, "images");
    kvg_session s = {&ctx->engine, dir, fs, ctx->sync, 1, images_after_write, &marks, 0, 1};
    kvg_result res;
    int failed = kvg_run(&s, &run, &res);
    if (failed || marks.failed || marks.n != nsends) {
        if (!failed) {
            res.failed = 1;
            free(res.what);
            res.what = kvg_printf("kvgrade-fs did not count the images (%s)", fs->line);
        }
        kvg_rung_fail(ctx, rr, "power", &run, &res, 1, 1);
        *line = kvg_printf("the run of %zu writes failed before any cut", nsends);
        goto out;
    }
    kvg_fs_cmd(fs, "seen");
    unsigned long long nimages = images_seen(fs, "images "), creates = images_seen(fs, "creates "),
                       renames = images_seen(fs, "renames "), unlinks = images_seen(fs, "unlinks "),
                       fsyncs = images_seen(fs, "file-syncs "), dsyncs = images_seen(fs, "dir-syncs ");
    /* Which images: all, or every directory's and a sample of the rest. */
    char *pick = kvg_alloc(nimages + 1);
    size_t npick = 0;
    int all = nimages + 1 <= IMAGES_ALL;
    for (unsigned long long i = 0; i <= nimages; i++) {
        int dirsync = 0;
        if (i > 0) {
            char cmd[48];
            snprintf(cmd, sizeof cmd, "kind %llu", i);
            dirsync = kvg_fs_cmd(fs, cmd) == 0 && fs->line[3] == 'd';
        }
        pick[i] = (char)(all || dirsync || i == 0);
    }
    if (!all) {
        size_t others = 0;
        for (unsigned long long i = 0; i <= nimages; i++)
            others += !pick[i];
        size_t have = 0;
        for (unsigned long long i = 0; i <= nimages; i++)
            have += (size_t)pick[i];
        size_t want = IMAGES_FULL > have ? IMAGES_FULL - have : 0;
        size_t seen = 0;
        for (unsigned long long i = 0; i <= nimages && want > 0; i++)
            if (!pick[i]) {
                /* Evenly: the seen-th of `others` is taken when the count
                 * of takes so far falls behind the share. */
                if ((seen * want) / others != ((seen + 1) * want) / others)
                    pick[i] = 1;
                seen++;
            }
    }
    for (unsigned long long i = 0; i <= nimages; i++)
        npick += (size_t)pick[i];
    kvg_result_free(&res);
    size_t checked = 0, acks_covered = 0;
    for (unsigned long long i = 0; i <= nimages && !failed; i++) {
        if (!pick[i])
            continue;
        size_t k = 0;
        while (k < marks.n && marks.images[k] <= i)
            k++;
        kvg_steps check = {0};
        failed = images_check_one(ctx, fs, dir, &run, &marks, send_at, i, k, &check, &res);
        checked++;
        for (size_t j = 0; j < res.ncrashes; j++) {
            rr->points = kvg_realloc(rr->points, (rr->npoints + 1) * sizeof *rr->points);
            rr->points[rr->npoints++] = res.crashes[j];
        }
        if (failed) {
            /* The fewest answers counted that still fail (bisected: an
             * image that loses answer j loses every later one too, as a
             * rule), from those read before image i was made, then the
             * counterexample: those writes for real (a run that makes
             * image i again), then the image. */
            size_t lo = 0, hi = k;
            while (lo < marks.n && marks.images[lo] < i)
                lo++; /* the write during which image i was made: it must be sent */
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                kvg_steps t = {0};
                kvg_result tr;
                if (images_check_one(ctx, fs, dir, &run, &marks, send_at, i, mid, &t, &tr)) {
                    hi = mid;
                    kvg_steps_free(&check);
                    kvg_result_free(&res);
                    check = t;
                    res = tr;
                } else {
                    lo = mid + 1;
                    kvg_steps_free(&t);
                    kvg_result_free(&tr);
                }
            }
            k = hi;
            size_t upto = k < marks.n ? send_at[k] + 1 : run.n;
            size_t acked = k > 0 ? marks.model_n[k - 1] : 0;
            kvg_steps cex = {0};
            images_copy_prefix(&cex, &run, upto);
            kvg_step *ci = kvg_steps_add(&cex, KVG_ST_IMAGE);
            ci->n = i;
            ci->allow = (long long)acked;
            kvg_steps_add(&cex, KVG_ST_START);
            kvg_steps_add(&cex, KVG_ST_VERIFY);
            kvg_result again;
            if (kvg_try(ctx, &cex, fs, fs->mount, 1, &again)) {
                kvg_rung_fail(ctx, rr, "power", &cex, &again, 1, 1);
            } else {
                kvg_result_free(&again);
                char *what = kvg_printf("%s (found once, at image %llu of a recorded run; run "
                                        "again from the start it did not fail)", res.what, i);
                free(res.what);
                res.what = what;
                kvg_rung_fail(ctx, rr, "power", &check, &res, 1, 1);
            }
            kvg_result_free(&again);
            *line = kvg_printf("failed at image %llu of %llu (the durable state after sync %llu; "
                               "%zu writes acknowledged by then)", i, nimages, i, acked);
        }
        kvg_steps_free(&check);
        kvg_result_free(&res);
    }
    for (size_t k = 0; k < marks.n; k++)
        acks_covered += pick[marks.images[k] <= nimages ? marks.images[k] : nimages] != 0;
    if (!failed) {
        const char *how = all ? "every one" : "every directory sync's and an even sample";
        char *files = renames + unlinks > 0
            ? kvg_printf("it created %llu files, renamed %llu, removed %llu", creates, renames, unlinks)
            : kvg_printf("it created %llu files and never renamed or removed one, so a "
                         "compaction (if it has one) was not reached: --power-bytes N writes "
                         "more (now %zu)", creates, bytes);
        *line = kvg_printf("%zu writes sent one at a time, %zu acknowledgements cut after; %llu "
                           "durable states (%llu file syncs, %llu directory syncs), %zu checked "
                           "(%s); %s", nsends, acks_covered, nimages + 1, fsyncs, dsyncs, checked,
                           how, files);
        free(files);
    }
    free(pick);
out:
    kvg_result_free(&res);
    kvg_steps_free(&run);
    free(send_at);
    free(marks.images);
    free(marks.model_n);
    free(dir);
    return failed;
}
