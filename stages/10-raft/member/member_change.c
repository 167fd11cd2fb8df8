/*
 * member_change.c: membership changes of a running group (member.h),
 * asked of the leader over the Redis protocol and answered once libraft
 * has committed them:
 *
 *   CLUSTER ADDMEMBER ID RAFT-HOST:PORT CLIENT-HOST:PORT
 *       1. the client addresses, through the log: a member note
 *          (member_note.h) naming the new member, and every member of the
 *          configuration whose address the log has not carried yet (those
 *          of the first configuration, from --raft-peers), so that every
 *          member, the new one too, can name them in MOVED and CLUSTER
 *          SLOTS;
 *       2. raft_add: the new member in the configuration as a spare (it
 *          counts for nothing yet);
 *       3. raft_assign to voter: the leader first catches it up (libraft
 *          sends it the log, or a snapshot, in rounds), then commits the
 *          configuration that counts it.
 *       A member already configured as a spare or standby at the same
 *       Raft address skips step 2: ADDMEMBER again finishes an addition
 *       whose catch-up failed.
 *   CLUSTER REMOVEMEMBER ID
 *       raft_remove; the leader itself is refused (transfer first).
 *   CLUSTER FAILOVER TO ID
 *       member_transfer (member_guard.c: the other voters told, then
 *       raft_transfer); +OK once ID leads (libraft gives up after an
 *       election timeout).
 *
 * Each is a row of CLUSTER's subcommands (member_cluster_cmds), which
 * the gate knows by the row's kind (MEMBER_CHANGE_*) and whose arity it
 * checks, after the redirect: a follower answers MOVED before any word
 * after the subcommand is looked at.
 *
 * One change at a time (libraft allows one uncommitted configuration).
 * The client's request waits (the gate's WAIT, serve_ext.h) while its
 * change is under way; when it ends, the client is woken, the request
 * comes to the gate again and gets its answer there.  A follower
 * redirects the request as it does a write (MOVED to the leader).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "member.h"
#include "member_note.h"

#define CHANGE_OF(field, ptr) \
    ((struct member *)((char *)(ptr) - offsetof(struct member, change.field)))

int member_change_is(const serve_gate *g)
{
    int kind = g->cmd->kind; /* the row's (member_cluster_cmds); the server's rows: 0 */
    return kind == MEMBER_CHANGE_ADD || kind == MEMBER_CHANGE_REMOVE ||
           kind == MEMBER_CHANGE_TRANSFER;
}

/* The change ended (err NULL: +OK): its client, if still here, runs its
 * request again and reads the answer; if it left, the change is over. */
static void change_end(struct member *m, const char *err)
{
    member_change *ch = &m->change;
    ch->done = 1;
    snprintf(ch->err, sizeof ch->err, "%s", err != NULL ? err : "");
    if (serve_host_client_here(m->host, ch->client))
        serve_host_wake(m->host, ch->client);
    else
        ch->kind = MEMBER_CHANGE_NONE;
}

static void change_fail(struct member *m, const char *what, int rv)
{
    char err[256];
    snprintf(err, sizeof err, "ERR %s: %s", what, raft_strerror(rv));
    change_end(m, err);
}

static void change_promoted(struct raft_change *req, int status)
{
    struct member *m = CHANGE_OF(change_req, req);
    if (status != 0) {
        char err[256];
        snprintf(err, sizeof err, "ERR member %llu is in the configuration as a spare, but was "
                 "not made a voter (%s): CLUSTER ADDMEMBER again, or CLUSTER REMOVEMEMBER",
                 (unsigned long long)m->change.id, raft_strerror(status));
        change_end(m, err);
        return;
    }
    change_end(m, NULL);
}

static void change_promote(struct member *m)
{
    int rv = raft_assign(&m->raft, &m->change.change_req, m->change.id, RAFT_VOTER,
                         change_promoted);
    if (rv != 0)
        change_fail(m, "raft_assign (making the new member a voter)", rv);
}

static void change_added(struct raft_change *req, int status)
{
    struct member *m = CHANGE_OF(change_req, req);
    if (status != 0)
        change_fail(m, "raft_add (the new member as a spare) not committed", status);
    else
        change_promote(m);
}

static void change_noted(struct raft_apply *req, int status, void *result)
{
    (void)result;
    struct member *m = CHANGE_OF(apply_req, req);
    member_change *ch = &m->change;
    if (status != 0) {
        change_fail(m, "the new member's address was not committed", status);
        return;
    }
    member_peer p;
    if (member_peer_of(m, ch->id, &p) && p.role != -1) { /* configured: promote it */
        change_promote(m);
        return;
    }
    int rv = raft_add(&m->raft, &ch->change_req, ch->id, ch->raft_addr, change_added);
    if (rv != 0)
        change_fail(m, "raft_add (the new member as a spare)", rv);
}

