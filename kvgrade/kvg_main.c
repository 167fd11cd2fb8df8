/*
 * kvg_main.c: the kvgrade command (docs/kvgrade.md).
 *
 *   kvgrade --engine "CMD ... {dir} ..." --durability sync|none
 *           [--rungs LIST] [--report DIR] [--quick] [--power-bytes N] [--seed N] [--timeout S]
 *           [--resp-port N] [--no-fuse] [--scale LIST|none]
 *   kvgrade --replay FILE --engine "CMD ... {dir} ..." [--timeout S] [--no-fuse]
 *
 * It grades the rungs asked for, in order (conformance, model, kills,
 * power, sweep, speed), each to the end even if an earlier one failed,
 * prints a line as each starts and ends, then the scorecard.  Exit
 * status: 0 when every requested rung passed; 1 when one failed; 3 when
 * none failed but one was skipped (a skipped rung is never passed); 2 on
 * a usage error.  --replay: 1 when it fails again, 0 when it passed this
 * time, 3 when it could not be checked (no FUSE here, or the run did not
 * make the power-cut state a step loads).  Its files (databases, the mount of kvgrade-fs, the
 * engine's standard error) live in $TMPDIR/kvgrade-UID/run-PID-SEED and
 * are removed at the end; mounts a killed run left there are detached at
 * the start of the next.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kvgrade.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: kvgrade --engine \"CMD ... {dir} ...\" --durability sync|none [options]\n"
            "       kvgrade --replay FILE --engine \"CMD ... {dir} ...\" [--timeout S] [--no-fuse]\n"
            "Grades a key-value engine that speaks RESP2 on its standard input and output\n"
            "(SET, GET, DEL, RANGE, and optionally MSET): see docs/kvgrade.md.\n"
            "  --engine CMD       the command that runs the engine; {dir} is replaced by the\n"
            "                     directory it keeps its files in, {port} by --resp-port\n"
            "  --durability D     what an acknowledgement means: sync (on stable storage\n"
            "                     before the reply) or none (kept by a clean stop only)\n"
            "  --rungs LIST       some of conformance,model,kills,power,sweep,speed (default all)\n"
            "  --report DIR       write DIR/index.html, plots and the counterexamples there\n"
            "  --quick            a smaller share of each rung (about a fifth)\n"
            "  --power-bytes N    bytes the power rung's exact run writes (default 256k,\n"
            "                     80k with --quick): more, to reach an engine's compaction\n"
            "  --seed N           the random seed (default: from the clock; printed)\n"
            "  --timeout S        seconds a reply may take (default 10)\n"
            "  --resp-port N      talk RESP2 over TCP to 127.0.0.1:N instead of stdin/stdout\n"
            "  --no-fuse          act as if FUSE were unavailable (the power rung is skipped)\n"
            "  --scale LIST|none  our stages run beside the engine in the speed rung\n"
            "                     (default 03-wal,06-leveled with sync; 02-hash,06-leveled with none)\n"
            "Exit status: 0 every requested rung passed, 1 a rung failed, 3 a rung was skipped;\n"
            "with --replay: 1 it fails again, 0 it passed this time, 3 it could not be checked.\n");
}

/* 'word' quoted for a shell. */
static char *shell_quote(const char *w)
{
    size_t n = strlen(w);
    char *q = kvg_alloc(n * 4 + 3), *o = q;
    *o++ = '\'';
    for (const char *p = w; *p; p++) {
        if (*p == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = *p;
        }
    }
    *o++ = '\'';
    *o = '\0';
    return q;
}

