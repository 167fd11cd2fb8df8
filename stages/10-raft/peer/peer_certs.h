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
 *       get certificates of the same group.  A new group is a new
 *       directory (a new authority).
 *   K2. A member's existing certificate or key is never overwritten.
 *   K3. The directory is made private (mode 0700) and every key file is
 *       0600; each file is written whole or not at all (io_replace).
 */
#ifndef KV_RAFT_PEER_CERTS_H
#define KV_RAFT_PEER_CERTS_H

#include <stddef.h>
#include <stdint.h>

#define PEER_CERT_DAYS 3650

/* Makes dir (if missing), ca.crt and ca.key (if missing), and
 * member-ID.crt and .key for each of ids[0..n).  *made_ca says whether
 * the authority was made now.  KV_OK, or an error with kv_errmsg()
 * naming the file (a member's files already there: KV_ERR_INVALID, K2;
 * nothing is made then). */
int peer_certs_make(const char *dir, const uint64_t *ids, size_t n, int days, int *made_ca);

#endif
