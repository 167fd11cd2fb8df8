/*
 * kv.c: the kv command, a command-line tool over one database directory:
 * main, its options, finding a command, and standard-input mode.
 *
 * The same source is linked against every stage's libkv.a and uses only
 * include/kv.h, so it is also a small example of a program using the API.
 * `kv DIR COMMAND ARGS` runs one command; `kv DIR` reads commands from
 * standard input, one a line, keeping the database open between them.
 * The usage text (kv_usage.c) is the reference for commands and exit
 * codes; kv_tool.h says which file holds which command.
 *
 * A one-shot read (get, scan, stats, export) opens the database read-only,
 * so it does not need the write lock.  check, dump and repair never open
 * it: they work on a closed directory, even a damaged one, and the
 * standard-input mode closes the database before running them (the next
 * command opens it again).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kv_ext.h"
#include "kv_tool.h"
#include "serve/serve.h"

static const tool_cmd *const tool_tables[] = {tool_cmds_data, tool_cmds_admin,
                                              tool_cmds_export, tool_cmds_draw};

/* The stage's additions (kv_ext.h), or NULL. */
static const kv_ext *tool_ext;

/* The stage's own command called `word`, or NULL. */
static const kv_ext_cmd *tool_ext_cmd(const char *word)
{
    for (const kv_ext_cmd *c = tool_ext != NULL ? tool_ext->cmds : NULL; c != NULL && c->name;
         c++)
        if (strcmp(word, c->name) == 0)
            return c;
    return NULL;
}

/* 1 if `word` is the name of a command. */
static int tool_is_command(const char *word)
{
    for (size_t i = 0; i < sizeof tool_tables / sizeof tool_tables[0]; i++)
        for (const tool_cmd *c = tool_tables[i]; c->name != NULL; c++)
            if (strcmp(word, c->name) == 0)
                return 1;
    return strcmp(word, "serve") == 0 || tool_ext_cmd(word) != NULL;
}

/* The command named `word`, or NULL. */
static const tool_cmd *tool_find(text_word word)
{
    for (size_t i = 0; i < sizeof tool_tables / sizeof tool_tables[0]; i++)
        for (const tool_cmd *c = tool_tables[i]; c->name != NULL; c++)
            if (text_word_is(word, c->name))
                return c;
    return NULL;
}

/* Runs one command given as words; returns its exit code. */
static int tool_run(tool *t, const text_word *words, int nwords)
{
    const tool_cmd *c = tool_find(words[0]);
    if (c != NULL) {
        int nargs = nwords - 1;
        if (nargs < c->min_args || (c->max_args >= 0 && nargs > c->max_args))
            return tool_fail("%s: wrong number of arguments (see kv --help)", c->name);
        int rc = tool_prepare(t, c->need);
        return rc != EXIT_OK ? rc : c->run(t, words + 1, nargs);
    }
    char shown[80];
    tool_fail("unknown command '%s' (see kv --help)",
              text_show(words[0].p, words[0].n, shown, sizeof shown));
    tool_note_order(t);
    return EXIT_ERROR;
}

/* A Raft member's directory (kv_member.c): a command that only reads
 * (word, NULL for standard-input mode) reads its live engine, t->dir
 * becoming *engine, which the caller frees; any other is refused.
 * EXIT_OK or EXIT_ERROR. */
static int tool_member(tool *t, const char *word, char **engine)
{
    char *named_by;
    int m = tool_member_engine(t->dir, engine, &named_by);
    if (m == TOOL_NOT_A_MEMBER)
        return EXIT_OK;
    if (m != TOOL_MEMBER)
        return EXIT_ERROR;
    const tool_cmd *c = word != NULL ? tool_find(text_word_of(word)) : NULL;
    int rc = EXIT_OK;
    if (word == NULL || (c != NULL && c->need != NEED_READ)) {
        rc = tool_fail("%s is a member of a Raft group: its engine, %s (named by %s), "
                       "changes only through the group's log; get, scan, stats, export, "
                       "inspect and draw read it from here, and check, dump and repair "
                       "take the engine's directory, the member stopped", t->dir, *engine,
                       named_by);
        free(*engine);
        *engine = NULL;
    } else if (c != NULL) {
        tool_note("%s is a member of a Raft group: reading its engine, %s (the live one, "
                  "named by %s), which the member holds open while it runs: ask a running "
                  "member through its client port instead", t->dir, *engine, named_by);
        t->dir = *engine;
    }
    free(named_by);
    return rc;
}

