/*
 * kvfs.h: the file system that forgets what was not fsynced: the tree
 * kvgrade-fs serves over FUSE, kept in memory, with two states of
 * everything: what a program sees now (current) and what a power cut
 * would leave (durable).  See docs/kvgrade.md, "The power-cut file system".
 *
 * The model (the idea is Jepsen's LazyFS and ALICE's crash states; this is
 * the pessimistic POSIX reading, the same as common/io_sim.h's
 * "names-lost" model):
 *   1. A file's bytes and its size are durable as of its last fsync or
 *      fdatasync (on any descriptor of it).  A new file's durable content
 *      is empty.
 *   2. A directory's entries (names created, renamed over, unlinked, made
 *      with mkdir or removed with rmdir) are durable as of its last fsync.
 *      Syncing a file does not make its name durable; syncing a directory
 *      does not make its own name in its parent durable.
 *   3. A cut (kvfs_cut) makes every file's and directory's durable state
 *      its current state: unsynced writes, truncations and size changes
 *      are undone, names not made durable disappear, renames and unlinks
 *      not made durable are reverted.  Synced data is never damaged.
 * So a file whose data was synced but whose name never was is lost at a
 * cut, and a name whose directory was synced but whose file never was
 * comes back empty.
 *
 * Inodes are numbered from 1 (the root) and never reused, so a number the
 * kernel cached before a cut names the same inode or none.  An inode lives
 * while a current or durable entry names it, the kernel holds a lookup of
 * it, or a handle is open on it.
 *
 * Invariants:
 *   1. bytes outside [dirty_lo, dirty_hi) of a file are the same in cur
 *      and dur, up to the shorter length (so a sync or a cut copies only
 *      that range);
 *   2. an inode's cur_links / dur_links count the current / durable
 *      entries that name it, in every directory.
 * Not thread-safe: kvgrade-fs runs one thread.
 */
#ifndef KVGRADE_KVFS_H
#define KVGRADE_KVFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

typedef struct kvfs_bytes {
    unsigned char *p;
    size_t len, cap;
} kvfs_bytes;

typedef struct kvfs_entry {
    char *name;
    uint64_t ino;
} kvfs_entry;

typedef struct kvfs_entries {
    kvfs_entry *e;
    size_t n, cap;
} kvfs_entries;

typedef struct kvfs_node {
    uint64_t ino;
    mode_t mode;                 /* S_IFREG or S_IFDIR, and permissions */
    kvfs_bytes cur, dur;         /* a file's data */
    size_t dirty_lo, dirty_hi;   /* invariant 1 */
    kvfs_entries cur_ents, dur_ents; /* a directory's entries */
    int dir_dirty;               /* cur_ents may differ from dur_ents */
    unsigned cur_links, dur_links;
    uint64_t nlookup;            /* the kernel's references */
    unsigned opens;              /* open handles */
    struct timespec mtime, ctime;
} kvfs_node;

/* One change of the durable state, as the recording keeps it
 * (kvfs_record.c): a sync that changed a file's durable bytes, or a
 * directory's durable entries. */
typedef struct kvfs_event {
    char kind;                   /* 'f' a file, 'd' a directory */
    uint64_t ino;
    mode_t mode;
    size_t len, lo;              /* 'f': its new durable length; the bytes at lo */
    kvfs_bytes bytes;            /* 'f': durable bytes [lo, lo + bytes.len) */
    size_t old_len;              /* 'f': its durable length before this sync */
    size_t torn_lo, torn_hi;     /* 'f': the bytes this sync changed, [torn_lo, torn_hi):
                                    the first and the last that differ from what was
                                    durable (zeros past old_len) */
    char *path;                  /* 'f': its durable name then ("dir/file"), NULL if none */
    kvfs_entries ents;           /* 'd': its durable entries */
    mode_t *modes;               /* 'd': the mode of each entry's inode */
    size_t op;                   /* the sync's place in the journal (kvfs_op) */
} kvfs_event;

/* One operation of the journal (kvfs_journal.c): while a recording is on,
 * every change of a file or a name and every sync, in order, so that
 * kvgrade can ask afterwards why a write was not durable when it was
 * acknowledged (kvfs_journal_why). */
typedef struct kvfs_op {
    char kind;                   /* 'w' write, 't' truncate, 'c' create, 'm' mkdir, 'l' link,
                                    'r' rename, 'u' unlink or rmdir, 'f' a file's fsync,
                                    'd' a directory's fsync */
    uint64_t ino;                /* the inode written, named, moved, removed or synced */
    uint64_t dir, newdir;        /* c m l u: the directory of name; r: from dir to newdir */
    char *name, *newname;
    size_t off, len;             /* w: the bytes written; t: the new length */
    size_t data;                 /* w: where its bytes are in the journal's data; SIZE_MAX
                                    once the journal holds KVFS_JOURNAL_DATA bytes */
} kvfs_op;

