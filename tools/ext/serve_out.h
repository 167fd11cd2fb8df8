/*
 * serve_out.h: a client's reply buffer, and the RESP2 replies written to it.
 *
 *   simple string  "+OK\r\n"            error   "-ERR what\r\n"
 *   integer        ":42\r\n"            bulk    "$3\r\nabc\r\n"
 *   nil bulk       "$-1\r\n"            array   "*2\r\n" then 2 replies
 *   null array     "*-1\r\n" (EXEC when a watched key was written)
 *
 * Bytes [sent, len) are still to be written to the socket.  An allocation
 * failure is remembered (failed = 1, nothing more is added) and the server
 * closes the client: a reply half written must never reach it.
 * Error texts are cleaned so that they cannot break the framing: CR and LF
 * become spaces.  Every error reply is counted in `errors`, and in the
 * tally `tally` points at, if any (serve_errtally.h); both
 * outlive out_free, which empties the buffer.
 */
#ifndef KV_SERVE_OUT_H
#define KV_SERVE_OUT_H

#include <stddef.h>

struct serve_errtally;

typedef struct serve_out {
    char *buf;
    size_t len, cap;
    size_t sent;  /* bytes of buf already written to the socket */
    int failed;   /* an allocation failed: the client must be closed */
    unsigned long long errors;     /* error replies written so far */
    struct serve_errtally *tally;  /* ... counted by code there too, or NULL */
} serve_out;

/* Bytes waiting to be sent. */
static inline size_t out_pending(const serve_out *o) { return o->len - o->sent; }

void out_bytes(serve_out *o, const void *p, size_t n);
void out_simple(serve_out *o, const char *s);           /* "+s" */
void out_error(serve_out *o, const char *fmt, ...)      /* "-..." (fmt has the code) */
    __attribute__((format(printf, 2, 3)));
void out_int(serve_out *o, long long v);
void out_bulk(serve_out *o, const void *p, size_t n);
void out_bulk_str(serve_out *o, const char *s);
void out_nil(serve_out *o);
void out_array(serve_out *o, size_t n);
void out_null_array(serve_out *o);

/* Drops bytes written after `mark` (a reply that turned out too large). */
void out_truncate(serve_out *o, size_t mark);

/* Forgets what was sent; moves what is left to the front.  A buffer that
 * is empty afterwards and grew past 256 KiB is released (a client that
 * once read a large value does not keep its memory). */
void out_compact(serve_out *o);

void out_free(serve_out *o);

#endif
