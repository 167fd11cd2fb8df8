/*
 * peer_admit.c: which accepted connections a member spends its work on,
 * and for how long (peer_transport.h, P3 and P4).
 *
 * An open port is an invitation: anyone who can reach it can open
 * connections and then say nothing, or half an opening, or stop in the
 * middle of a TLS handshake.  Each such connection costs the member a
 * descriptor, memory and, for a handshake, CPU; bounded by one pool,
 * they could fill it and keep the group's own links from opening (a
 * restarted member that cannot rejoin, a leader's death with no one
 * able to reach the others).  So:
 *
 *   - each connection has a short time for each step: opening_ms for
 *     its 16 clear bytes (a member writes them with its connect), then
 *     handshake_ms for the TLS handshake and the hello; up to slack times
 *     that while the slots are mostly free (admit_deadline), since every
 *     connection closed is one a flood opens again, and opening one costs
 *     the member an accept and, past the opening, a TLS handshake;
 *   - its opening must name a member the configuration holds (admits):
 *     a member removed is refused there, before any TLS;
 *   - connections not open yet hold slots: at most PEER_PER_SOURCE from
 *     one address, unless it is a member's (their addresses are known),
 *     and PEER_MAX_UNFINISHED in all;
 *   - one over a bound is parked, not closed: accepted but not read,
 *     promoted in its turn when a slot frees, closed after
 *     PEER_PARKED_MS.  Closing it at once would invite a stranger to
 *     reconnect at once, in a loop that costs the member its CPU; held,
 *     a reconnecting stranger waits as long as a patient one.
 *
 * This file keeps the books (slots, the parked, the addresses' counts,
 * the deadlines) and answers; peer_conn.c acts on its answers (reads,
 * parks, refuses, starts the timers).
 *
 * The table of addresses' counts is open addressing on the IPv4 address
 * (0.0.0.0 never connects, so 0 marks a free entry), with backward-shift
 * deletion; it holds strangers' addresses only, at most
 * PEER_MAX_UNFINISHED of them in PEER_SOURCE_SLOTS entries.
 */
#include <stdio.h>

#include "peer_conn.h"

const char *const peer_refusal_name[PEER_REFUSALS] = {
    "opening", "not_member", "source_bound", "full", "opening_timeout", "handshake_timeout",
    "tls", "identity", "hello", "message", "left", "not_ready", "no_address", "rate",
    "replaced", "memory", "other"};

static size_t source_home(uint32_t ip)
{
    return (size_t)((ip * 2654435761u) >> 20) & (PEER_SOURCE_SLOTS - 1); /* Knuth's multiplier */
}

/* The entry of ip, or the free one where it would go. */
static size_t source_find(const peer_transport *pt, uint32_t ip)
{
    size_t i = source_home(ip);
    while (pt->sources[i].ip != 0 && pt->sources[i].ip != ip)
        i = (i + 1) & (PEER_SOURCE_SLOTS - 1);
    return i;
}

static uint32_t source_count(const peer_transport *pt, uint32_t ip)
{
    return pt->sources[source_find(pt, ip)].n;
}

static void source_add(peer_transport *pt, uint32_t ip)
{
    size_t i = source_find(pt, ip);
    pt->sources[i].ip = ip;
    pt->sources[i].n++;
}

static void source_drop(peer_transport *pt, uint32_t ip)
{
    size_t i = source_find(pt, ip);
    if (pt->sources[i].ip == 0 || --pt->sources[i].n > 0)
        return;
    /* Backward shift: the entries after it that would find it empty on
     * their way home move back. */
    size_t hole = i;
    for (size_t j = (i + 1) & (PEER_SOURCE_SLOTS - 1); pt->sources[j].ip != 0;
         j = (j + 1) & (PEER_SOURCE_SLOTS - 1)) {
        size_t home = source_home(pt->sources[j].ip);
        int between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!between) {
            pt->sources[hole] = pt->sources[j];
            hole = j;
        }
    }
    pt->sources[hole].ip = 0;
    pt->sources[hole].n = 0;
}

static unsigned admit_or(unsigned given, unsigned dflt)
{
    return given != 0 ? given : dflt;
}

static size_t admit_max(const peer_transport *pt)
{
    return admit_or(pt->cfg.max_unfinished, PEER_MAX_UNFINISHED);
}

/* P3e: a token bucket, refilled to now (milli-tokens; rate a second). */
static void bucket_fill(peer_bucket *b, long long now, unsigned rate)
{
    long long full = PEER_STRANGER_BURST * 1000LL, milli = b->milli;
    if (now > b->at)
        milli += (now - b->at) * (long long)rate; /* rate tokens a second: rate milli a ms */
    b->milli = milli < full ? milli : full;
    b->at = now;
}

/* The bucket of stranger address ip, refilled to now.  Addresses share an
 * entry of the table by their hash: one whose bucket is full again
 * (unused for a while) is taken over; one still spending keeps it, and
 * the newcomer spends from it too (sharing slows both, never neither). */
static peer_bucket *bucket_of(peer_transport *pt, uint32_t ip)
{
    long long now = (long long)uv_now(pt->loop);
    peer_bucket *b = &pt->buckets[source_home(ip)];
    bucket_fill(b, now, PEER_STRANGER_RATE);
    if (b->ip != ip && b->milli == PEER_STRANGER_BURST * 1000LL)
        b->ip = ip;
    bucket_fill(&pt->strangers, now, PEER_STRANGERS_RATE);
    return b;
}

