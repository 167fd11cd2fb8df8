/*
 * serve_readlist.c: reads answered from a list (server.h, serve_readlist):
 * how an EXEC applied by an extension answers its GETs.
 *
 * The server does not apply such an EXEC; the extension does, somewhere
 * else and later (a member of a Raft group: where the command applies,
 * in log order).  So the EXEC's read commands run twice, through the same
 * `read` functions as ever (serve_read_cmds.c), against a view whose gets
 * come here:
 *   - recording, before the EXEC is handed over: every key a read asks
 *     for is kept, in order, and answered absent (the reply is dropped);
 *     the keys become the write's read ops (serve_handoff.c);
 *   - replaying, once the write is settled: each get takes the next
 *     answer the extension found for those ops (serve_queue.c).
 * The same function asking for the same keys in the same order both
 * times is what pairs a key with its answer: which keys a read asks for
 * (a key out of range is never asked for, a hidden one never reaches
 * here) is decided once, by the read itself.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"

int serve_readlist_get(serve_readlist *l, const void *key, size_t klen, void **val, size_t *vlen)
{
    *val = NULL;
    *vlen = 0;
    if (!l->replay) {
        if (l->keep != NULL && l->keep(l->arg, key, klen) != 0)
            l->failed = 1;
        l->n++;
        return KV_NOT_FOUND;
    }
    if (l->n >= l->nfound) {
        l->n++;
        l->failed = 1; /* more reads than answers: not the keys recorded */
        return KV_NOT_FOUND;
    }
    const serve_read_found *f = &l->found[l->n++];
    if (!f->found)
        return KV_NOT_FOUND;
    char *copy = malloc(f->vlen > 0 ? f->vlen : 1); /* the caller kv_frees it */
    if (copy == NULL) {
        l->failed = 1;
        return KV_NOT_FOUND;
    }
    if (f->vlen > 0)
        memcpy(copy, f->val, f->vlen);
    *val = copy;
    *vlen = f->vlen;
    return KV_OK;
}
