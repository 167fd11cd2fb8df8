/*
 * io_ring.c: the io_uring backend (see io_ring.h for what it does and its
 * rules R1-R4).
 *
 * Three parts: the process's answer to "does io_uring work here?" (a
 * probe, then a state that only a refusal changes); each thread's ring;
 * and the batch, which fills a ring with reads, hands them over, waits for
 * every completion and reads with pread whatever the ring could not.
 * A WebAssembly build has no io_uring: it compiles the stub at the end.
 */
#include "io_ring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef __EMSCRIPTEN__

#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "io_posix_file.h"

/* The most one request asks for: a completion's result is an int.  A
 * longer range comes back short and io.c reads the rest. */
#define RING_MAX_READ (1u << 30)

/* ---- does io_uring work here? (R3) ----------------------------------------- */

enum {
    RING_UNKNOWN = 0, /* not probed yet (or forked since) */
    RING_WORKS = 1,
    RING_REFUSING = 2 /* a refusal is being written; then -errno */
};
static int ring_state;      /* RING_*, or -errno once refused */
static unsigned long ring_maps; /* ring_mapped's count */
static char ring_why[200];  /* the refusal's words: written before ring_state
                               turns negative (release), read after (acquire) */
static io_ring_counts counts;

static int ring_is_refusal(int err)
{
    return err == EPERM || err == EACCES || err == ENOSYS || err == EINVAL ||
           err == EOPNOTSUPP;
}

/* The sysctl that can turn io_uring off, when it does ("" when it is 0
 * or cannot be read): part of the reason a set-up was refused. */
