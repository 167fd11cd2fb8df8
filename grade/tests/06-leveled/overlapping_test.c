/*
 * overlapping_test.c: exercise overlapping, version_overlapping
 * (stages/06-leveled/versions/version.c): the files of a level whose user-key
 * ranges meet [begin, end] (NULL = unbounded).  At a level >= 1 the files
 * are sorted and disjoint, so they are one run found by binary search;
 * L0's files overlap each other, so the range grows by every file it
 * meets and the answer is the closed set (a compaction that took a file
 * but left an older overlapping one above it would put an older version
 * of a key above a newer one).  Checked by hand-made cases and against a
 * brute-force closure on random versions.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ex_level.h"
#include "exercise.h"
#include "kv.h"

/* Where f is in the level (SIZE_MAX: not in it). */
static size_t ov_place(const version *v, int level, const vfile *f)
{
    for (size_t i = 0; i < v->nfiles[level]; i++)
        if (v->files[level][i] == f)
            return i;
    return SIZE_MAX;
}

static const char *ov_key(const char *key) { return key != NULL ? key : "NULL"; }

static const char *ov_call(const version *v, int level, const char *b, const char *e,
                           char *buf, size_t cap)
{
    vfile_list out = {(vfile **)1, 99};
    ex_context(EX_RULES("1 and 2", "one run at a level >= 1; at L0 the range grown by each "
                        "file met") "version_overlapping(level %d, [%s, %s]); the test ends if it "
                    "has used 5 s of CPU without returning: at L0 the range grows only when a file "
                    "reaches strictly past one of its bounds (compared as user keys, each "
                    "len - IKEY_TRAILER_SIZE bytes long), so that the scan starts again "
                    "a bounded number of times", level, b ? b : "NULL (unbounded)",
                    e ? e : "NULL (unbounded)");
    ex_bound_work(5);
    int rc = EX_KV(version_overlapping(v, level, (const uint8_t *)b, b ? strlen(b) : 0,
                                 (const uint8_t *)e, e ? strlen(e) : 0, &out));
    ex_bound_work(EX_TEST_CPU_SECONDS);
    EX_CHECK(rc == KV_OK, EX_RULE(1, "the files that meet") "version_overlapping(level %d, [%s, "
             "%s]) returns KV_OK (got %d: %s)",
             level, b ? b : "NULL", e ? e : "NULL", rc, ex_errmsg(rc));
    if (level == 0)
        EX_CHECK(out.n <= v->nfiles[0], EX_RULES("1 and 3", "the files of the level asked, "
                 "each L0 file once") "version_overlapping returns files of the level asked, "
                 "each once (%zu of them at most), not %zu: a scan that starts again keeps "
                 "none of what it found before", v->nfiles[0], out.n);
    EX_CHECK(out.n <= v->nfiles[level], EX_RULE(1, "the files of the level asked") "version_overlapping returns files of the level asked "
             "(%zu of them), not %zu", v->nfiles[level], out.n);
    /* In the level's order: L0 newest first, a level >= 1 by key. */
    for (size_t i = 1; i < out.n; i++) {
        size_t before = ov_place(v, level, out.files[i - 1]);
        size_t here = ov_place(v, level, out.files[i]);
        if (before == SIZE_MAX || here == SIZE_MAX)
            break; /* a file of another level: the checks above say so */
        unsigned long long prev_n = out.files[i - 1]->number, this_n = out.files[i]->number;
        EX_CHECK(before != here, EX_RULES("1 and 3", "each file once")
                 "version_overlapping(level %d, [%s, %s]) lists file %llu twice: each file "
                 "of the answer once", level, ov_key(b), ov_key(e), this_n);
        if (level == 0)
            EX_CHECK(before < here, EX_RULE(3, "in the level's order, newest first")
                     "version_overlapping(level 0, [%s, %s]) lists file %llu after file %llu, "
                     "but L0 holds %llu first (v->files[0] is newest first): the answer keeps "
                     "the level's order", ov_key(b), ov_key(e), this_n, prev_n, this_n);
        else
            EX_CHECK(before < here, EX_RULE(1, "a run, in the level's order")
                     "version_overlapping(level %d, [%s, %s]) lists file %llu after file %llu, "
                     "but L%d holds %llu first: the answer is a run of the level, in its order",
                     level, ov_key(b), ov_key(e), this_n, prev_n, level, this_n);
    }
    ex_sorted_numbers(&out, buf, cap);
    free(out.files);
    return buf;
}

/* L0: the files, newest first, chained by shared keys: a range that meets
 * one must take every file reachable through overlaps, whichever comes
 * first in the level. */
