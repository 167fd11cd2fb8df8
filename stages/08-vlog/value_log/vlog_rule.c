/*
 * vlog_rule.c: the collection's one rule, which file is worth emptying
 * (value_log.h, V2), as pure functions of a file's counts: the pick
 * (vlog_gc.c) and the writers' slowdown (vlog_store.c) both ask it, so
 * the two can never disagree.
 *
 * A file's garbage is its value bytes less its live bytes; a file nothing
 * is live in is garbage whole (its value bytes or its size, the larger:
 * emptying it writes nothing and frees the file).  A file is worth
 * emptying once its garbage is at least gc_percent of its value bytes:
 * the job then writes at most as much as it frees.
 */
#include "value_log.h"

uint64_t vlog_garbage(const vlog_file *f)
{
    if (f->live_bytes == 0)
        return f->value_bytes > f->bytes ? f->value_bytes : f->bytes;
    return f->value_bytes - f->live_bytes;
}

int vlog_worth_collecting(const vlog_file *f, int gc_percent)
{
    return f->live_bytes == 0 || vlog_garbage(f) * 100 >= (uint64_t)gc_percent * f->value_bytes;
}
