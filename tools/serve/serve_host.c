/*
 * serve_host.c: the server as its extension sees it: the calls back into
 * the server that serve_ext.h lists (but serve_host_settle, which is
 * serve_handoff.c's).  A serve_host is the server itself, under a name
 * that shows the extension nothing of it.  Each call changes what the
 * server owns through the server's own fields (its engine handle, its
 * hidden prefix, a client's wait), never a part's struct.
 */
#include "server.h"

/* The server's one engine handle: the batch takes it with each batch it
 * applies (serve_commit.c), so nothing else keeps a copy to update. */
void serve_host_set_db(serve_host *h, kv_db *db)
{
    server *s = (server *)h;
    s->db = db;
}

void serve_host_release_engine(serve_host *h)
{
    serve_engine_release((server *)h);
}

void serve_host_hide_prefix(serve_host *h, const char *prefix, size_t len)
{
    server *s = (server *)h;
    s->hidden_prefix = prefix;
    s->hidden_len = len;
}

static void host_wake(server *s, serve_client *c)
{
    c->ext_waiting = 0;
    c->waiting = 0;
    serve_client_ready(s, c);
}

void serve_host_wake(serve_host *h, unsigned long long client)
{
    server *s = (server *)h;
    for (serve_client *c = s->clients; c != NULL; c = c->next)
        if (c->id == client && c->ext_waiting) {
            host_wake(s, c);
            return;
        }
}

void serve_host_wake_all(serve_host *h)
{
    server *s = (server *)h;
    for (serve_client *c = s->clients; c != NULL; c = c->next)
        if (c->ext_waiting)
            host_wake(s, c);
}

int serve_host_client_here(serve_host *h, unsigned long long client)
{
    server *s = (server *)h;
    for (serve_client *c = s->clients; c != NULL; c = c->next)
        if (c->id == client)
            return !c->dead;
    return 0;
}

int serve_host_ext_ready(serve_host *h)
{
    return ((server *)h)->ext_ready;
}
