/*
 * identity_fuzz.c: fuzz harness for DIR/IDENTITY, the line that says which
 * stage and format wrote a database (common/db_identity.h), which every
 * stage's kv_open reads first.
 *
 * The input is an IDENTITY file's bytes.  It is decoded as it is and with
 * its checksum made right (fuzz_formats.h: the eight hex digits after
 * " crc32c="), so that mutations reach the stage name and format.  Each
 * time the harness reads the line itself by the byte table and checks
 * that db_identity_decode, on the exact bytes, accepts exactly the lines
 * the table allows ("kvstages stage=" 1 to 31 of [0-9a-z-], " format=" a
 * number 1..4294967295 without a leading zero, " crc32c=" eight lower-case
 * hex digits of the crc32c of what precedes it, "\n", nothing more) with
 * their stage and format, and names an offset inside the line when it
 * refuses; db_identity_read and db_identity_check read the file the same
 * way from a directory in memory (common/io_mem.h).  Then, for one input
 * in sixteen (fuzz_dbfile_sampled): the line as the IDENTITY.tmp a create
 * cut short leaves is never read (alone, an empty database; beside
 * another file and no IDENTITY, db_identity_check refuses the directory,
 * naming that file), and the repaired line is the IDENTITY of a database
 * directory through the whole engine (fuzz_dbfile.h): an identity of
 * another stage or a damaged one is refused, never a crash; and the line
 * read, checked, and (from a directory holding it as IDENTITY.tmp)
 * created with each I/O call failing in turn (identity_fuzz_faults).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "db_identity.h"
#include "fuzz_formats.h"
#include "fuzz_dbfile.h"
#include "io.h"
#include "io_fault.h"
#include "io_mem.h"
#include "kv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IDENTITY_FUZZ_DIR "/kvfuzz/id"

static void identity_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "identity fuzz invariant broken: %s\n", what);
        abort();
    }
}

/* Matches s at p[*i]; advances past it. */
static int identity_fuzz_lit(const uint8_t *p, size_t n, size_t *i, const char *s)
{
    size_t l = strlen(s);
    if (n - *i < l || memcmp(p + *i, s, l) != 0)
        return 0;
    *i += l;
    return 1;
}

