/*
 * file_bytes.h: every byte of a file in memory at once, for a tool that
 * reads a damaged file in any order (kv repair's salvage of a table):
 * mapped where the I/O backend can map (io_map), else read whole.
 *
 * REQUIRES: the file does not shrink while it is held (a read of a mapping
 * past the file's end raises SIGBUS); a closed database's files do not.
 */
#ifndef KV_COMMON_FILE_BYTES_H
#define KV_COMMON_FILE_BYTES_H

#include <stdint.h>

#include "io.h"
#include "kv.h"

typedef struct file_bytes {
    const uint8_t *p;       /* the file's n bytes (NULL if it is empty) */
    uint64_t n;
    io_file *f;
    const void *map;        /* the mapping, or NULL */
    uint8_t *owned;         /* or the bytes read, or NULL */
} file_bytes;

/* KV_OK, KV_ERR_IO, KV_ERR_NOMEM (with kv_errmsg); *b is released by
 * file_bytes_close, also after a failure. */
int file_bytes_open(const char *path, file_bytes *b);
void file_bytes_close(file_bytes *b);

#endif
