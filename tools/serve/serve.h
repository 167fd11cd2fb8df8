/*
 * serve.h: `kv DIR serve`, a server speaking the Redis protocol (RESP2)
 * over the database in DIR, so that redis-cli, redis-benchmark and Redis
 * client libraries can use any stage.  See docs/server.md.
 */
#ifndef KV_SERVE_H
#define KV_SERVE_H

#include "kv.h"

/* Runs the server until SIGTERM or SIGINT (with --stdio: until the end of
 * standard input).  `args` are the words after "serve" (options, the kv
 * command's knobs among them: --memtable-bytes 256k); sync and knobs are
 * what kv was given before DIR (--sync, the same as serve's, and the
 * knobs, which serve's own options may add to).  ext is what the stage's
 * kv adds to the server (serve_ext.h: stage 10's, a member of a Raft
 * group), or NULL.  Returns the process exit status: 0 after a clean
 * shutdown, 2 on a usage or start-up error (message on stderr). */
struct serve_ext_ops;
int serve_main(const char *dir, int sync, const kv_options *knobs, int nargs, char **args,
               const struct serve_ext_ops *ext);

#endif
