/*
 * replica_members.c: the members' client addresses a replica keeps
 * (replica.h, replica_note; the entry's format: member_note.h).  An
 * address is stored under COMMAND_MEMBER_KEY and the member's id, in the
 * engine, by the same kv_write as the applied index, so it is applied at
 * most once, survives a restart, and travels in a snapshot as a record
 * (snapshot_format.h, S3).
 */
#include <string.h>

#include "coding.h"
#include "error.h"
#include "member_note.h"
#include "replica.h"
#include "replica_dir.h"

static void member_key(uint8_t key[COMMAND_MEMBER_KEY_LEN + 8], uint64_t id)
{
    memcpy(key, COMMAND_MEMBER_KEY, COMMAND_MEMBER_KEY_LEN);
    for (int i = 0; i < 8; i++) /* big endian: the keys sort by id */
        key[COMMAND_MEMBER_KEY_LEN + i] = (uint8_t)(id >> (56 - 8 * i));
}

int replica_note(replica *r, uint64_t index, const void *buf, size_t len, int *outcome)
{
    if (index <= r->applied && !r->planted_reapply) {
        *outcome = REPLICA_SKIPPED;
        return KV_OK;
    }
    member_note note;
    *outcome = member_note_parse(buf, len, &note) == KV_OK ? REPLICA_APPLIED : REPLICA_INVALID;
    kv_batch *b = NULL;
    int rc = kv_batch_new(&b);
    for (unsigned i = 0; rc == KV_OK && *outcome == REPLICA_APPLIED && i < note.n; i++) {
        uint8_t key[COMMAND_MEMBER_KEY_LEN + 8];
        member_key(key, note.id[i]);
        rc = kv_batch_put(b, key, sizeof key, note.addr[i], strlen(note.addr[i]));
    }
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

int replica_member_address(replica *r, uint64_t id, char *out, size_t cap)
{
    uint8_t key[COMMAND_MEMBER_KEY_LEN + 8];
    member_key(key, id);
    void *v = NULL;
    size_t n = 0;
    int rc = kv_get(r->db, key, sizeof key, &v, &n);
    if (rc == KV_NOT_FOUND)
        return 0;
    if (rc != KV_OK)
        return rc;
    if (n >= cap || !member_addr_valid(v, n)) {
        kv_free(v);
        return kv_error(KV_ERR_CORRUPT, "replica: member %llu's address key holds %zu bytes "
                        "that are not HOST:PORT", (unsigned long long)id, n);
    }
    memcpy(out, v, n);
    out[n] = '\0';
    kv_free(v);
    return 1;
}
