/*
 * manifest_fuzz.c: fuzz harness for stage 06's CURRENT and manifest
 * (stages/06-leveled: current_file.h, manifest.h, version_edit.h).
 *
 * The input is a CURRENT line (its bytes up to and including the first
 * newline; all of it if there is none) followed by a manifest's bytes.
 * Each is copied into a buffer of exactly its size (ASan sees a read past
 * it).  The manifest is checked as it is, then, if that changes it, with
 * every checksum made right (manifest_fuzz_repair: the file header's and
 * every fragment's the reader's walk of the blocks finds, by
 * fuzz_formats.h), so that a mutation inside a record reaches the edit's
 * decoder instead of stopping at the fragment's crc32c.  The harness
 * checks:
 *   - a CURRENT line that decodes is exactly the one current_line_encode
 *     writes for its number (the format has one spelling);
 *   - every record manifest_scan hands out, and every record the reader
 *     finds past damage too (each copied into a buffer of exactly its
 *     size), decodes to an edit that keeps
 *     version_edit.h's invariants 1 to 4 (levels below VERSION_LEVELS,
 *     numbers from 1, internal keys in order, sequences in range, dead
 *     counts within the file's entries), encodes and decodes to the same
 *     bytes, and can be described for kv dump;
 *   - manifest_recover_mem returns KV_OK or KV_ERR_CORRUPT, nothing else;
 *     on KV_OK the state keeps its promises (L0 newest first, levels >= 1
 *     sorted and disjoint, next_file above every table, end <= size, a
 *     torn tail exactly when strict refuses), and its snapshot, written as
 *     a manifest of one record, replays to the same state;
 *   - the same two files in a directory (in memory, common/io_mem.h),
 *     read by manifest_recover, give the same verdict and the same state
 *     (the input as it is, half of the inputs by their crc32c);
 *   - for one input in sixteen (fuzz_dbfile_sampled), the two files, the
 *     manifest with its checksums made right, as a database's CURRENT and
 *     manifest through the whole engine and kv_repair (fuzz_dbfile.h):
 *     level_repair.c's search for a version (the manifest CURRENT names,
 *     another, or the tables alone), the tables it names and the
 *     directory lacks taken out, a new manifest written; after a KV_OK
 *     the database opens strictly and checks clean.  For kv_repair (one
 *     input in four of those), the first table the version names lies
 *     beside them, made by the harness where the manifest puts it (its
 *     smallest and largest keys) but not of the size the manifest says:
 *     kv_repair describes it again as it is (repair_refresh), and the
 *     last, if it is another, made the same way and cut to its first half
 *     (a table cut short: repair_table salvages it or takes it out), or,
 *     for half of those by their crc32c, made at the first one's keys, then
 *     cut (a misplaced copy: level_repair.c places what it salvages by the
 *     keys it holds, repair_place_outside); and
 *     the first alone, twice, with no CURRENT nor manifest, which
 *     kv_repair makes the levels from, merging the two (level_rebuild.c),
 *     and level_rebuild alone over the two with each of its allocations
 *     refused in turn (manifest_fuzz_rebuild.c says what it checks).
 *     And for
 *     one in 32 of those, the calls of the I/O layer failing, one at a
 *     time (io_fault, common/io_fault.h): manifest_recover of the two
 *     files with each of its calls failing in turn answers the failure's
 *     error (with a message, never KV_ERR_CORRUPT) or what it answers with
 *     none failing; kv_check, kv_dump and kv_repair with one of eight calls
 *     spread over a repair's failing answer KV_OK or an error with a
 *     message, and a kv_repair run again after keeps the promise above
 *     (fuzz_dbfile_repair_faulted).
 *     The first open of those has beside the two files three whose names
 *     only look like a manifest's or a table's (a number of two digits, a
 *     suffix, a number of 23 digits): after an open that succeeds, each
 *     is still there (the open took none for its own).
 * A broken promise aborts (this is a test program).
 *
 * A mutator of its own (LLVMFuzzerCustomMutator, in
 * manifest_fuzz_mutate.c: FUZZ_PARTS_manifest in the Makefile) changes
 * the manifest a record at a time and frames it again with right
 * checksums; manifest_fuzz.h holds what the two files share.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"
#include "current_file.h"
#include "file_header.h"
#include "fuzz_dbfile.h"
#include "fuzz_faults.h"
#include "fuzz_formats.h"
#include "internal_key.h"
#include "io_fault.h"
#include "io_mem.h"
#include "kv.h"
#include "level_files.h"
#include "manifest.h"
#include "manifest_fuzz.h"
#include "table.h"
#include "version_edit.h"
#include "wal_format.h"
#include "wal_reader.h"
#include "wal_writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void manifest_fuzz_line(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

void manifest_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "manifest fuzz invariant broken: %s (%s)\n", what, kv_errmsg());
        abort();
    }
}

static int manifest_fuzz_is_ikey(const uint8_t *k, size_t len)
{
    ikey_parsed ik;
    return len <= KV_MAX_KEY + IKEY_TRAILER_SIZE && ikey_decode(k, k + len, &ik);
}

/* version_edit.h's invariants 1 to 4 of an edit the decoder accepted. */
static void manifest_fuzz_edit_invariants(const version_edit *e)
{
    manifest_fuzz_check((!e->has_log_seq || e->log_seq <= IKEY_MAX_SEQ) &&
                        (!e->has_last_seq || e->last_seq <= IKEY_MAX_SEQ),
                        "an edit's sequences are at most IKEY_MAX_SEQ");
    for (size_t i = 0; i < e->nadded; i++) {
        const edit_file *f = &e->added[i];
        manifest_fuzz_check(f->level >= 0 && f->level < VERSION_LEVELS && f->number >= 1,
                            "an added file's level and number are in range");
        manifest_fuzz_check(manifest_fuzz_is_ikey(f->smallest, f->smallest_len) &&
                            manifest_fuzz_is_ikey(f->largest, f->largest_len) &&
                            ikey_compare(f->smallest, f->smallest_len, f->largest,
                                         f->largest_len) <= 0,
                            "an added file's keys are internal keys in order");
        manifest_fuzz_check(f->dead <= f->entries &&
                            (f->dead == 0 || (f->dead_from >= 1 && f->dead_from <= IKEY_MAX_SEQ)),
                            "an added file's dead entries are within its entries");
    }
    for (size_t i = 0; i < e->nremoved; i++)
        manifest_fuzz_check(e->removed[i].level >= 0 && e->removed[i].level < VERSION_LEVELS &&
                            e->removed[i].number >= 1,
                            "a removed file's level and number are in range");
    for (size_t i = 0; i < e->npointers; i++) {
        manifest_fuzz_check(e->pointers[i].level >= 0 && e->pointers[i].level < VERSION_LEVELS &&
                            manifest_fuzz_is_ikey(e->pointers[i].key, e->pointers[i].len),
                            "a compact pointer is an internal key of a level");
        for (size_t j = 0; j < i; j++)
            manifest_fuzz_check(e->pointers[j].level != e->pointers[i].level,
                                "at most one compact pointer per level");
    }
}

