/*
 * kvg_engine.c: starting, talking to, stopping and killing the engine
 * under test (kvg_engine.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvg_engine.h"

/* ---- the command ------------------------------------------------------- */

static void words_add(char ***w, size_t *n, size_t *cap, char *s)
{
    if (*n + 2 > *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *w = kvg_realloc(*w, *cap * sizeof **w);
    }
    (*w)[(*n)++] = s;
    (*w)[*n] = NULL;
}

/* Appends s to a growing word. */
static void word_put(char **cur, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *cur = kvg_realloc(*cur, *cap);
    }
    memcpy(*cur + *len, s, n);
    *len += n;
    (*cur)[*len] = '\0';
}

char **kvg_engine_words(const char *t, const char *dir, int port, const char **why)
{
    char **w = NULL, *cur = NULL;
    size_t n = 0, cap = 0, len = 0, wcap = 0;
    int in_word = 0, has_dir = 0;
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    for (const char *p = t;; p++) {
        if (*p == '\0' || *p == ' ' || *p == '\t' || *p == '\n') {
            if (in_word) {
                words_add(&w, &n, &cap, cur);
                cur = NULL;
                len = wcap = 0;
                in_word = 0;
            }
            if (*p == '\0')
                break;
            continue;
        }
        in_word = 1;
        if (cur == NULL)
            word_put(&cur, &len, &wcap, "", 0);
        if (*p == '\'' || *p == '"') {
            char q = *p++;
            while (*p != q) {
                if (*p == '\0') {
                    *why = "a quote is not closed";
                    goto bad;
                }
                if (q == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                if (strncmp(p, "{dir}", 5) == 0) {
                    word_put(&cur, &len, &wcap, dir, strlen(dir));
                    has_dir = 1;
                    p += 5;
                } else if (strncmp(p, "{port}", 6) == 0) {
                    word_put(&cur, &len, &wcap, portbuf, strlen(portbuf));
                    p += 6;
                } else {
                    word_put(&cur, &len, &wcap, p++, 1);
                }
            }
        } else if (*p == '\\' && p[1] != '\0') {
            word_put(&cur, &len, &wcap, ++p, 1);
        } else if (strncmp(p, "{dir}", 5) == 0) {
            word_put(&cur, &len, &wcap, dir, strlen(dir));
            has_dir = 1;
            p += 4;
        } else if (strncmp(p, "{port}", 6) == 0) {
            word_put(&cur, &len, &wcap, portbuf, strlen(portbuf));
            p += 5;
        } else if (strchr("|&;<>()$`", *p) != NULL) {
            *why = "shell syntax (| & ; < > ( ) $ `) is not run: wrap the command in sh -c '...'";
            goto bad;
        } else {
            word_put(&cur, &len, &wcap, p, 1);
        }
    }
    if (n == 0) {
        *why = "the command is empty";
        goto bad;
    }
    if (!has_dir) {
        *why = "the command does not name {dir}, the directory the engine must keep its files in";
        goto bad;
    }
    return w;
bad:
    free(cur);
    if (w != NULL) {
        w[n] = NULL;
        kvg_engine_words_free(w);
    }
    return NULL;
}

void kvg_engine_words_free(char **w)
{
    for (size_t i = 0; w != NULL && w[i] != NULL; i++)
        free(w[i]);
    free(w);
}

/* ---- start --------------------------------------------------------------- */

static int engine_connect(kvg_engine *e, int watch_fd, char **why)
{
    double until = kvg_now() + e->cfg->timeout;
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {0};
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)e->cfg->port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            e->to = e->from = fd;
            return KVG_OK;
        }
        if (fd >= 0)
            close(fd);
        int status;
        if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
            e->pid = 0;
            e->exited = 1;
            e->status = status;
            char *st = kvg_engine_status_text(status);
            *why = kvg_printf("the engine ended (%s) before it accepted a connection on port %d",
                              st, e->cfg->port);
            free(st);
            return KVG_START_FAILED;
        }
        if (kvg_now() > until) {
            *why = kvg_printf("nothing accepted a connection on 127.0.0.1:%d within %.0f s",
                              e->cfg->port, e->cfg->timeout);
            kvg_engine_kill(e);
            kvg_engine_reap(e, 5);
            return KVG_START_FAILED;
        }
        struct pollfd pf = {watch_fd, POLLIN, 0};
        if (poll(&pf, 1, 5) > 0 && (pf.revents & (POLLIN | POLLHUP)))
            return KVG_WATCHED;
    }
}

/* What the child of engine_spawn does, and what it reports back. */
typedef struct engine_spawn_args {
    char **words;
    int in, out, log;       /* its standard input, output and error */
    int out_null;           /* over TCP: standard output to /dev/null */
    volatile int exec_errno; /* set by the child if execvp failed */
} engine_spawn_args;

/*
 * Starts the engine's process: in a process group of its own, SIGPIPE at
 * its default, the descriptors in place, then execvp.  vfork, not fork:
 * the child borrows kvgrade's memory until its exec instead of copying
 * its page tables, and kvgrade's later writes to its heap then cost no
 * copy-on-write faults (a rung starts the engine hundreds of times).
 * REQUIRES: the child only makes system calls and writes a->exec_errno
 * (kvgrade installs no signal handler that could run in it); a failed
 * execvp is reported through a->exec_errno and exit status 127.
 */
