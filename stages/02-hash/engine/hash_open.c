/*
 * hash_open.c: stage 02's kv_open and kv_close: the directory, the index
 * rebuilt from the segments (hash_recover.c), the write path (hash_write.h);
 * and at close, the same undone.  hash_db.h has the design.
 */
#include <stdlib.h>

#include "args.h"
#include "error.h"
#include "hash_db.h"
#include "hash_write.h"
#include "snapshot_iter.h"

const char *kv_stage(void) { return KV_STAGE_NAME; }

int kv_open(const char *dir, const kv_options *opt_in, kv_db **out)
{
    kv_options opt;
    int rc = args_open_options(out, opt_in, &opt);
    if (rc != KV_OK)
        return rc;

    kv_db *db = calloc(1, sizeof *db);
    if (db == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", dir ? dir : "(null)");
    db->opt = opt;
    db->segment_limit = opt.segment_bytes ? opt.segment_bytes : HASH_DB_DEFAULT_SEGMENT_BYTES;
    db->next_id = 1;
    hash_index_init(&db->index);
    pthread_mutex_init(&db->merge_lock, NULL);
    pthread_mutex_init(&db->write_lock, NULL);
    /* Writers first: glibc's default lets a stream of readers starve a
     * writer waiting to update the index.  (A glibc extension: other C
     * libraries, emscripten's for the WebAssembly build, keep their own
     * default.) */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
#ifdef __GLIBC__
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    pthread_rwlock_init(&db->index_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    rc = db_dir_open(dir, &opt, KV_STAGE_NAME, HASH_DB_FORMAT, &db->dir);
    if (rc == KV_OK)
        rc = hash_recover(db);
    if (rc == KV_OK)
        rc = hash_write_open(db);
    if (rc != KV_OK) {
        kv_close(db);
        return rc;
    }
    *out = db;
    return KV_OK;
}

int kv_close(kv_db *db)
{
    if (db == NULL)
        return KV_OK;
    int rc = snapshot_check_close(&db->snapshots_live, db->dir.path);
    if (rc != KV_OK)
        return rc;
    /* Doomed files stay on disk: replaying them is harmless (invariant 5),
     * and the next merge after a reopen includes them. */
    rc = hash_write_close(db);
    free(db->doomed);
    segment_table_clear(&db->segs);
    hash_index_free(&db->index);
    db_dir_close(&db->dir);
    pthread_rwlock_destroy(&db->index_lock);
    pthread_mutex_destroy(&db->write_lock);
    pthread_mutex_destroy(&db->merge_lock);
    latency_set_free(&db->lat);
    free(db);
    return rc;
}
