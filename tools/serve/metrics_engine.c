/*
 * metrics_engine.c: kv_stats text to Prometheus metrics, by the rule of
 * metrics_engine.h.  Two passes: the lines become samples (name, labels,
 * value, and which family: its name, type and where it came from), then
 * the samples are written family by family, in the order the families
 * first appeared.  The text is read from a copy cut into lines in place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"
#include "metrics_engine.h"

enum { T_GAUGE, T_COUNTER, T_SUMMARY, T_HISTOGRAM };
static const char *const type_names[] = {"gauge", "counter", "summary", "histogram"};

typedef struct me_family {
    char name[128];
    char from[192];      /* the kv_stats line(s), for # HELP */
    int type;
} me_family;

typedef struct me_sample {
    char name[160];      /* the family, or family_sum, _count, _bucket */
    char labels[160];    /* 'a="b"', or "" */
    double value;
    size_t family;       /* its index in me_out.f */
} me_sample;

typedef struct me_out {
    me_sample *s;
    size_t n, cap;
    me_family *f;        /* in the order they first appeared */
    size_t nf, fcap;
    int failed;
} me_out;

/* A line of the text: name and value, pointing into a copy of the text. */
typedef struct me_line {
    char *name;
    char *value;
} me_line;

/* Cuts the line [line, line + len) of the copy into name and value (the
 * ':' and the end of the line become NULs); 0 if it is no "name: value". */
static int me_split(char *line, size_t len, me_line *l)
{
    char *colon = memchr(line, ':', len);
    if (colon == NULL || colon == line || colon - line >= 128)
        return 0;
    line[len] = '\0';
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ')
        v++;
    l->name = line;
    l->value = v;
    return 1;
}

/* 1 if s is a decimal number ("12", "-3", "0.25"), its value in *v. */
static int me_number(const char *s, double *v)
{
    const char *p = s;
    if (*p == '-')
        p++;
    int digits = 0, dot = 0;
    for (; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p == '.' && !dot)
            dot = 1;
        else
            return 0;
    }
    if (digits == 0)
        return 0;
    *v = strtod(s, NULL);
    return 1;
}

/* The words of a name: lower case, split at '.', '_' and anything that
 * cannot be in a metric name.  Returns how many (at most max). */
static size_t me_words(const char *name, char words[][40], size_t max)
{
    size_t n = 0, len = 0;
    for (const char *p = name;; p++) {
        char ch = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
        int part = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (part && n < max && len + 1 < sizeof words[0]) {
            words[n][len++] = ch;
        } else if (!part && len > 0) {
            words[n++][len] = '\0';
            len = 0;
        }
        if (*p == '\0')
            break;
    }
    return n;
}

/* Applies the unit rule to the words in place; the factor to multiply by. */
static double me_units(char words[][40], size_t n)
{
    double f = 1;
    int per = 0;
    for (size_t i = 0; i < n; i++) {
        double u = 0;
        const char *base = NULL;
        if (strcmp(words[i], "ms") == 0)
            u = 1e-3, base = "second";
        else if (strcmp(words[i], "us") == 0)
            u = 1e-6, base = "second";
        else if (strcmp(words[i], "ns") == 0)
            u = 1e-9, base = "second";
        else if (strcmp(words[i], "kb") == 0)
            u = 1024.0, base = "byte";
        else if (strcmp(words[i], "mb") == 0)
            u = 1024.0 * 1024, base = "byte";
        else if (strcmp(words[i], "gb") == 0)
            u = 1024.0 * 1024 * 1024, base = "byte";
        if (base != NULL) {
            f = per ? f / u : f * u;
            snprintf(words[i], sizeof words[i], "%s%s", base, per ? "" : "s");
        }
        per = strcmp(words[i], "per") == 0;
    }
    return f;
}

/* 1 if a word marks a figure derived from counters (a gauge). */
static int me_derived(char words[][40], size_t n)
{
    static const char *const marks[] = {"avg", "per", "largest", "max", "min", "amplification"};
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++)
            if (strcmp(words[i], marks[k]) == 0)
                return 1;
    return 0;
}

