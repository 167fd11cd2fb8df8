/*
 * kv_text.h: how the kv command turns words into bytes and bytes into text.
 *
 * Keys and values are any bytes, but a command line and a terminal are text.
 * Two ways across:
 *   - hex (kv -x): every KEY/VALUE word is hex, two digits a byte, either
 *     case ("00ff10"), and bytes are printed as lowercase hex;
 *   - escaping (the default for scan): printable ASCII stands for itself and
 *     every other byte, and the backslash, is printed as \xNN, so a record
 *     never spans two lines and never contains a tab.
 */
#ifndef KV_TOOL_TEXT_H
#define KV_TOOL_TEXT_H

#include <stddef.h>
#include <stdio.h>

enum {
    TEXT_OK = 0,
    TEXT_BAD_HEX = -1,  /* hex word with an odd length or a non-hex digit */
    TEXT_NOMEM = -2
};

/* Turns `word` into bytes: its own bytes, or, when `hex` is set, the bytes
 * its hex digits spell.  On TEXT_OK, *out is a fresh allocation of *len
 * bytes (never NULL, even when *len is 0) to release with free(). */
int text_decode_word(const char *word, int hex, unsigned char **out, size_t *len);

/* Prints `n` bytes at `p` to `f` as lowercase hex. */
void text_write_hex(FILE *f, const void *p, size_t n);

/* Prints `n` bytes at `p` to `f`, escaping as described above. */
void text_write_escaped(FILE *f, const void *p, size_t n);

#endif
