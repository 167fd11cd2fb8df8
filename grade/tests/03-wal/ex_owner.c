/*
 * ex_owner.c: the owner of ex_owner.h.
 */
#include "ex_owner.h"

#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "error.h"
#include "ex_wal.h"
#include "exercise.h"
#include "kv.h"
#include "wal_marker.h"
#include "wal_writer.h"

/* The owner's room: refuses its fail_prepare-th group.  REQUIRES: o->lock. */
static int owner_make_room(ex_owner *o, const wal_group *g, wal_target *t)
{
    if (++o->prepares == o->fail_prepare)
        return kv_error(KV_ERR_IO, "%s: the owner refused this group (a test's failure)",
                        g->first->call);
    *t = (wal_target){.file = o->log, .id = 1, .at = o->size};
    return KV_OK;
}

/* Each record of an appended group, in queue order.  REQUIRES: o->lock. */
static void owner_apply(ex_owner *o, const wal_group *g)
{
    for (wal_entry *e = g->first; e != NULL; e = wal_group_next(g, e)) {
        ex_write *w = e->ctx;
        if (pthread_mutex_trylock(&o->lock) == 0) { /* it must be held by the leader */
            o->applied_locked++;
            pthread_mutex_unlock(&o->lock);
        }
        if (o->napplied < EX_OWNER_MAX) {
            o->applied[o->napplied] = coding_get_u32(w->payload + 1);
            o->applied_start[o->napplied] = e->start;
            o->applied_end[o->napplied] = e->end;
        }
        o->napplied++;
        o->size = e->end;
        w->applied = 1;
    }
}

/* The group appended with the tests' own framing: each record at its
 * offset, start and end set, one write, one fsync with sync.
 * REQUIRES: o->lock. */
static int owner_append_itself(ex_owner *o, wal_group *g, const wal_target *t)
{
    size_t cap = 0;
    for (wal_entry *e = g->first; e != NULL; e = wal_group_next(g, e))
        cap += (size_t)wal_framed_max(e->len);
    uint8_t *buf = malloc(cap ? cap : 1);
    if (buf == NULL)
        return kv_error(KV_ERR_NOMEM, "the test's append: out of memory");
    size_t used = 0;
    for (wal_entry *e = g->first; e != NULL; e = wal_group_next(g, e)) {
        e->start = t->at + used;
        used += ex_wal_frame(buf + used, t->at + used, e->payload, e->len);
        e->end = t->at + used;
    }
    int rc = io_append_bytes(t->file, buf, used);
    free(buf);
    if (rc == KV_OK && o->sync)
        rc = io_sync(t->file);
    return rc;
}

int ex_owner_lead(ex_owner *o, wal_group *g)
{
    pthread_mutex_lock(&o->lock);
    wal_target t;
    int rc = owner_make_room(o, g, &t);
    if (rc == KV_OK)
        rc = o->own_append ? owner_append_itself(o, g, &t) : wal_queue_append(o->q, g, &t);
    if (rc == KV_OK) {
        o->groups++;
        o->records += (int)g->n;
    }
    if (rc == KV_OK)
        owner_apply(o, g);
    else
        o->failed_calls += wal_queue_failed(o->q);
    pthread_mutex_unlock(&o->lock);
    wal_queue_finish(o->q, g, rc);
    return rc;
}

int ex_write_run(ex_write *w)
{
    wal_group g;
    if (wal_queue_join(w->o->q, &w->e, &g))
        ex_owner_lead(w->o, &g);
    return w->e.status;
}

int ex_owner_append_group(ex_owner *o, ex_write *w, size_t n)
{
    wal_group g = {.first = &w[0].e, .last = &w[n - 1].e, .n = n,
                   .bytes = wal_framed_max(WAL_MARKER_SIZE)};
    for (size_t i = 0; i < n; i++) {
        w[i].e.next = i + 1 < n ? &w[i + 1].e : NULL;
        g.bytes += wal_framed_max(w[i].e.len);
        g.room += w[i].e.room;
    }
    pthread_mutex_lock(&o->lock);
    wal_target t;
    int rc = owner_make_room(o, &g, &t);
    if (rc == KV_OK)
        rc = wal_queue_append(o->q, &g, &t);
    if (rc == KV_OK)
        owner_apply(o, &g);
    pthread_mutex_unlock(&o->lock);
    return rc;
}

void ex_owner_init(ex_owner *o, int sync)
{
    memset(o, 0, sizeof *o);
    o->sync = sync;
    pthread_mutex_init(&o->lock, NULL);
    o->dir = harness_tmpdir();
    int rc = io_open(harness_join(o->dir, "1.log"), IO_WRITE | IO_CREATE | IO_TRUNC, &o->log);
    EX_CHECK(rc == KV_OK, "cannot create the test's log");
    EX_CHECK(wal_queue_new(o->dir, sync, &o->q) == KV_OK, "wal_queue_new");
}

void ex_write_init(ex_write *w, ex_owner *o, uint32_t id)
{
    memset(w, 0, sizeof *w);
    w->o = o;
    w->payload[0] = 'R';
    coding_put_u32(w->payload + 1, id);
    w->e = (wal_entry){.call = "test_write", .payload = w->payload, .len = 5, .room = 1,
                       .ctx = w};
}

int ex_owner_close(ex_owner *o)
{
    wal_target t = {.file = o->log, .id = 1, .at = o->size};
    int rc = wal_queue_close(o->q, &t, 0);
    io_close(o->log);
    return rc;
}
