/*
 * vlog_describe.c: the value log's lines of kv_stats and kv_inspect
 * (value_store_describe), and kv_inspect_get's line about a value kept
 * in it (value_store_describe_value).
 *
 * kv_stats: values.* lines: the threshold, the files, their bytes, the
 * live bytes (what tables point at, as counted: value_log.h, V2) and the
 * garbage, the files not measured yet and those emptied that wait, and for
 * what (a snapshot older than their job's end, a sync of the moves, a
 * reader's pin: as the last collection saw it), the garbage due to the
 * next jobs and that under gc_percent, the space amplification of the values (the files' bytes
 * over their live bytes), and what this session did: values the flushes
 * kept in the log and in the tables, jobs, values moved, files removed,
 * writes slowed down.
 *
 * kv_inspect: one line for the value log, then one per file:
 *   values threshold=512 gc_percent=50 files=3 bytes=B value_bytes=V live=L
 *          garbage=G
 *   vlog file=000000000101.vlog bytes=B value_bytes=V live=L garbage=G state=live
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "error.h"
#include "inspect_line.h"
#include "lsm_files.h"
#include "value_log.h"

static void vlog_line(kv_line_fn line, void *ctx, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    line(ctx, text);
}

static const char *vlog_state_word(const vlog_file *f)
{
    if (f->damaged)
        return "damaged";
    if (!f->adopted)
        return "log"; /* a flush counted it; the engine hands it over next */
    switch (f->state) {
    case VLOG_BUSY: return "busy";
    case VLOG_EMPTIED: return "emptied";
    default: return f->counted ? "live" : "unmeasured";
    }
}

typedef struct vlog_totals {
    size_t files, unmeasured, emptied;
    uint64_t bytes, values, live, garbage, unmeasured_bytes, emptied_bytes;
    /* Why space waits: emptied files, for what; garbage, in files worth
     * collecting (the next jobs') or not yet (under gc_percent). */
    uint64_t for_snapshot, for_sync, for_readers, garbage_due, garbage_under;
} vlog_totals;

static void vlog_add_up(const value_store *vs, vlog_totals *t)
{
    for (size_t i = 0; i < vs->nfiles; i++) {
        const vlog_file *f = vs->files[i];
        t->files++;
        t->bytes += f->bytes;
        if (f->state == VLOG_EMPTIED) {
            t->emptied++;
            t->emptied_bytes += f->bytes;
            /* As the last collection saw it (value_store_collect). */
            if (f->moved_seq > vs->seen_oldest)
                t->for_snapshot += f->bytes;
            else if (f->moved_seq > vs->seen_durable)
                t->for_sync += f->bytes;
            else
                t->for_readers += f->bytes;
        } else if (!f->counted) {
            t->unmeasured++;
            t->unmeasured_bytes += f->bytes;
        } else {
            t->values += f->value_bytes;
            t->live += f->live_bytes;
            t->garbage += f->value_bytes - f->live_bytes;
            if (f->state == VLOG_LIVE && !f->damaged && vlog_worth_collecting(f, vs->gc_percent))
                t->garbage_due += f->value_bytes - f->live_bytes;
            else
                t->garbage_under += f->value_bytes - f->live_bytes;
        }
    }
}

