/*
 * lsm_files.c: the names of stage 04's files, and what a directory listing
 * says the database is (lsm_files.h, rules F1 to F3).
 */
#include "lsm_files.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_dir.h"
#include "db_identity.h"
#include "error.h"
#include "internal_key.h"
#include "io.h"
#include "kv.h"

void lsm_wal_name(char out[LSM_NAME_MAX], uint64_t start)
{
    snprintf(out, LSM_NAME_MAX, "%0*" PRIu64 LSM_WAL_SUFFIX, LSM_SEQ_DIGITS, start);
}

void lsm_table_name(char out[LSM_NAME_MAX], uint64_t lo, uint64_t hi, int tmp)
{
    snprintf(out, LSM_NAME_MAX, "%0*" PRIu64 "-%0*" PRIu64 LSM_TABLE_SUFFIX "%s",
             LSM_SEQ_DIGITS, lo, LSM_SEQ_DIGITS, hi, tmp ? LSM_TMP_SUFFIX : "");
}

/* A sequence number of LSM_SEQ_DIGITS to 17 digits at *p, 1..IKEY_MAX_SEQ;
 * returns the byte after it, or NULL. */
static const char *lsm_parse_seq(const char *p, uint64_t *v)
{
    uint64_t n = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (digits == 17)
            return NULL;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (digits < LSM_SEQ_DIGITS || n == 0 || n > IKEY_MAX_SEQ)
        return NULL;
    *v = n;
    return p;
}

int lsm_file_parse(const char *name, uint64_t *a, uint64_t *b)
{
    const char *p = lsm_parse_seq(name, a);
    if (p == NULL)
        return LSM_FILE_OTHER;
    if (strcmp(p, LSM_WAL_SUFFIX) == 0)
        return LSM_FILE_WAL;
    if (strcmp(p, LSM_WAL_SUFFIX LSM_TMP_SUFFIX) == 0)
        return LSM_FILE_TMP; /* a log kv_repair was rewriting */
    if (*p != '-' || (p = lsm_parse_seq(p + 1, b)) == NULL || *a > *b)
        return LSM_FILE_OTHER;
    if (strcmp(p, LSM_TABLE_SUFFIX) == 0)
        return LSM_FILE_TABLE;
    if (strcmp(p, LSM_TABLE_SUFFIX LSM_TMP_SUFFIX) == 0)
        return LSM_FILE_TMP;
    return LSM_FILE_OTHER;
}

static int lsm_table_newer_first(const void *x, const void *y)
{
    const lsm_listed_table *a = x, *b = y;
    if (a->hi != b->hi)
        return a->hi > b->hi ? -1 : 1;
    return a->lo < b->lo ? -1 : a->lo > b->lo; /* the wider range first */
}

static int lsm_wal_older_first(const void *x, const void *y)
{
    const lsm_listed_wal *a = x, *b = y;
    return a->start < b->start ? -1 : a->start > b->start;
}

/* F1 and F2: marks the tables another one contains, and notes an overlap
 * of two live ones.  REQUIRES: sorted newest first. */
static void lsm_listing_judge_tables(lsm_listing *l)
{
    for (size_t i = 0; i < l->ntables; i++) {
        lsm_listed_table *t = &l->tables[i];
        for (size_t j = 0; j < l->ntables && !t->obsolete; j++) {
            const lsm_listed_table *o = &l->tables[j];
            t->obsolete = j != i && o->lo <= t->lo && t->hi <= o->hi;
        }
    }
    const lsm_listed_table *newer = NULL;
    for (size_t i = 0; i < l->ntables; i++) {
        const lsm_listed_table *t = &l->tables[i];
        if (t->obsolete)
            continue;
        if (t->hi > l->max_hi)
            l->max_hi = t->hi;
        if (newer != NULL && newer->lo <= t->hi && !l->overlap) {
            l->overlap = 1;
            l->overlap_a[0] = newer->lo;
            l->overlap_a[1] = newer->hi;
            l->overlap_b[0] = t->lo;
            l->overlap_b[1] = t->hi;
        }
        newer = t;
    }
}

/* Keeps a copy of name in *v (grown by one). */
static int lsm_listing_keep(char ***v, size_t *n, const char *name)
{
    char **grown = realloc(*v, (*n + 1) * sizeof *grown);
    if (grown == NULL)
        return KV_ERR_NOMEM;
    *v = grown;
    if ((grown[*n] = strdup(name)) == NULL)
        return KV_ERR_NOMEM;
    (*n)++;
    return KV_OK;
}

int lsm_listing_read(const char *dir, lsm_listing *l)
{
    memset(l, 0, sizeof *l);
    char **names = NULL;
    size_t n = 0;
    int rc = io_list(dir, &names, &n);
    if (rc != KV_OK)
        return rc;
    l->tables = malloc((n + 1) * sizeof *l->tables);
    l->wals = malloc((n + 1) * sizeof *l->wals);
    if (l->tables == NULL || l->wals == NULL)
        rc = KV_ERR_NOMEM;
    for (size_t i = 0; rc == KV_OK && i < n; i++) {
        uint64_t a = 0, b = 0;
        switch (lsm_file_parse(names[i], &a, &b)) {
        case LSM_FILE_WAL:
            l->wals[l->nwals++] = (lsm_listed_wal){.start = a};
            break;
        case LSM_FILE_TABLE:
            l->tables[l->ntables++] = (lsm_listed_table){.lo = a, .hi = b};
            break;
        case LSM_FILE_TMP:
            rc = lsm_listing_keep(&l->tmps, &l->ntmps, names[i]);
            break;
        default:
            if (strcmp(names[i], DB_LOCK_FILE) != 0 && strcmp(names[i], DB_IDENTITY_FILE) != 0 &&
                strcmp(names[i], DB_IDENTITY_TMP) != 0)
                rc = lsm_listing_keep(&l->others, &l->nothers, names[i]);
        }
    }
    io_list_free(names, n);
    if (rc != KV_OK) {
        lsm_listing_free(l);
        return kv_error(KV_ERR_NOMEM, "%s: out of memory listing %zu files", dir, n);
    }
    qsort(l->tables, l->ntables, sizeof *l->tables, lsm_table_newer_first);
    qsort(l->wals, l->nwals, sizeof *l->wals, lsm_wal_older_first);
    lsm_listing_judge_tables(l);
    for (size_t i = 0; i + 1 < l->nwals; i++)
        l->wals[i].covered = l->wals[i + 1].start - 1 <= l->max_hi;
    return KV_OK;
}

static void lsm_names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void lsm_listing_free(lsm_listing *l)
{
    free(l->tables);
    free(l->wals);
    lsm_names_free(l->tmps, l->ntmps);
    lsm_names_free(l->others, l->nothers);
    memset(l, 0, sizeof *l);
}

int lsm_listing_owed_log(const lsm_listed_wal *wals, size_t n, uint64_t flushed, size_t *at)
{
    if (flushed == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (wals[i].start > flushed) {
            *at = i;
            return 1;
        }
    return -1;
}

int lsm_file_remove(const db_dir *dir, const char *name, uint64_t *counter)
{
    char *path = db_dir_file(dir, name);
    if (path == NULL)
        return KV_ERR_NOMEM;
    int rc = io_unlink(path);
    free(path);
    if (rc == KV_OK)
        (*counter)++;
    return rc;
}
