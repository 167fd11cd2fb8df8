/*
 * compaction_sim.c: build/06-leveled/compaction_sim, stage 06's leveled
 * compaction replayed on a workload's shape, without the data, in seconds.
 *
 * The tree is real: versions, edits and the picker are stage 06's own
 * (version.h, compaction_pick.h), called exactly as the engine calls them.
 * What is simulated is everything with bytes in it.  A table is the sorted
 * array of its keys (64-bit numbers; each entry counts key_bytes +
 * value_bytes toward the table's size); a write adds a key to the
 * memtable; a full memtable is flushed as a table of its distinct keys,
 * in L0 or deeper as compaction_flush_level says; after each flush, compactions run until no level scores >= 1, as
 * if the background thread were infinitely fast (so the simulator shows
 * the shape of the tree and its write amplification, never a stall).  A
 * compaction merges its inputs' keys (a key in several inputs is written
 * once) and cuts the output where compaction_should_stop_before says; a
 * trivial move writes nothing.  No deletes, no snapshots: every older
 * version of a key is dropped when it meets the newer.
 *
 * Keys: the i-th new key is mix(i), a bijection of the 64-bit numbers
 * that scatters them (dist=seq: i itself, so keys ascend).  A write
 * overwrites an earlier key with probability --overwrite, chosen
 * uniformly (uniform, seq) or by a zipf law over the order keys were
 * first written (zipf: the first keys are the hottest).
 *
 * Usage: compaction_sim [--keys=N] [--dist=uniform|zipf|seq]
 *   [--overwrite=R] [--zipf_s=S] [--key_bytes=N] [--value_bytes=N]
 *   [--memtable_bytes=N] [--table_bytes=N] [--l1_bytes=N]
 *   [--level_ratio=N] [--l0_trigger=N] [--steps=N] [--seed=N]
 *   [--plot=FILE.dat]
 * Prints one row per step (--steps rows, default 20): flushes, writes,
 * tables/MiB per level, and the write amplification so far (bytes written
 * to tables by flushes and compactions over bytes the user wrote; the log
 * would add 1); then per level the compactions, bytes read and written.
 * --plot writes every flush's row to FILE.dat for scripts/compaction_sim.gp.
 * docs/06-leveled-reference.md, "The compaction simulator", quotes its output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compaction_pick.h"
#include "sim_tree.h"
#include "kv.h"
#include "version.h"

static uint64_t rng_next(uint64_t *s)  /* xorshift64* */
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static double rng_unit(uint64_t *s)  /* in (0, 1) */
{
    return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

/* splitmix64's finalizer: a bijection, so distinct i give distinct keys. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t next_key(sim *s)
{
    uint64_t i;
    if (s->new_keys > 0 && rng_unit(&s->rng) < s->o.overwrite) {
        double u = rng_unit(&s->rng), n = (double)s->new_keys;
        if (s->o.dist != 1)
            i = (uint64_t)(u * n);
        else if (fabs(s->o.zipf_s - 1) < 1e-9) /* inverse of the continuous law */
            i = (uint64_t)(exp(u * log(n + 1)) - 1);
        else
            i = (uint64_t)(pow((pow(n + 1, 1 - s->o.zipf_s) - 1) * u + 1,
                               1 / (1 - s->o.zipf_s)) - 1);
        if (i >= s->new_keys)
            i = s->new_keys - 1;
    } else {
        i = s->new_keys++;
    }
    return s->o.dist == 2 ? i : mix(i);
}
/* ---- reporting -------------------------------------------------------------- */

#define MIB (1024.0 * 1024.0)
#define MAX_ROWS 1002

typedef struct sim_row {
    uint64_t flushes, writes;
    size_t tables[VERSION_LEVELS];
    uint64_t bytes[VERSION_LEVELS];
    double wa;
} sim_row;

static void take_row(const sim *s, sim_row *r)
{
    r->flushes = s->flushes;
    r->writes = s->writes;
    for (int l = 0; l < VERSION_LEVELS; l++) {
        r->tables[l] = s->v->nfiles[l];
        r->bytes[l] = s->v->level_bytes[l];
    }
    r->wa = sim_write_amp(s);
    if (s->plot != NULL) {
        fprintf(s->plot, "%llu %llu", (unsigned long long)r->flushes,
                (unsigned long long)r->writes);
        for (int l = 0; l < VERSION_LEVELS; l++)
            fprintf(s->plot, " %.3f", (double)r->bytes[l] / MIB);
        for (int l = 0; l < VERSION_LEVELS; l++)
            fprintf(s->plot, " %zu", r->tables[l]);
        fprintf(s->plot, " %.3f\n", r->wa);
    }
}

