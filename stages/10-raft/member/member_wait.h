/*
 * member_wait.h: where a member's requests wait for the group's log: the
 * one road by which a result comes back.  (etcd's server does the same
 * with its wait registry: a proposal registers under the request id it
 * carries in the entry, and the entry's apply triggers it; on the other
 * members nothing waits under that id and the apply triggers nothing.)
 *
 *   - A write proposed waits under the term this member leads and a
 *     serial of this member's, which its command carries (command.h: the
 *     origin, this member's id, the serial and the term).  When the entry
 *     applies here, the state machine hands the origin and the outcome
 *     to member_wait_take, which finds the waiter in a map: one lookup,
 *     whatever the order libraft calls back in.
 *   - A read at the leader waits for an applied index: its read index,
 *     the one a round of the voters confirmed (member_read.c).  Until a
 *     round started after its bytes came is confirmed, it waits with
 *     none; the round confirmed hands its index to the reads it serves
 *     (member_waits_read_index), and member_waits_reached wakes every
 *     read at or below the index the engine has reached.  A read woken
 *     runs the gate again, which decides: waking is only a hint of when.
 *
 * A waiter for a write lives until both have let go of it: the map (it
 * was settled, by the apply or because its proposal failed) and libraft
 * (whose raft_apply holds its req until the apply callback).
 *
 * Invariants:
 *   S1. No entry in the log carries the origin of a write that waits here
 *       unless it is that write's own entry.  A waiter's origin is this
 *       member's id, the term it leads when it proposes the write (the
 *       entry's own term) and a serial numbering the proposals of this
 *       life of the process from 1.  A member leads a term at most once
 *       in all its lives: Raft has one leader a term, and libraft keeps
 *       the member's current term on disk, synced, before it campaigns,
 *       so that after a restart it campaigns only in a later term.  So an
 *       entry proposed before a restart (or in an earlier leadership)
 *       carries another term than any waiter of this life, though its
 *       serial may be one this life hands out again; within a life no
 *       serial is handed out twice.  No clock is read: a clock stepped
 *       back across a restart (an NTP step, a board with no battery for
 *       its clock) cannot make an old entry's outcome settle a new
 *       write.  What it rests on is the member's Raft directory: a member
 *       whose directory is wiped and rebuilt under the same id learns the
 *       group's term before it can lead, and leads only later terms.
 *       (Serials once started at the clock's nanoseconds; a version 3
 *       command, written then, carries no term, reads as term 0, and
 *       settles nothing: no leader's term is 0.)
 *   S2. A waiter is in the map until it is taken (settled); taken, it is
 *       in no map, and settled exactly once.
 */
#ifndef KV_RAFT_MEMBER_WAIT_H
#define KV_RAFT_MEMBER_WAIT_H

#include <raft.h>
#include <stddef.h>
#include <stdint.h>

struct member;

typedef struct member_waiter {
    uint64_t serial;               /* its command's origin serial (S1) */
    uint64_t term;                 /* ... and term: the one it was proposed in */
    unsigned long long write;      /* the server's write id (serve_ext.h) */
    struct raft_apply req;         /* libraft's, until its callback */
    struct member *m;
    int held;                      /* libraft still holds req */
    int taken;                     /* out of the map (S2): settled */
    struct member_waiter *next;    /* in its bucket */
} member_waiter;

typedef struct member_read_wait {
    uint64_t index;                /* 0: no read index yet */
    unsigned long long client;
    unsigned long long pass;       /* the server's pass its bytes came in */
} member_read_wait;

typedef struct member_waits {
    member_waiter **buckets;       /* by serial, a power of two of them */
    size_t nbuckets, n;
    uint64_t next_serial;          /* S1: 1 at the start of a life */
    member_read_wait *reads;
    size_t nreads, reads_cap;
} member_waits;

/* 0, or -1 when out of memory. */
int  member_waits_init(member_waits *w);
/* Frees what is left (REQUIRES: libraft holds none of it). */
void member_waits_free(member_waits *w);

/* A new waiter for the server's write `write`, proposed in `term` (the
 * one this member leads), with the next serial, in the map and held
 * (libraft is about to be handed its req); NULL when out of memory. */
member_waiter *member_wait_add(member_waits *w, uint64_t term, unsigned long long write);
/* The waiter under term and serial, out of the map (S2); NULL if none
 * waits (an entry of an earlier life or leadership, or settled). */
member_waiter *member_wait_take(member_waits *w, uint64_t term, uint64_t serial);
/* The same, left in the map: whether a write waits for that answer. */
member_waiter *member_wait_find(const member_waits *w, uint64_t term, uint64_t serial);
/* libraft let go of x's req (its callback ran, or raft_apply refused
 * it): x is freed if taken, else it stays in the map. */
void member_wait_release(member_waits *w, member_waiter *x);
/* Calls settle(arg, x) for every waiter still in the map, taking each out
 * (and freeing those libraft does not hold): a member stopping. */
void member_waits_abandon(member_waits *w, void (*settle)(void *arg, member_waiter *x),
                          void *arg);

/* A read of client, whose bytes came in the server's pass `pass`, waits
 * until the engine reaches index (0: it has no read index yet:
 * member_waits_read_index gives it one).  0, or -1 when out of memory. */
int  member_wait_read(member_waits *w, unsigned long long client, unsigned long long pass,
                      uint64_t index);
/* The reads with no read index yet whose bytes came by pass (a round
 * started in that pass or later serves them) wait for index. */
void member_waits_read_index(member_waits *w, unsigned long long pass, uint64_t index);
/* 1 if a read waits with no read index yet whose bytes came after pass
 * `after` (0: any). */
int  member_waits_unindexed(const member_waits *w, unsigned long long after);
/* Wakes (wake(arg, client)) and forgets every read waiting at or below
 * applied, or every read at all if applied is UINT64_MAX (the read index
 * failed: each runs again, and is redirected or waits anew). */
void member_waits_reached(member_waits *w, uint64_t applied,
                          void (*wake)(void *arg, unsigned long long client), void *arg);

#endif
