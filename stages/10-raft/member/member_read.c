/*
 * member_read.c: linearizable reads at the leader, behind a read index
 * confirmed by a round of the voters, with no entry in the log (Raft's
 * ReadIndex: Ongaro's thesis, section 6.4; docs/10-raft.md, "Reads").
 *
 * A leader's engine may be behind the group: a leader cut off from the
 * others believes it leads until an election timeout passes, while the
 * others elect another and commit writes it never sees.  So a read at
 * the leader waits until:
 *   1. an entry of the leader's own term is committed (the entry at its
 *      commit index is of its term): until then its commit index may
 *      trail what earlier leaders committed.  libraft 0.15 appends no
 *      entry when a member is elected, so the first read of a term that
 *      finds none (no write of the term committed yet) starts a barrier,
 *      an empty entry, once a term;
 *   2. a round (read_round.h) started after the read's bytes arrived is
 *      confirmed: the leader takes its commit index as the read index
 *      and asks every voter, on the transport's confirm links
 *      (peer_confirm_ask), for its current term; once more than half of
 *      the voters (itself included) have answered a term no later than
 *      its own, no later leader can have committed anything before the
 *      read arrived (one would need a majority that had moved on, and
 *      that majority meets this one);
 *   3. its engine has applied the read index.
 * The server numbers its loop passes, reads a pass's bytes before it
 * runs the member and the gate, and says in which pass each client's last
 * bytes arrived (serve_gate.input_pass): a round started in that pass or
 * later serves the read, so the reads of one pass share one round; one
 * that arrives while a round is out has one started at once, beside it
 * (read_rounds.h: one round trip, never two).  A round starts only for
 * reads no round out serves, at most one a pass.  An answer
 * with a later term fails the round (R2): no round starts again in that
 * term, and the reads wait until libraft steps this member down (it does,
 * at the latest an election timeout after it last heard a majority), then
 * go to the new leader.  A member that is its configuration's only voter
 * needs none of this: no one else can be elected.
 *
 * A read that waits waits in the member's registry (member_wait.h), with
 * the pass its bytes came in: with no read index until a round that
 * serves it is confirmed, which hands it the round's index; then until
 * the engine has applied that far.  Only the reads whose wait is over
 * are woken (serve_host_wake), and they run the gate again, which
 * decides; every read is woken when the term ends or leadership is lost.
 *
 * Everything runs on the loop thread: the gate (member_read_gate), the
 * loop's pass (member_read_kick) and the transport's callback for an
 * answer (member_read_answer), which libuv runs inside the pass.
 */
#include <stddef.h>
#include <stdio.h>

#include "member.h"

#define MEMBER_OF(field, ptr) ((struct member *)((char *)(ptr) - offsetof(struct member, field)))
#define READ_BARRIER_RETRY_MS 50   /* after a barrier libraft refused at once, or a round
                                      that could not start */

/* 1 if this member is the configuration's only voter: then no other
 * member can be elected, every committed write was applied here before
 * it was acknowledged, and a read needs no read index (a group of one). */
static int read_sole_voter(struct member *m)
{
    const struct raft_configuration *conf = libraft_configuration(&m->raft);
    unsigned voters = 0, self = 0;
    for (unsigned i = 0; i < conf->n; i++)
        if (conf->servers[i].role == RAFT_VOTER) {
            voters++;
            self |= conf->servers[i].id == m->self->id;
        }
    return voters == 1 && self;
}

/* 1 if the engine holds every entry up to index (step 3). */
static int read_applied(struct member *m, raft_index index)
{
    return raft_last_applied(&m->raft) >= index && !replica_fsm_behind(&m->fsm);
}

static void read_wake_one(void *arg, unsigned long long client)
{
    struct member *m = arg;
    serve_host_wake(m->host, client);
}

/* The reads whose read index the engine holds run their gate again
 * (step 3). */
static void read_wake_applied(struct member *m)
{
    if (m->waits.nreads > 0 && !replica_fsm_behind(&m->fsm))
        member_waits_reached(&m->waits, raft_last_applied(&m->raft), read_wake_one, m);
}

/* Every read that waits runs its gate again (now, or redirected). */
static void read_wake_all(struct member *m)
{
    member_waits_reached(&m->waits, UINT64_MAX, read_wake_one, m);
}

/* A new term, or leadership lost: what was confirmed, asked or failed
 * belongs to the term before, and the reads that waited run again. */
static void read_sync(struct member *m)
{
    member_reads *rd = &m->reads;
    raft_term term = raft_state(&m->raft) == RAFT_LEADER ? libraft_term(&m->raft) : 0;
    if (term == rd->led_term)
        return;
    rd->led_term = term;
    read_rounds_clear(&rd->out);
    rd->confirmed_term = 0;
    rd->barrier_wanted = 0;
    read_wake_all(m);
}

