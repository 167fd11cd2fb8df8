/*
 * command.c: commands encoded and checked (command.h).
 */
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "command.h"
#include "error.h"

struct command {
    uint8_t *buf;
    size_t len, cap;
    uint32_t conditions, writes, reads;
    uint64_t write_bytes;
};

int command_new(command **out)
{
    command *c = calloc(1, sizeof *c);
    if (c == NULL || (c->buf = malloc(64)) == NULL) {
        free(c);
        *out = NULL;
        return kv_error(KV_ERR_NOMEM, "command_new: out of memory");
    }
    c->cap = 64;
    c->len = COMMAND_HEADER;
    memset(c->buf, 0, COMMAND_HEADER);
    c->buf[0] = COMMAND_VERSION;
    *out = c;
    return KV_OK;
}

void command_free(command *c)
{
    if (c != NULL)
        free(c->buf);
    free(c);
}

static int has_value(int kind)
{
    return kind != COMMAND_IF_ABSENT && kind != COMMAND_DELETE && kind != COMMAND_READ;
}

void command_set_origin(command *c, command_origin origin)
{
    coding_put_u64(c->buf + 10, origin.member);
    coding_put_u64(c->buf + 18, origin.serial);
    coding_put_u64(c->buf + 26, origin.term);
}

int command_key_reserved(const void *key, size_t klen)
{
    return klen >= COMMAND_RESERVED_LEN && memcmp(key, COMMAND_RESERVED, COMMAND_RESERVED_LEN) == 0;
}

int command_key_member(const void *key, size_t klen)
{
    return klen == COMMAND_MEMBER_KEY_LEN + 8u &&
           memcmp(key, COMMAND_MEMBER_KEY, COMMAND_MEMBER_KEY_LEN) == 0;
}

static int command_add(command *c, int kind, const void *key, size_t klen, const void *val,
                       size_t vlen)
{
    int write = command_kind_writes(kind), read = kind == COMMAND_READ;
    if (klen == 0 || klen > KV_MAX_KEY || vlen > KV_MAX_VALUE)
        return kv_error(KV_ERR_INVALID, "command: a key of %zu bytes, a value of %zu "
                        "(keys are 1..%u bytes, values at most %u)", klen, vlen, KV_MAX_KEY,
                        KV_MAX_VALUE);
    if (command_key_reserved(key, klen))
        return kv_error(KV_ERR_INVALID, "command: keys starting with \"\\xff\\xffkv.replica:\" "
                        "are the replica's own");
    if (!write && !read && c->writes + c->reads > 0)
        return kv_error(KV_ERR_INVALID, "command: a condition after a write or a read "
                        "(conditions come first)");
    if (read && c->reads >= COMMAND_MAX_READS)
        return kv_error(KV_ERR_INVALID, "command: more than %u reads", COMMAND_MAX_READS);
    if (write && (c->writes + 1u >= KV_MAX_BATCH_OPS ||
                  c->write_bytes + klen + vlen > COMMAND_MAX_WRITE_BYTES))
        return kv_error(KV_ERR_INVALID, "command: more than one kv_write holds (%u writes, "
                        "%llu bytes of keys and values at most)", KV_MAX_BATCH_OPS - 1u,
                        (unsigned long long)COMMAND_MAX_WRITE_BYTES);
    size_t need = 1 + 4 + (has_value(kind) ? 4 : 0) + klen + vlen;
    if (c->len + need + 8 > c->cap) { /* (room for the padding, command_bytes's) */
        size_t cap = c->cap;
        while (cap < c->len + need + 8)
            cap *= 2;
        uint8_t *grown = realloc(c->buf, cap);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "command: out of memory");
        c->buf = grown;
        c->cap = cap;
    }
    uint8_t *p = c->buf + c->len;
    *p++ = (uint8_t)kind;
    coding_put_u32(p, (uint32_t)klen);
    p += 4;
    if (has_value(kind)) {
        coding_put_u32(p, (uint32_t)vlen);
        p += 4;
    }
    memcpy(p, key, klen);
    if (vlen > 0)
        memcpy(p + klen, val, vlen);
    c->len += need;
    if (write) {
        c->writes++;
        c->write_bytes += klen + vlen;
    } else if (read) {
        c->reads++;
    } else {
        c->conditions++;
    }
    coding_put_u32(c->buf + 2, c->conditions);
    coding_put_u32(c->buf + 6, c->writes);
    coding_put_u32(c->buf + 34, c->reads);
    return KV_OK;
}

int command_if_value(command *c, const void *key, size_t klen, const void *val, size_t vlen)
{
    return command_add(c, COMMAND_IF_VALUE, key, klen, val, vlen);
}

