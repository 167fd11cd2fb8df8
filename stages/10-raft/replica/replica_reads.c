/*
 * replica_reads.c: what a command's reads find (replica.h,
 * replica_reads_of): the GETs inside an EXEC, answered where the EXEC
 * applies, in log order, so that they see the transaction's own earlier
 * writes and nothing of anyone else's comes between.
 *
 * A first pass puts the keys the reads name in an open-addressed table
 * (twice as many slots as reads: a command of many writes and one read
 * costs one slot's worth, not its writes').  A second pass over the ops,
 * in order, keeps what each of those keys holds: unknown until the
 * engine is asked (once a key, and only when an op needs it: a read, or
 * a put of kind 4 or 5, whose own condition decides whether it applies),
 * then present with a value or absent, as each put and delete leaves it.
 * A read copies the state of its key; a plain put or a delete sets it
 * without asking; a write of a key no read names is passed over.  So a
 * command of n ops costs n lookups and at most one engine read per key
 * read.
 *
 * The rule for a put of kind 4 or 5 is command.h's
 * (command_write_applies), the one replica_apply follows, so a read after
 * a SET NX finds what the engine will hold.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "replica.h"

struct replica_key_state {
    const uint8_t *key;            /* NULL: an empty slot */
    size_t klen;
    int known, present;
    const uint8_t *val;
    size_t vlen;
};

static uint64_t key_hash(const uint8_t *key, size_t klen)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < klen; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    return h;
}

/* The state of key in the table (of cap slots, a power of two, never
 * full: twice the command's reads); if it is not there, added unknown
 * when `add`, else NULL. */
static struct replica_key_state *key_state(struct replica_key_state *map, size_t cap,
                                           const uint8_t *key, size_t klen, int add)
{
    size_t at = (size_t)key_hash(key, klen) & (cap - 1);
    while (map[at].key != NULL &&
           (map[at].klen != klen || memcmp(map[at].key, key, klen) != 0))
        at = (at + 1) & (cap - 1);
    if (map[at].key == NULL && !add)
        return NULL;
    if (map[at].key == NULL)
        map[at] = (struct replica_key_state){key, klen, 0, 0, NULL, 0};
    return &map[at];
}

/* Asks the engine what s's key holds (once: s is known after).  KV_OK,
 * or the engine's error. */
static int key_learn(replica *r, replica_reads *out, struct replica_key_state *s)
{
    if (s->known)
        return KV_OK;
    if (out->nowned == out->owned_cap) {
        size_t cap = out->owned_cap != 0 ? 2 * out->owned_cap : 16;
        void **grown = realloc(out->owned, cap * sizeof *grown);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "replica_reads_of: out of memory");
        out->owned = grown;
        out->owned_cap = cap;
    }
    void *v = NULL;
    size_t vlen = 0;
    int rc = kv_get(replica_db(r), s->key, s->klen, &v, &vlen);
    if (rc != KV_OK && rc != KV_NOT_FOUND)
        return rc;
    if (rc == KV_OK)
        out->owned[out->nowned++] = v;
    *s = (struct replica_key_state){s->key, s->klen, 1, rc == KV_OK, v, vlen};
    return KV_OK;
}

int replica_reads_of(replica *r, const void *cmd, size_t len, replica_reads *out)
{
    replica_reads_clear(out);
    command_reader rd;
    if (command_parse(cmd, len, &rd) != KV_OK || rd.reads == 0)
        return KV_OK; /* no reads (replica_apply says what a bad command is) */
    if (out->cap < rd.reads) {
        replica_read *grown = realloc(out->r, rd.reads * sizeof *grown);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "replica_reads_of: out of memory");
        out->r = grown;
        out->cap = rd.reads;
    }
    size_t cap = 16;
    while (cap < 2 * (size_t)rd.reads)
        cap *= 2;
    if (out->map_cap < cap) {
        free(out->map);
        if ((out->map = malloc(cap * sizeof *out->map)) == NULL) {
            out->map_cap = 0;
            return kv_error(KV_ERR_NOMEM, "replica_reads_of: out of memory");
        }
        out->map_cap = cap;
    }
    memset(out->map, 0, cap * sizeof *out->map);
    command_op op;
    command_reader first = rd;
    while (command_next(&first, &op))
        if (op.kind == COMMAND_READ)
            key_state(out->map, cap, op.key, op.klen, 1);
    int rc = KV_OK;
    uint64_t bytes = 0;
    while (rc == KV_OK && command_next(&rd, &op)) {
        int read = op.kind == COMMAND_READ, conditional = op.kind == COMMAND_PUT_IF_ABSENT ||
                                                         op.kind == COMMAND_PUT_IF_PRESENT;
        if (!read && !command_kind_writes(op.kind))
            continue; /* a condition: replica_apply's */
        struct replica_key_state *s = key_state(out->map, cap, op.key, op.klen, 0);
        if (s == NULL)
            continue; /* no read names its key */
        if ((read || conditional) && (rc = key_learn(r, out, s)) != KV_OK)
            break;
        if (read) {
            if (s->present && (bytes += s->vlen) > REPLICA_READS_MAX_BYTES) {
                replica_reads_clear(out);
                out->too_large = 1;
                return KV_OK; /* the command applies; its reads answer nothing */
            }
            out->r[out->n++] = (replica_read){s->present, s->present ? s->val : NULL,
                                              s->present ? s->vlen : 0};
        } else if (command_write_applies(op.kind, s->present)) {
            int put = op.kind != COMMAND_DELETE;
            *s = (struct replica_key_state){s->key, s->klen, 1, put, put ? op.val : NULL,
                                            put ? op.vlen : 0};
        }
    }
    if (rc != KV_OK)
        replica_reads_clear(out);
    return rc;
}

void replica_reads_clear(replica_reads *out)
{
    for (size_t i = 0; i < out->nowned; i++)
        kv_free(out->owned[i]);
    out->nowned = 0;
    out->n = 0;
    out->too_large = 0;
}

void replica_reads_free(replica_reads *out)
{
    replica_reads_clear(out);
    free(out->r);
    free(out->owned);
    free(out->map);
    *out = (replica_reads){0};
}
