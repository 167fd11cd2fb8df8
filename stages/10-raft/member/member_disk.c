/*
 * member_disk.c: a member short of room on disk (member.h; docs/10-raft-operating.md,
 * "A full disk").
 *
 * libraft 0.15 does not survive its log running out of space: a segment
 * it cannot create fails every append waiting for it, after which a
 * leader crashes and a follower stops applying for good, even once the
 * space is back.  Its engine's failure is no better handled (an apply
 * that fails stops the member: replica_fsm.h).  So a member keeps both
 * from ever reaching the end of the disk:
 *
 *   - it looks at the room left on the file systems of its Raft log and
 *     of its engine at every pass of the loop (at most every
 *     DISK_LOOK_MS), and is "short" while either has less than the
 *     reserve (--raft-disk-reserve, 64 MiB by default: libraft keeps two
 *     8 MiB segments prepared ahead, and a snapshot being written needs
 *     room too);
 *   - while short, the gate refuses every write with an error naming the
 *     directory and the room left, and a leader hands its leadership to
 *     another member, whose disk may have room (the group goes on), once
 *     each time it runs short: led again while still short (the others'
 *     disks full too), it keeps leading rather than pass the leadership
 *     round;
 *   - while short, libraft's writes to its log (appends, truncations,
 *     snapshots) are held back, in their order, instead of reaching the
 *     disk: to libraft the disk is slow, not full.  A follower then
 *     acknowledges nothing new, and the leader waits for it as for a slow
 *     member.  Barriers alone still go to the disk (a few bytes each, in
 *     the segments libraft keeps prepared, which ask the disk for nothing
 *     more): the read index of a leader whose group is short everywhere
 *     (members sharing one disk) is still committed, and reads go on;
 *   - once both have the reserve and a quarter more again, the held
 *     writes go to the disk in order, the gate lets writes through, and
 *     the member catches up without a restart.
 * What it cannot prevent: a disk filled in the few milliseconds between
 * two looks.  If the engine then fails to apply a committed command, the
 * state machine asks (member_disk_may_wait), the disk is looked at at
 * once, and a disk short of room has the command kept and applied once
 * there is room (replica_fsm.h, W1), rather than the member stopped.
 * libraft creating a segment just then is what is left; the cluster test
 * fills disks while clients write, and looks for that.
 *
 * The same queue serves a leader that has room: its own appends are held
 * until the end of the next libuv pass (member_disk_check, after
 * uv_run), in which the peer layer puts libraft's messages on the wire.
 * libraft appends a leader's entries and then sends them (Raft's section
 * 10.2.1 lets it: the leader's copy counts once written), and libuv's
 * submission of a write to the log (io_submit on a file opened O_DSYNC)
 * takes its time in the kernel, a tenth of a millisecond or more, before
 * the messages could leave.  Held, the write starts once they are in the
 * peers' sockets, and the leader's disk write overlaps the followers'.
 * libraft counts the leader's copy only once written, as before, and the
 * log's writes keep the queue's order.  A disk short of room holds them
 * as above instead.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "member.h"
#include "timeline.h"

#define DISK_LOOK_MS 10
#define DISK_RETRY_MS 100
/* Less room than this when the engine fails an apply is a full disk: the
 * largest write there is, and the margin the engine keeps for itself. */
#define DISK_ROOM_FOR_A_WRITE ((uint64_t)KV_MAX_BATCH_BYTES + (8u << 20))
#define GUARDED(io) ((struct member *)((char *)(io) - offsetof(struct member, guarded)))

enum { HELD_APPEND, HELD_TRUNCATE, HELD_SNAPSHOT };

typedef struct member_held {
    int kind;
    struct raft_io_append *append;
    const struct raft_entry *entries;
    unsigned n;
    raft_io_append_cb append_cb;
    raft_index index;                       /* a truncation's */
    unsigned trailing;                      /* a snapshot's */
    struct raft_io_snapshot_put *put;
    const struct raft_snapshot *snapshot;
    raft_io_snapshot_put_cb put_cb;
    struct member_held *next;
} member_held;

static int disk_hold(struct member *m, const member_held *h)
{
    member_held *copy = malloc(sizeof *copy);
    if (copy == NULL)
        return RAFT_NOMEM;
    *copy = *h;
    copy->next = NULL;
    member_held **tail = &m->disk.held;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = copy;
    if (m->disk.short_of_room)
        m->disk.held_total++;
    return 0;
}

/* 1 if every entry is a barrier: a few bytes each, which the segments
 * libraft keeps prepared hold without asking the disk for more. */
static int only_barriers(const struct raft_entry entries[], unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (entries[i].type != RAFT_BARRIER)
            return 0;
    return 1;
}

