/*
 * tools.c: kv_check, kv_dump and kv_repair, the offline tools behind `kv
 * check`, `kv dump` and `kv repair`, and the iterator calls made in the
 * wrong state.  Stage-neutral: the tests look at return codes, at whether
 * lines name files, and at files by the ends of their names (tables
 * ".tbl", logs ".log", stage 06's "MANIFEST-" and "CURRENT"): a damage
 * meant for a file a stage does not have is skipped.  A damage kv.h says
 * kv_repair mends (a log with a damaged record, a table with a damaged
 * block, by the stage's row of tests/stage_caps.c) must be mended, and
 * what the repair kept is checked against what was written.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "io_fault.h"
#include "kv.h"
#include "stage_caps.h"
#include "testdb.h"

typedef struct tools_lines {
    int count;
    int mentions_offset;
} tools_lines;

static void tools_collect(void *ctx, const char *line)
{
    tools_lines *l = ctx;
    l->count++;
    if (strstr(line, "offset") != NULL)
        l->mentions_offset = 1;
}

static void check_and_dump_refuse_bad_directories(void)
{
    tools_lines l = {0};
    CHECK(kv_check(NULL, tools_collect, &l) < 0);
    CHECK(strlen(kv_errmsg()) > 0);
    CHECK(kv_dump(NULL, tools_collect, &l) < 0);
    const char *missing = harness_join(harness_tmpdir(), "no-such-db");
    CHECK(kv_check(missing, tools_collect, &l) < 0);
    CHECK(strstr(kv_errmsg(), "no-such-db") != NULL);
    CHECK(kv_dump(missing, tools_collect, &l) < 0);
}

static void check_and_dump_accept_an_empty_directory(void)
{
    const char *dir = harness_join(harness_tmpdir(), "empty");
    CHECK(mkdir(dir, 0755) == 0);
    tools_lines l = {0};
    CHECK_KV(kv_check(dir, tools_collect, &l), KV_OK);
    CHECK(l.count > 0);
    l.count = 0;
    CHECK_KV(kv_dump(dir, tools_collect, &l), KV_OK);
    CHECK(l.count > 0);
    /* A NULL line callback is allowed: the tool just reports nothing. */
    CHECK_KV(kv_check(dir, NULL, NULL), KV_OK);
}

static void check_of_a_fresh_database_is_ok(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("k"), S("v"));
    DEL(db, S("k"));
    CLOSE(db);
    tools_lines l = {0};
    CHECK_KV(kv_check(dir, tools_collect, &l), KV_OK);
    l.count = 0;
    CHECK_KV(kv_dump(dir, tools_collect, &l), KV_OK);
    CHECK(l.count >= 2); /* at least the put and the delete */
}

static void check_and_dump_report_read_errors(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("k"), S("v"));
    CLOSE(db);
    for (int fail_open = 0; fail_open < 2; fail_open++) {
        io_fault_plan plan = {.kinds = fail_open ? IO_FAULT_OPEN : IO_FAULT_READ,
                              .fail_at = 1, .persistent = 1};
        tools_lines l = {0};
        io_fault_install(&plan);
        int check_rc = kv_check(dir, tools_collect, &l);
        int dump_rc = kv_dump(dir, tools_collect, &l);
        io_fault_uninstall();
        CHECK_MSG(check_rc < 0 && check_rc != KV_ERR_CORRUPT,
                  "kv_check with failing %s returned %d", fail_open ? "opens" : "reads",
                  check_rc);
        CHECK(dump_rc < 0);
        CHECK(strlen(kv_errmsg()) > 0);
    }
    tools_lines l = {0};
    CHECK_KV(kv_check(dir, tools_collect, &l), KV_OK);
}

