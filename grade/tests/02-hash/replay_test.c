/*
 * replay_test.c: exercise replay, recover_op and recover_scan
 * (stages/02-hash/engine/hash_recover.c): the index rebuilt at kv_open from every
 * record of every segment, and each segment's verdict acted on.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exercise.h"
#include "kv.h"
#include "segment.h"

static kv_options small_segments(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 512;
    return opt;
}

/* The path of the highest-numbered (or lowest, if first) segment of dir. */
static const char *segment_path(const char *dir, int first)
{
    DIR *d = opendir(dir);
    EX_CHECK(d != NULL, "cannot list %s", dir);
    char best[sizeof ((struct dirent *)0)->d_name] = "";
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n != 14 || strcmp(e->d_name + 10, ".log") != 0)
            continue;
        if (best[0] == '\0' || (first ? strcmp(e->d_name, best) < 0 : strcmp(e->d_name, best) > 0))
            snprintf(best, sizeof best, "%s", e->d_name);
    }
    closedir(d);
    EX_CHECK(best[0] != '\0', "no segment in %s", dir);
    return harness_join(dir, best);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    EX_CHECK(stat(path, &st) == 0, "stat %s", path);
    return (uint64_t)st.st_size;
}

/* 60 keys, overwritten and deleted across many 512-byte segments. */
static const char *replay_db(kv_options *opt)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = ex_open(dir, opt, "open a new database");
    char k[16], v[32];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 60; i++) {
            snprintf(k, sizeof k, "key%02d", i);
            snprintf(v, sizeof v, "value-%d-%d", i, round);
            ex_put(db, k, v, "fill");
        }
    for (int i = 0; i < 60; i += 3) {
        snprintf(k, sizeof k, "key%02d", i);
        kv_delete(db, k, strlen(k));
    }
    EX_CHECK(kv_close(db) == KV_OK, "kv_close");
    return dir;
}

static void replay_check(kv_db *db, const char *when)
{
    char k[16], v[32];
    for (int i = 0; i < 60; i++) {
        snprintf(k, sizeof k, "key%02d", i);
        snprintf(v, sizeof v, "value-%d-2", i);
        if (i % 3 == 0) {
            char rule[512];
            snprintf(rule, sizeof rule, EX_RULE(1, "a delete removes the key") "%s", when);
            ex_absent(db, k, rule);
        } else
            ex_expect(db, k, v, when);
    }
}

static void replay_rebuilds_the_index_from_every_segment(void)
{
    kv_options opt = small_segments();
    const char *dir = replay_db(&opt);
    harness_context("kv_open of 60 keys written 3 times, every 3rd deleted, in 512-byte segments: "
                    "replay every record of every segment, oldest first; the last record of a key "
                    "wins, a delete removes it");
    kv_db *db = ex_open(dir, &opt, "reopen");
    harness_context("kv_get of key00..key59 after the replay: the last record of a key wins, a "
                    "delete in a later segment removes a key put in an earlier one");
    replay_check(db, EX_RULE(2, "a put points the key at its record") "after a reopen, segments "
                 "replayed oldest first: the last record of a key "
                 "wins, and a delete in a later segment removes a key put in an earlier one");
    EX_CHECK(ex_stat(db, "open.records") == 3 * 60 + 20,
             EX_RULE(3, "the op counted") "open.records counts every record replayed: 200 (got "
             "%llu)",
             (unsigned long long)ex_stat(db, "open.records"));
    kv_close(db);
}

