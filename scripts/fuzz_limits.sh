# fuzz_limits.sh: the limits every libFuzzer run of the project works
# under, and what counts as a finding besides a crash.  Sourced (". 
# scripts/fuzz_limits.sh") by scripts/fuzz_smoke.sh, scripts/fuzz_mutants.sh
# and tests/fuzz_findings_test.sh, so that the three judge alike; the replay
# drivers (fuzz/replay_main.c) read the same variables, exported here, so an
# input libFuzzer saved for breaking a limit breaks it in `make test` too.
#
#   KV_FUZZ_TIMEOUT    seconds one input may run (default 10): -timeout;
#                      past it libFuzzer saves timeout-...
#   KV_FUZZ_SLOW_S     seconds from which an input is a slow unit (default
#                      1): -report_slow_units, saved as slow-unit-...;
#                      libFuzzer itself goes on, fuzz_limits_findings fails
#                      the run.  An input of a few kilobytes that takes a
#                      second is a hang in the making (a loop bounded by a
#                      length the input claims, an allocation touched page
#                      by page), not a slow machine.
#   KV_FUZZ_RSS_MB     resident memory of the process (default 2048):
#                      -rss_limit_mb, saved as oom-...
#   KV_FUZZ_MALLOC_MB  the largest single allocation (default 64):
#                      -malloc_limit_mb, saved as oom-...  The inputs are
#                      kilobytes, the engine's own buffers a few megabytes:
#                      an allocation of more was sized by a length the
#                      input claims, and is the finding, even where the
#                      machine could grant it.
# The harnesses do not cap what the code under test must cap: a raw size or
# a count the code lets through reaches its allocation, and this limit.

fuzz_timeout=${KV_FUZZ_TIMEOUT:-10}
fuzz_slow_s=${KV_FUZZ_SLOW_S:-1}
fuzz_rss_mb=${KV_FUZZ_RSS_MB:-2048}
fuzz_malloc_mb=${KV_FUZZ_MALLOC_MB:-64}
KV_FUZZ_TIMEOUT=$fuzz_timeout KV_FUZZ_SLOW_S=$fuzz_slow_s
KV_FUZZ_RSS_MB=$fuzz_rss_mb KV_FUZZ_MALLOC_MB=$fuzz_malloc_mb
export KV_FUZZ_TIMEOUT KV_FUZZ_SLOW_S KV_FUZZ_RSS_MB KV_FUZZ_MALLOC_MB

# libFuzzer's flags for these limits.
fuzz_limit_flags="-timeout=$fuzz_timeout -report_slow_units=$fuzz_slow_s -rss_limit_mb=$fuzz_rss_mb -malloc_limit_mb=$fuzz_malloc_mb"

# fuzz_target_flags STAGE:TARGET: libFuzzer's flags of one pair beyond the
# limits.  The API harness (fuzz/api_fuzz.c) runs without the entropic
# schedule (-entropic=0): each of its inputs touches some 25,000 features
# (a whole engine's counters), and the schedule's count of each feature's
# frequency (InputCorpus::UpdateFeatureFrequency) took a third of its
# processor time; without it the harness runs about 1.7 times the inputs a
# processor second and reached as many edges in 15 s (docs/fuzzing.md,
# "Harness speed").  So do stage 09's two table harnesses, whose inputs
# drive the engine's tools and repair: the schedule was a quarter to a
# third of their processor time.
fuzz_target_flags() {
    case $1 in
    *:api | 09-cache:table | 09-cache:table_blocks) echo "-entropic=0" ;;
    esac
}

# What libFuzzer saves, by the prefix of the file's name: every one is a
# finding.
fuzz_artifact_kinds='crash|leak|timeout|oom|slow-unit'

# fuzz_limits_findings LOG: prints what in a libFuzzer log is a finding
# that libFuzzer itself does not stop for (a slow unit), one line; prints
# nothing when there is none.
fuzz_limits_findings() {
    slow=$(grep -E '^Slowest unit: [0-9]+ s' "$1" | tail -n 1 | sed -n 's/^Slowest unit: \([0-9]*\) s.*/\1/p')
    if [ -n "$slow" ]; then
        echo "a slow unit: an input ran $slow s (KV_FUZZ_SLOW_S=$fuzz_slow_s), saved as slow-unit-..."
    fi
}
