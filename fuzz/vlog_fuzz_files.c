/*
 * vlog_fuzz_files.c: the files and value stores of the value log's fuzz
 * harness (vlog_fuzz.c says what an input is and what it checks), and
 * its modes 1 and 2: the input as VLOGCOUNTS and as a value-log file,
 * read as kv_open, kv dump and a store's job read them, and again with
 * an I/O call failing (the mode byte's bit 3).
 *
 * Invariants: the harness's files live in memory (common/io_mem.h), in
 * two directories; the fixed file's bytes are a function of their offsets
 * alone (vlog_fuzz_byte), so no input sees another's; vlog_fuzz_tidy
 * leaves nothing of an input but the fixed file.
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


/* ---- the harness's directories ---------------------------------------------- */

/* Two directories, in memory (common/io_mem.h, the I/O layer's backend
 * once the harness runs: no system call, and a file the store maps is an
 * allocation of exactly its size): `fixed` holds the value-log file of
 * modes 1 and 3 (and, in mode 1, the input as VLOGCOUNTS beside it);
 * `input` holds mode 2's input as the value-log file. */
const char vlog_fuzz_fixed[] = "/kvvlog/fixed", vlog_fuzz_input[] = "/kvvlog/input";

void vlog_fuzz_write(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    vlog_fuzz_check(io_mem_put(path, p, n) == 0, "a file of the harness in memory");
}

void vlog_fuzz_remove(const char *dir, const char *name)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    io_unlink(path);
}

/* The fixed file's bytes (vlog_fuzz_byte of each offset), made once. */
static uint8_t *vlog_fuzz_image_bytes;

static void vlog_fuzz_image_free(void)
{
    free(vlog_fuzz_image_bytes);
}

const uint8_t *vlog_fuzz_image(void)
{
    if (vlog_fuzz_image_bytes == NULL) {
        vlog_fuzz_image_bytes = malloc(VLOG_FUZZ_FILE_SIZE);
        vlog_fuzz_check(vlog_fuzz_image_bytes != NULL, "malloc");
        for (uint64_t o = 0; o < VLOG_FUZZ_FILE_SIZE; o++)
            vlog_fuzz_image_bytes[o] = vlog_fuzz_byte(o);
        atexit(vlog_fuzz_image_free);
    }
    return vlog_fuzz_image_bytes;
}

/* Both directories, the fixed file in one: made again after an input
 * that ran the engine (fuzz_dbfile_run empties the memory). */
void vlog_fuzz_dirs(void)
{
    char path[160];
    const uint8_t *bytes = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/%s", vlog_fuzz_fixed, VLOG_FUZZ_NAME);
    if (io_get_ops() == &io_mem_ops && io_mem_get(path, &bytes, &n) == 0)
        return;
    fuzz_dbfile_mem_reset();
    vlog_fuzz_check(io_mkdir("/kvvlog") == KV_OK && io_mkdir(vlog_fuzz_input) == KV_OK,
                    "mkdir");
    vlog_fuzz_write(vlog_fuzz_fixed, VLOG_FUZZ_NAME, vlog_fuzz_image(), VLOG_FUZZ_FILE_SIZE);
}

void vlog_fuzz_empty(const char *dir, const char *keep)
{
    char **names = NULL;
    size_t count = 0;
    if (io_list(dir, &names, &count) != KV_OK)
        return;
    for (size_t i = 0; i < count; i++)
        if (keep == NULL || strcmp(names[i], keep) != 0)
            vlog_fuzz_remove(dir, names[i]);
    io_list_free(names, count);
}

/* The end of an input: every file it left goes but the fixed file, which
 * is kept between inputs (made again if an engine run emptied the memory),
 * so that an input frees what it allocated (fuzz_dbfile_mem_done says
 * why).  The fixed file's bytes are a function of their offsets alone: no
 * input sees another's. */
void vlog_fuzz_tidy(void)
{
    const uint8_t *bytes = NULL;
    size_t n = 0;
    char path[160];
    snprintf(path, sizeof path, "%s/%s", vlog_fuzz_fixed, VLOG_FUZZ_NAME);
    if (io_mem_get(path, &bytes, &n) != 0) {
        fuzz_dbfile_mem_done();
        vlog_fuzz_dirs();
        return;
    }
    vlog_fuzz_empty(vlog_fuzz_fixed, VLOG_FUZZ_NAME);
    vlog_fuzz_empty(vlog_fuzz_input, NULL);
}

