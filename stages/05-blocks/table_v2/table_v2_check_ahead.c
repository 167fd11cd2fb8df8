/*
 * table_v2_check_ahead.c: the data blocks of a mapped table checked in
 * the background, once a lookup has read one of them, so that lookups
 * find them checked (table_v2_checked.c) and do not check them one by one.
 *
 * A block of the mapping is checked the first time a lookup reads it there:
 * its CRC over every byte of it, while the lookup needs a few entries.  A
 * process that has just opened a database pays that on every block it
 * reads for the first time, some 4 KiB fetched from memory and summed per
 * block, scattered, until most blocks were read once.  Read in order,
 * the same bytes stream.  So the first lookup that checks a
 * block of a table also hands the table to a thread of the context, which
 * walks its data blocks in file order and checks each one not yet checked,
 * setting the same bits.  Only a table a lookup read is walked: a table
 * never read costs nothing, and its file is not read from the disk for
 * this.
 *
 * Invariants:
 *   CA1. The walk only sets bits a lookup would set (the same check, the
 *        same function); a block that fails is left unset, and the lookup
 *        that reads it checks it and says what is wrong, as before.
 *   CA2. A table is walked at most once per open (its ahead_asked flag);
 *        its file is held (file_cache_get) during the walk.  The checker
 *        holds no reference: the table's last table_unref asks it to
 *        forget the table, and waits while the table is being walked.
 *   CA3. The thread runs at the lowest priority the system has for it
 *        (SCHED_IDLE): it uses a core nothing else wants, never the
 *        lookups'.  table_v2_check_ahead_stop (the context's release)
 *        ends it, before the caches go.
 *   CA4. Built with KV_BG_INLINE (no threads) nothing is walked.
 * A first reading skips this file.
 */
#include <stdlib.h>

#include "error.h"
#include "table_v2_format.h"

#ifndef KV_BG_INLINE

#include <pthread.h>
#include <sched.h>

struct table_v2_check_ahead {
    pthread_mutex_t mu;
    pthread_cond_t work, walked;
    table **queue;
    size_t n, cap;
    table *walking;         /* the table being walked, or NULL */
    int abandon;            /* its last unref waits: stop the walk */
    int started, stop;
    pthread_t thread;
};

/* Checks every data block of t not yet checked, in file order (CA1). */
static void check_ahead_walk(table_v2_check_ahead *a, table *t)
{
    file_cache_handle *fh = NULL;
    if (file_cache_get(t->kept.ctx->files, t->kept.id, t->path, &fh) != KV_OK)
        return;
    uint64_t len;
    const uint8_t *map = file_cache_map(fh, &len);
    uint32_t i = 0;
    for (; map != NULL && i < t->kept.data_blocks; i++) {
        if ((i & 63) == 0) {
            pthread_mutex_lock(&a->mu);
            int stop = a->stop || a->abandon;
            pthread_mutex_unlock(&a->mu);
            if (stop)
                break;
        }
        table_v2_handle h;
        if (table_v2_fences_handle(t, i, &h) != KV_OK || h.nth1 == 0)
            break; /* a damaged index: the lookups say so */
        if (table_v2_checked_in_place(t, h) || h.offset > len ||
            (uint64_t)h.size + TABLE_V2_TRAILER > len - h.offset)
            continue;
        int type;
        uint32_t raw;
        if (table_v2_check_stored(t, h, map + h.offset, 1, &type, &raw) == NULL)
            table_v2_count(&t->kept.ctx->ahead_blocks, 1);
    }
    if (map != NULL && i == t->kept.data_blocks)
        table_v2_count(&t->kept.ctx->ahead_tables, 1);
    file_cache_release(t->kept.ctx->files, fh);
}

static void *check_ahead_main(void *arg)
{
    table_v2_check_ahead *a = arg;
#ifdef SCHED_IDLE
    struct sched_param p = {0};
    (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &p);
#endif
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (a->n == 0 && !a->stop)
            pthread_cond_wait(&a->work, &a->mu);
        if (a->stop)
            break;
        table *t = a->queue[0];
        for (size_t i = 1; i < a->n; i++)
            a->queue[i - 1] = a->queue[i];
        a->n--;
        a->walking = t;
        a->abandon = 0;
        pthread_mutex_unlock(&a->mu);
        check_ahead_walk(a, t);
        pthread_mutex_lock(&a->mu);
        a->walking = NULL;
        pthread_cond_broadcast(&a->walked);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int table_v2_check_ahead_new(table_v2_check_ahead **out)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return kv_error(KV_ERR_NOMEM, "table: cannot allocate the checker of blocks ahead");
    pthread_mutex_init(&(*out)->mu, NULL);
    pthread_cond_init(&(*out)->work, NULL);
    pthread_cond_init(&(*out)->walked, NULL);
    return KV_OK;
}

void table_v2_check_ahead_ask(table *t)
{
    table_v2_check_ahead *a = t->kept.ctx->ahead;
    if (a == NULL || t->checked == NULL ||
        atomic_exchange_explicit(&t->ahead_asked, 1, memory_order_relaxed))
        return;
    pthread_mutex_lock(&a->mu);
    if (!a->stop && !a->started)
        a->started = pthread_create(&a->thread, NULL, check_ahead_main, a) == 0 ? 1 : -1;
    if (a->started == 1 && !a->stop && a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        table **q = realloc(a->queue, cap * sizeof *q);
        if (q != NULL) {
            a->queue = q;
            a->cap = cap;
        }
    }
    /* No thread, or no room: the lookups check the blocks as they go. */
    if (a->started == 1 && !a->stop && a->n < a->cap) {
        a->queue[a->n++] = t;
        pthread_cond_signal(&a->work);
    }
    pthread_mutex_unlock(&a->mu);
}

void table_v2_check_ahead_forget(table *t)
{
    table_v2_check_ahead *a = t->kept.ctx->ahead;
    if (a == NULL || !atomic_load_explicit(&t->ahead_asked, memory_order_relaxed))
        return;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->n; i++)
        if (a->queue[i] == t) {
            a->queue[i] = a->queue[--a->n];
            break;
        }
    while (a->walking == t) {
        a->abandon = 1;
        pthread_cond_wait(&a->walked, &a->mu);
    }
    pthread_mutex_unlock(&a->mu);
}

void table_v2_check_ahead_stop(table_v2_check_ahead *a)
{
    if (a == NULL)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_signal(&a->work);
    int started = a->started == 1;
    pthread_mutex_unlock(&a->mu);
    if (started)
        pthread_join(a->thread, NULL);
    free(a->queue);
    pthread_cond_destroy(&a->work);
    pthread_cond_destroy(&a->walked);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

#else

int table_v2_check_ahead_new(table_v2_check_ahead **out)
{
    *out = NULL;
    return KV_OK;
}

void table_v2_check_ahead_ask(table *t)
{
    (void)t;
}

void table_v2_check_ahead_forget(table *t)
{
    (void)t;
}

void table_v2_check_ahead_stop(table_v2_check_ahead *a)
{
    (void)a;
}

#endif
