/*
 * peer_tls.c: mutual TLS 1.3 between members, on OpenSSL's memory BIOs
 * (peer_tls.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "error.h"
#include "io.h"
#include "kv.h"
#include "peer_tls.h"

struct peer_tls_ctx {
    SSL_CTX *ssl;
    peer_tls_expiry expiry;
};

struct peer_tls {
    SSL *ssl;
    BIO *in, *out;   /* from the network, to the network */
    uint64_t peer_id;
};

/* OpenSSL's oldest queued reason, as text ("" if none), and the queue
 * emptied. */
static const char *tls_reason(char *buf, size_t cap)
{
    unsigned long e = ERR_get_error();
    buf[0] = '\0';
    if (e != 0)
        ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
    return buf;
}

uint64_t peer_tls_id_of_cn(const char *cn)
{
    size_t pre = strlen(PEER_CN_PREFIX);
    if (strncmp(cn, PEER_CN_PREFIX, pre) != 0)
        return 0;
    const char *d = cn + pre;
    if (*d < '1' || *d > '9' || strlen(d) > 20)
        return 0;
    uint64_t id = 0;
    for (; *d != '\0'; d++) {
        if (*d < '0' || *d > '9')
            return 0;
        uint64_t digit = (uint64_t)(*d - '0');
        if (id > (UINT64_MAX - digit) / 10)
            return 0; /* past 64 bits */
        id = id * 10 + digit;
    }
    return id;
}

/* The member id cert's common name gives, or 0. */
static uint64_t tls_cert_id(X509 *cert)
{
    char cn[64];
    X509_NAME *name = cert != NULL ? X509_get_subject_name(cert) : NULL;
    if (name == NULL || X509_NAME_get_text_by_NID(name, NID_commonName, cn, sizeof cn) <= 0)
        return 0;
    return peer_tls_id_of_cn(cn);
}

/* Reads dir/name whole into a memory BIO.  KV_OK, or an error naming it. */
static int tls_read_file(const char *dir, const char *name, BIO **out)
{
    char *path = io_join(dir, name);
    if (path == NULL)
        return KV_ERR_NOMEM;
    io_file *f = NULL;
    uint64_t size = 0;
    int rc = io_open(path, IO_READ, &f);
    if (rc == KV_OK)
        rc = io_size(f, &size);
    if (rc == KV_OK && size > 1u << 20)
        rc = kv_error(KV_ERR_INVALID, "%s: %llu bytes, too large for a PEM certificate or key",
                      path, (unsigned long long)size);
    char *bytes = rc == KV_OK ? malloc(size + 1) : NULL;
    size_t got = 0;
    if (rc == KV_OK && bytes == NULL)
        rc = kv_error(KV_ERR_NOMEM, "out of memory reading %s", path);
    if (rc == KV_OK)
        rc = io_read_at(f, 0, bytes, size, &got);
    io_close(f);
    if (rc == KV_OK) {
        *out = BIO_new(BIO_s_mem());
        if (*out == NULL || BIO_write(*out, bytes, (int)got) != (int)got) {
            BIO_free(*out);
            rc = kv_error(KV_ERR_NOMEM, "out of memory reading %s", path);
        }
    } else if (rc != KV_ERR_NOMEM) {
        rc = kv_error(rc, "the group's credentials: %s (peer_tls.h lists the files; "
                      "`kv DIR certs` makes them)", kv_errmsg());
    }
    free(bytes);
    free(path);
    return rc;
}

/* dir/name as a certificate, or a key (key 1).  KV_OK and *out. */
static int tls_load(const char *dir, const char *name, int key, void **out)
{
    BIO *b = NULL;
    int rc = tls_read_file(dir, name, &b);
    if (rc != KV_OK)
        return rc;
    *out = key ? (void *)PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)
               : (void *)PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    if (*out == NULL) {
        char why[160];
        return kv_error(KV_ERR_CORRUPT, "%s/%s: not a PEM %s (%s)", dir, name,
                        key ? "private key" : "certificate", tls_reason(why, sizeof why));
    }
    return KV_OK;
}

void peer_tls_date(time_t t, char *buf, size_t cap)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* An ASN.1 time as seconds since 1970 (0 if it does not convert). */
static time_t tls_time(const ASN1_TIME *a)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(a, &tm) != 1)
        return 0;
    return timegm(&tm);
}

/* T3: cert (dir/file) is valid now; its dates kept in *e if it expires
 * before what *e holds. */
