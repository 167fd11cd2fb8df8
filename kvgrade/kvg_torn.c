/*
 * kvg_torn.c: the torn states of the power rung (kvg_images.h): what a
 * power cut leaves when it falls while a sync's writes are reaching the
 * disk, which of them to check, and how to say one.
 *
 * The window of a sync is every byte of its file that changed since the
 * file's last completed fsync (kvgrade-fs, "torn N"): one record, or a
 * whole pipelined batch written as several records before one fsync.
 * Nothing in it was acknowledged (its fsync had not returned), so the
 * engine must open, keep every acknowledged write, and drop what of the
 * window is damaged: whole writes before the damage may stay, the one it
 * hit and every later one must go (a prefix of the writes, never a
 * write in part).  An engine that refuses damage inside the window
 * never opens again after an ordinary power cut; one that refuses only
 * damage followed by data a completed sync made durable is right.
 */
#include <stdlib.h>
#include <string.h>

#include "kvg_images.h"

static void torn_add(kvg_torn_states *l, const kvg_torn_state *st, int kind)
{
    if (l->n == l->cap) {
        l->cap = l->cap == 0 ? 256 : 2 * l->cap;
        l->s = kvg_realloc(l->s, l->cap * sizeof *l->s);
    }
    l->s[l->n] = *st;
    l->s[l->n].file = kvg_strdup(st->file);
    l->s[l->n].kind = kind;
    l->n++;
}

void kvg_torn_collect(kvg_fs *fs, const char *dir, unsigned long long i, kvg_torn_states *out)
{
    char cmd[48];
    snprintf(cmd, sizeof cmd, "torn %llu", i);
    if (kvg_fs_cmd(fs, cmd) != 0 || strncmp(fs->line, "ok none", 7) == 0)
        return;
    unsigned long long ino;
    kvg_torn_state st;
    memset(&st, 0, sizeof st);
    st.image = i;
    int at = 0;
    if (sscanf(fs->line, "ok %llu %zu %zu %zu %zu %n", &ino, &st.lo, &st.hi, &st.old_len,
               &st.writes, &at) < 5 || at == 0 || st.hi <= st.lo + 1)
        return;
    st.file = fs->line + at;
    const char *base = strrchr(dir, '/') != NULL ? strrchr(dir, '/') + 1 : dir;
    if (strncmp(st.file, base, strlen(base)) == 0 && st.file[strlen(base)] == '/')
        st.file += strlen(base) + 1; /* named in the engine's directory */
    /* Prefixes: every sector boundary inside, and three odd bytes. */
    size_t last = (st.hi - 1) / KVG_SECTOR * KVG_SECTOR; /* the last sector's start */
    size_t odd[3] = {st.lo + 1, st.lo + (st.hi - st.lo) / 2, st.hi - 1};
    size_t tail = last > st.lo ? last : odd[1];
    st.tear = 'p';
    for (size_t b = (st.lo / KVG_SECTOR + 1) * KVG_SECTOR; b < st.hi; b += KVG_SECTOR) {
        st.off = b;
        torn_add(out, &st, b == tail ? KVG_TORN_TAIL : KVG_TORN_PREFIX);
    }
    for (int j = 0; j < 3; j++) {
        int dup = odd[j] % KVG_SECTOR == 0 || (j > 0 && odd[j] == odd[j - 1]);
        if (dup || odd[j] <= st.lo || odd[j] >= st.hi)
            continue;
        st.off = odd[j];
        torn_add(out, &st, odd[j] == tail ? KVG_TORN_TAIL : KVG_TORN_PREFIX);
    }
    /* Lost sectors: each but the one holding the last byte.  The first,
     * in a window of several writes or of three sectors or more, leaves
     * damage with good bytes after it: a hole. */
    st.tear = 'z';
    size_t first = st.lo / KVG_SECTOR * KVG_SECTOR;
    int wide = st.writes >= 2 || (st.hi - st.lo) > 2 * KVG_SECTOR;
    for (size_t s = first; s < last; s += KVG_SECTOR) {
        st.off = s;
        torn_add(out, &st, s == first && wide ? KVG_TORN_HOLE : KVG_TORN_SECTOR);
    }
}

