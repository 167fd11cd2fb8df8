/*
 * hash_inspect.c: kv_inspect and kv_inspect_get for stage 02, and for
 * stage 03, which links this file unchanged (the lines are docs/lab.md's).
 * The parts: every segment, oldest first, and the index in memory that
 * points each live key at its latest record:
 *
 *   db stage=02-hash segments=N keys=K bytes=B live_bytes=L merges=M
 *   segment id=N file=F bytes=B live_bytes=L active=0|1 hint=0|1 sealed=0|1
 *   index keys=K slots=C bytes=B
 *   slot n=I key="k" seg=N off=O size=S                    (DETAIL)
 *   ... each segment's records (record_inspect.h)          (DETAIL)
 *
 * A get looks in the index (its home slot, then the slots after it until
 * the key or an empty slot), then reads the one record the index names:
 *
 *   look part=index home=H slot=I probes=P result=found seg=N off=O size=S
 *   look part=segment file=F seg=N off=O result=found vlen=V
 *   answer result=found vlen=V
 *
 * The index lock is held shared only to copy the list of segments (with a
 * reference on each, as kv_get takes one) and up to KV_INSPECT_DETAIL_MAX
 * slots into a buffer; the lines are emitted, and the segments read, after
 * it is released.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "error.h"
#include "hash_db.h"
#include "inspect_line.h"
#include "record_inspect.h"
#include "record_io.h"
#include "stats_text.h"

typedef struct seg_copy {
    segment *s;             /* with a reference */
    uint64_t size, live;
    int hint, sealed;
} seg_copy;

/* Emits each line of a stats_text buffer. */
static void hash_inspect_flush(stats_text *t, kv_line_fn line, void *ctx)
{
    char *p = t->p;
    while (p != NULL && *p != '\0') {
        char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        *nl = '\0';
        if (line != NULL)
            line(ctx, p);
        p = nl + 1;
    }
    free(t->p);
    t->p = NULL;
}

static void hash_inspect_slots(kv_db *db, stats_text *t)
{
    inspect_cap cap = {0};
    for (size_t i = 0; i < db->index.cap; i++) {
        const hash_slot *s = &db->index.slots[i];
        if (s->key == NULL)
            continue;
        if (!inspect_cap_take(&cap, "index", NULL, stats_text_line, t))
            break;
        inspect_line l;
        inspect_begin(&l, "slot");
        inspect_u64(&l, "n", i);
        inspect_key(&l, "key", s->key, s->klen);
        inspect_u64(&l, "seg", s->loc.seg);
        inspect_u64(&l, "off", s->loc.offset);
        inspect_u64(&l, "size", s->loc.size);
        stats_text_add(t, "%s", l.buf);
    }
}

static int hash_inspect_live(void *ctx, uint32_t seg, const uint8_t *key, size_t klen,
                             uint64_t off)
{
    kv_db *db = ctx;
    pthread_rwlock_rdlock(&db->index_lock);
    const hash_loc *loc = hash_index_find(&db->index, key, klen);
    int live = loc != NULL && loc->seg == seg && loc->offset == off;
    pthread_rwlock_unlock(&db->index_lock);
    return live;
}

