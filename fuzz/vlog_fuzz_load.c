/*
 * vlog_fuzz_load.c: the value log's fuzz harness on a value read through
 * the store (mode 3: a where loaded alone, into a grown buffer and in
 * batches, each against a model of the fixed file) and on the store with
 * each of its allocations refused in turn (modes 2 and 3).  vlog_fuzz.c
 * says what an input is and what each mode checks.
 *
 * Invariants: the model's answer (vlog_fuzz_expect_of) depends on the
 * where and the fixed file alone; with an allocation refused every answer
 * is the model's or KV_ERR_NOMEM with a message, and nothing is left
 * allocated.
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


/* ---- a value read through the store (mode 3) --------------------------------- */

/* What a load of a where from the fixed file must answer, by the model. */
typedef struct vlog_fuzz_expect {
    int decodes;    /* the where decodes */
    vlog_where w;   /* (if it does) */
    int inside;     /* it names file 1, and its span lies inside the file */
    int modelled;   /* inside, and at most VLOG_FUZZ_GATHER_MAX bytes: model holds them */
    uint8_t *model; /* (malloc'd) */
    int matches;    /* modelled, and its crc32c is the model's */
} vlog_fuzz_expect;

static void vlog_fuzz_expect_of(const uint8_t *p, size_t n, vlog_fuzz_expect *e)
{
    memset(e, 0, sizeof *e);
    const char *why = NULL;
    e->decodes = vlog_where_decode(p, n, &e->w, &why) == 0;
    e->inside = e->decodes && e->w.file == 1 &&
                e->w.offset + vlog_span(&e->w) <= VLOG_FUZZ_FILE_SIZE;
    e->modelled = e->inside && e->w.len <= VLOG_FUZZ_GATHER_MAX;
    if (!e->modelled)
        return;
    e->model = malloc(e->w.len);
    vlog_fuzz_check(e->model != NULL, "malloc");
    /* The file's bytes from the offset on, each block's header left out. */
    const uint8_t *image = vlog_fuzz_image();
    for (uint64_t k = 0, o = e->w.offset; k < e->w.len;) {
        if (vlog_fuzz_in_header(o)) {
            o += WAL_HEADER_SIZE - o % WAL_BLOCK_SIZE;
            continue;
        }
        uint64_t run = WAL_BLOCK_SIZE - o % WAL_BLOCK_SIZE;
        if (run > e->w.len - k)
            run = e->w.len - k;
        memcpy(e->model + k, image + o, (size_t)run);
        k += run;
        o += run;
    }
    e->matches = crc32c_value(e->model, e->w.len) == e->w.crc;
}

/* A load's answer (rc; *val and vlen when KV_OK) held to the model: a
 * where that does not decode, names a file that is not there, or runs
 * past the file's end is KV_ERR_CORRUPT; one inside it (of at most 36 KiB)
 * is KV_OK with the bytes the model gathers exactly when its crc32c is
 * theirs; a longer one KV_OK or KV_ERR_CORRUPT.  faulted: a call of the
 * I/O layer may have failed under the load, and its error (with a
 * message, never KV_ERR_CORRUPT: the bytes are not damaged) may stand for
 * that answer; KV_OK still only with the model's bytes. */
static void vlog_fuzz_answer(const vlog_fuzz_expect *e, int rc, const uint8_t *val, size_t vlen,
                             int faulted)
{
    vlog_fuzz_check(rc == KV_OK || kv_errmsg()[0] != '\0', "an error has a message");
    if (faulted && rc != KV_OK && rc != KV_ERR_CORRUPT)
        return;
    vlog_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT,
                    "value_store_load: KV_OK or KV_ERR_CORRUPT, where no I/O call fails");
    if (!e->inside) {
        vlog_fuzz_check(rc == KV_ERR_CORRUPT, "a where that does not decode, names a file "
                        "that is not there, or runs past the file's end is KV_ERR_CORRUPT");
    } else if (e->modelled) {
        vlog_fuzz_check(e->matches ? rc == KV_OK : rc == KV_ERR_CORRUPT,
                        "a value inside the file loads exactly when its crc32c matches");
        if (rc == KV_OK)
            vlog_fuzz_check(vlen == e->w.len && memcmp(val, e->model, e->w.len) == 0,
                            "value_store_load: the value's bytes, block headers left out");
    }
}

