/*
 * lab_raft.c: the lab page's door into stage 10 (docs/lab.md, "Stage 10:
 * a group"): three members of a Raft group in one module, on libraft's
 * fixture (raft/fixture.h: an in-memory network and disk, a clock that
 * moves only when the page steps it), each applying the committed log to
 * an engine of its own (stage 09's) through stage 10's replica code
 * (replica_fsm.h), exactly as stages/10-raft/tests/group_test.c runs
 * them.  Compiled to build/wasm/lab/kv-10-raft.js (web/wasm.mk,
 * WASM_RAFT=1); web/src/group.js calls it.
 *
 * Interface rules:
 *   - One group at a time; lab_group_open closes the one before.
 *     Members are numbered 1..3, as their Raft ids.
 *   - Every call answers with JSON text, valid until the next call:
 *       {"ok": true|false, "message": "...", "value": "..." (a get),
 *        "group": {the picture: lab_group_describe's}}
 *     so the page draws the group again after each action.
 *   - Keys and values are C strings (the page's text fields).
 *   - The clock moves only inside calls: lab_group_step by the time
 *     asked, put, get and del until their request is answered or
 *     LAB_GROUP_WAIT_MS have passed (then the answer says it is still
 *     pending: a leader cut off from the majority commits nothing).
 *   - A put or delete goes to the leader (the alive member in state
 *     leader with the highest term), is appended to its log and answers
 *     once the leader has applied it.  A get with member 0 asks the
 *     leader for a barrier first (a read the majority confirms), then
 *     reads its engine; with member 1..3 it reads that member's engine
 *     as it is, stale or not.
 *   - kill and restart are the fixture's: a killed member stops (no
 *     ticks, nothing delivered to or from it); restarted, it goes on
 *     from the log and engine it had, and catches up from the leader
 *     (by a snapshot when the leader's log no longer holds what it
 *     misses: snapshots every LAB_GROUP_SNAPSHOT_EVERY entries).
 */
#include <raft.h>
#include <raft/fixture.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "command.h"
#include "kv.h"
#include "libraft_fields.h"
#include "replica_fsm.h"

#define LAB_GROUP_MEMBERS 3
#define LAB_GROUP_WAIT_MS 3000u
#define LAB_GROUP_SNAPSHOT_EVERY 16u
#define LAB_GROUP_KEYS_SHOWN 40

typedef struct lab_group {
    int open;
    unsigned generation;           /* each open's directory: DIR/g<N>/m<id> */
    struct raft_fixture f;
    replica *r[LAB_GROUP_MEMBERS];
    replica_fsm fsm[LAB_GROUP_MEMBERS];
    int cut[LAB_GROUP_MEMBERS];    /* disconnected from every other member */
    int found[LAB_GROUP_MEMBERS];  /* the last command applied: its first write's key
                                      held a value just before it (a delete's answer) */
} lab_group;

static lab_group g;
static char *out;
static size_t out_len, out_cap;
static int out_cut;

/* ---- the answer's text ---- */

static void out_put(const char *p, size_t n)
{
    if (out_cut)
        return;
    if (out_len + n + 1 > out_cap) {
        size_t cap = out_cap ? out_cap : 4096;
        while (cap < out_len + n + 1)
            cap *= 2;
        char *grown = realloc(out, cap);
        if (grown == NULL) {
            out_cut = 1;
            return;
        }
        out = grown;
        out_cap = cap;
    }
    memcpy(out + out_len, p, n);
    out_len += n;
    out[out_len] = '\0';
}

static void out_s(const char *s) { out_put(s, strlen(s)); }

static void out_fmt(const char *fmt, unsigned long long v)
{
    char b[64];
    snprintf(b, sizeof b, fmt, v);
    out_s(b);
}

/* p[0..n) as a JSON string: quotes, backslashes and control bytes
 * escaped, other bytes as they are (the page's keys are UTF-8). */
static void out_json(const void *p, size_t n)
{
    const unsigned char *s = p;
    out_s("\"");
    for (size_t i = 0; i < n; i++) {
        char b[8];
        if (s[i] == '"' || s[i] == '\\') {
            b[0] = '\\';
            b[1] = (char)s[i];
            out_put(b, 2);
        } else if (s[i] < 0x20) {
            snprintf(b, sizeof b, "\\u%04x", s[i]);
            out_s(b);
        } else {
            out_put((const char *)s + i, 1);
        }
    }
    out_s("\"");
}

