/*
 * kv_text.h: how the kv command turns words into bytes and bytes into text.
 *
 * Keys and values are any bytes, but a command line and a terminal are text.
 * Three ways across:
 *   - hex (kv -x): every KEY/VALUE word is hex, two digits a byte, either
 *     case ("00ff10"), and bytes are printed as lowercase hex;
 *   - escaping (the default for scan): printable ASCII stands for itself and
 *     every other byte, and the backslash and the quotes " and ', is
 *     printed as \xNN, so a record never spans two lines and never contains
 *     a tab, and a key or value printed so, put in double quotes, reads
 *     back on standard input as the same bytes;
 *   - quoting, on standard input only (on a command line the shell has
 *     already done it): a line is split into words by text_split_line,
 *     with this grammar:
 *
 *       line   := blank* [word (blank+ word)*] blank*
 *       word   := part+                  adjacent parts join: a"b c" is "ab c"
 *       part   := plain | escape | "..." | '...'
 *       plain  := any byte but blank, ", ' and backslash
 *       "..."  := plain bytes, blanks, ' and escapes, up to the next "
 *       '...'  := any bytes but ', taken as they are
 *       escape := \\  \"  \'  \n  \t  \r  \xNN (NN two hex digits)
 *       blank  := space or tab (a line ends at \n; \r\n is fine)
 *
 *     so `put "a b" c` stores "a b", `put k ""` an empty value, and a line
 *     printed by scan (\xNN and \\x5c for a backslash) reads back as the
 *     same bytes.  A word is a pointer and a length: \x00 makes a NUL.
 *
 * Words are a pointer and a length everywhere, never NUL-terminated
 * strings, because a word may hold NUL bytes.
 */
#ifndef KV_TOOL_TEXT_H
#define KV_TOOL_TEXT_H

#include <stddef.h>
#include <stdio.h>

enum {
    TEXT_OK = 0,
    TEXT_BAD_HEX = -1,  /* hex word with an odd length or a non-hex digit */
    TEXT_NOMEM = -2,
    TEXT_BAD_LINE = -3  /* a quote not closed, or an unknown escape */
};

typedef struct text_word {
    const char *p;  /* the bytes (may hold NUL) */
    size_t n;       /* how many */
} text_word;

/* A word for a NUL-terminated string (a command-line argument). */
text_word text_word_of(const char *s);

/* 1 if w holds exactly the bytes of the string s. */
int text_word_is(text_word w, const char *s);

/* Splits line[0..n) into words by the grammar above, unescaping in place
 * (a word is never longer than its text), so the words point into `line`.
 * *words is a growing array of *cap entries (NULL and 0 at first; release
 * with free()).  Returns TEXT_OK with *nwords; TEXT_BAD_LINE with *why and
 * *col (the 1-based column of the offending byte); or TEXT_NOMEM. */
int text_split_line(char *line, size_t n, text_word **words, size_t *nwords, size_t *cap,
                    const char **why, size_t *col);

/* Turns a word into bytes: its own bytes, or, when `hex` is set, the bytes
 * its hex digits spell.  On TEXT_OK, *out is a fresh allocation of *len
 * bytes (never NULL, even when *len is 0) to release with free(). */
int text_decode_word(text_word w, int hex, unsigned char **out, size_t *len);

/* Writes the bytes p[0..n), escaped (common/escape.h: as above, but for
 * the single quote), into buf (of `cap` >= 8 bytes, NUL-terminated), cut
 * short with "..." after (cap - 4) / 4 bytes; returns buf.  For messages. */
const char *text_show(const void *p, size_t n, char *buf, size_t cap);

/* Prints `n` bytes at `p` to `f` as lowercase hex. */
void text_write_hex(FILE *f, const void *p, size_t n);

/* Prints `n` bytes at `p` to `f`, escaping as described above. */
void text_write_escaped(FILE *f, const void *p, size_t n);

#endif
