/*
 * current_fuzz.c: fuzz harness for stage 06's CURRENT file alone
 * (stages/06-leveled/manifest/current_file.h).
 *
 * The input is the whole file: no newline splits it, so a line that ends
 * exactly at the input's end, one byte short of its newline, is as easy to
 * make as any other (the manifest harness, fuzz/manifest_fuzz.c, gives
 * CURRENT its input up to the first newline, and hardly ever ends a line
 * there).  It is decoded as it is and, when it starts with a manifest's
 * name and the checksum's tag, with the checksum made right (the crc32c of
 * the name written in its 8 hex digits, where the input has room for
 * them), so that mutations of the name and of what follows the digits get
 * past the checksum.  Each copy is exactly its size (ASan sees a read past
 * it).  The harness checks:
 *   - current_line_decode returns KV_OK or KV_ERR_CORRUPT, nothing else;
 *   - a line that decodes is byte for byte the one current_line_encode
 *     writes for its number (the format has one spelling), and its number
 *     is at least 1;
 *   - the same bytes as DIR/CURRENT (in memory, common/io_mem.h), read by
 *     current_file_read, get the same verdict and number;
 *   - the name the line starts with (up to its first space), as a file
 *     name, is a manifest's for manifest_file_number only if it is what
 *     manifest_file_name writes for its number, and is one, with the
 *     line's number, when the line decodes;
 *   - one input in sixteen (every one in a replay), the I/O layer failing
 *     each call in turn (io_fault, common/io_fault.h): current_file_read
 *     answers the failure's error (with a message, never KV_ERR_CORRUPT)
 *     or what it answers with none failing; current_file_write of the next
 *     number over a line that decodes answers KV_OK only if no call
 *     failed, else the error with a message, and CURRENT then names the
 *     new manifest exactly when the rename was made.
 * A broken promise aborts (this is a test program).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "current_file.h"
#include "fuzz_dbfile.h"
#include "fuzz_faults.h"
#include "io_fault.h"
#include "io_mem.h"
#include "kv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void current_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "current fuzz invariant broken: %s\n", what);
        abort();
    }
}

/* Decodes [p, p + n) both ways and checks the promises. */
static void current_fuzz_run(const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1); /* exactly the line: ASan sees overreads */
    current_fuzz_check(copy != NULL, "allocate");
    memcpy(copy, p, n);
    uint64_t number = 0;
    int rc = current_line_decode(copy, n, "CURRENT", &number);
    current_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT, "decode: KV_OK or KV_ERR_CORRUPT");
    if (rc == KV_OK) {
        char again[CURRENT_MAX_BYTES];
        size_t len = current_line_encode(again, number);
        current_fuzz_check(number >= 1, "a manifest's number is at least 1");
        current_fuzz_check(len == n && memcmp(again, copy, n) == 0,
                           "a line that decodes is the one current_line_encode writes");
    }
    free(copy);

    /* The name (up to the first space) as a file name: manifest_file_number
     * (how a directory's listing finds manifests) takes exactly the names
     * manifest_file_name writes, and the name of a line that decodes. */
    const uint8_t *space = memchr(p, ' ', n);
    size_t name_len = space ? (size_t)(space - p) : n;
    if (name_len < MANIFEST_NAME_MAX && memchr(p, 0, name_len) == NULL) {
        char name[MANIFEST_NAME_MAX], canonical[MANIFEST_NAME_MAX];
        memcpy(name, p, name_len);
        name[name_len] = '\0';
        uint64_t named = 0;
        int is_manifest = manifest_file_number(name, &named);
        current_fuzz_check(!is_manifest || (named >= 1 &&
                                            strcmp(manifest_file_name(canonical, named), name) == 0),
                           "manifest_file_number: a name manifest_file_name writes");
        current_fuzz_check(rc != KV_OK || (is_manifest && named == number),
                           "manifest_file_number: the number of the name a line gives");
    }

    fuzz_dbfile_mem_reset();
    current_fuzz_check(io_mem_put(FUZZ_DBFILE_DIR "/" CURRENT_FILE_NAME, p, n) == 0,
                       "write CURRENT");
    uint64_t read_number = 0;
    int read_rc = current_file_read(FUZZ_DBFILE_DIR, &read_number);
    current_fuzz_check(read_rc == rc, "current_file_read: the decoder's verdict");
    current_fuzz_check(rc != KV_OK || read_number == number, "current_file_read: its number");
}

