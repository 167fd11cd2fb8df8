/*
 * peer_certs.c: a group's certificate authority and its members' keys and
 * certificates, made with OpenSSL's C API (peer_certs.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "io.h"
#include "kv.h"
#include "peer_certs.h"
#include "peer_tls.h"

/* An OpenSSL failure as KV_ERR_IO naming what was being made. */
static int certs_fail(const char *what)
{
    char why[200] = "";
    unsigned long e = ERR_get_error();
    if (e != 0)
        ERR_error_string_n(e, why, sizeof why);
    ERR_clear_error();
    return kv_error(KV_ERR_IO, "making %s: %s", what, why[0] != '\0' ? why : "OpenSSL failed");
}

/* Adds extension nid with value (OpenSSL's config syntax) to cert. */
static int certs_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = ext != NULL && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/* A certificate for key, named cn, signed by issuer_key (issuer NULL:
 * itself, a CA).  NULL after certs_fail. */
static X509 *certs_sign(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                        long seconds)
{
    X509 *cert = X509_new();
    unsigned char serial[8];
    BIGNUM *bn = NULL;
    int ok = cert != NULL && RAND_bytes(serial, sizeof serial) == 1;
    serial[0] &= 0x7f; /* a positive serial */
    ok = ok && (bn = BN_bin2bn(serial, sizeof serial, NULL)) != NULL &&
         BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL &&
         X509_set_version(cert, 2) == 1 &&
         X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != NULL &&
         X509_gmtime_adj(X509_getm_notAfter(cert), seconds) != NULL &&
         X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                                    (const unsigned char *)cn, -1, -1, 0) == 1 &&
         X509_set_issuer_name(cert, X509_get_subject_name(issuer != NULL ? issuer : cert)) == 1 &&
         X509_set_pubkey(cert, key) == 1;
    BN_free(bn);
    X509 *by = issuer != NULL ? issuer : cert;
    if (ok && issuer == NULL)
        ok = certs_ext(cert, by, NID_basic_constraints, "critical,CA:TRUE") &&
             certs_ext(cert, by, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             certs_ext(cert, by, NID_subject_key_identifier, "hash");
    else if (ok)
        ok = certs_ext(cert, by, NID_basic_constraints, "critical,CA:FALSE") &&
             certs_ext(cert, by, NID_key_usage, "critical,digitalSignature") &&
             certs_ext(cert, by, NID_ext_key_usage, "serverAuth,clientAuth") &&
             certs_ext(cert, by, NID_authority_key_identifier, "keyid");
    if (!ok || X509_sign(cert, issuer_key, EVP_sha256()) == 0) {
        X509_free(cert);
        certs_fail(cn);
        return NULL;
    }
    return cert;
}

/* Writes dir/name: a certificate, or a key (created 0600, K3). */
static int certs_write(const char *dir, const char *name, X509 *cert, EVP_PKEY *key)
{
    BIO *b = BIO_new(BIO_s_mem());
    int ok = b != NULL && (key != NULL ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
                                       : PEM_write_bio_X509(b, cert)) == 1;
    if (!ok) {
        BIO_free(b);
        return certs_fail(name);
    }
    char *bytes = NULL;
    long len = BIO_get_mem_data(b, &bytes);
    int rc = key != NULL ? io_replace_private(dir, name, bytes, (size_t)len, NULL)
                         : io_replace(dir, name, bytes, (size_t)len, NULL);
    OPENSSL_cleanse(bytes, (size_t)len);
    BIO_free(b);
    return rc;
}

/* Reads dir/name: a certificate, or a key (want_key 1). */
static void *certs_read(const char *dir, const char *name, int want_key)
{
    char *path = io_join(dir, name);
    FILE *f = path != NULL ? fopen(path, "r") : NULL;
    void *out = NULL;
    if (f != NULL) {
        out = want_key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL)
                       : (void *)PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (out == NULL)
        kv_error(KV_ERR_CORRUPT, "%s: not a readable PEM %s", path != NULL ? path : name,
                 want_key ? "key" : "certificate");
    free(path);
    ERR_clear_error();
    return out;
}

