/*
 * level_files.c: the names of stage 06's table files, and what a listing
 * of the directory holds besides stage 04's logs (lsm_files.h lists those,
 * and the logs' temporary files).
 *
 *   000007.tbl          a table, named by its file number (6 digits or
 *                       more): compaction outputs overlap in sequence
 *                       numbers, so stage 04's names by range cannot
 *                       serve; the manifest says which level holds it
 *   MANIFEST-000005     a manifest (manifest.h); CURRENT names the live one
 *   CURRENT, CURRENT.tmp
 *
 * From stage 06 on the names say what a file is, never whether it is part
 * of the database: the manifest does (level_recover.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "level_files.h"

void level_table_name(char out[LEVEL_NAME_MAX], uint64_t number)
{
    snprintf(out, LEVEL_NAME_MAX, "%06" PRIu64 ".tbl", number);
}

char *level_table_path(const db_dir *dir, uint64_t number)
{
    char name[LEVEL_NAME_MAX];
    level_table_name(name, number);
    return db_dir_file(dir, name);
}

/* A decimal number of 6 to 19 digits at *p, above 0; the byte after it,
 * or NULL. */
static const char *level_parse_number(const char *p, uint64_t *v)
{
    uint64_t n = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (digits == 19)
            return NULL;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (digits < 6 || n == 0)
        return NULL;
    *v = n;
    return p;
}

int level_file_parse(const char *name, uint64_t *number)
{
    const char *p;
    if (strcmp(name, "CURRENT") == 0)
        return LEVEL_FILE_CURRENT;
    if (strcmp(name, "CURRENT.tmp") == 0)
        return LEVEL_FILE_TMP;
    if (strncmp(name, "MANIFEST-", 9) == 0) {
        p = level_parse_number(name + 9, number);
        if (p != NULL && *p == '\0')
            return LEVEL_FILE_MANIFEST;
        if (p != NULL && strcmp(p, ".tmp") == 0)
            return LEVEL_FILE_TMP;
        return LEVEL_FILE_OTHER;
    }
    p = level_parse_number(name, number);
    if (p != NULL && strcmp(p, ".tbl") == 0)
        return LEVEL_FILE_TABLE;
    if (p != NULL && strcmp(p, ".tbl.tmp") == 0)
        return LEVEL_FILE_TMP;
    return LEVEL_FILE_OTHER;
}