static pid_t engine_spawn(engine_spawn_args *a)
{
    pid_t pid = vfork();
    if (pid == 0) {
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        dup2(a->in, 0);
        if (a->out_null) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null >= 0 ? null : a->out, 1);
        } else {
            dup2(a->out, 1);
        }
        if (a->log >= 0)
            dup2(a->log, 2);
        execvp(a->words[0], a->words);
        a->exec_errno = errno;
        _exit(127);
    }
    return pid;
}

int kvg_engine_start(kvg_engine *e, const kvg_engine_cfg *cfg, const char *dir, int watch_fd,
                     char **why)
{
    memset(e, 0, sizeof *e);
    e->cfg = cfg;
    e->to = e->from = e->stdin_fd = -1;
    e->first_reply = -1;
    const char *werr = NULL;
    char **words = kvg_engine_words(cfg->template, dir, cfg->port, &werr);
    if (words == NULL) {
        *why = kvg_printf("--engine: %s", werr);
        return KVG_START_FAILED;
    }
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        *why = kvg_printf("pipe: %s", strerror(errno));
        kvg_engine_words_free(words);
        return KVG_START_FAILED;
    }
    int logfd = open(cfg->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    e->started = kvg_now();
    engine_spawn_args a = {words, in[0], out[1], logfd, cfg->port > 0, 0};
    pid_t pid = engine_spawn(&a);
    if (pid > 0 && a.exec_errno != 0) {
        /* What the child would have said, said for it, where it would
         * have said it; the child exits 127, reaped as any engine is. */
        char *msg = kvg_printf("kvgrade: cannot run %s: %s\n", words[0], strerror(a.exec_errno));
        if (write(logfd >= 0 ? logfd : 2, msg, strlen(msg)) < 0) {
            /* nowhere else to say it: the exit status 127 still does */
        }
        free(msg);
    }
    close(in[0]);
    close(out[1]);
    if (logfd >= 0)
        close(logfd);
    kvg_engine_words_free(words);
    if (pid < 0) {
        *why = kvg_printf("vfork: %s", strerror(errno));
        close(in[1]);
        close(out[0]);
        return KVG_START_FAILED;
    }
    setpgid(pid, pid);
    e->pid = pid;
    if (cfg->port > 0) {
        e->stdin_fd = in[1];
        close(out[0]);
        return engine_connect(e, watch_fd, why);
    }
    e->to = in[1];
    e->from = out[0];
    return KVG_OK;
}

/* ---- talking ----------------------------------------------------------- */

/* Reads what is there into the buffer; 1 if something came, 0 at EOF. */
static int engine_read_some(kvg_engine *e)
{
    if (e->in_start > 0 && e->in_start == e->in_len)
        e->in_start = e->in_len = 0;
    if (e->in_cap - e->in_len < 65536) {
        if (e->in_start > 0) {
            memmove(e->in, e->in + e->in_start, e->in_len - e->in_start);
            e->in_len -= e->in_start;
            e->in_start = 0;
        }
        if (e->in_cap - e->in_len < 65536) {
            e->in_cap = e->in_cap * 2 + 65536;
            e->in = kvg_realloc(e->in, e->in_cap);
        }
    }
    ssize_t n = read(e->from, e->in + e->in_len, e->in_cap - e->in_len);
    if (n > 0) {
        e->in_len += (size_t)n;
        return 1;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    e->eof = 1;
    return 0;
}

int kvg_engine_send(kvg_engine *e, const kvg_req *r, int watch_fd)
{
    if (e->pid == 0 || e->to < 0)
        return KVG_EOF;
    size_t len;
    unsigned char *bytes = kvg_req_encode(r, &len);
    int rc = kvg_engine_send_bytes(e, bytes, len, watch_fd);
    free(bytes);
    return rc;
}

int kvg_engine_send_bytes(kvg_engine *e, const unsigned char *bytes, size_t len, int watch_fd)
{
    if (e->pid == 0 || e->to < 0)
        return KVG_EOF;
    size_t done = 0;
    double until = kvg_now() + e->cfg->timeout;
    int rc = KVG_OK;
    while (done < len) {
        /* Read replies while writing, so that an engine blocked on its
         * output never blocks us. */
        struct pollfd pf[3] = {{e->to, POLLOUT, 0}, {e->from, POLLIN, 0}, {watch_fd, POLLIN, 0}};
        if (e->eof || e->from == e->to)
            pf[1].fd = -1;
        int left = (int)((until - kvg_now()) * 1000);
        if (left <= 0) {
            rc = KVG_TIMEOUT;
            break;
        }
        if (poll(pf, 3, left) < 0 && errno != EINTR) {
            rc = KVG_EOF;
            break;
        }
        if (pf[1].fd >= 0 && (pf[1].revents & (POLLIN | POLLHUP)))
            engine_read_some(e);
        if (watch_fd >= 0 && (pf[2].revents & (POLLIN | POLLHUP))) {
            rc = KVG_WATCHED;
            break;
        }
        if (pf[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            rc = KVG_EOF;
            break;
        }
        if (pf[0].revents & POLLOUT) {
            ssize_t n = e->to == e->from ? send(e->to, bytes + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT)
                                         : write(e->to, bytes + done, len - done > 65536 ? 65536 : len - done);
            if (n > 0)
                done += (size_t)n;
            else if (n < 0 && errno != EINTR && errno != EAGAIN) {
                rc = KVG_EOF;
                break;
            }
        }
    }
    return rc;
}

int kvg_engine_recv(kvg_engine *e, kvg_reply *out, int watch_fd, const char **why)
{
    double until = kvg_now() + e->cfg->timeout;
    for (;;) {
        if (e->in_len > e->in_start) {
            long used = kvg_reply_parse(e->in + e->in_start, e->in + e->in_len, out, why);
            if (used < 0)
                return KVG_BADREPLY;
            if (used > 0) {
                e->in_start += (size_t)used;
                if (e->first_reply < 0)
                    e->first_reply = kvg_now() - e->started;
                return KVG_OK;
            }
        }
        if (e->eof || e->from < 0)
            return KVG_EOF;
        struct pollfd pf[2] = {{e->from, POLLIN, 0}, {watch_fd, POLLIN, 0}};
        int left = (int)((until - kvg_now()) * 1000);
        if (left <= 0)
            return KVG_TIMEOUT;
        int n = poll(pf, watch_fd >= 0 ? 2 : 1, left);
        if (n < 0 && errno != EINTR)
            return KVG_EOF;
        if (watch_fd >= 0 && (pf[1].revents & (POLLIN | POLLHUP)))
            return KVG_WATCHED;
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR))
            engine_read_some(e);
    }
}