/* ---- the group ---- */

static const char *state_name(int state)
{
    switch (state) {
    case RAFT_FOLLOWER: return "follower";
    case RAFT_CANDIDATE: return "candidate";
    case RAFT_LEADER: return "leader";
    default: return "unavailable";
    }
}

/* The leader: the alive member in state leader with the highest term
 * (a leader cut off from the majority may not know yet that it is no
 * longer one), or -1. */
static int group_leader(void)
{
    int best = -1;
    for (int i = 0; i < LAB_GROUP_MEMBERS; i++) {
        struct raft *r = raft_fixture_get(&g.f, (unsigned)i);
        if (!raft_fixture_alive(&g.f, (unsigned)i) || raft_state(r) != RAFT_LEADER)
            continue;
        if (best < 0 || libraft_term(r) > libraft_term(raft_fixture_get(&g.f, (unsigned)best)))
            best = i;
    }
    return best;
}

static void describe_keys(int i)
{
    kv_iter *it = NULL;
    out_s(",\"keys\":[");
    if (kv_iter_new(replica_db(g.r[i]), &it) != KV_OK) {
        out_s("],\"nkeys\":-1");
        return;
    }
    unsigned long long n = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
        size_t kl, vl;
        const void *k = kv_iter_key(it, &kl);
        if (command_key_reserved(k, kl))
            continue; /* the replica's own: its applied index */
        if (n < LAB_GROUP_KEYS_SHOWN) {
            const void *v = kv_iter_value(it, &vl);
            out_s(n ? ",[" : "[");
            out_json(k, kl);
            out_s(",");
            out_json(v, vl);
            out_s("]");
        }
        n++;
    }
    kv_iter_free(it);
    out_fmt("],\"nkeys\":%llu", n);
}

/* The picture: {"time": ms, "leader": id or 0, "members": [...]}. */
static void describe(void)
{
    if (!g.open) {
        out_s("null");
        return;
    }
    int leader = group_leader();
    out_fmt("{\"time\":%llu", (unsigned long long)raft_fixture_time(&g.f));
    out_fmt(",\"leader\":%llu,\"members\":[", leader < 0 ? 0ull : (unsigned long long)leader + 1);
    for (int i = 0; i < LAB_GROUP_MEMBERS; i++) {
        struct raft *r = raft_fixture_get(&g.f, (unsigned)i);
        int alive = raft_fixture_alive(&g.f, (unsigned)i);
        out_fmt(i ? ",{\"id\":%llu" : "{\"id\":%llu", (unsigned long long)libraft_id(r));
        out_s(",\"state\":");
        out_json(alive ? state_name(raft_state(r)) : "killed",
                 strlen(alive ? state_name(raft_state(r)) : "killed"));
        out_fmt(",\"alive\":%llu", (unsigned long long)alive);
        out_fmt(",\"cut\":%llu", (unsigned long long)g.cut[i]);
        out_fmt(",\"term\":%llu", (unsigned long long)libraft_term(r));
        out_fmt(",\"voted_for\":%llu", (unsigned long long)libraft_voted_for(r));
        out_fmt(",\"last_index\":%llu", (unsigned long long)raft_last_index(r));
        out_fmt(",\"commit\":%llu", (unsigned long long)libraft_commit_index(r));
        out_fmt(",\"applied\":%llu", (unsigned long long)raft_last_applied(r));
        out_fmt(",\"engine_applied\":%llu", (unsigned long long)replica_applied(g.r[i]));
        out_fmt(",\"snapshot_index\":%llu", (unsigned long long)libraft_snapshot_index(r));
        out_fmt(",\"snapshots\":%llu", (unsigned long long)g.fsm[i].snapshots);
        out_fmt(",\"restores\":%llu", (unsigned long long)g.fsm[i].restores);
        out_fmt(",\"failed\":%llu", (unsigned long long)(g.fsm[i].failed != KV_OK));
        describe_keys(i);
        out_s("}");
    }
    out_s("]}");
}

/* Starts the answer: {"ok":..,"message":"..." (the rest by the caller). */
static void answer_begin(int ok, const char *message)
{
    out_len = 0;
    out_cut = 0;
    out_put("", 0);
    out_s(ok ? "{\"ok\":true,\"message\":" : "{\"ok\":false,\"message\":");
    out_json(message, strlen(message));
}

