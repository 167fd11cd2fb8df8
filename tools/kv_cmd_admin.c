/*
 * kv_cmd_admin.c: the kv commands about the database as a whole: stats,
 * compact and flush (on an open database), check, dump and repair (on the closed
 * directory, through kv.h's offline tools), and the standard-input
 * commands hex and help.
 *
 * stats prints kv_stats's lines that say something: what the database
 * holds and the counters that moved (a fresh process has counted nothing
 * yet, and half of kv_stats's lines are then zeros); stats --all prints
 * every line.  compact says what it did in bytes of the directory's
 * files, measured before and after: every stage has files, not every
 * stage has the same statistics.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kv_tool.h"

/* Whether s[0..n) is a number that reads zero: "0", "0.00". */
static int stats_is_zero(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    while (i < n && s[i] == '0')
        i++, digits++;
    if (i < n && s[i] == '.' && digits > 0)
        for (i++; i < n && s[i] == '0'; i++)
            ;
    return digits > 0 && i == n;
}

/* Whether the words of s[0..n) after the one `skip` leaves out (and the
 * "|" between them) all read zero: a level's line, "level.N: TABLES BYTES
 * TARGET SCORE | COMPACTIONS MOVES READ_MB WRITTEN_MB SECONDS", with
 * TARGET and SCORE skipped (words 2 and 3). */
static int stats_level_is_empty(const char *s, size_t n)
{
    int word = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && s[i] == ' ')
            i++;
        size_t start = i;
        while (i < n && s[i] != ' ')
            i++;
        if (i == start)
            break;
        int skipped = word == 2 || word == 3 || (i - start == 1 && s[start] == '|');
        if (!skipped && !stats_is_zero(s + start, i - start))
            return 0;
        word++;
    }
    return 1;
}

/* Whether stats without --all leaves out the line s[0..n) ("NAME: VALUE"):
 * a value of zero, a histogram that counted nothing ("count=0,..." and its
 * ".buckets: none"), or a level that holds no table and never compacted. */
static int stats_line_is_idle(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    if (colon == NULL || colon + 1 >= s + n || colon[1] != ' ')
        return 0;
    size_t name_len = (size_t)(colon - s);
    const char *v = colon + 2;
    size_t vn = n - name_len - 2;
    if (stats_is_zero(v, vn))
        return 1;
    if (vn >= 8 && memcmp(v, "count=0,", 8) == 0)
        return 1;
    if (name_len > 8 && memcmp(s + name_len - 8, ".buckets", 8) == 0 && vn == 4 &&
        memcmp(v, "none", 4) == 0)
        return 1;
    if (name_len > 6 && memcmp(s, "level.", 6) == 0)
        return stats_level_is_empty(v, vn);
    return 0;
}

/* stats [--all]: kv_stats's lines.  Without --all, what the database holds
 * and the counters that moved: the lines stats_line_is_idle names are left
 * out (the "levels:" heading too when every level is), and a last line
 * says how many. */
static int cmd_stats(tool *t, const text_word *args, int nargs)
{
    int all = 0;
    if (nargs == 1) {
        if (!text_word_is(args[0], "--all"))
            return tool_fail("stats: unknown option (the one option is --all)");
        all = 1;
    }
    char *text;
    int st = kv_stats(t->db, &text);
    if (st != KV_OK)
        return tool_fail_status(st);
    size_t n = strlen(text);
    if (all) {
        fputs(text, stdout);
        if (n == 0 || text[n - 1] != '\n')
            putchar('\n');
        kv_free(text);
        return EXIT_OK;
    }
    /* Two passes: whether any level is shown decides the heading's line. */
    int levels_shown = 0;
    unsigned long left_out = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (const char *p = text, *end = text + n; p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            int idle = stats_line_is_idle(p, len);
            if (pass == 0 && !idle && len > 6 && memcmp(p, "level.", 6) == 0)
                levels_shown = 1;
            if (len >= 7 && memcmp(p, "levels:", 7) == 0)
                idle = !levels_shown;
            if (pass == 1 && idle)
                left_out++;
            if (pass == 1 && !idle)
                printf("%.*s\n", (int)len, p);
            p += len + 1;
        }
    }
    if (left_out > 0)
        printf("(%lu more line%s at zero, or histograms of nothing yet: stats --all shows them)\n",
               left_out, tool_plural(left_out));
    kv_free(text);
    return EXIT_OK;
}

/* check's exit status, from kv_check's verdict (kv.h): 0 intact, 3
 * KV_CHECK_WILL_CUT (readable, but the next read-write open cuts off a
 * torn tail, and what the lines above name is lost), 2 damage kv_open
 * refuses, or a directory check could not read. */