static void iterator_calls_in_the_wrong_state_are_harmless(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("a"), S("1"));
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    size_t n = 99;
    CHECK(kv_iter_key(it, &n) == NULL); /* not positioned yet */
    CHECK_EQ(n, 0);
    n = 99;
    CHECK(kv_iter_value(it, &n) == NULL);
    CHECK_EQ(n, 0);
    kv_iter_next(it); /* a no-op */
    CHECK(!kv_iter_valid(it));
    kv_iter_seek(it, NULL, 0); /* an empty key: the first key */
    CHECK(kv_iter_valid(it));
    CHECK_KV(kv_iter_status(it), KV_OK);
    kv_iter_seek(it, NULL, 3); /* NULL with a length is a bad argument */
    CHECK(!kv_iter_valid(it));
    CHECK_KV(kv_iter_status(it), KV_ERR_INVALID);
    kv_iter_free(it);

    CHECK_KV(kv_iter_new(NULL, &it), KV_ERR_INVALID);
    CHECK_KV(kv_iter_new(db, NULL), KV_ERR_INVALID);
    CHECK_KV(kv_iter_status(NULL), KV_ERR_INVALID);
    CHECK(!kv_iter_valid(NULL));
    kv_iter_seek_first(NULL);
    kv_iter_seek(NULL, "a", 1);
    kv_iter_next(NULL);
    CHECK(kv_iter_key(NULL, NULL) == NULL);
    CHECK(kv_iter_value(NULL, NULL) == NULL);
    kv_iter_free(NULL);
    CLOSE(db);
}

/* ---- kv_repair ------------------------------------------------------------ */

/* A database with tables from stage 04 on (a small memtable) and, in stage
 * 06, several levels; its history per key, to judge what a read after a
 * repair returns. */
#define REPAIR_KEYS 400
#define REPAIR_OPS 2400
#define REPAIR_VALUE 160

typedef struct repair_model {
    int16_t versions[REPAIR_KEYS][REPAIR_OPS / REPAIR_KEYS * 4]; /* -1: a delete */
    int n[REPAIR_KEYS];
} repair_model;

static void repair_key(char *k, int i)
{
    snprintf(k, 16, "key%04d", i);
}

/* Version `version` of key i's value: REPAIR_VALUE bytes. */
static size_t repair_value(char *v, int i, int version)
{
    memset(v, 'a' + version % 26, REPAIR_VALUE);
    int n = snprintf(v, REPAIR_VALUE, "v%d-%d-", i, version);
    v[n] = '.'; /* (over snprintf's NUL) */
    return REPAIR_VALUE;
}

static void repair_options(kv_options *opt)
{
    kv_options_init(opt);
    opt->memtable_bytes = 32 << 10;
    opt->table_bytes = 16 << 10;
    opt->l1_bytes = 64 << 10;
    opt->level_ratio = 2;
}

/* Fills a fresh database: puts, overwrites and deletes, in seeded order. */
static const char *repair_fill(repair_model *m)
{
    const char *dir = testdb_dir();
    kv_options opt;
    repair_options(&opt);
    memset(m, 0, sizeof *m);
    kv_db *db = OPEN(dir, &opt);
    testdb_rng rng;
    testdb_rng_seed(&rng, 7);
    char k[16], v[REPAIR_VALUE];
    for (int op = 0; op < REPAIR_OPS; op++) {
        int i = op < REPAIR_KEYS ? op : (int)testdb_rng_below(&rng, REPAIR_KEYS);
        repair_key(k, i);
        int n = m->n[i];
        if (n == (int)(sizeof m->versions[0] / sizeof m->versions[0][0]))
            continue;
        if (op >= REPAIR_KEYS && testdb_rng_below(&rng, 6) == 0) {
            DEL(db, k, strlen(k));
            m->versions[i][n] = -1;
        } else {
            size_t vl = repair_value(v, i, n);
            PUT(db, k, strlen(k), v, vl);
            m->versions[i][n] = (int16_t)n;
        }
        m->n[i] = n + 1;
    }
    CLOSE(db);
    return dir;
}

/* How a read of key i compares with its history: 0 its last version, 1 an
 * older one (or absent): what a repair that lost entries may leave.  A
 * value the key never had fails the test. */
