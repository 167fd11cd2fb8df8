# WebAssembly builds of the stages, and the lab page (docs/lab.md).
# Included by the Makefile.
#   make wasm        build/wasm/lab/: the lab page, opened from disk (no
#                    server, nothing downloaded at run time), with each
#                    stage's engine compiled by emscripten (build/wasm/S/)
#   make test-wasm   the stage suite (tests/wasm/main.c) under node for each
#                    stage of WASM_STAGES, then the page in headless Chromium
#                    (web/test/lab_test.mjs), screenshots in build/wasm/shots/
#   make lab-shots   the page's test again, then the screenshots docs/lab.md
#                    shows copied from build/wasm/shots/ to docs/lab/
# `make deps DEPS=wasm` installs emscripten, node and chromium (Debian's);
# the page's libraries (d3, and esbuild to bundle them) come from npm,
# installed from web/package-lock.json into web/node_modules.
#
# Every stage is built.  Stages 04 on flush and compact on a background
# thread natively; a page opened from disk can have no threads (threads in
# a browser need cross-origin isolation, which only a server can grant),
# so the WebAssembly builds define KV_BG_INLINE: the same jobs run on the
# writer's thread when they fall due (stages/04-lsm/engine/lsm_bg.c).
# Stage 10's engine is stage 09's, unchanged: what the lab shows of stage 10
# is its group (WASM_RAFT=1, below), not a second panel of stage 09.
WASM_STAGES ?= $(filter-out 10-raft,$(STAGES))
# Debian's emscripten runs its JavaScript tools with Debian's node modules
# (acorn, in /usr/share/nodejs), which Debian's node finds by itself and a
# node from elsewhere does not: NODE_PATH names them.
EMCC ?= NODE_PATH=/usr/share/nodejs emcc
EMAR ?= emar
space := $(subst ,, )
WB := build/wasm
# Emscripten 3.1.6 (Debian 12) is the oldest this must build with.
WASM_CFLAGS = $(CSTD) $(WARN) -O2 -Iinclude -Icommon -DKV_BG_INLINE
# lz4 for the stages that link it (LIBS_S holds -llz4: 05 on).  Debian
# ships no WebAssembly build of liblz4, so lz4.c is compiled here from the
# copy of lz4's source (1.9.2, BSD 2-clause: its LICENSE is copied beside
# the page as LICENSE.lz4) in the npm package lz4, pinned by
# web/package-lock.json.  Not our code, so not with the project's warnings.
WASM_LZ4_DIR := web/node_modules/lz4/deps/lz4/lib
WASM_LZ4_OBJ := $(WB)/obj/lz4/lz4.o
WASM_NPM_STAMP := web/node_modules/.package-lock.json
wasm_lz4 = $(if $(filter -llz4,$(LIBS_$(1))),$(WASM_LZ4_OBJ))
# The engines' I/O: io_posix_wasm.c in place of io_posix.c and its mapped
# appends, io_posix_grow.c (common/io.h).
WASM_COMMON_SRCS := $(filter-out common/io_posix.c common/io_posix_grow.c,$(COMMON_SRCS))
WASM_TEST_SRCS := $(filter-out tests/main.c tests/concurrency.c tests/concurrency_snapshot.c \
                    tests/stress.c tests/inspect_race.c,$(TEST_SRCS)) tests/wasm/main.c
# Node runs the suites: memory grows as a test needs it; the process's exit
# status is the suite's.  SINGLE_FILE (the wasm inside the script) here
# too: emscripten 3.1.6 loads a separate .wasm with fetch() whenever there
# is one, which node 18 and later have, and their fetch() takes no paths.
WASM_NODE_LDFLAGS := -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=2GB -sEXIT_RUNTIME=1 \
                     -sENVIRONMENT=node -sSINGLE_FILE=1
# The process's KV_TEST_* variables handed to the module's getenv.
WASM_TEST_ENV := tests/wasm/env.js
# The stages whose kvtest also runs with every value in the value log
# (KV_TEST_VALUE_THRESHOLD=1: tests/wrap/value_threshold.c), as natively.
WASM_VALUE_LOG_STAGES = $(foreach s,$(WASM_STAGES),$(if $(filter tests/wrap/value_threshold.c,$(TEST_WRAP_SRCS_$(s))),$(s)))
# The page: one script per stage, the wasm inside it (SINGLE_FILE: a page
# opened from disk cannot fetch a .wasm file), made by a factory function
# (MODULARIZE) so that every stage has its own memory and file system.
WASM_LAB_EXPORTS := _lab_open,_lab_probe,_lab_close,_lab_put,_lab_get,_lab_del,_lab_scan,_lab_batch, \
                    _lab_snapshot,_lab_get_at,_lab_snapshot_free,_lab_txn_begin,_lab_txn_get, \
                    _lab_txn_put,_lab_txn_del,_lab_txn_check,_lab_txn_commit,_lab_txn_abort, \
                    _lab_compact,_lab_flush,_lab_inspect,_lab_inspect_get,_lab_inspect_every_get, \
                    _lab_dump,_lab_stats,_lab_text,_lab_text_len,_lab_text_failed,_lab_errmsg, \
                    _lab_stage,_malloc,_free
