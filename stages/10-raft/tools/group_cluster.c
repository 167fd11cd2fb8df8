/*
 * group_cluster.c: `kv DIR cluster`, a convenience that starts a Raft
 * group of `kv serve` members on this host and waits for a leader
 * (docs/10-raft.md).
 *
 *   kv DIR cluster [--members N] [--port P] [--raft-port R] [serve options]
 *
 * Member i (1..N) is `kv DIR/mI serve --port P+i-1 --raft-id I
 * --raft-peers ... --raft-tls DIR/certs --raft-bootstrap`, its Raft
 * traffic on 127.0.0.1:R+i-1 (R is P+1000 by default), its output in
 * DIR/mI.log; the options after these go to every member.  The group's
 * credentials are DIR/certs: made now (group_certs.c) when no member's
 * directory holds a log yet (a new group: a new authority, any older
 * credentials there replaced), kept otherwise.  With --raft-insecure
 * among the options there are none.  Each member is a process of its
 * own, as it would be on a host of its own: this only spares typing N
 * command lines.  Once a leader is elected it says which, then waits;
 * SIGINT or SIGTERM stops every member (SIGTERM, then SIGKILL after 20 s)
 * and the command.  A member that exits on its own stops the others too,
 * and the command fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "group_tools.h"
#include "io.h"
#include "kv.h"
#include "kv_ext.h"
#include "peer_certs.h"

#define CLUSTER_MAX 9

/* The member at port's raft_state is "leader": 1, else 0. */
static int cluster_leads(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[2048];
    size_t len = 0;
    static const char ask[] = "*2\r\n$7\r\nCLUSTER\r\n$4\r\nINFO\r\n";
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        write(fd, ask, sizeof ask - 1) == (ssize_t)(sizeof ask - 1)) {
        ssize_t n;
        while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0) {
            len += (size_t)n;
            buf[len] = '\0';
            if (strstr(buf, "raft_applied_index:") != NULL && buf[len - 1] == '\n')
                break;
        }
    }
    close(fd);
    buf[len] = '\0';
    return strstr(buf, "raft_state:leader") != NULL;
}

/* Stops every member still running: SIGTERM, then SIGKILL after 20 s. */
static void cluster_stop(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    time_t deadline = time(NULL) + 20;
    for (int left = n; left > 0;) {
        left = 0;
        for (int i = 0; i < n; i++) {
            if (pids[i] <= 0)
                continue;
            if (waitpid(pids[i], NULL, WNOHANG) == pids[i])
                pids[i] = 0;
            else
                left++;
        }
        if (left > 0 && time(NULL) >= deadline) {
            for (int i = 0; i < n; i++)
                if (pids[i] > 0)
                    kill(pids[i], SIGKILL);
            deadline = time(NULL) + 3600;
        }
        if (left > 0)
            usleep(50000);
    }
}

/* The member that exited, or -1 if all run. */
static int cluster_exited(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++)
        if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == pids[i]) {
            pids[i] = 0;
            return i;
        }
    return -1;
}

/* 1 if member i's directory holds a Raft log. */
static int cluster_member_ran(const char *dir, long i)
{
    char raft[4096];
    snprintf(raft, sizeof raft, "%s/m%ld/raft", dir, i + 1);
    char **names = NULL;
    size_t n = 0;
    if (io_list(raft, &names, &n) != KV_OK)
        return 0;
    io_list_free(names, n);
    return n > 0;
}

/* DIR/certs for the group: new ones for a new group.  0, or -1. */
static int cluster_certs(const char *dir, long members, const char *certs)
{
    int ran = 0;
    for (long i = 0; i < members; i++)
        ran |= cluster_member_ran(dir, i);
    int exists = 0;
    io_exists(certs, &exists);
    if (ran && exists)
        return 0; /* the group's own, kept */
    if (exists) { /* an older group's: this one is new */
        char **names = NULL;
        size_t n = 0;
        if (io_list(certs, &names, &n) == KV_OK) {
            for (size_t k = 0; k < n; k++) {
                char *path = io_join(certs, names[k]);
                if (path != NULL)
                    io_unlink(path);
                free(path);
            }
            io_list_free(names, n);
        }
    }
    uint64_t ids[CLUSTER_MAX];
    for (long i = 0; i < members; i++)
        ids[i] = (uint64_t)i + 1;
    int made = 0;
    if (peer_certs_make(certs, ids, (size_t)members, PEER_CERT_DAYS, PEER_CERTS_NEW_AUTHORITY,
                        &made) != KV_OK) {
        fprintf(stderr, "kv cluster: the group's credentials: %s\n", kv_errmsg());
        return -1;
    }
    return 0;
}