static void vlog_fuzz_load(value_store *vs, const uint8_t *p, size_t n,
                           const vlog_fuzz_expect *e, value_buf *buf, int faulted)
{
    const uint8_t *val = NULL;
    size_t vlen = 0;
    kv_error_clear(); /* (an error must say why itself) */
    alloc_largest_reset();
    int rc = value_store_load(vs, p, n, buf, &val, &vlen);
    vlog_fuzz_check(alloc_largest() <= VLOG_FUZZ_FILE_SIZE,
                    "value_store_load: no allocation larger than the file (a where's "
                    "length sizes a buffer only once the file is seen to hold its span)");
    vlog_fuzz_answer(e, rc, val, vlen, faulted);
}

/* e's where with its crc32c made right, into out (VLOG_WHERE_MAX):
 * its length, 0 if e is not modelled. */
static size_t vlog_fuzz_crc_right(const vlog_fuzz_expect *e, uint8_t *out)
{
    if (!e->modelled)
        return 0;
    vlog_where w = e->w;
    w.crc = crc32c_value(e->model, w.len);
    return vlog_where_encode(out, &w);
}

/* A where of a value inside the file whose span is e's (the same offset
 * in an early block, the same length), its crc32c right, into out: its
 * length, 0 if there is none (e does not decode, names another file, is
 * longer than the model goes, or no early block holds it). */
static size_t vlog_fuzz_same_span(const vlog_fuzz_expect *e, uint8_t *out)
{
    if (!e->decodes || e->w.file != 1 || e->w.len > VLOG_FUZZ_GATHER_MAX)
        return 0;
    vlog_where r = e->w;
    r.offset = e->w.offset % WAL_BLOCK_SIZE;
    if (r.offset < LSM_WAL_START + WAL_HEADER_SIZE)
        r.offset += WAL_BLOCK_SIZE;
    if (r.offset + vlog_span(&r) > VLOG_FUZZ_FILE_SIZE)
        return 0;
    uint8_t enc[VLOG_WHERE_MAX];
    size_t len = vlog_where_encode(enc, &r);
    vlog_fuzz_expect re;
    vlog_fuzz_expect_of(enc, len, &re);
    len = vlog_fuzz_crc_right(&re, out);
    free(re.model);
    return len;
}

/* Values at most this long are read 16 at a time together (a batch that
 * long asks the kernel for a mapped file's pages first); longer ones 2 at
 * a time. */
#define VLOG_FUZZ_BATCH_SHORT 1024u

/* The where, and the same with its crc32c made right, read together
 * (value_store_load_many), then told ahead (value_store_read_ahead), each
 * value left for later then loaded through its buffer: every answer as
 * the model says, as a load alone gives it; into buffers a batch of
 * `same` (a value of the where's span inside the file, if slen > 0)
 * grew first. */
