/*
 * serve_glob.h: Redis's glob patterns, compiled once, matched with a step
 * budget (SCAN MATCH, KEYS, CONFIG GET).
 *
 *   *       any run of bytes (also none)      ?      any one byte
 *   [abc]   one of a, b, c                    [^a]   any byte but a
 *   [a-z]   one byte from a to z              \x     the byte x itself
 *
 * A pattern is compiled into tokens: a byte, any byte, a star, or a class
 * (a 256-bit set, parsed once).  Runs of stars become one star.  Matching
 * walks the string and the tokens once and, on a mismatch, goes back only
 * to the last star (the classic two-pointer method): no recursion, no
 * exponential backtracking, every step a constant-time test, and at most
 * about |tokens| x |string| steps, which the caller bounds with a budget.
 *
 * Invariants:
 *   G1. A match in progress is its glob_state: the matcher keeps nothing
 *       else, so a match stopped by the budget resumes where it stopped,
 *       given the same pattern and the same string.
 *   G2. glob_run does at most *budget steps, and subtracts the steps it
 *       did from *budget.
 *   G3. The compiled pattern holds its own copy of what it needs; the
 *       pattern's bytes may be freed once glob_compile returns.
 */
#ifndef KV_SERVE_GLOB_H
#define KV_SERVE_GLOB_H

#include <stddef.h>
#include <stdint.h>

/* Longest pattern accepted (bytes): room to spell out the longest key
 * (65,535 bytes) as one-byte classes ("[a]") with a star either side; a
 * longer pattern is refused, not matched. */
#define GLOB_MAX_PATTERN (4u * 65536u)

typedef struct glob_pattern glob_pattern;

typedef struct glob_state {
    size_t p, i;            /* next token, next byte of the string */
    size_t star_p, star_i;  /* after the last star, and where it resumes */
} glob_state;

enum { GLOB_NO_MATCH = 0, GLOB_MATCH = 1, GLOB_MORE = 2 };

/* Compiles pat[0 .. plen) (nocase: letters match either case).  KV_OK,
 * KV_ERR_INVALID if plen > GLOB_MAX_PATTERN, or KV_ERR_NOMEM. */
int  glob_compile(const char *pat, size_t plen, int nocase, glob_pattern **out);
void glob_free(glob_pattern *g);  /* NULL is a no-op */

/* 1 if the pattern is "*" (matches everything: callers skip matching). */
int  glob_matches_all(const glob_pattern *g);

/* Before matching a new string. */
void glob_start(glob_state *st);

/* Goes on matching s[0 .. slen) from *st.  GLOB_MATCH or GLOB_NO_MATCH,
 * or GLOB_MORE when the budget ran out first (G1: call again with the
 * same state and string).  REQUIRES: *budget > 0 for progress. */
int  glob_run(const glob_pattern *g, glob_state *st, const char *s, size_t slen,
              uint64_t *budget);

/* The whole match at once, for short strings (CONFIG GET names): 1 if s
 * matches pat.  A pattern that cannot be compiled matches nothing. */
int  serve_glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase);

#endif
