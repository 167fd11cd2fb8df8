/*
 * model_disk.h: a disk slower than this machine's, for a benchmark that
 * needs reads and background writes to compete for one (limiter_latency's
 * --disk-mbps).  It is an I/O backend (common/io.h) over the one in place:
 * the files are real and hold real bytes, but every read and every write
 * also takes its time on a modeled device:
 *
 *   - One queue, served in arrival order, one request at a time, as a
 *     disk with no scheduler that prefers reads.  A request of n bytes
 *     holds the device for access_us + n / bytes_per_sec.
 *   - Or, with MODEL_DISK_READS_FIRST, reads go before the write-back
 *     queued: a read waits for the reads ahead of it and for the piece
 *     being written (at most one piece: a write is not cut short), and
 *     pushes the queued pieces back by its own time, as a scheduler that
 *     puts reads first (Linux's mq-deadline and BFQ lean that way).
 *   - A read (io_read_at) waits for everything queued before it, then for
 *     its own time: there is no page cache in front, as with a database
 *     much larger than memory.  The engine's own block cache still serves
 *     what it holds.  Files cannot be mapped (map is NULL), so every read
 *     of a table comes through here.
 *   - An append lands in memory (a page cache) and costs the appender
 *     nothing; a file's appended bytes are queued for the device in pieces
 *     of MODEL_DISK_WRITEBACK bytes as they accumulate (the kernel's
 *     write-back), and the rest at io_sync or io_close.  io_sync waits
 *     until all of its file's pieces are written.  An appender waits while
 *     the queue holds more than MODEL_DISK_DIRTY_NS of work (the kernel's
 *     dirty limit, balance_dirty_pages).
 *   - A directory sync is one request of 4 KiB, and waits for it.
 *   - Files whose names end in a suffix given at install (".log", the
 *     write-ahead log) can be left off the model: a log on a device of its
 *     own, as RocksDB's wal_dir allows.
 *
 * Invariants: the device's work over any stretch of time t is at most t
 * (busy_until never runs ahead of the work queued); in one queue a read
 * never returns before the device time of every request queued before it
 * has passed, and with reads first before that of the reads queued before
 * it and its own.
 */
#ifndef BENCH_MODEL_DISK_H
#define BENCH_MODEL_DISK_H

#include <stdint.h>

#define MODEL_DISK_WRITEBACK (256u << 10)
#define MODEL_DISK_DIRTY_NS 1000000000ull

enum { MODEL_DISK_ONE_QUEUE = 0, MODEL_DISK_READS_FIRST = 1 };

/* Installs the model over the current backend.  skip_suffix: files whose
 * names end in it go straight to the backend beneath (NULL: none);
 * order: MODEL_DISK_ONE_QUEUE or MODEL_DISK_READS_FIRST. */
void model_disk_install(double bytes_per_sec, double access_us, const char *skip_suffix,
                        int order);
/* Puts back the backend that was in place (files opened meanwhile keep
 * the model until they close). */
void model_disk_uninstall(void);

typedef struct model_disk_counts {
    uint64_t reads, read_bytes;   /* read requests and their bytes */
    uint64_t writes, write_bytes; /* write-back pieces and their bytes */
    uint64_t busy_ns;             /* device time of every request queued */
    uint64_t queued_until_ns;     /* when every request queued is done */
    uint64_t last_read_end_ns;    /* when the last read queued is done */
} model_disk_counts;
void model_disk_get_counts(model_disk_counts *out);
/* The model's clock: CLOCK_MONOTONIC in nanoseconds. */
uint64_t model_disk_now(void);

#endif
