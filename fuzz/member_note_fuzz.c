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
 * input byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "member_note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
    return 0;
}
