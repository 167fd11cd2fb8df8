/*
 * level_recover.c: what kv_open does to find a stage-06 database's tables
 * (table_set_open, which stage 04's kv_open calls before it replays the
 * logs).  From this stage on the manifest, not the listing, says what the
 * database is:
 *   1. CURRENT names the live manifest; a directory without CURRENT and
 *      without any file of the stage is a new database: it gets
 *      MANIFEST-000001 (an empty snapshot) and CURRENT (manifest.h);
 *   2. the manifest is replayed into a state (manifest_recover: a torn
 *      last edit, never acknowledged, is dropped);
 *   3. the version is built from it, every table opened; a table the
 *      manifest names that is not in the directory is KV_ERR_CORRUPT;
 *   4. garbage goes (unless read-only): temporary files, tables the version
 *      does not hold (a flush or compaction whose edit never became
 *      durable, or inputs whose deletion a crash cut short), manifests
 *      other than the live one;
 *   5. (unless read-only) a new manifest with a snapshot of the version is
 *      made live, so that no edit is ever appended after a torn tail, and
 *      the old one is deleted (for a new database: before any log exists);
 *   6. the logs whose writes are all at or below the manifest's log_seq
 *      are marked, for stage 04's lsm_replay.c to remove unread; it
 *      replays the rest, skipping records at or below log_seq.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "current_file.h"
#include "error.h"
#include "level_files.h"
#include "level_set.h"
#include "lsm_files.h"
#include "level_apply.h"

/* What the listing holds besides stage 04's logs. */
typedef struct level_listing {
    uint64_t *tables;
    size_t ntables;
    uint64_t *manifests;
    size_t nmanifests;
    int current;
    char **tmps;            /* stage-06 temporary files (names in others) */
    size_t ntmps;
} level_listing;

static int level_listing_of(const lsm_listing *l, level_listing *out)
{
    memset(out, 0, sizeof *out);
    size_t n = l->nothers + 1;
    out->tables = malloc(n * sizeof *out->tables);
    out->manifests = malloc(n * sizeof *out->manifests);
    out->tmps = malloc(n * sizeof *out->tmps);
    if (out->tables == NULL || out->manifests == NULL || out->tmps == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open: out of memory listing %zu files", n);
    for (size_t i = 0; i < l->nothers; i++) {
        uint64_t number = 0;
        switch (level_file_parse(l->others[i], &number)) {
        case LEVEL_FILE_TABLE: out->tables[out->ntables++] = number; break;
        case LEVEL_FILE_MANIFEST: out->manifests[out->nmanifests++] = number; break;
        case LEVEL_FILE_CURRENT: out->current = 1; break;
        case LEVEL_FILE_TMP: out->tmps[out->ntmps++] = l->others[i]; break;
        default: break;
        }
    }
    return KV_OK;
}

static void level_listing_free(level_listing *l)
{
    free(l->tables);
    free(l->manifests);
    free(l->tmps); /* the names are the lsm_listing's */
}

static int level_listed(const uint64_t *v, size_t n, uint64_t number)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == number)
            return 1;
    return 0;
}

/* Steps 1 and 2. */
static int level_recover_manifest(table_set *ts, const lsm_listing *l, const level_listing *ll,
                                  manifest_state *st)
{
    const char *dir = ts->env.dir->path;
    if (ll->current)
        return manifest_recover(dir, ts->env.opt->strict_recovery, st);
    /* A manifest without CURRENT is a new database's first one, cut short
     * by a crash before CURRENT named it: garbage.  Tables and logs are
     * only ever written after CURRENT. */
    if (ll->ntables > 0 || l->nwals > 0)
        return kv_error(KV_ERR_CORRUPT, "%s: CURRENT is missing, but the directory holds %zu "
                        "table%s and %zu log%s: without CURRENT no manifest says which of "
                        "them make up the database (a new database writes CURRENT before "
                        "any table or log)", dir, ll->ntables,
                        ll->ntables == 1 ? "" : "s", l->nwals, l->nwals == 1 ? "" : "s");
    /* A new database: an empty state; its manifest is made in step 6. */
    st->next_file = 1;
    st->number = 0;
    return KV_OK;
}

