/*
 * bench_sys.h: what kvbench asks of the operating system, and small helpers
 * shared by the harness and the adapters: a clock, a seeded random number
 * generator, the process's I/O counters (/proc/self/io), its peak memory,
 * the size of a database directory, the adapters' error messages, and the
 * bloom filter a peer engine is asked for.
 */
#ifndef BENCH_SYS_H
#define BENCH_SYS_H

#include <stdint.h>

/* Seconds on the monotonic clock. */
double bench_now(void);

/* xorshift64*: fast, seeded, good enough to pick keys. */
typedef struct bench_rng {
    uint64_t s;
} bench_rng;
void bench_rng_seed(bench_rng *r, uint64_t seed);
uint64_t bench_rng_next(bench_rng *r);
uint64_t bench_rng_below(bench_rng *r, uint64_t n); /* REQUIRES: n > 0 */

/* Ranks 0 .. n-1 drawn with probability proportional to 1 / (rank + 1)^theta
 * (0 < theta < 1; YCSB's 0.99 makes a few ranks most of the draws), by the
 * method of Gray et al., "Quickly Generating Billion-Record Synthetic
 * Databases" (SIGMOD 1994), as YCSB's ZipfianGenerator draws them.  Setting
 * one up sums n terms once. */
typedef struct bench_zipf {
    uint64_t n;
    double theta, alpha, zetan, eta, half_pow;
} bench_zipf;
void bench_zipf_init(bench_zipf *z, uint64_t n, double theta);
uint64_t bench_zipf_next(const bench_zipf *z, bench_rng *r);

/* The counters of /proc/self/io (all threads of the process).  wchar: bytes
 * handed to write-like system calls; write_bytes: bytes of page cache the
 * process dirtied, counted when a clean page becomes dirty, i.e. what it
 * caused to be sent to the storage layer; cancelled_write_bytes: dirty bytes
 * dropped because their file was truncated or deleted before writeback;
 * syscr, syscw: read-like (read, pread, readv...) and write-like (write,
 * pwrite, writev...) system calls made.  fsync, open, rename and the like
 * are in neither. */
typedef struct bench_io {
    uint64_t rchar, wchar, read_bytes, write_bytes, cancelled_write_bytes;
    uint64_t syscr, syscw;
} bench_io;
int bench_io_read(bench_io *io); /* 0, or -1 if /proc/self/io is unreadable */

/* Peak resident set of this process (getrusage ru_maxrss), in KiB. */
long bench_peak_rss_kb(void);

/* Total st_size of the regular files under dir, recursively. */
uint64_t bench_dir_bytes(const char *dir);
/* Removes dir and everything under it; 0, or -1 (errno set). */
int bench_rmtree(const char *dir);
/* Creates dir if it does not exist; 0, or -1 with bench_error set. */
int bench_mkdir(const char *dir);

/* The adapters' error messages: one buffer per thread.  bench_error
 * formats into it and returns -1, so an adapter can `return bench_error(..)`. */
int bench_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *bench_errmsg(void);

/* KVBENCH_BLOOM_BITS: the bits per key of the bloom filter a peer that has
 * filters (LevelDB, RocksDB) is given; 0 (no filter, as the library comes)
 * if unset or not a positive number. */
int bench_bloom_bits(void);
/* The name such a peer gives itself: `base` without a filter, base-bloom
 * with 10 bits per key, base-bloomN with N. */
const char *bench_bloom_name(const char *base);

#endif