/* A record: its edit keeps the invariants, and re-encodes to bytes that
 * decode to the same edit. */
static int manifest_fuzz_edit(void *ctx, const version_edit *e, uint64_t offset)
{
    (void)ctx;
    (void)offset;
    manifest_fuzz_edit_invariants(e);
    uint8_t *a = NULL, *b = NULL;
    size_t an = 0, bn = 0;
    version_edit again;
    if (version_edit_encode(e, &a, &an) != KV_OK ||
        version_edit_decode(&again, a, an, "again") != KV_OK ||
        version_edit_encode(&again, &b, &bn) != KV_OK || an != bn ||
        (an > 0 && memcmp(a, b, an) != 0))
        abort();
    version_edit_describe(e, "  ", manifest_fuzz_line, NULL);
    version_edit_free(&again);
    free(a);
    free(b);
    return KV_OK;
}

/* The state's snapshot encoded: a canonical form to compare states by. */
static uint8_t *manifest_fuzz_canon(const manifest_state *st, size_t *n)
{
    version_edit e;
    uint8_t *p = NULL;
    if (manifest_state_snapshot(st, &e) != KV_OK || version_edit_encode(&e, &p, n) != KV_OK)
        abort();
    version_edit_free(&e);
    return p;
}

static void manifest_fuzz_check_state(const manifest_state *st)
{
    if (st->end > st->size || st->torn != (st->end < st->size) || st->records == 0)
        abort();
    for (int l = 0; l < VERSION_LEVELS; l++) {
        uint64_t bytes = 0;
        for (size_t i = 0; i < st->v->nfiles[l]; i++) {
            const vfile *f = st->v->files[l][i];
            bytes += f->file_bytes;
            if (f->number >= st->next_file ||
                ikey_compare(f->smallest, f->smallest_len, f->largest, f->largest_len) > 0)
                abort();
            if (i == 0)
                continue;
            const vfile *g = st->v->files[l][i - 1];
            if (l == 0 ? g->number <= f->number
                       : ikey_user_compare(g->largest, g->largest_len - IKEY_TRAILER_SIZE,
                                           f->smallest, f->smallest_len - IKEY_TRAILER_SIZE) >= 0)
                abort();
        }
        if (bytes != st->v->level_bytes[l])
            abort();
    }
}

