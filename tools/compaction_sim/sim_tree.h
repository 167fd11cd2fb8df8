/*
 * sim_tree.h: the simulated tree of build/06-leveled/compaction_sim
 * (compaction_sim.c says what it models): stage 06's real versions and
 * picker over tables that are only sorted arrays of 64-bit keys.
 * sim_tree.c flushes and compacts them; compaction_sim.c makes
 * the workload and prints what happened.
 */
#ifndef KV_SIM_TREE_H
#define KV_SIM_TREE_H

#include <stdint.h>
#include <stdio.h>

#include "compaction_pick.h"
#include "version.h"

/* The command line (compaction_sim.c's usage). */
typedef struct sim_opts {
    uint64_t keys;                /* writes */
    uint64_t key_bytes, value_bytes;  /* what an entry counts in a table */
    uint64_t memtable_bytes, seed;
    double overwrite, zipf_s;
    int dist;                     /* 0 uniform, 1 zipf, 2 seq */
    int steps;                    /* rows printed */
    const char *plot;
    compaction_options co;        /* the picker's */
} sim_opts;

/* A table: its distinct keys, ascending. */
typedef struct sim_table {
    uint64_t *keys;
    size_t n;
} sim_table;

typedef struct sim {
    sim_opts o;
    version *v;                   /* the current version */
    sim_table *tables;            /* by file number */
    size_t tables_cap;
    uint64_t next_file, rng, new_keys, writes, flushes;
    uint64_t flushes_below_l0;    /* flushed tables placed in L1 or L2 */
    uint64_t user_bytes, flush_bytes;
    /* per level: compactions picked there (moves among them), bytes of
     * their inputs and outputs */
    uint64_t compactions[VERSION_LEVELS], moves[VERSION_LEVELS];
    uint64_t read_bytes[VERSION_LEVELS], written_bytes[VERSION_LEVELS];
    uint8_t pointer[VERSION_LEVELS][16];  /* the compact pointers' keys */
    compaction_pointers pointers;
    uint64_t *scratch[3];         /* merge buffers, kept from one compaction to the next */
    size_t scratch_cap;
    FILE *plot;
} sim;

/* Prints "compaction_sim: what: kv_errmsg()" and exits 1. */
_Noreturn void sim_die(const char *what);

/* An empty tree for s->o (the rest of s zeroed).  */
void sim_init(sim *s);
/* Flushes mem[0..n) (any order, repeats allowed; tmp: n more keys of
 * room) as a table in L0, or deeper where compaction_flush_level places
 * it, then compacts until no level scores >= 1. */
void sim_flush(sim *s, uint64_t *mem, uint64_t *tmp, size_t n);
/* Bytes written to tables (flushes and compactions) over bytes written. */
double sim_write_amp(const sim *s);
void sim_free(sim *s);

static inline uint64_t sim_entry_bytes(const sim *s)
{
    return s->o.key_bytes + s->o.value_bytes;
}

#endif
