/*
 * timeline.h: when each step of a write happened in this member, for
 * measuring where a write's time goes (docs/perf-10-raft.md, "A
 * one-client write's timeline").
 *
 * Off unless the environment names a file: KV_RAFT_TIMELINE=PREFIX has
 * each member record its steps in memory (CLOCK_MONOTONIC, the same
 * clock in every process of the machine, so the members' records line
 * up) and write them to PREFIX.PID when it stops, one step a line:
 * "nanoseconds step argument".  Off, a mark costs one test.  At most
 * TIMELINE_MAX steps are kept; the rest are counted, not kept.  On, the
 * marks come from one thread (a member's loop): a member is a process.
 * scripts/raft_timeline.py lines the members' records up write by write.
 */
#ifndef KV_RAFT_TIMELINE_H
#define KV_RAFT_TIMELINE_H

#include <stdint.h>

#define TIMELINE_MAX (1u << 21)

typedef enum {
    TL_PROPOSE = 1, /* a leader proposes a batch of clients' writes */
    TL_SEND,        /* libraft hands a message to its I/O (argument: the messages so far) */
    TL_PIPE_IN,     /* the transport reads libraft's bytes from a pair (argument: peer id) */
    TL_TCP_OUT,     /* ... and has put them on the wire, encrypted */
    TL_TCP_IN,      /* bytes from a peer's connection arrive (argument: peer id) */
    TL_PIPE_OUT,    /* ... decrypted, checked and written to libraft's pair */
    TL_APPEND,      /* an append submitted to libraft's log (argument: entries) */
    TL_APPENDED,    /* ... and done (argument: its status) */
    TL_ANSWERED,    /* a command this member proposed has applied (argument: its index) */
    TL_LIBUV,       /* a run of libuv begins */
    TL_PASS,        /* a pass of the server's loop runs the member */
} timeline_step;

/* Records a step now, if the timeline is on. */
void timeline_mark(timeline_step step, uint64_t arg);
/* 1 if the timeline is on. */
int timeline_active(void);
/* Writes the steps recorded to PREFIX.PID: 0, or -1 (the file could not
 * be written; the steps stay).  Nothing, and 0, if the timeline is off. */
int timeline_write(void);

#endif
