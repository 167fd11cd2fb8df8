/*
 * resp_fuzz.c: fuzz harness for the RESP request parser of `kv serve`
 * (tools/serve/resp.h).  It needs no stage: the Makefile builds it once.
 *
 * The input is a stream of requests, parsed twice under each of two sets
 * of limits (small ones, so that every limit is hit, and the server's):
 *   - whole: every request parsed from all the bytes at once;
 *   - piecemeal: each request offered a growing prefix, as a socket would
 *     deliver it, resuming the parser's state between calls.
 * The harness aborts if the parser breaks its contract: an argument or a
 * request end outside the bytes it was given, NEED_MORE asking for no more
 * than it has, a request that does not advance, a limit exceeded, a second
 * call after COMPLETE answering differently, or the two ways of feeding
 * giving different answers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RESP_FUZZ_MAX_REQUESTS 64

typedef struct resp_result {
    int rc;
    size_t pos, argc;
    uint64_t sum;  /* of the argument offsets and lengths */
} resp_result;

/* Checks a COMPLETE answer against the contract; returns its summary. */
static resp_result resp_fuzz_check(const resp_parser *ps, int rc, size_t have)
{
    resp_result r = {rc, 0, 0, 0};
    if (rc != RESP_COMPLETE)
        return r;
    if (ps->pos == 0 || ps->pos > have || ps->pos > ps->lim.max_request + ps->lim.max_inline)
        abort();
    if (ps->argc > ps->lim.max_args)
        abort();
    for (size_t i = 0; i < ps->argc; i++) {
        const resp_span *a = &ps->args[i];
        if (a->off > ps->pos || a->len > ps->pos - a->off || a->len > ps->lim.max_bulk + ps->lim.max_inline)
            abort();
        r.sum = r.sum * 31 + a->off * 7 + a->len;
    }
    r.pos = ps->pos;
    r.argc = ps->argc;
    return r;
}

/* Parses requests from data; piecemeal = grow the offered prefix. */
static size_t resp_fuzz_run(const uint8_t *data, size_t size, const resp_limits *lim,
                            int piecemeal, resp_result *out)
{
    resp_parser ps;
    resp_parser_init(&ps, lim);
    size_t off = 0, n = 0;
    while (off < size && n < RESP_FUZZ_MAX_REQUESTS) {
        const char *p = (const char *)data + off;
        size_t left = size - off;
        size_t end = piecemeal ? 0 : left;
        int rc;
        for (;;) {
            rc = resp_parse(&ps, p, p + end);
            if (rc != RESP_NEED_MORE || end == left)
                break;
            if (ps.need <= end)
                abort(); /* NEED_MORE must ask for more than it has */
            /* Sometimes one byte more, sometimes all it asked for. */
            size_t next = (end + data[(off + end) % size]) % 2 ? end + 1 : ps.need;
            end = next < left ? next : left;
        }
        if (rc == RESP_NEED_MORE && ps.need <= left)
            abort();
        out[n++] = resp_fuzz_check(&ps, rc, end);
        if (rc != RESP_COMPLETE)
            break;
        /* Asking again before resp_parser_next gives the same request. */
        resp_result again = resp_fuzz_check(&ps, resp_parse(&ps, p, p + end), end);
        if (again.rc != out[n - 1].rc || again.pos != out[n - 1].pos ||
            again.argc != out[n - 1].argc || again.sum != out[n - 1].sum)
            abort();
        off += ps.pos;
        resp_parser_next(&ps);
    }
    resp_parser_free(&ps);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const resp_limits small = {64, 8, 32, 256};
    static const resp_limits server = {64u * 1024 * 1024, 1024 * 1024, 64 * 1024,
                                       128u * 1024 * 1024};
    const resp_limits *lims[2] = {&small, &server};
    for (int l = 0; l < 2; l++) {
        resp_result whole[RESP_FUZZ_MAX_REQUESTS], piece[RESP_FUZZ_MAX_REQUESTS];
        size_t nw = resp_fuzz_run(data, size, lims[l], 0, whole);
        size_t np = resp_fuzz_run(data, size, lims[l], 1, piece);
        if (nw != np)
            abort();
        for (size_t i = 0; i < nw; i++)
            if (whole[i].rc != piece[i].rc || whole[i].pos != piece[i].pos ||
                whole[i].argc != piece[i].argc || whole[i].sum != piece[i].sum)
                abort();
    }
    return 0;
}