#define KVFS_JOURNAL_DATA (256u << 20)

typedef struct kvfs_journal {
    kvfs_op *ops;
    size_t n, cap;
    unsigned char *data;
    size_t ndata, data_cap;
} kvfs_journal;

/* The recording: every durable state since it began, so that each can be
 * made the file system again later (kvfs_record_load).  Image 0 is the
 * durable tree when it began (base); image i is image 0 with the first i
 * events applied.  Under the model of this file the durable state changes
 * only at a sync, so the images are every state a power cut during the
 * recording can leave. */
typedef struct kvfs_record {
    int on;
    kvfs_event *base, *ev;
    size_t nbase, base_cap, nev, ev_cap;
    unsigned long long creates, renames, unlinks, file_syncs, dir_syncs; /* seen, while on */
    kvfs_journal journal;        /* every operation while on (kvfs_journal.c) */
} kvfs_record;

/* A torn write: of the writes one file's sync made durable (the sync
 * that made image i + 1), only part was on the disk when the power went,
 * as LazyFS's torn writes and ALICE's prefix and zero-fill states have
 * it.  The bytes in flight are [lo, hi) of the event; a disk writes them
 * in 512-byte sectors, in any order.  Of the bytes the sync copied, those
 * in flight are the ones it changed, [torn_lo, torn_hi) of the event (a
 * mapped log's sync copies whole pages, most of them as they were).
 *   'p' (a prefix, torn_lo < off < torn_hi): the bytes before off kept,
 *       those from off on lost; the file's length is off where the write
 *       made it longer;
 *   'z' (a lost sector, off a multiple of 512): the bytes of sector
 *       [off, off + 512) in flight lost, every other kept (a later sector
 *       on the disk, an earlier one not: not the sector of torn_hi - 1); a
 *       lost byte past the old length reads as zero, one before it as the
 *       old byte.
 * Synced bytes are never touched. */
typedef struct kvfs_tear {
    char kind;                   /* 0 (none), 'p' or 'z' */
    size_t off;
} kvfs_tear;

struct kvfs;
/* What the tree tells the recording (kvfs_record.c installs it with its
 * first image, kvfs_record_start): a file's sync (old_len is the file's
 * durable length before it, [torn_lo, torn_hi) the bytes it changed), a
 * directory's, and the tree freed.  The tree calls the recording through
 * these alone, never by name: the recording reads the tree, the tree
 * only reports to it. */
typedef struct kvfs_recorder {
    int  (*file)(struct kvfs *fs, const kvfs_node *n, size_t lo, size_t hi, size_t old_len,
                 size_t torn_lo, size_t torn_hi);
    int  (*dir)(struct kvfs *fs, const kvfs_node *dir);
    void (*free)(struct kvfs *fs);
} kvfs_recorder;

typedef struct kvfs {
    kvfs_node **nodes;           /* by inode number; NULL once freed */
    uint64_t nnodes, cap;
    uint64_t generation;         /* cuts so far */
    size_t bytes;                /* current + durable data held */
    kvfs_record *rec;            /* NULL: nothing recorded */
    const kvfs_recorder *recorder; /* set with rec: what a sync reports to */
} kvfs;

int  kvfs_init(kvfs *fs);                     /* 0 or -ENOMEM */
void kvfs_free(kvfs *fs);
kvfs_node *kvfs_get(kvfs *fs, uint64_t ino);  /* NULL if there is none */

/* Names (all in the current state): 0 or -errno. */
int  kvfs_lookup(kvfs *fs, uint64_t dir, const char *name, kvfs_node **out);
int  kvfs_create(kvfs *fs, uint64_t dir, const char *name, mode_t mode, kvfs_node **out);
int  kvfs_unlink(kvfs *fs, uint64_t dir, const char *name);
int  kvfs_rmdir(kvfs *fs, uint64_t dir, const char *name);
int  kvfs_link(kvfs *fs, uint64_t ino, uint64_t dir, const char *name);
/* rename(2) without flags, or with RENAME_NOREPLACE (noreplace = 1). */
int  kvfs_rename(kvfs *fs, uint64_t dir, const char *name, uint64_t newdir, const char *newname,
                 int noreplace);

/* Data (current state): 0 or -errno; kvfs_read returns the bytes read. */
long kvfs_read(kvfs_node *n, void *buf, size_t size, uint64_t off);
int  kvfs_write(kvfs *fs, kvfs_node *n, const void *buf, size_t size, uint64_t off);
int  kvfs_truncate(kvfs *fs, kvfs_node *n, uint64_t size);

/* Durability. */
int  kvfs_sync_file(kvfs *fs, kvfs_node *n);  /* fsync, fdatasync */
int  kvfs_sync_dir(kvfs *fs, kvfs_node *dir); /* fsync of a directory */
/* The power cut: every durable state becomes the current one. */
int  kvfs_cut(kvfs *fs);

