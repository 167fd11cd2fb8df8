/*
 * serve_release.c: every handle the server keeps on its engine between
 * commands, ended, so that the engine can be closed and replaced while
 * the server runs.  A member of a Raft group does that when it installs a
 * snapshot from the leader (serve_ext.h): kv_close refuses an engine
 * with a live iterator or transaction (include/kv.h), and the new engine
 * is another kv_db.
 *
 * The handles, and what becomes of their clients:
 *   - a WATCH's kv_txn: aborted, as --watch-max-age ends one; the EXEC
 *     answers *-1, and reads after the WATCH see the database as it is
 *     (serve_watch.c);
 *   - a KEYS under way: its walk dropped, with the part of its reply not
 *     sent yet; the loop runs the same request again (it is still at the
 *     head of the client's input), now over the new engine;
 *   - SCAN's saved iterators: closed; a cursor goes on with a new iterator
 *     from its next key, as after any eviction of its slot (serve_scan.c).
 */
#include "server.h"

void serve_engine_release(server *s)
{
    for (serve_client *c = s->clients; c != NULL; c = c->next)
        serve_keys_free(c);
    serve_watch_end_all(s);
    serve_scan_close_iters(s);
}