size_t kvg_torn_pick(const kvg_torn_states *l, size_t limit, char *pick)
{
    if (l->n <= limit) {
        memset(pick, 1, l->n);
        return l->n;
    }
    memset(pick, 0, l->n);
    size_t have[KVG_TORN_KINDS] = {0}, want[KVG_TORN_KINDS], seen[KVG_TORN_KINDS] = {0};
    size_t share[KVG_TORN_KINDS] = {limit / 4, limit / 2, limit / 8, limit}, left = limit, n = 0;
    for (size_t i = 0; i < l->n; i++)
        have[l->s[i].kind]++;
    for (int k = 0; k < KVG_TORN_KINDS; k++) {
        want[k] = have[k] < share[k] ? have[k] : share[k];
        want[k] = want[k] < left ? want[k] : left;
        left -= want[k];
    }
    for (int k = 0; k < KVG_TORN_KINDS && left > 0; k++) { /* what the others leave */
        size_t more = have[k] - want[k] < left ? have[k] - want[k] : left;
        want[k] += more;
        left -= more;
    }
    for (size_t i = 0; i < l->n; i++) {
        /* Evenly: the seen-th of its kind is taken when the count of takes
         * so far falls behind the share. */
        int k = l->s[i].kind;
        if ((seen[k] * want[k]) / have[k] != ((seen[k] + 1) * want[k]) / have[k]) {
            pick[i] = 1;
            n++;
        }
        seen[k]++;
    }
    return n;
}

char *kvg_torn_words(const kvg_torn_state *st)
{
    char *window = st->writes >= 2
        ? kvg_printf("%s's unsynced writes [%zu, %zu) (%zu writes since its last completed "
                     "fsync)", st->file, st->lo, st->hi, st->writes)
        : kvg_printf("%s's unsynced write [%zu, %zu)", st->file, st->lo, st->hi);
    const char *rule = "a power cut keeps part of an unsynced write (of every write since "
                       "the file's last completed fsync), its sectors in any order; damage "
                       "confined to those writes is a write never acknowledged: the engine must "
                       "open, drop the damaged writes and every later one (whole ones before "
                       "them may stay), keep every acknowledged write and serve nothing invented";
    char *s;
    if (st->tear == 'p')
        s = kvg_printf("a torn write: the power cut at image %llu kept bytes [%zu, %zu) of %s "
                       "and lost the rest (a prefix, cut %s); %s", st->image, st->lo, st->off,
                       window, st->off % KVG_SECTOR == 0 ? "at a sector boundary" : "at an odd byte",
                       rule);
    else {
        size_t zlo = st->off > st->lo ? st->off : st->lo;
        size_t zhi = st->off + KVG_SECTOR < st->hi ? st->off + KVG_SECTOR : st->hi;
        s = kvg_printf("a torn write: the power cut at image %llu kept %s but its sector [%zu, "
                       "%zu), which reads as %s (a later sector reached the disk, an earlier one "
                       "did not%s); %s", st->image, window, zlo, zhi,
                       zlo >= st->old_len   ? "zeros"
                       : zhi <= st->old_len ? "its old bytes"
                                            : "its old bytes, then zeros",
                       st->kind == KVG_TORN_HOLE ? ": damage with good bytes after it, all of "
                                                   "them in flight"
                                                 : "",
                       rule);
    }
    free(window);
    return s;
}

void kvg_torn_states_free(kvg_torn_states *l)
{
    for (size_t t = 0; t < l->n; t++)
        free(l->s[t].file);
    free(l->s);
    memset(l, 0, sizeof *l);
}
