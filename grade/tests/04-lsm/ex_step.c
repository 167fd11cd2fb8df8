/*
 * ex_step.c: the stepper of ex_step.h, on ptrace(2): the child stops
 * itself with SIGSTOP for the tracer to attach, marks a piece's start with
 * SIGUSR1 and its end with SIGUSR2; between the two the parent single-steps
 * it and checks each moment.
 */
#include "ex_step.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exercise.h"

#define EX_STEP_MAX (20L * 1000 * 1000) /* a piece that never ends */

void ex_step_mark_begin(void) { raise(SIGUSR1); }
void ex_step_mark_end(void) { raise(SIGUSR2); }

/* Copies every region of the child into this process's copy; 0 or -1. */
static int ex_step_copy(pid_t pid, const ex_step_region *regions, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct iovec local = {regions[i].addr, regions[i].len};
        struct iovec remote = {regions[i].addr, regions[i].len};
        if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)regions[i].len)
            return -1;
    }
    return 0;
}

/* Waits for the child's next stop or end. */
static int ex_step_wait(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

/* Ends the child and fails the test with `what`. */
static _Noreturn void ex_step_fail(pid_t pid, const char *what)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    EX_CHECK(0, "%s", what);
    for (;;)
        ; /* EX_CHECK(0) does not return */
}

long ex_step_run(void (*work)(void *arg), void *arg, const ex_step_region *regions,
                 size_t nregions, ex_step_check check, void *ctx)
{
    fflush(stdout);
    pid_t pid = fork();
    EX_CHECK(pid >= 0, "test setup: fork: %s", strerror(errno));
    if (pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
            _exit(3);
        raise(SIGSTOP);
        work(arg);
        _exit(0);
    }
    int status = ex_step_wait(pid);
    char why[600];
    if (status < 0 || !WIFSTOPPED(status))
        ex_step_fail(pid, "test setup: this check steps the work one instruction at a time with "
                          "ptrace(2), and the child could not be traced (PTRACE_TRACEME refused?)");
    ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)PTRACE_O_EXITKILL);
    long steps = 0;
    int piece = 0, stepping = 0;
    int deliver = 0; /* a signal to pass on to the child (none of ours) */
    for (;;) {
        long rc = stepping ? ptrace(PTRACE_SINGLESTEP, pid, NULL, (void *)(long)deliver)
                           : ptrace(PTRACE_CONT, pid, NULL, (void *)(long)deliver);
        if (rc != 0)
        {
            snprintf(why, sizeof why, "test setup: ptrace: %s", strerror(errno));
            ex_step_fail(pid, why);
        }
        deliver = 0;
        status = ex_step_wait(pid);
        if (status < 0)
        {
            snprintf(why, sizeof why, "test setup: waitpid: %s", strerror(errno));
            ex_step_fail(pid, why);
        }
        if (WIFEXITED(status)) {
            EX_CHECK(WEXITSTATUS(status) == 0, "the traced work exited with status %d",
                     WEXITSTATUS(status));
            return steps;
        }
        if (WIFSIGNALED(status))
            EX_CHECK(0, "the traced work was killed by signal %d (%s) in piece %d",
                     WTERMSIG(status), strsignal(WTERMSIG(status)), piece);
        int sig = WSTOPSIG(status);
        if (sig == SIGUSR1 && !stepping) {
            piece++;
            stepping = 1;
            continue;
        }
        if (sig == SIGUSR2 && stepping) {
            stepping = 0;
            continue;
        }
        if (sig != SIGTRAP || !stepping) {
            if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
                sig == SIGABRT) {
                snprintf(why, sizeof why, "the traced work crashed: %s, in its piece %d, %ld "
                         "instructions in", strsignal(sig), piece, steps);
                ex_step_fail(pid, why);
            }
            deliver = sig;
            continue;
        }
        steps++;
        if (steps > EX_STEP_MAX) {
            snprintf(why, sizeof why, "piece %d of the traced work did not end in %ld "
                     "instructions (a loop that never ends?)", piece, EX_STEP_MAX);
            ex_step_fail(pid, why);
        }
        if (ex_step_copy(pid, regions, nregions) != 0) {
            snprintf(why, sizeof why, "test setup: process_vm_readv: %s", strerror(errno));
            ex_step_fail(pid, why);
        }
        const char *broken = check(ctx, piece, steps);
        if (broken != NULL)
            ex_step_fail(pid, broken);
    }
}
