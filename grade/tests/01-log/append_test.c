/*
 * append_test.c: exercise append, log_db_append (stages/01-log/log/log_db.c):
 * the records of a put, a delete or a batch written with one write, and a
 * failed write undone.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "ex_log.h"
#include "exercise.h"
#include "file_header.h"
#include "io_fault.h"
#include "kv.h"
#include "log_db.h"
#include "log_record.h"
#include "txn.h"

static kv_db *append_open(const char *dir, int strict)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.strict_recovery = strict;
    kv_db *db = NULL;
    int rc = EX_KV(kv_open(dir, &opt, &db));
    EX_CHECK(rc == KV_OK, "kv_open of the test's database: %s", ex_errmsg(rc));
    return db;
}

/* A database with "a" = "1", closed. */
static const char *append_db(void)
{
    /* A name with "%%" in it: a message that takes text it was given (a
     * path, kv_errmsg()) as a format would print one "%" for the two. */
    const char *dir = harness_join(harness_tmpdir(), "db%%");
    kv_db *db = append_open(dir, 0);
    harness_context("kv_put(a = 1) on a fresh database (log_db_append): one record, written with "
                    "one append, end moved past it");
    EX_CHECK(EX_KV(kv_put(db, "a", 1, "1", 1)) == KV_OK, "kv_put a: %s", ex_kv_errmsg());
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
    return dir;
}

static uint64_t append_log_size(const char *dir)
{
    struct stat st;
    EX_CHECK(stat(harness_join(dir, "data.log"), &st) == 0, "data.log exists");
    return (uint64_t)st.st_size;
}

/* What data.log of dir says of key, read by the test itself (not by the
 * get, a later exercise): the value of its last record if that is a put
 * (1, *vlen set, the value copied into val[0, cap)), 0 if it has none or
 * its last is a delete.  Records from LOG_DB_START, as log_record.h lays
 * them out; a record cut short by the end of the file ends the walk. */
static int append_log_value(const char *dir, const char *key, char *val, size_t cap,
                            size_t *vlen)
{
    size_t n = 0;
    uint8_t *f = ex_read_file(harness_join(dir, "data.log"), &n);
    size_t klen = strlen(key);
    int found = 0;
    for (size_t at = LOG_DB_START; at + LOG_RECORD_HEADER <= n;) {
        size_t kl = (size_t)f[at + 4] | (size_t)f[at + 5] << 8;
        uint32_t vf = (uint32_t)f[at + 6] | (uint32_t)f[at + 7] << 8 | (uint32_t)f[at + 8] << 16 |
                      (uint32_t)f[at + 9] << 24;
        size_t size = kl == 0 && vf == LOG_RECORD_SEAL ? LOG_RECORD_SEAL_SIZE
                      : vf == LOG_RECORD_TOMBSTONE     ? LOG_RECORD_HEADER + kl
                                                       : LOG_RECORD_HEADER + kl + vf;
        if (kl == 0 && vf != LOG_RECORD_SEAL)
            break;
        if (at + size > n)
            break;
        if (kl == klen && memcmp(f + at + LOG_RECORD_HEADER, key, klen) == 0) {
            found = vf != LOG_RECORD_TOMBSTONE;
            if (found) {
                *vlen = vf;
                memcpy(val, f + at + LOG_RECORD_HEADER + kl, vf < cap ? vf : cap);
            }
        }
        at += size;
    }
    free(f);
    return found;
}

