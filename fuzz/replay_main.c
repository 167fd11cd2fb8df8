/*
 * replay_main.c: runs a harness's LLVMFuzzerTestOneInput on files, without a
 * fuzzer.  `make test` uses it (built with ASan+UBSan) to replay the seed
 * corpora and every saved regression input under fuzz/regressions/.
 *
 *   replay FILE_OR_DIR...   prints "N passed, 0 failed" (N inputs) and exits
 *                           0, or dies in the harness on the input that
 *                           breaks it (a file it cannot read is a failure).
 *
 * An input that made libFuzzer save an artifact must fail here too, so each
 * input is run the way libFuzzer runs it, with libFuzzer's limits
 * (scripts/fuzz_smoke.sh passes the same ones to libFuzzer):
 *   - the harness gets an exact-size heap copy of the input (malloc(size),
 *     a 0-byte allocation for an empty input), as libFuzzer hands it one, so
 *     that a read even one byte past the input is outside the allocation and
 *     AddressSanitizer reports it (a bigger buffer would hide it);
 *   - one input may run KV_FUZZ_TIMEOUT seconds (default 10, libFuzzer's
 *     -timeout): then the driver names the input and exits with status 70,
 *     libFuzzer's -timeout_exitcode;
 *   - an input that runs KV_FUZZ_SLOW_S seconds or more (default 1, in
 *     whole seconds as libFuzzer counts them: -report_slow_units) is a slow
 *     unit, and a failure: the driver names it and exits with status 1.
 *     The seconds counted are the input's own: its wall-clock time less
 *     the time its threads stood ready while the processors ran other
 *     programs (the run delay of /proc/self/task/N/schedstat), or its
 *     processor time if that is more.  On a machine busy with other tests
 *     an input of a tenth of a second can take a second of wall clock;
 *     an input that loops, or sleeps, takes its second either way.  A
 *     slow run under a second of processor time is run again (three runs
 *     at most; the fastest counts), since the run delay of a thread that
 *     ended during the input is no longer in /proc (KV_FUZZ_TIMES set,
 *     each input's seconds are printed, to find those close to the rule);
 *   - the process may grow to KV_FUZZ_RSS_MB megabytes of resident memory
 *     (default 2048, libFuzzer's -rss_limit_mb), checked each second while
 *     an input runs (libFuzzer's watchdog does the same) and after it;
 *   - no single allocation may ask for more than KV_FUZZ_MALLOC_MB
 *     megabytes (default 64, libFuzzer's -malloc_limit_mb): an allocation
 *     sized by a length the input claims is a finding, not a slow test.
 *     The check is a sanitizer's allocation hook, so it holds in the
 *     sanitizer builds (the ones `make test` judges by) and not in a plain
 *     build, which has no hooks;
 *   - leaks are LeakSanitizer's, at exit (detect_leaks, the default).
 * Before each input it prints "RUN PATH" (tests/run.sh hides such lines),
 * so that the last one in a log names the input a sanitizer report is about.
 * It sets KV_FUZZ_ENGINE=all (unless set): the harnesses that send one
 * input in a few through the whole engine under libFuzzer send every one
 * here (fuzz/fuzz_dbfile.h), a superset, so a saved crash still reproduces.
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The limits' defaults: libFuzzer's flags in scripts/fuzz_limits.sh. */
#define REPLAY_TIMEOUT_S 10
#define REPLAY_SLOW_S 1
#define REPLAY_SLOW_TRIES 3
#define REPLAY_RSS_MB 2048
#define REPLAY_MALLOC_MB 64
#define REPLAY_TIMEOUT_EXIT 70

/* AddressSanitizer's options for this program (the environment's
 * ASAN_OPTIONS is read after them, and wins for what it names): an
 * allocation over 2048 MB is an error, not a NULL the engine would report
 * as KV_ERR_NOMEM (the malloc hook below stops far smaller ones). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "max_allocation_size_mb=2048:allocator_may_return_null=0";
}

static long replayed;
static const char *replay_current; /* the input being run, for the alarm */
static long replay_timeout_s = REPLAY_TIMEOUT_S;
static long replay_slow_s = REPLAY_SLOW_S;
/* KV_FUZZ_TIMES set: each input's seconds, as the slow-unit rule counts
 * them, printed (to find the inputs close to KV_FUZZ_SLOW_S). */
static int replay_times;
static long replay_rss_mb = REPLAY_RSS_MB;
static size_t replay_malloc_limit = (size_t)REPLAY_MALLOC_MB << 20;

/* The sanitizers' allocation hooks (compiler-rt's and gcc's runtimes
 * both have them); absent, without a sanitizer, the weak reference is
 * NULL and allocations go unchecked. */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *))
    __attribute__((weak));
void __sanitizer_print_stack_trace(void) __attribute__((weak));