/* The metric name: kv_engine_ and the words, with the type's ending. */
static void me_name(char words[][40], size_t n, int type, char *out, size_t cap)
{
    size_t last = n;
    const char *end = "";
    if (type == T_COUNTER) {
        end = "_total";
        if (n > 1 && strcmp(words[n - 1], "count") == 0)
            last = n - 1;
    } else if (type == T_GAUGE && n > 1 && strcmp(words[n - 1], "count") == 0) {
        last = n - 1;
    }
    size_t at = (size_t)snprintf(out, cap, "kv_engine");
    for (size_t i = 0; i < last && at < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "_%s", words[i]);
    if (at < cap && type == T_GAUGE && n > 0) {
        const char *w = words[last - 1];
        if (strcmp(w, "total") == 0 || strcmp(w, "sum") == 0 || strcmp(w, "bucket") == 0 ||
            strcmp(w, "count") == 0)
            end = "_value"; /* names a gauge may not end with */
    }
    if (at < cap)
        snprintf(out + at, cap - at, "%s", end);
}

/* Writes a label value escaped (\\, \", \n). */
static void me_label(char *out, size_t cap, const char *key, const char *value)
{
    size_t at = (size_t)snprintf(out, cap, "%s=\"", key);
    for (const char *p = value; *p != '\0' && at + 3 < cap; p++) {
        if (*p == '\\' || *p == '"' || *p == '\n')
            out[at++] = '\\';
        out[at++] = *p == '\n' ? 'n' : *p;
    }
    if (at + 1 < cap)
        out[at++] = '"';
    out[at < cap ? at : cap - 1] = '\0';
}

/* Grows an array of *cap elements of `size` bytes to hold n + 1. */
static int me_grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 1;
    size_t want = *cap == 0 ? 64 : *cap * 2;
    void *grown = realloc(*p, want * size);
    if (grown == NULL)
        return 0;
    *p = grown;
    *cap = want;
    return 1;
}

/* A sample of `family` (made if new; a family of another type already
 * there takes nothing).  Unless `unique` (the caller knows it is new), a
 * sample of the same name and labels already there is kept instead. */
static void me_put(me_out *o, const char *family, const char *name, const char *labels,
                   const char *from, double value, int type, int unique)
{
    /* Most samples follow one of their family's (a histogram's buckets). */
    size_t fi = o->n > 0 && strcmp(o->f[o->s[o->n - 1].family].name, family) == 0
                    ? o->s[o->n - 1].family
                    : 0;
    while (fi < o->nf && strcmp(o->f[fi].name, family) != 0)
        fi++;
    if (fi < o->nf && o->f[fi].type != type)
        return;
    for (size_t i = 0; !unique && fi < o->nf && i < o->n; i++)
        if (o->s[i].family == fi && strcmp(o->s[i].name, name) == 0 &&
            strcmp(o->s[i].labels, labels) == 0)
            return; /* the first line that names it has it */
    if (fi == o->nf) {
        if (!me_grow((void **)&o->f, &o->fcap, o->nf, sizeof *o->f)) {
            o->failed = 1;
            return;
        }
        me_family *f = &o->f[o->nf++];
        snprintf(f->name, sizeof f->name, "%s", family);
        snprintf(f->from, sizeof f->from, "%s", from);
        f->type = type;
    }
    if (!me_grow((void **)&o->s, &o->cap, o->n, sizeof *o->s)) {
        o->failed = 1;
        return;
    }
    me_sample *s = &o->s[o->n++];
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->labels, sizeof s->labels, "%s", labels);
    s->value = value;
    s->family = fi;
}

static void me_add(me_out *o, const char *family, const char *name, const char *labels,
                   const char *from, double value, int type)
{
    me_put(o, family, name, labels, from, value, type, 0);
}

/* 1 if a family of that name is there. */
static int me_has_family(const me_out *o, const char *family)
{
    for (size_t fi = 0; fi < o->nf; fi++)
        if (strcmp(o->f[fi].name, family) == 0)
            return 1;
    return 0;
}

/* A "name: number" line. */
static void me_scalar(me_out *o, const me_line *l, double v)
{
    char words[16][40], family[128], from[96];
    size_t n = me_words(l->name, words, 16);
    if (n == 0)
        return;
    int counter = (strcmp(words[0], "session") == 0 || strcmp(words[0], "flush") == 0 ||
                   strcmp(words[0], "compact") == 0) && !me_derived(words, n);
    double f = me_units(words, n);
    int type = counter ? T_COUNTER : T_GAUGE;
    me_name(words, n, type, family, sizeof family);
    snprintf(from, sizeof from, "kv_stats line %s", l->name);
    me_add(o, family, family, "", from, v * f, type);
}

