/*
 * group_test.c: three replicas in one process as a Raft group, on
 * libraft's fixture (raft/fixture.h: an in-memory network and disk, and
 * a clock the test moves): every member applies the same commands to the
 * same contents; a leader cut off from the others commits nothing, and
 * the majority goes on without it; a member that was down catches up,
 * by a snapshot once the others' logs have been truncated past it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <raft.h>
#include <raft/fixture.h>

#include "../../../tests/harness.h"
#include "member.h"
#include "replica_fsm.h"

#define MEMBERS 3

typedef struct group {
    struct raft_fixture f;
    replica *r[MEMBERS];
    replica_fsm fsm[MEMBERS];
} group;

static void group_start(group *g, unsigned snapshot_threshold)
{
    memset(g, 0, sizeof *g);
    CHECK_EQ(raft_fixture_initialize(&g->f), 0);
    for (int i = 0; i < MEMBERS; i++) {
        char *dir = malloc(strlen(harness_tmpdir()) + 1);
        strcpy(dir, harness_tmpdir());
        CHECK_KV(replica_open(dir, NULL, &g->r[i]), KV_OK);
        free(dir);
        replica_fsm_init(&g->fsm[i], g->r[i]);
        CHECK_EQ(raft_fixture_grow(&g->f, &g->fsm[i].fsm), 0);
        struct raft *raft = raft_fixture_get(&g->f, (unsigned)i);
        replica_fsm_attach(&g->fsm[i], raft);
        if (snapshot_threshold > 0) {
            raft_set_snapshot_threshold(raft, snapshot_threshold);
            raft_set_snapshot_trailing(raft, 2);
        }
    }
    struct raft_configuration conf;
    CHECK_EQ(raft_fixture_configuration(&g->f, MEMBERS, &conf), 0);
    CHECK_EQ(raft_fixture_bootstrap(&g->f, &conf), 0);
    raft_configuration_close(&conf);
    CHECK_EQ(raft_fixture_start(&g->f), 0);
    CHECK_MSG(raft_fixture_step_until_has_leader(&g->f, 10000), "a leader within 10 s");
}

static void group_stop(group *g)
{
    raft_fixture_close(&g->f);
    for (int i = 0; i < MEMBERS; i++) {
        replica_fsm_free(&g->fsm[i]);
        CHECK_KV(replica_close(g->r[i]), KV_OK);
    }
}

typedef struct proposal {
    struct raft_apply req;
    int done, status, outcome;
    uint8_t *bytes;
} proposal;

static void proposal_done(struct raft_apply *req, int status, void *result)
{
    proposal *p = req->data;
    p->done = 1;
    p->status = status;
    p->outcome = status == 0 ? replica_fsm_outcome(result) : -1;
}

/* Proposes "key=value" on member i (a put); returns the proposal, whose
 * fields the fixture fills as it steps. */
static proposal *propose(group *g, unsigned i, const char *key, const char *val)
{
    proposal *p = calloc(1, sizeof *p);
    command *c = NULL;
    CHECK_KV(command_new(&c), KV_OK);
    CHECK_KV(command_put(c, key, strlen(key), val, strlen(val)), KV_OK);
    size_t len;
    const uint8_t *bytes = command_bytes(c, &len);
    struct raft_buffer buf = {raft_malloc(len), len};
    memcpy(buf.base, bytes, len);
    command_free(c);
    p->req.data = p;
    int rv = raft_apply(raft_fixture_get(&g->f, i), &p->req, &buf, 1, proposal_done);
    if (rv != 0) {
        raft_free(buf.base);
        p->done = 1;
        p->status = rv;
    }
    return p;
}

/* 1 if members a and b hold the same keys and values. */
static int same_contents(replica *a, replica *b)
{
    kv_iter *ia = NULL, *ib = NULL;
    CHECK_KV(kv_iter_new(replica_db(a), &ia), KV_OK);
    CHECK_KV(kv_iter_new(replica_db(b), &ib), KV_OK);
    int same = 1;
    for (kv_iter_seek_first(ia), kv_iter_seek_first(ib); same && kv_iter_valid(ia);
         kv_iter_next(ia), kv_iter_next(ib)) {
        size_t kl1, kl2, vl1, vl2;
        if (!kv_iter_valid(ib))
            same = 0;
        else {
            const void *k1 = kv_iter_key(ia, &kl1), *k2 = kv_iter_key(ib, &kl2);
            const void *v1 = kv_iter_value(ia, &vl1), *v2 = kv_iter_value(ib, &vl2);
            same = kl1 == kl2 && memcmp(k1, k2, kl1) == 0 && vl1 == vl2 &&
                   memcmp(v1, v2, vl1) == 0;
        }
    }
    same = same && !kv_iter_valid(ib);
    kv_iter_free(ia);
    kv_iter_free(ib);
    return same;
}

