/*
 * exercise.h: what the unit tests of the exercises share
 * (grade/tests/STAGE/NAME_test.c, one file per exercise of
 * grade/STAGE.exercises, run by build/STAGE/exercisetest and by
 * `make grade`; docs/learn.md).
 *
 * A test of exercise NAME is NAME_suite's, and its test functions are
 * named NAME_what_they_prove.  Each check says which rule a wrong answer
 * breaks, in words a learner can act on: "a record whose key length is 0
 * is not a record", not "CHECK(x == 2)".  EX_CHECK does that, and when the
 * exercise's stub is still in place (it leaves "... is not written yet"
 * in kv_errmsg()), it says so too.
 *
 * Every test runs in a process of its own (exercise_main.c), so a stub
 * that returns nonsense, or a decoder that reads past its limit into the
 * guard page of ex_guarded, fails that test alone; a test sets
 * harness_context() (or ex_context(), which names a rule) before a call
 * that might crash, so that the crash is reported with the rule it broke.
 */
#ifndef KV_GRADE_EXERCISE_H
#define KV_GRADE_EXERCISE_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"

/* Fails the running test with the rule `fmt` states (printf-style), unless
 * cond holds. */
#define EX_CHECK(cond, ...)                                                  \
    do {                                                                     \
        if (!(cond))                                                         \
            ex_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                 \
    } while (0)

