/*
 * serve.h: `kv DIR serve`, a server speaking the Redis protocol (RESP2)
 * over the database in DIR, so that redis-cli, redis-benchmark and Redis
 * client libraries can use any stage.  See docs/server.md.
 */
#ifndef KV_SERVE_H
#define KV_SERVE_H

/* Runs the server until SIGTERM or SIGINT (with --stdio: until the end of
 * standard input).  `args` are the words after "serve" (options); sync is
 * kv's own --sync, given before DIR (the same as serve's --sync).  Returns
 * the process exit status: 0 after a clean shutdown, 2 on a usage or
 * start-up error (message on stderr). */
int serve_main(const char *dir, int sync, int nargs, char **args);

#endif