/* A copy of p[0, n) in an allocation of exactly its size (1 if empty). */
uint8_t *vlog_fuzz_copy(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    vlog_fuzz_check(c != NULL, "malloc");
    if (n > 0)
        memcpy(c, p, n);
    return c;
}

/* A value store over dir, which holds one value-log file, file 1, as kv_open
 * makes it (read only: it writes nothing).  faulted: an I/O call may fail
 * under it (io_fault): then the open may fail with that call's error (a
 * message, not KV_ERR_CORRUPT), and NULL is returned. */
/* value_store_open of such a store into *vs (to be closed whatever it
 * returns), its error's message kept. */
int vlog_fuzz_store_try(const char *dir, uint64_t flushed, value_store **vs)
{
    db_dir d = {.path = (char *)dir};
    kv_options opt;
    kv_options_init(&opt);
    opt.read_only = 1;
    size_t memtable = 4u << 20;
    value_store_env env = {.dir = &d, .opt = &opt, .memtable_limit = &memtable};
    char name[] = VLOG_FUZZ_NAME;
    char *others[] = {name};
    lsm_listing l;
    memset(&l, 0, sizeof l);
    l.others = others;
    l.nothers = 1;
    int has_jobs = 0;
    *vs = NULL;
    kv_error_clear();
    return value_store_open(&env, &l, flushed, vs, &has_jobs);
}

value_store *vlog_fuzz_store_open(const char *dir, uint64_t flushed, int faulted)
{
    value_store *vs = NULL;
    int rc = vlog_fuzz_store_try(dir, flushed, &vs);
    if (faulted && rc != KV_OK) {
        vlog_fuzz_check(rc != KV_ERR_CORRUPT && kv_errmsg()[0] != '\0',
                        "an open the I/O layer fails answers its error, with a message");
        vlog_fuzz_check(value_store_close(vs, 0) == KV_OK, "value_store_close");
        return NULL;
    }
    vlog_fuzz_check(rc == KV_OK, "value_store_open over the harness's value-log file");
    return vs;
}

/* Whether rc, where an I/O call may have failed (faulted), is such a
 * failure: an error with a message, not KV_ERR_CORRUPT (nothing is
 * damaged). */
int vlog_fuzz_failed(int rc, int faulted)
{
    if (!faulted || rc == KV_OK || rc == KV_ERR_CORRUPT)
        return 0;
    vlog_fuzz_check(kv_errmsg()[0] != '\0', "an I/O call's failure has a message");
    return 1;
}

/* A job of the store, if it picks one, run as the engine runs it: every
 * value it gives is a where of file 1, and loads (the file is whole, or
 * the job gives nothing).  damaged: kv dump found file 1 damaged, so the
 * job must give nothing (it is left for kv check and kv repair: emptied,
 * it would lose the values past the damage).  faulted: a failure of the
 * I/O layer may stop it (vlog_fuzz_failed), no other error. */
static void vlog_fuzz_job(value_store *vs, int damaged, int faulted)
{
    value_job *job = NULL;
    kv_error_clear();
    int rc = value_store_pick(vs, UINT64_MAX, &job);
    if (vlog_fuzz_failed(rc, faulted))
        return;
    vlog_fuzz_check(rc == KV_OK, "value_store_pick");
    if (job == NULL)
        return;
    vlog_fuzz_check(!value_store_job_wants_keys(job), "a file not known damaged is read for its "
                    "values");
    value_move m;
    int got, status = KV_OK;
    kv_error_clear();
    while ((got = value_store_job_next(job, &m)) == 1) {
        vlog_fuzz_check(!damaged, "a job over a file kv dump finds damaged gives no value");
        vlog_where w;
        const char *why = NULL;
        vlog_fuzz_check(vlog_where_decode(m.where, m.wlen, &w, &why) == 0 && w.file == 1,
                        "a job's value is a where of its file");
        const uint8_t *val = NULL;
        size_t vlen = 0;
        kv_error_clear();
        rc = value_store_job_value(job, &val, &vlen);
        if (vlog_fuzz_failed(rc, faulted)) {
            status = rc;
            break;
        }
        vlog_fuzz_check(rc == KV_OK && vlen == w.len,
                        "every value a job reads from a whole file loads, with its length");
        value_store_job_result(job, VALUE_LIVE);
        kv_error_clear();
    }
    vlog_fuzz_check(got == 0 || got == 1 || got == KV_ERR_CORRUPT || got == KV_ERR_NOMEM ||
                        vlog_fuzz_failed(got, faulted),
                    "value_store_job_next: 1, 0, or an error");
    if (got < 0)
        status = got;
    value_store_job_end(vs, job, 1, status);
}