int kv_inspect(kv_db *db, unsigned flags, kv_line_fn line, void *ctx)
{
    int rc = args_check_ptr("kv_inspect", db, "db");
    if (rc != KV_OK)
        return rc;
    stats_text t = {0};
    pthread_rwlock_rdlock(&db->index_lock);
    size_t n = db->segs.n;
    seg_copy *segs = calloc(n ? n : 1, sizeof *segs);
    if (segs == NULL) {
        pthread_rwlock_unlock(&db->index_lock);
        return kv_error(KV_ERR_NOMEM, "kv_inspect: out of memory");
    }
    uint64_t bytes = 0, live = 0;
    for (size_t i = 0; i < n; i++) {
        segment *s = db->segs.v[i];
        segment_ref(s);
        segs[i] = (seg_copy){s, __atomic_load_n(&s->size, __ATOMIC_ACQUIRE), s->live_bytes,
                             s->has_hint != 0, s->sealed != 0};
        bytes += segs[i].size;
        live += segs[i].live;
    }
    uint32_t active = db->active ? db->active->id : 0;
    uint64_t keys = db->index.count, slots = db->index.cap;
    uint64_t index_bytes = hash_index_bytes(&db->index);
    if (flags & KV_INSPECT_DETAIL)
        hash_inspect_slots(db, &t);
    pthread_rwlock_unlock(&db->index_lock);

    inspect_line l;
    inspect_begin(&l, "db");
    inspect_word(&l, "stage", kv_stage());
    inspect_u64(&l, "segments", n);
    inspect_u64(&l, "keys", keys);
    inspect_u64(&l, "bytes", bytes);
    inspect_u64(&l, "live_bytes", live);
    inspect_u64(&l, "merges", __atomic_load_n(&db->merges, __ATOMIC_RELAXED));
    inspect_emit(&l, line, ctx);
    for (size_t i = 0; i < n; i++) {
        inspect_begin(&l, "segment");
        inspect_u64(&l, "id", segs[i].s->id);
        inspect_word(&l, "file", segs[i].s->name);
        inspect_u64(&l, "bytes", segs[i].size);
        inspect_u64(&l, "live_bytes", segs[i].live);
        inspect_u64(&l, "active", segs[i].s->id == active);
        inspect_u64(&l, "hint", (uint64_t)segs[i].hint);
        inspect_u64(&l, "sealed", (uint64_t)segs[i].sealed);
        inspect_emit(&l, line, ctx);
    }
    inspect_begin(&l, "index");
    inspect_u64(&l, "keys", keys);
    inspect_u64(&l, "slots", slots);
    inspect_u64(&l, "bytes", index_bytes);
    inspect_emit(&l, line, ctx);
    if (t.failed)
        rc = kv_error(KV_ERR_NOMEM, "kv_inspect: out of memory");
    hash_inspect_flush(&t, rc == KV_OK ? line : NULL, ctx);
    for (size_t i = 0; i < n; i++) {
        if (rc == KV_OK && (flags & KV_INSPECT_DETAIL)) {
            record_inspect ri = {.line = line, .ctx = ctx, .file = segs[i].s->name,
                                 .seg = segs[i].s->id, .live = hash_inspect_live,
                                 .live_ctx = db};
            rc = record_inspect_file(segs[i].s->file, segs[i].size, &ri);
        }
        segment_unref(segs[i].s);
    }
    free(segs);
    return rc;
}

int kv_inspect_get(kv_db *db, const void *key, size_t klen, kv_line_fn line, void *ctx)
{
    int rc;
    if ((rc = args_check_ptr("kv_inspect_get", db, "db")) != KV_OK ||
        (rc = args_check_key("kv_inspect_get", key, klen)) != KV_OK)
        return rc;
    /* kv_get's steps (hash_db.c), each told. */
    pthread_rwlock_rdlock(&db->index_lock);
    const hash_loc *found = hash_index_find(&db->index, key, klen);
    hash_loc loc = found ? *found : (hash_loc){0};
    size_t mask = db->index.cap ? db->index.cap - 1 : 0;
    size_t home = db->index.cap ? hash_index_hash(key, klen) & mask : 0;
    size_t slot = home, probes = 0;
    if (found != NULL) {
        slot = (size_t)((const hash_slot *)((const char *)found - offsetof(hash_slot, loc)) -
                        db->index.slots);
        probes = ((slot - home) & mask) + 1;
    } else {
        for (size_t i = home; db->index.cap && db->index.slots[i].key != NULL; i = (i + 1) & mask)
            probes++;
        probes++; /* the empty slot that says "absent" */
    }
    segment *seg = found ? segment_table_find(&db->segs, loc.seg) : NULL;
    if (seg)
        segment_ref(seg);
    pthread_rwlock_unlock(&db->index_lock);
    int in_index = seg != NULL;

    inspect_line l;
    inspect_begin(&l, "look");
    inspect_word(&l, "part", "index");
    inspect_u64(&l, "home", home);
    if (found)
        inspect_u64(&l, "slot", slot);
    inspect_u64(&l, "probes", probes);
    inspect_word(&l, "result", in_index ? "found" : "absent");
    if (in_index) {
        inspect_u64(&l, "seg", loc.seg);
        inspect_u64(&l, "off", loc.offset);
        inspect_u64(&l, "size", loc.size);
    }
    inspect_emit(&l, line, ctx);
    size_t vlen = 0;
    if (seg != NULL) {
        uint8_t *buf = NULL;
        size_t cap = 0;
        const uint8_t *value = NULL;
        rc = record_read_value(seg->file, __atomic_load_n(&seg->size, __ATOMIC_ACQUIRE), &loc,
                               key, klen, &buf, &cap, &value, &vlen);
        free(buf);
        if (rc == KV_OK) {
            inspect_begin(&l, "look");
            inspect_word(&l, "part", "segment");
            inspect_word(&l, "file", seg->name);
            inspect_u64(&l, "seg", loc.seg);
            inspect_u64(&l, "off", loc.offset);
            inspect_word(&l, "result", "found");
            inspect_u64(&l, "vlen", vlen);
            inspect_emit(&l, line, ctx);
        }
        segment_unref(seg);
        if (rc != KV_OK)
            return rc;
    }
    inspect_begin(&l, "answer");
    inspect_word(&l, "result", in_index ? "found" : "not_found");
    if (in_index)
        inspect_u64(&l, "vlen", vlen);
    inspect_emit(&l, line, ctx);
    return KV_OK;
}
