/*
 * replica.c: a replica opened and closed, and its commands applied
 * (replica.h).  Snapshots and restores are in replica_snapshot.c.
 */
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "error.h"
#include "io.h"
#include "replica.h"
#include "replica_dir.h"

int replica_applied_read(kv_db *db, const kv_snapshot *snap, uint64_t *index)
{
    void *v = NULL;
    size_t n = 0;
    int rc = snap != NULL ? kv_get_at(db, snap, REPLICA_APPLIED_KEY, REPLICA_APPLIED_KEY_LEN, &v, &n)
                          : kv_get(db, REPLICA_APPLIED_KEY, REPLICA_APPLIED_KEY_LEN, &v, &n);
    *index = 0;
    if (rc == KV_NOT_FOUND)
        return KV_OK;
    if (rc != KV_OK)
        return rc;
    if (n != 8)
        rc = kv_error(KV_ERR_CORRUPT, "replica: the applied index's key holds %zu bytes, not 8",
                      n);
    else
        *index = coding_get_u64(v);
    kv_free(v);
    return rc;
}

int replica_open(const char *dir, const kv_options *opt, replica **out)
{
    *out = NULL;
    replica *r = calloc(1, sizeof *r);
    if (r == NULL || (r->dir = strdup(dir)) == NULL) {
        free(r);
        return kv_error(KV_ERR_NOMEM, "replica_open: out of memory");
    }
    if (opt != NULL)
        r->opt = *opt;
    else
        kv_options_init(&r->opt);
    int rc = io_mkdir(dir);
    if (rc == KV_OK)
        rc = replica_dir_read(dir, &r->gen);
    if (rc == KV_OK && r->gen < 0) { /* a new replica: data-a, named before it is used */
        r->gen = 0;
        rc = replica_dir_write(dir, 0);
    }
    char *path = rc == KV_OK ? replica_dir_engine(dir, r->gen) : NULL;
    if (rc == KV_OK && path == NULL)
        rc = kv_error(KV_ERR_NOMEM, "replica_open: out of memory");
    if (rc == KV_OK)
        rc = kv_open(path, &r->opt, &r->db);
    free(path);
    if (rc == KV_OK)
        rc = replica_applied_read(r->db, NULL, &r->applied);
    if (rc != KV_OK) {
        replica_close(r);
        return rc;
    }
    *out = r;
    return KV_OK;
}

int replica_close(replica *r)
{
    if (r == NULL)
        return KV_OK;
    int rc = kv_close(r->db);
    free(r->dir);
    free(r);
    return rc;
}

kv_db *replica_db(replica *r)
{
    return r->db;
}

void replica_plant_reapply(replica *r)
{
    r->planted_reapply = 1;
}

uint64_t replica_applied(const replica *r)
{
    return r->applied;
}

/* 1 if every condition of the command holds in the engine now, 0 if one
 * does not, or an error (< 0). */
static int conditions_hold(replica *r, command_reader *rd)
{
    command_reader at = *rd;
    command_op op;
    for (uint32_t i = 0; i < rd->conditions && command_next(&at, &op); i++) {
        void *v = NULL;
        size_t n = 0;
        int rc = kv_get(r->db, op.key, op.klen, &v, &n);
        int holds = op.kind == COMMAND_IF_ABSENT
                        ? rc == KV_NOT_FOUND
                        : rc == KV_OK && n == op.vlen && memcmp(v, op.val, n) == 0;
        kv_free(v);
        if (rc != KV_OK && rc != KV_NOT_FOUND)
            return rc;
        if (!holds)
            return 0;
    }
    return 1;
}

/* existed_of's sort: by key, then by position in the command. */
typedef struct write_ref {
    const uint8_t *key;
    size_t klen, at;
    int kind;
} write_ref;

static int write_ref_cmp(const void *a, const void *b)
{
    const write_ref *x = a, *y = b;
    int c = memcmp(x->key, y->key, x->klen < y->klen ? x->klen : y->klen);
    if (c != 0)
        return c;
    if (x->klen != y->klen)
        return x->klen < y->klen ? -1 : 1;
    return x->at < y->at ? -1 : 1;
}

/* 1 if a write of kind `kind` applies to a key that held a value just
 * before it (existed) or not (command.h says the rule). */
static int write_applies(int kind, int existed)
{
    return command_write_applies(kind, existed);
}

/* 1 if what write kind `kind` found must be known: a put of kind 4 or 5
 * always (its own condition decides whether it applies, on every
 * member), a delete if the caller counts (a DEL's answer); a plain put
 * never (it applies whatever it finds). */
static int write_asks(int kind, int counts)
{
    return kind == COMMAND_PUT_IF_ABSENT || kind == COMMAND_PUT_IF_PRESENT ||
           (kind == COMMAND_DELETE && counts);
}

