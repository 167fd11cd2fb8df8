/*
 * fuzz_faults.h: an operation on a database directory in memory, run again
 * with each of its I/O calls failing in turn, and again with its
 * allocations failing in turn, for the harnesses whose code under test has
 * failure paths no bytes can take (a read, an append, a sync, a rename or
 * a removal that fails; a malloc that returns NULL).
 *
 * The directory is fuzz_dbfile.h's (FUZZ_DBFILE_DIR, in common/io_mem.h's
 * backend), made afresh before every run from the files given and the
 * stage's IDENTITY.  The operation runs once with its calls counted and
 * none failing (the reference), then once with call n failing (EIO, once:
 * common/io_fault.h over the backend in memory), for every
 * FUZZ_FAULTS_STEP-th n from 1 + seed % FUZZ_FAULTS_STEP up to the
 * reference's count of calls (at most FUZZ_FAULTS_MAX runs): a quarter of
 * the calls an input, a seed (the input's crc32c) choosing which, so that
 * the replay of a few dozen inputs fails each call of each operation at a
 * quarter of the cost of failing every call of every input.  After each
 * run with a failure, the harness's check gets what the operation returned
 * and the reference's answer, with the failure removed and the directory
 * as the failed run left it.  The rules every run keeps, checked here:
 *   - the operation returns KV_OK or an error, and an error comes with a
 *     message (kv_errmsg, cleared before each run);
 *   - no crash, no sanitizer report, nothing left allocated (the fuzzer's
 *     LeakSanitizer).
 * REQUIRES: no database open, the in-memory backend installed
 * (fuzz_dbfile_run_files or fuzz_dbfile_mem_reset before).
 * It also holds what every harness that fails calls in turn shares, so
 * that it is written once: which calls fail (fuzz_faults_spread), how an
 * I/O call's failure is armed (fuzz_faults_io_fail), and the message of
 * the kv call a check is about (FUZZ_SAID).
 */
#ifndef KV_FUZZ_FAULTS_H
#define KV_FUZZ_FAULTS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "fuzz_dbfile.h"

/* Empties FUZZ_DBFILE_DIR (installing the in-memory backend if it is not
 * the current one), then puts the stage's IDENTITY and files[0..n) in it. */
void fuzz_faults_place(const fuzz_dbfile *files, size_t n);

/* ---- the plans: which call fails, and how it is armed ----
 * Every harness that fails calls in turn runs its work once with them
 * counted and none failing (the reference), then again with call k
 * failing for the ks below; a harness's own loop reads
 *     long stride;
 *     for (long k = fuzz_faults_spread(calls, RUNS, seed, &stride); k <= calls; k += stride)
 * with fuzz_faults_io_fail(k, ...) or alloc_fail_at(k) armed around the
 * work. */

/* Of the `calls` calls (I/O calls, or allocations) a reference run made,
 * those a harness fails in turn: about `runs` of them, spread evenly
 * (every *stride-th), the first of them chosen by seed (the input's
 * crc32c) among the first *stride.  Returns the first. */
long fuzz_faults_spread(long calls, long runs, uint32_t seed, long *stride);

/* Installs io_fault.h over the backend in place: every call of the I/O
 * layer counted, call nth failing with EIO (0: none, the calls only
 * counted), once, or with every call after it if persistent (a disk
 * gone).  io_fault_calls() and io_fault_failures() then say what ran;
 * io_fault_uninstall() ends it. */
void fuzz_faults_io_fail(long nth, int persistent);

/* ---- what a kv call said ----
 * A broken check prints the message of the kv call it is about, read
 * right after that call, never one an earlier call left: a call made
 * through FUZZ_SAID has its message cleared before it and kept after it
 * (empty if it succeeded). */
#define FUZZ_SAID(call) (kv_error_clear(), fuzz_said_after(call))
/* Keeps kv_errmsg() if rc is an error (< 0), else nothing; returns rc. */
int fuzz_said_after(int rc);
/* The message the last call through FUZZ_SAID failed with, or "". */
const char *fuzz_said(void);

/* Every FUZZ_FAULTS_STEP-th call fails in turn; at most FUZZ_FAULTS_MAX
 * runs with a failure per operation. */
#define FUZZ_FAULTS_STEP 4
#define FUZZ_FAULTS_MAX 64

/* The operation: kv calls on FUZZ_DBFILE_DIR.  Returns KV_OK or an error. */
typedef int (*fuzz_faults_op)(void *ctx);

/* After a run in which call `failed_call` failed and the operation returned
 * rc: the reference run's answer was `clean`.  Aborts on a broken promise. */
typedef void (*fuzz_faults_check)(void *ctx, int rc, int clean, long failed_call);

