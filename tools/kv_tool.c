/*
 * kv_tool.c: the helpers every command of the kv tool uses (kv_tool.h):
 * messages with line numbers, words to bytes, and opening the database the
 * way a command needs it.
 *
 * Opening: a one-shot read (get, scan, stats, export) opens the database
 * read-only, so it needs no write lock and changes nothing, not even a torn
 * tail that a read-write open would cut off.  When it matters, the tool
 * says so: a directory that does not exist is "no database at DIR" (not the
 * library's "read_only is set", which the user never set), a writer holding
 * the database is named as such, and a torn tail left in place gets a note
 * that the next write will cut it.  Standard-input mode opens read-write,
 * once, because its next line may write.
 */
#include "kv_tool.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static long tool_line;

void tool_set_line(long line)
{
    tool_line = line;
}

static void tool_vprint(const char *kind, const char *fmt, va_list ap)
{
    fputs("kv: ", stderr);
    if (tool_line > 0)
        fprintf(stderr, "line %ld: ", tool_line);
    fputs(kind, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int tool_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tool_vprint("", fmt, ap);
    va_end(ap);
    return EXIT_ERROR;
}

void tool_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tool_vprint("note: ", fmt, ap);
    va_end(ap);
}

int tool_fail_status(int status)
{
    const char *msg = kv_errmsg();
    if (msg[0] != '\0')
        return tool_fail("%s: %s", kv_strerror(status), msg);
    return tool_fail("%s", kv_strerror(status));
}

int tool_decode(const tool *t, text_word w, unsigned char **out, size_t *len)
{
    int rc = text_decode_word(w, t->hex, out, len);
    if (rc == TEXT_BAD_HEX) {
        char shown[80];
        return tool_fail("not hex: '%s' (want pairs of digits 0-9, a-f)",
                         text_show(w.p, w.n, shown, sizeof shown));
    }
    if (rc != TEXT_OK)
        return tool_fail("out of memory");
    return EXIT_OK;
}

void tool_write(const tool *t, FILE *f, const void *p, size_t n)
{
    if (t->hex)
        text_write_hex(f, p, n);
    else
        text_write_escaped(f, p, n);
}

const char *tool_show(const tool *t, const void *p, size_t n, char *buf, size_t cap)
{
    if (!t->hex)
        return text_show(p, n, buf, cap);
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = p;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k + 2 + 4 > cap) {
            memcpy(buf + k, "...", 4);
            return buf;
        }
        buf[k++] = digits[b[i] >> 4];
        buf[k++] = digits[b[i] & 15];
    }
    buf[k] = '\0';
    return buf;
}

char *tool_path(text_word w)
{
    if (memchr(w.p, '\0', w.n) != NULL) {
        tool_fail("a file name cannot hold a NUL byte");
        return NULL;
    }
    char *path = strndup(w.p, w.n);
    if (path == NULL)
        tool_fail("out of memory");
    return path;
}

void tool_print_line(void *ctx, const char *line)
{
    FILE *f = ctx;
    fputs(line, f);
    fputc('\n', f);
}

int tool_number(const char *s, long lo, long hi, long *v)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || n < lo || n > hi)
        return 0;
    *v = n;
    return 1;
}

const char *tool_plural(unsigned long long n)
{
    return n == 1 ? "" : "s";
}

int tool_close(tool *t)
{
    int st = kv_close(t->db);
    t->db = NULL;
    return st == KV_OK ? EXIT_OK : tool_fail_status(st);
}

int tool_stat(kv_db *db, const char *name, unsigned long long *value)
{
    char *text = NULL;
    if (kv_stats(db, &text) != KV_OK)
        return 0;
    size_t n = strlen(name);
    int found = 0;
    for (const char *p = text; p != NULL && *p != '\0' && !found;) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            *value = strtoull(p + n + 1, NULL, 10);
            found = 1;
        }
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    kv_free(text);
    return found;
}

/* After a read-only open: if the stage reports a torn tail found at open
 * (stats lines "open.torn_tail_bytes_...: N", the largest N > 0), a
 * read-only open left it in place, and the next read-write open cuts it. */
static void tool_note_torn_tail(const tool *t)
{
    char *text = NULL;
    if (kv_stats(t->db, &text) != KV_OK)
        return;
    static const char key[] = "open.torn_tail_bytes";
    unsigned long long n = 0;
    for (const char *p = text; p != NULL && *p != '\0';) {
        const char *end = strchr(p, '\n');
        const char *colon = strchr(p, ':');
        if (strncmp(p, key, sizeof key - 1) == 0 && colon != NULL &&
            (end == NULL || colon < end)) {
            unsigned long long v = strtoull(colon + 1, NULL, 10);
            n = v > n ? v : n;
        }
        p = end != NULL ? end + 1 : NULL;
    }
    kv_free(text);
    if (n > 0)
        tool_note("%s ends in a torn tail of %llu byte%s (a last write cut short), left in "
                  "place because this command opens the database read-only; the next write "
                  "(put, del, batch, import, compact, or a session on standard input) cuts "
                  "it off.  `kv %s check` says where it is",
                  t->dir, n, tool_plural(n), t->dir);
}

void tool_note_order(const tool *t)
{
    if (t->dir != NULL && t->dir_is_command)
        tool_note("'%s' is the name of a command, here taken as the database's directory: "
                  "the order is kv [OPTIONS] DIR COMMAND [ARGS] (see kv --help)", t->dir);
}

/* A command other than a write, on a directory that is not there, or not
 * a directory: EXIT_ERROR with a message in the user's terms; else EXIT_OK.
 * Only a write creates a database (kv_tool.h). */
static int tool_check_dir(const tool *t)
{
    struct stat st;
    int rc = EXIT_OK;
    if (stat(t->dir, &st) != 0) {
        if (errno == ENOENT)
            rc = tool_fail("no database at %s (the directory does not exist; a write such "
                           "as put or import creates one)", t->dir);
        else
            rc = tool_fail("%s: %s", t->dir, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        rc = tool_fail("no database at %s (it is not a directory)", t->dir);
    }
    if (rc != EXIT_OK)
        tool_note_order(t);
    return rc;
}

/* Opens or closes the database as `need` says.  One-shot reads open it
 * read-only; standard-input mode opens it for writing, once. */
int tool_prepare(tool *t, int need)
{
    if (need == NEED_NOTHING)
        return EXIT_OK;
    if (need == NEED_CLOSED)
        return tool_close(t) != EXIT_OK ? EXIT_ERROR : tool_check_dir(t);
    if (t->db != NULL)
        return EXIT_OK;
    kv_options opt = t->knobs;
    opt.read_only = !t->interactive && need == NEED_READ;
    opt.sync = t->sync;
    if (need != NEED_WRITE && tool_check_dir(t) != EXIT_OK)
        return EXIT_ERROR;
    int st = kv_open(t->dir, &opt, &t->db);
    if (st != KV_OK) {
        t->db = NULL;
        if (st == KV_ERR_BUSY && opt.read_only)
            tool_fail("%s: %s (this command opens the database read-only, which other "
                      "readers may share, but not a writer)", kv_strerror(st), kv_errmsg());
        else
            tool_fail_status(st);
        tool_note_order(t);
        return EXIT_ERROR;
    }
    if (opt.read_only)
        tool_note_torn_tail(t);
    return EXIT_OK;
}
