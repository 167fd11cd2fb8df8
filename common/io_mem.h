/*
 * io_mem.h: an I/O backend that keeps every file in memory, for the fuzz
 * harnesses (fuzz/fuzz_dbfile.c) and any test that wants a database without
 * a file system.
 *
 * Installed with io_set_ops(&io_mem_ops) (io.h), it serves every call of
 * the I/O layer from a table of paths: a file is an array of bytes, a
 * directory a name.  Nothing reaches the operating system, so a database
 * opened, checked and closed costs no system call: what makes a harness
 * that drives a whole engine run thousands of inputs a second.  It keeps
 * POSIX's rules where the engine could tell the difference:
 *   - a file is opened only in a directory that exists (io_mkdir), and a
 *     name without IO_CREATE must exist (-ENOENT); IO_EXCL refuses one
 *     that does (-EEXIST);
 *   - an unlinked or renamed-over file stays readable through the handles
 *     open on it, as an inode does;
 *   - a lock conflicts with any other lock of the same path, shared with
 *     shared excepted, even inside one process (flock's rule, which the
 *     engine's KV_ERR_BUSY relies on);
 *   - io_map hands out a copy of the file's bytes in an allocation of
 *     exactly its size, so that a read past the end of a mapped file is
 *     caught by AddressSanitizer (a real mapping would hide up to a page).
 * There is no power loss here (io_sim.h is for that): every write is
 * durable at once, and a sync does nothing.
 *
 * io_mem_put and io_mem_get place and read whole files, for a harness that
 * hands the engine a file it made; io_mem_reset forgets everything.
 *
 * Invariants: one mutex guards the table, so threads (a background flush)
 * may use it at once; the table lives until io_mem_reset, and a file's
 * bytes until its last handle closes after it left the table.
 */
#ifndef KV_COMMON_IO_MEM_H
#define KV_COMMON_IO_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

extern const io_ops io_mem_ops;

/* Makes path a file holding bytes[0, n) (replacing what was there), and
 * every directory above it.  0, or -ENOMEM. */
int io_mem_put(const char *path, const void *bytes, size_t n);
/* The file at path: a pointer to its bytes and its size, valid until the
 * next call that changes it; 0, or -ENOENT. */
int io_mem_get(const char *path, const uint8_t **bytes, size_t *n);
/* Removes every file and directory.  REQUIRES: no file is open and no lock
 * held. */
void io_mem_reset(void);

#endif
