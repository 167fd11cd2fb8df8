/*
 * snapshot_install_test.c: exercise snapshot_install, snapshot_load and
 * replica_restore (stages/10-raft/replica/replica_snapshot.c): a snapshot
 * (snapshot_format.h) installed over a replica.  A newer one replaces the
 * engine, one not newer changes nothing, a damaged one is refused and
 * changes nothing, and the engine a reopen finds is the restored one, at
 * the snapshot's index.  The snapshots are encoded here, byte by byte;
 * the replicas are set at an index by writing their applied key through
 * kv.h, so that no other exercise is needed.
 */
#include <dirent.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coding.h"
#include "crc32c.h"
#include "ex_replica.h"
#include "exercise.h"
#include "io_fault.h"
#include "io_sim.h"
#include "kv.h"
#include "replica.h"
#include "snapshot_format.h"

static const char *snap_dir(const char *name)
{
    static const char *tmp;
    if (tmp == NULL)
        tmp = harness_tmpdir();
    return harness_join(tmp, name);
}

static replica *snap_open(const char *dir)
{
    replica *r = NULL;
    harness_context("replica_open(%s): the live engine is the one REPLICA names, at the applied "
                    "index written with it", dir);
    int rc = replica_open(dir, NULL, &r);
    EX_CHECK(rc == KV_OK, "replica_open(%s): %s", dir, kv_errmsg());
    return r;
}

static void snap_close(replica *r)
{
    int rc = replica_close(r);
    EX_CHECK(rc == KV_OK, "replica_close: %s", kv_errmsg());
}

/* A replica at `index` holding "k=v ..." (written through kv.h, the
 * applied key with them), reopened so that it reads its index. */
static replica *replica_at(const char *dir, uint64_t index, const char *pairs)
{
    replica *r = snap_open(dir);
    kv_batch *b = NULL;
    EX_CHECK(kv_batch_new(&b) == KV_OK, "test setup: kv_batch_new");
    char *copy = strdup(pairs), *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        char *e = strchr(w, '=');
        EX_CHECK(kv_batch_put(b, w, (size_t)(e - w), e + 1, strlen(e + 1)) == KV_OK,
                 "test setup: kv_batch_put");
    }
    free(copy);
    uint8_t at[8];
    coding_put_u64(at, index);
    EX_CHECK(kv_batch_put(b, REPLICA_APPLIED_KEY, REPLICA_APPLIED_KEY_LEN, at, 8) == KV_OK &&
                 kv_write(replica_db(r), b) == KV_OK,
             "test setup: the replica's contents written: %s", kv_errmsg());
    kv_batch_free(b);
    snap_close(r);
    r = snap_open(dir);
    EX_CHECK(replica_applied(r) == index, "test setup: the replica is at index %llu (got %llu)",
             (unsigned long long)index, (unsigned long long)replica_applied(r));
    return r;
}

/* A snapshot at index of the records "k=v ..." as they are given (the
 * format wants them in key order); malloc'd, *len its length. */
static uint8_t *snap_make(uint64_t index, const char *pairs, size_t *len)
{
    size_t cap = SNAPSHOT_HEADER + strlen(pairs) * 9 + 8, at = SNAPSHOT_HEADER;
    uint8_t *p = malloc(cap);
    EX_CHECK(p != NULL, "test setup: out of memory");
    uint64_t count = 0;
    char *copy = strdup(pairs), *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        char *e = strchr(w, '=');
        size_t klen = (size_t)(e - w), vlen = strlen(e + 1);
        coding_put_u32(p + at, (uint32_t)klen);
        coding_put_u32(p + at + 4, (uint32_t)vlen);
        memcpy(p + at + 8, w, klen);
        memcpy(p + at + 8 + klen, e + 1, vlen);
        at += 8 + klen + vlen;
        count++;
    }
    free(copy);
    memcpy(p, SNAPSHOT_MAGIC, 8);
    coding_put_u64(p + 8, index);
    coding_put_u64(p + 16, count);
    coding_put_u32(p + at, crc32c_value(p, at));
    *len = at + 4;
    return p;
}

/* The client keys of the live engine (not the replica's own). */
static size_t client_keys(replica *r)
{
    kv_iter *it = NULL;
    EX_CHECK(kv_iter_new(replica_db(r), &it) == KV_OK, "kv_iter_new: %s", kv_errmsg());
    size_t n = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
        size_t klen;
        const void *k = kv_iter_key(it, &klen);
        n += klen < COMMAND_RESERVED_LEN || memcmp(k, COMMAND_RESERVED, COMMAND_RESERVED_LEN) != 0;
    }
    EX_CHECK(kv_iter_status(it) == KV_OK, "kv_iter_status: %s", kv_errmsg());
    kv_iter_free(it);
    return n;
}