/* With the timeline on (timeline.h), each append's callback is wrapped
 * to mark its end: the appends in flight and their callbacks. */
#define TIMED_APPENDS 64
static struct {
    struct raft_io_append *req;
    raft_io_append_cb cb;
} timed[TIMED_APPENDS];

static void timed_appended(struct raft_io_append *req, int status)
{
    timeline_mark(TL_APPENDED, (uint64_t)(status < 0 ? -status : status));
    for (int i = 0; i < TIMED_APPENDS; i++)
        if (timed[i].req == req) {
            raft_io_append_cb cb = timed[i].cb;
            timed[i].req = NULL;
            cb(req, status);
            return;
        }
}

static int disk_append(struct member *m, struct raft_io_append *req,
                       const struct raft_entry entries[], unsigned n, raft_io_append_cb cb)
{
    timeline_mark(TL_APPEND, n);
    int slot = -1;
    if (timeline_active())
        for (int i = 0; i < TIMED_APPENDS && slot < 0; i++)
            if (timed[i].req == NULL) {
                slot = i;
                timed[i].req = req;
                timed[i].cb = cb;
                cb = timed_appended;
            }
    int rv = m->disk.inner->append(&m->guarded, req, entries, n, cb);
    if (rv != 0 && slot >= 0)
        timed[slot].req = NULL; /* no callback comes */
    return rv;
}

static int guarded_append(struct raft_io *io, struct raft_io_append *req,
                          const struct raft_entry entries[], unsigned n, raft_io_append_cb cb)
{
    struct member *m = GUARDED(io);
    member_held h = {.kind = HELD_APPEND, .append = req, .entries = entries, .n = n,
                     .append_cb = cb};
    if ((m->disk.short_of_room && !only_barriers(entries, n)) || m->disk.held != NULL)
        return disk_hold(m, &h);
    /* A leader's own append waits until its messages are on their way
     * (member_disk_check, after the next libuv pass): the disk write
     * then overlaps the followers' appends instead of coming before them. */
    if (!m->disk.short_of_room && raft_state(&m->raft) == RAFT_LEADER && disk_hold(m, &h) == 0)
        return 0;
    return disk_append(m, req, entries, n, cb);
}

static int guarded_truncate(struct raft_io *io, raft_index index)
{
    struct member *m = GUARDED(io);
    if (m->disk.short_of_room || m->disk.held != NULL)
        return disk_hold(m, &(member_held){.kind = HELD_TRUNCATE, .index = index});
    return m->disk.inner->truncate(io, index);
}

static int guarded_snapshot_put(struct raft_io *io, unsigned trailing,
                                struct raft_io_snapshot_put *req,
                                const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    struct member *m = GUARDED(io);
    if (m->disk.short_of_room || m->disk.held != NULL)
        return disk_hold(m, &(member_held){.kind = HELD_SNAPSHOT, .trailing = trailing,
                                           .put = req, .snapshot = snapshot, .put_cb = cb});
    return m->disk.inner->snapshot_put(io, trailing, req, snapshot, cb);
}

/* The held writes, in order, to the disk (there is room again). */
static void disk_release(struct member *m)
{
    struct raft_io *io = &m->guarded;
    while (m->disk.held != NULL && !m->disk.short_of_room) {
        member_held *h = m->disk.held;
        m->disk.held = h->next;
        int rv;
        if (h->kind == HELD_APPEND) {
            rv = disk_append(m, h->append, h->entries, h->n, h->append_cb);
            if (rv != 0)
                h->append_cb(h->append, rv);
        } else if (h->kind == HELD_TRUNCATE) {
            rv = m->disk.inner->truncate(io, h->index);
            if (rv != 0)
                member_say(m, "truncating the Raft log at %llu, held while the disk was "
                           "short: %s", (unsigned long long)h->index, raft_strerror(rv));
        } else {
            rv = m->disk.inner->snapshot_put(io, h->trailing, h->put, h->snapshot, h->put_cb);
            if (rv != 0)
                h->put_cb(h->put, rv);
        }
        free(h);
    }
}

int member_disk_init(struct member *m)
{
    m->disk.raft_dir = io_join(m->env.dir, "raft");
    m->disk.engine_dir = io_join(m->env.dir, "replica");
    if (m->disk.raft_dir == NULL || m->disk.engine_dir == NULL) {
        member_say(m, "out of memory");
        return -1;
    }
    m->disk.raft_free = m->disk.engine_free = UINT64_MAX;
    return 0;
}

/* After raft_uv_init: libraft is given m->guarded, a copy of its own I/O
 * but for the three writes above.  Both share the uv implementation, so
 * both carry libraft's pointer back (data, set by raft_init). */
