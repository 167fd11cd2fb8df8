/*
 * http_request.h: the head of an HTTP/1.x request (its request line and
 * headers) as `kv serve --metrics-port` reads it (serve_http.c): where it
 * ends, and what it asks.  Two pure functions over bytes [p, p + n), read
 * only inside them, with no allocation and no limit of their own beyond
 * the length they are given (serve_http.c bounds a head to
 * SERVE_HTTP_REQUEST bytes), so that a fuzz harness drives them alone
 * (fuzz/http_fuzz.c, docs/fuzzing.md).
 *
 * The grammar read (RFC 9112's, as far as a metrics endpoint needs):
 *   head         = request-line *( header-line ) blank-line
 *   request-line = *WS method 1*WS target 1*WS version *WS "\n"
 *   header-line  = name ":" value "\n"      (name compared in any case)
 *   blank-line   = "\n" or "\r\n"
 * WS is any of space, tab, \v, \f, \r; so a line ends in "\r\n" or "\n",
 * and the head ends at the first line feed that follows "\n" or "\n\r".
 * Bytes are bytes: a NUL is one more byte of a word.  Answers, the first
 * that applies:
 *   HTTP_BAD_REQUEST  the request line is not three words, or the version
 *                     is not HTTP/1.x (x a digit);
 *   HTTP_BAD_METHOD   a method other than GET and HEAD (405);
 *   HTTP_BAD_REQUEST  the request has a body: a Transfer-Encoding header,
 *                     or a Content-Length other than zeros (the endpoint
 *                     reads no body: it would be taken for the next
 *                     request);
 *   HTTP_METRICS      GET or HEAD of /metrics (any query string, after '?');
 *   HTTP_ROOT         of /;
 *   HTTP_NOT_FOUND    of anything else.
 * keep_alive: HTTP/1.1 unless a Connection header holds "close";
 * HTTP/1.0 only if one holds "keep-alive" (any case); always 0 after
 * HTTP_BAD_REQUEST and HTTP_BAD_METHOD, which close the connection.
 */
#ifndef KV_SERVE_HTTP_REQUEST_H
#define KV_SERVE_HTTP_REQUEST_H

#include <stddef.h>

typedef enum http_verdict {
    HTTP_METRICS,
    HTTP_ROOT,
    HTTP_NOT_FOUND,
    HTTP_BAD_REQUEST,
    HTTP_BAD_METHOD
} http_verdict;

typedef struct http_request {
    http_verdict verdict;
    int head;           /* the method is HEAD: the reply has no body */
    int keep_alive;     /* the connection stays open after the reply */
} http_request;

/* The length of the head at the start of [p, p + n): up to and including
 * the line feed of its blank line, or 0 if none ends within the n bytes. */
size_t http_request_end(const char *p, size_t n);

/* What the head [p, p + len) asks.  REQUIRES: len is http_request_end's
 * answer for p (not 0). */
void http_request_parse(const char *p, size_t len, http_request *r);

#endif
