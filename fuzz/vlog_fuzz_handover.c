/*
 * vlog_fuzz_handover.c: mode 4 of fuzz/vlog_fuzz.c with bit 7 of the
 * flags byte: the files kv_open hands a value store (value_store_open)
 * and the logs it hands over after (value_store_adopt_log), then the same
 * with each call of the I/O layer failing in turn.
 *
 * The body is mode 4's (vlog_fuzz_settings): byte 0 is here `flushed`,
 * the last write the tables hold; byte 5's bit 6 a store that may write
 * (else read only); then the names.  Those of a value-log file or a log
 * are written to the input directory (64 zero bytes each), which is then
 * listed as kv_open lists it (lsm_listing_read).  The store opens over
 * the listing; then every log but the last, every value-log file and the
 * number 0, which names no file, are handed over.
 *
 * Held to, with no call failing:
 *   - a value-log file numbered past `flushed` holds nothing a table
 *     points at: a store that may write moves it to lost/ (the name gone
 *     from the directory, lost/ holding it); a read-only store keeps it;
 *   - the open is KV_ERR_CORRUPT, with a message, exactly when a log but
 *     the last has the number of a value-log file the store keeps; else
 *     KV_OK;
 *   - each handover is KV_OK, kept exactly when the store holds a file of
 *     that number (every log but the last, every value-log file it kept);
 *     a log it keeps has its value-log name afterwards exactly when the
 *     store may write (else its log name).
 * Then again from the same files, with call 1, 2, ... of the I/O layer
 * failing (io_fault), until a run reaches no failing call: every answer
 * is the one with no call failing or that call's error, with a message
 * (never KV_ERR_CORRUPT where the run without failures had none).  The
 * number of runs is what the open and its handovers call, counted by the
 * run itself: no input's outcome depends on where another part of the
 * engine happens to call the I/O layer.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "fuzz_dbfile.h"
#include "io.h"
#include "io_fault.h"
#include "kv.h"
#include "lsm_files.h"
#include "value_log.h"
#include "vlog_fuzz.h"

/* Failing runs at most: far more than an open of VLOG_FUZZ_LISTED files
 * and their handovers call. */
#define HANDOVER_RUNS_MAX 1000

/* Writes the body's names of value-log files and logs into the input
 * directory: 64 zero bytes each. */
static void handover_write(const uint8_t *p, size_t n)
{
    uint8_t zeros[64];
    memset(zeros, 0, sizeof zeros);
    size_t count = 0;
    for (size_t at = 6; count < VLOG_FUZZ_LISTED && at < n; count++) {
        size_t len = p[at];
        char name[VLOG_FUZZ_NAME_MAX + 1];
        if (n - at - 1 < len || !vlog_fuzz_good_name((const char *)p + at + 1, len))
            break;
        memcpy(name, p + at + 1, len);
        name[len] = '\0';
        uint64_t a = 0, b = 0;
        if (vlog_name_parse(name, &a) || lsm_file_parse(name, &a, &b) == LSM_FILE_WAL)
            vlog_fuzz_write(vlog_fuzz_input, name, zeros, sizeof zeros);
        at += 1 + len;
    }
}

/* Removes every file of the input directory and of its lost/. */
static void handover_clear(void)
{
    char lost[160];
    snprintf(lost, sizeof lost, "%s/lost", vlog_fuzz_input);
    vlog_fuzz_empty(lost, NULL);
    vlog_fuzz_empty(vlog_fuzz_input, "lost");
}

