# Stage 06: stage 05's LSM tree with its flat set of tables replaced by
# levels (L0 overlapping, L1..L6 sorted and disjoint), a manifest of
# version edits with a CURRENT file, and leveled compaction
# (docs/06-leveled.md).  Stage 04's engine writes every table, runs every
# merge and waits; it reads and changes its tables only through the
# table-set interface (stages/04-lsm/engine/table_set.h), which stage 04's
# flat_set/ implements with one list and this stage's level_set/ with
# levels.  Its parts:
#   versions/          the versions (the tables of each level), the edit
#                      that changes one into the next (and kv dump's words
#                      for one), and how an edit builds the next version
#   compaction/        the compaction picker: pure logic over a version
#   manifest/          CURRENT and the manifests' names, the manifest
#                      writer (a log of edits) and its replay into a state
#   level_set/         the table set: reads over a version (a level >= 1
#                      read as one sorted source: level_iter), the jobs it
#                      picks, an edit made durable and installed
#                      (level_apply), opening, the files' names; in place
#                      of stage 04's flat_set/
#   level_set/tools/   its kv_stats and kv_inspect lines, kv check, kv dump,
#                      and kv repair (which writes a manifest)
# and from stage 05: table format v2, the bloom filter, the caches; from
# stage 04 its engine, memtables, iterators, logs, stats and tools (with
# its work on one file for kv repair); stage 03's WAL module.
PARTS_06-leveled := 06-leveled/versions 06-leveled/compaction 06-leveled/manifest \
                    06-leveled/level_set 06-leveled/level_set/tools \
                    05-blocks/blocks 05-blocks/bloom 05-blocks/cache 05-blocks/table_v2 05-blocks/table_v2/entry \
                    05-blocks/table_v2/tools 05-blocks/table_v2/file_entry \
                    04-lsm/keys 04-lsm/memtable 04-lsm/iterators 04-lsm/table 04-lsm/engine 04-lsm/full_speed \
                    04-lsm/values_in_place 04-lsm/logs 04-lsm/stats 04-lsm/tools 03-wal/wal 01-log/txn_values
LIBS_06-leveled := $(LIBS_05-blocks)
$(B)/06-leveled/%: LDLIBS += $(LIBS_06-leveled)

# Fuzz harnesses: stage 05's (table v2, its blocks, footer, index and
# filter) run on stage 05's stagetest; this stage's own format is the
# manifest (fuzz/manifest_fuzz.c: a CURRENT line, then a manifest's
# bytes; seeds in fuzz/seeds/manifest/), and CURRENT alone
# (fuzz/current_fuzz.c: the whole input is the file; fuzz/seeds/current/).
FUZZ_06-leveled := manifest current

# Unit tests (build/06-leveled/stagetest):
#   - the manifest: edits encoded and decoded, every malformed field
#     refused; CURRENT's line; the manifest written, replayed, damaged,
#     failing I/O, and cut by a power loss at every sync of
#     manifest_create, manifest_append and the CURRENT switch;
#   - the versions, the level iterator, the picker, where a flush goes;
#   - the engine's own (engine_*_test.c) and its failure paths and tools
#     (cov_*_test.c);
#   - of the files this stage links from the stages before: stage 04's
#     engine suites (LSM_ENGINE_TESTS_04; not the flat set's names), and
#     stage 05's table_v2_test.c, whose options test goes through kv_open,
#     and multi_get_blocks_test.c (kv_multi_get's batch, here walking
#     levels), and filters_for_hits_test.c (the last table a get reaches,
#     here the deepest level's).  The rest of stage 05's list tests files
#     this stage links unchanged, with no define of its own (the table,
#     the filter, the caches, stage 04's iterators), so stage 05's
#     stagetest runs them on the same code.
MANIFEST_TESTS_06 := stages/06-leveled/tests/version_edit_test.c \
                     stages/06-leveled/tests/current_file_test.c \
                     stages/06-leveled/tests/manifest_test.c \
                     stages/06-leveled/tests/manifest_damage_test.c \
                     stages/06-leveled/tests/manifest_crash_test.c
LEVELED_VERSION_TESTS := stages/06-leveled/tests/version_test.c \
                         stages/06-leveled/tests/level_iter_test.c \
                         stages/06-leveled/tests/compaction_pick_test.c \
                         stages/06-leveled/tests/compaction_flush_test.c \
                         stages/06-leveled/tests/version_alloc_test.c
TESTS_06-leveled := $(MANIFEST_TESTS_06) $(LEVELED_VERSION_TESTS) \
                    $(wildcard stages/06-leveled/tests/engine_*_test.c) \
                    $(wildcard stages/06-leveled/tests/cov_*_test.c) \
                    $(call lsm_tests_04,$(LSM_ENGINE_TESTS_04)) \
                    stages/05-blocks/tests/table_v2_test.c \
                    stages/05-blocks/tests/multi_get_blocks_test.c \
                    stages/05-blocks/tests/filters_for_hits_test.c
TEST_HELPERS_06-leveled := $(TEST_HELPERS_05-blocks) \
                           stages/06-leveled/tests/manifest_test_util.c \
                           stages/06-leveled/tests/version_test_util.c

# The stage's own threaded suite, in build/tsan/06-leveled/racetest with
# the shared ones (tests/race/main.c): the references that keep a
# version's tables on disk while versions change (stage 04's engine test,
# on this stage's levels).
$(B)/06-leveled/racetest: $(B)/06-leveled/obj/stages/04-lsm/tests/lsm_version_race.o

# The compaction simulator (docs/06-leveled-reference.md, "The compaction
# simulator"), a tool of its own under tools/compaction_sim/: the picker
# and versions alone, with no table behind them.
# (Spelled out: obj_stage and COMMON_OBJS are defined after stage.mk is read.)
LEVELED_SIM_OBJS := $(patsubst %.c,$(B)/06-leveled/obj/%.o,tools/compaction_sim/compaction_sim.c \
                      tools/compaction_sim/sim_tree.c stages/06-leveled/versions/version.c \
                      stages/06-leveled/versions/version_builder.c \
                      stages/06-leveled/compaction/compaction_pick.c stages/06-leveled/versions/version_edit.c \
                      stages/04-lsm/keys/internal_key.c) \
                    $(patsubst %.c,$(B)/obj/%.o,$(COMMON_PLAIN_SRCS))
$(B)/06-leveled/compaction_sim: $(LEVELED_SIM_OBJS)
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS) -lm
