/*
 * member_note_fuzz.c: fuzz harness for stage 10's member note
 * (stages/10-raft/replica/member_note.h), the log entry that carries
 * members' client addresses to every member.  It needs no engine: the
 * Makefile builds it once, under the name "replica".
 *
 * The input is a note's bytes.  member_note_parse either refuses them
 * (KV_ERR_CORRUPT, a message naming an offset) or accepts them; then the
 * harness aborts unless every member has an id that is not 0 and an
 * address member_addr_valid takes, and member_note_encode gives back the
 * input byte for byte; and the encoder refuses (0) what breaks its
 * bounds: the note in a buffer one byte short or shorter than the
 * header, with no member, more than MEMBER_NOTE_MAX, a member's id 0 or
 * its address not HOST:PORT.  member_addr_valid of the whole input must
 * answer as M2 reads it again here (member_note_fuzz_addr).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "member_note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* M2, read again from member_note.h: 1..MEMBER_ADDR_MAX printable bytes
 * (33..126), the last ':' neither first nor last, then 1..5 digits. */
static int member_note_fuzz_addr(const uint8_t *a, size_t n)
{
    if (n == 0 || n > MEMBER_ADDR_MAX)
        return 0;
    size_t colon = n;
    for (size_t i = 0; i < n; i++) {
        if (a[i] <= ' ' || a[i] >= 127)
            return 0;
        colon = a[i] == ':' ? i : colon;
    }
    if (colon == 0 || colon >= n - 1 || n - colon - 1 > 5) /* n - 1: no port; n: no colon */
        return 0;
    for (size_t i = colon + 1; i < n; i++)
        if (a[i] < '0' || a[i] > '9')
            return 0;
    return 1;
}

/* The encoder's refusals: each bound broken alone gives 0. */
static void member_note_fuzz_refusals(const member_note *note, size_t len)
{
    uint8_t out[MEMBER_NOTE_HEADER + MEMBER_NOTE_MAX * (9 + MEMBER_ADDR_MAX) + 8];
    if (member_note_encode(note, out, len - 1) != 0 ||
        member_note_encode(note, out, MEMBER_NOTE_HEADER - 1) != 0)
        abort(); /* a buffer too short */
    member_note bad = *note;
    bad.n = 0;
    if (member_note_encode(&bad, out, sizeof out) != 0)
        abort(); /* no member */
    bad.n = MEMBER_NOTE_MAX + 1;
    if (member_note_encode(&bad, out, sizeof out) != 0)
        abort(); /* more than MEMBER_NOTE_MAX */
    bad = *note;
    bad.id[note->n - 1] = 0;
    if (member_note_encode(&bad, out, sizeof out) != 0)
        abort(); /* an id 0 */
    bad = *note;
    strcpy(bad.addr[note->n - 1], "no-port:");
    if (member_note_encode(&bad, out, sizeof out) != 0)
        abort(); /* an address that is not HOST:PORT */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (member_addr_valid((const char *)data, size) != member_note_fuzz_addr(data, size))
        abort(); /* M2 */
    member_note note;
    if (member_note_parse(data, size, &note) != KV_OK) {
        const char *msg = kv_errmsg();
        if (msg == NULL || strstr(msg, "offset") == NULL)
            abort(); /* a refusal must say where */
        return 0;
    }
    if (note.n == 0 || note.n > MEMBER_NOTE_MAX)
        abort();
    for (unsigned i = 0; i < note.n; i++)
        if (note.id[i] == 0 || !member_addr_valid(note.addr[i], strlen(note.addr[i])))
            abort();
    uint8_t again[MEMBER_NOTE_HEADER + MEMBER_NOTE_MAX * (9 + MEMBER_ADDR_MAX) + 8];
    size_t len = member_note_encode(&note, again, sizeof again);
    if (len != size || memcmp(again, data, size) != 0)
        abort(); /* what parses is exactly what the encoder writes */
    member_note_fuzz_refusals(&note, len);
    return 0;
}
