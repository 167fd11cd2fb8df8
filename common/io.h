/*
 * io.h: the one door between the engine and the file system.
 *
 * Every file operation of every stage goes through these functions: open,
 * append, positioned read, sync of a file, sync of a directory, rename,
 * unlink, list, lock.  They return KV_OK or an error code, and on failure
 * they have already set kv_errmsg() to say which operation on which file at
 * which offset failed, and the operating system's reason.
 *
 * Underneath is a table of operations (io_ops) that does the work.  Two
 * talk to the operating system: io_posix_ops (io_posix.c), one system call
 * per operation, and the io_uring backend (io_ring.h), which makes the same
 * calls but reads a batch of ranges (io_read_batch) in one submission.  The
 * table in place at start, io_default_ops (io_mount.h), opens each file
 * with the one its database chose when it opened (kv_options.io).  Tests
 * swap in another table with io_set_ops(): io_fault.c fails chosen calls
 * (failed and short writes, ENOSPC, EIO on read); a power-loss simulator
 * keeps unsynced writes aside so it can drop them.  Both wrap the table they
 * replace, so they see the calls whichever backend serves a file.  This is
 * what LevelDB's Env does for its tests.
 *
 * Rules for callers:
 *   - Files are written only by appending (io_append) and cut only with
 *     io_truncate.  There are no writes in the middle of a file: it is what
 *     makes "what survives a process kill is a prefix" easy to state and to
 *     test.  A power loss promises less: appends not yet synced may each be
 *     kept, dropped (a hole that reads as zeros) or come back as garbage of
 *     the same length (io_sim.h, "THE MODEL"), so a reader checks what it
 *     reads past the last sync.
 *   - io_append writes everything it is given or returns an error; after an
 *     error an unknown prefix of the data may be in the file.
 *   - A file's data is on stable storage only after io_sync; its name in the
 *     directory (after create, rename or unlink) only after io_sync_dir of
 *     the directory.
 *   - Each io_file remembers the io_ops it was opened with, so swapping the
 *     table affects files opened afterwards only.
 */
#ifndef KV_COMMON_IO_H
#define KV_COMMON_IO_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct io_ops io_ops;
typedef struct io_file io_file;

/* An open file.  Backends embed this as the first member of their own
 * struct.  REQUIRES: only io.c and backends look inside. */
struct io_file {
    const io_ops *ops;
    char *path;
    uint64_t end; /* where the next append lands, as far as this handle knows */
};

/* A held directory lock. */
typedef struct io_lock {
    const io_ops *ops;
    char *path;
} io_lock;

/* io_open flags. */
enum {
    IO_READ = 1,    /* open for reading only */
    IO_WRITE = 2,   /* open for reading and appending */
    IO_CREATE = 4,  /* create the file if it does not exist */
    IO_EXCL = 8,    /* with IO_CREATE: fail if it exists */
    IO_TRUNC = 16,  /* empty the file when opening */
    IO_GROW = 32    /* with IO_WRITE: once the file holds IO_GROW_AFTER
                       bytes, appends may be copied into a shared memory
                       mapping of it (no system call each), which grows the
                       file IO_GROW_STEP bytes at a time: until io_close
                       trims it, the file may end in zeros past what was
                       appended (see below) */,
    IO_RANDOM = 64, /* a hint: the file is read at random places, so the
                       kernel should not read ahead of each read
                       (posix_fadvise POSIX_FADV_RANDOM): a cold read of
                       4 KiB then fetches 4 KiB, not the 128 KiB after it */
    IO_PRIVATE = 128 /* with IO_CREATE: a new file is made readable and
                       writable by its owner alone (mode 0600) from its
                       first instant, never more and then narrowed */
};

