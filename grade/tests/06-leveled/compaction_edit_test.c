/*
 * compaction_edit_test.c: exercise compaction_edit,
 * compaction_next_pointer and compaction_edit
 * (stages/06-leveled/compaction/compaction_pick.c): the manifest's record of a
 * compaction: every input removed from its level, the level's compact
 * pointer moved to the largest key the compaction took, and for a trivial
 * move the file added again one level down (no byte of it rewritten).
 * Checked on the edit itself, then on the version the edit makes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compaction_pick.h"
#include "ex_level.h"
#include "ex_power.h"
#include "exercise.h"
#include "internal_key.h"
#include "kv.h"
#include "version_test_util.h"

static compaction *ce_pick(version *v, const char *what)
{
    compaction_options o;
    compaction_options_from(NULL, &o);
    o.l1_bytes = 100;
    o.table_bytes = 50;
    compaction *c = NULL;
    harness_context("test setup: compaction_pick (%s); the test ends if it has used 5 s "
                    "of CPU without returning", what);
    ex_bound_work(5);
    int rc = EX_KV(compaction_pick(v, &o, NULL, &c));
    ex_bound_work(EX_TEST_CPU_SECONDS);
    EX_CHECK(rc == KV_OK && c != NULL, "test setup: compaction_pick (%s) picks a compaction "
             "(%d: %s)", what, rc, ex_errmsg(rc));
    return c;
}

static void ce_edit(const compaction *c, version_edit *e, const char *what)
{
    version_edit_init(e);
    harness_context("compaction_edit (%s)", what);
    int rc = EX_KV(compaction_edit(c, e));
    EX_CHECK(rc == KV_OK, EX_RULE(2, "the edit") "compaction_edit (%s) returns KV_OK (got %d: "
             "%s)", what, rc,
             ex_errmsg(rc));
}

static int ce_removed(const version_edit *e, int level, uint64_t number)
{
    for (size_t i = 0; i < e->nremoved; i++)
        if (e->removed[i].level == level && e->removed[i].number == number)
            return 1;
    return 0;
}

static const edit_pointer *ce_pointer(const version_edit *e, int level)
{
    const edit_pointer *p = NULL;
    for (size_t i = 0; i < e->npointers; i++)
        if (e->pointers[i].level == level)
            p = &e->pointers[i];
    return p;
}

static void ce_expect_pointer(const version_edit *e, int level, const char *ukey,
                              const char *why)
{
    uint8_t want[32];
    size_t wl = vt_ikey(want, ukey, 1);
    const edit_pointer *p = ce_pointer(e, level);
    EX_CHECK(p != NULL, EX_RULE(4, "the compact pointer set") "the edit sets L%d's compact "
             "pointer (where that level's next "
             "compaction starts: round robin)", level);
    EX_CHECK(p->len == wl && memcmp(p->key, want, wl) == 0, EX_RULES("1 and 4", "the compact "
             "pointer set to compaction_next_pointer, the largest key of inputs[0]") "L%d's "
             "compact pointer is %s: "
             "want the internal key %s@1, got a %zu-byte key starting \"%.*s\"", level, why,
             ukey, p->len, (int)(p->len > IKEY_TRAILER_SIZE ? p->len - IKEY_TRAILER_SIZE : 0),
             (const char *)p->key);
}

static void compaction_edit_removes_every_input(void)
{
    /* L1 = 10 [c, f] (the only file, 300 of 100 bytes); L2 = 20 [a, d],
     * 21 [e, g], 22 [x, z]: a compaction of 10 with 20 and 21. */
    const ex_file f[] = {{1, 10, 300, "c", "f"}, {2, 20, 50, "a", "d"},
                         {2, 21, 50, "e", "g"}, {2, 22, 50, "x", "z"}};
    version *v = ex_version(f, 4);
    compaction *c = ce_pick(v, "L1 over its target");
    version_edit e;
    ce_edit(c, &e, "L1's 10 into L2's 20 and 21");
    EX_CHECK(ce_removed(&e, 1, 10), EX_RULE(2, "every input removed at its level") "the edit "
             "removes input 10 from L1 (inputs[0], at the "
             "compaction's level)");
    EX_CHECK(ce_removed(&e, 2, 20) && ce_removed(&e, 2, 21), EX_RULE(2, "every input removed at "
             "its level") "the edit removes inputs 20 and "
             "21 from L2 (inputs[1], at level + 1): their keys are in the outputs now");
    EX_CHECK(!ce_removed(&e, 2, 22) && e.nremoved == 3, EX_RULE(2, "the inputs and nothing else") "the edit removes the inputs and "
             "nothing else (3 files; got %zu removals)", e.nremoved);
    EX_CHECK(e.nadded == 0, EX_RULE(3, "only a trivial move adds") "a compaction that rewrites "
             "adds no file in its edit (the engine "
             "adds its outputs): got %zu added", e.nadded);
    ce_expect_pointer(&e, 1, "f", "the largest key among the inputs at L1 (file 10's)");
    /* The edit applied: L1 empty, L2 only 22. */
    version *nv = vt_apply(v, &e);
    char got[128];
    EX_CHECK(nv->nfiles[1] == 0, EX_RULE(2, "every input removed") "after the edit, L1 holds "
             "nothing (got %s)",
             vt_level(nv, 1, got, sizeof got));
    vt_level(nv, 2, got, sizeof got);
    EX_CHECK(strcmp(got, "22") == 0, EX_RULE(2, "every input removed") "after the edit, L2 "
             "holds only 22 (got \"%s\")", got);
    version_unref(nv);
    compaction_free(c);
    version_unref(v);
}