/* Sets existed[w] for each write w of the command at rd that asks
 * (write_asks): whether its key held a value just before it, after the
 * writes before it; 0 for the others.  Sorted by key, a write finds the
 * writes before it on its key next to it, and a key is read from the
 * engine only if the first write on it asks (after any write, what the
 * key holds is known), so a command of n writes costs n log n and at
 * most n gets, and one that asks nothing costs neither. */
static int existed_of(replica *r, command_reader rd, uint8_t *existed, int counts)
{
    command_op op;
    size_t n = 0, asking = 0;
    command_reader at = rd;
    while (command_next(&at, &op))
        if (command_kind_writes(op.kind)) { /* (not a condition, nor a read) */
            existed[n++] = 0;
            asking += write_asks(op.kind, counts);
        }
    if (asking == 0)
        return KV_OK;
    write_ref *w = malloc((n ? n : 1) * sizeof *w);
    if (w == NULL)
        return kv_error(KV_ERR_NOMEM, "replica_apply: out of memory");
    n = 0;
    while (command_next(&rd, &op))
        if (command_kind_writes(op.kind)) {
            w[n] = (write_ref){op.key, op.klen, n, op.kind};
            n++;
        }
    qsort(w, n, sizeof *w, write_ref_cmp);
    int rc = KV_OK, present = 0, known = 0;
    for (size_t k = 0; k < n && rc == KV_OK; k++) {
        if (k == 0 || w[k - 1].klen != w[k].klen ||
            memcmp(w[k - 1].key, w[k].key, w[k].klen) != 0)
            known = 0; /* a new key: nothing known of it yet */
        int asks = write_asks(w[k].kind, counts);
        if (asks && !known) {
            void *v = NULL;
            size_t vlen;
            rc = kv_get(r->db, w[k].key, w[k].klen, &v, &vlen);
            kv_free(v);
            present = rc == KV_OK;
            known = 1;
            if (rc == KV_NOT_FOUND)
                rc = KV_OK;
        }
        if (asks)
            existed[w[k].at] = (uint8_t)present;
        if (write_applies(w[k].kind, present)) { /* (a plain put or delete: whatever it found) */
            present = w[k].kind != COMMAND_DELETE;
            known = 1;
        }
    }
    free(w);
    return rc;
}

int replica_apply(replica *r, uint64_t index, const void *cmd, size_t len, int *outcome,
                  uint8_t *existed)
{
    if (index <= r->applied && !r->planted_reapply) {
        *outcome = REPLICA_SKIPPED;
        return KV_OK;
    }
    command_reader rd;
    int holds = 0;
    if (command_parse(cmd, len, &rd) != KV_OK) {
        *outcome = REPLICA_INVALID;
    } else if ((holds = conditions_hold(r, &rd)) < 0) {
        return holds;
    } else {
        *outcome = holds ? REPLICA_APPLIED : REPLICA_REFUSED;
    }
    /* What the writes that ask find (existed_of): for a put of kind 4 or
     * 5, whose own condition it decides, on every member; for a delete,
     * only if the caller counts (a DEL's answer, wanted where the client
     * waits).  A plain put reads nothing. */
    uint8_t *found = existed;
    if (holds && found == NULL && rd.conditional_writes > 0 &&
        (found = malloc(rd.writes)) == NULL)
        return kv_error(KV_ERR_NOMEM, "replica_apply: out of memory");
    int rc = holds && found != NULL ? existed_of(r, rd, found, existed != NULL) : KV_OK;
    kv_batch *b = NULL;
    if (rc == KV_OK)
        rc = kv_batch_new(&b);
    command_op op;
    for (uint32_t w = 0; rc == KV_OK && holds && command_next(&rd, &op);) {
        if (!command_kind_writes(op.kind))
            continue; /* a condition (read above), or a read (replica_reads_of) */
        int skip = found != NULL && !write_applies(op.kind, found[w]);
        w++;
        if (skip)
            continue; /* SET NX found its key, or SET XX did not */
        rc = op.kind == COMMAND_DELETE ? kv_batch_delete(b, op.key, op.klen)
                                       : kv_batch_put(b, op.key, op.klen, op.val, op.vlen);
    }
    if (found != existed)
        free(found);
    uint8_t applied[8];
    coding_put_u64(applied, index);
    if (rc == KV_OK)
        rc = kv_batch_put(b, REPLICA_APPLIED_KEY, REPLICA_APPLIED_KEY_LEN, applied, 8);
    if (rc == KV_OK)
        rc = kv_write(r->db, b);
    kv_batch_free(b);
    if (rc == KV_OK)
        r->applied = index;
    return rc;
}
