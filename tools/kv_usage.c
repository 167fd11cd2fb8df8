/*
 * kv_usage.c: the kv command's usage text, in two sizes, each about the
 * stage whose kv prints it.
 *
 *   tool_usage_short  a screen (at most 25 lines): the commands this stage
 *                     has, its options, an example, the exit codes and
 *                     "kv --help for more".  Bare `kv` (options and no
 *                     DIR too) and `help` in standard-input mode print it.
 *   tool_usage        `kv --help`, the reference: this stage's commands,
 *                     each said as it works at this stage, the commands
 *                     the stage adds (kv_ext.h), its options and its knobs
 *                     first; then what every stage shares (which commands
 *                     open read-only, a Raft member's directory, the
 *                     grammar of standard-input mode, the exit codes).
 *
 * Neither describes a command or a knob the stage lacks only to refuse it
 * after: a line names what later stages add.  The stages are told apart by
 * the number kv_stage() starts with (tool_stage).
 */
#include <string.h>

#include "kv_ext.h"
#include "kv_tool.h"

/* The commands of the short usage, with the first stage that has them. */
static const struct {
    const char *shown;
    int first;
} usage_cmds[] = {
    {"put KEY VALUE", 1},  {"get KEY", 1},       {"del KEY", 1},        {"batch OP...", 1},
    {"scan [FROM [TO]]", 1}, {"stats", 1},       {"check", 1},          {"dump", 1},
    {"repair", 3},         {"flush", 4},         {"compact", 1},        {"inspect", 1},
    {"draw FILE.svg", 1},  {"export [FILE]", 1}, {"import [FILE]", 1},  {"serve", 1},
};
#define USAGE_NCMDS (sizeof usage_cmds / sizeof usage_cmds[0])
#define USAGE_COLUMN 19

/* A grid of 4 columns: the cells printed so far, and the padding the
 * last one asked for before the next (a row ends with its last word). */
typedef struct usage_grid {
    int cells;
    int pad;
} usage_grid;

static void usage_cell(FILE *f, usage_grid *g, const char *word)
{
    if (g->cells % 4 == 0)
        fputs(g->cells > 0 ? "\n  " : "  ", f);
    else
        fprintf(f, "%*s", g->pad, "");
    fputs(word, f);
    g->pad = USAGE_COLUMN - (int)strlen(word);
    g->cells++;
}

void tool_usage_short(FILE *f, const kv_ext *ext)
{
    int stage = tool_stage();
    fprintf(f,
            "usage: kv [OPTIONS] DIR COMMAND [ARGS]   one command on the database in DIR\n"
            "       kv [OPTIONS] DIR                  commands from standard input\n"
            "This is stage %s's kv: it reads and writes stage %s's databases.\n"
            "\n"
            "commands:\n",
            kv_stage(), kv_stage());
    usage_grid grid = {0, 0};
    for (size_t i = 0; i < USAGE_NCMDS; i++)
        if (stage >= usage_cmds[i].first)
            usage_cell(f, &grid, usage_cmds[i].shown);
    for (const kv_ext_cmd *c = ext != NULL ? ext->cmds : NULL; c != NULL && c->name; c++)
        usage_cell(f, &grid, c->name);
    if (stage >= 3)
        fputs("\noptions: -x: keys and values in hex; --sync: each write on the disk when it\n"
              "         returns; knobs that size the parts (kv --help lists this stage's)\n", f);
    else
        fputs("\noptions: -x: keys and values in hex; knobs that size the parts\n"
              "         (kv --help lists this stage's)\n", f);
    fputs(ext != NULL && ext->example != NULL
              ? ext->example
              : "\n"
                "  kv /tmp/db put greeting hello      # a write creates the database\n"
                "  kv /tmp/db get greeting            # prints: hello\n"
                "  kv /tmp/db                         # then type: put a 1, get a, scan, quit\n",
          f);
    fprintf(f,
            "\n"
            "exit status: 0 ok, 1 get found no such key, 2 error (a message on stderr),\n"
            "3 check: readable, but the next read-write open cuts off a torn tail\n"
            "\n"
            "kv --help for more: each command, this stage's knobs, the input's grammar\n");
}

/* "  HEAD  TEXT": TEXT from column 21, its words wrapped at 79 columns. */
static void usage_item(FILE *f, const char *head, const char *text)
{
    int col = fprintf(f, "  %-18s", head);
    if (col > 20)
        col = fprintf(f, "\n%20s", "");
    while (*text != '\0') {
        size_t word = strcspn(text, " ");
        if (col + 1 + (int)word > 79)
            col = fprintf(f, "\n%20s", "");
        col += fprintf(f, " %.*s", (int)word, text);
        text += word;
        text += strspn(text, " ");
    }
    fputc('\n', f);
}

