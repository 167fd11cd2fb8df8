/*
 * io_mount_test.c: how a database's I/O backend is chosen and reported
 * (common/io_mount.h), and the fallback when the kernel refuses io_uring
 * (common/io_ring.h, R3).  kv_options.io and KV_IO each choose, KV_IO
 * first; a value that is none is refused; the files under a database's
 * directory get its backend (the longest directory wins), others the
 * process's; db_dir_open makes the choice and db_dir_stats prints it.
 * The refusals are real: a child process turns io_uring off for itself
 * with a seccomp filter (as Docker's default profile does), at set-up or
 * after a ring is already working, and the backend must read on with pread
 * and say why.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness.h"
#include "db_dir.h"
#include "error.h"
#include "io.h"
#include "io_mount.h"
#include "io_ring.h"
#include "kv.h"
#include "stats_text.h"

/* What io_mount_describe says of a new mount (asked, env), or the error. */
static int mount_says(const char *dir, int asked, const char *env, char *buf, size_t n)
{
    io_mount *m = NULL;
    int rc = io_mount_new(dir, asked, env, &m);
    if (rc == KV_OK)
        io_mount_describe(m, buf, n);
    else
        snprintf(buf, n, "%s", kv_errmsg());
    io_mount_free(m);
    return rc;
}

static void mount_choice_follows_option_then_environment(void)
{
    const char *dir = harness_tmpdir();
    char got[300], why[200], want[300];
    int ring = io_ring_usable(why, sizeof why);

    CHECK_KV(mount_says(dir, KV_IO_POSIX, NULL, got, sizeof got), KV_OK);
    CHECK_MSG(strcmp(got, "posix (asked: kv_options.io)") == 0, "got %s", got);
    CHECK_KV(mount_says(dir, KV_IO_AUTO, "posix", got, sizeof got), KV_OK);
    CHECK_MSG(strcmp(got, "posix (asked: KV_IO=posix)") == 0, "got %s", got);
    CHECK_KV(mount_says(dir, KV_IO_URING, "posix", got, sizeof got), KV_OK);
    CHECK_MSG(strcmp(got, "posix (asked: KV_IO=posix)") == 0, "got %s", got);

    /* auto, asked either way (an empty KV_IO is no KV_IO). */
    const char *autos[3] = {NULL, "", "auto"};
    snprintf(want, sizeof want, ring ? "uring" : "posix (fallback: %s)", why);
    for (int i = 0; i < 3; i++) {
        CHECK_KV(mount_says(dir, KV_IO_AUTO, autos[i], got, sizeof got), KV_OK);
        CHECK_MSG(strcmp(got, want) == 0, "got %s, want %s", got, want);
    }
    /* uring: it, or an error with the kernel's words. */
    int rc = mount_says(dir, KV_IO_POSIX, "uring", got, sizeof got);
    if (ring) {
        CHECK_KV(rc, KV_OK);
        CHECK_MSG(strcmp(got, "uring") == 0, "got %s", got);
    } else {
        CHECK_KV(rc, KV_ERR_IO);
        CHECK_MSG(strstr(got, why) != NULL && strstr(got, "KV_IO=uring") != NULL, "got %s",
                  got);
    }

    /* Values that are none. */
    CHECK_KV(mount_says(dir, 7, NULL, got, sizeof got), KV_ERR_INVALID);
    CHECK_MSG(strstr(got, "kv_options.io is 7") != NULL, "got %s", got);
    CHECK_KV(mount_says(dir, -1, "posix", got, sizeof got), KV_ERR_INVALID);
    CHECK_KV(mount_says(dir, KV_IO_AUTO, "io_uring", got, sizeof got), KV_ERR_INVALID);
    CHECK_MSG(strstr(got, "KV_IO is 'io_uring'") != NULL, "got %s", got);
}

static const char *mount_backend_of(const char *path)
{
    io_file *f = NULL;
    CHECK_KV(io_open(path, IO_WRITE | IO_CREATE, &f), KV_OK);
    const char *name = f->ops->name;
    CHECK_KV(io_close(f), KV_OK);
    return name;
}

