/*
 * table_blocks_fuzz.h: what the files of the table_blocks fuzz harness
 * share (table_blocks_fuzz.c, the entry, says what an input is and what it
 * checks; table_blocks_fuzz_model.c, _read.c, _alloc.c and _mutate.c hold
 * its parts).  Not an interface of the engine: the harness's own helpers,
 * so that each of its files holds one idea.
 *
 * Invariants: the table is one file in memory (table_blocks_path), its
 * checksums made right before anything reads it (table_blocks_repair);
 * the oracle (table_blocks_model) is read from those bytes alone; a broken
 * promise aborts (table_blocks_check).
 */
#ifndef KV_FUZZ_TABLE_BLOCKS_FUZZ_H
#define KV_FUZZ_TABLE_BLOCKS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "table.h"
#include "table_v2_format.h"

/* Version 2 (stage 09's tables of partitions): its top-level index entries
 * name partitions, not data blocks (parted_format.h). */
#define TABLE_BLOCKS_PARTED 2u

/* Lookups of keys a scan found, at most. */
#define TABLE_BLOCKS_LOOKUPS 32u

/* Runs on every input in the replays, one in 64 when fuzzing. */
#define TABLE_BLOCKS_ALLOC_RARELY 64

/* The kinds of stored blocks a walk meets, for the mutator. */
enum { TB_DATA, TB_INDEX, TB_TOP, TB_FILTER, TB_META, TB_KINDS };

/* What a walk does with each stored block it meets (a handle inside its
 * region): the checksum made right, or the block noted for the mutator. */
typedef struct table_blocks_walker {
    int fix;                       /* 1: make each block's crc32c right */
    table_v2_handle *seen[TB_KINDS]; /* else: the blocks of each kind */
    size_t nseen[TB_KINDS], cap[TB_KINDS];
} table_blocks_walker;

/* The entries of a table as the harness's own walk of its bytes finds them
 * (table_blocks_model_read): the oracle of the engine's reads.  `whole`: every
 * block a handle names was read (liblz4 for lz4 contents) and parsed, and
 * the table is what its format promises: internal keys strictly
 * ascending, each data block's keys above the separator before it and at
 * most its own, version 2's top-level keys each its partition's last
 * separator, the properties' smallest and largest the first and last key
 * and their count of data blocks the number the index entries name (a
 * table of partitions opens without reading them: a count one short is
 * for a scan, which joins them, and kv check to find), and each data
 * block's hash index, if it has one, as a builder makes it
 * (every bucket empty, a collision or a restart point of its block, every
 * key's bucket its run or a collision: block_hash.h, kv check's reading),
 * and each value of a block whose values are cells (block_value.h) read
 * from its cell by the harness's own reading of the bytes, with liblz4 (a
 * block stored with lz4 holds none).
 * `filters_hold`: every key is in the filter a lookup asks (version 1's
 * one, or its partition's), as bloom_may_contain reads it.  `filters`:
 * each filter's bytes in the file and the entries it answers for (the
 * mutator writes a filter again for them). */
typedef struct table_blocks_filter {
    const uint8_t *lo, *hi;
    size_t first, end;      /* entries [first, end) */
} table_blocks_filter;

/* ---- the table as the harness reads it ------------------------------------------ */

typedef struct table_blocks_model {
    int whole, filters_hold;
    table_blocks_filter *filters;
    size_t nfilters, filters_cap;
    uint8_t *keys;
    size_t keys_len, keys_cap;
    size_t *ends;           /* key i is [ends[i - 1], ends[i]) of keys */
    uint32_t *value_crc;
    uint8_t *edge;          /* 1: the last entry of its data block; 2: the
                               first or last of its partition (version 2) */
    size_t n, cap;
    uint64_t blocks;        /* the data blocks the index entries name */
} table_blocks_model;

/* ---- table_blocks_fuzz.c: the walk that makes every checksum right ---- */

/* Aborts with what was broken and kv_errmsg() unless ok. */
void table_blocks_check(int ok, const char *what);
/* Whether io_fault.h is installed for this input (table_blocks_faults). */
extern int table_blocks_fault_armed;
/* Whether rc is what a reading of the table may answer (KV_OK,
 * KV_ERR_CORRUPT, or KV_ERR_IO once a call failed), with a message. */
int table_blocks_rc(int rc);
/* Whether the stored block h lies in [lo, hi). */
int table_blocks_inside(table_v2_handle h, uint64_t lo, uint64_t hi);
/* The handles an index entry at it names (1 or 2), into h. */
int table_blocks_handles(const block_iter *it, table_v2_handle h[2]);
/* Walks the file f as a reader does, each stored block fixed or noted. */
void table_blocks_walk(table_blocks_walker *w, uint8_t *f, size_t size);
/* Every checksum of f made right, in place. */
void table_blocks_repair(uint8_t *f, size_t size);

/* ---- table_blocks_fuzz_model.c: the oracle ---- */

/* The harness's own walk of the bytes f into *m (to be freed). */
void table_blocks_model_read(const uint8_t *f, size_t size, table_blocks_model *m);
void table_blocks_model_free(table_blocks_model *m);
/* Key i of the model, its length in *len. */
const uint8_t *table_blocks_model_key(const table_blocks_model *m, size_t i, size_t *len);

/* ---- table_blocks_fuzz_read.c: the table as the engine reads it ---- */

/* The table's file in memory, and the context the input is read with. */
extern const char table_blocks_path[];
extern table_ctx *table_blocks_ctx;
/* Picks the context for the input by its crc32c (table_blocks_ctx); the
 * input's reading ends with table_blocks_setup_done, which frees a context
 * made for it. */
void table_blocks_setup(uint32_t crc);
void table_blocks_setup_done(void);
/* How the I/O layer serves the file, by its header's checksum as the input
 * holds it: returns 1 if io_fault.h is installed. */
int table_blocks_faults(const uint8_t *data, const uint8_t *f, size_t size);
/* Which tools run on the input, by its crc32c. */
int table_blocks_tools(uint32_t crc);
/* The engine's reads of t checked against m; NULL, or what disagreed. */
const char *table_blocks_read(table *t, const table_blocks_model *m, size_t size, int tools);

/* ---- table_blocks_fuzz_alloc.c: allocations refused ---- */

/* The reading again with each of its allocations refused in turn. */
void table_blocks_alloc_faults(uint32_t seed);

#endif
