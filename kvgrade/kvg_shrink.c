/*
 * kvg_shrink.c: shrinking a failing list of steps to a shorter one that
 * still fails, by delta debugging (Zeller and Hildebrandt, "Simplifying
 * and Isolating Failure-Inducing Input", 2002): leave out one of n chunks
 * of the units; if it still fails, keep that; else try finer chunks; then
 * try leaving out each unit alone.  A unit is a range of steps that only
 * make sense together (a whole crash cycle, a restart).  Every try runs
 * the engine again from an empty directory, so the budget is in runs and
 * in seconds.
 */
#include <stdlib.h>
#include <string.h>

#include "kvgrade.h"

/* The steps of `all` without the units marked in `drop`. */
static void shrink_build(const kvg_steps *all, const kvg_unit *units, size_t nunits,
                         const unsigned char *drop, kvg_steps *out)
{
    unsigned char *skip = calloc(all->n + 1, 1);
    for (size_t u = 0; u < nunits; u++)
        if (drop[u])
            for (size_t i = units[u].from; i < units[u].to && i < all->n; i++)
                skip[i] = 1;
    kvg_steps keep = {0};
    for (size_t i = 0; i < all->n; i++) {
        if (skip[i])
            continue;
        const kvg_step *f = &all->s[i];
        kvg_step *t = kvg_steps_add(&keep, f->kind);
        t->req = kvg_req_dup(&f->req);
        t->n = f->n;
        t->allow = f->allow;
        t->file = f->file != NULL ? kvg_strdup(f->file) : NULL;
    }
    free(skip);
    *out = keep;
}

size_t kvg_shrink(kvg_steps *steps, kvg_unit *units, size_t nunits, kvg_fails_fn fails, void *arg,
                  size_t tries, double seconds)
{
    double until = kvg_now() + seconds;
    size_t runs = 0;
    unsigned char *drop = calloc(nunits + 1, 1);  /* units left out for good */
    unsigned char *trial = calloc(nunits + 1, 1);
    size_t *live = malloc((nunits + 1) * sizeof *live);
    size_t chunks = 2;
    for (;;) {
        size_t nlive = 0;
        for (size_t u = 0; u < nunits; u++)
            if (!drop[u])
                live[nlive++] = u;
        if (nlive == 0 || runs >= tries || kvg_now() > until)
            break;
        if (chunks > nlive)
            chunks = nlive;
        size_t size = (nlive + chunks - 1) / chunks;
        int reduced = 0;
        for (size_t c = 0; c * size < nlive && runs < tries && kvg_now() <= until; c++) {
            memcpy(trial, drop, nunits);
            for (size_t j = c * size; j < (c + 1) * size && j < nlive; j++)
                trial[live[j]] = 1;
            kvg_steps cand;
            shrink_build(steps, units, nunits, trial, &cand);
            runs++;
            int f = fails(arg, &cand);
            kvg_steps_free(&cand);
            if (f) {
                memcpy(drop, trial, nunits);
                reduced = 1;
                chunks = chunks > 2 ? chunks - 1 : 2;
                break;
            }
        }
        if (!reduced) {
            if (chunks >= nlive)
                break; /* every unit alone was tried */
            chunks = chunks * 2 < nlive ? chunks * 2 : nlive;
        }
    }
    kvg_steps out;
    shrink_build(steps, units, nunits, drop, &out);
    kvg_steps_free(steps);
    *steps = out;
    free(drop);
    free(trial);
    free(live);
    return runs;
}
