/*
 * member_boot.c: whether a member's Raft directory may start a group
 * (member.h).
 *
 * Raft's promise rests on each member remembering what it wrote and whom
 * it voted for.  A member whose directory was wiped and that started
 * again as before would have forgotten both: it would bootstrap a fresh
 * log, grant its vote to any candidate, and help a member that lacks
 * acknowledged writes become leader, which then overwrites them
 * everywhere.  So an empty directory never starts a group by itself:
 *
 *   - a directory that holds a log goes on from it (libraft refuses a
 *     second bootstrap), whatever the flags say;
 *   - an empty one starts the group only with --raft-bootstrap, and only
 *     once every member of the first configuration has answered a probe
 *     (peer_transport.h) saying it holds no history (no log, or only the
 *     first configuration, entry 1); a peer that holds more means the
 *     group has run, and this member is refused.  Every one, not a
 *     majority: a majority can be made of members that never held
 *     anything (a host rebuilt, one that never started) while the one
 *     that holds the history is down, and they would start a second
 *     history that overwrites the first when it comes back;
 *   - an empty one with --raft-join waits to be added, but is refused if
 *     a peer says its configuration counts this member as a voter with a
 *     history behind it: that member lost its state;
 *   - and, with TLS, a member that once held a log leaves a record beside
 *     its credentials (DIR/member-N.started): an empty directory under
 *     the same credentials is a lost state, refused even when no peer can
 *     be asked (the ones that hold the history may be down).  The record
 *     is written before the member bootstraps, and a member whose
 *     credentials directory it could not write to refuses to start
 *     (rather than run without the record).
 * A refusal says what to do: remove the member at the leader, then add
 * it back as a new one (docs/10-raft-operating.md, "Bootstrap and join").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "member.h"

#define BOOT_PROBE_MS 500
#define BOOT_SAY_MS 10000   /* how often the wait for every member is said */

typedef struct boot_probe {
    peer_probe_req req;
    struct member *m;
    int peer;          /* index in m->peers */
    int pending;
} boot_probe;

typedef struct boot_state {
    struct member *m;
    boot_probe probes[MEMBER_MAX_PEERS];
    int answered[MEMBER_MAX_PEERS];   /* 1: no history, 2: history, 0: not yet */
    peer_answer answer[MEMBER_MAX_PEERS];
} boot_state;

static boot_state *boot_of(peer_probe_req *req)
{
    boot_probe *p = req->data;
    return (boot_state *)((char *)(p - p->peer) - offsetof(boot_state, probes));
}

static void boot_probed(peer_probe_req *req, int status, const peer_answer *a)
{
    boot_probe *p = req->data;
    boot_state *b = boot_of(req);
    p->pending = 0;
    if (status != 0)
        return;
    b->answer[p->peer] = *a;
    b->answered[p->peer] = a->has_log && a->last_index > 1 ? 2 : 1;
}

/* 1 if the directory holds any of libraft's files. */
static int boot_dir_holds_log(const char *dir)
{
    char **names = NULL;
    size_t n = 0;
    if (io_list(dir, &names, &n) != KV_OK)
        return 0;
    io_list_free(names, n);
    return n > 0;
}

/* The record beside the credentials, or NULL (plain mode). */
static char *boot_marker_path(struct member *m)
{
    if (m->opt.tls == NULL)
        return NULL;
    char name[64];
    snprintf(name, sizeof name, "member-%llu.started", (unsigned long long)m->self->id);
    return io_join(m->opt.tls, name);
}

static int boot_marked(struct member *m)
{
    int marked = 0;
    return m->marker != NULL && io_exists(m->marker, &marked) == KV_OK && marked;
}

static int boot_lost(struct member *m, const char *why)
{
    member_say(m, "%s.  This member's directory %s holds no Raft log, so it has lost what it "
               "wrote and whom it voted for; started again as before, it could help elect a "
               "leader that lacks acknowledged writes.  To bring it back: at the leader, `kv "
               "HOST:PORT member remove %llu`; %sstart it with --raft-join and an empty "
               "directory; then `kv HOST:PORT member add %llu RAFT-HOST:PORT CLIENT-HOST:PORT` "
               "(docs/10-raft-operating.md, \"Bootstrap and join\")", why, m->env.dir,
               (unsigned long long)m->self->id,
               boot_marked(m) ? "delete the record named above; " : "",
               (unsigned long long)m->self->id);
    return -1;
}

