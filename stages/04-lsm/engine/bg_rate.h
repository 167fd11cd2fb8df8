/*
 * bg_rate.h: an interface: how fast the engine's background work may
 * write new tables (kv.h: kv_options.background_bytes_per_sec,
 * kv_set_background_rate).  The engine writes every table a flush or a
 * merge makes (lsm_out.c); as the file grows, it asks for the bytes that
 * reached it (bg_rate_ask), and waits there if it must: the wait is the
 * engine's, on its background thread, never inside a table builder.
 * Stage 04
 * implements it with full_speed/: every byte at once, and 0 (no limit)
 * the only rate it takes; another implementation may pace the bytes,
 * behind these same functions, and nothing in the engine changes.  A
 * stage links exactly one (its stage.mk says which), as it links one
 * table format behind table.h.
 *
 * Invariants every implementation keeps:
 *   B1. Every ask returns once its bytes are granted; with the rate 0, at
 *       once.  kv_close sets the rate to 0 before it waits for the
 *       background work, so that a close never waits at a rate.
 *   B2. A flush's bytes (writers wait for the memtable it empties) are
 *       never held back for a merge's.
 *   B3. bg_rate_set either takes the rate, for every ask from then on,
 *       or refuses it (KV_ERR_INVALID, saying why) and changes nothing.
 *
 * Threads: any thread may ask, set the rate or read the stats, at once.
 */
#ifndef KV_BG_RATE_H
#define KV_BG_RATE_H

#include <stdint.h>

#include "kv.h"

typedef struct bg_rate bg_rate;

/* Who asks: the table of a flush, or of a merge (or anything else the
 * engine writes in the background). */
enum { BG_RATE_MERGE = 0, BG_RATE_FLUSH = 1 };

/* At kv_open, with its options (opt->background_bytes_per_sec: the rate
 * to begin with, where the implementation paces at all).  KV_OK or
 * KV_ERR_NOMEM. */
int  bg_rate_new(const kv_options *opt, bg_rate **out);
/* NULL is a no-op.  REQUIRES: no ask under way. */
void bg_rate_free(bg_rate *r);
/* kv_set_background_rate (B3): bytes a second, 0 for no limit. */
int  bg_rate_set(bg_rate *r, uint64_t bytes_per_sec);
/* Returns once `bytes` more bytes may go to a new table's file (B1, B2);
 * who is BG_RATE_FLUSH or BG_RATE_MERGE. */
void bg_rate_ask(bg_rate *r, uint64_t bytes, int who);
/* kv_stats's lines about it ("name: value"), each through line(ctx,
 * text); none where nothing is paced. */
void bg_rate_stats(bg_rate *r, kv_line_fn line, void *ctx);

#endif
