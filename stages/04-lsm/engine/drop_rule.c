/*
 * drop_rule.c: C1 and C2 of drop_rule.h.
 */
#include "drop_rule.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "internal_key.h"
#include "kv.h"

int drop_rule_next(drop_rule *r, const uint8_t *ikey, size_t len, drop_base_fn base,
                   void *ctx, uint64_t *from)
{
    size_t ulen = len - IKEY_TRAILER_SIZE;
    uint64_t seq = ikey_seq(ikey, len);
    if (r->newer_seq == 0 || ikey_user_compare(ikey, ulen, r->ukey, r->ulen) != 0) {
        if (ulen > r->cap) {
            uint8_t *grown = realloc(r->ukey, ulen);
            if (grown == NULL)
                return kv_error(KV_ERR_NOMEM, "compaction: out of memory for a key");
            r->ukey = grown;
            r->cap = ulen;
        }
        memcpy(r->ukey, ikey, ulen);
        r->ulen = ulen;
        r->newer_seq = 0; /* the newest version of its key */
    }
    *from = r->newer_seq != 0 ? r->newer_seq : DROP_NEVER;             /* C1 */
    if (ikey_type_of(ikey, len) == IKEY_DELETE && seq < *from && base != NULL &&
        base(ctx, ikey, ulen))
        *from = seq;                                                    /* C2 */
    r->newer_seq = seq;
    return KV_OK;
}

void drop_rule_free(drop_rule *r)
{
    free(r->ukey);
    memset(r, 0, sizeof *r);
}
