/*
 * hash_recover.h: what kv_open does with each segment, decided from what
 * record_replay found in it (record_io.h).  kv_open acts on the verdict
 * (hash_recover.c) and kv_check reports it (hash_tools.c), so that check
 * says exactly what open will do.
 *
 * The rule (docs/02-hash-reference.md, "Recovery").  Only the segment the next write
 * goes to can end in a write a crash cut short: the last segment holding
 * records, or an empty one after it.  So, for a segment
 *   - whose bytes are all valid records: KEEP, unless it is closed (not the
 *     last) and does not end with its seal: REFUSE (it was cut short, or
 *     emptied, after it was closed);
 *   - damaged in a way a crash can leave (record_damage.torn), if it is the
 *     last: CUT there (strict_recovery: REFUSE);
 *   - damaged in any other way, or torn but not the last: REFUSE.
 * A segment indexed from its hint (hint.h) is not read at open, so its
 * verdict is KEEP (sealed) once its header checks out.
 *
 * Empty segments (no records) after the last one with records are what a
 * roll-over that failed half-way leaves.  kv_open removes all but the
 * highest, and that one too if the last segment with records is not sealed
 * (appending after an empty segment would leave that one closed without its
 * seal); a remaining one gets a fresh header if it has none.
 */
#ifndef KV_HASH_RECOVER_H
#define KV_HASH_RECOVER_H

#include <stddef.h>
#include <stdint.h>

#include "record_io.h"
#include "segment.h"

enum { RECOVER_KEEP, RECOVER_CUT, RECOVER_REFUSE };

typedef struct recover_verdict {
    int action;
    uint64_t keep;          /* the segment's valid bytes after kv_open */
    uint64_t cut;           /* CUT: the bytes after keep, cut off */
    uint64_t records_lost;  /* CUT: valid records among them */
    int sealed;             /* it ends with its seal */
    char text[900];         /* CUT, REFUSE: what and why, from the offset on
                               ("offset 42: ..."): the caller names the file */
} recover_verdict;

/* 1 if a segment of `size` bytes may hold records (more than a header). */
static inline int recover_has_records(uint64_t size) { return size > SEGMENT_START; }

/* The index of the last segment with records among sizes[0..n) (by id),
 * or 0: the torn-tail rule applies to it and to the empty ones after it. */
size_t recover_last(const uint64_t *sizes, size_t n);

/* The verdict on a segment of `size` bytes whose replay returned replay_rc
 * (KV_OK or RECORD_DAMAGED) with *d; `last`: the torn-tail rule applies. */
void recover_judge(uint64_t size, int replay_rc, const record_damage *d, int last, int strict,
                   recover_verdict *v);

#endif
