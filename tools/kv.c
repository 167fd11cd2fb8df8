/*
 * kv.c: the kv command, a command-line tool over one database directory.
 *
 * The same source is linked against every stage's libkv.a and uses only
 * include/kv.h, so it is also a small example of a program using the API.
 * `kv DIR COMMAND ARGS` runs one command; `kv DIR` reads commands from
 * standard input, one a line, keeping the database open between them.
 * The usage text below is the reference for commands and exit codes;
 * kv_text.c does the hex and \xNN forms of keys and values.
 *
 * A one-shot read (get, scan, stats) opens the database read-only, so it
 * does not need the write lock.  check and dump never open it: they work on
 * a closed directory, even a damaged one, and the standard-input mode closes
 * the database before running them (the next command opens it again).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kv.h"
#include "kv_text.h"
#include "serve/serve.h"

enum { EXIT_OK = 0, EXIT_NOT_FOUND = 1, EXIT_ERROR = 2 };

/* What a command needs before it runs. */
enum { NEED_NOTHING, NEED_READ, NEED_WRITE, NEED_CLOSED };

#define TOOL_MAX_WORDS 8 /* words on one line of standard input */

typedef struct tool {
    const char *dir;
    kv_db *db;        /* the open database, or NULL */
    int hex;          /* keys and values are hex (-x, or `hex on`) */
    int interactive;  /* reading commands from standard input */
} tool;

typedef struct tool_cmd {
    const char *name;
    int min_args, max_args;
    int need;
    int (*run)(tool *t, char **args, int nargs);
} tool_cmd;

static void tool_usage(FILE *f)
{
    fprintf(f,
        "usage: kv [-x|--hex] DIR COMMAND [ARGS]   run one command\n"
        "       kv [-x|--hex] DIR                  read commands from standard input\n"
        "       kv --help\n"
        "\n"
        "The database in DIR, with the engine of stage %s.\n"
        "\n"
        "commands:\n"
        "  put KEY VALUE      store VALUE under KEY\n"
        "  get KEY            print the value of KEY (exit 1 if there is none)\n"
        "  del KEY            delete KEY (deleting an absent key is fine)\n"
        "  scan [FROM [TO]]   print KEY<TAB>VALUE lines in key order, FROM <= KEY < TO\n"
        "  stats              print statistics about the database\n"
        "  check              verify every file of the database (exit 2 on damage)\n"
        "  dump               print every record of every file, decoded\n"
        "  repair             rewrite damaged files keeping every intact record, and\n"
        "                     say what was lost (stage 03 on; the database closed)\n"
        "  compact            reclaim the space of overwritten and deleted records\n"
        "  serve [OPTIONS]    serve DIR over the Redis protocol (docs/server.md)\n"
        "\n"
        "options:\n"
        "  -x, --hex   KEY, VALUE, FROM and TO are hex (00ff10, either case), and\n"
        "              get and scan print hex.  Without it, get prints the raw value\n"
        "              and a newline, and scan prints bytes that are not printable\n"
        "              ASCII, and backslash, as \\xNN, so a record is one line.\n"
        "\n"
        "From standard input: the same commands without DIR, words separated by\n"
        "spaces, plus `hex on`, `hex off`, `help` and `quit` (or `exit`); blank\n"
        "lines and lines starting with # are skipped.  The prompt `kv> ` shows on a\n"
        "terminal.  The database stays open between commands; check and dump close\n"
        "it first, and so does repair.\n"
        "\n"
        "exit status: 0 ok, 1 get found no such key, 2 error (message on stderr).\n"
        "From standard input: 2 if any command failed with an error, else 0.\n",
        kv_stage());
}

/* Prints "kv: <message>" on stderr and returns EXIT_ERROR. */
static int tool_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int tool_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kv: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_ERROR;
}

/* Reports a failed library call as "kv: <status>: <message>". */
static int tool_fail_status(int status)
{
    const char *msg = kv_errmsg();
    if (msg[0] != '\0')
        return tool_fail("%s: %s", kv_strerror(status), msg);
    return tool_fail("%s", kv_strerror(status));
}

/* Decodes one KEY/VALUE word into a fresh buffer; EXIT_OK or EXIT_ERROR. */
static int tool_decode(const tool *t, const char *word, unsigned char **out, size_t *len)
{
    int rc = text_decode_word(word, t->hex, out, len);
    if (rc == TEXT_BAD_HEX)
        return tool_fail("not hex: '%s' (want pairs of digits 0-9, a-f)", word);
    if (rc != TEXT_OK)
        return tool_fail("out of memory");
    return EXIT_OK;
}

/* Prints key or value bytes: hex with -x, escaped otherwise. */
static void tool_write(const tool *t, const void *p, size_t n)
{
    if (t->hex)
        text_write_hex(stdout, p, n);
    else
        text_write_escaped(stdout, p, n);
}

/* kv_line_fn for check and dump: one line of text to stdout. */
static void tool_print_line(void *ctx, const char *line)
{
    FILE *f = ctx;
    fputs(line, f);
    fputc('\n', f);
}