static void overlapping_l0_closes_transitively(void)
{
    /* Numbers: 3 is newest (first in L0), 1 oldest.  3 = [a, c] and
     * 1 = [c, e] share c; 2 = [x, z] meets neither. */
    const ex_file f[] = {{0, 1, 100, "c", "e"}, {0, 2, 100, "x", "z"}, {0, 3, 100, "a", "c"}};
    version *v = ex_version(f, 3);
    char got[256];
    ov_call(v, 0, "d", "d", got, sizeof got);
    EX_CHECK(strcmp(got, "1 3") == 0, EX_RULE(2, "L0: the range grows") "L0's files overlap one "
             "another, so the range grows by "
             "each file it meets and the answer is closed transitively: [d, d] meets 1 = [c, e], "
             "which grows the range to [c, e], which meets 3 = [a, c] (earlier in the level): "
             "want files \"1 3\", got \"%s\"", got);
    ov_call(v, 0, "y", "y", got, sizeof got);
    EX_CHECK(strcmp(got, "2") == 0, EX_RULE(3, "every L0 file meeting the final range") "[y, y] "
             "meets only 2 = [x, z]: want \"2\", got \"%s\"", got);
    ov_call(v, 0, "f", "w", got, sizeof got);
    EX_CHECK(strcmp(got, "(none)") == 0, EX_RULE(3, "every L0 file meeting the final range") "[f, w] meets no file of L0 (between [a, e] and "
             "[x, z]): want none, got \"%s\"", got);
    ov_call(v, 0, NULL, NULL, got, sizeof got);
    EX_CHECK(strcmp(got, "1 2 3") == 0, EX_RULES("2 and 3", "an unbounded end stays "
             "unbounded as the range grows; every L0 file meeting the final range") "an "
             "unbounded range [NULL, NULL] meets every file: "
             "want \"1 2 3\", got \"%s\"", got);
    version_unref(v);
    /* A longer chain, each link found only after the range grew. */
    const ex_file g[] = {{0, 1, 10, "m", "p"}, {0, 2, 10, "j", "m"}, {0, 3, 10, "p", "s"},
                         {0, 4, 10, "g", "j"}, {0, 5, 10, "s", "u"}, {0, 6, 10, "a", "b"}};
    v = ex_version(g, 6);
    ov_call(v, 0, "n", "n", got, sizeof got);
    EX_CHECK(strcmp(got, "1 2 3 4 5") == 0, EX_RULE(2, "L0: the scan starts again when the "
             "range grew") "the chain g-j, j-m, m-p, p-s, s-u is one closed set "
             "from [n, n] (file 1 = [m, p]): want \"1 2 3 4 5\", got \"%s\"", got);
    version_unref(v);
    /* Keys of different lengths: 1 = [b, dz] reaches past [c, d] by its
     * second byte, and so meets 2 = [dy, f]. */
    const ex_file h[] = {{0, 1, 10, "b", "dz"}, {0, 2, 10, "dy", "f"}};
    v = ex_version(h, 2);
    ov_call(v, 0, "c", "d", got, sizeof got);
    EX_CHECK(strcmp(got, "1 2") == 0, EX_RULE(2, "L0: the range grows") "[c, d] meets 1 = [b, "
             "dz], whose largest key dz is past "
             "d, so the range grows to [b, dz] and meets 2 = [dy, f]: a file's largest key is "
             "compared whole (f->largest_len bytes, less the trailer), want \"1 2\", got "
             "\"%s\"", got);
    version_unref(v);
}

/* The range grows to a file's user keys, not to its internal keys: an end
 * taken with the trailer's 8 bytes still on it reaches past the file, to
 * keys the file does not hold ("d\x01" sorts before "d" followed by a
 * trailer whose first byte, the type of a put, is 1). */
static void overlapping_l0_grows_to_user_keys(void)
{
    const ex_file f[] = {{0, 1, 10, "d\x01", "e"}, {0, 2, 10, "a", "d"}};
    version *v = ex_version(f, 2);
    char got[256];
    ov_call(v, 0, "a", "b", got, sizeof got);
    EX_CHECK(strcmp(got, "2") == 0, EX_RULE(2, "L0: the range grows to the file's user keys")
             "[a, b] meets 2 = [a, d], which grows the range to [a, d], and 1 = [d\\x01, e] "
             "starts past d: want \"2\", got \"%s\" (a vfile's keys are internal keys: its "
             "user key is len - IKEY_TRAILER_SIZE bytes long; a range end taken with the "
             "trailer on it is a longer key than the file's)", got);
    version_unref(v);
}

/* Each level is its own: the files of the level asked, and only they,
 * whatever the levels above and below hold. */