static const char *answer_end(void)
{
    out_s(",\"group\":");
    describe();
    out_s("}");
    if (out_cut) /* out of memory: what fits in a static answer */
        return "{\"ok\":false,\"message\":\"the answer did not fit in memory\",\"group\":null}";
    return out;
}

static const char *answer(int ok, const char *message)
{
    answer_begin(ok, message);
    return answer_end();
}

static void group_close(void)
{
    if (!g.open)
        return;
    raft_fixture_close(&g.f);
    for (int i = 0; i < LAB_GROUP_MEMBERS; i++) {
        replica_fsm_free(&g.fsm[i]);
        replica_close(g.r[i]);
    }
    g.open = 0;
}

const char *lab_group_close(void)
{
    group_close();
    return answer(1, "closed");
}

/* What the last command a member applied found (replica_fsm.h). */
static void note_found(void *arg, command_origin origin, uint64_t index,
                       const replica_result *res)
{
    (void)origin, (void)index;
    *(int *)arg = res->nexisted > 0 && res->existed[0];
}

/* Opens a new group whose members' engines live under dir (dir/g<N>/m1
 * .. m3), bootstraps it, and steps until it has a leader. */
const char *lab_group_open(const char *dir)
{
    char msg[640], path[512];
    group_close();
    unsigned gen = g.generation + 1;
    memset(&g, 0, sizeof g);
    g.generation = gen;
    if (raft_fixture_initialize(&g.f) != 0)
        return answer(0, "raft_fixture_initialize failed");
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/g%u", dir, gen);
    mkdir(path, 0755);
    for (int i = 0; i < LAB_GROUP_MEMBERS; i++) {
        snprintf(path, sizeof path, "%s/g%u/m%d", dir, gen, i + 1);
        int rc = replica_open(path, NULL, &g.r[i]);
        if (rc != KV_OK) {
            snprintf(msg, sizeof msg, "replica_open %s: %s", path, kv_errmsg());
            for (int j = 0; j < i; j++) {
                replica_fsm_free(&g.fsm[j]);
                replica_close(g.r[j]);
            }
            raft_fixture_close(&g.f);
            return answer(0, msg);
        }
        replica_fsm_init(&g.fsm[i], g.r[i]);
        g.fsm[i].applied = note_found;
        g.fsm[i].applied_arg = &g.found[i];
        if (raft_fixture_grow(&g.f, &g.fsm[i].fsm) != 0)
            return answer(0, "raft_fixture_grow failed");
        struct raft *raft = raft_fixture_get(&g.f, (unsigned)i);
        replica_fsm_attach(&g.fsm[i], raft);
        raft_set_snapshot_threshold(raft, LAB_GROUP_SNAPSHOT_EVERY);
        raft_set_snapshot_trailing(raft, 4);
    }
    g.open = 1;
    struct raft_configuration conf;
    if (raft_fixture_configuration(&g.f, LAB_GROUP_MEMBERS, &conf) != 0 ||
        raft_fixture_bootstrap(&g.f, &conf) != 0) {
        group_close();
        return answer(0, "the group could not be bootstrapped");
    }
    raft_configuration_close(&conf);
    if (raft_fixture_start(&g.f) != 0) {
        group_close();
        return answer(0, "raft_fixture_start failed");
    }
    int elected = raft_fixture_step_until_has_leader(&g.f, 10000);
    return answer(1, elected ? "three members started; they elected a leader"
                             : "three members started; no leader within 10 s");
}

static const char *need_open(void)
{
    return g.open ? NULL : answer(0, "no group: open one");
}

/* Moves the clock ms milliseconds: ticks, messages delivered, elections. */
const char *lab_group_step(unsigned ms)
{
    const char *no = need_open();
    if (no)
        return no;
    raft_fixture_step_until_elapsed(&g.f, ms);
    char msg[64];
    snprintf(msg, sizeof msg, "%u ms passed", ms);
    return answer(1, msg);
}

/* Steps until some member leads (at most 10 s of the group's time). */
const char *lab_group_elect(void)
{
    const char *no = need_open();
    if (no)
        return no;
    if (group_leader() >= 0)
        return answer(1, "there is a leader already");
    raft_time t0 = raft_fixture_time(&g.f);
    int ok = raft_fixture_step_until_has_leader(&g.f, 10000) && group_leader() >= 0;
    char msg[96];
    snprintf(msg, sizeof msg, ok ? "a leader after %llu ms" : "no leader after %llu ms",
             (unsigned long long)(raft_fixture_time(&g.f) - t0));
    return answer(ok, msg);
}

