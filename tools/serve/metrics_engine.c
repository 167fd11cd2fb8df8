/*
 * metrics_engine.c: kv_stats text to Prometheus metrics, by the rule of
 * metrics_engine.h.  Two passes: the lines become samples (family, type,
 * labels, value, where from), then the samples are written family by
 * family, in the order the families first appeared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_engine.h"

enum { T_GAUGE, T_COUNTER, T_SUMMARY };
static const char *const type_names[] = {"gauge", "counter", "summary"};

typedef struct me_sample {
    char family[128];
    char name[160];      /* family, or family_sum / _count for a summary */
    char labels[160];    /* 'a="b"', or "" */
    char from[96];       /* the kv_stats line(s), for # HELP */
    double value;
    int type;
} me_sample;

typedef struct me_out {
    me_sample *s;
    size_t n, cap;
    int failed;
} me_out;

/* A line of the text: name and value, NUL-terminated copies. */
typedef struct me_line {
    char name[128];
    char value[400];
} me_line;

static int me_split(const char *line, size_t len, me_line *l)
{
    const char *colon = memchr(line, ':', len);
    if (colon == NULL || colon == line || (size_t)(colon - line) >= sizeof l->name)
        return 0;
    memcpy(l->name, line, (size_t)(colon - line));
    l->name[colon - line] = '\0';
    const char *v = colon + 1;
    while (v < line + len && *v == ' ')
        v++;
    size_t vlen = (size_t)(line + len - v);
    if (vlen >= sizeof l->value)
        vlen = sizeof l->value - 1;
    memcpy(l->value, v, vlen);
    l->value[vlen] = '\0';
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

static void me_add(me_out *o, const char *family, const char *name, const char *labels,
                   const char *from, double value, int type)
{
    for (size_t i = 0; i < o->n; i++) {
        if (strcmp(o->s[i].name, name) == 0 && strcmp(o->s[i].labels, labels) == 0)
            return; /* the first line that names it has it */
        if (strcmp(o->s[i].family, family) == 0 && o->s[i].type != type)
            return;
    }
    if (o->n == o->cap) {
        size_t cap = o->cap == 0 ? 64 : o->cap * 2;
        me_sample *grown = realloc(o->s, cap * sizeof *grown);
        if (grown == NULL) {
            o->failed = 1;
            return;
        }
        o->s = grown;
        o->cap = cap;
    }
    me_sample *s = &o->s[o->n++];
    snprintf(s->family, sizeof s->family, "%s", family);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->labels, sizeof s->labels, "%s", labels);
    snprintf(s->from, sizeof s->from, "%s", from);
    s->value = value;
    s->type = type;
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

/* A histogram line: "NAME_us: count=N,sum=S,p50=A,...,max=M"; 1 if it was one. */
static int me_histogram(me_out *o, const me_line *l)
{
    char words[16][40], family[128], from[96], name[160];
    size_t n = me_words(l->name, words, 16);
    if (n == 0 || strchr(l->value, '=') == NULL)
        return 0;
    double count = -1, sum = -1;
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
    }
    if (count < 0 || sum < 0)
        return 0;
    double f = me_units(words, n);
    me_name(words, n, T_SUMMARY, family, sizeof family);
    snprintf(from, sizeof from, "kv_stats line %s", l->name);
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
    for (const char *p = text; p != NULL && *p != '\0';) {
        const char *eol = strchr(p, '\n');
        size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
        if (nlines == cap) {
            cap = cap == 0 ? 128 : cap * 2;
            me_line *grown = realloc(lines, cap * sizeof *grown);
            if (grown == NULL) {
                free(lines);
                return -1;
            }
            lines = grown;
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
        if (me_is_row(l, legends, nlegends))
            continue;
        if (me_number(l->value, &v)) {
            me_scalar(&o, l, v);
        } else if (me_histogram(&o, l)) {
        } else if (strcmp(l->name, "stage") == 0) {
            char lab[160];
            me_label(lab, sizeof lab, "stage", l->value);
            me_add(&o, "kv_engine_info", "kv_engine_info", lab, "the stage (kv_stats line stage)",
                   1, T_GAUGE);
        }
    }
    free(lines);
    /* Family by family, in the order they first appeared. */
    char buf[512];
    for (size_t i = 0; i < o.n; i++) {
        int first = 1;
        for (size_t k = 0; k < i && first; k++)
            first = strcmp(o.s[k].family, o.s[i].family) != 0;
        if (!first)
            continue;
        snprintf(buf, sizeof buf, "# HELP %s %s", o.s[i].family, o.s[i].from);
        line(ctx, buf);
        snprintf(buf, sizeof buf, "# TYPE %s %s", o.s[i].family, type_names[o.s[i].type]);
        line(ctx, buf);
        for (size_t k = i; k < o.n; k++) {
            if (strcmp(o.s[k].family, o.s[i].family) != 0)
                continue;
            const me_sample *s = &o.s[k];
            snprintf(buf, sizeof buf, "%s%s%s%s %.15g", s->name, s->labels[0] ? "{" : "",
                     s->labels, s->labels[0] ? "}" : "", s->value);
            line(ctx, buf);
        }
    }
    int failed = o.failed;
    free(o.s);
    return failed ? -1 : 0;
}