/* Asks each voter that a round in flight waits for, for the newest round
 * (its answer counts for the earlier ones too: read_round.h, R1; a link
 * already asked it sends nothing again; a closed one is dialled again, at
 * most every PEER_CONFIRM_REDIAL_MS). */
static void read_ask(struct member *m)
{
    member_reads *rd = &m->reads;
    const read_round *newest = read_rounds_newest(&rd->out);
    const struct raft_configuration *conf = libraft_configuration(&m->raft);
    for (unsigned i = 0; i < conf->n && newest != NULL; i++) {
        const struct raft_server *s = &conf->servers[i];
        if (s->id != m->self->id && read_rounds_waits_for(&rd->out, s->id))
            peer_confirm_ask(&m->transport, s->id, s->address, newest->term, newest->number);
    }
}

/* Round `end` has ended (confirmed: with every earlier one; or failed). */
static void read_ended(struct member *m, int state, const read_round *end)
{
    member_reads *rd = &m->reads;
    if (state == READ_ROUND_CONFIRMED) {
        rd->confirmed++;
        rd->confirmed_term = end->term;
        rd->confirmed_index = end->index;
        rd->confirmed_pass = end->pass;
        /* The reads whose bytes came before it started wait for its
         * index; those that came since wait for a round started later,
         * out already, or started by member_read_kick. */
        member_waits_read_index(&m->waits, end->pass, end->index);
        read_wake_applied(m);
        return;
    }
    rd->failed++;
    rd->failed_term = end->term;
    member_say(m, "read round %llu: member %llu answered term %llu, later than this leader's "
               "%llu: no read is answered here until it steps down",
               (unsigned long long)end->number, (unsigned long long)end->later_id,
               (unsigned long long)end->later_term, (unsigned long long)end->term);
}

/* Starts a round in this pass, or wants the barrier of step 1 first.
 * REQUIRES: this member leads, no round in flight started in this pass. */
static void read_start(struct member *m)
{
    member_reads *rd = &m->reads;
    raft_term term = libraft_term(&m->raft);
    if (rd->failed_term == term)
        return; /* R2: this term is over, whatever libraft says yet */
    raft_index commit = libraft_commit_index(&m->raft);
    if (libraft_term_of(&m->raft, commit) != term) {
        /* Step 1: member_read_kick starts it, unless it is out already
         * (wanted again now, it would be appended again once this one is
         * committed: two barriers for one term). */
        if (!rd->barrier_busy)
            rd->barrier_wanted = 1;
        return;
    }
    rd->out.count_later = m->planted_later_term;
    read_round end;
    /* m->pass: after this pass's bytes were read (serve_ext.h) */
    int state = read_rounds_start(&rd->out, libraft_configuration(&m->raft), m->self->id, term,
                                  commit, m->pass, uv_now(&m->loop), &end);
    if (state < 0)
        return; /* out of memory: the reads wait, and the next pass tries again */
    if (state != READ_ROUND_OPEN) {
        read_ended(m, state, &end);
        return;
    }
    read_ask(m);
    if (m->planted_unconfirmed_reads) { /* the planted mistake (member.h): served at once */
        member_waits_read_index(&m->waits, m->pass, commit);
        read_wake_applied(m);
    }
}

/* 1 if the last round confirmed serves a read whose bytes came in pass. */
static int read_confirmed_for(struct member *m, unsigned long long pass)
{
    member_reads *rd = &m->reads;
    return rd->confirmed_term == libraft_term(&m->raft) && rd->confirmed_pass >= pass;
}

/* The read waits (in the registry) until the engine reaches index (0:
 * until a round that serves it is confirmed). */
static int read_wait(struct member *m, const serve_gate *g, raft_index index)
{
    if (member_wait_read(&m->waits, g->client, g->input_pass, index) != 0) {
        out_error(g->out, "ERR out of memory: the read could not wait for a read index");
        return SERVE_GATE_ANSWERED;
    }
    return SERVE_GATE_WAIT;
}

int member_read_gate(struct member *m, const serve_gate *g)
{
    member_reads *rd = &m->reads;
    if (read_sole_voter(m)) /* no other member can lead: nothing to be behind */
        return SERVE_GATE_GO;
    read_sync(m);
    if (!read_confirmed_for(m, g->input_pass) && !read_rounds_serve(&rd->out, g->input_pass))
        read_start(m); /* it may be confirmed at once */
    if (read_confirmed_for(m, g->input_pass)) {
        if (read_applied(m, rd->confirmed_index))
            return SERVE_GATE_GO; /* confirmed after its bytes came, and applied */
        return read_wait(m, g, rd->confirmed_index); /* step 3 */
    }
    /* The planted mistake unconfirmed-reads (member.h): a round started
     * after the read came is taken as confirmed. */
    const read_round *newest = read_rounds_newest(&rd->out);
    if (m->planted_unconfirmed_reads && newest != NULL && newest->pass >= g->input_pass &&
        read_applied(m, newest->index))
        return SERVE_GATE_GO;
    return read_wait(m, g, 0);
}