/* Starts a probe of every peer not answered and not being asked. */
static void boot_ask(boot_state *b)
{
    struct member *m = b->m;
    for (int i = 0; i < m->npeers; i++) {
        boot_probe *p = &b->probes[i];
        if (&m->peers[i] == m->self || b->answered[i] != 0 || p->pending)
            continue;
        p->req.data = p;
        p->m = m;
        p->peer = i;
        p->pending = peer_probe(&m->transport, &p->req, m->peers[i].id, m->peers[i].raft_addr,
                                boot_probed) == 0;
    }
}

/* Runs the loop until no probe is pending, or about ms have passed. */
static void boot_run(boot_state *b, unsigned ms)
{
    uv_update_time(&b->m->loop);
    uint64_t end = uv_now(&b->m->loop) + ms;
    for (;;) {
        int pending = 0;
        for (int i = 0; i < b->m->npeers; i++)
            pending |= b->probes[i].pending;
        if (!pending || uv_now(&b->m->loop) >= end)
            return;
        uv_run(&b->m->loop, UV_RUN_ONCE);
        uv_update_time(&b->m->loop);
    }
}

/* --raft-bootstrap on an empty directory: 0 (start the group), or -1. */
static int boot_new_group(struct member *m, boot_state *b)
{
    long long said_ms = -1;
    for (;;) {
        boot_ask(b);
        boot_run(b, BOOT_PROBE_MS);
        int fresh = 1, total = 1; /* this member: fresh, and counted */
        char missing[256] = "";
        size_t at = 0;
        for (int i = 0; i < m->npeers; i++) {
            if (&m->peers[i] == m->self)
                continue;
            total++;
            if (b->answered[i] == 0 && at < sizeof missing)
                at += (size_t)snprintf(missing + at, sizeof missing - at, "%s%llu",
                                       at > 0 ? ", " : "", (unsigned long long)m->peers[i].id);
            if (b->answered[i] == 2) {
                char why[200];
                snprintf(why, sizeof why, "refusing to start a new group: member %llu holds "
                         "its history (its log reaches entry %llu, term %llu)",
                         (unsigned long long)m->peers[i].id,
                         (unsigned long long)b->answer[i].last_index,
                         (unsigned long long)b->answer[i].term);
                return boot_lost(m, why);
            }
            fresh += b->answered[i] == 1;
        }
        if (fresh == total)
            return 0;
        uv_update_time(&m->loop);
        long long now = (long long)uv_now(&m->loop);
        if (said_ms < 0)
            said_ms = now - BOOT_SAY_MS + 2000; /* the first time after 2 s, not at once */
        if (now - said_ms >= BOOT_SAY_MS) {
            member_say(m, "--raft-bootstrap: waiting for every member of the group (%d) to say "
                       "it holds no history before starting it; not heard yet: member %s (a "
                       "new group starts only from members that all hold nothing: "
                       "docs/10-raft-operating.md, \"Bootstrap and join\")", total, missing);
            said_ms = now;
        }
        uv_sleep(BOOT_PROBE_MS);
    }
}

/* --raft-join on an empty directory: 0 (wait to be added), or -1. */
static int boot_join(struct member *m, boot_state *b)
{
    boot_ask(b);
    for (int round = 0; round < 6; round++) /* about 3 s for peers that answer at all */
        boot_run(b, BOOT_PROBE_MS);
    for (int i = 0; i < m->npeers; i++)
        if (b->answered[i] == 2 && b->answer[i].role == RAFT_VOTER) {
            char why[200];
            snprintf(why, sizeof why, "refusing to join: member %llu's configuration counts "
                     "member %llu as a voter, with a history this member lacks (its log "
                     "reaches entry %llu)", (unsigned long long)m->peers[i].id,
                     (unsigned long long)m->self->id,
                     (unsigned long long)b->answer[i].last_index);
            return boot_lost(m, why);
        }
    return 0;
}