static const char *get(replica *r, const char *key)
{
    static char buf[64];
    void *v = NULL;
    size_t n = 0;
    if (kv_get(replica_db(r), key, strlen(key), &v, &n) != KV_OK)
        return "-";
    snprintf(buf, sizeof buf, "%.*s", (int)n, (const char *)v);
    kv_free(v);
    return buf;
}

static void every_member_applies_the_same_commands(void)
{
    group g;
    group_start(&g, 0);
    unsigned leader = raft_fixture_leader_index(&g.f);
    proposal *p[20];
    char key[16], val[16];
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "k%d", i % 7);
        snprintf(val, sizeof val, "v%d", i);
        p[i] = propose(&g, leader, key, val);
    }
    raft_index last = raft_last_index(raft_fixture_get(&g.f, leader));
    CHECK_MSG(raft_fixture_step_until_applied(&g.f, MEMBERS, last, 10000),
              "every member applies the log up to index %llu within 10 s",
              (unsigned long long)last);
    for (int i = 0; i < 20; i++) {
        CHECK_MSG(p[i]->done && p[i]->status == 0 && p[i]->outcome == REPLICA_APPLIED,
                  "proposal %d is answered as applied (status %d)", i, p[i]->status);
        free(p[i]);
    }
    for (int i = 1; i < MEMBERS; i++)
        CHECK_MSG(same_contents(g.r[0], g.r[i]), "member %d holds what member 0 holds", i);
    CHECK_MSG(strcmp(get(g.r[2], "k5"), "v19") == 0, "k5 is v19, its last put (got %s)",
              get(g.r[2], "k5"));
    CHECK_MSG(replica_applied(g.r[1]) == replica_applied(g.r[0]),
              "the members are at the same applied index");
    group_stop(&g);
}

static void transfer_done(struct raft_transfer *req)
{
    *(int *)req->data = 1;
}

/* libraft_fields.c reads struct raft's fields where libraft 0.15's API
 * has no call: the member's id, the term, the vote, the commit index, the
 * configuration, the last snapshot's index, the leader's match indexes,
 * an entry's term and a transfer's target (the member and the lab read
 * them there, and only there).
 * What they say must agree with the library's own view through its API
 * and the fixture's, on a group that has elected a leader and committed
 * commands (and, in a_member_that_was_down_catches_up_by_snapshot, taken
 * snapshots); a libraft whose layout moved fails here. */