static int tls_valid_now(const char *dir, const char *file, X509 *cert, peer_tls_expiry *e)
{
    time_t now = time(NULL), from = tls_time(X509_get0_notBefore(cert)),
           until = tls_time(X509_get0_notAfter(cert));
    char date[40];
    if (from == 0 || until == 0)
        return kv_error(KV_ERR_CORRUPT, "%s/%s: its validity dates do not read", dir, file);
    if (now < from) {
        peer_tls_date(from, date, sizeof date);
        return kv_error(KV_ERR_INVALID, "%s/%s is not valid yet: from %s (this host's clock, "
                        "or a certificate made ahead of time)", dir, file, date);
    }
    if (now > until) {
        peer_tls_date(until, date, sizeof date);
        return kv_error(KV_ERR_INVALID, "%s/%s expired on %s: renew it (`kv DIR certs --renew "
                        "ID`, or --renew-authority for ca.crt; docs/10-raft-security.md, \"Who may talk "
                        "to a member\")", dir, file, date);
    }
    if (e->not_after == 0 || until < e->not_after) {
        e->not_before = from;
        e->not_after = until;
        snprintf(e->file, sizeof e->file, "%s", file);
    }
    return KV_OK;
}

/* Every certificate of dir/ca.crt into the store and the list cas.
 * KV_OK, or an error naming the file. */
static int tls_authorities(const char *dir, X509_STORE *store, STACK_OF(X509) *cas,
                           peer_tls_expiry *e)
{
    BIO *b = NULL;
    int rc = tls_read_file(dir, "ca.crt", &b), n = 0;
    X509 *ca;
    while (rc == KV_OK && (ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        n++;
        rc = tls_valid_now(dir, "ca.crt", ca, e);
        if (rc == KV_OK && X509_STORE_add_cert(store, ca) != 1)
            rc = kv_error(KV_ERR_NOMEM, "%s/ca.crt: its authority %d not kept", dir, n);
        if (rc == KV_OK && sk_X509_push(cas, ca) > 0)
            continue;
        X509_free(ca);
    }
    ERR_clear_error(); /* the end of the file, or a rest that is not PEM */
    BIO_free(b);
    if (rc == KV_OK && n == 0)
        rc = kv_error(KV_ERR_CORRUPT, "%s/ca.crt: not a PEM certificate", dir);
    return rc;
}

int peer_tls_ctx_open(const char *dir, uint64_t id, peer_tls_ctx **out)
{
    char cert_name[64], key_name[64], why[160];
    snprintf(cert_name, sizeof cert_name, "member-%llu.crt", (unsigned long long)id);
    snprintf(key_name, sizeof key_name, "member-%llu.key", (unsigned long long)id);
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    X509_STORE *store = X509_STORE_new();
    STACK_OF(X509) *cas = sk_X509_new_null();
    peer_tls_expiry e = {0};
    int signer = 0;
    int rc = store != NULL && cas != NULL ? KV_OK
                                          : kv_error(KV_ERR_NOMEM, "out of memory for ca.crt");
    if (rc == KV_OK)
        rc = tls_authorities(dir, store, cas, &e);
    if (rc == KV_OK)
        rc = tls_load(dir, cert_name, 0, (void **)&cert);
    if (rc == KV_OK)
        rc = tls_load(dir, key_name, 1, (void **)&key);
    for (int i = 0; rc == KV_OK && i < sk_X509_num(cas); i++)
        signer |= X509_verify(cert, X509_get0_pubkey(sk_X509_value(cas, i))) == 1;
    ERR_clear_error();
    if (rc == KV_OK && !signer)
        rc = kv_error(KV_ERR_INVALID, "%s/%s: not signed by the group's %s/ca.crt", dir,
                      cert_name, dir);
    if (rc == KV_OK)
        rc = tls_valid_now(dir, cert_name, cert, &e);
    if (rc == KV_OK && tls_cert_id(cert) != id)
        rc = kv_error(KV_ERR_INVALID, "%s/%s: names member %llu, not %llu (its common name "
                      "must be %s%llu)", dir, cert_name, (unsigned long long)tls_cert_id(cert),
                      (unsigned long long)id, PEER_CN_PREFIX, (unsigned long long)id);
    SSL_CTX *ssl = rc == KV_OK ? SSL_CTX_new(TLS_method()) : NULL;
    if (rc == KV_OK && ssl == NULL)
        rc = kv_error(KV_ERR_NOMEM, "SSL_CTX_new: %s", tls_reason(why, sizeof why));
    if (rc == KV_OK) {
        SSL_CTX_set_cert_store(ssl, store); /* the context owns it now */
        store = NULL;
    }
    if (rc == KV_OK &&
        (SSL_CTX_set_min_proto_version(ssl, TLS1_3_VERSION) != 1 ||
         SSL_CTX_use_certificate(ssl, cert) != 1 || SSL_CTX_use_PrivateKey(ssl, key) != 1 ||
         SSL_CTX_check_private_key(ssl) != 1))
        rc = kv_error(KV_ERR_INVALID, "%s: %s and %s do not make a TLS context (a key that is "
                      "not the certificate's?): %s", dir, cert_name, key_name,
                      tls_reason(why, sizeof why));
    if (rc == KV_OK) {
        /* T1: the peer must show a certificate, signed by ca.crt itself. */
        SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_verify_depth(ssl, 1);
        SSL_CTX_set_num_tickets(ssl, 0); /* no resumption: every connection proves itself */
        SSL_CTX_set_session_cache_mode(ssl, SSL_SESS_CACHE_OFF);
        /* T4: until its handshake is done, a session keeps no empty
         * record buffer (peer_tls_handshake sets the mode back once it
         * is), and reads no certificate message larger than a member's
         * could be. */
        SSL_CTX_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
        SSL_CTX_set_max_cert_list(ssl, PEER_TLS_CERT_MAX);
        *out = calloc(1, sizeof **out);
        if (*out == NULL)
            rc = kv_error(KV_ERR_NOMEM, "out of memory for a TLS context");
    }
    if (rc == KV_OK) {
        (*out)->ssl = ssl;
        (*out)->expiry = e;
    } else {
        SSL_CTX_free(ssl);
    }
    X509_STORE_free(store);
    sk_X509_pop_free(cas, X509_free);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

void peer_tls_ctx_expiry(const peer_tls_ctx *ctx, peer_tls_expiry *out)
{
    *out = ctx->expiry;
}

void peer_tls_ctx_free(peer_tls_ctx *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl);
    free(ctx);
}

int peer_tls_new(peer_tls_ctx *ctx, int server, peer_tls **out)
{
    peer_tls *t = calloc(1, sizeof *t);
    if (t == NULL)
        return kv_error(KV_ERR_NOMEM, "out of memory for a TLS session");
    t->ssl = SSL_new(ctx->ssl);
    t->in = BIO_new(BIO_s_mem());
    t->out = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->in == NULL || t->out == NULL) {
        BIO_free(t->in);
        BIO_free(t->out);
        SSL_free(t->ssl);
        free(t);
        ERR_clear_error();
        return kv_error(KV_ERR_NOMEM, "out of memory for a TLS session");
    }
    SSL_set_bio(t->ssl, t->in, t->out); /* the session owns both now */
    if (server)
        SSL_set_accept_state(t->ssl);
    else
        SSL_set_connect_state(t->ssl);
    *out = t;
    return KV_OK;
}

