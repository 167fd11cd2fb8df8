/*
 * peer_hello.h: how one member's connection to another begins, before
 * any of libraft's messages, and what the two links libraft never sees
 * carry: a probe's answer and a confirm link's messages (docs/10-raft-security.md,
 * "Who may talk to a member", has the byte tables).  All integers little-endian.
 *
 * First, in the clear, the opening (PEER_OPENING bytes), so that the
 * member that accepts knows who claims to connect, and how, before it
 * spends a TLS handshake on it (and a proxy in the tests can tell one
 * link from another):
 *
 *   offset  size  field
 *   0       6     "kvpeer"
 *   6       1     version, 1
 *   7       1     mode: 0 plain (--raft-insecure), 1 TLS
 *   8       8     the connecting member's Raft id, not 0
 *
 * Then, in TLS mode, the TLS 1.3 handshake, each side proving its
 * certificate; then, inside it (or in the clear in plain mode), the
 * hello (PEER_HELLO_HEAD bytes and the address):
 *
 *   0       1     kind: 1 Raft (libraft's messages follow), 2 probe,
 *                 3 confirm (a leader's confirm link: peer_transport.h)
 *   1       1     0 (reserved)
 *   2       2     A, the address's length, 1..PEER_ADDR_MAX
 *   4       A     the connecting member's Raft address, HOST:PORT
 *
 * A probe (kind 2) asks what the member that accepts holds; its answer
 * (PEER_ANSWER bytes), after which the connection closes:
 *
 *   0       1     1 if it holds a Raft log, 0 if it has none yet
 *   1       1     the asker's role in its configuration: 0 standby,
 *                 1 voter, 2 spare, 255 not in it (libraft's RAFT_*)
 *   2       6     0 (reserved)
 *   8       8     its log's last index
 *   16      8     its current term
 *
 * On a confirm link (kind 3), the member that connected (a leader) asks,
 * and the one that accepted answers, each message PEER_CONFIRM bytes:
 *
 *   0       1     1 ask (the leader's), 2 answer
 *   1       7     0 (reserved)
 *   8       8     the round, not 0: an answer repeats its ask's
 *   16      8     a term: the asker's current one (not 0), or the
 *                 answerer's current one when it answered
 *
 * Each decoder looks only inside [p, p + len) and refuses, with
 * KV_ERR_CORRUPT and kv_errmsg() naming the offset and what it found,
 * anything the encoder would not write.
 */
#ifndef KV_RAFT_PEER_HELLO_H
#define KV_RAFT_PEER_HELLO_H

#include <stddef.h>
#include <stdint.h>

#define PEER_OPENING 16u
#define PEER_VERSION 1u
#define PEER_HELLO_HEAD 4u
#define PEER_ADDR_MAX 255u
#define PEER_ANSWER 24u
#define PEER_CONFIRM 24u

enum { PEER_MODE_PLAIN = 0, PEER_MODE_TLS = 1 };
enum { PEER_KIND_RAFT = 1, PEER_KIND_PROBE = 2, PEER_KIND_CONFIRM = 3 };
enum { PEER_CONFIRM_ASK = 1, PEER_CONFIRM_ANSWER = 2 };
#define PEER_ROLE_NONE 255u

typedef struct peer_opening {
    unsigned mode;       /* PEER_MODE_* */
    uint64_t id;         /* the connecting member's */
} peer_opening;

typedef struct peer_hello {
    unsigned kind;                  /* PEER_KIND_* */
    char addr[PEER_ADDR_MAX + 1];   /* NUL-terminated */
} peer_hello;

typedef struct peer_confirm_msg {
    unsigned kind;       /* PEER_CONFIRM_ASK or _ANSWER */
    uint64_t round;
    uint64_t term;
} peer_confirm_msg;

typedef struct peer_answer {
    int has_log;
    unsigned role;       /* of the asker, in the answerer's configuration */
    uint64_t last_index, term;
} peer_answer;

/* Writes the opening into out[0..PEER_OPENING). */
void peer_opening_encode(const peer_opening *o, uint8_t out[PEER_OPENING]);
/* Checks p[0..PEER_OPENING).  KV_OK, or KV_ERR_CORRUPT. */
int  peer_opening_decode(const uint8_t p[PEER_OPENING], peer_opening *o);

/* Writes the hello into out[0..cap): its length, or 0 if it does not fit
 * or its address is empty or longer than PEER_ADDR_MAX. */
size_t peer_hello_encode(const peer_hello *h, uint8_t *out, size_t cap);
/* The hello's length once its head p[0..PEER_HELLO_HEAD) is known, or 0
 * if the head is already wrong (then peer_hello_decode says why). */
size_t peer_hello_length(const uint8_t p[PEER_HELLO_HEAD]);
/* Checks p[0..len), a whole hello.  KV_OK, or KV_ERR_CORRUPT. */
int  peer_hello_decode(const uint8_t *p, size_t len, peer_hello *h);

void peer_answer_encode(const peer_answer *a, uint8_t out[PEER_ANSWER]);
int  peer_answer_decode(const uint8_t p[PEER_ANSWER], peer_answer *a);

void peer_confirm_encode(const peer_confirm_msg *c, uint8_t out[PEER_CONFIRM]);
int  peer_confirm_decode(const uint8_t p[PEER_CONFIRM], peer_confirm_msg *c);

#endif