static int cmd_check(tool *t, const text_word *args, int nargs)
{
    (void)args, (void)nargs;
    int st = kv_check(t->dir, tool_print_line, stdout);
    if (st == KV_OK)
        return EXIT_OK;
    if (st == KV_CHECK_WILL_CUT) {
        fflush(stdout);
        tool_note("exit 3: %s can be read, and the next read-write open cuts off the torn "
                  "tail named above", t->dir);
        return EXIT_WILL_LOSE;
    }
    return tool_fail_status(st);
}

static int cmd_dump(tool *t, const text_word *args, int nargs)
{
    unsigned flags = 0;
    if (nargs == 1) {
        if (!text_word_is(args[0], "--frames"))
            return tool_fail("dump: unknown option (the one option is --frames)");
        flags |= KV_DUMP_FRAMES;
    }
    int st = kv_dump_with(t->dir, flags, tool_print_line, stdout);
    return st == KV_OK ? EXIT_OK : tool_fail_status(st);
}

static int cmd_repair(tool *t, const text_word *args, int nargs)
{
    (void)args, (void)nargs;
    int st = kv_repair(t->dir, tool_print_line, stdout);
    return st == KV_OK ? EXIT_OK : tool_fail_status(st);
}

/* The number and total size of the regular files in dir; 0, or -1 (with
 * errno) if the directory cannot be read. */
static int dir_bytes(const char *dir, unsigned long long *files, unsigned long long *bytes)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    *files = *bytes = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
            (*files)++;
            *bytes += (unsigned long long)st.st_size;
        }
    }
    closedir(d);
    return 0;
}

static int cmd_compact(tool *t, const text_word *args, int nargs)
{
    (void)args, (void)nargs;
    unsigned long long files0 = 0, bytes0 = 0, files1 = 0, bytes1 = 0;
    int measured = dir_bytes(t->dir, &files0, &bytes0) == 0;
    int st = kv_compact(t->db);
    if (st != KV_OK)
        return tool_fail_status(st);
    measured = measured && dir_bytes(t->dir, &files1, &bytes1) == 0;
    if (!measured) {
        puts("compact: done (the directory's size could not be measured)");
        return EXIT_OK;
    }
    printf("compact: %s: %llu byte%s in %llu file%s before, %llu byte%s in %llu file%s after",
           t->dir, bytes0, tool_plural(bytes0), files0, tool_plural(files0), bytes1,
           tool_plural(bytes1), files1, tool_plural(files1));
    if (bytes1 < bytes0)
        printf(": %llu byte%s reclaimed\n", bytes0 - bytes1, tool_plural(bytes0 - bytes1));
    else
        printf(": nothing reclaimed\n");
    return EXIT_OK;
}

/* flush: kv_flush, and what it did in kv_stats's terms (memtable entries
 * before, tables after); a stage before 04 has no memtable to flush. */
static int cmd_flush(tool *t, const text_word *args, int nargs)
{
    (void)args, (void)nargs;
    unsigned long long entries = 0, tables = 0;
    int has_memtable = tool_stat(t->db, "memtable.entries", &entries);
    int st = kv_flush(t->db);
    if (st != KV_OK)
        return tool_fail_status(st);
    if (!has_memtable)
        printf("flush: stage %s keeps nothing in memory that is not in its files: nothing "
               "to write\n", kv_stage());
    else if (entries == 0)
        printf("flush: the memtable is empty: no table written\n");
    else if (tool_stat(t->db, "tables.count", &tables))
        printf("flush: the memtable's %llu entr%s became a table: %llu table%s now\n",
               entries, entries == 1 ? "y" : "ies", tables, tool_plural(tables));
    else
        printf("flush: the memtable's %llu entr%s became a table\n", entries,
               entries == 1 ? "y" : "ies");
    return EXIT_OK;
}

static int cmd_hex(tool *t, const text_word *args, int nargs)
{
    (void)nargs;
    if (!t->interactive)
        return tool_fail("'hex' is a standard-input command; use kv -x DIR ...");
    int on = text_word_is(args[0], "on");
    if (!on && !text_word_is(args[0], "off"))
        return tool_fail("usage: hex on|off");
    t->hex = on;
    return EXIT_OK;
}

static int cmd_help(tool *t, const text_word *args, int nargs)
{
    (void)args, (void)nargs;
    tool_usage_short(stdout, t->ext);
    return EXIT_OK;
}

const tool_cmd tool_cmds_admin[] = {
    {"stats", 0, 1, NEED_READ, cmd_stats},
    {"check", 0, 0, NEED_CLOSED, cmd_check},
    {"dump", 0, 1, NEED_CLOSED, cmd_dump},
    {"repair", 0, 0, NEED_CLOSED, cmd_repair},
    {"compact", 0, 0, NEED_UPDATE, cmd_compact},
    {"flush", 0, 0, NEED_UPDATE, cmd_flush},
    {"hex", 1, 1, NEED_NOTHING, cmd_hex},
    {"help", 0, 0, NEED_NOTHING, cmd_help},
    {NULL, 0, 0, 0, NULL},
};
