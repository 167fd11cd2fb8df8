/*
 * ex_owner.c: the owner of ex_owner.h.
 */
#include "ex_owner.h"

#include <string.h>

#include "coding.h"
#include "error.h"
#include "exercise.h"
#include "kv.h"

static int owner_prepare(void *p, const char *call, uint64_t bytes, uint64_t room, wal_target *t)
{
    (void)bytes;
    (void)room;
    ex_owner *o = p;
    if (++o->prepares == o->fail_prepare) {
        return kv_error(KV_ERR_IO, "%s: the owner refused this group (a test's failure)", call);
    }
    *t = (wal_target){.file = o->log, .id = 1, .at = o->size};
    return KV_OK;
}

static void owner_failed(void *p) { ((ex_owner *)p)->failed_calls++; }

static void write_apply(void *ctx, const wal_place *place)
{
    ex_write *w = ctx;
    ex_owner *o = w->o;
    if (pthread_mutex_trylock(&o->lock) == 0) { /* it must be held by the leader */
        o->applied_locked++;
        pthread_mutex_unlock(&o->lock);
    }
    if (o->napplied < EX_OWNER_MAX) {
        o->applied[o->napplied] = coding_get_u32(w->payload + 1);
        o->applied_end[o->napplied] = place->end;
    }
    o->napplied++;
    o->size = place->end;
    w->applied = 1;
}

void ex_owner_init(ex_owner *o, int sync)
{
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->lock, NULL);
    o->dir = harness_tmpdir();
    int rc = io_open(harness_join(o->dir, "1.log"), IO_WRITE | IO_CREATE | IO_TRUNC, &o->log);
    EX_CHECK(rc == KV_OK, "cannot create the test's log");
    wal_queue_config c = {.dir = o->dir, .sync = sync, .write_lock = &o->lock, .owner = o,
                          .prepare = owner_prepare, .failed = owner_failed};
    EX_CHECK(wal_queue_new(&c, &o->q) == KV_OK, "wal_queue_new");
}

void ex_write_init(ex_write *w, ex_owner *o, uint32_t id)
{
    memset(w, 0, sizeof *w);
    w->o = o;
    w->payload[0] = 'R';
    coding_put_u32(w->payload + 1, id);
    w->r = (wal_request){.call = "test_write", .payload = w->payload, .len = 5, .room = 1,
                         .apply = write_apply, .ctx = w};
}

int ex_owner_close(ex_owner *o)
{
    wal_target t = {.file = o->log, .id = 1, .at = o->size};
    int rc = wal_queue_close(o->q, &t, 0);
    io_close(o->log);
    return rc;
}