int command_if_absent(command *c, const void *key, size_t klen)
{
    return command_add(c, COMMAND_IF_ABSENT, key, klen, NULL, 0);
}

int command_put(command *c, const void *key, size_t klen, const void *val, size_t vlen)
{
    return command_add(c, COMMAND_PUT, key, klen, val, vlen);
}

int command_put_when(command *c, int kind, const void *key, size_t klen, const void *val,
                     size_t vlen)
{
    if (kind != COMMAND_PUT && kind != COMMAND_PUT_IF_ABSENT && kind != COMMAND_PUT_IF_PRESENT)
        return kv_error(KV_ERR_INVALID, "command_put_when: kind %d is not a put", kind);
    return command_add(c, kind, key, klen, val, vlen);
}

int command_delete(command *c, const void *key, size_t klen)
{
    return command_add(c, COMMAND_DELETE, key, klen, NULL, 0);
}

int command_read(command *c, const void *key, size_t klen)
{
    return command_add(c, COMMAND_READ, key, klen, NULL, 0);
}

const uint8_t *command_bytes(const command *c, size_t *len)
{
    size_t padded = (c->len + 7) & ~(size_t)7;
    memset(c->buf + c->len, 0, padded - c->len); /* within cap: command_add keeps 8 spare */
    *len = padded;
    return c->buf;
}

/* Reads the op at r->p (the bytes before it already checked), advancing
 * r->p; KV_OK, or KV_ERR_CORRUPT naming its offset from base.  max_kind:
 * the largest kind its version has. */
static int op_read(command_reader *r, const uint8_t *base, command_op *op, int max_kind)
{
    size_t at = (size_t)(r->p - base);
    size_t left = (size_t)(r->end - r->p);
    if (left < 5)
        return kv_error(KV_ERR_CORRUPT, "command: op at offset %zu: %zu bytes left, an op's "
                        "kind and key length take 5", at, left);
    op->kind = r->p[0];
    if (op->kind > max_kind)
        return kv_error(KV_ERR_CORRUPT, "command: op at offset %zu: kind %d (0..%d)", at,
                        op->kind, max_kind);
    size_t head = has_value(op->kind) ? 9 : 5;
    if (left < head)
        return kv_error(KV_ERR_CORRUPT, "command: op at offset %zu: %zu bytes left, its "
                        "lengths take %zu", at, left, head);
    op->klen = coding_get_u32(r->p + 1);
    op->vlen = has_value(op->kind) ? coding_get_u32(r->p + 5) : 0;
    if (op->klen == 0 || op->klen > KV_MAX_KEY || op->vlen > KV_MAX_VALUE)
        return kv_error(KV_ERR_CORRUPT, "command: op at offset %zu: a key of %zu bytes, a "
                        "value of %zu (keys are 1..%u, values at most %u)", at, op->klen,
                        op->vlen, KV_MAX_KEY, KV_MAX_VALUE);
    if (left - head < op->klen + op->vlen)
        return kv_error(KV_ERR_CORRUPT, "command: op at offset %zu: its key and value take "
                        "%zu bytes, %zu are left", at, op->klen + op->vlen, left - head);
    op->key = r->p + head;
    op->val = has_value(op->kind) ? op->key + op->klen : NULL;
    r->p += head + op->klen + op->vlen;
    return KV_OK;
}

/* The header's length for the version in byte 0, or 0 for no version. */
static size_t header_of(uint8_t version)
{
    return version == COMMAND_VERSION ? COMMAND_HEADER
           : version == 4             ? COMMAND_HEADER_V4
           : version == 3             ? COMMAND_HEADER_V3
           : version == 1             ? COMMAND_HEADER_V1
                                      : 0;
}

/* The origin in a header of `header` bytes (checked to be there). */
static command_origin origin_of(const uint8_t *base, size_t header)
{
    command_origin o = {0, 0, 0};
    if (header >= COMMAND_HEADER_V3) {
        o.member = coding_get_u64(base + 10);
        o.serial = coding_get_u64(base + 18);
    }
    if (header >= COMMAND_HEADER_V4)
        o.term = coding_get_u64(base + 26);
    return o;
}

int command_head_read(const void *buf, size_t len, command_head *h)
{
    const uint8_t *base = buf;
    size_t header = len > 0 ? header_of(base[0]) : 0;
    if (header == 0 || len < header || base[1] != 0)
        return kv_error(KV_ERR_CORRUPT, "command: not a command's header (%zu bytes)", len);
    h->conditions = coding_get_u32(base + 2);
    h->writes = coding_get_u32(base + 6);
    h->reads = header >= COMMAND_HEADER ? coding_get_u32(base + 34) : 0;
    h->origin = origin_of(base, header);
    return KV_OK;
}

