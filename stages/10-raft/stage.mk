# Stage 10: replicated.  Stage 09's engine, unchanged, as the state
# machine of a Raft group: libraft (Debian's libraft-dev) agrees on a log
# of commands, and each member applies them to an engine of its own
# (docs/10-raft.md).  Its parts:
#   replica/   the commands the log carries (command.h) and the members'
#              client addresses (member_note.h), one member's
#              engine applying them at most once, its snapshots and their
#              restore (replica.h), and the glue that makes it libraft's
#              state machine (replica_fsm.h)
#   peer/      the members' connections: libraft's transport, with
#              mutual TLS and every message checked before libraft reads
#              it, and the group's credentials (peer_transport.h)
#   member/    `kv serve` as a member of the group: the extension stage
#              10's kv installs in the server (tools/ext/serve_ext.h)
#   tools/     stage 10's kv: its main (the kv tool with the member and
#              three commands of its own: kv_ext.h), kv DIR cluster,
#              kv DIR certs, kv HOST:PORT member
# The replica is not in libkv.a: build/10-raft/libkv.a is stage 09's
# engine, and a program that uses kv.h alone links it as any stage's.
# What links the replica (its tests, and `kv serve` as a member) links
# libraft and libuv too.
PARTS_10-raft := $(PARTS_09-cache)
LIBS_10-raft := $(LIBS_09-cache)
$(B)/10-raft/%: LDLIBS += $(LIBS_10-raft)
REPLICA_SRCS_10-raft := $(wildcard stages/10-raft/replica/*.c)
PEER_SRCS_10-raft := $(wildcard stages/10-raft/peer/*.c)
LIBS_REPLICA := -lraft -luv -llz4 -lssl -lcrypto
# Of tools/, stage 10 sees the extension's headers alone (tools/ext/:
# serve_ext.h, kv_ext.h and what they use), so that the compiler keeps
# the seam: the server's and the kv tool's own headers are not found.
$(B)/10-raft/obj/stages/10-raft/%: EXTRA_CFLAGS += -Istages/10-raft/replica -Istages/10-raft/peer \
  -Istages/10-raft/member -Istages/10-raft/tools -Itools/ext
# Stage 10's kv: its own main (stages/10-raft/tools/raft_kv_main.c) in place of
# tools/kv_main.c, the member, its tools, the replica and the transport,
# and libraft, libuv and OpenSSL.
MEMBER_SRCS_10-raft := $(wildcard stages/10-raft/member/*.c) $(wildcard stages/10-raft/tools/*.c)
KV_MAIN_REPLACED_10-raft := tools/kv_main.c
$(B)/10-raft/kv: $(patsubst %.c,$(B)/10-raft/obj/%.o,$(MEMBER_SRCS_10-raft) $(REPLICA_SRCS_10-raft) $(PEER_SRCS_10-raft))
$(B)/10-raft/kv: LDLIBS += $(LIBS_REPLICA)

# Unit tests (build/10-raft/stagetest): the command format, a replica
# applying, snapshotting and restoring, and three members in one process
# on libraft's deterministic fixture (elections, partitions, a member
# that falls behind and catches up by snapshot).
TESTS_10-raft := $(wildcard stages/10-raft/tests/*_test.c)
# web/lab_raft.c, the lab's group (web/wasm.mk builds it for the page),
# is compiled and linked here too, natively: a change to the replica it
# drives is seen to break it by every build of the stage's tests, not
# only by the lab's WebAssembly build.
# So are the member's parts that hold no member: a read round's count,
# the rounds in flight and the waiters.
TEST_HELPERS_10-raft := $(REPLICA_SRCS_10-raft) $(PEER_SRCS_10-raft) web/lab_raft.c \
  stages/10-raft/member/read_round.c stages/10-raft/member/read_rounds.c \
  stages/10-raft/member/member_wait.c
$(B)/10-raft/obj/web/lab_raft.o: EXTRA_CFLAGS += -Istages/10-raft/replica
$(B)/10-raft/stagetest: LDLIBS += $(LIBS_REPLICA)
