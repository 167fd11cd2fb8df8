/*
 * compaction_pick.c: scores, picking a compaction's inputs, and the rules
 * a running compaction asks about (compaction_pick.h).
 */
#include "compaction_pick.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

void compaction_options_from(const kv_options *opt, compaction_options *out)
{
    out->level_ratio = opt != NULL && opt->level_ratio > 0 ? opt->level_ratio
                                                           : COMPACTION_DEFAULT_LEVEL_RATIO;
    out->l1_bytes = opt != NULL && opt->l1_bytes > 0 ? opt->l1_bytes : COMPACTION_DEFAULT_L1_BYTES;
    out->table_bytes = opt != NULL && opt->table_bytes > 0 ? opt->table_bytes
                                                           : COMPACTION_DEFAULT_TABLE_BYTES;
    out->l0_trigger = L0_COMPACTION_TRIGGER;
}

uint64_t compaction_level_target(const compaction_options *o, int level)
{
    uint64_t t = o->l1_bytes, ratio = (uint64_t)o->level_ratio;
    for (int l = 2; l <= level; l++)
        t = t > UINT64_MAX / ratio ? UINT64_MAX : t * ratio;
    return t;
}

double compaction_level_score(const version *v, const compaction_options *o, int level)
{
    if (level == 0)
        return (double)v->nfiles[0] / o->l0_trigger;
    if (level >= VERSION_LEVELS - 1)
        return 0;
    return (double)v->level_bytes[level] / (double)compaction_level_target(o, level);
}

double compaction_score(const version *v, const compaction_options *o, int *level)
{
    double best = -1;
    for (int l = 0; l < VERSION_LEVELS - 1; l++) {
        double s = compaction_level_score(v, o, l);
        if (s > best) {
            best = s;
            *level = l;
        }
    }
    return best;
}

/* ---- ranges of file lists ------------------------------------------------- */

typedef struct key_range {
    const uint8_t *lo, *hi;   /* user keys */
    size_t lo_len, hi_len;
} key_range;

static void range_add(key_range *r, const vfile_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const vfile *f = l->files[i];
        size_t sl = f->smallest_len - IKEY_TRAILER_SIZE, ll = f->largest_len - IKEY_TRAILER_SIZE;
        if (r->lo == NULL || ikey_user_compare(f->smallest, sl, r->lo, r->lo_len) < 0) {
            r->lo = f->smallest;
            r->lo_len = sl;
        }
        if (r->hi == NULL || ikey_user_compare(f->largest, ll, r->hi, r->hi_len) > 0) {
            r->hi = f->largest;
            r->hi_len = ll;
        }
    }
}

static uint64_t list_bytes(const vfile_list *l)
{
    uint64_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += l->files[i]->file_bytes;
    return n;
}

static int list_busy(const vfile_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->files[i]->being_compacted)
            return 1;
    return 0;
}

static int overlapping(const version *v, int level, const key_range *r, vfile_list *out)
{
    return version_overlapping(v, level, r->lo, r->lo_len, r->hi, r->hi_len, out);
}

void compaction_free(compaction *c)
{
    if (c == NULL)
        return;
    free(c->inputs[0].files);
    free(c->inputs[1].files);
    free(c->grandparents.files);
    free(c->last_user);
    version_unref(c->v);
    free(c);
}

/* ---- picking -------------------------------------------------------------- */

/* Rules 2-4 around c->inputs[0] (already set).  KV_OK with c filled in,
 * 1 if a file it would take is being compacted, or KV_ERR_NOMEM. */
