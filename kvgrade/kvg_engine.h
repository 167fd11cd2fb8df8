/*
 * kvg_engine.h: the engine under test as a process kvgrade starts, talks
 * RESP2 to, stops, and kills.
 *
 * The command template is split into words as a shell would split a
 * simple command (spaces; '...' and "..." quotes; backslash), with {dir}
 * replaced by the database directory and {port} by the TCP port; it is
 * run with execvp, in a process group of its own, so that a kill reaches
 * every process the engine started.  Standard error goes to a log file.
 *
 * Two transports: the engine's standard input and output (the default),
 * or a TCP connection to 127.0.0.1:{port} (--resp-port), made once the
 * engine accepts it.  A clean stop is the end of the input (standard
 * input closed; over TCP, SIGTERM), and the engine must exit by itself.
 *
 * Every wait is bounded: a reply must come within `timeout` seconds.
 * While waiting, kvgrade also watches a second descriptor (the power-cut
 * file system's control channel, kvg_fs.h): kvg_engine_recv returns
 * KVG_WATCHED when it becomes readable, so a freeze is noticed at once.
 */
#ifndef KVGRADE_KVG_ENGINE_H
#define KVGRADE_KVG_ENGINE_H

#include <sys/types.h>

#include "kvg_resp.h"

typedef struct kvg_engine_cfg {
    const char *template;   /* the command, with {dir} (and {port}) */
    int port;               /* > 0: talk over TCP to this port */
    double timeout;         /* seconds a reply (or a stop) may take */
    const char *log_path;   /* where the engine's standard error goes */
} kvg_engine_cfg;

typedef struct kvg_engine {
    const kvg_engine_cfg *cfg;
    pid_t pid;              /* 0 when not running */
    int to, from;           /* request and reply descriptors (the same socket over TCP) */
    int stdin_fd;           /* over TCP: the engine's standard input */
    unsigned char *in;      /* reply bytes received, [in_start, in_len) unparsed */
    size_t in_start, in_len, in_cap;
    int eof;                /* no more replies will come */
    int exited;             /* reaped: status holds the wait status */
    int status;
    double started;         /* kvg_now() at the start */
    double first_reply;     /* seconds from the start to the first reply, or -1 */
} kvg_engine;

enum { KVG_OK = 0, KVG_EOF = 1, KVG_TIMEOUT = 2, KVG_WATCHED = 3, KVG_BADREPLY = 4,
       KVG_START_FAILED = 5 };

/* Splits the template into words with {dir} and {port} replaced; NULL
 * (and *why) if it is not a command. */
char **kvg_engine_words(const char *template, const char *dir, int port, const char **why);
void   kvg_engine_words_free(char **words);

/* Starts the engine on dir: KVG_OK, or KVG_START_FAILED (message in
 * *why, malloc'd).  Over TCP it waits for the engine to accept the
 * connection, and returns KVG_WATCHED (the engine running, unconnected)
 * if watch_fd becomes readable first (-1: none). */
int  kvg_engine_start(kvg_engine *e, const kvg_engine_cfg *cfg, const char *dir, int watch_fd,
                      char **why);
/* Sends a request: KVG_OK, KVG_EOF (the engine is gone), KVG_TIMEOUT, or
 * KVG_WATCHED (watch_fd became readable first: the request may be half
 * sent). */
int  kvg_engine_send(kvg_engine *e, const kvg_req *r, int watch_fd);
/* The same for bytes already encoded (several requests sent together). */
int  kvg_engine_send_bytes(kvg_engine *e, const unsigned char *bytes, size_t len, int watch_fd);
/* The next reply: KVG_OK (*out set), KVG_EOF, KVG_TIMEOUT, KVG_WATCHED
 * (watch_fd readable; -1 = none) or KVG_BADREPLY (*why says how). */
int  kvg_engine_recv(kvg_engine *e, kvg_reply *out, int watch_fd, const char **why);
/* Closes the input and waits for the engine to exit: KVG_OK (status in
 * e->status) or KVG_TIMEOUT (then it was killed). */
int  kvg_engine_stop(kvg_engine *e);
/* SIGKILL to its process group (does not wait). */
void kvg_engine_kill(kvg_engine *e);
/* Waits for it to exit (after a kill): KVG_OK or KVG_TIMEOUT. */
int  kvg_engine_reap(kvg_engine *e, double seconds);
/* Frees what is left (kills and reaps it if it still runs). */
void kvg_engine_close(kvg_engine *e);
/* "exit status 3", "killed by signal 11 (Segmentation fault)", ... */
char *kvg_engine_status_text(int status);
/* The last lines of the log (malloc'd; "" if none). */
char *kvg_engine_log_tail(const char *log_path, int lines);

#endif