static int repair_read_key(kv_db *db, const repair_model *m, int i)
{
    char k[16], want[REPAIR_VALUE];
    repair_key(k, i);
    void *got = NULL;
    size_t glen = 0;
    int st = kv_get(db, k, strlen(k), &got, &glen);
    CHECK_MSG(st == KV_OK || st == KV_NOT_FOUND, "kv_get %s after repair: %s: %s", k,
              kv_strerror(st), kv_errmsg());
    int last = m->versions[i][m->n[i] - 1], older = 1;
    if (st == KV_NOT_FOUND) {
        older = last != -1;
    } else {
        int found = 0;
        for (int j = 0; j < m->n[i] && !found; j++) {
            if (m->versions[i][j] < 0)
                continue;
            repair_value(want, i, m->versions[i][j]);
            if (glen == REPAIR_VALUE && memcmp(got, want, glen) == 0) {
                found = 1;
                older = j != m->n[i] - 1;
            }
        }
        CHECK_MSG(found, "kv_get %s after repair: a value it never had", k);
    }
    kv_free(got);
    return older;
}

/* A file of dir whose name ends in `suffix` (or starts with it, for
 * "MANIFEST-" and "CURRENT"): the largest, or NULL. */
static const char *repair_file(const char *dir, const char *suffix, int prefix)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    static char best[256];
    off_t best_size = -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name), s = strlen(suffix);
        int match = prefix ? strncmp(e->d_name, suffix, s) == 0
                           : n > s && strcmp(e->d_name + n - s, suffix) == 0;
        struct stat st;
        if (match && stat(harness_join(dir, e->d_name), &st) == 0 && S_ISREG(st.st_mode) &&
            st.st_size > best_size) {
            best_size = st.st_size;
            snprintf(best, sizeof best, "%s", e->d_name);
        }
    }
    closedir(d);
    return best_size >= 0 ? harness_join(dir, best) : NULL;
}

static void repair_flip(const char *path)
{
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long at = ftell(f) / 2;
    CHECK(fseek(f, at, SEEK_SET) == 0);
    int c = fgetc(f);
    CHECK(c != EOF);
    CHECK(fseek(f, at, SEEK_SET) == 0);
    CHECK(fputc(c ^ 0xff, f) != EOF);
    CHECK(fclose(f) == 0);
}

static void repair_cut(const char *path)
{
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK(truncate(path, st.st_size / 2) == 0);
}

enum { DAMAGE_FLIP, DAMAGE_CUT, DAMAGE_DELETE };
typedef struct repair_case {
    const char *name;
    const char *file;   /* a suffix, or a prefix if `prefix` */
    int prefix;
    int damage;
    int exact;          /* no entry is lost: every key reads its last version */
} repair_case;

static const repair_case repair_cases[] = {
    {"a byte flipped in a table", ".tbl", 0, DAMAGE_FLIP, 0},
    {"a table cut short", ".tbl", 0, DAMAGE_CUT, 0},
    {"a table deleted", ".tbl", 0, DAMAGE_DELETE, 0},
    {"a byte flipped in the manifest", "MANIFEST-", 1, DAMAGE_FLIP, 1},
    {"the manifest deleted", "MANIFEST-", 1, DAMAGE_DELETE, 1},
    {"CURRENT damaged", "CURRENT", 1, DAMAGE_FLIP, 1},
    {"CURRENT deleted", "CURRENT", 1, DAMAGE_DELETE, 1},
    {"a byte flipped in the middle of a log", ".log", 0, DAMAGE_FLIP, 0},
};

/* Every damage that applies to the stage's files: kv_check finds it; then
 * kv_repair either refuses (an error, and a message) or leaves a database
 * kv_check calls ok, that kv_open opens with strict_recovery, and whose
 * every key reads its last value, or, where the repair said it lost
 * entries, an older one or none. */
