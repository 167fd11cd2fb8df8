/*
 * wal_fuzz.c: fuzz harness for stage 03's write-ahead log.
 *
 * The input is read twice: directly by the WAL reader (stages/03-wal/
 * wal_reader.h) from memory, from offset 16 (after the segment's header), every record decoded as a batch, with the
 * reader's promises checked (records and damage come in file order, inside
 * the input); and as 0000000001.log, the only (so the active) segment of a
 * stage-03 database, driven through kv.h (fuzz_dbfile.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "file_header.h"
#include "fuzz_dbfile.h"
#include "wal_batch.h"
#include "wal_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int wal_fuzz_op(void *ctx, size_t i, const batch_op *op)
{
    (void)i;
    const uint8_t *const *limit = ctx;
    if (op->klen == 0 || (const uint8_t *)op->key + op->klen > *limit)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wal_reader r;
    /* A segment's records start after its 16-byte header (KVS03WAL). */
    wal_reader_init_mem(&r, data, size < FILE_HEADER_SIZE ? size : FILE_HEADER_SIZE, size);
    uint64_t last = 0;
    int rc;
    while ((rc = wal_reader_next(&r)) == WAL_READ_RECORD || rc == WAL_READ_DAMAGE) {
        uint64_t at = rc == WAL_READ_RECORD ? r.rec_start : r.bad_offset;
        if (at > size || (rc == WAL_READ_RECORD && (r.rec_end > size || r.rec_end <= at)))
            abort();
        if (rc == WAL_READ_RECORD) {
            if (at < last)
                abort();
            last = r.rec_end;
            const uint8_t *limit = r.rec + r.rec_len;
            const char *why;
            wal_batch_decode(r.rec, limit, wal_fuzz_op, &limit, NULL, &why);
        }
    }
    wal_reader_free(&r);
    if (rc != WAL_READ_END)
        abort();
    fuzz_dbfile_run("0000000001.log", data, size);
    return 0;
}
