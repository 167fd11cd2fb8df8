# Stage 05: stage 04's LSM tree with tables in blocks (table format v2):
# data blocks of block_bytes with shared key prefixes and restart points,
# lz4 where it saves an eighth, a checksum per block, an index of short
# separators and a bloom filter kept in memory per table, a fixed footer;
# a sharded LRU block cache and a cache of open table files.  Its parts:
#   blocks/          the block builder and reader
#   bloom/           the bloom filter
#   cache/           the LRU cache, the block cache, the cache of open files
#   table_v2/        table format v2, behind stage 04's table.h, in place of
#                    stage 04's table_v1/; table_v2/tools/ its check, dump,
#                    kv_inspect parts and salvage; table_v2/entry/ table.h's
#                    context, lookup and builder functions, and
#                    table_v2/file_entry/ its functions that take a table
#                    file whole (open, iterate, the tools'), each a call or
#                    two into it; what both are made of, the format's
#                    parts, is declared in table_v2/table_v2_parts.h, the
#                    one header code beside the format includes
# and everything else of stage 04 unchanged (its engine, memtables,
# iterators, logs, stats, tools and flat set; through it, stage 03's WAL
# module).
PARTS_05-blocks := 05-blocks/blocks 05-blocks/bloom 05-blocks/cache 05-blocks/table_v2 05-blocks/table_v2/entry \
                   05-blocks/table_v2/tools 05-blocks/table_v2/file_entry \
                   04-lsm/keys 04-lsm/memtable 04-lsm/iterators 04-lsm/table 04-lsm/engine 04-lsm/full_speed \
                   04-lsm/values_in_place 04-lsm/logs 04-lsm/stats 04-lsm/tools 04-lsm/flat_set 04-lsm/flat_set/tools \
                   03-wal/wal 01-log/txn_values
# lz4 (Debian's liblz4-dev: scripts/deps.sh installs it for `make`): every
# binary linked with this stage's libkv.a links liblz4 too.
LIBS_05-blocks := -llz4
$(B)/05-blocks/%: LDLIBS += $(LIBS_05-blocks)
# Fuzz harnesses (fuzz/<name>_fuzz.c): stage 04's table harness, through
# table.h, reads table v2 here; the block, footer and index decoders have
# their own.
FUZZ_05-blocks := table block footer index
# Unit tests (build/05-blocks/stagetest): the block builder and reader,
# table v2's own (block sizes, compression, filter, separators, options,
# damage named by file and offset, kv check and kv dump), the filter and
# the caches, kv_multi_get's blocks read in one batch (multi_get_blocks);
# and those tests of stage 04 that reach a table or the engine,
# so run on table v2 here: table.h's contract, faults and salvage, the
# merging iterator over tables (LSM_TABLE_TESTS_04), the engine's
# (LSM_ENGINE_TESTS_04, LSM_FLAT_TESTS_04) and the STATS file's.  Not
# format v1's own bytes, and not stage 04's building blocks that touch no
# table (LSM_BLOCK_TESTS_04): this stage links those files unchanged, with
# no define of its own, so stage 04's stagetest runs them on the same code.
TESTS_05-blocks := $(wildcard stages/05-blocks/tests/*_test.c) \
                   $(call lsm_tests_04,$(LSM_TABLE_TESTS_04) $(LSM_ENGINE_TESTS_04) \
                     $(LSM_FLAT_TESTS_04) stats_file)
TEST_HELPERS_05-blocks := $(TEST_HELPERS_04-lsm) stages/03-wal/tests/alloc_fail.c \
                          $(wildcard stages/05-blocks/tests/*_util.c) tests/testdb.c
# The bloom filter's decoder has its own harness (fuzz/filter_fuzz.c), and
# so has the stage's own lz4 decoder, fed raw bytes (fuzz/lz4_fuzz.c); a
# whole table with every block's checksum made right is read through
# table.h by fuzz/table_blocks_fuzz.c.
FUZZ_05-blocks += filter lz4 table_blocks
# bench/bloom_fp.c: the bloom filter's false-positive rate against the
# theory (docs/05-blocks.md, "Bloom filters"); the filter alone, so it
# builds whatever state the rest of the stage is in.
$(B)/05-blocks/bloom_fp: $(B)/05-blocks/obj/bench/bloom_fp.o \
                         $(B)/05-blocks/obj/stages/05-blocks/bloom/bloom.o $(B)/obj/common/error.o
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)
# bench/tableratio.c: the tables' bytes with lz4 against the same tables
# uncompressed, on kvbench's half-compressible values (docs/05-blocks.md,
# "Compression").
$(B)/05-blocks/tableratio: $(B)/obj/bench/tableratio.o $(B)/obj/bench/bench_sys.o \
                           $(B)/05-blocks/libkv.a
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)