/* The snapshot as the only record of a manifest replays to the same. */
static void manifest_fuzz_snapshot_round_trip(const uint8_t *canon, size_t n)
{
    uint8_t *m = malloc(MANIFEST_START + wal_framed_max(n));
    if (m == NULL)
        abort();
    file_header_encode(m, FILE_MAGIC_MAN06, MANIFEST_VERSION);
    size_t len = MANIFEST_START + wal_frame(m + MANIFEST_START, MANIFEST_START, canon, n);
    manifest_state st;
    if (manifest_recover_mem(m, len, "snapshot", 1, &st) != KV_OK)
        abort();
    size_t n2;
    uint8_t *canon2 = manifest_fuzz_canon(&st, &n2);
    if (n2 != n || memcmp(canon, canon2, n) != 0)
        abort();
    free(canon2);
    manifest_state_free(&st);
    free(m);
}

/* The directory of the replay from a directory (in memory: common/io_mem.h,
 * installed by fuzz_dbfile_mem_reset; the engine reads it through io.h as
 * it reads a real one). */
#define MANIFEST_FUZZ_DIR "/kvfuzz/manifest"

static void manifest_fuzz_write(const char *name, const uint8_t *p, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", MANIFEST_FUZZ_DIR, name);
    manifest_fuzz_check(io_mem_put(path, p, n) == 0, "a file in memory");
}

/* Makes the checksums of the manifest [m, m + n) right, in place
 * (fuzz_formats.h: the file header's, and every fragment's that the
 * reader's walk of the blocks finds); returns whether a byte changed. */
int manifest_fuzz_repair(uint8_t *m, size_t n)
{
    uint8_t *was = malloc(n ? n : 1);
    manifest_fuzz_check(was != NULL, "allocate");
    memcpy(was, m, n);
    fuzz_fix_file_header(m, n);
    fuzz_fix_wal_fragments(m, n, n < MANIFEST_START ? n : MANIFEST_START);
    int changed = memcmp(was, m, n) != 0;
    free(was);
    return changed;
}

/* The records, the replay from memory and (dir set) from a directory, of
 * the CURRENT line (current_rc, number: its decoding) and manifest. */
