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
#include "io.h"
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

/* The process's open file descriptors. */
static size_t open_fds(void)
{
    size_t n = ex_files_in("/proc/self/fd");
    return n > 0 ? n - 1 : 0; /* less opendir's own */
}

static int restore(replica *r, const uint8_t *p, size_t len)
{
    harness_context("replica_restore of a %zu-byte snapshot at index %llu: a newer one "
                    "replaces the engine (built in the other directory), one not newer than "
                    "the replica changes nothing, a damaged one is refused first", len,
                    (unsigned long long)(len >= 16 ? coding_get_u64(p + 8) : 0));
    ex_seed("snapshot", p, len);
    return replica_restore(r, p, len);
}

static void snapshot_install_a_newer_snapshot_replaces_the_engine(void)
{
    const char *dir = snap_dir("r");
    replica *r = ex_replica_at(dir, 3, "stale=1 a=old");
    size_t len;
    uint8_t *snap = ex_snapshot(10, "a=1 b=2 c=three", &len);
    EX_RULE_BEGIN(8, "after the switch the replica is the new engine's, at the snapshot's index");
    int rc = EX_KV(restore(r, snap, len));
    EX_CHECK(rc == KV_OK, "a snapshot at index 10 installs over a replica at index 3 (got %s: "
             "%s)", kv_strerror(rc), ex_errmsg(rc));
    EX_CHECK(replica_applied(r) == 10, "the replica takes the snapshot's index: "
             "replica_applied is 10 after the restore (got %llu), so the commands the snapshot "
             "holds are skipped when the library hands them over",
             (unsigned long long)replica_applied(r));
    ex_replica_expect(r, "a", "1", "the restored engine holds every record of the snapshot");
    ex_replica_expect(r, "b", "2", "the restored engine holds every record of the snapshot");
    ex_replica_expect(r, "c", "three", "the restored engine holds every record of the snapshot");
    EX_RULE_BEGIN(5, "every record of the snapshot is written");
    ex_replica_expect(r, "stale", "-", "the restored engine holds the snapshot's records and no "
                 "other: the old engine's keys went with it");
    EX_CHECK(ex_client_keys(r) == 3, "the restored engine holds the snapshot's 3 records and no "
             "other key (got %zu)", ex_client_keys(r));
    EX_RULE_BEGIN(8, "the old engine closed and its directory cleared");
    EX_CHECK(ex_files_in(harness_join(dir, "data-a")) == 0, "the engine a restore replaced is "
             "closed and its directory cleared (replica_dir_clear): %s holds %zu files",
             harness_join(dir, "data-a"), ex_files_in(harness_join(dir, "data-a")));
    ex_replica_close(r);
    r = ex_replica_open(dir);
    EX_RULE_BEGIN(6, "the snapshot's index written into the new engine");
    EX_CHECK(replica_applied(r) == 10, "after a reopen the replica is at the snapshot's index, "
             "10 (got %llu): the index is written into the new engine with its records, "
             "the last of them", (unsigned long long)replica_applied(r));
    ex_replica_expect(r, "a", "1", "after a reopen the live engine is the restored one");
    ex_replica_expect(r, "stale", "-", "after a reopen the live engine is the restored one");
    /* And a second restore switches back to the first directory. */
    EX_RULE_BEGIN(8, "the next restore builds in the directory this one left");
    free(snap);
    snap = ex_snapshot(20, "d=4", &len);
    rc = restore(r, snap, len);
    EX_CHECK(rc == KV_OK && replica_applied(r) == 20, "a second, newer snapshot (index 20) "
             "installs too (got %s, index %llu)", kv_strerror(rc),
             (unsigned long long)replica_applied(r));
    ex_replica_expect(r, "d", "4", "the restored engine holds every record of the snapshot");
    ex_replica_expect(r, "a", "-", "the restored engine holds the snapshot's records and no other");
    /* A third, with no reopen between: the second built data-a, so the
     * third builds data-b. */
    free(snap);
    snap = ex_snapshot(30, "e=5", &len);
    rc = restore(r, snap, len);
    EX_CHECK(rc == KV_OK && replica_applied(r) == 30, "a third snapshot (index 30) installs "
             "too (got %s, index %llu)", kv_strerror(rc), (unsigned long long)replica_applied(r));
    size_t got = 0;
    uint8_t *line = ex_read_file(harness_join(dir, "REPLICA"), &got);
    EX_CHECK(got == 7 && memcmp(line, "data-b\n", 7) == 0 &&
                 ex_files_in(harness_join(dir, "data-a")) == 0,
             "each restore builds the new engine in the directory that is not the live one, "
             "and the live one becomes the other (r->gen): the second restore built data-a, "
             "so the third, with no reopen between, builds data-b (REPLICA names it) and "
             "clears data-a (REPLICA holds \"%.*s\", data-a %zu files); building in the "
             "live directory clears the files of the engine still open there",
             (int)(got > 0 ? got - 1 : 0), (const char *)line,
             ex_files_in(harness_join(dir, "data-a")));
    free(line);
    ex_replica_expect(r, "e", "5", "the restored engine holds every record of the snapshot");
    ex_replica_expect(r, "d", "-", "the restored engine holds the snapshot's records and no other");
    ex_replica_close(r);
    r = ex_replica_open(dir);
    EX_CHECK(replica_applied(r) == 30 && strcmp(ex_replica_value(r, "e"), "5") == 0, "after a reopen "
             "the replica is the third restore's engine, at index 30 (got %llu)",
             (unsigned long long)replica_applied(r));
    ex_replica_close(r);
    free(snap);
}

