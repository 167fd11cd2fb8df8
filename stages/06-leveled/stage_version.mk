# Stage 06's versions, level iterator and compaction picker (included by
# stages/06-leveled/stage.mk): a version is the tables of each level
# (version.c), the level iterator reads a level >= 1 as one sorted source
# (level_iter.c), the picker says what to compact next (compaction_pick.c).
# The engine's list (SRCS_06-leveled) takes LEVELED_VERSION_SRCS.
LEVELED_VERSION_SRCS := stages/06-leveled/version.c stages/06-leveled/level_iter.c \
                        stages/06-leveled/compaction_pick.c
# Unit tests (in build/06-leveled/stagetest); the level iterator's build
# table v2 tables through stage 04's test helpers.
LEVELED_VERSION_TESTS := stages/06-leveled/tests/version_test.c \
                         stages/06-leveled/tests/level_iter_test.c \
                         stages/06-leveled/tests/compaction_pick_test.c \
                         stages/06-leveled/tests/compaction_flush_test.c \
                         stages/06-leveled/tests/version_alloc_test.c
# (With stage 05's helpers, which stage.mk links: stage 03's alloc_fail.c.)
LEVELED_VERSION_TEST_HELPERS := stages/06-leveled/tests/version_test_util.c

# stage.mk lists the engine's files first; these join them.
SRCS_06-leveled += $(LEVELED_VERSION_SRCS) \
                   $(filter-out $(SRCS_06-leveled),$(wildcard stages/06-leveled/version_edit.c))
TESTS_06-leveled += $(LEVELED_VERSION_TESTS)
TEST_HELPERS_06-leveled += $(LEVELED_VERSION_TEST_HELPERS)

# The compaction simulator (docs/06-leveled.md, "The compaction
# simulator"): the picker and versions alone, with no table behind them,
# so it builds whatever state the rest of the stage is in.
# (Spelled out: obj_stage and COMMON_OBJS are defined after stage.mk is read.)
LEVELED_SIM_OBJS := $(patsubst %.c,$(B)/06-leveled/obj/%.o,stages/06-leveled/compaction_sim.c \
                      stages/06-leveled/compaction_sim_tree.c stages/06-leveled/version.c stages/06-leveled/compaction_pick.c \
                      stages/06-leveled/version_edit.c \
                      stages/04-lsm/internal_key.c) \
                    $(patsubst %.c,$(B)/obj/%.o,$(wildcard common/*.c))
$(B)/06-leveled/compaction_sim: $(LEVELED_SIM_OBJS)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS) -lm

# The stage's own threaded suite, in build/tsan/06-leveled/racetest with
# the shared ones (tests/race/main.c): the reference counts that keep a
# version's tables open and on disk while versions change.
$(B)/06-leveled/racetest: $(B)/06-leveled/obj/stages/06-leveled/tests/version_race_test.o
