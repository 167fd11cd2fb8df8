/*
 * sim_tree.c: the simulator's tables, flushes and compactions
 * (sim_tree.h), through stage 06's versions and picker.
 */
#include "sim_tree.h"

#include <stdlib.h>
#include <string.h>

#include "internal_key.h"
#include "kv.h"
#include "version_edit.h"

void sim_die(const char *what)
{
    fprintf(stderr, "compaction_sim: %s: %s\n", what, kv_errmsg());
    exit(1);
}

/* The user key of k: 8 bytes big-endian (bytewise order = numeric order). */
static void sim_user_key(uint8_t out[8], uint64_t k)
{
    for (int b = 0; b < 8; b++)
        out[b] = (uint8_t)(k >> (56 - 8 * b));
}

/* The internal key of k: its user key, then the trailer (sequence 1: the
 * picker never looks at it). */
static void sim_ikey(uint8_t out[16], uint64_t k)
{
    uint8_t user[8];
    sim_user_key(user, k);
    ikey_encode(out, user, 8, 1, IKEY_PUT);
}

static void release_table(void *ctx, vfile *f)
{
    sim *s = ctx;
    free(s->tables[f->number].keys);
    s->tables[f->number].keys = NULL;
}

/* A new table of keys[0..n), added to e at level; returns its bytes. */
static uint64_t add_table(sim *s, version_edit *e, int level, const uint64_t *keys, size_t n)
{
    uint64_t number = s->next_file++;
    if (number >= s->tables_cap) {
        s->tables_cap = s->tables_cap ? 2 * s->tables_cap : 1024;
        s->tables = realloc(s->tables, s->tables_cap * sizeof *s->tables);
        if (s->tables == NULL)
            sim_die("out of memory");
    }
    sim_table *t = &s->tables[number];
    t->keys = malloc(n * sizeof *keys);
    if (t->keys == NULL)
        sim_die("out of memory");
    memcpy(t->keys, keys, n * sizeof *keys);
    t->n = n;
    uint8_t lo[16], hi[16];
    sim_ikey(lo, keys[0]);
    sim_ikey(hi, keys[n - 1]);
    uint64_t bytes = n * sim_entry_bytes(s);
    if (version_edit_add_file(e, level, number, bytes, n, lo, 16, hi, 16) != KV_OK)
        sim_die("version_edit_add_file");
    return bytes;
}

static void apply(sim *s, version_edit *e)
{
    version *next;
    if (version_apply(s->v, e, vfile_open_plain, NULL, &next) != KV_OK)
        sim_die("version_apply");
    version_unref(s->v);
    s->v = next;
    for (size_t i = 0; i < e->npointers; i++) {
        int l = e->pointers[i].level;
        memcpy(s->pointer[l], e->pointers[i].key, 16);
        s->pointers.key[l] = s->pointer[l];
        s->pointers.len[l] = 16;
    }
    version_edit_free(e);
}

/* Sorts a[0..n) (LSD radix sort, a byte per pass, through tmp). */
static void sort_keys(uint64_t *a, uint64_t *tmp, size_t n)
{
    for (int shift = 0; shift < 64; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((a[i] >> shift) & 0xff) + 1]++;
        for (int b = 0; b < 256; b++)
            count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++)
            tmp[count[(a[i] >> shift) & 0xff]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
    }
}

/* Merges sorted a[0..na) and b[0..nb) into out, each key once. */
static size_t merge_unique(const uint64_t *a, size_t na, const uint64_t *b, size_t nb,
                           uint64_t *out)
{
    size_t i = 0, j = 0, n = 0;
    while (i < na || j < nb) {
        uint64_t k = j == nb || (i < na && a[i] <= b[j]) ? a[i] : b[j];
        i += i < na && a[i] == k;
        j += j < nb && b[j] == k;
        out[n++] = k;
    }
    return n;
}