static int rungs_parse(kvg_ctx *ctx, const char *list)
{
    memset(ctx->rung_wanted, 0, sizeof ctx->rung_wanted);
    char *copy = kvg_strdup(list), *save = NULL;
    for (char *w = strtok_r(copy, ", ", &save); w != NULL; w = strtok_r(NULL, ", ", &save)) {
        int found = 0;
        for (int i = 0; i < KVG_NRUNGS; i++)
            if (strcmp(w, kvg_rung_names[i]) == 0 || (w[0] == '1' + i && w[1] == '\0'))
                ctx->rung_wanted[i] = found = 1;
        if (!found) {
            fprintf(stderr, "kvgrade: unknown rung '%s' (rungs: conformance, model, kills, power, "
                            "sweep, speed)\n", w);
            free(copy);
            return -1;
        }
    }
    free(copy);
    return 0;
}

/* Our stages' kv, beside this program (build/kvgrade/kvgrade -> build/S/kv). */
static void scale_find(kvg_ctx *ctx, const char *list)
{
    if (strcmp(list, "none") == 0)
        return;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL)
        return;
    *slash = '\0';
    char *copy = kvg_strdup(list), *save = NULL;
    for (char *w = strtok_r(copy, ", ", &save); w != NULL && ctx->nscale < 8;
         w = strtok_r(NULL, ", ", &save)) {
        char *kv = kvg_printf("%s/../%s/kv", exe, w);
        if (access(kv, X_OK) == 0) {
            ctx->scale_name[ctx->nscale] = kvg_strdup(w);
            ctx->scale_kv[ctx->nscale] = kvg_printf("%s %s{dir} serve --stdio", kv,
                                                    ctx->sync ? "--sync " : "");
            ctx->nscale++;
        }
        free(kv);
    }
    free(copy);
}

static char *work_base(void)
{
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    return kvg_printf("%s/kvgrade-%u", tmp, (unsigned)getuid());
}

static int replay(kvg_ctx *ctx, const char *file, int durability_given)
{
    kvg_replay_head h;
    kvg_steps l;
    char *why = NULL;
    if (kvg_steps_load(file, &h, &l, &why) != 0) {
        fprintf(stderr, "kvgrade: %s\n", why);
        free(why);
        return 2;
    }
    if (durability_given)
        h.sync = ctx->sync;
    ctx->sync = h.sync;
    kvg_fs fs, *fsp = NULL;
    char *mount = NULL;
    if (h.needs_fs) {
        if (ctx->fuse_missing != NULL) {
            printf("kvgrade: this counterexample needs the power-cut file system, which cannot "
                   "be used here: %s\n", ctx->fuse_missing);
            kvg_steps_free(&l);
            kvg_replay_head_free(&h);
            return 3;
        }
        mount = kvg_printf("%s/replay-mnt", ctx->work);
        if (kvg_fs_start(&fs, mount, &why) != 0) {
            printf("kvgrade: %s\n", why);
            free(why);
            free(mount);
            kvg_steps_free(&l);
            kvg_replay_head_free(&h);
            return 3;
        }
        fsp = &fs;
    }
    printf("kvgrade: replaying %s (%zu steps, rung %s, durability %s) with engine \"%s\"\n", file,
           l.n, h.rung != NULL ? h.rung : "?", h.sync ? "sync" : "none", ctx->engine.template);
    kvg_result res;
    int failed = kvg_try(ctx, &l, fsp, fsp != NULL ? fsp->mount : ctx->work, h.window, &res);
    kvg_steps_print(stdout, &l, res.step, 200);
    int status = failed ? 1 : 0;
    if (failed && res.unreproduced) {
        printf("\nThe counterexample was not checked: %s\n", res.what);
        status = 3;
    } else if (failed) {
        printf("\nThe counterexample fails again: %s\n", res.what);
    } else {
        printf("\nThe steps ran and every check passed: the counterexample did not fail this "
               "time.\n");
    }
    kvg_result_free(&res);
    if (fsp != NULL)
        kvg_fs_stop(fsp);
    free(mount);
    kvg_steps_free(&l);
    kvg_replay_head_free(&h);
    return status;
}

