/*
 * main.c: unit tests of common/ (checksums, integer coding, log records, the
 * I/O layer, its batched reads on both backends, the choice of backend and
 * its fallback, its fault-injecting backend, its in-memory backend, the export stream, the latency
 * histogram and its way to Prometheus through kv_stats, tools/serve's
 * metrics_engine.c, and bench/model_disk.c, the slow disk limiter_latency
 * runs on, and the search over key fences),
 * build/common_test.
 * Usage: common_test [NAME-FILTER]
 */
#include "../harness.h"

extern const harness_suite crc32c_suite;
extern const harness_suite coding_suite;
extern const harness_suite log_record_suite;
extern const harness_suite log_damage_suite;
extern const harness_suite file_start_suite;
extern const harness_suite io_suite;
extern const harness_suite io_fault_suite;
extern const harness_suite io_sim_suite;
extern const harness_suite io_batch_suite;
extern const harness_suite io_mount_suite;
extern const harness_suite io_mem_suite;
extern const harness_suite identity_suite;
extern const harness_suite export_format_suite;
extern const harness_suite histogram_suite;
extern const harness_suite metrics_engine_suite;
extern const harness_suite model_disk_suite;
extern const harness_suite key_fence_suite;

int main(int argc, char **argv)
{
    static const harness_suite *const suites[] = {
        &crc32c_suite, &coding_suite, &log_record_suite, &log_damage_suite, &file_start_suite, &io_suite, &io_fault_suite, &io_sim_suite,
        &io_batch_suite, &io_mount_suite, &io_mem_suite,
        &identity_suite,
        &export_format_suite,
        &histogram_suite, &metrics_engine_suite, &model_disk_suite, &key_fence_suite,
    };
    return harness_main(argc, argv, suites, sizeof suites / sizeof suites[0]);
}
