/*
 * serve_loop.c: the event loop of `kv serve`: one thread, one epoll set.
 *
 * One pass of the loop:
 *   1. wait for events (not at all if a client still has commands to run):
 *      accept new clients, read what clients sent, send what waits for
 *      slow readers, take a stop signal, take an applied batch;
 *   2. run the ready clients: parse and run up to SERVE_TURN requests each
 *      (reads are answered at once, writes are gathered: serve_commit.c;
 *      a KEYS not finished is run again in the next pass: serve_keys.c);
 *   3. start the gathered batch (without --sync a small one is applied
 *      and answered right here; else the writer threads take it);
 *   4. for every client touched in this pass: send its replies, update
 *      what epoll watches for it, close it if it is finished.
 * Before each wait, the WATCHes older than --watch-max-age are ended
 * (serve_watch_expire), and the wait is no longer than the next check.
 * Clients are freed only in step 4, so the lists of steps 1-3 never hold
 * a freed client; and loop_client_free takes a client off the ready and
 * dirty lists, which step 4 itself may have put it back on (a failed
 * send: loop_client_dead).
 *
 * Out of descriptors: serve_main sizes --maxclients so that the engine and
 * the clients fit under the open-file limit (docs/server.md, "Open
 * files"); if accept fails anyway (EMFILE, ENFILE), the listening socket
 * is left out of the epoll set for SERVE_ACCEPT_PAUSE_MS instead of being
 * polled again at once (loop_accept_pause), and the log says so once per
 * SERVE_LOG_EVERY seconds.
 *
 * Backpressure, per client: no more reading while SERVE_IN_HIGH bytes of
 * requests wait unparsed (unless the request in progress needs more); no
 * more running while SERVE_OUT_HIGH bytes of replies wait unsent.  TCP
 * flow control then slows the client down.  epoll is level-triggered, so
 * turning interest off and on is all it takes.
 *
 * --stdio: no listening socket and one client, whose requests come from
 * standard input and whose replies go to standard output (written with
 * write(2), blocking: a single client has no one to wait for).  When it
 * is done (the end of its input reached and everything answered), the
 * server stops as on a signal.
 *
 * Shutdown (SIGTERM, SIGINT through a signalfd): close the listening
 * socket, read nothing more, run the complete requests already received,
 * wait for their batches, send the replies (for SERVE_STOP_SECONDS at
 * most), then return; serve_main closes the database.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>


#define LOOP_READ_CHUNK (16u * 1024u)

#include "server.h"

static char loop_tag_listen, loop_tag_signal, loop_tag_commit, loop_tag_http, loop_tag_ext;

/* The socket failed or the peer is gone: stop using the socket now. */
static void loop_client_dead(server *s, serve_client *c, const char *why, int err)
{
    if (why != NULL)
        serve_log("client %s: %s: %s", c->addr, why, strerror(err));
    if (c->fd >= 0) {
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        if (!s->cfg.stdio)
            close(c->fd);
        c->fd = -1;
    }
    c->out_fd = -1;
    c->dead = 1;
    serve_client_dirty(s, c);
}

/* Frees the client and takes it off every list (server.h, invariant 3):
 * loop_settle frees a client whose last send failed, and that failure
 * (loop_client_dead) has just put it back on the dirty list. */
static void loop_begin_stop(server *s);

static void loop_client_free(server *s, serve_client *c)
{
    if (s->cfg.verbose)
        serve_log("client %s: closed", c->addr);
    if (c->fd >= 0) {
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        if (!s->cfg.stdio)
            close(c->fd);
    }
    serve_client_unlist(s, c);
    serve_commit_back(s, c);
    serve_keys_free(c);
    serve_multi_free(s, c); /* its queue and its watches: no EXEC is in flight */
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    s->nclients--;
    resp_parser_free(&c->ps);
    out_free(&c->out);
    free(c->in);
    free(c);
    if (s->cfg.stdio)
        loop_begin_stop(s); /* the one client is done */
}