/* Called by the sanitizer's allocator after each allocation: one larger
 * than the limit ends the run, naming the input and printing the stack
 * (libFuzzer's -malloc_limit_mb does the same). */
static void replay_malloc_hook(const volatile void *ptr, size_t size)
{
    (void)ptr;
    if (size <= replay_malloc_limit || replay_current == NULL)
        return;
    fprintf(stderr, "replay: out of memory: one allocation of %zu bytes, over KV_FUZZ_MALLOC_MB "
                    "= %zu (libFuzzer would save it as oom-...): %s\n",
            size, replay_malloc_limit >> 20, replay_current);
    if (__sanitizer_print_stack_trace != NULL)
        __sanitizer_print_stack_trace();
    _exit(1);
}

static void replay_free_hook(const volatile void *ptr)
{
    (void)ptr;
}

static long replay_env_long(const char *name, long fallback)
{
    const char *v = getenv(name);
    char *end;
    long n = v != NULL ? strtol(v, &end, 10) : 0;
    return v != NULL && *v != '\0' && *end == '\0' && n > 0 ? n : fallback;
}

/* Seconds the current input has run, counted by the alarm. */
static volatile sig_atomic_t replay_ticks;

/* Writes the message and the input's name to stderr, then exits with
 * status.  Only async-signal-safe calls: the alarm calls it. */
static void replay_die(const char *msg, int status)
{
    ssize_t ignored = write(2, msg, strlen(msg));
    if (replay_current != NULL) {
        ignored = write(2, replay_current, strlen(replay_current));
        ignored = write(2, "\n", 1);
    }
    (void)ignored;
    _exit(status);
}

/* SIGALRM, once a second while an input runs, as libFuzzer's watchdog:
 * past the timeout the input has run too long; past the resident-memory
 * limit it has grown too much (checked while it runs, so that a growth
 * with no bound is an out-of-memory, as under libFuzzer, not a timeout). */
static void replay_alarm(int sig)
{
    (void)sig;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0 && ru.ru_maxrss / 1024 > replay_rss_mb)
        replay_die("replay: out of memory: over KV_FUZZ_RSS_MB megabytes resident "
                   "(libFuzzer would save it as oom-...): ",
                   1);
    if (++replay_ticks >= replay_timeout_s)
        replay_die("replay: timeout: this input ran longer than KV_FUZZ_TIMEOUT "
                   "seconds (libFuzzer would save it as timeout-...): ",
                   REPLAY_TIMEOUT_EXIT);
}

/* Reads the whole file into *out, an allocation of exactly *len bytes (a
 * 0-byte one for an empty file).  0, or 1 with the reason printed. */
static int replay_read(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    size_t cap = 4096, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *grown = realloc(buf, cap *= 2);
            if (grown == NULL)
                free(buf);
            buf = grown;
        }
    }
    int failed = buf == NULL || ferror(f);
    fclose(f);
    /* The copy the harness gets: exactly n bytes, as libFuzzer's. */
    uint8_t *exact = failed ? NULL : malloc(n);
    if (exact == NULL && !failed && n == 0)
        exact = malloc(1); /* (a C library whose malloc(0) is NULL) */
    if (exact == NULL) {
        fprintf(stderr, "%s: cannot read it (out of memory or a read error)\n", path);
        free(buf);
        return 1;
    }
    memcpy(exact, buf, n);
    free(buf);
    *out = exact;
    *len = n;
    return 0;
}

/* Nanoseconds the process's threads have stood ready to run while others
 * ran (the second field of each /proc/self/task/N/schedstat), summed over
 * the threads alive now; 0 where /proc does not say.  A thread that ended
 * takes its count with it, so this can only say too little. */
static double replay_run_delay_s(void)
{
    DIR *dir = opendir("/proc/self/task");
    if (dir == NULL)
        return 0;
    double total = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%.20s/schedstat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        unsigned long long ran, waited;
        if (fscanf(f, "%llu %llu", &ran, &waited) == 2)
            total += (double)waited / 1e9;
        fclose(f);
    }
    closedir(dir);
    return total;
}

static double replay_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* One run of an input, timed: its wall clock, the part of it its threads
 * stood ready for a processor, and its processor time. */
struct replay_timing {
    double wall, waited, cpu;
};

