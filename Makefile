# The staged key-value engine.  `make` builds every stage that exists:
#   build/S/libkv.a   the engine of stage S, behind include/kv.h
#   build/S/kv        its command-line tool
# `make demo` tours each stage, `make test` runs every suite against every
# stage (and once more under ASan+UBSan), `make coverage` reports line and
# branch coverage per stage.  See README.md.
#
# Each stage directory has a stage.mk that names its sources in
# SRCS_<stage>: its own files, and files of earlier stages it reuses
# unchanged (INC_<stage> adds their directories to the include path).
# common/ is linked into every stage.  Tests that need a stage's internals
# live in stages/<stage>/tests/*.c and are linked into build/<stage>/stagetest.

CC      ?= cc
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror
OPT     ?= -O2 -g
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) -pthread -Iinclude -Icommon $(EXTRA_CFLAGS)
LDLIBS  := -pthread

# Build flavours: the normal one in build/, sanitizers in build/asan/,
# coverage in build/cov/.  FLAVOUR selects; the recursive calls below set it.
FLAVOUR ?= release
ifeq ($(FLAVOUR),asan)
  B := build/asan
  EXTRA_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDLIBS += -fsanitize=address,undefined
  OPT := -O1 -g
else ifeq ($(FLAVOUR),cov)
  B := build/cov
  EXTRA_CFLAGS += --coverage
  LDLIBS += --coverage
  OPT := -O0 -g
else
  B := build
endif

