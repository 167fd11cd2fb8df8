/*
 * slow_io.h: an I/O backend whose fsync of a file takes a while longer,
 * so that writers pile up behind a group-commit leader as they would on a
 * slower disk (the tests of group commit, wal_queue_test.c and
 * wal_db_test.c).  Files opened while it is installed keep it (io.h).
 * Installing and removing are not thread-safe.
 */
#ifndef KV_STAGE03_SLOW_IO_H
#define KV_STAGE03_SLOW_IO_H

/* Wraps the current backend; every io_sync sleeps `ms` first. */
void slow_io_install(int ms);
/* Puts the previous backend back. */
void slow_io_uninstall(void);

#endif