static void print_rows(const sim_row *rows, size_t n)
{
    int deepest = 0;
    for (size_t i = 0; i < n; i++)
        for (int l = 0; l < VERSION_LEVELS; l++)
            if (rows[i].tables[l] > 0 && l > deepest)
                deepest = l;
    printf("%7s %12s", "flushes", "writes");
    for (int l = 0; l <= deepest; l++)
        printf("  L%d tables/MiB", l);
    printf("  %6s\n", "WA");
    for (size_t i = 0; i < n; i++) {
        printf("%7llu %12llu", (unsigned long long)rows[i].flushes,
               (unsigned long long)rows[i].writes);
        for (int l = 0; l <= deepest; l++) {
            char cell[32];
            snprintf(cell, sizeof cell, "%zu/%.1f", rows[i].tables[l],
                     (double)rows[i].bytes[l] / MIB);
            printf("  %14s", cell);
        }
        printf("  %6.2f\n", rows[i].wa);
    }
}

static void print_summary(const sim *s, double seconds)
{
    printf("\n%5s %7s %9s %11s %6s %11s %6s %10s %12s\n", "level", "tables", "MiB",
           "target MiB", "score", "compactions", "moves", "read MiB", "written MiB");
    for (int l = 0; l < VERSION_LEVELS; l++) {
        if (s->v->nfiles[l] == 0 && s->compactions[l] == 0)
            continue;
        char target[24];
        if (l == 0)
            snprintf(target, sizeof target, "%d files", s->o.co.l0_trigger);
        else
            snprintf(target, sizeof target, "%.1f",
                     (double)compaction_level_target(&s->o.co, l) / MIB);
        printf("%5d %7zu %9.1f %11s %6.2f %11llu %6llu %10.1f %12.1f\n", l, s->v->nfiles[l],
               (double)s->v->level_bytes[l] / MIB, target,
               compaction_level_score(s->v, &s->o.co, l), (unsigned long long)s->compactions[l],
               (unsigned long long)s->moves[l], (double)s->read_bytes[l] / MIB,
               (double)s->written_bytes[l] / MIB);
    }
    uint64_t live = s->new_keys * sim_entry_bytes(s);
    printf("\nuser writes %.1f MiB, flushed %.1f MiB, write amplification %.2f "
           "(tables only; the log adds 1)\n",
           (double)s->user_bytes / MIB, (double)s->flush_bytes / MIB, sim_write_amp(s));
    printf("%llu flushes, %llu of them placed below L0 (they overlapped nothing above)\n",
           (unsigned long long)s->flushes, (unsigned long long)s->flushes_below_l0);
    printf("%llu distinct keys (%.1f MiB), tables hold %.1f MiB: space amplification %.2f\n",
           (unsigned long long)s->new_keys, (double)live / MIB,
           (double)version_total_bytes(s->v) / MIB,
           live ? (double)version_total_bytes(s->v) / (double)live : 0);
    printf("simulated in %.2f s of CPU time\n", seconds);
}

/* ---- options and the run ------------------------------------------------------ */

static uint64_t parse_size(const char *name, const char *v)
{
    char *end;
    double x = strtod(v, &end);
    double mult = *end == 'k' || *end == 'K' ? 1024.0
                : *end == 'm' || *end == 'M' ? MIB
                : *end == 'g' || *end == 'G' ? MIB * 1024.0 : 1.0;
    if (mult != 1.0)
        end++;
    if (end == v || *end != '\0' || x < 0) {
        fprintf(stderr, "compaction_sim: --%s=%s: not a number (a suffix k, m or g may follow)\n",
                name, v);
        exit(2);
    }
    return (uint64_t)(x * mult);
}

/* The usage on f; exits 0 if f is stdout (--help), else 2. */
static void usage_to(FILE *f)
{
    fprintf(f,
            "usage: compaction_sim [--keys=N] [--dist=uniform|zipf|seq] [--overwrite=R]\n"
            "  [--zipf_s=S] [--key_bytes=N] [--value_bytes=N] [--memtable_bytes=N]\n"
            "  [--table_bytes=N] [--l1_bytes=N] [--level_ratio=N] [--l0_trigger=N]\n"
            "  [--steps=N] [--seed=N] [--plot=FILE.dat]   (sizes may end in k, m or g)\n"
            "Simulates stage 06's leveled compaction (its picker and versions, no table\n"
            "behind them) and prints each level's shape and the write amplification\n"
            "(docs/06-leveled-reference.md, \"The compaction simulator\").\n");
    exit(f == stdout ? 0 : 2);
}

static void usage(void)
{
    usage_to(stderr);
}

