/*
 * current_file.c: CURRENT and the manifests' names (current_file.h).
 */
#include "current_file.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "io.h"
#include "kv.h"

char *manifest_file_name(char name[MANIFEST_NAME_MAX], uint64_t number)
{
    snprintf(name, MANIFEST_NAME_MAX, MANIFEST_NAME_PREFIX "%06" PRIu64, number);
    return name;
}

/* The number in the name at [p, p + n): "MANIFEST-" then digits, exactly
 * as manifest_file_name writes them.  1 or 0. */
static int manifest_name_parse(const char *p, size_t n, uint64_t *number)
{
    const size_t plen = sizeof MANIFEST_NAME_PREFIX - 1;
    if (n <= plen || n >= MANIFEST_NAME_MAX || memcmp(p, MANIFEST_NAME_PREFIX, plen) != 0)
        return 0;
    uint64_t v = 0;
    for (size_t i = plen; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    char canonical[MANIFEST_NAME_MAX];
    manifest_file_name(canonical, v);
    if (v == 0 || strlen(canonical) != n || memcmp(canonical, p, n) != 0)
        return 0;
    *number = v;
    return 1;
}

int manifest_file_number(const char *name, uint64_t *number)
{
    return manifest_name_parse(name, strlen(name), number);
}

size_t current_line_encode(char out[CURRENT_MAX_BYTES], uint64_t number)
{
    char name[MANIFEST_NAME_MAX];
    size_t n = strlen(manifest_file_name(name, number));
    char line[CURRENT_MAX_BYTES + 1];
    int len = snprintf(line, sizeof line, "%s" CURRENT_CRC_TAG "%08" PRIx32 "\n", name,
                       crc32c_value(name, n));
    memcpy(out, line, (size_t)len);
    return (size_t)len;
}

int current_line_decode(const uint8_t *p, size_t n, const char *path, uint64_t *number)
{
    const char *s = (const char *)p;
    if (n == 0)
        return kv_error(KV_ERR_CORRUPT, "%s: offset 0: empty; it should name the manifest "
                        "(\"MANIFEST-000001" CURRENT_CRC_TAG "...\")", path);
    if (n > CURRENT_MAX_BYTES)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %u: %zu bytes, longer than any line "
                        "naming a manifest (%u bytes at most)", path, CURRENT_MAX_BYTES, n,
                        CURRENT_MAX_BYTES);
    const char *space = memchr(s, ' ', n);
    size_t name_len = space ? (size_t)(space - s) : n;
    uint64_t v;
    if (!manifest_name_parse(s, name_len, &v))
        return kv_error(KV_ERR_CORRUPT, "%s: offset 0: does not start with a manifest's name "
                        "(\"MANIFEST-\" and a number of at least 6 digits, then a space)",
                        path);
    const size_t tag = sizeof CURRENT_CRC_TAG - 1;
    size_t at = name_len;
    if (n - at < tag + 8 || memcmp(s + at, CURRENT_CRC_TAG, tag) != 0)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu: \"" CURRENT_CRC_TAG "\" and 8 hex "
                        "digits should follow the name", path, at);
    at += tag;
    uint32_t crc = 0;
    for (size_t i = 0; i < 8; i++) {
        char c = s[at + i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16;
        if (d == 16)
            return kv_error(KV_ERR_CORRUPT, "%s: offset %zu: the checksum should be 8 "
                            "lowercase hex digits", path, at + i);
        crc = crc << 4 | d;
    }
    at += 8;
    if (at + 1 != n || s[at] != '\n')
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu: the line should end here with a "
                        "newline (%zu bytes follow the checksum)", path, at, n - at);
    uint32_t want = crc32c_value(s, name_len);
    if (crc != want)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu: checksum %08" PRIx32 ", but the "
                        "name's bytes give %08" PRIx32 ": CURRENT was damaged or edited",
                        path, name_len + tag, crc, want);
    *number = v;
    return KV_OK;
}

int current_file_write(const char *dir, uint64_t number, int *renamed)
{
    char line[CURRENT_MAX_BYTES];
    size_t n = current_line_encode(line, number);
    /* Steps 1 to 3: CURRENT.tmp written and synced, renamed, the
     * directory synced (the commit point). */
    int rc = io_replace(dir, CURRENT_FILE_NAME, line, n, renamed);
    if (rc != KV_OK)
        kv_error_append(" (switching %s/%s to MANIFEST-%06" PRIu64 ")", dir, CURRENT_FILE_NAME,
                        number);
    return rc;
}

int current_file_read(const char *dir, uint64_t *number)
{
    char *path = io_join(dir, CURRENT_FILE_NAME);
    if (path == NULL)
        return KV_ERR_NOMEM;
    int exists = 0;
    int rc = io_exists(path, &exists);
    if (rc == KV_OK && !exists)
        rc = kv_error(KV_ERR_CORRUPT, "%s: missing: a stage-06 database names its manifest "
                      "in CURRENT, and this directory has none", path);
    io_file *f = NULL;
    uint64_t size = 0;
    uint8_t buf[CURRENT_MAX_BYTES];
    size_t got = 0;
    if (rc == KV_OK)
        rc = io_open(path, IO_READ, &f);
    if (rc == KV_OK)
        rc = io_size(f, &size);
    if (rc == KV_OK && size > CURRENT_MAX_BYTES)
        rc = kv_error(KV_ERR_CORRUPT, "%s: offset %u: %" PRIu64 " bytes, longer than any line "
                      "naming a manifest (%u bytes at most)", path, CURRENT_MAX_BYTES, size,
                      CURRENT_MAX_BYTES);
    if (rc == KV_OK)
        rc = io_read_at(f, 0, buf, (size_t)size, &got);
    if (rc == KV_OK)
        rc = current_line_decode(buf, got, path, number);
    io_close(f);
    free(path);
    return rc;
}