/* get's --cost: what a lookup's cost says at this stage. */
static const char *usage_cost(int stage)
{
    if (stage < 4)
        return "its time, the reads and the bytes they read";
    if (stage < 5)
        return "its time, the memtables and tables it searched, the reads and the bytes "
               "they read";
    if (stage < 9)
        return "its time, the memtables and tables it searched, bloom filter checks and "
               "skips, blocks read, found cached and searched through their hash index, "
               "reads, bytes";
    return "its time, the memtables and tables it searched, bloom filter checks and skips, "
           "blocks read, found cached and searched through their hash index, records found "
           "in the record cache, reads, bytes";
}

/* draw: what the picture shows at this stage. */
static const char *usage_drawn(int stage)
{
    switch (stage) {
    case 1: return "the log's records";
    case 2: return "the segments and the index over them";
    case 3: return "the segments, the index over them and the log's blocks";
    case 4: return "the memtable and the tables on a key axis";
    case 5: return "the memtable and the tables on a key axis, and the tables' blocks";
    case 6:
    case 7: return "the levels and the next compaction";
    case 8: return "the levels, the next compaction, and the value log's files, their live "
                   "values and garbage";
    default: return "the levels, the next compaction, the value log's files and the "
                    "cache's budget";
    }
}

/* repair: what it mends at this stage (03 on). */
static const char *usage_mended(int stage)
{
    if (stage < 4)
        return "damaged logs rewritten with their intact records";
    if (stage < 6)
        return "damaged logs rewritten with their intact records, damaged tables with "
               "every entry that can be read";
    return "damaged logs rewritten with their intact records, damaged tables with every "
           "entry that can be read, a new manifest";
}

static void usage_commands(FILE *f, int stage)
{
    char text[512];
    fprintf(f, "Stage %s's commands:\n", kv_stage());
    usage_item(f, "put KEY VALUE", "store VALUE under KEY");
    snprintf(text, sizeof text,
             "print the value of KEY (exit 1 if there is none); --cost adds what the lookup "
             "cost (kv_cost, kv.h): %s", usage_cost(stage));
    usage_item(f, "get [--cost] KEY", text);
    usage_item(f, "del KEY", "delete KEY (deleting an absent key is fine)");
    usage_item(f, "batch OP...", "apply puts and deletes atomically, in order, with one "
                                 "kv_write: batch put a 1 put b 2 del c");
    usage_item(f, "scan [FROM [TO]]", "print KEY<TAB>VALUE lines in key order, FROM <= KEY < TO");
    usage_item(f, "stats [--all]", "print what the database holds and the counters that "
                                   "moved; --all adds the lines at zero (kv_stats's every line)");
    usage_item(f, "check", "verify every file of the database (exit 2 on damage)");
    if (stage >= 3) {
        usage_item(f, "dump [--frames]", "print every record of every file, decoded, with "
                                         "offsets; --frames adds the log's blocks and the "
                                         "fragments in them");
        snprintf(text, sizeof text,
                 "mend a damaged database so that it opens, keeping all it can: %s; it says "
                 "what was lost and which older versions may show again,%s and exits 2 "
                 "without changing anything if it cannot",
                 usage_mended(stage), stage >= 4 ? " keeps what it replaced in DIR/lost/," : "");
        usage_item(f, "repair", text);
    } else {
        usage_item(f, "dump", "print every record of every file, decoded, with offsets");
    }
    if (stage >= 4)
        usage_item(f, "flush", "write the memtable to a table now (kv_flush)");
    usage_item(f, "compact", "reclaim the space of overwritten and deleted records, and "
                             "print the directory's size before and after");
    usage_item(f, "inspect [--detail]", "print kv_inspect's lines: the parts the database "
                                        "is made of (docs/lab.md); --detail adds records, "
                                        "entries, blocks");
    snprintf(text, sizeof text, "write a picture of those parts, an SVG file a browser "
                                "shows: %s", usage_drawn(stage));
    usage_item(f, "draw FILE.svg", text);
    usage_item(f, "export [FILE]", "write every key and value, in a stream any stage "
                                   "imports, to FILE (or standard output)");
    usage_item(f, "import [FILE]", "put every key and value of an export stream from FILE "
                                   "(or standard input), one atomic batch per chunk; keys "
                                   "in DIR and not in the stream stay; a stream cut short "
                                   "or damaged imports the chunks before the damage, then "
                                   "exits 2 naming its byte offset");
    usage_item(f, "serve [OPTIONS]", "serve DIR over the Redis protocol (kv DIR serve "
                                     "--help, docs/server.md)");
    if (stage < 3)
        fprintf(f, "  Later stages add repair (03 on) and flush (04 on): here repair is refused\n"
                   "  and flush says there is nothing to write.\n");
    else if (stage < 4)
        fprintf(f, "  Stage 04 adds flush: here it says there is nothing to write.\n");
}

