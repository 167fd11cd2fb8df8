# The staged key-value engine.  `make` builds every stage that exists:
#   build/S/libkv.a   the engine of stage S, behind include/kv.h
#   build/S/kv        its command-line tool
# `make demo` tours each stage, `make test` runs every suite against every
# stage (and once more under ASan+UBSan), `make coverage` reports line and
# branch coverage per stage.  See README.md.
#
# Each stage directory has a stage.mk that names its sources in
# SRCS_<stage>: its own files, and files of earlier stages it reuses
# unchanged.  common/ is linked into every stage.

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

STAGES := $(sort $(notdir $(patsubst %/stage.mk,%,$(wildcard stages/*/stage.mk))))
include $(wildcard stages/*/stage.mk)

COMMON_SRCS := $(wildcard common/*.c)
TOOL_SRCS   := tools/kv.c
TEST_SRCS   := $(wildcard tests/*.c)
COMMON_TEST_SRCS := $(wildcard tests/common/*.c)

# Objects: $(B)/obj/<path>.o for common code, $(B)/<stage>/obj/<path>.o for a
# stage's sources (a reused file is compiled again within the stage, so
# stage-specific headers and defines apply).
obj_common = $(patsubst %.c,$(B)/obj/%.o,$(1))
obj_stage  = $(patsubst %.c,$(B)/$(1)/obj/%.o,$(2))

COMMON_OBJS := $(call obj_common,$(COMMON_SRCS))

.PHONY: all deps demo test test-release test-asan coverage clean help
all: $(foreach s,$(STAGES),$(B)/$(s)/libkv.a $(B)/$(s)/kv)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

define STAGE_RULES
$(B)/$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS_ALL) -Istages/$(1) -DKV_STAGE_NAME='"$(1)"' -MMD -MP -c $$< -o $$@

$(B)/$(1)/libkv.a: $(call obj_stage,$(1),$(SRCS_$(1))) $(COMMON_OBJS)
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^

$(B)/$(1)/kv: $(call obj_common,$(TOOL_SRCS)) $(B)/$(1)/libkv.a
	$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)

$(B)/$(1)/kvtest: $(call obj_common,$(TEST_SRCS)) $(B)/$(1)/libkv.a
	$$(CC) $$(CFLAGS_ALL) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(STAGES),$(eval $(call STAGE_RULES,$(s))))

$(B)/common_test: $(call obj_common,$(COMMON_TEST_SRCS)) $(COMMON_OBJS)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)

TEST_BINS := $(B)/common_test $(foreach s,$(STAGES),$(B)/$(s)/kvtest $(B)/$(s)/kv)

# ---- set-up ---------------------------------------------------------------
deps:
	@sh scripts/deps.sh $(DEPS)

# ---- the tour --------------------------------------------------------------
demo: deps all
	@sh scripts/demo.sh $(STAGES)

# ---- tests -----------------------------------------------------------------
# test-release and test-asan each build their flavour and run every suite;
# `make test` runs both and prints one summary line.
test: deps
	@$(MAKE) --no-print-directory test-build FLAVOUR=release
	@$(MAKE) --no-print-directory test-build FLAVOUR=asan
	@sh tests/run.sh build "$(STAGES)" build/asan

test-build: $(TEST_BINS)

# ---- coverage --------------------------------------------------------------
coverage:
	@$(MAKE) --no-print-directory deps DEPS=lcov
	@$(MAKE) --no-print-directory test-build FLAVOUR=cov
	@sh scripts/coverage.sh build/cov "$(STAGES)"

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