static void repair_mends_every_damage_or_refuses(void)
{
    static repair_model m;
    for (size_t c = 0; c < NPAIRS(repair_cases); c++) {
        const repair_case *rc = &repair_cases[c];
        harness_context("%s", rc->name);
        const char *dir = repair_fill(&m);
        const char *victim = repair_file(dir, rc->file, rc->prefix);
        if (victim == NULL)
            continue; /* no such file in this stage */
        if (rc->damage == DAMAGE_FLIP)
            repair_flip(victim);
        else if (rc->damage == DAMAGE_CUT)
            repair_cut(victim);
        else
            CHECK(unlink(victim) == 0);
        testdb_lines lines = {0};
        int checked = kv_check(dir, testdb_lines_add, &lines);
        testdb_lines_free(&lines);
        if (checked == KV_OK)
            continue; /* nothing to repair: a stage whose listing is the database */
        int st = kv_repair(dir, testdb_lines_add, &lines);
        if (st != KV_OK) {
            CHECK_MSG(strlen(kv_errmsg()) > 0, "kv_repair failed (%s) without a message",
                      kv_strerror(st));
            testdb_lines_free(&lines);
            continue;
        }
        testdb_lines after = {0};
        CHECK_MSG(kv_check(dir, testdb_lines_add, &after) == KV_OK,
                  "kv_check after kv_repair:\n%s\nrepair said:\n%s", after.text, lines.text);
        kv_options opt;
        repair_options(&opt);
        opt.strict_recovery = 1;
        kv_db *db = OPEN(dir, &opt);
        int changed = 0;
        for (int i = 0; i < REPAIR_KEYS; i++)
            changed += repair_read_key(db, &m, i);
        CLOSE(db);
        CHECK_MSG(changed == 0 || (!rc->exact && strstr(lines.text, "lost") != NULL),
                  "%d keys read an older version after a repair that said:\n%s", changed,
                  lines.text);
        testdb_lines_free(&after);
        testdb_lines_free(&lines);
    }
}

/* ---- a repairable damage is repaired ------------------------------------------ */
/* kv.h's promise, beyond "mends or refuses": a damaged log is rewritten
 * with every intact record it had (stage 03 on), a damaged table with
 * every entry that can still be read (stage 04 on).  So a byte flipped in
 * the middle of a log, or in one block of a table, is damage kv_repair
 * mends: KV_OK, not a refusal; and what it keeps is judged against what
 * was written: each key put once, with a value of its own, reads that
 * value or, if its record or block was the damaged one, nothing; the
 * first and the last key survive (a repair that cuts at the damage, as if
 * it were a torn tail, loses every record after it); and the keys lost
 * are few (one record, one block), not the file. */
#define MEND_KEYS 1200
#define MEND_VALUE 100

static void mend_key(char *k, int i)
{
    snprintf(k, 16, "mend%05d", i);
}

/* Key i's value: MEND_VALUE bytes that name it, and do not compress to
 * nothing (a table of them has many blocks). */
static size_t mend_value(char *v, int i)
{
    uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull + 1;
    for (int j = 0; j < MEND_VALUE; j++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        v[j] = (char)('a' + x % 26);
    }
    snprintf(v, MEND_VALUE, "value-of-%05d", i);
    v[15] = '-'; /* (over snprintf's NUL) */
    return MEND_VALUE;
}

/* A fresh database holding MEND_KEYS keys, each put once, in key order;
 * with a memtable, flushed into tables when `tables`, else left in the
 * log (the memtable holds them all). */
static const char *mend_fill(int tables)
{
    const char *dir = testdb_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.create_if_missing = 1;
    opt.memtable_bytes = 64 << 20;
    kv_db *db = OPEN(dir, &opt);
    char k[16], v[MEND_VALUE];
    for (int i = 0; i < MEND_KEYS; i++) {
        mend_key(k, i);
        PUT(db, k, strlen(k), v, mend_value(v, i));
    }
    if (tables)
        CHECK_KV(kv_flush(db), KV_OK);
    CLOSE(db);
    return dir;
}

/* The file to damage: the largest whose name ends in `suffix` (this
 * project's logs and tables); for an engine that names its files
 * otherwise (kv.h names none), its largest data file: not IDENTITY, LOCK
 * or a file that says which files make up the database. */
