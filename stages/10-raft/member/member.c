/*
 * member.c: `kv serve` as a member of a Raft group, started and stopped
 * (serve_member.h, member.h).
 *
 * The directory: DIR/replica is the member's engine (replica.h), DIR/raft
 * libraft's log, snapshots and metadata.  At the first start every member
 * bootstraps the same configuration, the peers of --raft-peers, all
 * voters; libraft refuses a second bootstrap (RAFT_CANTBOOTSTRAP), which
 * is how a restart goes on from what it has.  A member started with
 * --raft-join bootstraps nothing: it starts with no configuration and
 * waits for a leader that added it (CLUSTER ADDMEMBER, member_change.c)
 * to send it the log or a snapshot.
 *
 * libraft runs on libuv; the server runs on its own epoll loop.  One
 * thread runs both: libuv's backend descriptor is in the server's epoll
 * set, its next timer bounds the server's wait, and each pass of the
 * server's loop runs libuv once without waiting (serve_member_run).  So
 * libraft's callbacks (apply, the proposals' and barriers' answers) run
 * on the loop thread, between the server's passes, as the server's own
 * code does: nothing is shared with another thread.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "member.h"

static char *member_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int member_fail(struct serve_member *m, const char *what, const char *why)
{
    fprintf(stderr, "kv serve: raft member %llu: %s: %s\n", (unsigned long long)m->s->cfg.raft_id,
            what, why);
    return -1;
}

static void member_release_engine(void *arg)
{
    struct serve_member *m = arg;
    serve_engine_release(m->s);
}

/* Starts the replica and libraft; 0, or -1 after a message. */
static int member_open(struct serve_member *m)
{
    server *s = m->s;
    if (member_peers_parse(m, s->cfg.raft_peers, (raft_id)s->cfg.raft_id) != 0)
        return -1;
    char *rdir = member_path(s->cfg.dir, "replica"), *ldir = member_path(s->cfg.dir, "raft");
    int rc = rdir != NULL && ldir != NULL ? io_mkdir(s->cfg.dir) : KV_ERR_NOMEM;
    if (rc == KV_OK)
        rc = io_mkdir(ldir);
    kv_options opt = s->cfg.knobs;
    opt.sync = 0; /* what the engine loses, the group's log has (docs/10-raft.md) */
    opt.max_open_files = s->cfg.max_open_files;
    if (rc == KV_OK)
        rc = replica_open(rdir, &opt, &m->r);
    free(rdir);
    if (rc != KV_OK) {
        free(ldir);
        return member_fail(m, "opening its engine", kv_errmsg());
    }
    replica_fsm_init(&m->fsm, m->r);
    /* A snapshot installed replaces the engine: the server's handles on
     * the old one end first (serve_release.c). */
    m->fsm.before_restore = member_release_engine;
    m->fsm.before_restore_arg = m;
    int rv = uv_loop_init(&m->loop);
    if (rv != 0) {
        free(ldir);
        return member_fail(m, "uv_loop_init", uv_strerror(rv));
    }
    if ((rv = raft_uv_tcp_init(&m->transport, &m->loop)) != 0 ||
        (s->cfg.raft_bind != NULL &&
         (rv = raft_uv_tcp_set_bind_address(&m->transport, s->cfg.raft_bind)) != 0) ||
        (rv = raft_uv_init(&m->io, &m->loop, ldir, &m->transport)) != 0) {
        free(ldir);
        return member_fail(m, "raft_uv_init", raft_strerror(rv));
    }
    free(ldir);
    /* A damaged segment of the log stops the start: libraft would move
     * it aside and go on without its entries, committed ones among them. */
    raft_uv_set_auto_recovery(&m->io, false);
    m->started = 1; /* from here on, stopping goes through raft_close */
    if ((rv = raft_init(&m->raft, &m->io, &m->fsm.fsm, m->self->id, m->self->raft_addr)) != 0)
        return member_fail(m, "raft_init", raft_errmsg(&m->raft));
    replica_fsm_attach(&m->fsm, &m->raft);
    if (s->cfg.raft_election_ms != 0)
        raft_set_election_timeout(&m->raft, s->cfg.raft_election_ms);
    /* Pre-vote (the Raft thesis, section 9.6): a member whose timer fires
     * asks first whether it would win, and bumps its term only if a
     * majority says yes.  libraft's follower refuses every vote while it
     * still has a leader, so without it the first member to time out after
     * a leader's death is refused, and its term makes the second one's
     * candidacy a split vote: a new leader took three election timeouts.
     * With it, the second member to time out wins, the first granting. */
    raft_set_pre_vote(&m->raft, true);
    if (s->cfg.raft_snapshot_every != 0) {
        raft_set_snapshot_threshold(&m->raft, s->cfg.raft_snapshot_every);
        raft_set_snapshot_trailing(&m->raft, s->cfg.raft_snapshot_every);
    }
    if (!s->cfg.raft_join) { /* a member that joins waits for the leader's log instead */
        struct raft_configuration conf;
        raft_configuration_init(&conf);
        for (int i = 0; i < m->npeers && rv == 0; i++)
            rv = raft_configuration_add(&conf, m->peers[i].id, m->peers[i].raft_addr,
                                        RAFT_VOTER);
        if (rv == 0)
            rv = raft_bootstrap(&m->raft, &conf);
        raft_configuration_close(&conf);
        if (rv != 0 && rv != RAFT_CANTBOOTSTRAP)
            return member_fail(m, "raft_bootstrap", raft_errmsg(&m->raft));
    }
    if ((rv = raft_start(&m->raft)) != 0) {
        /* libraft 0.15 leaves its message empty where the transport's
         * listen fails (the Raft port taken): its code says that much. */
        const char *why = raft_errmsg(&m->raft);
        char said[160];
        if (why[0] == '\0') {
            snprintf(said, sizeof said, "%s (is the Raft port %s free?)", raft_strerror(rv),
                     m->self->raft_addr);
            why = said;
        }
        return member_fail(m, "raft_start", why);
    }
    return 0;
}

