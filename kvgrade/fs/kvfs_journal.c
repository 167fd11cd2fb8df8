/*
 * kvfs_journal.c: the journal of kvgrade-fs (kvfs.h, kvfs_op): while a
 * recording is on, every write, truncation, name made, moved or removed,
 * and every fsync of a file or a directory, in the order they came, with
 * the bytes of each write.  The images (kvfs_record.c) say what a power
 * cut leaves; the journal says why: when an acknowledged write is missing
 * from an image, kvgrade hands kvfs_journal_why a few bytes of it (its
 * value) and the place of its acknowledgement, and the journal finds the
 * write that carried them and the sync that was missing between that
 * write and the acknowledgement:
 *
 *   1. the write: the last one before the acknowledgement whose bytes
 *      hold the needle (none: the engine answered before writing it, or
 *      wrote it in another form);
 *   2. its file's bytes: an fsync of that file after the write and
 *      before the acknowledgement (none at all, or only before the write);
 *   3. its name: the entry naming the file then (made by a create, a
 *      rename or a link), and an fsync of that entry's directory after the
 *      entry was made; then the same for that directory's own name, up to
 *      a directory made before the recording;
 *   4. durable at the acknowledgement, lost before the cut: a rename over
 *      the file's name made durable before the renamed file's bytes.
 *
 * The tree (kvfs_tree.c) reports each operation as it happens; nothing
 * is journaled unless a recording is on.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvfs.h"

static kvfs_journal *journal_on(kvfs *fs)
{
    return fs->rec != NULL && fs->rec->on ? &fs->rec->journal : NULL;
}

static kvfs_op *journal_push(kvfs_journal *j)
{
    if (j->n == j->cap) {
        size_t cap = j->cap == 0 ? 256 : 2 * j->cap;
        kvfs_op *grown = realloc(j->ops, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        j->ops = grown;
        j->cap = cap;
    }
    kvfs_op *op = &j->ops[j->n++];
    memset(op, 0, sizeof *op);
    op->data = SIZE_MAX;
    return op;
}

void kvfs_journal_op(kvfs *fs, char kind, uint64_t ino, uint64_t dir, const char *name,
                     uint64_t newdir, const char *newname)
{
    kvfs_journal *j = journal_on(fs);
    kvfs_op *op = j != NULL ? journal_push(j) : NULL;
    if (op == NULL)
        return;
    op->kind = kind;
    op->ino = ino;
    op->dir = dir;
    op->newdir = newdir;
    op->name = name != NULL ? strdup(name) : NULL;
    op->newname = newname != NULL ? strdup(newname) : NULL;
}

void kvfs_journal_write(kvfs *fs, uint64_t ino, const void *buf, size_t len, size_t off)
{
    kvfs_journal *j = journal_on(fs);
    kvfs_op *op = j != NULL ? journal_push(j) : NULL;
    if (op == NULL)
        return;
    op->kind = 'w';
    op->ino = ino;
    op->off = off;
    op->len = len;
    if (j->ndata + len > KVFS_JOURNAL_DATA)
        return; /* kept without its bytes */
    if (j->ndata + len > j->data_cap) {
        size_t cap = j->data_cap == 0 ? 1u << 16 : j->data_cap;
        while (cap < j->ndata + len)
            cap *= 2;
        unsigned char *grown = realloc(j->data, cap);
        if (grown == NULL)
            return;
        j->data = grown;
        j->data_cap = cap;
    }
    memcpy(j->data + j->ndata, buf, len);
    op->data = j->ndata;
    j->ndata += len;
}

void kvfs_journal_truncate(kvfs *fs, uint64_t ino, size_t len)
{
    kvfs_journal *j = journal_on(fs);
    kvfs_op *op = j != NULL ? journal_push(j) : NULL;
    if (op == NULL)
        return;
    op->kind = 't';
    op->ino = ino;
    op->len = len;
}

size_t kvfs_journal_ops(const kvfs *fs)
{
    return fs->rec != NULL ? fs->rec->journal.n : 0;
}

void kvfs_journal_free(kvfs_journal *j)
{
    for (size_t i = 0; i < j->n; i++) {
        free(j->ops[i].name);
        free(j->ops[i].newname);
    }
    free(j->ops);
    free(j->data);
    memset(j, 0, sizeof *j);
}

/* The index of the first op of `kind` on ino in [from, to), or SIZE_MAX. */
static size_t journal_find(const kvfs_journal *j, char kind, uint64_t ino, size_t from, size_t to)
{
    for (size_t i = from; i < to && i < j->n; i++)
        if (j->ops[i].kind == kind && j->ops[i].ino == ino)
            return i;
    return SIZE_MAX;
}