static void compaction_edit_pointer_is_the_largest_input(void)
{
    /* L0's closed set: 1 [a, c] (oldest), 3 [c, q], 5 [p, r]; the largest
     * key among them is r, though the file picked first ends at c. */
    const ex_file f[] = {{0, 1, 10, "a", "c"}, {0, 2, 10, "x", "y"}, {0, 3, 10, "c", "q"},
                         {0, 5, 10, "p", "r"}};
    version *v = ex_version(f, 4);
    compaction *c = ce_pick(v, "4 L0 files");
    size_t len = 0;
    const uint8_t *p = compaction_next_pointer(c, &len);
    uint8_t want[32];
    size_t wl = vt_ikey(want, "r", 1);
    EX_CHECK(p != NULL && len == wl && memcmp(p, want, wl) == 0, EX_RULE(1, "the largest key of "
             "inputs[0]") "compaction_next_pointer is "
             "the largest internal key among inputs[0] (1 [a, c], 3 [c, q], 5 [p, r]): r@1, "
             "not the first input's largest (got %zu bytes \"%.*s\")", len,
             (int)(p != NULL && len > IKEY_TRAILER_SIZE ? len - IKEY_TRAILER_SIZE : 0),
             p != NULL ? (const char *)p : "");
    version_edit e;
    ce_edit(c, &e, "L0's 1, 3 and 5");
    EX_CHECK(ce_removed(&e, 0, 1) && ce_removed(&e, 0, 3) && ce_removed(&e, 0, 5) &&
             !ce_removed(&e, 0, 2), EX_RULE(2, "every input removed") "the edit removes L0's "
                         "inputs 1, 3 and 5, not 2");
    ce_expect_pointer(&e, 0, "r", "the largest key among the inputs at L0");
    version_edit_free(&e);
    compaction_free(c);
    version_unref(v);
    /* The same set, but the newest input (first of inputs[0], L0 being
     * newest first) is not the one with the largest key. */
    const ex_file g[] = {{0, 1, 10, "a", "c"}, {0, 2, 10, "x", "y"}, {0, 3, 10, "p", "r"},
                         {0, 5, 10, "c", "q"}};
    v = ex_version(g, 4);
    c = ce_pick(v, "4 L0 files, the newest input not the largest");
    p = compaction_next_pointer(c, &len);
    EX_CHECK(p != NULL && len == wl && memcmp(p, want, wl) == 0, EX_RULE(1, "the largest key of "
             "inputs[0]") "compaction_next_pointer "
             "looks at every file of inputs[0] (1 [a, c], 5 [c, q], 3 [p, r], newest first): "
             "the largest is r@1, in the last of them (got %zu bytes \"%.*s\")", len,
             (int)(p != NULL && len > IKEY_TRAILER_SIZE ? len - IKEY_TRAILER_SIZE : 0),
             p != NULL ? (const char *)p : "");
    compaction_free(c);
    version_unref(v);
}

