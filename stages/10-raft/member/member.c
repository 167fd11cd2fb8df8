/*
 * member.c: `kv serve` as a member of a Raft group: the extension stage
 * 10's kv installs (serve_ext.h), started and stopped (member.h).
 *
 * The directory: DIR/replica is the member's engine (replica.h), DIR/raft
 * libraft's log, snapshots and metadata.  Whether an empty directory may
 * start the group is member_boot.c's question; a directory with a log
 * goes on from it (libraft refuses a second bootstrap).  A member started
 * with --raft-join bootstraps nothing: it starts with no configuration and
 * waits for a leader that added it (CLUSTER ADDMEMBER, member_change.c)
 * to send it the log or a snapshot.
 *
 * Its peers reach it only through peer_transport.h: mutual TLS with the
 * group's credentials (--raft-tls), every message checked before libraft
 * reads it.  libraft's disk writes go through member_disk.c, which holds
 * them back while the disk is short of room.
 *
 * libraft runs on libuv; the server runs on its own epoll loop.  One
 * thread runs both: libuv's backend descriptor is in the server's epoll
 * set, its next timer bounds the server's wait, and each pass of the
 * server's loop runs libuv without waiting (member_run: again at once
 * while it has work it can do without waiting).  So
 * libraft's callbacks (apply, the proposals' and barriers' answers) and
 * the transport's (a confirm link's answer) run on the loop thread,
 * between the server's passes, as the server's own code does: nothing is
 * shared with another thread.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "member.h"
#include "timeline.h"

static void member_log_line(void *arg, const char *line)
{
    member_say(arg, "%s", line);
}

/* A snapshot about to replace the engine: the server's handles on the
 * old one end first; installed (or not), the server reads the live one. */
static void member_release_engine(void *arg)
{
    struct member *m = arg;
    serve_host_release_engine(m->host);
}

static void member_take_engine(void *arg)
{
    struct member *m = arg;
    serve_host_set_db(m->host, replica_db(m->r));
}

/* A follower keeps the entries a leader's message commits for the end
 * of the pass (replica_fsm.h, W4): libraft applies them before it
 * answers that message, and the leader's commit waits for the answer. */
static int member_defers_apply(void *arg)
{
    struct member *m = arg;
    return raft_state(&m->raft) == RAFT_FOLLOWER;
}

/* A write proposed and a write of this member's settled, marked on the
 * timeline (timeline.h) on their way to member_write.c. */
static void member_propose_marked(void *x, const serve_write *w, size_t n)
{
    timeline_mark(TL_PROPOSE, n);
    member_propose(x, w, n);
}

static void member_applied_marked(void *arg, command_origin origin, uint64_t index,
                                  const replica_result *res)
{
    struct member *m = arg;
    if (origin.member == m->self->id)
        timeline_mark(TL_ANSWERED, index);
    member_applied(arg, origin, index, res);
}

/* The transport: TLS with the group's credentials, or plain (--raft-insecure). */
static int member_transport(struct member *m)
{
    if (member_certs_open(m) != 0)
        return -1;
    peer_config cfg = {.id = m->self->id, .address = m->self->raft_addr, .bind = m->opt.bind,
                       .tls = m->tls,
                       .limits = {.max_entry = m->opt.max_entry,
                                  .max_message = m->opt.max_message},
                       .answer = member_boot_answer, .log = member_log_line, .arg = m,
                       .admits = member_admits, .member_address = member_is_address,
                       .term = member_term, .may_disrupt = member_may_disrupt,
                       .notice = member_notice, .confirmed = member_read_answer};
    int rv = peer_transport_init(&m->transport, &m->loop, &cfg);
    m->transport_made = 1;
    if (rv != 0) {
        member_say(m, "the Raft port: %s", m->transport.errmsg);
        return -1;
    }
    return 0;
}

/* libraft's messages, counted as libraft hands them to its I/O (which
 * writes them to the transport's socket pair at once): member_run runs
 * libuv again for the transport to take them. */
static int member_send(struct raft_io *io, struct raft_io_send *req,
                       const struct raft_message *message, raft_io_send_cb cb)
{
    struct member *m = (struct member *)((char *)io - offsetof(struct member, guarded));
    m->sent++;
    timeline_mark(TL_SEND, m->sent);
    return m->io.send(io, req, message, cb);
}