void member_disk_wrap(struct member *m)
{
    m->disk.inner = &m->io;
    m->guarded = m->io;
    m->guarded.append = guarded_append;
    m->guarded.truncate = guarded_truncate;
    m->guarded.snapshot_put = guarded_snapshot_put;
}

void member_disk_free(struct member *m)
{
    while (m->disk.held != NULL) { /* libraft is closed: its requests ended with it */
        member_held *h = m->disk.held;
        m->disk.held = h->next;
        free(h);
    }
    free(m->disk.raft_dir);
    free(m->disk.engine_dir);
    m->disk.raft_dir = m->disk.engine_dir = NULL;
}

static void disk_transferred(struct member *m, int status)
{
    (void)m, (void)status; /* handed over once; whether it moved changes nothing here */
}

/* The room left, looked at: short of room, or room again. */
static void disk_look(struct member *m)
{
    member_disk *d = &m->disk;
    d->looked_ms = (long long)uv_now(&m->loop);
    uint64_t total;
    if (io_space(d->raft_dir, &d->raft_free, &total) != KV_OK)
        d->raft_free = UINT64_MAX;
    if (io_space(d->engine_dir, &d->engine_free, &total) != KV_OK)
        d->engine_free = UINT64_MAX;
    uint64_t least = d->raft_free < d->engine_free ? d->raft_free : d->engine_free;
    uint64_t reserve = m->opt.reserve, again = reserve + reserve / 4;
    if (!d->short_of_room && least < reserve) {
        d->short_of_room = 1;
        d->handed_over = 0;
        member_say(m, "short of room on disk (%llu bytes free under %s, under the reserve of "
                   "%llu): writes are refused and the Raft log's writes held until there is "
                   "room again", (unsigned long long)least,
                   d->raft_free < d->engine_free ? d->raft_dir : d->engine_dir,
                   (unsigned long long)reserve);
    } else if (d->short_of_room && least >= again && !d->engine_stuck) {
        d->short_of_room = 0;
        member_say(m, "room on disk again (%llu bytes free): writes are taken, and the Raft "
                   "log's held writes go on", (unsigned long long)least);
    }
    if (d->short_of_room && raft_state(&m->raft) == RAFT_LEADER && !d->handed_over) {
        /* Another member may have room: let it lead (once, this time). */
        if (member_transfer(m, 0, disk_transferred) == 0)
            d->handed_over = 1;
    }
}

void member_disk_check(struct member *m)
{
    member_disk *d = &m->disk;
    long long now = (long long)uv_now(&m->loop);
    if (d->looked_ms == 0 || now - d->looked_ms >= DISK_LOOK_MS)
        disk_look(m);
    if (!d->short_of_room)
        disk_release(m); /* a leader's appends of the pass, or those held while short */
}

int member_disk_may_wait(void *arg)
{
    struct member *m = arg;
    member_disk *d = &m->disk;
    d->looked_ms = 0; /* look now, not at the next pass */
    member_disk_check(m);
    uint64_t least = d->raft_free < d->engine_free ? d->raft_free : d->engine_free;
    if (!d->short_of_room && least >= DISK_ROOM_FOR_A_WRITE)
        return 0; /* room enough: not the disk, an I/O error */
    if (!d->short_of_room)
        member_say(m, "short of room on disk (%llu bytes free under %s): its engine could not "
                   "apply a command; writes are refused until it can", (unsigned long long)least,
                   d->engine_dir);
    d->short_of_room = d->engine_stuck = 1;
    return 1;
}

int member_disk_retry(struct member *m)
{
    member_disk *d = &m->disk;
    long long now = (long long)uv_now(&m->loop);
    if (!d->engine_stuck || now - d->retried_ms < DISK_RETRY_MS)
        return 0;
    d->retried_ms = now;
    /* (A snapshot may have applied them meanwhile: replica_fsm.h, W4.) */
    if (replica_fsm_behind(&m->fsm) && replica_fsm_retry(&m->fsm) != KV_OK)
        return 0;
    d->engine_stuck = 0;
    member_say(m, "its engine applied the commands it had kept for want of room");
    return 1;
}

int member_disk_refuses(struct member *m, serve_out *out)
{
    member_disk *d = &m->disk;
    if (!d->short_of_room)
        return 0;
    d->refused++;
    int raft = d->raft_free < d->engine_free;
    out_error(out, "ERR disk full: member %llu has %llu bytes free under %s, under its reserve "
              "of %llu (--raft-disk-reserve); writes are refused until there is room, reads "
              "go on", (unsigned long long)m->self->id,
              (unsigned long long)(raft ? d->raft_free : d->engine_free),
              raft ? d->raft_dir : d->engine_dir, (unsigned long long)m->opt.reserve);
    return 1;
}