static const char *mend_victim(const char *dir, const char *suffix)
{
    const char *named = repair_file(dir, suffix, 0);
    if (named != NULL)
        return named;
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "the database's directory %s can be listed", dir);
    static char best[256];
    off_t best_size = -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        struct stat st;
        if (strcmp(e->d_name, "IDENTITY") == 0 || strcmp(e->d_name, "LOCK") == 0 ||
            stage_caps_is_meta_file(e->d_name))
            continue;
        if (stat(harness_join(dir, e->d_name), &st) == 0 && S_ISREG(st.st_mode) &&
            st.st_size > best_size) {
            best_size = st.st_size;
            snprintf(best, sizeof best, "%s", e->d_name);
        }
    }
    closedir(d);
    return best_size > 0 ? harness_join(dir, best) : NULL;
}

/* What `damage` did to `victim`, then kv_repair: KV_OK, a database
 * kv_check calls intact and kv_open opens strictly, every key its own
 * value or nothing, the first and last kept, at most max_lost lost. */
static void mend_judge(const char *dir, const char *damage, const char *rule, int max_lost)
{
    testdb_lines lines = {0};
    int checked = kv_check(dir, testdb_lines_add, &lines);
    CHECK_MSG(checked != KV_OK, "kv_check finds %s (it said:\n%s)", damage, lines.text);
    testdb_lines_free(&lines);
    int st = kv_repair(dir, testdb_lines_add, &lines);
    CHECK_MSG(st == KV_OK, "%s is damage kv_repair must mend, not refuse: %s (kv.h, "
              "kv_repair); it returned %s: %s", damage, rule, kv_strerror(st), kv_errmsg());
    testdb_lines after = {0};
    CHECK_MSG(kv_check(dir, testdb_lines_add, &after) == KV_OK,
              "after kv_repair mended %s, kv_check finds the database intact (kv.h, "
              "kv_repair); it said:\n%s\nrepair said:\n%s", damage, after.text, lines.text);
    testdb_lines_free(&after);
    kv_options opt;
    kv_options_init(&opt);
    opt.strict_recovery = 1;
    opt.memtable_bytes = 64 << 20;
    kv_db *db = NULL;
    st = kv_open(dir, &opt, &db);
    CHECK_MSG(st == KV_OK, "after kv_repair mended %s, kv_open with strict_recovery opens the "
              "database (kv.h, kv_repair): %s: %s", damage, kv_strerror(st), kv_errmsg());
    int lost = 0, first_lost = -1;
    char k[16], want[MEND_VALUE];
    for (int i = 0; i < MEND_KEYS; i++) {
        mend_key(k, i);
        void *got = NULL;
        size_t glen = 0;
        st = kv_get(db, k, strlen(k), &got, &glen);
        CHECK_MSG(st == KV_OK || st == KV_NOT_FOUND, "after kv_repair mended %s, kv_get(%s) "
                  "answers found or not found: %s: %s", damage, k, kv_strerror(st),
                  kv_errmsg());
        if (st == KV_OK) {
            size_t wl = mend_value(want, i);
            CHECK_MSG(glen == wl && memcmp(got, want, wl) == 0, "after kv_repair mended %s, "
                      "%s reads a value never written to it: what a repair keeps is what was "
                      "written (%zu bytes, \"%.*s...\")", damage, k, glen,
                      (int)(glen < 20 ? glen : 20), (const char *)got);
        } else {
            lost++;
            if (first_lost < 0)
                first_lost = i;
        }
        kv_free(got);
    }
    CLOSE(db);
    CHECK_MSG(lost == 0 || strstr(lines.text, "lost") != NULL, "kv_repair lost %d keys (the "
              "first mend%05d) without a line saying what was lost; it said:\n%s", lost,
              first_lost, lines.text);
    CHECK_MSG(lost <= max_lost, "after kv_repair mended %s, %d of %d keys are gone (the first "
              "mend%05d); %s, so it costs the record or block it falls in (at most %d keys "
              "here), not the rest of the file; repair said:\n%s", damage, lost, MEND_KEYS,
              first_lost, rule, max_lost, lines.text);
    testdb_lines_free(&lines);
}

