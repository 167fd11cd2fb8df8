/*
 * internal_key.h: the keys the LSM tree sorts by, inside the engine.
 *
 * A user writes a key many times; the engine keeps every version until no
 * reader can see it.  So each write becomes an entry keyed by an internal
 * key: the user key, then 8 bytes that say which write it was.
 *
 *   offset  size  field
 *   0       n     user key (the bytes the user gave, n >= 1)
 *   n       8     trailer, little-endian u64: sequence << 8 | type
 *
 * The sequence number (56 bits, 1 .. IKEY_MAX_SEQ) counts writes: every
 * put or delete takes the next one, a batch consecutive ones.  The type is
 * IKEY_PUT (the entry holds a value) or IKEY_DELETE (a tombstone: the key
 * was deleted at that sequence; it must outlive the versions it hides);
 * in a table, also IKEY_PUT_ELSEWHERE: a put whose value the engine's
 * value store keeps elsewhere, the entry holding where (value_store.h; no
 * stage before 08 writes one).  LevelDB packs the same 8 bytes the same
 * way (db/dbformat.h); RocksDB keeps its blob values' places the same way
 * (kTypeBlobIndex).
 *
 * THE ORDER (ikey_compare), which every sorted structure of the stage
 * keeps (skiplist, table, merging iterator):
 *   1. user key ascending, bytewise; a key that is a prefix of another sorts
 *      first (kv.h's order);
 *   2. then the trailer descending: the newest sequence first (at one
 *      sequence the larger type first, though no two entries share one).
 * So the versions of one user key are adjacent, newest first, and "the
 * newest version visible at sequence s" is the first entry at or after the
 * lookup key (user key, s, IKEY_TYPE_FOR_SEEK): that key sorts before every
 * version with sequence <= s and after every version with sequence > s.
 *
 * A lookup key (ikey_lookup) carries the internal key in both forms the
 * stage searches with: bare (tables, iterators) and with a varint32 length
 * in front (the memtable's entries start that way; memtable.h).
 */
#ifndef KV_LSM_INTERNAL_KEY_H
#define KV_LSM_INTERNAL_KEY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "coding.h"

#define IKEY_TRAILER_SIZE 8u
#define IKEY_MAX_SEQ ((UINT64_C(1) << 56) - 1)

typedef enum ikey_type {
    IKEY_DELETE = 0,
    IKEY_PUT = 1,
    IKEY_PUT_ELSEWHERE = 2
} ikey_type;

/* The type a lookup key carries: the largest, so that at equal sequence the
 * lookup key sorts before (or on) every entry. */
#define IKEY_TYPE_FOR_SEEK IKEY_PUT_ELSEWHERE

/* A type in words, for the tools: "put", "del" or "elsewhere". */
const char *ikey_type_word(ikey_type t);

/* What a point lookup in one source (memtable, table) found. */
typedef enum ikey_lookup_state {
    IKEY_ABSENT = 0,   /* no version of the key at or below the sequence */
    IKEY_FOUND = 1,    /* the newest visible version is a put */
    IKEY_DELETED = 2   /* the newest visible version is a tombstone */
} ikey_lookup_state;

/* An internal key taken apart.  user_key points into the decoded bytes. */
typedef struct ikey_parsed {
    const uint8_t *user_key;
    size_t user_len;
    uint64_t seq;
    ikey_type type;
} ikey_parsed;

static inline uint64_t ikey_trailer(uint64_t seq, ikey_type type)
{
    return seq << 8 | (uint64_t)type;
}

/* Writes user key and trailer at out (ulen + 8 bytes).
 * REQUIRES: ukey points at ulen bytes, never NULL (every caller's key is
 * one: a user key is at least a byte, and a seek to the empty key is a
 * seek to the first); seq <= IKEY_MAX_SEQ. */
void ikey_encode(uint8_t *out, const void *ukey, size_t ulen, uint64_t seq, ikey_type type);

/* Parses the internal key [p, limit).  Returns 1, or 0 if it is not one:
 * shorter than 9 bytes (an empty user key), limit before p, or an
 * unknown type. */
int ikey_decode(const uint8_t *p, const uint8_t *limit, ikey_parsed *out);