static void vlog_fuzz_batch(value_store *vs, const uint8_t *p, size_t n,
                            const vlog_fuzz_expect *e, const uint8_t *fixed, size_t flen,
                            const vlog_fuzz_expect *ef, const uint8_t *same, size_t slen,
                            int faulted)
{
    enum { MAX = 16 };
    size_t m = !e->decodes || e->w.len <= VLOG_FUZZ_BATCH_SHORT ? MAX : 2;
    const uint8_t *where[MAX], *vals[MAX];
    size_t wlen[MAX], vlens[MAX];
    const vlog_fuzz_expect *ex[MAX];
    value_buf bufs[MAX];
    int rcs[MAX];
    memset(bufs, 0, sizeof bufs);
    for (size_t i = 0; i < m; i++) {
        int alt = i % 2 == 1 && flen > 0;
        where[i] = alt ? fixed : p;
        wlen[i] = alt ? flen : n;
        ex[i] = alt ? ef : e;
    }
    /* The buffers first grown by a batch of a value of the same span
     * inside the file (when there is one), as a scan's are by the values
     * before: then only the reads meet the file's end. */
    if (slen > 0) {
        const uint8_t *sw[MAX];
        size_t sl[MAX];
        for (size_t i = 0; i < m; i++) {
            sw[i] = same;
            sl[i] = slen;
        }
        kv_error_clear();
        int rc = value_store_load_many(vs, m, sw, sl, bufs, vals, vlens, rcs);
        vlog_fuzz_check(rc == KV_OK || vlog_fuzz_failed(rc, faulted),
                        "a batch of a value inside the file loads");
    }
    /* No values at all: nothing to read, KV_OK. */
    vlog_fuzz_check(value_store_load_many(vs, 0, where, wlen, bufs, vals, vlens, rcs) == KV_OK &&
                        value_store_read_ahead(vs, 0, where, wlen, bufs, vals, vlens, rcs) ==
                            KV_OK,
                    "a batch of no values is KV_OK");
    for (int ahead = 0; ahead < 2; ahead++) {
        kv_error_clear();
        int first = ahead ? value_store_read_ahead(vs, m, where, wlen, bufs, vals, vlens, rcs)
                          : value_store_load_many(vs, m, where, wlen, bufs, vals, vlens, rcs);
        int want_first = KV_OK;
        for (size_t i = 0; i < m && want_first == KV_OK; i++)
            want_first = rcs[i];
        vlog_fuzz_check(first == want_first, "a batch returns its first error");
        for (size_t i = 0; i < m; i++) {
            if (ahead && rcs[i] == KV_OK && vals[i] == NULL) { /* left for the load */
                kv_error_clear();
                rcs[i] = value_store_load(vs, where[i], wlen[i], &bufs[i], &vals[i], &vlens[i]);
            }
            vlog_fuzz_answer(ex[i], rcs[i], vals[i], vlens[i], faulted);
        }
    }
    for (size_t i = 0; i < m; i++) {
        value_store_let_go(vs, &bufs[i]);
        value_buf_free(&bufs[i]);
    }
}

/* Mode 3: the where loaded by a store over the fixed file, alone, with
 * its crc32c made right, into a buffer an earlier value of the same span
 * grew (as a scan's buffer serves key after key: only the read, not the
 * buffer's growth, then meets the file's end), and in batches; described
 * and dropped.  faulted: the I/O layer is io_fault's (it reads with
 * calls, no file is mapped), whose plan may fail one of them. */
void vlog_fuzz_store(const uint8_t *p, size_t n, int faulted)
{
    value_store *vs = vlog_fuzz_store_open(vlog_fuzz_fixed, 0, faulted);
    if (vs == NULL)
        return;
    uint64_t pin = value_store_pin(vs);
    vlog_fuzz_expect e, ef;
    vlog_fuzz_expect_of(p, n, &e);
    value_buf buf = {0};
    vlog_fuzz_load(vs, p, n, &e, &buf, faulted);
    value_buf_free(&buf);
    uint8_t fixed[VLOG_WHERE_MAX], same[VLOG_WHERE_MAX];
    size_t flen = vlog_fuzz_crc_right(&e, fixed);
    vlog_fuzz_expect_of(fixed, flen, &ef);
    if (flen > 0) {
        vlog_fuzz_check(ef.matches, "a where's crc32c made right matches");
        vlog_fuzz_load(vs, fixed, flen, &ef, &buf, faulted);
        value_buf_free(&buf);
    }
    size_t slen = vlog_fuzz_same_span(&e, same);
    if (slen > 0) {
        vlog_fuzz_expect es;
        vlog_fuzz_expect_of(same, slen, &es);
        vlog_fuzz_load(vs, same, slen, &es, &buf, faulted);
        vlog_fuzz_load(vs, p, n, &e, &buf, faulted);
        value_buf_free(&buf);
        free(es.model);
    }
    vlog_fuzz_batch(vs, p, n, &e, fixed, flen, &ef, same, slen, faulted);
    vlog_fuzz_check(value_store_value_size(vs, p, n) == (e.decodes ? e.w.len : 0),
                    "value_store_value_size: the where's length, 0 if it does not decode");
    size_t dlen = 0;
    int d = value_store_describe_value(vs, p, n, &dlen, fuzz_dbfile_ignore_line, NULL);
    vlog_fuzz_check(e.decodes ? d == KV_OK && dlen == e.w.len : d == KV_ERR_CORRUPT,
                    "value_store_describe_value: KV_OK with the length, exactly when the "
                    "where decodes");
    value_store_dropped(vs, p, n);
    free(e.model);
    free(ef.model);
    value_store_unpin(vs, pin);
    vlog_fuzz_check(value_store_close(vs, 0) == KV_OK, "value_store_close");
}