static void snapshot_install_an_older_snapshot_changes_nothing(void)
{
    const char *dir = snap_dir("r");
    replica *r = ex_replica_at(dir, 10, "a=mine n=10");
    EX_RULE_BEGIN(2, "a snapshot at or below the applied index changes nothing");
    size_t len;
    uint8_t *snap = ex_snapshot(5, "a=old", &len);
    int rc = EX_KV(restore(r, snap, len));
    EX_CHECK(rc == KV_OK, "a snapshot older than the engine is no error: KV_OK, and nothing "
             "changes (got %s: %s)", kv_strerror(rc), ex_errmsg(rc));
    EX_CHECK(replica_applied(r) == 10, "a restore never rolls a newer engine back: a "
             "snapshot at 5 leaves a replica at 10 at 10 (got %llu)",
             (unsigned long long)replica_applied(r));
    ex_replica_expect(r, "a", "mine", "a restore never rolls a newer engine back: a snapshot at 5 "
                 "changes nothing in an engine at 10");
    free(snap);
    snap = ex_snapshot(10, "a=other", &len);
    rc = EX_KV(restore(r, snap, len));
    EX_CHECK(rc == KV_OK, "a snapshot at the engine's own index is no error (got %s: %s)",
             kv_strerror(rc), ex_errmsg(rc));
    ex_replica_expect(r, "a", "mine", "a snapshot at the engine's own index changes nothing: the "
                 "engine is already as new");
    ex_replica_expect(r, "n", "10", "a snapshot at the engine's own index changes nothing");
    ex_replica_close(r);
    r = ex_replica_open(dir);
    EX_CHECK(replica_applied(r) == 10 && strcmp(ex_replica_value(r, "a"), "mine") == 0, "after a reopen "
             "the replica is as it was before the two snapshots, at 10 (got %llu)",
             (unsigned long long)replica_applied(r));
    ex_replica_close(r);
    free(snap);
}

static void snapshot_install_a_damaged_snapshot_is_refused(void)
{
    const char *dir = snap_dir("r");
    replica *r = ex_replica_at(dir, 3, "mine=1");
    size_t len;
    uint8_t *snap = ex_snapshot(10, "a=1 b=2", &len);
    EX_RULE_BEGIN(1, "snapshot_check first: a damaged snapshot refused, nothing changed");
    for (size_t at = 0; at < len; at++) {
        snap[at] ^= 0x20;
        ex_seed("snapshot", snap, len);
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
        snap = ex_snapshot(10, bad[i], &len);
        int rc = restore(r, snap, len);
        EX_CHECK(rc == KV_ERR_CORRUPT, "a snapshot at index 10 whose checksum holds but whose "
                 "records are not in increasing key order (%s) is refused as KV_ERR_CORRUPT "
                 "(snapshot_check, before anything changes; got %s)", bad[i], kv_strerror(rc));
    }
    EX_CHECK(replica_applied(r) == 3, "a refused snapshot changes nothing: the replica is at "
             "3 (got %llu)", (unsigned long long)replica_applied(r));
    ex_replica_expect(r, "mine", "1", "a refused snapshot changes nothing");
    ex_replica_expect(r, "a", "-", "a refused snapshot changes nothing");
    ex_replica_close(r);
    r = ex_replica_open(dir);
    EX_CHECK(replica_applied(r) == 3 && strcmp(ex_replica_value(r, "mine"), "1") == 0, "after refused "
             "snapshots a reopen finds the replica as it was, at 3 (got %llu)",
             (unsigned long long)replica_applied(r));
    ex_replica_close(r);
    free(snap);
}

