/*
 * serve_glob.c: Redis's glob patterns, compiled once, matched in steps
 * (serve_glob.h says what the syntax is and what the matcher promises).
 *
 * Compiling: one pass over the pattern.  A class `[...]` becomes a set of
 * 256 bits, so testing a byte against it is one lookup however long the
 * class was written; nocase is folded into the sets and the byte tests.
 * need[p], the tokens from p on that each take one byte, lets a match stop
 * as soon as fewer bytes are left than the pattern still needs.
 *
 * Matching (the two-pointer method): walk the string; a token that takes
 * the byte moves both on; a star remembers where it is; on a mismatch, go
 * back to the token after the last star and let the star take one byte
 * more.  Going back only to the last star is enough: the tokens between
 * two stars match a fixed number of bytes, so the leftmost place they fit
 * is the best one.  Each step is constant time; a step is counted against
 * the caller's budget, and the state is all in glob_state (G1), so a long
 * match can stop and resume.
 *
 * Syntax details, as Redis's stringmatchlen has them: `\` escapes the next
 * byte (a `\` at the very end is itself), `[^...]` negates, `a-z` is a
 * range (either order), `\` escapes inside a class too, and a class with
 * no `]` runs to the end of the pattern.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "serve_glob.h"

enum { TOK_BYTE = 0, TOK_ANY = 1, TOK_STAR = 2, TOK_CLASS = 3 };
#define TOK(kind, v) (((uint32_t)(kind) << 24) | (uint32_t)(v))
#define TOK_KIND(t) ((t) >> 24)
#define TOK_VAL(t) ((t) & 0xffffffu)

struct glob_pattern {
    uint32_t *tok;           /* n tokens */
    uint32_t *need;          /* need[p]: one-byte tokens in tok[p .. n) */
    size_t n;
    uint8_t (*cls)[32];      /* the classes' byte sets */
    size_t ncls;
    int nocase;
};

static int glob_byte_eq(unsigned char a, unsigned char b, int nocase)
{
    return a == b || (nocase && tolower(a) == tolower(b));
}

static void glob_set_add(uint8_t *set, unsigned ch)
{
    set[ch >> 3] |= (uint8_t)(1u << (ch & 7));
}

/* Parses the class at pat[p] == '[' into set; returns the index past it. */
static size_t glob_parse_class(const char *pat, size_t plen, size_t p, int nocase, uint8_t *set)
{
    memset(set, 0, 32);
    p++;
    int negate = p < plen && pat[p] == '^';
    if (negate)
        p++;
    while (p < plen && pat[p] != ']') {
        if (pat[p] == '\\' && p + 1 < plen) {
            for (unsigned ch = 0; ch < 256; ch++)
                if (glob_byte_eq((unsigned char)pat[p + 1], (unsigned char)ch, nocase))
                    glob_set_add(set, ch);
            p += 2;
        } else if (p + 2 < plen && pat[p + 1] == '-' && pat[p + 2] != ']') {
            unsigned lo = (unsigned char)pat[p], hi = (unsigned char)pat[p + 2];
            if (lo > hi) {
                unsigned t = lo;
                lo = hi;
                hi = t;
            }
            for (unsigned ch = 0; ch < 256; ch++) {
                unsigned low = (unsigned)tolower((int)ch);
                if ((ch >= lo && ch <= hi) ||
                    (nocase && low >= (unsigned)tolower((int)lo) && low <= (unsigned)tolower((int)hi)))
                    glob_set_add(set, ch);
            }
            p += 3;
        } else {
            for (unsigned ch = 0; ch < 256; ch++)
                if (glob_byte_eq((unsigned char)pat[p], (unsigned char)ch, nocase))
                    glob_set_add(set, ch);
            p++;
        }
    }
    if (negate)
        for (int k = 0; k < 32; k++)
            set[k] = (uint8_t)~set[k];
    return p < plen ? p + 1 : plen;
}

void glob_free(glob_pattern *g)
{
    if (g == NULL)
        return;
    free(g->tok);
    free(g->need);
    free(g->cls);
    free(g);
}

