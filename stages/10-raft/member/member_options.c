/*
 * member_options.c: the --raft-* options of `kv serve` (member.h), and
 * what is checked of them before anything starts:
 *   - --raft-id and --raft-peers come together, and not with --stdio;
 *   - every peer is ID@HOST:PORT/CLIENTPORT (member_peers.c);
 *   - the Raft port is authenticated: --raft-tls DIR (the group's
 *     credentials, peer_tls.h), or, for a group that never leaves this
 *     host, --raft-insecure, which every Raft address (the peers', and
 *     --raft-bind) must then keep on the loopback network, 127.0.0.0/8;
 *   - --raft-join and --raft-bootstrap exclude each other;
 *   - --raft-log-block is a power of two (a multiple of every sector size
 *     a disk has, 512 or 4096 bytes, as direct I/O needs).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "member.h"

#define MEMBER_MAX_ENTRY_DEFAULT (KV_MAX_BATCH_BYTES + 64u * 1024u)
#define MEMBER_MAX_MESSAGE_DEFAULT (1ull << 30)
#define MEMBER_RESERVE_DEFAULT (64ull << 20)
/* libraft's log written in blocks of 16 KiB (member.c, member_raft). */
#define MEMBER_LOG_BLOCK_DEFAULT (16u << 10)

void member_usage(FILE *to)
{
    fprintf(to,
            "A member of a Raft group (stage 10, docs/10-raft.md):\n"
            "  --raft-id N --raft-peers ID@HOST:PORT/CLIENTPORT,...\n"
            "        this member, and the group's first configuration: each member's Raft\n"
            "        address (an IPv4 HOST:PORT) and its client port\n"
            "  --raft-tls DIR | --raft-insecure\n"
            "        the Raft port's credentials: DIR holds ca.crt, member-N.crt and\n"
            "        member-N.key (`kv DIR certs --members 3` makes them); or none, for a\n"
            "        group whose Raft addresses are all on 127.0.0.0/8\n"
            "  --raft-bootstrap | --raft-join\n"
            "        an empty directory starts the group (once the other members say\n"
            "        they hold no history), or waits to be added (CLUSTER ADDMEMBER);\n"
            "        a directory that holds a log goes on from it either way\n"
            "  --raft-bind HOST:PORT       listen for the Raft traffic there (a proxy in front)\n"
            "  --raft-snapshot-every N     a snapshot every N entries (default: sized to the\n"
            "                              engine, about as many entries as its snapshot's\n"
            "                              bytes, at most 64 MiB of them, at least 1024)\n"
            "  --raft-election-timeout MS  this member's (default 1000, libraft's)\n"
            "  --raft-max-entry BYTES      the largest entry a peer may send (default %u)\n"
            "  --raft-max-message BYTES    the largest message (default %llu)\n"
            "  --raft-disk-reserve BYTES   writes are refused below this much free space\n"
            "                              (default %llu, docs/10-raft-operating.md,\n"
            "                              \"A full disk\")\n"
            "  --raft-log-block BYTES      the Raft log is written in blocks of this size, a\n"
            "                              power of two from 4k to 1m (default %uk;\n"
            "                              docs/10-raft-operating.md, \"The log's blocks\")\n",
            MEMBER_MAX_ENTRY_DEFAULT, MEMBER_MAX_MESSAGE_DEFAULT, MEMBER_RESERVE_DEFAULT,
            MEMBER_LOG_BLOCK_DEFAULT >> 10);
}

/* A number in [lo, hi] with an optional k, m or g (powers of 1024). */
static int option_number(const char *s, unsigned long long lo, unsigned long long hi,
                         unsigned long long *v)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno != 0 || end == s || s[0] == '-')
        return 0;
    int shift = *end == 'k' ? 10 : *end == 'm' ? 20 : *end == 'g' ? 30 : 0;
    if (shift != 0)
        end++;
    if (*end != '\0' || n > (hi >> shift))
        return 0;
    n <<= shift;
    if (n < lo || n > hi)
        return 0;
    *v = n;
    return 1;
}