static void mount_gives_files_the_backend_of_their_database(void)
{
    char why[200];
    if (!io_ring_usable(why, sizeof why)) {
        printf("    note: io_uring is refused here (%s): every mount is POSIX's\n", why);
        return;
    }
    const char *outer = harness_join(harness_tmpdir(), "a");
    const char *inner = harness_join(outer, "b");
    const char *beside = harness_join(outer, "bc");
    CHECK(mkdir(outer, 0755) == 0 && mkdir(inner, 0755) == 0 && mkdir(beside, 0755) == 0);
    io_mount *mo = NULL, *mi = NULL;
    CHECK_KV(io_mount_new(outer, KV_IO_POSIX, NULL, &mo), KV_OK);
    char slashed[512];
    snprintf(slashed, sizeof slashed, "%s//", inner); /* as a user may write it */
    CHECK_KV(io_mount_new(slashed, KV_IO_URING, NULL, &mi), KV_OK);

    /* Not in force before attach. */
    const char *unmounted = getenv("KV_IO") && strcmp(getenv("KV_IO"), "posix") == 0
                                ? "posix" : "uring";
    CHECK(strcmp(mount_backend_of(harness_join(inner, "f")), unmounted) == 0);
    io_mount_attach(mo);
    io_mount_attach(mi);
    CHECK(strcmp(mount_backend_of(harness_join(inner, "f")), "uring") == 0);
    CHECK(strcmp(mount_backend_of(harness_join(outer, "f")), "posix") == 0);
    CHECK(strcmp(mount_backend_of(harness_join(beside, "f")), "posix") == 0);

    char got[300];
    CHECK(io_mount_describe_dir(inner, got, sizeof got) == 1);
    CHECK_MSG(strcmp(got, "uring") == 0, "got %s", got);
    CHECK(io_mount_describe_dir(slashed, got, sizeof got) == 1);
    CHECK(io_mount_describe_dir(beside, got, sizeof got) == 0);

    /* A file keeps its backend when its mount goes (M2). */
    io_file *f = NULL;
    CHECK_KV(io_open(harness_join(inner, "g"), IO_WRITE | IO_CREATE, &f), KV_OK);
    io_mount_free(mi);
    CHECK(strcmp(f->ops->name, "uring") == 0);
    CHECK_KV(io_append_bytes(f, "x", 1), KV_OK);
    CHECK_KV(io_close(f), KV_OK);
    CHECK(strcmp(mount_backend_of(harness_join(inner, "f")), "posix") == 0); /* the outer's */
    io_mount_free(mo);
    CHECK(strcmp(mount_backend_of(harness_join(inner, "f")), unmounted) == 0);
    CHECK(io_mount_describe_dir(inner, got, sizeof got) == 0);
}

/* Sets KV_IO (NULL: unsets it) for one test; returns the old value, which
 * mount_env_restore puts back. */
static char mount_saved_env[64];
static int mount_had_env;
static void mount_env_set(const char *v)
{
    const char *old = getenv("KV_IO");
    mount_had_env = old != NULL;
    snprintf(mount_saved_env, sizeof mount_saved_env, "%s", old ? old : "");
    if (v)
        setenv("KV_IO", v, 1);
    else
        unsetenv("KV_IO");
}
static void mount_env_restore(void)
{
    if (mount_had_env)
        setenv("KV_IO", mount_saved_env, 1);
    else
        unsetenv("KV_IO");
}

/* The stats line db_dir_stats prints for d. */
static void mount_stats_line(const db_dir *d, char *buf, size_t n)
{
    stats_text s = {0};
    db_dir_stats(d, &s);
    CHECK(!s.failed && s.p != NULL);
    snprintf(buf, n, "%s", s.p);
    free(s.p);
}

static void db_dir_open_chooses_and_reports_the_backend(void)
{
    char why[200], line[400], want[400];
    int ring = io_ring_usable(why, sizeof why);
    const char *path = harness_join(harness_tmpdir(), "db");
    kv_options opt;
    kv_options_init(&opt);
    CHECK_EQ(opt.io, KV_IO_AUTO);
    db_dir d;

    mount_env_set(NULL);
    opt.io = KV_IO_POSIX;
    CHECK_KV(db_dir_open(path, &opt, "01-log", 1, &d), KV_OK);
    mount_stats_line(&d, line, sizeof line);
    CHECK_MSG(strcmp(line, "io.backend: posix (asked: kv_options.io)\n") == 0, "line %s", line);
    CHECK(strcmp(mount_backend_of(harness_join(path, "f")), "posix") == 0);
    db_dir_close(&d);
    CHECK(io_mount_describe_dir(path, line, sizeof line) == 0);

    opt.io = KV_IO_AUTO;
    CHECK_KV(db_dir_open(path, &opt, "01-log", 1, &d), KV_OK);
    mount_stats_line(&d, line, sizeof line);
    snprintf(want, sizeof want, ring ? "io.backend: uring\n" : "io.backend: posix (fallback: %s)\n",
             why);
    CHECK_MSG(strcmp(line, want) == 0, "line %s", line);
    CHECK(strcmp(mount_backend_of(harness_join(path, "f")), ring ? "uring" : "posix") == 0);
    CHECK(io_mount_describe_dir(path, line, sizeof line) == 1);
    db_dir_close(&d);

    /* KV_IO replaces the option. */
    mount_env_set("posix");
    opt.io = KV_IO_URING;
    CHECK_KV(db_dir_open(path, &opt, "01-log", 1, &d), KV_OK);
    mount_stats_line(&d, line, sizeof line);
    CHECK_MSG(strcmp(line, "io.backend: posix (asked: KV_IO=posix)\n") == 0, "line %s", line);
    db_dir_close(&d);

    /* A bad choice is refused before the directory is made. */
    const char *fresh = harness_join(harness_tmpdir(), "never");
    mount_env_set("fast");
    CHECK_KV(db_dir_open(fresh, &opt, "01-log", 1, &d), KV_ERR_INVALID);
    mount_env_set(NULL);
    opt.io = 3;
    CHECK_KV(db_dir_open(fresh, &opt, "01-log", 1, &d), KV_ERR_INVALID);
    struct stat st;
    CHECK(stat(fresh, &st) != 0);

    /* A second opener, refused by the lock, leaves the first one's choice. */
    opt.io = KV_IO_POSIX;
    CHECK_KV(db_dir_open(path, &opt, "01-log", 1, &d), KV_OK);
    db_dir d2;
    opt.io = KV_IO_AUTO;
    CHECK_KV(db_dir_open(path, &opt, "01-log", 1, &d2), KV_ERR_BUSY);
    CHECK(strcmp(mount_backend_of(harness_join(path, "f")), "posix") == 0);
    db_dir_close(&d);
    mount_env_restore();
}