int glob_compile(const char *pat, size_t plen, int nocase, glob_pattern **out)
{
    *out = NULL;
    if (plen > GLOB_MAX_PATTERN)
        return KV_ERR_INVALID;
    glob_pattern *g = calloc(1, sizeof *g);
    if (g == NULL)
        return KV_ERR_NOMEM;
    g->nocase = nocase;
    /* At most one token per pattern byte, and one class per two bytes. */
    size_t cap = plen > 0 ? plen : 1;
    g->tok = malloc(cap * sizeof *g->tok);
    g->need = malloc((cap + 1) * sizeof *g->need);
    size_t ncls_max = 0;
    for (size_t p = 0; p < plen; p++)
        ncls_max += pat[p] == '[';
    g->cls = ncls_max > 0 ? malloc(ncls_max * sizeof *g->cls) : NULL;
    if (g->tok == NULL || g->need == NULL || (ncls_max > 0 && g->cls == NULL)) {
        glob_free(g);
        return KV_ERR_NOMEM;
    }
    size_t p = 0;
    while (p < plen) {
        unsigned char pc = (unsigned char)pat[p];
        if (pc == '*') {
            if (g->n == 0 || g->tok[g->n - 1] != TOK(TOK_STAR, 0))
                g->tok[g->n++] = TOK(TOK_STAR, 0);
            p++;
        } else if (pc == '?') {
            g->tok[g->n++] = TOK(TOK_ANY, 0);
            p++;
        } else if (pc == '[') {
            p = glob_parse_class(pat, plen, p, nocase, g->cls[g->ncls]);
            g->tok[g->n++] = TOK(TOK_CLASS, g->ncls);
            g->ncls++;
        } else if (pc == '\\' && p + 1 < plen) {
            g->tok[g->n++] = TOK(TOK_BYTE, (unsigned char)pat[p + 1]);
            p += 2;
        } else {
            g->tok[g->n++] = TOK(TOK_BYTE, pc);
            p++;
        }
    }
    g->need[g->n] = 0;
    for (size_t k = g->n; k-- > 0;)
        g->need[k] = g->need[k + 1] + (TOK_KIND(g->tok[k]) != TOK_STAR);
    *out = g;
    return KV_OK;
}

int glob_matches_all(const glob_pattern *g)
{
    return g->n == 1 && TOK_KIND(g->tok[0]) == TOK_STAR;
}

void glob_start(glob_state *st)
{
    st->p = st->i = 0;
    st->star_p = SIZE_MAX;
    st->star_i = 0;
}

/* 1 if token t (not a star) takes byte ch. */
static int glob_token_takes(const glob_pattern *g, uint32_t t, unsigned char ch)
{
    switch (TOK_KIND(t)) {
    case TOK_ANY:
        return 1;
    case TOK_CLASS:
        return (g->cls[TOK_VAL(t)][ch >> 3] >> (ch & 7)) & 1;
    default:
        return glob_byte_eq((unsigned char)TOK_VAL(t), ch, g->nocase);
    }
}

int glob_run(const glob_pattern *g, glob_state *st, const char *s, size_t slen, uint64_t *budget)
{
    if (st->p > g->n || st->i > slen || (st->star_p != SIZE_MAX && st->star_p > g->n))
        glob_start(st); /* not a state of this pattern and string: start over */
    size_t p = st->p, i = st->i, star_p = st->star_p, star_i = st->star_i;
    uint64_t left = *budget;
    int rc;
    for (;;) {
        if (i == slen) {
            /* The string is used up: what is left must be one star. */
            while (p < g->n && TOK_KIND(g->tok[p]) == TOK_STAR)
                p++;
            rc = p == g->n ? GLOB_MATCH : GLOB_NO_MATCH;
            break;
        }
        if (left == 0) {
            rc = GLOB_MORE;
            break;
        }
        left--;
        if (p < g->n) {
            uint32_t t = g->tok[p];
            if (TOK_KIND(t) == TOK_STAR) {
                star_p = ++p;
                star_i = i;
                continue;
            }
            /* Fewer bytes left than the tokens need: no star before can
             * help either (it would leave fewer still). */
            if (g->need[p] > slen - i) {
                rc = GLOB_NO_MATCH;
                break;
            }
            if (glob_token_takes(g, t, (unsigned char)s[i])) {
                p++;
                i++;
                continue;
            }
        }
        if (star_p == SIZE_MAX) {
            rc = GLOB_NO_MATCH;
            break;
        }
        p = star_p;
        i = ++star_i;
    }
    st->p = p;
    st->i = i;
    st->star_p = star_p;
    st->star_i = star_i;
    *budget = left;
    return rc;
}

int serve_glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase)
{
    glob_pattern *g;
    if (glob_compile(pat, plen, nocase, &g) != KV_OK)
        return 0;
    glob_state st;
    glob_start(&st);
    uint64_t budget = UINT64_MAX;
    int rc = glob_run(g, &st, s, slen, &budget);
    glob_free(g);
    return rc == GLOB_MATCH;
}