/* accept failed for want of a descriptor or memory: the pending connection
 * stays in the backlog and the listening socket stays readable, so polling
 * it again at once would spin.  Stop watching it for SERVE_ACCEPT_PAUSE_MS
 * (loop_accept_resume watches it again); log once per SERVE_LOG_EVERY
 * seconds, with how many failures that line stands for. */
static void loop_accept_pause(server *s, int err)
{
    s->stats.accept_pauses++;
    if (!s->accept_paused && epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL) == 0) {
        s->accept_paused = 1;
        s->accept_resume_ms = serve_now_ms() + SERVE_ACCEPT_PAUSE_MS;
    }
    time_t now = time(NULL);
    if (s->accept_logged != 0 && now - s->accept_logged < SERVE_LOG_EVERY) {
        s->accept_quiet++;
        return;
    }
    if (s->accept_quiet > 0)
        serve_log("accept: %s (%llu times more in the last %lld s); not accepting for %d ms",
                  strerror(err), s->accept_quiet, (long long)(now - s->accept_logged),
                  SERVE_ACCEPT_PAUSE_MS);
    else
        serve_log("accept: %s; not accepting for %d ms", strerror(err), SERVE_ACCEPT_PAUSE_MS);
    s->accept_logged = now;
    s->accept_quiet = 0;
}

/* The epoll_wait timeout, given the one the loop wants: shorter if accepts
 * are paused; and accepts resume once their pause is over. */
static int loop_accept_resume(server *s, int timeout)
{
    if (!s->accept_paused)
        return timeout;
    long long left = s->accept_resume_ms - serve_now_ms();
    if (left > 0)
        return timeout >= 0 && timeout < left ? timeout : (int)left;
    s->accept_paused = 0;
    if (s->listen_fd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &loop_tag_listen};
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev) != 0)
            serve_log("epoll: %s: no longer accepting clients", strerror(errno));
    }
    return timeout;
}

/* A new client reading fd and writing out_fd: 0, or -1 (logged). */
static int loop_client_new(server *s, int fd, int out_fd, const char *addr)
{
    serve_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        serve_log("client %s: refused: out of memory", addr);
        return -1;
    }
    c->fd = fd;
    c->out_fd = out_fd;
    c->id = ++s->next_id;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    resp_limits lim = {KV_MAX_VALUE, SERVE_MAX_ARGS, SERVE_MAX_INLINE, SERVE_MAX_REQUEST};
    resp_parser_init(&c->ps, &lim);
    c->authed = s->cfg.password == NULL;
    c->out.tally = &s->obs.errs; /* INFO errorstats */
    c->events = EPOLLIN;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        serve_log("client %s: refused: epoll: %s%s", addr, strerror(errno),
                  errno == EPERM ? " (standard input must be a pipe, a socket or a terminal, "
                                   "not a file: cat FILE | kv DIR serve --stdio)" : "");
        free(c);
        return -1;
    }
    c->next = s->clients;
    if (s->clients != NULL)
        s->clients->prev = c;
    s->clients = c;
    s->nclients++;
    s->stats.connections++;
    if (s->cfg.verbose)
        serve_log("client %s: connected", addr);
    return 0;
}

int serve_loop_add_stdio(server *s)
{
    return loop_client_new(s, STDIN_FILENO, STDOUT_FILENO, "stdio");
}

static void loop_accept(server *s)
{
    if (s->listen_fd < 0)
        return; /* closed by an earlier event of this wake-up (a stop) */
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t salen = sizeof sa;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&sa, &salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue; /* ECONNABORTED: that client gave up; the next one */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                loop_accept_pause(s, errno);
            else if (errno != EAGAIN && errno != EWOULDBLOCK)
                serve_log("accept: %s", strerror(errno));
            return;
        }
        char addr[64] = "?";
        char host[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (sa.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&sa;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
            port = ntohs(in->sin_port);
        } else if (sa.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
            port = ntohs(in6->sin6_port);
        }
        snprintf(addr, sizeof addr, "%s:%d", host, port);
        if (s->nclients >= s->cfg.maxclients) {
            static const char msg[] = "-ERR max number of clients reached\r\n";
            if (send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL) < 0) {
                /* the client is refused either way */
            }
            close(fd);
            s->stats.rejected++;
            serve_log("client %s: refused: already %zu clients (--maxclients)", addr, s->nclients);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (loop_client_new(s, fd, fd, addr) != 0)
            close(fd);
    }
}

