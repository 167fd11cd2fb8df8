# grade.mk: the exercise track's rules (docs/learn.md), included by the
# Makefile after every stage.mk.
#
#   make learn STAGE=S [LEARN=DIR]      a workspace for stage S (learn/S/):
#                                       its exercise functions as stubs
#   make grade STAGE=S [LEARN=DIR]      grade the workspace, rung by rung
#   make grade STAGE=S ENGINE=LIB.a     grade any engine behind kv.h
#                                       (ENGINE_TSAN=LIB.a: the same built with
#                                       -fsanitize=thread, for the race rung)
#   make grade ... ONLY=RUNG [FILTER=F] one rung alone (grade/grade.sh --only,
#                                       --filter): a retry in seconds
#   make grade-selfcheck                the track graded against itself
#   make grade-learners [STAGE=S]       the grade graded by learners' sample
#                                       mistakes (grade/learners/S/*.patch)
#
# A stage has exercises when grade/S.exercises exists.  Its exercises' unit
# tests (grade/tests/S/*_test.c) build, with the reference, into
# $(B)/S/exercisetest.
#
# A learner's engine is a "grade build": a directory OUT holding a
# libkv.a made of the reference objects of stage S, except that each
# source file the workspace WS holds (WS/common/log_record.c stands for
# common/log_record.c) is compiled from the workspace; and the test
# binaries linked with it: OUT/exercisetest, kvtest, stagetest,
# crashtest, kvbench, fuzz/T.  So only the learner's files are compiled
# again.  Or, with an ENGINE, the binaries are linked with that library
# (and with common/ as an archive after it, for the tests' I/O backends).
# grade/grade.sh and grade/check.sh name their builds in GRADE_BUILDS,
# words OUT@S@WS@ENGINE (WS or ENGINE "-" when not given), and ask for
# the targets under OUT they need.

