/*
 * table_v1_inspect.c: table_inspect.h for table format v1
 * (table_v1_format.h): its entries back to back, then the array of their
 * offsets.  Its parts:
 *
 *   entry table=F n=I key="k" seq=S op=put vlen=V      (one per entry)
 *   array table=F off=A entries=N                       (the offsets)
 *
 * Format v1 has no filter.
 */
#include "inspect_line.h"
#include "table_inspect.h"
#include "table_v1_format.h"

int table_inspect_parts(table *t, const char *label, kv_line_fn line, void *ctx)
{
    iter *it = NULL;
    int rc = table_iter_new(t, &it);
    if (rc != KV_OK)
        return rc;
    inspect_cap cap = {0};
    uint64_t n = 0;
    inspect_line l;
    for (iter_seek_first(it); iter_valid(it); iter_next(it), n++) {
        if (!inspect_cap_take(&cap, "table", label, line, ctx))
            break;
        ikey_parsed k;
        if (!ikey_decode(it->key, it->key + it->key_len, &k))
            continue; /* the table's own checks refuse such a key */
        inspect_begin(&l, "entry");
        inspect_word(&l, "table", label);
        inspect_u64(&l, "n", n);
        inspect_key(&l, "key", k.user_key, k.user_len);
        inspect_u64(&l, "seq", k.seq);
        inspect_word(&l, "op", ikey_type_word(k.type));
        inspect_u64(&l, "vlen", it->value_len);
        inspect_emit(&l, line, ctx);
    }
    rc = iter_status(it);
    iter_free(it);
    if (rc != KV_OK)
        return rc;
    inspect_begin(&l, "array");
    inspect_word(&l, "table", label);
    inspect_u64(&l, "off", t->array_at);
    inspect_u64(&l, "entries", t->n);
    inspect_emit(&l, line, ctx);
    return KV_OK;
}

int table_inspect_filter_says_absent(const table *t, const uint8_t *ukey, size_t ulen)
{
    (void)t;
    (void)ukey;
    (void)ulen;
    return 0;
}
