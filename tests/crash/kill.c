/*
 * kill.c: process kills.  Proves that killing the process loses nothing
 * acknowledged and invents nothing (kv.h: "killing the process loses
 * nothing that was acknowledged").
 *
 * A run forks a child (or, from a parent of 256 MiB or more, starts this
 * program again as one: crashtest --kill-child, see crash_kill_io) that
 * opens the database and runs a random workload (workload.c), telling the
 * parent through a pipe before and after each operation.  The parent
 * sends SIGKILL after a random delay (0 to 30 ms; to 2 ms with --quick) or after a random number of acknowledged operations,
 * reads what the child managed to report, reopens the database itself and
 * checks it (model.c): every acknowledged operation is there; the one in
 * flight may be there or not; nothing else is.  A batch in flight is there
 * whole or not at all; before stage 03 a kill may cut its one write() short,
 * so a batch partly there (a prefix of its members) is counted as torn
 * rather than failed.  Then it starts the next
 * child on the same database, so each run also tests recovery after
 * recovery.  Everything a run does follows from its seed, except exactly
 * when the kill lands.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash.h"

extern char **environ;

/* A parent this large (resident) starts a child afresh rather than
 * forking it (crash_kill_io.exec_argv says why).  Below it a fork is the
 * cheaper: a new process pays for loading the program (a few ms of
 * processor time under ASan) where a fork of a parent of this size
 * copies about as much in page tables. */
#define KILL_EXEC_RSS (256u << 20)

typedef struct kill_stats {
    long killed, finished, acked, inflight, inflight_done;
    long batches_acked, batch_inflight, batch_whole, batch_none, batch_torn;
    crash_work work;    /* the children's background work, as last reported */
} kill_stats;

typedef struct kill_round {
    crash_model *m;
    uint32_t next;      /* the operation the child must announce next */
    uint32_t members;   /* MEMBER messages still due for batch next - 1 */
    long acks, batch_acks;
    crash_work work;    /* the child's background work, as last reported */
    int work_half;      /* 1: the first WORK message of a pair was taken */
    char problem[200];
} kill_round;

static uint64_t kill_mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Takes one message from the child into the model. */
static void kill_take(kill_round *r, const crash_msg *msg)
{
    if (r->problem[0])
        return;
    if (msg->type == CRASH_MSG_WORK) {
        if (!r->work_half) {
            r->work.flushes = msg->op;
            r->work.compactions = msg->key;
            r->work.moves = msg->status;
        } else {
            r->work.rolls = msg->op;
            r->work.deleted = msg->key;
            r->work.named = (unsigned)msg->status & ~(unsigned)CRASH_WORK_VALUE_GC;
        }
        r->work_half = !r->work_half;
    } else if (msg->type == CRASH_MSG_OPENED) {
        if (msg->status != KV_OK)
            snprintf(r->problem, sizeof r->problem, "the child's kv_open failed: %s",
                     kv_strerror(msg->status));
    } else if (r->members > 0 || msg->type == CRASH_MSG_MEMBER) {
        /* Member j of batch next - 1 must be the one the parent made. */
        const crash_op *op = r->next > 0 ? &r->m->ops[r->next - 1] : NULL;
        uint32_t j = op ? op->nw - r->members : 0;
        if (msg->type != CRASH_MSG_MEMBER || r->members == 0 || msg->op != r->next - 1 ||
            op->w[j].key != msg->key ||
            msg->status != (op->w[j].kind == CRASH_DELETE ? -1 : (int32_t)op->w[j].vlen))
            snprintf(r->problem, sizeof r->problem,
                     "protocol: batch op %u: member %u is not the one expected",
                     (unsigned)msg->op, (unsigned)j);
        else
            r->members--;
    } else if (msg->type == CRASH_MSG_BEGIN) {
        crash_model_grow(r->m, (size_t)msg->op + 1);
        const crash_op *op = &r->m->ops[msg->op];
        if (msg->op != r->next || op->key != msg->key ||
            msg->status != (op->kind == CRASH_BATCH ? (int32_t)op->nw : 0))
            snprintf(r->problem, sizeof r->problem, "protocol: expected op %u, got op %u",
                     (unsigned)r->next, (unsigned)msg->op);
        r->m->status[msg->op] = CRASH_MAYBE;
        r->members = op->kind == CRASH_BATCH ? op->nw : 0;
        r->next = msg->op + 1;
    } else if (msg->type == CRASH_MSG_ACK) {
        if (msg->status != KV_OK)
            snprintf(r->problem, sizeof r->problem, "op %u returned %s in the child",
                     (unsigned)msg->op, kv_strerror(msg->status));
        else if (msg->op < r->m->n)
            r->m->status[msg->op] = CRASH_ACKED;
        r->acks++;
        r->batch_acks += msg->op < r->m->n && r->m->ops[msg->op].kind == CRASH_BATCH;
    }
}

