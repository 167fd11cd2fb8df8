/*
 * serve_glob.c: Redis's glob patterns, for SCAN MATCH and CONFIG GET.
 *
 *   *       any run of bytes (also none)      ?      any one byte
 *   [abc]   one of a, b, c                    [^a]   any byte but a
 *   [a-z]   one byte from a to z              \x     the byte x itself
 *
 * Keys are bytes, NUL included, so both the pattern and the string come
 * with their lengths.  The matcher walks both once and, on a mismatch,
 * goes back only to the last '*' (the classic two-pointer method): no
 * recursion, and at most |pattern| x |string| steps, which the caller
 * bounds (serve_scan.c).
 */
#include <ctype.h>
#include <stdint.h>

#include "server.h"

static int glob_eq(unsigned char a, unsigned char b, int nocase)
{
    return a == b || (nocase && tolower(a) == tolower(b));
}

/* Matches byte ch against the class starting at pat[p] == '['; *next is set
 * past its ']' (or to the end of an unterminated class). */
static int glob_class(const char *pat, size_t plen, size_t p, unsigned char ch,
                      int nocase, size_t *next)
{
    p++;
    int negate = p < plen && pat[p] == '^';
    if (negate)
        p++;
    int match = 0;
    while (p < plen && pat[p] != ']') {
        if (pat[p] == '\\' && p + 1 < plen) {
            match |= glob_eq((unsigned char)pat[p + 1], ch, nocase);
            p += 2;
        } else if (p + 2 < plen && pat[p + 1] == '-' && pat[p + 2] != ']') {
            unsigned char lo = (unsigned char)pat[p], hi = (unsigned char)pat[p + 2];
            if (lo > hi) {
                unsigned char t = lo;
                lo = hi;
                hi = t;
            }
            unsigned char c = nocase ? (unsigned char)tolower(ch) : ch;
            match |= (ch >= lo && ch <= hi) || (nocase && c >= tolower(lo) && c <= tolower(hi));
            p += 3;
        } else {
            match |= glob_eq((unsigned char)pat[p], ch, nocase);
            p++;
        }
    }
    *next = p < plen ? p + 1 : plen;
    return negate ? !match : match;
}

int serve_glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase)
{
    size_t p = 0, i = 0;
    size_t star_p = SIZE_MAX, star_i = 0;
    while (i < slen) {
        if (p < plen) {
            unsigned char pc = (unsigned char)pat[p], ch = (unsigned char)s[i];
            if (pc == '*') {
                star_p = ++p;
                star_i = i;
                continue;
            }
            size_t next = p + 1;
            int ok;
            if (pc == '?')
                ok = 1;
            else if (pc == '[')
                ok = glob_class(pat, plen, p, ch, nocase, &next);
            else if (pc == '\\' && p + 1 < plen) {
                ok = glob_eq((unsigned char)pat[p + 1], ch, nocase);
                next = p + 2;
            } else
                ok = glob_eq(pc, ch, nocase);
            if (ok) {
                p = next;
                i++;
                continue;
            }
        }
        if (star_p == SIZE_MAX)
            return 0;
        p = star_p;
        i = ++star_i;
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}