static void ring_sysctl_note(char *buf, size_t n)
{
    buf[0] = '\0';
    int fd = open("/proc/sys/kernel/io_uring_disabled", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char v[8] = {0};
    ssize_t got = read(fd, v, sizeof v - 1);
    close(fd);
    if (got > 0 && v[0] != '0')
        snprintf(buf, n, "the sysctl kernel.io_uring_disabled is %c", v[0]);
}

/* Marks io_uring refused for the process: the first refusal's words stay. */
static void ring_refuse(const char *call, int err)
{
    int s = __atomic_load_n(&ring_state, __ATOMIC_ACQUIRE);
    do {
        if (s < 0 || s == RING_REFUSING)
            return;
    } while (!__atomic_compare_exchange_n(&ring_state, &s, RING_REFUSING, 0, __ATOMIC_ACQ_REL,
                                          __ATOMIC_ACQUIRE));
    char note[64] = "";
    if (err == EPERM || err == EACCES)
        ring_sysctl_note(note, sizeof note);
    snprintf(ring_why, sizeof ring_why, "%s: %s%s%s", call, strerror(err), note[0] ? "; " : "",
             note);
    __atomic_store_n(&ring_state, -err, __ATOMIC_RELEASE);
}

/* The state, never RING_REFUSING: a refusal being written is waited for. */
static int ring_state_now(void)
{
    int s;
    while ((s = __atomic_load_n(&ring_state, __ATOMIC_ACQUIRE)) == RING_REFUSING)
        sched_yield();
    return s;
}

/* Called after every ring set-up and before every tear-down.  The kernel
 * may map a new ring at the address an old one had, and liburing maps and
 * unmaps with system calls of its own, which ThreadSanitizer does not see:
 * to it, one thread's writes into a freed ring and another's into the new
 * one at the same address would race.  The munmap comes before the mmap;
 * a read-modify-write of one counter at both says so in a way it sees. */
static void ring_mapped(void) { __atomic_add_fetch(&ring_maps, 1, __ATOMIC_ACQ_REL); }

/* Sets up a ring, looks for IORING_OP_READ, submits a no-op and waits for
 * it: 0, or an errno with why filled in. */
static int ring_probe(char *why, size_t n)
{
    struct io_uring ring;
    int rc = io_uring_queue_init(IO_RING_ENTRIES, &ring, 0);
    if (rc < 0) {
        char note[64] = "";
        if (rc == -EPERM || rc == -EACCES)
            ring_sysctl_note(note, sizeof note);
        snprintf(why, n, "io_uring_setup: %s%s%s", strerror(-rc), note[0] ? "; " : "", note);
        return -rc;
    }
    ring_mapped();
    int err = 0;
    struct io_uring_probe *p = io_uring_get_probe_ring(&ring);
    if (p == NULL) {
        err = EINVAL;
        snprintf(why, n, "io_uring_register (IORING_REGISTER_PROBE): refused, as by a kernel "
                         "before 5.6, which has no IORING_OP_READ");
    } else if (!io_uring_opcode_supported(p, IORING_OP_READ)) {
        err = EOPNOTSUPP;
        snprintf(why, n, "IORING_OP_READ: not supported by this kernel");
    }
    if (p != NULL)
        io_uring_free_probe(p);
    if (err == 0) {
        io_uring_prep_nop(io_uring_get_sqe(&ring));
        do
            rc = io_uring_submit_and_wait(&ring, 1);
        while (rc == -EINTR);
        struct io_uring_cqe *cqe;
        if (rc < 0) {
            err = -rc;
            snprintf(why, n, "io_uring_enter: %s", strerror(err));
        } else if (io_uring_peek_cqe(&ring, &cqe) == 0) {
            io_uring_cqe_seen(&ring, cqe);
        }
    }
    ring_mapped();
    io_uring_queue_exit(&ring);
    return err;
}

/* ---- each thread's ring (R1) ------------------------------------------------- */

typedef struct ring_thread {
    struct io_uring ring;
} ring_thread;

static pthread_once_t ring_once = PTHREAD_ONCE_INIT;
static pthread_key_t ring_key;

static void ring_thread_free(void *p)
{
    ring_thread *t = p;
    ring_mapped();
    io_uring_queue_exit(&t->ring);
    free(t);
}

/* This thread's ring goes (nothing of it is in flight: R2). */
static void ring_thread_drop(void)
{
    ring_thread *t = pthread_getspecific(ring_key);
    if (t == NULL)
        return;
    pthread_setspecific(ring_key, NULL);
    ring_thread_free(t);
}

/* In a forked child: the ring of the thread that forked is its parent's
 * too (shared memory), so the child lets go of it, and probes again. */
static void ring_after_fork_child(void)
{
    ring_thread_drop();
    __atomic_store_n(&ring_state, RING_UNKNOWN, __ATOMIC_RELAXED);
    ring_why[0] = '\0';
}

static void ring_init_once(void)
{
    pthread_key_create(&ring_key, ring_thread_free);
    pthread_atfork(NULL, NULL, ring_after_fork_child);
}

/* This thread's ring, set up at its first batch; NULL with *err if it
 * cannot be. */
static struct io_uring *ring_thread_get(int *err)
{
    ring_thread *t = pthread_getspecific(ring_key);
    if (t != NULL)
        return &t->ring;
    if ((t = calloc(1, sizeof *t)) == NULL) {
        *err = ENOMEM;
        return NULL;
    }
    int rc = io_uring_queue_init(IO_RING_ENTRIES, &t->ring, 0);
    if (rc >= 0)
        ring_mapped();
    if (rc < 0 || pthread_setspecific(ring_key, t) != 0) {
        if (rc >= 0) {
            ring_mapped();
            io_uring_queue_exit(&t->ring);
        }
        free(t);
        *err = rc < 0 ? -rc : ENOMEM;
        return NULL;
    }
    __atomic_add_fetch(&counts.rings, 1, __ATOMIC_RELAXED);
    return &t->ring;
}

int io_ring_usable(char *why, size_t n)
{
    pthread_once(&ring_once, ring_init_once);
    int s = ring_state_now();
    if (s == RING_UNKNOWN) {
        int err = ring_probe(why, n);
        if (err == 0) {
            __atomic_compare_exchange_n(&ring_state, &s, RING_WORKS, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE);
        } else if (ring_is_refusal(err)) {
            /* Remembered in the probe's own words. */
            int expect = RING_UNKNOWN;
            if (__atomic_compare_exchange_n(&ring_state, &expect, RING_REFUSING, 0,
                                            __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                snprintf(ring_why, sizeof ring_why, "%s", why);
                __atomic_store_n(&ring_state, -err, __ATOMIC_RELEASE);
            }
        } else {
            return 0; /* not now (ENOMEM, EMFILE...): asked again next time */
        }
        s = ring_state_now();
    }
    if (s == RING_WORKS)
        return 1;
    snprintf(why, n, "%s", ring_why);
    return 0;
}

void io_ring_counts_get(io_ring_counts *c)
{
    c->rings = __atomic_load_n(&counts.rings, __ATOMIC_RELAXED);
    c->submissions = __atomic_load_n(&counts.submissions, __ATOMIC_RELAXED);
    c->reads = __atomic_load_n(&counts.reads, __ATOMIC_RELAXED);
    c->fallback_reads = __atomic_load_n(&counts.fallback_reads, __ATOMIC_RELAXED);
}

/* ---- the batch ------------------------------------------------------------------ */

/* One range with pread, as the POSIX backend reads it. */
static long ring_pread(io_read_req *q)
{
    return q->len ? posix_read_at(q->f, q->off, q->buf, q->len) : 0;
}

/* Reads r[from, to) that are still IO_READ_PENDING with pread (R3). */
static void ring_pread_pending(io_read_req *r, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (r[i].res != IO_READ_PENDING)
            continue;
        r[i].res = ring_pread(&r[i]);
        if (r[i].len > 0)
            __atomic_add_fetch(&counts.fallback_reads, 1, __ATOMIC_RELAXED);
    }
}

/* A completion's result: the bytes read or the read's own failure (R4).  A
 * request the kernel would not run (EINVAL: an opcode it lacks) is read
 * with pread, and if pread can, io_uring is refused (R3); one it gave up on
 * for now (EAGAIN, EINTR, ECANCELED) is read with pread. */
static long ring_result(io_read_req *q, int res)
{
    if (res >= 0)
        return res;
    if (res == -EAGAIN || res == -EINTR || res == -ECANCELED)
        return ring_pread(q);
    if (ring_is_refusal(-res)) {
        long again = ring_pread(q);
        if (again >= 0)
            ring_refuse("io_uring read", -res);
        return again;
    }
    return res;
}

/* Hands the k requests prepared in `ring` (of r[from, to)) to the kernel
 * and waits for the completion of each it took (R2); reads the rest with
 * pread. */
static void ring_submit_and_wait(struct io_uring *ring, io_read_req *r, size_t from, size_t to,
                                 unsigned k)
{
    unsigned taken = 0;
    int err = 0;
    while (taken < k) {
        /* One call hands them over and waits for them all, when the
         * kernel takes them all (else it returns without waiting). */
        int s = io_uring_submit_and_wait(ring, k - taken);
        if (s > 0) {
            taken += (unsigned)s;
            __atomic_add_fetch(&counts.submissions, 1, __ATOMIC_RELAXED);
        } else if (s != -EINTR) {
            err = s < 0 ? -s : EAGAIN;
            break;
        }
    }
    __atomic_add_fetch(&counts.reads, taken, __ATOMIC_RELAXED);
    for (unsigned done = 0; done < taken;) {
        struct io_uring_cqe *cqe = NULL;
        int w = io_uring_wait_cqe(ring, &cqe);
        if (w == -EINTR)
            continue;
        if (w < 0) {
            /* It cannot wait (the kernel refuses io_uring_enter now), but
             * the reads are in flight: their completions still come. */
            if (err == 0)
                err = -w;
            if (io_uring_peek_cqe(ring, &cqe) != 0) {
                sched_yield();
                continue;
            }
        }
        io_read_req *q = &r[io_uring_cqe_get_data64(cqe)];
        int res = cqe->res;
        io_uring_cqe_seen(ring, cqe);
        q->res = ring_result(q, res);
        done++;
    }
    if (err != 0) {
        /* Requests the kernel did not take are still in the ring: the ring
         * goes (nothing of it is in flight now), and they are read with
         * pread. */
        ring_thread_drop();
        if (ring_is_refusal(err))
            ring_refuse("io_uring_enter", err);
        ring_pread_pending(r, from, to);
    }
}

static void ring_read_batch(io_read_req *r, size_t n)
{
    char why[8];
    if (ring_state_now() != RING_WORKS && !io_ring_usable(why, sizeof why)) {
        for (size_t i = 0; i < n; i++)
            r[i].res = IO_READ_PENDING;
        ring_pread_pending(r, 0, n);
        return;
    }
    size_t i = 0;
    while (i < n) {
        int err = 0;
        struct io_uring *ring = ring_thread_get(&err);
        if (ring == NULL) {
            if (ring_is_refusal(err))
                ring_refuse("io_uring_setup", err);
            for (size_t j = i; j < n; j++)
                r[j].res = IO_READ_PENDING;
            ring_pread_pending(r, i, n);
            return;
        }
        /* Up to IO_RING_ENTRIES requests; the ring is empty here (R2). */
        size_t from = i;
        unsigned k = 0;
        for (; i < n && k < IO_RING_ENTRIES; i++) {
            io_read_req *q = &r[i];
            posix_file *pf = (posix_file *)q->f;
            /* pread for what a ring would read otherwise: a grown file,
             * whose length is the handle's (io_posix_file.h, G1), and an
             * offset past INT64_MAX, which a ring reads as -1, "at the
             * file's position", where pread says EINVAL. */
            if (q->len == 0 || pf->grow || q->off > (uint64_t)INT64_MAX) {
                q->res = ring_pread(q);
                continue;
            }
            struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
            unsigned len = q->len < RING_MAX_READ ? (unsigned)q->len : RING_MAX_READ;
            io_uring_prep_read(sqe, pf->fd, q->buf, len, q->off);
            io_uring_sqe_set_data64(sqe, i);
            q->res = IO_READ_PENDING;
            k++;
        }
        if (k > 0)
            ring_submit_and_wait(ring, r, from, i, k);
    }
}

static int ring_open(const char *path, int flags, io_file **out)
{
    int rc = posix_open(path, flags, out);
    if (rc == 0)
        (*out)->ops = io_ring_ops();
    return rc;
}

static const io_ops ring_ops = {
    .name = "uring",
    .open = ring_open,
    IO_POSIX_FILE_OPS,
    .read_batch = ring_read_batch,
};

const io_ops *io_ring_ops(void) { return &ring_ops; }

#else /* __EMSCRIPTEN__: no io_uring */

const io_ops *io_ring_ops(void) { return NULL; }

int io_ring_usable(char *why, size_t n)
{
    snprintf(why, n, "io_uring: not in a WebAssembly build");
    return 0;
}

void io_ring_counts_get(io_ring_counts *c) { memset(c, 0, sizeof *c); }

#endif
