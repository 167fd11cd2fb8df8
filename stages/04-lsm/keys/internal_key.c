/*
 * internal_key.c: encoding, decoding and lookup keys (internal_key.h).
 */
#include "internal_key.h"

#include <stdlib.h>

#include "error.h"
#include "kv.h"

void ikey_encode(uint8_t *out, const void *ukey, size_t ulen, uint64_t seq, ikey_type type)
{
    memcpy(out, ukey, ulen);
    coding_put_u64(out + ulen, ikey_trailer(seq, type));
}

int ikey_decode(const uint8_t *p, const uint8_t *limit, ikey_parsed *out)
{
    if (limit < p || (size_t)(limit - p) < IKEY_TRAILER_SIZE + 1)
        return 0;
    size_t len = (size_t)(limit - p);
    uint64_t trailer = coding_get_u64(limit - IKEY_TRAILER_SIZE);
    uint8_t type = (uint8_t)(trailer & 0xff);
    if (type != IKEY_PUT && type != IKEY_DELETE && type != IKEY_PUT_ELSEWHERE)
        return 0;
    out->user_key = p;
    out->user_len = len - IKEY_TRAILER_SIZE;
    out->seq = trailer >> 8;
    out->type = (ikey_type)type;
    return 1;
}

int ikey_lookup_init(ikey_lookup *lk, const void *ukey, size_t ulen, uint64_t seq)
{
    size_t ilen = ulen + IKEY_TRAILER_SIZE;
    size_t need = CODING_MAX_VARINT32 + ilen;
    lk->buf = lk->space;
    lk->entry_len = 0;
    lk->ikey_off = 0;
    if (need > sizeof lk->space) {
        uint8_t *heap = malloc(need);
        if (heap == NULL)
            return kv_error(KV_ERR_NOMEM, "lookup key: cannot allocate %zu bytes", need);
        lk->buf = heap; /* (after a failure buf is still space: never NULL) */
    }
    uint8_t *p = coding_put_varint32(lk->buf, (uint32_t)ilen);
    lk->ikey_off = (size_t)(p - lk->buf);
    ikey_encode(p, ukey, ulen, seq, IKEY_TYPE_FOR_SEEK);
    lk->entry_len = lk->ikey_off + ilen;
    return KV_OK;
}

void ikey_lookup_free(ikey_lookup *lk)
{
    if (lk->buf != lk->space)
        free(lk->buf);
    lk->buf = lk->space;
}

const char *ikey_type_word(ikey_type t)
{
    return t == IKEY_DELETE ? "del" : t == IKEY_PUT ? "put" : "elsewhere";
}
