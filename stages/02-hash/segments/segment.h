/*
 * segment.h: the numbered log files of stage 02, their names, and shared
 * handles to them.
 *
 * The log is split into segment files named by a 32-bit id, ten decimal
 * digits then ".log" (0000000007.log), so sorting names sorts ids.  Each
 * starts with a 16-byte file header (common/file_header.h, written by
 * segment_create and synced before any record) and holds records after it,
 * from SEGMENT_START: stage 02's are log records (common/log_record.h), as
 * in stage 01's data.log; record_io.h is the seam.  A record in a higher-numbered segment is newer than every
 * record in a lower-numbered one: that order is what recovery replays.
 * A merge output may have a hint file beside it (0000000007.hint, hint.h).
 * Files being written by a merge end in ".tmp" until they are complete.
 * docs/02-hash.md has the byte tables.
 *
 * A segment handle is shared: the database holds one reference while the
 * segment is part of it; a kv_get holds one for the duration of its read and
 * an iterator for its whole life.  A merge drops the database's reference
 * and unlinks the file; the open file stays readable (POSIX keeps an
 * unlinked file's data while a descriptor is open) and is closed when the
 * last reference goes.
 *
 * Invariants:
 *   1. refs counts the holders; it is changed only with atomics, and the
 *      handle is freed (file closed) exactly when it drops to 0.
 *   2. Bytes [0, size) of the file are valid records and never change while
 *      the handle lives; only the active segment's size grows (atomically,
 *      under the database's write lock).
 *   3. A segment_table is sorted by id, and ids in it are distinct.
 */
#ifndef KV_SEGMENT_H
#define KV_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "file_header.h"
#include "io.h"

/* Where a segment's records start: after its file header.  A segment of at
 * most this many bytes holds no record. */
#define SEGMENT_START FILE_HEADER_SIZE

#define SEGMENT_SUFFIX ".log"
#define SEGMENT_HINT_SUFFIX ".hint"
#define SEGMENT_TMP_SUFFIX ".tmp"
#define SEGMENT_NAME_MAX 32   /* room for "4294967295.hint.tmp" and a NUL */

typedef struct segment {
    uint32_t id;
    io_file *file;
    char *name;            /* "0000000007.log", for messages and tools */
    uint64_t size;         /* valid bytes (invariant 2); read with __atomic */
    uint64_t live_bytes;   /* bytes of the records the index points at, and
                              of the header and seal (never garbage);
                              changed under the database's index lock */
    int refs;              /* invariant 1 */
    int has_hint;          /* a valid hint file <id>.hint is beside it */
    int sealed;            /* kv_open found it ends with its seal (record_io.h) */
    int settled;           /* it takes no more writes (segment_settle); read
                              with __atomic */
    io_file *view;         /* once settled and first read: the file read from
                              a mapping (common/io_view.h), or NULL; set once,
                              read with __atomic */
    int view_tried;        /* a view was asked for (the backend may have none) */
} segment;

/* What a directory entry is. */
enum {
    SEGMENT_FILE_OTHER = 0,  /* not ours (LOCK, or anything else) */
    SEGMENT_FILE_LOG,        /* 0000000007.log */
    SEGMENT_FILE_HINT,       /* 0000000007.hint */
    SEGMENT_FILE_TMP         /* anything ending in .tmp: an unfinished merge file */
};

/* Classifies a file name; sets *id for LOG and HINT. */
int  segment_parse_name(const char *name, uint32_t *id);
/* Writes "<10-digit id><suffix>" into buf[SEGMENT_NAME_MAX]. */
void segment_name(char *buf, uint32_t id, const char *suffix);

/* Opens DIR/<id>.log with io_open flags into a fresh handle with one
 * reference; size is set from the file. */
int  segment_open(const char *dir, uint32_t id, int flags, segment **out);
/* Creates DIR/<id>.log (emptied if it exists) holding its header, synced
 * (so that a crash can never leave a segment with records behind a damaged
 * header); a fresh handle with one reference, size SEGMENT_START. */
int  segment_create(const char *dir, uint32_t id, segment **out);
/* Appends the header of a segment of this record format (record_io.h) to
 * f.  REQUIRES: f is empty. */
int  segment_write_header(io_file *f);
/* Checks the header of a segment of `size` bytes, without reading its
 * records (for a segment indexed from its hint): KV_OK, KV_ERR_CORRUPT
 * naming the file and what is there, or an I/O error. */
int  segment_check_header(io_file *f, uint64_t size);
/* Makes s hold nothing but a fresh header, synced: for a last segment that
 * is empty or whose header a crash cut short (record_io.h).  REQUIRES: s
 * holds no record and was opened for writing. */
int  segment_restart(segment *s);
void segment_ref(segment *s);
void segment_unref(segment *s);   /* NULL is a no-op */
/* s takes no more writes: the active segment after a roll-over, every
 * other one at open, a merge's output.  Its bytes never change again. */
void segment_settle(segment *s);
/* The file to read s's records from: once s is settled, a view of it
 * through a mapping (common/io_view.h: a read is a memory copy, no system
 * call), made at the first read after; else, or where the backend cannot
 * map, s->file.  Any thread holding a reference. */
io_file *segment_reader(segment *s);

/* A set of segments sorted by id (invariant 3). */
typedef struct segment_table {
    segment **v;
    size_t n, cap;
} segment_table;

/* The segment with this id, or NULL. */
segment *segment_table_find(const segment_table *t, uint32_t id);
/* Makes room for `more` insertions, so that they cannot fail.  The room
 * is anyone's: a table shared between threads must be reserved in the same
 * hold of its lock as the insertions that count on it. */
int  segment_table_reserve(segment_table *t, size_t more);
/* Inserts s (taking over one reference).  REQUIRES: room reserved (in this
 * hold of the table's lock), id absent. */
void segment_table_insert(segment_table *t, segment *s);
/* Removes and returns the segment with this id (its reference goes to the
 * caller), or NULL. */
segment *segment_table_remove(segment_table *t, uint32_t id);
/* Drops every reference the table holds and frees it. */
void segment_table_clear(segment_table *t);

#endif
