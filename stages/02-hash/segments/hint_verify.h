/*
 * hint_verify.h: whether a hint describes its segment, record by record.
 *
 * hint_load (hint.h) checks a hint's own bytes: its checksum, its header,
 * and that its entries' sizes cover the segment end to end.  That is what
 * kv_open needs to trust it, and all it checks, since reading every record
 * is what a hint is there to spare.  So a hint whose checksum is right but
 * whose keys are not its segment's (written by a faulty merge, or crafted)
 * passes kv_open, which then indexes keys the segment does not hold.
 * hint_verify also reads each entry's record back (record_read_value,
 * record_io.h) and requires it to be a put of the key the hint names.
 * kv check reports a hint that fails it; kv repair removes it, so that
 * kv_open reads the segment instead.
 */
#ifndef KV_HINT_VERIFY_H
#define KV_HINT_VERIFY_H

#include <stdint.h>

#include "io.h"

/* The hint at path against segment `id`, open as seg (its bytes up to
 * seg->end).  KV_OK (with *entries, if not NULL, the hint's entries);
 * KV_ERR_CORRUPT if the hint fails hint_load's checks or an entry's record
 * is not a put of its key (kv_errmsg says which, and where); or an I/O
 * error. */
int hint_verify(const char *path, uint32_t id, io_file *seg, uint64_t *entries);

#endif
