/*
 * file_start.h: the first 16 bytes of a data file on disk: writing its
 * header (file_header.h) into a new file, and reading it back with the one
 * rule every stage applies to what it finds there.
 *
 * A file is created empty and its header is its first write, before any
 * record.  So a crash while a file is being created can leave it empty, or
 * holding part of its header, or (after a power loss, where an unsynced
 * write may come back as zeros or garbage) 16 bytes that are no header.
 * None of those files holds a record.  The rule (docs/formats.md, "Torn
 * headers"):
 *
 *   FILE_START_EMPTY  0 bytes: created, nothing written yet;
 *   FILE_START_TORN   1 to 16 bytes that are not a whole header, neither
 *                     this format's nor another known one's: a creation cut
 *                     short.  It holds no record, so rewriting its header
 *                     loses nothing;
 *   FILE_START_OK     a valid header of the expected format and version;
 *   FILE_START_BAD    anything else: a header that is wrong although more
 *                     bytes follow it (its records were written after it, so
 *                     a crash did not do this), or another format's header.
 *
 * A stage treats TORN like a torn tail at offset 0 (cut and rewritten by a
 * kv_open that may write; refused with strict_recovery), and only in the
 * file it would append to next; BAD is corruption.
 *
 * Invariant: file_start_read reads only [0, min(size, 16)) of the file.
 */
#ifndef KV_COMMON_FILE_START_H
#define KV_COMMON_FILE_START_H

#include <stddef.h>
#include <stdint.h>

#include "file_header.h"
#include "io.h"

enum { FILE_START_OK = 0, FILE_START_EMPTY, FILE_START_TORN, FILE_START_BAD };

typedef struct file_start {
    int state;          /* FILE_START_* */
    char why[400];      /* TORN, BAD: what is there, naming the file and offset */
} file_start;

/* Judges the first bytes of f, a file of `size` bytes that should start
 * with the header of `magic`, `version`.  KV_OK (the verdict is in *fs) or
 * an I/O error. */
int file_start_read(io_file *f, uint64_t size, const char *magic, uint32_t version,
                    file_start *fs);

/* Appends the header of `magic`, `version` to f.  REQUIRES: f is empty. */
int file_start_write(io_file *f, const char *magic, uint32_t version);

#endif
