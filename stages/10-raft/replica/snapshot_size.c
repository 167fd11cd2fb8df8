/*
 * snapshot_size.c: a snapshot's threshold sized to the engine
 * (snapshot_size.h).
 */
#include "snapshot_size.h"

void snapshot_size_applied(snapshot_size *s, size_t len)
{
    s->entries++;
    s->bytes += len;
}

void snapshot_size_begun(snapshot_size *s)
{
    s->taken_entries = s->entries;
    s->taken_bytes = s->bytes;
    s->entries = s->bytes = 0;
}

void snapshot_size_written(snapshot_size *s, struct raft *raft, const struct raft_buffer *bufs,
                           unsigned n_bufs)
{
    s->last_bytes = 0;
    for (unsigned i = 0; i < n_bufs; i++)
        s->last_bytes += bufs[i].len;
    if (s->base != 0)
        raft_set_snapshot_threshold(
            raft, snapshot_size_threshold(s->last_bytes, s->taken_entries, s->taken_bytes, s->base));
}

unsigned snapshot_size_threshold(uint64_t size, uint64_t entries, uint64_t bytes, unsigned base)
{
    uint64_t mean = entries > 0 ? bytes / entries : 0;
    uint64_t want = (size < SNAPSHOT_SIZE_LOG_BYTES ? size : SNAPSHOT_SIZE_LOG_BYTES) /
                    (mean > 0 ? mean : 1);
    if (want > SNAPSHOT_SIZE_LOG_BYTES) /* a mean under a byte: none is */
        want = SNAPSHOT_SIZE_LOG_BYTES;
    return want > base ? (unsigned)want : base;
}