static void append_one_write_per_call(void)
{
    const char *dir = append_db();
    io_fault_plan count = {.kinds = IO_FAULT_APPEND};
    io_fault_install(&count);
    kv_db *db = append_open(dir, 0);
    long before = io_fault_calls();
    harness_context("kv_put(b = 22) (log_db_append): a put is one append, one writev of header, "
                    "key and value, laid out as log_record.h says");
    EX_CHECK(EX_KV(kv_put(db, "b", 1, "22", 2)) == KV_OK, "kv_put: %s", ex_kv_errmsg());
    EX_CHECK(io_fault_calls() == before + 1, EX_RULE(3, "one io_append") "a put is one append "
             "(one writev of header, key "
             "and value), so that a kill never leaves half of it before a later record "
             "(got %ld appends)", io_fault_calls() - before);
    kv_batch *b = NULL;
    EX_CHECK(kv_batch_new(&b) == KV_OK, "kv_batch_new");
    kv_batch_put(b, "c", 1, "333", 3);
    kv_batch_delete(b, "a", 1);
    kv_batch_put(b, "d", 1, "", 0);
    before = io_fault_calls();
    harness_context("kv_write of a batch of 3 ops (put c, delete a, put d = \"\"): all its records "
                    "are written together with one append");
    EX_CHECK(EX_KV(kv_write(db, b)) == KV_OK, "kv_write: %s", ex_kv_errmsg());
    EX_CHECK(io_fault_calls() == before + 1, EX_RULE(3, "one io_append") "a batch of 3 ops is "
             "written with one append, "
             "all its records together (got %ld appends)", io_fault_calls() - before);
    kv_batch_free(b);
    before = io_fault_calls();
    harness_context("kv_delete(b) (log_db_append): a delete is one append of one record");
    EX_CHECK(EX_KV(kv_delete(db, "b", 1)) == KV_OK, "kv_delete: %s", ex_kv_errmsg());
    EX_CHECK(io_fault_calls() == before + 1, EX_RULE(3, "one io_append") "a delete is one append");
    EX_CHECK(kv_close(db) == KV_OK, "kv_close");
    io_fault_uninstall();

    /* The bytes: the header, then each record as log_record.h lays it out. */
    uint8_t want[256];
    size_t n = 0;
    file_header_encode(want, FILE_MAGIC_LOG01, 1);
    n = 16;
    n += ex_log_record(want + n, "a", 1, "1", 1);
    n += ex_log_record(want + n, "b", 1, "22", 2);
    n += ex_log_record(want + n, "c", 1, "333", 3);
    n += ex_log_record(want + n, "a", 1, NULL, 0);
    n += ex_log_record(want + n, "d", 1, "", 0);
    n += ex_log_record(want + n, "b", 1, NULL, 0);
    size_t got;
    uint8_t *bytes = ex_read_file(harness_join(dir, "data.log"), &got);
    EX_CHECK(got == n && memcmp(bytes, want, n) == 0,
             EX_RULE(3, "the records of ops") "data.log holds exactly the header and one record "
             "per op, in order, as "
             "log_record.h lays them out (%zu bytes expected, %zu found)", n, got);
    free(bytes);
}

