/*
 * kvg_cause.c: why an acknowledged write was lost at a power cut, in
 * words (kvg_images.h, kvg_cause).  kvgrade-fs journals every write, name
 * and sync while it records (kvgrade/fs/kvfs_journal.c); kvgrade hands it
 * the first bytes of the lost write's value and the place of its
 * acknowledgement, and it answers which write carried them and which sync
 * was missing between that write and the acknowledgement:
 *
 *   no fsync at all       nothing, file or directory, was fsynced by then
 *   never fsynced         the file holding the bytes never was (others were)
 *   fsync before write    its last fsync came before the write, none after
 *   directory entry       its bytes were synced, its name was not: no fsync
 *                         of the directory after the create, rename or
 *                         link that made it (or only one before it)
 *   rename made durable   durable once, then a rename over its file was made
 *   before the bytes      durable before the renamed file's bytes were
 *   unwritten             no write before the acknowledgement held it
 *
 * Which request it was comes from the steps; the words name the file or
 * directory (below the engine's directory) and the sync it lacked.
 */
#include <stdlib.h>
#include <string.h>

#include "kvg_images.h"

/* One %XX-encoded word of kvgrade-fs's answer, decoded; "-" is none. */
static char *cause_word(const char **p)
{
    while (**p == ' ')
        (*p)++;
    const char *s = *p;
    while (**p != ' ' && **p != '\0')
        (*p)++;
    size_t n = (size_t)(*p - s);
    char *out = kvg_alloc(n + 1), *o = out;
    if (n == 1 && s[0] == '-') {
        *out = '\0';
        return out;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (s[i] == '%' && i + 2 < n && sscanf(s + i + 1, "%2x", &v) == 1) {
            *o++ = (char)v;
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* A path below the root said below the engine's directory ("data.log");
 * the engine's directory itself is "the database directory". */
static char *cause_path(const char *path, const char *dir)
{
    const char *base = strrchr(dir, '/') != NULL ? strrchr(dir, '/') + 1 : dir;
    size_t bl = strlen(base);
    if (strcmp(path, base) == 0)
        return kvg_strdup("the database directory");
    if (strncmp(path, base, bl) == 0 && path[bl] == '/')
        return kvg_strdup(path + bl + 1);
    return kvg_strdup(path);
}

/* "SET key-07", "MSET key-07 ...", "DEL key-07": the request, by the key lost. */
static char *cause_request(const kvg_req *req, const kvg_result *res)
{
    char *s = NULL;
    size_t n;
    FILE *f = open_memstream(&s, &n);
    if (req != NULL && req->argc > 0)
        fprintf(f, "%.*s ", (int)req->argv[0].n, (const char *)req->argv[0].p);
    else
        fputs(res->lost_del ? "DEL " : "SET ", f);
    kvg_print_bytes(f, res->lost_key.p, res->lost_key.n, 40);
    if (req != NULL && req->argc > 3)
        fputs(" ...", f);
    fclose(f);
    return s;
}

char *kvg_cause(kvg_fs *fs, const char *dir, size_t ack_op, unsigned long long image,
                const kvg_req *req, const kvg_result *res)
{
    if (res->lost < 0 || res->lost_del || res->lost_val.n < 4)
        return NULL; /* nothing of it to look for in the writes */
    size_t n = res->lost_val.n < 32 ? res->lost_val.n : 32; /* its first bytes find it */
    char *cmd = kvg_alloc(64 + 2 * n), *o = cmd;
    o += sprintf(o, "why %zu %llu ", ack_op, image);
    for (size_t i = 0; i < n; i++)
        o += sprintf(o, "%02x", res->lost_val.p[i]);
    int rc = kvg_fs_cmd(fs, cmd);
    free(cmd);
    if (rc != 0)
        return NULL;
    char code[24], how;
    int name_synced, dir_before;
    int at = 0;
    if (sscanf(fs->line, "ok %23s %d %d %c %n", code, &name_synced, &dir_before, &how, &at) < 4 ||
        at == 0)
        return NULL;
    const char *p = fs->line + at;
    char *w[4];
    for (int i = 0; i < 4; i++) {
        char *raw = cause_word(&p);
        w[i] = raw[0] ? cause_path(raw, dir) : kvg_strdup("");
        free(raw);
    }
    char *file = w[0], *entry = w[1], *from = w[2], *d = w[3];
    char *rq = cause_request(req, res);
    const char *dname = strcmp(d, "the database directory") == 0 ? "its directory" : d;
    char *s = NULL;
    if (strcmp(code, "unwritten") == 0)
        s = kvg_printf("%s was acknowledged before it was written: no write the engine made "
                       "before the acknowledgement holds its value (or it was written in "
                       "another form, which kvgrade-fs cannot look for)", rq);
    else if (strcmp(code, "no-sync-at-all") == 0)
        s = kvg_printf("nothing was fsynced before %s was acknowledged: its bytes were written "
                       "to %s, and neither %s nor its directory had been fsynced (no fsync at "
                       "all)", rq, file, file);
    else if (strcmp(code, "never-synced") == 0)
        s = kvg_printf("%s was never fsynced before %s was acknowledged: its bytes were "
                       "written to %s, and no fsync of that file followed (no fsync after "
                       "creating it%s)", file, rq, file,
                       name_synced ? "; its directory entry was synced, the file itself never"
                                   : "; nor was its directory entry synced");
    else if (strcmp(code, "sync-before") == 0)
        s = kvg_printf("%s had no fsync between the write of %s's bytes and its "
                       "acknowledgement: its last fsync before the acknowledgement came before "
                       "the write (an fsync before the write, none after it)%s", file, rq,
                       name_synced ? "" : "; nor was its directory entry synced");
    else if (strcmp(code, "entry") == 0 && how == 'r')
        s = kvg_printf("the rename of %s to %s was never synced in %s before %s was "
                       "acknowledged: its bytes are in the renamed file, whose new name was not "
                       "durable (no fsync of the directory after the rename)", from, entry,
                       dname, rq);
    else if (strcmp(code, "entry") == 0)
        s = kvg_printf("%s's directory entry was never synced before %s was acknowledged: %s "
                       "was %s and %s, but %s was not fsynced after that%s", entry, rq, entry,
                       how == 'm' ? "made (mkdir)" : how == 'l' ? "linked" : "created",
                       strcmp(entry, file) == 0 ? "its bytes fsynced"
                                                : "the bytes in it fsynced",
                       dname, dir_before ? " (it was fsynced before, not after)" : "");
    else if (strcmp(code, "renamed") == 0)
        s = kvg_printf("%s was durable when acknowledged and lost later: %s was renamed over "
                       "%s and the rename made durable (a fsync of %s) before %s's bytes, "
                       "which hold it, were fsynced: a power cut between the two leaves %s "
                       "naming a file without them", rq, from, entry, dname, from, entry);
    else if (strcmp(code, "durable") == 0)
        s = kvg_printf("kvgrade-fs saw %s's bytes durable in %s, and its name too, when it "
                       "was acknowledged: no missing sync explains the loss (the engine lost "
                       "or did not read back a write the disk kept)", rq, file);
    free(rq);
    for (int i = 0; i < 4; i++)
        free(w[i]);
    return s;
}
