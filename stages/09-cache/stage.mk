# Stage 09: a read path that scales.  Stage 08's engine (transactions and
# value log included), unchanged, with two parts replaced: what stands in
# front of a table's lookups, and the pace of the background's writes.
# Stage 05's table_v2/entry/ hands table.h's context, lookups and builder
# straight to format v2; this stage keeps a record cache in the context,
# beside the block cache, one budget (cache_bytes, record_cache_percent of
# it for records), and answers a get from it when it can.  Stage 04's
# full_speed/ writes every new table at once; this stage paces the writes
# with a rate limiter, which the engine asks for each new table's bytes
# (stage 04's bg_rate.h; docs/09-cache.md).  It builds on format v2
# through one header, stage 05's table_v2_parts.h, and nothing of stage 05
# calls back into it.  Its parts:
#   table_context/     table.h's context: format v2's, inside a larger one
#                      that owns the one budget (the record cache, its
#                      doorkeeper) and whether new tables are cut into
#                      partitions (record_ctx.h); and table.h's builder,
#                      of the version the context says
#   record_lookup/     table.h's lookups: step 1 (the key's range) once,
#                      the record cache, then the format's steps of the
#                      file's version
#   record_cache/      the CLOCK (second chance) cache, sharded,
#                      byte-budgeted; the record cache over it: per table,
#                      the newest version of a key, answering lookups at or
#                      above its sequence number only (record_cache.h);
#                      when a lookup asks it at all (record_sampling.h)
#   rate_limiter/      a token bucket for background writes, flushes first
#                      (kv_options.background_bytes_per_sec), and stage
#                      04's bg_rate.h over it, in place of 04-lsm/full_speed
#   partitioned/       format v2's version 2: a table's index and filter
#                      cut into partitions of about a block, read through
#                      the block cache, found through a top-level index,
#                      all an open table keeps (parted_format.h): its
#                      open, lookup, builder, tools and salvage; it stands
#                      in for 05-blocks/table_v2/file_entry, and hands
#                      version-1 tables to format v2's own steps
# and stage 08's parts but 04-lsm/full_speed, 05-blocks/table_v2/entry
# and 05-blocks/table_v2/file_entry.
PARTS_09-cache := 09-cache/table_context 09-cache/record_lookup \
                  09-cache/record_cache 09-cache/rate_limiter 09-cache/partitioned \
                  08-vlog/value_log 08-vlog/value_log/tools \
                  07-txn/txn_versions \
                  06-leveled/versions 06-leveled/compaction 06-leveled/manifest \
                  06-leveled/level_set 06-leveled/level_set/tools \
                  05-blocks/blocks 05-blocks/bloom 05-blocks/cache 05-blocks/table_v2 \
                  05-blocks/table_v2/tools \
                  04-lsm/keys 04-lsm/memtable 04-lsm/iterators 04-lsm/table 04-lsm/engine \
                  04-lsm/logs 04-lsm/stats 04-lsm/tools 03-wal/wal
LIBS_09-cache := $(LIBS_08-vlog)
$(B)/09-cache/%: LDLIBS += $(LIBS_09-cache)

# Fuzz harnesses: fuzz/table_fuzz.c reads tables of partitions (and of
# version 1); fuzz/table_blocks_fuzz.c the same with every block's checksum
# made right, so that mutations reach the partitions' and blocks' decoders;
# the other formats are stage 08's (its stagetest runs them).
FUZZ_09-cache := table table_blocks

# Unit tests (build/09-cache/stagetest): the CLOCK cache, the record cache
# and its rule, the rate limiter and the engine's writes it paces, tables of
# partitions, and the record cache inside the engine (snapshots older than
# a kept version, a seeded model of writes, transactions, snapshots,
# flushes and compactions); the last table a get reaches searched without
# its filter, this stage's default (hits_default_test.c), and stage 05's
# rules of that option (filters_for_hits_test.c), here through
# record_lookup.c; each value compressed alone, this stage's default
# (values_default_test.c), and stage 05's value cells
# (block_value_test.c), whose blocks this stage reads.
TESTS_09-cache := $(wildcard stages/09-cache/tests/*_test.c) \
                  stages/05-blocks/tests/filters_for_hits_test.c \
                  stages/05-blocks/tests/block_value_test.c
TEST_HELPERS_09-cache := $(TEST_HELPERS_05-blocks)

# Its threads under ThreadSanitizer: stages/09-cache/tests/record_race.c,
# linked into its racetest (tests/race/main.c's stage_race_suite).
$(B)/09-cache/racetest: $(B)/09-cache/obj/stages/09-cache/tests/record_race.o

# The shared harness's binaries also run with every value in the value log,
# as stage 08's do (tests/wrap/value_threshold.c).
TEST_WRAP_09-cache := $(TEST_WRAP_08-vlog)
TEST_WRAP_SRCS_09-cache := $(TEST_WRAP_SRCS_08-vlog)
