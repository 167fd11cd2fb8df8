/*
 * iterator.h: one interface for every sorted source the engine reads in
 * order: the memtable, a table, the merge of several, and the user's view
 * on top of that merge.
 *
 * An iterator is a struct whose first member is an `iter`: a table of
 * operations (iter_ops) and the current entry.  The entry is held in plain
 * fields, so reading the key of the current position, which a merging
 * iterator does at every step for every child, costs no function call.
 * LevelDB's include/leveldb/iterator.h is the same interface with virtual
 * methods.
 *
 * Rules, for every implementation:
 *   1. A new iterator is not positioned (valid == 0): seek first.
 *   2. Keys come in ascending order of the source's key order going
 *      forward (next), descending going backward (prev).  For the memtable,
 *      tables and merging iterators the keys are internal keys
 *      (internal_key.h) and seek takes an internal key; for the user view
 *      (user_iter.h) they are user keys and seek takes a user key.
 *   3. seek(target) positions at the first entry >= target, seek_first at
 *      the first, seek_last at the last; valid == 0 if there is none.
 *   4. key/value point into memory the iterator owns; they stay valid until
 *      the next call that moves or frees the iterator.
 *   5. An error (a read failed, a checksum did not match, an allocation
 *      failed) sets status to the KV_ERR_* code, sets kv_errmsg, and leaves
 *      the iterator invalid; it stays so until freed, whatever is called.
 *      status is KV_OK otherwise.
 *   6. next and prev on an iterator that is not valid do nothing (the
 *      iter_next/iter_prev wrappers check; implementations may assume it).
 *   7. Not thread-safe: one thread at a time per iterator.
 */
#ifndef KV_LSM_ITERATOR_H
#define KV_LSM_ITERATOR_H

#include <stddef.h>
#include <stdint.h>

typedef struct iter iter;

typedef struct iter_ops {
    void (*seek_first)(iter *it);
    void (*seek_last)(iter *it);
    void (*seek)(iter *it, const uint8_t *target, size_t len);
    void (*next)(iter *it);
    void (*prev)(iter *it);
    void (*free)(iter *it);
} iter_ops;

struct iter {
    const iter_ops *ops;
    int valid;              /* positioned at an entry */
    int status;             /* rule 5 */
    const uint8_t *key;     /* the current entry, when valid (rule 4) */
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
};

/* For implementations: sets up the common part (not positioned, KV_OK). */
static inline void iter_init(iter *it, const iter_ops *ops)
{
    it->ops = ops;
    it->valid = 0;
    it->status = 0;
    it->key = it->value = NULL;
    it->key_len = it->value_len = 0;
}

/* For implementations: rule 5.  Returns status. */
static inline int iter_fail(iter *it, int status)
{
    it->valid = 0;
    it->status = status;
    return status;
}

static inline void iter_seek_first(iter *it)
{
    if (it->status == 0)
        it->ops->seek_first(it);
}
static inline void iter_seek_last(iter *it)
{
    if (it->status == 0)
        it->ops->seek_last(it);
}
static inline void iter_seek(iter *it, const uint8_t *target, size_t len)
{
    if (it->status == 0)
        it->ops->seek(it, target, len);
}
static inline void iter_next(iter *it)
{
    if (it->valid)
        it->ops->next(it);
}
static inline void iter_prev(iter *it)
{
    if (it->valid)
        it->ops->prev(it);
}
static inline int iter_valid(const iter *it)
{
    return it->valid;
}
static inline const uint8_t *iter_key(const iter *it, size_t *len)
{
    *len = it->key_len;
    return it->key;
}
static inline const uint8_t *iter_value(const iter *it, size_t *len)
{
    *len = it->value_len;
    return it->value;
}
static inline int iter_status(const iter *it)
{
    return it->status;
}
/* NULL is a no-op. */
static inline void iter_free(iter *it)
{
    if (it != NULL)
        it->ops->free(it);
}

#endif