size_t kvfs_journal_writes_in_window(const kvfs *fs, uint64_t ino, size_t at)
{
    if (fs->rec == NULL)
        return 0;
    const kvfs_journal *j = &fs->rec->journal;
    size_t writes = 0;
    for (size_t i = at < j->n ? at : j->n; i-- > 0;) {
        if (j->ops[i].ino != ino)
            continue;
        if (j->ops[i].kind == 'f')
            break;
        writes += j->ops[i].kind == 'w';
    }
    return writes;
}

/* A name of an inode, as the journal made it: (dir, name), the op that
 * made it (SIZE_MAX: made before the recording) and how. */
typedef struct journal_entry {
    uint64_t dir;
    const char *name;
    size_t op;
    char how;
    const kvfs_op *from;         /* 'r': the rename (its old name) */
    int found;
} journal_entry;

/* The entry naming ino just before op `at`, from the journal. */
static journal_entry journal_entry_of(const kvfs_journal *j, uint64_t ino, size_t at)
{
    journal_entry e = {0, NULL, SIZE_MAX, 0, NULL, 0};
    int gone = 0;
    for (size_t i = 0; i < at && i < j->n; i++) {
        const kvfs_op *op = &j->ops[i];
        if (strchr("cmlr", op->kind) == NULL && op->kind != 'u')
            continue;
        if (op->ino == ino && op->kind != 'u') {
            int renamed = op->kind == 'r';
            e = (journal_entry){renamed ? op->newdir : op->dir, renamed ? op->newname : op->name,
                                i, op->kind, renamed ? op : NULL, 1};
            gone = 0;
        } else if (e.found && !gone) {
            /* Removed, or renamed over (another inode holds the name). */
            gone = op->kind == 'r' ? op->newdir == e.dir && strcmp(op->newname, e.name) == 0
                                   : op->kind == 'u' && op->dir == e.dir &&
                                         strcmp(op->name, e.name) == 0;
        }
    }
    if (gone)
        e.found = 0;
    return e;
}

/* parent/name into out[0..cap), cut short if it does not fit. */
static void journal_join(char *out, size_t cap, const char *parent, const char *name)
{
    if (snprintf(out, cap, "%s%s%s", parent, parent[0] ? "/" : "", name) >= (int)cap)
        out[cap - 1] = '\0';
}

/* The path of directory ino (below the root) just before op `at`:
 * from the journal's mkdirs and renames, else from the tree's durable
 * names (a directory made before the recording). */
static void journal_dir_path(const kvfs *fs, uint64_t ino, size_t at, char *out, size_t cap,
                             int depth)
{
    out[0] = '\0';
    if (ino == 1 || depth > 16)
        return;
    const kvfs_journal *j = &fs->rec->journal;
    journal_entry e = journal_entry_of(j, ino, at);
    if (e.found) {
        char parent[1024];
        journal_dir_path(fs, e.dir, at, parent, sizeof parent, depth + 1);
        journal_join(out, cap, parent, e.name);
        return;
    }
    /* Made before the recording: its name now, durable or current. */
    for (uint64_t d = 1; d < fs->nnodes; d++) {
        const kvfs_node *n = fs->nodes[d];
        if (n == NULL || !S_ISDIR(n->mode))
            continue;
        const kvfs_entries *lists[2] = {&n->dur_ents, &n->cur_ents};
        for (int l = 0; l < 2; l++)
            for (size_t i = 0; i < lists[l]->n; i++)
                if (lists[l]->e[i].ino == ino) {
                    char parent[1024];
                    journal_dir_path(fs, d, at, parent, sizeof parent, depth + 1);
                    journal_join(out, cap, parent, lists[l]->e[i].name);
                    return;
                }
    }
    snprintf(out, cap, "(directory inode %llu)", (unsigned long long)ino);
}

static void journal_name_path(const kvfs *fs, uint64_t dir, const char *name, size_t at,
                              char *out, size_t cap)
{
    char parent[1024];
    journal_dir_path(fs, dir, at, parent, sizeof parent, 0);
    journal_join(out, cap, parent, name);
}

/* The first name on the way from ino up to a directory made before the
 * recording that was not durable at op `at` (its directory not fsynced
 * after the name was made): 1 and *e, or 0 if every one was. */
static int journal_unsynced_name(const kvfs_journal *j, uint64_t ino, size_t at,
                                 journal_entry *out)
{
    for (int depth = 0; depth < 32; depth++) {
        journal_entry e = journal_entry_of(j, ino, at);
        if (!e.found)
            return 0; /* named before the recording (kvgrade made it durable) */
        if (journal_find(j, 'd', e.dir, e.op + 1, at) == SIZE_MAX) {
            *out = e;
            return 1;
        }
        ino = e.dir;
    }
    return 0;
}

/* 1 if the needle spans the end of write a and the start of write b,
 * the same file's bytes one after the other (the kernel hands a write(2)
 * to a FUSE file system in pieces that end at page boundaries). */
