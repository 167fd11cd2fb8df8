/*
 * kvg_run_engine.c: the engine under test as a run sees it, for both
 * halves of a run (kvg_run.c, the loop; kvg_verify.c, a verify step):
 * its replies read and checked against what each must be, the engine
 * killed, found gone or frozen by the file system, a step made ready, and
 * the run's failures and notes recorded (kvg_run_int.h).  It calls
 * neither half.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvg_run_int.h"

void run_fail(run *r, long step, const char *fmt, ...)
{
    if (r->res->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    r->res->failed = 1;
    r->res->step = step;
    r->res->what = msg != NULL ? msg : kvg_strdup("(no memory for the message)");
}

char *run_text_req(const kvg_req *q)
{
    char *s = NULL;
    size_t n;
    FILE *f = open_memstream(&s, &n);
    kvg_print_req(f, q, 60);
    fclose(f);
    return s;
}

char *run_text_reply(const kvg_reply *p)
{
    char *s = NULL;
    size_t n;
    FILE *f = open_memstream(&s, &n);
    kvg_print_reply(f, p, 60);
    fclose(f);
    return s;
}

void run_note(kvg_step *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    free(st->note);
    st->note = msg;
}

int run_watch_fd(const run *r)
{
    return r->cfg->fs != NULL ? r->cfg->fs->from : -1;
}

/* A message about how the engine ended, with the last lines it logged. */
char *run_exit_text(run *r)
{
    char *st = kvg_engine_status_text(r->e.status);
    char *tail = kvg_engine_log_tail(r->cfg->engine->log_path, 6);
    char *msg = tail[0] != '\0' ? kvg_printf("%s; the last lines of its standard error:\n%s", st, tail)
                                : kvg_printf("%s (it wrote nothing on its standard error)", st);
    free(st);
    free(tail);
    return msg;
}

/* The engine, killed: replies it wrote before it died are read (and
 * checked), the file system's held operations dropped, the engine
 * reaped.  `frozen`: the file system stopped it already. */
static void run_process_reply(run *r, const kvg_reply *got);

void run_kill(run *r)
{
    if (!r->running)
        return;
    kvg_fs *fs = r->cfg->fs;
    if (fs != NULL && !fs->frozen)
        kvg_fs_cmd(fs, "freeze");
    kvg_engine_kill(&r->e);
    if (fs != NULL) {
        /* A process held inside the file system dies only once the held
         * call is answered; it runs no more code of its own (SIGKILL is
         * pending), so nothing it could still write is lost by this. */
        kvg_fs_cmd(fs, "drop");
        r->fs_draining = 1;
        fs->frozen = 0;
    }
    for (;;) { /* drain: what it wrote before it died was acknowledged */
        kvg_reply got;
        const char *why = NULL;
        int rc = kvg_engine_recv(&r->e, &got, -1, &why);
        if (rc != KVG_OK)
            break;
        if (r->qhead < r->nq)
            run_process_reply(r, &got);
        kvg_reply_free(&got);
    }
    if (kvg_engine_reap(&r->e, r->cfg->engine->timeout) != KVG_OK)
        run_fail(r, -1, "the engine did not die within %.0f s of SIGKILL", r->cfg->engine->timeout);
    kvg_engine_close(&r->e);
    r->running = 0;
    r->unanswered = r->nq - r->qhead;
    /* What was not answered stays unacknowledged. */
    for (size_t i = r->qhead; i < r->nq; i++)
        kvg_reply_free(&r->q[i].want);
    r->qhead = r->nq = 0;
    if (r->crash < 1)
        r->crash = 1;
}

