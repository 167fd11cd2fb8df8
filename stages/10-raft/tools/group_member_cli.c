/*
 * group_member_cli.c: `kv HOST:PORT member ...`, membership changes of a
 * running Raft group asked over the Redis protocol (docs/10-raft-operating.md,
 * "Membership"; the member's side is stages/10-raft/member/member_change.c):
 *
 *   kv HOST:PORT member add ID RAFT-HOST:PORT CLIENT-HOST:PORT
 *   kv HOST:PORT member remove ID
 *   kv HOST:PORT member transfer ID
 *
 * HOST:PORT, in the place of DIR, is any member's client address: a
 * follower answers MOVED, and the command asks the leader it names (one
 * redirect followed).  They send CLUSTER ADDMEMBER, REMOVEMEMBER and
 * FAILOVER TO, and print the answer, which comes once the change is
 * committed (an addition waits for the new member to catch up).  Exit 0
 * on +OK, 1 on an error answer, 2 on a usage or connection error.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "group_tools.h"

/* Connects to "HOST:PORT": a descriptor, or -1 after a message. */
static int cli_connect(const char *addr)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host || colon == addr) {
        fprintf(stderr, "kv member: '%s' is not HOST:PORT (a member's client address)\n", addr);
        return -1;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rv = getaddrinfo(host, colon + 1, &hints, &res);
    if (rv != 0) {
        fprintf(stderr, "kv member: %s: %s\n", addr, gai_strerror(rv));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "kv member: cannot connect to %s\n", addr);
    return fd;
}

/* Sends the words as one request and reads a one-line answer into line
 * (without its CRLF): 0, or -1 after a message. */
static int cli_ask(const char *addr, const char *const *words, int n, char *line, size_t cap)
{
    int fd = cli_connect(addr);
    if (fd < 0)
        return -1;
    char req[1024];
    size_t at = (size_t)snprintf(req, sizeof req, "*%d\r\n", n);
    for (int i = 0; i < n && at < sizeof req; i++)
        at += (size_t)snprintf(req + at, sizeof req - at, "$%zu\r\n%s\r\n", strlen(words[i]),
                               words[i]);
    if (at >= sizeof req || write(fd, req, at) != (ssize_t)at) {
        fprintf(stderr, "kv member: sending to %s failed\n", addr);
        close(fd);
        return -1;
    }
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t got = read(fd, line + len, 1);
        if (got <= 0)
            break;
        len++;
        if (len >= 2 && line[len - 2] == '\r' && line[len - 1] == '\n')
            break;
    }
    close(fd);
    if (len < 3 || line[len - 1] != '\n') {
        fprintf(stderr, "kv member: %s closed without a whole answer\n", addr);
        return -1;
    }
    line[len - 2] = '\0';
    return 0;
}

static int cli_usage(void)
{
    fprintf(stderr, "usage: kv HOST:PORT member add ID RAFT-HOST:PORT CLIENT-HOST:PORT\n"
                    "       kv HOST:PORT member remove ID\n"
                    "       kv HOST:PORT member transfer ID\n"
                    "HOST:PORT is a member's client address (docs/10-raft-operating.md, "
                    "\"Membership\").\n");
    return 2;
}

int group_member_cli_main(const char *addr, int nargs, char **args)
{
    const char *words[6] = {"CLUSTER"};
    int n;
    if (nargs == 4 && strcmp(args[0], "add") == 0) {
        words[1] = "ADDMEMBER";
        words[2] = args[1];
        words[3] = args[2];
        words[4] = args[3];
        n = 5;
    } else if (nargs == 2 && strcmp(args[0], "remove") == 0) {
        words[1] = "REMOVEMEMBER";
        words[2] = args[1];
        n = 3;
    } else if (nargs == 2 && strcmp(args[0], "transfer") == 0) {
        words[1] = "FAILOVER";
        words[2] = "TO";
        words[3] = args[1];
        n = 4;
    } else {
        return cli_usage();
    }
    char line[512], leader[300];
    if (cli_ask(addr, words, n, line, sizeof line) != 0)
        return 2;
    unsigned slot;
    if (sscanf(line, "-MOVED %u %299s", &slot, leader) == 2) { /* a follower: ask the leader */
        if (cli_ask(leader, words, n, line, sizeof line) != 0)
            return 2;
    }
    if (line[0] == '+') {
        printf("%s\n", line + 1);
        return 0;
    }
    fprintf(stderr, "kv member: %s\n", line[0] == '-' ? line + 1 : line);
    return 1;
}