/* Reads once from the socket into the input buffer. */
static void loop_read(server *s, serve_client *c)
{
    size_t unparsed = c->in_len - c->in_start;
    if (c->in_start > 0 && (unparsed == 0 || c->in_cap - c->in_len < LOOP_READ_CHUNK)) {
        memmove(c->in, c->in + c->in_start, unparsed);
        c->in_len = unparsed;
        c->in_start = 0;
    }
    size_t want = LOOP_READ_CHUNK;
    if (c->ps.need > unparsed && c->ps.need - unparsed > want)
        want = c->ps.need - unparsed; /* a large bulk string: room for all of it */
    if (c->in_cap - c->in_len < want) {
        char *grown = realloc(c->in, c->in_len + want);
        if (grown == NULL) {
            serve_log("client %s: out of memory for a %zu-byte request; closing", c->addr,
                      c->ps.need);
            loop_client_dead(s, c, NULL, 0);
            return;
        }
        c->in = grown;
        c->in_cap = c->in_len + want;
    }
    ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (n > 0) {
        c->in_len += (size_t)n;
        c->input_pass = s->passes; /* an extension's read index must come after these bytes */
    } else if (n == 0) {
        c->eof = 1;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        loop_client_dead(s, c, "read", errno);
        return;
    }
    serve_client_ready(s, c);
}

/* Step 2 for one client: runs up to SERVE_TURN of its requests. */
static void loop_run_client(server *s, serve_client *c)
{
    serve_client_dirty(s, c);
    for (int turn = 0; turn < SERVE_TURN; turn++) {
        if (c->dead || c->closing || c->waiting || out_pending(&c->out) >= SERVE_OUT_HIGH)
            return;
        const char *p = c->in + c->in_start;
        int rc = resp_parse(&c->ps, p, c->in + c->in_len);
        if (rc == RESP_NEED_MORE)
            return;
        if (rc != RESP_COMPLETE && c->pending_ops > 0) {
            c->waiting = 1; /* answer the error after the replies it owes */
            return;
        }
        if (rc == RESP_INVALID) {
            s->stats.errors++;
            serve_log("client %s: %s; closing", c->addr, c->ps.why);
            out_error(&c->out, "ERR %s", c->ps.why);
            c->closing = 1;
            return;
        }
        if (rc == RESP_NOMEM) {
            serve_log("client %s: out of memory parsing a request; closing", c->addr);
            c->closing = 1;
            return;
        }
        serve_req r = {p, c->ps.args, c->ps.argc};
        serve_commit_back(s, c);
        if (serve_cmd_run(s, c, &r) == SERVE_CMD_WAIT) {
            c->waiting = 1;
            return;
        }
        if (c->keys != NULL)
            break; /* a KEYS goes on: the same request again next pass */
        c->in_start += c->ps.pos;
        resp_parser_next(&c->ps);
        if (c->in_start == c->in_len) {
            c->in_start = c->in_len = 0;
            if (c->in_cap > 256 * 1024) {
                free(c->in);
                c->in = NULL;
                c->in_cap = 0;
            }
        }
    }
    serve_client_ready(s, c); /* its turn is over; more next pass */
}

/* Sends what it can of the client's replies; 0, or -1 if the client died. */
static int loop_flush(server *s, serve_client *c)
{
    while (c->out_fd >= 0 && out_pending(&c->out) > 0) {
        ssize_t n = c->out_fd != c->fd
                        ? write(c->out_fd, c->out.buf + c->out.sent, out_pending(&c->out))
                        : send(c->fd, c->out.buf + c->out.sent, out_pending(&c->out), MSG_NOSIGNAL);
        if (n > 0) {
            c->out.sent += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            loop_client_dead(s, c, "write", errno);
            return -1;
        }
    }
    out_compact(&c->out);
    return 0;
}