/* Checks one reply against the oldest outstanding request. */
static void run_process_reply(run *r, const kvg_reply *got)
{
    run_pending *p = &r->q[r->qhead++];
    kvg_step *st = &r->steps->s[p->step];
    st->has_reply = 1;
    st->reply = kvg_reply_dup(got);
    if (r->restart_pending) {
        r->restart_pending = 0;
        r->res->restarts = kvg_realloc(r->res->restarts, (r->res->nrestarts + 1) * sizeof(double));
        r->res->restarts[r->res->nrestarts++] = r->e.first_reply;
    }
    int ok;
    switch (p->cls) {
    case KVG_Q_ERROR:
        ok = got->type == KVG_ERROR;
        if (!ok) {
            char *rq = run_text_req(&st->req), *gs = run_text_reply(got);
            run_fail(r, (long)p->step, "%s must be answered with an error (it is not a command of "
                     "the protocol, or it is refused), but the engine answered %s", rq, gs);
            free(rq);
            free(gs);
        }
        break;
    case KVG_Q_EMPTYKEY:
        ok = kvg_model_empty_key(&r->m, &st->req, got, (long)p->step);
        if (!ok) {
            char *rq = run_text_req(&st->req), *gs = run_text_reply(got);
            run_fail(r, (long)p->step, "%s (the empty key): the engine must either refuse it with "
                     "an error or store it like any key, but it answered %s", rq, gs);
            free(rq);
            free(gs);
        }
        break;
    default:
        ok = kvg_reply_eq(&p->want, got) || kvg_model_empty_read_ok(&r->m, &st->req, got);
        if (!ok) {
            char *rq = run_text_req(&st->req), *gs = run_text_reply(got), *ws = run_text_reply(&p->want);
            run_fail(r, (long)p->step, "%s was answered %s; expected %s", rq, gs, ws);
            free(rq);
            free(gs);
            free(ws);
        }
        if (ok && p->cls == KVG_Q_WRITE) {
            if (p->first + p->count > r->m.acked)
                r->m.acked = p->first + p->count;
            r->res->writes_acked++;
            if (r->cfg->after_write != NULL)
                r->cfg->after_write(r->cfg->ctx, r->m.acked);
        }
        break;
    }
    kvg_reply_free(&p->want);
    if (r->qhead == r->nq)
        r->qhead = r->nq = 0;
}

/* The engine ended on its own (EOF, or it exited): reap it and judge. */
void run_engine_gone(run *r, long step, const char *doing)
{
    kvg_engine_reap(&r->e, r->cfg->engine->timeout);
    if (r->e.pid != 0) {
        kvg_engine_kill(&r->e);
        kvg_engine_reap(&r->e, 10);
    }
    r->running = 0;
    int status = r->e.status;
    if (r->damage_allow != -2 && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        r->res->damage = KVG_DAMAGE_REFUSED;
    } else {
        char *how = run_exit_text(r);
        if (!r->res->failed)
            r->res->refused = WIFEXITED(status) && WEXITSTATUS(status) != 0;
        run_fail(r, step, "the engine stopped %s: %s", doing, how);
        free(how);
    }
    kvg_engine_close(&r->e);
    for (size_t i = r->qhead; i < r->nq; i++)
        kvg_reply_free(&r->q[i].want);
    r->qhead = r->nq = 0;
}

int run_frozen(run *r)
{
    kvg_fs_poll(r->cfg->fs);
    if (!r->cfg->fs->frozen)
        return 0;
    run_kill(r);
    r->dead = 1;
    return 1;
}

/* Reads replies until at most `left` are outstanding.  0, or -1 if the
 * engine is gone (killed by a freeze, ended, or failed a check). */
int run_wait(run *r, size_t left)
{
    while (r->nq - r->qhead > left) {
        if (r->cfg->fs != NULL && r->cfg->fs->frozen) {
            /* Frozen, told before this wait (with a command's answer). */
            run_kill(r);
            r->dead = 1;
            return -1;
        }
        kvg_reply got;
        const char *why = NULL;
        int rc = kvg_engine_recv(&r->e, &got, run_watch_fd(r), &why);
        if (rc == KVG_OK) {
            run_process_reply(r, &got);
            kvg_reply_free(&got);
            if (r->res->failed)
                return -1;
            continue;
        }
        if (rc == KVG_WATCHED) {
            if (run_frozen(r))
                return -1;
            continue;
        }
        long at = (long)r->q[r->qhead].step;
        if (rc == KVG_TIMEOUT) {
            char *rq = run_text_req(&r->steps->s[at].req);
            run_fail(r, at, "no reply to %s within %.0f s (the engine hangs)", rq,
                     r->cfg->engine->timeout);
            free(rq);
            kvg_engine_kill(&r->e);
        } else if (rc == KVG_BADREPLY) {
            run_fail(r, at, "the reply is not RESP2: %s", why);
        } else {
            char *rq = run_text_req(&r->steps->s[at].req);
            char *doing = kvg_printf("before answering %s", rq);
            run_engine_gone(r, at, doing);
            free(rq);
            free(doing);
        }
        return -1;
    }
    return 0;
}

/* Step i's request is outstanding now: what it must be answered. */
int run_step_ready(run *r, size_t i)
{
    kvg_step *st = &r->steps->s[i];
    if (!r->running || r->dead) {
        st->ran = 2;
        return -1;
    }
    if (run_wait(r, 0) != 0)
        return -1;
    st->ran = 1;
    return 0;
}
