/*
 * stage_caps.h: what each stage promises beyond what kv.h requires of
 * every stage, in one table (stage_caps.c), so that a suite or the crash
 * tester asks "are batches atomic across crashes here?" instead of
 * comparing stage names.  Each fact is checked against the stage it
 * describes (tests/stage_caps_test.c), and a stage missing from the table
 * is an error, not a default: a new stage adds its row.
 */
#ifndef KV_TESTS_STAGE_CAPS_H
#define KV_TESTS_STAGE_CAPS_H

typedef struct stage_caps {
    const char *stage;    /* kv_stage() */
    int atomic_batches;   /* a batch is all or nothing after any crash, a kill
                             or a power loss (kv.h: from stage 03 on) */
    int durable_sync;     /* with sync = 1, a write acknowledged before a
                             power loss survives it */
    int durable_close;    /* once kv_close has returned, everything it
                             acknowledged survives a power loss, names of
                             files included, whatever sync was */
    int has_repair;       /* kv_repair works (before: KV_ERR_INVALID) */
    int has_segments;     /* segment_bytes splits the log into files */
    int gets_scan_log;    /* a kv_get may read the whole log, so its cost
                             grows with the log (tests size their work by it) */
    int has_memtable;     /* writes wait in memory for a flush (kv_flush
                             makes them a table: kv_stats's flush.count and
                             tables.count) */
    int txn_versions;     /* a commit finds a conflict by versions: any write
                             to a key since the snapshot counts, even one
                             that wrote its value back, and KV_TXN_SNAPSHOT
                             is snapshot isolation (before: values are
                             compared, and the A-B-A history of kv.h
                             commits under KV_TXN_SNAPSHOT: tests/txn.c) */
    int table_blocks;     /* tables are read in blocks, each table with a bloom
                             filter, through a block cache (kv_cost's bloom_*
                             and block* counts, tests/latency.c: stage 05 on) */
    int record_cache;     /* a get a table answered is kept as a record, so
                             the same get again asks no filter, index or
                             block of it (kv_cost's record_cache_hits:
                             stage 09 on) */
    int paced_writes;     /* flushes and compactions write at a rate
                             (kv_options.background_bytes_per_sec,
                             kv_set_background_rate: stage 09 on; before,
                             any rate but 0 is KV_ERR_INVALID) */
    int parted_index;     /* kv_options.table_partitions = KV_PARTITIONS
                             makes tables keep only the top level of an
                             index and filter cut into partitions, read
                             through the block cache: a get that finds
                             nothing cached reads a filter partition, an
                             index partition and a data block (stage 09
                             on; tests/latency.c, when the test binaries
                             ask for it: KV_TEST_TABLE_PARTITIONS=1,
                             tests/wrap/value_threshold.c) */
    int values_alone;     /* by default each value of a data block is
                             compressed alone, the block stored raw: a
                             block checked once in the file's mapping is
                             read there again, never copied into the block
                             cache (kv_cost's blocks_read and reads for a
                             neighbour's get, tests/latency.c: stage 09 on) */
} stage_caps;

/* The row of the stage this binary is linked with (kv_stage()), or NULL if
 * the table has none. */
const stage_caps *stage_caps_find(void);

/* 1 if `name` is a file that holds no data but says which files make up
 * the database (stage 06's CURRENT and MANIFEST-NNNNNN, rewritten at each
 * open that may write) or what the engine has done (STATS, stages 04-08,
 * and stage 08's VLOGCOUNTS, rewritten at each close): tests that count or grow data files skip it. */
int stage_caps_is_meta_file(const char *name);

/* The row for `stage`, or NULL. */
const stage_caps *stage_caps_lookup(const char *stage);

#endif
