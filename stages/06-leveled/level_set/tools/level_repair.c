/*
 * level_repair.c: kv_repair for stage 06 (include/kv.h), over a closed
 * database (it takes the lock, so an open one is KV_ERR_BUSY).
 *
 * From this stage on the manifest says which tables make up the database,
 * so a repair ends, if anything changed, with a new manifest (made live
 * by manifest_create's protocol: a crash before CURRENT names it leaves
 * the old state) holding the version repaired:
 *   1. the version: the one CURRENT names, if it replays (manifest.h); if
 *      CURRENT or that manifest is damaged or missing, the newest other
 *      manifest that replays and accounts for every table in the
 *      directory (it names it, or its next file number is above it: a
 *      compaction's input it removed); if none does, a version made from
 *      the tables alone (level_rebuild.c);
 *   2. its tables: one that is missing is taken out, and what it held is
 *      named (the manifest has its key range and entries); a damaged one is
 *      rewritten under its own number and at its own level with every entry
 *      that can be read (lsm_repair.h), or taken out if none can; for
 *      each, the entries of older tables (deeper levels, older level-0
 *      tables) in the key ranges lost are counted, since they may now show;
 *      a table whose file, salvaged or read again, holds keys outside the
 *      range its manifest entry gave it is placed by the keys it holds: the
 *      manifest's levels say which of two tables holds a key's newer
 *      versions only for the keys it gave them, so if its keys reach no
 *      other table it stays at its level, and else it and every table its
 *      keys reach, at any level (and, in turn, every table theirs reach),
 *      are merged into new tables at the last level (level_rebuild.c's
 *      merge: every version kept, so a lookup finds a key's newest by its
 *      sequence number).  Not level 0: a level-0 table is read in the order
 *      of its number, which does not say whether its writes are newer;
 *   3. the logs, as stage 04's repair does them;
 *   4. the new manifest: the repaired version, its counters, next_file
 *      above every number in use; then the files it no longer names go
 *      (old manifests, tables taken out or merged away).
 * Every file replaced or damaged is copied to lost/ first.  Afterwards
 * kv_open opens the database and kv check calls it ok.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "current_file.h"
#include "error.h"
#include "escape.h"
#include "file_bytes.h"
#include "internal_key.h"
#include "level_files.h"
#include "level_set.h"
#include "level_files.h"
#include "level_repair.h"
#include "log_report.h"
#include "manifest.h"
#include "stats_file.h"
#include "value_store_tools.h"

/* ---- the directory ------------------------------------------------------------ */