/* The bound c would pass if it took a slot now: 0 if none. */
static int admit_over(peer_transport *pt, const peer_conn *c)
{
    if (pt->unfinished >= admit_max(pt))
        return PEER_REFUSED_FULL;
    if (c->member_src)
        return 0;
    if (source_count(pt, c->src) >= admit_or(pt->cfg.per_source, PEER_PER_SOURCE))
        return PEER_REFUSED_SOURCE;
    if (bucket_of(pt, c->src)->milli < 1000 || pt->strangers.milli < 1000)
        return PEER_REFUSED_RATE;
    return 0;
}

/* A step's deadline (P3a): base times the slack while at most a quarter
 * of the slots are taken, falling to base itself when all are. */
static unsigned admit_deadline(const peer_transport *pt, unsigned base)
{
    double slack = admit_or(pt->cfg.slack, PEER_SLACK);
    double full = (double)pt->unfinished / (double)admit_max(pt);
    double k = full <= 0.25 ? slack : full >= 1 ? 1 : slack - (slack - 1) * (full - 0.25) / 0.75;
    return (unsigned)((double)base * k);
}

/* c takes a slot, with opening_ms (scaled) for its opening: that ms. */
static unsigned admit_take(peer_conn *c)
{
    peer_transport *pt = c->pt;
    c->slot = 1;
    pt->unfinished++;
    if (!c->member_src) {
        source_add(pt, c->src);
        bucket_of(pt, c->src)->milli -= 1000; /* P3e: admit_over saw a token in each */
        pt->strangers.milli -= 1000;
    }
    c->state = ST_OPENING;
    return admit_deadline(pt, admit_or(pt->cfg.opening_ms, PEER_OPENING_MS));
}

static void park_unlink(peer_conn *c)
{
    peer_transport *pt = c->pt;
    if (c->park_prev != NULL)
        c->park_prev->park_next = c->park_next;
    else
        pt->park_head = c->park_next;
    if (c->park_next != NULL)
        c->park_next->park_prev = c->park_prev;
    else
        pt->park_tail = c->park_prev;
    c->park_prev = c->park_next = NULL;
    pt->parked--;
}

int peer_admit(peer_conn *c, unsigned *ms)
{
    peer_transport *pt = c->pt;
    int over = admit_over(pt, c);
    if (over == 0) {
        *ms = admit_take(c);
        return 0;
    }
    if (pt->parked >= PEER_MAX_PARKED)
        return -1;
    c->state = ST_PARKED;
    c->park_reason = over;
    c->parked_at = (long long)uv_now(pt->loop);
    c->park_prev = pt->park_tail;
    if (pt->park_tail != NULL)
        pt->park_tail->park_next = c;
    else
        pt->park_head = c;
    pt->park_tail = c;
    pt->parked++;
    *ms = over == PEER_REFUSED_RATE ? 1000 / PEER_STRANGER_RATE
                                    : admit_or(pt->cfg.parked_ms, PEER_PARKED_MS);
    return over;
}

int peer_admit_retry(peer_conn *c, unsigned *ms)
{
    peer_transport *pt = c->pt;
    int over = admit_over(pt, c);
    if (over == 0) {
        park_unlink(c);
        *ms = admit_take(c);
        return 0;
    }
    long long parked = (long long)uv_now(pt->loop) - c->parked_at;
    long long most = admit_or(pt->cfg.parked_ms, PEER_PARKED_MS);
    if (parked >= most)
        return -1;
    c->park_reason = over;
    long long wait = over == PEER_REFUSED_RATE ? 1000 / PEER_STRANGER_RATE : most - parked;
    *ms = (unsigned)(wait < most - parked ? wait : most - parked);
    return over;
}

int peer_admit_member(peer_conn *c, uint64_t id, unsigned *ms)
{
    peer_transport *pt = c->pt;
    if (pt->cfg.admits != NULL && !pt->cfg.admits(pt->cfg.arg, id))
        return 0;
    *ms = admit_deadline(pt, admit_or(pt->cfg.handshake_ms, PEER_HANDSHAKE_MS));
    return 1;
}

peer_conn *peer_admit_next(peer_transport *pt, unsigned *ms)
{
    int looked = 0; /* the first 64 parked at most: a stranger's at the head, still
                     * over its address's bound, does not hold up a member's behind it */
    if (pt->closing)
        return NULL;
    for (peer_conn *c = pt->park_head; c != NULL && looked < 64 && pt->unfinished < admit_max(pt);
         c = c->park_next, looked++)
        if (admit_over(pt, c) == 0) {
            park_unlink(c);
            *ms = admit_take(c);
            return c;
        }
    return NULL;
}

void peer_admit_release(peer_conn *c)
{
    peer_transport *pt = c->pt;
    if (c->state == ST_PARKED) {
        park_unlink(c);
        return;
    }
    if (!c->slot)
        return;
    c->slot = 0;
    pt->unfinished--;
    if (!c->member_src)
        source_drop(pt, c->src);
}

int peer_admit_late(const peer_conn *c)
{
    return c->state == ST_PARKED    ? c->park_reason
           : c->state == ST_OPENING ? PEER_REFUSED_OPENING_LATE
                                    : PEER_REFUSED_HANDSHAKE_LATE;
}

void peer_admit_counts(const peer_transport *pt, peer_counts *out)
{
    out->unfinished = pt->unfinished;
    out->parked = pt->parked;
}