GRADE_STAGES := $(filter $(patsubst grade/%.exercises,%,$(wildcard grade/*.exercises)),$(STAGES))
# A stage still being built (UNFINISHED_<stage> in its stage.mk) may have
# exercises too: their rules exist, so that `sh grade/check.sh --quick S`
# checks them when S is named, but make learn, make grade, make
# grade-selfcheck and make test leave the stage out until it is finished
# (GRADE_STAGES, which `make grade-stages` prints).
GRADE_STAGES_ALL := $(filter $(patsubst grade/%.exercises,%,$(wildcard grade/*.exercises)),$(STAGE_DIRS))

# ---- the reference's exercisetest ------------------------------------------
# GRADE_STAGE_HELPERS_S: helpers of the stage's own tests
# (stages/*/tests/*.c) that its exercises' tests link too, and
# GRADE_STAGE_INC_S the directories of their headers; only helpers that
# touch no exercise function, so that one exercise's tests do not lean
# on another.
GRADE_STAGE_HELPERS_04-lsm := stages/04-lsm/tests/vec_iter.c
GRADE_STAGE_INC_04-lsm := -Istages/04-lsm/tests
GRADE_STAGE_HELPERS_06-leveled := stages/06-leveled/tests/version_test_util.c
GRADE_STAGE_INC_06-leveled := -Istages/06-leveled/tests -Istages/04-lsm/tests
GRADE_STAGE_INC_07-txn := -Istages/04-lsm/tests
# GRADE_STAGE_SRCS_S: sources of the stage outside its libkv.a that
# exercises live in (stage 10's replica, which its tests and its kv link
# beside the engine), linked into exercisetest; in a grade build, into
# exercisetest and stagetest, each from the workspace when it holds it.
# GRADE_STAGE_LIBS_S: the libraries they need.
GRADE_STAGE_SRCS_10-raft := $(REPLICA_SRCS_10-raft) stages/10-raft/member/key_slot.c
GRADE_STAGE_LIBS_10-raft := $(LIBS_REPLICA)
GRADE_STAGE_INC_10-raft := -Istages/10-raft/replica -Istages/10-raft/member
# GRADE_FUZZ_S: harnesses of formats the stage's exercises decode that are
# not in FUZZ_S (which needs a stage's libkv.a): the fuzz rung builds each
# from fuzz/T_fuzz.c and GRADE_FUZZ_SRCS_S_T, a workspace's files in place
# of the reference's.  Stage 10's command, snapshot and member note
# (the Makefile's "replica" harnesses, here over the learner's files).
GRADE_FUZZ_10-raft := command snapshot member_note
$(foreach t,$(GRADE_FUZZ_10-raft),$(eval GRADE_FUZZ_SRCS_10-raft_$(t) := $(filter-out fuzz/%,$(REPLICA_FUZZ_SRCS_$(t)))))
build/fuzz/10-raft/obj/%.o: FUZZ_CFLAGS += -Istages/10-raft/replica

# The exercises' tests run on the allocator of grade/tests/exercise_alloc.c
# (and name where a crash happened: grade/tests/exercise_crash.c),
# through these wrappers of the C library's calls (in every flavour; under
# the sanitizers they pass each call on).
EX_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=strdup \
           -Wl,--wrap=strndup,--wrap=asprintf,--wrap=vasprintf
# GRADE_STAGE_WRAP_S: more of them for stage S's exercisetest alone.
# Stage 08's tests watch memcpy for overlapping bytes while a gather runs
# in place (grade/tests/08-vlog/ex_overlap.h).
GRADE_STAGE_WRAP_08-vlog := -Wl,--wrap=memcpy

define GRADE_STAGE_RULES
GRADE_TESTS_$(1) := $(sort $(wildcard grade/tests/$(1)/*_test.c))
GRADE_HELPERS_$(1) := $(filter-out %_test.c,$(wildcard grade/tests/$(1)/*.c)) grade/tests/exercise_util.c grade/tests/ex_power.c \
                      grade/tests/exercise_alloc.c grade/tests/exercise_crash.c grade/tests/exercise_bound.c \
                      $(GRADE_STAGE_HELPERS_$(1))
GRADE_SUITES_$(1) := $$(foreach t,$$(GRADE_TESTS_$(1)),X($$(patsubst %_test.c,%,$$(notdir $$(t)))))
GRADE_TEST_OBJS_$(1) := $$(call obj_stage,$(1),$$(GRADE_TESTS_$(1)) $$(GRADE_HELPERS_$(1)) \
                          grade/tests/exercise_main.c) $$(call obj_common,tests/harness.c)
$(B)/$(1)/obj/grade/%.o: EXTRA_CFLAGS += -Itests -Igrade/tests -Igrade/tests/$(1) $(GRADE_STAGE_INC_$(1))
$(B)/$(1)/obj/grade/tests/exercise_main.o: STAGE_DEFS = -DKV_EXERCISE_SUITES='$$(GRADE_SUITES_$(1))'
$(B)/$(1)/obj/grade/tests/exercise_main.o: $(B)/$(1)/exercise.suites
$(B)/$(1)/exercise.suites: FORCE
	@mkdir -p $$(dir $$@)
	@echo '$$(GRADE_SUITES_$(1))' | cmp -s - $$@ || echo '$$(GRADE_SUITES_$(1))' >$$@
GRADE_OWN_OBJS_$(1) := $$(call obj_stage,$(1),$(GRADE_STAGE_SRCS_$(1)))
$(B)/$(1)/exercisetest: $$(GRADE_TEST_OBJS_$(1)) $$(GRADE_OWN_OBJS_$(1)) $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) $$(EX_WRAP) $(GRADE_STAGE_WRAP_$(1)) -o $$@ $$^ $(GRADE_STAGE_LIBS_$(1)) $$(LDLIBS)
endef
$(foreach s,$(GRADE_STAGES_ALL),$(eval $(call GRADE_STAGE_RULES,$(s))))

# make test builds them with the other test binaries (grade/check.sh,
# which tests/run.sh runs, runs them).
ifeq ($(FLAVOUR),release)
test-build test-build-gate: $(foreach s,$(GRADE_STAGES),$(B)/$(s)/exercisetest)
endif

# common/ as an archive, linked after an ENGINE: what the tests need of it
# (the I/O backends that fail calls and cut the power) and the engine
# does not define.
$(B)/grade/common.a: $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(call brief,AR,$@)
	$(Q)rm -f $@ && $(ARCHIVE) $@ $^

# ---- a grade build: OUT@S@WS@ENGINE ---------------------------------------------
# grade_objs OUT,S,WS,OBJDIR,FILES: the object of each file, OUT's own
# when WS holds the file, else the reference's under OBJDIR.
grade_over = $(if $(filter -,$(3)),,$(foreach f,$(SRCS_$(2)) $(GRADE_STAGE_SRCS_$(2)) $(COMMON_SRCS),$(if $(wildcard $(3)/$(f)),$(f))))
define GRADE_BUILD_RULES
GV_OVER_$(1) := $(call grade_over,$(1),$(2),$(3))
GV_DEP_$(1) := $(if $(filter -,$(4)),$(1)/libkv.a,$(4) $(B)/grade/common.a)
GV_LINK_$(1) := $$(GV_DEP_$(1)) $(LIBS_$(2)) $(ENGINE_LIBS)
GV_OBJS_$(1) := $$(foreach f,$(SRCS_$(2)),$$(if $$(filter $$(f),$$(GV_OVER_$(1))),$(1)/obj/$$(f:.c=.o),$(B)/$$(call obj_owner,$(2),$$(f))/obj/$$(f:.c=.o))) \
                $$(foreach f,$(COMMON_SRCS),$$(if $$(filter $$(f),$$(GV_OVER_$(1))),$(1)/obj/$$(f:.c=.o),$(B)/obj/$$(f:.c=.o)))
# The stage's sources outside libkv.a (GRADE_STAGE_SRCS_S), OUT's own
# when WS holds them, and the stagetest's objects with them in place.
GV_OWN_$(1) := $$(foreach f,$(GRADE_STAGE_SRCS_$(2)),$$(if $$(filter $$(f),$$(GV_OVER_$(1))),$(1)/obj/$$(f:.c=.o),$(B)/$(2)/obj/$$(f:.c=.o)))
GV_STAGETEST_$(1) := $(call obj_stage,$(2),$(TESTS_$(2)) $(filter-out $(GRADE_STAGE_SRCS_$(2)),$(TEST_HELPERS_$(2))) tests/stagetest/main.c) \
                     $$(GV_OWN_$(1))
GV_FUZZ_OBJS_$(1) := $$(foreach f,$(SRCS_$(2)),$$(if $$(filter $$(f),$$(GV_OVER_$(1))),$(1)/fuzz/obj/$$(f:.c=.o),build/fuzz/$$(call obj_owner,$(2),$$(f))/obj/$$(f:.c=.o))) \
                     $$(foreach f,$(COMMON_SRCS),$$(if $$(filter $$(f),$$(GV_OVER_$(1))),$(1)/fuzz/obj/$$(f:.c=.o),build/fuzz/obj/$$(f:.c=.o)))

ifeq ($(4),-)
$(1)/obj/%.o: $(3)/%.c
	@mkdir -p $$(dir $$@)
	$$(call brief,CC,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) $$(GRADE_WARN) $$(GRADE_OPT) -I$$(dir $$*) -Istages/$(2) $$(INC_$(2)) -DKV_STAGE_NAME='"$(2)"' $$(GRADE_DEFS_$(2)_$$*) -MMD -MP -c $$< -o $$@
$(1)/fuzz/obj/%.o: $(3)/%.c
	@mkdir -p $$(dir $$@)
	$$(call brief,CC,$$@)
	$$(Q)clang $$(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $$(FUZZ_SAN) -I$$(dir $$*) \
	  -Istages/$(2) $$(INC_$(2)) -DKV_STAGE_NAME='"$(2)"' $$(GRADE_DEFS_$(2)_$$*) -MMD -MP -c $$< -o $$@
$(1)/libkv.a: $$(GV_OBJS_$(1))
	@mkdir -p $$(dir $$@)
	$$(call brief,AR,$$@)
	$$(Q)rm -f $$@ && $$(ARCHIVE) $$@ $$^
endif
$(1)/exercisetest: $$(GRADE_TEST_OBJS_$(2)) $$(GV_OWN_$(1)) $$(GV_DEP_$(1))
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) $$(EX_WRAP) $(GRADE_STAGE_WRAP_$(2)) -o $$@ $$(GRADE_TEST_OBJS_$(2)) $$(GV_OWN_$(1)) $$(GV_LINK_$(1)) $(GRADE_STAGE_LIBS_$(2)) $$(LDLIBS)
$(1)/kvtest: $(call obj_common,$(TEST_SRCS)) $$(GV_DEP_$(1))
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $(call obj_common,$(TEST_SRCS)) $$(GV_LINK_$(1)) $$(LDLIBS)
$(1)/stagetest: $$(GV_STAGETEST_$(1)) $(call obj_common,tests/harness.c) $$(GV_DEP_$(1))
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $$(filter %.o,$$^) $$(GV_LINK_$(1)) $(GRADE_STAGE_LIBS_$(2)) $$(LDLIBS)
$(1)/crashtest: $(CRASH_OBJS) $$(GV_DEP_$(1))
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $(CRASH_OBJS) $$(GV_LINK_$(1)) $$(LDLIBS)
# The threaded suites (tests/race/), for the race rung, built by
# grade/grade.sh with FLAVOUR=tsan (the workspace's files and the
# reference's under ThreadSanitizer).
$(1)/racetest: $(call obj_common,$(RACE_SRCS)) $$(GV_DEP_$(1))
	@mkdir -p $$(dir $$@)
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $(call obj_common,$(RACE_SRCS)) $$(GV_LINK_$(1)) $$(LDLIBS)
# The kv tool over the build, for kvgrade (`kv DIR serve --stdio`): how the
# power rung cuts an engine that does its own file I/O.
$(1)/kv: $(call obj_common,$(TOOL_SRCS)) $$(GV_DEP_$(1))
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $(call obj_common,$(TOOL_SRCS)) $$(GV_LINK_$(1)) $$(LDLIBS)
$(1)/kvbench: $(BENCH_OBJS) $(call obj_common,bench/engine_kv.c tests/stage_caps.c) $$(GV_DEP_$(1))
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $$(filter %.o,$$^) $$(GV_LINK_$(1)) $$(LDLIBS)
# The libFuzzer harnesses: with a workspace, every format harness of the
# stage, over its objects built by clang; with an ENGINE, only the API
# harness (the others reach inside a stage), over the engine as it is.
$(1)/fuzz/api: $(call fuzz_obj_common,$(FUZZ_API_SRCS))
$$(foreach t,$(if $(filter -,$(4)),$(GRADE_FUZZ_$(2))),$$(eval $$(call GRADE_FUZZ_OWN_RULE,$(1),$(2),$$(t))))
$(foreach t,$(FUZZ_$(2)),$(1)/fuzz/$(t)): $(1)/fuzz/%: build/fuzz/$(2)/obj/fuzz/%_fuzz.o \
    $(call fuzz_obj_stage,$(2),$(FUZZ_HELPER_SRCS)) $$(if $$(filter -,$(4)),$$(GV_FUZZ_OBJS_$(1)),$(4) $(B)/grade/common.a)
	@mkdir -p $$(dir $$@)
	$$(call brief,LD,$$@)
	$$(Q)clang $$(FUZZ_CFLAGS) -fsanitize=fuzzer $$(FUZZ_SAN) $$(ALLOC_WRAP) -o $$@ $$(filter %.o,$$^) \
	  $$(if $$(filter -,$(4)),,$(4) $(B)/grade/common.a) $(LIBS_$(2)) $(ENGINE_LIBS) -lpthread
# (A harness in parts links them too: FUZZ_PARTS_T in the Makefile.)
$$(foreach t,$(FUZZ_$(2)),$$(if $$(FUZZ_PARTS_$$(t)),$$(eval $(1)/fuzz/$$(t): $$(call fuzz_obj_stage,$(2),$$(FUZZ_PARTS_$$(t))))))
endef
# GRADE_FUZZ_OWN_RULE OUT,S,T: harness T of GRADE_FUZZ_S over OUT's files
# and the reference's (each source from the workspace when it holds it).
define GRADE_FUZZ_OWN_RULE
$(1)/fuzz/$(3): build/fuzz/$(2)/obj/fuzz/$(3)_fuzz.o \
    $$(foreach f,$$(GRADE_FUZZ_SRCS_$(2)_$(3)),$$(if $$(filter $$(f),$$(GV_OVER_$(1))),$(1)/fuzz/obj/$$(f:.c=.o),build/fuzz/$(2)/obj/$$(f:.c=.o)))
	@mkdir -p $$(dir $$@)
	$$(call brief,LD,$$@)
	$$(Q)clang $$(FUZZ_CFLAGS) -fsanitize=fuzzer $$(FUZZ_SAN) -o $$@ $$^ -lpthread
endef
# A workspace's file is compiled with its stage's include path and name.
# A file its stage compiles with defines of its own (RECOMPILED_<stage>
# with a target-specific EXTRA_CFLAGS in stage.mk; no stage has one
# today) needs them named here too, should an exercise
# live in it: GRADE_DEFS_<stage>_<path without .c> := -D...
# GRADE_OPT: flags added after the usual ones for a workspace's own files
# (grade/check.sh compiles its many planted bugs with -O0, to be quick).
GRADE_OPT ?=
# A workspace is work in progress: a static function whose callers are
# still stubs is not yet used, and that is no error there.  And its code
# traps an index past the end of an array of known size and a NULL handed
# to a library call that forbids it (memcpy(dst, NULL, 0) among them), and
# its stack frames carry a canary (the grade's speed rung allows far more
# than these cost), so that a loop's bound one too far ends the test in
# that function, and the grade names it (grade/tests/exercise_crash.c),
# instead of writing into a frame's padding unseen.
GRADE_WARN := -Wno-error=unused-function -fstack-protector-strong \
              -fsanitize=bounds,nonnull-attribute -fsanitize-undefined-trap-on-error \
              -fno-crossjumping
grade_build_words = $(subst @, ,$(1))
$(foreach g,$(GRADE_BUILDS),$(eval $(call GRADE_BUILD_RULES,$(word 1,$(call grade_build_words,$(g))),$(word 2,$(call grade_build_words,$(g))),$(word 3,$(call grade_build_words,$(g))),$(word 4,$(call grade_build_words,$(g))))))

# ---- the commands ------------------------------------------------------------------
.PHONY: learn grade grade-selfcheck grade-mutants grade-learners
GRADE_PICKED = $(if $(STAGE),$(filter $(STAGE)%,$(GRADE_STAGES)))
GRADE_ONE = @$(if $(filter 1,$(words $(GRADE_PICKED))),,echo "$@: name one stage that has \
  exercises: STAGE=S, one of $(GRADE_STAGES)" >&2; exit 2)
learn:
	$(GRADE_ONE)
	@MAKE="$(MAKE)" sh grade/learn.sh $(GRADE_PICKED) $(or $(LEARN),learn/$(GRADE_PICKED))
grade:
	$(GRADE_ONE)
	@MAKE="$(MAKE)" ENGINE_LIBS="$(ENGINE_LIBS)" ENGINE_TSAN="$(ENGINE_TSAN)" sh grade/grade.sh $(GRADE_PICKED) \
	  $(if $(ENGINE),--engine $(ENGINE),$(or $(LEARN),learn/$(GRADE_PICKED))) \
	  $(if $(ONLY),--only $(ONLY)) $(if $(FILTER),--filter "$(FILTER)")
# Every stage's starter fails every exercise, the starter filled with the
# reference's bodies passes every rung, the reference library graded as an
# ENGINE passes, and each planted wrong solution is caught (grade/check.sh;
# make test runs the cheap share, --quick).
grade-selfcheck:
	@MAKE="$(MAKE)" sh grade/check.sh --full $(GRADE_PICKED)
# The grade graded by mutants of the reference (grade/mutants.sh): every
# mutant of each exercise's functions, or MUTANTS=N of each (SEED=K),
# graded rung by rung (RUNGS=... to climb fewer); EXERCISE=E for one.
grade-mutants: all
	$(GRADE_ONE)
	@MAKE="$(MAKE)" MUTANTS="$(MUTANTS)" SEED="$(SEED)" RUNGS="$(RUNGS)" OPERATORS="$(OPERATORS)" \
	  sh grade/mutants.sh $(GRADE_PICKED) $(EXERCISE)

# The grade graded by learners' mistakes (grade/learners.sh): each sample
# of grade/learners/S/ (a solution written from the stubs alone, as a
# patch of the reference) graded rung by rung, for stage S or every stage
# that has samples (RUNGS=... to climb fewer); NAME=N for one sample.
GRADE_LEARNER_STAGES = $(if $(STAGE),$(GRADE_PICKED),$(filter $(patsubst grade/learners/%/,%,$(wildcard grade/learners/*/)),$(GRADE_STAGES)))
grade-learners: all
	@$(if $(GRADE_LEARNER_STAGES),,echo "$@: no stage with samples (grade/learners/S/) matches STAGE=$(STAGE)" >&2; exit 2)
	@for s in $(GRADE_LEARNER_STAGES); do \
	  MAKE="$(MAKE)" RUNGS="$(RUNGS)" sh grade/learners.sh $$s $(NAME) || exit $$?; done

# The stages whose exercises grade/check.sh checks when none is named.
.PHONY: grade-stages
grade-stages:
	@echo $(GRADE_STAGES)

# What grade/grade.sh needs to know of stage GRADE_STAGE.
.PHONY: grade-info
grade-info:
	@echo "stagetest=$(if $(TESTS_$(GRADE_STAGE)),yes,no)"
	@echo "fuzz=$(FUZZ_$(GRADE_STAGE)) $(GRADE_FUZZ_$(GRADE_STAGE))"
	@echo "sources=$(SRCS_$(GRADE_STAGE)) $(GRADE_STAGE_SRCS_$(GRADE_STAGE)) $(COMMON_SRCS)"
	@echo "cflags=$(CFLAGS_ALL) -Istages/$(GRADE_STAGE) $(INC_$(GRADE_STAGE)) -DKV_STAGE_NAME='\"$(GRADE_STAGE)\"'"