static int repair_by_number_up(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int repair_list(const char *dir, rlisting *ls)
{
    memset(ls, 0, sizeof *ls);
    int rc = lsm_listing_read(dir, &ls->l);
    size_t n = ls->l.nothers + 1;
    if (rc == KV_OK && ((ls->tables = malloc(n * sizeof *ls->tables)) == NULL ||
                        (ls->manifests = malloc(n * sizeof *ls->manifests)) == NULL))
        rc = kv_error(KV_ERR_NOMEM, "kv_repair %s: out of memory", dir);
    for (size_t i = 0; rc == KV_OK && i < ls->l.nothers; i++) {
        uint64_t number = 0;
        int kind = level_file_parse(ls->l.others[i], &number);
        if (kind == LEVEL_FILE_TABLE)
            ls->tables[ls->ntables++] = number;
        else if (kind == LEVEL_FILE_MANIFEST)
            ls->manifests[ls->nmanifests++] = number;
        else if (kind == LEVEL_FILE_CURRENT)
            ls->current = 1;
        if ((kind == LEVEL_FILE_TABLE || kind == LEVEL_FILE_MANIFEST) && number > ls->max_number)
            ls->max_number = number;
    }
    if (rc == KV_OK) {
        qsort(ls->tables, ls->ntables, sizeof *ls->tables, repair_by_number_up);
        qsort(ls->manifests, ls->nmanifests, sizeof *ls->manifests, repair_by_number_up);
        for (size_t i = 0; i < ls->nmanifests / 2; i++) { /* newest first */
            uint64_t t = ls->manifests[i];
            ls->manifests[i] = ls->manifests[ls->nmanifests - 1 - i];
            ls->manifests[ls->nmanifests - 1 - i] = t;
        }
    }
    return rc;
}

static void repair_list_free(rlisting *ls)
{
    lsm_listing_free(&ls->l);
    free(ls->tables);
    free(ls->manifests);
}

static int repair_present(const rlisting *ls, uint64_t number)
{
    for (size_t i = 0; i < ls->ntables; i++)
        if (ls->tables[i] == number)
            return 1;
    return 0;
}

/* ---- step 1: the version ---------------------------------------------------------- */

/* v from a replayed manifest. */
static int repair_version_of(const manifest_state *st, rversion *v)
{
    version_edit e;
    version_edit_init(&e);
    int rc = manifest_state_snapshot(st, &e);
    for (size_t i = 0; rc == KV_OK && i < e.nadded; i++) {
        const edit_file *f = &e.added[i];
        if (rversion_add(v, f->number, f->level, f->file_bytes, f->entries, f->smallest,
                         f->smallest_len, f->largest, f->largest_len) < 0)
            rc = kv_error(KV_ERR_NOMEM, "kv_repair: out of memory");
    }
    for (size_t i = 0; rc == KV_OK && i < e.npointers; i++) {
        const edit_pointer *p = &e.pointers[i];
        if ((v->pointer[p->level] = malloc(p->len)) == NULL) {
            rc = kv_error(KV_ERR_NOMEM, "kv_repair: out of memory");
            break;
        }
        memcpy(v->pointer[p->level], p->key, p->len);
        v->pointer_len[p->level] = p->len;
    }
    v->log_seq = st->log_seq;
    v->last_seq = st->last_seq;
    v->next_file = st->next_file;
    version_edit_free(&e);
    return rc;
}

/* Manifest `number` replayed from its bytes (CURRENT aside). */
static int repair_replay(repair_run *r, uint64_t number, manifest_state *st)
{
    char name[MANIFEST_NAME_MAX];
    manifest_file_name(name, number);
    char *path = io_join(r->dir, name);
    file_bytes fb = {0};
    int rc = path ? file_bytes_open(path, &fb) : KV_ERR_NOMEM;
    if (rc == KV_OK)
        rc = manifest_recover_mem(fb.p, (size_t)fb.n, path, 0, st);
    else
        manifest_state_init(st);
    st->number = number;
    file_bytes_close(&fb);
    free(path);
    return rc;
}

/* 1 if the replayed manifest accounts for every table in the directory:
 * it names it, or the table's number is below its next file number (a
 * table it removed).  A table above was made after it: it is stale. */
static int repair_accounts_for(const rlisting *ls, const rversion *v, uint64_t *stray)
{
    for (size_t i = 0; i < ls->ntables; i++) {
        int named = 0;
        for (size_t j = 0; j < v->n && !named; j++)
            named = v->t[j].number == ls->tables[i];
        if (!named && ls->tables[i] >= v->next_file) {
            *stray = ls->tables[i];
            return 0;
        }
    }
    for (size_t j = 0; j < v->n; j++)
        if (!repair_present(ls, v->t[j].number)) {
            *stray = v->t[j].number;
            return 0;
        }
    return 1;
}

enum { VERSION_LIVE, VERSION_FOUND, VERSION_NONE };

/* Step 1: VERSION_LIVE, VERSION_FOUND (another manifest) or VERSION_NONE
 * into *source, and v filled for the first two; *torn = 1 if the live
 * manifest ends in a torn edit (dropped, as kv_open drops it).  A damaged
 * CURRENT, and each manifest that does not replay, is set aside in lost/. */
static int repair_find_version(repair_run *r, const rlisting *ls, rversion *v, int *source,
                               int *torn)
{
    manifest_state st;
    char kept[128];
    uint64_t named = 0;
    int rc = manifest_recover(r->dir, 0, &st);
    if (rc == KV_OK) {
        *source = VERSION_LIVE;
        if ((*torn = st.torn) != 0)
            log_report_line(r->line, r->ctx, "MANIFEST-%06" PRIu64 ": a torn last edit at "
                            "offset %" PRIu64 " (a crash during an append: the edit was never "
                            "acknowledged): the new manifest leaves it out, as kv_open does",
                            st.number, st.end);
        rc = repair_version_of(&st, v);
        manifest_state_free(&st);
        return rc;
    }
    manifest_state_free(&st);
    if (rc != KV_ERR_CORRUPT)
        return rc;
    log_report_line(r->line, r->ctx, "the live manifest cannot be read: %s", kv_errmsg());
    if (ls->current && current_file_read(r->dir, &named) != KV_OK &&
        (rc = repair_set_aside(r, CURRENT_FILE_NAME, kept, sizeof kept)) != KV_OK)
        return rc;
    *source = VERSION_NONE;
    for (size_t i = 0; i < ls->nmanifests; i++) {
        char name[MANIFEST_NAME_MAX];
        manifest_file_name(name, ls->manifests[i]);
        rc = repair_replay(r, ls->manifests[i], &st);
        if (rc == KV_OK)
            rc = repair_version_of(&st, v);
        manifest_state_free(&st);
        uint64_t stray = 0;
        if (rc == KV_OK && repair_accounts_for(ls, v, &stray)) {
            log_report_line(r->line, r->ctx, "%s replays whole and accounts for every table "
                            "in the directory: the new manifest starts from its version",
                            name);
            *source = VERSION_FOUND;
            return KV_OK;
        }
        if (rc == KV_OK)
            log_report_line(r->line, r->ctx, "%s replays, but is stale: table %06" PRIu64
                            " is %s", name, stray, repair_present(ls, stray)
                            ? "newer than it" : "missing");
        else if (rc != KV_ERR_CORRUPT)
            return rc;
        else if (ls->manifests[i] != named) /* (the live one's failure is said above) */
            log_report_line(r->line, r->ctx, "%s cannot be read: %s", name, kv_errmsg());
        if (rc == KV_ERR_CORRUPT &&
            (rc = repair_set_aside(r, name, kept, sizeof kept)) != KV_OK)
            return rc;
        rversion_free(v);
    }
    log_report_line(r->line, r->ctx, "no manifest says which tables make up the database: "
                    "a new one is written from the %zu table%s in the directory", ls->ntables,
                    ls->ntables == 1 ? "" : "s");
    return KV_OK;
}

/* ---- step 2: the version's tables ---------------------------------------------------- */

/* "key"@seq .. "key"@seq of a table. */
static const char *repair_show_range(char *out, size_t cap, const rtable *t)
{
    char a[100], b[100];
    escape_bytes(a, sizeof a, t->smallest, t->smallest_len - IKEY_TRAILER_SIZE, 20);
    escape_bytes(b, sizeof b, t->largest, t->largest_len - IKEY_TRAILER_SIZE, 20);
    snprintf(out, cap, "\"%s\"@%" PRIu64 " .. \"%s\"@%" PRIu64, a,
             ikey_seq(t->smallest, t->smallest_len), b, ikey_seq(t->largest, t->largest_len));
    return out;
}

/* Table i lost `lost`: what older versions may show (the tables at deeper
 * levels, and the older ones of level 0). */
static int repair_version_older(repair_run *r, const rversion *v, size_t i,
                                const repair_range *lost, size_t nlost)
{
    char **older = calloc(v->n + 1, sizeof *older);
    size_t n = 0;
    int rc = older ? KV_OK : kv_error(KV_ERR_NOMEM, "kv_repair: out of memory");
    const rtable *t = &v->t[i];
    for (size_t j = 0; rc == KV_OK && j < v->n; j++) {
        const rtable *o = &v->t[j];
        if (j == i || o->drop || !(o->level > t->level ||
                                   (o->level == 0 && t->level == 0 && o->number < t->number)))
            continue;
        if ((older[n] = malloc(LEVEL_NAME_MAX)) == NULL)
            rc = kv_error(KV_ERR_NOMEM, "kv_repair: out of memory");
        else
            level_table_name(older[n++], o->number);
    }
    char name[LEVEL_NAME_MAX];
    level_table_name(name, t->number);
    if (rc == KV_OK)
        rc = repair_older(r, name, lost, nlost, older, n, 0);
    for (size_t j = 0; j < n; j++)
        free(older[j]);
    free(older);
    return rc;
}

/* A table the manifest names that is not there. */
static int repair_missing(repair_run *r, rversion *v, size_t i)
{
    rtable *t = &v->t[i];
    char name[LEVEL_NAME_MAX], range[260];
    level_table_name(name, t->number);
    log_report_line(r->line, r->ctx, "%s: missing: the manifest held it at level %d, with %"
                    PRIu64 " entries, keys %s: they are lost, and the manifest no longer names "
                    "it", name, t->level, t->entries, repair_show_range(range, sizeof range, t));
    t->drop = 1;
    r->tables_dropped++;
    r->entries_lost += t->entries;
    repair_range *lost = NULL;
    size_t nlost = 0;
    int rc = repair_range_of(t->smallest, t->smallest_len, t->largest, t->largest_len, &lost,
                             &nlost);
    if (rc == KV_OK)
        rc = repair_version_older(r, v, i, lost, nlost);
    repair_table_result res = {.lost = lost, .nlost = nlost};
    repair_table_result_free(&res);
    return rc;
}

/* The user key of an internal key, compared: <0, 0, >0. */
static int repair_user_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return ikey_user_compare(a, alen - IKEY_TRAILER_SIZE, b, blen - IKEY_TRAILER_SIZE);
}