/* What epoll should watch for this client now. */
static void loop_update_events(server *s, serve_client *c)
{
    if (c->fd < 0)
        return;
    unsigned want = 0;
    size_t unparsed = c->in_len - c->in_start;
    if (!c->eof && !c->closing && (unparsed < SERVE_IN_HIGH || c->ps.need > unparsed))
        want |= EPOLLIN;
    if (out_pending(&c->out) > 0)
        want |= EPOLLOUT;
    if (want == c->events)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->events = want;
}

/* 1 when the client has nothing left to do and can be closed. */
static int loop_finished(const serve_client *c)
{
    if (c->pending_ops > 0)
        return 0;
    if (c->dead || c->out.failed)
        return 1;
    if (out_pending(&c->out) > 0)
        return 0;
    if (c->closing)
        return 1;
    /* The peer is gone (or we stopped reading): finished once what is left
     * in the buffer is not a complete request. */
    return c->eof && !c->on_ready && !c->waiting;
}

/* Step 4. */
static void loop_settle(server *s)
{
    while (s->ndirty > 0) {
        serve_client *c = s->dirty[--s->ndirty];
        c->on_dirty = 0;
        if (c->out.failed && !c->dead)
            serve_log("client %s: out of memory for a reply; closing", c->addr);
        if (!c->dead && !c->out.failed)
            loop_flush(s, c);
        if (loop_finished(c)) {
            loop_client_free(s, c);
            continue;
        }
        loop_update_events(s, c);
        if (out_pending(&c->out) < SERVE_OUT_HIGH && !c->waiting && c->in_len > c->in_start &&
            !c->dead && !c->closing && c->ps.need <= c->in_len - c->in_start)
            serve_client_ready(s, c);
    }
}

static void loop_begin_stop(server *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    s->stop_at = time(NULL) + SERVE_STOP_SECONDS;
    serve_http_stop(s); /* no more scrapes: the metrics port closes at once */
    if (s->cfg.verbose)
        serve_log("stopping: %zu clients, finishing their requests", s->nclients);
    if (s->listen_fd >= 0) {
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    for (serve_client *c = s->clients; c != NULL; c = c->next) {
        c->eof = 1;
        serve_client_ready(s, c);
    }
}

/* After SERVE_STOP_SECONDS: clients that still have not read their replies
 * are closed (their writes were applied; only the answers are lost). */
static void loop_force_stop(server *s)
{
    for (serve_client *c = s->clients; c != NULL; c = c->next) {
        if (c->pending_ops > 0 || c->dead)
            continue;
        serve_log("client %s: closed at shutdown with %zu bytes of replies unread", c->addr,
                  out_pending(&c->out));
        loop_client_dead(s, c, NULL, 0);
    }
}

static void loop_event(server *s, const struct epoll_event *ev)
{
    if (ev->data.ptr == &loop_tag_listen) {
        loop_accept(s);
    } else if (ev->data.ptr == &loop_tag_signal) {
        struct signalfd_siginfo si;
        while (read(s->signal_fd, &si, sizeof si) == sizeof si)
            loop_begin_stop(s);
    } else if (ev->data.ptr == &loop_tag_commit) {
        serve_commit_done(s);
    } else if (ev->data.ptr == &loop_tag_http) {
        serve_http_ready(s);
    } else if (ev->data.ptr == &loop_tag_ext) {
        s->ext_ready = 1; /* the extension's run, after the events, does what is ready */
    } else {
        serve_client *c = ev->data.ptr;
        if (c->fd < 0)
            return;
        if (ev->events & EPOLLERR) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            loop_client_dead(s, c, "socket", err);
            return;
        }
        if ((ev->events & EPOLLIN) || ((ev->events & EPOLLHUP) && (c->events & EPOLLIN))) {
            loop_read(s, c);
        } else if ((ev->events & EPOLLHUP) && c->out_fd != c->fd) {
            /* --stdio: the input is over, the output may still be read */
            epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
            c->fd = -1;
            c->eof = 1;
        } else if (ev->events & EPOLLHUP) {
            loop_client_dead(s, c, NULL, 0); /* gone, and we were not reading */
        }
        if (ev->events & EPOLLOUT)
            serve_client_dirty(s, c);
    }
}