/* Reads whatever is in the pipe (waiting up to timeout_ms, -1 forever),
 * handing each message to io->take; returns 0 at end of file. */
static int kill_pump(int fd, const crash_kill_io *io, uint8_t *buf, size_t *have,
                     int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, timeout_ms);
    if (n <= 0)
        return 1;
    ssize_t got = read(fd, buf + *have, 4096 - *have);
    if (got < 0)
        return errno == EINTR ? 1 : 0;
    if (got == 0)
        return 0;
    *have += (size_t)got;
    size_t used = 0;
    while (*have - used >= sizeof(crash_msg)) {
        crash_msg msg;
        memcpy(&msg, buf + used, sizeof msg);
        io->take(io->ctx, &msg);
        used += sizeof msg;
    }
    memmove(buf, buf + used, *have - used);
    *have -= used;
    return 1;
}

/* Starts this program again with args (crash_kill_io.exec_argv), the
 * pipe's write end p[1] in place of "FD"; returns its pid, or -1. */
static pid_t kill_spawn(const char *const *args, const int p[2])
{
    static char self[4096];
    if (self[0] == '\0') {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0 || (size_t)n >= sizeof self - 1) {
            perror("crashtest: /proc/self/exe");
            exit(2);
        }
        self[n] = '\0';
    }
    char fd[16];
    snprintf(fd, sizeof fd, "%d", p[1]);
    char *argv[32];
    size_t n = 0;
    argv[n++] = self;
    for (; args[n - 1] != NULL; n++) {
        if (n + 1 >= sizeof argv / sizeof argv[0]) {
            fprintf(stderr, "crashtest: too many arguments for a child\n");
            exit(2);
        }
        argv[n] = strcmp(args[n - 1], "FD") == 0 ? fd : (char *)args[n - 1];
    }
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    if (posix_spawn_file_actions_init(&fa) != 0 ||
        posix_spawn_file_actions_addclose(&fa, p[0]) != 0)
        return -1;
    int rc = posix_spawn(&pid, self, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return pid;
}

/* 1 if this process holds at least KILL_EXEC_RSS bytes in memory. */
static int kill_parent_large(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    int n = f != NULL ? fscanf(f, "%lu %lu", &size, &resident) : 0;
    if (f != NULL)
        fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 && resident >= KILL_EXEC_RSS / (unsigned long)page;
}

/* Reads the STARTED message of a child started afresh; 0 if it did not
 * come. */