void tool_usage(FILE *f, const kv_ext *ext)
{
    int stage = tool_stage();
    fprintf(f,
            "usage: kv [OPTIONS] DIR COMMAND [ARGS]   run one command\n"
            "       kv [OPTIONS] DIR                  read commands from standard input\n"
            "       kv --help\n"
            "\n"
            "The database in DIR, with the engine of stage %s.\n"
            "A database is read only by the stage that wrote it; export and import carry\n"
            "it to another stage:\n"
            "  build/01-log/kv db01 export db.kvx && build/02-hash/kv db02 import db.kvx\n"
            "\n",
            kv_stage());
    usage_commands(f, stage);
    if (ext != NULL && ext->usage != NULL)
        fputs(ext->usage, f);
    fprintf(f,
            "\n"
            "options:\n"
            "  -x, --hex   KEY, VALUE, FROM and TO are hex (00ff10, either case), and\n"
            "              get and scan print hex.  Without it, get prints the raw value\n"
            "              and a newline, and scan prints bytes that are not printable\n"
            "              ASCII, and \\ \" ', as \\xNN, so a record is one line.\n");
    if (stage >= 3)
        fprintf(f, "  --sync      open with kv_options.sync = 1: every write is on stable\n"
                   "              storage when it returns\n");
    else
        fprintf(f, "  --sync      open with kv_options.sync = 1, which this stage ignores: a\n"
                   "              write returns once the OS has it (stage 03 on: the disk)\n");
    if (stage >= 2)
        fprintf(f, "\nStage %s's knobs (sizes as 4096, 4k or 1m; --NAME=VALUE works too):\n",
                kv_stage());
    else
        fprintf(f, "\nStage %s's knob (--NAME=VALUE works too):\n", kv_stage());
    tool_knobs_usage(f);
    fprintf(f,
            "  A knob holds for every command of this kv process (any that opens the\n"
            "  database); nothing stores it, so give it again to each command that\n"
            "  writes, or run the commands from standard input (serve takes them after\n"
            "  the word serve too).\n");
    if (stage >= 5)
        fprintf(f, "  Small tables of small blocks:\n"
                   "    kv --memtable-bytes 2k --block-bytes 128 DB < puts.txt; kv DB draw db.svg\n");
    fprintf(f,
            "\n"
            "get, scan, stats, export, inspect and draw run alone open the database\n"
            "read-only: they need no write lock and change nothing, not even a torn tail\n"
            "(a note says so).  Only a write (put, del, batch, import) creates a database\n"
            "where DIR does not exist; any other command there says \"no database at DIR\".\n"
            "DIR may be a Raft group member's directory (stage 10, docs/10-raft.md): get,\n"
            "scan, stats, export, inspect and draw then read its live engine\n"
            "(DIR/replica/data-a or data-b, as DIR/replica/REPLICA names it) and say so,\n"
            "once the member is stopped: while it runs it holds its engine open, and they\n"
            "answer that the database is busy; ask the running member instead, through its\n"
            "client port (redis-cli -p PORT, READONLY first at a follower).  Other commands\n"
            "are refused, since the engine changes only through the group.\n"
            "\n"
            "From standard input: the same commands without DIR, one a line, plus\n"
            "`hex on`, `hex off`, `help` and `quit` (or `exit`); blank lines and lines\n"
            "starting with # are skipped.  Words are separated by spaces or tabs;\n"
            "\"double quotes\" and 'single quotes' keep spaces in a word (\"\" is an empty\n"
            "word), and a backslash escapes: \\\\ \\\" \\' \\n \\t \\r and \\xNN (any byte), in\n"
            "and out of double quotes, not in single quotes.  So `put \"a b\" \"\"` stores\n"
            "an empty value under \"a b\", and `put \"KEY\" \"VALUE\"`, with KEY and VALUE\n"
            "as scan prints them, stores the same bytes again.  Errors name the line of\n"
            "the input: `kv: line 3: ...`.  The prompt `kv> ` shows on a terminal.  The\n"
            "database stays open, read-write, between commands; check, dump and repair\n"
            "close it first.\n"
            "\n"
            "exit status: 0 ok, 1 get found no such key, 2 error (message on stderr),\n"
            "3 check: the files are readable, but the next read-write open drops data\n"
            "(a torn tail; check says what).  From standard input: 2 if any command\n"
            "failed with an error, else 0.\n");
}