/* The buckets line of a histogram line ("NAME.buckets: B=N,B=N,..."),
 * f the histogram's unit in seconds, read into cumulative counts at
 * bounds in ns (at most HISTOGRAM_PROM_BOUNDS, growing); how many, or -1
 * if it is not one: a bound that is no whole number of ns or does not
 * grow, a count that falls or passes `count`. */
static int me_buckets(const char *value, double f, double count, uint64_t *bound, double *below)
{
    if (strcmp(value, "none") == 0)
        return 0;
    if (*value == '\0')
        return -1;
    int n = 0;
    for (const char *p = value; *p != '\0'; n++) {
        char *end = NULL;
        double b = strtod(p, &end);
        if (end == p || *end != '=' || n == HISTOGRAM_PROM_BOUNDS)
            return -1;
        double ns = b * f * 1e9, whole = (double)(uint64_t)(ns + 0.5);
        if (!(ns > 0) || ns > 1e15 || ns - whole > 1e-3 || whole - ns > 1e-3)
            return -1;
        p = end + 1;
        double c = strtod(p, &end);
        if (end == p || (*end != ',' && *end != '\0'))
            return -1;
        bound[n] = (uint64_t)whole;
        below[n] = c;
        if ((n > 0 && (bound[n] <= bound[n - 1] || c < below[n - 1])) || c > count || c < 0)
            return -1;
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

/* A histogram with its buckets: kv_engine_NAME_seconds as a Prometheus
 * histogram: _bucket{le} at each of histogram.h's bounds and each bound
 * the line names (a bound not named counts what the one below it counts),
 * +Inf, _sum and _count, and a gauge _max. */
static void me_prom_histogram(me_out *o, const char *family, const char *from, double f,
                              double count, double sum, double max, const uint64_t *bound,
                              const double *below, int nb)
{
    if (me_has_family(o, family))
        return;
    char name[160], lab[64], le[32];
    snprintf(name, sizeof name, "%s_bucket", family);
    double cum = 0;
    int at = 0;
    for (size_t i = 0; i < HISTOGRAM_PROM_BOUNDS || at < nb;) {
        uint64_t std = i < HISTOGRAM_PROM_BOUNDS ? histogram_prom_bound(i) : UINT64_MAX;
        uint64_t b = at < nb && bound[at] < std ? bound[at] : std;
        while (at < nb && bound[at] <= b)
            cum = below[at++];
        if (b == std)
            i++;
        histogram_seconds_text(b, le, sizeof le);
        snprintf(lab, sizeof lab, "le=\"%s\"", le);
        me_put(o, family, name, lab, from, cum, T_HISTOGRAM, 1);
    }
    me_put(o, family, name, "le=\"+Inf\"", from, count, T_HISTOGRAM, 1);
    snprintf(name, sizeof name, "%s_sum", family);
    me_put(o, family, name, "", from, sum * f, T_HISTOGRAM, 1);
    snprintf(name, sizeof name, "%s_count", family);
    me_put(o, family, name, "", from, count, T_HISTOGRAM, 1);
    snprintf(name, sizeof name, "%s_max", family);
    me_add(o, name, name, "", from, max * f, T_GAUGE);
}

/* A histogram line: "NAME_us: count=N,sum=S,p50=A,...,max=M"; 1 if it was
 * one.  With a line "NAME_us.buckets: ..." among the lines, a Prometheus
 * histogram (me_prom_histogram); without, a summary of its percentiles. */
static int me_histogram(me_out *o, const me_line *l, const me_line *lines, size_t nlines)
{
    char words[16][40], family[128], from[192], name[160];
    size_t n = me_words(l->name, words, 16);
    if (n == 0 || strchr(l->value, '=') == NULL)
        return 0;
    double count = -1, sum = -1, max = 0;
    char copy[400];
    snprintf(copy, sizeof copy, "%s", l->value);
    for (char *save = NULL, *kv = strtok_r(copy, ",", &save); kv != NULL;
         kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        double v;
        if (eq == NULL || !me_number(eq + 1, &v))
            return 0;
        *eq = '\0';
        if (strcmp(kv, "count") == 0)
            count = v;
        else if (strcmp(kv, "sum") == 0)
            sum = v;
        else if (strcmp(kv, "max") == 0)
            max = v;
    }
    if (count < 0 || sum < 0)
        return 0;
    double f = me_units(words, n);
    me_name(words, n, T_SUMMARY, family, sizeof family);
    snprintf(from, sizeof from, "kv_stats line %s", l->name);
    char bname[160];
    snprintf(bname, sizeof bname, "%s.buckets", l->name);
    for (size_t i = 0; i < nlines; i++) {
        uint64_t bound[HISTOGRAM_PROM_BOUNDS];
        double below[HISTOGRAM_PROM_BOUNDS];
        int nb;
        if (strcmp(lines[i].name, bname) == 0 && strcmp(words[n - 1], "seconds") == 0 &&
            (nb = me_buckets(lines[i].value, f, count, bound, below)) >= 0) {
            snprintf(from, sizeof from, "kv_stats lines %s and %s", l->name, bname);
            me_prom_histogram(o, family, from, f, count, sum, max, bound, below, nb);
            return 1;
        }
    }
    snprintf(copy, sizeof copy, "%s", l->value);
    for (char *save = NULL, *kv = strtok_r(copy, ",", &save); kv != NULL;
         kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        double v = strtod(eq + 1, NULL);
        char lab[64];
        if (kv[0] == 'p' && me_number(kv + 1, &(double){0})) {
            char q[32];
            snprintf(q, sizeof q, "%.6g", strtod(kv + 1, NULL) / 100);
            me_label(lab, sizeof lab, "quantile", q);
            me_add(o, family, family, lab, from, v * f, T_SUMMARY);
        } else if (strcmp(kv, "max") == 0) {
            snprintf(name, sizeof name, "%s_max", family);
            me_add(o, name, name, "", from, v * f, T_GAUGE);
        }
    }
    snprintf(name, sizeof name, "%s_sum", family);
    me_add(o, family, name, "", from, sum * f, T_SUMMARY);
    snprintf(name, sizeof name, "%s_count", family);
    me_add(o, family, name, "", from, count, T_SUMMARY);
    return 1;
}

/* The buckets line of a histogram (the line NAME.buckets, NAME a line of
 * the text): read by me_histogram, not a metric of its own. */
static int me_is_buckets(const me_line *l, const me_line *lines, size_t nlines)
{
    size_t len = strlen(l->name);
    if (len < 8 || strcmp(l->name + len - 8, ".buckets") != 0)
        return 0;
    for (size_t i = 0; i < nlines; i++)
        if (strlen(lines[i].name) == len - 8 && strncmp(lines[i].name, l->name, len - 8) == 0)
            return 1;
    return 0;
}

/* A table: legend (a value of words, "W col col | totals: col") and its rows
 * "W.X: n n | n" among the lines.  1 if `legend` was one, its rows added. */
static int me_table(me_out *o, const me_line *legend, const me_line *lines, size_t nlines)
{
    char cols[24][40];
    int counter[24];
    size_t ncols = 0;
    char w[40] = "";
    int totals = 0;
    char copy[400];
    snprintf(copy, sizeof copy, "%s", legend->value);
    for (char *save = NULL, *t = strtok_r(copy, " ", &save); t != NULL;
         t = strtok_r(NULL, " ", &save)) {
        size_t len = strlen(t);
        if (strcmp(t, "|") == 0)
            continue;
        if (t[len - 1] == ':') {
            totals = strcmp(t, "totals:") == 0;
            continue;
        }
        char words[1][40];
        if (w[0] == '\0') {
            if (me_words(t, words, 1) != 1 || strcmp(words[0], t) != 0)
                return 0;
            snprintf(w, sizeof w, "%s", t);
            continue;
        }
        if (ncols == 24)
            return 0;
        snprintf(cols[ncols], sizeof cols[ncols], "%s", t);
        counter[ncols++] = totals;
    }
    if (w[0] == '\0' || ncols == 0)
        return 0;
    int found = 0;
    size_t wl = strlen(w);
    for (size_t i = 0; i < nlines; i++) {
        const me_line *row = &lines[i];
        if (strncmp(row->name, w, wl) != 0 || row->name[wl] != '.' || row->name[wl + 1] == '\0')
            continue;
        double v[24];
        size_t nv = 0;
        snprintf(copy, sizeof copy, "%s", row->value);
        int bad = 0;
        for (char *save = NULL, *t = strtok_r(copy, " ", &save); t != NULL && !bad;
             t = strtok_r(NULL, " ", &save)) {
            if (strcmp(t, "|") == 0)
                continue;
            bad = nv == 24 || !me_number(t, &v[nv++]);
        }
        if (bad || nv != ncols)
            continue;
        found = 1;
        char lab[160], from[96];
        me_label(lab, sizeof lab, w, row->name + wl + 1);
        snprintf(from, sizeof from, "kv_stats lines %s.N (columns of %s)", w, legend->name);
        for (size_t k = 0; k < ncols; k++) {
            char words[16][40], family[128];
            size_t n = 0;
            snprintf(words[n++], sizeof words[0], "%s", w);
            n += me_words(cols[k], words + 1, 15);
            double f = me_units(words, n);
            int type = counter[k] && !me_derived(words, n) ? T_COUNTER : T_GAUGE;
            me_name(words, n, type, family, sizeof family);
            me_add(o, family, family, lab, from, v[k] * f, type);
        }
    }
    return found;
}

/* The rows of a table whose legend is among the lines: left out as scalars. */
static int me_is_row(const me_line *l, char legends[][40], size_t nlegends)
{
    for (size_t i = 0; i < nlegends; i++) {
        size_t wl = strlen(legends[i]);
        if (strncmp(l->name, legends[i], wl) == 0 && l->name[wl] == '.')
            return 1;
    }
    return 0;
}

int metrics_engine(const char *text, void (*line)(void *ctx, const char *line), void *ctx)
{
    size_t nlines = 0, cap = 0;
    me_line *lines = NULL;
    me_out o = {0};
    char *copy = strdup(text != NULL ? text : "");
    if (copy == NULL)
        return -1;
    for (char *p = copy; p != NULL && *p != '\0';) {
        char *eol = strchr(p, '\n');
        size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
        if (!me_grow((void **)&lines, &cap, nlines, sizeof *lines)) {
            free(lines);
            free(copy);
            return -1;
        }
        if (me_split(p, len, &lines[nlines]))
            nlines++;
        p = eol != NULL ? eol + 1 : NULL;
    }
    char legends[8][40];
    size_t nlegends = 0;
    for (size_t i = 0; i < nlines; i++) {
        me_line *l = &lines[i];
        double v;
        if (me_number(l->value, &v)) {
            continue;
        } else if (nlegends < 8 && me_table(&o, l, lines, nlines)) {
            sscanf(l->value, "%39s", legends[nlegends++]);
        }
    }
    for (size_t i = 0; i < nlines; i++) {
        me_line *l = &lines[i];
        double v;
        if (me_is_row(l, legends, nlegends) || me_is_buckets(l, lines, nlines))
            continue;
        if (me_number(l->value, &v)) {
            me_scalar(&o, l, v);
        } else if (me_histogram(&o, l, lines, nlines)) {
        } else if (strcmp(l->name, "stage") == 0) {
            char lab[160];
            me_label(lab, sizeof lab, "stage", l->value);
            me_add(&o, "kv_engine_info", "kv_engine_info", lab, "the stage (kv_stats line stage)",
                   1, T_GAUGE);
        }
    }
    free(lines);
    free(copy);
    /* Family by family, in the order they first appeared. */
    char buf[512];
    for (size_t fi = 0; fi < o.nf; fi++) {
        const me_family *f = &o.f[fi];
        snprintf(buf, sizeof buf, "# HELP %s %s", f->name, f->from);
        line(ctx, buf);
        snprintf(buf, sizeof buf, "# TYPE %s %s", f->name, type_names[f->type]);
        line(ctx, buf);
        for (size_t k = 0; k < o.n; k++) {
            const me_sample *s = &o.s[k];
            if (s->family != fi)
                continue;
            snprintf(buf, sizeof buf, "%s%s%s%s %.15g", s->name, s->labels[0] ? "{" : "",
                     s->labels, s->labels[0] ? "}" : "", s->value);
            line(ctx, buf);
        }
    }
    int failed = o.failed;
    free(o.s);
    free(o.f);
    return failed ? -1 : 0;
}