/* t's keys are now smallest .. largest (owned from here), read from its
 * file; t->outside = 1 if they reach past the user keys its manifest entry
 * gave it. */
static void repair_set_range(rtable *t, uint8_t *smallest, size_t slen, uint8_t *largest,
                             size_t llen)
{
    if (repair_user_compare(smallest, slen, t->smallest, t->smallest_len) < 0 ||
        repair_user_compare(largest, llen, t->largest, t->largest_len) > 0)
        t->outside = 1;
    free(t->smallest);
    free(t->largest);
    t->smallest = smallest;
    t->largest = largest;
    t->smallest_len = slen;
    t->largest_len = llen;
}

/* The keys, entries and size of table i's file, read again (a repair cut
 * short after the file was rewritten, before the manifest was). */
static int repair_refresh(repair_run *r, rtable *t, const char *path)
{
    table *tb = NULL;
    int rc = table_open(r->tables, path, &tb);
    size_t slen, llen;
    if (rc == KV_OK) {
        const uint8_t *s = table_smallest(tb, &slen), *l = table_largest(tb, &llen);
        uint8_t *ns = malloc(slen), *nl = malloc(llen);
        if (ns == NULL || nl == NULL) {
            free(ns);
            free(nl);
            rc = kv_error(KV_ERR_NOMEM, "kv_repair: out of memory");
        } else {
            repair_set_range(t, memcpy(ns, s, slen), slen, memcpy(nl, l, llen), llen);
            t->entries = table_entries(tb);
            t->file_bytes = table_file_bytes(tb);
        }
    }
    table_unref(tb);
    return rc;
}

