/*
 * error.h: the thread's last failure, behind kv_errmsg().
 *
 * Every failing path in the library calls kv_error() exactly once, at the
 * place that knows what went wrong, with the file, the offset and the cause,
 * then returns the code it was given.  Callers further up return that code
 * unchanged and do not overwrite the message.
 *
 * Invariant: the message is thread-local, so a failure on one thread never
 * replaces the message another thread is about to read.
 */
#ifndef KV_COMMON_ERROR_H
#define KV_COMMON_ERROR_H

/* Formats the message (printf-style) as this thread's last failure and
 * returns `code`, so a failing path reads `return kv_error(KV_ERR_IO, ...)`.
 * The arguments may include kv_errmsg(), to build on the message before. */
int kv_error(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends ": <text>" to this thread's message (used to add context). */
void kv_error_append(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Clears the message (kv_errmsg() then returns ""). */
void kv_error_clear(void);

#endif
