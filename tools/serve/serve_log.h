/*
 * serve_log.h: the server's one way to say something: a line on stderr,
 * "kv serve: ...", cut to 1 KiB.  Every file of the server logs through it
 * (connection errors, start-up, shutdown); nothing else prints.
 */
#ifndef KV_SERVE_LOG_H
#define KV_SERVE_LOG_H

void serve_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