static int kill_started(int fd)
{
    crash_msg msg;
    size_t got = 0;
    while (got < sizeof msg) {
        ssize_t n = read(fd, (char *)&msg + got, sizeof msg - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        got += (size_t)n;
    }
    return msg.type == CRASH_MSG_STARTED;
}

int crash_kill_run(const crash_kill_io *io, long delay_us, long after_acks, int *killed)
{
    int p[2];
    if (pipe(p) < 0) {
        perror("crashtest: pipe");
        exit(2);
    }
    /* A small pipe keeps the child at most 128 operations ahead of what
     * the parent has read, so a kill "after N acks" lands near N. */
    fcntl(p[1], F_SETPIPE_SZ, 4096);
    fflush(stdout);
    int fresh = io->exec_argv != NULL && kill_parent_large();
    pid_t pid = fresh ? kill_spawn(io->exec_argv, p) : fork();
    if (pid < 0) {
        perror("crashtest: fork");
        exit(2);
    }
    if (pid == 0) {
        close(p[0]);
        io->child(io->arg, p[1]);
        _exit(5); /* (the child never returns) */
    }
    close(p[1]);
    uint8_t buf[4096];
    size_t have = 0;
    if (fresh && !kill_started(p[0]))
        snprintf(io->problem, io->problem_size, "the child did not start");
    double deadline = crash_now() + (double)delay_us / 1e6;
    int open = 1;
    while (open) {
        /* (A problem stops the count of acks: kill at once.) */
        if ((after_acks >= 0 && *io->acks >= after_acks) || io->problem[0])
            break;
        int wait_ms = -1;
        if (after_acks < 0) {
            double left = deadline - crash_now();
            if (left <= 0)
                break;
            /* poll's millisecond is too coarse near the deadline: spin,
             * still reading so the child never waits on a full pipe. */
            wait_ms = left < 0.002 ? 0 : (int)(left * 1000) - 1;
        }
        open = kill_pump(p[0], io, buf, &have, wait_ms);
    }
    kill(pid, SIGKILL);
    while (kill_pump(p[0], io, buf, &have, -1))
        ;
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    *killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (!*killed && !(WIFEXITED(status) && WEXITSTATUS(status) == 0) && !io->problem[0])
        snprintf(io->problem, io->problem_size, "the child ended with status %d", status);
    return io->problem[0] == '\0';
}

/* The crash workload's side of crash_kill_run. */
typedef struct kill_child_arg {
    const char *dir;
    const crash_workload *w;
    uint32_t first, count;
    int sync;
} kill_child_arg;

static void kill_child(void *arg, int fd)
{
    const kill_child_arg *a = arg;
    crash_child(a->dir, a->w, a->first, a->count, a->sync, fd);
}

/* The arguments of a --kill-child: DIR FIRST COUNT SYNC FD WORKLOAD, the
 * last the bytes of the crash_workload in hex (the child is this same
 * program, so the struct is laid out alike). */
_Noreturn void crash_exec_child(int argc, char **argv)
{
    crash_workload w;
    const char *hex = argc == 7 ? argv[6] : "";
    if (strlen(hex) != 2 * sizeof w) {
        fprintf(stderr, "crashtest: --kill-child: bad arguments\n");
        _exit(2);
    }
    unsigned char *b = (unsigned char *)&w;
    for (size_t i = 0; i < sizeof w; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        b[i] = (unsigned char)v;
    }
    crash_tune_engine();
    int fd = atoi(argv[5]);
    crash_msg started = {.type = CRASH_MSG_STARTED};
    if (write(fd, &started, sizeof started) != (ssize_t)sizeof started)
        _exit(4);
    crash_child(argv[1], &w, (uint32_t)strtoul(argv[2], NULL, 10),
                (uint32_t)strtoul(argv[3], NULL, 10), atoi(argv[4]), fd);
}

static void kill_take_msg(void *ctx, const crash_msg *msg) { kill_take(ctx, msg); }

/* One child: start it, kill it at the chosen moment, collect its reports. */
static int kill_round_run(const char *dir, kill_round *r, uint32_t count, int sync,
                          long delay_us, long after_acks, int *killed)
{
    kill_child_arg a = {.dir = dir, .w = &r->m->w, .first = r->next, .count = count,
                        .sync = sync};
    char first[16], n[16], s[4], w[2 * sizeof r->m->w + 1];
    snprintf(first, sizeof first, "%u", (unsigned)r->next);
    snprintf(n, sizeof n, "%u", (unsigned)count);
    snprintf(s, sizeof s, "%d", sync);
    const unsigned char *b = (const unsigned char *)&r->m->w;
    for (size_t i = 0; i < sizeof r->m->w; i++)
        snprintf(w + 2 * i, 3, "%02x", b[i]);
    const char *const args[] = {"--kill-child", dir, first, n, s, "FD", w, NULL};
    crash_kill_io io = {.child = kill_child, .arg = &a, .exec_argv = args,
                        .take = kill_take_msg, .ctx = r, .acks = &r->acks,
                        .problem = r->problem, .problem_size = sizeof r->problem};
    return crash_kill_run(&io, delay_us, after_acks, killed);
}

static void kill_one(const crash_config *cfg, uint64_t seed, kill_stats *st)
{
    static const uint32_t key_counts[] = {8, 40, 200};
    uint64_t rng = seed;
    crash_workload w;
    static const size_t segment_sizes[] = {0, 4096, 65536};
    crash_workload_init(&w, seed, key_counts[seed % 3]);
    w.segment_bytes = segment_sizes[(seed / 3) % 3];
    w.memtable_bytes = segment_sizes[(seed / 3) % 3];
    crash_workload_levels(&w, 4096);
    crash_model m;
    crash_model_init(&m, &w);
    char *root = crash_mkdtemp(cfg, "kill");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/db", root);
    char repro[64];
    snprintf(repro, sizeof repro, "--kill --seed %llu --runs 1", (unsigned long long)seed);

    int rounds = 2;
    uint32_t max_ops = cfg->quick ? 300 : 3000;
    long max_delay_us = cfg->quick ? 2000 : 30000;
    int ok = 1;
    for (int round = 0; round < rounds && ok; round++) {
        int sync = (int)(kill_mix(&rng) & 1);
        uint64_t r = kill_mix(&rng);
        long delay_us = -1, after_acks = -1;
        if (r & 1)
            delay_us = (long)((r >> 1) % (uint64_t)max_delay_us);
        else
            after_acks = (long)((r >> 1) % max_ops);
        kill_round kr = {.m = &m, .next = (uint32_t)m.n};
        int killed = 0;
        /* The kill must land mid-workload, so the child always has more to
         * do (it runs ahead of the parent by at most a pipe's worth). */
        if (!kill_round_run(dir, &kr, 1u << 30, sync, delay_us, after_acks, &killed)) {
            crash_fail(repro, "process kill, seed %llu, round %d: %s",
                       (unsigned long long)seed, round + 1, kr.problem);
            ok = 0;
            break;
        }
        st->killed += killed;
        st->finished += !killed;
        st->acked += kr.acks;
        st->work.flushes += kr.work.flushes;
        st->work.compactions += kr.work.compactions;
        st->work.moves += kr.work.moves;
        st->work.rolls += kr.work.rolls;
        st->work.deleted += kr.work.deleted;
        st->work.named |= kr.work.named;
        st->batches_acked += kr.batch_acks;
        long inflight = -1;
        for (size_t i = 0; i < m.n; i++)
            if (m.status[i] == CRASH_MAYBE)
                inflight = (long)i;
        st->inflight += inflight >= 0;

        crash_verdict v;
        crash_check_dir(dir, &m, CRASH_CHECK_RESOLVE, &v);
        if (crash_verdict_bad(&v, cfg->expect_durable)) {
            char why[sizeof v.what + sizeof v.torn_what + 8];
            crash_fail(repro,
                       "process kill, seed %llu, round %d (killed %s %ld %s, %ld ops "
                       "acknowledged, op %ld in flight%s): %s",
                       (unsigned long long)seed, round + 1, delay_us >= 0 ? "after" : "at",
                       delay_us >= 0 ? delay_us : after_acks,
                       delay_us >= 0 ? "us" : "acks", kr.acks, inflight,
                       inflight >= 0 && m.ops[inflight].kind == CRASH_BATCH ? ", a batch" : "",
                       crash_verdict_why(&v, cfg->expect_durable, why, sizeof why));
            ok = 0;
        }
        if (inflight >= 0 && m.status[inflight] == CRASH_ACKED)
            st->inflight_done++;
        if (inflight >= 0 && m.ops[inflight].kind == CRASH_BATCH) {
            st->batch_inflight++;
            st->batch_none += m.status[inflight] == CRASH_NOT_DONE;
            st->batch_whole += m.status[inflight] == CRASH_ACKED && m.dropped[inflight] == 0;
            st->batch_torn += m.status[inflight] == CRASH_ACKED && m.dropped[inflight] != 0;
        }
    }
    if (ok)
        crash_passed++;
    crash_rmtree(root);
    free(root);
    crash_model_free(&m);
}

int crash_kill_test(const crash_config *cfg)
{
    double t0 = crash_now();
    long failed0 = crash_failed;
    kill_stats st = {0};
    for (long i = 0; i < cfg->runs; i++) {
        kill_one(cfg, cfg->seed + (uint64_t)i, &st);
        crash_progress("process kill runs", i + 1, cfg->runs);
    }
    printf("process kill: %ld runs (seeds %llu..%llu), %ld failed; %ld children killed, "
           "%ld finished first; %ld ops acknowledged (%ld of them batches); %ld kills with "
           "an op in flight, %ld of those ops took effect; %.1f s\n",
           cfg->runs, (unsigned long long)cfg->seed,
           (unsigned long long)(cfg->seed + (uint64_t)cfg->runs - 1), crash_failed - failed0,
           st.killed, st.finished, st.acked, st.batches_acked, st.inflight, st.inflight_done,
           crash_now() - t0);
    printf("  batches in flight at a kill: %ld; applied whole %ld, not at all %ld, "
           "torn-batches %ld (%s)\n",
           st.batch_inflight, st.batch_whole, st.batch_none, st.batch_torn,
           cfg->expect_durable ? "a failure: from stage 03 on a batch is all or nothing"
                               : "allowed before stage 03: one write() cut short");
    crash_work_print("of the children, as each last reported it before its kill", &st.work);
    fflush(stdout);
    return crash_failed == failed0;
}