static void raft_internals_match_the_api(void)
{
    group g;
    group_start(&g, 0);
    unsigned leader = raft_fixture_leader_index(&g.f);
    struct raft *lr = raft_fixture_get(&g.f, leader);
    proposal *p[5];
    for (int i = 0; i < 5; i++)
        p[i] = propose(&g, leader, "k", "v");
    raft_index last = raft_last_index(lr);
    CHECK(raft_fixture_step_until_applied(&g.f, MEMBERS, last, 10000));
    raft_fixture_step_until_elapsed(&g.f, 500); /* the followers' answers counted */
    for (int i = 0; i < 5; i++)
        free(p[i]);
    CHECK_MSG(libraft_commit_index(lr) == last && raft_last_applied(lr) == last,
              "the commit index read is the last index the API gives, %llu (read %llu)",
              (unsigned long long)last, (unsigned long long)libraft_commit_index(lr));
    const struct raft_configuration *conf = libraft_configuration(lr);
    CHECK_MSG(conf->n == MEMBERS, "the configuration read holds the %d members (%u)", MEMBERS,
              conf->n);
    raft_id lid = 0;
    const char *laddr = NULL;
    raft_leader(lr, &lid, &laddr);
    for (unsigned i = 0; i < conf->n; i++)
        CHECK_MSG(conf->servers[i].id == (raft_id)i + 1 && conf->servers[i].role == RAFT_VOTER,
                  "member %u of the configuration read is voter %u", i, i + 1);
    CHECK_MSG(lid == lr->id, "the API names this member the leader");
    CHECK_MSG(libraft_id(lr) == lid && libraft_id(raft_fixture_get(&g.f, 0)) == 1,
              "the id read is the one the API names (%llu)", (unsigned long long)libraft_id(lr));
    CHECK_MSG(libraft_voted_for(lr) == lid, "the leader's vote read is for itself (%llu)",
              (unsigned long long)libraft_voted_for(lr));
    CHECK_MSG(libraft_snapshot_index(lr) == 0, "no snapshot yet (the threshold is libraft's "
              "default): the snapshot index read is 0 (%llu)",
              (unsigned long long)libraft_snapshot_index(lr));
    raft_term term = libraft_term(lr);
    CHECK_MSG(term >= 2 && term < 100, "the term read is one an election gives (%llu)",
              (unsigned long long)term);
    for (unsigned i = 0; i < MEMBERS; i++)
        CHECK_MSG(libraft_term(raft_fixture_get(&g.f, i)) == term,
                  "member %u's term read is the leader's", i);
    for (unsigned i = 0; i < conf->n; i++)
        CHECK_MSG(libraft_match_index(lr, i) == last,
                  "the leader's match index read for member %u is %llu (read %llu)", i,
                  (unsigned long long)last,
                  (unsigned long long)libraft_match_index(lr, i));
    unsigned follower = (leader + 1) % MEMBERS;
    CHECK_MSG(libraft_match_index(raft_fixture_get(&g.f, follower), 0) == 0,
              "a follower reads no match index");
    CHECK_MSG(libraft_term_of(lr, 1) == 1,
              "entry 1, the configuration the group was started with, is of term 1 (read %llu)",
              (unsigned long long)libraft_term_of(lr, 1));
    CHECK_MSG(libraft_term_of(lr, last) == term,
              "the last entry, proposed by this leader, is of its term (read %llu)",
              (unsigned long long)libraft_term_of(lr, last));
    CHECK_MSG(libraft_term_of(lr, 0) == 0 && libraft_term_of(lr, last + 1) == 0,
              "no entry 0, none past the last: term 0");
    /* Last, as it moves the leadership: a transfer asked through the API
     * is read as under way, to the member it names, until it ends. */
    CHECK_MSG(libraft_transferee(lr) == 0, "no transfer under way: the transferee read is 0");
    raft_id to = conf->servers[follower].id;
    struct raft_transfer transfer = {0};
    int moved = 0;
    transfer.data = &moved;
    CHECK_EQ(raft_transfer(lr, &transfer, to, transfer_done), 0);
    CHECK_MSG(libraft_transferee(lr) == to,
              "the transferee read is the member raft_transfer was given, %llu (read %llu)",
              (unsigned long long)to, (unsigned long long)libraft_transferee(lr));
    CHECK_MSG(libraft_transferee(raft_fixture_get(&g.f, follower)) == 0,
              "a follower reads no transfer");
    for (int i = 0; i < 10000 && !moved; i++)
        raft_fixture_step(&g.f);
    raft_leader(lr, &lid, &laddr);
    CHECK_MSG(moved && lid == to, "the transfer ended, and member %llu leads (%llu)",
              (unsigned long long)to, (unsigned long long)lid);
    CHECK_MSG(libraft_transferee(lr) == 0, "the transfer ended: the transferee read is 0 "
              "(read %llu)", (unsigned long long)libraft_transferee(lr));
    group_stop(&g);
}