void vlog_fuzz_said_line(void *ctx, const char *line)
{
    vlog_fuzz_said *s = ctx;
    unsigned long long v;
    long g;
    const char *file = strstr(line, " file=");
    if (sscanf(line, "values.threshold: %llu", &v) == 1)
        s->threshold = v;
    else if (sscanf(line, "values.gc_percent: %ld", &g) == 1)
        s->gc_percent = g;
    else if (sscanf(line, "values.files: %llu", &v) == 1)
        s->files = v;
    else if (sscanf(line, "values.live_bytes: %llu", &v) == 1)
        s->live = v;
    else if (strncmp(line, "vlog", 4) == 0 && file != NULL && sscanf(file, " file=%llu", &v) == 1 &&
             s->nstarts <= VLOG_FUZZ_LISTED) {
        if (s->nstarts > 0 && s->starts[s->nstarts - 1] > v)
            s->ascending = 0;
        s->starts[s->nstarts++] = v;
    }
}

/* ---- VLOGCOUNTS, as a file (mode 1) -------------------------------------------- */

/* Values a merge drops come off file 1's live bytes (value_store_dropped,
 * V2): one of a byte takes at most that byte, and one as long as a value
 * may be leaves none. */
static void vlog_fuzz_dropped(value_store *vs)
{
    uint8_t where[VLOG_WHERE_MAX];
    vlog_fuzz_said before = {.ascending = 1}, after = {.ascending = 1};
    vlog_where w = {.file = 1, .offset = LSM_WAL_START + WAL_HEADER_SIZE, .len = 1};
    vlog_fuzz_check(value_store_describe(vs, 0, vlog_fuzz_said_line, &before) == KV_OK,
                    "value_store_describe");
    value_store_dropped(vs, where, vlog_where_encode(where, &w));
    vlog_fuzz_check(value_store_describe(vs, 0, vlog_fuzz_said_line, &after) == KV_OK &&
                        after.live <= before.live && before.live - after.live <= 1,
                    "a dropped value of a byte takes at most a byte off the live bytes");
    w.len = VLOG_MAX_VALUE;
    value_store_dropped(vs, where, vlog_where_encode(where, &w));
    vlog_fuzz_check(value_store_describe(vs, 0, vlog_fuzz_said_line, &after) == KV_OK &&
                        after.live == 0,
                    "a dropped value as long as a value may be leaves no live bytes");
}

/* The input as VLOGCOUNTS (its checksum made right): written to the
 * directory, and, if `fixed_out` is not NULL, its copy handed over (the
 * caller's to free).  Returns 1 if the decoder takes it, with its
 * `flushed` and counts in *flushed, *c, *count (the caller's to free). */
static int vlog_fuzz_counts_place(const uint8_t *p, size_t n, uint8_t **fixed_out,
                                  uint64_t *flushed, vlog_count **c, size_t *count)
{
    uint8_t *fixed = vlog_fuzz_copy(p, n);
    fuzz_fix_body_crc(fixed, n);
    *flushed = 0;
    *c = NULL;
    *count = 0;
    int decodes = vlog_counts_decode(VLOG_COUNTS_NAME, fixed, n, flushed, c, count) == KV_OK;
    vlog_fuzz_write(vlog_fuzz_fixed, VLOG_COUNTS_NAME, fixed, n);
    if (fixed_out != NULL)
        *fixed_out = fixed;
    else
        free(fixed);
    return decodes;
}