/* The recording (kvfs_record.c).  start: a new one, its image 0 the
 * durable tree now (0 or -ENOMEM); stop: nothing more recorded (the
 * images stay); load: image i made the whole tree, current and durable,
 * as a cut would, with the writes the next sync made durable torn as
 * `tear` says (NULL or kind 0: not at all) (0, -EINVAL if there is no
 * image i or no such tear, or -ENOMEM); torn: the event whose writes a
 * cut at image i can tear (a sync of a file with a durable name that made
 * it no shorter, bytes in flight), or NULL.  What the tree's syncs
 * change reaches it through fs->recorder (no-ops unless recording). */
int  kvfs_record_start(kvfs *fs);
void kvfs_record_stop(kvfs *fs);
size_t kvfs_record_images(const kvfs *fs);
int  kvfs_record_load(kvfs *fs, size_t image, const kvfs_tear *tear);
const kvfs_event *kvfs_record_torn(const kvfs *fs, size_t image);
/* Internal to the tree, for kvfs_record.c. */
int  kvfs_bytes_resize(kvfs_bytes *b, size_t len);
int  kvfs_entries_copy(kvfs_entries *to, const kvfs_entries *from);
void kvfs_entries_free(kvfs_entries *es);
kvfs_node *kvfs_node_at(kvfs *fs, uint64_t ino, mode_t mode);

/* The journal (kvfs_journal.c): the tree's calls report each operation
 * (no-ops unless recording); ops is how many it holds (the place of the
 * next).  writes_in_window: the writes of inode ino from its last fsync
 * before op `at` up to `at` (the writes a sync at `at` made durable). */
void   kvfs_journal_op(kvfs *fs, char kind, uint64_t ino, uint64_t dir, const char *name,
                       uint64_t newdir, const char *newname);
void   kvfs_journal_write(kvfs *fs, uint64_t ino, const void *buf, size_t len, size_t off);
void   kvfs_journal_truncate(kvfs *fs, uint64_t ino, size_t len);
size_t kvfs_journal_ops(const kvfs *fs);
size_t kvfs_journal_writes_in_window(const kvfs *fs, uint64_t ino, size_t at);
void   kvfs_journal_free(kvfs_journal *j);

/* Why a write's bytes were not in a durable state (kvfs_journal_why),
 * from the journal: the write holding `needle` last before op ack (the
 * acknowledgement), and what became of it up to op cut (where the power
 * cut fell, at the latest).  Paths are below the root ("db/data.log").
 *   KVFS_WHY_UNWRITTEN     no write before ack holds the needle
 *   KVFS_WHY_NO_SYNC_AT_ALL nothing (no file, no directory) was fsynced before ack
 *   KVFS_WHY_NEVER_SYNCED  file was never fsynced before ack (others were)
 *   KVFS_WHY_SYNC_BEFORE   file's last fsync before ack came before the write
 *   KVFS_WHY_ENTRY         file's bytes were synced; entry (a name in dir, made
 *                          by `how`, from `from` for a rename) was not, before ack
 *   KVFS_WHY_RENAMED       durable at ack, then entry was made to name the file
 *                          written as `from`, and that name made durable (a
 *                          directory sync) before from's bytes were fsynced
 *   KVFS_WHY_DURABLE       bytes and names were durable at ack (lost otherwise)
 * name_synced: (NEVER_SYNCED, SYNC_BEFORE) the file's entry was durable
 * at ack; dir_synced_before: (ENTRY) the directory was fsynced before
 * the entry was made, not after. */
enum { KVFS_WHY_UNWRITTEN, KVFS_WHY_NO_SYNC_AT_ALL, KVFS_WHY_NEVER_SYNCED, KVFS_WHY_SYNC_BEFORE,
       KVFS_WHY_ENTRY, KVFS_WHY_RENAMED, KVFS_WHY_DURABLE };

typedef struct kvfs_why {
    int code;
    char file[1024];             /* the file that held the write */
    char entry[1024];            /* the name that was not durable */
    char from[1024];             /* a rename's old name */
    char dir[1024];              /* the directory whose sync was missing */
    char how;                    /* 'c' 'm' 'l' 'r': what made entry */
    int name_synced, dir_synced_before;
} kvfs_why;

int kvfs_journal_why(const kvfs *fs, size_t ack, size_t cut, const unsigned char *needle,
                     size_t nlen, kvfs_why *out);

/* The kernel's references and open handles (they keep an inode alive). */
void kvfs_forget(kvfs *fs, uint64_t ino, uint64_t nlookup);
void kvfs_closed(kvfs *fs, kvfs_node *n);     /* a handle released */

void kvfs_stat(const kvfs_node *n, struct stat *st);

#endif