int group_cluster_main(const char *dir, int nargs, char **args)
{
    long members = 3, port = 6391, raft_port = 0;
    int first_extra = nargs;
    for (int i = 0; i < nargs; i++) {
        const char *a = args[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            /* Asked of the members, it would make each print kv serve's
             * usage into its log and exit, and the group never start. */
            printf("usage: kv DIR cluster [--members N] [--port P] [--raft-port R] [serve options]\n"
                   "Starts N members (default 3, at most %d) of one Raft group on this host,\n"
                   "member I in DIR/mI with client port P+I-1 (default P 6391) and Raft port\n"
                   "R+I-1 (default R = P+1000), its output in DIR/mI.log, the group's\n"
                   "credentials in DIR/certs (made for a new group); the options after these go\n"
                   "to every member's kv serve (kv DIR serve --help; --raft-insecure: no\n"
                   "credentials, plain TCP on 127.0.0.0/8).  Stops them all on SIGINT or\n"
                   "SIGTERM.  See docs/10-raft.md.\n",
                   CLUSTER_MAX);
            return 0;
        }
        long *v = strcmp(a, "--members") == 0 ? &members
                  : strcmp(a, "--port") == 0 ? &port
                  : strcmp(a, "--raft-port") == 0 ? &raft_port
                                                  : NULL;
        if (v == NULL) {
            first_extra = i; /* the members' own options from here */
            break;
        }
        /* A value out of range is refused here: passed on, it would only
         * make every member's kv serve refuse "--members". */
        long hi = v == &members ? CLUSTER_MAX : 65535;
        if (i + 1 == nargs || !tool_number(args[i + 1], 1, hi, v)) {
            fprintf(stderr, "kv cluster: %s takes a number from 1 to %ld (got %s%s%s)\n", a, hi,
                    i + 1 == nargs ? "nothing" : "'", i + 1 == nargs ? "" : args[i + 1],
                    i + 1 == nargs ? "" : "'");
            return 2;
        }
        i++;
    }
    if (raft_port == 0)
        raft_port = port + 1000;
    if (port + members - 1 > 65535 || raft_port + members - 1 > 65535) {
        fprintf(stderr, "kv cluster: ports past 65535\n");
        return 2;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "kv cluster: %s: %s\n", dir, strerror(errno));
        return 2;
    }
    int insecure = 0;
    for (int k = first_extra; k < nargs; k++)
        insecure |= strcmp(args[k], "--raft-insecure") == 0;
    char certs[4096];
    snprintf(certs, sizeof certs, "%s/certs", dir);
    if (!insecure && cluster_certs(dir, members, certs) != 0)
        return 2;
    char peers[CLUSTER_MAX * 48];
    size_t at = 0;
    for (long i = 0; i < members; i++)
        at += (size_t)snprintf(peers + at, sizeof peers - at, "%s%ld@127.0.0.1:%ld/%ld",
                               i ? "," : "", i + 1, raft_port + i, port + i);
    /* SIGINT and SIGTERM are waited for, not handled: blocked first, so
     * none is lost while the members start. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    pid_t pids[CLUSTER_MAX] = {0};
    for (long i = 0; i < members; i++) {
        char mdir[4096], log[4096], p[24], id[24];
        snprintf(mdir, sizeof mdir, "%s/m%ld", dir, i + 1);
        snprintf(log, sizeof log, "%s/m%ld.log", dir, i + 1);
        snprintf(p, sizeof p, "%ld", port + i);
        snprintf(id, sizeof id, "%ld", i + 1);
        char *argv[64 + 16];
        int n = 0;
        argv[n++] = "kv";
        argv[n++] = mdir;
        argv[n++] = "serve";
        argv[n++] = "--port";
        argv[n++] = p;
        argv[n++] = "--raft-id";
        argv[n++] = id;
        argv[n++] = "--raft-peers";
        argv[n++] = peers;
        argv[n++] = "--raft-bootstrap";
        if (!insecure) {
            argv[n++] = "--raft-tls";
            argv[n++] = certs;
        }
        for (int k = first_extra; k < nargs && n < 64 + 15; k++)
            argv[n++] = args[k];
        argv[n] = NULL;
        pid_t pid = fork();
        if (pid == 0) {
            sigprocmask(SIG_UNBLOCK, &stop, NULL);
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
            execv("/proc/self/exe", argv);
            fprintf(stderr, "kv cluster: cannot run kv serve: %s\n", strerror(errno));
            _exit(2);
        }
        if (pid < 0) {
            fprintf(stderr, "kv cluster: fork: %s\n", strerror(errno));
            cluster_stop(pids, (int)members);
            return 2;
        }
        pids[i] = pid;
    }
    int leader = -1;
    for (int tries = 0; tries < 600 && leader < 0; tries++) { /* 30 s */
        int gone = cluster_exited(pids, (int)members);
        if (gone >= 0) {
            fprintf(stderr, "kv cluster: member %d exited; its output is in %s/m%d.log\n",
                    gone + 1, dir, gone + 1);
            cluster_stop(pids, (int)members);
            return 2;
        }
        for (long i = 0; i < members && leader < 0; i++)
            if (cluster_leads((int)(port + i)))
                leader = (int)i;
        if (leader < 0)
            usleep(50000);
    }
    if (leader < 0) {
        fprintf(stderr, "kv cluster: no leader within 30 s; the members' output is in "
                "%s/m*.log\n", dir);
        cluster_stop(pids, (int)members);
        return 2;
    }
    printf("cluster: %ld members in %s (output in %s/m*.log), client ports %ld-%ld, Raft ports "
           "%ld-%ld (%s); member %d leads.\n  redis-cli -c -p %ld\nCtrl-C stops them.\n",
           members, dir, dir, port, port + members - 1, raft_port, raft_port + members - 1,
           insecure ? "no TLS: --raft-insecure" : "mutual TLS, credentials in certs/",
           leader + 1, port);
    fflush(stdout);
    int rc = 0;
    for (;;) {
        struct timespec tick = {0, 200 * 1000 * 1000};
        if (sigtimedwait(&stop, NULL, &tick) > 0)
            break;
        int gone = cluster_exited(pids, (int)members);
        if (gone >= 0) {
            fprintf(stderr, "kv cluster: member %d exited; stopping the others (its output "
                    "is in %s/m%d.log)\n", gone + 1, dir, gone + 1);
            rc = 1;
            break;
        }
    }
    cluster_stop(pids, (int)members);
    return rc;
}