/* 1 if the line is blank or a comment (its first non-blank byte is #). */
static int repl_skip(const char *line, size_t n)
{
    size_t i = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
        i++;
    return i == n || line[i] == '#';
}

/* Standard-input mode: one command a line until EOF, quit or exit.
 * Returns EXIT_ERROR if any command failed with an error, else EXIT_OK. */
static int tool_repl(tool *t)
{
    int prompt = isatty(STDIN_FILENO);
    int rc = EXIT_OK;
    char *line = NULL;
    size_t cap = 0, wcap = 0, nwords = 0;
    text_word *words = NULL;
    ssize_t len;
    for (long lineno = 1;; lineno++) {
        if (prompt) {
            fputs("kv> ", stdout);
            fflush(stdout);
        }
        tool_set_line(0);
        if ((len = getline(&line, &cap, stdin)) < 0) {
            if (prompt)
                putchar('\n');
            break;
        }
        if (repl_skip(line, (size_t)len))
            continue;
        tool_set_line(lineno);
        const char *why = NULL;
        size_t col = 0;
        int split = text_split_line(line, (size_t)len, &words, &nwords, &wcap, &why, &col);
        int r;
        if (split == TEXT_BAD_LINE)
            r = tool_fail("column %zu: %s", col, why);
        else if (split != TEXT_OK)
            r = tool_fail("out of memory");
        else if (text_word_is(words[0], "quit") || text_word_is(words[0], "exit"))
            break;
        else
            r = tool_run(t, words, (int)nwords);
        if (r == EXIT_ERROR)
            rc = EXIT_ERROR;
        fflush(stdout);
    }
    tool_set_line(0);
    free(line);
    free(words);
    if (ferror(stdin))
        rc = tool_fail("error reading standard input");
    return rc;
}

int kv_main(int argc, char **argv, const kv_ext *ext)
{
    tool_ext = ext;
    tool t = {.ext = ext};
    kv_options_init(&t.knobs);
    int i = 1;
    const char *a_knob = NULL; /* the first knob given, if any */
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *arg = argv[i];
        int knob = tool_knob_parse(&t, argv, argc, &i);
        if (knob == EXIT_ERROR)
            return EXIT_ERROR;
        if (knob == EXIT_OK) {
            if (a_knob == NULL)
                a_knob = arg;
            continue;
        }
        if (strcmp(argv[i], "-x") == 0 || strcmp(argv[i], "--hex") == 0) {
            t.hex = 1;
        } else if (strcmp(argv[i], "--sync") == 0) {
            t.sync = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            tool_usage(stdout, ext);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else {
            return tool_fail("unknown option '%s' (kv alone prints a short usage, kv --help "
                             "all of it)", argv[i]);
        }
    }
    if (i >= argc) {
        tool_usage_short(stderr, ext);
        return EXIT_ERROR;
    }
    t.dir = argv[i++];
    t.dir_is_command = tool_is_command(t.dir);
    if (i < argc && strcmp(argv[i], "serve") == 0) /* (its options: docs/server.md) */
        return serve_main(t.dir, t.sync, &t.knobs, argc - i - 1, argv + i + 1,
                          ext != NULL ? ext->serve : NULL);
    const kv_ext_cmd *own = i < argc ? tool_ext_cmd(argv[i]) : NULL;
    if (own != NULL) /* the stage's own (kv_ext.h; stage 10's: docs/10-raft.md) */
        return own->run(t.dir, argc - i - 1, argv + i + 1);
    char *engine = NULL;
    if (tool_member(&t, i < argc ? argv[i] : NULL, &engine) != EXIT_OK)
        return EXIT_ERROR;
    int rc;
    if (i == argc) {
        t.interactive = 1;
        rc = tool_repl(&t);
    } else {
        int nwords = argc - i;
        text_word *words = malloc((size_t)nwords * sizeof *words);
        if (words == NULL)
            return tool_fail("out of memory");
        for (int k = 0; k < nwords; k++)
            words[k] = text_word_of(argv[i + k]);
        rc = tool_run(&t, words, nwords);
        free(words);
    }
    if (tool_close(&t) != EXIT_OK)
        rc = EXIT_ERROR;
    free(engine);
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = tool_fail("error writing standard output");
    return rc;
}