/*
 * IO_GROW, for a file that takes many small appends (a write-ahead log):
 * an append is then a memcpy into the page cache, which the kernel writes
 * back like any other dirty page, so it survives the process being killed
 * exactly as a write() does, and io_sync (fdatasync) makes it durable the
 * same way.  The file's size is what it has grown to, so after a crash
 * (kill or power loss) it may end in up to IO_GROW_STEP bytes of zeros
 * after the last append: its reader must take zeros to the end of the file
 * for space not yet filled.  io_close trims them; io_size and io_read_at
 * see only what was appended (at io_open: the whole file, zeros included).
 * The first IO_GROW_AFTER bytes are appended with write(), so a small file
 * (a database that holds a few keys) never takes a MiB of disk for them.
 * A backend that cannot map, or a file system that cannot reserve space
 * (fallocate) or map files, appends with write() as usual.
 * LevelDB's early releases wrote their files this way (PosixMmapFile in
 * util/env_posix.cc), and its log format reserves a zero type for the
 * preallocated tail (db/log_format.h); RocksDB has allow_mmap_writes.
 * LevelDB grew its files with ftruncate, and a full disk then raised
 * SIGBUS (google/leveldb issue 150): hence fallocate here.
 */
#define IO_GROW_STEP (1u << 20)
#define IO_GROW_AFTER (64u << 10)

/*
 * One range of a batch of reads (io_read_batch): the caller fills the
 * first four fields, io_read_batch the next three.  `res` is the backends'
 * (io_ops.read_batch): the bytes one call read, or -errno.
 */
typedef struct io_read_req {
    io_file *f;     /* in: the file */
    uint64_t off;   /* in: where the range starts */
    void *buf;      /* in: room for len bytes */
    size_t len;     /* in: the bytes wanted */
    size_t got;     /* out: bytes read; fewer than len only where the file ends */
    int status;     /* out: KV_OK, KV_ERR_IO or KV_ERR_NOMEM */
    int err;        /* out: the errno of a failure, else 0 */
    long res;       /* backends: bytes read, or -errno */
} io_read_req;

/* A read_batch request not read yet (io_read_batch_inner). */
#define IO_READ_PENDING LONG_MIN

/*
 * A backend.  Each operation returns 0 (or a byte count) on success and a
 * negative errno on failure, like the system calls it stands for; io.c turns
 * that into a KV_ status and a message.  read_at and append may do less than
 * asked (returning the count); io.c loops.
 */
struct io_ops {
    const char *name;
    int     (*open)(const char *path, int flags, io_file **f);
    long    (*append)(io_file *f, const struct iovec *iov, int iovcnt);
    long    (*read_at)(io_file *f, uint64_t off, void *buf, size_t n);
    int     (*sync)(io_file *f);
    int     (*truncate)(io_file *f, uint64_t size);
    int     (*size)(io_file *f, uint64_t *size);
    int     (*close)(io_file *f);
    int     (*sync_dir)(const char *dir, int *opened); /* *opened = 1 once the
                                         directory is open, before its fsync */
    int     (*rename)(const char *from, const char *to);
    int     (*unlink)(const char *path);
    int     (*mkdir)(const char *path);
    int     (*exists)(const char *path); /* 1 yes, 0 no, <0 -errno */
    int     (*list)(const char *dir, char ***names, size_t *count);
    int     (*lock)(const char *path, int exclusive, io_lock **lock);
    int     (*unlock)(io_lock *lock);
    /* Optional (NULL: the backend knows of no holes): the first offset at
     * or after off where the file may hold data (lseek's SEEK_DATA), or
     * UINT64_MAX if none does; the bytes before it read as zeros. */
    uint64_t (*data_after)(io_file *f, uint64_t off);
    /* Optional (NULL: the backend cannot map files, and callers read with
     * read_at): maps bytes [0, size) of f read-only into memory, *addr the
     * first (size > 0); unmap undoes it.  Only io_posix maps: io_fault and io_sim see
     * every read because they leave these NULL. */
    int     (*map)(io_file *f, uint64_t size, const void **addr);
    int     (*unmap)(const void *addr, uint64_t size);
    /* Optional (NULL: a no-op): starts writing bytes [off, off + len) of f
     * to the device and returns without waiting (sync_file_range's
     * SYNC_FILE_RANGE_WRITE).  A hint: it promises nothing, and only
     * io_posix has it, since the simulated backends have no device. */
    int     (*write_behind)(io_file *f, uint64_t off, uint64_t len);
    /* Optional (NULL: io.c reads each range with read_at, one after the
     * other): reads every r[i] (files opened with this table), setting
     * r[i].res to the bytes read (may be fewer than asked, as read_at's) or
     * -errno, range by range; the call as a whole cannot fail.  The
     * io_uring backend submits them at once (io_ring.c). */
    void    (*read_batch)(io_read_req *r, size_t n);
    /* Optional (NULL, or 1 returned: the file system's own count,
     * statvfs): the bytes a writer may still use on the file system that
     * holds dir, and its size; 0 or -errno.  io_fault has one, for a disk
     * of a size a test chooses. */
    int     (*space)(const char *dir, uint64_t *avail, uint64_t *total);
};

