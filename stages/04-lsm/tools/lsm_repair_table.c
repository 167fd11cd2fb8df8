/*
 * lsm_repair_table.c: kv repair of one damaged table (lsm_repair.h), as
 * LevelDB's RepairDB does its tables (db/repair.cc, RepairTable): every
 * entry that can still be read is copied into a new table, which takes the
 * damaged one's place; the damaged file is kept in lost/.
 *
 * What a table loses is named by the entries around it: each region that
 * cannot be read lost the entries between the last key read before it and
 * the first one after it; the count is what the table said it held (its
 * footer or properties) less what was read.  An entry lost may have been
 * its key's newest version: then an older version, in an older table,
 * shows again, and a key deleted by a lost tombstone comes back.
 * repair_older counts the entries of older tables in the lost key ranges,
 * so the user knows whether that can have happened.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "escape.h"
#include "log_report.h"
#include "lsm_repair.h"

#define REPAIR_SHOW_BYTES 40

/* "key"@seq of an internal key, or `none` for NULL. */
static const char *repair_show(char *out, size_t cap, const uint8_t *k, size_t n,
                               const char *none)
{
    ikey_parsed p;
    if (k == NULL || !ikey_decode(k, k + n, &p)) {
        snprintf(out, cap, "%s", none);
        return out;
    }
    char shown[4 * REPAIR_SHOW_BYTES + 8];
    escape_bytes(shown, sizeof shown, p.user_key, p.user_len, REPAIR_SHOW_BYTES);
    snprintf(out, cap, "\"%s\"@%" PRIu64, shown, p.seq);
    return out;
}

