/*
 * harness.c: the test runner behind harness.h.
 *
 * harness_main walks the suites, runs each selected test under setjmp so a
 * failed CHECK can stop it, removes the test's temporary directories, and
 * prints one line per test and the final "N passed, N failed".  It is
 * compiled into build/<stage>/kvtest directly and into build/common_test
 * through tests/common/harness_link.c.
 */
#include "harness.h"

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io_fault.h"
#include "kv.h"

static jmp_buf harness_jump;
static int harness_in_test;
static char harness_root[4096];      /* $TMPDIR/kvtest.XXXXXX, made lazily */
static unsigned harness_next_dir;    /* names of the test's directories */
static char **harness_strings;       /* owned until the test ends */
static size_t harness_nstrings, harness_cap;
#define HARNESS_CTX_MAX 1024
static char harness_ctx_own[HARNESS_CTX_MAX];
/* In a process of its own (harness_fork_each_test), a test's context lives
 * in memory shared with the runner, which shows it if the test dies. */
static char *harness_ctx = harness_ctx_own;

static void harness_die(const char *what)
{
    fprintf(stdout, "harness: %s: %s\n", what, strerror(errno));
    fflush(stdout);
    exit(2);
}

static const char *harness_keep(char *s)
{
    if (s == NULL)
        harness_die("out of memory");
    if (harness_nstrings == harness_cap) {
        size_t cap = harness_cap ? harness_cap * 2 : 64;
        char **grown = realloc(harness_strings, cap * sizeof *grown);
        if (grown == NULL)
            harness_die("out of memory");
        harness_strings = grown;
        harness_cap = cap;
    }
    harness_strings[harness_nstrings++] = s;
    return s;
}

static void harness_make_root(void)
{
    if (harness_root[0] == '\0') {
        const char *base = getenv("TMPDIR");
        if (base == NULL || base[0] == '\0')
            base = "/tmp";
        snprintf(harness_root, sizeof harness_root, "%s/kvtest.XXXXXX", base);
        if (mkdtemp(harness_root) == NULL)
            harness_die("mkdtemp");
    }
}

const char *harness_tmpdir(void)
{
    harness_make_root();
    char *path = malloc(strlen(harness_root) + 32);
    if (path == NULL)
        harness_die("out of memory");
    sprintf(path, "%s/t%u", harness_root, harness_next_dir++);
    if (mkdir(path, 0755) != 0)
        harness_die("mkdir");
    return harness_keep(path);
}

const char *harness_join(const char *dir, const char *name)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    if (path == NULL)
        harness_die("out of memory");
    sprintf(path, "%s/%s", dir, name);
    return harness_keep(path);
}

void harness_context(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(harness_ctx, HARNESS_CTX_MAX, fmt, ap);
    va_end(ap);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HARNESS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HARNESS_SANITIZED 1
#endif
#endif

long harness_cases(long n, long div)
{
#ifdef HARNESS_SANITIZED
    if (div > 1)
        n /= div;
#else
    (void)div;
#endif
    return n < 1 ? 1 : n;
}

const char *harness_hex(char buf[HARNESS_HEX_BUF], const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t shown = n < 32 ? n : 32, used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < shown; i++)
        used += (size_t)snprintf(buf + used, HARNESS_HEX_BUF - used, "%02x ", b[i]);
    if (shown < n)
        snprintf(buf + used, HARNESS_HEX_BUF - used, "...");
    return buf;
}

static _Noreturn void harness_stop(void)
{
    if (harness_ctx[0] != '\0')
        printf("    context: %s\n", harness_ctx);
    fflush(stdout);
    if (harness_in_test)
        longjmp(harness_jump, 1);
    exit(2);
}

