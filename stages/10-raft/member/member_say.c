/*
 * member_say.c: a member's lines on standard error, each "kv serve: raft
 * member N: ..." (member.h).  Every file of the member says what it does
 * through this one, which calls no other file of the member.
 */
#include <stdarg.h>
#include <stdio.h>

#include "member.h"

void member_say(const struct member *m, const char *fmt, ...)
{
    char line[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "kv serve: raft member %llu: %s\n", (unsigned long long)m->opt.id, line);
    fflush(stderr);
}