/* A copy of the user key of internal key k (NULL for NULL). */
static int repair_user_copy(const uint8_t *k, size_t n, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (k == NULL)
        return KV_OK;
    size_t u = n - IKEY_TRAILER_SIZE;
    if ((*out = malloc(u ? u : 1)) == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_repair: out of memory");
    memcpy(*out, k, u);
    *len = u;
    return KV_OK;
}

static int repair_range_add(repair_table_result *res, const uint8_t *lo, size_t lo_len,
                            const uint8_t *hi, size_t hi_len)
{
    repair_range *grown = realloc(res->lost, (res->nlost + 1) * sizeof *grown);
    if (grown == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_repair: out of memory");
    res->lost = grown;
    repair_range *g = &res->lost[res->nlost];
    int rc = repair_user_copy(lo, lo_len, &g->lo, &g->lo_len);
    if (rc == KV_OK && (rc = repair_user_copy(hi, hi_len, &g->hi, &g->hi_len)) != KV_OK)
        free(g->lo);
    if (rc == KV_OK)
        res->nlost++;
    return rc;
}

int repair_range_of(const uint8_t *smallest, size_t slen, const uint8_t *largest, size_t llen,
                    repair_range **out, size_t *n)
{
    repair_table_result res = {0};
    int rc = repair_range_add(&res, smallest, slen, largest, llen);
    *out = res.lost;
    *n = res.nlost;
    return rc;
}

/* ---- the rewrite ---------------------------------------------------------------- */

typedef struct repair_copy {
    repair_run *r;
    const char *name;
    table_builder *b;
    repair_table_result *res;
    uint8_t *last;           /* the last key added: the new largest */
    size_t last_cap;
    int rc;                  /* the first failure of a callback */
} repair_copy;

static int repair_keep_key(uint8_t **dst, size_t *dst_len, size_t *cap, const uint8_t *k,
                           size_t n)
{
    if (cap == NULL || n > *cap) {
        uint8_t *grown = realloc(*dst, n);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "kv_repair: out of memory");
        *dst = grown;
        if (cap != NULL)
            *cap = n;
    }
    memcpy(*dst, k, n);
    *dst_len = n;
    return KV_OK;
}

static int repair_copy_entry(void *ctx, const uint8_t *ikey, size_t ikey_len,
                             const uint8_t *value, size_t value_len)
{
    repair_copy *c = ctx;
    int rc = table_builder_add(c->b, ikey, ikey_len, value, value_len);
    if (rc == KV_OK && c->res->smallest == NULL)
        rc = repair_keep_key(&c->res->smallest, &c->res->smallest_len, NULL, ikey, ikey_len);
    if (rc == KV_OK)
        rc = repair_keep_key(&c->last, &c->res->largest_len, &c->last_cap, ikey, ikey_len);
    return rc;
}

static void repair_copy_loss(void *ctx, const table_loss *l)
{
    repair_copy *c = ctx;
    char a[4 * REPAIR_SHOW_BYTES + 40], b[4 * REPAIR_SHOW_BYTES + 40];
    log_report_line(c->r->line, c->r->ctx, "%s:   offset %" PRIu64 " to %" PRIu64 " (%" PRIu64
                    " bytes): %s: lost the entries between %s and %s", c->name, l->offset,
                    l->end, l->end - l->offset, l->why,
                    repair_show(a, sizeof a, l->after, l->after_len, "the table's start"),
                    repair_show(b, sizeof b, l->before, l->before_len, "the table's end"));
    if (c->rc == KV_OK)
        c->rc = repair_range_add(c->res, l->after, l->after_len, l->before, l->before_len);
}

/* The lines after the copy: what was kept and what lost. */
static void repair_table_said(repair_run *r, const char *name, const char *seqs,
                              const table_salvage_info *info, const repair_table_result *res)
{
    char lost[200], among[120] = "";
    if (info->expected == 0) {
        snprintf(lost, sizeof lost, "how many entries were lost cannot be known (the count "
                 "the table kept cannot be read)");
        r->entries_lost_unknown = 1;
    } else if (info->expected > info->entries) {
        uint64_t n = info->expected - info->entries;
        snprintf(lost, sizeof lost, "lost %" PRIu64 " entr%s of the %" PRIu64 " it held", n,
                 n == 1 ? "y" : "ies", info->expected);
        r->entries_lost += n;
    } else {
        snprintf(lost, sizeof lost, "lost no entry (the damage was in the table's own "
                 "structure, not in its entries)");
    }
    if (seqs != NULL && (info->expected == 0 || info->expected > info->entries))
        snprintf(among, sizeof among, ", from the writes numbered %s", seqs);
    if (res->entries == 0)
        log_report_line(r->line, r->ctx, "%s: nothing in it could be read: it is dropped; %s%s",
                        name, lost, among);
    else
        log_report_line(r->line, r->ctx, "%s: repaired: kept %" PRIu64 " entr%s (%" PRIu64
                        " bytes); %s%s", name, res->entries, res->entries == 1 ? "y" : "ies",
                        res->file_bytes, lost, among);
}

int repair_table(repair_run *r, const char *name, const char *seqs, int remove_if_empty,
                 repair_table_result *out)
{
    memset(out, 0, sizeof *out);
    char tmp_name[128], kept_as[128];
    snprintf(tmp_name, sizeof tmp_name, "%s.tmp", name);
    char *path = io_join(r->dir, name), *tmp = io_join(r->dir, tmp_name);
    repair_copy c = {.r = r, .name = name, .res = out};
    int rc = path && tmp ? repair_set_aside(r, name, kept_as, sizeof kept_as) : KV_ERR_NOMEM;
    if (rc == KV_OK)
        rc = table_builder_new(r->tables, tmp, &c.b);
    table_salvage_info info = {0};
    if (rc == KV_OK) {
        log_report_line(r->line, r->ctx, "%s: damaged: rewriting it with every entry that can "
                        "be read (the damaged file is kept as %s)", name, kept_as);
        rc = table_salvage(path, repair_copy_entry, repair_copy_loss, &c, &info);
        rc = rc == KV_OK ? c.rc : rc;
    }
    out->expected = info.expected;
    out->entries = info.entries;
    if (rc == KV_OK && info.entries > 0) {
        table_meta meta;
        rc = table_builder_finish(c.b, &meta);
        c.b = NULL;
        if (rc == KV_OK && (rc = io_rename(tmp, path)) == KV_OK)
            rc = io_sync_dir(r->dir);
        out->file_bytes = meta.file_bytes;
        out->largest = c.last;
        c.last = NULL;
        r->tables_rewritten += rc == KV_OK;
    } else if (rc == KV_OK) {
        table_builder_abandon(c.b);
        c.b = NULL;
        if (remove_if_empty && (rc = io_unlink(path)) == KV_OK)
            rc = io_sync_dir(r->dir);
        r->tables_dropped += rc == KV_OK;
    }
    table_builder_abandon(c.b);
    if (rc == KV_OK)
        repair_table_said(r, name, seqs, &info, out);
    free(c.last);
    free(path);
    free(tmp);
    return rc;
}

void repair_table_result_free(repair_table_result *res)
{
    for (size_t i = 0; i < res->nlost; i++) {
        free(res->lost[i].lo);
        free(res->lost[i].hi);
    }
    free(res->lost);
    free(res->smallest);
    free(res->largest);
    memset(res, 0, sizeof *res);
}

/* ---- older versions ---------------------------------------------------------------- */

/* Entries of the table at path whose user keys fall in the ranges. */
static int repair_count_in(repair_run *r, const char *path, const repair_range *lost,
                           size_t nlost, uint64_t *count)
{
    table *t = NULL;
    iter *it = NULL;
    *count = 0;
    int rc = table_open(r->tables, path, &t);
    if (rc == KV_OK)
        rc = table_iter_new(t, &it);
    for (size_t i = 0; rc == KV_OK && i < nlost; i++) {
        const repair_range *g = &lost[i];
        if (g->lo == NULL) {
            iter_seek_first(it);
        } else {
            uint8_t *target = malloc(g->lo_len + IKEY_TRAILER_SIZE);
            if (target == NULL) {
                rc = kv_error(KV_ERR_NOMEM, "kv_repair: out of memory");
                break;
            }
            ikey_encode(target, g->lo, g->lo_len, IKEY_MAX_SEQ, IKEY_TYPE_FOR_SEEK);
            iter_seek(it, target, g->lo_len + IKEY_TRAILER_SIZE);
            free(target);
        }
        for (; iter_valid(it); iter_next(it)) {
            size_t n;
            const uint8_t *k = iter_key(it, &n);
            if (g->hi != NULL &&
                ikey_user_compare(k, n - IKEY_TRAILER_SIZE, g->hi, g->hi_len) > 0)
                break;
            (*count)++;
        }
        rc = iter_status(it);
    }
    iter_free(it);
    table_unref(t);
    return rc;
}

int repair_older(repair_run *r, const char *name, const repair_range *lost, size_t nlost,
                 char *const *older, size_t nolder, int unordered)
{
    const char *whose = unordered ? "other tables (which of them hold older writes is not "
                                    "known without a manifest)" : "older tables";
    if (nlost == 0)
        return KV_OK;
    uint64_t total = 0;
    char which[400] = "";
    size_t used = 0, unread = 0;
    for (size_t i = 0; i < nolder; i++) {
        char *path = io_join(r->dir, older[i]);
        uint64_t n = 0;
        int rc = path ? repair_count_in(r, path, lost, nlost, &n) : KV_ERR_NOMEM;
        free(path);
        if (rc == KV_ERR_CORRUPT) {
            unread++; /* a damaged older table: its own repair says what it holds */
            continue;
        }
        if (rc != KV_OK)
            return rc;
        if (n > 0 && used < sizeof which)
            used += (size_t)snprintf(which + used, sizeof which - used, "%s%s: %" PRIu64,
                                     used ? ", " : "", older[i], n);
        total += n;
    }
    if (total == 0)
        log_report_line(r->line, r->ctx, "%s:   none of the %s holds a key in the lost "
                        "ranges%s: no older version can show in place of what was lost", name,
                        whose, unread ? " (but a damaged one, not counted)" : "");
    else
        log_report_line(r->line, r->ctx, "%s:   %" PRIu64 " entr%s of %s fall in the lost key "
                        "ranges (%s%s): where one is an older version of a key whose newest "
                        "version was lost, reads now return it, and a key whose deletion was "
                        "lost shows again", name, total, total == 1 ? "y" : "ies", whose, which,
                        used >= sizeof which ? "..." : "");
    return KV_OK;
}
