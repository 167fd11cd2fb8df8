/*
 * level_iter.c: the tables of one level read as one sorted source
 * (level_iter.h).
 *
 * State: `index`, the table the walk is in, and `child`, that table's
 * iterator (NULL when none is open).  Every move ends in settle_forward or
 * settle_backward, which skip tables that have nothing in the direction of
 * travel, so the iterator is valid exactly when the child is.
 */
#include "level_iter.h"

#include <stdlib.h>

#include "error.h"
#include "kv.h"
#include "table.h"

typedef struct level_iter {
    iter base;
    version *v;
    int level;
    level_table_iter_fn open;
    void *ctx;
    size_t index;      /* the table child reads */
    iter *child;
} level_iter;

static void show_child(level_iter *li)
{
    iter *c = li->child;
    li->base.valid = c != NULL && c->valid;
    if (li->base.valid) {
        li->base.key = c->key;
        li->base.key_len = c->key_len;
        li->base.value = c->value;
        li->base.value_len = c->value_len;
    }
}

static void close_child(level_iter *li)
{
    iter_free(li->child);
    li->child = NULL;
}

/* Opens the iterator of table i (closing the one before).  0, or the
 * error, which fails the level iterator. */
static int open_table(level_iter *li, size_t i)
{
    close_child(li);
    li->index = i;
    vfile *f = li->v->files[li->level][i];
    int rc = li->open != NULL ? li->open(li->ctx, f, &li->child) : table_iter_new(f->t, &li->child);
    if (rc != KV_OK) {
        li->child = NULL;
        return iter_fail(&li->base, rc);
    }
    return KV_OK;
}

/* A child that failed fails the level iterator (rule 5). */
static int child_failed(level_iter *li)
{
    if (li->child != NULL && li->child->status != KV_OK) {
        int rc = li->child->status;
        close_child(li);
        iter_fail(&li->base, rc);
        return 1;
    }
    return 0;
}

/* While the child is exhausted going forward, start the next table. */
static void settle_forward(level_iter *li)
{
    size_t n = li->v->nfiles[li->level];
    while (!child_failed(li) && (li->child == NULL || !li->child->valid)) {
        if (li->child == NULL || li->index + 1 >= n) {
            close_child(li);
            break;
        }
        if (open_table(li, li->index + 1) != KV_OK)
            return;
        iter_seek_first(li->child);
    }
    if (li->base.status == KV_OK)
        show_child(li);
}

/* While the child is exhausted going backward, start the table before. */
static void settle_backward(level_iter *li)
{
    while (!child_failed(li) && (li->child == NULL || !li->child->valid)) {
        if (li->child == NULL || li->index == 0) {
            close_child(li);
            break;
        }
        if (open_table(li, li->index - 1) != KV_OK)
            return;
        iter_seek_last(li->child);
    }
    if (li->base.status == KV_OK)
        show_child(li);
}

static void li_seek_first(iter *it)
{
    level_iter *li = (level_iter *)it;
    close_child(li);
    if (li->v->nfiles[li->level] == 0 || open_table(li, 0) != KV_OK) {
        show_child(li);
        return;
    }
    iter_seek_first(li->child);
    settle_forward(li);
}

static void li_seek_last(iter *it)
{
    level_iter *li = (level_iter *)it;
    size_t n = li->v->nfiles[li->level];
    close_child(li);
    if (n == 0 || open_table(li, n - 1) != KV_OK) {
        show_child(li);
        return;
    }
    iter_seek_last(li->child);
    settle_backward(li);
}

static void li_seek(iter *it, const uint8_t *target, size_t len)
{
    level_iter *li = (level_iter *)it;
    size_t i = version_level_seek(li->v, li->level, target, len);
    if (i == li->v->nfiles[li->level]) {  /* past the last table */
        close_child(li);
        show_child(li);
        return;
    }
    if ((li->child == NULL || li->index != i) && open_table(li, i) != KV_OK)
        return;
    iter_seek(li->child, target, len);
    settle_forward(li);
}

static void li_next(iter *it)
{
    level_iter *li = (level_iter *)it;
    iter_next(li->child);
    settle_forward(li);
}

static void li_prev(iter *it)
{
    level_iter *li = (level_iter *)it;
    iter_prev(li->child);
    settle_backward(li);
}

static void li_free(iter *it)
{
    level_iter *li = (level_iter *)it;
    close_child(li);
    version_unref(li->v);
    free(li);
}

static const iter_ops level_iter_ops = {
    li_seek_first, li_seek_last, li_seek, li_next, li_prev, li_free,
};

int level_iter_new(version *v, int level, level_table_iter_fn open, void *ctx, iter **out)
{
    *out = NULL;
    level_iter *li = calloc(1, sizeof *li);
    if (li == NULL)
        return kv_error(KV_ERR_NOMEM, "level iterator: out of memory");
    iter_init(&li->base, &level_iter_ops);
    version_ref(v);
    li->v = v;
    li->level = level;
    li->open = open;
    li->ctx = ctx;
    *out = &li->base;
    return KV_OK;
}
