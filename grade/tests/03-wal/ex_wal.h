/*
 * ex_wal.h: the tests' own write-ahead log (wal_format.h) and batch
 * (wal_batch.h) encoders, so that the tests of one exercise do not lean on
 * the learner's answer to another; a segment file of stage 03 made from
 * them; and an I/O backend that records the order of appends and syncs
 * and can make a sync slow.
 */
#ifndef KV_GRADE_EX_WAL_H
#define KV_GRADE_EX_WAL_H

#include <stddef.h>
#include <stdint.h>

/* Frames the record [p, p + len) for a log whose next byte is at `at`
 * (trailer, then FULL or FIRST/MIDDLE.../LAST), into dst; returns the
 * bytes written. */
size_t ex_wal_frame(uint8_t *dst, uint64_t at, const void *p, size_t len);
/* One fragment's header at dst: crc of length, type and data. */
void ex_wal_fragment(uint8_t *dst, const void *data, uint32_t len, int type);
/* The payload of a batch of one put; returns its size. */
size_t ex_wal_put(uint8_t *dst, const char *key, const char *val);
/* A sync marker's payload naming synced_to; returns its size (9). */
size_t ex_wal_marker(uint8_t *dst, uint64_t synced_to);

/* A segment being built in memory: its 16-byte header, then records
 * framed at their file offsets. */
typedef struct ex_seg {
    uint8_t *b;
    size_t n, cap;
} ex_seg;
void ex_seg_init(ex_seg *s);
/* Frees its bytes (a test frees what it allocated: exercise.h). */
void ex_seg_free(ex_seg *s);
/* Appends a record (a payload); returns the offset where the writer stood
 * before it (the record's start, or its trailer's). */
uint64_t ex_seg_add(ex_seg *s, const void *payload, size_t len);
/* Writes it as 0000000001.log in a fresh directory; returns the path. */
const char *ex_seg_write(const ex_seg *s);

/* The tracing backend: files opened while it is installed record 'A' for
 * each append, 'S' for each sync of a file, and 'D' for each sync of a
 * directory, in order (up to 4095 events); a file sync first sleeps ms
 * milliseconds. */
void ex_trace_install(int ms);
void ex_trace_uninstall(void);
/* The events so far, as a string. */
const char *ex_trace_events(void);

#endif
