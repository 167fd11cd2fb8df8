# Stage 06: stage 05's LSM tree with its flat set of tables replaced by
# versions of levels (L0 overlapping, L1..L6 sorted and disjoint), a
# manifest of version edits with a CURRENT file, and leveled compaction on
# the background thread (docs/06-leveled.md).

# What stage 06 takes from the stages before it, and why:
#   unchanged, from stage 05: table format v2, the bloom filter, the block
#     and file caches (and, through stage 05, stage 03's WAL module);
#   unchanged, from stage 04: internal keys, arena, skiplist, memtable,
#     merging and user iterators, the logs (lsm_wal*.c, lsm_files.c for
#     their names and the listing), the write path (lsm_write.c), its
#     calls (lsm_put.c), log replay (lsm_replay.c), gets and iterators over
#     a view (lsm_read.c, lsm_iter.c, which ask the view for its tables),
#     snapshots (lsm_snapshot.c), failures (lsm_failure.c), kv repair of
#     one log or table (lsm_repair_*.c), how a view is shared (lsm_view.c), kv_stats
#     (lsm_stats.c, which asks the view for its tables' lines).  A stage-06
#     database is a stage-04 kv_db plus its levels (level_db.h), so these
#     work on it as they are;
#   replaced: lsm_db.c (open, close, what a view holds besides its
#     memtables, and its tables' part of lookups, iterators and kv_stats:
#     level_db.c, level_view.c, level_stats.c),
#     lsm_flush.c and lsm_tables.c (the background thread, flushes and the
#     manifest as commit point: level_bg.c, level_flush.c, level_out.c),
#     lsm_recover.c (CURRENT, manifest, version: level_recover.c),
#     lsm_compact.c (leveled compaction and kv_compact: level_compact.c,
#     level_bg.c), lsm_tools.c (per level: level_tools.c).
LEVEL_REPLACED_04 := stages/04-lsm/lsm_db.c stages/04-lsm/lsm_flush.c \
                     stages/04-lsm/lsm_tables.c stages/04-lsm/lsm_recover.c \
                     stages/04-lsm/lsm_compact.c stages/04-lsm/lsm_tools.c
SRCS_06-leveled := $(filter-out $(LEVEL_REPLACED_04),$(SRCS_05-blocks)) \
                   stages/06-leveled/level_db.c stages/06-leveled/level_view.c \
                   stages/06-leveled/level_files.c stages/06-leveled/level_recover.c \
                   stages/06-leveled/level_bg.c stages/06-leveled/level_flush.c \
                   stages/06-leveled/level_out.c stages/06-leveled/level_compact.c \
                   stages/06-leveled/level_put.c stages/06-leveled/level_stats.c \
                   stages/06-leveled/level_tools.c
# kv repair writes a manifest (level_repair.c, level_rebuild.c): stage 04's
# kv_repair (lsm_repair.c) goes, its work on one file (lsm_repair_*.c) stays.
SRCS_06-leveled := $(filter-out stages/04-lsm/lsm_repair.c,$(SRCS_06-leveled)) \
                   stages/06-leveled/level_repair.c stages/06-leveled/level_rebuild.c
INC_06-leveled := -Istages/05-blocks $(INC_05-blocks)
LIBS_06-leveled := $(LIBS_05-blocks)
$(B)/06-leveled/%: LDLIBS += $(LIBS_06-leveled)
# Stage 04's kv_put, kv_delete and kv_write, each write first through the
# level-0 brake (level_put.c): lsm_put.c compiled with lsm_write renamed.
# (RECOMPILED_: compiled here, not linked from stage 04's object; see the
# Makefile, "Objects".)
RECOMPILED_06-leveled := stages/04-lsm/lsm_put.c
$(B)/06-leveled/obj/stages/04-lsm/lsm_put.o: EXTRA_CFLAGS += -Dlsm_write=level_write
build/fuzz/06-leveled/obj/stages/04-lsm/lsm_put.o: FUZZ_DEFS += -Dlsm_write=level_write
# Unit tests: the manifest's and the versions' (their fragments add them),
# the engine's own (stages/06-leveled/tests/engine_*_test.c), and of stage
# 05's list only table_v2_test.c, whose options test goes through kv_open
# (this stage's level_db.c).  The rest of stage 05's list tests files this
# stage links unchanged and with no define of its own (the table, the
# filter, the caches, stage 04's iterators; only lsm_put.c is renamed, and
# no unit test calls it), so stage 05's stagetest runs them on the same
# code; stage 04's engine tests (lsm_*_test.c) are written against the
# engine files this stage replaces.
TESTS_06-leveled := stages/05-blocks/tests/table_v2_test.c \
                    $(wildcard stages/06-leveled/tests/engine_*_test.c)
# The engine's failure paths and kv dump / kv check's reports (cov_*_test.c).
TESTS_06-leveled += $(wildcard stages/06-leveled/tests/cov_*_test.c)
TEST_HELPERS_06-leveled := $(TEST_HELPERS_05-blocks)

# The manifest (version edits, MANIFEST-NNNNNN, CURRENT) and the versions,
# level iterator, compaction picker and simulator bring their own fragments
# (sources, unit tests, fuzz harnesses).
-include stages/06-leveled/stage_manifest.mk
-include stages/06-leveled/stage_version.mk
SRCS_06-leveled += $(filter-out $(SRCS_06-leveled),$(MANIFEST_SRCS_06))
TESTS_06-leveled += $(MANIFEST_TESTS_06)
TEST_HELPERS_06-leveled += $(MANIFEST_TEST_HELPERS_06)