static void overlapping_looks_at_the_level_asked(void)
{
    const ex_file f[] = {{0, 1, 100, "a", "z"}, {0, 2, 100, "a", "z"}, {0, 3, 100, "a", "z"},
                         {1, 10, 100, "b", "d"}, {1, 11, 100, "f", "h"},
                         {2, 20, 100, "c", "g"}};
    version *v = ex_version(f, 6);
    char got[256];
    ov_call(v, 1, "c", "c", got, sizeof got);
    EX_CHECK(strcmp(got, "10") == 0, EX_RULE(1, "the files of the level asked") "L0 holds 1, 2, "
             "3 = [a, z], L1 10 = [b, d], 11 = [f, h]: "
             "version_overlapping(level 1, [c, c]) looks at L1's files alone, sorted and "
             "disjoint (level >= 1): want \"10\", got \"%s\"", got);
    ov_call(v, 2, "a", "b", got, sizeof got);
    EX_CHECK(strcmp(got, "(none)") == 0, EX_RULE(1, "the files of the level asked") "L2 holds "
             "only 20 = [c, g]: [a, b] meets none of "
             "L2's files, whatever L0 and L1 hold: got \"%s\"", got);
    ov_call(v, 0, "c", "c", got, sizeof got);
    EX_CHECK(strcmp(got, "1 2 3") == 0, EX_RULE(3, "L0's files") "[c, c] at L0 meets its three "
             "files, not L1's: want "
             "\"1 2 3\", got \"%s\"", got);
    version_unref(v);
}