/* Bytewise order of user keys, shorter prefix first: <0, 0, >0. */
static inline int ikey_user_compare(const uint8_t *a, size_t alen, const uint8_t *b,
                                    size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    /* Eight bytes at a time, as big-endian words, before memcmp for the
     * rest: most keys differ within their first words, and a call to
     * memcmp costs more than the compare itself. */
    while (n >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) {
            x = __builtin_bswap64(x);
            y = __builtin_bswap64(y);
            return x < y ? -1 : 1;
        }
        a += 8;
        b += 8;
        n -= 8;
    }
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Whether user key [ukey, ukey + ulen) lies in [smallest, largest]'s
 * user keys, two internal keys: a table's range (table.h's
 * table_smallest, table_largest).
 * REQUIRES: slen, llen >= IKEY_TRAILER_SIZE. */
static inline int ikey_user_in_range(const uint8_t *ukey, size_t ulen, const uint8_t *smallest,
                                     size_t slen, const uint8_t *largest, size_t llen)
{
    return ikey_user_compare(ukey, ulen, smallest, slen - IKEY_TRAILER_SIZE) >= 0 &&
           ikey_user_compare(ukey, ulen, largest, llen - IKEY_TRAILER_SIZE) <= 0;
}

/* THE ORDER of internal keys (above): <0, 0, >0.
 * REQUIRES: alen, blen >= IKEY_TRAILER_SIZE. */
static inline int ikey_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = ikey_user_compare(a, alen - IKEY_TRAILER_SIZE, b, blen - IKEY_TRAILER_SIZE);
    if (c != 0)
        return c;
    uint64_t ta = coding_get_u64(a + alen - IKEY_TRAILER_SIZE);
    uint64_t tb = coding_get_u64(b + blen - IKEY_TRAILER_SIZE);
    return ta > tb ? -1 : ta < tb;
}

/* The sequence and type of an internal key.  REQUIRES: len >= 8. */
static inline uint64_t ikey_seq(const uint8_t *ikey, size_t len)
{
    return coding_get_u64(ikey + len - IKEY_TRAILER_SIZE) >> 8;
}
static inline ikey_type ikey_type_of(const uint8_t *ikey, size_t len)
{
    return (ikey_type)(ikey[len - IKEY_TRAILER_SIZE] & 0xff);
}

/*
 * A lookup key: "the newest version of user key K visible at sequence s".
 *
 *   buf: varint32(ulen + 8) | user key | trailer(s, IKEY_TYPE_FOR_SEEK)
 *        ^entry              ^ikey
 *
 * Small keys live in the struct itself; longer ones in one allocation.
 */
#define IKEY_LOOKUP_INLINE 200u
typedef struct ikey_lookup {
    uint8_t *buf;        /* space, or an allocation */
    size_t entry_len;    /* bytes of buf in use */
    size_t ikey_off;     /* where the internal key starts in buf */
    uint8_t space[IKEY_LOOKUP_INLINE];
} ikey_lookup;

/* KV_OK, or KV_ERR_NOMEM.  REQUIRES: 1 <= ulen <= KV_MAX_KEY, seq <=
 * IKEY_MAX_SEQ.  Release with ikey_lookup_free (also after failure). */
int ikey_lookup_init(ikey_lookup *lk, const void *ukey, size_t ulen, uint64_t seq);
void ikey_lookup_free(ikey_lookup *lk);

/* The lookup as a memtable entry prefix (varint length, internal key). */
static inline const uint8_t *ikey_lookup_entry(const ikey_lookup *lk)
{
    return lk->buf;
}
/* The bare internal key and its length. */
static inline const uint8_t *ikey_lookup_ikey(const ikey_lookup *lk, size_t *len)
{
    *len = lk->entry_len - lk->ikey_off;
    return lk->buf + lk->ikey_off;
}
/* The user key and its length. */
static inline const uint8_t *ikey_lookup_user(const ikey_lookup *lk, size_t *len)
{
    *len = lk->entry_len - lk->ikey_off - IKEY_TRAILER_SIZE;
    return lk->buf + lk->ikey_off;
}

#endif