STAGE_DIRS := $(sort $(notdir $(patsubst %/stage.mk,%,$(wildcard stages/*/stage.mk))))
include $(wildcard stages/*/stage.mk)
# A stage still being built says so in its stage.mk (UNFINISHED_<stage> := 1):
# its rules exist, so its parts and its own tests build
# (make build/<stage>/stagetest), but it is not an engine yet, so `make`,
# `make test`, the benchmarks and the fuzz targets leave it out.
STAGES := $(foreach s,$(STAGE_DIRS),$(if $(UNFINISHED_$(s)),,$(s)))
# fuzz/api_fuzz.c drives kv.h alone (a program of calls, against the model
# of tests/model_map.c), so every stage lists it; see docs/fuzzing.md.
FUZZ_API_SRCS := fuzz/api_calls.c fuzz/api_check.c tests/model_map.c
$(foreach s,$(STAGE_DIRS),$(eval FUZZ_$(s) += api))

COMMON_SRCS := $(wildcard common/*.c)
TOOL_SRCS   := tools/kv.c tools/kv_text.c
TEST_SRCS   := $(wildcard tests/*.c)
COMMON_TEST_SRCS := $(wildcard tests/common/*.c)

# Objects: $(B)/obj/<path>.o for common code, $(B)/<stage>/obj/<path>.o for a
# stage's sources (a reused file is compiled again within the stage, so
# stage-specific headers and defines apply).
obj_common = $(patsubst %.c,$(B)/obj/%.o,$(1))
obj_stage  = $(patsubst %.c,$(B)/$(1)/obj/%.o,$(2))

COMMON_OBJS := $(call obj_common,$(COMMON_SRCS))


.PHONY: get-instructions
.PHONY: all deps demo test test-build costs coverage stage-files fuzz fuzz-seeds fuzz-smoke clean
all: $(foreach s,$(STAGES),$(B)/$(s)/libkv.a $(B)/$(s)/kv)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

define STAGE_RULES
$(B)/$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS_ALL) -Istages/$(1) $$(INC_$(1)) -DKV_STAGE_NAME='"$(1)"' -MMD -MP -c $$< -o $$@

$(B)/$(1)/libkv.a: $(call obj_stage,$(1),$(SRCS_$(1))) $(COMMON_OBJS)
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^

$(B)/$(1)/kv: $(call obj_common,$(TOOL_SRCS)) $(B)/$(1)/libkv.a
	$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)

$(B)/$(1)/kvtest: $(call obj_common,$(TEST_SRCS)) $(B)/$(1)/libkv.a
	$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)

$(B)/$(1)/costs: $(call obj_common,bench/costs.c) $(B)/$(1)/libkv.a
	$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)

$(B)/$(1)/fillsync: $(call obj_common,bench/fillsync.c) $(B)/$(1)/libkv.a
	$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)

# (The library goes last: a harness may add objects, as fuzz-api-replay does.)
$(foreach t,$(FUZZ_$(1)),$(B)/$(1)/fuzz-$(t)-replay): $(B)/$(1)/fuzz-%-replay: $(call obj_common,fuzz/fuzz_dbfile.c fuzz/replay_main.c) $(B)/$(1)/obj/fuzz/%_fuzz.o $(B)/$(1)/libkv.a
	$$(CC) $$(CFLAGS_ALL) -o $$@ $$(filter-out %.a,$$^) $$(filter %.a,$$^) $$(LDLIBS)

# A libFuzzer build (clang), for `make fuzz-smoke` and `make fuzz`.
build/fuzz/$(1)/%: fuzz/%_fuzz.c fuzz/fuzz_dbfile.c $(SRCS_$(1)) $(COMMON_SRCS)
	@mkdir -p $$(dir $$@)
	clang $(CSTD) -g -O1 -pthread -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -Iinclude -Icommon -Ifuzz -Istages/$(1) $$(INC_$(1)) -DKV_STAGE_NAME='"$(1)"' -o $$@ $$^

$(B)/$(1)/get_instructions: $(call obj_common,bench/get_instructions.c) $(B)/$(1)/libkv.a
	$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)

$(B)/$(1)/stagetest: $(call obj_stage,$(1),$(wildcard stages/$(1)/tests/*.c)) $(call obj_common,tests/harness.c) $(B)/$(1)/libkv.a
	$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(STAGE_DIRS),$(eval $(call STAGE_RULES,$(s))))

$(B)/common_test: $(call obj_common,$(COMMON_TEST_SRCS)) $(COMMON_OBJS)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)

STAGES_WITH_TESTS := $(foreach s,$(STAGES),$(if $(wildcard stages/$(s)/tests/*.c),$(s)))
TEST_BINS := $(B)/common_test $(foreach s,$(STAGES),$(B)/$(s)/kvtest $(B)/$(s)/kv) \
             $(foreach s,$(STAGES_WITH_TESTS),$(B)/$(s)/stagetest) \
             $(foreach s,$(STAGES),$(foreach t,$(FUZZ_$(s)),$(B)/$(s)/fuzz-$(t)-replay))

# ---- crash tester (tests/crash/, docs in tests/crash/main.c) ---------------
# build/S/crashtest kills, power-fails and I/O-fails stage S and checks what
# it recovers.  `make crash-test STAGE=S RUNS=N` runs the full sets (all
# stages if STAGE is unset; RUNS = process-kill runs); `crashtest --quick`
# is the CI-sized share.  Placed here so TEST_BINS builds it for `make test`.
CRASH_OBJS := $(call obj_common,$(wildcard tests/crash/*.c))
define CRASH_RULES
$(B)/$(1)/crashtest: $(CRASH_OBJS) $(B)/$(1)/libkv.a
	$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(STAGES),$(eval $(call CRASH_RULES,$(s))))
TEST_BINS += $(foreach s,$(STAGES),$(B)/$(s)/crashtest)
RUNS ?= 10000
.PHONY: crash-test
crash-test: $(foreach s,$(or $(STAGE),$(STAGES)),$(B)/$(s)/crashtest)
	@for s in $(or $(STAGE),$(STAGES)); do $(B)/$$s/crashtest --runs $(RUNS) || exit 1; done

# ---- set-up ---------------------------------------------------------------
deps:
	@CC="$(CC)" sh scripts/deps.sh $(DEPS)

# ---- the tour --------------------------------------------------------------
demo: deps all
	@sh scripts/demo.sh $(STAGES)

# ---- tests -----------------------------------------------------------------
# test-release and test-asan each build their flavour and run every suite;
# `make test` runs both and prints one summary line.
test: deps
	@$(MAKE) --no-print-directory test-build FLAVOUR=release
	@$(MAKE) --no-print-directory test-build FLAVOUR=asan
	@$(MAKE) --no-print-directory fuzz-seeds
	@$(MAKE) --no-print-directory deps DEPS=fuzz
	@$(MAKE) --no-print-directory $(foreach p,$(FUZZ_PAIRS),build/fuzz/$(subst :,/,$(p)))
	@KV_FUZZ_PAIRS="$(FUZZ_PAIRS)" KV_FUZZ_SECONDS=$(FUZZ_SECONDS) \
	  sh tests/run.sh build "$(STAGES)" build/asan

test-build: $(TEST_BINS)

# ---- what a stage is made of: its own files, and what it reuses ------------
stage-files:
	@$(foreach s,$(if $(STAGE),$(STAGE),$(STAGES)),\
	  echo "$(s): new in this stage:"; \
	  for f in $(filter stages/$(s)/%,$(SRCS_$(s))); do echo "    $$f"; done; \
	  echo "$(s): reused from earlier stages:"; \
	  for f in $(filter-out stages/$(s)/%,$(SRCS_$(s))) ; do echo "    $$f"; done; \
	  echo "$(s): and all of common/"; )

# ---- instructions per get at 10K and 1M keys (callgrind; not for stage 01,
# whose gets scan the whole log) -------------------------------------------
GI_STAGES ?= $(filter-out 01-log,$(STAGES))
get-instructions: $(foreach s,$(GI_STAGES),$(B)/$(s)/get_instructions)
	@sh scripts/get_instructions.sh $(B) $(GI_STAGES)

# ---- measured costs per stage (figures quoted in docs/) ---------------------
costs: $(foreach s,$(STAGES),$(B)/$(s)/costs)
	@for s in $(STAGES); do $(B)/$$s/costs $(COSTS_N); done

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
$(B)/$(1)/kvbench: $(BENCH_OBJS) $(call obj_common,bench/engine_kv.c) $(B)/$(1)/libkv.a
	$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(STAGES),$(eval $(call BENCH_STAGE_RULES,$(s))))

$(B)/bench/kvbench-%: $(BENCH_OBJS) $(B)/obj/bench/engine_%.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(BENCH_LIB_$*) $(LDLIBS)
.SECONDARY: $(foreach p,$(BENCH_PEERS_ALL),$(B)/obj/bench/engine_$(p).o)

.PHONY: bench bench-full bench-build bench-deps
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

# ---- fuzzing ------------------------------------------------------------------
# Every harness fuzz/T_fuzz.c is built three ways: a gcc+ASan replay driver
# (build/asan/S/fuzz-T-replay, run by `make test` on seeds and regressions),
# a libFuzzer binary (build/fuzz/S/T), and an AFL++ binary (build/afl/S/T,
# persistent mode through AFL++'s libFuzzer driver).  Both fuzzers build with
# ASan and UBSan.  See docs/fuzzing.md.
#   make fuzz-seeds                 seed corpora made by each stage's own tool
#   make fuzz-smoke                 every target under libFuzzer, FUZZ_SECONDS each
#   make fuzz STAGE=S TARGET=T SECONDS=N   an AFL++ campaign on one target
FUZZ_SECONDS ?= 10
FUZZ_PAIRS := $(foreach s,$(STAGES),$(foreach t,$(FUZZ_$(s)),$(s):$(t)))
FUZZ_CFLAGS = $(CSTD) -g -O1 -pthread -Iinclude -Icommon -Ifuzz

define FUZZ_RULES
build/fuzz/$(1)/%: fuzz/%_fuzz.c fuzz/fuzz_dbfile.c $(SRCS_$(1)) $(COMMON_SRCS)
	@mkdir -p $$(dir $$@)
	clang $$(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -Istages/$(1) $$(INC_$(1)) -DKV_STAGE_NAME='"$(1)"' -o $$@ $$^

build/afl/$(1)/%: fuzz/%_fuzz.c fuzz/fuzz_dbfile.c $(SRCS_$(1)) $(COMMON_SRCS)
	@mkdir -p $$(dir $$@)
	AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 afl-clang-fast $$(FUZZ_CFLAGS) -fsanitize=fuzzer \
	  -Istages/$(1) $$(INC_$(1)) -DKV_STAGE_NAME='"$(1)"' -o $$@ $$^
endef
$(foreach s,$(STAGES),$(eval $(call FUZZ_RULES,$(s))))
$(foreach s,$(STAGE_DIRS),build/fuzz/$(s)/api build/afl/$(s)/api): $(FUZZ_API_SRCS)
$(foreach s,$(STAGE_DIRS),$(B)/$(s)/fuzz-api-replay): $(call obj_common,$(FUZZ_API_SRCS))

fuzz-seeds: all
	@sh scripts/fuzz_seeds.sh build/fuzz/seeds $(FUZZ_PAIRS)

fuzz-smoke: fuzz-seeds
	@$(MAKE) --no-print-directory deps DEPS=fuzz
	@$(MAKE) --no-print-directory $(foreach p,$(FUZZ_PAIRS),build/fuzz/$(subst :,/,$(p)))
	@sh scripts/fuzz_smoke.sh $(FUZZ_SECONDS) $(FUZZ_PAIRS)

fuzz: fuzz-seeds
	@test -n "$(STAGE)" -a -n "$(TARGET)" || { echo "usage: make fuzz STAGE=S TARGET=T [SECONDS=N]"; exit 2; }
	@$(MAKE) --no-print-directory deps DEPS=afl
	@$(MAKE) --no-print-directory build/afl/$(STAGE)/$(TARGET)
	@sh scripts/afl_run.sh $(STAGE) $(TARGET) $(or $(SECONDS),600)

# ---- coverage --------------------------------------------------------------
coverage:
	@$(MAKE) --no-print-directory deps DEPS=lcov
	@$(MAKE) --no-print-directory test-build FLAVOUR=cov
	@sh scripts/coverage.sh build/cov "$(STAGES)"

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
