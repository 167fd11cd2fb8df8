/*
 * kv_text.c: words and bytes for the kv command: splitting a line of
 * standard input into words (quotes and escapes), hex decoding, and \xNN
 * escaping on output.  See kv_text.h for the forms and the grammar.
 */
#include "kv_text.h"

#include <stdlib.h>
#include <string.h>

#include "escape.h"

/* The value of one hex digit, or -1 if `c` is not one. */
static int text_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

text_word text_word_of(const char *s)
{
    return (text_word){s, strlen(s)};
}

int text_word_is(text_word w, const char *s)
{
    return strlen(s) == w.n && memcmp(w.p, s, w.n) == 0;
}

/* Adds a word to the array, growing it; TEXT_OK or TEXT_NOMEM. */
static int text_push(text_word **words, size_t *nwords, size_t *cap, text_word w)
{
    if (*nwords == *cap) {
        size_t grown = *cap ? 2 * *cap : 16;
        text_word *bigger = realloc(*words, grown * sizeof **words);
        if (bigger == NULL)
            return TEXT_NOMEM;
        *words = bigger;
        *cap = grown;
    }
    (*words)[(*nwords)++] = w;
    return TEXT_OK;
}

/* Decodes the escape at line[*i] (a backslash) into *out, moving *i past
 * it; 0, or -1 with *why. */
static int text_unescape(const char *line, size_t n, size_t *i, char *out, const char **why)
{
    if (*i + 1 >= n) {
        *why = "a backslash at the end of the line (write \\\\ for a backslash)";
        return -1;
    }
    char c = line[*i + 1];
    static const char plain_from[] = "\\\"'ntr", plain_to[] = "\\\"'\n\t\r";
    const char *at = strchr(plain_from, c);
    if (c != '\0' && at != NULL) {
        *out = plain_to[at - plain_from];
        *i += 2;
        return 0;
    }
    if (c == 'x') {
        int hi = *i + 2 < n ? text_hex_digit(line[*i + 2]) : -1;
        int lo = *i + 3 < n ? text_hex_digit(line[*i + 3]) : -1;
        if (hi < 0 || lo < 0) {
            *why = "\\x must be followed by two hex digits (\\x00 to \\xff)";
            return -1;
        }
        *out = (char)(hi << 4 | lo);
        *i += 4;
        return 0;
    }
    *why = "unknown escape (known: \\\\ \\\" \\' \\n \\t \\r \\xNN)";
    return -1;
}

int text_split_line(char *line, size_t n, text_word **words, size_t *nwords, size_t *cap,
                    const char **why, size_t *col)
{
    size_t i = 0;
    *nwords = 0;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    for (;;) {
        while (i < n && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i >= n)
            return TEXT_OK;
        /* One word: read from line[i], written to line[out]; out <= i. */
        size_t start = i, out = i;
        char quote = 0;
        size_t quote_at = 0;
        while (i < n && (quote != 0 || (line[i] != ' ' && line[i] != '\t'))) {
            char c = line[i];
            if (quote == 0 && (c == '"' || c == '\'')) {
                quote = c;
                quote_at = i++;
            } else if (c == quote) {
                quote = 0;
                i++;
            } else if (c == '\\' && quote != '\'') {
                size_t at = i;
                if (text_unescape(line, n, &i, &line[out], why) != 0) {
                    *col = at + 1;
                    return TEXT_BAD_LINE;
                }
                out++;
            } else {
                line[out++] = c;
                i++;
            }
        }
        if (quote != 0) {
            *why = quote == '"' ? "no closing \" for this quote" : "no closing ' for this quote";
            *col = quote_at + 1;
            return TEXT_BAD_LINE;
        }
        if (text_push(words, nwords, cap, (text_word){line + start, out - start}) != TEXT_OK)
            return TEXT_NOMEM;
    }
}

int text_decode_word(text_word w, int hex, unsigned char **out, size_t *len)
{
    if (hex && w.n % 2 != 0)
        return TEXT_BAD_HEX;
    size_t bytes = hex ? w.n / 2 : w.n;
    unsigned char *buf = malloc(bytes > 0 ? bytes : 1);
    if (buf == NULL)
        return TEXT_NOMEM;
    if (!hex) {
        if (bytes > 0)
            memcpy(buf, w.p, bytes);
    } else {
        for (size_t i = 0; i < bytes; i++) {
            int hi = text_hex_digit(w.p[2 * i]);
            int lo = text_hex_digit(w.p[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                free(buf);
                return TEXT_BAD_HEX;
            }
            buf[i] = (unsigned char)(hi << 4 | lo);
        }
    }
    *out = buf;
    *len = bytes;
    return TEXT_OK;
}

static const char text_digits[] = "0123456789abcdef";

/* 1 if byte b stands for itself in escaped text: printable ASCII but the
 * backslash and the quotes, so that escaped text in double quotes reads
 * back through text_split_line as the same bytes. */
static int text_plain(unsigned char b)
{
    return b >= 0x20 && b < 0x7f && b != '\\' && b != '"' && b != '\'';
}

const char *text_show(const void *p, size_t n, char *buf, size_t cap)
{
    return escape_bytes(buf, cap, p, n, (cap - 4) / 4); /* room for any byte */
}

void text_write_hex(FILE *f, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        putc(text_digits[b[i] >> 4], f);
        putc(text_digits[b[i] & 15], f);
    }
}

void text_write_escaped(FILE *f, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (text_plain(b[i])) {
            putc(b[i], f);
        } else {
            putc('\\', f);
            putc('x', f);
            putc(text_digits[b[i] >> 4], f);
            putc(text_digits[b[i] & 15], f);
        }
    }
}
