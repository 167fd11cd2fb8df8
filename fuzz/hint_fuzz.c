/*
 * hint_fuzz.c: fuzz harness for stage 02's hint files (hint.h).
 *
 * The input is written as a hint file and read back with hint_load, for the
 * segment id and size its own header names, so inputs that get those right
 * reach the entry decoder.  The harness first makes the trailer's checksum
 * right (it recomputes it over the input), or almost every mutation would
 * stop there.  Every entry handed out must lie inside the segment, in order,
 * end to end from offset 16 (after the segment's header), with a key length and record size that fit each other; the
 * decoder must never read outside the bytes it loaded (ASan checks that).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../stages/02-hash/segments/hint.h"
#include "../stages/02-hash/segments/segment.h"
#include "coding.h"
#include "crc32c.h"
#include "kv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct hint_fuzz_state {
    uint64_t seg_bytes, next_offset, entries;
} hint_fuzz_state;

static void hint_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "hint fuzz invariant broken: %s\n", what);
        abort();
    }
}

static int hint_fuzz_entry(void *ctx, const uint8_t *key, size_t klen, uint64_t offset,
                           uint32_t size)
{
    hint_fuzz_state *st = ctx;
    (void)key;
    hint_fuzz_check(klen >= 1 && klen <= KV_MAX_KEY, "key length out of range");
    hint_fuzz_check(size >= 10 + klen && size - 10 - klen <= KV_MAX_VALUE, "record size");
    hint_fuzz_check(offset == st->next_offset, "records not end to end");
    hint_fuzz_check(offset + size <= st->seg_bytes, "record outside the segment");
    st->next_offset += size;
    st->entries++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (path[0] == '\0') {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/kvhintfuzz.XXXXXX",
                 tmp && strlen(tmp) < 40 ? tmp : "/tmp");
        int fd = mkstemp(path);
        hint_fuzz_check(fd >= 0, "mkstemp");
        close(fd);
    }
    uint8_t *buf = malloc(size ? size : 1);
    hint_fuzz_check(buf != NULL, "malloc");
    memcpy(buf, data, size);
    if (size >= HINT_HEADER + HINT_TRAILER)
        coding_put_u32(buf + size - 4, crc32c_value(buf, size - 4));
    FILE *f = fopen(path, "wb");
    hint_fuzz_check(f != NULL, "create the input file");
    hint_fuzz_check(size == 0 || fwrite(buf, 1, size, f) == size, "write the input file");
    fclose(f);

    /* The records a hint describes start after the segment's header. */
    hint_fuzz_state st = {.next_offset = SEGMENT_START};
    uint32_t id = size >= 16 ? coding_get_u32(buf + 12) : 1;
    st.seg_bytes = size >= 24 ? coding_get_u64(buf + 16) : 0;
    if (hint_load(path, id, st.seg_bytes, hint_fuzz_entry, &st, NULL) == KV_OK) {
        hint_fuzz_check(st.next_offset == st.seg_bytes, "records do not cover the segment");
        hint_fuzz_check(st.entries == coding_get_u64(buf + size - HINT_TRAILER),
                        "entry count");
    }
    free(buf);
    unlink(path);
    return 0;
}
