# Stage 06's manifest (included by stages/06-leveled/stage.mk): version
# edits (version_edit.c, version_edit_text.c: kv dump's words for one),
# CURRENT and the manifests' names (current_file.c), the manifest writer
# (manifest.c) and its replay into a state (manifest_recover.c,
# manifest_state.c).  They use stage 04's internal keys and stage 03's WAL
# framing (WAL_MODULE_SRCS), both in SRCS_05-blocks, which stage 06 links.
MANIFEST_SRCS_06 := stages/06-leveled/version_edit.c stages/06-leveled/version_edit_text.c \
                    stages/06-leveled/current_file.c stages/06-leveled/manifest.c \
                    stages/06-leveled/manifest_recover.c stages/06-leveled/manifest_state.c
# Unit tests (suites for build/06-leveled/stagetest): edits encoded and
# decoded, every malformed field refused; CURRENT's line; the manifest
# written, replayed, damaged, failing I/O, and cut by a power loss at every
# sync boundary of manifest_create, manifest_append and the CURRENT switch.
MANIFEST_TESTS_06 := stages/06-leveled/tests/version_edit_test.c \
                     stages/06-leveled/tests/current_file_test.c \
                     stages/06-leveled/tests/manifest_test.c \
                     stages/06-leveled/tests/manifest_damage_test.c \
                     stages/06-leveled/tests/manifest_crash_test.c
MANIFEST_TEST_HELPERS_06 := stages/06-leveled/tests/manifest_test_util.c
# (The tests also use stage 03's alloc_fail.c, which stage 05's TEST_HELPERS list.)
# The manifest's fuzz harness (fuzz/manifest_fuzz.c: a CURRENT line, then a
# manifest's bytes); its seeds are committed in fuzz/seeds/manifest/.
FUZZ_06-leveled += manifest

# Until the engine links them (SRCS_06-leveled), the manifest's files and
# their tests build on their own: build/06-leveled/manifest_test (the
# suites above, run like stagetest: manifest_test [NAME-FILTER]) and
# build/06-leveled/manifest_fuzz_replay (the harness on files, as make test
# replays it).  What they link besides: internal keys, the WAL module,
# common/.
INC_06-leveled ?= -Istages/05-blocks $(INC_05-blocks)
MANIFEST_DEPS_06 := stages/04-lsm/internal_key.c $(WAL_MODULE_SRCS)
MANIFEST_SUITES_06 := $(foreach t,$(MANIFEST_TESTS_06),X($(patsubst %_test.c,%,$(notdir $(t)))))
# (The Makefile defines obj_stage and COMMON_OBJS after it includes the
# stage.mk files, so the prerequisites are spelt out here.)
MANIFEST_TEST_OBJS_06 = $(patsubst %.c,$(B)/06-leveled/obj/%.o,$(MANIFEST_SRCS_06) \
                          $(MANIFEST_DEPS_06) $(MANIFEST_TESTS_06) $(MANIFEST_TEST_HELPERS_06) \
                          stages/03-wal/tests/alloc_fail.c)
MANIFEST_FUZZ_OBJS_06 = $(patsubst %.c,$(B)/06-leveled/obj/%.o,$(MANIFEST_SRCS_06) \
                          $(MANIFEST_DEPS_06) fuzz/manifest_fuzz.c)
MANIFEST_COMMON_OBJS_06 = $(patsubst %.c,$(B)/obj/%.o,$(wildcard common/*.c))
$(B)/06-leveled/manifest_obj/main.o: tests/stagetest/main.c stages/06-leveled/stage_manifest.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DKV_STAGE_SUITES='$(MANIFEST_SUITES_06)' -c $< -o $@
$(B)/06-leveled/manifest_test: $(MANIFEST_TEST_OBJS_06) $(B)/06-leveled/manifest_obj/main.o \
                               $(B)/obj/tests/harness.o $(MANIFEST_COMMON_OBJS_06)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)
$(B)/06-leveled/manifest_fuzz_replay: $(MANIFEST_FUZZ_OBJS_06) $(B)/obj/fuzz/replay_main.o \
                                      $(MANIFEST_COMMON_OBJS_06)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)