static void repair_mends_a_log_damaged_in_the_middle(void)
{
    const stage_caps *caps = stage_caps_find();
    CHECK_MSG(caps != NULL, "tests/stage_caps.c has no row for stage %s", kv_stage());
    const char *dir = mend_fill(0);
    if (!caps->has_repair) { /* a stage before 03 */
        CHECK_KV(kv_repair(dir, NULL, NULL), KV_ERR_INVALID);
        return;
    }
    const char *log = mend_victim(dir, ".log");
    CHECK_MSG(log != NULL, "stage %s keeps writes not yet flushed in a log", kv_stage());
    repair_flip(log);
    mend_judge(dir, "a byte flipped in the middle of a log",
               "a damaged log is rewritten with every intact record it had, in order", 8);
}

static void repair_mends_a_table_with_a_damaged_block(void)
{
    const stage_caps *caps = stage_caps_find();
    CHECK_MSG(caps != NULL, "tests/stage_caps.c has no row for stage %s", kv_stage());
    if (!caps->has_repair || !caps->has_memtable)
        return; /* no tables before stage 04 */
    const char *dir = mend_fill(1);
    const char *tbl = mend_victim(dir, ".tbl");
    CHECK_MSG(tbl != NULL, "stage %s: kv_flush writes a table", kv_stage());
    repair_flip(tbl);
    mend_judge(dir, caps->table_blocks ? "a byte flipped in a data block of a table"
                                       : "a byte flipped in a record of a table",
               "a damaged table is rewritten with every entry that can still be read",
               MEND_KEYS / 4); /* a block's worth: with every value in a value log, a
                                  block holds some 190 of these keys' entries */
}

/* Nothing to repair: kv_repair says so and changes no file. */
static void repair_of_an_intact_database_changes_nothing(void)
{
    static repair_model m;
    const char *dir = repair_fill(&m);
    uint64_t before = testdb_dir_bytes(dir);
    testdb_lines lines = {0};
    int st = kv_repair(dir, testdb_lines_add, &lines);
    if (st == KV_ERR_INVALID) { /* a stage before 03 */
        CHECK(strstr(kv_errmsg(), "from stage 03 on") != NULL);
        return;
    }
    CHECK_KV(st, KV_OK);
    CHECK_MSG(strstr(lines.text, "nothing to repair") != NULL, "%s", lines.text);
    CHECK_EQ(testdb_dir_bytes(dir), before);
    struct stat sb;
    CHECK(stat(harness_join(dir, "lost"), &sb) != 0);
    testdb_lines_free(&lines);
}

/* With its manifest unreadable, kv_check still counts what the directory
 * holds: every table file and every log, and their records. */
static void check_without_a_manifest_counts_the_directory(void)
{
    static repair_model m;
    const char *dir = repair_fill(&m);
    const char *manifest = repair_file(dir, "MANIFEST-", 1);
    if (manifest == NULL)
        return; /* a stage without one */
    repair_flip(manifest);
    testdb_lines lines = {0};
    CHECK_KV(kv_check(dir, testdb_lines_add, &lines), KV_ERR_CORRUPT);
    const char *total = strstr(lines.text, "total: ");
    CHECK(total != NULL);
    unsigned long tables = strtoul(total + 7, NULL, 10);
    const char *recs = strstr(total, " bytes, ");
    CHECK(recs != NULL);
    unsigned long records = strtoul(recs + 8, NULL, 10);
    CHECK_MSG(tables > 0 && records > 0, "%s", total);
    testdb_lines_free(&lines);
}

static const harness_test tests[] = {
    HARNESS_TEST(check_and_dump_refuse_bad_directories),
    HARNESS_TEST(check_and_dump_accept_an_empty_directory),
    HARNESS_TEST(check_of_a_fresh_database_is_ok),
    HARNESS_TEST(check_and_dump_report_read_errors),
    HARNESS_TEST(iterator_calls_in_the_wrong_state_are_harmless),
    HARNESS_TEST(repair_of_an_intact_database_changes_nothing),
    HARNESS_TEST(repair_mends_every_damage_or_refuses),
    HARNESS_TEST(repair_mends_a_log_damaged_in_the_middle),
    HARNESS_TEST(repair_mends_a_table_with_a_damaged_block),
    HARNESS_TEST(check_without_a_manifest_counts_the_directory),
};
const harness_suite tools_suite = HARNESS_SUITE("tools", tests);