static void append_failed_write_is_cut_off(void)
{
    const char *dir = append_db();
    uint64_t size = append_log_size(dir);
    /* The next append writes half of its bytes, then fails (a full disk). */
    io_fault_plan half = {.kinds = IO_FAULT_APPEND, .fail_at = 1, .persistent = 1, .short_write = 1,
                          .err = 28 /* ENOSPC */};
    io_fault_plan none = {.kinds = IO_FAULT_APPEND};
    io_fault_install(&none);
    kv_db *db = append_open(dir, 0); /* its files go through the fault backend */
    io_fault_install(&half);
    harness_context("kv_put(big) whose append writes half its bytes, then fails (ENOSPC): "
                    "KV_ERR_IO, and the half record is cut off (io_truncate back to db->end)");
    int rc = EX_KV(kv_put(db, "big", 3, "0123456789abcdef", 16));
    EX_CHECK(rc == KV_ERR_IO, EX_RULE(6, "a failed append") "is reported: KV_ERR_IO (got %d)", rc);
    char said[1024]; /* the put's message, before ex_stat's call clears kv_errmsg */
    snprintf(said, sizeof said, "%s", kv_errmsg());
    uint64_t end = ex_stat(db, "log.bytes");
    EX_CHECK(end == size, EX_RULE(5, "end moves only once the append has succeeded")
             "after a failed append, db->end (kv_stats' log.bytes) is where it was, %llu: a "
             "record that is not whole in the file is never below end (got %llu)",
             (unsigned long long)size, (unsigned long long)end);
    EX_CHECK(strstr(said, "kv_put") != NULL,
             EX_RULE(6, "the failed append's message") "it names the call that failed "
             "(kv_put), as the library's messages do (got \"%s\")", said);
    EX_CHECK(strstr(said, strerror(ENOSPC)) != NULL,
             EX_RULE(6, "the failed append's message") "it keeps what the I/O layer said of "
             "the append, its cause (\"%s\"), which undoing the append (io_truncate) must "
             "not lose (got \"%s\")", strerror(ENOSPC), said);
    const char *log = harness_join(dir, "data.log");
    EX_CHECK(strstr(said, log) != NULL,
             EX_RULE(6, "the failed append's message") "it names the log as it is (\"%s\"), "
             "kept as text through the undo: what kv_errmsg() said is copied with \"%%s\", "
             "never used as a format itself (got \"%s\")", log, said);
    EX_CHECK(append_log_size(dir) == size,
             EX_RULE(6, "a failed append is cut back") "a failed append is undone: the half "
             "record it left is cut off (io_truncate back "
             "to the end before it), so the next record does not land after garbage (size %llu, "
             "want %llu)", (unsigned long long)append_log_size(dir), (unsigned long long)size);
    io_fault_install(&none);
    harness_context("kv_put(e = 5) after a failed append that was undone: writes go on");
    EX_CHECK(EX_KV(kv_put(db, "e", 1, "5", 1)) == KV_OK,
             EX_RULE(6, "a failed append is cut back") "after a failed append that was undone, "
             "writes go on: %s", ex_kv_errmsg());
    EX_CHECK(kv_close(db) == KV_OK, "kv_close");
    io_fault_uninstall();
    db = append_open(dir, 1); /* strict: it refuses a log with damage in it */
    kv_close(db);
    char got[16];
    size_t vl = 0;
    EX_CHECK(append_log_value(dir, "e", got, sizeof got, &vl) && vl == 1 && got[0] == '5',
             EX_RULE(6, "a failed append is cut back") "the put after the failure is in the "
             "log, after the records before the failure, and a strict reopen finds no damage");
    EX_CHECK(!append_log_value(dir, "big", got, sizeof got, &vl),
             EX_RULE(6, "a failed append is cut back") "the failed put left nothing in the log");
}

static void append_refuses_writes_when_it_cannot_undo(void)
{
    const char *dir = append_db();
    uint64_t size = append_log_size(dir);
    /* The append fails half-way, and so does the io_truncate that would
     * undo it. */
    io_fault_plan stuck = {.kinds = IO_FAULT_APPEND | IO_FAULT_TRUNCATE, .fail_at = 1,
                           .persistent = 1, .short_write = 1};
    io_fault_plan none = {.kinds = IO_FAULT_APPEND};
    io_fault_install(&none);
    kv_db *db = append_open(dir, 0);
    io_fault_install(&stuck);
    harness_context("kv_put(big) whose append fails half-way and whose io_truncate fails too: "
                    "KV_ERR_IO, and db->failed set");
    EX_CHECK(EX_KV(kv_put(db, "big", 3, "0123456789abcdef", 16)) == KV_ERR_IO,
             EX_RULE(7, "a failure that cannot be undone") "the failed append is reported");
    EX_CHECK(strstr(kv_errmsg(), "kv_put") != NULL,
             EX_RULE(6, "the failed append's message") "when the undo (io_truncate) fails too, "
             "the put's message still names the call that failed (kv_put), beside what the I/O "
             "layer said of the append and of the undo, not only the undo's own words (got "
             "\"%s\")", kv_errmsg());
    io_fault_install(&none);
    harness_context("kv_put(e = 5) after a partial record could not be cut off: every later write "
                    "is refused (KV_ERR_IO) until a reopen (invariant 3 of log_db.h)");
    int rc = kv_put(db, "e", 1, "5", 1);
    EX_CHECK(rc == KV_ERR_IO,
             EX_RULE(7, "db->failed") "invariant 3 of log_db.h: once a partial record could not "
             "be cut off, every "
             "later write is refused until a reopen, or it would land after the partial "
             "record, in the middle of the log (got %d)", rc);
    EX_CHECK(append_log_size(dir) > size, "test setup: the partial record is still there");
    EX_CHECK(kv_close(db) == KV_OK, "kv_close");
    io_fault_uninstall();
    db = append_open(dir, 0);
    harness_context("kv_put(e = 5) after a reopen that cut the partial record off: writes work");
    EX_CHECK(kv_put(db, "e", 1, "5", 1) == KV_OK,
             EX_RULE(7, "db->failed") "after a reopen (which cuts the partial record off as a "
             "torn tail), writes work");
    kv_close(db);
    char got[16];
    size_t vl = 0;
    EX_CHECK(append_log_value(dir, "a", got, sizeof got, &vl) && vl == 1 && got[0] == '1',
             EX_RULE(7, "db->failed") "a = 1, written before the failure, is still in the log");
}

