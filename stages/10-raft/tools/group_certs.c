/*
 * group_certs.c: `kv DIR certs`, a group's credentials (peer_certs.h;
 * docs/10-raft.md, "Who may talk to a member").
 *
 *   kv DIR certs --members N            members 1..N
 *   kv DIR certs --ids 4,5 [--days D]   those members
 *
 * DIR gets ca.crt and ca.key (its own authority) the first time, then
 * member-ID.crt and member-ID.key for each member; an authority already
 * there signs the new members' certificates, so a member added later
 * joins the same group.  Copy ca.crt and a member's two files to its
 * host; keep ca.key apart (it makes members).
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
    fprintf(stderr, "usage: kv DIR certs --members N [--days D]\n"
                    "       kv DIR certs --ids ID,ID,... [--days D]\n"
                    "Makes the group's authority in DIR (ca.crt, ca.key) if it is not there, "
                    "and a certificate\nand key for each member (member-ID.crt, .key), "
                    "valid D days (default %d).\n", PEER_CERT_DAYS);
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

int group_certs_main(const char *dir, int nargs, char **args)
{
    uint64_t ids[CERTS_MAX];
    size_t n = 0;
    long days = PEER_CERT_DAYS;
    for (int i = 0; i < nargs; i++) {
        const char *v = i + 1 < nargs ? args[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(args[i], "--members") == 0 && v != NULL) {
            long members = strtol(v, &end, 10);
            if (*end != '\0' || members < 1 || members > CERTS_MAX)
                return certs_usage();
            for (n = 0; n < (size_t)members; n++)
                ids[n] = n + 1;
        } else if (strcmp(args[i], "--ids") == 0 && v != NULL) {
            if ((n = certs_ids(v, ids, CERTS_MAX)) == 0)
                return certs_usage();
        } else if (strcmp(args[i], "--days") == 0 && v != NULL) {
            days = strtol(v, &end, 10);
            if (*end != '\0' || days < 1 || days > 36500)
                return certs_usage();
        } else {
            return certs_usage();
        }
        i++;
    }
    if (n == 0)
        return certs_usage();
    int made_ca = 0;
    if (peer_certs_make(dir, ids, n, (int)days, &made_ca) != KV_OK) {
        fprintf(stderr, "kv certs: %s\n", kv_errmsg());
        return 1;
    }
    printf("%s: %s", dir, made_ca ? "a new authority (ca.crt, ca.key); " : "");
    for (size_t i = 0; i < n; i++)
        printf("%smember-%llu.crt, .key", i > 0 ? ", " : "members' credentials: ",
               (unsigned long long)ids[i]);
    printf(" (valid %ld days)\n", days);
    return 0;
}
