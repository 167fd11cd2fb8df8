/*
 * group_certs.c: `kv DIR certs`, a group's credentials (peer_certs.h;
 * docs/10-raft-security.md, "Who may talk to a member").
 *
 *   kv DIR certs --members N            a new group: its authority, members 1..N
 *   kv DIR certs --ids 4,5 [--days D]   more members of the group whose ca.key is in DIR
 *   kv DIR certs --renew 2[,3]          new keys and certificates for those members
 *   kv DIR certs --renew-authority      ca.crt again, for the same key, valid anew
 *
 * DIR gets ca.crt and ca.key (its own authority) only from --members,
 * and only when it holds neither: --ids and --renew need ca.key and say
 * so without it, never making another authority (a member signed by it
 * would belong to no group).  DIR is made mode 0700, each key 0600 from
 * its first byte, and a DIR that another user may write to is refused.
 * Copy ca.crt and a member's two files to its host; keep ca.key apart
 * (it makes members); after --renew or --renew-authority, copy the new
 * files and send the member SIGHUP (or CLUSTER RELOADCERTS): it reloads
 * them without stopping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group_tools.h"
#include "kv.h"
#include "peer_certs.h"

#define CERTS_MAX 64

static int certs_usage(void)
{
    fprintf(stderr,
            "usage: kv DIR certs --members N [--days D]      a new group: its authority and "
            "members 1..N\n"
            "       kv DIR certs --ids ID,ID,... [--days D]  more members, signed by DIR/ca.key\n"
            "       kv DIR certs --renew ID,ID,... [--days D]  new keys and certificates\n"
            "       kv DIR certs --renew-authority [--days D]  ca.crt again, same key\n"
            "A member's certificate is valid D days (default %d; members made together expire "
            "up to a tenth\nof that apart); the authority's %d days.  A member reloads renewed "
            "files on SIGHUP.\n", PEER_CERT_DAYS, PEER_CA_DAYS);
    return 2;
}

/* Parses "4,5,9" into ids: how many, or 0 if it is not such a list. */
static size_t certs_ids(const char *list, uint64_t *ids, size_t cap)
{
    size_t n = 0;
    const char *p = list;
    while (*p != '\0' && n < cap) {
        char *end = NULL;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || v == 0 || v > 1000000000 || (*end != ',' && *end != '\0') || p[0] == '-')
            return 0;
        ids[n++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    return *p == '\0' ? n : 0;
}

static void certs_said(const char *dir, const char *what, const uint64_t *ids, size_t n,
                       long days)
{
    printf("%s: %s", dir, what);
    for (size_t i = 0; i < n; i++)
        printf("%smember-%llu.crt, .key", i > 0 ? ", " : "", (unsigned long long)ids[i]);
    printf(" (valid %ld days)\n", days);
}

int group_certs_main(const char *dir, int nargs, char **args)
{
    uint64_t ids[CERTS_MAX];
    size_t n = 0;
    long days = 0;
    int members = 0, renew = 0, renew_ca = 0;
    for (int i = 0; i < nargs; i++) {
        const char *v = i + 1 < nargs ? args[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(args[i], "--renew-authority") == 0) {
            renew_ca = 1;
            continue;
        }
        if (strcmp(args[i], "--members") == 0 && v != NULL) {
            long count = strtol(v, &end, 10);
            if (*end != '\0' || count < 1 || count > CERTS_MAX)
                return certs_usage();
            for (n = 0; n < (size_t)count; n++)
                ids[n] = n + 1;
            members = 1;
        } else if ((strcmp(args[i], "--ids") == 0 || strcmp(args[i], "--renew") == 0) &&
                   v != NULL) {
            if ((n = certs_ids(v, ids, CERTS_MAX)) == 0)
                return certs_usage();
            renew = strcmp(args[i], "--renew") == 0;
        } else if (strcmp(args[i], "--days") == 0 && v != NULL) {
            days = strtol(v, &end, 10);
            if (*end != '\0' || days < 1 || days > 36500)
                return certs_usage();
        } else {
            return certs_usage();
        }
        i++;
    }
    if ((n == 0) == !renew_ca)
        return certs_usage(); /* members or ids, or the authority, not both nor neither */
    int rc;
    if (renew_ca) {
        days = days != 0 ? days : PEER_CA_DAYS;
        if ((rc = peer_certs_renew_authority(dir, (int)days)) == KV_OK)
            printf("%s: ca.crt made again for the same key (valid %ld days): copy it to every "
                   "member's host, then SIGHUP each member\n", dir, days);
    } else if (renew) {
        days = days != 0 ? days : PEER_CERT_DAYS;
        if ((rc = peer_certs_renew(dir, ids, n, (int)days)) == KV_OK)
            certs_said(dir, "renewed ", ids, n, days);
    } else {
        int made_ca = 0;
        days = days != 0 ? days : PEER_CERT_DAYS;
        rc = peer_certs_make(dir, ids, n, (int)days, members ? PEER_CERTS_NEW_AUTHORITY : 0,
                             &made_ca);
        if (rc == KV_OK)
            certs_said(dir, made_ca ? "a new authority (ca.crt, ca.key); members' credentials: "
                                    : "members' credentials: ",
                       ids, n, days);
    }
    if (rc != KV_OK) {
        fprintf(stderr, "kv certs: %s\n", kv_errmsg());
        return 1;
    }
    return 0;
}