/* ---- refusals, in a child process that turns io_uring off for itself ---- */

/* Makes the system call nr fail with EPERM in this process from now on, as
 * a seccomp profile that blocks io_uring does.  0, or -errno. */
static int mount_deny_syscall(long nr)
{
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return -errno;
    return 0;
}

/* In the child: a failed expectation writes why to fd and exits 1. */
static int child_fd = -1;
#define CHILD_EXPECT(cond, ...)                                                  \
    do {                                                                         \
        if (!(cond)) {                                                           \
            dprintf(child_fd, "%s:%d: ", __FILE__, __LINE__);                    \
            dprintf(child_fd, __VA_ARGS__);                                      \
            _exit(1);                                                            \
        }                                                                        \
    } while (0)

/* Runs fn in a child process; fails the test with what it wrote if it
 * failed. */
static void mount_in_child(void (*fn)(const char *dir), const char *dir)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_fd = fds[1];
        fn(dir);
        _exit(0);
    }
    close(fds[1]);
    char msg[1024] = "";
    size_t got = 0;
    ssize_t r;
    while (got < sizeof msg - 1 && (r = read(fds[0], msg + got, sizeof msg - 1 - got)) > 0)
        got += (size_t)r;
    msg[got] = '\0';
    close(fds[0]);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "in the child: %s",
              msg[0] ? msg : "(it died)");
}

/* A file of n bytes (byte i is i % 251) under dir, opened for reading. */
static io_file *child_file(const char *dir, const char *name, size_t n)
{
    const char *path = harness_join(dir, name);
    io_file *f = NULL;
    CHILD_EXPECT(io_open(path, IO_WRITE | IO_CREATE, &f) == KV_OK, "create: %s\n", kv_errmsg());
    for (size_t i = 0; i < n; i++) {
        uint8_t b = (uint8_t)(i % 251);
        CHILD_EXPECT(io_append_bytes(f, &b, 1) == KV_OK, "append: %s\n", kv_errmsg());
    }
    io_close(f);
    CHILD_EXPECT(io_open(path, IO_READ, &f) == KV_OK, "open: %s\n", kv_errmsg());
    return f;
}

/* Reads 8 ranges of f in one batch and checks their bytes. */
static void child_batch(io_file *f)
{
    io_read_req r[8];
    uint8_t buf[8][100];
    for (size_t i = 0; i < 8; i++)
        r[i] = (io_read_req){.f = f, .off = 300 * i + 1, .buf = buf[i], .len = 100};
    CHILD_EXPECT(io_read_batch(r, 8) == KV_OK, "batch: %s\n", kv_errmsg());
    for (size_t i = 0; i < 8; i++)
        CHILD_EXPECT(r[i].got == 100 && buf[i][99] == (uint8_t)((300 * i + 100) % 251),
                     "range %zu read wrong\n", i);
}

