/*
 * error.c: thread-local last-failure message and the status code names.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kv.h"

#define ERRMSG_CAP 1024

static _Thread_local char errmsg[ERRMSG_CAP];

int kv_error(int code, const char *fmt, ...)
{
    /* Formatted aside first, so that the arguments may include kv_errmsg()
     * itself (a message that adds to the one before). */
    char msg[ERRMSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(errmsg, msg, sizeof errmsg);
    return code;
}

void kv_error_append(const char *fmt, ...)
{
    size_t used = strlen(errmsg);
    if (used + 1 >= sizeof errmsg)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg + used, sizeof errmsg - used, fmt, ap);
    va_end(ap);
}

void kv_error_clear(void) { errmsg[0] = '\0'; }

const char *kv_errmsg(void) { return errmsg; }

const char *kv_strerror(int status)
{
    switch (status) {
    case KV_OK:          return "ok";
    case KV_NOT_FOUND:   return "not found";
    case KV_CHECK_WILL_CUT: return "kv_open will cut a torn tail";
    case KV_ERR_IO:      return "I/O error";
    case KV_ERR_CORRUPT: return "corruption";
    case KV_ERR_INVALID: return "invalid argument";
    case KV_ERR_NOMEM:   return "out of memory";
    case KV_ERR_BUSY:    return "database is busy (open elsewhere)";
    case KV_ERR_CONFLICT: return "conflict (a write since the transaction began: retry)";
    default:             return "unknown status";
    }
}