/* Runs op over files[0..n) as above, check after each failed run.  Returns
 * how many runs had a call failing. */
long fuzz_faults_each_call(const fuzz_dbfile *files, size_t n, unsigned kinds, uint32_t seed,
                           fuzz_faults_op op, fuzz_faults_check check, void *ctx);

/* The failing allocator (tests/alloc/alloc_wrap.h, which every fuzz build
 * links): op runs once with its allocations counted (the reference), then
 * with allocation k failing (NULL, errno ENOMEM, once), for about
 * FUZZ_FAULTS_ALLOC_RUNS values of k spread evenly over the reference's
 * count, the first of them chosen by seed (the input's crc32c).  It is
 * armed around op alone: the harness's own allocations, and libFuzzer's,
 * never fail.  Besides the rules above, each run with a refused
 * allocation must
 *   - answer as the reference did, KV_OK, KV_ERR_NOMEM, or KV_ERR_IO (the
 *     disk in memory refusing to grow a file), with a message if an error;
 *   - pass check (a repair or an open without the failure then does what
 *     the reference did, and reads back what was written);
 *   - hold, once the directory is emptied, no more blocks than before the
 *     run (alloc_live: nothing leaked on the failure path).
 * Returns how many runs had an allocation failing. */
#define FUZZ_FAULTS_ALLOC_RUNS 8
long fuzz_faults_each_alloc(const fuzz_dbfile *files, size_t n, uint32_t seed,
                            fuzz_faults_op op, fuzz_faults_check check, void *ctx);

/* Each of the three below runs its operation under fuzz_faults_each_call
 * and then fuzz_faults_each_alloc. */

/* fuzz_faults_each_call of kv_repair: after a repair that failed, a repair
 * with no failure answers what the reference did, and if that is KV_OK a
 * strict open succeeds and kv_check finds the database intact (a repair cut
 * short by a failing disk leaves what a repair mends). */
long fuzz_faults_repair(const fuzz_dbfile *files, size_t n, uint32_t seed);

/* fuzz_faults_each_call of an open with the defaults, a put, kv_compact,
 * the put read back and a close: after one that failed, an open with no failure succeeds if the
 * reference's did (a failed open, write or close damages nothing that was
 * there), and its iterator and kv_get agree. */
long fuzz_faults_open(const fuzz_dbfile *files, size_t n, uint32_t seed);

/* fuzz_faults_each_call of kv_check, kv_dump_with(KV_DUMP_FRAMES) and a
 * read-only open's kv_inspect with KV_INSPECT_DETAIL: each answers as
 * without the failure, or with an error (and its message). */
long fuzz_faults_tools(const fuzz_dbfile *files, size_t n, uint32_t seed);

/* fuzz_faults_each_alloc of a walk that holds handles: an open with the
 * defaults, kv_snapshot_new, an iterator at the snapshot and one now,
 * each walked whole from the first key, kv_stats, kv_compact, the walk
 * at the snapshot again, then everything freed and the close.  Besides
 * fuzz_faults_each_alloc's rules: a walk that says KV_OK gives what the
 * reference's walk gave, and after a run with an allocation refused, an
 * open with nothing failing succeeds if the reference's did and its walk
 * gives what the reference's did (a failed kv_compact changes no answer).
 * For the code behind the handles (snapshots, iterators, a merge), whose
 * allocations the operations above make few of. */
long fuzz_faults_walk(const fuzz_dbfile *files, size_t n, uint32_t seed);

/* The operations above, those `ops` names, under fuzz_faults_each_alloc
 * only, for the harnesses that fail I/O calls their own way
 * (fuzz_io_sweep.h, fuzz_dbfile_tools_faulted, fuzz_dbfile_repair_faulted). */
enum {
    FUZZ_FAULTS_TOOLS = 1 << 0,  /* kv_check, kv_dump, kv_inspect */
    FUZZ_FAULTS_REPAIR = 1 << 1, /* kv_repair and its promise */
    FUZZ_FAULTS_OPEN = 1 << 2,   /* an open, a put, kv_compact, a get, a close */
    FUZZ_FAULTS_ALL = 0x7
};
long fuzz_faults_alloc(const fuzz_dbfile *files, size_t n, uint32_t seed, unsigned ops);

/* fuzz_faults_alloc where the engine may do without the file `optional`
 * names when it cannot use it (a hint: a hint it has no memory to load
 * sends it to the segment, whose damage the hint may have hidden): a run
 * with an allocation refused may also answer as the operation does, with
 * nothing failing, over the files without that one. */
long fuzz_faults_alloc_optional(const fuzz_dbfile *files, size_t n, uint32_t seed, unsigned ops,
                                const char *optional);

#endif
