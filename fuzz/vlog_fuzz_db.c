/*
 * vlog_fuzz_db.c: the value log's fuzz harness on a whole database
 * (mode 6: each file as it is, then through the engine) and on a value
 * store's settings and listing (mode 4).  vlog_fuzz.c says what an input
 * is and what each mode checks.
 *
 * Invariants: a body is unpacked into at most VLOG_FUZZ_DB_FILES files,
 * each of a name the harness accepts (vlog_fuzz_good_name) and within the
 * body; nothing is read past the body's end.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"
#include "file_header.h"
#include "fuzz_dbfile.h"
#include "fuzz_faults.h"
#include "fuzz_formats.h"
#include "io_fault.h"
#include "io_mem.h"
#include "kv.h"
#include "lsm_files.h"
#include "lsm_wal.h"
#include "value_log.h"
#include "value_store_tools.h"
#include "vlog_fuzz.h"
#include "wal_format.h"

#include "../tests/alloc/alloc_wrap.h"


/* ---- a whole database (mode 6) ------------------------------------------------ */

/* Files of a database, at most this many. */
#define VLOG_FUZZ_DB_FILES 12
int vlog_fuzz_good_name(const char *name, size_t n)
{
    if (n == 0 || n > VLOG_FUZZ_NAME_MAX || (n <= 2 && memcmp(name, "..", n) == 0))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return !(n == 8 && memcmp(name, "IDENTITY", 8) == 0) && !(n == 4 && memcmp(name, "LOCK", 4) == 0);
}

/* The body as files: each a name's length (one byte), the name, its size
 * (4 bytes, little-endian) and its bytes, until the body ends or an entry
 * does not fit or names no file (or one named before).  Their names go in
 * names; returns how many. */
static size_t vlog_fuzz_unpack(const uint8_t *p, size_t n, fuzz_dbfile *files,
                               char names[][VLOG_FUZZ_NAME_MAX + 1])
{
    size_t count = 0, at = 0;
    while (count < VLOG_FUZZ_DB_FILES && at < n) {
        size_t len = p[at];
        if (n - at - 1 < len + 4 || !vlog_fuzz_good_name((const char *)p + at + 1, len))
            break;
        uint32_t size = coding_get_u32(p + at + 1 + len);
        if (n - at - 5 - len < size)
            break;
        memcpy(names[count], p + at + 1, len);
        names[count][len] = '\0';
        int again = 0;
        for (size_t i = 0; i < count; i++)
            again |= strcmp(names[i], names[count]) == 0;
        if (again)
            break;
        files[count] = (fuzz_dbfile){names[count], p + at + 5 + len, size};
        count++;
        at += 5 + len + size;
    }
    return count;
}

/* Mode 6: a database of stage 08 (its tables, manifest, value-log files,
 * VLOGCOUNTS, logs), each file as it is, no checksum made right.  Each
 * value-log file is read as mode 2 reads one (kv dump, a job measuring
 * it); one input in sixteen, the database goes through the engine, then
 * kv_compact (fuzz_dbfile_compact_files), where a value-log file the
 * input damaged is found so by a job that measures it and then emptied of
 * what the keys still read there (value_store_job_offer: the tables name
 * its values, since its own records cannot be walked past the damage),
 * every answer as it was; then kv_repair's promise. */
void vlog_fuzz_db(const uint8_t *p, size_t n)
{
    fuzz_dbfile files[VLOG_FUZZ_DB_FILES];
    char names[VLOG_FUZZ_DB_FILES][VLOG_FUZZ_NAME_MAX + 1];
    size_t count = vlog_fuzz_unpack(p, n, files, names);
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(files[i].name);
        if (len > 5 && strcmp(files[i].name + len - 5, VLOG_SUFFIX) == 0)
            vlog_fuzz_log_file(files[i].data, files[i].size, 0);
    }
    if (count > 0 && fuzz_dbfile_sampled(p, n)) {
        fuzz_dbfile_run_files(files, count);
        fuzz_dbfile_compact_files(files, count);
        fuzz_dbfile_repair_files(files, count);
        /* (One in 64 of those, every one in a replay: kv_check, kv_dump
         * and kv_repair with calls of the I/O layer failing, then
         * kv_repair's promise; a failure kv_open meets in kv_repair may
         * make the engine wait before it retries: a run costs tenths of
         * a second of waiting.  Four calls failed in turn, then
         * allocations refused in each tool: each is a whole check, dump
         * and repair of the database.  A database over 64 KiB has one
         * call failed and no allocation refused: the seed db4-dir, 200 KB
         * with a key of 65,535 bytes, took 1.0 s of an ASan replay's
         * processor time with all of them, a slow unit, and 0.5 s with
         * one call; the small databases keep every refusal.) */
        if (fuzz_dbfile_sampled_rarely(p, n, 64)) {
            int large = n > 65536;
            fuzz_dbfile_repair_faulted(files, count, large ? 1 : 4, large ? 0 : FUZZ_FAULTS_ALL,
                                       crc32c_value(p, n));
        }
    }
}