/* Step 2 for table i; *changed = 1 if the version changed. */
static int repair_version_table(repair_run *r, rversion *v, size_t i, const rlisting *ls,
                                int *changed)
{
    rtable *t = &v->t[i];
    if (!repair_present(ls, t->number)) {
        *changed = 1;
        return repair_missing(r, v, i);
    }
    char name[LEVEL_NAME_MAX];
    level_table_name(name, t->number);
    char *path = io_join(r->dir, name);
    int rc = path ? table_check(path, name, NULL, NULL) : KV_ERR_NOMEM;
    uint64_t size = 0;
    if (rc == KV_OK) {
        io_file *f = NULL;
        if ((rc = io_open(path, IO_READ, &f)) == KV_OK)
            rc = io_size(f, &size);
        io_close(f);
        if (rc == KV_OK && size != t->file_bytes) {
            *changed = 1;
            log_report_line(r->line, r->ctx, "%s: whole, but not the %" PRIu64 " bytes the "
                            "manifest says (a repair cut short?): the new manifest describes "
                            "it as it is", name, t->file_bytes);
            rc = repair_refresh(r, t, path);
        }
    } else if (rc == KV_ERR_CORRUPT) {
        *changed = 1;
        repair_table_result res;
        rc = repair_table(r, name, NULL, 0, &res);
        if (rc == KV_OK && res.entries == 0) {
            t->drop = 1;
        } else if (rc == KV_OK) {
            repair_set_range(t, res.smallest, res.smallest_len, res.largest, res.largest_len);
            res.smallest = res.largest = NULL;
            t->entries = res.entries;
            t->file_bytes = res.file_bytes;
        }
        if (rc == KV_OK)
            rc = repair_version_older(r, v, i, res.lost, res.nlost);
        repair_table_result_free(&res);
    }
    free(path);
    return rc;
}