static int handover_exists(const char *dir, const char *name)
{
    char path[200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int exists = 0;
    vlog_fuzz_check(io_exists(path, &exists) == KV_OK, "io_exists");
    return exists;
}

/* What a run answered: the open, then each handover's answer and kept. */
typedef struct handover_answers {
    int open;
    int adopt[2 * VLOG_FUZZ_LISTED + 2], kept[2 * VLOG_FUZZ_LISTED + 2];
    size_t n;
} handover_answers;

/* Whether the store keeps value-log file `start` (a read-only store keeps
 * every one; one that may write those up to flushed). */
static int handover_keeps(uint64_t start, uint64_t flushed, int writable)
{
    return !writable || start <= flushed;
}

/* Whether the store over l holds a file numbered start: a log but the
 * last, or a value-log file it keeps. */
static int handover_holds(const lsm_listing *l, uint64_t start, uint64_t flushed, int writable)
{
    for (size_t w = 0; w + 1 < l->nwals; w++)
        if (l->wals[w].start == start)
            return 1;
    for (size_t o = 0; o < l->nothers; o++) {
        uint64_t s;
        if (vlog_name_parse(l->others[o], &s) && s == start &&
            handover_keeps(s, flushed, writable))
            return 1;
    }
    return 0;
}

/* One run over the listing l: the open, the handovers (the logs but the
 * last, the value-log files, 0), the close.  Without a failing call
 * (faulted 0), each answer is checked as the header says. */
static void handover_run(const lsm_listing *l, uint64_t flushed, int writable, int faulted,
                         handover_answers *a)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.read_only = !writable;
    db_dir d = {.path = (char *)vlog_fuzz_input};
    size_t memtable = (size_t)4 << 10;
    value_store_env env = {.dir = &d, .opt = &opt, .memtable_limit = &memtable};
    value_store *vs = NULL;
    int has_jobs = 0;
    kv_error_clear();
    a->open = value_store_open(&env, l, flushed, &vs, &has_jobs);
    vlog_fuzz_check(a->open == KV_OK || kv_errmsg()[0] != '\0', "a failed open says why");
    int twice = 0;
    for (size_t i = 0; i < l->nothers; i++) {
        uint64_t start;
        if (!vlog_name_parse(l->others[i], &start))
            continue;
        int kept = handover_keeps(start, flushed, writable);
        for (size_t w = 0; w + 1 < l->nwals; w++)
            twice |= kept && l->wals[w].start == start;
        if (!faulted)
            vlog_fuzz_check(handover_exists(vlog_fuzz_input, l->others[i]) == kept,
                            "a value-log file past flushed is set aside by a store that may "
                            "write, and only then");
    }
    if (!faulted)
        vlog_fuzz_check(twice ? a->open == KV_ERR_CORRUPT : a->open == KV_OK,
                        "the open: KV_ERR_CORRUPT exactly when a log but the last has the "
                        "number of a value-log file the store keeps");
    a->n = 0;
    for (size_t i = 0; a->open == KV_OK && i <= l->nwals + l->nothers; i++) {
        uint64_t start = 0; /* (past the listing: 0, a number no file has) */
        int is_log = i < l->nwals;
        if (is_log)
            start = l->wals[i].start;
        else if (i < l->nwals + l->nothers && !vlog_name_parse(l->others[i - l->nwals], &start))
            continue;
        int holds = handover_holds(l, start, flushed, writable);
        kv_error_clear();
        int kept = -1, rc = value_store_adopt_log(vs, start, &kept);
        a->adopt[a->n] = rc;
        a->kept[a->n++] = kept;
        vlog_fuzz_check(rc == KV_OK || kv_errmsg()[0] != '\0', "a failed handover says why");
        if (faulted)
            continue;
        vlog_fuzz_check(rc == KV_OK && kept == holds,
                        "a handover: KV_OK, kept exactly when the store holds that number");
        if (is_log && i + 1 < l->nwals) {
            char log[LSM_NAME_MAX], vlog[LSM_NAME_MAX];
            lsm_wal_name(log, start);
            vlog_file_name(vlog, sizeof vlog, start, 0);
            vlog_fuzz_check(handover_exists(vlog_fuzz_input, vlog) == writable &&
                                handover_exists(vlog_fuzz_input, log) == !writable,
                            "a log handed over has its value-log name exactly when the "
                            "store may write");
        }
    }
    vlog_fuzz_check(value_store_close(vs, 0) == KV_OK, "value_store_close");
}

/* Whether rc, of a run with a call failing, is the answer without one
 * (want) or the failure's error: not KV_ERR_CORRUPT unless want was. */
static int handover_same_or_failed(int rc, int want)
{
    return rc == want || (rc != KV_OK && (rc != KV_ERR_CORRUPT || want == KV_ERR_CORRUPT));
}

void vlog_fuzz_handover(const uint8_t *p, size_t n)
{
    if (n < 6)
        return;
    const uint64_t flushed = p[0];
    const int writable = (p[5] & 64) != 0;
    handover_clear();
    handover_write(p, n);
    lsm_listing l;
    memset(&l, 0, sizeof l);
    vlog_fuzz_check(lsm_listing_read(vlog_fuzz_input, &l) == KV_OK, "lsm_listing_read");
    handover_answers want, got;
    handover_run(&l, flushed, writable, 0, &want);
    long runs = 0, failures = 1;
    for (long nth = 1; failures > 0; nth++) {
        vlog_fuzz_check(++runs <= HANDOVER_RUNS_MAX, "the runs with a call failing end");
        handover_clear();
        handover_write(p, n);
        vlog_fuzz_fault(nth);
        handover_run(&l, flushed, writable, 1, &got);
        failures = io_fault_failures();
        io_fault_uninstall();
        vlog_fuzz_check(handover_same_or_failed(got.open, want.open),
                        "with a call failing, the open answers as without, or that "
                        "call's error");
        for (size_t i = 0; got.open == KV_OK && i < got.n && i < want.n; i++)
            vlog_fuzz_check(handover_same_or_failed(got.adopt[i], want.adopt[i]) &&
                                got.kept[i] == want.kept[i],
                            "with a call failing, a handover answers as without, or that "
                            "call's error, and keeps the same");
        if (failures == 0)
            vlog_fuzz_check(got.open == want.open && got.n == want.n,
                            "a run that reached no failing call answers as without");
    }
    lsm_listing_free(&l);
    /* (Memory emptied, lost/ with it, and the harness's directories made
     * again: no input sees another's files.) */
    fuzz_dbfile_mem_done();
    vlog_fuzz_dirs();
}
