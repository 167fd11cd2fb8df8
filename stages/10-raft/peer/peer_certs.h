/*
 * peer_certs.h: a group's credentials made (`kv DIR certs`, and `kv DIR
 * cluster` for a new group), with OpenSSL's C API: a certificate
 * authority of the group's own, and for each member a key and a
 * certificate that the authority signs and that names the member's Raft
 * id (peer_tls.h says what the files are, and how a member checks them).
 *
 * Keys are ECDSA P-256; certificates X.509 v3, SHA-256, valid from an
 * hour ago (clocks a little apart) for `days` days.  The authority's is
 * a CA (basicConstraints CA:TRUE, keyCertSign); a member's is not, and is
 * for both ends of a connection (extendedKeyUsage serverAuth,
 * clientAuth), since a member both connects and accepts.
 *
 * Invariants:
 *   K1. An existing ca.key is used, never replaced: members added later
 *       get certificates of the same group.  A new authority is made
 *       only when asked (PEER_CERTS_NEW_AUTHORITY) and only in a
 *       directory that holds neither ca.crt nor ca.key; without ca.key,
 *       nothing is made and the error says what is needed.
 *   K2. A member's existing certificate or key is never overwritten,
 *       except by a renewal (peer_certs_renew), which replaces both.
 *   K3. No other user can read a private key at any instant: the
 *       directory is made 0700 before anything is written in it, and
 *       each key file is created 0600 (io_replace_private); a directory
 *       that another user may write to (or that another user owns) is
 *       refused before anything is made.
 *   K4. Each file is written whole or not at all (io_replace).
 *   K5. Members' certificates made together do not expire together: the
 *       i-th of n is valid days x (1 - i / (PEER_CERT_SPREAD x n)), so
 *       that their renewals spread over the last tenth of their lives.
 */
#ifndef KV_RAFT_PEER_CERTS_H
#define KV_RAFT_PEER_CERTS_H

#include <stddef.h>
#include <stdint.h>

#define PEER_CERT_DAYS 365       /* a member's certificate */
#define PEER_CA_DAYS 3650        /* the authority's */
#define PEER_CERT_SPREAD 10      /* K5 */

enum { PEER_CERTS_NEW_AUTHORITY = 1 };

/* Makes dir (0700) if missing, or checks an existing one (K3).  KV_OK, or
 * KV_ERR_INVALID naming its owner or mode. */
int peer_certs_dir(const char *dir);

/* Makes the authority if flags allow it and dir has none (K1), and
 * member-ID.crt and .key for each of ids[0..n), valid `days` days (K5).
 * *made_ca says whether the authority was made now.  KV_OK, or an error
 * with kv_errmsg() naming the file (a member's files already there:
 * KV_ERR_INVALID, K2; no ca.key: KV_ERR_INVALID, K1; nothing is made
 * then). */
int peer_certs_make(const char *dir, const uint64_t *ids, size_t n, int days, int flags,
                    int *made_ca);

/* A new key and certificate, signed by ca.key, for each member of
 * ids[0..n) that has credentials in dir (replaced: the member reloads
 * them, docs/10-raft-security.md "Who may talk to a member").  KV_OK or an error
 * (nothing replaced for a member whose files were not all made). */
int peer_certs_renew(const char *dir, const uint64_t *ids, size_t n, int days);

/* ca.crt made again for the same key (ca.key) and name, valid `days`
 * days from now: every member's certificate stays valid under it.
 * KV_OK or an error. */
int peer_certs_renew_authority(const char *dir, int days);

#endif
