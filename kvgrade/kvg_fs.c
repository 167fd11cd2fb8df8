/*
 * kvg_fs.c: starting and working kvgrade-fs (kvg_fs.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvg_fs.h"
#include "kvg_resp.h"

#define FS_TIMEOUT 20.0   /* seconds a command may take */

const char *kvg_fs_program(void)
{
    static char path[PATH_MAX];
    const char *env = getenv("KVGRADE_FS");
    if (env != NULL && env[0] != '\0')
        return env;
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0)
        return "kvgrade-fs";
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    strcpy(slash != NULL ? slash + 1 : path, "kvgrade-fs");
    return path;
}

const char *kvg_fs_unavailable(int pretend)
{
    const char *env = getenv("KVGRADE_NO_FUSE");
    if (pretend || (env != NULL && env[0] != '\0' && strcmp(env, "0") != 0))
        return pretend ? "--no-fuse was given" : "KVGRADE_NO_FUSE is set";
    if (access("/dev/fuse", R_OK | W_OK) != 0)
        return "/dev/fuse is missing or not usable (FUSE is not available in this machine or container)";
    if (access(kvg_fs_program(), X_OK) != 0)
        return "the kvgrade-fs program is missing (build it with make; libfuse3-dev is needed)";
    return NULL;
}

/* Reads one line into fs->line: 0, or -1 at EOF or after FS_TIMEOUT. */
static int fs_read_line(kvg_fs *fs, double timeout)
{
    double until = kvg_now() + timeout;
    for (;;) {
        char *nl = memchr(fs->buf, '\n', fs->len);
        if (nl != NULL) {
            size_t n = (size_t)(nl - fs->buf);
            size_t keep = n < sizeof fs->line - 1 ? n : sizeof fs->line - 1;
            memcpy(fs->line, fs->buf, keep);
            fs->line[keep] = '\0';
            fs->len -= n + 1;
            memmove(fs->buf, nl + 1, fs->len);
            return 0;
        }
        if (fs->len == sizeof fs->buf)
            fs->len = 0;
        struct pollfd pf = {fs->from, POLLIN, 0};
        int left = (int)((until - kvg_now()) * 1000);
        if (left <= 0)
            return -1;
        if (poll(&pf, 1, left) < 0 && errno != EINTR)
            return -1;
        if (pf.revents & (POLLIN | POLLHUP)) {
            ssize_t r = read(fs->from, fs->buf + fs->len, sizeof fs->buf - fs->len);
            if (r <= 0)
                return -1;
            fs->len += (size_t)r;
        }
    }
}

static void fs_note(kvg_fs *fs)
{
    if (strncmp(fs->line, "frozen", 6) == 0) {
        fs->frozen = 1;
        snprintf(fs->frozen_op, sizeof fs->frozen_op, "%s", fs->line[6] ? fs->line + 7 : "?");
    }
}

int kvg_fs_start(kvg_fs *fs, const char *mount, char **why)
{
    memset(fs, 0, sizeof *fs);
    fs->to = fs->from = -1;
    mkdir(mount, 0755);
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        *why = kvg_printf("pipe: %s", strerror(errno));
        return -1;
    }
    const char *prog = kvg_fs_program();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execl(prog, prog, mount, (char *)NULL);
        fprintf(stderr, "kvgrade: cannot run %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    fs->pid = pid;
    fs->to = in[1];
    fs->from = out[0];
    fs->mount = kvg_strdup(mount);
    if (pid < 0 || fs_read_line(fs, FS_TIMEOUT) != 0 || strcmp(fs->line, "ready") != 0) {
        *why = kvg_printf("%s could not mount a FUSE file system on %s (see its message above)",
                          prog, mount);
        kvg_fs_stop(fs);
        return -1;
    }
    return 0;
}

void kvg_fs_poll(kvg_fs *fs)
{
    struct pollfd pf = {fs->from, POLLIN, 0};
    while (poll(&pf, 1, 0) > 0 && (pf.revents & POLLIN)) {
        ssize_t r = read(fs->from, fs->buf + fs->len, sizeof fs->buf - fs->len);
        if (r <= 0)
            return;
        fs->len += (size_t)r;
        while (memchr(fs->buf, '\n', fs->len) != NULL) {
            fs_read_line(fs, 0);
            fs_note(fs);
        }
    }
}

int kvg_fs_cmd(kvg_fs *fs, const char *cmd)
{
    if (fs->pid <= 0)
        return -1;
    size_t n = strlen(cmd);
    if (write(fs->to, cmd, n) != (ssize_t)n || write(fs->to, "\n", 1) != 1)
        return -1;
    for (;;) {
        if (fs_read_line(fs, FS_TIMEOUT) != 0) {
            snprintf(fs->line, sizeof fs->line, "error: kvgrade-fs did not answer '%s'", cmd);
            return -1;
        }
        if (strncmp(fs->line, "frozen", 6) == 0) {
            fs_note(fs);
            continue;
        }
        /* A "frozen" read along with the answer (the engine froze right
         * after the command) is noted now: poll() will not see it again. */
        char answer[sizeof fs->line];
        memcpy(answer, fs->line, sizeof answer);
        while (memchr(fs->buf, '\n', fs->len) != NULL) {
            fs_read_line(fs, 0);
            fs_note(fs);
        }
        memcpy(fs->line, answer, sizeof answer);
        return strncmp(fs->line, "ok", 2) == 0 ? 0 : -1;
    }
}

void kvg_fs_stop(kvg_fs *fs)
{
    if (fs->to >= 0)
        close(fs->to);
    fs->to = -1;
    if (fs->pid > 0) {
        double until = kvg_now() + FS_TIMEOUT;
        int status;
        while (waitpid(fs->pid, &status, WNOHANG) == 0) {
            if (kvg_now() > until) {
                kill(fs->pid, SIGKILL);
                waitpid(fs->pid, &status, 0);
                break;
            }
            usleep(2000);
        }
    }
    if (fs->from >= 0)
        close(fs->from);
    fs->from = -1;
    fs->pid = 0;
    if (fs->mount != NULL) {
        umount2(fs->mount, MNT_DETACH); /* if it is still there */
        rmdir(fs->mount);
    }
    free(fs->mount);
    fs->mount = NULL;
}

/* ---- stale mounts ---------------------------------------------------------- */

static int run_dir_alive(const char *name)
{
    int pid;
    if (sscanf(name, "run-%d-", &pid) != 1 || pid <= 0)
        return 0;
    return kill(pid, 0) == 0 || errno == EPERM;
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *p = kvg_printf("%s/%s", path, e->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                remove_tree(p);
            else
                unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(path);
}

void kvg_fs_clear_stale(const char *base)
{
    size_t blen = strlen(base);
    /* Mounts first: /proc/self/mountinfo, field 5 is the mount point. */
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (f != NULL) {
        char line[4096];
        while (fgets(line, sizeof line, f) != NULL) {
            char point[PATH_MAX];
            if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
                continue;
            if (strncmp(point, base, blen) != 0 || point[blen] != '/')
                continue;
            char run[256];
            const char *rest = point + blen + 1;
            size_t rl = strcspn(rest, "/");
            if (rl >= sizeof run)
                continue;
            memcpy(run, rest, rl);
            run[rl] = '\0';
            if (!run_dir_alive(run))
                umount2(point, MNT_DETACH);
        }
        fclose(f);
    }
    DIR *d = opendir(base);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "run-", 4) != 0 || run_dir_alive(e->d_name))
            continue;
        char *p = kvg_printf("%s/%s", base, e->d_name);
        remove_tree(p);
        free(p);
    }
    closedir(d);
}
