/*
 * peer_hello_fuzz.c: fuzz harness for what members say to each other
 * outside libraft's messages (stages/10-raft/peer/peer_hello.h): the
 * opening, the hello, a probe's answer, and a confirm link's ask or
 * answer.  It needs no engine: the Makefile builds it once, under the
 * name "replica".
 *
 * The input's first byte says which of the four the rest is.  Each
 * decoder either refuses it (KV_ERR_CORRUPT, naming an offset or the
 * length) or accepts it, and then the encoder must give back the input
 * byte for byte: what decodes is exactly what a member writes (an opening
 * of a member id, not 0, in one of the two modes).  A hello's head, read
 * first by a connection, gives a length its buffer holds (a head and an
 * address of 1..PEER_ADDR_MAX bytes), or 0, and a hello that decodes is
 * as long as its head says; the hello encoder refuses (0) a buffer one
 * byte short and an empty address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "peer_hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned which = data[0] % 4;
    data++;
    size--;
    uint8_t again[PEER_HELLO_HEAD + PEER_ADDR_MAX + PEER_OPENING + PEER_ANSWER + PEER_CONFIRM];
    int rc;
    if (which == 0) {
        peer_opening o;
        if (size != PEER_OPENING)
            return 0;
        if ((rc = peer_opening_decode(data, &o)) == KV_OK) {
            peer_opening_encode(&o, again);
            if (memcmp(again, data, PEER_OPENING) != 0 || o.id == 0 ||
                (o.mode != PEER_MODE_PLAIN && o.mode != PEER_MODE_TLS))
                abort(); /* a member id, not 0; a mode of the two */
        }
    } else if (which == 1) {
        peer_hello h;
        /* What a connection reads first: the head, whose length says how
         * many bytes to wait for (into a buffer of PEER_HELLO_HEAD +
         * PEER_ADDR_MAX), then the hello. */
        size_t want = size >= PEER_HELLO_HEAD ? peer_hello_length(data) : 0;
        if (want > PEER_HELLO_HEAD + PEER_ADDR_MAX || (want != 0 && want <= PEER_HELLO_HEAD))
            abort(); /* a length the reader's buffer holds, a head and an address */
        if ((rc = peer_hello_decode(data, size, &h)) == KV_OK) {
            size_t n = peer_hello_encode(&h, again, sizeof again);
            if (n != size || memcmp(again, data, size) != 0 || want != size ||
                h.kind != data[0] || strlen(h.addr) != size - PEER_HELLO_HEAD)
                abort();
            if (peer_hello_encode(&h, again, size - 1) != 0)
                abort(); /* a buffer one byte short */
            h.addr[0] = '\0';
            if (peer_hello_encode(&h, again, sizeof again) != 0)
                abort(); /* an empty address */
        }
    } else if (which == 3) {
        peer_confirm_msg c;
        if (size != PEER_CONFIRM)
            return 0;
        if ((rc = peer_confirm_decode(data, &c)) == KV_OK) {
            if (c.round == 0 || (c.kind == PEER_CONFIRM_ASK && c.term == 0))
                abort(); /* what a member acts on is never a round 0, nor an ask in term 0 */
            peer_confirm_encode(&c, again);
            if (memcmp(again, data, PEER_CONFIRM) != 0)
                abort();
        }
    } else {
        peer_answer a;
        if (size != PEER_ANSWER)
            return 0;
        if ((rc = peer_answer_decode(data, &a)) == KV_OK) {
            peer_answer_encode(&a, again);
            if (memcmp(again, data, PEER_ANSWER) != 0)
                abort();
        }
    }
    if (rc != KV_OK && rc != KV_ERR_CORRUPT)
        abort();
    return 0;
}
