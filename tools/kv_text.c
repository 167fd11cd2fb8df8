/*
 * kv_text.c: hex decoding and printing, and \xNN escaping, for the kv
 * command.  See kv_text.h for the two forms.
 */
#include "kv_text.h"

#include <stdlib.h>
#include <string.h>

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

int text_decode_word(const char *word, int hex, unsigned char **out, size_t *len)
{
    size_t n = strlen(word);
    if (hex && n % 2 != 0)
        return TEXT_BAD_HEX;
    size_t bytes = hex ? n / 2 : n;
    unsigned char *buf = malloc(bytes > 0 ? bytes : 1);
    if (buf == NULL)
        return TEXT_NOMEM;
    if (!hex) {
        memcpy(buf, word, n);
    } else {
        for (size_t i = 0; i < bytes; i++) {
            int hi = text_hex_digit(word[2 * i]);
            int lo = text_hex_digit(word[2 * i + 1]);
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
        if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\') {
            putc(b[i], f);
        } else {
            putc('\\', f);
            putc('x', f);
            putc(text_digits[b[i] >> 4], f);
            putc(text_digits[b[i] & 15], f);
        }
    }
}