static void replay_cuts_a_torn_tail_of_the_last_segment(void)
{
    kv_options opt = small_segments();
    const char *dir = replay_db(&opt);
    const char *last = segment_path(dir, 0);
    uint64_t size = file_size(last);
    /* A record header announcing 100 bytes, then 5 of them: a torn write. */
    static const uint8_t torn[] = {1, 2, 3, 4, 5, 0, 85, 0, 0, 0, 'a', 'b', 'c', 'd', 'e'};
    FILE *f = fopen(last, "ab");
    EX_CHECK(f && fwrite(torn, 1, sizeof torn, f) == sizeof torn && fclose(f) == 0, "append");

    uint64_t all = ex_dir_bytes(dir);

    kv_options strict = opt;
    strict.strict_recovery = 1;
    kv_db *db = NULL;
    harness_context("kv_open with strict_recovery of a database whose last segment ends in a "
                    "15-byte torn write: a torn tail is refused, KV_ERR_CORRUPT");
    int rc = kv_open(dir, &strict, &db);
    EX_CHECK(rc == KV_ERR_CORRUPT, EX_RULE(5, "refused: KV_ERR_CORRUPT") "with strict_recovery "
             "a torn tail is refused: "
             "KV_ERR_CORRUPT (got %d)", rc);
    harness_context("kv_open of a database whose last segment ends in a 15-byte torn write: the "
                    "tail is cut (io_truncate) and the segment's size set to the verdict's keep");
    db = ex_open(dir, &opt, "a torn tail in the last segment is cut off at open");
    uint64_t read = ex_stat(db, "open.bytes_read");
    EX_CHECK(read >= size + sizeof torn && read <= all,
             EX_RULE(4, "bytes read counted") "open.bytes_read counts the bytes kv_open read to "
             "rebuild the index, the open that "
             "cut a torn tail too: each segment replayed (the last one's %llu bytes, its torn "
             "tail included) and each hint used: between %llu and the directory's %llu bytes "
             "(got %llu)", (unsigned long long)(size + sizeof torn),
             (unsigned long long)(size + sizeof torn), (unsigned long long)all,
             (unsigned long long)read);
    EX_CHECK(ex_stat(db, "open.torn_tail_bytes_found") == sizeof torn,
             EX_RULE(7, "what a CUT found") "open.torn_tail_bytes_found counts the %zu bytes "
             "cut (got %llu)", sizeof torn,
             (unsigned long long)ex_stat(db, "open.torn_tail_bytes_found"));
    EX_CHECK(file_size(last) == size, EX_RULE(7, "the file cut to keep") "the segment is cut "
             "back to its valid records (io_truncate)");
    EX_CHECK(ex_stat(db, "open.segments_scanned") + ex_stat(db, "open.segments_from_hint") ==
                 ex_stat(db, "segments.count"),
             EX_RULE(4, "segments scanned counted") "every segment is read once at open, "
             "replayed or from its hint, and counted so, "
             "the one whose torn tail was cut too: open.segments_scanned %llu + "
             "open.segments_from_hint %llu = segments.count %llu",
             (unsigned long long)ex_stat(db, "open.segments_scanned"),
             (unsigned long long)ex_stat(db, "open.segments_from_hint"),
             (unsigned long long)ex_stat(db, "segments.count"));
    EX_CHECK(ex_stat(db, "open.tail_cut_hid_valid_records") == 0,
             EX_RULE(7, "what a CUT found") "a torn tail has no valid record after it (else it "
             "is damage): "
             "open.tail_cut_hid_valid_records is 0 (got %llu)",
             (unsigned long long)ex_stat(db, "open.tail_cut_hid_valid_records"));
    harness_context("kv_get of key00..key59, then kv_put(new), after cutting a torn tail: every "
                    "acknowledged write is there, and the next record goes at the cut");
    replay_check(db, EX_RULE(7, "the file cut to keep") "after cutting a torn tail, every "
                 "acknowledged write is there");
    ex_put(db, "new", "after-the-cut", "writes go on after a cut");
    ex_expect(db, "new", "after-the-cut", EX_RULE(7, "the file cut to keep") "a put after the "
              "cut reads back at once, before any "
              "reopen: the segment's size is the cut one (seg->size = the verdict's keep), so "
              "the index points where the record went");
    EX_CHECK(file_size(last) > size && file_size(last) < size + 64, EX_RULE(7, "the file cut to "
             "keep") "the put after the cut "
             "is appended at the cut, where the torn tail was (the segment is %llu bytes, was "
             "%llu cut)", (unsigned long long)file_size(last), (unsigned long long)size);
    kv_close(db);
    harness_context("kv_open with strict_recovery after the cut: nothing torn is left, it opens");
    db = ex_open(dir, &strict, "after the cut, even a strict open succeeds");
    ex_expect(db, "new", "after-the-cut", EX_RULE(7, "the file cut to keep") "the put after the "
              "cut survives a reopen");
    kv_close(db);
}