/* The same bytes as DIR/CURRENT read by current_file_read with each of its
 * calls of the I/O layer failing in turn (io_fault over the backend in
 * memory): the failure's error (a message, not KV_ERR_CORRUPT: nothing is
 * damaged), or the verdict of the read with none failing.  Then, when the
 * line decodes, its number written again by current_file_write over it,
 * each of the write's calls failing in turn: KV_OK, or the failure's
 * error with a message; after it CURRENT reads as the line it wrote if
 * the rename was made (*renamed), else as it was. */
static void current_fuzz_faults(const uint8_t *p, size_t n)
{
    fuzz_dbfile_mem_reset();
    current_fuzz_check(io_mem_put(FUZZ_DBFILE_DIR "/" CURRENT_FILE_NAME, p, n) == 0,
                       "write CURRENT");
    fuzz_faults_io_fail(0, 0);
    uint64_t number = 0;
    int want = current_file_read(FUZZ_DBFILE_DIR, &number);
    long calls = io_fault_calls();
    io_fault_uninstall();
    for (long nth = 1; nth <= calls; nth++) {
        fuzz_faults_io_fail(nth, 0);
        uint64_t got = 0;
        kv_error_clear(); /* (an error must say why itself) */
        int rc = current_file_read(FUZZ_DBFILE_DIR, &got);
        io_fault_uninstall();
        current_fuzz_check(rc == want ? rc != KV_OK || got == number
                                      : rc != KV_OK && rc != KV_ERR_CORRUPT &&
                                            kv_errmsg()[0] != '\0',
                           "current_file_read: a failed call is its error, with a message, "
                           "or changes nothing");
    }
    if (want != KV_OK)
        return;
    uint64_t next = number < UINT64_MAX ? number + 1 : number - 1;
    for (long nth = 1;; nth++) {
        current_fuzz_check(io_mem_put(FUZZ_DBFILE_DIR "/" CURRENT_FILE_NAME, p, n) == 0,
                           "write CURRENT");
        fuzz_faults_io_fail(nth, 0);
        int renamed = 0;
        kv_error_clear();
        int rc = current_file_write(FUZZ_DBFILE_DIR, next, &renamed);
        long failures = io_fault_failures();
        io_fault_uninstall();
        current_fuzz_check(rc == KV_OK ? failures == 0 : kv_errmsg()[0] != '\0',
                           "current_file_write: KV_OK, or a failed call's error with a message");
        uint64_t got = 0;
        current_fuzz_check(current_file_read(FUZZ_DBFILE_DIR, &got) == KV_OK &&
                               got == (rc == KV_OK || renamed ? next : number),
                           "CURRENT names the new manifest once renamed, else the old one");
        if (failures == 0)
            break; /* every call of the write has failed once */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    current_fuzz_run(data, size);
    /* (One input in sixteen, every one in a replay: fuzz_dbfile_sampled.) */
    if (fuzz_dbfile_sampled(data, size))
        current_fuzz_faults(data, size);
    /* The checksum made right: the name runs to the first space; the tag
     * follows it, then 8 digits, if the input holds them. */
    const size_t tag = sizeof CURRENT_CRC_TAG - 1;
    const uint8_t *space = memchr(data, ' ', size);
    size_t name_len = space ? (size_t)(space - data) : size;
    if (space == NULL || size - name_len < tag + 8 ||
        memcmp(data + name_len, CURRENT_CRC_TAG, tag) != 0) {
        fuzz_dbfile_mem_done();
        return 0;
    }
    uint8_t *fixed = malloc(size);
    current_fuzz_check(fixed != NULL, "allocate");
    memcpy(fixed, data, size);
    char hex[9];
    snprintf(hex, sizeof hex, "%08" PRIx32, crc32c_value(data, name_len));
    if (memcmp(fixed + name_len + tag, hex, 8) != 0) {
        memcpy(fixed + name_len + tag, hex, 8);
        current_fuzz_run(fixed, size);
    }
    free(fixed);
    fuzz_dbfile_mem_done();
    return 0;
}