static int setup_other_inputs(compaction *c, const compaction_options *o)
{
    const version *v = c->v;
    int level = c->level, rc;
    key_range r0 = {0}, all = {0};
    range_add(&r0, &c->inputs[0]);
    if (level == 0) {  /* rule 1 for L0: the closed set around the seed */
        vfile_list closed;
        if ((rc = overlapping(v, 0, &r0, &closed)) != KV_OK)
            return rc;
        free(c->inputs[0].files);
        c->inputs[0] = closed;
        r0 = (key_range){0};
        range_add(&r0, &c->inputs[0]);
    }
    if ((rc = overlapping(v, level + 1, &r0, &c->inputs[1])) != KV_OK)
        return rc;
    if (list_busy(&c->inputs[0]) || list_busy(&c->inputs[1]))
        return 1;
    all = r0;
    range_add(&all, &c->inputs[1]);
    if (c->inputs[1].n > 0) {  /* rule 3 */
        vfile_list more0, more1 = {0};
        if ((rc = overlapping(v, level, &all, &more0)) != KV_OK)
            return rc;
        if (more0.n > c->inputs[0].n && !list_busy(&more0) &&
            list_bytes(&more0) + list_bytes(&c->inputs[1]) <
                COMPACTION_EXPAND_LIMIT_FILES * o->table_bytes) {
            key_range r = {0};
            range_add(&r, &more0);
            if ((rc = overlapping(v, level + 1, &r, &more1)) != KV_OK) {
                free(more0.files);
                return rc;
            }
        }
        if (more1.n > 0 && more1.n == c->inputs[1].n) {
            free(c->inputs[0].files);
            free(c->inputs[1].files);
            c->inputs[0] = more0;
            c->inputs[1] = more1;
            all = (key_range){0};
            range_add(&all, &c->inputs[0]);
            range_add(&all, &c->inputs[1]);
        } else {
            free(more0.files);
            free(more1.files);
        }
    }
    if (level + 2 < VERSION_LEVELS && (rc = overlapping(v, level + 2, &all, &c->grandparents)) != KV_OK)
        return rc;
    c->max_output_bytes = o->table_bytes;
    c->max_grandparent_overlap = COMPACTION_GRANDPARENT_FILES * o->table_bytes;
    if ((c->last_user = malloc(KV_MAX_KEY)) == NULL)
        return kv_error(KV_ERR_NOMEM, "compaction: out of memory");
    return KV_OK;
}

/* A compaction of `level` with inputs[0] = in (owned from here on):
 * *out = the compaction, or NULL if one of its files is busy.  KV_OK or
 * KV_ERR_NOMEM. */
static int make_compaction(version *v, const compaction_options *o, int level, double score,
                           vfile_list in, compaction **out)
{
    *out = NULL;
    compaction *c = calloc(1, sizeof *c);
    if (c == NULL) {
        free(in.files);
        return kv_error(KV_ERR_NOMEM, "compaction: out of memory");
    }
    c->inputs[0] = in;
    c->level = level;
    c->score = score;
    c->v = v;
    version_ref(v);
    int rc = setup_other_inputs(c, o);
    if (rc == KV_OK) {
        *out = c;
        return KV_OK;
    }
    compaction_free(c);
    return rc == 1 ? KV_OK : rc;
}

static int try_seed(version *v, const compaction_options *o, int level, double score, vfile *seed,
                    compaction **out)
{
    vfile_list in = {malloc(sizeof(vfile *)), 1};
    if (in.files == NULL)
        return kv_error(KV_ERR_NOMEM, "compaction: out of memory");
    in.files[0] = seed;
    return make_compaction(v, o, level, score, in, out);
}

/* Ln's files in round-robin order after the pointer, until one can go. */
static int pick_in_level(version *v, const compaction_options *o, int level, double score,
                         const compaction_pointers *p, compaction **out)
{
    size_t n = v->nfiles[level];
    *out = NULL;
    if (n == 0)
        return KV_OK;
    if (level == 0)  /* the oldest L0 file */
        return v->files[0][n - 1]->being_compacted ? KV_OK
                                                   : try_seed(v, o, 0, score, v->files[0][n - 1], out);
    size_t start = 0;
    if (p != NULL && p->key[level] != NULL) {
        start = version_level_seek(v, level, p->key[level], p->len[level]);
        const vfile *f = start < n ? v->files[level][start] : NULL;
        if (f != NULL &&
            ikey_compare(f->largest, f->largest_len, p->key[level], p->len[level]) == 0)
            start++;
        if (start == n)
            start = 0;
    }
    for (size_t k = 0; k < n && *out == NULL; k++) {
        vfile *seed = v->files[level][(start + k) % n];
        if (seed->being_compacted)
            continue;
        int rc = try_seed(v, o, level, score, seed, out);
        if (rc != KV_OK)
            return rc;
    }
    return KV_OK;
}

int compaction_pick(version *v, const compaction_options *o, const compaction_pointers *pointers,
                    compaction **out)
{
    *out = NULL;
    double score[VERSION_LEVELS - 1];
    int order[VERSION_LEVELS - 1];
    for (int l = 0; l < VERSION_LEVELS - 1; l++) {  /* by score, highest first */
        score[l] = compaction_level_score(v, o, l);
        int i = l;
        while (i > 0 && score[order[i - 1]] < score[l]) {
            order[i] = order[i - 1];
            i--;
        }
        order[i] = l;
    }
    for (int k = 0; k < VERSION_LEVELS - 1 && score[order[k]] >= 1; k++) {
        int rc = pick_in_level(v, o, order[k], score[order[k]], pointers, out);
        if (rc != KV_OK || *out != NULL)
            return rc;
    }
    return KV_OK;
}