static void change_removed(struct raft_change *req, int status)
{
    struct member *m = CHANGE_OF(change_req, req);
    if (status != 0)
        change_fail(m, "raft_remove not committed", status);
    else
        change_end(m, NULL);
}

static void change_transferred(struct member *m, int status)
{
    if (status != 0) {
        change_fail(m, "raft_transfer", status);
        return;
    }
    raft_id id = 0;
    const char *addr = NULL;
    raft_leader(&m->raft, &id, &addr);
    if (id == m->change.id) {
        change_end(m, NULL);
        return;
    }
    char err[256];
    snprintf(err, sizeof err, "ERR leadership did not move to member %llu within an election "
             "timeout (the leader now: %llu, 0 if none)", (unsigned long long)m->change.id,
             (unsigned long long)id);
    change_end(m, err);
}

/* The id argument: 1 and *id, or 0 after an error to c. */
static int change_id(serve_out *o, const serve_req *r, size_t i, raft_id *id)
{
    char text[24];
    size_t n = req_len(r, i);
    char *end = NULL;
    if (n > 0 && n < sizeof text) {
        memcpy(text, req_ptr(r, i), n);
        text[n] = '\0';
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno == 0 && *end == '\0' && v > 0 && text[0] != '-') {
            *id = v;
            return 1;
        }
    }
    out_error(o, "ERR a member's id is a number from 1 (got argument %zu)", i);
    return 0;
}

/* Copies argument i into out as an address: 1, or 0 after an error. */
static int change_addr(serve_out *o, const serve_req *r, size_t i, char *out, size_t cap,
                       const char *what)
{
    size_t n = req_len(r, i);
    if (n >= cap || !member_addr_valid(req_ptr(r, i), n)) {
        out_error(o, "ERR the %s address is HOST:PORT, at most %u bytes", what,
                  MEMBER_ADDR_MAX);
        return 0;
    }
    memcpy(out, req_ptr(r, i), n);
    out[n] = '\0';
    return 1;
}

/* Starts ADDMEMBER: 1 (under way), or 0 after an answer to c. */
static int change_add(struct member *m, const serve_gate *g)
{
    member_change *ch = &m->change;
    serve_out *o = g->out;
    const serve_req *r = g->req;
    if (!serve_arity_fits(g->cmd->arity, r->argc)) {
        out_error(o, "ERR CLUSTER ADDMEMBER ID RAFT-HOST:PORT CLIENT-HOST:PORT");
        return 0;
    }
    if (!change_id(o, r, 2, &ch->id) ||
        !change_addr(o, r, 3, ch->raft_addr, sizeof ch->raft_addr, "Raft") ||
        !change_addr(o, r, 4, ch->client_addr, sizeof ch->client_addr, "client"))
        return 0;
    const struct raft_configuration *conf = libraft_configuration(&m->raft);
    for (unsigned i = 0; i < conf->n; i++) {
        const struct raft_server *sv = &conf->servers[i];
        int same_addr = strcmp(sv->address, ch->raft_addr) == 0;
        if (sv->id == ch->id && (sv->role == RAFT_VOTER || !same_addr)) {
            out_error(o, "ERR member %llu is already in the configuration (a %s at %s)",
                      (unsigned long long)sv->id, sv->role == RAFT_VOTER ? "voter" : "non-voter",
                      sv->address);
            return 0;
        }
        if (sv->id != ch->id && same_addr) {
            out_error(o, "ERR the Raft address %s is member %llu's", sv->address,
                      (unsigned long long)sv->id);
            return 0;
        }
    }
    /* The note: the new member, and every configured one the log has not
     * named yet but --raft-peers does. */
    member_note note = {.n = 1, .id = {ch->id}};
    snprintf(note.addr[0], sizeof note.addr[0], "%s", ch->client_addr);
    for (unsigned i = 0; i < conf->n && note.n < MEMBER_NOTE_MAX; i++) {
        char addr[MEMBER_ADDR_MAX + 1];
        raft_id id = conf->servers[i].id;
        if (id == ch->id || replica_member_address(m->r, id, addr, sizeof addr) != 0)
            continue;
        for (int k = 0; k < m->npeers; k++)
            if (m->peers[k].id == id && m->peers[k].client_port != 0) {
                note.id[note.n] = id;
                int w = snprintf(note.addr[note.n], sizeof note.addr[0], "%s:%d",
                                 m->peers[k].host, m->peers[k].client_port);
                /* An address too long for the note is left out, as an
                 * invalid one is: the member then has none to redirect to. */
                if (w > 0 && (size_t)w < sizeof note.addr[0])
                    note.n += member_addr_valid(note.addr[note.n], (size_t)w);
            }
    }
    uint8_t bytes[MEMBER_NOTE_HEADER + MEMBER_NOTE_MAX * (9 + MEMBER_ADDR_MAX) + 8];
    size_t len = member_note_encode(&note, bytes, sizeof bytes);
    struct raft_buffer buf = {len > 0 ? raft_malloc(len) : NULL, len};
    if (buf.base == NULL) {
        out_error(o, "ERR out of memory (or an address that does not encode)");
        return 0;
    }
    memcpy(buf.base, bytes, len);
    int rv = raft_apply(&m->raft, &ch->apply_req, &buf, 1, change_noted);
    if (rv != 0) {
        raft_free(buf.base);
        out_error(o, "ERR the new member's address could not be proposed: %s",
                  raft_strerror(rv));
        return 0;
    }
    return 1;
}

