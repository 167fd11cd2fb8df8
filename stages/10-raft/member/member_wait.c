/*
 * member_wait.c: the waiters of a member's writes and reads
 * (member_wait.h): a map of writes by serial, chained buckets that double
 * when they hold as many as there are buckets; a list of reads by index.
 */
#include <stdlib.h>

#include "member_wait.h"

int member_waits_init(member_waits *w)
{
    *w = (member_waits){0};
    w->nbuckets = 64;
    w->buckets = calloc(w->nbuckets, sizeof *w->buckets);
    w->next_serial = 1; /* S1: the term tells this life's from the last's */
    return w->buckets != NULL ? 0 : -1;
}

void member_waits_free(member_waits *w)
{
    for (size_t b = 0; b < w->nbuckets && w->buckets != NULL; b++)
        while (w->buckets[b] != NULL) {
            member_waiter *x = w->buckets[b];
            w->buckets[b] = x->next;
            free(x);
        }
    free(w->buckets);
    free(w->reads);
    *w = (member_waits){0};
}

static size_t wait_bucket(const member_waits *w, uint64_t serial)
{
    serial ^= serial >> 29; /* serials are consecutive: mix the high bits in */
    serial *= 0xbf58476d1ce4e5b9ull;
    return (size_t)(serial >> 32) & (w->nbuckets - 1);
}

/* Doubles the buckets (nothing changes if memory is short: the chains
 * only grow longer). */
static void wait_grow(member_waits *w)
{
    size_t n = w->nbuckets * 2;
    member_waiter **grown = calloc(n, sizeof *grown);
    if (grown == NULL)
        return;
    member_waiter **old = w->buckets;
    size_t nold = w->nbuckets;
    w->buckets = grown;
    w->nbuckets = n;
    for (size_t b = 0; b < nold; b++)
        while (old[b] != NULL) {
            member_waiter *x = old[b];
            old[b] = x->next;
            size_t at = wait_bucket(w, x->serial);
            x->next = grown[at];
            grown[at] = x;
        }
    free(old);
}

member_waiter *member_wait_add(member_waits *w, uint64_t term, unsigned long long write)
{
    member_waiter *x = calloc(1, sizeof *x);
    if (x == NULL)
        return NULL;
    if (w->n >= w->nbuckets)
        wait_grow(w);
    x->serial = w->next_serial++;
    x->term = term;
    x->write = write;
    x->held = 1;
    x->req.data = x;
    size_t at = wait_bucket(w, x->serial);
    x->next = w->buckets[at];
    w->buckets[at] = x;
    w->n++;
    return x;
}

member_waiter *member_wait_find(const member_waits *w, uint64_t term, uint64_t serial)
{
    for (member_waiter *x = w->buckets[wait_bucket(w, serial)]; x != NULL; x = x->next)
        if (x->serial == serial && x->term == term)
            return x;
    return NULL;
}

member_waiter *member_wait_take(member_waits *w, uint64_t term, uint64_t serial)
{
    for (member_waiter **p = &w->buckets[wait_bucket(w, serial)]; *p != NULL; p = &(*p)->next)
        if ((*p)->serial == serial && (*p)->term == term) {
            member_waiter *x = *p;
            *p = x->next;
            x->next = NULL;
            x->taken = 1;
            w->n--;
            return x;
        }
    return NULL;
}

void member_wait_release(member_waits *w, member_waiter *x)
{
    (void)w;
    x->held = 0;
    if (x->taken)
        free(x);
}

void member_waits_abandon(member_waits *w, void (*settle)(void *arg, member_waiter *x),
                          void *arg)
{
    for (size_t b = 0; b < w->nbuckets; b++)
        while (w->buckets[b] != NULL) {
            member_waiter *x = member_wait_take(w, w->buckets[b]->term, w->buckets[b]->serial);
            settle(arg, x);
            if (!x->held)
                free(x);
        }
}

int member_wait_read(member_waits *w, unsigned long long client, unsigned long long pass,
                     uint64_t index)
{
    if (w->nreads == w->reads_cap) {
        size_t cap = w->reads_cap != 0 ? 2 * w->reads_cap : 16;
        member_read_wait *grown = realloc(w->reads, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        w->reads = grown;
        w->reads_cap = cap;
    }
    w->reads[w->nreads++] = (member_read_wait){index, client, pass};
    return 0;
}

void member_waits_read_index(member_waits *w, unsigned long long pass, uint64_t index)
{
    for (size_t i = 0; i < w->nreads; i++)
        if (w->reads[i].index == 0 && w->reads[i].pass <= pass)
            w->reads[i].index = index;
}

int member_waits_unindexed(const member_waits *w, unsigned long long after)
{
    for (size_t i = 0; i < w->nreads; i++)
        if (w->reads[i].index == 0 && w->reads[i].pass > after)
            return 1;
    return 0;
}

void member_waits_reached(member_waits *w, uint64_t applied,
                          void (*wake)(void *arg, unsigned long long client), void *arg)
{
    size_t keep = 0, n = w->nreads;
    for (size_t i = 0; i < n; i++) {
        member_read_wait r = w->reads[i];
        if (applied == UINT64_MAX || (r.index != 0 && r.index <= applied))
            wake(arg, r.client);
        else
            w->reads[keep++] = r;
    }
    w->nreads = keep;
}