static void a_cut_off_leader_commits_nothing_and_the_majority_goes_on(void)
{
    group g;
    group_start(&g, 0);
    unsigned old = raft_fixture_leader_index(&g.f);
    for (unsigned i = 0; i < MEMBERS; i++)
        if (i != old) {
            raft_fixture_disconnect(&g.f, old, i);
            raft_fixture_disconnect(&g.f, i, old);
        }
    proposal *lost = propose(&g, old, "x", "from-the-old-leader");
    /* The old leader steps down once it hears from no majority; the two
     * others elect one of them. */
    raft_fixture_step_until_elapsed(&g.f, 5000);
    unsigned fresh = MEMBERS;
    for (unsigned i = 0; i < MEMBERS; i++)
        if (i != old && raft_state(raft_fixture_get(&g.f, i)) == RAFT_LEADER)
            fresh = i;
    CHECK_MSG(fresh < MEMBERS, "the majority elects a leader of its own");
    proposal *won = propose(&g, fresh, "x", "from-the-majority");
    raft_index last = raft_last_index(raft_fixture_get(&g.f, fresh));
    for (unsigned i = 0; i < MEMBERS; i++)
        if (i != old)
            CHECK_MSG(raft_fixture_step_until_applied(&g.f, i, last, 10000),
                      "member %u applies index %llu", i, (unsigned long long)last);
    CHECK_MSG(won->done && won->status == 0, "the majority's write is acknowledged");
    CHECK_MSG(strcmp(get(g.r[old], "x"), "-") == 0,
              "the cut-off leader applied nothing: its write was never committed (x is %s)",
              get(g.r[old], "x"));
    for (unsigned i = 0; i < MEMBERS; i++)
        if (i != old) {
            raft_fixture_reconnect(&g.f, old, i);
            raft_fixture_reconnect(&g.f, i, old);
        }
    CHECK_MSG(raft_fixture_step_until_applied(&g.f, MEMBERS, last, 10000),
              "once reconnected, the old leader applies the majority's log");
    CHECK_MSG(lost->done && lost->status != 0,
              "the old leader's proposal fails (status %d): it was never acknowledged",
              lost->status);
    for (unsigned i = 0; i < MEMBERS; i++)
        CHECK_MSG(strcmp(get(g.r[i], "x"), "from-the-majority") == 0,
                  "member %u holds the majority's x (got %s)", i, get(g.r[i], "x"));
    free(lost);
    free(won);
    group_stop(&g);
}

static void a_member_that_was_down_catches_up_by_snapshot(void)
{
    group g;
    group_start(&g, 8);
    unsigned leader = raft_fixture_leader_index(&g.f);
    unsigned down = (leader + 1) % MEMBERS;
    raft_fixture_kill(&g.f, down);
    proposal *p[60];
    char key[16], val[16];
    for (int i = 0; i < 60; i++) {
        snprintf(key, sizeof key, "k%02d", i);
        snprintf(val, sizeof val, "v%d", i);
        p[i] = propose(&g, leader, key, val);
        raft_fixture_step_n(&g.f, 4);
    }
    raft_index last = raft_last_index(raft_fixture_get(&g.f, leader));
    CHECK_MSG(raft_fixture_step_until_applied(&g.f, leader, last, 10000),
              "the leader applies all 60 with one follower");
    raft_fixture_step_until_elapsed(&g.f, 1000);
    struct raft *lr = raft_fixture_get(&g.f, leader);
    raft_term written = libraft_term(lr); /* the term every key was written in */
    CHECK_MSG(libraft_snapshot_index(lr) > 0 && libraft_snapshot_index(lr) <= last &&
                  libraft_snapshot_index(lr) == lr->log.snapshot.last_index,
              "the snapshot index read is the leader's last snapshot's (%llu, last index %llu)",
              (unsigned long long)libraft_snapshot_index(lr), (unsigned long long)last);
    CHECK_MSG(lr->log.offset > 0,
              "the leader's log was truncated behind a snapshot (threshold 8): offset %llu, "
              "snapshot at %llu, last index %llu", (unsigned long long)lr->log.offset,
              (unsigned long long)lr->log.snapshot.last_index, (unsigned long long)last);
    raft_fixture_revive(&g.f, down);
    CHECK_MSG(raft_fixture_step_until_applied(&g.f, down, last, 20000),
              "the revived member catches up to index %llu", (unsigned long long)last);
    CHECK_MSG(g.fsm[down].restores == 1 && g.fsm[leader].snapshots > 0,
              "the revived member installed the leader's snapshot (%llu restores)",
              (unsigned long long)g.fsm[down].restores);
    CHECK_MSG(same_contents(g.r[leader], g.r[down]),
              "the revived member holds what the leader holds");
    CHECK_MSG(strcmp(get(g.r[down], "k00"), "v0") == 0,
              "its first key, written while it was down and truncated from the log since, "
              "came by snapshot (got %s)", get(g.r[down], "k00"));
    struct raft *dr = raft_fixture_get(&g.f, down);
    CHECK_MSG(libraft_term_of(lr, lr->log.offset + 1) == written &&
                  libraft_term_of(lr, lr->log.offset) ==
                      (lr->log.offset == lr->log.snapshot.last_index ? written : 0),
              "past a truncated log the first entry kept is read, and none before it but the "
              "snapshot's last (offset %llu: %llu, %llu; snapshot at %llu; written in %llu)",
              (unsigned long long)lr->log.offset,
              (unsigned long long)libraft_term_of(lr, lr->log.offset),
              (unsigned long long)libraft_term_of(lr, lr->log.offset + 1),
              (unsigned long long)lr->log.snapshot.last_index, (unsigned long long)written);
    CHECK_MSG(libraft_term_of(dr, dr->log.snapshot.last_index) == written &&
                  libraft_term_of(dr, last) == written,
              "a member restored from a snapshot reads its last index's term from the "
              "snapshot (%llu at %llu), and the entries after it",
              (unsigned long long)libraft_term_of(dr, dr->log.snapshot.last_index),
              (unsigned long long)dr->log.snapshot.last_index);
    for (int i = 0; i < 60; i++)
        free(p[i]);
    group_stop(&g);
}

