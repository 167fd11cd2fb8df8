/*
 * table_salvage.h: what every format's table_salvage (table.h) does the
 * same way, whatever its bytes: it hands each entry it reads to the caller
 * in order, keeps the last key to judge the next one by, and reports each
 * region it could not read with the keys on either side of it.  A format
 * only finds its entries (table_v1_salvage.c, table_v2_salvage.c).
 */
#ifndef KV_LSM_TABLE_SALVAGE_H
#define KV_LSM_TABLE_SALVAGE_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

typedef struct salvage_sink {
    table_entry_fn entry;
    table_loss_fn loss;
    void *ctx;
    table_salvage_info *info;
    const char *path;        /* for messages */
    uint8_t *last;           /* the last key kept, a copy (last_len 0: none) */
    size_t last_len, last_cap;
    int damaged;             /* inside a damaged region, since bad */
    uint64_t bad;
    const char *why;
} salvage_sink;

/* REQUIRES: *info zeroed; entry not NULL (loss may be). */
void salvage_sink_init(salvage_sink *s, const char *path, table_entry_fn entry,
                       table_loss_fn loss, void *ctx, table_salvage_info *info);
void salvage_sink_free(salvage_sink *s);

/* 1 if k is an internal key above the last one kept. */
int salvage_sink_follows(const salvage_sink *s, const uint8_t *k, size_t n);

/* A damaged region starts at `at` (unless one has already started). */
void salvage_sink_damage(salvage_sink *s, uint64_t at, const char *why);

/* The entry at `at` is kept: a damaged region before it ends there, it
 * goes to the caller (a tombstone with an empty value), and it becomes the
 * last key.  REQUIRES: salvage_sink_follows.  KV_OK, KV_ERR_NOMEM, or the
 * caller's error. */
int salvage_sink_keep(salvage_sink *s, uint64_t at, const uint8_t *k, size_t n,
                      const uint8_t *v, size_t vn);

/* The entries end at `end`: a damaged region still open ends there. */
void salvage_sink_end(salvage_sink *s, uint64_t end);

#endif
