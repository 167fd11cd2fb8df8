/*
 * kvfs_main.c: kvgrade-fs, the file system that forgets what was not
 * fsynced (kvfs.h), mounted with FUSE and worked through its standard
 * input.  kvgrade starts one per rung that needs it; a person can too:
 *
 *   kvgrade-fs MOUNTPOINT        mounts an empty file system there, prints
 *                                "ready", then reads commands, one a line
 *
 * Commands (each answered with one line, "ok ..." or "error ..."):
 *   freeze-at N   freeze at the N-th counted operation from now (N >= 1)
 *   freeze        freeze now
 *   drop          answer the held operations with EIO, and every later
 *                 counted one of a process, until cut or resume
 *   cut           the power cut: every file and directory back to its
 *                 durable state; then run normally ("ok GENERATION")
 *   resume        run normally (after a process kill, no cut)
 *   stats         "ok ops N syncs N held N state S generation N bytes N"
 *   record        begin a recording of every durable state (kvfs.h):
 *                 image 0 is the durable tree now, and each sync that
 *                 changes it adds the next
 *   mark          "ok N OPS": the images recorded so far, and the operations
 *                 the journal holds (kvfs_journal.c)
 *   kind N        "ok f INO" or "ok d INO": what made image N (a file's
 *                 sync, or a directory's)
 *   seen          "ok images N creates N renames N unlinks N file-syncs N
 *                 dir-syncs N" since the recording began
 *   image N       the power cut to image N: the recording stops, and the
 *                 whole tree becomes that durable state (then run
 *                 normally, "ok GENERATION")
 *   image N prefix OFF, image N zero OFF
 *                 the same, with the writes the sync after image N made
 *                 durable torn (kvfs.h, kvfs_tear): kept before byte OFF
 *                 of the file, or all but the sector at OFF
 *   torn N        "ok INO LO HI OLDLEN WRITES PATH": the writes a cut at
 *                 image N can tear (bytes [LO, HI) of the file PATH, the
 *                 ones the next sync changed, made by WRITES write calls
 *                 since the file's last fsync; its durable length was
 *                 OLDLEN), or "ok none"
 *   why ACK N HEX "ok CAUSE NAME-SYNCED DIR-SYNCED-BEFORE HOW FILE ENTRY
 *                 FROM DIR": why the write whose bytes hold HEX (a needle,
 *                 in hex), acknowledged when the journal held ACK
 *                 operations, was not in image N (kvfs.h, kvfs_why; the
 *                 paths below the root, with %XX for a space or a %, "-"
 *                 when there is none)
 * and, unasked, "frozen OP" when a freeze-at stops an operation OP.
 * kvfs_server.h says what counts and what a freeze does.  At the end of
 * its input (kvgrade gone, killed or not) it unmounts and exits.
 *
 * The mount is made with auto_unmount, so that even a kvgrade-fs killed
 * with SIGKILL leaves no mount behind (fusermount3 watches it); kvgrade
 * also detaches stale mounts of its own at start (kvgrade/kvg_fs.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvfs_server.h"

static const char *main_state_name(int state)
{
    return state == KVFS_RUN ? "run" : state == KVFS_FROZEN ? "frozen" : "draining";
}

static void main_say(const char *fmt, const char *a, unsigned long long n)
{
    printf(fmt, a, n);
    fflush(stdout);
}

/* A path as one word: %XX for a space, a % or a byte below 0x21; "-"
 * for none. */
static void main_word(const char *path)
{
    if (path[0] == '\0') {
        fputs(" -", stdout);
        return;
    }
    putchar(' ');
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p <= ' ' || *p == '%')
            printf("%%%02X", *p);
        else
            putchar(*p);
    }
}

/* why ACK N HEX (kvfs_journal_why). */
static void main_why(kvfs_server *s, const char *line)
{
    static const char *const causes[] = {"unwritten", "no-sync-at-all", "never-synced",
                                         "sync-before", "entry", "renamed", "durable"};
    unsigned long long ack, image;
    char hex[160];
    unsigned char needle[80];
    const kvfs_record *r = s->fs.rec;
    size_t n = 0;
    if (sscanf(line, "why %llu %llu %159s", &ack, &image, hex) != 3 || r == NULL) {
        main_say("error %s%llu\n", "why ACK IMAGE HEX, after a recording ", 0);
        return;
    }
    for (; hex[2 * n] && hex[2 * n + 1] && n < sizeof needle; n++) {
        unsigned v;
        if (sscanf(hex + 2 * n, "%2x", &v) != 1)
            break;
        needle[n] = (unsigned char)v;
    }
    size_t cut = image < r->nev ? r->ev[image].op : kvfs_journal_ops(&s->fs);
    kvfs_why w;
    if (kvfs_journal_why(&s->fs, (size_t)ack, cut, needle, n, &w) != 0) {
        main_say("error %s%llu\n", "no needle or no recording ", 0);
        return;
    }
    printf("ok %s %d %d %c", causes[w.code], w.name_synced, w.dir_synced_before,
           w.how ? w.how : '-');
    main_word(w.file);
    main_word(w.entry);
    main_word(w.from);
    main_word(w.dir);
    putchar('\n');
    fflush(stdout);
}

