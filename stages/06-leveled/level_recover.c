/*
 * level_recover.c: what kv_open does to find a stage-06 database.  From
 * this stage on the manifest, not the listing, says what the database is:
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
 *   6. the logs: those whose writes are all at or below the manifest's
 *      log_seq are removed unread, the rest replayed by stage 04's
 *      lsm_replay.c, skipping records at or below log_seq.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "current_file.h"
#include "error.h"
#include "level_db.h"
#include "level_files.h"
#include "lsm_replay.h"

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
static int level_recover_manifest(level_db *ldb, const lsm_listing *l, const level_listing *ll,
                                  manifest_state *st)
{
    kv_db *db = &ldb->base;
    if (ll->current)
        return manifest_recover(db->dir.path, db->opt.strict_recovery, st);
    /* A manifest without CURRENT is a new database's first one, cut short
     * by a crash before CURRENT named it: garbage.  Tables and logs are
     * only ever written after CURRENT. */
    if (ll->ntables > 0 || l->nwals > 0)
        return kv_error(KV_ERR_CORRUPT, "%s: CURRENT is missing, but the directory holds %zu "
                        "table%s and %zu log%s: without CURRENT no manifest says which of "
                        "them make up the database (a new database writes CURRENT before "
                        "any table or log)", db->dir.path, ll->ntables,
                        ll->ntables == 1 ? "" : "s", l->nwals, l->nwals == 1 ? "" : "s");
    /* A new database: an empty state; its manifest is made in step 6. */
    st->next_file = 1;
    st->number = 0;
    return KV_OK;
}

/* Step 3. */
static int level_recover_version(level_db *ldb, const level_listing *ll, manifest_state *st)
{
    kv_db *db = &ldb->base;
    for (int level = 0; level < VERSION_LEVELS; level++)
        for (size_t i = 0; i < st->nfiles[level]; i++) {
            const edit_file *f = &st->files[level][i];
            if (level_listed(ll->tables, ll->ntables, f->number))
                continue;
            char name[LEVEL_NAME_MAX];
            level_table_name(name, f->number);
            return kv_error(KV_ERR_CORRUPT, "%s: table %s, at level %d in MANIFEST-%06" PRIu64
                            ", is missing: the database lost data that was in it",
                            db->dir.path, name, level, st->number);
        }
    version *empty = NULL;
    version_edit snap;
    version_edit_init(&snap);
    int rc = version_new_empty(level_vfile_gone, ldb, &empty);
    if (rc == KV_OK && st->number != 0)
        rc = manifest_state_snapshot(st, &snap);
    if (rc == KV_OK)
        rc = version_apply(empty, &snap, level_vfile_open, ldb, &ldb->current);
    version_edit_free(&snap);
    version_unref(empty);
    if (rc != KV_OK)
        return rc;
    for (int i = 0; i < VERSION_LEVELS; i++) {
        if (st->pointer[i] == NULL)
            continue;
        ldb->pointer[i] = malloc(st->pointer_len[i]);
        if (ldb->pointer[i] == NULL)
            return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", db->dir.path);
        memcpy(ldb->pointer[i], st->pointer[i], st->pointer_len[i]);
        ldb->pointer_len[i] = st->pointer_len[i];
    }
    ldb->l0_files = (int)ldb->current->nfiles[0];
    ldb->next_file = st->next_file;
    ldb->log_seq = st->log_seq;
    ldb->manifest_number = st->number;
    return KV_OK;
}

static int level_unlink(level_db *ldb, const char *name)
{
    return lsm_recover_unlink(&ldb->base, name, &ldb->open_garbage_removed);
}

/* Step 4: what no manifest names. */
static int level_recover_garbage(level_db *ldb, const lsm_listing *l, const level_listing *ll)
{
    kv_db *db = &ldb->base;
    int rc = KV_OK;
    for (size_t i = 0; rc == KV_OK && i < l->ntmps; i++)
        rc = lsm_recover_unlink(db, l->tmps[i], &db->open_tmps_removed);
    for (size_t i = 0; rc == KV_OK && i < ll->ntmps; i++)
        rc = lsm_recover_unlink(db, ll->tmps[i], &db->open_tmps_removed);
    for (size_t i = 0; rc == KV_OK && i < ll->ntables; i++) {
        int held = 0;
        const version *v = ldb->current;
        for (int level = 0; !held && level < VERSION_LEVELS; level++)
            for (size_t j = 0; !held && j < v->nfiles[level]; j++)
                held = v->files[level][j]->number == ll->tables[i];
        if (held)
            continue;
        char name[LEVEL_NAME_MAX];
        level_table_name(name, ll->tables[i]);
        rc = lsm_recover_unlink(db, name, &db->open_tables_removed);
    }
    return rc;
}

