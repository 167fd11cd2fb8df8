/*
 * stage_caps.c: the table behind stage_caps.h, one row per stage.  The
 * docs page of each stage says why each fact holds (docs/<stage>.md).
 */
#include "stage_caps.h"

#include <stddef.h>
#include <string.h>

#include "kv.h"

static const stage_caps stage_caps_table[] = {
    /* stage      atomic  durable  durable  repair  segments  gets scan  memtable  txn       table   record  paced   parted  values
                  batches sync     close                      the log             versions  blocks  cache   writes  index   alone */
    {"01-log",    0,      0,       0,       0,      0,        1,         0,        0,        0,       0,       0,       0,       0},
    {"02-hash",   0,      0,       0,       0,      1,        0,         0,        0,        0,       0,       0,       0,       0},
    {"03-wal",    1,      1,       1,       1,      1,        0,         0,        0,        0,       0,       0,       0,       0},
    {"04-lsm",    1,      1,       1,       1,      0,        0,         1,        0,        0,       0,       0,       0,       0},
    {"05-blocks", 1,      1,       1,       1,      0,        0,         1,        0,        1,       0,       0,       0,       0},
    {"06-leveled", 1,     1,       1,       1,      0,        0,         1,        0,        1,       0,       0,       0,       0},
    {"07-txn",    1,      1,       1,       1,      0,        0,         1,        1,        1,       0,       0,       0,       0},
    {"08-vlog",   1,      1,       1,       1,      0,        0,         1,        1,        1,       0,       0,       0,       0},
    {"09-cache",  1,      1,       1,       1,      0,        0,         1,        1,        1,       1,       1,       1,       1},
    /* stage 10's libkv.a is stage 09's engine (the replica is not in it) */
    {"10-raft",   1,      1,       1,       1,      0,        0,         1,        1,        1,       1,       1,       1,       1},
};

const stage_caps *stage_caps_lookup(const char *stage)
{
    for (size_t i = 0; i < sizeof stage_caps_table / sizeof stage_caps_table[0]; i++)
        if (stage != NULL && strcmp(stage_caps_table[i].stage, stage) == 0)
            return &stage_caps_table[i];
    return NULL;
}

const stage_caps *stage_caps_find(void) { return stage_caps_lookup(kv_stage()); }

int stage_caps_is_meta_file(const char *name)
{
    return strcmp(name, "CURRENT") == 0 || strcmp(name, "CURRENT.tmp") == 0 ||
           strncmp(name, "MANIFEST-", 9) == 0 || strcmp(name, "STATS") == 0 ||
           strcmp(name, "STATS.tmp") == 0 || strcmp(name, "VLOGCOUNTS") == 0 ||
           strcmp(name, "VLOGCOUNTS.tmp") == 0;
}
