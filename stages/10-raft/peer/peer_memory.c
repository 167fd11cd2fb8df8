/*
 * peer_memory.c: what the connections not open yet may hold in memory,
 * in all (peer_transport.h, P9).
 *
 * A connection that never finishes its TLS handshake costs the member
 * memory as long as it is held: its own state, what it wrote and what
 * it read, and above all its TLS session, which after answering a
 * ClientHello holds a key share, the handshake's transcript and its
 * buffers (peer_tls.h, T4: at most PEER_TLS_HOLD).  The slots
 * (peer_admit.c) bound how many such connections there are; this file
 * bounds what they hold together, so that a flood of half handshakes
 * costs a member a known amount of memory, not its slots times whatever
 * each happens to hold.
 *
 * The books: each accepted connection not open yet is charged, in steps
 * (PEER_CONN_HOLD at its accept, PEER_TLS_HOLD when its session is
 * made), and the transport's pending is the sum.  Strangers' addresses
 * may fill three quarters of the budget; the last quarter is for
 * members' addresses, so that strangers filling theirs leave a member
 * room to link.  A charge is given back whole when the connection opens,
 * answers a probe or closes.
 *
 * Given back to the books is not given back to the system: the allocator
 * keeps freed memory for the process's next allocations, and after a
 * flood, much of what its sessions held may stay resident.  So
 * when the books come back to 0 from PEER_TRIM_AT or more, the allocator
 * (glibc's) is asked to return its free pages (malloc_trim): at once, or,
 * while closed connections have not freed their sessions yet (libuv
 * calls their handles' close callbacks later in its run), once the last
 * of them has (peer_memory_freed).
 */
#include <stdlib.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "peer_conn.h"

/* What connections from c's address may hold in all. */
static size_t memory_share(const peer_conn *c)
{
    const peer_transport *pt = c->pt;
    size_t budget = pt->cfg.pending_budget != 0 ? pt->cfg.pending_budget : PEER_PENDING_BUDGET;
    return c->member_src ? budget : budget / 4 * 3;
}

int peer_memory_take(peer_conn *c, size_t more)
{
    peer_transport *pt = c->pt;
    if (pt->pending + more > memory_share(c))
        return 0;
    pt->pending += more;
    c->held += more;
    if (pt->pending > pt->pending_peak)
        pt->pending_peak = pt->pending;
    return 1;
}

void peer_memory_give_back(peer_conn *c)
{
    peer_transport *pt = c->pt;
    pt->pending -= c->held;
    c->held = 0;
    if (pt->pending != 0 || pt->pending_peak < PEER_TRIM_AT)
        return;
    pt->pending_peak = 0;
    pt->trim_owed = 1;
    if (pt->conns_closing == 0)
        peer_memory_freed(pt);
}

void peer_memory_freed(peer_transport *pt)
{
    if (!pt->trim_owed || pt->conns_closing != 0 || pt->pending != 0)
        return;
    pt->trim_owed = 0;
#ifdef __GLIBC__
    malloc_trim(0); /* the flood is over: its sessions' pages go back */
#endif
}