int compaction_pick_level(version *v, const compaction_options *o,
                          const compaction_pointers *pointers, int level, compaction **out)
{
    *out = NULL;
    if (level < 0 || level >= VERSION_LEVELS - 1)
        return kv_error(KV_ERR_INVALID, "compaction: level %d has no level below it", level);
    return pick_in_level(v, o, level, compaction_level_score(v, o, level), pointers, out);
}

int compaction_pick_range(version *v, const compaction_options *o, int level,
                          const uint8_t *begin, size_t blen, const uint8_t *end, size_t elen,
                          compaction **out)
{
    *out = NULL;
    if (level < 0 || level >= VERSION_LEVELS - 1)
        return kv_error(KV_ERR_INVALID, "compaction: level %d has no level below it", level);
    vfile_list in;
    int rc = version_overlapping(v, level, begin, blen, end, elen, &in);
    if (rc != KV_OK || in.n == 0) {
        free(in.files);
        return rc;
    }
    if ((rc = make_compaction(v, o, level, 0, in, out)) == KV_OK && *out != NULL)
        (*out)->manual = 1;
    return rc;
}

/* ---- garbage: tables full of versions no one can read ----------------------- */

/* A table with dead entries, at least 1/share of them (share 0: any). */
static int garbage_worth(const vfile *f, int share)
{
    return f->dead > 0 && (share == 0 || f->dead * (uint64_t)share >= f->entries);
}

/* The rewrite of the table with the most dead entries among those worth it
 * (garbage_worth) whose dead_from is at or below oldest; *wait_for as
 * compaction_pick_garbage says. */
static int pick_dead(version *v, const compaction_options *o, uint64_t oldest, int share,
                     compaction **out, uint64_t *wait_for)
{
    *out = NULL;
    *wait_for = 0;
    vfile *best = NULL;
    int best_level = 0;
    for (int l = 0; l < VERSION_LEVELS; l++)
        for (size_t i = 0; i < v->nfiles[l]; i++) {
            vfile *f = v->files[l][i];
            if (!garbage_worth(f, share) || f->being_compacted)
                continue;
            if (f->dead_from > oldest) {
                if (*wait_for == 0 || f->dead_from < *wait_for)
                    *wait_for = f->dead_from;
            } else if (best == NULL || f->dead > best->dead) {
                best = f;
                best_level = l;
            }
        }
    if (best == NULL)
        return KV_OK;
    if (best_level == 0) /* level 0's own compaction: its closed set, into L1 */
        return pick_in_level(v, o, 0, 0, NULL, out);
    compaction *c = calloc(1, sizeof *c);
    if (c == NULL || (c->inputs[1].files = malloc(sizeof *c->inputs[1].files)) == NULL ||
        (c->last_user = malloc(KV_MAX_KEY)) == NULL) {
        compaction_free(c); /* (NULL is a no-op; c->v is NULL until below) */
        return kv_error(KV_ERR_NOMEM, "compaction: out of memory");
    }
    c->level = best_level - 1; /* no input there: the output goes to best_level */
    c->v = v;
    version_ref(v);
    c->inputs[1].files[0] = best;
    c->inputs[1].n = 1;
    key_range r = {0};
    range_add(&r, &c->inputs[1]);
    int rc = best_level + 1 < VERSION_LEVELS ? overlapping(v, best_level + 1, &r, &c->grandparents)
                                             : KV_OK;
    if (rc != KV_OK) {
        compaction_free(c);
        return rc;
    }
    c->max_output_bytes = o->table_bytes;
    c->max_grandparent_overlap = COMPACTION_GRANDPARENT_FILES * o->table_bytes;
    *out = c;
    return KV_OK;
}

int compaction_pick_garbage(version *v, const compaction_options *o, uint64_t oldest,
                            compaction **out, uint64_t *wait_for)
{
    return pick_dead(v, o, oldest, COMPACTION_GARBAGE_SHARE, out, wait_for);
}

