# Stage 05: stage 04's LSM tree with tables in blocks (table format v2):
# data blocks of block_bytes with shared key prefixes and restart points,
# lz4 where it saves an eighth, a checksum per block, an index of short
# separators and a bloom filter kept in memory per table, a fixed footer;
# a sharded LRU block cache and a cache of open table files.  New here:
# the block builder and reader (block_builder.c, block.c), table v2
# (table_v2_*.c) behind stage 04's table.h, the bloom filter (bloom.c) and
# the caches (lru_cache.c, block_cache.c, file_cache.c).  Reused
# unchanged: everything else of stage 04 (its engine, lsm_*.c, internal
# keys, arena, skiplist, memtable, iterators: SRCS_04-lsm without its
# table_v1_*.c) and, through it, stage 03's WAL module.
SRCS_05-blocks := $(filter-out stages/04-lsm/table_v1_%.c,$(SRCS_04-lsm)) \
                  stages/05-blocks/block_builder.c stages/05-blocks/block.c \
                  stages/05-blocks/table_v2_meta.c stages/05-blocks/table_v2_block.c \
                  stages/05-blocks/table_v2_build.c stages/05-blocks/table_v2_open.c \
                  stages/05-blocks/table_v2_read.c stages/05-blocks/table_v2_iter.c \
                  stages/05-blocks/table_v2_tools.c stages/05-blocks/table_v2_inspect.c \
                  stages/05-blocks/bloom.c stages/05-blocks/lru_cache.c \
                  stages/05-blocks/block_cache.c stages/05-blocks/file_cache.c
# What kv repair can read of a damaged v2 table.
SRCS_05-blocks += stages/05-blocks/table_v2_salvage.c
INC_05-blocks := -Istages/04-lsm $(INC_04-lsm)
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
# the caches; and those tests of the stage-04 files this stage links that
# reach a table or the engine, so run on table v2 here: table.h's
# contract, faults and salvage (what kv repair reads of a damaged table), the merging iterator (over tables it builds), and
# the engine's (lsm_*_test.c).  Not table_test.c and table_forged_test.c,
# which test format v1's own bytes, and not the tests of stage 04's
# building blocks that touch no table (LSM_BLOCK_TESTS_04: the arena,
# internal keys, the skiplist, the memtable, the user's view over
# memtables): this stage links those files unchanged, with no define of its
# own, so stage 04's stagetest runs them on the same code.
LSM_BLOCK_TESTS_04 := $(patsubst %,stages/04-lsm/tests/%_test.c,arena internal_key \
                        skiplist memtable user_iter)
TESTS_05-blocks := $(wildcard stages/05-blocks/tests/*_test.c) \
                   $(filter-out stages/04-lsm/tests/table_test.c \
                                stages/04-lsm/tests/table_forged_test.c \
                                $(LSM_BLOCK_TESTS_04),$(TESTS_04-lsm))
TEST_HELPERS_05-blocks := $(TEST_HELPERS_04-lsm) stages/03-wal/tests/alloc_fail.c \
                          $(wildcard stages/05-blocks/tests/*_util.c)
# The bloom filter's decoder has its own harness (fuzz/filter_fuzz.c).
FUZZ_05-blocks += filter
# bench/bloom_fp.c: the bloom filter's false-positive rate against the
# theory (docs/05-blocks.md, "Bloom filters"); the filter alone, so it
# builds whatever state the rest of the stage is in.
$(B)/05-blocks/bloom_fp: $(B)/05-blocks/obj/bench/bloom_fp.o \
                         $(B)/05-blocks/obj/stages/05-blocks/bloom.o $(B)/obj/common/error.o
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)
# bench/tableratio.c: the tables' bytes with lz4 against the same tables
# uncompressed, on kvbench's half-compressible values (docs/05-blocks.md,
# "Compression").
$(B)/05-blocks/tableratio: $(B)/obj/bench/tableratio.o $(B)/obj/bench/bench_sys.o \
                           $(B)/05-blocks/libkv.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)