/* The keys of every input of c, merged, in *keys (a scratch buffer). */
static size_t merge_inputs(sim *s, const compaction *c, uint64_t **keys)
{
    size_t total = 0;
    for (int w = 0; w < 2; w++)
        for (size_t i = 0; i < c->inputs[w].n; i++)
            total += s->tables[c->inputs[w].files[i]->number].n;
    if (total > s->scratch_cap) {
        s->scratch_cap = total + total / 2;
        for (int i = 0; i < 3; i++)
            if ((s->scratch[i] = realloc(s->scratch[i], s->scratch_cap * sizeof(uint64_t))) == NULL)
                sim_die("out of memory");
    }
    uint64_t *run = s->scratch[0], *out = s->scratch[1], *cat = s->scratch[2], *swap;
    size_t n = 0;
    /* A level >= 1 is a sorted run: its tables' keys one after the other
     * are in order, and merge with the rest in one pass. */
    for (int w = c->level == 0 ? 1 : 0; w < 2; w++) {
        size_t m = 0;
        for (size_t i = 0; i < c->inputs[w].n; i++) {
            const sim_table *t = &s->tables[c->inputs[w].files[i]->number];
            memcpy(cat + m, t->keys, t->n * sizeof *cat);
            m += t->n;
        }
        n = merge_unique(run, n, cat, m, out);
        swap = run, run = out, out = swap;
    }
    /* L0's tables overlap: each merges in on its own. */
    for (size_t i = 0; c->level == 0 && i < c->inputs[0].n; i++) {
        const sim_table *t = &s->tables[c->inputs[0].files[i]->number];
        n = merge_unique(run, n, t->keys, t->n, out);
        swap = run, run = out, out = swap;
    }
    *keys = run;
    return n;
}

/* Runs c: the merged keys cut into tables where the picker says. */
static void run_compaction(sim *s, compaction *c)
{
    int l = c->level;
    version_edit e;
    version_edit_init(&e);
    if (compaction_edit(c, &e) != KV_OK)
        sim_die("compaction_edit");
    s->compactions[l]++;
    if (compaction_is_trivial_move(c)) {
        s->moves[l]++;
        apply(s, &e);
        return;
    }
    s->read_bytes[l] += compaction_input_bytes(c, 0) + compaction_input_bytes(c, 1);
    uint64_t *keys;
    size_t n = merge_inputs(s, c, &keys), start = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t ik[16];
        sim_ikey(ik, keys[i]);
        uint64_t out_bytes = (i - start) * sim_entry_bytes(s);
        if (compaction_should_stop_before(c, ik, sizeof ik, out_bytes) && i > start) {
            s->written_bytes[l] += add_table(s, &e, l + 1, keys + start, i - start);
            start = i;
        }
    }
    if (n > start)
        s->written_bytes[l] += add_table(s, &e, l + 1, keys + start, n - start);
    apply(s, &e);
}

static void compact_while_needed(sim *s)
{
    compaction *c;
    for (;;) {
        if (compaction_pick(s->v, &s->o.co, &s->pointers, &c) != KV_OK)
            sim_die("compaction_pick");
        if (c == NULL)
            return;
        run_compaction(s, c);
        compaction_free(c);
    }
}

void sim_flush(sim *s, uint64_t *mem, uint64_t *tmp, size_t n)
{
    sort_keys(mem, tmp, n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || mem[m - 1] != mem[i])
            mem[m++] = mem[i];
    /* In L0, or deeper if nothing there overlaps it, as the engine does. */
    uint8_t lo[8], hi[8];
    sim_user_key(lo, mem[0]);
    sim_user_key(hi, mem[m - 1]);
    int level = compaction_flush_level(s->v, &s->o.co, lo, sizeof lo, hi, sizeof hi);
    version_edit e;
    version_edit_init(&e);
    s->flush_bytes += add_table(s, &e, level, mem, m);
    s->flushes++;
    s->flushes_below_l0 += level > 0;
    apply(s, &e);
    compact_while_needed(s);
}

double sim_write_amp(const sim *s)
{
    uint64_t w = s->flush_bytes;
    for (int l = 0; l < VERSION_LEVELS; l++)
        w += s->written_bytes[l];
    return s->user_bytes ? (double)w / (double)s->user_bytes : 0;
}

void sim_init(sim *s)
{
    s->next_file = 1;
    if (version_new_empty(release_table, s, &s->v) != KV_OK)
        sim_die("version_new_empty");
}

void sim_free(sim *s)
{
    version_unref(s->v);
    free(s->tables);
    for (int i = 0; i < 3; i++)
        free(s->scratch[i]);
}