/* Runs one command line. */
static void main_command(kvfs_server *s, char *line)
{
    char word[32], how[16];
    unsigned long long n = 0, off = 0;
    int got = sscanf(line, "%31s %llu %15s %llu", word, &n, how, &off);
    if (got < 1)
        return;
    if (strcmp(word, "freeze-at") == 0 && got == 2 && n >= 1) {
        if (s->state != KVFS_RUN) {
            main_say("error %s%llu\n", "not running normally", 0);
            return;
        }
        s->freeze_at = s->ops + n;
        main_say("ok %s%llu\n", "", s->freeze_at);
    } else if (strcmp(word, "freeze") == 0) {
        if (s->state == KVFS_RUN) {
            s->state = KVFS_FROZEN;
            s->freeze_at = 0;
            s->frozen_op = "(none yet)";
        }
        main_say("ok %s%llu\n", "", s->ops);
    } else if (strcmp(word, "drop") == 0) {
        size_t dropped = kvfs_drop_held(s);
        s->state = KVFS_DRAINING;
        main_say("ok %s%llu\n", "", dropped);
    } else if (strcmp(word, "cut") == 0) {
        kvfs_drop_held(s);
        if (kvfs_cut(&s->fs) != 0) {
            main_say("error %s%llu\n", "out of memory", 0);
            return;
        }
        s->state = KVFS_RUN;
        s->freeze_at = 0;
        main_say("ok %s%llu\n", "", s->fs.generation);
    } else if (strcmp(word, "resume") == 0) {
        kvfs_drop_held(s);
        s->state = KVFS_RUN;
        s->freeze_at = 0;
        main_say("ok %s%llu\n", "", s->ops);
    } else if (strcmp(word, "record") == 0) {
        if (kvfs_record_start(&s->fs) != 0) {
            main_say("error %s%llu\n", "out of memory", 0);
            return;
        }
        main_say("ok %s%llu\n", "", 0);
    } else if (strcmp(word, "mark") == 0) {
        printf("ok %zu %zu\n", kvfs_record_images(&s->fs), kvfs_journal_ops(&s->fs));
        fflush(stdout);
    } else if (strcmp(word, "why") == 0) {
        main_why(s, line);
    } else if (strcmp(word, "kind") == 0 && got == 2) {
        const kvfs_record *r = s->fs.rec;
        if (r == NULL || n < 1 || n > r->nev) {
            main_say("error %s%llu\n", "no image ", n);
            return;
        }
        printf("ok %c %llu\n", r->ev[n - 1].kind, (unsigned long long)r->ev[n - 1].ino);
        fflush(stdout);
    } else if (strcmp(word, "seen") == 0) {
        const kvfs_record *r = s->fs.rec;
        kvfs_record none = {0};
        if (r == NULL)
            r = &none;
        printf("ok images %zu creates %llu renames %llu unlinks %llu file-syncs %llu "
               "dir-syncs %llu\n", r->nev, r->creates, r->renames, r->unlinks, r->file_syncs,
               r->dir_syncs);
        fflush(stdout);
    } else if (strcmp(word, "torn") == 0 && got == 2) {
        const kvfs_event *e = kvfs_record_torn(&s->fs, (size_t)n);
        if (e == NULL)
            printf("ok none\n");
        else
            printf("ok %llu %zu %zu %zu %zu %s\n", (unsigned long long)e->ino, e->torn_lo,
                   e->torn_hi, e->old_len, kvfs_journal_writes_in_window(&s->fs, e->ino, e->op),
                   e->path);
        fflush(stdout);
    } else if (strcmp(word, "image") == 0 && (got == 2 || got == 4)) {
        kvfs_tear tear = {0, (size_t)off};
        if (got == 4 && strcmp(how, "prefix") != 0 && strcmp(how, "zero") != 0) {
            main_say("error %s%llu\n", "a tear is prefix or zero, not ", 0);
            return;
        }
        if (got == 4)
            tear.kind = how[0] == 'p' ? 'p' : 'z';
        kvfs_drop_held(s);
        int rc = kvfs_record_load(&s->fs, (size_t)n, &tear);
        if (rc != 0) {
            main_say("error %s%llu\n", rc == -EINVAL ? "no image " : "out of memory ", n);
            return;
        }
        s->state = KVFS_RUN;
        s->freeze_at = 0;
        main_say("ok %s%llu\n", "", s->fs.generation);
    } else if (strcmp(word, "stats") == 0) {
        printf("ok ops %llu syncs %llu held %zu state %s generation %llu bytes %zu\n", s->ops,
               s->syncs, s->nheld, main_state_name(s->state),
               (unsigned long long)s->fs.generation, s->fs.bytes);
        fflush(stdout);
    } else {
        main_say("error unknown command %s%llu\n", word, 0);
    }
}

