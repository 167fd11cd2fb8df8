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
 *   1. One session of writes, with a clean stop and a restart half way
 *      and at the end, long enough (--power-bytes) that an engine that
 *      compacts its files renames, removes or creates some.  Most writes
 *      are sent alone, each answered before the next (so the engine does
 *      nothing between an answer and the next request); every third
 *      group is a pipelined batch of 2 to IMAGES_BATCH writes sent in one
 *      write, as a client's pipeline comes (an engine may write them as
 *      several records and sync once).  After each answer kvgrade asks
 *      kvgrade-fs how many images there are: c_k after answer k.
 *   2. For each image i: the writes whose answers came while image i was
 *      the durable state or before (c_k <= i) were acknowledged when a
 *      cut could leave exactly image i, so they must be there; the next
 *      request (with its batch, every request of it) was in flight (a
 *      prefix of them may be there).  kvgrade-fs makes image i the file
 *      system, the engine starts on it, and kvgrade reads everything
 *      back and applies the crash rule (kvg_run.h).
 *   3. Torn states (kvg_torn.c): image i with the writes the next sync
 *      was making durable (a file's, with a durable name: every write of
 *      that file since its last completed fsync, a whole batch's) kept in
 *      part.  The same acknowledgements as image i; and here the engine
 *      must open, drop the damage, and then take a few more writes, stop
 *      cleanly and open again with every one of them: an engine that drops
 *      a torn tail in memory but leaves it in its file is caught at the
 *      second open.
 *
 * Every image is checked when there are at most IMAGES_ALL of them (so
 * with --quick, always); beyond that, every image made by a directory's
 * sync and an even sample of the rest, IMAGES_FULL in all.  Every torn
 * state is checked when there are at most TORN_FULL (TORN_QUICK with
 * --quick); beyond that a sample (kvg_torn_pick).  A failure is narrowed
 * to the fewest answers that still fail, its cause looked up in
 * kvgrade-fs's journal (kvg_cause.c), and run again from scratch as a
 * counterexample (the writes up to the one in flight, then "image N A"
 * or "image N A prefix OFF", start, verify), which `kvgrade --replay`
 * runs the same way.
 */
#include <stdlib.h>
#include <string.h>

#include "kvg_images.h"

#define IMAGES_POOL 48
#define IMAGES_ALL 700
#define IMAGES_FULL 700
#define IMAGES_BYTES_QUICK (80u << 10)
#define IMAGES_BYTES_FULL (256u << 10)
#define IMAGES_BATCH 8   /* a batch's writes at most */
#define IMAGES_WINDOW 16 /* replies outstanding at most (the protocol's bound) */
#define IMAGES_AFTER 3   /* writes after a torn state, before the engine opens again */
#define IMAGES_TRIES 3   /* runs of a counterexample from scratch */
#define TORN_FULL 320
#define TORN_QUICK 100

typedef struct images_marks {
    kvg_fs *fs;
    size_t n, cap;
    unsigned long long *images;  /* c_k: images recorded when answer k was read */
    size_t *acked;               /* the model's writes acknowledged then */
    size_t *ops;                 /* the operations kvgrade-fs had journaled then */
    int failed;
} images_marks;

static void images_after_write(void *arg, size_t acked)
{
    images_marks *m = arg;
    if (kvg_fs_cmd(m->fs, "mark") != 0) {
        m->failed = 1;
        return;
    }
    if (m->n == m->cap) {
        m->cap = m->cap == 0 ? 256 : 2 * m->cap;
        m->images = kvg_realloc(m->images, m->cap * sizeof *m->images);
        m->acked = kvg_realloc(m->acked, m->cap * sizeof *m->acked);
        m->ops = kvg_realloc(m->ops, m->cap * sizeof *m->ops);
    }
    char *end;
    m->images[m->n] = strtoull(m->fs->line + 3, &end, 10);
    m->ops[m->n] = (size_t)strtoull(end, NULL, 10);
    m->acked[m->n] = acked;
    m->n++;
}

/* The run's requests, and where each stands in its steps. */
typedef struct images_plan {
    size_t *send_at;             /* the step that sends request k */
    size_t *sent_by;             /* steps [0, sent_by[k]) send every request that may
                                    have reached the engine before answer k (a batch's,
                                    and its wait) */
    size_t n, cap;
    size_t batches, batched;     /* pipelined batches, and the requests in them */
} images_plan;

static void images_plan_add(images_plan *p, size_t send_at)
{
    if (p->n == p->cap) {
        p->cap = p->cap == 0 ? 64 : 2 * p->cap;
        p->send_at = kvg_realloc(p->send_at, p->cap * sizeof *p->send_at);
        p->sent_by = kvg_realloc(p->sent_by, p->cap * sizeof *p->sent_by);
    }
    p->send_at[p->n] = send_at;
    p->sent_by[p->n] = send_at + 1;
    p->n++;
}

/* One random write (SET most, DEL, MSET; values of 200 to 1,200 bytes
 * over IMAGES_POOL keys) as a step of `kind`; returns its bytes. */
static size_t images_write(kvg_ctx *ctx, uint64_t *rng, unsigned long long *serial, kvg_steps *l,
                           int kind)
{
    size_t r = kvg_rand_below(rng, 100), pairs = r < 15 && ctx->has_mset ? 2 : 1, written = 0;
    int del = r >= 15 && r < 30;
    kvg_buf argv[5];
    size_t argc = 0;
    argv[argc++] = kvg_buf_str(del ? "DEL" : pairs > 1 ? "MSET" : "SET");
    for (size_t j = 0; j < pairs; j++) {
        char k[32];
        snprintf(k, sizeof k, "key-%02zu", kvg_rand_below(rng, IMAGES_POOL));
        argv[argc++] = kvg_buf_str(k);
        if (del)
            break;
        size_t extra = 200 + kvg_rand_below(rng, 1000);
        char head[40];
        int hn = snprintf(head, sizeof head, "v%llu-", ++*serial);
        kvg_buf v = {kvg_alloc((size_t)hn + extra + 1), (size_t)hn + extra};
        memcpy(v.p, head, (size_t)hn);
        for (size_t i = 0; i < extra; i++)
            v.p[hn + i] = (unsigned char)('a' + kvg_rand_below(rng, 26));
        argv[argc++] = v;
        written += v.n + 16;
    }
    kvg_steps_add_req(l, kind, argc, argv);
    for (size_t j = 0; j < argc; j++)
        kvg_buf_free(&argv[j]);
    return del ? 16 : written;
}

/* The run: writes until `bytes` were written, a clean stop half way. */
static void images_steps(kvg_ctx *ctx, size_t bytes, kvg_steps *l, images_plan *p)
{
    uint64_t rng = ctx->seed ^ 0x696d61676573ull;
    unsigned long long serial = 0;
    size_t written = 0, restarted = 0, group = 0;
    kvg_steps_add(l, KVG_ST_START);
    kvg_steps_add(l, KVG_ST_VERIFY);
    while (written < bytes) {
        if (!restarted && written >= bytes / 2) {
            kvg_steps_add(l, KVG_ST_CLOSE);
            kvg_steps_add(l, KVG_ST_START);
            kvg_steps_add(l, KVG_ST_VERIFY);
            restarted = 1;
        }
        size_t batch = group++ % 3 == 2 ? 2 + kvg_rand_below(&rng, IMAGES_BATCH - 1) : 1;
        if (batch == 1) {
            images_plan_add(p, l->n);
            written += images_write(ctx, &rng, &serial, l, KVG_ST_SEND);
            continue;
        }
        kvg_steps_add(l, KVG_ST_BATCH)->n = batch;
        size_t first = p->n;
        for (size_t b = 0; b < batch; b++) {
            images_plan_add(p, l->n);
            written += images_write(ctx, &rng, &serial, l, KVG_ST_PIPE);
        }
        kvg_steps_add(l, KVG_ST_WAIT)->n = 0;
        /* The whole batch went in one write; a counterexample waits for
         * its answers too, so that the engine makes the syncs a state it
         * loads needs (the answers count as the image step says). */
        for (size_t k = first; k < p->n; k++)
            p->sent_by[k] = l->n;
        p->batches++;
        p->batched += batch;
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

/* What the checks of one recorded run share. */
typedef struct images_run {
    kvg_ctx *ctx;
    kvg_fs *fs;
    const char *dir;
    const kvg_steps *run;
    const images_marks *marks;
    const images_plan *plan;
} images_run;

/* The answers read while image i was the durable state, or before. */
static size_t images_acked(const images_marks *m, unsigned long long i)
{
    size_t k = 0;
    while (k < m->n && m->images[k] <= i)
        k++;
    return k;
}

/* Steps [0, upto) of the run: every request sent before answer k. */
static size_t images_upto(const images_run *ir, size_t k)
{
    return k < ir->marks->n ? ir->plan->sent_by[k] : ir->run->n;
}

/* The writes after a torn state: SETs no other step makes. */
static void images_after_torn(const kvg_torn_state *st, kvg_steps *steps)
{
    for (int j = 0; j < IMAGES_AFTER; j++) {
        char k[32], v[96];
        snprintf(k, sizeof k, "key-%02zu", (size_t)(st->image * 7 + st->off + (size_t)j * 13) %
                                               IMAGES_POOL);
        snprintf(v, sizeof v, "torn%llu-%c%zu-%d-after-the-tear-written-and-read-back", st->image,
                 st->tear, st->off, j);
        kvg_buf argv[3] = {kvg_buf_str("SET"), kvg_buf_str(k), kvg_buf_str(v)};
        kvg_steps_add_req(steps, KVG_ST_SEND, 3, argv);
        for (int a = 0; a < 3; a++)
            kvg_buf_free(&argv[a]);
    }
}

/* The steps of state st (tear 0: image st->image whole) checked with the
 * first k answers counted (the requests after them: the next with its
 * batch in flight, the rest not sent): the run's up to those in flight,
 * then the image, a start and a read of everything; after a torn state,
 * a few writes, a clean stop, a start and a read of everything again. */
static void images_state_steps(const images_run *ir, const kvg_torn_state *st, size_t k,
                               kvg_steps *steps)
{
    images_copy_prefix(steps, ir->run, images_upto(ir, k));
    kvg_step *im = kvg_steps_add(steps, KVG_ST_IMAGE);
    im->n = st->image;
    im->allow = (long long)(k > 0 ? ir->marks->acked[k - 1] : 0);
    im->tear = st->tear;
    im->tear_off = st->off;
    kvg_steps_add(steps, KVG_ST_START);
    kvg_steps_add(steps, KVG_ST_VERIFY);
    if (st->tear == 0)
        return;
    images_after_torn(st, steps);
    kvg_steps_add(steps, KVG_ST_CLOSE);
    kvg_steps_add(steps, KVG_ST_START);
    kvg_steps_add(steps, KVG_ST_VERIFY);
}

/* State st checked with the first k answers counted, told to the model
 * only (the engine starts on the image).  1 if it failed (*res says why). */
static int images_check_one(const images_run *ir, const kvg_torn_state *st, size_t k,
                            kvg_steps *check, kvg_result *res)
{
    images_state_steps(ir, st, k, check);
    kvg_steps_add(check, KVG_ST_KILL);
    kvg_session cs = {&ir->ctx->engine, ir->dir, ir->fs, ir->ctx->sync, IMAGES_WINDOW, NULL, NULL,
                      images_upto(ir, k), 0};
    return kvg_run(&cs, check, res);
}

/* The failure of check steps `steps` in words: the cause first (what
 * kvgrade-fs saw), then the torn state (and, if the engine would not
 * open it, that it refused; if it failed only at the start after the
 * writes that followed, that), then what the check found. */
static void images_say(const kvg_torn_state *st, const kvg_steps *steps, const char *cause,
                       const char *extra, kvg_result *res)
{
    if (!res->failed)
        return;
    long reopen = -1; /* the start after the writes that follow a torn state */
    for (size_t i = 0; st->tear != 0 && i < steps->n; i++)
        if (steps->s[i].kind == KVG_ST_START)
            reopen = (long)i;
    char *torn = st->tear != 0 ? kvg_torn_words(st) : NULL;
    const char *lead = "";
    if (torn != NULL && res->step >= reopen)
        lead = "the engine opened a state a power cut leaves, took more writes and stopped "
               "cleanly, and then failed at its next start (a torn tail dropped in memory must "
               "also be cut off the file, or written over, before anything is written after "
               "it), ";
    else if (torn != NULL && res->refused)
        lead = "the engine refused to open a state a power cut leaves, ";
    char *what = kvg_printf("%s%s%s%s%s%s%s", cause != NULL ? cause : "", cause != NULL ? "; " : "",
                            lead, torn != NULL ? torn : "", torn != NULL ? ": " : "",
                            res->what != NULL ? res->what : "it failed", extra != NULL ? extra : "");
    free(torn);
    free(res->what);
    res->what = what;
}

/* Why the write a failed check lost was lost (kvg_cause.c), or NULL. */
static char *images_cause(const images_run *ir, const kvg_torn_state *st, size_t k,
                          const kvg_result *res)
{
    const images_marks *m = ir->marks;
    if (!ir->ctx->sync || res->lost < 0 || res->lost_step < 0 ||
        (size_t)res->lost_step >= images_upto(ir, k))
        return NULL;
    size_t a = 0;
    while (a < m->n && m->acked[a] <= (size_t)res->lost)
        a++;
    if (a == m->n)
        return NULL;
    return kvg_cause(ir->fs, ir->dir, m->ops[a], st->image, &ir->run->s[res->lost_step].req, res);
}

/* State st failed with k answers counted: the fewest answers counted that
 * still fail (bisected: a state that loses answer j loses every later one
 * too, as a rule), from those read before image i was made, then its
 * cause, then the counterexample: those writes for real (a run that makes
 * image i again), then the state.  Sets rr's failure and *line. */
static void images_fail(const images_run *ir, kvg_rung_result *rr, const kvg_torn_state *st,
                        size_t k, kvg_steps *check, kvg_result *res, unsigned long long nimages,
                        char **line)
{
    const images_marks *m = ir->marks;
    size_t lo = 0, hi = k;
    while (lo < m->n && m->images[lo] < st->image + (st->tear != 0))
        lo++; /* the write during which image i (or, torn, i + 1) was made: it must be sent */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        kvg_steps t = {0};
        kvg_result tr;
        if (images_check_one(ir, st, mid, &t, &tr)) {
            hi = mid;
            kvg_steps_free(check);
            kvg_result_free(res);
            *check = t;
            *res = tr;
        } else {
            lo = mid + 1;
            kvg_steps_free(&t);
            kvg_result_free(&tr);
        }
    }
    k = hi;
    size_t acked = k > 0 ? m->acked[k - 1] : 0;
    char *cause = images_cause(ir, st, k, res); /* before a new run's recording */
    kvg_steps cex = {0};
    images_state_steps(ir, st, k, &cex);
    kvg_result again;
    int tries = 0, failed_again = 0;
    char *unmade = NULL;
    do {
        if (tries > 0)
            kvg_result_free(&again);
        failed_again = kvg_try(ir->ctx, &cex, ir->fs, ir->fs->mount, IMAGES_WINDOW, &again);
        if (again.unreproduced) {
            free(unmade);
            unmade = kvg_strdup(again.what);
        }
    } while (++tries < IMAGES_TRIES && failed_again && again.unreproduced);
    if (failed_again && !again.unreproduced) {
        images_say(st, &cex, cause, NULL, &again);
        kvg_rung_fail(ir->ctx, rr, "power", &cex, &again, IMAGES_WINDOW, 1);
    } else {
        char *extra = unmade != NULL
            ? kvg_printf(" (found at image %llu of the recorded run; run again from the start "
                         "%d times, the engine's syncs never made that state again: %s; the "
                         "steps shown are the recorded run's check, which a replay may not "
                         "make again either)", st->image, tries, unmade)
            : kvg_printf(" (found once, at image %llu of a recorded run; run again from the "
                         "start it did not fail)", st->image);
        images_say(st, check, cause, extra, res);
        free(extra);
        kvg_rung_fail(ir->ctx, rr, "power", check, res, IMAGES_WINDOW, 1);
    }
    free(unmade);
    free(cause);
    kvg_result_free(&again);
    kvg_steps_free(&cex);
    if (st->tear != 0)
        *line = kvg_printf("failed at a torn write after image %llu of %llu (%s's unsynced bytes "
                           "[%zu, %zu), %zu writes, %s %zu; %zu writes acknowledged by then)",
                           st->image, nimages, st->file, st->lo, st->hi, st->writes,
                           st->tear == 'p' ? "kept up to" : "kept but the sector at", st->off,
                           acked);
    else
        *line = kvg_printf("failed at image %llu of %llu (the durable state after sync %llu; "
                           "%zu writes acknowledged by then)", st->image, nimages, st->image,
                           acked);
}

static unsigned long long images_seen(kvg_fs *fs, const char *what)
{
    const char *p = strstr(fs->line, what);
    return p != NULL ? strtoull(p + strlen(what), NULL, 10) : 0;
}

/* Which images to check: all, or every directory sync's and an even
 * sample of the rest.  Sets pick[0..nimages]; returns how many. */
static size_t images_pick(kvg_fs *fs, unsigned long long nimages, char *pick, int *all)
{
    *all = nimages + 1 <= IMAGES_ALL;
    for (unsigned long long i = 0; i <= nimages; i++) {
        int dirsync = 0;
        if (i > 0 && !*all) {
            char cmd[48];
            snprintf(cmd, sizeof cmd, "kind %llu", i);
            dirsync = kvg_fs_cmd(fs, cmd) == 0 && fs->line[3] == 'd';
        }
        pick[i] = (char)(*all || dirsync || i == 0);
    }
    size_t npick = 0;
    if (!*all) {
        size_t others = 0, have = 0, seen = 0;
        for (unsigned long long i = 0; i <= nimages; i++) {
            others += !pick[i];
            have += (size_t)pick[i];
        }
        size_t want = IMAGES_FULL > have ? IMAGES_FULL - have : 0;
        for (unsigned long long i = 0; i <= nimages && want > 0; i++)
            if (!pick[i]) {
                if ((seen * want) / others != ((seen + 1) * want) / others)
                    pick[i] = 1;
                seen++;
            }
    }
    for (unsigned long long i = 0; i <= nimages; i++)
        npick += (size_t)pick[i];
    return npick;
}

int kvg_images_check(kvg_ctx *ctx, kvg_fs *fs, kvg_rung_result *rr, char **line)
{
    size_t bytes = ctx->power_bytes > 0 ? ctx->power_bytes
                   : ctx->quick        ? IMAGES_BYTES_QUICK
                                       : IMAGES_BYTES_FULL;
    kvg_steps run = {0};
    images_plan plan = {0};
    images_steps(ctx, bytes, &run, &plan);
    images_marks marks = {fs, 0, 0, NULL, NULL, NULL, 0};
    char *dir = kvg_fresh_dir(ctx, fs->mount, "images");
    kvg_session s = {&ctx->engine, dir, fs, ctx->sync, IMAGES_WINDOW, images_after_write, &marks,
                     0, 1};
    images_run ir = {ctx, fs, dir, &run, &marks, &plan};
    kvg_torn_states torn = {0};
    char *pick = NULL, *tpick = NULL;
    kvg_result res;
    int failed = kvg_run(&s, &run, &res);
    if (failed || marks.failed || marks.n != plan.n) {
        if (!failed) {
            res.failed = 1;
            free(res.what);
            res.what = kvg_printf("kvgrade-fs did not count the images (%s)", fs->line);
        }
        kvg_rung_fail(ctx, rr, "power", &run, &res, IMAGES_WINDOW, 1);
        *line = kvg_printf("the run of %zu writes failed before any cut", plan.n);
        goto out;
    }
    kvg_fs_cmd(fs, "seen");
    unsigned long long nimages = images_seen(fs, "images "), creates = images_seen(fs, "creates "),
                       renames = images_seen(fs, "renames "), unlinks = images_seen(fs, "unlinks "),
                       fsyncs = images_seen(fs, "file-syncs "), dsyncs = images_seen(fs, "dir-syncs ");
    pick = kvg_alloc(nimages + 1);
    int all;
    images_pick(fs, nimages, pick, &all);
    /* The torn states, and which of them to check. */
    for (unsigned long long i = 0; i < nimages; i++)
        kvg_torn_collect(fs, dir, i, &torn);
    tpick = kvg_alloc(torn.n + 1);
    size_t ntpick = kvg_torn_pick(&torn, ctx->quick ? TORN_QUICK : TORN_FULL, tpick);
    kvg_result_free(&res);
    size_t checked = 0, acks_covered = 0, tchecked = 0, tprefix = 0, tzero = 0, thole = 0;
    for (unsigned long long i = 0; i <= nimages && !failed; i++) {
        if (!pick[i])
            continue;
        kvg_torn_state st = {i, 0, 0, 0, 0, 0, 0, NULL, 0};
        size_t k = images_acked(&marks, i);
        kvg_steps check = {0};
        failed = images_check_one(&ir, &st, k, &check, &res);
        checked++;
        for (size_t j = 0; j < res.ncrashes; j++) {
            rr->points = kvg_realloc(rr->points, (rr->npoints + 1) * sizeof *rr->points);
            rr->points[rr->npoints++] = res.crashes[j];
        }
        if (failed)
            images_fail(&ir, rr, &st, k, &check, &res, nimages, line);
        kvg_steps_free(&check);
        kvg_result_free(&res);
    }
    for (size_t t = 0; t < torn.n && !failed; t++) {
        if (!tpick[t])
            continue;
        const kvg_torn_state *st = &torn.s[t];
        size_t k = images_acked(&marks, st->image);
        kvg_steps check = {0};
        failed = images_check_one(&ir, st, k, &check, &res);
        tchecked++;
        tprefix += st->tear == 'p';
        tzero += st->tear == 'z';
        thole += st->kind == KVG_TORN_HOLE;
        if (failed)
            images_fail(&ir, rr, st, k, &check, &res, nimages, line);
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
        char *tw = torn.n == 0
            ? kvg_printf("no torn states (no sync of a named file's bytes, which a cut could "
                         "tear, in the run)")
            : kvg_printf("%zu torn states checked (%zu a prefix of the writes in flight, cut at "
                         "a sector boundary or an odd byte; %zu with one sector of them lost, "
                         "%zu of these a wide window's first, good bytes after it; %s), the engine "
                         "opened every one, took %d more writes, stopped and opened again with "
                         "them", tchecked, tprefix, tzero, thole,
                         ntpick == torn.n ? "every one"
                                          : "a sample, a quarter of it wide windows' lost "
                                            "first sectors, half prefixes that lose a "
                                            "window's last sector", IMAGES_AFTER);
        *line = kvg_printf("%zu writes sent (%zu of them in %zu pipelined batches of 2 to %d, "
                           "the rest one at a time), %zu acknowledgements cut after; %llu "
                           "durable states (%llu file syncs, %llu directory syncs), %zu checked "
                           "(%s); %s; %s", plan.n, plan.batched, plan.batches, IMAGES_BATCH,
                           acks_covered, nimages + 1, fsyncs, dsyncs, checked, how, tw, files);
        free(tw);
        free(files);
    }
out:
    kvg_torn_states_free(&torn);
    free(tpick);
    free(pick);
    kvg_result_free(&res);
    kvg_steps_free(&run);
    free(plan.send_at);
    free(plan.sent_by);
    free(marks.images);
    free(marks.acked);
    free(marks.ops);
    free(dir);
    return failed;
}
