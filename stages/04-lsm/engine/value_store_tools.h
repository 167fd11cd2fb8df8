/*
 * value_store_tools.h: what the tools of a closed database ask of the
 * value store's files, an interface (value_store.h is the store the
 * engine uses while the database is open).  The table set's tools (kv
 * check, kv dump, kv repair) call these for the files the store keeps:
 *   stage 04   values in place (values_in_place.c): the store keeps no
 *              file, so there is nothing to check, dump or repair;
 *   stage 08   the value log's tools (vlog_tools.c).
 * Each opens what it reads itself and holds nothing after it returns.
 */
#ifndef KV_VALUE_STORE_TOOLS_H
#define KV_VALUE_STORE_TOOLS_H

#include "kv.h"

/* 1 if `name` is one of the store's files (the tools list them as its). */
int  value_store_is_named(const char *name);
/* kv check's lines for the store's files, and whether every value a key
 * reads elsewhere is there: KV_OK or KV_ERR_CORRUPT. */
int  value_store_check(const char *dir, kv_line_fn line, void *ctx);
/* kv dump's lines for the store's files. */
int  value_store_dump(const char *dir, kv_line_fn line, void *ctx);
/* kv repair's part, once the tables are whole again: what a key cannot
 * read elsewhere is gone (the key is deleted, and each named).  KV_OK or
 * an error. */
int  value_store_repair(const char *dir, kv_line_fn line, void *ctx);

/* What the store's tools may ask of the engine (lsm_iter.c): 1 if the
 * entry it stands on keeps its value elsewhere, where the store says (so
 * that reading the value reads the store's files), 0 if the entry holds
 * its value, which the iterator has read from its table or memtable, or
 * if it is not valid. */
int  lsm_iter_elsewhere(const kv_iter *it);

#endif