/* Numbers are taken one at a time from 1, so a next file number with no
 * room after it (a damaged manifest's: the new manifest's number and the
 * next would wrap to 0) goes on from the numbers in use, as a number at or
 * below them does: new tables and the new manifest take no number in use. */
static void repair_numbers_from(rversion *v, const rlisting *ls)
{
    if (v->next_file >= UINT64_MAX - 1 || v->next_file <= ls->max_number)
        v->next_file = ls->max_number + 1;
}

/* ---- step 2's end: tables placed by the keys they hold ------------------------------------- */

/* 1 if t's user keys and lo .. hi share one. */
static int repair_overlaps(const rtable *t, const uint8_t *lo, size_t lo_len, const uint8_t *hi,
                           size_t hi_len)
{
    return repair_user_compare(t->smallest, t->smallest_len, hi, hi_len) <= 0 &&
           repair_user_compare(t->largest, t->largest_len, lo, lo_len) >= 0;
}

/* The tables of v, at any level, that share a user key with table i or,
 * in turn, with one of those (their ranges make one run of keys), moved
 * to the end of v->t in their order: their count.  in: v->n ints. */
static size_t repair_gather(rversion *v, size_t i, int *in)
{
    memset(in, 0, v->n * sizeof *in);
    in[i] = 1;
    size_t lo = i, hi = i, n = 1;
    for (int grew = 1; grew;) {
        grew = 0;
        for (size_t j = 0; j < v->n; j++) {
            const rtable *t = &v->t[j];
            if (in[j] || t->drop ||
                !repair_overlaps(t, v->t[lo].smallest, v->t[lo].smallest_len,
                                 v->t[hi].largest, v->t[hi].largest_len))
                continue;
            in[j] = 1;
            n++;
            grew = 1;
            if (repair_user_compare(t->smallest, t->smallest_len, v->t[lo].smallest,
                                    v->t[lo].smallest_len) < 0)
                lo = j;
            if (repair_user_compare(t->largest, t->largest_len, v->t[hi].largest,
                                    v->t[hi].largest_len) > 0)
                hi = j;
        }
    }
    /* A stable partition: the others, then the group. */
    size_t out = 0;
    for (size_t j = 0; j < v->n; j++)
        if (!in[j]) {
            rtable keep = v->t[j];
            memmove(&v->t[out + 1], &v->t[out], (j - out) * sizeof *v->t);
            v->t[out++] = keep;
        }
    return n;
}

/* A table whose file holds keys outside the range its manifest entry gave
 * it (salvaged, or read again) is placed by the keys it holds: if they
 * share none with another table it stays at its level; else the manifest
 * no longer says which of their versions is newest, so it and every table
 * its keys reach, at any level, are merged into new tables at the last
 * level, as level_rebuild merges tables whose ranges overlap. */