static void append_read_only_is_refused(void)
{
    const char *dir = append_db();
    kv_options opt;
    kv_options_init(&opt);
    opt.read_only = 1;
    kv_db *db = NULL;
    EX_CHECK(EX_KV(kv_open(dir, &opt, &db)) == KV_OK, "a read-only open: %s", ex_kv_errmsg());
    uint64_t size = append_log_size(dir);
    harness_context("kv_put(b = 2) on a read-only database: refused, KV_ERR_INVALID, writing "
                    "nothing");
    EX_CHECK(kv_put(db, "b", 1, "2", 1) == KV_ERR_INVALID,
             EX_RULE(2, "a read-only database") "a put on a read-only database is KV_ERR_INVALID");
    EX_CHECK(append_log_size(dir) == size, EX_RULE(2, "a read-only database") "and writes nothing");
    kv_close(db);
}

/* A check that looks whether write_lock is held while it runs. */
typedef struct append_check_seen {
    kv_db *db;
    int calls, lock_was_free;
} append_check_seen;

static int append_check(void *ctx)
{
    append_check_seen *c = ctx;
    c->calls++;
    if (pthread_mutex_trylock(&c->db->write_lock) != EBUSY) {
        c->lock_was_free = 1;
        pthread_mutex_unlock(&c->db->write_lock);
    }
    return KV_OK;
}

static void append_check_alone_holds_the_write_lock(void)
{
    const char *dir = append_db();
    for (int ro = 0; ro <= 1; ro++) {
        kv_options opt;
        kv_options_init(&opt);
        opt.read_only = ro;
        kv_db *db = NULL;
        EX_CHECK(EX_KV(kv_open(dir, &opt, &db)) == KV_OK, "kv_open: %s", ex_kv_errmsg());
        append_check_seen c = {.db = db};
        harness_context("txn_stage_write_checked(db, NULL, 0, check, ctx): kv_txn_check's "
                        "check alone, on a %s database", ro ? "read-only" : "writable");
        int rc = txn_stage_write_checked(db, NULL, 0, append_check, &c);
        EX_CHECK(rc == KV_OK && c.calls == 1,
                 EX_RULE(1, "the check alone") "with no records (kv_txn_check) the check alone "
                 "is called, once, and its "
                 "answer returned, on a read-only database too (got %d, %d calls)", rc, c.calls);
        EX_CHECK(!c.lock_was_free,
                 EX_RULE(1, "the check alone") "the check alone runs holding write_lock, as a "
                 "commit's does: no write may "
                 "come between the check and what the caller does with its answer");
        kv_close(db);
    }
}

