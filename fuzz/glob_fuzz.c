/*
 * glob_fuzz.c: fuzz harness for the glob matcher of `kv serve`
 * (tools/serve/serve_glob.h).  It needs no stage: the Makefile builds it
 * once, as resp_fuzz.c.
 *
 * Input: byte 0 = flags (bit 0: nocase; bits 1-3: the step budget of each
 * call, 1 << (2 * bits); bits 4-5, 1 to 3: match once more from a state
 * that is no state of this pattern and string, which glob_run must start
 * over from: 1 a token past the pattern's, 2 a byte past the string's, 3
 * a star past the pattern's), byte 1 = the pattern's length (at most
 * what follows), then the pattern, then the string.  The harness compiles the
 * pattern and matches the string in calls of that budget, resuming the
 * state between them (serve_glob.h, G1), and aborts if
 *   - the answer differs from a reference matcher, written here apart from
 *     the one under test: the pattern read as it stands, a recursion over
 *     (pattern position, string position) with a memo, each class scanned
 *     again at each test (Redis's stringmatchlen reads it so);
 *   - the answer differs from serve_glob_match (one call, no budget);
 *   - a call does more steps than its budget (G2), or the whole match more
 *     than (tokens + 1) x (string + 1) steps: the bound serve_scan.c's
 *     budget relies on;
 *   - glob_matches_all (for which the scan skips matching) says so of a
 *     pattern the string does not match, or not of "*";
 *   - a match begun from that foreign state answers otherwise;
 *   - a pattern one byte longer than GLOB_MAX_PATTERN is compiled, or
 *     matches anything (serve_glob_match).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "serve_glob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct ref_ctx {
    const uint8_t *pat, *s;
    size_t plen, slen;
    int nocase;
    signed char *memo;  /* (plen + 1) x (slen + 1): -1 unknown, else 0/1 */
} ref_ctx;

static int ref_eq(uint8_t a, uint8_t b, int nocase)
{
    return a == b || (nocase && tolower(a) == tolower(b));
}

/* Does byte ch match the class at pat[p] == '['?  *next: past its ']'. */
static int ref_class(const ref_ctx *r, size_t p, uint8_t ch, size_t *next)
{
    const uint8_t *pat = r->pat;
    size_t plen = r->plen;
    p++;
    int negate = p < plen && pat[p] == '^';
    p += negate;
    int hit = 0;
    while (p < plen && pat[p] != ']') {
        if (pat[p] == '\\' && p + 1 < plen) {
            hit |= ref_eq(pat[p + 1], ch, r->nocase);
            p += 2;
        } else if (p + 2 < plen && pat[p + 1] == '-' && pat[p + 2] != ']') {
            int lo = pat[p] < pat[p + 2] ? pat[p] : pat[p + 2];
            int hi = pat[p] < pat[p + 2] ? pat[p + 2] : pat[p];
            hit |= (ch >= lo && ch <= hi) ||
                   (r->nocase && tolower(ch) >= tolower(lo) && tolower(ch) <= tolower(hi));
            p += 3;
        } else {
            hit |= ref_eq(pat[p], ch, r->nocase);
            p++;
        }
    }
    *next = p < plen ? p + 1 : plen;
    return negate ? !hit : hit;
}

static int ref_match(ref_ctx *r, size_t p, size_t i)
{
    signed char *m = &r->memo[p * (r->slen + 1) + i];
    if (*m >= 0)
        return *m;
    int ok;
    if (p == r->plen) {
        ok = i == r->slen;
    } else if (r->pat[p] == '*') {
        ok = ref_match(r, p + 1, i) || (i < r->slen && ref_match(r, p, i + 1));
    } else if (i == r->slen) {
        ok = 0;
    } else if (r->pat[p] == '?') {
        ok = ref_match(r, p + 1, i + 1);
    } else if (r->pat[p] == '[') {
        size_t next;
        ok = ref_class(r, p, r->s[i], &next) && ref_match(r, next, i + 1);
    } else if (r->pat[p] == '\\' && p + 1 < r->plen) {
        ok = ref_eq(r->pat[p + 1], r->s[i], r->nocase) && ref_match(r, p + 2, i + 1);
    } else {
        ok = ref_eq(r->pat[p], r->s[i], r->nocase) && ref_match(r, p + 1, i + 1);
    }
    *m = (signed char)ok;
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int nocase = data[0] & 1;
    uint64_t per_call = 1ull << (2 * ((data[0] >> 1) & 7));
    size_t plen = data[1] < size - 2 ? data[1] : size - 2;
    const uint8_t *pat = data + 2, *s = pat + plen;
    size_t slen = size - 2 - plen;
    if (slen > 512)
        slen = 512; /* the reference recurses once per step */

    ref_ctx r = {pat, s, plen, slen, nocase, NULL};
    r.memo = malloc((plen + 1) * (slen + 1));
    if (r.memo == NULL)
        return 0;
    memset(r.memo, -1, (plen + 1) * (slen + 1));
    int want = ref_match(&r, 0, 0);
    free(r.memo);

    glob_pattern *g;
    if (glob_compile((const char *)pat, plen, nocase, &g) != KV_OK)
        abort(); /* plen < 256: never too long; out of memory: not here */
    /* A pattern the scan skips matching for must match every key: this
     * one too; and "*" is one. */
    if ((glob_matches_all(g) && !want) || (plen == 1 && pat[0] == '*' && !glob_matches_all(g)))
        abort();
    glob_state st;
    glob_start(&st);
    uint64_t steps = 0;
    int rc;
    do {
        uint64_t budget = per_call;
        rc = glob_run(g, &st, (const char *)s, slen, &budget);
        if (budget > per_call)
            abort();
        steps += per_call - budget;
    } while (rc == GLOB_MORE);
    /* From a state that is not one of this pattern and string (G1: the
     * matcher starts over): the same answer, in one call. */
    unsigned foreign = (data[0] >> 4) & 3;
    if (foreign != 0) {
        glob_start(&st);
        if (foreign == 1)
            st.p = plen + 1; /* more than the tokens */
        else if (foreign == 2)
            st.i = slen + 1;
        else
            st.star_p = plen + 1;
        uint64_t budget = UINT64_MAX;
        if (glob_run(g, &st, (const char *)s, slen, &budget) != (want ? GLOB_MATCH : GLOB_NO_MATCH))
            abort();
    }
    glob_free(g);
    glob_free(NULL); /* a no-op */
    if (rc != (want ? GLOB_MATCH : GLOB_NO_MATCH))
        abort();
    /* A pattern one byte past the longest is refused. */
    static char longest[GLOB_MAX_PATTERN + 1];
    if (glob_compile(longest, sizeof longest, nocase, &g) != KV_ERR_INVALID || g != NULL ||
        serve_glob_match(longest, sizeof longest, (const char *)s, slen, nocase) != 0)
        abort();
    if (steps > (uint64_t)(plen + 1) * (slen + 1))
        abort();
    if (serve_glob_match((const char *)pat, plen, (const char *)s, slen, nocase) != want)
        abort();
    return 0;
}