/* Reads what came on standard input and runs the complete lines; 0 at
 * the end of the input. */
static int main_control(kvfs_server *s, char *buf, size_t *len, size_t cap)
{
    ssize_t n = read(STDIN_FILENO, buf + *len, cap - 1 - *len);
    if (n == 0)
        return 0;
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : 0;
    *len += (size_t)n;
    buf[*len] = '\0';
    char *start = buf, *nl;
    while ((nl = strchr(start, '\n')) != NULL) {
        *nl = '\0';
        main_command(s, start);
        start = nl + 1;
    }
    *len -= (size_t)(start - buf);
    memmove(buf, start, *len);
    if (*len == cap - 1)
        *len = 0; /* a line that long is no command */
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: kvgrade-fs MOUNTPOINT   (commands on standard input; "
                        "see docs/kvgrade.md)\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    static kvfs_server s;
    if (kvfs_init(&s.fs) != 0) {
        fprintf(stderr, "kvgrade-fs: out of memory\n");
        return 1;
    }
    char *fargv[] = {argv[0], "-o", "fsname=kvgrade-fs,subtype=kvgrade,auto_unmount", NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
    s.se = fuse_session_new(&args, &kvfs_ops, sizeof kvfs_ops, &s);
    fuse_opt_free_args(&args); /* the session keeps what it needs of them */
    if (s.se == NULL) {
        fprintf(stderr, "kvgrade-fs: cannot start a FUSE session\n");
        return 1;
    }
    if (fuse_session_mount(s.se, argv[1]) != 0) {
        fprintf(stderr, "kvgrade-fs: cannot mount on %s (is /dev/fuse usable? fuse3 "
                        "installed?)\n", argv[1]);
        fuse_session_destroy(s.se);
        return 1;
    }
    /* Non-blocking: a request poll() reported may be gone by the time it
     * is read (a held create answered by "drop" takes the kernel's
     * pending interrupt for it away), and a blocking read would then wait
     * for the next request, deaf to the commands on standard input. */
    int fd = fuse_session_fd(s.se);
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
        fprintf(stderr, "kvgrade-fs: cannot make the FUSE device non-blocking\n");
        fuse_session_unmount(s.se);
        fuse_session_destroy(s.se);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    struct fuse_buf fbuf = {.mem = NULL};
    char ctl[4096];
    size_t ctl_len = 0;
    int status = 0;
    for (;;) {
        if (s.tell_frozen) {
            s.tell_frozen = 0;
            printf("frozen %s\n", s.frozen_op);
            fflush(stdout);
        }
        struct pollfd pf[2] = {{fuse_session_fd(s.se), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            status = 1;
            break;
        }
        if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (!main_control(&s, ctl, &ctl_len, sizeof ctl))
                break;
        }
        if (pf[0].revents & (POLLERR | POLLHUP | POLLNVAL))
            break; /* unmounted from outside */
        if (pf[0].revents & POLLIN) {
            int n = fuse_session_receive_buf(s.se, &fbuf);
            if (n == -EINTR || n == -EAGAIN)
                continue;
            if (n <= 0) {
                if (n < 0 && n != -ENODEV)
                    status = 1;
                break;
            }
            fuse_session_process_buf(s.se, &fbuf);
        }
    }
    kvfs_drop_held(&s);
    free(fbuf.mem);
    fuse_session_unmount(s.se);
    fuse_session_destroy(s.se);
    kvfs_free(&s.fs);
    free(s.held);
    return status;
}