/* ---- allocations refused (modes 2 and 3) ------------------------------------------ */

/* What a reading answered (vlog_fuzz_alloc_job, vlog_fuzz_alloc_loads):
 * each step's rc, and a crc32c over what it gave. */
#define VLOG_FUZZ_STEPS 6
typedef struct vlog_fuzz_answers {
    int rc[VLOG_FUZZ_STEPS];
    uint32_t gave;
} vlog_fuzz_answers;

/* Whether got is want, or a refusal's error: KV_ERR_NOMEM (or KV_ERR_IO,
 * the disk in memory refusing), with a message (vlog_fuzz_told). */
static int vlog_fuzz_refused(int got, int want)
{
    return got == want || got == KV_ERR_NOMEM || got == KV_ERR_IO;
}

/* An error comes with a message, read at once. */
static int vlog_fuzz_told(int rc)
{
    vlog_fuzz_check(rc == KV_OK || kv_errmsg()[0] != '\0', "an error comes with a message");
    return rc;
}

/* Mode 2's store over the input directory and its job: the open, the
 * pick, the job's end; gave: the wheres and lengths of its values. */
static void vlog_fuzz_alloc_job(vlog_fuzz_answers *a)
{
    memset(a, 0, sizeof *a);
    value_store *vs = NULL;
    a->rc[0] = vlog_fuzz_told(vlog_fuzz_store_try(vlog_fuzz_input, 0, &vs));
    a->rc[1] = a->rc[2] = a->rc[0]; /* (a step not taken answers as the one that failed) */
    value_job *job = NULL;
    if (a->rc[0] == KV_OK) {
        kv_error_clear();
        a->rc[1] = a->rc[2] = vlog_fuzz_told(value_store_pick(vs, UINT64_MAX, &job));
    }
    if (job != NULL) {
        value_move m;
        int got;
        kv_error_clear();
        while ((got = value_store_job_next(job, &m)) == 1) {
            const uint8_t *val = NULL;
            size_t vlen = 0;
            kv_error_clear();
            int rc = vlog_fuzz_told(value_store_job_value(job, &val, &vlen));
            if (rc != KV_OK) {
                got = rc;
                break;
            }
            a->gave = crc32c_extend(crc32c_extend(a->gave, m.where, m.wlen), val, vlen);
            value_store_job_result(job, VALUE_LIVE);
            kv_error_clear();
        }
        a->rc[2] = vlog_fuzz_told(got < 0 ? got : KV_OK);
        value_store_job_end(vs, job, 1, a->rc[2]);
    }
    vlog_fuzz_check(value_store_close(vs, 0) == KV_OK, "value_store_close");
}

/* Mode 3's loads of the where p[0, n) by a store over the fixed file:
 * alone, then with its crc-right copy in a batch and told ahead (each
 * value's rc a step); gave: the values loaded. */