int serve_member_supported(void)
{
    return 1;
}

int serve_member_start(server *s)
{
    struct serve_member *m = calloc(1, sizeof *m);
    if (m == NULL) {
        fprintf(stderr, "kv serve: out of memory\n");
        return -1;
    }
    m->s = s;
    s->member = m;
    const char *planted = getenv("KV_RAFT_PLANTED");
    int reapply = 0;
    if (planted != NULL) {
        m->planted_ack_early = strcmp(planted, "ack-before-commit") == 0;
        m->planted_follower_reads = strcmp(planted, "follower-reads") == 0;
        m->planted_leader_reads = strcmp(planted, "leader-reads") == 0;
        reapply = strcmp(planted, "applied-apart") == 0;
        if (!m->planted_ack_early && !m->planted_follower_reads && !m->planted_leader_reads &&
            !reapply) {
            fprintf(stderr, "kv serve: KV_RAFT_PLANTED=%s: no such planted mistake "
                    "(ack-before-commit, follower-reads, leader-reads, applied-apart)\n",
                    planted);
            serve_member_stop(s);
            return -1;
        }
    }
    if (member_open(m) != 0) {
        serve_member_stop(s);
        return -1;
    }
    if (reapply)
        replica_plant_reapply(m->r);
    s->own_prefix = COMMAND_RESERVED; /* the applied index: not the clients' */
    s->own_prefix_len = COMMAND_RESERVED_LEN;
    s->db = replica_db(m->r);
    return 0;
}

static void member_closed(struct raft *raft)
{
    struct serve_member *m = (struct serve_member *)((char *)raft - offsetof(struct serve_member, raft));
    raft_uv_close(&m->io);
    raft_uv_tcp_close(&m->transport);
    m->closed = 1;
}

void serve_member_stop(server *s)
{
    struct serve_member *m = s->member;
    if (m == NULL)
        return;
    if (m->started) {
        raft_close(&m->raft, member_closed);
        while (!m->closed)
            uv_run(&m->loop, UV_RUN_ONCE);
        uv_run(&m->loop, UV_RUN_DEFAULT); /* the handles' close callbacks */
        uv_loop_close(&m->loop);
    }
    replica_fsm_free(&m->fsm);
    int rc = replica_close(m->r);
    if (rc != KV_OK)
        fprintf(stderr, "kv serve: closing the member's engine: %s: %s\n", kv_strerror(rc),
                kv_errmsg());
    s->db = NULL;
    s->member = NULL;
    free(m);
}

int serve_member_fd(const server *s)
{
    return s->member != NULL ? uv_backend_fd(&s->member->loop) : -1;
}

int serve_member_timeout(const server *s)
{
    if (s->member == NULL)
        return -1;
    /* Reads of the pass just run wait for a barrier not started yet
     * (member_write.c): the next pass starts it at once, not at libraft's
     * next timer (a heartbeat, up to 100 ms away). */
    if (s->member->barrier_wanted && !s->member->barrier_busy)
        return 0;
    return uv_backend_timeout(&s->member->loop);
}

/* The engine failed to apply a committed entry (replica_fsm.h): a full
 * disk, an I/O error.  libraft 0.15 would try the entry again at every
 * commit and, on a leader, go on leading while it answers no write and no
 * read, the whole group waiting for it.  So the member stops at once, as
 * a SIGKILL would stop it, which it is built to survive: its engine holds
 * every entry before this one (nothing of this one: a kv_write is all or
 * nothing) and libraft's log the rest.  The others elect a leader without
 * it; restarted once the cause is gone, it applies the entry again. */
static void member_stop_failed(struct serve_member *m)
{
    fprintf(stderr, "kv serve: raft member %llu: applying entry %llu: %s: %s; stopping (its "
            "engine holds every entry before it: restart it once the cause is gone)\n",
            (unsigned long long)m->self->id, (unsigned long long)m->fsm.failed_index,
            kv_strerror(m->fsm.failed), m->fsm.why);
    fflush(stderr);
    _exit(1);
}

void serve_member_run(server *s)
{
    struct serve_member *m = s->member;
    if (m == NULL)
        return;
    uv_run(&m->loop, UV_RUN_NOWAIT);
    if (m->fsm.failed != KV_OK)
        member_stop_failed(m);
    member_barrier_kick(m);
    /* A restore replaced the engine (a member that fell behind): reads go
     * to the new one. */
    s->db = replica_db(m->r);
}
