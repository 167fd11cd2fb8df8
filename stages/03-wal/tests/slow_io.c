/*
 * slow_io.c: the slow-fsync backend of slow_io.h.
 */
#include "slow_io.h"

#include <time.h>

#include "io.h"

static const io_ops *slow_base;
static io_ops slow_ops;
static int slow_ms;

static int slow_sync(io_file *f)
{
    struct timespec ts = {0, (long)slow_ms * 1000000L};
    nanosleep(&ts, NULL);
    return slow_base->sync(f);
}

/* The base backend's open gives the file the base table: give it ours. */
static int slow_open(const char *path, int flags, io_file **f)
{
    int rc = slow_base->open(path, flags, f);
    if (rc == 0)
        (*f)->ops = &slow_ops;
    return rc;
}

void slow_io_install(int ms)
{
    slow_ms = ms;
    slow_base = io_get_ops();
    slow_ops = *slow_base;
    slow_ops.sync = slow_sync;
    slow_ops.open = slow_open;
    io_set_ops(&slow_ops);
}

void slow_io_uninstall(void) { io_set_ops(slow_base); }
