/*
 * arena.c: the bump allocator (arena.h).
 */
#include "arena.h"

#include <stdlib.h>

#include "error.h"
#include "kv.h"

/* The header in front of each block's bytes; its size keeps the bytes that
 * follow aligned to ARENA_ALIGN (malloc's result is aligned for any type). */
struct arena_block {
    arena_block *next;
    size_t bytes;
    _Alignas(ARENA_ALIGN) uint8_t data[];
};

void arena_init(arena *a, size_t block_bytes)
{
    a->block_bytes = block_bytes < ARENA_MIN_BLOCK ? ARENA_MIN_BLOCK : block_bytes;
    a->ptr = NULL;
    a->left = 0;
    a->blocks = NULL;
    atomic_init(&a->usage, 0);
}

void arena_destroy(arena *a)
{
    arena_block *b = a->blocks;
    while (b != NULL) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->blocks = NULL;
    a->ptr = NULL;
    a->left = 0;
    atomic_store_explicit(&a->usage, 0, memory_order_relaxed);
}

/* A new block of `bytes` usable bytes, linked into the list; returns its
 * data, or NULL. */
static uint8_t *arena_new_block(arena *a, size_t bytes)
{
    if (bytes > SIZE_MAX - sizeof(arena_block)) {
        kv_error(KV_ERR_NOMEM, "arena: a block of %zu bytes is too large", bytes);
        return NULL;
    }
    size_t total = sizeof(arena_block) + bytes;
    arena_block *b = malloc(total);
    if (b == NULL) {
        kv_error(KV_ERR_NOMEM, "arena: cannot allocate a block of %zu bytes", total);
        return NULL;
    }
    b->next = a->blocks;
    b->bytes = bytes;
    a->blocks = b;
    atomic_store_explicit(&a->usage, arena_memory_usage(a) + total, memory_order_relaxed);
    return b->data;
}

/* Serves n bytes when the current block cannot (invariant 3). */
static void *arena_alloc_fallback(arena *a, size_t n)
{
    if (n > a->block_bytes / 4)
        return arena_new_block(a, n); /* the current block keeps its room */
    uint8_t *p = arena_new_block(a, a->block_bytes);
    if (p == NULL)
        return NULL;
    a->ptr = p + n;
    a->left = a->block_bytes - n;
    return p;
}

size_t arena_reserve_growth(const arena *a, size_t n)
{
    if (n <= a->left)
        return 0;
    size_t bytes = n > a->block_bytes ? n : a->block_bytes;
    return bytes > SIZE_MAX - sizeof(arena_block) ? SIZE_MAX : sizeof(arena_block) + bytes;
}

int arena_reserve(arena *a, size_t n)
{
    if (n <= a->left)
        return KV_OK;
    size_t bytes = n > a->block_bytes ? n : a->block_bytes;
    uint8_t *p = arena_new_block(a, bytes);
    if (p == NULL)
        return KV_ERR_NOMEM;
    a->ptr = p;
    a->left = bytes;
    return KV_OK;
}

void *arena_alloc(arena *a, size_t n)
{
    if (n <= a->left) {
        uint8_t *p = a->ptr;
        a->ptr += n;
        a->left -= n;
        return p;
    }
    return arena_alloc_fallback(a, n);
}

void *arena_alloc_aligned(arena *a, size_t n)
{
    size_t misalign = (uintptr_t)a->ptr & (ARENA_ALIGN - 1);
    size_t pad = misalign ? ARENA_ALIGN - misalign : 0;
    if (a->left >= pad && n <= a->left - pad) {
        uint8_t *p = a->ptr + pad;
        a->ptr += pad + n;
        a->left -= pad + n;
        return p;
    }
    /* A fresh block's data is aligned (the header's layout says so). */
    return arena_alloc_fallback(a, n);
}
