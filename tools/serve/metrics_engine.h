/*
 * metrics_engine.h: the engine's kv_stats text as Prometheus metrics, by
 * one rule, so that a line a stage adds later is exported without a
 * change here.  docs/metrics.md states the rule with examples; in short:
 *
 *   - each "name: value" line whose value is a number is a sample of
 *     kv_engine_<name>, the name's '.' and other characters that cannot
 *     be in a metric name written '_';
 *   - units become base units: a word ms, us or ns of the name becomes
 *     "seconds" (value / 10^3, 10^6, 10^9), kb, mb or gb "bytes" (value
 *     * 2^10, 2^20, 2^30); after "per" the value is divided instead, and
 *     the word is "second" or "byte";
 *   - a counter is a line whose first word is session, flush or compact
 *     (what the engine did: since the open, or since the database was
 *     created; docs/04-lsm.md) and none of whose words is avg, per,
 *     largest, max, min or amplification (figures derived from
 *     counters); its name ends in _total (a last word "count" becomes
 *     "total").  Every other line is a gauge (a last word "count" is
 *     dropped: tables.count is kv_engine_tables);
 *   - a table: a line "W-s: W col col ... | totals: col ..." (its value
 *     starts with a word W and names columns) and lines "W.X: n n ... |
 *     n ..." with as many numbers give, per column, kv_engine_W_col{W="X"}
 *     (level.3's bytes: kv_engine_level_bytes{level="3"}); columns after
 *     "totals:" are counters;
 *   - a histogram line "NAME_us: count=N,sum=S,p50=..,p99=..,max=M"
 *     (histogram_stats_line, common/histogram.h) with its buckets line
 *     "NAME_us.buckets: B=N,..." (histogram_buckets_line) is a histogram
 *     kv_engine_NAME_seconds: _bucket{le="..."} at each of histogram.h's
 *     HISTOGRAM_PROM_BOUNDS bounds (and any other the line names; one not
 *     named counts what the bound below it counts), +Inf, _sum, _count;
 *     without a buckets line (or with one that does not read: bounds not
 *     growing, counts falling or past the count) a summary
 *     kv_engine_NAME_seconds{quantile="0.5"}..., _sum and _count; either
 *     way a gauge kv_engine_NAME_seconds_max;
 *   - the line "stage: S" is kv_engine_info{stage="S"} 1; other lines
 *     whose value is not a number are left out;
 *   - a metric that two lines would name (with the same labels) is the
 *     first one's.
 * Each family has a # HELP naming the kv_stats line it came from, and a
 * # TYPE; its samples are written together.
 */
#ifndef KV_SERVE_METRICS_ENGINE_H
#define KV_SERVE_METRICS_ENGINE_H

/* Writes the families for kv_stats text `text`, one line at a time (no
 * newline) through `line`.  0, or -1 when out of memory (then some
 * families may be missing, never half of one). */
int metrics_engine(const char *text, void (*line)(void *ctx, const char *line), void *ctx);

#endif