static void child_setup_refused(const char *dir)
{
    CHILD_EXPECT(mount_deny_syscall(__NR_io_uring_setup) == 0, "seccomp: %s\n",
                 strerror(errno));
    char why[200], got[300];
    CHILD_EXPECT(!io_ring_usable(why, sizeof why), "io_uring still works\n");
    CHILD_EXPECT(strncmp(why, "io_uring_setup: Operation not permitted", 39) == 0, "why: %s\n",
                 why);
    io_mount *m = NULL;
    CHILD_EXPECT(io_mount_new(dir, KV_IO_AUTO, NULL, &m) == KV_OK, "auto: %s\n", kv_errmsg());
    io_mount_describe(m, got, sizeof got);
    CHILD_EXPECT(strncmp(got, "posix (fallback: io_uring_setup: Operation not permitted", 56) == 0,
                 "auto says %s\n", got);
    io_mount_attach(m);
    io_mount *u = NULL;
    CHILD_EXPECT(io_mount_new(dir, KV_IO_URING, NULL, &u) == KV_ERR_IO, "uring opened\n");
    CHILD_EXPECT(strstr(kv_errmsg(), "io_uring_setup: Operation not permitted") != NULL,
                 "uring's error: %s\n", kv_errmsg());
    /* The database's files read batches with pread. */
    io_file *f = child_file(dir, "f", 3000);
    CHILD_EXPECT(strcmp(f->ops->name, "posix") == 0, "backend %s\n", f->ops->name);
    child_batch(f);
    io_close(f);
    /* So does a file of the io_uring backend itself. */
    io_set_ops(io_ring_ops());
    f = child_file(dir, "g", 3000);
    io_set_ops(NULL);
    io_ring_counts before, after;
    io_ring_counts_get(&before);
    child_batch(f);
    io_ring_counts_get(&after);
    CHILD_EXPECT(after.fallback_reads - before.fallback_reads == 8 && after.reads == before.reads,
                 "fallback reads %llu, ring reads %llu\n",
                 (unsigned long long)(after.fallback_reads - before.fallback_reads),
                 (unsigned long long)(after.reads - before.reads));
    io_close(f);
    io_mount_free(m);
}

static void ring_refused_at_setup_falls_back_and_says_why(void)
{
    char why[200];
    if (!io_ring_usable(why, sizeof why)) {
        printf("    note: io_uring is refused here already (%s): every test ran the fallback\n",
               why);
        return;
    }
    mount_in_child(child_setup_refused, harness_tmpdir());
}

static void child_submission_refused(const char *dir)
{
    io_mount *m = NULL;
    CHILD_EXPECT(io_mount_new(dir, KV_IO_URING, NULL, &m) == KV_OK, "uring: %s\n", kv_errmsg());
    io_mount_attach(m);
    io_file *f = child_file(dir, "f", 3000);
    CHILD_EXPECT(strcmp(f->ops->name, "uring") == 0, "backend %s\n", f->ops->name);
    io_ring_counts c0, c1, c2, c3;
    io_ring_counts_get(&c0);
    child_batch(f);
    io_ring_counts_get(&c1);
    CHILD_EXPECT(c1.reads - c0.reads == 8 && c1.fallback_reads == c0.fallback_reads,
                 "the first batch did not use the ring\n");

    /* The ring works; now the kernel refuses every io_uring_enter. */
    CHILD_EXPECT(mount_deny_syscall(__NR_io_uring_enter) == 0, "seccomp: %s\n",
                 strerror(errno));
    child_batch(f);
    io_ring_counts_get(&c2);
    CHILD_EXPECT(c2.fallback_reads - c1.fallback_reads == 8 && c2.reads == c1.reads,
                 "refused batch: %llu fallback reads, %llu ring reads\n",
                 (unsigned long long)(c2.fallback_reads - c1.fallback_reads),
                 (unsigned long long)(c2.reads - c1.reads));
    char why[200], got[300];
    CHILD_EXPECT(!io_ring_usable(why, sizeof why), "io_uring still counted as working\n");
    CHILD_EXPECT(strcmp(why, "io_uring_enter: Operation not permitted") == 0, "why: %s\n", why);
    io_mount_describe(m, got, sizeof got);
    CHILD_EXPECT(strcmp(got, "posix (fallback: io_uring_enter: Operation not permitted)") == 0,
                 "the database says %s\n", got);
    /* Later batches go straight to pread. */
    child_batch(f);
    io_ring_counts_get(&c3);
    CHILD_EXPECT(c3.fallback_reads - c2.fallback_reads == 8, "third batch\n");
    io_close(f);
    io_mount_free(m);
}

static void ring_refused_after_setup_falls_back_and_says_why(void)
{
    char why[200];
    if (!io_ring_usable(why, sizeof why)) {
        printf("    note: io_uring is refused here already (%s): every test ran the fallback\n",
               why);
        return;
    }
    mount_in_child(child_submission_refused, harness_tmpdir());
}

static const harness_test io_mount_tests[] = {
    HARNESS_TEST(mount_choice_follows_option_then_environment),
    HARNESS_TEST(mount_gives_files_the_backend_of_their_database),
    HARNESS_TEST(db_dir_open_chooses_and_reports_the_backend),
    HARNESS_TEST(ring_refused_at_setup_falls_back_and_says_why),
    HARNESS_TEST(ring_refused_after_setup_falls_back_and_says_why),
};

const harness_suite io_mount_suite = HARNESS_SUITE("io_mount", io_mount_tests);