static int journal_spans(const kvfs_journal *j, const kvfs_op *a, const kvfs_op *b,
                         const unsigned char *needle, size_t nlen)
{
    if (a->kind != 'w' || a->data == SIZE_MAX || a->ino != b->ino || a->off + a->len != b->off ||
        nlen < 2 || nlen > 256)
        return 0;
    unsigned char seam[512];
    size_t ta = a->len < nlen - 1 ? a->len : nlen - 1, hb = b->len < nlen - 1 ? b->len : nlen - 1;
    memcpy(seam, j->data + a->data + a->len - ta, ta);
    memcpy(seam + ta, j->data + b->data, hb);
    return memmem(seam, ta + hb, needle, nlen) != NULL;
}

/* The last write before op `before` whose bytes hold the needle (of
 * inode ino, or any if ino is 0), or SIZE_MAX. */
static size_t journal_needle(const kvfs_journal *j, const unsigned char *needle, size_t nlen,
                             size_t before, uint64_t ino)
{
    for (size_t i = before < j->n ? before : j->n; i-- > 0;) {
        const kvfs_op *op = &j->ops[i];
        if (op->kind != 'w' || op->data == SIZE_MAX || (ino != 0 && op->ino != ino))
            continue;
        if (memmem(j->data + op->data, op->len, needle, nlen) != NULL ||
            (i > 0 && journal_spans(j, &j->ops[i - 1], op, needle, nlen)))
            return i;
    }
    return SIZE_MAX;
}

int kvfs_journal_why(const kvfs *fs, size_t ack, size_t cut, const unsigned char *needle,
                     size_t nlen, kvfs_why *out)
{
    memset(out, 0, sizeof *out);
    if (fs->rec == NULL || nlen == 0)
        return -1;
    const kvfs_journal *j = &fs->rec->journal;
    if (ack > j->n)
        ack = j->n;
    if (cut > j->n || cut < ack)
        cut = j->n;
    size_t w = journal_needle(j, needle, nlen, ack, 0);
    if (w == SIZE_MAX) {
        out->code = KVFS_WHY_UNWRITTEN;
        return 0;
    }
    uint64_t ino = j->ops[w].ino;
    journal_entry fe = journal_entry_of(j, ino, ack);
    if (fe.found)
        journal_name_path(fs, fe.dir, fe.name, ack, out->file, sizeof out->file);
    else
        snprintf(out->file, sizeof out->file, "(a file with no name, inode %llu)",
                 (unsigned long long)ino);
    journal_entry ne;
    int name_unsynced = journal_unsynced_name(j, ino, ack, &ne);
    out->name_synced = !name_unsynced;
    if (name_unsynced) {
        journal_name_path(fs, ne.dir, ne.name, ack, out->entry, sizeof out->entry);
        journal_dir_path(fs, ne.dir, ack, out->dir, sizeof out->dir, 0);
        out->how = ne.how;
        if (ne.from != NULL)
            journal_name_path(fs, ne.from->dir, ne.from->name, ne.op, out->from, sizeof out->from);
        out->dir_synced_before = journal_find(j, 'd', ne.dir, 0, ne.op) != SIZE_MAX;
    }
    if (journal_find(j, 'f', ino, w + 1, ack) == SIZE_MAX) {
        int any = 0;
        for (size_t i = 0; i < ack && !any; i++)
            any = j->ops[i].kind == 'f' || j->ops[i].kind == 'd';
        out->code = !any ? KVFS_WHY_NO_SYNC_AT_ALL
                    : journal_find(j, 'f', ino, 0, w) != SIZE_MAX ? KVFS_WHY_SYNC_BEFORE
                                                                  : KVFS_WHY_NEVER_SYNCED;
        return 0;
    }
    if (name_unsynced) {
        out->code = KVFS_WHY_ENTRY;
        return 0;
    }
    /* Durable at the acknowledgement: a rename over its name, made durable
     * before the renamed file's bytes, before the cut? */
    out->code = KVFS_WHY_DURABLE;
    if (!fe.found)
        return 0;
    for (size_t r = ack; r < cut && r < j->n; r++) {
        const kvfs_op *op = &j->ops[r];
        if (op->kind != 'r' || op->ino == ino || op->newdir != fe.dir ||
            strcmp(op->newname, fe.name) != 0)
            continue;
        size_t dsync = journal_find(j, 'd', fe.dir, r + 1, cut);
        if (dsync == SIZE_MAX)
            break; /* the rename was never durable before the cut */
        size_t w2 = journal_needle(j, needle, nlen, r, op->ino);
        if (w2 == SIZE_MAX || journal_find(j, 'f', op->ino, w2 + 1, dsync) != SIZE_MAX)
            break;
        out->code = KVFS_WHY_RENAMED;
        memcpy(out->entry, out->file, sizeof out->entry);
        journal_name_path(fs, op->dir, op->name, r, out->from, sizeof out->from);
        journal_dir_path(fs, fe.dir, r, out->dir, sizeof out->dir, 0);
        out->how = 'r';
        return 0;
    }
    return 0;
}
