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
 *   3. Torn states: a power cut at image i while the writes that the
 *      next sync was making durable (a file's, with a durable name) were
 *      reaching the disk keeps part of them (kvfs.h, kvfs_tear): a prefix
 *      cut at every 512-byte sector boundary inside them and at a few odd
 *      bytes (the first, the middle, the last), or all of them but one
 *      sector, a later one kept (LazyFS's torn writes, ALICE's prefix and
 *      zero-fill states).  The same acknowledgements as image i; and
 *      here the engine must open: a power cut that keeps part of an
 *      unsynced write is ordinary, and LevelDB and RocksDB drop a torn
 *      last record.
 *
 * Every image is checked when there are at most IMAGES_ALL of them (so
 * with --quick, always); beyond that, every image made by a directory's
 * sync and an even sample of the rest, IMAGES_FULL in all.  Every torn
 * state is checked when there are at most TORN_FULL (TORN_QUICK with
 * --quick); beyond that the prefix that loses the last sector of each
 * torn write (the commonest torn tail), and an even sample of the rest.
 * A failure is narrowed to the fewest answers that still fail and run
 * again from scratch as a counterexample (the writes up to the one in
 * flight, then "image N A" or "image N A prefix OFF", start, verify),
 * which `kvgrade --replay` runs the same way.
 */
#include <stdlib.h>
#include <string.h>

#include "kvgrade.h"

#define IMAGES_POOL 48
#define IMAGES_ALL 700
#define IMAGES_FULL 700
#define IMAGES_BYTES_QUICK (80u << 10)
#define IMAGES_BYTES_FULL (256u << 10)
#define TORN_FULL 480
#define TORN_QUICK 120
#define SECTOR 512u

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

/* What the checks of one recorded run share. */
typedef struct images_run {
    kvg_ctx *ctx;
    kvg_fs *fs;
    const char *dir;
    const kvg_steps *run;
    const images_marks *marks;
    const size_t *send_at;
} images_run;

/* A state a power cut can leave: image i, its next sync's writes torn as
 * tear says (0: not torn), and what they were (for the words). */
typedef struct images_state {
    unsigned long long image;
    char tear;                  /* 0, 'p' or 'z' (kvfs.h, kvfs_tear) */
    size_t off;
    size_t lo, hi, old_len;     /* the writes torn: bytes [lo, hi) of file */
    char *file;
    int primary;                /* the prefix that loses the last sector */
} images_state;

/* The answers read while image i was the durable state, or before. */
static size_t images_acked(const images_marks *m, unsigned long long i)
{
    size_t k = 0;
    while (k < m->n && m->images[k] <= i)
        k++;
    return k;
}

/* The steps of state st checked with the first k answers counted (the
 * writes after them: the next in flight, the rest not sent): the run's up
 * to the write in flight, then the image, a start and a read of
 * everything. */
static void images_state_steps(const images_run *ir, const images_state *st, size_t k,
                               kvg_steps *steps)
{
    size_t upto = k < ir->marks->n ? ir->send_at[k] + 1 : ir->run->n;
    images_copy_prefix(steps, ir->run, upto);
    kvg_step *im = kvg_steps_add(steps, KVG_ST_IMAGE);
    im->n = st->image;
    im->allow = (long long)(k > 0 ? ir->marks->model_n[k - 1] : 0);
    im->tear = st->tear;
    im->tear_off = st->off;
    kvg_steps_add(steps, KVG_ST_START);
    kvg_steps_add(steps, KVG_ST_VERIFY);
}

/* State st checked with the first k answers counted, told to the model
 * only (the engine starts on the image).  1 if it failed (*res says why). */
static int images_check_one(const images_run *ir, const images_state *st, size_t k,
                            kvg_steps *check, kvg_result *res)
{
    images_state_steps(ir, st, k, check);
    kvg_steps_add(check, KVG_ST_KILL);
    size_t upto = k < ir->marks->n ? ir->send_at[k] + 1 : ir->run->n;
    kvg_session cs = {&ir->ctx->engine, ir->dir, ir->fs, ir->ctx->sync, 1, NULL, NULL, upto, 0};
    return kvg_run(&cs, check, res);
}

/* A torn state in words, and the rule it checks. */
static char *images_torn_words(const images_state *st)
{
    if (st->tear == 'p')
        return kvg_printf("a torn write: the power cut at image %llu kept bytes [%zu, %zu) of %s's "
                          "unsynced write [%zu, %zu) and lost the rest (a prefix, cut %s); a power "
                          "cut keeps part of an unsynced write; LevelDB and RocksDB drop a torn "
                          "last record: the engine must open, keep every acknowledged write and "
                          "serve nothing invented (an unacknowledged write whole or absent, never "
                          "in part)", st->image, st->lo, st->off, st->file, st->lo, st->hi,
                          st->off % SECTOR == 0 ? "at a sector boundary" : "at an odd byte");
    return kvg_printf("a torn write: the power cut at image %llu kept %s's unsynced write [%zu, "
                      "%zu) but its sector [%zu, %zu), which reads as %s (a later sector reached "
                      "the disk, an earlier one did not); a power cut keeps part of an unsynced "
                      "write; LevelDB and RocksDB drop a torn last record: the engine must open, "
                      "keep every acknowledged write and serve nothing invented (an "
                      "unacknowledged write whole or absent, never in part)", st->image, st->file,
                      st->lo, st->hi, st->off > st->lo ? st->off : st->lo,
                      st->off + SECTOR < st->hi ? st->off + SECTOR : st->hi,
                      st->off >= st->old_len ? "zeros" : "its old bytes");
}

/* Puts the torn state's words before a failure's. */
static void images_say_torn(const images_state *st, kvg_result *res)
{
    if (st->tear == 0 || !res->failed)
        return;
    char *torn = images_torn_words(st);
    char *what = kvg_printf("%s: %s", torn, res->what != NULL ? res->what : "it failed");
    free(torn);
    free(res->what);
    res->what = what;
}

/* State st failed with k answers counted: the fewest answers counted that
 * still fail (bisected: a state that loses answer j loses every later one
 * too, as a rule), from those read before image i was made, then the
 * counterexample: those writes for real (a run that makes image i
 * again), then the state.  Sets rr's failure and *line. */
static void images_fail(const images_run *ir, kvg_rung_result *rr, const images_state *st,
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
    size_t acked = k > 0 ? m->model_n[k - 1] : 0;
    kvg_steps cex = {0};
    images_state_steps(ir, st, k, &cex);
    kvg_result again;
    if (kvg_try(ir->ctx, &cex, ir->fs, ir->fs->mount, 1, &again)) {
        images_say_torn(st, &again);
        kvg_rung_fail(ir->ctx, rr, "power", &cex, &again, 1, 1);
    } else {
        images_say_torn(st, res);
        char *what = kvg_printf("%s (found once, at image %llu of a recorded run; run "
                                "again from the start it did not fail)", res->what, st->image);
        free(res->what);
        res->what = what;
        kvg_rung_fail(ir->ctx, rr, "power", check, res, 1, 1);
    }
    kvg_result_free(&again);
    kvg_steps_free(&cex);
    if (st->tear != 0)
        *line = kvg_printf("failed at a torn write after image %llu of %llu (%s's unsynced bytes "
                           "[%zu, %zu) %s %zu; %zu writes acknowledged by then)", st->image,
                           nimages, st->file, st->lo, st->hi,
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

typedef struct images_states {
    images_state *s;
    size_t n, cap;
} images_states;

static void images_states_add(images_states *l, const images_state *st)
{
    if (l->n == l->cap) {
        l->cap = l->cap == 0 ? 256 : 2 * l->cap;
        l->s = kvg_realloc(l->s, l->cap * sizeof *l->s);
    }
    l->s[l->n] = *st;
    l->s[l->n].file = kvg_strdup(st->file);
    l->n++;
}

/* The torn states of image i: the writes the next sync made durable, kept
 * in part (a prefix cut at each sector boundary inside them and at their
 * first, middle and last byte; or all but one sector, not their last). */
static void images_torn_states(kvg_fs *fs, const char *dir, unsigned long long i,
                               images_states *out)
{
    char cmd[48];
    snprintf(cmd, sizeof cmd, "torn %llu", i);
    if (kvg_fs_cmd(fs, cmd) != 0 || strncmp(fs->line, "ok none", 7) == 0)
        return;
    unsigned long long ino;
    images_state st = {i, 0, 0, 0, 0, 0, NULL, 0};
    int at = 0;
    if (sscanf(fs->line, "ok %llu %zu %zu %zu %n", &ino, &st.lo, &st.hi, &st.old_len, &at) < 4 ||
        at == 0 || st.hi <= st.lo + 1)
        return;
    st.file = fs->line + at;
    const char *base = strrchr(dir, '/') != NULL ? strrchr(dir, '/') + 1 : dir;
    if (strncmp(st.file, base, strlen(base)) == 0 && st.file[strlen(base)] == '/')
        st.file += strlen(base) + 1; /* named in the engine's directory */
    /* Prefixes: every sector boundary inside, and three odd bytes. */
    size_t last = (st.hi - 1) / SECTOR * SECTOR; /* the last sector's start */
    size_t odd[3] = {st.lo + 1, st.lo + (st.hi - st.lo) / 2, st.hi - 1};
    size_t primary = last > st.lo ? last : odd[1];
    st.tear = 'p';
    for (size_t b = (st.lo / SECTOR + 1) * SECTOR; b < st.hi; b += SECTOR) {
        st.off = b;
        st.primary = b == primary;
        images_states_add(out, &st);
    }
    for (int j = 0; j < 3; j++) {
        int dup = odd[j] % SECTOR == 0 || (j > 0 && odd[j] == odd[j - 1]);
        if (dup || odd[j] <= st.lo || odd[j] >= st.hi)
            continue;
        st.off = odd[j];
        st.primary = odd[j] == primary;
        images_states_add(out, &st);
    }
    /* Lost sectors: each but the one holding the last byte. */
    st.tear = 'z';
    st.primary = 0;
    for (size_t s = st.lo / SECTOR * SECTOR; s < last; s += SECTOR) {
        st.off = s;
        images_states_add(out, &st);
    }
}

/* 0: a prefix that loses the last sector; 1: a lost sector; 2: another prefix. */
static int images_kind(const images_state *st)
{
    return st->primary ? 0 : st->tear == 'z' ? 1 : 2;
}

/* Which of the states to check, at most `limit`: all, or a share of each
 * kind: the prefixes that lose a write's last sector (half of the limit,
 * the commonest torn tail), the lost sectors (a quarter) and the other
 * prefixes (the rest), a share a kind leaves unused going to the others,
 * each kind sampled evenly.  Sets pick[]; returns how many. */
static size_t images_pick(const images_states *l, size_t limit, char *pick)
{
    if (l->n <= limit) {
        memset(pick, 1, l->n);
        return l->n;
    }
    memset(pick, 0, l->n);
    size_t have[3] = {0, 0, 0}, want[3], seen[3] = {0, 0, 0}, n = 0;
    for (size_t i = 0; i < l->n; i++)
        have[images_kind(&l->s[i])]++;
    want[0] = have[0] < limit / 2 ? have[0] : limit / 2;
    want[1] = have[1] < limit / 4 ? have[1] : limit / 4;
    want[2] = have[2] < limit - want[0] - want[1] ? have[2] : limit - want[0] - want[1];
    for (int k = 0; k < 2; k++) { /* what the others leave */
        size_t left = limit - want[0] - want[1] - want[2];
        size_t more = have[k] - want[k] < left ? have[k] - want[k] : left;
        want[k] += more;
    }
    for (size_t i = 0; i < l->n; i++) {
        /* Evenly: the seen-th of its kind is taken when the count of takes
         * so far falls behind the share. */
        int k = images_kind(&l->s[i]);
        if ((seen[k] * want[k]) / have[k] != ((seen[k] + 1) * want[k]) / have[k]) {
            pick[i] = 1;
            n++;
        }
        seen[k]++;
    }
    return n;
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
    images_run ir = {ctx, fs, dir, &run, &marks, NULL};
    images_states torn = {0};
    char *pick = NULL, *tpick = NULL;
    kvg_result res;
    int failed = kvg_run(&s, &run, &res);
    ir.send_at = send_at;
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
    pick = kvg_alloc(nimages + 1);
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
                if ((seen * want) / others != ((seen + 1) * want) / others)
                    pick[i] = 1;
                seen++;
            }
    }
    for (unsigned long long i = 0; i <= nimages; i++)
        npick += (size_t)pick[i];
    /* The torn states, and which of them to check. */
    for (unsigned long long i = 0; i < nimages; i++)
        images_torn_states(fs, dir, i, &torn);
    tpick = kvg_alloc(torn.n + 1);
    size_t torn_limit = ctx->quick ? TORN_QUICK : TORN_FULL;
    size_t ntpick = images_pick(&torn, torn_limit, tpick);
    kvg_result_free(&res);
    size_t checked = 0, acks_covered = 0, tchecked = 0, tprefix = 0, tzero = 0;
    for (unsigned long long i = 0; i <= nimages && !failed; i++) {
        if (!pick[i])
            continue;
        images_state st = {i, 0, 0, 0, 0, 0, NULL, 0};
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
        const images_state *st = &torn.s[t];
        size_t k = images_acked(&marks, st->image);
        kvg_steps check = {0};
        failed = images_check_one(&ir, st, k, &check, &res);
        tchecked++;
        tprefix += st->tear == 'p';
        tzero += st->tear == 'z';
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
                         "a sector boundary or an odd byte; %zu with one sector of them lost; "
                         "%s), the engine opened every one", tchecked, tprefix, tzero,
                         ntpick == torn.n ? "every one"
                                          : "an even sample, half of it prefixes that lose a "
                                            "write's last sector");
        *line = kvg_printf("%zu writes sent one at a time, %zu acknowledgements cut after; %llu "
                           "durable states (%llu file syncs, %llu directory syncs), %zu checked "
                           "(%s); %s; %s", nsends, acks_covered, nimages + 1, fsyncs, dsyncs,
                           checked, how, tw, files);
        free(tw);
        free(files);
    }
out:
    for (size_t t = 0; t < torn.n; t++)
        free(torn.s[t].file);
    free(torn.s);
    free(tpick);
    free(pick);
    kvg_result_free(&res);
    kvg_steps_free(&run);
    free(send_at);
    free(marks.images);
    free(marks.model_n);
    free(dir);
    return failed;
}