static void replay_read_only_leaves_a_torn_tail(void)
{
    kv_options opt = small_segments();
    const char *dir = replay_db(&opt);
    const char *last = segment_path(dir, 0);
    static const uint8_t torn[] = {1, 2, 3, 4, 5, 0, 85, 0, 0, 0, 'a', 'b', 'c', 'd', 'e'};
    FILE *f = fopen(last, "ab");
    EX_CHECK(f && fwrite(torn, 1, sizeof torn, f) == sizeof torn && fclose(f) == 0, "append");
    uint64_t size = file_size(last);
    kv_options ro = opt;
    ro.read_only = 1;
    harness_context("kv_open read-only of a database whose last segment ends in a 15-byte torn "
                    "write: the verdict is CUT, but a read-only open changes no file");
    kv_db *db = ex_open(dir, &ro, EX_RULE(8, "a read-only open leaves the file as it is")
                        "a read-only open of a database with a torn tail opens, changing "
                        "nothing");
    EX_CHECK(file_size(last) == size,
             EX_RULE(8, "a read-only open leaves the file as it is") "the last segment keeps its "
             "%llu bytes, torn tail and all (got %llu): a read-only open never writes",
             (unsigned long long)size, (unsigned long long)file_size(last));
    EX_CHECK(ex_stat(db, "open.torn_tail_bytes_found") == sizeof torn,
             EX_RULE(7, "what a CUT found") "a read-only open still says what it found: "
             "open.torn_tail_bytes_found is %zu (got %llu)", sizeof torn,
             (unsigned long long)ex_stat(db, "open.torn_tail_bytes_found"));
    replay_check(db, EX_RULE(8, "a read-only open leaves the file as it is") "a read-only open "
                 "of a database with a torn tail reads every acknowledged write");
    kv_close(db);
}

static void replay_refuses_damage_in_a_closed_segment(void)
{
    kv_options opt = small_segments();
    const char *dir = replay_db(&opt);
    const char *first = segment_path(dir, 1);
    ex_poke_file(first, 40, 0xee);
    kv_db *db = NULL;
    harness_context("kv_open of a database whose first (closed) segment has byte 40 damaged: "
                    "refuse it, KV_ERR_CORRUPT, naming the file");
    int rc = EX_KV(kv_open(dir, &opt, &db));
    EX_CHECK(rc == KV_ERR_CORRUPT, EX_RULE(5, "refused: KV_ERR_CORRUPT") "a damaged byte in a "
             "closed segment: kv_open refuses it, "
             "KV_ERR_CORRUPT (got %d)", rc);
    const char *name = strrchr(first, '/') + 1;
    EX_CHECK(strstr(kv_errmsg(), name) != NULL,
             EX_RULE(5, "the message names the file") "the message names the damaged file, %s "
             "(got \"%s\")", name, kv_errmsg());
}

static void replay_counts_live_bytes(void)
{
    kv_options opt = small_segments();
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = ex_open(dir, &opt, "open");
    char k[16];
    for (int i = 0; i < 50; i++) {
        snprintf(k, sizeof k, "only%02d", i);
        ex_put(db, k, "written-once", "fill");
    }
    kv_close(db);
    /* Read from kv_stats (live.bytes, dead.bytes: the segments' counts that
     * replay keeps), not from a merge, which a later exercise writes. */
    harness_context("kv_open of 50 keys written once: replay counts every record, header and "
                    "seal as live (kv_stats' live.bytes and dead.bytes)");
    db = ex_open(dir, &opt, "reopen");
    uint64_t total = ex_stat(db, "segments.bytes"), live = ex_stat(db, "live.bytes"),
             dead = ex_stat(db, "dead.bytes");
    EX_CHECK(dead == 0 && live == total,
             EX_RULE(6, "header and seal live") "a reopened database with no overwritten or "
             "deleted record has no dead byte: replay counts every record, header and seal as "
             "live (live.bytes %llu of %llu, dead.bytes %llu)", (unsigned long long)live,
             (unsigned long long)total, (unsigned long long)dead);
    for (int i = 0; i < 50; i++) {
        snprintf(k, sizeof k, "only%02d", i);
        ex_put(db, k, "written-twice", "overwrite");
    }
    kv_close(db);
    harness_context("kv_open of 50 keys written twice: replay counts the overwritten records as "
                    "dead bytes");
    db = ex_open(dir, &opt, "reopen");
    total = ex_stat(db, "segments.bytes");
    dead = ex_stat(db, "dead.bytes");
    EX_CHECK(dead * 3 > total,
             EX_RULE(2, "a put points the key at its record") "after a reopen, the 50 records "
             "the second puts overwrote are dead bytes: replay points each key at its newest "
             "record, and the one before becomes dead (dead.bytes %llu of %llu)",
             (unsigned long long)dead, (unsigned long long)total);
    kv_close(db);
}

