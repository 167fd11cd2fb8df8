# Stage 06: stage 05's LSM tree with its flat set of tables replaced by
# levels (L0 overlapping, L1..L6 sorted and disjoint), a manifest of
# version edits with a CURRENT file, and leveled compaction on the
# background thread (docs/06-leveled.md).
#
# Stage 04's engine (LSM_ENGINE_SRCS: open and close, the write path, the
# background thread, reads, iterators, snapshots, stats, the logs) reads
# and changes its tables only through the table-set interface
# (stages/04-lsm/table_set.h).  Stage 04 implements it with one flat list
# (LSM_TABLE_SET_SRCS); this stage with levels and a manifest
# (level_set.h), and links the engine unchanged.  From stage 05: table
# format v2, the bloom filter, the block and file caches (and, through
# stage 04, stage 03's WAL module).
LEVEL_SET_SRCS := stages/06-leveled/level_set.c stages/06-leveled/level_read.c \
                  stages/06-leveled/level_pick.c \
                  stages/06-leveled/level_recover.c stages/06-leveled/level_stats.c \
                  stages/06-leveled/level_files.c \
                  stages/06-leveled/version_set.c stages/06-leveled/level_inspect.c
# The versions (the tables of each level), the level iterator (a level
# >= 1 read as one sorted source) and the compaction picker.
LEVELED_VERSION_SRCS := stages/06-leveled/version.c stages/06-leveled/version_builder.c \
                        stages/06-leveled/level_iter.c \
                        stages/06-leveled/compaction_pick.c
# The manifest: version edits (version_edit.c; version_edit_text.c: kv
# dump's words for one), CURRENT and the manifests' names (current_file.c),
# the manifest writer (manifest.c) and its replay into a state
# (manifest_recover.c, manifest_state.c).
MANIFEST_SRCS_06 := stages/06-leveled/version_edit.c stages/06-leveled/version_edit_text.c \
                    stages/06-leveled/current_file.c stages/06-leveled/manifest.c \
                    stages/06-leveled/manifest_recover.c stages/06-leveled/manifest_state.c
SRCS_06-leveled := $(filter-out $(LSM_TABLE_SET_SRCS) stages/04-lsm/lsm_tools.c,$(SRCS_05-blocks)) \
                   $(LEVEL_SET_SRCS) $(LEVELED_VERSION_SRCS) $(MANIFEST_SRCS_06) \
                   stages/06-leveled/level_tools.c
# kv repair writes a manifest (level_repair.c, level_rebuild.c): stage 04's
# kv_repair (lsm_repair.c) goes, its work on one file (lsm_repair_*.c) stays.
SRCS_06-leveled := $(filter-out stages/04-lsm/lsm_repair.c,$(SRCS_06-leveled)) \
                   stages/06-leveled/level_repair.c stages/06-leveled/level_rebuild.c
INC_06-leveled := -Istages/05-blocks $(INC_05-blocks)
LIBS_06-leveled := $(LIBS_05-blocks)
$(B)/06-leveled/%: LDLIBS += $(LIBS_06-leveled)

# Fuzz harnesses: stage 05's (table v2, its blocks, footer, index and
# filter) run on stage 05's stagetest; this stage's own format is the
# manifest (fuzz/manifest_fuzz.c: a CURRENT line, then a manifest's
# bytes; seeds in fuzz/seeds/manifest/).
FUZZ_06-leveled := manifest

# Unit tests (build/06-leveled/stagetest):
#   - the manifest: edits encoded and decoded, every malformed field
#     refused; CURRENT's line; the manifest written, replayed, damaged,
#     failing I/O, and cut by a power loss at every sync of
#     manifest_create, manifest_append and the CURRENT switch;
#   - the versions, the level iterator, the picker, where a flush goes;
#   - the engine's own (engine_*_test.c) and its failure paths and tools
#     (cov_*_test.c);
#   - of the files this stage links from the stages before: stage 04's
#     engine suites (lsm_*_test.c but lsm_recover_test.c, which tests the
#     flat set's names), and stage 05's table_v2_test.c, whose options
#     test goes through kv_open.  The rest of stage 05's list tests files
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
                    $(LSM_ENGINE_TESTS_04) stages/05-blocks/tests/table_v2_test.c
TEST_HELPERS_06-leveled := $(TEST_HELPERS_05-blocks) \
                           stages/06-leveled/tests/manifest_test_util.c \
                           stages/06-leveled/tests/version_test_util.c

# The stage's own threaded suite, in build/tsan/06-leveled/racetest with
# the shared ones (tests/race/main.c): the references that keep a
# version's tables on disk while versions change (stage 04's engine test,
# on this stage's levels).
$(B)/06-leveled/racetest: $(B)/06-leveled/obj/stages/04-lsm/tests/lsm_version_race.o

# The compaction simulator (docs/06-leveled.md, "The compaction
# simulator"), a tool of its own under tools/compaction_sim/: the picker
# and versions alone, with no table behind them.
# (Spelled out: obj_stage and COMMON_OBJS are defined after stage.mk is read.)
LEVELED_SIM_OBJS := $(patsubst %.c,$(B)/06-leveled/obj/%.o,tools/compaction_sim/compaction_sim.c \
                      tools/compaction_sim/sim_tree.c stages/06-leveled/version.c \
                      stages/06-leveled/version_builder.c \
                      stages/06-leveled/compaction_pick.c stages/06-leveled/version_edit.c \
                      stages/04-lsm/internal_key.c) \
                    $(patsubst %.c,$(B)/obj/%.o,$(filter-out common/txn%.c,$(wildcard common/*.c)))
$(B)/06-leveled/compaction_sim: $(LEVELED_SIM_OBJS)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS) -lm