/* Starts REMOVEMEMBER: 1, or 0 after an answer to c. */
static int change_remove(struct member *m, const serve_gate *g)
{
    member_change *ch = &m->change;
    serve_out *o = g->out;
    const serve_req *r = g->req;
    if (!serve_arity_fits(g->cmd->arity, r->argc)) {
        out_error(o, "ERR CLUSTER REMOVEMEMBER ID");
        return 0;
    }
    member_peer p;
    if (!change_id(o, r, 2, &ch->id))
        return 0;
    if (!member_peer_of(m, ch->id, &p) || p.role == -1) {
        out_error(o, "ERR member %llu is not in the configuration",
                  (unsigned long long)ch->id);
        return 0;
    }
    if (ch->id == m->self->id) {
        out_error(o, "ERR member %llu leads: CLUSTER FAILOVER TO another member first, "
                  "then remove it there", (unsigned long long)ch->id);
        return 0;
    }
    int rv = raft_remove(&m->raft, &ch->change_req, ch->id, change_removed);
    if (rv != 0) {
        out_error(o, "ERR raft_remove: %s", raft_strerror(rv));
        return 0;
    }
    return 1;
}

/* Starts FAILOVER TO: 1, or 0 after an answer to c. */
static int change_transfer(struct member *m, const serve_gate *g)
{
    member_change *ch = &m->change;
    serve_out *o = g->out;
    const serve_req *r = g->req;
    if (!serve_arity_fits(g->cmd->arity, r->argc) || !serve_cmd_is(r, 2, "to")) {
        out_error(o, "ERR CLUSTER FAILOVER TO ID (a member's leadership moved to "
                  "another; Redis's own FAILOVER options are not taken)");
        return 0;
    }
    member_peer p;
    if (!change_id(o, r, 3, &ch->id))
        return 0;
    if (!member_peer_of(m, ch->id, &p) || p.role != RAFT_VOTER || ch->id == m->self->id) {
        out_error(o, "ERR member %llu is not a voter of the configuration other than "
                  "the leader", (unsigned long long)ch->id);
        return 0;
    }
    int rv = member_transfer(m, ch->id, change_transferred); /* the others told first */
    if (rv != 0) {
        out_error(o, "ERR raft_transfer: %s", raft_strerror(rv));
        return 0;
    }
    return 1;
}

int member_change_gate(struct member *m, const serve_gate *g)
{
    member_change *ch = &m->change;
    serve_out *o = g->out;
    if (ch->kind != MEMBER_CHANGE_NONE && ch->client == g->client) {
        if (!ch->done)
            return SERVE_GATE_WAIT;
        if (ch->err[0] == '\0')
            out_simple(o, "OK");
        else
            out_error(o, "%s", ch->err);
        ch->kind = MEMBER_CHANGE_NONE;
        return SERVE_GATE_ANSWERED;
    }
    if (ch->kind != MEMBER_CHANGE_NONE && ch->done && !serve_host_client_here(m->host, ch->client))
        ch->kind = MEMBER_CHANGE_NONE; /* ended, and no one is left to answer */
    if (raft_state(&m->raft) != RAFT_LEADER) {
        member_redirect(m, o, NULL, 0);
        return SERVE_GATE_ANSWERED;
    }
    if (ch->kind != MEMBER_CHANGE_NONE) {
        out_error(o, "ERR a membership change is under way (asked by client %llu): one at a "
                  "time", ch->client);
        return SERVE_GATE_ANSWERED;
    }
    int kind = g->cmd->kind; /* its row's: member_change_is */
    int started = kind == MEMBER_CHANGE_ADD      ? change_add(m, g)
                  : kind == MEMBER_CHANGE_REMOVE ? change_remove(m, g)
                                                 : change_transfer(m, g);
    if (!started)
        return SERVE_GATE_ANSWERED;
    ch->kind = kind;
    ch->client = g->client;
    ch->done = 0;
    ch->err[0] = '\0';
    return SERVE_GATE_WAIT;
}
