/*
 * kv_tool.h: what the files of the kv command share: the tool's state, the
 * command table's shape, exit codes, and the helpers every command uses
 * (messages, opening the database, words to bytes).
 *
 * The commands are grouped by what they touch: kv_cmd_data.c (put, get,
 * del, batch, scan), kv_cmd_admin.c (stats, check, dump, repair, compact,
 * flush), kv_cmd_export.c (export, import), kv_cmd_draw.c (draw, inspect).  kv.c holds main, the command table and
 * standard-input mode; kv_usage.c the usage text, which is the reference
 * for commands and exit codes; kv_member.c finds a Raft member's engine.
 *
 * Messages: every failure prints one line on stderr, "kv: WHAT", or
 * "kv: line N: WHAT" when the command came from line N of standard input,
 * and the command returns EXIT_ERROR.
 */
#ifndef KV_TOOL_H
#define KV_TOOL_H

#include <stddef.h>
#include <stdio.h>

#include "kv.h"
#include "kv_ext.h"
#include "kv_text.h"

enum {
    EXIT_OK = 0,
    EXIT_NOT_FOUND = 1,  /* get: no such key */
    EXIT_ERROR = 2,      /* an error, or damage found by check */
    EXIT_WILL_LOSE = 3   /* check: intact enough to open, but the next
                            read-write open drops data (a torn tail) */
};

/* What a command needs before it runs.  Only a write (put, del, batch,
 * import) creates a database; the others on a directory that does not
 * exist fail with "no database at DIR". */
enum {
    NEED_NOTHING,  /* hex, help */
    NEED_READ,     /* an open database; one-shot: opened read-only */
    NEED_WRITE,    /* an open database that can be written, created if
                      the directory does not exist */
    NEED_UPDATE,   /* compact: an existing database, opened for writing */
    NEED_CLOSED    /* check, dump, repair: the files, database closed */
};

struct kv_ext;

typedef struct tool {
    const struct kv_ext *ext; /* what the stage adds to the command (kv_ext.h), or NULL */
    const char *dir;
    kv_db *db;        /* the open database, or NULL */
    int hex;          /* keys and values are hex (-x, or `hex on`) */
    int sync;         /* --sync: open with kv_options.sync = 1 */
    int interactive;  /* reading commands from standard input */
    kv_options knobs; /* the small-scale knobs given (kv_knobs.c); 0 = default */
    int dir_is_command; /* dir is also the name of a command (kv.c sets it):
                           tool_note_order then says the order of the words */
} tool;

typedef struct tool_cmd {
    const char *name;
    int min_args, max_args;  /* max_args < 0: no limit */
    int need;
    int (*run)(tool *t, const text_word *args, int nargs);
} tool_cmd;

/* The commands of each file, ended by an entry with a NULL name. */
extern const tool_cmd tool_cmds_data[], tool_cmds_admin[], tool_cmds_export[],
    tool_cmds_draw[];

/* The usage text (kv_usage.c): kv --help's, this stage's commands (and
 * ext's) and knobs first, then the reference every stage shares; and the
 * short one, a screen, for bare `kv`, a command line kv cannot read and
 * `help`.  ext may be NULL. */
void tool_usage(FILE *f, const struct kv_ext *ext);
void tool_usage_short(FILE *f, const struct kv_ext *ext);

/* The number kv_stage() starts with: 1 for "01-log" (kv_knobs.c). */
int tool_stage(void);

/* kv_knobs.c: if argv[*i] is a knob (--memtable-bytes N, or
 * --memtable-bytes=N, ...), sets it in t->knobs, moving *i past its value,
 * and returns EXIT_OK, or EXIT_ERROR after a message (a bad value, or a
 * knob this stage does not have); TOOL_NOT_A_KNOB if it is none. */
#define TOOL_NOT_A_KNOB (-1)
int tool_knob_parse(tool *t, char **argv, int argc, int *i);
/* The same into *o: for a command with options of its own (kv DIR serve). */
int tool_knob_parse_into(kv_options *o, char **argv, int argc, int *i);
/* The knobs' lines of the usage text: this stage's, then a line naming
 * the other stages' knobs, which this one refuses. */
void tool_knobs_usage(FILE *f);

/* The line of standard input being run (0: not in standard-input mode);
 * tool_fail puts it in front of every message. */
void tool_set_line(long line);

/* Prints "kv: [line N: ]<message>" on stderr and returns EXIT_ERROR. */
int tool_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "kv: [line N: ]note: <message>" on stderr. */
void tool_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports a failed library call as "kv: <status>: <kv_errmsg()>". */
int tool_fail_status(int status);

/* Decodes one KEY/VALUE word into a fresh buffer; EXIT_OK or EXIT_ERROR. */
int tool_decode(const tool *t, text_word w, unsigned char **out, size_t *len);

/* Prints key or value bytes to f: hex with -x, escaped otherwise. */
void tool_write(const tool *t, FILE *f, const void *p, size_t n);

/* Key or value bytes for a message, into buf (cap >= 8): hex with -x,
 * escaped otherwise, cut short with "..." if they do not fit. */
const char *tool_show(const tool *t, const void *p, size_t n, char *buf, size_t cap);

/* A FILE word as a path (a fresh NUL-terminated copy to free()), or NULL
 * after a message if it holds a NUL byte or memory runs out. */
char *tool_path(text_word w);

/* kv_line_fn for check, dump and repair: one line of text to stdout. */
void tool_print_line(void *ctx, const char *line);

/* Opens or closes the database as `need` says (see kv.c); EXIT_OK or
 * EXIT_ERROR with a message. */
int tool_prepare(tool *t, int need);

/* A note for a DIR that is a command's name (t->dir_is_command), when what was asked failed:
 * the order is kv [OPTIONS] DIR COMMAND.  Prints nothing otherwise. */
void tool_note_order(const tool *t);

/* The number on kv_stats's line "name: N": 1 (in *value), or 0 if the
 * stage has no such line or kv_stats failed. */
int tool_stat(kv_db *db, const char *name, unsigned long long *value);

/* kv_member.c: if dir is a Raft member's directory (dir/replica/REPLICA,
 * stage 10) or a replica's (dir/REPLICA), TOOL_MEMBER, with *engine the
 * path of its live engine and *named_by the REPLICA file's (both
 * malloc'd); TOOL_NOT_A_MEMBER if it is neither; EXIT_ERROR after a
 * message if the REPLICA file cannot be read or names no engine. */
#define TOOL_MEMBER (-3)
#define TOOL_NOT_A_MEMBER (-2)
int tool_member_engine(const char *dir, char **engine, char **named_by);

/* Closes the database if it is open; EXIT_OK or EXIT_ERROR. */
int tool_close(tool *t);

/* tool_number (kv_ext.h: a stage's commands use it too). */

/* "s" unless n is 1, for "1 record", "2 records". */
const char *tool_plural(unsigned long long n);

#endif
