/*
 * exercise_bound.c: a test that does not end fails, with its rule when it
 * set one, bounded by the work it did and by whether it still runs at
 * all, never by the clock on the wall.
 *
 * Two mistakes keep a test from ending: a loop that never ends (a probe
 * that never stops, a hand that turns for ever), which burns CPU, and a
 * wait that never ends (a writer nobody wakes, a lock never given back),
 * which burns none.  An alarm after N seconds of wall time catches both,
 * and fails a correct test as well on a machine busy enough to stretch it
 * past N (a test of 12 s on an idle machine took more than 30 s at a load
 * of 7 to 18).  So each is caught by what it is:
 *
 *   - Work: the CPU time the test's process has used, every thread's
 *     (ITIMER_PROF), which a busy machine does not stretch.  Past the
 *     bound, SIGPROF: the test fails with the rule EX_BOUND set, or, with
 *     none, the signal is placed as a crash is (exercise_crash.c: the
 *     thread interrupted is the one using the CPU, the loop's).
 *   - A stall: a watcher thread samples the CPU time of the test's other
 *     threads.  When it has not grown at all for EX_STALL_SECONDS, and no
 *     thread is in a disk's uninterruptible wait (state D), every thread
 *     is waiting for another: the test fails with the rule EX_BOUND set,
 *     or its own thread is interrupted (SIGALRM) and placed as a crash is.
 *     On a busy machine a runnable thread still runs many times a second,
 *     so a test that works is never taken for one that waits.
 *
 * Under a sanitizer (the race rung's ThreadSanitizer), code runs 5 to 15
 * times slower: the CPU bounds are EX_BOUND_SANITIZED times as large.
 *
 * Invariants: the watcher never allocates (a test counts its blocks and
 * may make the nth allocation on any thread fail: exercise_alloc.c), and
 * touches only the variables below, through atomics; the signal handler
 * calls only write(2) and _exit(2), or hands the signal on.  One watcher
 * per process: each test runs in a process of its own, and arming again
 * in a new process (after a fork) starts a watcher there.
 */
#include "exercise.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define EX_BOUND_SCALE EX_BOUND_SANITIZED
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define EX_BOUND_SCALE EX_BOUND_SANITIZED
#endif
#endif
#ifndef EX_BOUND_SCALE
#define EX_BOUND_SCALE 1
#endif

/* The failure EX_BOUND set, written whole as the harness writes a failed
 * check ("    FILE:LINE: rule ...\n      (checked: ...)\n"), one for
 * running out of work and one for a stall; empty: none set. */
static char ex_bound_spent[1400], ex_bound_stalled[1400];
static size_t ex_bound_spent_len, ex_bound_stalled_len; /* __atomic */
static pid_t ex_bound_pid;          /* the process the watcher runs in */
static struct sigaction ex_bound_placed; /* SIGPROF's handler before EX_BOUND's */
static int ex_bound_replaced;       /* EX_BOUND's handler is SIGPROF's */
static pthread_t ex_bound_test;     /* the test's own thread */