/* libraft, over the transport and the guarded I/O: 0, or -1. */
static int member_raft(struct member *m, int bootstrap)
{
    int rv = raft_uv_init(&m->io, &m->loop, m->disk.raft_dir, &m->transport);
    if (rv != 0) {
        member_say(m, "raft_uv_init: %s", raft_strerror(rv));
        return -1;
    }
    member_disk_wrap(m);
    m->guarded.send = member_send;
    /* Snapshots read the engine on libuv's thread pool, not on the loop
     * thread (replica_fsm_async): a large engine read in a loop pass
     * would hold up the heartbeats past an election timeout, and a leader
     * that hears no majority for that long steps down.  libraft 0.15's uv
     * I/O implements async_work but still says version 1, which
     * raft_init takes to mean it does not. */
    if (m->guarded.async_work != NULL) {
        m->guarded.version = 2;
        replica_fsm_async(&m->fsm);
    }
    /* A damaged segment of the log stops the start: libraft would move
     * it aside and go on without its entries, committed ones among them. */
    raft_uv_set_auto_recovery(&m->io, false);
    m->started = 1; /* from here on, stopping goes through raft_close */
    if ((rv = raft_init(&m->raft, &m->guarded, &m->fsm.fsm, m->self->id, m->self->raft_addr)) !=
        0) {
        member_say(m, "raft_init: %s", raft_errmsg(&m->raft));
        return -1;
    }
    m->io.data = m->guarded.data; /* libuv's callbacks find libraft through either */
    /* The log's write unit.  libraft 0.15 writes each append from the
     * start of the block it last left part empty to the end of the block
     * its entries reach, zeros after them, with O_DIRECT and RWF_DSYNC,
     * into 8 MiB segments reserved by posix_fallocate: on ext4 the first
     * write into a block finds it unwritten and cannot return before a
     * journal commit has recorded it written.  With libraft's own unit (the
     * smallest direct I/O takes, 4 KiB here) an append of 50 clients'
     * writes crosses into new blocks nearly every time; with 16 KiB, in
     * about one append of two, at the price of a 16 KiB write where a
     * small append wrote 4 KiB (docs/perf-10-raft.md, "The log's
     * blocks").  raft_init probes the unit and overwrites what was set
     * before it, so it is set here, after it, before raft_start opens a
     * segment. */
    raft_uv_set_block_size(&m->io, (size_t)m->opt.log_block);
    replica_fsm_attach(&m->fsm, &m->raft);
    if (m->opt.election_ms != 0)
        raft_set_election_timeout(&m->raft, m->opt.election_ms);
    /* Pre-vote (the Raft thesis, section 9.6): a member whose timer fires
     * asks first whether it would win, and bumps its term only if a
     * majority says yes.  libraft's follower refuses every vote while it
     * still has a leader, so without it the first member to time out after
     * a leader's death is refused, and its term makes the second one's
     * candidacy a split vote: a new leader took three election timeouts.
     * With it, the second member to time out wins, the first granting. */
    raft_set_pre_vote(&m->raft, true);
    /* A snapshot every --raft-snapshot-every entries if told; else sized
     * to the engine (snapshot_size.h), never more often than every 1,024
     * entries, libraft's own threshold. */
    if (m->opt.snapshot_every != 0) {
        raft_set_snapshot_threshold(&m->raft, m->opt.snapshot_every);
        raft_set_snapshot_trailing(&m->raft, m->opt.snapshot_every);
    } else {
        m->fsm.size.base = 1024;
    }
    if (bootstrap) {
        struct raft_configuration conf;
        raft_configuration_init(&conf);
        for (int i = 0; i < m->npeers && rv == 0; i++)
            rv = raft_configuration_add(&conf, m->peers[i].id, m->peers[i].raft_addr,
                                        RAFT_VOTER);
        if (rv == 0)
            rv = raft_bootstrap(&m->raft, &conf);
        raft_configuration_close(&conf);
        if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
            member_say(m, "raft_bootstrap: %s", raft_errmsg(&m->raft));
            return -1;
        }
    }
    if ((rv = raft_start(&m->raft)) != 0) {
        member_say(m, "raft_start: %s", raft_errmsg(&m->raft));
        return -1;
    }
    return 0;
}