static void manifest_fuzz_run(const uint8_t *line, size_t line_len, int current_rc,
                              uint64_t number, const uint8_t *man, size_t man_len, int dir_too)
{
    /* The records as manifest_scan sees them. */
    wal_reader r;
    manifest_scan_info info;
    wal_reader_init_mem(&r, man, man_len < MANIFEST_START ? man_len : MANIFEST_START, man_len);
    int rc = manifest_scan(&r, man_len, "MANIFEST", manifest_fuzz_edit, NULL, &info);
    wal_reader_free(&r);
    if (rc != KV_OK && rc != KV_ERR_CORRUPT)
        abort();
    /* Every record the reader finds, past damage too, decoded from a copy
     * of exactly its size (the reader's buffer is larger: a read a few
     * bytes past a record would stay inside it). */
    wal_reader_init_mem(&r, man, man_len < MANIFEST_START ? man_len : MANIFEST_START, man_len);
    for (int got; (got = wal_reader_next(&r)) != WAL_READ_END;) {
        manifest_fuzz_check(got == WAL_READ_RECORD || got == WAL_READ_DAMAGE,
                            "the reader: records, damage, the end");
        if (got != WAL_READ_RECORD)
            continue;
        uint8_t *rec = malloc(r.rec_len ? r.rec_len : 1);
        manifest_fuzz_check(rec != NULL, "allocate");
        memcpy(rec, r.rec, r.rec_len);
        version_edit e;
        int erc = version_edit_decode(&e, rec, r.rec_len, "record");
        manifest_fuzz_check(erc == KV_OK || erc == KV_ERR_CORRUPT,
                            "version_edit_decode: only KV_ERR_CORRUPT");
        if (erc == KV_OK)
            manifest_fuzz_edit(NULL, &e, r.rec_start);
        version_edit_free(&e);
        free(rec);
    }
    wal_reader_free(&r);

    /* The replay, from memory. */
    manifest_state st;
    int mem_rc = manifest_recover_mem(man, man_len, "MANIFEST", 0, &st);
    uint8_t *canon = NULL;
    size_t canon_len = 0;
    if (mem_rc == KV_OK) {
        manifest_fuzz_check_state(&st);
        canon = manifest_fuzz_canon(&st, &canon_len);
        manifest_fuzz_snapshot_round_trip(canon, canon_len);
        manifest_state strict;
        int strict_rc = manifest_recover_mem(man, man_len, "MANIFEST", 1, &strict);
        if (strict_rc != (st.torn ? KV_ERR_CORRUPT : KV_OK))
            abort();
        manifest_state_free(&strict);
    } else if (mem_rc != KV_ERR_CORRUPT) {
        abort();
    }
    manifest_state_free(&st);
    if (!dir_too) {
        free(canon);
        return;
    }

    /* The same bytes as CURRENT and the manifest it names (or, if CURRENT
     * does not decode, MANIFEST-000001), read by manifest_recover. */
    char name[MANIFEST_NAME_MAX];
    manifest_file_name(name, current_rc == KV_OK ? number : 1);
    fuzz_dbfile_mem_reset();
    manifest_fuzz_write(CURRENT_FILE_NAME, line, line_len);
    manifest_fuzz_write(name, man, man_len);
    int dir_rc = manifest_recover(MANIFEST_FUZZ_DIR, 0, &st);
    if (dir_rc != (current_rc == KV_OK ? mem_rc : KV_ERR_CORRUPT))
        abort();
    if (dir_rc == KV_OK) {
        size_t n;
        uint8_t *c = manifest_fuzz_canon(&st, &n);
        if (n != canon_len || memcmp(c, canon, n) != 0 || st.number != number)
            abort();
        free(c);
    }
    manifest_state_free(&st);
    free(canon);
}

/* CURRENT and the manifest in the directory, read by manifest_recover
 * with each of its calls of the I/O layer failing in turn (io_fault over
 * the backend in memory; at most MANIFEST_FUZZ_FAULTS of them): the
 * failure's error (with a message, not KV_ERR_CORRUPT: nothing is
 * damaged), or the verdict and state of the read with none failing. */