static void parse_args(int argc, char **argv, sim_opts *o)
{
    memset(o, 0, sizeof *o);
    o->keys = 1000000;
    o->key_bytes = 16;
    o->value_bytes = 100;
    o->memtable_bytes = 4u << 20;
    o->zipf_s = 0.99;
    o->steps = 20;
    o->seed = 1;
    compaction_options_from(NULL, &o->co);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            usage_to(stdout);
        if (strncmp(a, "--", 2) != 0 || eq == NULL)
            usage();
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(eq - a - 2), a + 2);
        const char *v = eq + 1;
        if (strcmp(name, "dist") == 0) {
            o->dist = strcmp(v, "uniform") == 0 ? 0 : strcmp(v, "zipf") == 0 ? 1
                    : strcmp(v, "seq") == 0 ? 2 : -1;
            if (o->dist < 0)
                usage();
        } else if (strcmp(name, "plot") == 0) {
            o->plot = v;
        } else if (strcmp(name, "overwrite") == 0 || strcmp(name, "zipf_s") == 0) {
            double x = strtod(v, NULL);
            if (name[0] == 'o' && (x < 0 || x > 1))
                usage();
            *(name[0] == 'o' ? &o->overwrite : &o->zipf_s) = x;
        } else {
            uint64_t x = parse_size(name, v);
            if (strcmp(name, "keys") == 0) o->keys = x;
            else if (strcmp(name, "key_bytes") == 0) o->key_bytes = x;
            else if (strcmp(name, "value_bytes") == 0) o->value_bytes = x;
            else if (strcmp(name, "memtable_bytes") == 0) o->memtable_bytes = x;
            else if (strcmp(name, "table_bytes") == 0) o->co.table_bytes = x;
            else if (strcmp(name, "l1_bytes") == 0) o->co.l1_bytes = x;
            else if (strcmp(name, "level_ratio") == 0) o->co.level_ratio = (int)x;
            else if (strcmp(name, "l0_trigger") == 0) o->co.l0_trigger = (int)x;
            else if (strcmp(name, "steps") == 0) o->steps = (int)x;
            else if (strcmp(name, "seed") == 0) o->seed = x;
            else usage();
        }
    }
    if (o->key_bytes + o->value_bytes == 0 || o->memtable_bytes == 0 || o->co.table_bytes == 0 ||
        o->co.l1_bytes == 0 || o->co.level_ratio < 2 || o->co.l0_trigger < 1 || o->steps < 1 ||
        o->steps > MAX_ROWS - 2) {
        fprintf(stderr, "compaction_sim: sizes must be > 0, level_ratio >= 2, l0_trigger >= 1, "
                        "steps 1..%d\n", MAX_ROWS - 2);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    static sim s;
    static sim_row rows[MAX_ROWS];
    size_t nrows = 0;
    parse_args(argc, argv, &s.o);
    s.rng = s.o.seed * 0x9E3779B97F4A7C15ULL + 1;
    sim_init(&s);
    if (s.o.plot != NULL) {
        if ((s.plot = fopen(s.o.plot, "w")) == NULL) {
            perror(s.o.plot);
            return 1;
        }
        fprintf(s.plot, "# compaction_sim: flushes writes L0..L6_MiB L0..L6_tables WA\n");
    }
    uint64_t per_flush = (s.o.memtable_bytes + sim_entry_bytes(&s) - 1) / sim_entry_bytes(&s);
    uint64_t flushes = (s.o.keys + per_flush - 1) / per_flush;
    uint64_t every = (flushes + (uint64_t)s.o.steps - 1) / (uint64_t)s.o.steps;
    uint64_t *mem = malloc(per_flush * sizeof *mem), *tmp = malloc(per_flush * sizeof *tmp);
    if (mem == NULL || tmp == NULL)
        sim_die("out of memory");
    clock_t t0 = clock();
    size_t nmem = 0;
    for (uint64_t w = 0; w < s.o.keys; w++) {
        mem[nmem++] = next_key(&s);
        s.writes++;
        s.user_bytes += sim_entry_bytes(&s);
        if (nmem == per_flush || w + 1 == s.o.keys) {
            sim_flush(&s, mem, tmp, nmem);
            nmem = 0;
            if (s.flushes % every == 0 || w + 1 == s.o.keys)
                take_row(&s, &rows[nrows < MAX_ROWS - 1 ? nrows++ : nrows]);
            else if (s.plot != NULL)
                take_row(&s, &rows[nrows]); /* a row for the plot only */
        }
    }
    double seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
    print_rows(rows, nrows);
    print_summary(&s, seconds);
    free(mem);
    free(tmp);
    sim_free(&s);
    if (s.plot != NULL && fclose(s.plot) != 0) {
        perror(s.o.plot);
        return 1;
    }
    return 0;
}