int main(int argc, char **argv)
{
    kvg_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.started = kvg_now();
    ctx.engine.timeout = 10;
    const char *durability = NULL, *report = NULL, *replay_file = NULL, *scale = NULL;
    int seed_given = 0;
    for (int i = 0; i < KVG_NRUNGS; i++)
        ctx.rung_wanted[i] = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--engine") == 0 && has) {
            ctx.engine.template = argv[++i];
        } else if (strcmp(a, "--durability") == 0 && has) {
            durability = argv[++i];
        } else if (strcmp(a, "--rungs") == 0 && has) {
            if (rungs_parse(&ctx, argv[++i]) != 0)
                return 2;
        } else if (strcmp(a, "--report") == 0 && has) {
            report = argv[++i];
        } else if (strcmp(a, "--quick") == 0) {
            ctx.quick = 1;
        } else if (strcmp(a, "--power-bytes") == 0 && has) {
            char *end;
            unsigned long long b = strtoull(argv[++i], &end, 10);
            if (*end == 'k' || *end == 'K')
                b <<= 10, end++;
            else if (*end == 'm' || *end == 'M')
                b <<= 20, end++;
            if (*end != '\0' || b == 0 || b > (64ull << 20)) {
                fprintf(stderr, "kvgrade: --power-bytes takes a size from 1 to 64M (like 512k)\n");
                return 2;
            }
            ctx.power_bytes = (size_t)b;
        } else if (strcmp(a, "--seed") == 0 && has) {
            ctx.seed = strtoull(argv[++i], NULL, 10);
            seed_given = 1;
        } else if (strcmp(a, "--timeout") == 0 && has) {
            ctx.engine.timeout = atof(argv[++i]);
        } else if (strcmp(a, "--resp-port") == 0 && has) {
            ctx.engine.port = atoi(argv[++i]);
        } else if (strcmp(a, "--no-fuse") == 0) {
            ctx.pretend_no_fuse = 1;
        } else if (strcmp(a, "--scale") == 0 && has) {
            scale = argv[++i];
        } else if (strcmp(a, "--replay") == 0 && has) {
            replay_file = argv[++i];
        } else {
            fprintf(stderr, "kvgrade: bad option '%s'%s\n", a,
                    a[0] == '-' && !has ? " (it needs a value)" : "");
            usage(stderr);
            return 2;
        }
    }
    if (ctx.engine.template == NULL || (durability == NULL && replay_file == NULL)) {
        usage(stderr);
        return 2;
    }
    if (durability != NULL && strcmp(durability, "sync") != 0 && strcmp(durability, "none") != 0) {
        fprintf(stderr, "kvgrade: --durability is sync or none, not '%s'\n", durability);
        return 2;
    }
    ctx.sync = durability != NULL && strcmp(durability, "sync") == 0;
    if (ctx.engine.timeout <= 0)
        ctx.engine.timeout = 10;
    const char *why = NULL;
    char **words = kvg_engine_words(ctx.engine.template, "/x", 1, &why);
    if (words == NULL) {
        fprintf(stderr, "kvgrade: --engine: %s\n", why);
        return 2;
    }
    kvg_engine_words_free(words);
    if (!seed_given)
        ctx.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    signal(SIGPIPE, SIG_IGN);

    char *base = work_base();
    mkdir(base, 0700);
    kvg_fs_clear_stale(base);
    ctx.work = kvg_printf("%s/run-%d-%llu", base, (int)getpid(), (unsigned long long)ctx.seed);
    if (mkdir(ctx.work, 0700) != 0) {
        fprintf(stderr, "kvgrade: cannot make %s: %s\n", ctx.work, strerror(errno));
        return 2;
    }
    free(base);
    char *log = kvg_printf("%s/engine-stderr.log", ctx.work);
    ctx.engine.log_path = log;
    ctx.out = kvg_strdup(report != NULL ? report : "kvgrade-out");
    if (replay_file == NULL && kvg_make_dirs(ctx.out) != 0) {
        fprintf(stderr, "kvgrade: cannot make the folder %s for the report and the replay files: "
                        "%s\n", ctx.out, strerror(errno));
        kvg_remove_tree(ctx.work);
        return 2;
    }
    ctx.fuse_missing = kvg_fs_unavailable(ctx.pretend_no_fuse);
    ctx.self = kvg_strdup(argv[0]);
    ctx.replay_engine_arg = shell_quote(ctx.engine.template);

    int status;
    if (replay_file != NULL) {
        status = replay(&ctx, replay_file, durability != NULL);
    } else {
        scale_find(&ctx, scale != NULL ? scale : ctx.sync ? "03-wal,06-leveled" : "02-hash,06-leveled");
        printf("kvgrade: engine \"%s\", durability %s, seed %llu%s\n", ctx.engine.template,
               ctx.sync ? "sync" : "none", (unsigned long long)ctx.seed, ctx.quick ? ", quick" : "");
        if (ctx.fuse_missing != NULL && ctx.rung_wanted[KVG_RUNG_POWER])
            printf("kvgrade: !!! the power-cut file system cannot be used: %s; the power rung will "
                   "be SKIPPED and the durability claim not checked against power cuts\n",
                   ctx.fuse_missing);
        kvg_probe_mset(&ctx);
        printf("kvgrade: MSET: %s\n", ctx.has_mset ? "answered (graded as an atomic batch)"
                                                   : "not a command of this engine (not graded)");
        fflush(stdout);
        kvg_rung_result rr[KVG_NRUNGS];
        memset(rr, 0, sizeof rr);
        void (*rungs[KVG_NRUNGS])(kvg_ctx *, kvg_rung_result *) = {
            kvg_rung_conformance, kvg_rung_model, kvg_rung_kills,
            kvg_rung_power, kvg_rung_sweep, kvg_rung_speed};
        for (int i = 0; i < KVG_NRUNGS; i++) {
            if (!ctx.rung_wanted[i])
                continue;
            printf("kvgrade: rung %s ...\n", kvg_rung_names[i]);
            fflush(stdout);
            double t0 = kvg_now();
            rungs[i](&ctx, &rr[i]);
            rr[i].seconds = kvg_now() - t0;
            printf("kvgrade: rung %s: %s (%.1f s)\n", kvg_rung_names[i],
                   rr[i].status == KVG_PASS ? "pass" : rr[i].status == KVG_SKIP ? "SKIPPED" : "FAIL",
                   rr[i].seconds);
            fflush(stdout);
        }
        kvg_scorecard(stdout, &ctx, rr);
        if (report != NULL) {
            if (kvg_report_html(report, &ctx, rr) == 0)
                printf("Report: %s/index.html\n", report);
            else
                fprintf(stderr, "kvgrade: cannot write the report in %s\n", report);
        }
        int failed = 0, skipped = 0;
        for (int i = 0; i < KVG_NRUNGS; i++) {
            if (!ctx.rung_wanted[i])
                continue;
            failed += rr[i].status == KVG_FAIL;
            skipped += rr[i].status != KVG_PASS && rr[i].status != KVG_FAIL;
            kvg_rung_result_free(&rr[i]);
        }
        status = failed ? 1 : skipped ? 3 : 0;
        rmdir(ctx.out); /* only if nothing was written there */
    }
    fflush(stdout);
    if (getenv("KVGRADE_KEEP") == NULL)
        kvg_remove_tree(ctx.work);
    else
        fprintf(stderr, "kvgrade: kept %s\n", ctx.work);
    for (int i = 0; i < ctx.nscale; i++) {
        free(ctx.scale_kv[i]);
        free(ctx.scale_name[i]);
    }
    free(ctx.work);
    free(ctx.out);
    free(ctx.self);
    free(ctx.replay_engine_arg);
    free(log);
    return status;
}
