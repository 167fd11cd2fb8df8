/*
 * harness.h: the tiny test harness shared by both test binaries.
 *
 * A test is a void function in a table (harness_test); each test file
 * exports one table as a harness_suite, and a main.c lists the suites of its
 * binary.  A test's full name is "suite/function", and the binary's optional
 * argument runs only the tests whose full name contains it (or one of its
 * comma-separated parts, and none of those written "!PART"); `--suite NAME`
 * runs only the suite called exactly NAME, and `--list` prints the suites'
 * names (what the grade's rungs run by, never by a substring).
 *
 * A failed CHECK prints file:line, the expression and (for CHECK_KV) the
 * status name and, when the status is an error, kv_errmsg() (after KV_OK
 * or KV_NOT_FOUND it holds an earlier failure's message, which is not
 * shown), then stops that test at once (longjmp back to
 * the runner) and the next test starts.  So:
 *   - REQUIRES: CHECK macros are used only on the thread that runs the test
 *     (worker threads record results; the test checks them after joining).
 *   - A test that stops early leaks what it had open; that is fine, because
 *     it has failed anyway.
 *
 * Each test gets fresh temporary directories from harness_tmpdir(), under
 * $TMPDIR (default /tmp); all of them are removed when the test ends, passed
 * or failed.  The runner also removes any io_fault backend a test left
 * installed.  The binary ends by printing exactly one line
 * "N passed, N failed" and exits 0 only if nothing failed.
 */
#ifndef KV_TESTS_HARNESS_H
#define KV_TESTS_HARNESS_H

#include <stddef.h>

typedef struct harness_test {
    const char *name;
    void (*fn)(void);
} harness_test;

typedef struct harness_suite {
    const char *name;
    const harness_test *tests;
    size_t count;
} harness_suite;

#define HARNESS_TEST(fn) {#fn, fn}
#define HARNESS_SUITE(name, table) {name, table, sizeof(table) / sizeof((table)[0])}

/* Runs every selected test of every suite; returns the process exit code. */
int harness_main(int argc, char **argv, const harness_suite *const *suites, size_t nsuites);

/* Called before harness_main: run each test in a child process of its own,
 * so that a test that crashes, or that a sanitizer stops, fails alone and
 * the next one still runs.  A child that dies of a signal, or exits with a
 * status above 1 (a leak checker's verdict at exit), fails its test. */
void harness_fork_each_test(void);

/* Called before harness_main: begin(name) runs as each test starts (in
 * the test's own process when each runs in one), and end(name) once the test
 * has passed and the harness has removed its directories and freed its
 * strings; end may fail the test (harness_fail), with the test's full
 * name in its message.  Either may be NULL.  (The exercises' tests check
 * there that a test ended holding no block it allocated.) */
void harness_test_hooks(void (*begin)(const char *full_name),
                        void (*end)(const char *full_name));

/* A fresh empty directory for the running test, removed when it ends.  The
 * string stays valid until then. */
const char *harness_tmpdir(void);

/* "dir/name" in storage owned by the harness (valid until the test ends). */
const char *harness_join(const char *dir, const char *name);

/* Text printed with any failure of the running test (a seed, a step
 * number...); replaced by each call, cleared when a test starts. */
void harness_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports a failure of the running test and stops it. */
_Noreturn void harness_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
_Noreturn void harness_fail_kv(const char *file, int line, const char *expr, int got,
                               int want1, int want2);

/* How many cases a suite that tries many takes: n in a plain build; under
 * AddressSanitizer or ThreadSanitizer, which run the code 3 to 15 times
 * slower, n / div (at least 1).  The sanitizer builds are there to catch
 * memory and thread errors on the paths the cases take, which fewer cases
 * still take; the release build, in the same make test, tries every case
 * with the same checks. */
long harness_cases(long n, long div);

/* Formats the first 32 bytes of p in hex into buf, for failure messages;
 * returns buf. */
#define HARNESS_HEX_BUF 112
const char *harness_hex(char buf[HARNESS_HEX_BUF], const void *p, size_t n);

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            harness_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);            \
    } while (0)

#define CHECK_MSG(cond, ...)                                                 \
    do {                                                                     \
        if (!(cond))                                                         \
            harness_fail(__FILE__, __LINE__, __VA_ARGS__);                   \
    } while (0)

#define CHECK_EQ(a, b)                                                       \
    do {                                                                     \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);      \
        if (check_a_ != check_b_)                                            \
            harness_fail(__FILE__, __LINE__, "CHECK_EQ(%s, %s): %lld != %lld", \
                         #a, #b, check_a_, check_b_);                        \
    } while (0)

#define CHECK_MEM(p, plen, q, qlen)                                          \
    do {                                                                     \
        size_t check_pl_ = (plen), check_ql_ = (qlen);                       \
        if (check_pl_ != check_ql_ ||                                        \
            (check_pl_ > 0 && memcmp((p), (q), check_pl_) != 0))             \
            harness_fail(__FILE__, __LINE__,                                 \
                         "CHECK_MEM(%s, %s): %zu bytes vs %zu bytes differ",  \
                         #p, #q, check_pl_, check_ql_);                      \
    } while (0)

/* A kv call must return `want`; on failure prints the status names and,
 * when the status is an error (below 0), kv_errmsg(). */
#define CHECK_KV(call, want)                                                 \
    do {                                                                     \
        int check_s_ = (call);                                               \
        if (check_s_ != (want))                                              \
            harness_fail_kv(__FILE__, __LINE__, #call, check_s_, (want), (want)); \
    } while (0)

/* A kv call must return `want1` or `want2`; evaluates to the status. */
#define CHECK_KV2(status_var, call, want1, want2)                            \
    do {                                                                     \
        (status_var) = (call);                                               \
        if ((status_var) != (want1) && (status_var) != (want2))              \
            harness_fail_kv(__FILE__, __LINE__, #call, (status_var), (want1), (want2)); \
    } while (0)

#endif