/* The record can be written where it goes: 0, or -1 after a message. */
static int boot_record_writable(struct member *m)
{
    int marked = 0;
    if (m->marker == NULL || (io_exists(m->marker, &marked) == KV_OK && marked))
        return 0; /* plain mode, or written already */
    if (access(m->opt.tls, W_OK) == 0)
        return 0;
    member_say(m, "refusing to start: the credentials directory %s cannot be written to (%s), "
               "so this member could not record there that it holds a Raft log, and a later "
               "start with its directory lost would not be caught (docs/10-raft-operating.md, "
               "\"Bootstrap and join\"); let this user write to it", m->opt.tls,
               strerror(errno));
    return -1;
}

/* Writes the record (once a log is, or is about to be, on disk). */
static void boot_record(struct member *m)
{
    char line[512];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int n = snprintf(line, sizeof line, "member %llu held a Raft log in %s from %04d-%02d-%02d "
                     "%02d:%02d:%02d UTC (docs/10-raft-operating.md, \"Bootstrap and join\")\n",
                     (unsigned long long)m->self->id, m->env.dir, tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    char *slash = strrchr(m->marker, '/');
    if (slash != NULL) {
        *slash = '\0';
        if (io_replace(m->marker, slash + 1, line, (size_t)n, NULL) != KV_OK)
            member_say(m, "cannot record in %s that this member holds a log (%s): a wiped "
                       "directory will be caught only by asking the other members", m->marker,
                       kv_errmsg());
        *slash = '/';
    }
    free(m->marker);
    m->marker = NULL; /* written (or given up): once */
}

int member_boot(struct member *m, int *bootstrap)
{
    *bootstrap = 0;
    m->marker = boot_marker_path(m);
    m->raft_had_log = boot_dir_holds_log(m->disk.raft_dir);
    if (boot_record_writable(m) != 0)
        return -1;
    if (m->raft_had_log)
        return 0; /* a restart: it goes on from its log */
    int marked = 0;
    if (m->marker != NULL)
        io_exists(m->marker, &marked);
    if (marked) {
        char why[512];
        snprintf(why, sizeof why, "refusing to start: %s records that member %llu held a Raft "
                 "log before", m->marker, (unsigned long long)m->self->id);
        return boot_lost(m, why);
    }
    if (!m->opt.bootstrap && !m->opt.join) {
        member_say(m, "%s holds no Raft log: start a new group with --raft-bootstrap (every "
                   "member of --raft-peers, each with an empty directory), or join a running "
                   "one with --raft-join (docs/10-raft-operating.md, \"Bootstrap and join\")",
                   m->disk.raft_dir);
        return -1;
    }
    boot_state *b = calloc(1, sizeof *b);
    if (b == NULL) {
        member_say(m, "out of memory");
        return -1;
    }
    b->m = m;
    int rc = m->opt.bootstrap ? boot_new_group(m, b) : boot_join(m, b);
    for (int i = 0; i < m->npeers; i++) /* let every probe end before b goes */
        while (b->probes[i].pending)
            uv_run(&m->loop, UV_RUN_ONCE);
    free(b);
    *bootstrap = rc == 0 && m->opt.bootstrap;
    if (*bootstrap && m->marker != NULL)
        boot_record(m); /* before the log it records is written */
    return rc;
}

void member_boot_mark(struct member *m)
{
    if (m->marker == NULL || raft_last_index(&m->raft) == 0)
        return;
    int exists = 0;
    if (io_exists(m->marker, &exists) == KV_OK && exists) {
        free(m->marker);
        m->marker = NULL;
        return;
    }
    boot_record(m);
}

void member_boot_answer(void *arg, uint64_t asker, peer_answer *out)
{
    struct member *m = arg;
    *out = (peer_answer){.role = PEER_ROLE_NONE};
    if (!m->started) { /* not started yet: what its directory held */
        out->has_log = m->raft_had_log;
        out->last_index = m->raft_had_log ? UINT64_MAX : 0; /* a log of a length not known */
        return;
    }
    out->last_index = raft_last_index(&m->raft);
    out->has_log = out->last_index > 0;
    out->term = libraft_term(&m->raft);
    const struct raft_configuration *conf = libraft_configuration(&m->raft);
    for (unsigned i = 0; i < conf->n; i++)
        if (conf->servers[i].id == asker)
            out->role = (unsigned)conf->servers[i].role;
}