static int cmd_put(tool *t, char **args, int nargs)
{
    (void)nargs;
    unsigned char *key = NULL, *val = NULL;
    size_t klen, vlen;
    int rc = tool_decode(t, args[0], &key, &klen);
    if (rc == EXIT_OK)
        rc = tool_decode(t, args[1], &val, &vlen);
    if (rc == EXIT_OK) {
        int st = kv_put(t->db, key, klen, val, vlen);
        if (st != KV_OK)
            rc = tool_fail_status(st);
    }
    free(key);
    free(val);
    return rc;
}

static int cmd_get(tool *t, char **args, int nargs)
{
    (void)nargs;
    unsigned char *key;
    size_t klen;
    if (tool_decode(t, args[0], &key, &klen) != EXIT_OK)
        return EXIT_ERROR;
    void *val;
    size_t vlen;
    int rc = EXIT_OK;
    int st = kv_get(t->db, key, klen, &val, &vlen);
    if (st == KV_OK) {
        if (t->hex)
            text_write_hex(stdout, val, vlen);
        else
            fwrite(val, 1, vlen, stdout);
        putchar('\n');
        kv_free(val);
    } else if (st == KV_NOT_FOUND) {
        fputs("kv: not found: ", stderr);
        (t->hex ? text_write_hex : text_write_escaped)(stderr, key, klen);
        fputc('\n', stderr);
        rc = EXIT_NOT_FOUND;
    } else {
        rc = tool_fail_status(st);
    }
    free(key);
    return rc;
}

static int cmd_del(tool *t, char **args, int nargs)
{
    (void)nargs;
    unsigned char *key;
    size_t klen;
    if (tool_decode(t, args[0], &key, &klen) != EXIT_OK)
        return EXIT_ERROR;
    int st = kv_delete(t->db, key, klen);
    free(key);
    return st == KV_OK ? EXIT_OK : tool_fail_status(st);
}

/* 1 if key a sorts before key b: bytewise, a prefix first (see kv.h). */
static int tool_key_before(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c < 0 || (c == 0 && alen < blen);
}

static int cmd_scan(tool *t, char **args, int nargs)
{
    unsigned char *from = NULL, *to = NULL;
    size_t flen = 0, tlen = 0;
    kv_iter *it = NULL;
    int rc = EXIT_OK, st;
    if (nargs >= 1 && (rc = tool_decode(t, args[0], &from, &flen)) != EXIT_OK)
        goto out;
    if (nargs >= 2 && (rc = tool_decode(t, args[1], &to, &tlen)) != EXIT_OK)
        goto out;
    if ((st = kv_iter_new(t->db, &it)) != KV_OK) {
        rc = tool_fail_status(st);
        goto out;
    }
    if (from != NULL)
        kv_iter_seek(it, from, flen);
    else
        kv_iter_seek_first(it);
    for (; kv_iter_valid(it); kv_iter_next(it)) {
        size_t klen, vlen;
        const void *key = kv_iter_key(it, &klen);
        if (to != NULL && !tool_key_before(key, klen, to, tlen))
            break;
        const void *val = kv_iter_value(it, &vlen);
        if (val == NULL)
            break; /* kv_iter_status says why */
        tool_write(t, key, klen);
        putchar('\t');
        tool_write(t, val, vlen);
        putchar('\n');
    }
    if ((st = kv_iter_status(it)) != KV_OK)
        rc = tool_fail_status(st);
out:
    kv_iter_free(it);
    free(from);
    free(to);
    return rc;
}

static int cmd_stats(tool *t, char **args, int nargs)
{
    (void)args, (void)nargs;
    char *text;
    int st = kv_stats(t->db, &text);
    if (st != KV_OK)
        return tool_fail_status(st);
    size_t n = strlen(text);
    fputs(text, stdout);
    if (n == 0 || text[n - 1] != '\n')
        putchar('\n');
    kv_free(text);
    return EXIT_OK;
}

static int cmd_check(tool *t, char **args, int nargs)
{
    (void)args, (void)nargs;
    int st = kv_check(t->dir, tool_print_line, stdout);
    return st == KV_OK ? EXIT_OK : tool_fail_status(st);
}

static int cmd_dump(tool *t, char **args, int nargs)
{
    (void)args, (void)nargs;
    int st = kv_dump(t->dir, tool_print_line, stdout);
    return st == KV_OK ? EXIT_OK : tool_fail_status(st);
}

static int cmd_repair(tool *t, char **args, int nargs)
{
    (void)args, (void)nargs;
    int st = kv_repair(t->dir, tool_print_line, stdout);
    return st == KV_OK ? EXIT_OK : tool_fail_status(st);
}

static int cmd_compact(tool *t, char **args, int nargs)
{
    (void)args, (void)nargs;
    int st = kv_compact(t->db);
    return st == KV_OK ? EXIT_OK : tool_fail_status(st);
}

static int cmd_hex(tool *t, char **args, int nargs)
{
    (void)nargs;
    if (!t->interactive)
        return tool_fail("'hex' is a standard-input command; use kv -x DIR ...");
    if (strcmp(args[0], "on") != 0 && strcmp(args[0], "off") != 0)
        return tool_fail("usage: hex on|off");
    t->hex = strcmp(args[0], "on") == 0;
    return EXIT_OK;
}

