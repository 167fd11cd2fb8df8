/*
 * metrics_engine_test.c: the engine's histograms on their way from
 * kv_stats to Prometheus (tools/serve/metrics_engine.h, rule 5): a
 * histogram's two kv_stats lines (histogram_stats_line,
 * histogram_buckets_line) become the very samples histogram_prometheus
 * writes from the histogram itself; a buckets line names only the bounds
 * where the count grows, and the others carry the count below them; one
 * that does not read leaves a summary, as a histogram line alone does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "histogram.h"
#include "metrics_engine.h"

typedef struct me_text {
    char buf[1 << 16];
    size_t len;
} me_text;

static void me_text_line(void *ctx, const char *line)
{
    me_text *t = ctx;
    int n = snprintf(t->buf + t->len, sizeof t->buf - t->len, "%s\n", line);
    CHECK(n > 0 && (size_t)n < sizeof t->buf - t->len);
    t->len += (size_t)n;
}

/* One histogram is 130 KiB: off the stack. */
static histogram me_h;
static histogram_counts me_c;
static me_text me_stats, me_direct, me_out;

/* The lines of `all` that start with `prefix`, in order, into out. */
static void me_lines_with(const char *all, const char *prefix, me_text *out)
{
    out->len = 0;
    out->buf[0] = '\0';
    size_t n = strlen(prefix);
    for (const char *p = all; *p != '\0';) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (strncmp(p, prefix, n) == 0) {
            CHECK(out->len + len + 2 < sizeof out->buf);
            memcpy(out->buf + out->len, p, len);
            out->len += len;
            out->buf[out->len++] = '\n';
            out->buf[out->len] = '\0';
        }
        p = eol ? eol + 1 : p + len;
    }
}

static void metrics_engine_buckets_line_gives_what_the_histogram_gives(void)
{
    histogram_init(&me_h);
    uint64_t v = 700;
    for (int i = 0; i < 5000; i++) {
        histogram_record(&me_h, v);
        v = v * 1103515245u % 40000000u + 300; /* 300 ns .. 40 ms */
    }
    histogram_read(&me_h, &me_c);
    me_stats.len = me_direct.len = me_out.len = 0;
    histogram_stats_line(&me_c, "session.get.latency", me_text_line, &me_stats);
    histogram_buckets_line(&me_c, "session.get.latency", me_text_line, &me_stats);
    CHECK_EQ(metrics_engine(me_stats.buf, me_text_line, &me_out), 0);
    harness_context("kv_stats lines:\n%.600s", me_stats.buf);
    CHECK(strstr(me_out.buf, "# TYPE kv_engine_session_get_latency_seconds histogram\n") != NULL);
    CHECK(strstr(me_out.buf, "# TYPE kv_engine_session_get_latency_seconds_max gauge\n") != NULL);
    /* The _bucket samples, +Inf and _count: the same lines as the direct
     * path writes from the histogram (the sum is in microseconds with
     * three decimals in kv_stats: compared apart). */
    histogram_prometheus(&me_c, "kv_engine_session_get_latency_seconds", NULL, me_text_line,
                         &me_direct);
    static me_text a, b;
    me_lines_with(me_out.buf, "kv_engine_session_get_latency_seconds_bucket", &a);
    me_lines_with(me_direct.buf, "kv_engine_session_get_latency_seconds_bucket", &b);
    CHECK_MSG(strcmp(a.buf, b.buf) == 0, "from kv_stats:\n%s\ndirect:\n%s", a.buf, b.buf);
    CHECK_EQ(a.len > 0, 1);
    me_lines_with(me_out.buf, "kv_engine_session_get_latency_seconds_count", &a);
    me_lines_with(me_direct.buf, "kv_engine_session_get_latency_seconds_count", &b);
    CHECK(strcmp(a.buf, b.buf) == 0);
    me_lines_with(me_out.buf, "kv_engine_session_get_latency_seconds_sum ", &a);
    double sum = strtod(a.buf + strlen("kv_engine_session_get_latency_seconds_sum "), NULL);
    CHECK(sum > (double)me_c.sum / 1e9 - 1e-6 && sum < (double)me_c.sum / 1e9 + 1e-6);
}