int value_store_describe(value_store *vs, int inspect, kv_line_fn line, void *ctx)
{
    pthread_mutex_lock(&vs->lock);
    vlog_totals t = {0};
    vlog_add_up(vs, &t);
    if (inspect) {
        inspect_line l;
        inspect_begin(&l, "values");
        inspect_u64(&l, "threshold", vs->threshold);
        inspect_u64(&l, "gc_percent", (uint64_t)vs->gc_percent);
        inspect_u64(&l, "files", t.files);
        inspect_u64(&l, "bytes", t.bytes);
        inspect_u64(&l, "value_bytes", t.values);
        inspect_u64(&l, "live", t.live);
        inspect_u64(&l, "garbage", t.garbage);
        inspect_emit(&l, line, ctx);
        for (size_t i = 0; i < vs->nfiles; i++) {
            const vlog_file *f = vs->files[i];
            char name[LSM_NAME_MAX];
            vlog_file_name(name, sizeof name, f->start, f->is_log);
            inspect_begin(&l, "vlog");
            inspect_word(&l, "file", name);
            inspect_u64(&l, "bytes", f->bytes);
            if (f->counted) {
                inspect_u64(&l, "value_bytes", f->value_bytes);
                inspect_u64(&l, "live", f->live_bytes);
                inspect_u64(&l, "garbage", f->value_bytes - f->live_bytes);
            }
            inspect_word(&l, "state", vlog_state_word(f));
            inspect_emit(&l, line, ctx);
        }
        pthread_mutex_unlock(&vs->lock);
        return KV_OK;
    }
    vlog_line(line, ctx, "values.threshold: %zu", vs->threshold);
    vlog_line(line, ctx, "values.gc_percent: %d", vs->gc_percent);
    vlog_line(line, ctx, "values.files: %zu", t.files);
    vlog_line(line, ctx, "values.bytes: %" PRIu64, t.bytes);
    vlog_line(line, ctx, "values.value_bytes: %" PRIu64, t.values);
    vlog_line(line, ctx, "values.live_bytes: %" PRIu64, t.live);
    vlog_line(line, ctx, "values.garbage_bytes: %" PRIu64, t.garbage);
    vlog_line(line, ctx, "values.unmeasured_files: %zu", t.unmeasured);
    vlog_line(line, ctx, "values.unmeasured_bytes: %" PRIu64, t.unmeasured_bytes);
    vlog_line(line, ctx, "values.emptied_files_waiting: %zu", t.emptied);
    vlog_line(line, ctx, "values.emptied_bytes_waiting: %" PRIu64, t.emptied_bytes);
    vlog_line(line, ctx, "values.emptied_bytes_waiting_for_a_snapshot: %" PRIu64,
              t.for_snapshot);
    vlog_line(line, ctx, "values.emptied_bytes_waiting_for_a_sync: %" PRIu64, t.for_sync);
    vlog_line(line, ctx, "values.emptied_bytes_waiting_for_readers: %" PRIu64,
              t.for_readers);
    vlog_line(line, ctx, "values.garbage_bytes_due: %" PRIu64, t.garbage_due);
    vlog_line(line, ctx, "values.garbage_bytes_under_gc_percent: %" PRIu64,
              t.garbage_under);
    if (t.unmeasured == 0 && t.live > 0)
        vlog_line(line, ctx, "values.space_amplification: %.2f", (double)t.bytes / (double)t.live);
    else
        vlog_line(line, ctx, "values.space_amplification: unknown");
    vlog_line(line, ctx, "values.behind: %d", atomic_load(&vs->behind));
    vlog_line(line, ctx, "session.values.flushed_to_log: %" PRIu64, vs->flush_values);
    vlog_line(line, ctx, "session.values.flushed_to_log_bytes: %" PRIu64, vs->flush_value_bytes);
    vlog_line(line, ctx, "session.values.flushed_inline: %" PRIu64, vs->flush_inline);
    vlog_line(line, ctx, "session.values.flushed_inline_not_found: %" PRIu64,
              vs->flush_mismatches);
    vlog_line(line, ctx, "session.values.gc_jobs: %" PRIu64, vs->jobs);
    vlog_line(line, ctx, "session.values.gc_files_measured: %" PRIu64, vs->measured);
    vlog_line(line, ctx, "session.values.gc_files_emptied: %" PRIu64, vs->emptied);
    vlog_line(line, ctx, "session.values.gc_values_moved: %" PRIu64, vs->moved);
    vlog_line(line, ctx, "session.values.gc_bytes_moved: %" PRIu64, vs->moved_bytes);
    vlog_line(line, ctx, "session.values.gc_values_dead: %" PRIu64, vs->dead);
    vlog_line(line, ctx, "session.values.gc_files_removed: %" PRIu64, vs->removed);
    vlog_line(line, ctx, "session.values.gc_bytes_removed: %" PRIu64, vs->removed_bytes);
    vlog_line(line, ctx, "session.values.write_slowdowns: %" PRIu64,
              atomic_load(&vs->slowdowns));
    vlog_line(line, ctx, "session.values.read_ahead_batches: %" PRIu64,
              atomic_load(&vs->ahead_batches));
    vlog_line(line, ctx, "session.values.read_ahead_values: %" PRIu64,
              atomic_load(&vs->ahead_values));
    vlog_line(line, ctx, "values.read_ahead_held: %" PRId64, atomic_load(&vs->ahead_held));
    pthread_mutex_unlock(&vs->lock);
    return KV_OK;
}

int value_store_describe_value(value_store *vs, const uint8_t *where, size_t wlen,
                               size_t *vlen, kv_line_fn line, void *ctx)
{
    vlog_where w;
    const char *why = NULL;
    if (vlog_where_decode(where, wlen, &w, &why) != 0)
        return kv_error(KV_ERR_CORRUPT, "a table entry's place of its value (%zu bytes) is not "
                        "a place in a value log: %s", wlen, why);
    pthread_mutex_lock(&vs->lock);
    const vlog_file *f = vlog_find(vs, w.file);
    char name[LSM_NAME_MAX];
    vlog_file_name(name, sizeof name, w.file, f != NULL && f->is_log);
    inspect_line l;
    inspect_begin(&l, "look");
    inspect_word(&l, "part", "vlog");
    inspect_word(&l, "file", name);
    inspect_u64(&l, "offset", w.offset);
    inspect_u64(&l, "read_bytes", vlog_span(&w));
    inspect_word(&l, "state", f != NULL ? vlog_state_word(f) : "missing");
    inspect_word(&l, "result", f != NULL ? "found" : "missing");
    inspect_u64(&l, "vlen", w.len);
    pthread_mutex_unlock(&vs->lock);
    inspect_emit(&l, line, ctx);
    *vlen = w.len;
    return KV_OK;
}