/* ---- a store's settings and listing (mode 4) ---------------------------------- */

/* Whether name is a value-log file's, as the harness reads the format
 * (docs/formats.md): its number from 1 in twelve digits (more only if it
 * needs them: no zero before a number of twelve), ".vlog"; *start its
 * number.  -1 where the number has 20 digits (whether it fits in 64 bits
 * is not this reading's to say; with 21 it cannot). */
static int vlog_fuzz_vlog_name(const char *name, uint64_t *start)
{
    size_t digits = 0, lead = 0;
    while (name[digits] >= '0' && name[digits] <= '9')
        digits++;
    if (strcmp(name + digits, VLOG_SUFFIX) != 0)
        return 0;
    while (lead < digits && name[lead] == '0')
        lead++;
    if (digits - lead >= 20)
        return digits - lead == 20 && digits == 20 ? -1 : 0;
    *start = 0;
    for (size_t i = lead; i < digits; i++)
        *start = *start * 10 + (uint64_t)(name[i] - '0');
    size_t want = digits - lead > 12 ? digits - lead : 12;
    return *start > 0 && digits == want;
}

/* Mode 4: a value store opened (read only) over the input directory,
 * which holds a small file of each name the body lists, with settings
 * from the body:
 *   byte 0      value_gc_percent, a signed byte
 *   bytes 1-4   value_threshold (little-endian)
 *   byte 5      bit 0: memtable_bytes of 1 MiB; bit 1: a clean close;
 *               bit 2: each value-log file listed as a log too; bit 3:
 *               the memtable's limit 128 MiB before the open (else 4 KiB);
 *               bit 4: the files empty (else 64 zero bytes each); bit 6:
 *               a store that may write (else read only); bit 7: the
 *               files handed over instead (vlog_fuzz_handover.c)
 *   then names  each a length byte and the name (vlog_fuzz_good_name),
 *               at most VLOG_FUZZ_LISTED
 * held to what value_store_open promises (the header's "settings"). */
