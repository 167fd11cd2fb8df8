/*
 * escape.h: bytes as readable text, for kv_dump and kv_check reports.
 *
 * Printable ASCII stays as it is; every other byte, and the backslash and
 * double quote, becomes \xNN.  Output longer than `max` source bytes ends in
 * "...", so a 64 MiB value does not flood a dump.
 */
#ifndef KV_COMMON_ESCAPE_H
#define KV_COMMON_ESCAPE_H

#include <stddef.h>

/* Writes the escaped form of p[0..n) into out (always NUL-terminated;
 * out_cap >= 4 * max + 4 is always enough). Returns out. */
char *escape_bytes(char *out, size_t out_cap, const void *p, size_t n, size_t max);

#endif
