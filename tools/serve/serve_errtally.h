/*
 * serve_errtally.h: error replies counted by code, the first word of the
 * reply (ERR, NOAUTH, EXECABORT...), as Redis's INFO errorstats counts
 * them.  A reply buffer may point at a tally (serve_out.h): out_error
 * adds each error it writes there.  The server keeps one for INFO
 * (serve_stats.h), an EXEC one of its own, merged in when it is answered.
 *
 * Invariant: total counts every error added; the codes' counts add up to
 * total - untracked (past SERVE_ERRCODES_MAX distinct codes, or when out
 * of memory, a code is not named).
 */
#ifndef KV_SERVE_ERRTALLY_H
#define KV_SERVE_ERRTALLY_H

#include <stddef.h>

#define SERVE_ERRCODES_MAX      128     /* distinct error codes counted (Redis's limit) */

typedef struct serve_errcode {
    char code[32];
    unsigned long long count;
} serve_errcode;

typedef struct serve_errtally {
    serve_errcode *e;        /* in the order first seen */
    size_t n, cap;
    unsigned long long total, untracked;
} serve_errtally;

/* Adds the error reply msg (it starts with the code). */
void serve_errtally_add(serve_errtally *t, const char *msg);
void serve_errtally_merge(serve_errtally *into, const serve_errtally *from);
void serve_errtally_free(serve_errtally *t);

#endif
