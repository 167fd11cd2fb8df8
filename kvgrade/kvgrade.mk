# kvgrade.mk: kvgrade, the grader of an engine in any language, and
# kvgrade-fs, its power-cut file system (docs/kvgrade.md); included by the
# Makefile after the stages.
#
#   build/kvgrade/kvgrade        the grader (C11; svg/svg.c draws its plots)
#   build/kvgrade/kvgrade-fs     the FUSE file system that forgets what was
#                                not fsynced (libfuse3: scripts/deps.sh)
#   build/kvgrade/kvgrade_unit   its unit tests (make test)
#   make kvgrade-stages          every stage through every rung, in full,
#                                with its documented durability
#   make kvgrade-examples        the example engines, in full, with the
#                                verdicts they must get
#   build/kvgrade/engines/       the C example engine that answers a
#                                pipelined batch with one fsync (batching),
#                                and its mistakes (batchlog_mistakes)
#   make kvgrade-check           the engines that batch (Python, C, Rust)
#                                and their mistakes, seeds 1 to 5, in full
#                                (and the mistakes in --quick too)
#
# `make test` runs kvgrade/tests/kvgrade_test.sh (the examples, the
# engines that batch on one seed, the FUSE skip, the stages in --quick)
# through tests/run.sh.

KVGRADE_SRCS := $(wildcard kvgrade/kvg_*.c) svg/svg.c
KVGRADE_FS_SRCS := $(wildcard kvgrade/fs/*.c)
KVGRADE_UNIT_SRCS := kvgrade/tests/kvgrade_unit.c $(filter-out kvgrade/kvg_main.c,$(KVGRADE_SRCS)) \
                     kvgrade/fs/kvfs_tree.c kvgrade/fs/kvfs_record.c kvgrade/fs/kvfs_journal.c
FUSE_CFLAGS := -I/usr/include/fuse3
FUSE_LIBS := -lfuse3

$(B)/obj/kvgrade/%.o: EXTRA_CFLAGS += -Isvg -Ikvgrade -Ikvgrade/fs
$(B)/obj/kvgrade/fs/%.o: EXTRA_CFLAGS += $(FUSE_CFLAGS)

$(B)/kvgrade/kvgrade: $(call obj_common,$(KVGRADE_SRCS))
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)

$(B)/kvgrade/kvgrade-fs: $(call obj_common,$(KVGRADE_FS_SRCS))
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(FUSE_LIBS) $(LDLIBS)

$(B)/kvgrade/kvgrade_unit: $(call obj_common,$(KVGRADE_UNIT_SRCS))
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS)

# The example engines in C: standard C and POSIX only, as a learner's.
$(B)/obj/kvgrade/tests/engines/%.o: EXTRA_CFLAGS += -Ikvgrade/examples/c
$(B)/kvgrade/engines/batching: $(call obj_common,kvgrade/examples/c/batching.c kvgrade/examples/c/batchlog.c)
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^
$(B)/kvgrade/engines/batchlog_mistakes: $(call obj_common,kvgrade/tests/engines/batchlog_mistakes.c kvgrade/examples/c/batchlog.c)
	@mkdir -p $(dir $@)
	$(call brief,LD,$@)
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^
KVGRADE_ENGINES := $(B)/kvgrade/engines/batching $(B)/kvgrade/engines/batchlog_mistakes

all: $(B)/kvgrade/kvgrade $(B)/kvgrade/kvgrade-fs
# make test runs them from the release build only (tests/run.sh).
ifeq ($(FLAVOUR),release)
test-build test-build-gate: $(B)/kvgrade/kvgrade $(B)/kvgrade/kvgrade-fs $(B)/kvgrade/kvgrade_unit $(KVGRADE_ENGINES)
endif

# Every stage through every rung, in full: stages 01 and 02 promise
# nothing across a crash (durability none), 03 on keep every acknowledged
# write (sync, with kv --sync).  Then stages 04 on again with a 4 KiB
# memtable (and from 06 on, whose compactions write tables of a size,
# 8 KiB tables; kv refuses a knob a stage would ignore), so that flushes
# and compactions happen
# inside every rung (the sweep then damages tables and manifests too).
# KVGRADE_ARGS adds options (--seed N ...).
.PHONY: kvgrade-stages kvgrade-examples kvgrade-check
kvgrade-stages: all
	@$(MAKE) --no-print-directory deps DEPS=kvgrade
	@status=0; for s in $(STAGES) $(foreach s,$(filter-out 01-% 02-% 03-%,$(STAGES)),$(s):small); do \
	  case $$s in 01-log|02-hash) d=none ;; *) d=sync ;; esac; \
	  flag=; [ $$d = sync ] && flag=--sync; \
	  knobs=; case $$s in 04-*:small|05-*:small) knobs="--memtable-bytes 4096" ;; \
	    *:small) knobs="--memtable-bytes 4096 --table-bytes 8192" ;; esac; \
	  st=$${s%:small}; \
	  echo "== kvgrade-stages: $$st $$knobs, durability $$d"; \
	  TMPDIR=$${TMPDIR:-/dev/shm} $(B)/kvgrade/kvgrade --engine "$(B)/$$st/kv $$flag {dir} serve --stdio $$knobs" \
	    --durability $$d --report build/kvgrade/report-$$(echo $$s | tr : -) $(KVGRADE_ARGS) || status=1; \
	done; exit $$status

kvgrade-examples: all
	@$(MAKE) --no-print-directory deps DEPS=kvgrade
	@TMPDIR=$${TMPDIR:-/dev/shm} sh kvgrade/tests/kvgrade_test.sh $(B) examples --full

# The verdicts of the engines that batch and of their mistakes, on seeds 1
# to 5 (make test runs them on one, in --quick).
kvgrade-check: all $(KVGRADE_ENGINES)
	@$(MAKE) --no-print-directory deps DEPS=kvgrade
	@TMPDIR=$${TMPDIR:-/dev/shm} nice sh kvgrade/tests/kvgrade_test.sh $(B) engines --seeds 1,2,3,4,5 --full
