/*
 * peer_conns.c: what the transport (peer_transport.c) and its
 * connections (peer_conn.c) both use: the member's log line, at most one
 * a second, and the list of connections, whose last one gone closes a
 * transport being closed.  It calls neither file: each connection
 * unlinks itself here once its handles are closed, and the transport
 * looks here once its listener is.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "peer_conn.h"

void peer_log(peer_transport *pt, const char *fmt, ...)
{
    long long now = (long long)uv_now(pt->loop);
    if (pt->log_ms != 0 && now - pt->log_ms < 1000) {
        pt->log_quiet++;
        return;
    }
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (pt->log_quiet > 0 && n > 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, " (and %llu more since the last line)",
                 pt->log_quiet);
    pt->log_ms = now;
    pt->log_quiet = 0;
    if (pt->cfg.log != NULL)
        pt->cfg.log(pt->cfg.arg, line);
}

/* The transport is closed once its listener, its pace's handles and
 * every connection are:
 * then libraft (or whoever closed it) is told. */
void peer_transport_maybe_closed(peer_transport *pt)
{
    if (!pt->closing || pt->listener_open || pt->conns != NULL || pt->pace_handles > 0 ||
        pt->close_cb == NULL)
        return;
    raft_uv_transport_close_cb cb = pt->close_cb;
    pt->close_cb = NULL;
    cb(pt->t);
}

void peer_conn_unlink(peer_transport *pt, peer_conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        pt->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    free(c);
    peer_transport_maybe_closed(pt);
}