int command_parse(const void *buf, size_t len, command_reader *r)
{
    const uint8_t *base = buf;
    if (len < COMMAND_HEADER_V1)
        return kv_error(KV_ERR_CORRUPT, "command: %zu bytes, shorter than its %u-byte header",
                        len, COMMAND_HEADER_V1);
    size_t header = header_of(base[0]);
    if (header == 0 || base[1] != 0)
        return kv_error(KV_ERR_CORRUPT, "command: offset 0: version %u, reserved byte %u "
                        "(version 1, 3, 4 or %u, 0 expected)", base[0], base[1],
                        COMMAND_VERSION);
    int max_kind = base[0] == 1               ? COMMAND_DELETE /* C5 */
                   : base[0] == COMMAND_VERSION ? COMMAND_READ
                                                : COMMAND_PUT_IF_PRESENT;
    if (len < header)
        return kv_error(KV_ERR_CORRUPT, "command: %zu bytes, shorter than its %zu-byte header",
                        len, header);
    r->conditions = coding_get_u32(base + 2);
    r->writes = coding_get_u32(base + 6);
    r->reads = header >= COMMAND_HEADER ? coding_get_u32(base + 34) : 0;
    r->conditional_writes = 0;
    r->origin = origin_of(base, header);
    if (r->writes >= KV_MAX_BATCH_OPS)
        return kv_error(KV_ERR_CORRUPT, "command: offset 6: %u writes (at most %u)", r->writes,
                        KV_MAX_BATCH_OPS - 1u);
    if (r->reads > COMMAND_MAX_READS)
        return kv_error(KV_ERR_CORRUPT, "command: offset 34: %u reads (at most %u)", r->reads,
                        COMMAND_MAX_READS);
    r->end = base + len;
    r->p = base + header;
    uint64_t write_bytes = 0, writes = 0, reads = 0;
    uint64_t ops = (uint64_t)r->conditions + r->writes + r->reads;
    for (uint64_t i = 0; i < ops; i++) {
        size_t at = (size_t)(r->p - base);
        command_op op;
        int rc = op_read(r, base, &op, max_kind);
        if (rc != KV_OK)
            return rc;
        int write = command_kind_writes(op.kind), read = op.kind == COMMAND_READ;
        r->conditional_writes += op.kind == COMMAND_PUT_IF_ABSENT ||
                                 op.kind == COMMAND_PUT_IF_PRESENT;
        if ((write || read) != (i >= r->conditions))
            return kv_error(KV_ERR_CORRUPT, "command: op %llu at offset %zu is a %s, but the "
                            "header says %u conditions come first", (unsigned long long)i, at,
                            write ? "write" : read ? "read" : "condition", r->conditions);
        if ((writes += write) > r->writes || (reads += read) > r->reads)
            return kv_error(KV_ERR_CORRUPT, "command: op %llu at offset %zu is %s %llu, but "
                            "the header says %u writes and %u reads", (unsigned long long)i,
                            at, write ? "write" : "read", (unsigned long long)(write ? writes
                                                                                    : reads),
                            r->writes, r->reads);
        if (command_key_reserved(op.key, op.klen))
            return kv_error(KV_ERR_CORRUPT, "command: op %llu at offset %zu names a key of "
                            "the replica's own", (unsigned long long)i, at);
        if (write && (write_bytes += op.klen + op.vlen) > COMMAND_MAX_WRITE_BYTES)
            return kv_error(KV_ERR_CORRUPT, "command: op %llu at offset %zu: the writes' "
                            "keys and values pass %llu bytes", (unsigned long long)i, at,
                            (unsigned long long)COMMAND_MAX_WRITE_BYTES);
    }
    size_t tail = (size_t)(r->end - r->p);
    int zeros = 1;
    for (const uint8_t *q = r->p; q < r->end; q++)
        zeros &= *q == 0;
    if (len % 8 != 0 || tail >= 8 || !zeros)
        return kv_error(KV_ERR_CORRUPT, "command: %zu bytes after the last op, at offset %zu, "
                        "in a command of %zu bytes (at most 7 zeros, to a multiple of 8)", tail,
                        (size_t)(r->p - base), len);
    r->end = r->p; /* the padding is no op */
    r->p = base + header;
    return KV_OK;
}

int command_next(command_reader *r, command_op *op)
{
    if (r->p >= r->end)
        return 0;
    const uint8_t *base = r->p; /* checked by command_parse: cannot fail */
    return op_read(r, base, op, COMMAND_READ) == KV_OK;
}