void vlog_fuzz_counts_file(const uint8_t *p, size_t n)
{
    uint64_t flushed;
    vlog_count *c;
    size_t count;
    int decodes = vlog_fuzz_counts_place(p, n, NULL, &flushed, &c, &count);

    /* As kv_open reads it, for the `flushed` it holds and for another. */
    for (int other = 0; other < 2; other++) {
        vlog_count *got = NULL;
        size_t ngot = 0;
        int rc = vlog_counts_load(vlog_fuzz_fixed, 1, flushed + (uint64_t)other, &got, &ngot);
        vlog_fuzz_check(rc == KV_OK, "vlog_counts_load: a damaged file is no error");
        if (decodes && !other)
            vlog_fuzz_check(ngot == count && (count == 0 || memcmp(got, c, count * sizeof *c) == 0),
                            "vlog_counts_load hands out the counts the file holds");
        else
            vlog_fuzz_check(ngot == 0 && got == NULL, "counts that do not decode, or of "
                            "another state of the directory, are not used");
        free(got);
    }
    free(c);
    int rc = value_store_dump(vlog_fuzz_fixed, fuzz_dbfile_ignore_line, NULL);
    vlog_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT, "value_store_dump: only "
                    "KV_ERR_CORRUPT");
    /* A store that takes the counts when they name the file's size. */
    value_store *vs = vlog_fuzz_store_open(vlog_fuzz_fixed, flushed, 0);
    rc = value_store_describe(vs, 1, fuzz_dbfile_ignore_line, NULL);
    vlog_fuzz_check(rc == KV_OK, "value_store_describe");
    vlog_fuzz_job(vs, 0, 0);
    vlog_fuzz_dropped(vs);
    vlog_fuzz_check(value_store_close(vs, 0) == KV_OK, "value_store_close");
    vlog_fuzz_remove(vlog_fuzz_fixed, VLOG_COUNTS_NAME);
    /* As a database's (one input in sixteen): the engine on the counts
     * made right, then kv_repair's promise on them as they are, damage
     * and all (fuzz_dbfile.h). */
    if (fuzz_dbfile_sampled(p, n)) {
        uint8_t *fixed = vlog_fuzz_copy(p, n);
        fuzz_fix_body_crc(fixed, n);
        fuzz_dbfile_run(VLOG_COUNTS_NAME, fixed, n);
        fuzz_dbfile_repair(VLOG_COUNTS_NAME, p, n);
        free(fixed);
    }
}

/* ---- a value-log file (mode 2) ---------------------------------------------------- */

void vlog_fuzz_log_file(const uint8_t *p, size_t n, int engine)
{
    uint8_t *fixed = vlog_fuzz_copy(p, n);
    fuzz_fix_file_header(fixed, n);
    fuzz_fix_wal_fragments(fixed, n, n < LSM_WAL_START ? n : LSM_WAL_START);
    vlog_fuzz_write(vlog_fuzz_input, VLOG_FUZZ_NAME, fixed, n);
    int rc = value_store_dump(vlog_fuzz_input, fuzz_dbfile_ignore_line, NULL);
    vlog_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT, "value_store_dump: only "
                    "KV_ERR_CORRUPT");
    value_store *vs = vlog_fuzz_store_open(vlog_fuzz_input, 0, 0);
    vlog_fuzz_job(vs, rc == KV_ERR_CORRUPT, 0);
    vlog_fuzz_check(value_store_close(vs, 0) == KV_OK, "value_store_close");
    vlog_fuzz_remove(vlog_fuzz_input, VLOG_FUZZ_NAME);
    /* The file as a database's (one input in sixteen): kv_open, reads,
     * kv check and kv dump, then kv_repair's promise (fuzz_dbfile.h). */
    if (engine && fuzz_dbfile_sampled(p, n)) {
        fuzz_dbfile_run(VLOG_FUZZ_NAME, fixed, n);
        fuzz_dbfile_repair(VLOG_FUZZ_NAME, fixed, n);
    }
    free(fixed);
}

/* ---- the same with the I/O layer failing a call (the mode byte's bit 3) ------ */

/* Installs io_fault over the backend in memory: every call of the I/O
 * layer counted, the nth failing with EIO (0: none fails, but files are
 * read with calls: io_fault maps none). */
void vlog_fuzz_fault(long nth)
{
    fuzz_faults_io_fail(nth, 0);
}

/* Mode 1 with a failing call: VLOGCOUNTS (its crc32c made right) and an
 * unfinished save beside it (VLOGCOUNTS.tmp) loaded by a store that may
 * write (vlog_counts_load removes both), then the counts it holds (or, if
 * it holds none, one file's) saved again, then kv dump, the nth call of
 * the three failing: each KV_OK or the failure's error, with a message; a load that
 * fails hands out nothing, one that succeeds the decoder's counts.  After
 * them, with no call failing, the file holds exactly what a save that
 * succeeded wrote, and after a failed save nothing or that. */