static void append_commit_writes_after_its_check(void)
{
    const char *dir = append_db();
    kv_db *db = append_open(dir, 0);
    append_check_seen c = {.db = db};
    batch_op op = {.key = "t", .klen = 1, .val = "txn", .vlen = 3};
    harness_context("txn_stage_write_checked(db, 1 op put t = txn, check, ctx): a commit calls "
                    "its check once, holding write_lock, then writes its records");
    int rc = txn_stage_write_checked(db, &op, 1, append_check, &c);
    EX_CHECK(rc == KV_OK && c.calls == 1,
             EX_RULE(4, "a commit") "a commit calls its check once and, when it passes, writes "
             "its records (got %d, "
             "%d calls)", rc, c.calls);
    EX_CHECK(!c.lock_was_free, EX_RULE(4, "under write_lock") "a commit's check runs holding "
             "write_lock, so that no write "
             "comes between it and the commit's records");
    char got[16];
    size_t vl = 0;
    EX_CHECK(append_log_value(dir, "t", got, sizeof got, &vl) && vl == 3 &&
                 memcmp(got, "txn", 3) == 0,
             EX_RULE(4, "a commit") "a commit whose check passed is written: its records are in "
             "the log, not only checked");
    harness_context("kv_write of an empty batch: with no check, it writes nothing and is KV_OK");
    kv_batch *b = NULL;
    EX_CHECK(kv_batch_new(&b) == KV_OK, "kv_batch_new");
    EX_CHECK(kv_write(db, b) == KV_OK, EX_RULE(2, "no ops and no check") "an empty batch, with "
             "no check, writes nothing and is "
             "KV_OK");
    kv_batch_free(b);
    kv_close(db);
}

static int append_check_refuses(void *ctx)
{
    append_check_seen *c = ctx;
    c->calls++;
    return kv_error(KV_ERR_CONFLICT, "the test's check refuses");
}

static void append_refused_commit_writes_nothing(void)
{
    const char *dir = append_db();
    kv_db *db = append_open(dir, 0);
    uint64_t size = append_log_size(dir);
    append_check_seen c = {.db = db};
    batch_op op = {.key = "t", .klen = 1, .val = "txn", .vlen = 3};
    harness_context("txn_stage_write_checked(db, 1 op put t = txn, a check that refuses): the "
                    "check's error is returned and nothing is written");
    int rc = txn_stage_write_checked(db, &op, 1, append_check_refuses, &c);
    EX_CHECK(rc == KV_ERR_CONFLICT && c.calls == 1,
             EX_RULE(4, "a check that refuses") "a commit whose check refuses returns the "
             "check's error, KV_ERR_CONFLICT, having called it once (got %d, %d calls)", rc,
             c.calls);
    EX_CHECK(append_log_size(dir) == size,
             EX_RULE(4, "a check that refuses") "nothing is written: data.log is %llu bytes, "
             "as before (got %llu)", (unsigned long long)size,
             (unsigned long long)append_log_size(dir));
    char got[16];
    size_t vl = 0;
    EX_CHECK(!append_log_value(dir, "t", got, sizeof got, &vl),
             EX_RULE(4, "a check that refuses") "the refused commit's put is not in the log");
    kv_close(db);
}

static void append_counts_puts_and_deletes(void)
{
    const char *dir = append_db();
    kv_db *db = append_open(dir, 0);
    harness_context("kv_put(b), kv_delete(a), kv_delete(b): each record appended is counted, puts "
                    "and deletes apart (session.puts, session.deletes)");
    EX_CHECK(EX_KV(kv_put(db, "b", 1, "2", 1)) == KV_OK, "kv_put: %s", ex_kv_errmsg());
    EX_CHECK(EX_KV(kv_delete(db, "a", 1)) == KV_OK, "kv_delete: %s", ex_kv_errmsg());
    EX_CHECK(EX_KV(kv_delete(db, "b", 1)) == KV_OK, "kv_delete: %s", ex_kv_errmsg());
    EX_CHECK(ex_stat(db, "session.puts") == 1 && ex_stat(db, "session.deletes") == 2,
             EX_RULE(5, "the writes counted") "each record appended is counted, puts and "
             "deletes apart (kv_stats' session.puts "
             "and session.deletes): 1 put and 2 deletes here (got %llu and %llu)",
             (unsigned long long)ex_stat(db, "session.puts"),
             (unsigned long long)ex_stat(db, "session.deletes"));
    kv_close(db);
}