static double replay_run_timed(const uint8_t *data, size_t size, struct replay_timing *t)
{
    struct timespec start, end;
    double delay_before = replay_run_delay_s(), cpu_before = replay_cpu_s();
    clock_gettime(CLOCK_MONOTONIC, &start);
    replay_ticks = 0;
    struct itimerval tick = {.it_interval = {.tv_sec = 1}, .it_value = {.tv_sec = 1}};
    setitimer(ITIMER_REAL, &tick, NULL);
    LLVMFuzzerTestOneInput(data, size);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    t->wall = (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    t->waited = replay_run_delay_s() - delay_before;
    t->cpu = replay_cpu_s() - cpu_before;
    if (t->waited < 0)
        t->waited = 0;
    return t->wall - t->waited > t->cpu ? t->wall - t->waited : t->cpu;
}

static int replay_file(const char *path)
{
    uint8_t *data;
    size_t size;
    if (replay_read(path, &data, &size) != 0)
        return 1;
    printf("RUN %s\n", path);
    fflush(stdout);
    replay_current = path;
    /* A slow run whose processor time is under the bound is run again, up
     * to REPLAY_SLOW_TRIES runs in all, and the fastest counts: the run
     * delay of a thread that ended during the input is gone from /proc, so
     * on a busy machine an input whose threads waited for processors can
     * look slow once.  An input that loops is slow by its processor time
     * at the first run; one that sleeps is slow at every run. */
    struct replay_timing t;
    double took = replay_run_timed(data, size, &t);
    for (int tries = 1; (long)took >= replay_slow_s && t.cpu < (double)replay_slow_s &&
                        tries < REPLAY_SLOW_TRIES;
         tries++) {
        struct replay_timing again;
        double took_again = replay_run_timed(data, size, &again);
        if (took_again < took) {
            took = took_again;
            t = again;
        }
    }
    replay_current = NULL;
    free(data);
    if (replay_times)
        fprintf(stderr, "TIME %.2f s (processor %.2f s) %s\n", took, t.cpu, path);
    if ((long)took >= replay_slow_s) {
        fprintf(stderr, "replay: slow unit: %s ran %.1f s (%.1f s of wall clock, %.1f s of it "
                        "waiting for a processor; %.1f s of processor time), at least "
                        "KV_FUZZ_SLOW_S = %ld (libFuzzer would save it as slow-unit-...)\n",
                path, took, t.wall, t.waited, t.cpu, replay_slow_s);
        exit(1);
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0 && ru.ru_maxrss / 1024 > replay_rss_mb) {
        fprintf(stderr, "replay: out of memory: %ld MB resident after %s, over "
                        "KV_FUZZ_RSS_MB = %ld (libFuzzer would save it as oom-...)\n",
                ru.ru_maxrss / 1024, path, replay_rss_mb);
        exit(1);
    }
    replayed++;
    return 0;
}

static int replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(path);
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    int failed = n < 0;
    if (failed)
        perror(path);
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char child[4096];
            snprintf(child, sizeof child, "%s/%s", path, names[i]->d_name);
            failed |= replay_path(child);
        }
        free(names[i]);
    }
    if (n >= 0)
        free(names);
    return failed;
}

int main(int argc, char **argv)
{
    int failed = 0;
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: %s FILE|DIR...\n"
               "Runs the fuzz harness once on each file (each file of each directory) and\n"
               "prints \"N passed, N failed\"; a crash or a sanitizer report is a failure.\n"
               "Each input gets an exact-size copy, KV_FUZZ_TIMEOUT seconds (default %d;\n"
               "KV_FUZZ_SLOW_S, default %d, makes it a slow unit), KV_FUZZ_RSS_MB megabytes of\n"
               "memory (default %d) and allocations of at most KV_FUZZ_MALLOC_MB megabytes\n"
               "(default %d), as under libFuzzer with scripts/fuzz_limits.sh's flags.\n"
               "KV_FUZZ_TIMES set, each input's seconds are printed as a line TIME.\n",
               argv[0], REPLAY_TIMEOUT_S, REPLAY_SLOW_S, REPLAY_RSS_MB, REPLAY_MALLOC_MB);
        return 0;
    }
    replay_timeout_s = replay_env_long("KV_FUZZ_TIMEOUT", REPLAY_TIMEOUT_S);
    replay_slow_s = replay_env_long("KV_FUZZ_SLOW_S", REPLAY_SLOW_S);
    replay_times = getenv("KV_FUZZ_TIMES") != NULL;
    replay_rss_mb = replay_env_long("KV_FUZZ_RSS_MB", REPLAY_RSS_MB);
    replay_malloc_limit = (size_t)replay_env_long("KV_FUZZ_MALLOC_MB", REPLAY_MALLOC_MB) << 20;
    if (__sanitizer_install_malloc_and_free_hooks != NULL)
        __sanitizer_install_malloc_and_free_hooks(replay_malloc_hook, replay_free_hook);
    setenv("KV_FUZZ_ENGINE", "all", 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = replay_alarm;
    sigaction(SIGALRM, &sa, NULL);
    for (int i = 1; i < argc; i++)
        failed |= replay_path(argv[i]);
    printf("%ld passed, %d failed\n", replayed, failed);
    return failed;
}
