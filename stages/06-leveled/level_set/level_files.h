/*
 * level_files.h: what a name in a stage-06 directory is (level_files.c has
 * the list).  Stage 04's logs keep their names and are listed by
 * lsm_files.h; the names here are the ones stage 04 does not know.
 */
#ifndef KV_LEVEL_FILES_H
#define KV_LEVEL_FILES_H

#include <stdint.h>

#include "db_dir.h"

enum {
    LEVEL_FILE_OTHER = 0,
    LEVEL_FILE_TABLE,       /* *number = its file number */
    LEVEL_FILE_MANIFEST,    /* *number = its file number */
    LEVEL_FILE_CURRENT,
    LEVEL_FILE_TMP          /* CURRENT.tmp, a manifest's or a table's .tmp */
};

int level_file_parse(const char *name, uint64_t *number);

#define LEVEL_NAME_MAX 64
/* "000007.tbl": table `number`'s name. */
void level_table_name(char out[LEVEL_NAME_MAX], uint64_t number);
/* The full path of table `number` in dir: malloc'd, NULL if out of memory. */
char *level_table_path(const db_dir *dir, uint64_t number);

#endif