/* The POSIX backend, and the switch between backends (NULL puts back
 * io_default_ops, the table in place at start: io_mount.h). */
extern const io_ops io_posix_ops;
extern const io_ops io_default_ops;
const io_ops *io_get_ops(void);
const io_ops *io_set_ops(const io_ops *ops); /* returns the previous table */

int  io_open(const char *path, int flags, io_file **f);
int  io_append(io_file *f, const struct iovec *iov, int iovcnt);
int  io_append_bytes(io_file *f, const void *buf, size_t n);
/* Reads up to n bytes at off; *got < n only when the file ends first. */
int  io_read_at(io_file *f, uint64_t off, void *buf, size_t n, size_t *got);
/* What the calling thread has read through io_read_at and io_read_batch
 * since it started: the calls (each range of a batch one) and the bytes
 * they returned.  A lookup of the stages that read files directly (01 to
 * 03) counts its reads in kv_cost (kv.h) as the difference. */
void io_thread_reads(uint64_t *reads, uint64_t *bytes);
/*
 * Reads n ranges (r[i].f, r[i].off, r[i].len into r[i].buf), each as
 * io_read_at would, in one submission where the file's backend can
 * (io_uring), else one positioned read after another.  Each range has its
 * own result: r[i].got (fewer than r[i].len only where the file ends
 * first), r[i].status and r[i].err; a range that fails does not stop the
 * others.  Returns KV_OK if every range was read, else the status of the
 * first range (lowest i) that failed, with kv_errmsg() saying of it what
 * io_read_at would have ("read FILE at offset N: reason").  n = 0 and
 * ranges of length 0 read nothing.  Ranges may be of different files, and
 * of files of different backends: each run of consecutive ranges whose
 * files share a backend is one submission, so a caller that wants one
 * submission puts them together.  Fault injection counts each range as a
 * read (io_fault.h).  REQUIRES: no two ranges' buffers overlap.
 */
int  io_read_batch(io_read_req *r, size_t n);
/* One range of a batch as io_read_batch left it: KV_OK if it was read,
 * else its status, with kv_errmsg() saying of it what io_read_at would
 * have (for a caller that reports a range other than the first failed). */
int  io_read_req_error(const io_read_req *r);
/* For backends only.  io_read_batch_ops reads r[0..n) with each file's own
 * table, filling r[i].res: one read_batch call per run of consecutive
 * ranges whose files share a table, read_at where a table has none.
 * io_read_batch_inner does the same for the requests whose res is
 * IO_READ_PENDING, each through inner(r[i].f): how a backend that wraps
 * another (io_fault, io_sim) hands a batch on whole.  If memory runs out,
 * those get -ENOMEM. */
void io_read_batch_ops(io_read_req *r, size_t n);
void io_read_batch_inner(io_read_req *r, size_t n, io_file *(*inner)(io_file *f));
/* For backends that wrap another (io_fault, bench/model_disk.c): a file
 * of theirs begins with an io_wrapped, the file as io.c sees it and the
 * wrapped backend's file beneath.  io_wrapped_open allocates `size` bytes
 * (zeroed; size >= sizeof(io_wrapped)), opens path with inner and fills
 * in ops, a copy of path and the inner file: 0, or -errno with nothing
 * left open.  io_wrapped_close closes the inner file and frees the whole
 * `size` bytes, returning the inner close's result. */
typedef struct io_wrapped {
    io_file base;
    io_file *inner;
} io_wrapped;
int io_wrapped_open(const io_ops *ops, const io_ops *inner, const char *path, int flags,
                    size_t size, io_file **out);
