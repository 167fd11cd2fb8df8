# The staged key-value engine.  `make` builds every stage that exists:
#   build/S/libkv.a   the engine of stage S, behind include/kv.h
#   build/S/kv        its command-line tool
# `make demo` tours each stage, `make test` runs every suite against every
# stage (and once more under ASan+UBSan), `make test-deep` the rest (the
# threaded suites under ThreadSanitizer among them), `make coverage`
# reports line and branch coverage per stage.  See README.md.
#
# Each stage directory is made of parts, a folder each (stages/S/PART/,
# or a part's tools in stages/S/PART/tools/), and has a stage.mk that names
# the parts the stage is built from in PARTS_<stage>: its own, and the
# parts of earlier stages it reuses unchanged ("04-lsm/engine").  The
# stage's sources, SRCS_<stage>, are every .c of its parts, and each part is
# on its include path (INC_<stage>); LIBS_<stage> names libraries every
# binary of the stage links.  common/ is linked into every stage.  Tests
# that need a stage's internals live in stages/<stage>/tests/;
# TESTS_<stage> lists the ones a stage runs (its own, and those of the
# parts it reuses), linked with TEST_HELPERS_<stage> into
# build/<stage>/stagetest.

# Quiet by default, as Linux's kbuild and CMake's makefiles are: a short
# line for each file made ("  CC  build/obj/common/io.o", "  LD  build/04-lsm/kv",
# "  AR  build/04-lsm/libkv.a"); `make V=1` prints every command in full, and
# `make -s` nothing.  A recipe says it with $(call brief,WHAT,FILE) and
# runs its command as $(Q)COMMAND.
V ?= 0
ifeq ($(V),1)
  Q :=
  brief =
else
  Q := @
  brief = @$(if $(findstring s,$(firstword -$(MAKEFLAGS))),:,printf '  %-3s %s\n' '$(1)' '$(2)')
endif

# No built-in implicit rules: every rule here is written out.  Without
# this, make searches its built-in rules (RCS, SCCS, lex, yacc...) for the
# name of every dependency file included at the end and every header they
# list, at every call: in a built tree, 1.6 s of processor time a call of
# make, and the tests call make hundreds of times.
MAKEFLAGS += --no-builtin-rules

CC      ?= cc
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror
OPT     ?= -O2 -g
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) -pthread -Iinclude -Icommon $(EXTRA_CFLAGS)
# liburing: the io_uring backend of the I/O layer (common/io_ring.c).  A
# binary linked from common's objects links it; every libkv.a also holds
# its objects (LIBURING_DIR below), so that a program linking libkv.a needs
# no library it did not need before.
LDLIBS  := -pthread -luring -lm

# Build flavours: the normal one in build/, AddressSanitizer and UBSan in
# build/asan/, ThreadSanitizer in build/tsan/, coverage in build/cov/, and
# build/nohist/ without the engine's latency histograms (common/latency.h),
# to measure what they cost (make bench-engine-overhead).
# FLAVOUR selects; the recursive calls below set it.
FLAVOUR ?= release
ifeq ($(FLAVOUR),asan)
  B := build/asan
  EXTRA_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDLIBS += -fsanitize=address,undefined
  OPT := -O1 -g
else ifeq ($(FLAVOUR),tsan)
  B := build/tsan
  EXTRA_CFLAGS += -fsanitize=thread -fno-omit-frame-pointer
  LDLIBS += -fsanitize=thread
  OPT := -O1 -g
else ifeq ($(FLAVOUR),cov)
  B := build/cov
  EXTRA_CFLAGS += --coverage
  LDLIBS += --coverage
  # A thread that writes the counts every 200 ms, so that a process
  # killed by a test still counts (tests/coverage/cov_flush.c; not in tests/, whose files every test binary links).
  COV_FLUSH := tests/coverage/cov_flush.c
  OPT := -O0 -g
else ifeq ($(FLAVOUR),nohist)
  B := build/nohist
  EXTRA_CFLAGS += -DKV_NO_HISTOGRAMS
else
  B := build
endif