/* Starts the replica, the transport and libraft; 0, or -1 after a message. */
static int member_open(struct member *m)
{
    if (member_waits_init(&m->waits) != 0) {
        member_say(m, "out of memory for its waiters");
        return -1;
    }
    if (member_disk_init(m) != 0)
        return -1;
    int rc = io_mkdir(m->env.dir);
    if (rc == KV_OK)
        rc = io_mkdir(m->disk.raft_dir);
    kv_options opt = m->env.opt;
    opt.sync = 0; /* what the engine loses, the group's log has (docs/10-raft.md) */
    if (rc == KV_OK)
        rc = replica_open(m->disk.engine_dir, &opt, &m->r);
    if (rc != KV_OK) {
        member_say(m, "opening its engine: %s", kv_errmsg());
        return -1;
    }
    replica_fsm_init(&m->fsm, m->r);
    /* A snapshot installed replaces the engine: the server's handles on
     * the old one end first (serve_host_release_engine). */
    m->fsm.before_restore = member_release_engine;
    m->fsm.after_restore = member_take_engine;
    m->fsm.restore_arg = m;
    m->fsm.applied = member_applied_marked;
    m->fsm.applied_arg = m;
    m->fsm.wanted = member_answer_wanted;
    m->fsm.wanted_arg = m;
    m->fsm.may_wait = member_disk_may_wait;
    m->fsm.may_wait_arg = m;
    m->fsm.defer = member_defers_apply;
    m->fsm.defer_arg = m;
    int rv = uv_loop_init(&m->loop);
    if (rv != 0) {
        member_say(m, "uv_loop_init: %s", uv_strerror(rv));
        return -1;
    }
    m->loop_made = 1;
    int bootstrap = 0;
    if (member_transport(m) != 0 || member_boot(m, &bootstrap) != 0)
        return -1;
    return member_raft(m, bootstrap);
}

static void *member_create(void)
{
    struct member *m = calloc(1, sizeof *m);
    if (m != NULL)
        m->opt.reserve = MEMBER_RESERVE_UNSET;
    return m;
}

static void member_transport_closed(struct raft_uv_transport *t)
{
    struct member *m = (struct member *)((char *)t - offsetof(struct member, transport));
    m->transport_closed = 1;
}

static void member_closed(struct raft *raft)
{
    struct member *m = (struct member *)((char *)raft - offsetof(struct member, raft));
    raft_uv_close(&m->io);
    m->closed = 1;
}

static void member_stop(void *x)
{
    struct member *m = x;
    member_write_abandon(m);
    member_guard_forget(m);
    member_certs_close(m);
    if (m->started) { /* libraft closes the transport too */
        raft_close(&m->raft, member_closed);
        while (!m->closed)
            uv_run(&m->loop, UV_RUN_ONCE);
    } else if (m->transport_made) {
        peer_transport_close(&m->transport, member_transport_closed);
        while (!m->transport_closed)
            uv_run(&m->loop, UV_RUN_ONCE);
    }
    if (m->loop_made) {
        uv_run(&m->loop, UV_RUN_DEFAULT); /* the handles' close callbacks */
        uv_loop_close(&m->loop);
    }
    if (m->transport_made)
        peer_transport_free(&m->transport);
    peer_tls_ctx_free(m->tls);
    member_disk_free(m);
    member_waits_free(&m->waits);
    free(m->answers);
    m->answers = NULL;
    replica_fsm_free(&m->fsm);
    member_read_free(m);
    int rc = replica_close(m->r);
    if (rc != KV_OK)
        member_say(m, "closing its engine: %s: %s", kv_strerror(rc), kv_errmsg());
    if (m->host != NULL)
        serve_host_set_db(m->host, NULL);
    free(m->marker);
    m->marker = NULL;
    m->started = m->transport_made = m->loop_made = 0;
    m->r = NULL;
    m->tls = NULL;
    if (timeline_write() != 0)
        member_say(m, "the timeline (KV_RAFT_TIMELINE) could not be written");
}

static void member_destroy(void *x)
{
    free(x);
}

