/*
 * batchlog.h: a key-value engine in C that speaks kvgrade's protocol
 * (RESP2 on standard input and output: SET GET DEL RANGE MSET;
 * docs/kvgrade.md) and keeps every acknowledged write (durability sync),
 * answering a pipelined batch with one fsync.  The C twin of
 * kvgrade/examples/batchlog.py, in the same file format: DIR/data.log, a
 * record per request,
 *
 *   record := hcrc: u32   crc32 of the 16 bytes after it
 *             len:  u32   the body's length
 *             bcrc: u32   crc32 of the body
 *             start: u64  where the writes of this record's sync began
 *                         (the log's length before its batch)
 *             body: len bytes: ops, each op u8 ('S' or 'D'), klen u32,
 *                   vlen u32, key, value (all little-endian)
 *
 * The recovery rule.  A power cut can tear every write since the last
 * completed fsync, which here is a whole batch of records.  At the first
 * bad record (at byte X): if a good record after it says its sync began
 * after X, a sync completed after the damage was written: damage to
 * durable bytes, refused (exit status 1, the byte named).  Otherwise the
 * damage lies in the writes of the last sync, never acknowledged: the log
 * is cut back to X (the whole records before it stay) and the engine
 * opens.
 *
 * The steps durability rests on go through a table, so that a wrong
 * engine (kvgrade/tests/engines/batchlog_mistakes.c) can replace one and
 * show what kvgrade says about it.  batching.c runs the right ones.
 */
#ifndef KVGRADE_EXAMPLES_BATCHLOG_H
#define KVGRADE_EXAMPLES_BATCHLOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct batchlog_steps batchlog_steps;

struct batchlog_steps {
    /* fsync of the log: its bytes on stable storage.  0 or -1. */
    int (*sync_file)(int fd);
    /* fsync of the directory: a name made in it is on stable storage. */
    int (*sync_dir)(const char *dir);
    /* A batch's records (bytes) written at the end of the log, then made
     * durable; the replies go out only after it returns 0. */
    int (*append)(const batchlog_steps *st, int fd, const unsigned char *bytes, size_t len);
    /* 1 if the damage at byte `bad` of the log lies in the writes of its
     * last sync (drop it), 0 if it is before durable bytes (refuse). */
    int (*torn)(const unsigned char *log, size_t len, size_t bad);
    /* The log cut back to its good part, `good` bytes, and that made
     * durable: the next write goes after the good records. */
    int (*cut)(const batchlog_steps *st, int fd, size_t good);
};

extern const batchlog_steps batchlog_correct;

/* Runs the engine on directory dir until the end of standard input:
 * the exit status (0, or 1 when it refuses the log). */
int batchlog_main(const char *dir, const batchlog_steps *st);

/* 1 if a whole record starts at byte pos of log[0..len) (*start: where
 * its sync began). */
int batchlog_whole(const unsigned char *log, size_t len, size_t pos, uint64_t *start);

#endif