/* Step 3. */
static int level_recover_version(table_set *ts, const level_listing *ll, manifest_state *st)
{
    const char *dir = ts->env.dir->path;
    for (int level = 0; level < VERSION_LEVELS; level++)
        for (size_t i = 0; st->v != NULL && i < st->v->nfiles[level]; i++) {
            const vfile *f = st->v->files[level][i];
            if (level_listed(ll->tables, ll->ntables, f->number))
                continue;
            char name[LEVEL_NAME_MAX];
            level_table_name(name, f->number);
            return kv_error(KV_ERR_CORRUPT, "%s: table %s, at level %d in MANIFEST-%06" PRIu64
                            ", is missing: the database lost data that was in it",
                            dir, name, level, st->number);
        }
    version *empty = NULL;
    version_edit snap;
    version_edit_init(&snap);
    int rc = version_new_empty(level_apply_vfile_gone, ts, &empty);
    if (rc == KV_OK && st->number != 0)
        rc = manifest_state_snapshot(st, &snap);
    if (rc == KV_OK)
        rc = version_apply(empty, &snap, level_apply_vfile_open, ts, &ts->current);
    version_edit_free(&snap);
    version_unref(empty);
    if (rc != KV_OK)
        return rc;
    for (int i = 0; i < VERSION_LEVELS; i++) {
        if (st->pointer[i] == NULL)
            continue;
        ts->pointer[i] = malloc(st->pointer_len[i]);
        if (ts->pointer[i] == NULL)
            return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", dir);
        memcpy(ts->pointer[i], st->pointer[i], st->pointer_len[i]);
        ts->pointer_len[i] = st->pointer_len[i];
    }
    ts->l0_files = (int)ts->current->nfiles[0];
    ts->next_file = st->next_file;
    ts->log_seq = st->log_seq;
    ts->manifest_number = st->number;
    return KV_OK;
}

/* Step 4: what no manifest names. */
static int level_recover_garbage(table_set *ts, const lsm_listing *l, const level_listing *ll,
                                 table_set_found *found)
{
    const db_dir *dir = ts->env.dir;
    int rc = KV_OK;
    for (size_t i = 0; rc == KV_OK && i < l->ntmps; i++)
        rc = lsm_file_remove(dir, l->tmps[i], &found->tmps_removed);
    for (size_t i = 0; rc == KV_OK && i < ll->ntmps; i++)
        rc = lsm_file_remove(dir, ll->tmps[i], &found->tmps_removed);
    for (size_t i = 0; rc == KV_OK && i < ll->ntables; i++) {
        int held = 0;
        const version *v = ts->current;
        for (int level = 0; !held && level < VERSION_LEVELS; level++)
            for (size_t j = 0; !held && j < v->nfiles[level]; j++)
                held = v->files[level][j]->number == ll->tables[i];
        if (held)
            continue;
        char name[LEVEL_NAME_MAX];
        level_table_name(name, ll->tables[i]);
        rc = lsm_file_remove(dir, name, &found->tables_removed);
    }
    return rc;
}

int table_set_open(const table_set_env *env, lsm_listing *l, table_set **out,
                   table_set_found *found)
{
    table_set *ts = NULL;
    level_listing ll;
    manifest_state st;
    manifest_state_init(&st);
    memset(&ll, 0, sizeof ll);
    memset(found, 0, sizeof *found);
    int read_only = env->opt->read_only;
    int rc = level_set_new(env, &ts);
    *out = ts;
    if (rc == KV_OK)
        rc = level_listing_of(l, &ll);
    if (rc == KV_OK)
        rc = level_recover_manifest(ts, l, &ll, &st);
    if (rc == KV_OK)
        rc = level_recover_version(ts, &ll, &st);
    if (rc == KV_OK && !read_only)
        rc = level_recover_garbage(ts, l, &ll, found);
    /* Manifests other than the live one: a crash during a switch. */
    for (size_t i = 0; rc == KV_OK && !read_only && i < ll.nmanifests; i++) {
        if (ll.manifests[i] == st.number)
            continue;
        char name[MANIFEST_NAME_MAX];
        manifest_file_name(name, ll.manifests[i]);
        rc = lsm_file_remove(env->dir, name, &ts->open_garbage_removed);
    }
    /* Step 5. */
    if (rc == KV_OK && !read_only)
        rc = level_apply_manifest_new(ts, NULL);
    /* Step 6. */
    if (rc == KV_OK) {
        for (size_t i = 0; i + 1 < l->nwals; i++)
            l->wals[i].covered = l->wals[i + 1].start - 1 <= ts->log_seq;
        found->flushed = ts->log_seq;
        found->levels = VERSION_LEVELS;
        if (st.torn)
            found->torn_bytes += st.torn_bytes;
        version_ref(ts->current);
        found->current = ts->current;
    }
    manifest_state_free(&st);
    level_listing_free(&ll);
    return rc;
}