/* CPU time, in ns, of a clock. */
static uint64_t ex_bound_cpu_ns(clockid_t c)
{
    struct timespec ts;
    if (clock_gettime(c, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* 1 if a thread of this process is in an uninterruptible wait (state D:
 * a disk's), read from /proc/self/task/TID/stat without allocating. */
static int ex_bound_waits_on_a_disk(void)
{
    int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return 0;
    char buf[4096];
    int found = 0;
    long n;
    while (!found && (n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long at = 0; !found && at < n;) {
            /* struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
            unsigned short reclen;
            memcpy(&reclen, buf + at + 16, sizeof reclen);
            const char *name = buf + at + 19;
            at += reclen;
            if (name[0] < '0' || name[0] > '9')
                continue;
            char path[64], stat[512];
            snprintf(path, sizeof path, "/proc/self/task/%s/stat", name);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            ssize_t got = read(fd, stat, sizeof stat - 1);
            close(fd);
            if (got <= 0)
                continue;
            stat[got] = '\0';
            const char *end = strrchr(stat, ')'); /* the name may hold ')' */
            found = end != NULL && end[1] == ' ' && end[2] == 'D';
        }
    }
    close(dir);
    return found;
}

/* The watcher: fails the test when its other threads have used no CPU
 * for EX_STALL_SECONDS, none waiting on a disk.  "No CPU": less than
 * EX_STALL_NOISE_NS in all, since the process's clock read here includes a
 * little of the watcher's own time, read a moment later. */
#define EX_STALL_NOISE_NS 1000000u
static void *ex_bound_watch(void *arg)
{
    (void)arg;
    const struct timespec tick = {0, 250 * 1000000L};
    uint64_t base = 0;
    int still = 0; /* ticks since the others last used CPU */
    for (;;) {
        nanosleep(&tick, NULL);
        uint64_t self = ex_bound_cpu_ns(CLOCK_THREAD_CPUTIME_ID);
        uint64_t used = ex_bound_cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - self;
        if (used > base + EX_STALL_NOISE_NS || ex_bound_waits_on_a_disk()) {
            base = used;
            still = 0;
            continue;
        }
        if (++still < EX_STALL_SECONDS * 4)
            continue;
        size_t len = __atomic_load_n(&ex_bound_stalled_len, __ATOMIC_ACQUIRE);
        if (len > 0) {
            ssize_t w = write(STDOUT_FILENO, ex_bound_stalled, len);
            (void)w;
            _exit(100); /* a failed check (tests/harness.c) */
        }
        pthread_kill(ex_bound_test, SIGALRM); /* placed (exercise_crash.c) */
        return NULL;
    }
}

/* SIGPROF once EX_BOUND set a rule: the test used its CPU time.  (Before,
 * exercise_crash.c's handler places it.) */
static void ex_bound_signal(int sig)
{
    (void)sig;
    size_t len = __atomic_load_n(&ex_bound_spent_len, __ATOMIC_ACQUIRE);
    ssize_t w = write(STDOUT_FILENO, ex_bound_spent, len);
    (void)w;
    _exit(100); /* a failed check (tests/harness.c) */
}

static void ex_bound_cpu(unsigned seconds)
{
    struct itimerval it = {{0, 0}, {(time_t)seconds * EX_BOUND_SCALE, 0}};
    setitimer(ITIMER_PROF, &it, NULL);
}

void ex_bound_work(unsigned seconds)
{
    __atomic_store_n(&ex_bound_spent_len, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&ex_bound_stalled_len, 0, __ATOMIC_RELEASE);
    if (ex_bound_replaced) {
        sigaction(SIGPROF, &ex_bound_placed, NULL);
        ex_bound_replaced = 0;
    }
    ex_bound_cpu(seconds);
}

void ex_bound_arm(void)
{
    ex_bound_test = pthread_self();
    ex_bound_work(EX_TEST_CPU_SECONDS);
    if (ex_bound_pid != getpid()) {
        ex_bound_pid = getpid();
        pthread_t t;
        if (pthread_create(&t, NULL, ex_bound_watch, NULL) == 0)
            pthread_detach(t);
    }
}

void ex_bound(const char *file, int line, unsigned seconds, const char *fmt, ...)
{
    char text[1024], rule[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    ex_rule_words(file, text, rule, sizeof rule);
    /* Not while the handler or the watcher may read them. */
    __atomic_store_n(&ex_bound_spent_len, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&ex_bound_stalled_len, 0, __ATOMIC_RELEASE);
    int n = snprintf(ex_bound_spent, sizeof ex_bound_spent,
                     "    %s:%d: %s (the test had used %u s of CPU and not ended: a loop that "
                     "never ends?)\n      (checked: the test ends within %u s of CPU)\n",
                     file, line, rule, seconds * EX_BOUND_SCALE, seconds * EX_BOUND_SCALE);
    size_t spent = n < 0 ? 0 : (size_t)n < sizeof ex_bound_spent ? (size_t)n
                                                                 : sizeof ex_bound_spent - 1;
    n = snprintf(ex_bound_stalled, sizeof ex_bound_stalled,
                 "    %s:%d: %s (every thread of the test was waiting, none running, for %d s: "
                 "a wait nobody ends?)\n      (checked: the test ends, some thread running "
                 "until it does)\n", file, line, rule, EX_STALL_SECONDS);
    size_t stalled = n < 0 ? 0 : (size_t)n < sizeof ex_bound_stalled ? (size_t)n
                                                                     : sizeof ex_bound_stalled - 1;
    __atomic_store_n(&ex_bound_spent_len, spent, __ATOMIC_RELEASE);
    __atomic_store_n(&ex_bound_stalled_len, stalled, __ATOMIC_RELEASE);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ex_bound_signal;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPROF, &sa, ex_bound_replaced ? NULL : &ex_bound_placed);
    ex_bound_replaced = 1;
    ex_bound_cpu(seconds);
}
