/*
 * kvg_resp.h: byte strings, requests and replies, and the RESP2 codec
 * kvgrade speaks to an engine (docs/kvgrade.md, "The protocol").
 *
 * A request is an array of bulk strings; kvg_req_encode writes it.  A
 * reply is parsed with kvg_reply_parse from [p, limit): it returns the
 * bytes the reply took, 0 if more bytes are needed, or -1 if the bytes are
 * no RESP2 reply (the engine broke the protocol; *why says how).  Replies
 * nest (arrays) up to KVG_MAX_DEPTH and hold at most KVG_MAX_BULK bytes in
 * one bulk string.
 */
#ifndef KVGRADE_KVG_RESP_H
#define KVGRADE_KVG_RESP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KVG_MAX_BULK  (64u * 1024u * 1024u)
#define KVG_MAX_ELEMS (16u * 1024u * 1024u)
#define KVG_MAX_DEPTH 8

/* Owned bytes (p may be NULL when n is 0). */
typedef struct kvg_buf {
    unsigned char *p;
    size_t n;
} kvg_buf;

kvg_buf kvg_buf_of(const void *p, size_t n);  /* a copy; aborts on no memory */
kvg_buf kvg_buf_str(const char *s);
kvg_buf kvg_buf_dup(kvg_buf b);
void    kvg_buf_free(kvg_buf *b);
int     kvg_buf_eq(kvg_buf a, kvg_buf b);
int     kvg_buf_cmp(kvg_buf a, kvg_buf b);    /* unsigned bytes, shorter first */

typedef struct kvg_req {
    size_t argc;
    kvg_buf *argv;
} kvg_req;

kvg_req kvg_req_make(size_t argc, const kvg_buf *argv);  /* copies */
kvg_req kvg_req_dup(const kvg_req *r);
void    kvg_req_free(kvg_req *r);
/* 1 if argument 0 is `name` (any case). */
int     kvg_req_is(const kvg_req *r, const char *name);
/* The RESP2 bytes of the request, in a malloc'd buffer. */
unsigned char *kvg_req_encode(const kvg_req *r, size_t *len);

enum { KVG_SIMPLE, KVG_ERROR, KVG_INT, KVG_BULK, KVG_NIL, KVG_ARRAY, KVG_NILARRAY };

typedef struct kvg_reply {
    int type;
    long long num;          /* KVG_INT */
    kvg_buf str;            /* KVG_SIMPLE, KVG_ERROR, KVG_BULK */
    size_t n;               /* KVG_ARRAY */
    struct kvg_reply *elem;
} kvg_reply;

long kvg_reply_parse(const unsigned char *p, const unsigned char *limit, kvg_reply *out,
                     const char **why);
void kvg_reply_free(kvg_reply *r);
kvg_reply kvg_reply_dup(const kvg_reply *r);
int  kvg_reply_eq(const kvg_reply *a, const kvg_reply *b);
kvg_reply kvg_reply_simple(const char *s);
kvg_reply kvg_reply_int(long long n);
kvg_reply kvg_reply_bulk(kvg_buf b);           /* copies */
kvg_reply kvg_reply_nil(void);

/* Writes bytes as a quoted string, "..." with \xNN, \r, \n, \t, \", \\
 * escapes; at most `max` bytes are shown, then "...(N bytes)". */
void kvg_print_bytes(FILE *out, const unsigned char *p, size_t n, size_t max);
/* A reply as text: +OK, -ERR ..., :1, "value", (nil), [a, b]. */
void kvg_print_reply(FILE *out, const kvg_reply *r, size_t max);
void kvg_print_req(FILE *out, const kvg_req *r, size_t max);
/* Parses a string kvg_print_bytes wrote (without a max); 0, or -1. *end
 * is set past it. */
int  kvg_parse_bytes(const char *s, kvg_buf *out, const char **end);
/* Parses a reply kvg_print_reply wrote (without a max); 0, or -1. */
int  kvg_parse_reply(const char *s, kvg_reply *out, const char **end);

/* Seconds since some fixed point (CLOCK_MONOTONIC). */
double kvg_now(void);
/* malloc that never returns NULL (kvgrade stops on no memory). */
void *kvg_alloc(size_t n);
void *kvg_realloc(void *p, size_t n);
char *kvg_strdup(const char *s);
char *kvg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
