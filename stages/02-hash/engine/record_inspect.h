/*
 * record_inspect.h: the lines kv_inspect shows for the records inside one
 * segment (KV_INSPECT_DETAIL).  This is an interface, beside record_io.h:
 * the record format is the stage's, so stage 02 shows its log records
 * (record_inspect_log.c) and stage 03 the blocks, fragments and batches of
 * its write-ahead log (stages/03-wal/wal_records/record_inspect_wal.c).  The lines are
 * docs/lab.md's.
 *
 * REQUIRES: [0, size) of the file is valid and does not change while it
 * is read (segment.h, invariant 2), so no lock is held here.
 */
#ifndef KV_RECORD_INSPECT_H
#define KV_RECORD_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "inspect_line.h"
#include "io.h"
#include "kv.h"

typedef struct record_inspect {
    kv_line_fn line;
    void *ctx;
    const char *file;       /* the segment's name, for the lines */
    uint32_t seg;           /* its id */
    inspect_cap cap;        /* KV_INSPECT_DETAIL_MAX lines for this segment */
    /* 1 if the index points key at the op whose place (record_io.h) is
     * at off of this segment: the op is live, not yet garbage. */
    int (*live)(void *live_ctx, uint32_t seg, const uint8_t *key, size_t klen, uint64_t off);
    void *live_ctx;
} record_inspect;

/* Emits the lines of the records of [0, size) of f.  KV_OK, or an error
 * (KV_ERR_CORRUPT naming file and offset if a record there is damaged). */
int record_inspect_file(io_file *f, uint64_t size, record_inspect *ri);

#endif