static void snapshots_are_sized_to_the_engine(void)
{
    /* The arithmetic of Z1: the entries that hold the snapshot's bytes at
     * their mean size, never under the base, the bytes capped. */
    CHECK_EQ(snapshot_size_threshold(100000, 10, 10000, 4), 100u);
    CHECK_EQ(snapshot_size_threshold(1000, 10, 10000, 4), 4u);
    CHECK_EQ(snapshot_size_threshold(0, 0, 0, 1024), 1024u);
    CHECK_EQ(snapshot_size_threshold(4 * SNAPSHOT_SIZE_LOG_BYTES, 1, 1024, 4),
             (unsigned)(SNAPSHOT_SIZE_LOG_BYTES / 1024));
    /* Wired: members sized from a base of 4, values of 1,000 bytes.  At a
     * fixed 4 they would take a snapshot every 4 entries (10 in 40); sized,
     * each snapshot waits for about as many entries as the engine holds
     * keys, so far fewer are taken, and the threshold is Z1's. */
    group g;
    group_start(&g, 4);
    for (int i = 0; i < MEMBERS; i++)
        g.fsm[i].size.base = 4; /* as a member sets it: the threshold it starts at */
    unsigned leader = raft_fixture_leader_index(&g.f);
    proposal *p[40];
    char key[16], val[1001];
    memset(val, 'v', 1000);
    val[1000] = '\0';
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "k%02d", i);
        p[i] = propose(&g, leader, key, val);
        raft_fixture_step_n(&g.f, 4);
    }
    raft_index last = raft_last_index(raft_fixture_get(&g.f, leader));
    for (unsigned i = 0; i < MEMBERS; i++)
        CHECK_MSG(raft_fixture_step_until_applied(&g.f, i, last, 10000), "member %u applies all 40", i);
    raft_fixture_step_until_elapsed(&g.f, 1000);
    for (unsigned i = 0; i < MEMBERS; i++) {
        replica_fsm *f = &g.fsm[i];
        struct raft *r = raft_fixture_get(&g.f, i);
        CHECK_MSG(f->snapshots >= 1 && f->snapshots <= 6,
                  "member %u took between 1 and 6 snapshots in 40 entries (took %llu)", i,
                  (unsigned long long)f->snapshots);
        CHECK_MSG(r->snapshot.threshold > 4 &&
                      r->snapshot.threshold ==
                          snapshot_size_threshold(f->size.last_bytes, f->size.taken_entries,
                                                  f->size.taken_bytes, 4),
                  "member %u's threshold follows its last snapshot of %llu bytes (%u)", i,
                  (unsigned long long)f->size.last_bytes, r->snapshot.threshold);
    }
    for (int i = 0; i < 40; i++) {
        CHECK_EQ(p[i]->status, 0);
        free(p[i]);
    }
    group_stop(&g);
}

static const harness_test tests[] = {
    HARNESS_TEST(every_member_applies_the_same_commands),
    HARNESS_TEST(raft_internals_match_the_api),
    HARNESS_TEST(a_cut_off_leader_commits_nothing_and_the_majority_goes_on),
    HARNESS_TEST(a_member_that_was_down_catches_up_by_snapshot),
    HARNESS_TEST(snapshots_are_sized_to_the_engine),
};
const harness_suite group_suite = HARNESS_SUITE("group", tests);
