/*
 * main.c: build/wasm/<stage>/kvtest.js, the stage suite of tests/main.c
 * compiled to WebAssembly and run under node by `make test-wasm`
 * (docs/lab.md): the same tests, through include/kv.h, on the engine as
 * the lab runs it, over emscripten's in-memory file system
 * (common/io_posix_wasm.c).
 *
 * Left out, because a WebAssembly module built without threads is one
 * process with one thread: the suites that start threads (concurrency,
 * concurrency_snapshot, stress, inspect_race: pthread_create fails there),
 * the two tests of the transaction suite that do, the three of the
 * latency suite that do (one records from several threads, one shows
 * that another thread's lookups count apart, one needs a thread that has
 * timed nothing yet), and the few tests that
 * fork a second process (listed below, each with what it needs).
 * Everything else runs as it does natively, on stages 04 on with their
 * background work done on the writer's thread (KV_BG_INLINE, lsm_bg.c).
 * Usage: node kvtest.js [NAME-FILTER]
 */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"

extern const harness_suite conformance_suite;
extern const harness_suite iterator_suite;
extern const harness_suite snapshot_suite;
extern const harness_suite lifecycle_suite;
extern const harness_suite batch_suite;
extern const harness_suite model_suite;
extern const harness_suite fault_suite;
extern const harness_suite badfile_suite;
extern const harness_suite tools_suite;
extern const harness_suite sweep_suite;
extern const harness_suite stage_caps_suite;
extern const harness_suite inspect_suite;
extern const harness_suite txn_suite;
extern const harness_suite multi_get_suite;
extern const harness_suite latency_suite;

/* Tests that fork (a child process that holds the lock, dies holding it,
 * or dies after a put to leave a torn tail), and tests that start threads
 * (transactions committed from several threads at once, kv_multi_get with
 * a writer running). */
static const char *const wasm_left_out[] = {
    "second_open_in_other_process_is_busy",
    "lock_is_released_when_holder_dies",
    "strict_recovery_refuses_torn_tail",
    "read_only_leaves_torn_tail_in_place",
    "recover_drops_torn_tail",
    "concurrent_increments_lose_nothing",
    "concurrent_transfers_keep_the_total",
    "multi_get_with_a_writer_sees_acknowledged_writes",
    "latency_counts_threads_recording_at_once",
    "cost_counts_this_threads_lookups_until_reset",
    "cost_times_one_lookup_in_8_until_the_thread_resets",
};

static int wasm_skipped(const char *name)
{
    for (size_t i = 0; i < sizeof wasm_left_out / sizeof wasm_left_out[0]; i++)
        if (strcmp(name, wasm_left_out[i]) == 0)
            return 1;
    return 0;
}

/* A copy of s without the tests left out. */
static harness_suite wasm_filter(const harness_suite *s)
{
    harness_test *kept = calloc(s->count ? s->count : 1, sizeof *kept);
    size_t n = 0;
    for (size_t i = 0; kept != NULL && i < s->count; i++)
        if (!wasm_skipped(s->tests[i].name))
            kept[n++] = s->tests[i];
    return (harness_suite){s->name, kept, kept ? n : 0};
}

int main(int argc, char **argv)
{
    static const harness_suite *const all[] = {
        &stage_caps_suite, &conformance_suite, &iterator_suite, &snapshot_suite,
        &lifecycle_suite,  &batch_suite,       &model_suite,    &fault_suite,
        &badfile_suite,    &tools_suite,       &sweep_suite,    &inspect_suite,
        &txn_suite,        &multi_get_suite,   &latency_suite,
    };
    enum { N = sizeof all / sizeof all[0] };
    static harness_suite kept[N];
    static const harness_suite *suites[N];
    for (size_t i = 0; i < N; i++) {
        kept[i] = wasm_filter(all[i]);
        suites[i] = &kept[i];
    }
    return harness_main(argc, argv, suites, N);
}