# `make` alone builds `all`, whatever rules the stage.mk files below define.
.DEFAULT_GOAL := all
STAGE_DIRS := $(sort $(notdir $(patsubst %/stage.mk,%,$(wildcard stages/*/stage.mk))))
COMMON_SRCS := $(wildcard common/*.c)
# common/ but transactions (common/txn*.c, written over kv.h's calls).
COMMON_PLAIN_SRCS := $(filter-out common/txn%.c,$(COMMON_SRCS))
include $(wildcard stages/*/stage.mk)
# A stage's sources and include path, from its parts.
parts_srcs = $(sort $(foreach p,$(PARTS_$(1)),$(wildcard stages/$(p)/*.c)))
parts_inc = $(foreach p,$(PARTS_$(1)),-Istages/$(p))
$(foreach s,$(STAGE_DIRS),$(eval SRCS_$(s) := $(call parts_srcs,$(s)))$(eval INC_$(s) := $(call parts_inc,$(s))))
# A stage still being built says so in its stage.mk (UNFINISHED_<stage> := 1):
# its rules exist, so its parts and its own tests build
# (make build/<stage>/stagetest), but it is not an engine yet, so `make`,
# `make test`, the benchmarks and the fuzz targets leave it out.
STAGES := $(foreach s,$(STAGE_DIRS),$(if $(UNFINISHED_$(s)),,$(s)))
# ... but the unit tests of a stage being built run in `make test` all the
# same (build/<stage>/stagetest, in the release and ASan builds).
UNFINISHED_TESTED := $(foreach s,$(STAGE_DIRS),$(if $(UNFINISHED_$(s)),$(if $(TESTS_$(s)),$(s))))
# The stage sources that name their stage (see "Objects" below).
STAGE_NAME_USERS := $(shell grep -l KV_STAGE_NAME $(sort $(foreach s,$(STAGE_DIRS),$(SRCS_$(s)))) /dev/null)
# STAGE=S picks one stage for the targets that take it (demo, stage-files,
# crash-test, crash-test-txn); a prefix will do (STAGE=02 is 02-hash); unset, every stage.
STAGE_PICKED := $(if $(STAGE),$(filter $(STAGE)%,$(STAGES)),$(STAGES))
# fuzz/api_fuzz.c drives kv.h alone (a program of calls, against the model
# of tests/model_map.c), so every stage lists it; see docs/fuzzing.md.
FUZZ_API_SRCS := fuzz/api_calls.c fuzz/api_txn.c fuzz/api_check.c tests/model_map.c
# What every file-format harness links besides itself: the database in
# memory it drives (fuzz_dbfile.c), the checksums it makes right
# (fuzz_formats.c) and the I/O calls it fails (fuzz_faults.c).  Common code only, so one object serves every stage.
FUZZ_HELPER_SRCS := fuzz/fuzz_dbfile.c fuzz/fuzz_formats.c fuzz/fuzz_faults.c
$(foreach s,$(STAGE_DIRS),$(eval FUZZ_$(s) += api))

# Every stage's binaries link liburing (LDLIBS above, and LIBS_<stage> for
# the fuzzing builds, which link without LDLIBS).
$(foreach s,$(STAGE_DIRS),$(eval LIBS_$(s) += -luring))
# The file-format harnesses also link the sweep that runs a database's
# work again with each of its I/O calls failing (fuzz/fuzz_io_sweep.c).
FUZZ_HELPER_SRCS += fuzz/fuzz_io_sweep.c
# And the allocator that fails the nth allocation (tests/alloc/alloc_wrap.c,
# linked with ALLOC_WRAP), which fuzz_faults.c arms around the engine.
FUZZ_HELPER_SRCS += tests/alloc/alloc_wrap.c
# A harness too long for one file is fuzz/T_fuzz.c and its parts,
# FUZZ_PARTS_T, which every build of T links beside it (FUZZ_PART_RULES,
# below, and the grade's fuzz rung).
FUZZ_PARTS_vlog := fuzz/vlog_fuzz_files.c fuzz/vlog_fuzz_db.c fuzz/vlog_fuzz_load.c \
                   fuzz/vlog_fuzz_handover.c
FUZZ_PARTS_table_blocks := fuzz/table_blocks_fuzz_model.c fuzz/table_blocks_fuzz_read.c \
                           fuzz/table_blocks_fuzz_alloc.c fuzz/table_blocks_fuzz_mutate.c
FUZZ_PARTS_manifest := fuzz/manifest_fuzz_mutate.c fuzz/manifest_fuzz_rebuild.c
FUZZ_PARTS_table := fuzz/table_fuzz_cut.c fuzz/table_fuzz_faults.c fuzz/table_fuzz_engine.c
TOOL_SRCS   := tools/kv.c tools/kv_main.c tools/kv_text.c tools/kv_tool.c tools/kv_usage.c \
               tools/kv_cmd_data.c tools/kv_cmd_admin.c tools/kv_cmd_export.c \
               tools/kv_export.c tools/kv_knobs.c tools/kv_member.c \
               tools/kv_cmd_draw.c tools/draw_parse.c svg/svg.c tools/draw_log.c \
               tools/draw_hash.c tools/draw_lsm.c tools/draw_levels.c tools/draw_vlog.c \
               tools/draw_cache.c \
               tools/draw_axis.c
# `kv DIR serve`: the Redis-protocol server (docs/server.md).
TOOL_SRCS   += $(wildcard tools/serve/*.c) $(COV_FLUSH)
# kv draw writes its pictures with svg/ (which kvgrade draws with too).
$(B)/obj/tools/%.o: EXTRA_CFLAGS += -Isvg -Itools/ext
TEST_SRCS   := $(wildcard tests/*.c)
COMMON_TEST_SRCS := $(wildcard tests/common/*.c)
# Allocation failures (tests/alloc/): the test and libkv.a linked with the
# wrappers of tests/alloc/alloc_wrap.c in place of these C library calls.
ALLOC_SRCS  := tests/alloc/main.c tests/alloc/alloc_test.c tests/alloc/alloc_run.c \
               tests/alloc/alloc_wrap.c tests/harness.c tests/testdb.c tests/stage_caps.c
ALLOC_WRAP  := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=free \
               -Wl,--wrap=strdup,--wrap=strndup,--wrap=asprintf,--wrap=vasprintf,--wrap=opendir \
               -Wl,--wrap=closedir
# The suites that run threads, for build/tsan/<stage>/racetest.
RACE_SRCS   := tests/race/main.c tests/concurrency.c tests/concurrency_snapshot.c \
               tests/stress.c tests/testdb.c tests/harness.c tests/stage_caps.c \
               tests/inspect_race.c tests/inspect_lines.c tests/txn.c tests/common/histogram_test.c \
               tests/multi_get.c tests/race/io_ring_race.c tests/latency.c

# Objects: $(B)/obj/<path>.o for common code, $(B)/<stage>/obj/<path>.o for a
# stage's sources.  A file a stage reuses from the stage that introduced it
# (stages/O/F.c in SRCS_O) is linked from that stage's object,
# $(B)/O/obj/stages/O/F.o, since compiling it again would give the same
# code, unless one of these holds, and then the stage compiles its own:
#   - the file reads KV_STAGE_NAME (each stage names itself);
#   - a header name appears in two stage directories (stages/*/NAME.h), so
#     that an #include might find another file with another include path:
#     then no stage shares an object.
obj_common = $(patsubst %.c,$(B)/obj/%.o,$(1))
obj_stage  = $(patsubst %.c,$(B)/$(1)/obj/%.o,$(2))
# lib_objs BASE,S: the objects of SRCS_S under BASE (BASE/<stage>/obj/...).
lib_objs = $(foreach f,$(SRCS_$(2)),$(1)/$(call obj_owner,$(2),$(f))/obj/$(f:.c=.o))
# obj_owner S,F: the stage whose object of F stage S links.
obj_owner = $(or $(call shared_from,$(1),$(2),$(word 2,$(subst /, ,$(filter stages/%,$(2))))),$(1))
shared_from = $(if $(and $(3),$(filter-out $(1),$(3)),$(filter $(2),$(SRCS_$(3))), \
                $(if $(filter $(2),$(STAGE_NAME_USERS)),,yes), \
                $(STAGE_HEADERS_UNIQUE)),$(3))
STAGE_HEADERS := $(notdir $(wildcard stages/*/*/*.h stages/*/*/*/*.h))
STAGE_HEADERS_UNIQUE := $(if $(filter $(words $(STAGE_HEADERS)),$(words $(sort $(STAGE_HEADERS)))),yes)

COMMON_OBJS := $(call obj_common,$(COMMON_SRCS))
# Transactions (common/txn*.c) are written over kv.h's calls, which each
# stage provides: in every libkv.a, not in common_test.
COMMON_OVER_KV_OBJS := $(call obj_common,$(wildcard common/txn*.c))

# Archives are made with gcc-ar, binutils' ar told to load gcc's LTO
# plugin alone: plain ar loads every plugin in /usr/lib/bfd-plugins to look
# at each object, and on a Debian machine with LLVM installed that is
# LLVMgold and its libLLVM (some 100 MB), about 3,400 page faults and a
# fifth of a second an archive where gcc-ar takes 300 and a hundredth.
# The archives are the same byte for byte.
ARCHIVE := gcc-ar rcs

# liburing's objects, from Debian's liburing.a (scripts/deps.sh installs
# liburing-dev), taken out once per build flavour to go into every libkv.a.
LIBURING_DIR := $(B)/liburing
$(LIBURING_DIR)/.extracted: | build/.deps-ok
	@rm -rf $(LIBURING_DIR) && mkdir -p $(LIBURING_DIR)
	$(call brief,AR,$(LIBURING_DIR))
	$(Q)cd $(LIBURING_DIR) && gcc-ar x "$$($(CC) -print-file-name=liburing.a)"
	@touch $@


.PHONY: get-instructions
.PHONY: all deps demo test test-build test-race-build costs coverage stage-files fuzz fuzz-seeds fuzz-smoke fuzz-speed fuzz-mutants fuzz-coverage clean
all: $(foreach s,$(STAGES),$(B)/$(s)/libkv.a $(B)/$(s)/kv $(B)/$(s)/fillsync)

# Every compile first checks the Debian packages the build needs (lz4's
# headers, the sanitizer runtimes: scripts/deps.sh installs them as root,
# or names them) once: build/.deps-ok records that they were there, and is
# made again only after `make clean` or a change to the script.  It is an
# order-only prerequisite, so it runs before the first compile (with -j
# too) and never makes an object out of date.
DEPS_STAMP := build/.deps-ok
$(DEPS_STAMP): scripts/deps.sh
	@mkdir -p $(dir $@)
	@CC="$(CC)" sh scripts/deps.sh
	@touch $@

$(B)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(call brief,CC,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

define STAGE_RULES
$(B)/$(1)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $$(dir $$@)
	$$(call brief,CC,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -Istages/$(1) $$(INC_$(1)) -DKV_STAGE_NAME='"$(1)"' $$(STAGE_DEFS) -MMD -MP -c $$< -o $$@

$(B)/$(1)/libkv.a: $(call lib_objs,$(B),$(1)) $(COMMON_OBJS) $(LIBURING_DIR)/.extracted
	@mkdir -p $$(dir $$@)
	$$(call brief,AR,$$@)
	$$(Q)rm -f $$@ && $(ARCHIVE) $$@ $$(filter %.o,$$^) $(LIBURING_DIR)/*.o*

$(B)/$(1)/kv: $(call obj_common,$(filter-out $(KV_MAIN_REPLACED_$(1)),$(TOOL_SRCS))) $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)

$(B)/$(1)/kvtest: $(call obj_common,$(TEST_SRCS) $(TEST_WRAP_SRCS_$(1))) $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) $(TEST_WRAP_$(1)) -o $$@ $$^ $$(LDLIBS)

$(B)/$(1)/costs: $(call obj_common,bench/costs.c) $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)

$(B)/$(1)/fillsync: $(call obj_common,bench/fillsync.c) $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)

$(B)/$(1)/rss $(B)/$(1)/readcost $(B)/$(1)/multiget: $(B)/$(1)/%: $(call obj_common,bench/%.c bench/bench_sys.c) $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)

$(B)/$(1)/limiter_latency: $(call obj_common,bench/limiter_latency.c bench/model_disk.c bench/bench_sys.c bench/bench_hist.c) $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)

# (The library goes last: a harness may add objects, as fuzz-api-replay does.)
# Under the sanitizers the replay drivers are the fuzzing build's own
# (REPLAY_RULES, in the fuzzing section below).
ifneq ($(FLAVOUR),asan)
$(foreach t,$(FUZZ_$(1)),$(B)/$(1)/fuzz-$(t)-replay): $(B)/$(1)/fuzz-%-replay: $(call obj_common,$(FUZZ_HELPER_SRCS) fuzz/replay_main.c) $(B)/$(1)/obj/fuzz/%_fuzz.o $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) $$(ALLOC_WRAP) -o $$@ $$(filter-out %.a,$$^) $$(filter %.a,$$^) $$(LDLIBS)
endif

$(B)/$(1)/get_instructions: $(call obj_common,bench/get_instructions.c) $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)

# The unit tests of every file the stage links (TESTS_<stage> in stage.mk):
# NAME_test.c defines NAME_suite, and tests/stagetest/main.c lists them.
$(B)/$(1)/stagetest: $(call obj_stage,$(1),$(TESTS_$(1)) $(TEST_HELPERS_$(1)) tests/stagetest/main.c) $(call obj_common,tests/harness.c) $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)
STAGE_SUITES_$(1) := $(foreach t,$(TESTS_$(1)),X($(patsubst %_test.c,%,$(notdir $(t)))))
$(B)/$(1)/obj/tests/stagetest/main.o: STAGE_DEFS = -DKV_STAGE_SUITES='$$(STAGE_SUITES_$(1))'
$(B)/$(1)/obj/tests/stagetest/main.o: $(B)/$(1)/stagetest.suites
# Rewritten only when the list changes, so that main.o follows the list.
$(B)/$(1)/stagetest.suites: FORCE
	@mkdir -p $$(dir $$@)
	@echo '$$(STAGE_SUITES_$(1))' | cmp -s - $$@ || echo '$$(STAGE_SUITES_$(1))' >$$@

# (The library goes last: a stage.mk may add its own suite's object.)
$(B)/$(1)/racetest: $(call obj_common,$(RACE_SRCS) $(TEST_WRAP_SRCS_$(1))) $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) $(TEST_WRAP_$(1)) -o $$@ $$(filter-out %.a,$$^) $$(filter %.a,$$^) $$(LDLIBS)

$(B)/$(1)/alloctest: $(call obj_common,$(ALLOC_SRCS) $(TEST_WRAP_SRCS_$(1))) $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) $$(ALLOC_WRAP) $(TEST_WRAP_$(1)) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(STAGE_DIRS),$(eval $(call STAGE_RULES,$(s))))

# tools/kv_export.c: the export stream's format, stage-neutral like common/;
# tools/serve/metrics_engine.c: kv_stats' text as Prometheus metrics, the
# same for every stage.
$(B)/common_test: $(call obj_common,$(COMMON_TEST_SRCS) tools/kv_export.c \
                    tools/serve/metrics_engine.c bench/model_disk.c) \
                  $(filter-out $(COMMON_OVER_KV_OBJS),$(COMMON_OBJS))
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)
$(B)/obj/tests/common/metrics_engine_test.o: EXTRA_CFLAGS += -Itools/serve
$(B)/obj/tests/common/model_disk_test.o: EXTRA_CFLAGS += -Ibench

STAGES_WITH_TESTS := $(foreach s,$(STAGES),$(if $(TESTS_$(s)),$(s)))
TEST_BINS := $(B)/common_test $(foreach s,$(STAGES),$(B)/$(s)/kvtest $(B)/$(s)/kv) \
             $(foreach s,$(STAGES_WITH_TESTS),$(B)/$(s)/stagetest) \
             $(foreach s,$(STAGES),$(foreach t,$(FUZZ_$(s)),$(B)/$(s)/fuzz-$(t)-replay))
# The allocation-failure test runs under the sanitizers (and for coverage).
ifneq ($(filter asan cov,$(FLAVOUR)),)
TEST_BINS += $(foreach s,$(STAGES),$(B)/$(s)/alloctest)
endif
# A stage still being built: its unit tests and its kv (tests/run.sh).
TEST_BINS += $(foreach s,$(UNFINISHED_TESTED),$(B)/$(s)/stagetest $(B)/$(s)/kv)

# ---- crash tester (tests/crash/, docs in tests/crash/main.c) ---------------
# build/S/crashtest kills, power-fails and I/O-fails stage S and checks what
# it recovers.  `make crash-test STAGE=S RUNS=N` runs the full sets (all
# stages if STAGE is unset; RUNS = process-kill runs); `crashtest --quick`
# is the CI-sized share.  Placed here so TEST_BINS builds it for `make test`.
CRASH_OBJS := $(call obj_common,$(wildcard tests/crash/*.c) tests/stage_caps.c)
define CRASH_RULES
$(B)/$(1)/crashtest: $(CRASH_OBJS) $(call obj_common,$(TEST_WRAP_SRCS_$(1))) $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) $(TEST_WRAP_$(1)) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(STAGE_DIRS),$(eval $(call CRASH_RULES,$(s))))
TEST_BINS += $(foreach s,$(STAGES),$(B)/$(s)/crashtest)
RUNS ?= 10000

# ---- the export stream's fuzz harness (fuzz/export_fuzz.c) --------------------
# The format (tools/kv_export.c) is every stage's; the harness also imports
# what it decodes into a database of the stage it is linked with, so it is
# built per stage: a replay driver that `make test` runs on
# fuzz/regressions/export/ and the seeds make fuzz-seeds writes
# (build/fuzz/seeds/S-export), and a libFuzzer binary (make
# build/fuzz/S/export).
define EXPORT_FUZZ_RULES
ifneq ($(FLAVOUR),asan)
$(B)/$(1)/fuzz-export-replay: $(call obj_common,fuzz/export_fuzz.c tools/kv_export.c fuzz/replay_main.c) $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)
endif

build/fuzz/$(1)/export: fuzz/export_fuzz.c tools/kv_export.c $(SRCS_$(1)) $(COMMON_SRCS)
	@mkdir -p $$(dir $$@)
	$$(call brief,LD,$$@)
	$$(Q)clang $$(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -Istages/$(1) $$(INC_$(1)) -DKV_STAGE_NAME='"$(1)"' -o $$@ $$^ $$(LIBS_$(1))
endef
$(foreach s,$(STAGES),$(eval $(call EXPORT_FUZZ_RULES,$(s))))
TEST_BINS += $(foreach s,$(STAGES),$(B)/$(s)/fuzz-export-replay)
.PHONY: crash-test
crash-test: $(foreach s,$(STAGE_PICKED),$(B)/$(s)/crashtest)
	@$(if $(STAGE_PICKED),,echo "crash-test: no stage matches STAGE=$(STAGE) (stages: $(STAGES))" >&2; exit 2)
	@n=0; for s in $(STAGE_PICKED); do n=$$((n + 1)); \
	  echo "crash-test: stage $$s ($$n of $(words $(STAGE_PICKED))): $(RUNS) process kills, then power loss and I/O errors; a progress line every 30 s"; \
	  $(B)/$$s/crashtest --runs $(RUNS) || exit 1; done

# `make crash-test-txn STAGE=S TXN_RUNS=N TXN_OPS=N`: the bank workload
# (transactions, tests/crash/bank.h): N process kills, then power loss at
# every sync of a TXN_OPS-operation recording; all stages if STAGE is unset.
TXN_RUNS ?= 1000
TXN_OPS ?= 300
.PHONY: crash-test-txn
crash-test-txn: $(foreach s,$(STAGE_PICKED),$(B)/$(s)/crashtest)
	@$(if $(STAGE_PICKED),,echo "crash-test-txn: no stage matches STAGE=$(STAGE) (stages: $(STAGES))" >&2; exit 2)
	@n=0; for s in $(STAGE_PICKED); do n=$$((n + 1)); \
	  echo "crash-test-txn: stage $$s ($$n of $(words $(STAGE_PICKED))): $(TXN_RUNS) process kills, then power loss at every sync of $(TXN_OPS) operations"; \
	  $(B)/$$s/crashtest --workload=bank --runs $(TXN_RUNS) --ops $(TXN_OPS) || exit 1; done

# `make test-cluster CLUSTER_RUNS=N`: stage 10's Raft group under its fault
# schedules (a leader's death, a pause, partitions through a proxy, a
# restart after a snapshot, a member wiped and replaced, a deposed
# leader whose confirm links still reach the others, a full disk),
# each N times on 3 members and on 5, every history checked for
# linearizability; each planted mistake N times, each to be caught; N
# kills of a leader timed (tests/cluster/cluster_test.py --campaign).
# About 35 minutes per member count at N = 20.  Then two
# groups sharded by nutcracker in front (tests/cluster/shard_test.py,
# under a minute; `make deps DEPS=shard` installs nutcracker).
CLUSTER_RUNS ?= 20
.PHONY: test-cluster
test-cluster: $(B)/10-raft/kv
	@for n in 3 5; do echo "test-cluster: $(CLUSTER_RUNS) runs of each schedule, $$n members"; \
	  python3 tests/cluster/cluster_test.py $(B)/10-raft/kv --campaign $(CLUSTER_RUNS) --members $$n \
	  || exit 1; done
	@$(MAKE) --no-print-directory deps DEPS=shard
	@echo "test-cluster: two groups behind nutcracker"
	@python3 tests/cluster/shard_test.py $(B)/10-raft/kv

# ---- set-up ---------------------------------------------------------------
# (`make` checks the build's own packages before its first compile:
# DEPS_STAMP, above.)
deps:
	@CC="$(CC)" sh scripts/deps.sh $(DEPS)

# ---- the tour --------------------------------------------------------------
# Every stage built, as many compiles at once as the machine has cores
# (unless make was given its own -j), told in a line a stage
# (scripts/demo_build.sh), then the tour of each (scripts/demo.sh), which
# ends with the time it all took.  `make demo STAGE=01-log` (a prefix will
# do: STAGE=01) builds that stage's kv alone and tours it alone.
DEMO_J = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc))
DEMO_BUILD = $(if $(STAGE),$(foreach s,$(STAGE_PICKED),$(B)/$(s)/kv),all)
demo:
	@$(if $(STAGE_PICKED),,echo "demo: no stage matches STAGE=$(STAGE) (stages: $(STAGES))" >&2; exit 2)
	@start=$$(date +%s.%N); \
	  $(MAKE) --no-print-directory deps DEPS=demo && \
	  sh scripts/demo_build.sh $(MAKE) --no-print-directory $(DEMO_J) $(DEMO_BUILD) && \
	  KV_DEMO_START=$$start KV_DEMO_BUILT=$$(date +%s.%N) sh scripts/demo.sh $(STAGE_PICKED)

# ---- tests -----------------------------------------------------------------
# The tests come in two parts (tests/run.sh, KV_TEST_PART), so that the
# first takes at most 20 minutes on two cores:
#   make test       the gate: every test binary of the release and the
#                   ASan+UBSan flavours (test-build; the allocation-failure
#                   test in the latter only; the fuzz harnesses' replay
#                   drivers, clang's, from `make deps DEPS=fuzz`), the
#                   release build's crash tests, kv's suite on every stage,
#                   the server's on five, the cluster tests, kvgrade's
#                   stages, the grade's self-check of stage 05;
#   make test-deep  what the gate leaves: the threaded suites under
#                   ThreadSanitizer (test-race-build), the crash tests
#                   under ASan+UBSan with failed I/O calls, the tools under
#                   ASan+UBSan, the suites with a backend forced or every
#                   value in the value log, the server's suite on the other
#                   stages, kvgrade's example engines, the libFuzzer smoke
#                   run (its harnesses built) and the grade's self-check of
#                   the other stages;
#   make test-full  both, in one run.
# Each prints one summary line.  CI (.ci/run) runs make test, then make
# test-deep.  The builds run TEST_JOBS compiles at once unless make was
# given its own -j; tests/run.sh then runs three lanes of test binaries.
TEST_JOBS ?= 2
TEST_J := $(if $(filter -j%,$(MAKEFLAGS)),,-j$(TEST_JOBS))
TEST_RUN_ENV = KV_FUZZ_PAIRS="$(FUZZ_PAIRS)" KV_FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) KV_GRADE_CHECK=1 \
  KV_UNFINISHED_STAGES="$(UNFINISHED_TESTED)"
.PHONY: test test-deep test-full
test: deps
	@$(MAKE) --no-print-directory deps DEPS=fuzz
	@$(MAKE) --no-print-directory $(TEST_J) test-builds
	@$(TEST_RUN_ENV) KV_TEST_PART=gate sh tests/run.sh build "$(STAGES)" build/asan
test-deep: deps
	@$(MAKE) --no-print-directory deps DEPS=fuzz
	@$(MAKE) --no-print-directory $(TEST_J) test-builds test-builds-deep
	@$(TEST_RUN_ENV) KV_TEST_PART=deep sh tests/run.sh build "$(STAGES)" build/asan build/tsan
test-full: deps
	@$(MAKE) --no-print-directory deps DEPS=fuzz
	@$(MAKE) --no-print-directory $(TEST_J) test-builds test-builds-deep
	@$(TEST_RUN_ENV) KV_TEST_PART=all sh tests/run.sh build "$(STAGES)" build/asan build/tsan

# What make test's tests need, made under one make, whose TEST_JOBS
# compiles go on from one build to the next: the release build, the
# tools of the pages' examples, then the fuzz seeds, made with the
# release build's tools (one process, while a compile of the ASan build
# takes the other core); ASan+UBSan, whose replay drivers are linked from
# the libFuzzer build's objects; and the test's packages (npm's ioredis,
# on a fresh clone, waits on the network meanwhile).  As separate makes,
# one after another, each left a core idle at its end, and the seeds and
# npm one or both.  (The order is the order make starts them in, two at
# a time.)  test-builds-deep adds what make test-deep needs beyond them:
# ThreadSanitizer, and the libFuzzer harnesses linked from those objects.
.PHONY: test-builds test-builds-release test-builds-asan test-builds-tsan test-builds-deps \
  test-builds-deep test-builds-fuzz
test-builds: test-builds-release test-builds-deps test-builds-asan
test-builds-deep: test-builds-fuzz test-builds-tsan
test-builds-release: | $(DEPS_STAMP)
	+@$(MAKE) --no-print-directory test-build FLAVOUR=release
	+@$(MAKE) --no-print-directory docs-example-tools FLAVOUR=release
	+@$(MAKE) --no-print-directory fuzz-seeds
test-builds-asan: | $(DEPS_STAMP)
	+@$(MAKE) --no-print-directory test-build-gate FLAVOUR=asan
test-builds-fuzz: | $(DEPS_STAMP)
	+@$(MAKE) --no-print-directory test-build $(foreach p,$(FUZZ_PAIRS),build/fuzz/$(subst :,/,$(p))) \
	  $(FINDINGS_BINS) FLAVOUR=asan
test-builds-tsan: | $(DEPS_STAMP)
	+@$(MAKE) --no-print-directory test-race-build FLAVOUR=tsan
test-builds-deps: | $(DEPS_STAMP)
	@$(MAKE) --no-print-directory deps DEPS=server
	@$(MAKE) --no-print-directory deps DEPS=metrics
	@$(MAKE) --no-print-directory deps DEPS=check
	@$(MAKE) --no-print-directory deps DEPS=kvgrade

# (test-build's rule is at the end of this file: TEST_BINS grows below,
# and a rule's prerequisites are what its variables hold where it is read.)

# ThreadSanitizer: only the suites that run threads (tests/race/main.c).
test-race-build: $(foreach s,$(STAGES),$(B)/$(s)/racetest)

# ---- what a stage is made of: its own files, and what it reuses ------------
stage-files:
	@$(if $(STAGE_PICKED),,echo "stage-files: no stage matches STAGE=$(STAGE) (stages: $(STAGES))" >&2; exit 2)
	@$(foreach s,$(STAGE_PICKED),sh scripts/stage_files.sh $(s) \
	  "$(SRCS_$(s)) $(REPLICA_SRCS_$(s)) $(MEMBER_SRCS_$(s))" \
	  "stages/$(s) $(patsubst -I%,%,$(INC_$(s)))" || exit 1;)

# ---- instructions per get at 10K and 1M keys (callgrind; not for stage 01,
# whose gets scan the whole log) -------------------------------------------
GI_STAGES ?= $(filter-out 01-log,$(STAGES))
# GI_ARGS=--publish copies the table to docs/generated/get-instructions.md.
get-instructions: $(foreach s,$(GI_STAGES),$(B)/$(s)/get_instructions)
	@sh scripts/get_instructions.sh $(B) $(GI_ARGS) $(GI_STAGES)

# ---- where a get of a settled database spends its time (perf) ---------------
# A stage's readrandom on a settled 1,000,000-key database (PROFILE_STAGE,
# PROFILE_N), then LevelDB's with its bloom filter on the same workload:
# the functions that took at least 1% of the samples
# (scripts/profile_reads.sh; docs/perf-06-leveled.md).
PROFILE_STAGE ?= 06-leveled
PROFILE_N ?= 1000000
.PHONY: profile-reads
profile-reads: $(B)/$(PROFILE_STAGE)/kvbench
	@$(MAKE) --no-print-directory deps DEPS=perf
	@$(MAKE) --no-print-directory deps DEPS=peers || echo "profile-reads: no LevelDB: the stage alone"
	@echo "== $(PROFILE_STAGE)"
	@sh scripts/profile_reads.sh $(B)/$(PROFILE_STAGE)/kvbench $(PROFILE_N)
	@if [ -f $(BENCH_HDR_leveldb) ]; then \
	  $(MAKE) --no-print-directory $(B)/bench/kvbench-leveldb && echo "== leveldb-bloom" && \
	  KVBENCH_BLOOM_BITS=10 sh scripts/profile_reads.sh $(B)/bench/kvbench-leveldb $(PROFILE_N); fi

# ---- measured costs per stage (figures quoted in docs/) ---------------------
# scripts/costs.sh writes build/costs.md; COSTS_ARGS=--publish also copies it
# to docs/generated/costs.md and updates the pages that quote it.  COSTS_N
# sets the sizes (default 1000 10000 100000 1000000).
costs: $(foreach s,$(STAGES),$(B)/$(s)/costs)
	@sh scripts/costs.sh $(B) "$(STAGES)" $(COSTS_ARGS) $(COSTS_N)

# The figures the pages of docs/ quote, copied again from the files that hold
# them (bench/results/, docs/generated/): scripts/docs_figures.sh.
.PHONY: docs-figures
docs-figures:
	@sh scripts/docs_figures.sh

# The worked examples of docs/ run again with the tools just built, and
# their output written into the pages (scripts/docs_examples.py; make test
# runs it with --check).  docs-example-tools builds what the examples run
# (docs_examples.py --tools), a stage's still being built too.
.PHONY: docs-examples docs-example-tools
docs-examples: all
	@$(MAKE) --no-print-directory docs-example-tools
	@python3 scripts/docs_examples.py
docs-example-tools:
	@$(MAKE) --no-print-directory $$(python3 scripts/docs_examples.py --tools)

# The picture on each stage's page, drawn by `kv DIR draw` from a small
# database the CLI makes with its small-scale knobs (scripts/docs_pictures.sh).
.PHONY: docs-pictures
docs-pictures: all
	@sh scripts/docs_pictures.sh $(B)

# Stage 10's picture in docs/lab/ (docs/lab.md, "Stage 10: a group").  The
# lab's own panel of a group needs libraft's source (WASM_RAFT=1), so this
# one is drawn from a running group of build/10-raft/kv instead: three
# members, one paused behind, by scripts/draw_group.py, its SVG rendered
# to PNG by rsvg-convert (librsvg2-bin: make deps DEPS=pictures).
.PHONY: lab-group-picture
lab-group-picture: $(B)/10-raft/kv
	@$(MAKE) --no-print-directory deps DEPS=pictures
	@mkdir -p build/lab
	@python3 scripts/draw_group.py $(B)/10-raft/kv build/lab/10-raft-group.svg
	@rsvg-convert --format=png -o docs/lab/10-raft-group.png build/lab/10-raft-group.svg && \
	  echo "lab-group-picture: docs/lab/10-raft-group.png"

# Stage 04's measured costs (docs/04-lsm-reference.md): read cost against the number
# and size of tables, plotted; memory after a reopen against stage 02
# (build/S/rss); system calls per operation.  READCOST_ARGS=--publish makes
# it the published copy, docs/generated/04-lsm-costs.md (scripts/readcost.sh).
.PHONY: readcost
readcost: $(B)/04-lsm/readcost $(B)/04-lsm/rss $(B)/02-hash/rss $(B)/04-lsm/kvbench $(B)/03-wal/kvbench
	@sh scripts/readcost.sh $(B) build/readcost $(READCOST_ARGS)

# ---- lookups in batches (bench/multiget.c, docs/io.md) -----------------------
# build/S/multiget loads 1,000,000 keys into a database on disk (kept in
# /var/tmp/kv-multiget-S between runs) and measures kv_multi_get at batches
# of 1, 8, 16 and 64 keys against as many kv_gets, on the POSIX and the
# io_uring backends, with the tables dropped from the page cache (cold) and
# in it (warm).  `make bench-multiget` runs it on MULTIGET_STAGES and
# gathers the tables in build/bench/multiget/results.md
# (scripts/bench_multiget.sh); MULTIGET_ARGS passes options to the script
# (--publish: to bench/results/multiget-results.md and docs/io.md) and
# then to the program (see its header).
# build/ring_read (bench/ring_read.c) measures the I/O layer's batched read
# alone on each backend, which the script runs first.
# `make bench-vlog`: stage 08's value log against stage 07 and LevelDB with
# its bloom filter, 1M keys, values of 100, 1,024 and 4,096 bytes
# (scripts/bench_vlog.sh; VLOG_ARGS=--publish: to bench/results/ and
# docs/08-vlog-reference.md; --num=N and --sizes="..." for a smaller run).  Tens of
# minutes; the databases go to /var/tmp.
.PHONY: bench-vlog
bench-vlog: bench-deps $(B)/07-txn/kvbench $(B)/08-vlog/kvbench
	@$(MAKE) --no-print-directory $(B)/bench/kvbench-leveldb
	@sh scripts/bench_vlog.sh $(B) $(VLOG_ARGS)

# `make bench-vlog-space`: stage 08's directory against its live bytes in
# three runs a value log is known to get wrong: sessions closed under a
# snapshot, an idle database after overwrites, a busy writer without
# kv_compact (bench/vlog_space.c, scripts/bench_vlog_space.sh;
# VLOG_SPACE_ARGS=--publish: to bench/results/ and docs/08-vlog.md).  Under
# a minute; the databases go to /var/tmp.
.PHONY: bench-vlog-space
bench-vlog-space: $(B)/08-vlog/vlog_space
	@sh scripts/bench_vlog_space.sh $(B) $(VLOG_SPACE_ARGS)
$(B)/08-vlog/vlog_space: $(call obj_common,bench/vlog_space.c) $(B)/08-vlog/libkv.a
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)

# `make bench-limiter`: stage 09's readers' p99 and p99.9 get latency while
# a writer fills at full speed, the background rate limiter off and on, at
# half the disk's measured write rate, at half the background rate the
# engine reaches with none, and at half the rate of a modeled disk slower
# than the engine's background writes (MODEL_DISK_MBPS, default 20:
# bench/model_disk.h) (bench/limiter_latency.c, scripts/bench_limiter.sh;
# LIMITER_ARGS=--publish: to bench/results/ and docs/perf-09-cache.md).  About
# ten minutes; the databases go to /var/tmp.
.PHONY: bench-limiter
bench-limiter: $(B)/09-cache/limiter_latency
	@sh scripts/bench_limiter.sh $(B) $(LIMITER_ARGS)

# `make bench-cache-rss`: resident memory of stages 08 and 09 holding 10
# and 20 million keys with a 64 MiB cache budget, reopened and read with
# a million gets (bench/rss.c, scripts/bench_cache_rss.sh;
# CACHE_RSS_ARGS=--publish: to bench/results/ and docs/perf-09-cache.md).
# About ten minutes; 2.5 GB of databases at a time in /var/tmp.
.PHONY: bench-cache-rss
bench-cache-rss: $(B)/08-vlog/rss $(B)/09-cache/rss
	@sh scripts/bench_cache_rss.sh $(B) $(CACHE_RSS_ARGS)

MULTIGET_STAGES ?= 05-blocks 06-leveled
.PHONY: bench-multiget
bench-multiget: $(foreach s,$(MULTIGET_STAGES),$(B)/$(s)/multiget) $(B)/ring_read
	@sh scripts/bench_multiget.sh $(B) "$(MULTIGET_STAGES)" $(MULTIGET_ARGS)
$(B)/ring_read: $(call obj_common,bench/ring_read.c bench/bench_sys.c) \
                $(filter-out $(COMMON_OVER_KV_OBJS),$(COMMON_OBJS))
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)

# ---- benchmarks: every stage and the peer engines (docs/benchmarks.md) -------
# build/S/kvbench drives stage S; build/bench/kvbench-P drives peer engine P
# (LevelDB, RocksDB, LMDB, SQLite), built only if its header is installed.
# `make bench` is the quick run (10K and 100K keys, a few minutes),
# `make bench-full` the long one (10K, 100K and 1M keys); scripts/bench.sh
# writes build/bench/results.{csv,md} and the charts.  BENCH_ARGS passes
# options to it, e.g. BENCH_ARGS="--reps=5 --publish" (see the script).
BENCH_OBJS := $(call obj_common,bench/kvbench.c bench/bench_sys.c bench/bench_hist.c)
BENCH_PEERS_ALL := leveldb rocksdb lmdb sqlite
BENCH_HDR_leveldb := /usr/include/leveldb/c.h
BENCH_HDR_rocksdb := /usr/include/rocksdb/c.h
BENCH_HDR_lmdb := /usr/include/lmdb.h
BENCH_HDR_sqlite := /usr/include/sqlite3.h
BENCH_PEERS := $(foreach p,$(BENCH_PEERS_ALL),$(if $(wildcard $(BENCH_HDR_$(p))),$(p)))
BENCH_LIB_leveldb := -lleveldb
BENCH_LIB_rocksdb := -lrocksdb
BENCH_LIB_lmdb := -llmdb
BENCH_LIB_sqlite := -lsqlite3

define BENCH_STAGE_RULES
$(B)/$(1)/kvbench: $(BENCH_OBJS) $(call obj_common,bench/engine_kv.c tests/stage_caps.c) $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(STAGE_DIRS),$(eval $(call BENCH_STAGE_RULES,$(s))))

$(B)/bench/kvbench-%: $(BENCH_OBJS) $(B)/obj/bench/engine_%.o
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(BENCH_LIB_$*) $(LDLIBS)
.SECONDARY: $(foreach p,$(BENCH_PEERS_ALL),$(B)/obj/bench/engine_$(p).o)

# ---- transactions under load (bench/txnbench.c, docs/benchmarks.md) ----------
# build/S/txnbench drives stage S's kv_txn_*, build/bench/txnbench-rocksdb
# RocksDB's optimistic transactions.  `make bench-txn` runs transfers at
# low and high contention and read-only transactions, 1 and 2 threads, on
# stages 06 and 07 and RocksDB, and stage 07's fillrandom and readrandom
# against stage 06's (scripts/bench_txn.sh; a few minutes); the results go
# to build/bench/txn/.  BENCH_TXN_ARGS passes options to the script.
TXNBENCH_OBJS := $(call obj_common,bench/txnbench.c bench/bench_sys.c bench/bench_hist.c)
BENCH_TXN_STAGES := 06-leveled 07-txn
define TXNBENCH_STAGE_RULES
$(B)/$(1)/txnbench: $(TXNBENCH_OBJS) $(call obj_common,bench/engine_kv.c tests/stage_caps.c) $(B)/$(1)/libkv.a
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(STAGES),$(eval $(call TXNBENCH_STAGE_RULES,$(s))))

$(B)/bench/txnbench-rocksdb: $(TXNBENCH_OBJS) $(B)/obj/bench/engine_rocksdb.o
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(BENCH_LIB_rocksdb) $(LDLIBS)

.PHONY: bench-txn
bench-txn:
	@$(MAKE) --no-print-directory deps DEPS=peers || echo "bench-txn: without librocksdb-dev, RocksDB is skipped"
	@$(MAKE) --no-print-directory $(foreach s,$(BENCH_TXN_STAGES),$(B)/$(s)/txnbench $(B)/$(s)/kvbench) \
	  $(if $(wildcard $(BENCH_HDR_rocksdb)),$(B)/bench/txnbench-rocksdb)
	@sh scripts/bench_txn.sh $(B) "$(BENCH_TXN_STAGES)" $(BENCH_TXN_ARGS)

# `make bench-10m`: stage 06 against LevelDB with its bloom filter at
# 10,000,000 keys, one repetition of the fillrandom database's workloads
# (about 10 minutes), published beside the main run as
# bench/results/10m-results.md, with its targets: stage 06 at least as fast
# as LevelDB on fillrandom and readrandom.
# `make bench-settled`: stages 02, 06 and 08 against LevelDB with its
# bloom filter at 1,000,000 keys, reads on a settled database (each
# engine's full compaction, `settle`, runs between the writes and the
# reads), five repetitions in alternating order (about eight minutes:
# the ratio of gets moved by a tenth between runs of three),
# published beside the main run as bench/results/settled-results.md with
# its targets.
# `make bench-cache`: stage 09's read path against stage 08, LevelDB with
# its bloom filter and RocksDB with the same read path (rocksdb-cache: a
# row cache, partitioned index and filters, the stages' 8 MiB budget and
# 4 MiB memtable: bench/engine_rocksdb.c) at 1,000,000 keys, a cache much
# smaller than the data, reads on a settled database, uniform (readrandom)
# and zipfian (readzipf, skew 0.99), five repetitions in alternating
# order (runs of three on the same code moved the gets' ratios by a
# quarter), published beside the main run as
# bench/results/cache-results.md with stage 09's targets
# (docs/perf-09-cache.md).  About six minutes.
# A run published beside the main one (--publish-as: bench-cache,
# bench-cache-10m, bench-settled) already publishes itself; --publish in
# BENCH_ARGS would also copy it over the main run's bench/results/ and
# the pages that quote it, so those targets drop it.
BENCH_ARGS_BESIDE = $(filter-out --publish,$(BENCH_ARGS))

.PHONY: bench-cache
bench-cache:
	@BENCH_TARGETS="09-cache:readzipf:leveldb-bloom:2 09-cache:readrandom:leveldb-bloom:1.5 \
	  09-cache:readzipf:rocksdb-cache:1 \
	  09-cache:readrandom:08-vlog:1 09-cache:fillrandom:08-vlog:0.95 09-cache:overwrite:08-vlog:0.95" \
	  BENCH_WORKLOADS="fillrandom overwrite settle readrandom readzipf" \
	  $(MAKE) --no-print-directory bench-full STAGES="08-vlog 09-cache" \
	  BENCH_ARGS="--sizes=1000000 --reps=5 --seconds=4 --peers='leveldb-bloom rocksdb-cache' \
	  --publish-as=cache --benchmarks=fillrandom,overwrite,settle,readrandom,readzipf $(BENCH_ARGS_BESIDE)"

# `make bench-cache-10m`: gets at 10,000,000 keys (about 1.1 GB of keys
# and values against the stages' 8 MiB budget): stages 08 and 09, LevelDB
# with its bloom filter, RocksDB with stage 09's read path and LMDB, each
# on its own database made once and settled (filled, then each engine's
# full compaction; LMDB after its load), kept in CACHE10M_DB between runs,
# then CACHE10M_ROUNDS rounds (5) of readrandom and readzipf, the order of
# the engines alternating; stage 09's ratios with their ranges
# (scripts/bench_cache_10m.sh).  Stages 08 and 09 run their default
# options, the headline (KV_COMPRESSION=none make bench-cache-10m: blocks
# stored raw); 09-cache-raw, stage 09 with its blocks raw on a database of
# its own, is a labelled second row; each database's size on disk ends the
# table.  CACHE10M_ARGS=--publish: to
# bench/results/cache10m-results.md and the pages that quote it;
# --refill makes the databases again.  About 20 minutes the first time
# (the fills), 10 after.
CACHE10M_ROUNDS ?= 5
CACHE10M_DB ?= /var/tmp/kv-cache10m
.PHONY: bench-cache-10m
bench-cache-10m: bench-deps
	@$(MAKE) --no-print-directory $(B)/08-vlog/kvbench $(B)/09-cache/kvbench \
	  $(foreach p,leveldb rocksdb lmdb,$(if $(wildcard $(BENCH_HDR_$(p))),$(B)/bench/kvbench-$(p)))
	@sh scripts/bench_cache_10m.sh $(B) --rounds=$(CACHE10M_ROUNDS) --db=$(CACHE10M_DB) $(CACHE10M_ARGS)

# `make get-cost`: where a get goes, counted: instructions and simulated
# cache misses per get, summed into the get's steps, of GET_COST_ENGINES
# (09-cache lmdb) on the databases bench-cache-10m keeps in CACHE10M_DB
# (made first if missing), GET_COST_OPS (20000) gets of each workload
# after 1,000,000 not counted (scripts/get_cost.sh, callgrind: a few
# minutes an engine, on a busy machine too).
GET_COST_ENGINES ?= 09-cache lmdb
GET_COST_OPS ?= 20000
GET_COST_N ?= 10000000
.PHONY: get-cost
get-cost:
	@$(MAKE) --no-print-directory deps DEPS="valgrind peers"
	@$(MAKE) --no-print-directory $(foreach e,$(GET_COST_ENGINES),$(if $(filter 0%,$(e)),$(B)/$(e)/kvbench,$(B)/bench/kvbench-$(e)))
	@sh scripts/bench_cache_10m.sh $(B) --keys=$(GET_COST_N) --rounds=0 --db=$(CACHE10M_DB) \
	  --engines="$(GET_COST_ENGINES)" >/dev/null
	@for e in $(GET_COST_ENGINES); do \
	  case $$e in 0*) bin=$(B)/$$e/kvbench ;; *) bin=$(B)/bench/kvbench-$$e ;; esac; \
	  sh scripts/get_cost.sh $$bin $(CACHE10M_DB)/$$e $(GET_COST_N) readrandom,readzipf $(GET_COST_OPS) || exit 1; \
	done

.PHONY: bench bench-full bench-10m bench-settled bench-build bench-deps
bench-settled:
	@BENCH_TARGETS="02-hash:readrandom:leveldb-bloom:2 06-leveled:readrandom:leveldb-bloom:1.5 \
	  06-leveled:seekrandom:leveldb-bloom:1.2 06-leveled:seekonce:leveldb-bloom:1.2 \
	  08-vlog:readrandom:leveldb-bloom:1.5 08-vlog:seekrandom:leveldb-bloom:1.2 \
	  08-vlog:seekonce:leveldb-bloom:1.2" \
	  BENCH_WORKLOADS="fillrandom overwrite settle readrandom seekrandom seekonce" \
	  $(MAKE) --no-print-directory bench-full STAGES="02-hash 06-leveled 08-vlog" \
	  BENCH_ARGS="--sizes=1000000 --reps=5 --seconds=4 --peers=leveldb-bloom --publish-as=settled \
	  --benchmarks=fillrandom,overwrite,settle,readrandom,seekrandom,seekonce $(BENCH_ARGS_BESIDE)"
bench-10m:
	@BENCH_TARGETS="06-leveled:fillrandom:leveldb-bloom:1 06-leveled:readrandom:leveldb-bloom:1" \
	  $(MAKE) --no-print-directory bench-full STAGES=06-leveled \
	  BENCH_ARGS="--sizes=10000000 --reps=1 --peers=leveldb-bloom --publish-as=10m \
	  --benchmarks=fillrandom,overwrite,readrandom,readmissing,readseq,seekrandom,compact $(BENCH_ARGS)"

bench-build: $(foreach s,$(STAGES),$(B)/$(s)/kvbench) $(foreach p,$(BENCH_PEERS),$(B)/bench/kvbench-$(p))

bench-deps:
	@$(MAKE) --no-print-directory deps DEPS=gnuplot || echo "bench: no gnuplot: no charts"
	@$(MAKE) --no-print-directory deps DEPS=peers || echo "bench: peers not installed are skipped"

# A stage that does not build (work in progress) is skipped, not run stale:
# its kvbench is relinked every time, and bench.sh names what is missing.
bench bench-full: bench-deps
	@rm -f $(foreach s,$(STAGES),$(B)/$(s)/kvbench)
	@$(MAKE) --no-print-directory -k bench-build || echo "bench: some engines did not build: they are skipped"
	@sh scripts/bench.sh $(if $(filter bench-full,$@),full,quick) $(B) "$(STAGES)" \
	  "$(BENCH_PEERS_ALL)" $(BENCH_ARGS)

# ---- the Redis-protocol server against redis-server (docs/server.md) --------
# redis-benchmark -t set,get, 50 clients, with and without -P 16, against
# stage 03's `kv serve` with and without --sync and against Debian's
# redis-server (appendfsync everysec and always); results and a chart in
# build/bench-server/.  BENCH_SERVER_N sets the requests per run (1000000).
.PHONY: bench-server
bench-server: $(B)/03-wal/kv
	@$(MAKE) --no-print-directory deps DEPS=bench-server
	@$(MAKE) --no-print-directory deps DEPS=gnuplot || echo "bench-server: no gnuplot: no chart"
	@sh scripts/bench_server.sh $(B) 03-wal

# ---- stage 10's group against etcd and one server (docs/perf-10-raft.md) ---
# First, in alternating rounds (BENCH_RAFT_ROUNDS, 5), writes of 100-byte
# values (BENCH_RAFT_VALUE) over a key space of 1,000,000 (BENCH_RAFT_KEYS)
# at 1, 10, 50 and 200 closed-loop clients (BENCH_RAFT_CLIENTS), the
# headline, and a second, labelled workload, 3-byte values over 200,000
# keys at 50 clients (BENCH_RAFT_SMALL, 3:200000:50; empty: none): three
# etcd 3.4 members with peer TLS, driven over gRPC by build/bench/etcd_load
# (etcd's Go client library) with its clients sharing one connection (the
# headline's) and with one each (BENCH_RAFT_ETCD_CONNS, "shared each"), and
# three stage 10 members with their peer TLS on and with --raft-insecure,
# driven by build/bench/raft_load (bench/raft_load.c), a connection a
# client; each server started afresh and settled for each run; the median
# of the rounds and the ratios, every row naming its value size, key space,
# clients and connections.  Then, one run each, 50 connections, 100-byte
# values: redis-benchmark -t set at the group's leader, at one stage 09
# `kv serve --sync` and at redis-server (appendfsync always) with two
# replicas, with and without -P 16; raft_load at stage 09 and at
# redis-server with WAIT 1 after each SET; GETs of keys all written at the
# leader (linearizable), at a follower (READONLY) and at stage 09; all on
# this host.  BENCH_RAFT_N sets the key space and the requests of a one-run
# row (200000); BENCH_RAFT_ONE_RUN=0 leaves the one-run rows out.
.PHONY: bench-raft
bench-raft: $(B)/10-raft/kv $(B)/09-cache/kv $(B)/bench/raft_load
	@$(MAKE) --no-print-directory deps DEPS=bench-server
	@$(MAKE) --no-print-directory deps DEPS=etcd
	@$(MAKE) --no-print-directory $(B)/bench/etcd_load
	@sh scripts/bench_raft.sh $(B)
# SET/s at the group's leader, 50 clients, on an empty database and on one
# of 1,000,000 keys (scripts/bench_raft_fill.sh; BENCH_FILL_ROUNDS, 3);
# BENCH_FILL_OTHER=DIR, a build directory of another commit, runs its kv
# too, in alternating rounds.  No etcd.
.PHONY: bench-raft-fill
bench-raft-fill: $(B)/10-raft/kv
	@$(MAKE) --no-print-directory deps DEPS=bench-server
	@sh scripts/bench_raft_fill.sh $(B) $(BENCH_FILL_OTHER)
# Writes a second at the group's leader with the Raft log written in
# libraft's own 4 KiB blocks (--raft-log-block 4096) and in the default
# 16 KiB ones, 1 and 50 clients, BENCH_OPT_ROUNDS (6) alternating rounds
# (scripts/bench_raft_options.sh, which compares any two sets of member
# options).  No etcd.  Needs an idle machine.
.PHONY: bench-raft-blocks
bench-raft-blocks: $(B)/10-raft/kv $(B)/bench/raft_load
	@sh scripts/bench_raft_options.sh $(B) "--raft-log-block 4096" ""
$(B)/bench/raft_load: $(B)/obj/bench/raft_load.o
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ -pthread

# ---- what a flood at the members' Raft ports costs (docs/10-raft-security.md)
# One group of three; BENCH_FLOOD_ROUNDS (5) pairs of runs of raft_load -c 50
# -n BENCH_FLOOD_N (100000) at the leader, alone and then while
# build/bench/peer_flood holds BENCH_FLOOD_CONNS (1000) unfinished openings
# at each member's Raft port; each pair's ratio and their median, in
# build/bench-flood/ (scripts/bench_flood.sh).  Needs an idle machine.
.PHONY: bench-flood
bench-flood: $(B)/10-raft/kv $(B)/bench/raft_load $(B)/bench/peer_flood
	@$(MAKE) --no-print-directory deps DEPS=bench-server
	@sh scripts/bench_flood.sh $(B)
$(B)/bench/peer_flood: $(B)/obj/bench/peer_flood.o
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ -lssl -lcrypto
# etcd's Go client library (clientv3) and what it imports are the sources
# Debian's golang-etcd-server-dev and its dependencies put in
# /usr/share/gocode: built offline in GOPATH mode, never from a module
# proxy; Go's build cache in $(B)/go-cache.
ETCD_GOPATH := /usr/share/gocode
$(B)/bench/etcd_load: bench/etcd_load/main.go
	@mkdir -p $(dir $@)
	$(call brief,GO,$@)
	$(Q)GO111MODULE=off GOPATH=$(ETCD_GOPATH) GOPROXY=off GOFLAGS= GOCACHE=$(abspath $(B))/go-cache \
	  go build -o $@ ./bench/etcd_load

# ---- watching kv serve (docs/metrics.md) ------------------------------------------
# `make metrics-graph`: stage 06's kv serve under redis-benchmark, scraped by
# a real Prometheus every second, with a burst of writes in the middle that
# makes the engine compact; the commands per second, the p99 of GET and SET
# and the bytes compactions wrote, from Prometheus's query API, drawn by
# gnuplot into build/metrics/run.svg; METRICS_ARGS=--publish makes it the
# published one, docs/pictures/metrics-run.svg and docs/generated/metrics-run.*,
# and updates docs/metrics.md.  METRICS_GRAPH_SECONDS sets the run (45).
METRICS_GRAPH_SECONDS ?= 45
METRICS_ARGS ?=
.PHONY: metrics-graph
metrics-graph: $(B)/06-leveled/kv
	@$(MAKE) --no-print-directory deps DEPS=metrics
	@$(MAKE) --no-print-directory deps DEPS=bench-server
	@$(MAKE) --no-print-directory deps DEPS=gnuplot
	@TMPDIR=$${TMPDIR:-/dev/shm} python3 scripts/metrics_graph.py $(METRICS_ARGS) \
	  $(B)/06-leveled/kv $(METRICS_GRAPH_SECONDS)
	@$(if $(filter --publish,$(METRICS_ARGS)),sh scripts/docs_figures.sh docs/metrics.md)

# `make bench-metrics-overhead`: what the server's latency histograms cost:
# build/histogram_cost (ns per record and per clock reading), then
# redis-benchmark SET and GET against two kv serve of stage 06, one with
# --latency-tracking yes and one with no, in alternating pairs
# (scripts/metrics_overhead.py): throughput ratios and server CPU per
# request; the report in build/metrics/overhead.md, or with
# METRICS_ARGS=--publish in docs/generated/metrics-overhead.md (and
# docs/metrics.md updated).  METRICS_OVERHEAD_ROUNDS (15), METRICS_OVERHEAD_N (500000).
METRICS_OVERHEAD_ROUNDS ?= 15
METRICS_OVERHEAD_N ?= 500000
$(B)/histogram_cost: $(call obj_common,bench/histogram_cost.c common/histogram.c)
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)

.PHONY: bench-metrics-overhead
bench-metrics-overhead: $(B)/06-leveled/kv $(B)/histogram_cost
	@$(MAKE) --no-print-directory deps DEPS=bench-server
	@TMPDIR=$${TMPDIR:-/dev/shm} python3 scripts/metrics_overhead.py $(METRICS_ARGS) \
	  $(B)/06-leveled/kv $(METRICS_OVERHEAD_ROUNDS) $(METRICS_OVERHEAD_N)
	@$(if $(filter --publish,$(METRICS_ARGS)),sh scripts/docs_figures.sh docs/metrics.md)

# `make bench-engine-overhead`: what the engine's latency histograms cost
# (common/latency.h): kvbench fillrandom and readrandom at
# ENGINE_OVERHEAD_N keys (1,000,000) on stage ENGINE_OVERHEAD_STAGE
# (06-leveled), the build with histograms (build/) against the one without
# (build/nohist/, FLAVOUR=nohist), one right after the other for
# ENGINE_OVERHEAD_ROUNDS rounds (9), the order alternating
# (scripts/engine_overhead.py): each round's throughput ratios and CPU
# seconds, and their medians; the report in build/metrics/engine-overhead.md,
# or with METRICS_ARGS=--publish in docs/generated/engine-overhead.md (and
# docs/metrics.md updated).
ENGINE_OVERHEAD_STAGE ?= 06-leveled
ENGINE_OVERHEAD_N ?= 1000000
ENGINE_OVERHEAD_ROUNDS ?= 9
.PHONY: bench-engine-overhead
bench-engine-overhead: $(B)/$(ENGINE_OVERHEAD_STAGE)/kvbench
	@$(MAKE) --no-print-directory FLAVOUR=nohist build/nohist/$(ENGINE_OVERHEAD_STAGE)/kvbench
	@TMPDIR=$${TMPDIR:-/dev/shm} python3 scripts/engine_overhead.py $(METRICS_ARGS) \
	  $(B)/$(ENGINE_OVERHEAD_STAGE)/kvbench build/nohist/$(ENGINE_OVERHEAD_STAGE)/kvbench \
	  $(ENGINE_OVERHEAD_ROUNDS) $(ENGINE_OVERHEAD_N)
	@$(if $(filter --publish,$(METRICS_ARGS)),sh scripts/docs_figures.sh docs/metrics.md)

# `make bench-commits COMMITS="A B ..."`: the stages BENCH_COMMITS_STAGE
# (06-leveled 08-vlog: the two that share every table and level part,
# with and without stage 07's and 08's) as built at each commit, against
# LevelDB with a bloom filter, in one run of BENCH_COMMITS_REPS rounds (9)
# at BENCH_COMMITS_N keys (1,000,000), every engine linked with this
# tree's kvbench (scripts/bench_commits.sh): whether a change kept each
# stage's ratios.
BENCH_COMMITS_STAGE ?= 06-leveled 08-vlog
# BENCH_COMMITS_STATE=settled: the reads on a settled database (each
# engine's full compaction first), the seeks with one iterator too.
BENCH_COMMITS_STATE ?= fresh
BENCH_COMMITS_N ?= 1000000
BENCH_COMMITS_REPS ?= 9
.PHONY: bench-commits
bench-commits: $(BENCH_OBJS) $(call obj_common,bench/engine_kv.c tests/stage_caps.c)
	@$(if $(COMMITS),,echo 'bench-commits: name the commits: make bench-commits COMMITS="6d73070 HEAD"'; exit 2)
	@$(MAKE) --no-print-directory deps DEPS=peers
	@$(MAKE) --no-print-directory $(B)/bench/kvbench-leveldb
	@BENCH_STATE=$(BENCH_COMMITS_STATE) sh scripts/bench_commits.sh $(B) "$(BENCH_COMMITS_STAGE)" $(BENCH_COMMITS_N) \
	  $(BENCH_COMMITS_REPS) $(COMMITS)

# ---- the Redis-protocol server against misbehaving clients (docs/server.md) --
# The acceptance run of tests/server_stress.py on every stage's kv: 20
# rounds of 60 clients resetting with replies pending and 10 s of clients
# closing at random points, with and without --sync; open-file limits of 64
# and 256 over ~130 tables; a pathological SCAN MATCH and KEYS; a
# 200,000-key DEL.  Prints the figures it measured.  `make test` runs the
# same tests smaller (tests/server_test.py).
.PHONY: serve-stress
serve-stress: $(foreach s,$(STAGES),$(B)/$(s)/kv)
	@$(MAKE) --no-print-directory deps DEPS=server
	@TMPDIR=$${TMPDIR:-/dev/shm} python3 tests/server_stress.py $(foreach s,$(STAGES),$(B)/$(s)/kv)

# ---- the Redis-protocol server: what a WATCH costs ---------------------------------
# scripts/watch_cost.py on every stage's kv: at 200,000 keys, the round trip
# of a WATCH on an idle server (the loop time it takes, at most), PING's,
# and the memory each watching client adds (docs/server.md, "WATCH").
.PHONY: bench-watch
bench-watch: $(foreach s,$(STAGES),$(B)/$(s)/kv)
	@$(MAKE) --no-print-directory deps DEPS=server
	@TMPDIR=$${TMPDIR:-/dev/shm} python3 scripts/watch_cost.py $(foreach s,$(STAGES),$(B)/$(s)/kv)

# ---- space a WATCH pins, and whether it comes back ---------------------------------
# scripts/space_after_watch.py on stages 06 and 07 (SPACE_STAGES): 10,000 keys,
# 500,000 SETs with a client idle after WATCH, UNWATCH, 400,000 more SETs,
# against the same SETs with no WATCH; the directory's bytes at the end of
# each, and their ratio (docs/07-txn.md, "Long transactions keep garbage").
SPACE_STAGES ?= 06-leveled 07-txn
.PHONY: bench-space
bench-space: $(foreach s,$(SPACE_STAGES),$(B)/$(s)/kv)
	@$(MAKE) --no-print-directory deps DEPS=server
	@TMPDIR=$${TMPDIR:-/dev/shm} python3 scripts/space_after_watch.py $(foreach s,$(SPACE_STAGES),$(B)/$(s)/kv)

# ---- the Redis-protocol server: reads of several keys are atomic ------------------
# tests/server_atomic_reads.py on every stage's kv, without and with --sync:
# three writers keep a == b (MSET, MULTI/EXEC) and c, d together (MSET,
# DEL) for ATOMIC_SECONDS (60) while a reader's MGET a b and EXISTS c d must
# never see half of a batch; prints the reads, torn reads and writes of each
# run (docs/server.md, "Reads of several keys").  `make test` runs the same
# for 2 s per mode (tests/server_test.py).
ATOMIC_SECONDS ?= 60
.PHONY: serve-atomic-reads
serve-atomic-reads: $(foreach s,$(STAGES),$(B)/$(s)/kv)
	@$(MAKE) --no-print-directory deps DEPS=server
	@TMPDIR=$${TMPDIR:-/dev/shm} python3 tests/server_atomic_reads.py --seconds $(ATOMIC_SECONDS) \
	  $(foreach s,$(STAGES),$(B)/$(s)/kv)

# ---- fuzzing ------------------------------------------------------------------
# Every harness fuzz/T_fuzz.c is built three ways: a gcc+ASan replay driver
# (build/asan/S/fuzz-T-replay, run by `make test` on seeds and regressions),
# a libFuzzer binary (build/fuzz/S/T), and an AFL++ binary (build/afl/S/T,
# persistent mode through AFL++'s libFuzzer driver).  Both fuzzers build with
# ASan and UBSan.  See docs/fuzzing.md.
#   make fuzz-seeds                 seed corpora made by each stage's own tool
#   make fuzz-smoke                 every target under libFuzzer, FUZZ_SECONDS each
#   make fuzz-smoke STAGE=S [TARGET=T] [FUZZ_FRESH=1]   one stage's pairs (or
#                                   one pair; "serve", "replica" for theirs),
#                                   FUZZ_FRESH=1 from an empty corpus
#   make fuzz-speed [STAGE=S] [TARGET=T] [FUZZ_SPEED_SECONDS=N]   each pair's
#                                   executions a second from its seeds, a
#                                   table, slowest first, those under 1,000
#                                   marked (scripts/fuzz_speed.sh)
#   make fuzz-mutants [STAGE=S] [MUTANT=NAME]   the planted decoder bugs of
#                                   fuzz/mutants/, each fuzzed as fuzz-smoke
#                                   does (scripts/fuzz_mutants.sh)
#   make fuzz STAGE=S TARGET=T SECONDS=N   an AFL++ campaign on one target
#   make fuzz-coverage [STAGE=S] [TARGET=T]   what the harnesses reach: every
#                                   pair's corpora replayed in a clang coverage
#                                   build, per file of fuzz/reads_bytes.txt
#                                   (scripts/fuzz_coverage.sh)
FUZZ_SECONDS ?= 60
# make test's smoke run: a few seconds a target (its seeds and regressions
# are replayed in full besides); `make fuzz-smoke` runs FUZZ_SECONDS.
TEST_FUZZ_SECONDS ?= 1
FUZZ_PAIRS := $(foreach s,$(STAGES),$(foreach t,$(FUZZ_$(s)),$(s):$(t)))
FUZZ_CFLAGS = $(CSTD) -g -O1 -pthread -Iinclude -Icommon -Ifuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# Compiling only: the files and functions libFuzzer's coverage leaves out
# (byte loops: the checksum's, the hashes'; see the file).  Every object
# of the build depends on the list (the pattern rules below).
FUZZ_SANCOV := -fsanitize-coverage-ignorelist=fuzz/sancov_ignore.txt
# The libFuzzer binaries are linked from objects, as the other flavours are:
# build/fuzz/obj/<path>.o for the stage-neutral files (common/, the API
# harness's program and model), build/fuzz/<stage>/obj/<path>.o for a
# stage's sources and its harnesses, compiled once for all of the stage's
# targets (stage 05 has six).  -fsanitize=fuzzer-no-link
# instruments an object as -fsanitize=fuzzer does; the link adds libFuzzer.
fuzz_obj_common = $(patsubst %.c,build/fuzz/obj/%.o,$(1))
fuzz_obj_stage  = $(patsubst %.c,build/fuzz/$(1)/obj/%.o,$(2))

build/fuzz/obj/%.o: %.c fuzz/sancov_ignore.txt
	@mkdir -p $(dir $@)
	$(call brief,CC,$@)
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) $(FUZZ_SANCOV) -MMD -MP -c $< -o $@

define FUZZ_RULES
build/fuzz/$(1)/obj/%.o: %.c fuzz/sancov_ignore.txt
	@mkdir -p $$(dir $$@)
	$$(call brief,CC,$$@)
	$$(Q)clang $$(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $$(FUZZ_SAN) $$(FUZZ_SANCOV) \
	  -Istages/$(1) $$(INC_$(1)) -DKV_STAGE_NAME='"$(1)"' -MMD -MP -c $$< -o $$@

$(foreach t,$(FUZZ_$(1)),build/fuzz/$(1)/$(t)): build/fuzz/$(1)/%: build/fuzz/$(1)/obj/fuzz/%_fuzz.o \
    $(call fuzz_obj_stage,$(1),$(FUZZ_HELPER_SRCS)) $(call lib_objs,build/fuzz,$(1)) \
    $(call fuzz_obj_common,$(COMMON_SRCS))
	$$(call brief,LD,$$@)
	$$(Q)clang $$(FUZZ_CFLAGS) -fsanitize=fuzzer $$(FUZZ_SAN) $$(ALLOC_WRAP) -o $$@ $$^ $$(LIBS_$(1))

build/afl/$(1)/%: fuzz/%_fuzz.c $(FUZZ_HELPER_SRCS) $(SRCS_$(1)) $(COMMON_SRCS)
	@mkdir -p $$(dir $$@)
	$$(call brief,LD,$$@)
	$$(Q)AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 afl-clang-fast $$(FUZZ_CFLAGS) -fsanitize=fuzzer \
	  -Istages/$(1) $$(INC_$(1)) -DKV_STAGE_NAME='"$(1)"' $$(ALLOC_WRAP) -o $$@ $$^ $$(LIBS_$(1))
endef
# (For every stage directory, an unfinished one's too, so that its
# harnesses build by name; FUZZ_PAIRS, the lists, take the finished ones.)
$(foreach s,$(STAGE_DIRS),$(eval $(call FUZZ_RULES,$(s))))
$(foreach s,$(STAGE_DIRS),build/fuzz/$(s)/api): $(call fuzz_obj_common,$(FUZZ_API_SRCS))
$(foreach s,$(STAGE_DIRS),build/afl/$(s)/api): $(FUZZ_API_SRCS)

# The replay drivers `make test` judges saved inputs by under the
# sanitizers (build/asan/S/fuzz-T-replay) are linked from the libFuzzer
# build's own objects, compiled by clang with its sanitizer checks
# (FUZZ_SAN: UBSan's pointer-overflow among them, no recovery), with
# fuzz/replay_main.c in libFuzzer's place: an input libFuzzer saved is run
# by the very code that failed on it.  (A gcc build judged differently:
# an input clang's UBSan stopped on could pass it.)  The plain build's
# drivers stay gcc's (build/S/fuzz-T-replay, in STAGE_RULES).
ifeq ($(FLAVOUR),asan)
define REPLAY_RULES
$(foreach t,$(FUZZ_$(1)),$(B)/$(1)/fuzz-$(t)-replay): $(B)/$(1)/fuzz-%-replay: \
    build/fuzz/obj/fuzz/replay_main.o build/fuzz/$(1)/obj/fuzz/%_fuzz.o \
    $(call fuzz_obj_stage,$(1),$(FUZZ_HELPER_SRCS)) $(call lib_objs,build/fuzz,$(1)) \
    $(call fuzz_obj_common,$(COMMON_SRCS))
	@mkdir -p $$(dir $$@)
	$$(call brief,LD,$$@)
	$$(Q)clang $$(FUZZ_CFLAGS) $$(FUZZ_SAN) $$(ALLOC_WRAP) -o $$@ $$^ $$(LIBS_$(1))
$(B)/$(1)/fuzz-export-replay: build/fuzz/obj/fuzz/replay_main.o \
    $(call fuzz_obj_stage,$(1),fuzz/export_fuzz.c tools/kv_export.c) \
    $(call lib_objs,build/fuzz,$(1)) $(call fuzz_obj_common,$(COMMON_SRCS))
	@mkdir -p $$(dir $$@)
	$$(call brief,LD,$$@)
	$$(Q)clang $$(FUZZ_CFLAGS) $$(FUZZ_SAN) -o $$@ $$^ $$(LIBS_$(1))
endef
$(foreach s,$(STAGE_DIRS),$(eval $(call REPLAY_RULES,$(s))))
$(foreach s,$(STAGE_DIRS),$(B)/$(s)/fuzz-api-replay): $(call fuzz_obj_common,$(FUZZ_API_SRCS))
# The stage-less harnesses, from their sources as their libFuzzer builds.
REPLAY_CLANG = clang $(FUZZ_CFLAGS) $(FUZZ_SAN)
else
$(foreach s,$(STAGE_DIRS),$(B)/$(s)/fuzz-api-replay): $(call obj_common,$(FUZZ_API_SRCS))
endif

# The RESP parser of `kv serve` (tools/serve/resp.c) is the same for every
# stage, so its harness fuzz/resp_fuzz.c is built once, under the name
# "serve" where other harnesses have a stage: build/fuzz/serve/resp,
# build/afl/serve/resp (`make fuzz STAGE=serve TARGET=resp`), and the replay
# driver $(B)/serve/fuzz-resp-replay that `make test` runs.  Its seeds are
# fuzz/seeds/resp/.
FUZZ_PAIRS += serve:resp
RESP_FUZZ_SRCS := fuzz/resp_fuzz.c tools/serve/resp.c
build/fuzz/serve/resp: $(RESP_FUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -Itools/serve -Itools/ext -o $@ $^
build/afl/serve/resp: $(RESP_FUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 afl-clang-fast $(FUZZ_CFLAGS) -fsanitize=fuzzer \
	  -Itools/serve -Itools/ext -o $@ $^
ifeq ($(FLAVOUR),asan)
$(B)/serve/fuzz-resp-replay: fuzz/replay_main.c $(RESP_FUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)$(REPLAY_CLANG) -Itools/serve -Itools/ext -o $@ $^
else
$(B)/serve/fuzz-resp-replay: $(call obj_common,fuzz/replay_main.c $(RESP_FUZZ_SRCS))
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)
endif
$(B)/obj/fuzz/resp_fuzz.o: EXTRA_CFLAGS += -Itools/serve -Itools/ext
TEST_BINS += $(B)/serve/fuzz-resp-replay
# Its glob matcher (tools/serve/serve_glob.c) the same way: fuzz/glob_fuzz.c,
# seeds in fuzz/seeds/glob/.
FUZZ_PAIRS += serve:glob
GLOB_FUZZ_SRCS := fuzz/glob_fuzz.c tools/serve/serve_glob.c
build/fuzz/serve/glob: $(GLOB_FUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -Itools/serve -o $@ $^
build/afl/serve/glob: $(GLOB_FUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 afl-clang-fast $(FUZZ_CFLAGS) -fsanitize=fuzzer \
	  -Itools/serve -o $@ $^
ifeq ($(FLAVOUR),asan)
$(B)/serve/fuzz-glob-replay: fuzz/replay_main.c $(GLOB_FUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)$(REPLAY_CLANG) -Itools/serve -o $@ $^
else
$(B)/serve/fuzz-glob-replay: $(call obj_common,fuzz/replay_main.c $(GLOB_FUZZ_SRCS))
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)
endif
$(B)/obj/fuzz/glob_fuzz.o: EXTRA_CFLAGS += -Itools/serve
TEST_BINS += $(B)/serve/fuzz-glob-replay
# Its HTTP request reader (tools/serve/http_request.c, the metrics
# endpoint's) the same way: fuzz/http_fuzz.c, seeds in fuzz/seeds/http/.
FUZZ_PAIRS += serve:http
HTTP_FUZZ_SRCS := fuzz/http_fuzz.c tools/serve/http_request.c
build/fuzz/serve/http: $(HTTP_FUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -Itools/serve -Itools/ext -o $@ $^
build/afl/serve/http: $(HTTP_FUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 afl-clang-fast $(FUZZ_CFLAGS) -fsanitize=fuzzer \
	  -Itools/serve -Itools/ext -o $@ $^
ifeq ($(FLAVOUR),asan)
$(B)/serve/fuzz-http-replay: fuzz/replay_main.c $(HTTP_FUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)$(REPLAY_CLANG) -Itools/serve -Itools/ext -o $@ $^
else
$(B)/serve/fuzz-http-replay: $(call obj_common,fuzz/replay_main.c $(HTTP_FUZZ_SRCS))
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)
endif
$(B)/obj/fuzz/http_fuzz.o: EXTRA_CFLAGS += -Itools/serve -Itools/ext
TEST_BINS += $(B)/serve/fuzz-http-replay
# Stage 10's command and snapshot formats (stages/10-raft/replica/) need
# no engine either: fuzz/command_fuzz.c and fuzz/snapshot_fuzz.c, built
# once under the name "replica" (build/fuzz/replica/command, `make fuzz
# STAGE=replica TARGET=snapshot`, and the replay drivers `make test`
# runs); seeds in fuzz/seeds/command/, fuzz/seeds/snapshot/ and
# fuzz/seeds/member_note/ (the members' client addresses).
REPLICA_FORMAT_SRCS := stages/10-raft/replica/command.c common/error.c
REPLICA_FUZZ_SRCS_command := fuzz/command_fuzz.c $(REPLICA_FORMAT_SRCS)
REPLICA_FUZZ_SRCS_snapshot := fuzz/snapshot_fuzz.c stages/10-raft/replica/snapshot_format.c \
                              $(REPLICA_FORMAT_SRCS) common/crc32c.c common/crc32c_hw.c \
                              common/crc32c_shift.c
define REPLICA_FUZZ_RULES
FUZZ_PAIRS += replica:$(1)
build/fuzz/replica/$(1): $$(REPLICA_FUZZ_SRCS_$(1))
	@mkdir -p $$(dir $$@)
	$$(call brief,LD,$$@)
	$$(Q)clang $$(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -Istages/10-raft/replica -Istages/10-raft/peer -o $$@ $$^ $$(REPLICA_FUZZ_LIBS_$(1))
build/afl/replica/$(1): $$(REPLICA_FUZZ_SRCS_$(1))
	@mkdir -p $$(dir $$@)
	$$(call brief,LD,$$@)
	$$(Q)AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 afl-clang-fast $$(FUZZ_CFLAGS) -fsanitize=fuzzer \
	  -Istages/10-raft/replica -Istages/10-raft/peer -o $$@ $$^ $$(REPLICA_FUZZ_LIBS_$(1))
ifeq ($(FLAVOUR),asan)
$(B)/replica/fuzz-$(1)-replay: fuzz/replay_main.c $$(REPLICA_FUZZ_SRCS_$(1))
	@mkdir -p $$(dir $$@)
	$$(call brief,LD,$$@)
	$$(Q)$$(REPLAY_CLANG) -Istages/10-raft/replica -Istages/10-raft/peer -o $$@ $$^ $$(REPLICA_FUZZ_LIBS_$(1))
else
$(B)/replica/fuzz-$(1)-replay: $$(call obj_common,fuzz/replay_main.c $$(REPLICA_FUZZ_SRCS_$(1)))
	@mkdir -p $$(dir $$@)
	$$(call brief,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)
endif
TEST_BINS += $(B)/replica/fuzz-$(1)-replay
endef
REPLICA_FUZZ_SRCS_member_note := fuzz/member_note_fuzz.c stages/10-raft/replica/member_note.c \
                                 common/coding.c common/error.c
# The members' connections (stages/10-raft/peer/): the message checker
# every peer's bytes pass, and a connection's opening, hello and probe
# answer; seeds in fuzz/seeds/peer_frame/ and fuzz/seeds/peer_hello/.
REPLICA_FUZZ_SRCS_peer_frame := fuzz/peer_frame_fuzz.c stages/10-raft/peer/peer_frame.c \
                                common/coding.c common/error.c
REPLICA_FUZZ_SRCS_peer_hello := fuzz/peer_hello_fuzz.c stages/10-raft/peer/peer_hello.c \
                                common/coding.c common/error.c
# The replica's directory file, REPLICA (replica_dir.c), read through the
# common I/O layer (its in-memory backend, io_mem.c, under the backend
# that fails the calls a test picks, io_fault.c; the layer links its
# others, and so liburing): fuzz/replica_dir_fuzz.c, seeds in
# fuzz/seeds/replica_dir/.
REPLICA_FUZZ_SRCS_replica_dir := fuzz/replica_dir_fuzz.c stages/10-raft/replica/replica_dir.c \
                                 $(addprefix common/,io.c io_mem.c io_fault.c io_posix.c \
                                   io_posix_grow.c io_mount.c io_ring.c io_replace.c io_view.c \
                                   error.c)
REPLICA_FUZZ_LIBS_replica_dir := -pthread -luring -lm
$(foreach t,command snapshot member_note peer_frame peer_hello replica_dir,$(eval $(call REPLICA_FUZZ_RULES,$(t))))
$(B)/obj/fuzz/command_fuzz.o $(B)/obj/fuzz/snapshot_fuzz.o $(B)/obj/fuzz/member_note_fuzz.o \
  $(B)/obj/fuzz/peer_frame_fuzz.o $(B)/obj/fuzz/peer_hello_fuzz.o $(B)/obj/fuzz/replica_dir_fuzz.o \
  $(B)/obj/stages/10-raft/replica/%.o $(B)/obj/stages/10-raft/peer/%.o: \
  EXTRA_CFLAGS += -Istages/10-raft/replica -Istages/10-raft/peer

# A harness that misbehaves on purpose (fuzz/findings_fuzz.c: a slow unit,
# a timeout, an out-of-memory, a runaway allocation), for
# tests/fuzz_findings_test.sh: that scripts/fuzz_smoke.sh fails on each and
# the replay driver fails on what it saved.  Not a pair: nothing to fuzz.
FINDINGS_BINS := build/fuzz/selftest/findings build/fuzz/selftest/findings-replay
build/fuzz/selftest/findings: fuzz/findings_fuzz.c
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^
build/fuzz/selftest/findings-replay: fuzz/findings_fuzz.c fuzz/replay_main.c
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)clang $(FUZZ_CFLAGS) $(FUZZ_SAN) -o $@ $^

# The pairs STAGE and TARGET pick (a prefix will do: STAGE=03 is 03-wal;
# STAGE=serve and STAGE=replica the stage-less groups); unset, every pair.
FUZZ_PICKED := $(if $(STAGE),$(filter $(STAGE)%,$(FUZZ_PAIRS)),$(FUZZ_PAIRS))
FUZZ_PICKED := $(if $(TARGET),$(filter %:$(TARGET),$(FUZZ_PICKED)),$(FUZZ_PICKED))

# (The seeds of each stage's export harness too, which make test replays
# and fuzz-coverage measures: FUZZCOV_PICKED, below.)  Made again only when
# something they come from is newer than the last making (a stage's kv, a
# seed script, a committed seed) or other pairs are asked for: the stamp
# holds the pairs it made.  make test and make test-deep each ask.
FUZZ_SEEDS_STAMP := build/fuzz/seeds/.made
FUZZ_SEEDS_FROM = $(wildcard scripts/fuzz_seed*.sh) fuzz/seeds $(foreach s,$(STAGES),build/$(s)/kv)
fuzz-seeds: all
	@if [ "$$(cat $(FUZZ_SEEDS_STAMP) 2>/dev/null)" = "$(strip $(FUZZCOV_PICKED))" ] && \
	    [ -z "$$(find $(FUZZ_SEEDS_FROM) -newer $(FUZZ_SEEDS_STAMP) 2>/dev/null | head -n 1)" ]; then \
	  echo "fuzz-seeds: build/fuzz/seeds is newer than what it is made from"; \
	else \
	  rm -f $(FUZZ_SEEDS_STAMP) && sh scripts/fuzz_seeds.sh build/fuzz/seeds $(FUZZCOV_PICKED) && \
	  echo "$(strip $(FUZZCOV_PICKED))" > $(FUZZ_SEEDS_STAMP); \
	fi

fuzz-smoke: fuzz-seeds
	@$(if $(FUZZ_PICKED),,echo "fuzz-smoke: no pair matches STAGE=$(STAGE) TARGET=$(TARGET)" >&2; exit 2)
	@$(MAKE) --no-print-directory deps DEPS=fuzz
	@$(MAKE) --no-print-directory $(foreach p,$(FUZZ_PICKED),build/fuzz/$(subst :,/,$(p)))
	@KV_FUZZ_FRESH=$(FUZZ_FRESH) sh scripts/fuzz_smoke.sh $(FUZZ_SECONDS) $(FUZZ_PICKED)

# How fast each pair runs: FUZZ_SPEED_SECONDS (20) a pair from its seeds,
# one at a time; take it on an idle machine (docs/fuzzing.md, "Harness
# speed").
FUZZ_SPEED_SECONDS ?= 20
fuzz-speed: fuzz-seeds
	@$(if $(FUZZ_PICKED),,echo "fuzz-speed: no pair matches STAGE=$(STAGE) TARGET=$(TARGET)" >&2; exit 2)
	@$(MAKE) --no-print-directory deps DEPS=fuzz
	@$(MAKE) --no-print-directory $(foreach p,$(FUZZ_PICKED),build/fuzz/$(subst :,/,$(p)))
	@sh scripts/fuzz_speed.sh $(FUZZ_SPEED_SECONDS) $(FUZZ_PICKED)

# Planted decoder bugs (fuzz/mutants/S.txt), one at a time in a copy of the
# tree (build/fuzz-mutants/), each fuzzed by its pairs at FUZZ_SECONDS from
# the seeds and an empty corpus: found or not, in how many executions, and
# whether the replay drivers fail on what libFuzzer saved.  Writes
# build/fuzz-mutants/report.txt (docs/fuzzing.md, "Testing the fuzzers").
fuzz-mutants: all
	@$(MAKE) --no-print-directory deps DEPS=fuzz
	@KV_FUZZ_SECONDS=$(FUZZ_SECONDS) KV_FUZZ_MUTANT=$(MUTANT) \
	  sh scripts/fuzz_mutants.sh $(or $(STAGE),all)

fuzz: fuzz-seeds
	@test -n "$(STAGE)" -a -n "$(TARGET)" || { echo "usage: make fuzz STAGE=S TARGET=T [SECONDS=N]"; exit 2; }
	@$(MAKE) --no-print-directory deps DEPS=afl
	@$(MAKE) --no-print-directory build/afl/$(STAGE)/$(TARGET)
	@sh scripts/afl_run.sh $(STAGE) $(TARGET) $(or $(SECONDS),600)

# ---- what the fuzz harnesses reach -------------------------------------------
# Every pair of FUZZ_PAIRS, and each stage's export harness (which `make
# test` replays but fuzz-smoke leaves out), built a fourth way: clang's
# source-based coverage (-fprofile-instr-generate -fcoverage-mapping), no
# sanitizer, no libFuzzer, linked with the replay driver fuzz/replay_main.c,
# into build/fuzzcov/S/T.  Objects as the libFuzzer build has them
# (build/fuzzcov/obj/ for common code, build/fuzzcov/<stage>/obj/ for a
# stage's).  A harness with an LLVMFuzzerCustomMutator names
# LLVMFuzzerMutate weakly, so it links without libFuzzer.
# scripts/fuzz_coverage.sh replays each pair's corpora (its seeds, its
# regressions, the corpus fuzz-smoke kept) and reports, for every file of
# fuzz/reads_bytes.txt, the lines and branches reached and the functions
# never reached (fuzz/coverage_exceptions.txt says which cannot be);
# the whole report is build/fuzzcov/report.txt (docs/fuzzing.md, "Coverage:
# what the harnesses reach").
FUZZCOV_CFLAGS = $(CSTD) -g -O1 -pthread -Iinclude -Icommon -Ifuzz \
                 -fprofile-instr-generate -fcoverage-mapping $(WARN)
FUZZCOV_PAIRS := $(FUZZ_PAIRS) $(foreach s,$(STAGES),$(s):export)
FUZZCOV_PICKED := $(if $(STAGE),$(filter $(STAGE)%,$(FUZZCOV_PAIRS)),$(FUZZCOV_PAIRS))
FUZZCOV_PICKED := $(if $(TARGET),$(filter %:$(TARGET),$(FUZZCOV_PICKED)),$(FUZZCOV_PICKED))
fuzzcov_obj_common = $(patsubst %.c,build/fuzzcov/obj/%.o,$(1))
fuzzcov_obj_stage  = $(patsubst %.c,build/fuzzcov/$(1)/obj/%.o,$(2))

build/fuzzcov/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call brief,CC,$@)
	$(Q)clang $(FUZZCOV_CFLAGS) -MMD -MP -c $< -o $@

define FUZZCOV_RULES
build/fuzzcov/$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(call brief,CC,$$@)
	$$(Q)clang $$(FUZZCOV_CFLAGS) -Istages/$(1) $$(INC_$(1)) -DKV_STAGE_NAME='"$(1)"' -MMD -MP -c $$< -o $$@

$(foreach t,$(FUZZ_$(1)) export,build/fuzzcov/$(1)/$(t)): build/fuzzcov/$(1)/%: build/fuzzcov/$(1)/obj/fuzz/%_fuzz.o \
    $(call fuzzcov_obj_stage,$(1),$(FUZZ_HELPER_SRCS)) $(call lib_objs,build/fuzzcov,$(1)) \
    $(call fuzzcov_obj_common,$(COMMON_SRCS) fuzz/replay_main.c)
	$$(call brief,LD,$$@)
	$$(Q)clang $$(FUZZCOV_CFLAGS) $$(ALLOC_WRAP) -o $$@ $$^ $$(LIBS_$(1)) -lm
endef
$(foreach s,$(STAGE_DIRS),$(eval $(call FUZZCOV_RULES,$(s))))
$(foreach s,$(STAGE_DIRS),build/fuzzcov/$(s)/api): $(call fuzzcov_obj_common,$(FUZZ_API_SRCS))
$(foreach s,$(STAGE_DIRS),build/fuzzcov/$(s)/export): $(call fuzzcov_obj_common,tools/kv_export.c)
# The parts of harness T (FUZZ_PARTS_T) in each of its builds of stage S:
# libFuzzer's, the replay drivers (under the sanitizers from libFuzzer's
# objects), AFL++'s and the coverage build's.
define FUZZ_PART_RULES
build/fuzz/$(1)/$(2): $(call fuzz_obj_stage,$(1),$(FUZZ_PARTS_$(2)))
ifeq ($(FLAVOUR),asan)
$(B)/$(1)/fuzz-$(2)-replay: $(call fuzz_obj_stage,$(1),$(FUZZ_PARTS_$(2)))
else
$(B)/$(1)/fuzz-$(2)-replay: $(call obj_stage,$(1),$(FUZZ_PARTS_$(2)))
endif
build/afl/$(1)/$(2): $(FUZZ_PARTS_$(2))
build/fuzzcov/$(1)/$(2): $(call fuzzcov_obj_stage,$(1),$(FUZZ_PARTS_$(2)))
endef
$(foreach s,$(STAGE_DIRS),$(foreach t,$(FUZZ_$(s)),$(if $(FUZZ_PARTS_$(t)),$(eval $(call FUZZ_PART_RULES,$(s),$(t))))))
# The stage-less groups, from their sources, as their libFuzzer binaries.
build/fuzzcov/serve/%: fuzz/replay_main.c
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)clang $(FUZZCOV_CFLAGS) -Itools/serve -Itools/ext -o $@ $^
build/fuzzcov/serve/resp: $(RESP_FUZZ_SRCS)
build/fuzzcov/serve/glob: $(GLOB_FUZZ_SRCS)
build/fuzzcov/serve/http: $(HTTP_FUZZ_SRCS)
build/fuzzcov/replica/%: fuzz/replay_main.c
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)clang $(FUZZCOV_CFLAGS) -Istages/10-raft/replica -Istages/10-raft/peer -o $@ $^ \
	  $(REPLICA_FUZZ_LIBS_$(notdir $@))
$(foreach t,command snapshot member_note peer_frame peer_hello replica_dir,$(eval \
  build/fuzzcov/replica/$(t): $(REPLICA_FUZZ_SRCS_$(t))))

.PHONY: fuzz-coverage
# (The seeds are make fuzz-seeds', which builds every stage first: run it
# once before, as fuzz-smoke does for itself.)
fuzz-coverage: $(foreach p,$(FUZZCOV_PICKED),build/fuzzcov/$(subst :,/,$(p)))
	@$(if $(FUZZCOV_PICKED),,echo "fuzz-coverage: no pair matches STAGE=$(STAGE) TARGET=$(TARGET)" >&2; exit 2)
	@test -d build/fuzz/seeds || { echo "fuzz-coverage: no seeds: run make fuzz-seeds first" >&2; exit 2; }
	@STAGE=$(STAGE) TARGET=$(TARGET) sh scripts/fuzz_coverage.sh $(FUZZCOV_PICKED)

# ---- coverage --------------------------------------------------------------
# Stage 10's own code under its unit tests and the cluster test
# (scripts/coverage_raft.sh): the figure docs/10-raft-reference.md
# quotes ("Tests").
.PHONY: coverage-raft
coverage-raft:
	@$(MAKE) --no-print-directory deps DEPS=lcov
	@$(MAKE) --no-print-directory FLAVOUR=cov build/cov/10-raft/kv build/cov/10-raft/stagetest
	@sh scripts/coverage_raft.sh build/cov

coverage:
	@$(MAKE) --no-print-directory deps DEPS=lcov
	@echo "coverage: building the test binaries with --coverage (build/cov/)"
	@$(MAKE) --no-print-directory -s test-build FLAVOUR=cov
	@sh scripts/coverage.sh build/cov "$(STAGES)"

clean:
	rm -rf build

# ---- WebAssembly: make wasm, make test-wasm (docs/lab.md) ---------------------
include web/wasm.mk
# ---- the exercise track: make learn, make grade (grade/grade.mk, docs/learn.md)
include grade/grade.mk
# ---- kvgrade: any engine, in any language, over RESP2 (docs/kvgrade.md) -------
include kvgrade/kvgrade.mk

# Every test binary of a flavour, read here, after the last line that
# adds to TEST_BINS (a rule's prerequisites are expanded where the rule
# is read: above the fuzz harnesses' section, the replay drivers of the
# server's and the members' parsers were left out).  test-build-gate:
# those make test runs; of the ASan+UBSan build, the crash tests (run
# with failed I/O calls) and the tools are make test-deep's alone.
TEST_BINS_DEEP := $(if $(filter asan,$(FLAVOUR)),$(foreach s,$(STAGES),$(B)/$(s)/crashtest $(B)/$(s)/kv))
.PHONY: test-build test-build-gate
test-build: $(TEST_BINS)
test-build-gate: $(filter-out $(TEST_BINS_DEEP),$(TEST_BINS))

.PHONY: FORCE
FORCE:

-include $(shell find build -name '*.d' 2>/dev/null)