void harness_fail(const char *file, int line, const char *fmt, ...)
{
    printf("    %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    harness_stop();
}

void harness_fail_kv(const char *file, int line, const char *expr, int got, int want1,
                     int want2)
{
    printf("    %s:%d: %s\n", file, line, expr);
    printf("      returned %d (%s), expected %d (%s)", got, kv_strerror(got), want1,
           kv_strerror(want1));
    if (want2 != want1)
        printf(" or %d (%s)", want2, kv_strerror(want2));
    /* kv_errmsg is the call's own only when it failed (a status below 0:
     * every failing path sets it); after KV_OK or KV_NOT_FOUND it still
     * holds an earlier failure's message, which would name the wrong cause. */
    if (got < 0)
        printf("\n      kv_errmsg: \"%s\"\n", kv_errmsg());
    else
        printf("\n      (it returned no error, so it set no kv_errmsg)\n");
    harness_stop();
}

static int harness_remove_one(const char *path, const struct stat *st, int flag,
                              struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void harness_cleanup(void)
{
    io_fault_reset();
    if (harness_root[0] != '\0') {
        for (unsigned i = 0; i < harness_next_dir; i++) {
            char path[4200];
            snprintf(path, sizeof path, "%s/t%u", harness_root, i);
            nftw(path, harness_remove_one, 16, FTW_DEPTH | FTW_PHYS);
        }
    }
    harness_next_dir = 0;
    for (size_t i = 0; i < harness_nstrings; i++)
        free(harness_strings[i]);
    free(harness_strings);
    harness_strings = NULL;
    harness_nstrings = harness_cap = 0;
}

static double harness_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void (*harness_begin_hook)(const char *full_name);
static void (*harness_end_hook)(const char *full_name);

void harness_test_hooks(void (*begin)(const char *full_name),
                        void (*end)(const char *full_name))
{
    harness_begin_hook = begin;
    harness_end_hook = end;
}

/* Runs fn in this process; returns 1 if it passed. */
static int harness_run_here(const char *full_name, void (*fn)(void))
{
    volatile int passed = 0;
    harness_in_test = 1;
    if (setjmp(harness_jump) == 0) {
        if (harness_begin_hook != NULL)
            harness_begin_hook(full_name);
        fn();
        if (harness_end_hook != NULL) {
            harness_cleanup();
            harness_end_hook(full_name);
        }
        passed = 1;
    }
    harness_in_test = 0;
    harness_cleanup();
    return passed;
}

static int harness_forking; /* harness_fork_each_test() */
#define HARNESS_CHILD_FAILED 100 /* a child's exit status: a CHECK failed */

void harness_fork_each_test(void) { harness_forking = 1; }

/* Runs fn in a child process (see harness.h); returns 1 if it passed. */
static int harness_run_forked(const char *full_name, void (*fn)(void))
{
    harness_make_root(); /* here, so that this process can empty it */
    fflush(stdout);
    if (harness_ctx == harness_ctx_own) {
        void *shared = mmap(NULL, HARNESS_CTX_MAX, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED)
            harness_die("mmap");
        harness_ctx = shared;
        harness_ctx[0] = '\0';
    }
    pid_t pid = fork();
    if (pid < 0)
        harness_die("fork");
    if (pid == 0) {
        int passed = harness_run_here(full_name, fn);
        fflush(stdout);
        /* exit, not _exit: a leak checker runs at exit, and exits with a
         * status of its own (as a sanitizer that stops the test does). */
        exit(passed ? 0 : HARNESS_CHILD_FAILED);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            harness_die("waitpid");
    int died = WIFSIGNALED(status) ||
               (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != HARNESS_CHILD_FAILED);
    if (WIFSIGNALED(status))
        printf("    the test's process was killed by signal %d (%s)\n", WTERMSIG(status),
               strsignal(WTERMSIG(status)));
    else if (died)
        printf("    the test's process exited with status %d (a sanitizer's report, or a "
               "leak found at exit)\n", WEXITSTATUS(status));
    if (died && harness_ctx[0] != '\0')
        printf("    context: %s\n", harness_ctx);
    /* Whatever the child left (it may have died in the middle). */
    nftw(harness_root, harness_remove_one, 16, FTW_DEPTH | FTW_PHYS);
    harness_root[0] = '\0';
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Runs one test; returns 1 if it passed. */
static int harness_run_one(const char *full_name, void (*fn)(void))
{
    harness_ctx[0] = '\0';
    printf("RUN  %s\n", full_name);
    fflush(stdout);
    double start = harness_now();
    int passed = harness_forking ? harness_run_forked(full_name, fn)
                                 : harness_run_here(full_name, fn);
    printf("%s %s (%.2fs)\n", passed ? "ok  " : "FAIL", full_name, harness_now() - start);
    fflush(stdout);
    return passed;
}

/* Whether full contains one of the filter's comma-separated parts (any
 * name, if every part starts with '!'), and none of the parts that start
 * with '!' (the rest of such a part). */
static int harness_filter_matches(const char *filter, const char *full)
{
    char part[256];
    int want = 0, positive = 0;
    for (const char *p = filter;; p++) {
        size_t n = strcspn(p, ",");
        if (n > 0 && n < sizeof part) {
            memcpy(part, p, n);
            part[n] = '\0';
            if (part[0] == '!') {
                if (part[1] != '\0' && strstr(full, part + 1) != NULL)
                    return 0;
            } else {
                positive = 1;
                want |= strstr(full, part) != NULL;
            }
        }
        p += n;
        if (*p == '\0')
            return want || !positive;
    }
}

int harness_main(int argc, char **argv, const harness_suite *const *suites, size_t nsuites)
{
    const char *filter = NULL, *only_suite = NULL;
    int list = 0, usage = 0, help = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            help = 1;
        else if (strcmp(argv[i], "--list") == 0)
            list = 1;
        else if (strcmp(argv[i], "--suite") == 0 && i + 1 < argc && only_suite == NULL)
            only_suite = argv[++i];
        else if (argv[i][0] != '-' && filter == NULL)
            filter = argv[i];
        else
            usage = 1;
    }
    if (usage || help) {
        printf("usage: %s [--list] [--suite NAME] [NAME-FILTER]\n"
               "Runs the tests whose \"suite/name\" contains NAME-FILTER, or one of its\n"
               "comma-separated parts (all of them without one), but none of its parts\n"
               "that start with '!' (\"!_power_\"), each in a child process,\n"
               "and prints a line per test and a summary.\n"
               "--suite NAME runs only the suite called exactly NAME; --list prints the\n"
               "suites' names, one a line, and runs nothing.\n",
               argv[0]);
        return help ? 0 : 2;
    }
    if (list) {
        for (size_t s = 0; s < nsuites; s++)
            printf("%s\n", suites[s]->name);
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int passed = 0, failed = 0, matched_suite = only_suite == NULL;
    char full[512];
    for (size_t s = 0; s < nsuites; s++) {
        if (only_suite != NULL) {
            if (strcmp(suites[s]->name, only_suite) != 0)
                continue;
            matched_suite = 1;
        }
        for (size_t t = 0; t < suites[s]->count; t++) {
            const harness_test *test = &suites[s]->tests[t];
            snprintf(full, sizeof full, "%s/%s", suites[s]->name, test->name);
            if (filter != NULL && !harness_filter_matches(filter, full))
                continue;
            if (harness_run_one(full, test->fn))
                passed++;
            else
                failed++;
        }
    }
    if (!matched_suite) {
        printf("harness: no suite is called \"%s\" (--list names them)\n", only_suite);
        failed++;
    }
    if (harness_root[0] != '\0')
        rmdir(harness_root);
    free(harness_strings);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