/* A request in flight.  Freed by whoever finishes last: the wait (if the
 * answer came) or the callback (if the wait gave up first). */
typedef struct lab_request {
    union {
        struct raft_apply apply;
        struct raft_barrier barrier;
    } req;
    int done, status, outcome, waiting, existed;
} lab_request;

static void request_finish(lab_request *q, int status)
{
    q->done = 1;
    q->status = status;
    if (!q->waiting)
        free(q);
}

static void apply_done(struct raft_apply *req, int status, void *result)
{
    lab_request *q = req->data;
    q->outcome = status == 0 ? replica_fsm_outcome(result) : -1;
    request_finish(q, status);
}

static void barrier_done(struct raft_barrier *req, int status)
{
    request_finish(req->data, status);
}

static bool request_answered(struct raft_fixture *f, void *arg)
{
    (void)f;
    return ((lab_request *)arg)->done;
}

/* Steps until q is answered or LAB_GROUP_WAIT_MS pass: 1 if answered
 * (then the caller frees q), 0 if not (the callback will free it). */
static int request_wait(lab_request *q)
{
    q->waiting = 1;
    if (!q->done)
        raft_fixture_step_until(&g.f, request_answered, q, LAB_GROUP_WAIT_MS);
    q->waiting = 0;
    return q->done;
}

/* A put (val != NULL) or delete of key, through the leader. */
static const char *group_write(const char *key, const char *val)
{
    const char *no = need_open();
    if (no)
        return no;
    int leader = group_leader();
    if (leader < 0)
        return answer(0, "no leader: step the clock until one is elected");
    command *c = NULL;
    if (command_new(&c) != KV_OK)
        return answer(0, "out of memory");
    int rc = val ? command_put(c, key, strlen(key), val, strlen(val))
                 : command_delete(c, key, strlen(key));
    if (rc != KV_OK) {
        char msg[160];
        snprintf(msg, sizeof msg, "refused: %s", kv_errmsg());
        command_free(c);
        return answer(0, msg);
    }
    size_t len;
    const uint8_t *bytes = command_bytes(c, &len);
    struct raft_buffer buf = {raft_malloc(len), len};
    lab_request *q = calloc(1, sizeof *q);
    if (buf.base == NULL || q == NULL) {
        raft_free(buf.base);
        free(q);
        command_free(c);
        return answer(0, "out of memory");
    }
    memcpy(buf.base, bytes, len);
    command_free(c);
    struct raft *r = raft_fixture_get(&g.f, (unsigned)leader);
    raft_index index = raft_last_index(r) + 1;
    q->req.apply.data = q;
    char msg[200];
    rc = raft_apply(r, &q->req.apply, &buf, 1, apply_done);
    if (rc != 0) {
        raft_free(buf.base);
        free(q);
        snprintf(msg, sizeof msg, "member %d refused it: %s", leader + 1, raft_strerror(rc));
        return answer(0, msg);
    }
    if (!request_wait(q)) {
        snprintf(msg, sizeof msg,
                 "appended at index %llu on member %d, not committed within %u ms: no majority "
                 "answers it (still pending)",
                 (unsigned long long)index, leader + 1, LAB_GROUP_WAIT_MS);
        return answer(0, msg);
    }
    int ok = q->status == 0;
    if (!ok)
        snprintf(msg, sizeof msg, "index %llu on member %d failed: %s", (unsigned long long)index,
                 leader + 1, raft_strerror(q->status));
    else if (val)
        snprintf(msg, sizeof msg, "committed at index %llu; leader %d applied it",
                 (unsigned long long)index, leader + 1);
    else
        snprintf(msg, sizeof msg, "committed at index %llu; leader %d applied it (%s)",
                 (unsigned long long)index, leader + 1,
                 g.found[leader] ? "the key was there" : "the key was absent");
    free(q);
    return answer(ok, msg);
}

const char *lab_group_put(const char *key, const char *val)
{
    return group_write(key, val);
}

const char *lab_group_del(const char *key)
{
    return group_write(key, NULL);
}

/* key's value: member 0, the leader's after a barrier; 1..3, that
 * member's engine as it is. */