static int certs_exists(const char *dir, const char *name)
{
    char *path = io_join(dir, name);
    int exists = 0;
    if (path != NULL)
        io_exists(path, &exists);
    free(path);
    return exists;
}

int peer_certs_dir(const char *dir)
{
    if (mkdir(dir, 0700) == 0)
        return KV_OK; /* made private before anything is in it */
    if (errno != EEXIST)
        return kv_error(KV_ERR_IO, "%s: mkdir: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0)
        return kv_error(KV_ERR_IO, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return kv_error(KV_ERR_INVALID, "%s is not a directory", dir);
    if (st.st_uid != geteuid())
        return kv_error(KV_ERR_INVALID, "%s belongs to user %u, not to this one (%u): another "
                        "user could replace the group's credentials there; make the "
                        "credentials in a directory of your own", dir, (unsigned)st.st_uid,
                        (unsigned)geteuid());
    if (st.st_mode & 022)
        return kv_error(KV_ERR_INVALID, "%s is mode %03o: other users can write to it (and "
                        "replace a key or a certificate); chmod 700 %s, or use a new "
                        "directory", dir, (unsigned)(st.st_mode & 0777), dir);
    return KV_OK;
}

/* The seconds the i-th of n certificates made together is valid (K5). */
static long certs_seconds(int days, size_t i, size_t n)
{
    long whole = (long)days * 86400;
    return whole - (long)((double)whole * (double)i / (double)(PEER_CERT_SPREAD * n));
}

/* The authority: read, or made now (*made) if flags allow it and there
 * is none (K1). */
static int certs_authority(const char *dir, int flags, X509 **ca, EVP_PKEY **ca_key, int *made)
{
    *made = 0;
    if (certs_exists(dir, "ca.key")) { /* K1 */
        *ca = certs_read(dir, "ca.crt", 0);
        *ca_key = *ca != NULL ? certs_read(dir, "ca.key", 1) : NULL;
        return *ca_key != NULL ? KV_OK : KV_ERR_CORRUPT;
    }
    if (!(flags & PEER_CERTS_NEW_AUTHORITY) || certs_exists(dir, "ca.crt"))
        return kv_error(KV_ERR_INVALID, "%s/ca.key is not here%s: a member's certificate must "
                        "be signed by the group's own authority, and a new one would make "
                        "another group.  Run this where ca.key is (the directory that made "
                        "the group), then copy ca.crt, member-ID.crt and member-ID.key to the "
                        "member's host%s", dir,
                        certs_exists(dir, "ca.crt") ? " (ca.crt is: a member's copy)" : "",
                        flags & PEER_CERTS_NEW_AUTHORITY ? "" : "; a new group's authority is "
                        "made by --members N in an empty directory");
    *ca_key = EVP_EC_gen("P-256");
    if (*ca_key == NULL)
        return certs_fail("the group's key");
    char cn[64];
    unsigned char id[8];
    if (RAND_bytes(id, sizeof id) != 1)
        return certs_fail("the group's name");
    snprintf(cn, sizeof cn, "kv-raft-group-%02x%02x%02x%02x%02x%02x%02x%02x", id[0], id[1],
             id[2], id[3], id[4], id[5], id[6], id[7]);
    *ca = certs_sign(*ca_key, cn, NULL, *ca_key, (long)PEER_CA_DAYS * 86400);
    if (*ca == NULL)
        return KV_ERR_IO;
    int rc = certs_write(dir, "ca.key", NULL, *ca_key);
    if (rc == KV_OK)
        rc = certs_write(dir, "ca.crt", *ca, NULL);
    *made = rc == KV_OK;
    return rc;
}

static void certs_names(uint64_t id, char *cn, char *crt, char *key, size_t cap)
{
    snprintf(cn, cap, "%s%llu", PEER_CN_PREFIX, (unsigned long long)id);
    snprintf(crt, cap, "member-%llu.crt", (unsigned long long)id);
    snprintf(key, cap, "member-%llu.key", (unsigned long long)id);
}

/* A key and certificate for member id, valid `seconds`, written. */
static int certs_member(const char *dir, uint64_t id, X509 *ca, EVP_PKEY *ca_key, long seconds)
{
    char cn[64], crt[64], keyname[64];
    certs_names(id, cn, crt, keyname, sizeof cn);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = key != NULL ? certs_sign(key, cn, ca, ca_key, seconds) : NULL;
    int rc = key == NULL ? certs_fail(keyname) : cert == NULL ? KV_ERR_IO : KV_OK;
    if (rc == KV_OK)
        rc = certs_write(dir, keyname, NULL, key);
    if (rc == KV_OK)
        rc = certs_write(dir, crt, cert, NULL);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

int peer_certs_make(const char *dir, const uint64_t *ids, size_t n, int days, int flags,
                    int *made_ca)
{
    *made_ca = 0;
    int rc = peer_certs_dir(dir); /* K3, before anything is written */
    if (rc != KV_OK)
        return rc;
    for (size_t i = 0; i < n; i++) { /* K2: refused before anything is made */
        char cn[64], crt[64], key[64];
        certs_names(ids[i], cn, crt, key, sizeof cn);
        if (ids[i] == 0)
            return kv_error(KV_ERR_INVALID, "member id 0: ids start at 1");
        if (certs_exists(dir, crt) || certs_exists(dir, key))
            return kv_error(KV_ERR_INVALID, "%s/%s is there already: a member's credentials "
                            "are never replaced but by --renew %llu", dir,
                            certs_exists(dir, crt) ? crt : key, (unsigned long long)ids[i]);
    }
    X509 *ca = NULL;
    EVP_PKEY *ca_key = NULL;
    rc = certs_authority(dir, flags, &ca, &ca_key, made_ca);
    for (size_t i = 0; i < n && rc == KV_OK; i++)
        rc = certs_member(dir, ids[i], ca, ca_key, certs_seconds(days, i, n));
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return rc;
}

int peer_certs_renew(const char *dir, const uint64_t *ids, size_t n, int days)
{
    int rc = peer_certs_dir(dir), made = 0;
    if (rc != KV_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        char cn[64], crt[64], key[64];
        certs_names(ids[i], cn, crt, key, sizeof cn);
        if (!certs_exists(dir, crt))
            return kv_error(KV_ERR_INVALID, "%s/%s is not here: --renew makes new credentials "
                            "for a member that has some (a new member's: --ids %llu)", dir, crt,
                            (unsigned long long)ids[i]);
    }
    X509 *ca = NULL;
    EVP_PKEY *ca_key = NULL;
    rc = certs_authority(dir, 0, &ca, &ca_key, &made);
    for (size_t i = 0; i < n && rc == KV_OK; i++)
        rc = certs_member(dir, ids[i], ca, ca_key, certs_seconds(days, i, n));
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return rc;
}

int peer_certs_renew_authority(const char *dir, int days)
{
    int rc = peer_certs_dir(dir), made = 0;
    if (rc != KV_OK)
        return rc;
    X509 *ca = NULL, *again = NULL;
    EVP_PKEY *ca_key = NULL;
    rc = certs_authority(dir, 0, &ca, &ca_key, &made);
    char cn[128] = "";
    if (rc == KV_OK &&
        X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof cn) <= 0)
        rc = kv_error(KV_ERR_CORRUPT, "%s/ca.crt: no common name", dir);
    if (rc == KV_OK && X509_check_private_key(ca, ca_key) != 1)
        rc = kv_error(KV_ERR_INVALID, "%s/ca.key is not the key of %s/ca.crt", dir, dir);
    if (rc == KV_OK) /* the same key and name: the members' certificates chain to it */
        again = certs_sign(ca_key, cn, NULL, ca_key, (long)days * 86400);
    if (rc == KV_OK && again == NULL)
        rc = KV_ERR_IO;
    if (rc == KV_OK)
        rc = certs_write(dir, "ca.crt", again, NULL);
    X509_free(again);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    ERR_clear_error();
    return rc;
}
