/*
 * serve_member.h: `kv serve` as a member of a Raft group, from stage 10 on
 * (stages/10-raft/member/, docs/10-raft.md).  The loop, the batch and the
 * command runner meet the member here and nowhere else:
 *   - the group's traffic and timers run on the loop thread, through one
 *     descriptor the loop watches (serve_member_fd, _timeout, _run);
 *   - before a command runs, the member may answer it with a redirect to
 *     the leader, or make a read wait for a read index (serve_member_gate);
 *   - a batch of writes becomes one command of the group's log, answered
 *     (serve_commit_done) once that command has been applied
 *     (serve_member_propose).
 * Every other stage's kv links serve_member_none.c instead, whose
 * definitions are weak (a stage that has a member defines them again):
 * there, --raft-id is refused and server.member stays NULL, so the others
 * are never called, and CLUSTER, READONLY and READWRITE answer what Redis
 * answers without cluster support.
 */
#ifndef KV_SERVE_MEMBER_H
#define KV_SERVE_MEMBER_H

#include "server.h"

struct commit_batch;

/* 1 if this kv's serve can be a member (stage 10 on), else 0. */
int  serve_member_supported(void);
/* Opens the member's engine and starts its part of the group (after the
 * options, in place of kv_open): sets s->db and s->member.  0, or -1
 * after a message on stderr. */
int  serve_member_start(server *s);
/* Leaves the group and closes the engine (s->db becomes NULL). */
void serve_member_stop(server *s);
int  serve_member_fd(const server *s);       /* readable when the group has work */
int  serve_member_timeout(const server *s);  /* ms until its next timer, or -1 */
void serve_member_run(server *s);            /* does what is ready, never waits */

enum { SERVE_MEMBER_GO = 0, SERVE_MEMBER_WAIT = 1, SERVE_MEMBER_ANSWERED = 2 };
/* Whether cmd may run here now: GO; WAIT (a read waiting for a read
 * index: the request is run again once it may); ANSWERED (a redirect to
 * the leader, or a refusal, was written to the client). */
int  serve_member_gate(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
/* Proposes the batch's writes as one command; the batch is answered by
 * serve_commit_done when it has been applied, or has failed. */
void serve_member_propose(server *s, struct commit_batch *b);
/* CLUSTER, READONLY, READWRITE. */
void serve_member_cluster_cmd(server *s, serve_client *c, const serve_req *r);

#endif