static int cmd_help(tool *t, char **args, int nargs)
{
    (void)t, (void)args, (void)nargs;
    tool_usage(stdout);
    return EXIT_OK;
}

static const tool_cmd tool_cmds[] = {
    {"put", 2, 2, NEED_WRITE, cmd_put},
    {"get", 1, 1, NEED_READ, cmd_get},
    {"del", 1, 1, NEED_WRITE, cmd_del},
    {"scan", 0, 2, NEED_READ, cmd_scan},
    {"stats", 0, 0, NEED_READ, cmd_stats},
    {"check", 0, 0, NEED_CLOSED, cmd_check},
    {"dump", 0, 0, NEED_CLOSED, cmd_dump},
    {"repair", 0, 0, NEED_CLOSED, cmd_repair},
    {"compact", 0, 0, NEED_WRITE, cmd_compact},
    {"hex", 1, 1, NEED_NOTHING, cmd_hex},
    {"help", 0, 0, NEED_NOTHING, cmd_help},
};

/* Closes the database if it is open; EXIT_OK or EXIT_ERROR. */
static int tool_close(tool *t)
{
    int st = kv_close(t->db);
    t->db = NULL;
    return st == KV_OK ? EXIT_OK : tool_fail_status(st);
}

/* Opens or closes the database as `need` says.  One-shot reads open it
 * read-only; standard-input mode opens it for writing, once. */
static int tool_prepare(tool *t, int need)
{
    if (need == NEED_NOTHING)
        return EXIT_OK;
    if (need == NEED_CLOSED)
        return tool_close(t);
    if (t->db != NULL)
        return EXIT_OK;
    kv_options opt;
    kv_options_init(&opt);
    opt.read_only = !t->interactive && need == NEED_READ;
    int st = kv_open(t->dir, &opt, &t->db);
    if (st != KV_OK) {
        t->db = NULL;
        return tool_fail_status(st);
    }
    return EXIT_OK;
}

/* Runs one command given as words; returns its exit code. */
static int tool_run(tool *t, char **words, int nwords)
{
    for (size_t i = 0; i < sizeof tool_cmds / sizeof tool_cmds[0]; i++) {
        const tool_cmd *c = &tool_cmds[i];
        if (strcmp(words[0], c->name) != 0)
            continue;
        int nargs = nwords - 1;
        if (nargs < c->min_args || nargs > c->max_args)
            return tool_fail("%s: wrong number of arguments (see kv --help)", c->name);
        int rc = tool_prepare(t, c->need);
        return rc != EXIT_OK ? rc : c->run(t, words + 1, nargs);
    }
    return tool_fail("unknown command '%s' (see kv --help)", words[0]);
}

/* Standard-input mode: one command a line until EOF, quit or exit.
 * Returns EXIT_ERROR if any command failed with an error, else EXIT_OK. */
static int tool_repl(tool *t)
{
    int prompt = isatty(STDIN_FILENO);
    int rc = EXIT_OK;
    char *line = NULL;
    size_t cap = 0;
    for (;;) {
        if (prompt) {
            fputs("kv> ", stdout);
            fflush(stdout);
        }
        if (getline(&line, &cap, stdin) < 0) {
            if (prompt)
                putchar('\n');
            break;
        }
        char *words[TOOL_MAX_WORDS + 1];
        int nwords = 0;
        char *save = NULL;
        for (char *w = strtok_r(line, " \t\r\n", &save); w != NULL;
             w = strtok_r(NULL, " \t\r\n", &save)) {
            if (nwords <= TOOL_MAX_WORDS)
                words[nwords] = w;
            nwords++;
        }
        if (nwords == 0 || words[0][0] == '#')
            continue;
        if (strcmp(words[0], "quit") == 0 || strcmp(words[0], "exit") == 0)
            break;
        int r = nwords > TOOL_MAX_WORDS
                    ? tool_fail("%s: too many words on one line", words[0])
                    : tool_run(t, words, nwords);
        if (r == EXIT_ERROR)
            rc = EXIT_ERROR;
        fflush(stdout);
    }
    free(line);
    if (ferror(stdin))
        rc = tool_fail("error reading standard input");
    return rc;
}

int main(int argc, char **argv)
{
    tool t = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-x") == 0 || strcmp(argv[i], "--hex") == 0) {
            t.hex = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            tool_usage(stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else {
            tool_fail("unknown option '%s'", argv[i]);
            tool_usage(stderr);
            return EXIT_ERROR;
        }
    }
    if (i >= argc) {
        tool_usage(stderr);
        return EXIT_ERROR;
    }
    t.dir = argv[i++];
    if (i < argc && strcmp(argv[i], "serve") == 0)
        return serve_main(t.dir, argc - i - 1, argv + i + 1);
    int rc;
    if (i == argc) {
        t.interactive = 1;
        rc = tool_repl(&t);
    } else {
        rc = tool_run(&t, argv + i, argc - i);
    }
    if (tool_close(&t) != EXIT_OK)
        rc = EXIT_ERROR;
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = tool_fail("error writing standard output");
    return rc;
}