static int loop_watch(server *s, int fd, void *tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
    return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int serve_loop_run(server *s)
{
    if ((s->listen_fd >= 0 && loop_watch(s, s->listen_fd, &loop_tag_listen) != 0) ||
        loop_watch(s, s->signal_fd, &loop_tag_signal) != 0 ||
        (serve_commit_event_fd(s) >= 0 && loop_watch(s, serve_commit_event_fd(s), &loop_tag_commit) != 0) ||
        (serve_http_fd(s) >= 0 && loop_watch(s, serve_http_fd(s), &loop_tag_http) != 0) ||
        (s->ext != NULL && s->ext->fd(s->ext_state) >= 0 &&
         loop_watch(s, s->ext->fd(s->ext_state), &loop_tag_ext) != 0)) {
        serve_log("epoll: %s", strerror(errno));
        return -1;
    }
    serve_client **batch = NULL;
    size_t batch_cap = 0;
    struct epoll_event evs[128];
    for (;;) {
        if (s->stopping && s->nclients == 0 && !serve_commit_busy(s))
            break;
        int timeout = loop_accept_resume(s, s->nready > 0 ? 0 : s->stopping ? 100 : -1);
        int watch_ms = serve_watch_expire(s); /* WATCHes past --watch-max-age end */
        if (watch_ms >= 0 && (timeout < 0 || watch_ms < timeout))
            timeout = watch_ms;
        int http_ms = serve_http_expire(s); /* metrics connections past their time close */
        if (http_ms >= 0 && (timeout < 0 || http_ms < timeout))
            timeout = http_ms;
        int hold_ms = serve_commit_hold_ms(s); /* a batch held for answered clients */
        if (hold_ms >= 0 && (timeout < 0 || hold_ms < timeout))
            timeout = hold_ms;
        int ext_ms = s->ext != NULL ? s->ext->timeout(s->ext_state) : -1; /* its next timer */
        if (ext_ms >= 0 && (timeout < 0 || ext_ms < timeout))
            timeout = ext_ms;
        int n = epoll_wait(s->epfd, evs, 128, timeout);
        if (n < 0 && errno != EINTR) {
            serve_log("epoll_wait: %s", strerror(errno));
            free(batch);
            return -1;
        }
        s->passes++;
        s->ext_ready = 0;
        for (int i = 0; i < n; i++)
            loop_event(s, &evs[i]);
        if (s->ext != NULL)
            s->ext->run(s->ext_state, s->passes); /* a member: its traffic, timers and applied commands */
        if (s->stopping && time(NULL) >= s->stop_at)
            loop_force_stop(s);
        /* Step 2: the clients ready now; those that become ready while they
         * run (a batch applied inline) run in the next pass. */
        if (s->nready > batch_cap) {
            serve_client **grown = realloc(batch, s->nready * sizeof *grown);
            if (grown != NULL) {
                batch = grown;
                batch_cap = s->nready;
            }
        }
        size_t nrun = s->nready < batch_cap ? s->nready : batch_cap;
        if (nrun > 0)
            memcpy(batch, s->ready + (s->nready - nrun), nrun * sizeof *batch);
        s->nready -= nrun;
        for (size_t i = 0; i < nrun; i++)
            batch[i]->on_ready = 0;
        for (size_t i = 0; i < nrun; i++)
            loop_run_client(s, batch[i]);
        serve_commit_kick(s);
        /* Step 3: the extension again if the writes handed to it left it
         * work to do at once (serve_ext.h), rather than in a pass of its
         * own after an epoll_wait that would not wait. */
        if (s->ext != NULL && s->ext->timeout(s->ext_state) == 0)
            s->ext->run(s->ext_state, s->passes);
        loop_settle(s);
    }
    free(batch);
    return 0;
}