static void append_keeps_no_memory(void)
{
    const char *dir = append_db();
    kv_db *db = append_open(dir, 0);
    harness_context("2000 kv_put(k = v): a put keeps no memory once it returns, freeing what it "
                    "allocates for its records (headers, iovecs)");
    EX_CHECK(EX_KV(kv_put(db, "w", 1, "0", 1)) == KV_OK, "kv_put: %s", ex_kv_errmsg());
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < 2000; i++)
        EX_CHECK(EX_KV(kv_put(db, "k", 1, "v", 1)) == KV_OK, "kv_put: %s", ex_kv_errmsg());
    size_t after = mallinfo2().uordblks;
    EX_CHECK(after < before + 16384,
             EX_RULE(8, "free what it allocates") "a put keeps no memory once it returns: "
             "whatever it allocates for its records "
             "(headers, iovecs) it frees, whether it writes one record or a batch (2000 puts "
             "left %zu more bytes in use)", after > before ? after - before : 0);
    kv_close(db);
}

/* A batch of 100,000 deletes written with the process's memory capped 8
 * MiB above what it maps: the batch's ops (4 MB) and its records' headers
 * (1 MB) fit, their iovecs (4.8 MB) do not.  kv_write fails with
 * KV_ERR_NOMEM (or, for an append that needs less at once, succeeds), and
 * either way frees what it took: the test ends holding no block
 * (exercise.h). */
static void append_out_of_memory_frees_what_it_took(void)
{
    const char *dir = append_db();
    kv_db *db = append_open(dir, 0);
    kv_batch *b = NULL;
    EX_CHECK(EX_KV(kv_batch_new(&b)) == KV_OK, "kv_batch_new: %s", ex_kv_errmsg());
    enum { N = 100000 };
    for (int i = 0; i < N; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%06d", i);
        EX_CHECK(EX_KV(kv_batch_delete(b, k, 7)) == KV_OK, "kv_batch_delete: %s", ex_kv_errmsg());
    }
    uint64_t size = append_log_size(dir);
    if (!ex_memory_cap(0)) {
        kv_batch_free(b);
        kv_close(db);
        return; /* a sanitizer's build: no cap, no failing allocation */
    }
    harness_context("kv_write of a batch of %d deletes, the process's memory capped 8 MiB above "
                    "what it maps: KV_ERR_NOMEM (or KV_OK), writing nothing and freeing all it "
                    "took", N);
    int rc = EX_KV(kv_write(db, b));
    ex_memory_uncap();
    kv_batch_free(b);
    EX_CHECK(rc == KV_ERR_NOMEM || rc == KV_OK, EX_RULE(8, "out of memory") "a batch written "
             "with too little memory left "
             "fails with KV_ERR_NOMEM (got %d: %s)", rc, ex_errmsg(rc));
    EX_CHECK(rc == KV_OK || ex_names_number(kv_errmsg(), N),
             EX_RULE(8, "out of memory") "kv_errmsg() of a batch refused for memory (KV_ERR_NOMEM "
             "says so) says how many records it held, %d, in any words (got \"%s\")", N,
             kv_errmsg());
    EX_CHECK(rc == KV_OK || append_log_size(dir) == size, EX_RULE(8, "out of memory") "a batch "
             "that failed for memory "
             "writes nothing (data.log is %llu bytes, was %llu)",
             (unsigned long long)append_log_size(dir), (unsigned long long)size);
    kv_close(db);
}

static const harness_test append_tests[] = {
    HARNESS_TEST(append_one_write_per_call),
    HARNESS_TEST(append_failed_write_is_cut_off),
    HARNESS_TEST(append_refuses_writes_when_it_cannot_undo),
    HARNESS_TEST(append_read_only_is_refused),
    HARNESS_TEST(append_check_alone_holds_the_write_lock),
    HARNESS_TEST(append_commit_writes_after_its_check),
    HARNESS_TEST(append_refused_commit_writes_nothing),
    HARNESS_TEST(append_counts_puts_and_deletes),
    HARNESS_TEST(append_keeps_no_memory),
    HARNESS_TEST(append_out_of_memory_frees_what_it_took),
};
const harness_suite append_suite = HARNESS_SUITE("append", append_tests);