static void snapshot_install_every_record_of_a_large_snapshot(void)
{
    const char *dir = snap_dir("r");
    replica *r = ex_replica_at(dir, 1, "x=1");
    EX_RULE_BEGIN(5, "records in kv_writes of bounded records and bytes, every one written once");
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
    int rc = EX_KV(restore(r, p, at + 4));
    EX_CHECK(rc == KV_OK, "a snapshot of %d records and %zu bytes, more than one kv_write "
             "holds (KV_MAX_BATCH_BYTES), installs: its records are written in kv_writes of at "
             "most RESTORE_BATCH_OPS records and about RESTORE_BATCH_BYTES bytes (got %s: %s)",
             N, at, kv_strerror(rc), ex_errmsg(rc));
    EX_CHECK(replica_applied(r) == 77, "the replica takes the snapshot's index, 77 (got %llu)",
             (unsigned long long)replica_applied(r));
    uint64_t seq = ex_stat(replica_db(r), "seq.last");
    EX_CHECK(seq == N + 1, "each record of the snapshot is written once, then the applied "
             "index: %d writes in the new engine (its seq.last; got %llu): a batch is emptied "
             "(kv_batch_clear) after each kv_write, else its records are written again with "
             "the next", N + 1, (unsigned long long)seq);
    size_t n = ex_client_keys(r);
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
    ex_replica_close(r);
    free(p);
}