#define MANIFEST_FUZZ_FAULTS 64

static void manifest_fuzz_recover_faulted(const uint8_t *line, size_t line_len, int current_rc,
                                          uint64_t number, const uint8_t *man, size_t man_len)
{
    char name[MANIFEST_NAME_MAX];
    manifest_file_name(name, current_rc == KV_OK ? number : 1);
    fuzz_dbfile_mem_reset();
    manifest_fuzz_write(CURRENT_FILE_NAME, line, line_len);
    manifest_fuzz_write(name, man, man_len);
    fuzz_faults_io_fail(0, 0);
    manifest_state st;
    int want = manifest_recover(MANIFEST_FUZZ_DIR, 0, &st);
    long calls = io_fault_calls();
    io_fault_uninstall();
    uint8_t *canon = NULL;
    size_t canon_len = 0;
    if (want == KV_OK)
        canon = manifest_fuzz_canon(&st, &canon_len);
    manifest_state_free(&st);
    for (long nth = 1; nth <= calls && nth <= MANIFEST_FUZZ_FAULTS; nth++) {
        fuzz_faults_io_fail(nth, 0);
        kv_error_clear(); /* (an error must say why itself) */
        int rc = manifest_recover(MANIFEST_FUZZ_DIR, 0, &st);
        io_fault_uninstall();
        if (rc != want) {
            manifest_fuzz_check(rc != KV_OK && rc != KV_ERR_CORRUPT && kv_errmsg()[0] != '\0',
                                "manifest_recover: a failed call of the I/O layer is its "
                                "error, with a message, or changes nothing");
        } else if (rc == KV_OK) {
            size_t n;
            uint8_t *c = manifest_fuzz_canon(&st, &n);
            manifest_fuzz_check(n == canon_len && memcmp(c, canon, n) == 0,
                                "manifest_recover: the same state, whichever call failed");
            free(c);
        }
        manifest_state_free(&st);
    }
    free(canon);
}

/* The first table the manifest's version names (the manifest as it
 * replays, whole or cut at a torn tail), as a file for kv_repair: a table
 * of the stage holding the two entries at the ends of the key range the
 * manifest gives it (one if they are the same), so that it lies where the
 * manifest says, but is not the size, nor holds the count of entries, the
 * manifest says: a table rewritten by a repair cut short before its new
 * manifest (level_repair.c: repair_refresh describes it as it is).  The
 * engine run goes on without it, as before (an open that reads a table
 * costs more than the rest of an input).  Returns its bytes (malloc'd, *n
 * of them) and its name in name, or NULL if the version names no table or
 * the builder refuses the keys.  The last table the version names, if it
 * is another, is made the same way at its own keys, then cut to its first
 * half (*torn_bytes, *torn_n bytes, malloc'd; else NULL), with its name
 * in torn: a table cut short, which kv_repair salvages or takes out
 * (repair_table), counting what older tables may then show
 * (repair_version_older).  If misplaced, it is made at the first table's
 * keys instead: a table holding keys outside the range its manifest entry
 * gives it, which kv_repair places by its keys (repair_place_outside). */
static table_ctx *manifest_fuzz_tables;

static void manifest_fuzz_tables_free(void)
{
    table_ctx_free(manifest_fuzz_tables);
}

/* A table of the stage holding the entries at the ends of f's key range
 * (one if they are the same): its bytes (malloc'd, *n of them), or NULL if
 * the builder refuses the keys. */
