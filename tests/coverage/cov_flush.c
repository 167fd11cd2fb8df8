/*
 * cov_flush.c: linked into the kv tool of a --coverage build only
 * (build/cov/, `make coverage-raft`), so that a process killed with
 * SIGKILL still counts the lines it ran.
 *
 * gcov writes a process's counts when it exits; a member the cluster
 * test kills never does, and every line it alone ran would be reported
 * as never run.  So a thread adds the counts so far to the .gcda files
 * every 200 ms and starts them again from zero (__gcov_dump merges with
 * what the files hold, under a lock, so members running at once add up;
 * __gcov_reset clears the counts and lets the next dump happen).  Counts
 * made between a dump and its reset are lost: the report can only
 * undercount, never claim a line that did not run.
 *
 * gcov's own dump at exit must not meet the thread's: an exit handler
 * (which runs before gcov's, registered later) stops the thread and
 * waits for it.  A child forked without exec has no such thread.  The
 * thread takes no signal.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

void __gcov_dump(void);
void __gcov_reset(void);

static pthread_mutex_t cov_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cov_wake = PTHREAD_COND_INITIALIZER;
static int cov_stopping, cov_running;
static pthread_t cov_thread;

static void *cov_flush_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cov_lock);
    while (!cov_stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000 * 1000;
        if (until.tv_nsec >= 1000 * 1000 * 1000) {
            until.tv_sec++;
            until.tv_nsec -= 1000 * 1000 * 1000;
        }
        pthread_cond_timedwait(&cov_wake, &cov_lock, &until);
        if (cov_stopping)
            break;
        __gcov_dump();
        __gcov_reset();
    }
    pthread_mutex_unlock(&cov_lock);
    return NULL;
}

static void cov_flush_stop(void)
{
    if (!cov_running)
        return;
    pthread_mutex_lock(&cov_lock);
    cov_stopping = 1;
    pthread_cond_signal(&cov_wake);
    pthread_mutex_unlock(&cov_lock);
    pthread_join(cov_thread, NULL);
    cov_running = 0;
}

static void cov_flush_forked(void)
{
    cov_running = 0;
}

__attribute__((constructor)) static void cov_flush_start(void)
{
    /* The thread starts with every signal blocked: a SIGTERM the program
     * blocks to read it from a signalfd would otherwise end the process
     * in this thread. */
    sigset_t all, was;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &was);
    int rc = pthread_create(&cov_thread, NULL, cov_flush_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &was, NULL);
    if (rc != 0)
        return;
    cov_running = 1;
    atexit(cov_flush_stop);
    pthread_atfork(NULL, NULL, cov_flush_forked);
}
