/*
 * kv_ext.h: what a later stage adds to the kv command, chosen at run
 * time.  Every stage's kv but stage 10's runs kv_main with none
 * (tools/kv_main.c); stage 10's runs it with its own
 * (stages/10-raft/tools/raft_kv_main.c): commands of its own (`kv DIR
 * cluster`, `kv DIR certs`, `kv HOST:PORT member ...`) and `kv serve` as
 * a member of a Raft group (serve_ext.h).  A reader of either main sees
 * which runs; nothing is replaced at link time.
 */
#ifndef KV_TOOL_EXT_H
#define KV_TOOL_EXT_H

struct serve_ext_ops;

typedef struct kv_ext_cmd {
    const char *name;
    /* `kv WHERE NAME ARGS...`: WHERE is the word before NAME (a
     * directory, or a member's HOST:PORT).  Returns the exit status. */
    int (*run)(const char *where, int nargs, char **args);
} kv_ext_cmd;

typedef struct kv_ext {
    const kv_ext_cmd *cmds;             /* ended by a NULL name */
    const struct serve_ext_ops *serve;  /* given to serve_main, or NULL */
    const char *usage;                  /* lines added to kv --help */
    const char *example;                /* bare kv's example, in place of a
                                         * put and a get on a directory, or NULL */
} kv_ext;

/* The kv command (tools/kv.c), with ext's additions if not NULL. */
int kv_main(int argc, char **argv, const kv_ext *ext);

/* What the kv tool lends a stage's commands (tools/kv_tool.c): parses s,
 * a whole decimal number in [lo, hi], into *v: 1, or 0 (*v unchanged) if
 * s is anything else. */
int tool_number(const char *s, long lo, long hi, long *v);

#endif