static void metrics_engine_carries_counts_to_bounds_not_named(void)
{
    me_out.len = 0;
    const char *text = "stage: 01-log\n"
                       "session.put.latency_us: count=10,sum=30.000,p50=2.5,p99=4,p99.9=4,max=4\n"
                       "session.put.latency_us.buckets: 2.048=3,4.096=10\n";
    CHECK_EQ(metrics_engine(text, me_text_line, &me_out), 0);
    static const char *const want[] = {
        "kv_engine_session_put_latency_seconds_bucket{le=\"0.000001024\"} 0\n",
        "kv_engine_session_put_latency_seconds_bucket{le=\"0.000001536\"} 0\n",
        "kv_engine_session_put_latency_seconds_bucket{le=\"0.000002048\"} 3\n",
        "kv_engine_session_put_latency_seconds_bucket{le=\"0.000003072\"} 3\n",
        "kv_engine_session_put_latency_seconds_bucket{le=\"0.000004096\"} 10\n",
        "kv_engine_session_put_latency_seconds_bucket{le=\"51.539607552\"} 10\n",
        "kv_engine_session_put_latency_seconds_bucket{le=\"+Inf\"} 10\n",
        "kv_engine_session_put_latency_seconds_sum 3e-05\n",
        "kv_engine_session_put_latency_seconds_count 10\n",
        "kv_engine_session_put_latency_seconds_max 4e-06\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK_MSG(strstr(me_out.buf, want[i]) != NULL, "no %s in:\n%.3000s", want[i], me_out.buf);
    /* 52 bounds and +Inf; the buckets line is no metric of its own. */
    me_text *lines = &me_direct;
    me_lines_with(me_out.buf, "kv_engine_session_put_latency_seconds_bucket", lines);
    size_t n = 0;
    for (const char *p = lines->buf; (p = strchr(p, '\n')) != NULL; p++)
        n++;
    CHECK_EQ(n, (size_t)HISTOGRAM_PROM_BOUNDS + 1);
    for (const char *p = me_out.buf; *p != '\0'; p = strchr(p, '\n') + 1)
        CHECK_MSG(*p == '#' || strncmp(p, "kv_engine_session_put_latency_seconds", 37) == 0 ||
                      strncmp(p, "kv_engine_info", 14) == 0,
                  "a sample of no family the lines give: %.80s", p);
    /* An empty histogram: every bucket 0. */
    me_out.len = 0;
    CHECK_EQ(metrics_engine("session.get.latency_us: count=0,sum=0.000,p50=0.000,p99=0.000,"
                            "p99.9=0.000,max=0.000\nsession.get.latency_us.buckets: none\n",
                            me_text_line, &me_out),
             0);
    CHECK(strstr(me_out.buf, "# TYPE kv_engine_session_get_latency_seconds histogram") != NULL);
    CHECK(strstr(me_out.buf, "_bucket{le=\"+Inf\"} 0\n") != NULL);
}

static void metrics_engine_leaves_a_summary_where_the_buckets_do_not_read(void)
{
    static const char *const bad[] = {
        "4.096=10,2.048=3",    /* bounds falling */
        "2.048=5,4.096=3",     /* counts falling */
        "2.048=3,4.096=11",    /* past the count */
        "2.048=3,x=4",         /* not a number */
        "0.0001=3",            /* no whole number of ns */
        "",                    /* nothing */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "session.put.latency_us: count=10,sum=30.000,p50=2.5,p99=4,p99.9=4,max=4\n"
                 "session.put.latency_us.buckets: %s\n", bad[i]);
        me_out.len = 0;
        CHECK_EQ(metrics_engine(text, me_text_line, &me_out), 0);
        harness_context("buckets line \"%s\":\n%.2000s", bad[i], me_out.buf);
        CHECK(strstr(me_out.buf, "# TYPE kv_engine_session_put_latency_seconds summary") != NULL);
        CHECK(strstr(me_out.buf, "kv_engine_session_put_latency_seconds{quantile=\"0.99\"} 4e-06") !=
              NULL);
        CHECK(strstr(me_out.buf, "_bucket") == NULL);
    }
    /* And a histogram line with no buckets line at all. */
    me_out.len = 0;
    CHECK_EQ(metrics_engine("x.y_us: count=2,sum=3.000,p50=1,p99=2,p99.9=2,max=2\n", me_text_line,
                            &me_out),
             0);
    CHECK(strstr(me_out.buf, "# TYPE kv_engine_x_y_seconds summary") != NULL);
}

static const harness_test tests[] = {
    HARNESS_TEST(metrics_engine_buckets_line_gives_what_the_histogram_gives),
    HARNESS_TEST(metrics_engine_carries_counts_to_bounds_not_named),
    HARNESS_TEST(metrics_engine_leaves_a_summary_where_the_buckets_do_not_read),
};
const harness_suite metrics_engine_suite = HARNESS_SUITE("metrics_engine", tests);
