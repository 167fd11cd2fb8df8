/*
 * exercise_crash.c: where an exercise's test crashed, for the grade to name.
 *
 * A wrong exercise often ends in a crash before a check can say why: a
 * search that follows a link past the list's height, a decoder that reads
 * past its limit into ex_guarded's guard page.  "Killed by signal 11"
 * says nothing a learner can act on; the function and the line that
 * crashed do, together with the context the test set (what it was
 * checking).  So each test process catches the fatal signals, writes the
 * return addresses of the crashing stack as offsets in the test binary,
 * one line,
 *
 *     crash frames: 0x1a2b 0x3c4d ...
 *
 * the first the instruction that faulted, the others return addresses,
 * and dies of the same signal, as it would have.  A test that does not
 * end is stopped the same way (exercise_bound.c): SIGPROF once it has
 * used its CPU time (a loop that never ends, placed where it loops), and
 * SIGALRM when none of its threads has run for a while (a wait nobody
 * ends, placed where the test's thread waits), instead of the whole run
 * being cut at the grade's time limit.  grade.sh turns the
 * offsets into a function and a line with addr2line (-f -i: inlined calls
 * too) and names the first frame in the exercise's code.
 *
 * Invariants: the handler calls only write(2), backtrace(3) (called once
 * at install, so that it loads what it needs outside the handler), and
 * signal(2)/raise(3); it runs on a stack of its own (a runaway recursion
 * crashes with the test's stack full).  Under a sanitizer, whose own
 * handler prints the stack, nothing is installed.
 */
#include "exercise.h"

#include <execinfo.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define EX_CRASH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define EX_CRASH_SANITIZED 1
#endif
#endif

#ifndef EX_CRASH_SANITIZED
enum { EX_CRASH_FRAMES = 24 };

static uintptr_t ex_crash_base; /* where the test binary is loaded */

/* The load address of the program itself: the first object listed. */
static int ex_crash_first_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    *(uintptr_t *)arg = (uintptr_t)info->dlpi_addr;
    return 1;
}

/* Appends "0x" and v in hex to buf at *at (buf has room for it). */
static void ex_crash_hex(char *buf, size_t *at, uintptr_t v)
{
    char digits[2 * sizeof v];
    size_t n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v != 0);
    buf[(*at)++] = '0';
    buf[(*at)++] = 'x';
    while (n > 0)
        buf[(*at)++] = digits[--n];
}

static char ex_crash_rule_line[300];
static size_t ex_crash_rule_len;

void ex_crash_rule(const char *words)
{
    ex_crash_rule_len = (size_t)snprintf(ex_crash_rule_line, sizeof ex_crash_rule_line,
                                         "    crash rule: %s\n", words);
    if (ex_crash_rule_len >= sizeof ex_crash_rule_line)
        ex_crash_rule_len = sizeof ex_crash_rule_line - 1;
}

static void ex_crash_handler(int sig)
{
    if (ex_crash_rule_len > 0) {
        ssize_t r = write(STDOUT_FILENO, ex_crash_rule_line, ex_crash_rule_len);
        (void)r;
    }
    void *frames[EX_CRASH_FRAMES];
    int n = backtrace(frames, EX_CRASH_FRAMES);
    char line[32 + EX_CRASH_FRAMES * (3 + 2 * sizeof(uintptr_t))];
    size_t at = 0;
    static const char head[] = "    crash frames:";
    memcpy(line, head, sizeof head - 1);
    at = sizeof head - 1;
    /* Frame 0 is this handler and frame 1 the signal's trampoline in the
     * C library; frame 2 is the instruction that faulted (an address in
     * the C library when a call such as memcpy faulted), and every frame
     * after it a return address.  grade.sh reads them so, and passes over
     * those outside the test binary. */
    for (int i = 2; i < n; i++) {
        uintptr_t a = (uintptr_t)frames[i];
        line[at++] = ' ';
        ex_crash_hex(line, &at, a >= ex_crash_base ? a - ex_crash_base : a);
    }
    line[at++] = '\n';
    ssize_t w = write(STDOUT_FILENO, line, at);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

void ex_crash_install(void)
{
    dl_iterate_phdr(ex_crash_first_object, &ex_crash_base);
    void *warm[1];
    backtrace(warm, 1);
    static uint8_t alt[64 * 1024];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGALRM, SIGPROF};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = ex_crash_handler;
        sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        sigaction(fatal[i], &sa, NULL);
    }
}
#else
void ex_crash_install(void) {}
void ex_crash_rule(const char *words) { (void)words; }
#endif