static void vlog_fuzz_alloc_loads(const uint8_t *p, size_t n, const uint8_t *fixed, size_t flen,
                                  vlog_fuzz_answers *a)
{
    memset(a, 0, sizeof *a);
    value_store *vs = NULL;
    a->rc[0] = vlog_fuzz_told(vlog_fuzz_store_try(vlog_fuzz_fixed, 0, &vs));
    for (int i = 1; i < VLOG_FUZZ_STEPS; i++)
        a->rc[i] = a->rc[0]; /* (steps not taken) */
    if (a->rc[0] == KV_OK) {
        value_buf buf = {0};
        const uint8_t *val = NULL;
        size_t vlen = 0;
        kv_error_clear();
        a->rc[1] = vlog_fuzz_told(value_store_load(vs, p, n, &buf, &val, &vlen));
        if (a->rc[1] == KV_OK)
            a->gave = crc32c_extend(a->gave, val, vlen);
        value_buf_free(&buf);
        const uint8_t *where[2] = {p, flen > 0 ? fixed : p}, *vals[2];
        size_t wlen[2] = {n, flen > 0 ? flen : n}, vlens[2];
        int rcs[2];
        for (int ahead = 0; ahead < 2; ahead++) {
            value_buf bufs[2];
            memset(bufs, 0, sizeof bufs);
            kv_error_clear();
            (void)vlog_fuzz_told(ahead ? value_store_read_ahead(vs, 2, where, wlen, bufs, vals,
                                                                 vlens, rcs)
                                       : value_store_load_many(vs, 2, where, wlen, bufs, vals,
                                                               vlens, rcs));
            for (int i = 0; i < 2; i++) {
                a->rc[2 + 2 * ahead + i] = rcs[i];
                if (rcs[i] == KV_OK && vals[i] != NULL)
                    a->gave = crc32c_extend(a->gave, vals[i], vlens[i]);
                value_store_let_go(vs, &bufs[i]);
                value_buf_free(&bufs[i]);
            }
        }
    }
    vlog_fuzz_check(value_store_close(vs, 0) == KV_OK, "value_store_close");
}

/* Readings with an allocation refused, at most, per input. */
#define VLOG_FUZZ_ALLOC_RUNS 48

/* Mode 2's job (mode 2) or mode 3's loads once with their allocations
 * counted, then with allocation k refused (tests/alloc/alloc_wrap.h:
 * NULL, once), for every k if there are at most VLOG_FUZZ_ALLOC_RUNS,
 * else that many spread evenly, the first by seed: each step answers as
 * without the refusal or KV_ERR_NOMEM, with a message; where every step
 * answered KV_OK, what they gave is the same; nothing is left allocated. */
void vlog_fuzz_alloc_faults(int mode, const uint8_t *p, size_t n, uint32_t seed)
{
    uint8_t fixed[VLOG_WHERE_MAX];
    size_t flen = 0;
    if (mode == 2) {
        uint8_t *file = vlog_fuzz_copy(p, n);
        fuzz_fix_file_header(file, n);
        fuzz_fix_wal_fragments(file, n, n < LSM_WAL_START ? n : LSM_WAL_START);
        vlog_fuzz_write(vlog_fuzz_input, VLOG_FUZZ_NAME, file, n);
        free(file);
    } else {
        vlog_fuzz_expect e;
        vlog_fuzz_expect_of(p, n, &e);
        flen = vlog_fuzz_crc_right(&e, fixed);
        free(e.model);
    }
    vlog_fuzz_answers want, got;
    alloc_fail_at(LONG_MAX);
    if (mode == 2)
        vlog_fuzz_alloc_job(&want);
    else
        vlog_fuzz_alloc_loads(p, n, fixed, flen, &want);
    long calls = alloc_calls();
    alloc_disarm();
    long stride;
    for (long k = fuzz_faults_spread(calls, VLOG_FUZZ_ALLOC_RUNS, seed, &stride); k <= calls;
         k += stride) {
        long live = alloc_live();
        alloc_fail_at(k);
        if (mode == 2)
            vlog_fuzz_alloc_job(&got);
        else
            vlog_fuzz_alloc_loads(p, n, fixed, flen, &got);
        if (!alloc_disarm())
            break; /* this reading made fewer allocations */
        int all_ok = 1;
        for (int i = 0; i < VLOG_FUZZ_STEPS; i++) {
            vlog_fuzz_check(vlog_fuzz_refused(got.rc[i], want.rc[i]),
                            "an allocation refused: each step's answer without it, or "
                            "KV_ERR_NOMEM");
            all_ok &= got.rc[i] == want.rc[i];
        }
        vlog_fuzz_check(!all_ok || got.gave == want.gave,
                        "an allocation refused: steps that answer as without it give the same");
        vlog_fuzz_check(alloc_live() == live, "an allocation refused: nothing left allocated");
    }
    vlog_fuzz_remove(vlog_fuzz_input, VLOG_FUZZ_NAME);
}