void vlog_fuzz_counts_faulted(const uint8_t *p, size_t n, long nth)
{
    uint8_t *fixed;
    uint64_t flushed;
    vlog_count *c;
    size_t count;
    int decodes = vlog_fuzz_counts_place(p, n, &fixed, &flushed, &c, &count);
    vlog_fuzz_write(vlog_fuzz_fixed, VLOG_COUNTS_NAME ".tmp", fixed, n / 2);
    free(fixed);
    vlog_fuzz_fault(nth);
    vlog_count *got = NULL;
    size_t ngot = 0;
    kv_error_clear();
    int rc = vlog_counts_load(vlog_fuzz_fixed, 0, flushed, &got, &ngot);
    if (!vlog_fuzz_failed(rc, 1)) {
        vlog_fuzz_check(rc == KV_OK, "vlog_counts_load: a damaged file is no error");
        vlog_fuzz_check(decodes ? ngot == count &&
                                      (count == 0 || memcmp(got, c, count * sizeof *c) == 0)
                                : ngot == 0,
                        "vlog_counts_load hands out the counts the file holds");
    } else {
        vlog_fuzz_check(got == NULL && ngot == 0, "a load that fails hands out nothing");
    }
    free(got);
    vlog_count one = {.start = 1, .bytes = VLOG_FUZZ_FILE_SIZE, .value_bytes = 1000,
                      .live_bytes = 600, .undropped = 100, .counted_at = 7};
    const vlog_count *saved = decodes && count > 0 ? c : &one;
    size_t nsaved = decodes && count > 0 ? count : 1;
    kv_error_clear();
    int save_rc = vlog_counts_save(vlog_fuzz_fixed, flushed, saved, nsaved);
    vlog_fuzz_check(save_rc == KV_OK || vlog_fuzz_failed(save_rc, 1),
                    "vlog_counts_save: KV_OK, or the failure");
    kv_error_clear();
    rc = value_store_dump(vlog_fuzz_fixed, fuzz_dbfile_ignore_line, NULL);
    vlog_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT || vlog_fuzz_failed(rc, 1),
                    "value_store_dump: KV_ERR_CORRUPT, or the failure");
    io_fault_uninstall();
    got = NULL;
    ngot = 0;
    rc = vlog_counts_load(vlog_fuzz_fixed, 1, flushed, &got, &ngot);
    vlog_fuzz_check(rc == KV_OK, "vlog_counts_load");
    vlog_fuzz_check(ngot == 0 ? save_rc != KV_OK
                              : ngot == nsaved && memcmp(got, saved, nsaved * sizeof *got) == 0,
                    "what a save wrote is read back, and what it did not write is not");
    free(got);
    free(c);
    vlog_fuzz_remove(vlog_fuzz_fixed, VLOG_COUNTS_NAME);
    vlog_fuzz_remove(vlog_fuzz_fixed, VLOG_COUNTS_NAME ".tmp");
}

/* Mode 2 with a failing call: kv dump of the value-log file, a store over
 * it and its job (which reads with calls under io_fault), each KV_OK, or
 * what mode 2 allows, or the failure's error. */
void vlog_fuzz_log_file_faulted(const uint8_t *p, size_t n, long nth)
{
    uint8_t *fixed = vlog_fuzz_copy(p, n);
    fuzz_fix_file_header(fixed, n);
    fuzz_fix_wal_fragments(fixed, n, n < LSM_WAL_START ? n : LSM_WAL_START);
    vlog_fuzz_write(vlog_fuzz_input, VLOG_FUZZ_NAME, fixed, n);
    free(fixed);
    vlog_fuzz_fault(nth);
    kv_error_clear();
    int rc = value_store_dump(vlog_fuzz_input, fuzz_dbfile_ignore_line, NULL);
    vlog_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT || vlog_fuzz_failed(rc, 1),
                    "value_store_dump: KV_ERR_CORRUPT, or the failure");
    value_store *vs = vlog_fuzz_store_open(vlog_fuzz_input, 0, 1);
    if (vs != NULL) {
        vlog_fuzz_job(vs, rc == KV_ERR_CORRUPT, 1);
        vlog_fuzz_check(value_store_close(vs, 0) == KV_OK, "value_store_close");
    }
    io_fault_uninstall();
    vlog_fuzz_remove(vlog_fuzz_input, VLOG_FUZZ_NAME);
}