int io_wrapped_close(io_file *f);
int  io_sync(io_file *f);
int  io_truncate(io_file *f, uint64_t size);
int  io_size(io_file *f, uint64_t *size);
/* Where the next data may be, at or after off: a hole (a range never
 * written, which reads as zeros) can be skipped without reading it.  off
 * itself when the backend cannot tell; UINT64_MAX if only a hole follows.
 * Never fails: not knowing is an answer. */
uint64_t io_data_after(io_file *f, uint64_t off);
/* Maps the whole file f, as long as it is now, read-only: *addr is where
 * its *len bytes are, or NULL (*len 0) if the backend cannot map (read
 * with io_read_at instead) or the file is empty.  A mapped read is a
 * memory access, no system call: what an immutable file read at random
 * is worth it for.  The caller keeps reads inside [0, *len) and must not
 * let the file shrink while it is mapped: a read past the file's end
 * raises SIGBUS.  KV_OK, or KV_ERR_IO (its size or the mapping failed).
 * The mapping outlives io_close of f; io_unmap ends it. */
int  io_map(io_file *f, const void **addr, uint64_t *len);
void io_unmap(io_file *f, const void *addr, uint64_t size); /* addr NULL: a no-op */
/* Starts writing [off, off + len) of f to the device without waiting for
 * it, so that a later io_sync finds less to write: write-behind (RocksDB's
 * bytes_per_sync does the same).  Nothing is durable until io_sync; a
 * backend that cannot (io_fault, io_sim) does nothing.  Never fails: a
 * refused hint costs only the time it would have saved. */
void io_write_behind(io_file *f, uint64_t off, uint64_t len);
int  io_close(io_file *f); /* NULL is a no-op */
const char *io_path(const io_file *f);

int  io_sync_dir(const char *dir);
/* io_sync_dir that says which step failed: *fsync_failed is 1 if the fsync
 * itself failed (what was written may be lost, and a retry proves nothing:
 * docs/03-wal.md), 0 if it succeeded or the directory could not even be
 * opened (EMFILE, say: nothing was lost, and it may be retried). */
int  io_sync_dir_status(const char *dir, int *fsync_failed);
int  io_rename(const char *from, const char *to);
/* Replaces DIR/NAME with len bytes, whole (io_replace.c): written to
 * DIR/NAME.tmp and synced, renamed to DIR/NAME, DIR synced (the commit
 * point: after it the new bytes are durable; a crash before it may leave
 * the old ones, never a mix).  A failure before the rename removes the
 * .tmp.  *renamed (may be NULL) says whether the rename happened: after
 * it, a failed directory sync leaves the new name in place, not yet
 * durable.  KV_OK or the error, kv_errmsg() set. */
int  io_replace(const char *dir, const char *name, const void *bytes, size_t len, int *renamed);
/* io_replace for a secret (a private key): DIR/NAME.tmp, any left over
 * removed first, is made with IO_PRIVATE | IO_EXCL, so no other user can
 * read the bytes at any instant, through either name. */
int  io_replace_private(const char *dir, const char *name, const void *bytes, size_t len,
                        int *renamed);
int  io_unlink(const char *path);
int  io_mkdir(const char *path);             /* KV_OK if it already exists */
int  io_exists(const char *path, int *exists);
/* The bytes a writer may still use on the file system that holds dir
 * (*avail: statvfs's f_bavail blocks) and its size (*total); both
 * UINT64_MAX where the platform cannot tell (a browser).  KV_OK or
 * KV_ERR_IO naming dir. */
int  io_space(const char *dir, uint64_t *avail, uint64_t *total);
/* Names in dir, without "." and "..", sorted bytewise; free with io_list_free. */
int  io_list(const char *dir, char ***names, size_t *count);
void io_list_free(char **names, size_t count);
/* Takes the lock file at path: exclusive for a writer, shared for a reader.
 * KV_ERR_BUSY if another open database (in any process) holds it. */
int  io_lock_acquire(const char *path, int exclusive, io_lock **lock);
void io_lock_release(io_lock *lock);               /* NULL is a no-op */

/* "dir/name" in a fresh allocation, or NULL (with kv_errmsg set). */
char *io_join(const char *dir, const char *name);

#endif