void member_read_answer(void *arg, uint64_t id, uint64_t term, uint64_t round)
{
    struct member *m = arg;
    member_reads *rd = &m->reads;
    const read_round *newest = read_rounds_newest(&rd->out);
    if (newest == NULL || raft_state(&m->raft) != RAFT_LEADER ||
        libraft_term(&m->raft) != newest->term)
        return; /* no round out, or rounds of a term over (read_sync ends them) */
    read_round end;
    int state = read_rounds_answer(&rd->out, id, term, round, &end);
    if (state != READ_ROUND_OPEN)
        read_ended(m, state, &end);
}

static void read_barrier_done(struct raft_barrier *req, int status)
{
    struct member *m = MEMBER_OF(reads.barrier_req, req);
    m->reads.barrier_busy = 0;
    if (status != 0)
        m->reads.barrier_after = uv_now(&m->loop) + READ_BARRIER_RETRY_MS;
    /* member_read_kick, after libuv's turn, starts the reads' round, or
     * wants the barrier again. */
}

void member_read_kick(struct member *m)
{
    member_reads *rd = &m->reads;
    read_sync(m);
    /* Reads with no read index that no round in flight serves (they came
     * before the barrier of step 1, or a round could not start). */
    if (raft_state(&m->raft) == RAFT_LEADER &&
        member_waits_unindexed(&m->waits, read_rounds_last_pass(&rd->out)))
        read_start(m);
    uint64_t now = uv_now(&m->loop);
    if (rd->barrier_wanted && !rd->barrier_busy && now >= rd->barrier_after &&
        raft_state(&m->raft) == RAFT_LEADER) {
        rd->barrier_wanted = 0;
        rd->barrier_busy = 1;
        rd->barriers++;
        if (raft_barrier(&m->raft, &rd->barrier_req, read_barrier_done) != 0)
            read_barrier_done(&rd->barrier_req, RAFT_NOTLEADER);
    }
    const read_round *oldest = read_rounds_oldest(&rd->out);
    if (oldest != NULL) {
        read_ask(m); /* links closed since (a peer restarted, a cut healed) */
        unsigned said_ms = m->opt.election_ms != 0 ? m->opt.election_ms : 1000;
        if (rd->said_round < oldest->number && now - oldest->ms > said_ms) {
            rd->said_round = oldest->number;
            member_say(m, "read round %llu: %zu of %zu voters answered in %llu ms; its reads "
                       "wait", (unsigned long long)oldest->number, oldest->yes,
                       oldest->nvoters, (unsigned long long)(now - oldest->ms));
        }
    }
    /* Step 3: reads confirmed but not applied yet run again as it goes on. */
    read_wake_applied(m);
}

int member_read_timeout(struct member *m)
{
    member_reads *rd = &m->reads;
    if (rd->barrier_wanted && !rd->barrier_busy) {
        uint64_t now = uv_now(&m->loop);
        return rd->barrier_after > now ? (int)(rd->barrier_after - now) : 0;
    }
    if (rd->out.n > 0)
        return PEER_CONFIRM_REDIAL_MS;
    /* Reads wait for a round that could not start (out of memory), unless
     * a barrier is out or a later term's answer ended this term's (R2:
     * libraft's timers step it down). */
    if (raft_state(&m->raft) == RAFT_LEADER && !rd->barrier_busy &&
        member_waits_unindexed(&m->waits, read_rounds_last_pass(&rd->out)) &&
        rd->failed_term != libraft_term(&m->raft))
        return READ_BARRIER_RETRY_MS;
    return -1;
}

void member_read_figures(struct member *m, serve_figure_fn fn, void *ctx)
{
    fn(ctx, &(serve_figure){"raft_read_rounds", "Rounds of the read index confirmed by a "
                            "majority (reads at the leader).", NULL, NULL, 1,
                            (double)m->reads.confirmed});
    fn(ctx, &(serve_figure){"raft_read_rounds_failed", "Rounds of the read index that a "
                            "later term's answer failed.", NULL, NULL, 1,
                            (double)m->reads.failed});
    fn(ctx, &(serve_figure){"raft_read_barriers", "Barriers appended so that an entry of "
                            "the leader's term is committed before it serves reads.", NULL,
                            NULL, 1, (double)m->reads.barriers});
}

void member_read_free(struct member *m)
{
    read_rounds_free(&m->reads.out);
}