static void snapshot_install_records_are_written_in_batches(void)
{
    /* 5,000 small records: two batches of RESTORE_BATCH_OPS records at
     * most, each kv_write synced, counted in the power-loss simulator's
     * journal. */
    const char *root = ex_sim_root();
    replica *r = ex_replica_at(harness_join(root, "r"), 1, "x=1");
    EX_RULE_BEGIN(5, "records in kv_writes of at most RESTORE_BATCH_OPS records");
    enum { N = 5000 };
    size_t len;
    uint8_t *p = ex_snapshot_keys(9, N, &len);
    size_t from = io_sim_position();
    int rc = EX_KV(restore(r, p, len));
    size_t to = io_sim_position();
    ex_replica_close(r);
    io_sim_uninstall();
    EX_CHECK(rc == KV_OK, "a snapshot of %d records installs (got %s: %s)", N, kv_strerror(rc),
             ex_errmsg(rc));
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
    replica *r = ex_replica_at(dir, 3, "mine=1");
    EX_RULE_BEGIN(7, "an error before the switch leaves the old engine live, the new one closed");
    enum { N = 5000 };
    size_t len;
    uint8_t *p = ex_snapshot_keys(9, N, &len);
    size_t fds = open_fds();
    int installed = 0;
    for (long fail = 1; fail < 400 && !installed; fail++) {
        io_fault_plan plan = {.kinds = IO_FAULT_WRITES, .fail_at = fail};
        io_fault_install(&plan);
        harness_context("replica_restore of %d records whose write call number %ld (an append, "
                        "a sync or a truncate) fails: the old engine stays the live one, as it "
                        "was, and the one being built is closed", N, fail);
        int rc = EX_KV(replica_restore(r, p, len));
        long failures = io_fault_failures();
        io_fault_uninstall();
        if (failures == 0) {
            EX_CHECK(rc == KV_OK, "a restore that met no I/O error installs (got %s: %s)",
                     kv_strerror(rc), ex_errmsg(rc));
            installed = 1;
            break;
        }
        if (rc == KV_OK) {
            /* The failed call did not stop the restore (a sync of the old
             * engine's leftovers, say): the snapshot is installed. */
            EX_CHECK(replica_applied(r) == 9 && ex_client_keys(r) == N, "a restore that "
                     "answered KV_OK after write call %ld failed holds the snapshot: index 9, "
                     "%d keys (got %llu, %zu): an error a kv_write returns is never lost",
                     fail, N, (unsigned long long)replica_applied(r), ex_client_keys(r));
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
    ex_replica_close(r);
    r = ex_replica_open(dir);
    EX_CHECK(replica_applied(r) == 9 && ex_client_keys(r) == N, "after the failed restores and the "
             "one that succeeded, a reopen finds the snapshot's engine, at 9, with its %d keys "
             "(got %llu, %zu)", N, (unsigned long long)replica_applied(r), ex_client_keys(r));
    ex_replica_close(r);
    free(p);
}

static void snapshot_install_a_failed_open_leaves_replica_naming_the_old_engine(void)
{
    /* Every file open of the restore failed in turn, once: the new
     * engine's, twice (loaded, then opened again with the replica's
     * options), and REPLICA.tmp's.  An open is never a step after the
     * switch, so a restore that fails leaves REPLICA naming the old engine
     * as well as running it. */
    const char *dir = snap_dir("r");
    replica *r = ex_replica_at(dir, 3, "mine=1");
    EX_RULE_BEGIN(7, "the switch only after the new engine is open again; an error leaves the old "
                  "engine live, REPLICA naming it");
    char old[16];
    snprintf(old, sizeof old, "%s", ex_replica_live(dir));
    size_t len;
    uint8_t *p = ex_snapshot(9, "a=1 b=2", &len);
    size_t fds = open_fds();
    int installed = 0, failed = 0;
    for (long fail = 1; fail < 200 && !installed; fail++) {
        io_fault_plan plan = {.kinds = IO_FAULT_OPEN, .fail_at = fail};
        io_fault_install(&plan);
        harness_context("replica_restore of a snapshot at 9 (a=1 b=2) over a replica at 3 whose "
                        "file open number %ld fails: a restore that fails leaves the old engine "
                        "live and REPLICA naming it, %s", fail, old);
        int rc = EX_KV(replica_restore(r, p, len));
        long failures = io_fault_failures();
        io_fault_uninstall();
        if (failures == 0 || rc == KV_OK) {
            EX_CHECK(rc == KV_OK, "a restore that met no I/O error installs (got %s: %s)",
                     kv_strerror(rc), ex_errmsg(rc));
            installed = 1;
            break;
        }
        failed++;
        const char *live = ex_replica_live(dir);
        EX_CHECK(strcmp(live, old) == 0 && replica_applied(r) == 3 &&
                     strcmp(ex_replica_value(r, "mine"), "1") == 0,
                 "a restore that fails (file open %ld failed: %s) leaves the old engine live "
                 "and REPLICA naming it, %s: the switch (replica_dir_write) comes only once the "
                 "new engine is loaded, durable and open again with the replica's options, so "
                 "no failure comes after it (got REPLICA naming %s, index %llu): a replica "
                 "running one engine while REPLICA names the other loses what it applies at "
                 "the next restart", fail, ex_kv_errmsg(), old, live[0] ? live : "nothing",
                 (unsigned long long)replica_applied(r));
    }
    EX_CHECK(installed && failed > 0, "test setup: the restore meets a failed open, then "
             "installs within 200 opens (%d failed)", failed);
    EX_CHECK(open_fds() == fds, "a restore that fails closes the engine it was building: after "
             "the failed restores and the one that succeeded the process holds %zu open file "
             "descriptors, %zu before them", open_fds(), fds);
    EX_CHECK(replica_applied(r) == 9 && strcmp(ex_replica_live(dir), old) != 0,
             "the restore that succeeded switched: index 9, REPLICA naming the other engine "
             "(got %llu, %s)", (unsigned long long)replica_applied(r), ex_replica_live(dir));
    ex_replica_close(r);
    free(p);
}

static void snapshot_install_keeps_no_memory(void)
{
    /* Snapshots of 1 MiB (16 values of 64 KiB): what a restore allocates
     * for its records (the batch) is freed when it returns, so the heap
     * in use stays about where it was. */
    replica *r = ex_replica_at(snap_dir("r"), 1, "x=1");
    EX_RULE_BEGIN(8, "nothing the restore allocated is kept");
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
        int rc = EX_KV(restore(r, p, at + 4));
        EX_CHECK(rc == KV_OK, "a snapshot of 1 MiB at index %llu installs (got %s: %s)",
                 (unsigned long long)index, kv_strerror(rc), ex_errmsg(rc));
        if (index == 5)
            before = mallinfo2().uordblks;
    }
    size_t after = mallinfo2().uordblks;
    EX_CHECK(after <= before + (4u << 20), "10 restores of 1 MiB snapshots left %zu more bytes "
             "of the heap in use: a restore frees what it allocated (its batch, kv_batch_free) "
             "when it returns", after > before ? after - before : 0);
    ex_replica_close(r);
    free(p);
}

static void snapshot_install_clears_the_other_directory_first(void)
{
    /* A restore that crashed before its switch left an engine in the
     * other directory: a key the snapshot does not hold, and an applied
     * index of its own. */
    const char *dir = snap_dir("r");
    replica *r = ex_replica_at(dir, 3, "mine=1");
    const char *other = strcmp(ex_replica_live(dir), "data-a") == 0 ? "data-b" : "data-a";
    kv_db *db = ex_open(harness_join(dir, other), NULL, "test setup: an engine left in the "
                        "other directory");
    uint8_t at[8];
    coding_put_u64(at, 99);
    EX_CHECK(EX_KV(kv_put(db, "ghost", 5, "1", 1)) == KV_OK &&
                 EX_KV(kv_put(db, REPLICA_APPLIED_KEY, REPLICA_APPLIED_KEY_LEN, at, 8)) == KV_OK &&
                 EX_KV(kv_close(db)) == KV_OK,
             "test setup: the leftovers written: %s", ex_kv_errmsg());
    EX_RULE_BEGIN(3, "the other directory cleared before the new engine is opened in it");
    size_t len;
    uint8_t *snap = ex_snapshot(10, "a=1 b=2", &len);
    harness_context("replica_restore of a snapshot at index 10 (a, b) while %s, the other engine "
                    "directory, holds what a restore that crashed left there (ghost, an applied "
                    "index of 99): cleared first, it holds only the snapshot's records", other);
    int rc = EX_KV(replica_restore(r, snap, len));
    EX_CHECK(rc == KV_OK, "a snapshot at 10 installs over a replica at 3 whose other directory "
             "holds leftovers (got %s: %s)", kv_strerror(rc), ex_errmsg(rc));
    ex_replica_expect(r, "ghost", "-", "the other engine directory is cleared before the new "
                      "engine is opened in it: what a restore that crashed left there is no "
                      "record of the snapshot");
    EX_CHECK(ex_client_keys(r) == 2 && replica_applied(r) == 10, "the restored engine holds the "
             "snapshot's 2 records and no other key, at its index 10 (got %zu keys, index "
             "%llu): the other directory is cleared first", ex_client_keys(r),
             (unsigned long long)replica_applied(r));
    ex_replica_close(r);
    r = ex_replica_open(dir);
    ex_replica_expect(r, "ghost", "-", "after a reopen the restored engine holds the snapshot's "
                      "records and no leftover");
    ex_replica_close(r);
    free(snap);
}

static void snapshot_install_clears_the_other_only_once_replica_names_the_live_one(void)
{
    /* What a switch whose directory sync failed after its rename leaves:
     * the replica runs its engine while REPLICA names the other, which
     * holds a whole engine (here the same records at the same index).  A
     * restore then fails at each file open in turn; after each, the
     * replica is reopened from its directory, as after a crash, and must
     * find mine=1 at index 3 whichever engine REPLICA names. */
    EX_RULE_BEGIN(3, "the other directory cleared only once REPLICA names the live engine, "
                  "durably");
    size_t len;
    uint8_t *p = ex_snapshot(9, "a=1 b=2", &len);
    int installed = 0, failed = 0;
    for (long fail = 1; fail < 200 && !installed; fail++) {
        char name[32];
        snprintf(name, sizeof name, "held%ld", fail);
        const char *dir = snap_dir(name);
        replica *r = ex_replica_at(dir, 3, "mine=1");
        char live[16];
        snprintf(live, sizeof live, "%s", ex_replica_live(dir));
        const char *other = strcmp(live, "data-a") == 0 ? "data-b" : "data-a";
        kv_db *db = ex_open(harness_join(dir, other), NULL, "test setup: a whole engine in the "
                            "other directory");
        uint8_t at[8];
        coding_put_u64(at, 3);
        char line[16];
        int n = snprintf(line, sizeof line, "%s\n", other);
        EX_CHECK(EX_KV(kv_put(db, "mine", 4, "1", 1)) == KV_OK &&
                     EX_KV(kv_put(db, REPLICA_APPLIED_KEY, REPLICA_APPLIED_KEY_LEN, at, 8)) ==
                         KV_OK &&
                     EX_KV(kv_close(db)) == KV_OK &&
                     EX_KV(io_replace(dir, "REPLICA", line, (size_t)n, NULL)) == KV_OK,
                 "test setup: the other engine and REPLICA naming it written: %s",
                 ex_kv_errmsg());
        io_fault_plan plan = {.kinds = IO_FAULT_OPEN, .fail_at = fail};
        io_fault_install(&plan);
        harness_context("replica_restore of a snapshot at 9 (a=1 b=2) over a replica at 3 that "
                        "runs %s while REPLICA names %s (a switch whose directory sync failed "
                        "left it so), file open number %ld failing; then the replica reopened "
                        "from its directory", live, other, fail);
        int rc = EX_KV(replica_restore(r, p, len));
        char why[256];
        snprintf(why, sizeof why, "%s", ex_errmsg(rc));
        long failures = io_fault_failures();
        io_fault_uninstall();
        ex_replica_close(r);
        if (failures == 0 || rc == KV_OK) {
            EX_CHECK(rc == KV_OK, "a restore that met no I/O error installs (got %s: %s)",
                     kv_strerror(rc), why);
            installed = 1;
            break;
        }
        failed++;
        r = ex_replica_open(dir);
        const char *named = ex_replica_live(dir);
        EX_CHECK(replica_applied(r) == 3 && strcmp(ex_replica_value(r, "mine"), "1") == 0,
                 "a restore that failed (file open %ld: %s), then a reopen: REPLICA names %s, "
                 "whose engine is at index %llu, mine %s, where both engines held mine=1 at "
                 "index 3 before the restore: the other directory was cleared while REPLICA "
                 "named it.  replica_dir_hold(r->dir, r->gen) first, so that REPLICA names "
                 "the live engine, durably, before anything is cleared",
                 fail, why, named[0] ? named : "nothing",
                 (unsigned long long)replica_applied(r), ex_replica_value(r, "mine"));
        ex_replica_close(r);
    }
    EX_CHECK(installed && failed > 0, "test setup: the restore meets a failed open, then "
             "installs within 200 opens (%d failed)", failed);
    free(p);
}

static void snapshot_install_a_value_as_large_as_a_batch_is_alone_in_it(void)
{
    /* 100 records of 1 KiB, then one whose value is KV_MAX_VALUE bytes:
     * with the 100 KiB before it, more than one kv_write holds
     * (KV_MAX_BATCH_BYTES), unless the batch is written before it is
     * added. */
    enum { SMALL = 100, SV = 1024 };
    size_t cap = SNAPSHOT_HEADER + SMALL * (8 + 4 + SV) + 9 + KV_MAX_VALUE + 13 + 4;
    uint8_t *p = malloc(cap);
    EX_CHECK(p != NULL, "test setup: out of memory");
    size_t at = SNAPSHOT_HEADER;
    for (int i = 0; i < SMALL; i++) {
        coding_put_u32(p + at, 4);
        coding_put_u32(p + at + 4, SV);
        snprintf((char *)p + at + 8, 5, "k%03d", i);
        memset(p + at + 12, 's', SV);
        at += 12 + SV;
    }
    coding_put_u32(p + at, 1);
    coding_put_u32(p + at + 4, KV_MAX_VALUE);
    p[at + 8] = 'z';
    memset(p + at + 9, 'Z', KV_MAX_VALUE);
    at += 9 + KV_MAX_VALUE;
    coding_put_u32(p + at, 2);
    coding_put_u32(p + at + 4, 3);
    memcpy(p + at + 8, "zzend", 5);
    at += 13;
    size_t len = ex_snapshot_seal(p, at, 40, SMALL + 2);
    replica *r = ex_replica_at(snap_dir("r"), 1, "x=1");
    EX_RULE_BEGIN(5, "a batch written before the record that would take it past "
                  "RESTORE_BATCH_BYTES");
    int rc = EX_KV(restore(r, p, len));
    EX_CHECK(rc == KV_OK, "a snapshot whose record of a %u-byte value (KV_MAX_VALUE) follows "
             "%d records of %d bytes installs: the batch is written before a record that "
             "would take it past RESTORE_BATCH_BYTES is added, so that record is alone in its "
             "kv_write; added first, the batch would hold more than KV_MAX_BATCH_BYTES, which "
             "no kv_write takes (got %s: %s)", KV_MAX_VALUE, SMALL, SV, kv_strerror(rc),
             ex_errmsg(rc));
    void *v = NULL;
    size_t vlen = 0;
    rc = kv_get(replica_db(r), "z", 1, &v, &vlen);
    EX_CHECK(rc == KV_OK && vlen == KV_MAX_VALUE && ((uint8_t *)v)[vlen - 1] == 'Z',
             "the restored engine holds the record of the largest value, z, whole (got %s, "
             "%zu bytes)", kv_strerror(rc), vlen);
    kv_free(v);
    EX_CHECK(ex_client_keys(r) == SMALL + 2 && replica_applied(r) == 40 &&
                 strcmp(ex_replica_value(r, "zz"), "end") == 0 &&
                 ex_stat(replica_db(r), "seq.last") == SMALL + 3,
             "every record of the snapshot is written once, the record after the largest "
             "value too, then the index: %d keys at index 40, %d writes (got %zu keys, "
             "index %llu, seq.last %llu)", SMALL + 2, SMALL + 3, ex_client_keys(r),
             (unsigned long long)replica_applied(r),
             (unsigned long long)ex_stat(replica_db(r), "seq.last"));
    ex_replica_close(r);
    free(p);
}

static void snapshot_install_the_live_engine_has_the_replica_options(void)
{
    /* The replica's own options sync nothing (sync = 0, kv_options_init's
     * default): after a restore, a kv_put on the live engine makes no
     * file sync. */
    const char *root = ex_sim_root();
    replica *r = ex_replica_at(harness_join(root, "r"), 1, "x=1");
    size_t len;
    uint8_t *snap = ex_snapshot(5, "a=1", &len);
    int rc = EX_KV(restore(r, snap, len));
    EX_CHECK(rc == KV_OK, "test setup: a snapshot at 5 installs (got %s: %s)", kv_strerror(rc),
             ex_errmsg(rc));
    EX_RULE_BEGIN(4, "the new engine opened again with the replica's own options");
    size_t from = io_sim_position();
    rc = kv_put(replica_db(r), "b", 1, "2", 1);
    size_t to = io_sim_position();
    ex_replica_close(r);
    io_sim_uninstall();
    size_t syncs = 0;
    for (size_t j = from; j < to; j++)
        syncs += io_sim_kind(j) == IO_SIM_SYNC;
    io_sim_reset();
    EX_CHECK(rc == KV_OK && syncs == 0, "after a restore the live engine runs with the "
             "replica's own options (here sync = 0): the engine loaded with sync = 1 is "
             "closed and opened again with r->opt before the switch, else every later apply "
             "waits for the disk; one kv_put made %zu file syncs (got %s)", syncs,
             kv_strerror(rc));
    free(snap);
}

/* A restore of 4,500 records (two batches) recorded in the power-loss
 * simulator's journal, then each state a power cut (power: what was not
 * synced is lost, names too) or a kill (every write kept) could leave
 * after any of its file operations, reopened: the old engine, whole, or
 * the new one, whole; and after the old one, a second restore must hold
 * exactly its own records (the first left a half-built engine in the
 * other directory). */
static void snapshot_install_cut_at_each_step(int power)
{
    const char *root = ex_sim_root();
    const char *dir = harness_join(root, "r");
    replica *r = ex_replica_at(dir, 3, "mine=1 old=x");
    /* The replica as set up is on stable storage, its directories' names
     * too (kv_open does not sync the directory it is made in). */
    EX_CHECK(EX_KV(io_sync_dir(root)) == KV_OK && EX_KV(io_sync_dir(dir)) == KV_OK &&
                 EX_KV(io_sync_dir(harness_join(dir, ex_replica_live(dir)))) == KV_OK,
             "test setup: the replica's directories synced: %s", ex_kv_errmsg());
    char fresh[16];
    snprintf(fresh, sizeof fresh, "%s/", strcmp(ex_replica_live(dir), "data-a") == 0
                                             ? "data-b" : "data-a");
    enum { N = 4500 };
    size_t len;
    uint8_t *p = ex_snapshot_keys(10, N, &len);
    size_t from = io_sim_position();
    int rc = EX_KV(restore(r, p, len));
    size_t to = io_sim_position();
    ex_replica_close(r);
    io_sim_uninstall();
    free(p);
    EX_CHECK(rc == KV_OK, "test setup: a snapshot of %d records installs (got %s: %s)", N,
             kv_strerror(rc), ex_errmsg(rc));
    EX_CHECK(io_sim_untracked() == 0, "test setup: the power-loss simulator followed every "
             "file operation (%ld it could not)", io_sim_untracked());
    /* Where the switch is, and the last write of the load. */
    size_t switched = 0, loaded = 0;
    char what[256];
    for (size_t j = from; j < to; j++) {
        io_sim_describe(j, what, sizeof what);
        if (io_sim_kind(j) == IO_SIM_RENAME && strstr(what, "REPLICA") != NULL && !switched)
            switched = j + 1;
        if (io_sim_kind(j) == IO_SIM_APPEND && strstr(what, fresh) != NULL)
            loaded = j + 1;
    }
    uint8_t *small = ex_snapshot(12, "s=1", &len);
    for (size_t at = from; at <= to; at++) {
        const char *state = ex_sim_cut(at, from, power, what, sizeof what);
        const char *sdir = harness_join(state, "r");
        EX_RULE_BEGIN(7, "a crash at any step leaves an engine that opens, the old or the new");
        replica *s = ex_replica_open(sdir);
        uint64_t applied = replica_applied(s);
        size_t keys = ex_client_keys(s);
        char mine[64];
        snprintf(mine, sizeof mine, "%s", ex_replica_value(s, "mine"));
        int was = applied == 3 && keys == 2 && strcmp(mine, "1") == 0;
        int now = applied == 10 && keys == N && strcmp(mine, "-") == 0 &&
                  strcmp(ex_replica_value(s, "k04499"), "vvvvvvvv") == 0;
        if (!was && !now) {
            int names_new = strncmp(ex_replica_live(sdir), fresh, 6) == 0;
            if (names_new && switched > 0 && switched <= loaded)
                EX_RULE_BEGIN(7, "the switch is the commit point, only after the load");
            else if (names_new)
                EX_RULE_BEGIN(4, "the new engine durable before the switch names it");
            else
                EX_RULE_BEGIN(7, "before the switch the old engine stays as it was");
        }
        EX_CHECK(was || now, "%s after %zu of the restore's %zu file operations (the last: "
                 "%s), the replica reopens at index %llu with %zu client keys (mine %s), "
                 "REPLICA naming %s: neither the old engine (index 3, mine = 1, 2 keys) nor "
                 "the new one (index 10, the snapshot's %d keys, no mine); the switch "
                 "(replica_dir_write, the commit point) was file operation %zu, the load's last "
                 "write %zu", power ? "a power cut" : "a kill", at - from, to - from, what,
                 (unsigned long long)applied, keys, strcmp(mine, "-") == 0 ? "absent" : mine,
                 ex_replica_live(sdir), N, switched - from, loaded - from);
        if (was) {
            EX_RULE_BEGIN(3, "the other directory cleared first: a crash left a half-built engine "
                          "there");
            harness_context("replica_restore of a snapshot at 12 (s=1) after %s after %zu of a "
                            "restore's %zu file operations: the other directory may hold what "
                            "that restore built", power ? "a power cut" : "a kill", at - from,
                            to - from);
            rc = replica_restore(s, small, len);
            EX_CHECK(rc == KV_OK && replica_applied(s) == 12 && ex_client_keys(s) == 1 &&
                         strcmp(ex_replica_value(s, "s"), "1") == 0,
                     "after %s after %zu of a restore's %zu file operations left the old "
                     "engine, a restore of a snapshot at 12 (s=1) holds exactly its record: "
                     "the other directory, which may hold the half-built engine, is cleared "
                     "first (got %s, index %llu, %zu keys)", power ? "a power cut" : "a kill",
                     at - from, to - from, kv_strerror(rc),
                     (unsigned long long)replica_applied(s), ex_client_keys(s));
        }
        ex_replica_close(s);
    }
    free(small);
    io_sim_reset();
}

static void snapshot_install_power_cut_at_each_step(void)
{
    snapshot_install_cut_at_each_step(1);
}

static void snapshot_install_kill_at_each_step(void)
{
    snapshot_install_cut_at_each_step(0);
}

static const harness_test tests[] = {
    HARNESS_TEST(snapshot_install_a_newer_snapshot_replaces_the_engine),
    HARNESS_TEST(snapshot_install_an_older_snapshot_changes_nothing),
    HARNESS_TEST(snapshot_install_a_damaged_snapshot_is_refused),
    HARNESS_TEST(snapshot_install_every_record_of_a_large_snapshot),
    HARNESS_TEST(snapshot_install_records_are_written_in_batches),
    HARNESS_TEST(snapshot_install_an_io_error_leaves_the_old_engine),
    HARNESS_TEST(snapshot_install_a_failed_open_leaves_replica_naming_the_old_engine),
    HARNESS_TEST(snapshot_install_keeps_no_memory),
    HARNESS_TEST(snapshot_install_clears_the_other_directory_first),
    HARNESS_TEST(snapshot_install_clears_the_other_only_once_replica_names_the_live_one),
    HARNESS_TEST(snapshot_install_a_value_as_large_as_a_batch_is_alone_in_it),
    HARNESS_TEST(snapshot_install_the_live_engine_has_the_replica_options),
    /* The crash rung runs the tests named *_kill_*, the power rung those
     * named *_power_* (grade/grade.sh); the exercises rung, the others. */
    HARNESS_TEST(snapshot_install_power_cut_at_each_step),
    HARNESS_TEST(snapshot_install_kill_at_each_step),
};
const harness_suite snapshot_install_suite = HARNESS_SUITE("snapshot_install", tests);