/* The files in dir (0 if there is no such directory). */
static size_t files_in(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* The process's open file descriptors. */
static size_t open_fds(void)
{
    size_t n = files_in("/proc/self/fd");
    return n > 0 ? n - 1 : 0; /* less opendir's own */
}

static int restore(replica *r, const uint8_t *p, size_t len)
{
    harness_context("replica_restore of a %zu-byte snapshot at index %llu: a newer one "
                    "replaces the engine (built in the other directory), one not newer than "
                    "the replica changes nothing, a damaged one is refused first", len,
                    (unsigned long long)(len >= 16 ? coding_get_u64(p + 8) : 0));
    return replica_restore(r, p, len);
}

static void snapshot_install_a_newer_snapshot_replaces_the_engine(void)
{
    const char *dir = snap_dir("r");
    replica *r = replica_at(dir, 3, "stale=1 a=old");
    size_t len;
    uint8_t *snap = snap_make(10, "a=1 b=2 c=three", &len);
    int rc = restore(r, snap, len);
    EX_CHECK(rc == KV_OK, "a snapshot at index 10 installs over a replica at index 3 (got %s: "
             "%s)", kv_strerror(rc), kv_errmsg());
    EX_CHECK(replica_applied(r) == 10, "the replica takes the snapshot's index: "
             "replica_applied is 10 after the restore (got %llu), so the commands the snapshot "
             "holds are skipped when the library hands them over",
             (unsigned long long)replica_applied(r));
    ex_replica_expect(r, "a", "1", "the restored engine holds every record of the snapshot");
    ex_replica_expect(r, "b", "2", "the restored engine holds every record of the snapshot");
    ex_replica_expect(r, "c", "three", "the restored engine holds every record of the snapshot");
    ex_replica_expect(r, "stale", "-", "the restored engine holds the snapshot's records and no "
                 "other: the old engine's keys went with it");
    EX_CHECK(client_keys(r) == 3, "the restored engine holds the snapshot's 3 records and no "
             "other key (got %zu)", client_keys(r));
    EX_CHECK(files_in(harness_join(dir, "data-a")) == 0, "the engine a restore replaced is "
             "closed and its directory cleared (replica_dir_clear): %s holds %zu files",
             harness_join(dir, "data-a"), files_in(harness_join(dir, "data-a")));
    snap_close(r);
    r = snap_open(dir);
    EX_CHECK(replica_applied(r) == 10, "after a reopen the replica is at the snapshot's index, "
             "10 (got %llu): the index is written into the new engine with its records, "
             "the last of them", (unsigned long long)replica_applied(r));
    ex_replica_expect(r, "a", "1", "after a reopen the live engine is the restored one");
    ex_replica_expect(r, "stale", "-", "after a reopen the live engine is the restored one");
    /* And a second restore switches back to the first directory. */
    free(snap);
    snap = snap_make(20, "d=4", &len);
    rc = restore(r, snap, len);
    EX_CHECK(rc == KV_OK && replica_applied(r) == 20, "a second, newer snapshot (index 20) "
             "installs too (got %s, index %llu)", kv_strerror(rc),
             (unsigned long long)replica_applied(r));
    ex_replica_expect(r, "d", "4", "the restored engine holds every record of the snapshot");
    ex_replica_expect(r, "a", "-", "the restored engine holds the snapshot's records and no other");
    /* A third, with no reopen between: the second built data-a, so the
     * third builds data-b. */
    free(snap);
    snap = snap_make(30, "e=5", &len);
    rc = restore(r, snap, len);
    EX_CHECK(rc == KV_OK && replica_applied(r) == 30, "a third snapshot (index 30) installs "
             "too (got %s, index %llu)", kv_strerror(rc), (unsigned long long)replica_applied(r));
    size_t got = 0;
    uint8_t *line = ex_read_file(harness_join(dir, "REPLICA"), &got);
    EX_CHECK(got == 7 && memcmp(line, "data-b\n", 7) == 0 &&
                 files_in(harness_join(dir, "data-a")) == 0,
             "each restore builds the new engine in the directory that is not the live one, "
             "and the live one becomes the other (r->gen): the second restore built data-a, "
             "so the third, with no reopen between, builds data-b (REPLICA names it) and "
             "clears data-a (REPLICA holds \"%.*s\", data-a %zu files); building in the "
             "live directory clears the files of the engine still open there",
             (int)(got > 0 ? got - 1 : 0), (const char *)line,
             files_in(harness_join(dir, "data-a")));
    free(line);
    ex_replica_expect(r, "e", "5", "the restored engine holds every record of the snapshot");
    ex_replica_expect(r, "d", "-", "the restored engine holds the snapshot's records and no other");
    snap_close(r);
    r = snap_open(dir);
    EX_CHECK(replica_applied(r) == 30 && strcmp(ex_replica_value(r, "e"), "5") == 0, "after a reopen "
             "the replica is the third restore's engine, at index 30 (got %llu)",
             (unsigned long long)replica_applied(r));
    snap_close(r);
    free(snap);
}

static void snapshot_install_an_older_snapshot_changes_nothing(void)
{
    const char *dir = snap_dir("r");
    replica *r = replica_at(dir, 10, "a=mine n=10");
    size_t len;
    uint8_t *snap = snap_make(5, "a=old", &len);
    int rc = restore(r, snap, len);
    EX_CHECK(rc == KV_OK, "a snapshot older than the engine is no error: KV_OK, and nothing "
             "changes (got %s: %s)", kv_strerror(rc), kv_errmsg());
    EX_CHECK(replica_applied(r) == 10, "a restore never rolls a newer engine back: a "
             "snapshot at 5 leaves a replica at 10 at 10 (got %llu)",
             (unsigned long long)replica_applied(r));
    ex_replica_expect(r, "a", "mine", "a restore never rolls a newer engine back: a snapshot at 5 "
                 "changes nothing in an engine at 10");
    free(snap);
    snap = snap_make(10, "a=other", &len);
    rc = restore(r, snap, len);
    EX_CHECK(rc == KV_OK, "a snapshot at the engine's own index is no error (got %s: %s)",
             kv_strerror(rc), kv_errmsg());
    ex_replica_expect(r, "a", "mine", "a snapshot at the engine's own index changes nothing: the "
                 "engine is already as new");
    ex_replica_expect(r, "n", "10", "a snapshot at the engine's own index changes nothing");
    snap_close(r);
    r = snap_open(dir);
    EX_CHECK(replica_applied(r) == 10 && strcmp(ex_replica_value(r, "a"), "mine") == 0, "after a reopen "
             "the replica is as it was before the two snapshots, at 10 (got %llu)",
             (unsigned long long)replica_applied(r));
    snap_close(r);
    free(snap);
}

static void snapshot_install_a_damaged_snapshot_is_refused(void)
{
    const char *dir = snap_dir("r");
    replica *r = replica_at(dir, 3, "mine=1");
    size_t len;
    uint8_t *snap = snap_make(10, "a=1 b=2", &len);
    for (size_t at = 0; at < len; at++) {
        snap[at] ^= 0x20;
        harness_context("replica_restore of a snapshot at index 10 with byte %zu of %zu "
                        "flipped: refused as KV_ERR_CORRUPT before anything changes; nothing "
                        "past its bytes is read", at, len);
        int rc = replica_restore(r, snap, len);
        EX_CHECK(rc == KV_ERR_CORRUPT, "a damaged snapshot (byte %zu of %zu flipped) is "
                 "refused as KV_ERR_CORRUPT before anything changes (got %s)", at, len,
                 kv_strerror(rc));
        snap[at] ^= 0x20;
    }
    for (size_t cut = 0; cut < len; cut++) {
        harness_context("replica_restore of a snapshot at index 10 cut to %zu of its %zu "
                        "bytes: refused as KV_ERR_CORRUPT; nothing past the bytes given is "
                        "read", cut, len);
        int rc = replica_restore(r, snap, cut);
        EX_CHECK(rc == KV_ERR_CORRUPT, "a snapshot cut to %zu of its %zu bytes is refused as "
                 "KV_ERR_CORRUPT (got %s)", cut, len, kv_strerror(rc));
    }
    /* The checksum holds, the records do not: keys out of order, and a key
     * of the replica's own. */
    const char *bad[] = {"b=2 a=1", "a=1 a=2"};
    for (size_t i = 0; i < 2; i++) {
        free(snap);
        snap = snap_make(10, bad[i], &len);
        int rc = restore(r, snap, len);
        EX_CHECK(rc == KV_ERR_CORRUPT, "a snapshot at index 10 whose checksum holds but whose "
                 "records are not in increasing key order (%s) is refused as KV_ERR_CORRUPT "
                 "(snapshot_check, before anything changes; got %s)", bad[i], kv_strerror(rc));
    }
    EX_CHECK(replica_applied(r) == 3, "a refused snapshot changes nothing: the replica is at "
             "3 (got %llu)", (unsigned long long)replica_applied(r));
    ex_replica_expect(r, "mine", "1", "a refused snapshot changes nothing");
    ex_replica_expect(r, "a", "-", "a refused snapshot changes nothing");
    snap_close(r);
    r = snap_open(dir);
    EX_CHECK(replica_applied(r) == 3 && strcmp(ex_replica_value(r, "mine"), "1") == 0, "after refused "
             "snapshots a reopen finds the replica as it was, at 3 (got %llu)",
             (unsigned long long)replica_applied(r));
    snap_close(r);
    free(snap);
}

static void snapshot_install_every_record_of_a_large_snapshot(void)
{
    const char *dir = snap_dir("r");
    replica *r = replica_at(dir, 1, "x=1");
    /* 5,000 records, twenty of them values of 4 MiB: past a batch's
     * records (RESTORE_BATCH_OPS) and its bytes (RESTORE_BATCH_BYTES), and
     * the first 4,096 records more than one kv_write can hold
     * (KV_MAX_BATCH_BYTES). */
    enum { N = 5000, BIG = 4 << 20 };
    size_t cap = SNAPSHOT_HEADER + (size_t)N * 32 + 20 * (size_t)BIG + 4, at = SNAPSHOT_HEADER;
    uint8_t *p = malloc(cap);
    EX_CHECK(p != NULL, "test setup: out of memory");
    for (int i = 0; i < N; i++) {
        char k[16];
        int klen = snprintf(k, sizeof k, "k%05d", i);
        size_t vlen = i % 250 == 7 ? (size_t)BIG : 8;
        coding_put_u32(p + at, (uint32_t)klen);
        coding_put_u32(p + at + 4, (uint32_t)vlen);
        memcpy(p + at + 8, k, (size_t)klen);
        memset(p + at + 8 + klen, 'a' + i % 26, vlen);
        at += 8 + (size_t)klen + vlen;
    }
    memcpy(p, SNAPSHOT_MAGIC, 8);
    coding_put_u64(p + 8, 77);
    coding_put_u64(p + 16, N);
    coding_put_u32(p + at, crc32c_value(p, at));
    EX_CHECK(at > KV_MAX_BATCH_BYTES, "test setup: the records take more than a kv_write "
             "holds (%zu bytes)", at);
    int rc = restore(r, p, at + 4);
    EX_CHECK(rc == KV_OK, "a snapshot of %d records and %zu bytes, more than one kv_write "
             "holds (KV_MAX_BATCH_BYTES), installs: its records are written in kv_writes of at "
             "most RESTORE_BATCH_OPS records and about RESTORE_BATCH_BYTES bytes (got %s: %s)",
             N, at, kv_strerror(rc), kv_errmsg());
    EX_CHECK(replica_applied(r) == 77, "the replica takes the snapshot's index, 77 (got %llu)",
             (unsigned long long)replica_applied(r));
    uint64_t seq = ex_stat(replica_db(r), "seq.last");
    EX_CHECK(seq == N + 1, "each record of the snapshot is written once, then the applied "
             "index: %d writes in the new engine (its seq.last; got %llu): a batch is emptied "
             "(kv_batch_clear) after each kv_write, else its records are written again with "
             "the next", N + 1, (unsigned long long)seq);
    size_t n = client_keys(r);
    EX_CHECK(n == N, "the restored engine holds every record of the snapshot: %d, in kv_writes "
             "of at most RESTORE_BATCH_OPS records (got %zu)", N, n);
    for (int i = 0; i < N; i += 7) {
        char k[16];
        int klen = snprintf(k, sizeof k, "k%05d", i);
        void *v = NULL;
        size_t vlen = 0;
        harness_context("kv_get(%s) from the engine restored from 5000 records: every record of "
                        "the snapshot, with its value", k);
        rc = kv_get(replica_db(r), k, (size_t)klen, &v, &vlen);
        size_t want = i % 250 == 7 ? (size_t)BIG : 8;
        EX_CHECK(rc == KV_OK && vlen == want && ((uint8_t *)v)[vlen - 1] == 'a' + i % 26,
                 "the restored engine holds every record of the snapshot, with its value: %s "
                 "(%zu bytes; got %s, %zu bytes)", k, want, kv_strerror(rc), vlen);
        kv_free(v);
    }
    snap_close(r);
    free(p);
}

static void snapshot_install_records_are_written_in_batches(void)
{
    /* 5,000 small records: two batches of RESTORE_BATCH_OPS records at
     * most, each kv_write synced, counted in the power-loss simulator's
     * journal. */
    const char *root = snap_dir("sim");
    EX_CHECK(mkdir(root, 0755) == 0, "test setup: mkdir %s", root);
    int rc = io_sim_install(root);
    EX_CHECK(rc == KV_OK, "test setup: io_sim_install: %s", kv_errmsg());
    replica *r = replica_at(harness_join(root, "r"), 1, "x=1");
    enum { N = 5000 };
    size_t cap = SNAPSHOT_HEADER + (size_t)N * 32 + 4, at = SNAPSHOT_HEADER;
    uint8_t *p = malloc(cap);
    EX_CHECK(p != NULL, "test setup: out of memory");
    for (int i = 0; i < N; i++) {
        char k[16];
        int klen = snprintf(k, sizeof k, "k%05d", i);
        coding_put_u32(p + at, (uint32_t)klen);
        coding_put_u32(p + at + 4, 8);
        memcpy(p + at + 8, k, (size_t)klen);
        memset(p + at + 8 + klen, 'v', 8);
        at += 8 + (size_t)klen + 8;
    }
    memcpy(p, SNAPSHOT_MAGIC, 8);
    coding_put_u64(p + 8, 9);
    coding_put_u64(p + 16, N);
    coding_put_u32(p + at, crc32c_value(p, at));
    size_t from = io_sim_position();
    rc = restore(r, p, at + 4);
    size_t to = io_sim_position();
    snap_close(r);
    io_sim_uninstall();
    EX_CHECK(rc == KV_OK, "a snapshot of %d records installs (got %s: %s)", N, kv_strerror(rc),
             kv_errmsg());
    size_t syncs = 0;
    for (size_t j = from; j < to; j++)
        syncs += io_sim_kind(j) == IO_SIM_SYNC;
    io_sim_reset();
    EX_CHECK(syncs < 200, "the snapshot's records are written in kv_writes of at most "
             "RESTORE_BATCH_OPS records, not one kv_write each: a restore of %d records made "
             "%zu file syncs (the new engine is opened with sync = 1, so each kv_write is one)",
             N, syncs);
    free(p);
}

static void snapshot_install_an_io_error_leaves_the_old_engine(void)
{
    /* 5,000 small records, two batches; every write call of the restore
     * (append, sync, truncate) failed in turn, once. */
    const char *dir = snap_dir("r");
    replica *r = replica_at(dir, 3, "mine=1");
    enum { N = 5000 };
    size_t cap = SNAPSHOT_HEADER + (size_t)N * 32 + 4, at = SNAPSHOT_HEADER;
    uint8_t *p = malloc(cap);
    EX_CHECK(p != NULL, "test setup: out of memory");
    for (int i = 0; i < N; i++) {
        char k[16];
        int klen = snprintf(k, sizeof k, "k%05d", i);
        coding_put_u32(p + at, (uint32_t)klen);
        coding_put_u32(p + at + 4, 8);
        memcpy(p + at + 8, k, (size_t)klen);
        memset(p + at + 8 + klen, 'v', 8);
        at += 8 + (size_t)klen + 8;
    }
    memcpy(p, SNAPSHOT_MAGIC, 8);
    coding_put_u64(p + 8, 9);
    coding_put_u64(p + 16, N);
    coding_put_u32(p + at, crc32c_value(p, at));
    size_t fds = open_fds();
    int installed = 0;
    for (long fail = 1; fail < 400 && !installed; fail++) {
        io_fault_plan plan = {.kinds = IO_FAULT_WRITES, .fail_at = fail};
        io_fault_install(&plan);
        harness_context("replica_restore of %d records whose write call number %ld (an append, "
                        "a sync or a truncate) fails: the old engine stays the live one, as it "
                        "was, and the one being built is closed", N, fail);
        int rc = replica_restore(r, p, at + 4);
        long failures = io_fault_failures();
        io_fault_uninstall();
        if (failures == 0) {
            EX_CHECK(rc == KV_OK, "a restore that met no I/O error installs (got %s: %s)",
                     kv_strerror(rc), kv_errmsg());
            installed = 1;
            break;
        }
        if (rc == KV_OK) {
            /* The failed call did not stop the restore (a sync of the old
             * engine's leftovers, say): the snapshot is installed. */
            EX_CHECK(replica_applied(r) == 9 && client_keys(r) == N, "a restore that "
                     "answered KV_OK after write call %ld failed holds the snapshot: index 9, "
                     "%d keys (got %llu, %zu): an error a kv_write returns is never lost",
                     fail, N, (unsigned long long)replica_applied(r), client_keys(r));
            installed = 1;
            break;
        }
        EX_CHECK(replica_applied(r) == 3 && strcmp(ex_replica_value(r, "mine"), "1") == 0 &&
                     strcmp(ex_replica_value(r, "k00000"), "-") == 0,
                 "a restore that fails (write call %ld failed: %s) leaves the old engine the "
                 "live one, as it was: index 3, mine = 1, none of the snapshot's keys (got "
                 "index %llu)", fail, kv_strerror(rc), (unsigned long long)replica_applied(r));
    }
    EX_CHECK(installed, "test setup: the restore ends within 400 write calls");
    EX_CHECK(open_fds() == fds, "a restore that fails closes the engine it was building, "
             "whatever step failed (switching to it too): after the failed restores and the "
             "one that succeeded the process holds %zu open file descriptors, %zu before "
             "them, with one engine open either way", open_fds(), fds);
    snap_close(r);
    r = snap_open(dir);
    EX_CHECK(replica_applied(r) == 9 && client_keys(r) == N, "after the failed restores and the "
             "one that succeeded, a reopen finds the snapshot's engine, at 9, with its %d keys "
             "(got %llu, %zu)", N, (unsigned long long)replica_applied(r), client_keys(r));
    snap_close(r);
    free(p);
}

static void snapshot_install_keeps_no_memory(void)
{
    /* Snapshots of 1 MiB (16 values of 64 KiB): what a restore allocates
     * for its records (the batch) is freed when it returns, so the heap
     * in use stays about where it was. */
    replica *r = replica_at(snap_dir("r"), 1, "x=1");
    enum { N = 16, V = 64 << 10 };
    size_t cap = SNAPSHOT_HEADER + (size_t)N * (16 + V) + 4;
    uint8_t *p = malloc(cap);
    EX_CHECK(p != NULL, "test setup: out of memory");
    size_t before = 0;
    for (uint64_t index = 2; index < 16; index++) {
        size_t at = SNAPSHOT_HEADER;
        for (int i = 0; i < N; i++) {
            char k[16];
            int klen = snprintf(k, sizeof k, "k%02d", i);
            coding_put_u32(p + at, (uint32_t)klen);
            coding_put_u32(p + at + 4, V);
            memcpy(p + at + 8, k, (size_t)klen);
            memset(p + at + 8 + klen, (int)('a' + index), V);
            at += 8 + (size_t)klen + V;
        }
        memcpy(p, SNAPSHOT_MAGIC, 8);
        coding_put_u64(p + 8, index);
        coding_put_u64(p + 16, N);
        coding_put_u32(p + at, crc32c_value(p, at));
        int rc = restore(r, p, at + 4);
        EX_CHECK(rc == KV_OK, "a snapshot of 1 MiB at index %llu installs (got %s: %s)",
                 (unsigned long long)index, kv_strerror(rc), kv_errmsg());
        if (index == 5)
            before = mallinfo2().uordblks;
    }
    size_t after = mallinfo2().uordblks;
    EX_CHECK(after <= before + (4u << 20), "10 restores of 1 MiB snapshots left %zu more bytes "
             "of the heap in use: a restore frees what it allocated (its batch, kv_batch_free) "
             "when it returns", after > before ? after - before : 0);
    snap_close(r);
    free(p);
}

static const harness_test tests[] = {
    HARNESS_TEST(snapshot_install_a_newer_snapshot_replaces_the_engine),
    HARNESS_TEST(snapshot_install_an_older_snapshot_changes_nothing),
    HARNESS_TEST(snapshot_install_a_damaged_snapshot_is_refused),
    HARNESS_TEST(snapshot_install_every_record_of_a_large_snapshot),
    HARNESS_TEST(snapshot_install_records_are_written_in_batches),
    HARNESS_TEST(snapshot_install_an_io_error_leaves_the_old_engine),
    HARNESS_TEST(snapshot_install_keeps_no_memory),
};
const harness_suite snapshot_install_suite = HARNESS_SUITE("snapshot_install", tests);