/* ---- stopping ---------------------------------------------------------- */

int kvg_engine_reap(kvg_engine *e, double seconds)
{
    if (e->pid == 0)
        return KVG_OK;
    double until = kvg_now() + seconds;
    for (;;) {
        int status;
        pid_t r = waitpid(e->pid, &status, WNOHANG);
        if (r == e->pid || (r < 0 && errno == ECHILD)) {
            e->status = r == e->pid ? status : 0;
            e->exited = 1;
            e->pid = 0;
            return KVG_OK;
        }
        if (kvg_now() > until)
            return KVG_TIMEOUT;
        usleep(1000);
    }
}

void kvg_engine_kill(kvg_engine *e)
{
    if (e->pid > 0) {
        kill(-e->pid, SIGKILL);
        kill(e->pid, SIGKILL);
    }
}

static void engine_close_fds(kvg_engine *e)
{
    if (e->to >= 0)
        close(e->to);
    if (e->from >= 0 && e->from != e->to)
        close(e->from);
    if (e->stdin_fd >= 0)
        close(e->stdin_fd);
    e->to = e->from = e->stdin_fd = -1;
}

int kvg_engine_stop(kvg_engine *e)
{
    if (e->pid == 0)
        return KVG_OK;
    if (e->cfg->port > 0) {
        kill(e->pid, SIGTERM);
    } else {
        close(e->to);
        e->to = -1;
    }
    /* Drain what it still writes, so that it never blocks on a full pipe. */
    double until = kvg_now() + e->cfg->timeout;
    while (!e->eof && e->from >= 0 && kvg_now() < until) {
        struct pollfd pf = {e->from, POLLIN, 0};
        if (poll(&pf, 1, 20) > 0)
            engine_read_some(e);
        int status;
        if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
            e->status = status;
            e->exited = 1;
            e->pid = 0;
            break;
        }
    }
    int rc = kvg_engine_reap(e, until - kvg_now() > 0 ? until - kvg_now() : 0.1);
    if (rc == KVG_TIMEOUT) {
        kvg_engine_kill(e);
        kvg_engine_reap(e, 10);
    }
    engine_close_fds(e);
    return rc;
}

void kvg_engine_close(kvg_engine *e)
{
    if (e->pid > 0) {
        kvg_engine_kill(e);
        kvg_engine_reap(e, 10);
    }
    engine_close_fds(e);
    free(e->in);
    e->in = NULL;
    e->in_len = e->in_start = e->in_cap = 0;
}

char *kvg_engine_status_text(int status)
{
    if (WIFEXITED(status))
        return kvg_printf("exit status %d", WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return kvg_printf("killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    return kvg_printf("wait status %d", status);
}

char *kvg_engine_log_tail(const char *log_path, int lines)
{
    FILE *f = fopen(log_path, "r");
    if (f == NULL)
        return kvg_strdup("");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > 4096 ? size - 4096 : 0;
    fseek(f, from, SEEK_SET);
    char *buf = kvg_alloc(4097);
    size_t n = fread(buf, 1, 4096, f);
    fclose(f);
    buf[n] = '\0';
    int seen = 0;
    for (long i = (long)n - 1; i >= 0; i--) {
        if (buf[i] == '\n' && i != (long)n - 1 && ++seen >= lines) {
            char *tail = kvg_strdup(buf + i + 1);
            free(buf);
            return tail;
        }
    }
    return buf;
}
