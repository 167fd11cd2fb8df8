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
 * ops built again with command.h's builder (a plain put by command_put
 * and command_put_when in turn) give back the input byte for byte.
 * command_head_read (the state machine's look at a command's
 * header alone) must agree with command_parse: a header it refuses no
 * command_parse takes, and of a command that parses it reads the same
 * counts and origin.
 *
 * The builder is held to its own bounds too (command_fuzz_refusals): on
 * the command built again, an op that breaks one (a key of 0 bytes or
 * one past KV_MAX_KEY, a value one past KV_MAX_VALUE, a key of the
 * replica's own, a condition after a write or a read, a kind that is not
 * a put, writes past the bytes of one kv_write) is KV_ERR_INVALID and
 * leaves the command as it was; the keys and values past the bounds
 * point into a mapping without access, so a builder that read them
 * before refusing would fault.  Once a process, a command of the most reads and one of
 * the most writes: one op more is refused, and command_parse takes them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

static void command_fuzz_check(int ok)
{
    if (!ok)
        abort();
}

/* A refusal: rc KV_ERR_INVALID, the command's bytes as they were. */
static void command_fuzz_refused(const command *c, int rc, const uint8_t *was, size_t was_len)
{
    size_t len;
    const uint8_t *now = command_bytes(c, &len);
    command_fuzz_check(rc == KV_ERR_INVALID && len == was_len && memcmp(now, was, len) == 0);
}

/* KV_MAX_VALUE + 1 bytes no one may read (PROT_NONE): the keys and values
 * past the bounds, which the builder must refuse by their lengths. */
static const uint8_t *command_fuzz_unreadable(void)
{
    static void *p;
    if (p == NULL) {
        p = mmap(NULL, (size_t)KV_MAX_VALUE + 1, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        command_fuzz_check(p != MAP_FAILED);
    }
    return p;
}

/* Each op that breaks a bound of command.h, added to c, refused. */
static void command_fuzz_refusals(command *c, int has_writes_or_reads)
{
    size_t len;
    const uint8_t *now = command_bytes(c, &len);
    uint8_t *was = malloc(len);
    command_fuzz_check(was != NULL);
    memcpy(was, now, len);
    const uint8_t *none = command_fuzz_unreadable();
    static const char own[] = COMMAND_RESERVED "x";
    command_fuzz_refused(c, command_put(c, "k", 0, "v", 1), was, len);
    command_fuzz_refused(c, command_delete(c, none, KV_MAX_KEY + 1u), was, len);
    command_fuzz_refused(c, command_put(c, "k", 1, none, KV_MAX_VALUE + 1u), was, len);
    command_fuzz_refused(c, command_read(c, own, sizeof own - 1), was, len);
    command_fuzz_refused(c, command_put_when(c, COMMAND_DELETE, "k", 1, "v", 1), was, len);
    /* A key and a value at their longest: more than one kv_write holds
     * (the key is read, to be checked against the replica's own). */
    static uint8_t longest_key[KV_MAX_KEY];
    command_fuzz_refused(c, command_put(c, longest_key, KV_MAX_KEY, none, KV_MAX_VALUE), was,
                         len);
    if (has_writes_or_reads)
        command_fuzz_refused(c, command_if_absent(c, "k", 1), was, len);
    free(was);
}

/* Once a process: the most reads one command holds, then the most
 * writes; one more is refused, and what was built parses. */
static void command_fuzz_most_ops(void)
{
    static int done;
    if (done++)
        return;
    for (int writes = 0; writes < 2; writes++) {
        command *c = NULL;
        command_fuzz_check(command_new(&c) == KV_OK);
        uint32_t most = writes ? KV_MAX_BATCH_OPS - 1u : COMMAND_MAX_READS;
        for (uint32_t i = 0; i < most; i++)
            command_fuzz_check((writes ? command_delete(c, "k", 1) : command_read(c, "k", 1)) ==
                               KV_OK);
        size_t len;
        const uint8_t *b = command_bytes(c, &len);
        command_reader r;
        command_fuzz_check(command_parse(b, len, &r) == KV_OK &&
                           (writes ? r.writes : r.reads) == most);
        size_t was = len;
        command_fuzz_check((writes ? command_delete(c, "k", 1) : command_read(c, "k", 1)) ==
                           KV_ERR_INVALID);
        command_bytes(c, &len);
        command_fuzz_check(len == was);
        command_free(c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    command_fuzz_most_ops();
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
                 : op.kind == COMMAND_PUT && n % 2 == 0 ? command_put(c, op.key, op.klen, op.val,
                                                                      op.vlen)
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
        command_fuzz_refusals(c, r.writes + r.reads > 0);
    }
    command_free(c);
    command_free(NULL); /* a no-op */
    return 0;
}