static uint8_t *manifest_fuzz_table_at(const vfile *f, size_t *n)
{
    static const char path[] = "/kvfuzz/table/t.tbl";
    if (manifest_fuzz_tables == NULL) {
        manifest_fuzz_check(table_ctx_new(NULL, &manifest_fuzz_tables) == KV_OK,
                            "table_ctx_new");
        atexit(manifest_fuzz_tables_free);
    }
    table_builder *b = NULL;
    table_meta meta;
    fuzz_dbfile_mem_reset();
    manifest_fuzz_check(io_mkdir("/kvfuzz") == KV_OK && io_mkdir("/kvfuzz/table") == KV_OK &&
                        table_builder_new(manifest_fuzz_tables, path, &b) == KV_OK,
                        "a table builder in memory");
    int same = f->smallest_len == f->largest_len &&
               memcmp(f->smallest, f->largest, f->smallest_len) == 0;
    static const uint8_t v[] = "v";
    int added = table_builder_add(b, f->smallest, f->smallest_len, v, 1) == KV_OK &&
                (same || table_builder_add(b, f->largest, f->largest_len, v, 1) == KV_OK);
    int built = added && table_builder_finish(b, &meta) == KV_OK; /* (frees b) */
    if (added)
        b = NULL;
    uint8_t *out = NULL;
    if (built) {
        const uint8_t *bytes;
        manifest_fuzz_check(io_mem_get(path, &bytes, n) == 0 && (out = malloc(*n)) != NULL,
                            "the table's bytes");
        memcpy(out, bytes, *n);
    }
    table_builder_abandon(b);
    return out;
}

