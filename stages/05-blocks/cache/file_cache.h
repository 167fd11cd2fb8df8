/*
 * file_cache.h: the table cache's bound on open files: at most
 * max_open_files (kv_options, default 1000) table files open at once,
 * the least recently used closed first, reopened when read again.
 *
 * A database with many tables would otherwise hold a file descriptor per
 * table and run into the process's limit (ulimit -n, often 1024).  So an
 * open table keeps in memory what it needs to answer (its index, its
 * filter: table v2) but not its file: to read a block it asks this cache
 * for an io_file (common/io.h), reads, and releases it.  LevelDB's
 * db/table_cache.cc bounds its open tables the same way, keyed by file
 * number; here the key is the table's cache id (block_cache_new_id), and
 * the path is given with each request, to open the file on a miss.
 *
 * It is an lru_cache (lru_cache.h) charging 1 per open file, so its
 * invariants L1-L4 are this cache's.  Besides:
 *   FC1. A file someone holds is never closed: eviction closes only files
 *       nobody holds, and file_cache_evict of a held file closes it when
 *       its last holder releases it.  So up to max_open_files plus the
 *       files held at the moment are open.
 *   FC2. Files are opened read-only (IO_READ) through io.h, so io_fault and
 *       io_sim see every open; one io_file is shared by every thread that
 *       holds it (io_read_at is a positioned read: it moves no offset).
 *   FC3. A failed open is not cached: the next request tries again.
 *   F4. A file is also mapped into memory when opened (io_map, the whole
 *       file as it is then), so a lookup's block is read without a system
 *       call, where the backend can map (io_posix; io_fault and io_sim
 *       cannot, and every read goes through them).  The mapping lives as
 *       long as the open file; a held file stays mapped (FC1).  Table files
 *       never change once written, which is what makes mapping them safe;
 *       a table file cut short by something else while it is mapped makes
 *       a read of the lost part raise SIGBUS, as in LevelDB and LMDB.
 *   FC6. With a mapping budget (file_cache_set_map_bytes, kv_options.
 *       map_bytes), the open files' mappings never add up to more than it:
 *       a file whose whole length does not fit in what is left is opened
 *       unmapped and read with positioned reads, as under KV_NO_MAP, until
 *       the cache closes it.  A page a mapping leaves resident is a page of
 *       the mapped file, so the budget bounds those pages too (the
 *       process's RssFile from tables).
 */
#ifndef KV_BLOCKS_FILE_CACHE_H
#define KV_BLOCKS_FILE_CACHE_H

#include <stdint.h>

#include "io.h"
#include "kv.h"
#include "lru_cache.h"

#define FILE_CACHE_DEFAULT_FILES 1000

typedef struct file_cache file_cache;
typedef struct lru_entry file_cache_handle;

/* A cache of up to max_open_files open files (0 = FILE_CACHE_DEFAULT_FILES).
 * REQUIRES: max_open_files >= 0.  KV_OK or KV_ERR_NOMEM. */
int file_cache_new(int max_open_files, file_cache **out);
/* The same with `shards` shards (a power of two, 1..64).  The default is
 * 16, fewer for small bounds so that each shard holds at least 8 files;
 * tests use 1 to see the exact LRU order.  The shards' capacities add up
 * to max_open_files exactly. */
int file_cache_new_sharded(int max_open_files, unsigned shards, file_cache **out);
/* Closes every file.  REQUIRES: every handle released.  NULL is a no-op. */
void file_cache_free(file_cache *fc);

/* The open file of the table with cache id `id`, with a reference for the
 * caller: from the cache (a hit), or opened (and mapped, F4) now at `path`
 * (a miss).  KV_OK; or io_open's or io_map's error (KV_ERR_IO, with its
 * message; FC3) or KV_ERR_NOMEM, with *out NULL. */
int file_cache_get(file_cache *fc, uint64_t id, const char *path, file_cache_handle **out);
/* The same if it is open now (a hit), else NULL: no path to make. */
file_cache_handle *file_cache_find(file_cache *fc, uint64_t id);
io_file *file_cache_file(file_cache_handle *h);
/* The file's bytes [0, *len) in memory (F4), or NULL (*len 0): read it
 * with io_read_at on file_cache_file instead. */
const uint8_t *file_cache_map(file_cache_handle *h, uint64_t *len);
/* map = 0: files opened from now on are not mapped (kv_options.map_tables
 * = KV_NO_MAP; tests of the positioned-read path). */
void file_cache_set_map(file_cache *fc, int map);
/* At most `bytes` of open files mapped at once (FC6); 0 = no bound (the
 * default).  Set before any get. */
void file_cache_set_map_bytes(file_cache *fc, uint64_t bytes);
/* Whether files opened from now on are mapped: the cache maps, and the
 * I/O backend in place can (io_posix; not io_fault or io_sim).  A file
 * may still come unmapped (an empty one).  A hint for a reader choosing
 * how to read ahead. */
int  file_cache_maps(const file_cache *fc);
/* The bytes of the open files' mappings now: the most of them that can be
 * resident in the process (its kv_stats line table_cache.mapped_bytes). */
uint64_t file_cache_mapped_bytes(file_cache *fc);
/* Drops the caller's reference.  NULL is a no-op. */
void file_cache_release(file_cache *fc, file_cache_handle *h);

/* A reference to the file of table `id`, open and mapped now, for the
 * caller to keep as long as it reads the table (an open table's lookups
 * then read its mapping without asking the cache each time: table_v2's
 * map pin), or NULL: not open now, not mapped, or already
 * FC5's share of the bound pinned.  REQUIRES: file_cache_unpin, once.
 *   FC5. At most three quarters of max_open_files are pinned at once, so
 *       that the rest of the bound still turns over; a pinned file is
 *       held (FC1). */
file_cache_handle *file_cache_pin(file_cache *fc, uint64_t id);
void file_cache_unpin(file_cache *fc, file_cache_handle *h); /* NULL: a no-op */

/* Closes the file of table `id` now, or when its last holder releases it
 * (FC1): for a table closed for good, whose file may be deleted. */
void file_cache_evict(file_cache *fc, uint64_t id);

/* Counters (lru_cache.h) and the kv_stats lines "session.table_cache.hits: N",
 * ".misses", ".inserts", ".evictions", ".entries" (files open now),
 * ".usage", ".capacity"; then "table_cache.mapped_bytes: N" and, with a
 * mapping budget, "table_cache.map_bytes_limit: N" and
 * "session.table_cache.opened_unmapped: N" (files the budget left
 * unmapped, FC6). */
void file_cache_stats(file_cache *fc, lru_cache_stats *s);
void file_cache_report(file_cache *fc, kv_line_fn line, void *line_ctx);

#endif