int member_option(void *x, char **args, int nargs, int *i, int *bad)
{
    struct member *m = x;
    member_options *o = &m->opt;
    const char *a = args[*i];
    const char *val = *i + 1 < nargs ? args[*i + 1] : NULL;
    unsigned long long v = 0;
    struct {
        const char *name;
        unsigned long long lo, hi;
        unsigned long long *into;
        unsigned *into_u;
    } nums[] = {
        {"--raft-id", 1, 1000000000, &o->id, NULL},
        {"--raft-snapshot-every", 2, 1000000000, NULL, &o->snapshot_every},
        {"--raft-election-timeout", 100, 600000, NULL, &o->election_ms},
        {"--raft-max-entry", 4096, 1ull << 32, &o->max_entry, NULL},
        {"--raft-max-message", 4096, 1ull << 40, &o->max_message, NULL},
        {"--raft-disk-reserve", 0, 1ull << 40, &o->reserve, NULL},
        {"--raft-log-block", 4096, 1u << 20, &o->log_block, NULL},
    };
    for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
        if (strcmp(a, nums[k].name) != 0)
            continue;
        if (val == NULL || !option_number(val, nums[k].lo, nums[k].hi, &v)) {
            member_say(m, "%s takes a number from %llu to %llu", a, nums[k].lo, nums[k].hi);
            *bad = 1;
            return 1;
        }
        if (nums[k].into != NULL)
            *nums[k].into = v;
        else
            *nums[k].into_u = (unsigned)v;
        ++*i;
        return 1;
    }
    const char **strs[] = {&o->peers, &o->bind, &o->tls};
    const char *const str_names[] = {"--raft-peers", "--raft-bind", "--raft-tls"};
    for (size_t k = 0; k < 3; k++) {
        if (strcmp(a, str_names[k]) != 0)
            continue;
        if (val == NULL) {
            member_say(m, "%s needs a value", a);
            *bad = 1;
            return 1;
        }
        *strs[k] = val;
        ++*i;
        return 1;
    }
    int *flags[] = {&o->join, &o->bootstrap, &o->insecure};
    const char *const flag_names[] = {"--raft-join", "--raft-bootstrap", "--raft-insecure"};
    for (size_t k = 0; k < 3; k++)
        if (strcmp(a, flag_names[k]) == 0) {
            *flags[k] = 1;
            return 1;
        }
    return 0;
}

/* 1 if HOST:PORT's host is an IPv4 address in 127.0.0.0/8. */
static int on_loopback(const char *addr)
{
    return strncmp(addr, "127.", 4) == 0;
}

int member_wanted(void *x, int stdio)
{
    struct member *m = x;
    member_options *o = &m->opt;
    int any = o->peers != NULL || o->snapshot_every != 0 || o->election_ms != 0 ||
              o->bind != NULL || o->join || o->bootstrap || o->tls != NULL || o->insecure ||
              o->max_entry != 0 || o->max_message != 0 || o->reserve != MEMBER_RESERVE_UNSET ||
              o->log_block != 0;
    if (o->id == 0 && !any)
        return 0; /* no member: the server serves stage 09's engine as it is */
    if (o->id == 0 || o->peers == NULL || stdio) {
        member_say(m, "--raft-id and --raft-peers come together, and not with --stdio; the "
                   "other --raft- options need them");
        return -1;
    }
    if (member_peers_parse(m, o->peers, o->id) != 0)
        return -1;
    if (o->join && o->bootstrap) {
        member_say(m, "--raft-join (wait to be added) and --raft-bootstrap (start the group) "
                   "exclude each other");
        return -1;
    }
    if ((o->tls != NULL) == (o->insecure != 0)) {
        member_say(m, "%s", o->tls != NULL
                                ? "--raft-tls and --raft-insecure exclude each other"
                                : "the Raft port needs the group's credentials: --raft-tls DIR "
                                  "(`kv DIR certs --members 3` makes them), or --raft-insecure "
                                  "for a group whose Raft addresses are all on 127.0.0.0/8 "
                                  "(docs/10-raft-security.md, \"Who may talk to a member\")");
        return -1;
    }
    if (o->insecure) {
        for (int i = 0; i < m->npeers; i++)
            if (!on_loopback(m->peers[i].raft_addr)) {
                member_say(m, "--raft-insecure: member %llu's Raft address %s is not on "
                           "127.0.0.0/8; a Raft port reachable from elsewhere needs --raft-tls",
                           (unsigned long long)m->peers[i].id, m->peers[i].raft_addr);
                return -1;
            }
        if (o->bind != NULL && !on_loopback(o->bind)) {
            member_say(m, "--raft-insecure: --raft-bind %s is not on 127.0.0.0/8; a Raft port "
                       "reachable from elsewhere needs --raft-tls", o->bind);
            return -1;
        }
    }
    if (o->max_entry == 0)
        o->max_entry = MEMBER_MAX_ENTRY_DEFAULT;
    if (o->max_message == 0)
        o->max_message = MEMBER_MAX_MESSAGE_DEFAULT;
    if (o->max_message < o->max_entry) {
        member_say(m, "--raft-max-message %llu is below --raft-max-entry %llu", o->max_message,
                   o->max_entry);
        return -1;
    }
    if (o->reserve == MEMBER_RESERVE_UNSET)
        o->reserve = MEMBER_RESERVE_DEFAULT;
    if (o->log_block == 0)
        o->log_block = MEMBER_LOG_BLOCK_DEFAULT;
    if ((o->log_block & (o->log_block - 1)) != 0) {
        member_say(m, "--raft-log-block %llu is not a power of two", o->log_block);
        return -1;
    }
    return 1;
}
