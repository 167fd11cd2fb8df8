/*
 * io_view.h: a file that no longer changes, read from a mapping of it: an
 * io_file whose reads are copies from memory, no system call.  An
 * optimisation a first reading skips: every read through a view gives
 * what io_read_at on the file itself would, and a caller that gets no view
 * (a backend that cannot map: io_fault and io_sim, which must see every
 * read; an empty file) reads the file as before.
 *
 * REQUIRES: the file's bytes never change and it never shrinks while the
 * view lives (a read of a mapping past the file's end raises SIGBUS), and
 * the file outlives the view.  Only reads, io_size and io_close may be
 * asked of a view; anything else fails with KV_ERR_IO.
 */
#ifndef KV_IO_VIEW_H
#define KV_IO_VIEW_H

#include "io.h"

/* A view of f as it is now in *view, or *view NULL if f cannot be mapped
 * (then nothing is reported).  KV_OK, or KV_ERR_IO / KV_ERR_NOMEM with
 * kv_errmsg.  io_close(view) ends the mapping, not f. */
int io_view_open(io_file *f, io_file **view);

#endif