void vlog_fuzz_settings(const uint8_t *p, size_t n)
{
    if (n < 6)
        return;
    kv_options opt;
    kv_options_init(&opt);
    int writable = (p[5] & 64) != 0;
    opt.read_only = !writable;
    opt.value_gc_percent = (int8_t)p[0];
    opt.value_threshold = coding_get_u32(p + 1);
    opt.memtable_bytes = p[5] & 1 ? (size_t)1 << 20 : 0;
    char names[VLOG_FUZZ_LISTED][VLOG_FUZZ_NAME_MAX + 1];
    char *others[VLOG_FUZZ_LISTED];
    lsm_listed_wal wals[VLOG_FUZZ_LISTED + 1];
    size_t count = 0, nwals = 0, vlogs = 0;
    int unsure = 0, lists_counts = 0;
    for (size_t at = 6; count < VLOG_FUZZ_LISTED && at < n;) {
        size_t len = p[at];
        if (n - at - 1 < len || !vlog_fuzz_good_name((const char *)p + at + 1, len))
            break;
        memcpy(names[count], p + at + 1, len);
        names[count][len] = '\0';
        others[count] = names[count];
        uint64_t start = 0;
        int is_vlog = vlog_fuzz_vlog_name(names[count], &start);
        unsure |= is_vlog < 0;
        lists_counts |= strcmp(names[count], VLOG_COUNTS_NAME) == 0;
        if (is_vlog > 0) {
            vlogs++;
            if (p[5] & 4)
                wals[nwals++] = (lsm_listed_wal){.start = start};
        }
        uint8_t zeros[64];
        memset(zeros, 0, sizeof zeros);
        vlog_fuzz_write(vlog_fuzz_input, names[count], zeros, p[5] & 16 ? 0 : sizeof zeros);
        count++;
        at += 1 + len;
    }
    /* (The last log is the one being written: never a value-log file.) */
    wals[nwals++] = (lsm_listed_wal){.start = UINT64_MAX};
    db_dir d = {.path = (char *)vlog_fuzz_input};
    size_t memtable = p[5] & 8 ? (size_t)128 << 20 : (size_t)4 << 10, before = memtable;
    value_store_env env = {.dir = &d, .opt = &opt, .memtable_limit = &memtable};
    lsm_listing l;
    memset(&l, 0, sizeof l);
    l.others = others;
    l.nothers = count;
    l.wals = wals;
    l.nwals = nwals;
    value_store *vs = NULL;
    int has_jobs = 0;
    kv_error_clear();
    int rc = value_store_open(&env, &l, UINT64_MAX, &vs, &has_jobs);
    int gc_ok = opt.value_gc_percent >= 0 && opt.value_gc_percent <= 99;
    if (!gc_ok)
        vlog_fuzz_check(rc == KV_ERR_INVALID && kv_errmsg()[0] != '\0',
                        "value_gc_percent outside 0 to 99 is KV_ERR_INVALID, with a message");
    else if (nwals > 1)
        vlog_fuzz_check(rc == KV_ERR_CORRUPT && kv_errmsg()[0] != '\0',
                        "a value-log file also listed as a log is KV_ERR_CORRUPT, with a "
                        "message");
    else
        vlog_fuzz_check(rc == KV_OK, "value_store_open with settings in range");
    if (rc == KV_OK) {
        vlog_fuzz_said said = {.ascending = 1};
        vlog_fuzz_check(value_store_describe(vs, 0, vlog_fuzz_said_line, &said) == KV_OK &&
                            value_store_describe(vs, 1, vlog_fuzz_said_line, &said) == KV_OK,
                        "value_store_describe");
        vlog_fuzz_check(said.threshold == (opt.value_threshold ? opt.value_threshold
                                                               : VLOG_DEFAULT_THRESHOLD) &&
                            said.gc_percent == (opt.value_gc_percent ? opt.value_gc_percent
                                                                     : VLOG_DEFAULT_GC_PERCENT),
                        "the store says the threshold and gc_percent it was given, or the "
                        "defaults for 0");
        vlog_fuzz_check(unsure || (said.files == vlogs && said.nstarts == vlogs),
                        "a file for each name of a value-log file, those alone");
        vlog_fuzz_check(said.ascending, "the store's files ascend");
        vlog_fuzz_check(memtable == (opt.memtable_bytes == 0 && before < VLOG_MEMTABLE_BYTES
                                         ? VLOG_MEMTABLE_BYTES
                                         : before),
                        "the memtable's limit raised only where memtable_bytes is 0");
    }
    int clean = rc == KV_OK && (p[5] & 2) != 0, opened = rc == KV_OK;
    vlog_fuzz_check(value_store_close(vs, clean) == KV_OK, "value_store_close");
    char counts[160];
    snprintf(counts, sizeof counts, "%s/%s", vlog_fuzz_input, VLOG_COUNTS_NAME);
    int exists = 1;
    vlog_fuzz_check(io_exists(counts, &exists) == KV_OK, "io_exists");
    if (!writable || !opened) {
        vlog_fuzz_check(exists == lists_counts, "a read-only store's close, or a failed open's, "
                        "saves no VLOGCOUNTS");
    } else {
        /* The open set the listed VLOGCOUNTS (zeros) aside; a clean close
         * saved the counts, of no file (none was measured). */
        vlog_count *got = NULL;
        size_t ngot = 0;
        vlog_fuzz_check(exists == clean, "a clean close of a store that may write saves "
                        "VLOGCOUNTS, and only a clean close");
        vlog_fuzz_check(vlog_counts_load(vlog_fuzz_input, 1, UINT64_MAX, &got, &ngot) == KV_OK &&
                            ngot == 0,
                        "the counts a clean close saved read back: no file was measured");
        free(got);
    }
    /* kv dump of the directory: every file there holds zeros, so a
     * value-log file among them is damage, and VLOGCOUNTS where no clean
     * close wrote it again; nothing else is the value log's. */
    int counts_zeros = exists && !(writable && opened);
    kv_error_clear();
    rc = value_store_dump(vlog_fuzz_input, fuzz_dbfile_ignore_line, NULL);
    vlog_fuzz_check(rc == KV_OK || (rc == KV_ERR_CORRUPT && kv_errmsg()[0] != '\0'),
                    "value_store_dump: KV_OK, or KV_ERR_CORRUPT with a message");
    vlog_fuzz_check(unsure || (rc == KV_ERR_CORRUPT) == (vlogs > 0 || counts_zeros),
                    "kv dump of value-log files of zeros, or VLOGCOUNTS of zeros, finds "
                    "damage, and of no such file none");
}