WASM_WEB_LDFLAGS := -sALLOW_MEMORY_GROWTH=1 -sENVIRONMENT=web -sMODULARIZE=1 -sSINGLE_FILE=1 \
                    -sEXPORTED_FUNCTIONS=$(subst $(space),,$(strip $(WASM_LAB_EXPORTS))) \
                    -sEXPORTED_RUNTIME_METHODS=ccall,cwrap,UTF8ToString,FS,HEAPU8
wasm_obj = $(patsubst %.c,$(WB)/obj/%.o,$(1))

$(WASM_LZ4_OBJ): $(WASM_NPM_STAMP)
	@mkdir -p $(dir $@)
	$(EMCC) $(CSTD) -O2 -c $(WASM_LZ4_DIR)/lz4.c -o $@

# ---- stage 10's group (WASM_RAFT=1): docs/lab.md, "Stage 10: a group" ----
# Three members of a Raft group in the page, on libraft's fixture (an
# in-memory network and disk, a clock the page moves), each applying to
# its own stage-09 engine through stage 10's replica code
# (stages/10-raft/replica/), driven by web/lab_raft.c.  Debian ships no
# WebAssembly build of libraft, so its core and fixture (not the libuv
# transport, src/uv*.c) are compiled here from Debian's own source of the
# version stage 10 links natively (libraft-dev 0.15.0-1), fetched at
# build time from Debian's archive and checked against the sha256 that
# Debian's signed raft_0.15.0-1.dsc gives for it.  Where the archive does
# not serve that file, RAFT_ORIG=PATH names a copy (the same bytes: the
# same check applies; the tag v0.15.0 of libraft's repository, as
# `git archive --format=tar --prefix=raft-0.15.0/ v0.15.0 | gzip -n`,
# makes them, byte for byte).  Debian's patches are not applied: its
# raft_0.15.0-1.debian.tar.xz was not served either when this was
# written, so whether 0.15.0-1 patches the library's sources is
# unchecked (docs/lab.md).  Not our code, so not with the project's
# warnings; its LICENSE (LGPL-3.0 with a static-linking exception) is
# copied beside the page as LICENSE.raft.
#
# Off unless asked (WASM_RAFT=1): its libraft comes from the network at
# build time (docs/lab.md, "Stage 10: a group").
WASM_RAFT ?= 0
WASM_RAFT_ORIG := raft_0.15.0.orig.tar.gz
WASM_RAFT_URL := http://deb.debian.org/debian/pool/main/r/raft/$(WASM_RAFT_ORIG)
WASM_RAFT_SHA256 := 33fd7ecdeb2d822beda5ac8964562f31a05aa817483bb63835ad7bab171f2d02
WASM_RAFT_DIR := $(WB)/src/raft-0.15.0
# libraft's Makefile.am: libraft_la_SOURCES, but for the libuv transport,
# plus its fixture (FIXTURE_ENABLED).  No lz4: it compresses only the
# libuv transport's snapshots.
WASM_RAFT_SRCS := byte client compress configuration convert election entry err heap log \
                  membership progress raft recv recv_append_entries recv_append_entries_result \
                  recv_request_vote recv_request_vote_result recv_install_snapshot \
                  recv_timeout_now replication snapshot start state syscall tick tracing fixture
WASM_RAFT_OBJS := $(patsubst %,$(WB)/obj/raft/%.o,$(WASM_RAFT_SRCS))
RAFT_ORIG ?=
$(WB)/dl/$(WASM_RAFT_ORIG):
	@mkdir -p $(dir $@)
	@if [ -n "$(RAFT_ORIG)" ]; then cp "$(RAFT_ORIG)" $@.part; \
	 else echo "fetching $(WASM_RAFT_URL)"; curl -fsSL --retry 2 -o $@.part "$(WASM_RAFT_URL)" || { rm -f $@.part; \
	   echo "wasm: $(WASM_RAFT_URL) could not be fetched; give RAFT_ORIG=PATH, a copy of that file (web/wasm.mk says how to make one)" >&2; exit 1; }; fi
	@echo "$(WASM_RAFT_SHA256)  $@.part" | sha256sum -c --quiet - || { rm -f $@.part; \
	   echo "wasm: $(WASM_RAFT_ORIG) is not Debian's (sha256 differs)" >&2; exit 1; }
	@mv $@.part $@
