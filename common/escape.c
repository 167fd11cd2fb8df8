/*
 * escape.c: bytes as readable text (see escape.h).
 */
#include "escape.h"

#include <stdio.h>

char *escape_bytes(char *out, size_t out_cap, const void *p, size_t n, size_t max)
{
    const unsigned char *b = p;
    size_t o = 0;
    size_t shown = n < max ? n : max;
    for (size_t i = 0; i < shown && o + 5 < out_cap; i++) {
        if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\' && b[i] != '"')
            out[o++] = (char)b[i];
        else
            o += (size_t)snprintf(out + o, out_cap - o, "\\x%02x", b[i]);
    }
    if (shown < n && o + 4 <= out_cap) {
        out[o++] = '.';
        out[o++] = '.';
        out[o++] = '.';
    }
    out[o < out_cap ? o : out_cap - 1] = '\0';
    return out;
}