_Noreturn void ex_fail(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Naming the rule a check checks.  The comment above an exercise's stub
 * numbers its rules (`rule N` of grade/S.exercises: docs/learn-reference.md, "The
 * lists"); each rule has a test that fails when that rule alone is
 * broken, and the check that fails says which rule, by its number and
 * what it concerns, before what it saw.  Every failure that names a rule
 * begins "rule N of NAME (what): " (or "rules 1, 2 and 3 of NAME (what):
 * "), NAME the exercise: grade.sh finds it there and sends the learner to
 * the rule's own section of the page (`rule N reread`).  Two ways to say
 * it:
 *
 *   - in the message, a string literal put first:
 *
 *         EX_CHECK(rc == LOG_DECODE_SHORT,
 *                  EX_RULE(3, "a record that runs past limit") "is SHORT (got %d)", rc);
 *
 *     fails with "rule 3 of record_decode (a record that runs past limit):
 *     is SHORT (got 2)", NAME being the exercise whose test is running (its
 *     suite's name).  EX_RULES("1, 2 and 3", "the walk") names several;
 *     EX_RULE_OF(skiplist_search, 3, "prev") a rule of another exercise,
 *     which a later exercise's test reaches (it fails as "rule 3 of
 *     skiplist_search (prev): ").  The literal may stand anywhere in the
 *     message (after a "%s: " of what was done, say): ex_fail moves the rule
 *     to the front.  It names the rule of that one check.
 *   - for the checks after it: EX_RULE_BEGIN(n, "what"); sets rule n of the
 *     exercise the test file is named for (grade/tests/S/NAME_test.c), until
 *     the next EX_RULE_BEGIN or the test's end; a check whose message names
 *     no rule of its own then begins "rule n of NAME (what): ", and so does
 *     a crash's report.
 *
 * grade/rules_check.sh checks that every rule of the list is named so by
 * a test (EX_RULE(N, or EX_RULE_BEGIN(N, in the exercise's test files, N
 * in an EX_RULES list there, or EX_RULE_OF(NAME, N, in any test of the
 * stage), and that every rule a test names is one of the list's. */
#define EX_RULE(n, what) "rule " #n " (" what "): "
#define EX_RULES(list, what) "rules " list " (" what "): "
#define EX_RULE_OF(exercise, n, what) #exercise "'s rule " #n " (" what "): "
#ifndef EX_EXERCISE_FILE
/* A helper file holding tests of one exercise defines it as that
 * exercise's test file's name ("gc_collect_test.c") before this header. */
#define EX_EXERCISE_FILE __FILE__
#endif
#define EX_RULE_BEGIN(n, what) ex_rule(EX_EXERCISE_FILE, n, what)
void ex_rule(const char *file, int n, const char *what);
/* The rule EX_RULE_BEGIN set, as ex_fail writes it ("rule 3 of NAME
 * (what)"), or "" if none; ex_rule_put(text) sets it back to such a text
 * (a helper that checks a rule of its own puts back the test's). */
const char *ex_rule_now(void);
void ex_rule_put(const char *text);
/* harness_context, with a rule the text names in EX_RULE's words written
 * as ex_fail writes it ("rule N of NAME (what): " first), so that a crash
 * there names its rule as a failed check would. */
void ex_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For a test named *_race_* (the race rung runs it under ThreadSanitizer,
 * which stops the process at the first race it sees, before any check):
 * writes "race rule: " and the rule (EX_RULE's words, written as ex_fail
 * writes them) to stderr, where the sanitizer's report follows, so that
 * the race rung's message names the rule a race there breaks. */
void ex_race_rule(const char *rule);
/* Called as each test starts, with its name ("suite/test"): the suite is
 * the exercise EX_RULE's words are of (exercise_main.c). */
void ex_test_begin(const char *full_name);

/* EX_BOUND fails the running test with the rule `fmt` states if it does
 * not end: once it has used `seconds` of CPU from now (every thread's: a
 * loop that never ends), or when none of its threads has run at all for
 * EX_STALL_SECONDS (a wait nobody ends: a writer left waiting, a lock never
 * given back).  Never the time on the wall: a busy machine stretches a
 * test's wall time, not the CPU it uses, and still runs a thread that can
 * run many times a second (exercise_bound.c).  A later EX_BOUND in the same
 * test replaces it.  Without one, a test is bounded all the same, at
 * EX_TEST_CPU_SECONDS, and placed as a crash is (ex_bound_arm). */
#define EX_BOUND(seconds, ...) ex_bound(__FILE__, __LINE__, seconds, __VA_ARGS__)
void ex_bound(const char *file, int line, unsigned seconds, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define EX_TEST_CPU_SECONDS 10
#define EX_STALL_SECONDS 10
/* Under a sanitizer every CPU bound is this many times as large. */
#define EX_BOUND_SANITIZED 20
/* The test's CPU bound, `seconds` from now, with no rule: past it, or
 * stalled, the test is placed as a crash is (what it was doing, and the
 * context it set).  A call that must end far sooner than the test's bound
 * (a pick, a step back) so fails sooner if it loops; and after a wait
 * that EX_BOUND named the rule of, the rest of the test is no longer
 * said to break it. */
void ex_bound_work(unsigned seconds);
/* Called as each test starts (in its own process): the test's CPU bound
 * set to EX_TEST_CPU_SECONDS, and the watcher of stalls started. */
void ex_bound_arm(void);
/* msg with the rules it names written as ex_fail writes them ("rule N of
 * NAME (what): " first), into out: what EX_BOUND and ex_context say. */
void ex_rule_words(const char *file, const char *msg, char *out, size_t n);

/* n bytes whose last byte is followed by a page that cannot be read: a
 * decoder that looks past them crashes the test (and the harness names the
 * context the test set).  Valid until the test ends. */
uint8_t *ex_guarded(size_t n);
/* A copy of p[0, n) in ex_guarded memory. */
uint8_t *ex_guarded_copy(const void *p, size_t n);

/* Caps the address space of the test's process at what it maps now plus
 * `more` bytes (and 8 MiB for the small allocations of a check that
 * fails), so that an allocation past that fails: for a test of a
 * KV_ERR_NOMEM path.  Returns 1, or 0 where no cap can be set (a
 * sanitizer's build, whose shadow memory a cap would starve): the test
 * then leaves that path unchecked.  ex_memory_uncap lifts the cap. */
int ex_memory_cap(size_t more);
void ex_memory_uncap(void);

/* Every block a test allocates (through malloc, calloc, realloc, strdup,
 * strndup, asprintf, vasprintf: the engine's code and the test's own)
 * must be freed by the time it ends: a test that passes its checks but
 * ends holding a block fails, with the number of blocks and bytes it
 * held.  And realloc always moves the block, poisoning the old one (as
 * free poisons what it frees), so that a pointer kept from before a
 * realloc is wrong every time.  exercise_alloc.c; exercise_main.c calls
 * ex_alloc_begin as each test starts and ex_alloc_end once it has passed
 * (harness_test_hooks).  Off under the sanitizers, which have their own. */
void ex_alloc_begin(void);
void ex_alloc_end(const char *test);

/* The nth allocation from now (1: the next; malloc, calloc, realloc,
 * strdup, asprintf and the others above, on any thread) fails, as when
 * memory runs out, and the ones after it succeed; 0 turns it off.  A test
 * of an error path makes each allocation of a call fail in turn (n = 1,
 * 2, ... until ex_alloc_failed says the call made fewer): every one must
 * end in KV_ERR_NOMEM, with nothing leaked.  Returns 1, or 0 under the
 * sanitizers, where nothing is made to fail (the test then leaves its
 * error paths unchecked). */
int ex_alloc_fail_at(long n);
/* 1 if the failure ex_alloc_fail_at chose has happened since it was set. */
int ex_alloc_failed(void);

/* Catches the fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT,
 * and exercise_bound.c's SIGPROF and SIGALRM) of each test's process: before it dies of the signal it writes the
 * line "crash frames: 0x... 0x..." (return addresses as offsets in the
 * test binary), which grade.sh turns into the function and line that
 * crashed.  exercise_crash.c; exercise_main.c calls it once.  Off under
 * the sanitizers, which print their own stack. */
void ex_crash_install(void);
/* The rule a crash's report names (EX_RULE's words; the handler writes
 * "    crash rule: WORDS" before its frames). */
void ex_crash_rule(const char *words);

/* 1 if the decimal number n stands in msg as a number of its own (not
 * part of a longer one): a message names the count or offset it should. */
int ex_names_number(const char *msg, unsigned long long n);

/* Keeps p[0, n) as an input for the fuzz rung's harness `harness` (fuzz/
 * HARNESS_fuzz.c): when the environment's EX_SEEDS names a directory (the
 * grade sets it as the exercises rung runs), the bytes are written to
 * EX_SEEDS/HARNESS/ under a name made of their hash, so that the fuzzer
 * starts from the inputs the tests built (a command cut, a damaged
 * snapshot, a where); else nothing.  Inputs over 64 KiB are left out (a
 * fuzzer's inputs are small).  Uses the C library's file calls, never
 * common/io.h (whose backend a test may have swapped). */
void ex_seed(const char *harness, const void *p, size_t n);
/* The same, with one byte `mode` before the bytes (vlog_fuzz.c's mode). */
void ex_seed_mode(const char *harness, uint8_t mode, const void *p, size_t n);
/* Every file of dir whose name ends with suffix, as ex_seed. */
void ex_seed_files(const char *harness, const char *dir, const char *suffix);

/* A procedure cut at each of its steps (the tests named *_kill_* and
 * *_power_*): ex_sim_root installs the power-loss simulator (io_sim.h)
 * over a fresh directory under the test's and returns it; after the
 * procedure ran between journal positions from and to (io_sim_position),
 * and the simulator was uninstalled, ex_sim_cut(at, from, power, what, n)
 * writes the state a power cut (power: what was not synced is lost, names
 * too) or a kill (every write kept) after the first `at` entries leaves,
 * in a fresh directory standing for the root, and returns it; *what gets
 * the last file operation before the cut in words ("none yet" at from). */
const char *ex_sim_root(void);
const char *ex_sim_cut(size_t at, size_t from, int power, char *what, size_t n);

/* Writes p[0, n) as the file `name` in a fresh temporary directory and
 * returns its path (valid until the test ends). */
const char *ex_write_file(const char *name, const void *p, size_t n);
/* Reads the whole file at path into a malloc'd buffer (*n its size);
 * fails the test if it cannot. */
uint8_t *ex_read_file(const char *path, size_t *n);
/* Overwrites byte `at` of the file at path with b (the file stays as long). */
void ex_poke_file(const char *path, uint64_t at, uint8_t b);

/* Through kv.h.  Each fails the test with `rule` (and kv_errmsg, cleared
 * before the call, and shown only when the call failed) when the engine
 * does not do what it says. */
#include "kv.h"
/* A failure message quotes kv_errmsg() only when it is the reported
 * call's own.  kv_errmsg() keeps a thread's last failure until the next
 * one: after a call that returned KV_OK or KV_NOT_FOUND (which set no
 * message), or an error path that forgot to set one, it still holds an
 * earlier, unrelated failure's words, which send a reader after the wrong
 * cause.  So a test makes a call whose message it reports through EX_KV,
 * and quotes ex_errmsg(rc), never kv_errmsg() itself:
 *
 *     rc = EX_KV(kv_get(db, "a", 1, &v, &vl));
 *     EX_CHECK(rc == KV_OK, "kv_get(a) returned %d (%s)", rc, ex_errmsg(rc));
 *     EX_CHECK(EX_KV(kv_flush(db)) == KV_OK, "kv_flush: %s", ex_kv_errmsg());
 *
 * EX_KV(call): clears kv_errmsg() (kv_error_clear), makes the call, keeps
 * its status for ex_kv_errmsg() and returns it.  A check of what the
 * message names (strstr(kv_errmsg(), ...)) reads kv_errmsg() after such a
 * call, so that only the call's own words can pass it.
 * ex_errmsg(rc): kv_errmsg() if rc is an error (below 0) and the call set
 * a message; else words saying that it set none and what it returned
 * ("no kv_errmsg: the call returned 1, which sets none").
 * ex_kv_errmsg(): ex_errmsg() of the status EX_KV last kept (on this
 * thread). */
#define EX_KV(call) (ex_kv_clear(), ex_kv_kept(call))
void ex_kv_clear(void);
int ex_kv_kept(int rc);
const char *ex_errmsg(int rc);
const char *ex_kv_errmsg(void);
/* The message of a stub still in place ("... is not written yet") that
 * this thread's kv_errmsg() holds, or held when EX_KV cleared it (a stub
 * that ran in an earlier call of the test, whose caller went on), or ""
 * if none: what EX_CHECK and a leak's report show, so that clearing a
 * message before a call never hides that an exercise is not written. */
const char *ex_stub_note(void);
kv_db *ex_open(const char *dir, const kv_options *opt, const char *rule);
void ex_put(kv_db *db, const char *k, const char *v, const char *rule);
void ex_expect(kv_db *db, const char *k, const char *v, const char *rule);
void ex_absent(kv_db *db, const char *k, const char *rule);
/* The value of a "name: value" line of kv_stats, as a number. */
uint64_t ex_stat(kv_db *db, const char *name);
/* Total bytes of the regular files in dir (IDENTITY and LOCK included). */
uint64_t ex_dir_bytes(const char *dir);

#endif
