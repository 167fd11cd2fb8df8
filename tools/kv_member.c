/*
 * kv_member.c: the kv command on a Raft member's directory (stage 10),
 * read without stage 10's code.
 *
 * A member keeps, in its directory M, libraft's log and snapshots in
 * M/raft and its engine in M/replica, a replica's directory: two engine
 * directories, M/replica/data-a and M/replica/data-b, and the file
 * M/replica/REPLICA naming the live one in one line, "data-a\n" or
 * "data-b\n" (docs/10-raft.md; stages/10-raft/replica/replica_dir.h says
 * how a restore from a snapshot builds the other one and switches).  The
 * engine itself is an ordinary database of the stage whose engine the
 * member runs.
 *
 * So a command that only reads (get, scan, stats, export, inspect, draw)
 * given M, or M/replica, reads the live engine, and says which; any other
 * is refused, naming the engine's directory: a member's engine changes
 * only through the group's log, and check, dump and repair take the
 * engine's directory itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kv_tool.h"

/* path + "/" + name, malloc'd; NULL after a message. */
static char *member_path(const char *path, const char *name)
{
    size_t n = strlen(path) + 1 + strlen(name) + 1;
    char *p = malloc(n);
    if (p == NULL) {
        tool_fail("out of memory");
        return NULL;
    }
    snprintf(p, n, "%s/%s", path, name);
    return p;
}

/* Reads the REPLICA file at `file` into engine (its directory's path +
 * "/data-a" or "/data-b"): EXIT_OK, or EXIT_ERROR after a message. */
static int member_read(const char *replica_dir, const char *file, char **engine)
{
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return tool_fail("%s: %s", file, strerror(errno));
    char line[16] = {0};
    size_t n = fread(line, 1, sizeof line - 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return tool_fail("%s: cannot be read", file);
    if (n != 7 || (memcmp(line, "data-a\n", 7) != 0 && memcmp(line, "data-b\n", 7) != 0))
        return tool_fail("%s holds %zu bytes, not the one line \"data-a\" or \"data-b\" that "
                         "names a member's live engine: name the engine's directory itself "
                         "(%s/data-a or %s/data-b)", file, n, replica_dir, replica_dir);
    line[6] = '\0';
    *engine = member_path(replica_dir, line);
    return *engine != NULL ? EXIT_OK : EXIT_ERROR;
}

int tool_member_engine(const char *dir, char **engine, char **named_by)
{
    *engine = *named_by = NULL;
    char *replica = member_path(dir, "replica");
    if (replica == NULL)
        return EXIT_ERROR;
    const char *replica_dir = replica;
    char *file = member_path(replica, "REPLICA");
    if (file != NULL && access(file, F_OK) != 0) {
        /* DIR may be the replica's directory itself. */
        free(file);
        replica_dir = dir;
        file = member_path(dir, "REPLICA");
        if (file != NULL && access(file, F_OK) != 0) {
            free(file);
            free(replica);
            return TOOL_NOT_A_MEMBER;
        }
    }
    int rc = file == NULL ? EXIT_ERROR : member_read(replica_dir, file, engine);
    free(replica);
    if (rc != EXIT_OK) {
        free(file);
        return EXIT_ERROR;
    }
    *named_by = file;
    return TOOL_MEMBER;
}