static void compaction_edit_trivial_move_keeps_the_file(void)
{
    /* L1 = 14 [c, fz], nothing at L2 overlapping it: a trivial move.  (Its
     * number is not its entry count, set to 37 below, and its keys are
     * not as long as each other.) */
    const ex_file f[] = {{1, 14, 300, "c", "fz"}, {2, 22, 50, "x", "z"}};
    version *v = ex_version(f, 2);
    compaction *c = ce_pick(v, "L1 over its target, nothing below it");
    EX_CHECK(compaction_is_trivial_move(c), "test setup: a trivial move");
    /* 3 of its 37 entries hidden by newer versions in the file, droppable
     * once the oldest snapshot is at 40 (version_edit.h, tag 7). */
    ex_find_file(v, 14)->dead = 3;
    ex_find_file(v, 14)->dead_from = 40;
    /* An entry count of its own, like no other length of the file. */
    ex_find_file(v, 14)->entries = 37;
    version_edit e;
    ce_edit(c, &e, "a trivial move of 14 from L1 to L2");
    EX_CHECK(ce_removed(&e, 1, 14), EX_RULE(2, "every input removed") "a trivial move removes "
             "the file from L1");
    int added = -1;
    for (size_t i = 0; i < e.nadded; i++)
        if (e.added[i].number == 14)
            added = (int)i;
    EX_CHECK(added >= 0, EX_RULE(3, "a trivial move adds the file back") "a trivial move adds "
             "file 14 again at L2 (no byte of it is "
             "rewritten: the manifest alone moves it); without that, the edit loses every key "
             "it holds");
    const edit_file *a = &e.added[added];
    const vfile *in = c->inputs[0].files[0];
    EX_CHECK(a->level == 2, EX_RULE(3, "a trivial move adds the file back") "the moved file "
             "goes to level + 1 = 2, not %d", a->level);
    EX_CHECK(a->file_bytes == in->file_bytes && a->entries == in->entries &&
             a->smallest_len == in->smallest_len && a->largest_len == in->largest_len &&
             memcmp(a->smallest, in->smallest, in->smallest_len) == 0 &&
             memcmp(a->largest, in->largest, in->largest_len) == 0,
             EX_RULE(3, "a trivial move adds the file back as it was") "the moved file keeps "
             "its size, entry count (37: f->entries), smallest and largest keys (got %llu "
             "entries)", (unsigned long long)a->entries);
    EX_CHECK(a->dead == 3 && a->dead_from == 40, EX_RULE(3, "its dead entries") "the moved file "
             "keeps what the version "
             "knew of its dead entries (version_edit_file_dead after the add: 3 dead from "
             "snapshot 40; got %llu from %llu): a file the manifest moves is the same file, "
             "and a later compaction that is told of none keeps entries it could drop",
             (unsigned long long)a->dead, (unsigned long long)a->dead_from);
    ce_expect_pointer(&e, 1, "fz", "file 14's largest key, after a move too");
    version *nv = vt_apply(v, &e);
    char got[128];
    vt_level(nv, 2, got, sizeof got);
    EX_CHECK(nv->nfiles[1] == 0 && strcmp(got, "14 22") == 0, EX_RULE(3, "a trivial move adds "
             "the file back") "after the edit, L1 is empty and "
             "L2 holds 14 and 22 (got L2 \"%s\", %zu files at L1)", got, nv->nfiles[1]);
    version_unref(nv);
    compaction_free(c);
    version_unref(v);
}