const char *lab_group_get(const char *key, int member)
{
    const char *no = need_open();
    if (no)
        return no;
    char msg[200];
    int i = member - 1;
    if (member < 0 || member > LAB_GROUP_MEMBERS)
        return answer(0, "no such member");
    if (member == 0) {
        i = group_leader();
        if (i < 0)
            return answer(0, "no leader: step the clock until one is elected");
        lab_request *q = calloc(1, sizeof *q);
        if (q == NULL)
            return answer(0, "out of memory");
        q->req.barrier.data = q;
        int rc = raft_barrier(raft_fixture_get(&g.f, (unsigned)i), &q->req.barrier, barrier_done);
        if (rc != 0) {
            free(q);
            snprintf(msg, sizeof msg, "member %d refused a barrier: %s", i + 1, raft_strerror(rc));
            return answer(0, msg);
        }
        if (!request_wait(q)) {
            snprintf(msg, sizeof msg,
                     "leader %d could not confirm it leads within %u ms: no majority answers it",
                     i + 1, LAB_GROUP_WAIT_MS);
            return answer(0, msg);
        }
        int status = q->status;
        free(q);
        if (status != 0) {
            snprintf(msg, sizeof msg, "leader %d's barrier failed: %s", i + 1,
                     raft_strerror(status));
            return answer(0, msg);
        }
    }
    void *v = NULL;
    size_t n = 0;
    int rc = kv_get(replica_db(g.r[i]), key, strlen(key), &v, &n);
    if (rc == KV_NOT_FOUND) {
        snprintf(msg, sizeof msg, "not found on member %d", i + 1);
        return answer(1, msg);
    }
    if (rc != KV_OK) {
        snprintf(msg, sizeof msg, "member %d: %s", i + 1, kv_errmsg());
        return answer(0, msg);
    }
    snprintf(msg, sizeof msg, member == 0 ? "read from leader %d after a barrier"
                                          : "read from member %d's engine as it is", i + 1);
    answer_begin(1, msg);
    out_s(",\"value\":");
    out_json(v, n);
    kv_free(v);
    return answer_end();
}

static int member_index(int member) { return member >= 1 && member <= LAB_GROUP_MEMBERS; }

/* Cuts member off from every other member, both ways. */
const char *lab_group_partition(int member)
{
    const char *no = need_open();
    if (no)
        return no;
    if (!member_index(member))
        return answer(0, "no such member");
    unsigned i = (unsigned)member - 1;
    for (unsigned j = 0; j < LAB_GROUP_MEMBERS; j++)
        if (j != i) {
            raft_fixture_disconnect(&g.f, i, j);
            raft_fixture_disconnect(&g.f, j, i);
        }
    g.cut[i] = 1;
    char msg[96];
    snprintf(msg, sizeof msg, "member %d is cut off from the others", member);
    return answer(1, msg);
}

/* Reconnects every member to every other. */
const char *lab_group_heal(void)
{
    const char *no = need_open();
    if (no)
        return no;
    for (unsigned i = 0; i < LAB_GROUP_MEMBERS; i++) {
        for (unsigned j = 0; j < LAB_GROUP_MEMBERS; j++)
            if (i != j)
                raft_fixture_reconnect(&g.f, i, j);
        g.cut[i] = 0;
    }
    return answer(1, "every member reaches every other again");
}

const char *lab_group_kill(int member)
{
    const char *no = need_open();
    if (no)
        return no;
    if (!member_index(member))
        return answer(0, "no such member");
    if (!raft_fixture_alive(&g.f, (unsigned)member - 1))
        return answer(0, "that member is killed already");
    raft_fixture_kill(&g.f, (unsigned)member - 1);
    char msg[64];
    snprintf(msg, sizeof msg, "member %d killed", member);
    return answer(1, msg);
}

const char *lab_group_restart(int member)
{
    const char *no = need_open();
    if (no)
        return no;
    if (!member_index(member))
        return answer(0, "no such member");
    if (raft_fixture_alive(&g.f, (unsigned)member - 1))
        return answer(0, "that member is running");
    raft_fixture_revive(&g.f, (unsigned)member - 1);
    char msg[96];
    snprintf(msg, sizeof msg, "member %d runs again, from the log and engine it had", member);
    return answer(1, msg);
}

const char *lab_group_describe(void)
{
    return answer(g.open, g.open ? "" : "no group");
}
