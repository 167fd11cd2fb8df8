/*
 * serve_req.h: a request of `kv serve` as words, which the parser
 * (tools/serve/resp.h) produces and every command reads: the server's,
 * and a later stage's extension's (serve_ext.h).
 *
 * A word is an offset from the request's first byte and a length; it
 * holds any bytes (a key, a value), so none is a C string.
 */
#ifndef KV_SERVE_REQ_H
#define KV_SERVE_REQ_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

typedef struct resp_span {
    size_t off, len;  /* a word: its offset from the request's start, its length */
} resp_span;

/* A request's words: word i is base + arg[i].off, arg[i].len bytes. */
typedef struct serve_req {
    const char *base;
    const resp_span *arg;
    size_t argc;
} serve_req;

static inline const char *req_ptr(const serve_req *r, size_t i) { return r->base + r->arg[i].off; }
static inline size_t req_len(const serve_req *r, size_t i) { return r->arg[i].len; }
/* 1 if word i of r, any case, is `word` (an option's, a subcommand's:
 * a command itself is found through the command table, never by its
 * name). */
static inline int serve_cmd_is(const serve_req *r, size_t i, const char *word)
{
    size_t n = strlen(word);
    return i < r->argc && req_len(r, i) == n && strncasecmp(req_ptr(r, i), word, n) == 0;
}

#endif
