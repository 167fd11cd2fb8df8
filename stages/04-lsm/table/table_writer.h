/*
 * table_writer.h: what every table builder shares, whatever its format
 * (table_v1_build.c here): the entries it accepts, and how it writes its
 * file.  Entries are checked as table.h's table_builder_add says, and the
 * first and last keys kept (a format stores them; the order check needs
 * the last).  The file is written by appends through a buffer of up to
 * 256 KiB (a table of a few megabytes costs a few dozen system calls),
 * which starts at 4 KiB and doubles as the table needs it (a small table,
 * a flush of a small memtable, allocates no more than it writes), with a
 * failure that sticks, a sync and close at the end, and the file removed
 * if the table is abandoned.
 *
 * Invariants:
 *   W1. Bytes reach the file in the order they were written, each call's
 *       bytes whole (a buffer's worth at a time; a piece larger than the
 *       buffer can grow to goes straight from the caller's memory, after
 *       the buffer).
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

#include "internal_key.h"
#include "io.h"

#define TABLE_WRITER_BUFFER (256u * 1024u)  /* the most the buffer grows to */
#define TABLE_WRITER_FIRST (4u * 1024u)     /* its size at first */

typedef struct table_writer {
    io_file *file;
    char *path;
    int failed;              /* W2 */
    char failure[256];
    uint8_t *buf;            /* bytes not yet appended */
    size_t buf_len, buf_cap; /* buf_cap: TABLE_WRITER_FIRST doubled, at most
                                TABLE_WRITER_BUFFER */
    uint64_t written;        /* bytes appended so far */
    uint8_t *first, *last;   /* the first and the last key added */
    size_t first_len, last_len, last_cap;
    uint64_t entries, deletes;   /* added, and of those tombstones */
} table_writer;

/* Creates (or empties) the file at path and writes its header
 * (file_header.h: the format's magic and version).  KV_OK; KV_ERR_IO (the
 * file is removed) or KV_ERR_NOMEM, with nothing left to free (the writer
 * is zeroed: abandoning it again is harmless). */
int table_writer_open(table_writer *w, const char *path, const char *magic, uint32_t version);

/* Checks an entry before a builder adds it (table.h): the sticky failure,
 * a well-formed internal key (user key 1..KV_MAX_KEY bytes), a value of
 * at most KV_MAX_VALUE, a key above the last one.  KV_OK with *k the key
 * parsed; else the failure, or KV_ERR_INVALID (the builder goes on). */
int table_writer_check_entry(table_writer *w, const uint8_t *ikey, size_t len,
                             size_t value_len, ikey_parsed *k);
/* Counts an entry the builder has added, and keeps its key as the last
 * (and the first).  KV_OK, or KV_ERR_NOMEM made the sticky failure. */
int table_writer_added(table_writer *w, const uint8_t *ikey, size_t len, ikey_type type);

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
 * writer's memory (W3; `written`, `entries` and `deletes` stay).  On failure the
 * caller abandons the writer. */
int table_writer_finish(table_writer *w);

/* Closes and removes the file, frees the writer's memory (W3).
 * REQUIRES: table_writer_finish has not succeeded. */
void table_writer_abandon(table_writer *w);

#endif
