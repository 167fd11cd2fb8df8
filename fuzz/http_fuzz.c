/*
 * http_fuzz.c: fuzz harness for the HTTP request reader of `kv serve
 * --metrics-port` (tools/serve/http_request.h).  It needs no stage: the
 * Makefile builds it once, as resp_fuzz.c.
 *
 * Input: byte 0 = how the rest arrives: bits 0-2, the bytes of each read
 * (1 << bits: one byte at a time up to 128); bit 3, a buffer of 64 bytes
 * instead of the server's SERVE_HTTP_REQUEST (so that a head too long for
 * it is met often).  Then the bytes a client sends.  The harness keeps
 * them as serve_http.c does: reads appended to a buffer, each whole head
 * at its start read and removed, until a head does not fit (the server's
 * 431); and aborts if
 *   - http_request_end answers a length past the bytes, or one that is not
 *     where a reference finds the first blank line (written here apart:
 *     line by line), or answers differently for a prefix that holds the
 *     same head (a head is found as soon as its bytes are there, and
 *     more bytes do not move it);
 *   - http_request_parse's answer differs from a reference reader written
 *     here apart from it (the words found by a state machine over the
 *     request line; headers compared on a lower-case copy), or breaks
 *     http_request.h's rules (a refused request is not kept alive, HEAD
 *     only for a request that is answered).
 * ASan and UBSan catch a read outside the bytes given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"
#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the reference -------------------------------------------------------- */

static size_t ref_end(const char *p, size_t n)
{
    size_t start = 0;
    while (start < n) {
        const char *nl = memchr(p + start, '\n', n - start);
        if (nl == NULL)
            return 0;
        size_t e = (size_t)(nl - p);
        if (start > 0 && (e == start || (e == start + 1 && p[start] == '\r')))
            return e + 1;
        start = e + 1;
    }
    return 0;
}

static int ref_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r' && c != '\n'); }

/* Lower-case copy of [p, p + n) into out (n bytes). */
static void ref_lower(const char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] + 32) : p[i];
}

static int ref_contains(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    return 0;
}

static http_request ref_parse(const char *p, size_t len)
{
    http_request r = {.verdict = HTTP_BAD_REQUEST};
    size_t line_end = (size_t)((const char *)memchr(p, '\n', len) - p);
    /* The words of the request line, by a state machine. */
    size_t start[4], wlen[4], nw = 0;
    int in_word = 0;
    for (size_t i = 0; i <= line_end; i++) {
        int sep = i == line_end || ref_space((unsigned char)p[i]);
        if (!sep && !in_word) {
            if (nw == 4)
                return r;
            start[nw] = i;
            in_word = 1;
        } else if (sep && in_word) {
            wlen[nw] = i - start[nw];
            nw++;
            in_word = 0;
        }
    }
    if (nw != 3)
        return r;
    const char *v = p + start[2];
    if (wlen[2] != 8 || strncmp(v, "HTTP/1.", 7) != 0 || !(v[7] >= '0' && v[7] <= '9'))
        return r;
    int get = wlen[0] == 3 && memcmp(p + start[0], "GET", 3) == 0;
    int head = wlen[0] == 4 && memcmp(p + start[0], "HEAD", 4) == 0;
    /* The headers, on a lower-case copy. */
    char *low = malloc(len);
    if (low == NULL)
        abort();
    ref_lower(p, len, low);
    int close = 0, keep = 0, body = 0;
    size_t at = line_end + 1;
    while (at < len) {
        const char *nl = memchr(low + at, '\n', len - at);
        size_t e = nl != NULL ? (size_t)(nl - low) : len;
        const char *line = low + at;
        size_t n = e - at;
        const char *colon = memchr(line, ':', n);
        if (colon != NULL) {
            size_t nn = (size_t)(colon - line);
            const char *val = colon + 1;
            size_t vn = n - nn - 1;
            if (nn == 10 && memcmp(line, "connection", 10) == 0) {
                close |= ref_contains(val, vn, "close");
                keep |= ref_contains(val, vn, "keep-alive");
            } else if (nn == 17 && memcmp(line, "transfer-encoding", 17) == 0) {
                body = 1;
            } else if (nn == 14 && memcmp(line, "content-length", 14) == 0) {
                int zeros = 0, other = 0;
                for (size_t i = 0; i < vn; i++) {
                    zeros += val[i] == '0';
                    other += val[i] != '0' && !ref_space((unsigned char)val[i]);
                }
                body |= other > 0 || zeros == 0;
            }
        }
        at = e + 1;
    }
    free(low);
    if (!get && !head) {
        r.verdict = HTTP_BAD_METHOD;
        return r;
    }
    if (body)
        return r;
    r.head = head;
    r.keep_alive = v[7] == '0' ? keep : !close;
    size_t plen = wlen[1];
    const char *q = memchr(p + start[1], '?', plen);
    if (q != NULL)
        plen = (size_t)(q - (p + start[1]));
    if (plen == 8 && memcmp(p + start[1], "/metrics", 8) == 0)
        r.verdict = HTTP_METRICS;
    else if (plen == 1 && p[start[1]] == '/')
        r.verdict = HTTP_ROOT;
    else
        r.verdict = HTTP_NOT_FOUND;
    return r;
}

/* ---- the harness ---------------------------------------------------------- */

/* One head [buf, buf + len) of a buffer of n bytes, checked. */
static void check_head(const char *buf, size_t n, size_t len)
{
    if (len > n || len < 2 || buf[len - 1] != '\n' || ref_end(buf, n) != len)
        abort();
    if (http_request_end(buf, len - 1) != 0 || http_request_end(buf, len) != len)
        abort();
    http_request got, want = ref_parse(buf, len);
    http_request_parse(buf, len, &got);
    if (got.verdict != want.verdict || got.head != want.head ||
        got.keep_alive != want.keep_alive)
        abort();
    int refused = got.verdict == HTTP_BAD_REQUEST || got.verdict == HTTP_BAD_METHOD;
    if (refused && (got.keep_alive || got.head))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)1 << (data[0] & 7);
    size_t cap = data[0] & 8 ? 64 : SERVE_HTTP_REQUEST;
    const char *in = (const char *)data + 1;
    size_t left = size - 1;
    /* Exactly cap bytes, so that ASan sees a read past the buffer. */
    char *buf = malloc(cap);
    if (buf == NULL)
        abort();
    size_t n = 0;
    while (left > 0) {
        size_t take = step < left ? step : left;
        if (take > cap - n)
            take = cap - n;
        memcpy(buf + n, in, take);
        n += take;
        in += take;
        left -= take;
        size_t len;
        while ((len = http_request_end(buf, n)) > 0) {
            check_head(buf, n, len);
            memmove(buf, buf + len, n - len);
            n -= len;
        }
        if (ref_end(buf, n) != 0)
            abort(); /* a head the reader missed */
        if (n == cap)
            break; /* too long: the server answers 431 and closes */
    }
    free(buf);
    return 0;
}