static int repair_place_outside(repair_run *r, rversion *v, const rlisting *ls)
{
    int *in = NULL;
    int rc = KV_OK;
    for (size_t i = 0; rc == KV_OK && i < v->n; i++) {
        rtable *t = &v->t[i];
        if (!t->outside || t->drop)
            continue;
        t->outside = 0;
        char name[LEVEL_NAME_MAX], range[260];
        level_table_name(name, t->number);
        repair_show_range(range, sizeof range, t);
        int level = t->level;
        int *grown = realloc(in, v->n * sizeof *in);
        if (grown == NULL) {
            rc = kv_error(KV_ERR_NOMEM, "kv_repair: out of memory");
            break;
        }
        in = grown;
        size_t n = repair_gather(v, i, in);
        if (n == 1) {
            log_report_line(r->line, r->ctx, "%s: its keys, %s, reach outside the range its "
                            "manifest entry gave it, but no other table holds any of them: "
                            "it stays at level %d", name, range, level);
            continue;
        }
        log_report_line(r->line, r->ctx, "%s: its keys, %s, reach outside the range its "
                        "manifest entry gave it, into %zu other table%s: which of their "
                        "versions is newest only their sequence numbers say, so they are "
                        "merged into new tables at level %d", name, range, n - 1,
                        n == 2 ? "" : "s", VERSION_LEVELS - 1);
        repair_numbers_from(v, ls);
        rc = level_rebuild_merge(r, v, v->n - n, v->n);
        i = (size_t)-1; /* v->t was reordered: from the start again */
    }
    free(in);
    return rc;
}

/* ---- step 4: the new manifest ------------------------------------------------------------ */

static int repair_unlink(repair_run *r, const char *name)
{
    char *path = io_join(r->dir, name);
    int exists = 0;
    int rc = path ? io_exists(path, &exists) : KV_ERR_NOMEM;
    if (rc == KV_OK && exists)
        rc = io_unlink(path);
    free(path);
    return rc;
}

static int repair_write_manifest(repair_run *r, rversion *v, const rlisting *ls, char *said,
                                 size_t cap)
{
    repair_numbers_from(v, ls);
    uint64_t number = v->next_file++;
    version_edit e;
    version_edit_init(&e);
    version_edit_set_log_seq(&e, v->log_seq);
    version_edit_set_next_file(&e, v->next_file);
    version_edit_set_last_seq(&e, v->last_seq > v->log_seq ? v->last_seq : v->log_seq);
    int rc = KV_OK;
    size_t tables = 0;
    for (size_t i = 0; rc == KV_OK && i < v->n; i++) {
        const rtable *t = &v->t[i];
        if (t->drop)
            continue;
        tables++;
        rc = version_edit_add_file(&e, t->level, t->number, t->file_bytes, t->entries,
                                   t->smallest, t->smallest_len, t->largest, t->largest_len);
    }
    for (int level = 0; rc == KV_OK && level < VERSION_LEVELS; level++)
        if (v->pointer[level] != NULL)
            rc = version_edit_set_pointer(&e, level, v->pointer[level], v->pointer_len[level]);
    manifest_writer *w = NULL;
    if (rc == KV_OK)
        rc = manifest_create(r->dir, number, &e, &w, NULL);
    manifest_writer_free(w);
    version_edit_free(&e);
    /* The new manifest is live: what it does not name goes. */
    for (size_t i = 0; rc == KV_OK && i < ls->nmanifests; i++) {
        char name[MANIFEST_NAME_MAX];
        rc = repair_unlink(r, manifest_file_name(name, ls->manifests[i]));
    }
    for (size_t i = 0; rc == KV_OK && i < v->n; i++) {
        char name[LEVEL_NAME_MAX];
        level_table_name(name, v->t[i].number);
        if (v->t[i].drop)
            rc = repair_unlink(r, name);
    }
    if (rc == KV_OK)
        rc = io_sync_dir(r->dir);
    if (rc == KV_OK)
        snprintf(said, cap, "a new manifest, MANIFEST-%06" PRIu64 ", names %zu table%s "
                 "(log_seq %" PRIu64 ")%s%s", number, tables, tables == 1 ? "" : "s",
                 v->log_seq, v->merged ? "; " : "", v->merged ? v->merged : "");
    return rc;
}

/* ---- kv_repair ---------------------------------------------------------------------------- */