static void compaction_edit_garbage_compaction_moves_no_pointer(void)
{
    /* L2 = 22 [x, z], 3 of its entries dead from snapshot 40; nothing
     * over its target.  compaction_pick_dead rewrites 22 alone: a
     * compaction at level 1 with no input there (inputs[0] empty), 22 in
     * inputs[1]. */
    const ex_file f[] = {{1, 10, 50, "c", "f"}, {2, 22, 50, "x", "z"}};
    version *v = ex_version(f, 2);
    ex_find_file(v, 22)->dead = 3;
    ex_find_file(v, 22)->dead_from = 40;
    compaction_options o;
    compaction_options_from(NULL, &o);
    compaction *c = NULL;
    int rc = EX_KV(compaction_pick_dead(v, &o, 100, &c));
    EX_CHECK(rc == KV_OK && c != NULL && c->level == 1 && c->inputs[0].n == 0 &&
                 c->inputs[1].n == 1, "test setup: compaction_pick_dead picks a garbage "
             "compaction of 22 (%d: %s)", rc, ex_errmsg(rc));
    size_t len = 7;
    harness_context("compaction_next_pointer of a garbage compaction (no input at its level)");
    const uint8_t *p = compaction_next_pointer(c, &len);
    EX_CHECK(p == NULL && len == 0, EX_RULE(1, "NULL when inputs[0] is empty") "a garbage "
             "compaction has no input at its level, so no "
             "largest key: compaction_next_pointer is NULL with *len 0 (got %s, *len %zu)",
             p == NULL ? "NULL" : "a key", len);
    version_edit e;
    ce_edit(c, &e, "a garbage compaction of L2's 22");
    EX_CHECK(ce_removed(&e, 2, 22) && e.nremoved == 1 && e.nadded == 0, EX_RULE(2, "every input "
             "removed") "the edit of a "
             "garbage compaction removes its one input, 22 from L2, and adds nothing (got %zu "
             "removed, %zu added)", e.nremoved, e.nadded);
    EX_CHECK(ce_pointer(&e, 1) == NULL && e.npointers == 0, EX_RULE(4, "no pointer without "
             "inputs[0]") "a garbage compaction moves no "
             "compact pointer: it took nothing at its level, so where that level's round robin "
             "stands is unchanged (got %zu pointers)", e.npointers);
    version_edit_free(&e);
    compaction_free(c);
    version_unref(v);
}

/* Every allocation of the edit of a trivial move made to fail in turn: the
 * edit's failure is returned. */
static void compaction_edit_out_of_memory_is_returned(void)
{
    const ex_file f[] = {{1, 14, 300, "c", "fz"}, {2, 22, 50, "x", "z"}};
    version *v = ex_version(f, 2);
    compaction *c = ce_pick(v, "L1 over its target, nothing below it");
    for (long n = 1;; n++) {
        version_edit e;
        version_edit_init(&e);
        if (!ex_alloc_fail_at(n)) {
            version_edit_free(&e);
            break;
        }
        harness_context("compaction_edit of a trivial move, allocation %ld failing", n);
        int rc = compaction_edit(c, &e);
        int failed = ex_alloc_failed();
        ex_alloc_fail_at(0);
        version_edit_free(&e);
        if (!failed)
            break;
        EX_CHECK(rc == KV_ERR_NOMEM,
                 EX_RULE(5, "the edit's errors returned") "compaction_edit whose allocation %ld "
                 "fails returns KV_ERR_NOMEM: an edit missing a part would lose a file or "
                 "keep one twice (got %d)", n, rc);
    }
    compaction_free(c);
    version_unref(v);
}

/* Writes with sync = 1, flushes and a compaction (kv_compact), the power
 * cut after every step (ex_power.h): whatever step the power stops at, the
 * database opens and holds every write acknowledged, its compaction
 * recorded whole or not at all. */
static void compaction_edit_power_cut_at_every_step(void)
{
    const char *path = ex_power_start();
    kv_options opt;
    kv_options_init(&opt);
    opt.sync = 1;
    kv_db *db = ex_open(path, &opt, "open the test's database (sync = 1)");
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 3; i++) {
            char k[16], v[32];
            snprintf(k, sizeof k, "k%d", (round * 2 + i) % 5);
            snprintf(v, sizeof v, "value-%d-%d", round, i);
            ex_put(db, k, v, "a put with sync = 1");
            ex_power_acked(k, v);
        }
        EX_CHECK(EX_KV(kv_flush(db)) == KV_OK, "kv_flush: %s", ex_kv_errmsg());
    }
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "kv_compact: %s", ex_kv_errmsg());
    kv_close(db);
    ex_power_stop();
    ex_power_check(&opt, EX_RULE(6, "one edit records the whole compaction"));
}

static const harness_test compaction_edit_tests[] = {
    HARNESS_TEST(compaction_edit_out_of_memory_is_returned),
    HARNESS_TEST(compaction_edit_power_cut_at_every_step),
    HARNESS_TEST(compaction_edit_removes_every_input),
    HARNESS_TEST(compaction_edit_pointer_is_the_largest_input),
    HARNESS_TEST(compaction_edit_trivial_move_keeps_the_file),
    HARNESS_TEST(compaction_edit_garbage_compaction_moves_no_pointer),
};
const harness_suite compaction_edit_suite = HARNESS_SUITE("compaction_edit", compaction_edit_tests);
