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
 * knobs, which serve's own options may add to).  Returns the process exit
 * status: 0 after a clean shutdown, 2 on a usage or start-up error
 * (message on stderr). */
int serve_main(const char *dir, int sync, const kv_options *knobs, int nargs, char **args);

/* `kv DIR cluster`: starts a Raft group of `kv serve` members in DIR/m1,
 * DIR/m2, ... on this host, waits for a leader, then for SIGINT or SIGTERM
 * (serve_cluster.c; stage 10 on).  `args` are the words after "cluster".
 * Returns the exit status: 0 after stopping them on a signal, 1 if a
 * member exited on its own, 2 on a usage or start-up error. */
int serve_cluster_main(const char *dir, int nargs, char **args);

/* `kv HOST:PORT member add|remove|transfer ...`: a membership change asked
 * of a running group's member at HOST:PORT (serve_member_cli.c).  Returns
 * the exit status: 0 on +OK, 1 on the member's error, 2 on a usage or
 * connection error. */
int serve_member_cli_main(const char *addr, int nargs, char **args);

#endif
