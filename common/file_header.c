/*
 * file_header.c: the 16-byte header of every data file (file_header.h).
 */
#include "file_header.h"

#include <stdio.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"
#include "kv.h"

/* Every format the project writes, and how a message names it. */
static const struct {
    const char *magic;
    const char *what;
} file_header_kinds[] = {
    {FILE_MAGIC_LOG01, "a stage-01 log (data.log)"},
    {FILE_MAGIC_SEG02, "a stage-02 segment"},
    {FILE_MAGIC_WAL03, "a stage-03 log segment"},
    {FILE_MAGIC_TBL04, "a stage-04 table"},
    {FILE_MAGIC_EXPORT, "an export stream (kv DIR export)"},
    {FILE_MAGIC_LOG04, "a stage-04 log"},
    {FILE_MAGIC_TBL05, "a stage-05 table"},
    {FILE_MAGIC_MAN06, "a stage-06 manifest"},
    {FILE_MAGIC_STA04, "a STATS file (counters kept across sessions)"},
    {FILE_MAGIC_VLC08, "a VLOGCOUNTS file (the value log's counts)"},
};

void file_header_encode(uint8_t out[FILE_HEADER_SIZE], const char *magic, uint32_t version)
{
    memcpy(out, magic, FILE_MAGIC_SIZE);
    coding_put_u32(out + 8, version);
    coding_put_u32(out + 12, crc32c_value(out, 12));
}

const char *file_header_describe(const uint8_t *magic)
{
    for (size_t i = 0; i < sizeof file_header_kinds / sizeof file_header_kinds[0]; i++)
        if (memcmp(magic, file_header_kinds[i].magic, FILE_MAGIC_SIZE) == 0)
            return file_header_kinds[i].what;
    return NULL;
}

int file_header_check(const char *path, const uint8_t *p, size_t n, const char *magic,
                      uint32_t version)
{
    const char *want = file_header_describe((const uint8_t *)magic);
    if (want == NULL)
        want = magic;
    if (n < FILE_HEADER_SIZE)
        return kv_error(KV_ERR_CORRUPT,
                        "%s: offset 0: %zu bytes, too short for the %u-byte header of %s",
                        path, n, FILE_HEADER_SIZE, want);
    if (memcmp(p, magic, FILE_MAGIC_SIZE) != 0) {
        const char *is = file_header_describe(p);
        if (is != NULL)
            return kv_error(KV_ERR_CORRUPT, "%s: offset 0: this file is %s, not %s", path,
                            is, want);
        char shown[FILE_MAGIC_SIZE * 4 + 1];
        size_t k = 0;
        for (size_t i = 0; i < FILE_MAGIC_SIZE; i++) {
            if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
                shown[k++] = (char)p[i];
            else
                k += (size_t)snprintf(shown + k, sizeof shown - k, "\\x%02x", p[i]);
        }
        shown[k] = '\0';
        return kv_error(KV_ERR_CORRUPT,
                        "%s: offset 0: unknown magic \"%s\": not %s (a file of this "
                        "project starts with its format's magic)",
                        path, shown, want);
    }
    uint32_t crc = coding_get_u32(p + 12);
    if (crc != crc32c_value(p, 12))
        return kv_error(KV_ERR_CORRUPT,
                        "%s: offset 12: header checksum is %08x, the header's bytes give "
                        "%08x",
                        path, crc, crc32c_value(p, 12));
    uint32_t got = coding_get_u32(p + 8);
    if (got != version)
        return kv_error(KV_ERR_CORRUPT,
                        "%s: offset 8: %s in format version %u; this build reads "
                        "version %u",
                        path, want, got, version);
    return KV_OK;
}