static uint8_t *manifest_fuzz_named_table(const uint8_t *man, size_t man_len,
                                          char name[LEVEL_NAME_MAX], size_t *n,
                                          char torn[LEVEL_NAME_MAX], uint8_t **torn_bytes,
                                          size_t *torn_n, int misplaced)
{
    manifest_state st;
    torn[0] = '\0';
    *torn_bytes = NULL;
    if (manifest_recover_mem(man, man_len, "MANIFEST", 0, &st) != KV_OK) {
        manifest_state_free(&st);
        return NULL;
    }
    const vfile *f = NULL, *last = NULL;
    for (int l = 0; l < VERSION_LEVELS; l++)
        for (size_t i = 0; i < st.v->nfiles[l]; i++) {
            if (f == NULL)
                f = st.v->files[l][i];
            last = st.v->files[l][i];
        }
    uint8_t *out = f != NULL ? manifest_fuzz_table_at(f, n) : NULL;
    if (out != NULL) {
        level_table_name(name, f->number);
        if (last != f &&
            (*torn_bytes = manifest_fuzz_table_at(misplaced ? f : last, torn_n)) != NULL) {
            level_table_name(torn, last->number);
            *torn_n /= 2;
        }
    }
    manifest_state_free(&st);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = size ? memchr(data, '\n', size) : NULL;
    size_t line_len = nl ? (size_t)(nl - data) + 1 : size;
    size_t man_len = size - line_len;
    /* Each in a buffer of exactly its size: ASan sees a read past it. */
    uint8_t *line = malloc(line_len ? line_len : 1), *man = malloc(man_len ? man_len : 1);
    manifest_fuzz_check(line != NULL && man != NULL, "allocate");
    memcpy(line, data, line_len);
    memcpy(man, data + line_len, man_len);

    /* CURRENT */
    uint64_t number = 0;
    int current_rc = current_line_decode(line, line_len, "CURRENT", &number);
    if (current_rc == KV_OK) {
        char again[CURRENT_MAX_BYTES];
        size_t n = current_line_encode(again, number);
        manifest_fuzz_check(n == line_len && memcmp(again, line, n) == 0,
                            "a CURRENT line that decodes is the one its number encodes to");
    } else {
        manifest_fuzz_check(current_rc == KV_ERR_CORRUPT, "CURRENT: only KV_ERR_CORRUPT");
    }

    /* From a directory too: half of the inputs (by their crc32c, so that a
     * replay does the same), the same code reading files. */
    manifest_fuzz_run(line, line_len, current_rc, number, man, man_len,
                      crc32c_value(data, size) % 2 == 0);
    if (manifest_fuzz_repair(man, man_len))
        manifest_fuzz_run(line, line_len, current_rc, number, man, man_len, 0);
    /* One input in sixteen: CURRENT and the manifest it names (checksums
     * made right) as a database's, through the engine, kv check, kv dump
     * and kv repair (fuzz_dbfile.h), which finds the version from them or
     * without them, takes out the tables they name and the directory
     * lacks, and writes a new manifest. */
    if (fuzz_dbfile_sampled(data, size)) {
        char name[MANIFEST_NAME_MAX], tname[LEVEL_NAME_MAX], torn[LEVEL_NAME_MAX];
        manifest_file_name(name, current_rc == KV_OK ? number : 1);
        fuzz_dbfile files[] = {{CURRENT_FILE_NAME, line, line_len}, {name, man, man_len},
                               {tname, NULL, 0}, {torn, NULL, 0}};
        /* (One input in four of those: a repair that opens a table costs
         * as much as the rest of the run.) */
        uint8_t *table = NULL, *torn_table = NULL;
        if (fuzz_dbfile_sampled_rarely(data, size, 4))
            table = manifest_fuzz_named_table(man, man_len, tname, &files[2].size, torn,
                                              &torn_table, &files[3].size,
                                              (crc32c_value(data, size) >> 6) & 1);
        files[2].data = table;
        files[3].data = torn_table;
        size_t nfiles = table == NULL ? 2 : torn_table == NULL ? 3 : 4;
        /* Beside them, for the first open, files a database of the stage
         * never writes whose names only look like its own (level_files.c:
         * a manifest's number of two digits, a manifest's name with a
         * suffix, a table's number of 23 digits): the open must take none
         * for a manifest or a table, and leave each where it is. */
        static const char *const foreign[] = {"MANIFEST-12", "MANIFEST-000001.bak",
                                              "00000000000000000000001.tbl"};
        static const uint8_t foreign_bytes[] = "not a file of the database\n";
        fuzz_dbfile with_foreign[2 + sizeof foreign / sizeof foreign[0]] = {files[0], files[1]};
        for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++)
            with_foreign[2 + i] = (fuzz_dbfile){foreign[i], foreign_bytes,
                                                sizeof foreign_bytes - 1};
        if (fuzz_dbfile_run_files(with_foreign, sizeof with_foreign / sizeof with_foreign[0]))
            for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++)
                manifest_fuzz_check(fuzz_dbfile_exists(foreign[i]),
                                    "an open leaves a file whose name is not the database's");
        fuzz_dbfile_repair_files(files, table == NULL ? 2 : 3);
        if (torn_table != NULL) /* (and again with the table cut short) */
            fuzz_dbfile_repair_files(files, nfiles);
        if (table != NULL) {
            /* The table alone, twice (000001.tbl and 000002.tbl: two tables
             * whose keys overlap), no CURRENT and no manifest: kv_repair
             * makes the levels again from the tables and merges the two
             * (level_rebuild.c). */
            fuzz_dbfile alone[] = {{fuzz_dbfile_table_name(), table, files[2].size},
                                   {fuzz_dbfile_second_table_name(), table, files[2].size}};
            fuzz_dbfile_repair_files(alone, 2);
            /* And level_rebuild alone over the two, with each of its
             * allocations refused in turn (manifest_fuzz_rebuild.c). */
            manifest_fuzz_rebuild(table, files[2].size);
        }
        /* (One input in 32 of those, every one in a replay: the manifest
         * read, then kv_check, kv_dump and kv_repair, with calls of the
         * I/O layer failing: as much as ten engine runs.) */
        if (fuzz_dbfile_sampled_rarely(data, size, 32)) {
            manifest_fuzz_recover_faulted(line, line_len, current_rc, number, man, man_len);
            fuzz_dbfile_repair_faulted(files, nfiles, 8, FUZZ_FAULTS_ALL, crc32c_value(data, size));
        }
        free(table);
        free(torn_table);
    }
    free(line);
    free(man);
    fuzz_dbfile_mem_done();
    return 0;
}