int compaction_pick_dead(version *v, const compaction_options *o, uint64_t oldest,
                         compaction **out)
{
    uint64_t wait_for = 0;
    return pick_dead(v, o, oldest, 0, out, &wait_for);
}

/* ---- where a flush goes --------------------------------------------------- */

int compaction_flush_level(const version *v, const compaction_options *o,
                           const uint8_t *smallest, size_t slen, const uint8_t *largest,
                           size_t llen)
{
    int level = 0;
    if (version_level_overlaps(v, 0, smallest, slen, largest, llen))
        return 0;
    while (level < COMPACTION_MAX_FLUSH_LEVEL &&
           !version_level_overlaps(v, level + 1, smallest, slen, largest, llen) &&
           (level + 2 >= VERSION_LEVELS ||
            version_overlapping_bytes(v, level + 2, smallest, slen, largest, llen) <=
                COMPACTION_GRANDPARENT_FILES * o->table_bytes))
        level++;
    return level;
}

/* ---- while it runs -------------------------------------------------------- */

void compaction_mark(compaction *c, int being_compacted)
{
    for (int w = 0; w < 2; w++)
        for (size_t i = 0; i < c->inputs[w].n; i++)
            c->inputs[w].files[i]->being_compacted = being_compacted;
}

uint64_t compaction_input_bytes(const compaction *c, int which)
{
    return list_bytes(&c->inputs[which]);
}

int compaction_is_trivial_move(const compaction *c)
{
    return !c->manual && c->inputs[0].n == 1 && c->inputs[1].n == 0 &&
           list_bytes(&c->grandparents) <= c->max_grandparent_overlap;
}

int compaction_is_base_level_for_key(const compaction *c, const uint8_t *user_key, size_t len)
{
    for (int l = c->level + 2; l < VERSION_LEVELS; l++)
        if (version_level_find(c->v, l, user_key, len) != NULL)
            return 0;
    return 1;
}

int compaction_should_stop_before(compaction *c, const uint8_t *ikey, size_t len,
                                  uint64_t output_bytes)
{
    size_t ulen = len - IKEY_TRAILER_SIZE;
    if (ulen > KV_MAX_KEY)
        ulen = KV_MAX_KEY;  /* not a key of the engine's; never split inside it */
    if (c->seen_key && ulen == c->last_user_len && memcmp(ikey, c->last_user, ulen) == 0)
        return 0;
    const vfile_list *gp = &c->grandparents;
    while (c->gp_index < gp->n) {
        const vfile *g = gp->files[c->gp_index];
        if (ikey_compare(ikey, len, g->largest, g->largest_len) <= 0)
            break;
        if (c->seen_key)
            c->gp_overlap += g->file_bytes;
        c->gp_index++;
    }
    int first = !c->seen_key;
    c->seen_key = 1;
    memcpy(c->last_user, ikey, ulen);
    c->last_user_len = ulen;
    if (!first && (c->gp_overlap > c->max_grandparent_overlap ||
                   (output_bytes > 0 && output_bytes >= c->max_output_bytes))) {
        c->gp_overlap = 0;
        return 1;
    }
    return 0;
}

const uint8_t *compaction_next_pointer(const compaction *c, size_t *len)
{
    const vfile *best = NULL;
    for (size_t i = 0; i < c->inputs[0].n; i++) {
        const vfile *f = c->inputs[0].files[i];
        if (best == NULL || ikey_compare(f->largest, f->largest_len, best->largest,
                                         best->largest_len) > 0)
            best = f;
    }
    *len = best != NULL ? best->largest_len : 0;
    return best != NULL ? best->largest : NULL;
}

int compaction_edit(const compaction *c, version_edit *e)
{
    int rc;
    for (int w = 0; w < 2; w++)
        for (size_t i = 0; i < c->inputs[w].n; i++)
            if ((rc = version_edit_remove_file(e, c->level + w, c->inputs[w].files[i]->number)) != KV_OK)
                return rc;
    if (compaction_is_trivial_move(c)) {
        const vfile *f = c->inputs[0].files[0];
        rc = version_edit_add_file(e, c->level + 1, f->number, f->file_bytes, f->entries,
                                   f->smallest, f->smallest_len, f->largest, f->largest_len);
        if (rc != KV_OK)
            return rc;
        version_edit_file_dead(e, f->dead, f->dead_from);
    }
    size_t plen;
    const uint8_t *p = compaction_next_pointer(c, &plen);
    return p != NULL ? version_edit_set_pointer(e, c->level, p, plen) : KV_OK;
}