void peer_tls_free(peer_tls *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl);
    free(t);
}

int peer_tls_put(peer_tls *t, const void *p, size_t n)
{
    while (n > 0) {
        int chunk = n > (1u << 30) ? 1 << 30 : (int)n;
        if (BIO_write(t->in, p, chunk) != chunk)
            return kv_error(KV_ERR_NOMEM, "out of memory for %zu bytes of TLS", n);
        p = (const char *)p + chunk;
        n -= (size_t)chunk;
    }
    return KV_OK;
}

/* Why the session failed (for kv_errmsg). */
static int tls_failed(peer_tls *t, const char *doing)
{
    char why[200];
    long v = SSL_get_verify_result(t->ssl);
    if (v != X509_V_OK)
        return kv_error(KV_ERR_IO, "TLS %s: the peer's certificate: %s", doing,
                        X509_verify_cert_error_string(v));
    tls_reason(why, sizeof why);
    return kv_error(KV_ERR_IO, "TLS %s: %s", doing, why[0] != '\0' ? why : "the peer closed it");
}

int peer_tls_handshake(peer_tls *t)
{
    if (SSL_is_init_finished(t->ssl))
        return 1;
    int rv = SSL_do_handshake(t->ssl);
    if (rv == 1) {
        SSL_clear_mode(t->ssl, SSL_MODE_RELEASE_BUFFERS); /* open: its buffers kept (T4) */
        X509 *cert = SSL_get1_peer_certificate(t->ssl);
        t->peer_id = tls_cert_id(cert); /* T2 */
        X509_free(cert);
        if (t->peer_id == 0) {
            kv_error(KV_ERR_IO, "TLS handshake: the peer's certificate names no member "
                     "(its common name is not %sID)", PEER_CN_PREFIX);
            return -1;
        }
        return 1;
    }
    int e = SSL_get_error(t->ssl, rv);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    tls_failed(t, "handshake");
    return -1;
}

uint64_t peer_tls_peer_id(const peer_tls *t)
{
    return SSL_is_init_finished(t->ssl) ? t->peer_id : 0;
}

long peer_tls_read(peer_tls *t, void *buf, size_t cap)
{
    int rv = SSL_read(t->ssl, buf, cap > (1u << 30) ? 1 << 30 : (int)cap);
    if (rv > 0)
        return rv;
    int e = SSL_get_error(t->ssl, rv);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (e == SSL_ERROR_ZERO_RETURN) {
        kv_error(KV_ERR_IO, "TLS: the peer closed the session");
        return -1;
    }
    tls_failed(t, "read");
    return -1;
}

int peer_tls_write(peer_tls *t, const void *p, size_t n)
{
    while (n > 0) {
        int chunk = n > (1u << 30) ? 1 << 30 : (int)n;
        int rv = SSL_write(t->ssl, p, chunk);
        if (rv <= 0)
            return tls_failed(t, "write");
        p = (const char *)p + rv;
        n -= (size_t)rv;
    }
    return KV_OK;
}

size_t peer_tls_take(peer_tls *t, void *buf, size_t cap)
{
    int rv = BIO_read(t->out, buf, cap > (1u << 30) ? 1 << 30 : (int)cap);
    return rv > 0 ? (size_t)rv : 0;
}
