/*
 * member_note.c: members' client addresses encoded and checked
 * (member_note.h).
 */
#include <string.h>

#include "coding.h"
#include "error.h"
#include "kv.h"
#include "member_note.h"

int member_addr_valid(const char *addr, size_t len)
{
    if (len == 0 || len > MEMBER_ADDR_MAX)
        return 0;
    size_t colon = len;
    for (size_t i = 0; i < len; i++) {
        if (addr[i] < 33 || addr[i] > 126)
            return 0;
        if (addr[i] == ':')
            colon = i;
    }
    if (colon == 0 || colon == len || len - colon - 1 < 1 || len - colon - 1 > 5)
        return 0;
    for (size_t i = colon + 1; i < len; i++)
        if (addr[i] < '0' || addr[i] > '9')
            return 0;
    return 1;
}

size_t member_note_encode(const member_note *note, uint8_t *out, size_t cap)
{
    if (note->n == 0 || note->n > MEMBER_NOTE_MAX || cap < MEMBER_NOTE_HEADER)
        return 0;
    size_t at = MEMBER_NOTE_HEADER;
    for (unsigned i = 0; i < note->n; i++) {
        size_t a = strlen(note->addr[i]);
        if (note->id[i] == 0 || !member_addr_valid(note->addr[i], a) || cap - at < 9 + a)
            return 0;
        coding_put_u64(out + at, note->id[i]);
        out[at + 8] = (uint8_t)a;
        memcpy(out + at + 9, note->addr[i], a);
        at += 9 + a;
    }
    size_t padded = (at + 7) & ~(size_t)7;
    if (padded > cap)
        return 0;
    memset(out + at, 0, padded - at);
    out[0] = MEMBER_NOTE_KIND;
    out[1] = 0;
    out[2] = (uint8_t)note->n;
    out[3] = (uint8_t)(note->n >> 8);
    return padded;
}

int member_note_parse(const void *buf, size_t len, member_note *note)
{
    const uint8_t *p = buf;
    note->n = 0;
    if (len < MEMBER_NOTE_HEADER)
        return kv_error(KV_ERR_CORRUPT, "member note: offset 0: %zu bytes, shorter than its "
                        "%u-byte header", len, MEMBER_NOTE_HEADER);
    unsigned n = (unsigned)p[2] | (unsigned)p[3] << 8;
    if (p[0] != MEMBER_NOTE_KIND || p[1] != 0 || n == 0 || n > MEMBER_NOTE_MAX)
        return kv_error(KV_ERR_CORRUPT, "member note: offset 0: kind %u, reserved byte %u, %u "
                        "members (kind %u, 0, 1..%u expected)", p[0], p[1], n,
                        MEMBER_NOTE_KIND, MEMBER_NOTE_MAX);
    size_t at = MEMBER_NOTE_HEADER;
    for (unsigned i = 0; i < n; i++) {
        if (len - at < 9)
            return kv_error(KV_ERR_CORRUPT, "member note: member %u at offset %zu: %zu bytes "
                            "left, its id and length take 9", i, at, len - at);
        uint64_t id = coding_get_u64(p + at);
        size_t a = p[at + 8];
        if (id == 0 || len - at - 9 < a || !member_addr_valid((const char *)p + at + 9, a))
            return kv_error(KV_ERR_CORRUPT, "member note: member %u at offset %zu: id %llu, an "
                            "address of %zu bytes (%zu left) that is not HOST:PORT", i, at,
                            (unsigned long long)id, a, len - at - 9);
        note->id[i] = id;
        memcpy(note->addr[i], p + at + 9, a);
        note->addr[i][a] = '\0';
        at += 9 + a;
    }
    int zeros = 1;
    for (size_t q = at; q < len; q++)
        zeros &= p[q] == 0;
    if (len % 8 != 0 || len - at >= 8 || !zeros)
        return kv_error(KV_ERR_CORRUPT, "member note: %zu bytes after the last member, at "
                        "offset %zu, in a note of %zu bytes (at most 7 zeros, to a multiple "
                        "of 8)", len - at, at, len);
    note->n = n;
    return KV_OK;
}
