/*
 * table_writer.h: how a table builder writes its file: appends through a
 * 256 KiB buffer, a failure that sticks, a sync and close at the end, and
 * the file removed if the table is abandoned.  Every table format's
 * builder (table_v1_build.c here) writes through one, so a table of a few
 * megabytes costs a few dozen system calls.
 *
 * Invariants:
 *   W1. Bytes reach the file in the order they were written, each call's
 *       bytes whole (a buffer's worth at a time; a piece larger than the
 *       buffer goes straight from the caller's memory, after the buffer).
 *   W2. After the first failure (KV_ERR_IO, KV_ERR_NOMEM: table_writer_fail)
 *       every call fails the same way, saying what failed first; the
 *       writer can then only be abandoned.
 *   W3. table_writer_finish returns KV_OK only once every byte is in the
 *       file, synced, and the file closed; table_writer_abandon removes
 *       the file whatever happened, and keeps the message of the failure
 *       that led to it.
 */
#ifndef KV_LSM_TABLE_WRITER_H
#define KV_LSM_TABLE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

#define TABLE_WRITER_BUFFER (256u * 1024u)

typedef struct table_writer {
    io_file *file;
    char *path;
    int failed;              /* W2 */
    char failure[256];
    uint8_t *buf;            /* bytes not yet appended */
    size_t buf_len;
    uint64_t written;        /* bytes appended so far */
} table_writer;

/* Creates (or empties) the file at path.  KV_OK; KV_ERR_IO (the file is
 * removed) or KV_ERR_NOMEM, with nothing left to free. */
int table_writer_open(table_writer *w, const char *path);

/* Where the next byte goes: bytes written so far. */
static inline uint64_t table_writer_pos(const table_writer *w)
{
    return w->written + w->buf_len;
}

/* Appends n bytes (W1).  KV_OK or the sticky failure. */
int table_writer_write(table_writer *w, const void *p, size_t n);

/* Room for n <= TABLE_WRITER_BUFFER bytes in the buffer, at the current
 * position, or NULL after a failure; table_writer_commit then says how
 * many of them were filled. */
uint8_t *table_writer_reserve(table_writer *w, size_t n);
static inline void table_writer_commit(table_writer *w, size_t n) { w->buf_len += n; }

/* Makes rc (with the current kv_errmsg) the writer's failure (W2);
 * returns rc. */
int table_writer_fail(table_writer *w, int rc);
/* KV_OK, or the failure again, with a message saying it came earlier. */
int table_writer_check(const table_writer *w);

/* Appends what is buffered, syncs and closes the file, and frees the
 * writer's memory (W3; `written` stays the file's size).  On failure the
 * caller abandons the writer. */
int table_writer_finish(table_writer *w);

/* Closes and removes the file, frees the writer's memory (W3).
 * REQUIRES: table_writer_finish has not succeeded. */
void table_writer_abandon(table_writer *w);

#endif