$(WASM_RAFT_DIR)/.extracted: $(WB)/dl/$(WASM_RAFT_ORIG)
	@rm -rf $(WASM_RAFT_DIR) && mkdir -p $(dir $(WASM_RAFT_DIR))
	tar -xzf $< -C $(dir $(WASM_RAFT_DIR))
	@touch $@
$(WB)/obj/raft/%.o: $(WASM_RAFT_DIR)/.extracted
	@mkdir -p $(dir $@)
	$(EMCC) -std=gnu11 -O2 -I$(WASM_RAFT_DIR)/include -c $(WASM_RAFT_DIR)/src/$*.c -o $@
$(WB)/raft/libraft.a: $(WASM_RAFT_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(EMAR) rcs $@ $^
# The group's page script, group-10-raft.js (kv-10-raft.js is stage
# 10's engine alone, by WASM_STAGE_RULES): web/lab_raft.c, stage 10's
# replica, stage 09's engine (build/wasm/10-raft/libkv.a is stage 09's,
# as natively) and libraft.  For the web and for node
# (web/test/lab_raft_test.mjs runs the same script).
WASM_RAFT_REPLICA_OBJS := $(patsubst %.c,$(WB)/10-raft/obj/%.o,$(REPLICA_SRCS_10-raft))
WASM_RAFT_EXPORTS := _lab_group_open,_lab_group_close,_lab_group_step,_lab_group_elect,_lab_group_put, \
                     _lab_group_get,_lab_group_del,_lab_group_partition,_lab_group_heal, \
                     _lab_group_kill,_lab_group_restart,_lab_group_describe,_malloc,_free
$(WB)/10-raft/obj/stages/10-raft/%: WASM_CFLAGS += -Istages/10-raft/replica -I$(WASM_RAFT_DIR)/include
$(WASM_RAFT_REPLICA_OBJS): $(WASM_RAFT_DIR)/.extracted
$(WB)/obj/web/lab_raft.o: WASM_CFLAGS += -Istages/10-raft/replica -I$(WASM_RAFT_DIR)/include
$(WB)/obj/web/lab_raft.o: $(WASM_RAFT_DIR)/.extracted
$(WB)/lab/group-10-raft.js: $(WB)/obj/web/lab_raft.o $(WASM_RAFT_REPLICA_OBJS) $(WB)/10-raft/libkv.a $(WB)/raft/libraft.a
	@mkdir -p $(dir $@)
	$(EMCC) $(WASM_CFLAGS) -sALLOW_MEMORY_GROWTH=1 -sENVIRONMENT=web,node -sMODULARIZE=1 -sSINGLE_FILE=1 \
	  -sEXPORTED_FUNCTIONS=$(subst $(space),,$(strip $(WASM_RAFT_EXPORTS))) \
	  -sEXPORTED_RUNTIME_METHODS=ccall,cwrap,UTF8ToString,FS \
	  -sEXPORT_NAME=kvGroup_10_raft -o $@ $^
$(WB)/lab/LICENSE.raft: $(WASM_RAFT_DIR)/.extracted
	@mkdir -p $(dir $@)
	cp $(WASM_RAFT_DIR)/LICENSE $@
WASM_RAFT_TARGETS := $(if $(filter 1,$(WASM_RAFT)),$(WB)/lab/group-10-raft.js $(WB)/lab/LICENSE.raft)

.PHONY: wasm test-wasm lab-shots wasm-build wasm-engines wasm-tests

$(WB)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(EMCC) $(WASM_CFLAGS) -MMD -MP -c $< -o $@

define WASM_STAGE_RULES
$(WB)/$(1)/obj/%.o: %.c | $(WASM_NPM_STAMP)
	@mkdir -p $$(dir $$@)
	$$(EMCC) $$(WASM_CFLAGS) -Istages/$(1) $$(INC_$(1)) $(if $(filter -llz4,$(LIBS_$(1))),-I$(WASM_LZ4_DIR)) -DKV_STAGE_NAME='"$(1)"' -MMD -MP -c $$< -o $$@

# A file a stage reuses unchanged is linked from the object of the stage
# that introduced it, as in the native build (lib_objs, the Makefile).
$(WB)/$(1)/libkv.a: $(call lib_objs,$(WB),$(1)) $(call wasm_obj,$(WASM_COMMON_SRCS)) $(call wasm_lz4,$(1))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && $$(EMAR) rcs $$@ $$^

# With the stage's wrappers, as its native kvtest (TEST_WRAP_<stage>: stage
# 08's kv_open that takes value_threshold from KV_TEST_VALUE_THRESHOLD).
$(WB)/$(1)/kvtest.js: $(call wasm_obj,$(WASM_TEST_SRCS) $(TEST_WRAP_SRCS_$(1))) $(WB)/$(1)/libkv.a $(WASM_TEST_ENV)
	$$(EMCC) $$(WASM_CFLAGS) $$(WASM_NODE_LDFLAGS) --pre-js $(WASM_TEST_ENV) $(TEST_WRAP_$(1)) -o $$@ $$(filter-out %.js,$$^)

$(WB)/lab/kv-$(1).js: $(WB)/obj/web/lab_api.o $(WB)/$(1)/libkv.a
	@mkdir -p $$(dir $$@)
	$$(EMCC) $$(WASM_CFLAGS) $$(WASM_WEB_LDFLAGS) -sEXPORT_NAME=kvStage_$(subst -,_,$(1)) -o $$@ $$^
endef
# The rules of every stage, not only WASM_STAGES': a stage links the
# objects of the stages it reuses (WASM_STAGES="08-vlog" builds 03's to
# 07's objects it needs), and a stage marked unfinished is built when
# named (make wasm WASM_STAGES="... 08-vlog").
$(foreach s,$(STAGE_DIRS),$(eval $(call WASM_STAGE_RULES,$(s))))

# The page: web/build.mjs bundles web/src/ with its libraries (esbuild)
# into lab.js and writes index.html naming the stages' scripts.  npm runs
# no package's install script (esbuild's only checks its binary, which
# comes as a package of its own).
WEB_SRCS := $(wildcard web/src/*.js web/src/*.css web/index.html web/build.mjs)
$(WASM_NPM_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --ignore-scripts
	@touch $@
# index.html names the stages built (and stage 10's group, WASM_RAFT=1):
# made again when WASM_STAGES or WASM_RAFT changes
# ($(WB)/lab/stages holds the list it was made with, rewritten only then).
WASM_STAGES_STAMP := $(WB)/lab/stages
WASM_PAGE_SCRIPTS = $(WASM_STAGES) $(if $(filter 1,$(WASM_RAFT)),group-10-raft.js)
$(WASM_STAGES_STAMP): FORCE_WASM_STAGES
	@mkdir -p $(dir $@)
	@[ "$$(cat $@ 2>/dev/null)" = "$(strip $(WASM_PAGE_SCRIPTS))" ] || echo "$(strip $(WASM_PAGE_SCRIPTS))" >$@
.PHONY: FORCE_WASM_STAGES
FORCE_WASM_STAGES:
$(WB)/lab/lab.js: $(WEB_SRCS) $(WASM_NPM_STAMP) $(WASM_STAGES_STAMP)
	@mkdir -p $(dir $@)
	node web/build.mjs $(WB)/lab $(WASM_PAGE_SCRIPTS)

wasm-engines: $(foreach s,$(WASM_STAGES),$(WB)/lab/kv-$(s).js)
wasm-tests: $(foreach s,$(WASM_STAGES),$(WB)/$(s)/kvtest.js)
wasm-build: wasm-engines $(WB)/lab/lab.js $(WASM_RAFT_TARGETS)
wasm:
	@$(MAKE) --no-print-directory deps DEPS=wasm
	@$(MAKE) --no-print-directory $(TEST_J) wasm-build
	@echo "wasm: open $(WB)/lab/index.html in a browser (from disk; no server needed)"

test-wasm:
	@$(MAKE) --no-print-directory deps DEPS=wasm
	@$(MAKE) --no-print-directory $(TEST_J) wasm-build wasm-tests
	@WASM_RAFT=$(WASM_RAFT) sh scripts/test_wasm.sh $(WB) "$(WASM_STAGES)" "$(WASM_VALUE_LOG_STAGES)"

# The screenshots docs/lab.md shows are ones the browser test saves: this
# runs it and copies each one the page names (lab/NAME.png) to docs/lab/.
lab-shots:
	@$(MAKE) --no-print-directory deps DEPS=wasm
	@$(MAKE) --no-print-directory $(TEST_J) wasm-build
	node web/test/lab_test.mjs $(WB)/lab $(WB)/shots
	@mkdir -p docs/lab
	@for f in $$(grep -o '](lab/[^)]*[.]png)' docs/lab.md | sed 's/^](lab[/]//; s/)$$//' | sort -u); do \
	    cp $(WB)/shots/$$f docs/lab/$$f && echo "docs/lab/$$f"; done