/* L1..L6: sorted and disjoint; the files that meet the range, in order. */
static void overlapping_sorted_level_is_one_run(void)
{
    const ex_file f[] = {{1, 10, 100, "b", "d"}, {1, 11, 100, "f", "h"},
                         {1, 12, 100, "j", "l"}, {1, 13, 100, "n", "p"}};
    version *v = ex_version(f, 4);
    char got[256];
    struct { const char *b, *e, *want, *why; } c[] = {
        {"e", "k", "11 12", "[e, k] meets [f, h] and [j, l]"},
        {"d", "d", "10", "a range that is one key meets the file whose largest key it is"},
        {"h", "j", "11 12", "the bounds are inclusive: [h, j] meets [f, h] and [j, l]"},
        {"q", "z", "(none)", "[q, z] is past every file"},
        {"a", "a", "(none)", "[a, a] is before every file"},
        {"e", "e", "(none)", "[e, e] falls between two files"},
        {NULL, "f", "10 11", "[NULL, f]: unbounded below"},
        {"k", NULL, "12 13", "[k, NULL]: unbounded above"},
        {NULL, NULL, "10 11 12 13", "[NULL, NULL]: every file"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        ov_call(v, 1, c[i].b, c[i].e, got, sizeof got);
        EX_CHECK(strcmp(got, c[i].want) == 0, EX_RULE(1, "a level >= 1: one run") "L1 holds 10 "
                 "= [b, d], 11 = [f, h], 12 = [j, l], "
                 "13 = [n, p]: %s: want \"%s\", got \"%s\"", c[i].why, c[i].want, got);
    }
    ov_call(v, 2, NULL, NULL, got, sizeof got);
    EX_CHECK(strcmp(got, "(none)") == 0, EX_RULE(1, "an empty level") "an empty level has "
             "nothing to overlap: got \"%s\"", got);
    version_unref(v);
}

/* ---- random versions against a brute-force closure ----------------------- */

static uint64_t ov_state = 88172645463325252ull;
static unsigned ov_rand(unsigned n)
{
    ov_state ^= ov_state << 13;
    ov_state ^= ov_state >> 7;
    ov_state ^= ov_state << 17;
    return (unsigned)(ov_state % n);
}

static void overlapping_matches_a_brute_force_closure(void)
{
    /* Ascending, of different lengths (a file's smallest and largest keys
     * are compared whole, each with its own length). */
    static const char *keys[] = {"a", "aa", "ab", "b", "ba", "bbb", "c", "ca", "cb", "cbb",
                                 "d", "da", "e", "ea", "eab", "f", "fa", "g", "ga", "gab"};
    const unsigned nk = 20;
    for (int round = 0; round < 400; round++) {
        ex_file f[10];
        int lo[10], hi[10];
        int nf = 1 + (int)ov_rand(9), level = round % 2 == 0 ? 0 : 1 + (int)ov_rand(5);
        if (level == 0) {
            for (int i = 0; i < nf; i++) {
                lo[i] = (int)ov_rand(nk);
                hi[i] = lo[i] + (int)ov_rand(4);
                if (hi[i] >= (int)nk)
                    hi[i] = (int)nk - 1;
            }
        } else { /* disjoint, ascending */
            int at = (int)ov_rand(3), n = 0;
            for (int i = 0; i < nf && at < (int)nk; i++, n++) {
                lo[i] = at;
                hi[i] = at + (int)ov_rand(2);
                if (hi[i] >= (int)nk)
                    hi[i] = (int)nk - 1;
                at = hi[i] + 1 + (int)ov_rand(3);
            }
            nf = n;
        }
        for (int i = 0; i < nf; i++)
            f[i] = (ex_file){level, (uint64_t)(i + 1), 100, keys[lo[i]], keys[hi[i]]};
        version *v = ex_version(f, (size_t)nf);
        int qb = ov_rand(5) == 0 ? -1 : (int)ov_rand(nk);
        int qe = ov_rand(5) == 0 ? -1 : (qb < 0 ? 0 : qb) + (int)ov_rand(4);
        if (qe >= (int)nk)
            qe = (int)nk - 1;
        /* The model: grow [b, e] until no file adds to it (at a sorted
         * level nothing grows it beyond the files that meet it, and those
         * are the answer either way). */
        int b = qb < 0 ? -1 : qb, e = qe < 0 ? (int)nk : qe, in[10] = {0}, grew = 1;
        while (grew) {
            grew = 0;
            for (int i = 0; i < nf; i++) {
                if (in[i] || hi[i] < b || lo[i] > e)
                    continue;
                in[i] = 1;
                if (level == 0 && qb >= 0 && lo[i] < b)
                    b = lo[i], grew = 1;
                if (level == 0 && qe >= 0 && hi[i] > e)
                    e = hi[i], grew = 1;
                grew = grew || level == 0;
            }
        }
        char want[256] = "", got[256], desc[512] = "";
        size_t at = 0, dat = 0;
        for (int i = 0; i < nf; i++) {
            if (in[i])
                at += (size_t)snprintf(want + at, sizeof want - at, at ? " %d" : "%d", i + 1);
            dat += (size_t)snprintf(desc + dat, sizeof desc - dat, "%s%d = [%s, %s]",
                                    i ? ", " : "", i + 1, keys[lo[i]], keys[hi[i]]);
        }
        if (at == 0)
            snprintf(want, sizeof want, "(none)");
        ov_call(v, level, qb < 0 ? NULL : keys[qb], qe < 0 ? NULL : keys[qe], got, sizeof got);
        EX_CHECK(strcmp(got, want) == 0, EX_RULE(2, "the closure") "random version %d, L%d "
                 "holds %s; the range [%s, %s] "
                 "%s: want \"%s\", got \"%s\"", round, level, desc, qb < 0 ? "NULL" : keys[qb],
                 qe < 0 ? "NULL" : keys[qe], level == 0 ? "grows by every file it meets, "
                 "transitively" : "meets a run of the sorted files", want, got);
        version_unref(v);
    }
}

static void overlapping_out_of_memory(void)
{
    const ex_file f[] = {{1, 10, 100, "b", "d"}, {1, 11, 100, "f", "h"}};
    version *v = ex_version(f, 2);
    vfile_list out = {NULL, 0};
    if (!ex_alloc_fail_at(1)) {
        version_unref(v);
        return; /* a sanitizer's build: no failing allocation */
    }
    ex_context(EX_RULE(4, "out of memory: KV_ERR_NOMEM") "version_overlapping(level 1, "
               "[a, z]) whose allocation of out->files fails");
    int rc = EX_KV(version_overlapping(v, 1, (const uint8_t *)"a", 1, (const uint8_t *)"z", 1,
                                       &out));
    int failed = ex_alloc_failed();
    ex_alloc_fail_at(0);
    if (rc == KV_OK)
        free(out.files);
    EX_CHECK(!failed || rc == KV_ERR_NOMEM,
             EX_RULE(4, "out of memory") "version_overlapping whose out->files cannot be "
             "allocated returns KV_ERR_NOMEM (got %d)", rc);
    EX_CHECK(!failed || rc != KV_ERR_NOMEM || kv_errmsg()[0] != '\0',
             EX_RULE(4, "out of memory") "its KV_ERR_NOMEM comes with a message of its own in "
             "kv_errmsg() (error.h: the failing path sets it), not the empty one or an earlier "
             "call's");
    version_unref(v);
}

static const harness_test overlapping_tests[] = {
    HARNESS_TEST(overlapping_out_of_memory),
    HARNESS_TEST(overlapping_l0_grows_to_user_keys),
    HARNESS_TEST(overlapping_l0_closes_transitively),
    HARNESS_TEST(overlapping_looks_at_the_level_asked),
    HARNESS_TEST(overlapping_sorted_level_is_one_run),
    HARNESS_TEST(overlapping_matches_a_brute_force_closure),
};
const harness_suite overlapping_suite = HARNESS_SUITE("overlapping", overlapping_tests);
