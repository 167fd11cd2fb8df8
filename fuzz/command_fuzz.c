/*
 * command_fuzz.c: fuzz harness for stage 10's command format
 * (stages/10-raft/replica/command.h), which every member of a Raft group
 * decodes from its log.  It needs no engine: the Makefile builds it once,
 * under the name "replica".
 *
 * The input is a command's bytes.  command_parse either refuses them
 * (KV_ERR_CORRUPT, a message naming an offset or a length: a number no
 * larger than the input, whatever the words around it) or accepts them;
 * then the harness aborts unless command_next walks exactly the header's
 * C conditions, W writes and R reads, every key and value inside the
 * input, conditions first, none of them a member's key (C3), and the same
 * ops built again with command.h's builder give back the input byte for
 * byte.  command_head_read (the state machine's look at a command's
 * header alone) must agree with command_parse: a header it refuses no
 * command_parse takes, and of a command that parses it reads the same
 * counts and origin.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether msg holds a decimal number of at most max (an offset or a
 * length in the input): what a refusal must name, in any words. */
static int names_a_place(const char *msg, size_t max)
{
    for (const char *q = msg; q != NULL && *q != '\0'; q++) {
        if (*q < '0' || *q > '9' || (q > msg && q[-1] >= '0' && q[-1] <= '9'))
            continue;
        unsigned long long v = strtoull(q, NULL, 10);
        if (v <= max)
            return 1;
    }
    return 0;
}

static int inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
    return p >= data && (size_t)(p - data) <= size && n <= size - (size_t)(p - data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    command_head h;
    int head_rc = command_head_read(data, size, &h);
    if (head_rc != KV_OK && head_rc != KV_ERR_CORRUPT)
        abort(); /* the header is a command's or damage */
    command_reader r;
    if (command_parse(data, size, &r) != KV_OK) {
        if (!names_a_place(kv_errmsg(), size))
            abort(); /* a refusal must say where */
        return 0;
    }
    if (head_rc != KV_OK || h.conditions != r.conditions || h.writes != r.writes ||
        h.reads != r.reads ||
        h.origin.member != r.origin.member || h.origin.serial != r.origin.serial)
        abort(); /* the header alone reads as the whole command's */
    command *c = NULL;
    if (command_new(&c) != KV_OK)
        return 0;
    command_op op;
    uint64_t n = 0, reads = 0;
    size_t header = data[0] == 1 ? COMMAND_HEADER_V1
                    : data[0] == 3 ? COMMAND_HEADER_V3
                    : data[0] == 4 ? COMMAND_HEADER_V4
                                   : COMMAND_HEADER;
    size_t ops_len = (size_t)(r.end - (data + header));
    while (command_next(&r, &op)) {
        int write = command_kind_writes(op.kind), read = op.kind == COMMAND_READ;
        if (!inside(op.key, op.klen, data, size) || op.klen == 0 ||
            (op.val != NULL && !inside(op.val, op.vlen, data, size)) ||
            (write || read) != (n >= r.conditions) || command_key_member(op.key, op.klen) ||
            (read && data[0] != COMMAND_VERSION))
            abort();
        reads += read;
        int rc = op.kind == COMMAND_IF_VALUE  ? command_if_value(c, op.key, op.klen, op.val, op.vlen)
                 : op.kind == COMMAND_IF_ABSENT ? command_if_absent(c, op.key, op.klen)
                 : op.kind == COMMAND_DELETE   ? command_delete(c, op.key, op.klen)
                 : op.kind == COMMAND_READ     ? command_read(c, op.key, op.klen)
                 : op.kind == COMMAND_PUT      ? command_put(c, op.key, op.klen, op.val, op.vlen)
                 : command_put_when(c, op.kind, op.key, op.klen, op.val, op.vlen);
        if (rc == KV_ERR_NOMEM)
            break;
        if (rc != KV_OK)
            abort(); /* what parses is what the builder accepts */
        n++;
    }
    if (n == (uint64_t)r.conditions + r.writes + r.reads) {
        /* Built again (with the input's origin), the command is the
         * input; an input of an older version, whose header is shorter
         * (version 1's has no origin, version 3's no term, version 4's no
         * R), is the same counts, origin and ops after its header, padded
         * again for the builder's 38-byte one. */
        command_set_origin(c, r.origin);
        size_t len;
        const uint8_t *again = command_bytes(c, &len);
        if (reads != r.reads || len != ((COMMAND_HEADER + ops_len + 7) & ~(size_t)7) ||
            memcmp(again + 2, data + 2, header - 2) != 0 ||
            memcmp(again + COMMAND_HEADER, data + header, ops_len) != 0 ||
            (header == COMMAND_HEADER && (len != size || memcmp(again, data, size) != 0)))
            abort(); /* built again, the ops are the input */
    }
    command_free(c);
    return 0;
}