/* Step 3: the logs kv_open reads. */
static int repair_logs(repair_run *r, const rlisting *ls, uint64_t log_seq)
{
    const lsm_listing *l = &ls->l;
    int rc = KV_OK;
    for (size_t i = 0; rc == KV_OK && i < l->nwals; i++) {
        int rewritten = 0;
        if (i + 1 < l->nwals && l->wals[i + 1].start - 1 <= log_seq)
            continue; /* every write in it is in tables: kv_open removes it */
        rc = repair_log(r, l->wals[i].start, i + 1 < l->nwals ? l->wals[i + 1].start : 0,
                        &rewritten);
    }
    return rc;
}

int kv_repair(const char *dir, kv_line_fn line, void *ctx)
{
    repair_run r;
    int rc = repair_start(&r, dir, LEVEL_DB_FORMAT, line, ctx);
    if (rc != KV_OK)
        return rc;
    rlisting ls;
    rversion v = {0};
    int source = VERSION_LIVE, changed = 0, torn = 0;
    rc = repair_list(dir, &ls);
    /* A file numbered so high that no number is left after it for a new
     * manifest (repair_write_manifest) has a damaged name: refused before
     * anything changes. */
    if (rc == KV_OK && ls.max_number >= UINT64_MAX - 1)
        rc = kv_error(KV_ERR_CORRUPT, "kv_repair %s: a file is numbered %" PRIu64 ", which "
                      "leaves no number for a new manifest after it: its name is damaged, "
                      "and nothing was changed", dir, ls.max_number);
    /* No CURRENT, no table, no log: a new database (kv_open makes the rest). */
    int empty = rc == KV_OK && ls.ntables == 0 && ls.l.nwals == 0 && !ls.current;
    if (rc == KV_OK && !empty)
        rc = repair_find_version(&r, &ls, &v, &source, &torn);
    if (rc == KV_OK && !empty && source == VERSION_NONE) {
        changed = 1;
        rc = level_rebuild(&r, &ls, &v);
    } else if (rc == KV_OK && !empty) {
        changed = source != VERSION_LIVE || torn;
        for (size_t i = 0; rc == KV_OK && i < v.n; i++)
            rc = repair_version_table(&r, &v, i, &ls, &changed);
        if (rc == KV_OK)
            rc = repair_place_outside(&r, &v, &ls);
    }
    /* Writes stop at IKEY_MAX_SEQ - 1, so that a log can be named after
     * the last of them (lsm_write.c): a version counting past that (a
     * damaged manifest's counter, or a damaged table's entry) is lowered
     * to it in the new manifest, or no log could be owed above it (F4)
     * and kv_open would refuse the database. */
    if (rc == KV_OK && !empty && (v.log_seq >= IKEY_MAX_SEQ || v.last_seq >= IKEY_MAX_SEQ)) {
        log_report_line(line, ctx, "the version counts writes up to %" PRIu64 ", past the last "
                        "one a write may take (%" PRIu64 "): lowered to it",
                        v.log_seq > v.last_seq ? v.log_seq : v.last_seq, IKEY_MAX_SEQ - 1);
        if (v.log_seq >= IKEY_MAX_SEQ)
            v.log_seq = IKEY_MAX_SEQ - 1;
        if (v.last_seq >= IKEY_MAX_SEQ)
            v.last_seq = IKEY_MAX_SEQ - 1;
        changed = 1;
    }
    if (rc == KV_OK)
        rc = repair_logs(&r, &ls, v.log_seq);
    if (rc == KV_OK)
        rc = repair_owed_log(&r, ls.l.wals, ls.l.nwals, v.log_seq);
    int stats_changed = 0;
    if (rc == KV_OK)
        rc = stats_file_repair(dir, line, ctx, &stats_changed);
    char said[1000];
    if (rc == KV_OK && changed)
        rc = repair_write_manifest(&r, &v, &ls, said, sizeof said);
    if (rc == KV_OK)
        repair_say_done(&r, changed ? said
                            : stats_changed ? "STATS set aside (the totals count again "
                                              "from the next open)" : NULL);
    rversion_free(&v);
    repair_list_free(&ls);
    repair_end(&r);
    if (rc == KV_OK) /* the values the tables point at (value_store.h) */
        rc = value_store_repair(dir, line, ctx);
    return rc;
}
