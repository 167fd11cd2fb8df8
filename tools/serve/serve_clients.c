/*
 * serve_clients.c: the loop's two lists of clients (server.h): `ready`,
 * those with commands to run, and `dirty`, those with new output to send.
 * Any file may put a client on them; only the loop (serve_loop.c) takes
 * clients off, when it runs or sends for them, or frees them.
 *
 * Invariant: a client is on a list at most once, and c->on_ready
 * (c->on_dirty) is 1 exactly when it is on it.
 */
#include <stdlib.h>

#include "server.h"

/* Adds c to a list of clients (ready or touched) once. */
static void clients_list_add(serve_client ***list, size_t *n, size_t *cap, int *flag,
                             serve_client *c)
{
    if (*flag)
        return;
    if (*n == *cap) {
        size_t ncap = *cap == 0 ? 64 : *cap * 2;
        serve_client **grown = realloc(*list, ncap * sizeof *grown);
        if (grown == NULL)
            return; /* not listed now: the next event or pass lists it */
        *list = grown;
        *cap = ncap;
    }
    (*list)[(*n)++] = c;
    *flag = 1;
}

void serve_client_ready(server *s, serve_client *c)
{
    clients_list_add(&s->ready, &s->nready, &s->ready_cap, &c->on_ready, c);
}

void serve_client_dirty(server *s, serve_client *c)
{
    clients_list_add(&s->dirty, &s->ndirty, &s->dirty_cap, &c->on_dirty, c);
}

/* Takes c off a list of clients, if it is there. */
static void clients_list_remove(serve_client **list, size_t *n, int *flag, serve_client *c)
{
    if (!*flag)
        return;
    for (size_t i = 0; i < *n; i++)
        if (list[i] == c) {
            list[i] = list[--*n];
            break;
        }
    *flag = 0;
}

void serve_client_unlist(server *s, serve_client *c)
{
    clients_list_remove(s->ready, &s->nready, &c->on_ready, c);
    clients_list_remove(s->dirty, &s->ndirty, &c->on_dirty, c);
}
