/*
 * level_counters.h: the work the engine counts per level of its table set
 * (lsm_stats.h keeps them, lsm_totals.c saves them in STATS, kv_stats
 * and the table set's lines print them).  A table set without levels
 * (stage 04's flat list) has none; stage 06's has 7.
 */
#ifndef KV_LEVEL_COUNTERS_H
#define KV_LEVEL_COUNTERS_H

/* Levels the engine counts its work in (stage 06 has 7). */
#define TABLE_LEVELS_MAX 7

/* What the engine counts per level, kept across sessions (lsm_totals.c). */
enum {
    TABLE_LEVEL_COMPACTIONS,    /* merges into this level */
    TABLE_LEVEL_MOVES,          /* tables moved down into it */
    TABLE_LEVEL_BYTES_READ,     /* input bytes of its merges */
    TABLE_LEVEL_BYTES_WRITTEN,  /* bytes written to it (level 0: every flush) */
    TABLE_LEVEL_US,             /* time spent */
    TABLE_LEVEL_COUNTERS
};

#endif