/* What a crash right after a roll-over leaves: the segment before sealed,
 * the new one holding its header only.  The test makes it by putting, in
 * place of the last segment, that segment's first SEGMENT_START bytes. */
static void replay_keeps_the_segment_a_roll_over_began(void)
{
    kv_options opt = small_segments();
    const char *dir = replay_db(&opt);
    const char *last = segment_path(dir, 0);
    size_t n = 0;
    uint8_t *bytes = ex_read_file(last, &n);
    EX_CHECK(n > SEGMENT_START, "test setup: the last segment holds records");
    FILE *f = fopen(last, "wb");
    EX_CHECK(f && fwrite(bytes, 1, SEGMENT_START, f) == SEGMENT_START &&
                 fclose(f) == 0,
             "test setup: the last segment cut to its header");
    free(bytes);
    harness_context("kv_open of a database whose last segment holds its header only, after a "
                    "sealed one: a segment ending with its seal is marked sealed, and the empty "
                    "one after it is kept as the active one");
    kv_db *db = ex_open(dir, &opt, "a database whose last segment is a header after a "
                        "sealed one opens");
    EX_CHECK(access(last, F_OK) == 0, EX_RULE(6, "marked sealed") "a segment that ends with its "
             "seal is marked sealed "
             "when it is replayed (seg->sealed), so the empty segment after it, which a "
             "roll-over began, is kept as the active one: only an empty segment after an "
             "unsealed one is removed (%s is gone)", last);
    ex_put(db, "after", "the-roll-over", "a put after the reopen");
    kv_close(db);
    harness_context("kv_open again, then kv_get(after): the put went to the segment the roll-over "
                    "began");
    db = ex_open(dir, &opt, "reopen");
    ex_expect(db, "after", "the-roll-over", EX_RULE(6, "marked sealed") "the put after the "
              "reopen survives another: it "
              "went to the segment the roll-over began, not after a seal");
    kv_close(db);
}

/* A database whose one segment is its header alone (its only record cut
 * away, as a torn first write is): the header is live, never garbage. */
static void replay_counts_a_lone_header_as_live(void)
{
    kv_options opt = small_segments();
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = ex_open(dir, &opt, "open a new database");
    ex_put(db, "one", "record", "the segment's one record");
    EX_CHECK(kv_close(db) == KV_OK, "kv_close");
    const char *seg = segment_path(dir, 0);
    EX_CHECK(truncate(seg, SEGMENT_START) == 0, "test setup: the segment cut to its header");
    harness_context("kv_open of a database whose only segment is its %d-byte header: replay "
                    "keeps it (keep == SEGMENT_START) and counts the header as live bytes",
                    (int)SEGMENT_START);
    db = ex_open(dir, &opt, "a segment of its header alone opens");
    EX_CHECK(ex_stat(db, "segments.bytes") == SEGMENT_START &&
                 ex_stat(db, "live.bytes") == SEGMENT_START && ex_stat(db, "dead.bytes") == 0,
             EX_RULE(6, "the header is live bytes") "a segment's header is never garbage: "
             "replay counts it as live bytes whenever the "
             "segment keeps it, a segment of its header alone too (keep >= SEGMENT_START): "
             "segments.bytes %llu, live.bytes %llu, dead.bytes %llu, want %d, %d, 0",
             (unsigned long long)ex_stat(db, "segments.bytes"),
             (unsigned long long)ex_stat(db, "live.bytes"),
             (unsigned long long)ex_stat(db, "dead.bytes"), (int)SEGMENT_START,
             (int)SEGMENT_START);
    kv_close(db);
}

static const harness_test replay_tests[] = {
    HARNESS_TEST(replay_rebuilds_the_index_from_every_segment),
    HARNESS_TEST(replay_cuts_a_torn_tail_of_the_last_segment),
    HARNESS_TEST(replay_read_only_leaves_a_torn_tail),
    HARNESS_TEST(replay_refuses_damage_in_a_closed_segment),
    HARNESS_TEST(replay_counts_live_bytes),
    HARNESS_TEST(replay_counts_a_lone_header_as_live),
    HARNESS_TEST(replay_keeps_the_segment_a_roll_over_began),
};
const harness_suite replay_suite = HARNESS_SUITE("replay", replay_tests);