/* Step 5: the snapshot of the version and counters, the first record of
 * a new manifest (also for a roll-over: level_bg.c). */
int level_snapshot_edit(level_db *ldb, version_edit *e)
{
    const version *v = ldb->current;
    int rc = KV_OK;
    version_edit_set_log_seq(e, ldb->log_seq);
    version_edit_set_next_file(e, ldb->next_file);
    version_edit_set_last_seq(e, ldb->log_seq);
    for (int level = 0; rc == KV_OK && level < VERSION_LEVELS; level++) {
        for (size_t j = 0; rc == KV_OK && j < v->nfiles[level]; j++) {
            const vfile *f = v->files[level][j];
            rc = version_edit_add_file(e, level, f->number, f->file_bytes, f->entries,
                                       f->smallest, f->smallest_len, f->largest,
                                       f->largest_len);
        }
        if (rc == KV_OK && ldb->pointer[level] != NULL)
            rc = version_edit_set_pointer(e, level, ldb->pointer[level], ldb->pointer_len[level]);
    }
    return rc;
}

int level_manifest_new(level_db *ldb)
{
    kv_db *db = &ldb->base;
    version_edit e;
    version_edit_init(&e);
    uint64_t number = ldb->next_file++;
    int rc = level_snapshot_edit(ldb, &e);
    manifest_writer *w = NULL;
    if (rc == KV_OK)
        rc = manifest_create(db->dir.path, number, &e, &w);
    version_edit_free(&e);
    if (rc != KV_OK)
        return rc;
    uint64_t old = ldb->manifest_number;
    manifest_writer_free(ldb->manifest);
    ldb->manifest = w;
    ldb->manifest_number = number;
    ldb->manifest_edits_at_new = __atomic_load_n(&ldb->manifest_edits, __ATOMIC_RELAXED);
    if (old != 0) {
        /* A failure leaves garbage for the next open, and is said. */
        char name[MANIFEST_NAME_MAX];
        manifest_file_name(name, old);
        char *path = db_dir_file(&db->dir, name);
        rc = path ? io_unlink(path) : KV_ERR_NOMEM;
        free(path);
    }
    return rc;
}

int level_recover(level_db *ldb)
{
    kv_db *db = &ldb->base;
    lsm_listing l;
    int rc = lsm_listing_read(db->dir.path, &l);
    if (rc != KV_OK)
        return rc;
    level_listing ll;
    manifest_state st;
    manifest_state_init(&st);
    rc = level_listing_of(&l, &ll);
    if (rc == KV_OK)
        rc = level_recover_manifest(ldb, &l, &ll, &st);
    if (rc == KV_OK)
        rc = level_recover_version(ldb, &ll, &st);
    if (rc == KV_OK && !db->opt.read_only)
        rc = level_recover_garbage(ldb, &l, &ll);
    /* Manifests other than the live one: a crash during a switch. */
    for (size_t i = 0; rc == KV_OK && !db->opt.read_only && i < ll.nmanifests; i++) {
        if (ll.manifests[i] == st.number)
            continue;
        char name[MANIFEST_NAME_MAX];
        manifest_file_name(name, ll.manifests[i]);
        rc = level_unlink(ldb, name);
    }
    /* Step 5. */
    if (rc == KV_OK && !db->opt.read_only)
        rc = level_manifest_new(ldb);
    for (size_t i = 0; i + 1 < l.nwals; i++)
        l.wals[i].covered = l.wals[i + 1].start - 1 <= ldb->log_seq;
    if (rc == KV_OK)
        rc = lsm_replay_logs(db, l.wals, l.nwals, ldb->log_seq);
    if (rc == KV_OK && st.torn)
        db->open_torn_found += st.torn_bytes;
    manifest_state_free(&st);
    level_listing_free(&ll);
    lsm_listing_free(&l);
    return rc;
}