static int member_start(void *x, serve_host *h, const serve_ext_env *env)
{
    struct member *m = x;
    m->host = h;
    m->env = *env;
    const char *planted = getenv("KV_RAFT_PLANTED");
    int reapply = 0;
    if (planted != NULL) {
        m->planted_ack_early = strcmp(planted, "ack-before-commit") == 0;
        m->planted_follower_reads = strcmp(planted, "follower-reads") == 0;
        m->planted_leader_reads = strcmp(planted, "leader-reads") == 0;
        m->planted_unconfirmed_reads = strcmp(planted, "unconfirmed-reads") == 0;
        m->planted_later_term = strcmp(planted, "later-term-answers") == 0;
        reapply = strcmp(planted, "applied-apart") == 0;
        if (!m->planted_ack_early && !m->planted_follower_reads && !m->planted_leader_reads &&
            !m->planted_unconfirmed_reads && !m->planted_later_term && !reapply) {
            member_say(m, "KV_RAFT_PLANTED=%s: no such planted mistake (ack-before-commit, "
                       "follower-reads, leader-reads, unconfirmed-reads, later-term-answers, "
                       "applied-apart)", planted);
            return -1;
        }
    }
    if (member_open(m) != 0) {
        member_stop(m);
        return -1;
    }
    if (reapply)
        replica_plant_reapply(m->r);
    serve_host_hide_prefix(h, COMMAND_RESERVED, COMMAND_RESERVED_LEN); /* the applied index */
    serve_host_set_db(h, replica_db(m->r));
    return 0;
}

static int member_fd(void *x)
{
    struct member *m = x;
    return uv_backend_fd(&m->loop);
}

static int member_timeout(void *x)
{
    struct member *m = x;
    /* Reads that wait for a barrier not started yet, or for a round whose
     * links are being opened again (member_read.c), need a pass soon, not
     * at libraft's next timer (a heartbeat, up to 100 ms away).  A disk
     * short of room is looked at again soon. */
    int t = uv_backend_timeout(&m->loop), r = member_read_timeout(m);
    if (r >= 0 && (t < 0 || r < t))
        t = r;
    if (m->disk.held != NULL && !m->disk.short_of_room)
        return 0; /* a leader's appends, held until its messages were sent */
    if (m->disk.short_of_room || m->disk.held != NULL)
        return t < 0 || t > 100 ? 100 : t;
    return t;
}

/* The engine failed to apply a committed entry (replica_fsm.h, W2): an
 * I/O error, not a disk short of room (which is waited out: W1), or more
 * entries waiting than the bounds allow.  libraft 0.15
 * would try the entry again at every commit and, on a leader, go on
 * leading while it answers no write and no read, the whole group waiting
 * for it.  So the member stops at once, as a SIGKILL would stop it, which
 * it is built to survive: its engine holds every entry before this one
 * (nothing of this one: a kv_write is all or nothing) and libraft's log
 * the rest.  The others elect a leader without it; restarted once the
 * cause is gone, it applies the entry again. */
static void member_stop_failed(struct member *m)
{
    member_say(m, "applying entry %llu: %s: %s; stopping (its engine holds every entry before "
               "it: restart it once the cause is gone)", (unsigned long long)m->fsm.failed_index,
               kv_strerror(m->fsm.failed), m->fsm.why);
    _exit(1);
}

/* How many times one pass of the server's loop may run libuv's.  A
 * message between libraft and the wire crosses a socket pair
 * (peer_transport.h), which its reader takes in the next libuv pass: a
 * write at one client takes four such hops (the leader's message out,
 * in at a follower, its answer out, in at the leader) besides the disk.
 * So libuv runs again at once, without a whole pass of the server's loop
 * in between, while the last run left work it can do without waiting:
 *   - the transport wrote a message to libraft's end of a pair, which
 *     libraft reads in the next run;
 *   - libraft sent a message (member_send): its bytes are in its end of
 *     a pair, which the transport reads in the next run;
 *   - libuv has callbacks due now (uv_backend_timeout says 0): a timer
 *     is due, a handle closed.
 * A run that only took libraft's bytes to the wire leaves none: libuv is
 * not run again for it.  At most this many runs, and never another after
 * a run that took a handshake step, so no more steps in a pass of the
 * server's loop than P10 allows: the server runs the member a second time
 * in a pass that gave it work at once (serve_ext.h: a leader's
 * proposals, whose messages then leave in the pass that made them), and
 * that second time runs no libuv after a step in the first. */
#define MEMBER_LIBUV_RUNS 4

