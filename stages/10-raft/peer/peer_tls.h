/*
 * peer_tls.h: mutual TLS between the members of a group, over bytes this
 * module neither sends nor receives itself (OpenSSL's memory BIOs): the
 * connection (peer_conn.c) feeds it what the network brought and sends
 * what it gives back, so it runs on the member's libuv loop as plain
 * function calls.
 *
 * The group's credentials (peer_certs.h makes them) are a directory:
 *   ca.crt            the group's certificate authority (or several, one
 *                     after the other: a group moving to a new one trusts
 *                     both for a while)
 *   member-ID.crt     member ID's certificate, signed by it, whose
 *                     subject's common name is "kv-raft-member-ID"
 *   member-ID.key     its private key
 * (and ca.key, which only peer_certs needs, to sign certificates for new
 * members).
 *
 * Invariants:
 *   T1. TLS 1.3 only, and only a certificate the group's CA signed
 *       (directly: no intermediate) is accepted, from either side: the
 *       side that connects checks the one that accepts too.
 *   T3. Credentials are opened only while every certificate of them is
 *       valid (not expired, and not valid only later): a member refuses
 *       to start on any other, naming the file and the date.
 *   T2. A session is "proved" only once its handshake is done and the
 *       peer's certificate names a member id (peer_tls_peer_id); what it
 *       claims besides (the opening's id, the id libraft asked to reach)
 *       the connection compares with that.
 *   T4. A session whose handshake is not done holds at most PEER_TLS_HOLD
 *       bytes of memory, as long as it is given at most PEER_TLS_FEED
 *       bytes from the network between two calls of peer_tls_handshake:
 *       its record buffers are freed whenever they are empty until the
 *       handshake is done, and the peer's certificate message may not
 *       pass PEER_TLS_CERT_MAX (a member's, one P-256 key signed once,
 *       is far smaller).
 *       peer_tls_test.c measures what such sessions hold.
 */
#ifndef KV_RAFT_PEER_TLS_H
#define KV_RAFT_PEER_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PEER_CN_PREFIX "kv-raft-member-"
#define PEER_TLS_FEED 4096u           /* T4: network bytes given at a time, at most */
#define PEER_TLS_CERT_MAX (12u << 10) /* T4: the peer's certificate message, at most */
#define PEER_TLS_HOLD (80u << 10)     /* T4: a session's memory before its handshake is done */

typedef struct peer_tls_ctx peer_tls_ctx;
typedef struct peer_tls peer_tls;

/* The credentials of member `id` in dir.  KV_OK and *out, or an error
 * with kv_errmsg() naming the file and what is wrong with it (missing,
 * not PEM, expired or not valid yet and the date (T3), not signed by
 * ca.crt, naming another member, a key that does not match). */
int  peer_tls_ctx_open(const char *dir, uint64_t id, peer_tls_ctx **out);
void peer_tls_ctx_free(peer_tls_ctx *ctx);

/* When the credentials stop working: the certificate of them (the
 * member's, or an authority's) that expires first. */
typedef struct peer_tls_expiry {
    time_t not_before, not_after;   /* its dates */
    char file[32];                  /* "member-2.crt" or "ca.crt" */
} peer_tls_expiry;
void peer_tls_ctx_expiry(const peer_tls_ctx *ctx, peer_tls_expiry *out);
/* "2027-01-02 03:04:05 UTC" into buf. */
void peer_tls_date(time_t t, char *buf, size_t cap);

/* A session: the side that accepts (server 1) or connects (0). */
int  peer_tls_new(peer_tls_ctx *ctx, int server, peer_tls **out);
void peer_tls_free(peer_tls *t);
/* Bytes that came from the network.  KV_OK or KV_ERR_NOMEM. */
int  peer_tls_put(peer_tls *t, const void *p, size_t n);
/* Goes on with the handshake: 1 done, 0 it needs more bytes from the
 * network, -1 failed (kv_errmsg says why: the peer's certificate, the
 * protocol). */
int  peer_tls_handshake(peer_tls *t);
/* The id the peer's certificate names (after the handshake), or 0. */
uint64_t peer_tls_peer_id(const peer_tls *t);
/* Plain bytes from the peer into buf[0..cap): how many, 0 if none yet,
 * -1 if the peer closed the session or it failed (kv_errmsg). */
long peer_tls_read(peer_tls *t, void *buf, size_t cap);
/* Plain bytes to send to the peer (encrypted into the session's output).
 * KV_OK, or KV_ERR_IO (kv_errmsg). */
int  peer_tls_write(peer_tls *t, const void *p, size_t n);
/* Bytes the session has for the network: how many were copied into
 * buf[0..cap) (0: none). */
size_t peer_tls_take(peer_tls *t, void *buf, size_t cap);

/* The member id a certificate's common name gives ("kv-raft-member-ID",
 * ID from 1, no leading zero), or 0. */
uint64_t peer_tls_id_of_cn(const char *cn);

#endif
