/*
 * table_fuzz.h: what the files of the table fuzz harness share
 * (table_fuzz.c, the entry, says what an input is and what it checks;
 * table_fuzz_cut.c, table_fuzz_faults.c and table_fuzz_engine.c hold its
 * parts).  Not an interface of the engine: the harness's own helpers, so
 * that each of its files holds one idea.
 *
 * Invariants: the table is one file in memory (table_fuzz_path); the
 * entries a scan saw (table_fuzz_entry) are the oracle of every later
 * read; a broken promise aborts (table_fuzz_check).
 */
#ifndef KV_FUZZ_TABLE_FUZZ_H
#define KV_FUZZ_TABLE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "internal_key.h"
#include "io_fault.h"
#include "table.h"
#include "table_batch.h"

/* Lookups in a table whose file was cut short after it opened, at most. */
#define TABLE_FUZZ_CUT_LOOKUPS 8u

/* What a table that reads whole holds (table_fuzz_one), for the manifest
 * that names it (table_fuzz_manifest): its key range, as many entries as
 * its footer counts, and its newest sequence number. */
typedef struct table_fuzz_whole {
    uint8_t *smallest, *largest;
    size_t smallest_len, largest_len;
    uint64_t entries, last_seq;
} table_fuzz_whole;

/* What a check said of a table (table_fuzz_said_line): whether a line
 * names it (its label first) and a place inside it, an offset from the
 * end of its file header to its end ("offset N" or "at N"). */
typedef struct table_fuzz_said {
    const char *label;
    uint64_t size;
    int placed;
} table_fuzz_said;

/* What the forward scan saw of each record. */
typedef struct table_fuzz_entry {
    uint32_t key_crc, value_crc;
    size_t key_at, key_len; /* the key's copy in the key store */
    uint64_t seq;
    ikey_type type;
} table_fuzz_entry;

/* ---- table_fuzz.c: the table read as the engine reads it ---- */

/* Aborts with what was broken and kv_errmsg() unless ok. */
void table_fuzz_check(int ok, const char *what);
/* The table's file in memory, and the context a cut table is read with. */
extern const char table_fuzz_path[];
extern table_ctx *table_fuzz_cut_ctx;
/* The record a lookup of record i's key at its sequence finds. */
uint64_t table_fuzz_want(const table_fuzz_entry *e, const uint8_t *keys, uint64_t i);
/* A line of a check's into the table_fuzz_said at ctx. */
void table_fuzz_said_line(void *ctx, const char *line);
/* The context a table is read with again: table_fuzz_cut_ctx, or, if
 * crowded, one whose file cache holds one file (max_open_files 1), its
 * block cache one block, files mapped or not, made once a process, and
 * in it another table of table_fuzz_path (c->holder), whose iterator
 * (c->held) holds that one file (file_cache.h, FC1), so that each read
 * of a table opened in the context after it, not under an iterator of
 * its own, opens (and maps) its file again.  *rc: the answer of the open
 * or the iterator's making that failed, else KV_OK.  Ends with
 * table_fuzz_crowd_end(c). */
typedef struct table_fuzz_crowd {
    table *holder; /* NULL where it could not be made */
    iter *held;
} table_fuzz_crowd;
table_ctx *table_fuzz_crowd_in(table_fuzz_crowd *c, int crowded, int mapped, int *rc);
void table_fuzz_crowd_end(table_fuzz_crowd *c);

/* ---- table_fuzz_cut.c: a whole table cut short under its reader ---- */

/* A lookup in two steps, kv_multi_get's (table_batch.h). */
int table_fuzz_get_batched(table *t, const ikey_lookup *lk, int last, int give_back,
                           table_get_result *r, int *released);
/* The table reopened without mapping, its file cut (or a byte inverted);
 * or, remap, mapped again after the cut for each read. */
void table_fuzz_cut(const uint8_t *data, size_t size, const table_fuzz_entry *e,
                    const uint8_t *keys, uint64_t got, int damage, int remap);
/* A key the table lacks after record i's user key. */
void table_fuzz_absent(table *t, const table_fuzz_entry *e, const uint8_t *keys, uint64_t got,
                       uint64_t i);

/* ---- table_fuzz_faults.c: reads with the I/O layer failing ---- */

/* The table's reads with one call of the I/O layer failing. */
void table_fuzz_faults(const uint8_t *data, size_t size);
/* How many failing calls a run tries, and the plan of try i of calls. */
long table_fuzz_fault_tries(void);
void table_fuzz_fault_plan(io_fault_plan *plan, uint32_t pick, long i, long calls);

/* ---- table_fuzz_engine.c: the table through the whole engine ---- */

void table_fuzz_engine(const uint8_t *data, const uint8_t *fixed, size_t size, int whole,
                       const table_fuzz_whole *w, int disordered);

#endif
