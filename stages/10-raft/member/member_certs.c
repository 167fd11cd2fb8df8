/*
 * member_certs.c: a member's credentials over their life (member.h;
 * docs/10-raft-security.md, "Who may talk to a member").
 *
 *   - Opened at the start (--raft-tls DIR): a certificate expired, or not
 *     valid yet, stops the start with the file and the date named
 *     (peer_tls.h, T3): a member that started would lose every link it
 *     had to open again.
 *   - Watched: from CERTS_WARN_DAYS before the first of them expires (or
 *     a fifth of its life, if that is shorter), a line in the log at the
 *     start and every hour after; CLUSTER INFO and the metrics say how
 *     many seconds are left, always.
 *   - Reloaded on SIGHUP or CLUSTER RELOADCERTS, without stopping: the
 *     files are opened again (and checked as at the start), and the
 *     connections made from then on prove themselves with them; open
 *     ones keep the sessions they proved.  Files that do not load leave
 *     the ones in use as they are, and the reload says why.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "member.h"

#define CERTS_WARN_DAYS 30
#define CERTS_WARN_EVERY_MS (3600 * 1000LL)

static void certs_hup(uv_signal_t *h, int signum)
{
    struct member *m = h->data;
    char why[512];
    (void)signum;
    member_certs_reload(m, why, sizeof why);
}

/* The seconds before the credentials' warning starts (may be < 0). */
static long long certs_warn_window(const peer_tls_expiry *e)
{
    long long life = (long long)(e->not_after - e->not_before), warn = CERTS_WARN_DAYS * 86400LL;
    return life / 5 < warn ? life / 5 : warn;
}

long long member_certs_left(const struct member *m)
{
    return m->tls != NULL ? (long long)(m->expiry.not_after - time(NULL)) : -1;
}

int member_certs_expiring(const struct member *m)
{
    return m->tls != NULL && member_certs_left(m) < certs_warn_window(&m->expiry);
}

int member_certs_open(struct member *m)
{
    if (m->opt.tls == NULL)
        return 0;
    if (peer_tls_ctx_open(m->opt.tls, m->self->id, &m->tls) != KV_OK) {
        member_say(m, "--raft-tls: %s", kv_errmsg());
        return -1;
    }
    peer_tls_ctx_expiry(m->tls, &m->expiry);
    if (uv_signal_init(&m->loop, &m->hup) == 0) {
        m->hup.data = m;
        m->hup_made = 1;
        uv_signal_start(&m->hup, certs_hup, SIGHUP);
    }
    return 0;
}

void member_certs_watch(struct member *m)
{
    if (m->tls == NULL || !member_certs_expiring(m))
        return;
    long long now = (long long)uv_now(&m->loop);
    if (m->cert_warned_ms != 0 && now - m->cert_warned_ms < CERTS_WARN_EVERY_MS)
        return;
    m->cert_warned_ms = now;
    char date[40];
    peer_tls_date(m->expiry.not_after, date, sizeof date);
    long long left = member_certs_left(m);
    member_say(m, "warning: %s/%s expires on %s, in %lld h %lld min: renew it (`kv DIR certs "
               "--renew %llu`, or --renew-authority for ca.crt), copy it here and send this "
               "member SIGHUP; once it has expired, no link this member opens will be "
               "accepted (docs/10-raft-security.md, \"Who may talk to a member\")", m->opt.tls,
               m->expiry.file, date, left / 3600, left % 3600 / 60,
               (unsigned long long)m->self->id);
}

int member_certs_reload(struct member *m, char *why, size_t cap)
{
    peer_tls_ctx *fresh = NULL;
    if (m->tls == NULL) {
        snprintf(why, cap, "this member runs without TLS (--raft-insecure): nothing to reload");
        return -1;
    }
    if (peer_tls_ctx_open(m->opt.tls, m->self->id, &fresh) != KV_OK) {
        m->cert_reload_failures++;
        snprintf(why, cap, "the credentials were not reloaded (the ones in use stay): %s",
                 kv_errmsg());
        member_say(m, "%s", why);
        return -1;
    }
    peer_transport_set_tls(&m->transport, fresh);
    peer_tls_ctx_free(m->tls); /* the sessions made with it keep what they need */
    m->tls = fresh;
    peer_tls_ctx_expiry(fresh, &m->expiry);
    m->cert_reloads++;
    m->cert_warned_ms = 0; /* still close to expiry: said again at once */
    char date[40];
    peer_tls_date(m->expiry.not_after, date, sizeof date);
    member_say(m, "credentials reloaded from %s: new connections use them; the first to "
               "expire is %s, on %s", m->opt.tls, m->expiry.file, date);
    member_certs_watch(m);
    snprintf(why, cap, "%s", "");
    return 0;
}

void member_certs_close(struct member *m)
{
    if (m->hup_made) {
        uv_close((uv_handle_t *)&m->hup, NULL);
        m->hup_made = 0;
    }
}
