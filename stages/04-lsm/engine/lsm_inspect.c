/*
 * lsm_inspect.c: kv_inspect and kv_inspect_get of the LSM stages (04, and
 * 05 and 06, which link it unchanged).  From one view (lsm_db.h), taken
 * as a reader takes it, so a writer is never held up:
 *
 *   db stage=04-lsm seq=S memtable_limit=B
 *   memtable state=active bytes=B entries=N
 *   entry mem=active key="k" seq=S op=put vlen=V          (DETAIL)
 *   memtable state=frozen bytes=B entries=N               (while one is)
 *   ... the tables (table_set_describe; one table's lines: table_lines.h)
 *
 * A get looks where kv_get looks (lsm_read.c): the active memtable, the
 * frozen one, then the tables, through the very lookup kv_get makes
 * (table_set_get, with a look function that shows each table it meets
 * instead of only reading it), stopping at the first that has a version
 * of the key:
 *
 *   look part=memtable state=active result=absent
 *   look part=table file=000007.sst result=skipped_range
 *   look part=table file=000005.sst result=found vlen=V
 *   answer result=found vlen=V
 */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "error.h"
#include "inspect_line.h"
#include "lsm_db.h"
#include "lsm_elsewhere.h"
#include "table_lines.h"

static int lsm_inspect_memtable(memtable *m, const char *state, unsigned flags,
                                kv_line_fn line, void *ctx)
{
    inspect_line l;
    inspect_begin(&l, "memtable");
    inspect_word(&l, "state", state);
    inspect_u64(&l, "bytes", memtable_memory_usage(m));
    inspect_u64(&l, "entries", memtable_entries(m));
    inspect_emit(&l, line, ctx);
    if (!(flags & KV_INSPECT_DETAIL))
        return KV_OK;
    iter *it = NULL;
    int rc = memtable_iter_new(m, &it);
    if (rc != KV_OK)
        return rc;
    inspect_cap cap = {0};
    for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
        ikey_parsed k;
        if (!ikey_decode(it->key, it->key + it->key_len, &k))
            continue; /* the writer adds only well-formed keys */
        if (!inspect_cap_take(&cap, "memtable", state, line, ctx))
            break;
        inspect_begin(&l, "entry");
        inspect_word(&l, "mem", state);
        inspect_key(&l, "key", k.user_key, k.user_len);
        inspect_u64(&l, "seq", k.seq);
        inspect_word(&l, "op", k.type == IKEY_DELETE ? "del" : "put");
        inspect_u64(&l, "vlen", it->value_len);
        inspect_emit(&l, line, ctx);
    }
    rc = iter_status(it);
    iter_free(it);
    return rc;
}

int kv_inspect(kv_db *db, unsigned flags, kv_line_fn line, void *ctx)
{
    int rc = args_check_ptr("kv_inspect", db, "db");
    if (rc != KV_OK)
        return rc;
    uint64_t seq = 0;
    lsm_view *v = lsm_view_get(db, &seq);
    inspect_line l;
    inspect_begin(&l, "db");
    inspect_word(&l, "stage", kv_stage());
    inspect_u64(&l, "seq", seq);
    inspect_u64(&l, "memtable_limit", db->memtables.limit);
    inspect_emit(&l, line, ctx);
    rc = lsm_inspect_memtable(v->mem, "active", flags, line, ctx);
    if (rc == KV_OK && v->imm != NULL)
        rc = lsm_inspect_memtable(v->imm, "frozen", flags, line, ctx);
    table_describe d = {.inspect = 1, .flags = flags,
                        .levels = (const uint64_t (*)[TABLE_LEVEL_COUNTERS])db->count.stats.level,
                        .lock = &db->write_lock};
    if (rc == KV_OK)
        rc = table_set_describe(db->tables.set, v->tables, &d, line, ctx);
    if (rc == KV_OK)
        rc = value_store_describe(db->values.store, 1, line, ctx);
    if (rc == KV_OK)
        table_ctx_describe(db->tables.ctx, 1, line, ctx);
    lsm_view_unref(v);
    return rc;
}

typedef struct inspect_look {
    kv_line_fn line;
    void *ctx;
} inspect_look;

/* table_set_get's look function: a "look" line for each table the lookup
 * meets, or for a level none of whose tables holds the key. */
static int lsm_inspect_look(void *ctx, table *t, int level, int last, const ikey_lookup *lk,
                            table_get_result *r)
{
    inspect_look *c = ctx;
    if (t != NULL)
        return table_lines_look(t, level, last, lk, c->line, c->ctx, r);
    memset(r, 0, sizeof *r);
    r->state = IKEY_ABSENT;
    inspect_line l;
    inspect_begin(&l, "look");
    inspect_word(&l, "part", "level");
    inspect_u64(&l, "level", (uint64_t)level);
    inspect_word(&l, "result", "skipped_range");
    inspect_emit(&l, c->line, c->ctx);
    return KV_OK;
}

int kv_inspect_get(kv_db *db, const void *key, size_t klen, kv_line_fn line, void *ctx)
{
    int rc;
    if ((rc = args_check_ptr("kv_inspect_get", db, "db")) != KV_OK ||
        (rc = args_check_key("kv_inspect_get", key, klen)) != KV_OK)
        return rc;
    uint64_t seq = 0;
    lsm_view *v = lsm_view_get(db, &seq);
    ikey_lookup lk;
    if ((rc = ikey_lookup_init(&lk, key, klen, seq)) != KV_OK) {
        lsm_view_unref(v);
        return rc;
    }
    ikey_lookup_state state = IKEY_ABSENT;
    size_t vlen = 0;
    memtable *mems[2] = {v->mem, v->imm};
    const char *names[2] = {"active", "frozen"};
    inspect_line l;
    for (int i = 0; i < 2 && state == IKEY_ABSENT; i++) {
        if (mems[i] == NULL)
            continue;
        const uint8_t *p = NULL;
        state = memtable_get(mems[i], &lk, &p, &vlen);
        inspect_begin(&l, "look");
        inspect_word(&l, "part", "memtable");
        inspect_word(&l, "state", names[i]);
        inspect_word(&l, "result", table_lines_result(state));
        if (state == IKEY_FOUND)
            inspect_u64(&l, "vlen", vlen);
        inspect_emit(&l, line, ctx);
    }
    if (state == IKEY_ABSENT) {
        inspect_look look = {.line = line, .ctx = ctx};
        table_get_cost cost = {0};
        void *val = NULL;
        size_t real = 0;
        int elsewhere = 0;
        rc = table_set_get(v->tables, &lk, lsm_inspect_look, &look, &val, &vlen, &elsewhere,
                           &cost);
        free(val); /* (NULL: a look keeps no value) */
        val = NULL;
        if (rc == KV_OK && elsewhere && /* where the value store keeps it */
            (rc = table_set_get(v->tables, &lk, NULL, NULL, &val, &vlen, NULL, &cost)) ==
                KV_OK &&
            (rc = value_store_describe_value(db->values.store, val, vlen, &real, line, ctx)) == KV_OK)
            vlen = real;
        free(val);
        state = rc == KV_OK ? IKEY_FOUND : IKEY_ABSENT;
        if (rc == KV_NOT_FOUND)
            rc = KV_OK;
    }
    ikey_lookup_free(&lk);
    lsm_view_unref(v);
    if (rc != KV_OK)
        return rc;
    inspect_begin(&l, "answer");
    inspect_word(&l, "result", state == IKEY_FOUND ? "found" : "not_found");
    if (state == IKEY_FOUND)
        inspect_u64(&l, "vlen", vlen);
    inspect_emit(&l, line, ctx);
    return KV_OK;
}