static void member_run(void *x, unsigned long long pass)
{
    struct member *m = x;
    int runs = pass == m->stepped_pass ? 0 : MEMBER_LIBUV_RUNS;
    /* The first run of a pass that woke for clients alone: libuv's
     * descriptor was not ready and nothing of libuv's is due (its clock
     * brought up to now first, as uv_run would), so libuv is not run for
     * nothing; the run after the clients' writes, if they gave it work,
     * runs it (serve_ext.h). */
    if (pass != m->pass && runs > 0 && !serve_host_ext_ready(m->host)) {
        uv_update_time(&m->loop);
        if (uv_backend_timeout(&m->loop) != 0)
            runs = 0;
    }
    m->pass = pass;
    m->passes++;
    timeline_mark(TL_PASS, pass);
    for (int run = 0; run < runs; run++) {
        unsigned long long before[2] = {0, 0}, after[2] = {0, 0}, sent = m->sent;
        if (m->transport_made)
            peer_transport_activity(&m->transport, before);
        m->libuv_runs++;
        timeline_mark(TL_LIBUV, run);
        uv_run(&m->loop, UV_RUN_NOWAIT);
        member_disk_check(m); /* a leader's appends after the messages that pass sent */
        if (m->transport_made)
            peer_transport_activity(&m->transport, after);
        if (after[1] != before[1]) {
            m->stepped_pass = pass;
            break;
        }
        if (after[0] == before[0] && m->sent == sent && uv_backend_timeout(&m->loop) != 0)
            break;
    }
    /* A follower's entries kept while libuv ran (W4): its answers have
     * left, now its engine applies them (unless they wait for room: W1,
     * member_disk_retry). */
    if (replica_fsm_behind(&m->fsm) && !m->disk.engine_stuck)
        replica_fsm_retry(&m->fsm);
    /* Commands the engine could not apply on a disk short of room
     * (replica_fsm.h, W1): applied once there is room, and the reads
     * that waited for them run again. */
    if (member_disk_retry(m))
        serve_host_wake_all(m->host);
    if (m->fsm.failed != KV_OK)
        member_stop_failed(m);
    member_read_kick(m);
    member_guard_run(m);
    member_certs_watch(m);
    member_boot_mark(m);
}

/* How many batches of writes the server may hand a member before the
 * first is settled (serve_ext.h, E4).  With one, a pass's writes wait
 * while the batch before them makes its whole round (the leader's
 * append, the followers' appends and answers, the apply) before they are
 * proposed; with several, each pass's batch is proposed at once, and
 * libraft's disk writes and messages, which gather whatever was appended
 * while the last one was out, carry them together.  Raft's log orders
 * them, and the server answers them in the order it handed them over.
 * Bounded because each batch holds its writes' bytes in the server until
 * it is settled, and the entries in libraft's log in memory: past a few,
 * more batches only cut the same round trip into thinner slices.
 *
 * A batch goes out while another is in flight only once it holds
 * MEMBER_BATCH_OPS_IN_FLIGHT ops; a smaller one waits, as it would with
 * one batch in flight.  Each batch is one entry (its plain writes are one
 * command), and each entry costs a message to every follower, an append
 * and an answer there, whatever its size: 50 clients that each send a
 * SET and wait, proposed in thin batches as their answers come back, did
 * about a fifth fewer SETs a second than the same 50 gathered in one
 * batch, on a host short of processor (docs/perf-10-raft.md).  A batch
 * this large pays for its entry; a load that fills one while another is
 * out (clients that pipeline, or many of them) gains the round trip. */
#define MEMBER_BATCHES_IN_FLIGHT 8
#define MEMBER_BATCH_OPS_IN_FLIGHT 64

/* How long the server may hold a batch, with none in flight, for the
 * clients the last one answered (serve_ext.h, `gather_us`; never longer
 * than that batch was out).  50 clients that each send a SET and wait
 * made entries of about 25 writes, two groups taking turns; held, about
 * 48 (docs/perf-10-raft.md, "Batches held for the clients just
 * answered").  One client holds nothing: its next write is all there is. */
#define MEMBER_GATHER_US 2000

const serve_ext_ops member_ext = {
    .name = "a member of a Raft group",
    .create = member_create,
    .destroy = member_destroy,
    .usage = member_usage,
    .option = member_option,
    .wanted = member_wanted,
    .start = member_start,
    .stop = member_stop,
    .fd = member_fd,
    .timeout = member_timeout,
    .run = member_run,
    .gate = member_gate,
    .cluster_cmds = member_cluster_cmds,
    .cluster = member_cluster_cmd,
    .propose = member_propose_marked,
    .in_flight = MEMBER_BATCHES_IN_FLIGHT,
    .in_flight_ops = MEMBER_BATCH_OPS_IN_FLIGHT,
    .gather_us = MEMBER_GATHER_US,
    .figures = member_figures,
    .files = PEER_FILES,
};
