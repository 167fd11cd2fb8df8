/*
 * resp.h: the request parser of `kv serve`, for RESP2 (the Redis protocol).
 *
 * A client sends each command as an array of bulk strings,
 *
 *     *<argc>\r\n  then argc times  $<len>\r\n<len bytes>\r\n
 *
 * e.g. "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n" is GET k.  A line that does not start
 * with '*' is an inline command (what a person types into `nc`): words
 * separated by spaces or tabs, ending with "\n" or "\r\n", no quoting.
 * "*0\r\n", "*-1\r\n" and an empty inline line are empty requests (argc 0),
 * which the server skips, as Redis does.  See docs/server.md.
 *
 * The contract (after tidwall's decoders): resp_parse looks only inside
 * [p, limit), the bytes received so far, and says one of
 *   RESP_COMPLETE   a whole request is there: ps->argc arguments, argument i
 *                   at p + ps->args[i].off, ps->args[i].len bytes; the request
 *                   is ps->pos bytes long;
 *   RESP_NEED_MORE  nothing wrong so far; call again with the same p and a
 *                   later limit once ps->need bytes (at least) are there;
 *   RESP_INVALID    not RESP, or past a limit: ps->why says what; the
 *                   connection must be closed (its framing is lost);
 *   RESP_NOMEM      the argument table could not grow.
 * The parser keeps its place between calls (ps->pos, ps->argc), so bytes
 * arriving a few at a time are looked at once, and it records offsets, not
 * pointers, so the caller may move its buffer between calls.
 *
 * Invariants: every length read from the input is checked against the
 * limits before it is used, so a request never needs more than
 * max_request bytes of buffer; the argument table grows only with
 * arguments actually received (a header announcing 1M arguments allocates
 * nothing by itself).
 *
 * Calling resp_parse again after RESP_COMPLETE (without resp_parser_next)
 * answers RESP_COMPLETE with the same request: the server does that when a
 * request must wait before it runs.
 *
 * REQUIRES: between two calls for the same request, the bytes at
 * [p, p + ps->pos) are unchanged; after RESP_COMPLETE, call resp_parser_next
 * before parsing the next request (from p + ps->pos).
 */
#ifndef KV_SERVE_RESP_H
#define KV_SERVE_RESP_H

#include <stddef.h>

#include "serve_req.h" /* resp_span: a parsed word */

enum {
    RESP_COMPLETE = 1,
    RESP_NEED_MORE = 0,
    RESP_INVALID = -1,
    RESP_NOMEM = -2
};

typedef struct resp_limits {
    size_t max_bulk;     /* largest bulk string, in bytes */
    size_t max_args;     /* most elements in one array */
    size_t max_inline;   /* longest inline command line, with its newline */
    size_t max_request;  /* largest request, all framing included */
} resp_limits;

typedef struct resp_parser {
    resp_limits lim;
    size_t pos;        /* bytes of this request parsed so far */
    size_t need;       /* after NEED_MORE: the request needs >= need bytes */
    long long want;    /* elements announced by "*<n>", -1 before the header */
    size_t argc;       /* arguments parsed so far */
    resp_span *args;   /* argc of them (capacity cap) */
    size_t cap;
    const char *why;   /* after RESP_INVALID: what was wrong */
} resp_parser;

/* Sets up a parser with these limits (no allocation yet). */
void resp_parser_init(resp_parser *ps, const resp_limits *lim);

/* Parses the request at the start of [p, limit); see above. */
int resp_parse(resp_parser *ps, const char *p, const char *limit);

/* Forgets the request just parsed (keeps the argument table). */
void resp_parser_next(resp_parser *ps);

/* Releases the argument table. */
void resp_parser_free(resp_parser *ps);

#endif