/* The byte table's verdict: 1 with the stage and format, or 0. */
static int identity_fuzz_model(const uint8_t *p, size_t n, db_identity *id)
{
    size_t i = 0, s;
    memset(id, 0, sizeof *id);
    if (!identity_fuzz_lit(p, n, &i, "kvstages stage="))
        return 0;
    for (s = i; i < n && ((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'z') ||
                          p[i] == '-');
         i++)
        ;
    if (i == s || i - s > DB_STAGE_NAME_MAX)
        return 0;
    memcpy(id->stage, p + s, i - s);
    if (!identity_fuzz_lit(p, n, &i, " format="))
        return 0;
    uint64_t format = 0;
    for (s = i; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        format = format * 10 + (uint64_t)(p[i] - '0');
    if (i == s || p[s] == '0' || i - s > 10 || format > UINT32_MAX)
        return 0;
    id->format = (uint32_t)format;
    size_t covered = i;
    if (!identity_fuzz_lit(p, n, &i, " crc32c=") || n - i != 9 || p[n - 1] != '\n')
        return 0;
    uint32_t crc = 0;
    for (; i < n - 1; i++) {
        uint8_t c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
        crc = crc << 4 | (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return crc == crc32c_value(p, covered);
}

static void identity_fuzz_decode(const uint8_t *p, size_t n)
{
    db_identity want, got;
    int valid = identity_fuzz_model(p, n, &want);
    const char *why = NULL;
    size_t bad_at = (size_t)-1;
    int rc = db_identity_decode(p, p + n, &got, &why, &bad_at);
    identity_fuzz_check(rc == (valid ? 0 : -1),
                        "db_identity_decode accepts exactly the lines the byte table allows");
    if (valid)
        identity_fuzz_check(strcmp(got.stage, want.stage) == 0 && got.format == want.format,
                            "the stage and format the line names");
    else
        identity_fuzz_check(why != NULL && bad_at <= n, "a refusal names what and where");

    fuzz_dbfile_mem_reset();
    identity_fuzz_check(io_mem_put(IDENTITY_FUZZ_DIR "/IDENTITY", p, n) == 0, "IDENTITY in memory");
    int found = 0;
    rc = db_identity_read(IDENTITY_FUZZ_DIR, &got, &found);
    if (n <= DB_IDENTITY_MAX)
        identity_fuzz_check(rc == (valid ? KV_OK : KV_ERR_CORRUPT) && found == valid,
                            "db_identity_read reads the line as db_identity_decode does");
    else
        identity_fuzz_check(rc == KV_ERR_CORRUPT, "a line longer than any identity is damage");
    rc = db_identity_check(IDENTITY_FUZZ_DIR, kv_stage(), 1, fuzz_dbfile_ignore_line, NULL);
    identity_fuzz_check(rc == KV_OK || rc == KV_ERR_INVALID || rc == KV_ERR_CORRUPT,
                        "db_identity_check: this stage's, another's, or damaged");
}

/* A kv_line_fn that keeps the last line. */
static void identity_fuzz_said(void *ctx, const char *line)
{
    snprintf(ctx, 1024, "%s", line);
}

/* The line as IDENTITY.tmp, what a create cut short leaves: never read,
 * whatever it holds.  Alone it is an empty database; beside another file
 * (and no IDENTITY), a directory that is no database of this project. */
static void identity_fuzz_leftover(const uint8_t *p, size_t n)
{
    fuzz_dbfile_mem_reset();
    identity_fuzz_check(io_mem_put(IDENTITY_FUZZ_DIR "/" DB_IDENTITY_TMP, p, n) == 0,
                        "IDENTITY.tmp in memory");
    identity_fuzz_check(db_identity_check(IDENTITY_FUZZ_DIR, kv_stage(), 1,
                                          fuzz_dbfile_ignore_line, NULL) == KV_OK,
                        "a directory holding only IDENTITY.tmp is an empty database");
    identity_fuzz_check(io_mem_put(IDENTITY_FUZZ_DIR "/data", p, n) == 0, "a file in memory");
    identity_fuzz_check(db_identity_check(IDENTITY_FUZZ_DIR, kv_stage(), 1,
                                          fuzz_dbfile_ignore_line, NULL) == KV_ERR_INVALID &&
                            strstr(kv_errmsg(), "(data, ...)") != NULL,
                        "a file but no IDENTITY: not a database of this project, the file "
                        "named");
}

/* The I/O layer refuses call number `at` (of any kind, with EIO) from now
 * on until identity_fuzz_fault_end; the message is cleared so that an
 * error must bring its own. */
static void identity_fuzz_fault_at(long at)
{
    io_fault_plan plan = {.kinds = IO_FAULT_ALL, .fail_at = at, .err = EIO};
    io_fault_install(&plan);
    kv_error_clear();
}

/* 1 if the call chosen failed. */
static int identity_fuzz_fault_end(void)
{
    int failed = io_fault_failures() > 0;
    io_fault_uninstall();
    return failed;
}

static int identity_fuzz_is_eio(int rc)
{
    return rc == KV_ERR_IO && strstr(kv_errmsg(), strerror(EIO)) != NULL;
}

/* The line as IDENTITY read, and checked, with each I/O call failing in
 * turn: KV_ERR_IO with the failure's message, no identity found, and the
 * check's line saying so; and, in a directory holding only the line as
 * IDENTITY.tmp, kv_open's first step (db_identity_open), which writes
 * IDENTITY through IDENTITY.tmp, synced, renamed, the directory synced
 * (db_identity.h, rule 3): a failure at any step is KV_ERR_IO naming the
 * step, and leaves no IDENTITY or the whole line, never a damaged one, so
 * that the next open succeeds. */
static void identity_fuzz_faults(const uint8_t *p, size_t n)
{
    for (long at = 1;; at++) {
        fuzz_dbfile_mem_reset();
        identity_fuzz_check(io_mem_put(IDENTITY_FUZZ_DIR "/IDENTITY", p, n) == 0,
                            "IDENTITY in memory");
        db_identity id;
        int found = 0;
        identity_fuzz_fault_at(at);
        int rc = db_identity_read(IDENTITY_FUZZ_DIR, &id, &found);
        int read_eio = identity_fuzz_is_eio(rc);
        char said[1024] = "";
        int checked = db_identity_check(IDENTITY_FUZZ_DIR, kv_stage(), 1, identity_fuzz_said,
                                        said);
        if (!identity_fuzz_fault_end())
            break;
        identity_fuzz_check((read_eio && !found) || identity_fuzz_is_eio(checked),
                            "an identity read the I/O layer refuses is KV_ERR_IO, with its "
                            "message");
        identity_fuzz_check(checked == KV_OK || strcmp(said, kv_errmsg()) == 0,
                            "kv check's line says what failed");
    }
    kv_options opt;
    kv_options_init(&opt);
    for (long at = 1;; at++) {
        fuzz_dbfile_mem_reset();
        identity_fuzz_check(io_mkdir("/kvfuzz") == KV_OK && io_mkdir(IDENTITY_FUZZ_DIR) == KV_OK,
                            "mkdir");
        identity_fuzz_check(io_mem_put(IDENTITY_FUZZ_DIR "/" DB_IDENTITY_TMP, p, n) == 0,
                            "IDENTITY.tmp in memory");
        identity_fuzz_fault_at(at);
        int rc = db_identity_open(IDENTITY_FUZZ_DIR, kv_stage(), 1, &opt);
        int failed = identity_fuzz_fault_end();
        identity_fuzz_check(failed ? identity_fuzz_is_eio(rc) : rc == KV_OK,
                            "creating IDENTITY: KV_OK, or KV_ERR_IO with the failure's message");
        db_identity id;
        int found = 0;
        identity_fuzz_check(db_identity_read(IDENTITY_FUZZ_DIR, &id, &found) == KV_OK &&
                                (found ? strcmp(id.stage, kv_stage()) == 0 && id.format == 1
                                       : failed),
                            "a create that failed leaves no IDENTITY or the whole line");
        identity_fuzz_check(db_identity_open(IDENTITY_FUZZ_DIR, kv_stage(), 1, &opt) == KV_OK,
                            "an open after a create that failed succeeds");
        if (!failed)
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    identity_fuzz_decode(data, size);
    if (fuzz_dbfile_sampled(data, size)) /* its verdict does not depend on the bytes */
        identity_fuzz_leftover(data, size);
    uint8_t *fixed = malloc(size ? size : 1);
    identity_fuzz_check(fixed != NULL, "malloc");
    memcpy(fixed, data, size);
    fuzz_fix_identity(fixed, size);
    if (memcmp(fixed, data, size) != 0)
        identity_fuzz_decode(fixed, size);
    if (fuzz_dbfile_sampled(data, size)) {
        fuzz_dbfile_run("IDENTITY", fixed, size);
        fuzz_dbfile_repair("IDENTITY", fixed, size);
        identity_fuzz_faults(fixed, size);
    }
    free(fixed);
    fuzz_dbfile_mem_done();
    return 0;
}
