/*
 * serve.h: `kv DIR serve`, a server speaking the Redis protocol (RESP2)
 * over the database in DIR, so that redis-cli, redis-benchmark and Redis
 * client libraries can use any stage.  See docs/server.md.
 */
#ifndef KV_SERVE_H
#define KV_SERVE_H

/* Runs the server until SIGTERM or SIGINT.  `args` are the words after
 * "serve" (options).  Returns the process exit status: 0 after a clean
 * shutdown, 2 on a usage or start-up error (message on stderr). */
int serve_main(const char *dir, int nargs, char **args);

#endif
