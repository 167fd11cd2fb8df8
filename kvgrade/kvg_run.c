/*
 * kvg_run.c: running steps against the engine, checking every reply
 * (kvg_run.h says what each step does and which rule each check applies).
 *
 * The loop keeps the engine, the model, the replies still outstanding
 * (with what each must be), and what is pending: a crash not yet
 * verified, damage not yet read back.  Writes enter the model when they
 * are sent (the engine answers in order, so a read sent after them must
 * see them); a write's reply makes it acknowledged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvg_run.h"

#define RUN_RANGE_PAGE 1000
#define RUN_MAX_GETS   4000

typedef struct run_pending {
    size_t step;
    int cls;                    /* KVG_Q_* */
    kvg_reply want;
    size_t first, count;        /* the writes it became */
} run_pending;

typedef struct run {
    const kvg_session *cfg;
    kvg_steps *steps;
    kvg_result *res;
    kvg_engine e;
    int running;                /* e is started and not yet stopped or killed */
    int dead;                   /* killed by a freeze: sends are skipped until start */
    kvg_model m;
    run_pending *q;
    size_t nq, qcap, qhead;
    int crash;                  /* 0 none, 1 kill, 2 cut: the next verify checks it */
    int fs_draining;            /* the file system drops ops: resume (or cut) before start */
    long long damage_allow;     /* -2: no damage; else the writes a torn tail may keep (-1: none) */
    int engine_error;           /* the engine broke a rule outside any check */
    double start_time;
    int restart_pending;        /* the first reply after a start is a restart time */
    size_t unanswered;          /* requests the last killed engine never answered */
    unsigned char *batch;       /* a batch step's requests, gathered to be sent in one write */
    size_t batch_len, batch_cap, batch_left;
} run;

static void run_fail(run *r, long step, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void run_fail(run *r, long step, const char *fmt, ...)
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

static char *run_text_req(const kvg_req *q)
{
    char *s = NULL;
    size_t n;
    FILE *f = open_memstream(&s, &n);
    kvg_print_req(f, q, 60);
    fclose(f);
    return s;
}

static char *run_text_reply(const kvg_reply *p)
{
    char *s = NULL;
    size_t n;
    FILE *f = open_memstream(&s, &n);
    kvg_print_reply(f, p, 60);
    fclose(f);
    return s;
}

static void run_note(kvg_step *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void run_note(kvg_step *st, const char *fmt, ...)
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

static int run_watch_fd(const run *r)
{
    return r->cfg->fs != NULL ? r->cfg->fs->from : -1;
}

/* A message about how the engine ended, with the last lines it logged. */
static char *run_exit_text(run *r)
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

static void run_kill(run *r)
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
static void run_engine_gone(run *r, long step, const char *doing)
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

/* Reads replies until at most `left` are outstanding.  0, or -1 if the
 * engine is gone (killed by a freeze, ended, or failed a check). */
static int run_wait(run *r, size_t left)
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
            kvg_fs_poll(r->cfg->fs);
            if (r->cfg->fs->frozen) {
                run_kill(r);
                r->dead = 1;
                return -1;
            }
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
static int run_expect(run *r, size_t i)
{
    kvg_step *st = &r->steps->s[i];
    if (r->nq == r->qcap) {
        r->qcap = r->qcap ? r->qcap * 2 : 64;
        r->q = kvg_realloc(r->q, r->qcap * sizeof *r->q);
    }
    run_pending *p = &r->q[r->nq];
    p->step = i;
    p->cls = kvg_model_expect(&r->m, &st->req, &p->want, &p->first, &p->count, (long)i);
    r->nq++;
    r->res->requests++;
    st->ran = 1;
    return p->cls;
}

/* Sends the gathered batch (step i its last) in one write: 0, or -1 as
 * run_wait. */
static int run_flush(run *r, size_t i, size_t window)
{
    size_t len = r->batch_len;
    r->batch_len = r->batch_left = 0;
    if (r->dead || !r->running || len == 0)
        return 0;
    int rc = kvg_engine_send_bytes(&r->e, r->batch, len, run_watch_fd(r));
    if (rc == KVG_WATCHED) {
        kvg_fs_poll(r->cfg->fs);
        if (r->cfg->fs->frozen) {
            run_kill(r);
            r->dead = 1;
            return -1;
        }
    } else if (rc != KVG_OK) {
        if (run_wait(r, 0) != 0)
            return -1;
        run_engine_gone(r, (long)i, "reading its input");
        return -1;
    }
    return run_wait(r, window);
}

/* Sends a request of step i: 0, or -1 as run_wait.  Inside a batch it is
 * only gathered, and the batch's last sends them all. */
static int run_send(run *r, size_t i, size_t window)
{
    kvg_step *st = &r->steps->s[i];
    if (r->dead || !r->running) {
        st->ran = 2;
        return 0;
    }
    if (r->batch_left > 0) {
        size_t len;
        unsigned char *bytes = kvg_req_encode(&st->req, &len);
        if (r->batch_len + len > r->batch_cap) {
            r->batch_cap = 2 * (r->batch_len + len);
            r->batch = kvg_realloc(r->batch, r->batch_cap);
        }
        memcpy(r->batch + r->batch_len, bytes, len);
        r->batch_len += len;
        free(bytes);
        run_expect(r, i); /* REQUIRES: no empty-key write inside a batch */
        return --r->batch_left > 0 ? 0 : run_flush(r, i, window);
    }
    int rc = kvg_engine_send(&r->e, &st->req, run_watch_fd(r));
    if (rc == KVG_WATCHED) {
        kvg_fs_poll(r->cfg->fs);
        if (r->cfg->fs->frozen) {
            run_kill(r);
            r->dead = 1;
            st->ran = 2;
            return -1;
        }
    } else if (rc != KVG_OK) {
        /* Look for replies (and its exit) before blaming the send. */
        if (run_wait(r, 0) != 0)
            return -1;
        run_engine_gone(r, (long)i, "reading its input");
        return -1;
    }
    int cls = run_expect(r, i);
    /* The empty key's fate is learnt from this reply: wait for it. */
    return run_wait(r, cls == KVG_Q_EMPTYKEY ? 0 : window);
}

/* ---- verify ------------------------------------------------------------- */

/* One read for verify: 0 with *got, 1 if refused (error reply), -1 if the
 * engine is gone (frozen and killed, ended, or a check failed). */
static int run_read(run *r, long step, const kvg_req *q, kvg_reply *got)
{
    int rc = kvg_engine_send(&r->e, q, run_watch_fd(r));
    if (rc == KVG_OK) {
        const char *why = NULL;
        rc = kvg_engine_recv(&r->e, got, run_watch_fd(r), &why);
        if (rc == KVG_OK) {
            r->res->requests++;
            if (r->restart_pending) {
                r->restart_pending = 0;
                r->res->restarts = kvg_realloc(r->res->restarts,
                                               (r->res->nrestarts + 1) * sizeof(double));
                r->res->restarts[r->res->nrestarts++] = r->e.first_reply;
            }
            return got->type == KVG_ERROR ? 1 : 0;
        }
        if (rc == KVG_BADREPLY) {
            run_fail(r, step, "the reply is not RESP2: %s", why);
            return -1;
        }
    }
    if (rc == KVG_WATCHED) {
        kvg_fs_poll(r->cfg->fs);
        if (r->cfg->fs->frozen) {
            run_kill(r);
            r->dead = 1;
            return -1;
        }
        return run_read(r, step, q, got); /* something else it said: go on */
    }
    if (rc == KVG_TIMEOUT) {
        char *rq = run_text_req(q);
        run_fail(r, step, "no reply to %s within %.0f s (the engine hangs)", rq,
                 r->cfg->engine->timeout);
        free(rq);
        kvg_engine_kill(&r->e);
        return -1;
    }
    char *rq = run_text_req(q);
    char *doing = kvg_printf("before answering %s", rq);
    run_engine_gone(r, step, doing);
    free(rq);
    free(doing);
    return -1;
}

/* The reads of a verify: every pair through RANGE (into R) and a GET of
 * each key ever written (into G: the key's value, absent if nil).
 * 0, 1 if a read was refused (damage), -1 if the engine is gone. */
static int run_read_all(run *r, long step, kvg_map *R, kvg_map *G, kvg_map *G_nil)
{
    kvg_buf start = {(unsigned char *)"", 0}, none = {(unsigned char *)"", 0};
    int refused = 0;
    kvg_buf owned = {NULL, 0};
    for (;;) {
        char lim[16];
        snprintf(lim, sizeof lim, "%d", RUN_RANGE_PAGE);
        kvg_buf argv[4] = {kvg_buf_str("RANGE"), kvg_buf_dup(start), kvg_buf_dup(none), kvg_buf_str(lim)};
        kvg_req q = {4, argv};
        kvg_reply got;
        int rc = run_read(r, step, &q, &got);
        for (int i = 0; i < 4; i++)
            kvg_buf_free(&argv[i]);
        if (rc < 0) {
            kvg_buf_free(&owned);
            return -1;
        }
        if (rc == 1) {
            refused = 1;
            kvg_reply_free(&got);
            break;
        }
        if (got.type != KVG_ARRAY || got.n % 2 != 0) {
            char *gs = run_text_reply(&got);
            if (r->damage_allow != -2 && got.type == KVG_ERROR) {
                refused = 1;
            } else {
                run_fail(r, step, "RANGE must answer an array of keys and values; the engine "
                         "answered %s", gs);
            }
            free(gs);
            kvg_reply_free(&got);
            kvg_buf_free(&owned);
            return r->res->failed ? -1 : refused;
        }
        for (size_t i = 0; i < got.n; i += 2) {
            if (got.elem[i].type != KVG_BULK || got.elem[i + 1].type != KVG_BULK) {
                run_fail(r, step, "RANGE answered an array whose elements are not all bulk strings");
                break;
            }
            kvg_buf k = got.elem[i].str;
            if (kvg_buf_cmp(k, start) < 0 || (R->n > 0 && kvg_buf_cmp(k, R->keys[R->n - 1]) <= 0)) {
                char *ks = run_text_reply(&got.elem[i]);
                run_fail(r, step, "RANGE returned key %s out of order (or below its start)", ks);
                free(ks);
                break;
            }
            kvg_map_put(R, k, got.elem[i + 1].str);
        }
        size_t pairs = got.n / 2;
        if (!r->res->failed && pairs > 0) {
            kvg_buf_free(&owned);
            kvg_buf last = got.elem[got.n - 2].str;
            owned.n = last.n + 1;
            owned.p = kvg_alloc(owned.n + 1);
            memcpy(owned.p, last.p, last.n);
            owned.p[last.n] = 0; /* the next page starts just after the last key */
            start = owned;
        }
        kvg_reply_free(&got);
        if (r->res->failed) {
            kvg_buf_free(&owned);
            return -1;
        }
        if (pairs < RUN_RANGE_PAGE)
            break;
    }
    kvg_buf_free(&owned);
    const kvg_map *keys = kvg_model_keys(&r->m);
    size_t n = keys->n < RUN_MAX_GETS ? keys->n : RUN_MAX_GETS;
    for (size_t i = 0; i <= n; i++) {
        kvg_buf key = i < n ? keys->keys[i] : (kvg_buf){(unsigned char *)"kvgrade-never-written", 21};
        if (key.n == 0 && r->m.empty_key != 1)
            continue;
        kvg_buf argv[2] = {kvg_buf_str("GET"), key};
        kvg_req q = {2, argv};
        kvg_reply got;
        int rc = run_read(r, step, &q, &got);
        kvg_buf_free(&argv[0]);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            refused = 1;
        } else if (got.type == KVG_BULK) {
            kvg_map_put(G, key, got.str);
        } else if (got.type == KVG_NIL) {
            kvg_map_put(G_nil, key, (kvg_buf){NULL, 0});
        } else {
            char *gs = run_text_reply(&got);
            run_fail(r, step, "GET must answer a bulk string or nil; the engine answered %s", gs);
            free(gs);
            kvg_reply_free(&got);
            return -1;
        }
        kvg_reply_free(&got);
    }
    return refused;
}

/* GET and RANGE must agree (a GET of a key RANGE did not list is nil). */
static int run_reads_agree(run *r, long step, const kvg_map *R, const kvg_map *G,
                           const kvg_map *G_nil)
{
    for (size_t i = 0; i < G->n; i++) {
        long j = kvg_map_find(R, G->keys[i], NULL);
        if (j < 0 || !kvg_buf_eq(R->vals[j], G->vals[i])) {
            char *ks = NULL;
            size_t kn;
            FILE *f = open_memstream(&ks, &kn);
            kvg_print_bytes(f, G->keys[i].p, G->keys[i].n, 40);
            fclose(f);
            run_fail(r, step, "GET %s and RANGE disagree: GET found a value that RANGE %s", ks,
                     j < 0 ? "did not list" : "listed differently");
            free(ks);
            return 0;
        }
    }
    for (size_t i = 0; i < G_nil->n; i++) {
        if (kvg_map_find(R, G_nil->keys[i], NULL) >= 0) {
            char *ks = NULL;
            size_t kn;
            FILE *f = open_memstream(&ks, &kn);
            kvg_print_bytes(f, G_nil->keys[i].p, G_nil->keys[i].n, 40);
            fclose(f);
            run_fail(r, step, "GET %s and RANGE disagree: RANGE lists the key, GET says nil", ks);
            free(ks);
            return 0;
        }
    }
    return 1;
}

/* After damage: the reads must show the final state or one the torn
 * tail allows (or be refused). */
static void run_verify_damaged(run *r, long step, const kvg_map *R, const kvg_map *G,
                               const kvg_map *G_nil, int refused)
{
    size_t hi = r->m.n;
    long long lo = r->damage_allow < 0 ? (long long)hi : r->damage_allow;
    int matched_any = 0;
    long found = -1;
    kvg_map S = {0};
    for (long long q = (long long)hi; q >= lo; q--) {
        kvg_model_state_at(&r->m, (size_t)q, &S);
        int ok = 1;
        if (!refused && !kvg_map_eq(&S, R))
            ok = 0;
        for (size_t i = 0; ok && i < G->n; i++) {
            long j = kvg_map_find(&S, G->keys[i], NULL);
            ok = j >= 0 && kvg_buf_eq(S.vals[j], G->vals[i]);
        }
        for (size_t i = 0; ok && i < G_nil->n; i++)
            ok = kvg_map_find(&S, G_nil->keys[i], NULL) < 0;
        /* A refused RANGE leaves R partial: only its pairs must be right. */
        for (size_t i = 0; ok && refused && i < R->n; i++) {
            long j = kvg_map_find(&S, R->keys[i], NULL);
            ok = j >= 0 && kvg_buf_eq(S.vals[j], R->vals[i]);
        }
        if (ok) {
            matched_any = 1;
            found = (long)q;
            break;
        }
    }
    if (!matched_any) {
        kvg_map E = {0};
        kvg_model_state_at(&r->m, hi, &E);
        /* Describe against the final state, key by key. */
        kvg_map seen = {0};
        kvg_map_copy(&seen, R);
        for (size_t i = 0; i < G->n; i++)
            kvg_map_put(&seen, G->keys[i], G->vals[i]);
        char *first = NULL;
        for (size_t i = 0; i < E.n && first == NULL; i++) {
            long j = kvg_map_find(&seen, E.keys[i], NULL);
            int nil = kvg_map_find(G_nil, E.keys[i], NULL) >= 0;
            if ((j >= 0 && !kvg_buf_eq(seen.vals[j], E.vals[i])) || (j < 0 && nil)) {
                char *ks = NULL, *ws = NULL, *gs = NULL;
                size_t n;
                FILE *f = open_memstream(&ks, &n);
                kvg_print_bytes(f, E.keys[i].p, E.keys[i].n, 40);
                fclose(f);
                f = open_memstream(&ws, &n);
                kvg_print_bytes(f, E.vals[i].p, E.vals[i].n, 40);
                fclose(f);
                f = open_memstream(&gs, &n);
                if (j >= 0)
                    kvg_print_bytes(f, seen.vals[j].p, seen.vals[j].n, 40);
                else
                    fputs("(nil)", f);
                fclose(f);
                char dg[160];
                kvg_model_describe_value(&r->m, E.keys[i], j >= 0 ? &seen.vals[j] : NULL, dg, sizeof dg);
                first = kvg_printf("key %s: read %s (%s) where it holds %s: %s", ks, gs, dg, ws,
                                   j >= 0 ? "a wrong value" : "the key was lost");
                free(ks);
                free(ws);
                free(gs);
            }
        }
        for (size_t i = 0; i < seen.n && first == NULL; i++) {
            if (kvg_map_find(&E, seen.keys[i], NULL) >= 0)
                continue;
            char *ks = NULL, *gs = NULL;
            size_t n;
            FILE *f = open_memstream(&ks, &n);
            kvg_print_bytes(f, seen.keys[i].p, seen.keys[i].n, 40);
            fclose(f);
            f = open_memstream(&gs, &n);
            kvg_print_bytes(f, seen.vals[i].p, seen.vals[i].n, 40);
            fclose(f);
            char dg[160];
            kvg_model_describe_value(&r->m, seen.keys[i], &seen.vals[i], dg, sizeof dg);
            first = kvg_printf("key %s: read %s (%s) where the key %s", ks, gs, dg,
                               kvg_map_find(kvg_model_keys(&r->m), seen.keys[i], NULL) >= 0
                                   ? "was deleted: a resurrected delete"
                                   : "was never written: an invented key");
            free(ks);
            free(gs);
        }
        run_fail(r, step, "after the damage the engine served data that is neither the "
                 "database's (%s) nor a refusal%s: %s",
                 lo < (long long)hi ? "nor a state a torn last write may leave" : "no torn tail here",
                 refused ? " (some reads were refused, others were wrong)" : "",
                 first != NULL ? first : "the reads disagree with each other");
        free(first);
        kvg_map_free(&seen);
        kvg_map_free(&E);
    } else {
        r->res->damage = refused ? KVG_DAMAGE_REFUSED
                         : found == (long)hi ? KVG_DAMAGE_INTACT : KVG_DAMAGE_PREFIX;
    }
    kvg_map_free(&S);
}

/* The oldest acknowledged write the state R lacks, kept in the result
 * (for saying why it was lost). */
static void run_note_lost(run *r, const kvg_map *R)
{
    size_t lo = r->m.acked > r->m.durable ? r->m.acked : r->m.durable, w, pair;
    if (!kvg_model_lost_write(&r->m, R, lo, &w, &pair))
        return;
    const kvg_pair *p = &r->m.w[w].pairs[pair];
    r->res->lost = (long)w;
    r->res->lost_step = r->m.w[w].step;
    r->res->lost_key = kvg_buf_dup(p->key);
    r->res->lost_val = kvg_buf_dup(p->val);
    r->res->lost_del = p->del;
}

static void run_verify(run *r, size_t i)
{
    kvg_step *st = &r->steps->s[i];
    if (!r->running || r->dead) {
        st->ran = 2;
        return;
    }
    if (run_wait(r, 0) != 0)
        return;
    st->ran = 1;
    kvg_map R = {0}, G = {0}, G_nil = {0};
    int rc = run_read_all(r, (long)i, &R, &G, &G_nil);
    if (rc < 0) {
        if (r->dead && !r->res->failed)
            run_note(st, "interrupted: the file system froze the engine during its recovery");
        else if (r->res->damage == KVG_DAMAGE_REFUSED && !r->res->failed)
            run_note(st, "the engine refused the damaged database (it exited with an error)");
        goto out;
    }
    if (r->damage_allow != -2) {
        if (rc == 0 && !run_reads_agree(r, (long)i, &R, &G, &G_nil))
            goto out;
        run_verify_damaged(r, (long)i, &R, &G, &G_nil, rc == 1);
        run_note(st, "%s", r->res->failed ? "wrong data after the damage"
                           : r->res->damage == KVG_DAMAGE_REFUSED ? "refused (an error reply)"
                           : r->res->damage == KVG_DAMAGE_INTACT ? "every key intact"
                                                                 : "a torn last write dropped (allowed)");
        goto out;
    }
    if (rc == 1) {
        run_fail(r, (long)i, "a read was answered with an error");
        goto out;
    }
    if (!run_reads_agree(r, (long)i, &R, &G, &G_nil))
        goto out;
    if (r->crash == 0) {
        if (!kvg_map_eq(&R, &r->m.cur)) {
            size_t p;
            char *why = NULL;
            /* Describe it as a crash check from the full history would. */
            if (!kvg_model_match_prefix(&r->m, &R, r->m.n, &p, &why))
                run_fail(r, (long)i, "the engine's data is not what was written: %s", why);
            free(why);
        }
        run_note(st, "%zu keys, as written", R.n);
        goto out;
    }
    kvg_crash_point cp = {r->m.n, r->m.acked, (size_t)-1, r->crash == 2,
                          r->res->nrestarts > 0 ? r->res->restarts[r->res->nrestarts - 1] : 0};
    char *why = NULL;
    size_t p = 0;
    int ok;
    const char *rule;
    if (r->crash == 2 && !r->cfg->sync) {
        rule = "durability none, power cut: every key holds a value once written to it";
        ok = kvg_model_check_invented(&r->m, &R, &why);
        size_t q;
        char *ignored = NULL;
        if (ok && kvg_model_match_prefix(&r->m, &R, 0, &q, &ignored))
            cp.kept = q;
        free(ignored);
    } else {
        size_t lo = r->cfg->sync ? (r->m.acked > r->m.durable ? r->m.acked : r->m.durable) : r->m.durable;
        rule = r->cfg->sync ? "durability sync: a prefix of the writes keeping every acknowledged one"
                            : "durability none, process kill: a prefix of the writes keeping every one "
                              "acknowledged before the last clean stop";
        ok = kvg_model_match_prefix(&r->m, &R, lo, &p, &why);
        if (ok)
            cp.kept = p;
    }
    r->res->crashes = kvg_realloc(r->res->crashes, (r->res->ncrashes + 1) * sizeof *r->res->crashes);
    r->res->crashes[r->res->ncrashes++] = cp;
    if (!ok && r->cfg->sync && !r->res->failed)
        run_note_lost(r, &R);
    if (!ok) {
        run_fail(r, (long)i, "after the %s (%s): %s", r->crash == 2 ? "power cut" : "kill", rule, why);
    } else {
        if (cp.kept != (size_t)-1)
            run_note(st, "after the %s: %zu keys; kept %zu of the %zu writes sent (%zu acknowledged)",
                     r->crash == 2 ? "power cut" : "kill", R.n, cp.kept, cp.sent, cp.acked);
        else
            run_note(st, "after the power cut: %zu keys, each holding a value once written to it",
                     R.n);
        kvg_model_rebase(&r->m, &R);
        r->crash = 0;
    }
    free(why);
out:
    kvg_map_free(&R);
    kvg_map_free(&G);
    kvg_map_free(&G_nil);
}

/* ---- damage -------------------------------------------------------------- */

static void run_damage(run *r, size_t i)
{
    kvg_step *st = &r->steps->s[i];
    st->ran = 1;
    if (r->running) {
        run_fail(r, (long)i, "damage while the engine runs (the steps are wrong)");
        return;
    }
    char *path = kvg_printf("%s/%s", r->cfg->dir, st->file);
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        run_fail(r, (long)i, "cannot open %s to damage it: %s", path, strerror(errno));
        free(path);
        return;
    }
    int ok;
    if (st->kind == KVG_ST_FLIP) {
        unsigned char b;
        ok = pread(fd, &b, 1, (off_t)st->n) == 1;
        b ^= 0xFF;
        ok = ok && pwrite(fd, &b, 1, (off_t)st->n) == 1;
    } else {
        ok = ftruncate(fd, (off_t)st->n) == 0;
    }
    close(fd);
    if (!ok)
        run_fail(r, (long)i, "cannot damage %s at %llu: %s", path, st->n, strerror(errno));
    free(path);
    if (st->allow < 0 || r->damage_allow == -2 || st->allow < r->damage_allow)
        r->damage_allow = st->allow;
}

/* ---- the loop ------------------------------------------------------------- */

/* An image step whose state this run did not make: said as it is (the
 * engine's syncs fell otherwise this time), not as the engine's failure. */
static void run_image_missing(run *r, size_t i)
{
    const kvg_step *st = &r->steps->s[i];
    kvg_fs *fs = r->cfg->fs;
    if (strncmp(fs->line, "error no image", 14) != 0) {
        run_fail(r, (long)i, "kvgrade-fs: %s", fs->line);
        return;
    }
    char *made;
    char cmd[48];
    snprintf(cmd, sizeof cmd, "torn %llu", st->n);
    if (kvg_fs_cmd(fs, "mark") != 0)
        made = kvg_strdup("it recorded nothing");
    else if (strtoull(fs->line + 3, NULL, 10) < st->n)
        made = kvg_printf("it made %llu durable states (images 0 to %llu), not image %llu",
                          strtoull(fs->line + 3, NULL, 10) + 1, strtoull(fs->line + 3, NULL, 10),
                          st->n);
    else if (kvg_fs_cmd(fs, cmd) == 0 && strncmp(fs->line, "ok none", 7) != 0)
        made = kvg_printf("the sync after image %llu changed other bytes this time (kvgrade-fs: "
                          "%s), which a %s at %llu does not fit", st->n, fs->line + 3,
                          st->tear == 'p' ? "prefix cut" : "lost sector", st->tear_off);
    else
        made = kvg_printf("the sync after image %llu was not a named file's this time, so "
                          "nothing of it can be torn", st->n);
    r->res->unreproduced = 1;
    run_fail(r, (long)i, "these steps cannot be checked as saved: this run did not make the state "
             "step %zu loads (%s); the engine's syncs fell otherwise than when the steps were "
             "found (which requests it gathered into one sync is up to timing): run them again",
             i + 1, made);
    free(made);
}

static void run_start(run *r, size_t i)
{
    kvg_step *st = &r->steps->s[i];
    st->ran = 1;
    if (r->running) {
        run_fail(r, (long)i, "start while the engine runs (the steps are wrong)");
        return;
    }
    if (r->cfg->fs != NULL && r->fs_draining) {
        kvg_fs_cmd(r->cfg->fs, "resume");
        r->fs_draining = 0;
    }
    char *why = NULL;
    int rc = kvg_engine_start(&r->e, r->cfg->engine, r->cfg->dir, run_watch_fd(r), &why);
    if (rc == KVG_WATCHED) {
        /* Over TCP, frozen before it listened (in its recovery). */
        r->running = 1;
        kvg_fs_poll(r->cfg->fs);
        if (r->cfg->fs->frozen) {
            run_kill(r);
            r->dead = 1;
            return;
        }
        run_fail(r, (long)i, "cannot start the engine: kvgrade-fs said '%s'", r->cfg->fs->line);
        return;
    }
    if (rc != KVG_OK && r->e.exited && r->damage_allow != -2 && WIFEXITED(r->e.status) &&
        WEXITSTATUS(r->e.status) != 0) {
        r->res->damage = KVG_DAMAGE_REFUSED; /* over TCP: it refused before it listened */
        free(why);
        kvg_engine_close(&r->e);
        return;
    }
    if (rc != KVG_OK) {
        run_fail(r, (long)i, "cannot start the engine: %s", why);
        free(why);
        r->engine_error = 1;
        return;
    }
    r->running = 1;
    r->dead = 0;
    r->restart_pending = 1;
}

static void run_close(run *r, size_t i)
{
    kvg_step *st = &r->steps->s[i];
    if (!r->running || r->dead) {
        st->ran = 2;
        return;
    }
    if (run_wait(r, 0) != 0)
        return;
    st->ran = 1;
    if (kvg_engine_stop(&r->e) != KVG_OK) {
        run_fail(r, (long)i, "the engine did not exit within %.0f s of the end of its input",
                 r->cfg->engine->timeout);
        r->running = 0;
        kvg_engine_close(&r->e);
        return;
    }
    r->running = 0;
    int status = r->e.status;
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        if (r->damage_allow != -2 && WIFEXITED(status)) {
            r->res->damage = KVG_DAMAGE_REFUSED;
        } else {
            char *how = run_exit_text(r);
            run_fail(r, (long)i, "at the end of its input the engine must close the database and "
                     "exit with status 0; it ended with %s", how);
            free(how);
        }
    } else {
        r->m.durable = r->m.n;
    }
    kvg_engine_close(&r->e);
}

int kvg_run(const kvg_session *cfg, kvg_steps *steps, kvg_result *res)
{
    memset(res, 0, sizeof *res);
    res->step = -1;
    res->lost = res->lost_step = -1;
    run r;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    r.steps = steps;
    r.res = res;
    r.damage_allow = -2;
    r.e.pid = 0;
    r.e.to = r.e.from = r.e.stdin_fd = -1;
    kvg_model_init(&r.m, !cfg->sync);
    size_t window = cfg->window > 0 ? (size_t)cfg->window : 1;
    if (cfg->fs != NULL) {
        kvg_fs_cmd(cfg->fs, "resume"); /* no freeze left armed by an earlier run */
        cfg->fs->frozen = 0;
        if (cfg->record && kvg_fs_cmd(cfg->fs, "record") != 0)
            run_fail(&r, -1, "kvgrade-fs cannot record: %s", cfg->fs->line);
    }
    kvg_steps_clear_results(steps);
    for (size_t i = 0; i < steps->n && !res->failed; i++) {
        kvg_step *st = &steps->s[i];
        if (i < cfg->model_only_until) {
            if (st->kind == KVG_ST_SEND || st->kind == KVG_ST_PIPE) {
                kvg_reply want;
                size_t first, count;
                kvg_model_expect(&r.m, &st->req, &want, &first, &count, (long)i);
                kvg_reply_free(&want);
                r.m.acked = r.m.n;
            } else if (st->kind == KVG_ST_CLOSE) {
                r.m.durable = r.m.n;
            }
            continue;
        }
        if (r.batch_left > 0 && st->kind != KVG_ST_PIPE)
            run_flush(&r, i, window); /* a batch cut short: what it has */
        switch (st->kind) {
        case KVG_ST_BATCH:
            st->ran = 1;
            r.batch_len = 0;
            r.batch_left = (size_t)st->n;
            break;
        case KVG_ST_START:
            run_start(&r, i);
            break;
        case KVG_ST_SEND:
            if (run_send(&r, i, 0) == 0 && r.running)
                run_wait(&r, 0);
            break;
        case KVG_ST_PIPE:
            run_send(&r, i, window);
            break;
        case KVG_ST_WAIT:
            st->ran = 1;
            if (r.running && !r.dead)
                run_wait(&r, (size_t)st->n);
            break;
        case KVG_ST_CLOSE:
            run_close(&r, i);
            break;
        case KVG_ST_KILL:
            st->ran = r.running ? 1 : 2;
            r.unanswered = 0;
            run_kill(&r);
            st->unanswered = r.unanswered;
            break;
        case KVG_ST_ARM: {
            st->ran = 1;
            if (cfg->fs == NULL) {
                run_fail(&r, (long)i, "these steps need the power-cut file system (arm)");
                break;
            }
            if (r.fs_draining) {
                kvg_fs_cmd(cfg->fs, "resume");
                r.fs_draining = 0;
            }
            char cmd[64];
            snprintf(cmd, sizeof cmd, "freeze-at %llu", st->n);
            if (kvg_fs_cmd(cfg->fs, cmd) != 0)
                run_fail(&r, (long)i, "kvgrade-fs: %s", cfg->fs->line);
            break;
        }
        case KVG_ST_CUT:
            st->ran = 1;
            if (cfg->fs == NULL) {
                run_fail(&r, (long)i, "these steps need the power-cut file system (cut)");
                break;
            }
            run_kill(&r);
            if (kvg_fs_cmd(cfg->fs, "cut") != 0)
                run_fail(&r, (long)i, "kvgrade-fs: %s", cfg->fs->line);
            r.fs_draining = 0;
            r.crash = 2;
            break;
        case KVG_ST_IMAGE: {
            st->ran = 1;
            if (cfg->fs == NULL) {
                run_fail(&r, (long)i, "these steps need the power-cut file system (image)");
                break;
            }
            run_kill(&r);
            char cmd[96];
            if (st->tear != 0)
                snprintf(cmd, sizeof cmd, "image %llu %s %llu", st->n,
                         st->tear == 'p' ? "prefix" : "zero", st->tear_off);
            else
                snprintf(cmd, sizeof cmd, "image %llu", st->n);
            if (kvg_fs_cmd(cfg->fs, cmd) != 0)
                run_image_missing(&r, i);
            r.fs_draining = 0;
            r.crash = 2;
            if (st->allow >= 0 && (size_t)st->allow < r.m.acked)
                r.m.acked = (size_t)st->allow;
            break;
        }
        case KVG_ST_VERIFY:
            run_verify(&r, i);
            break;
        case KVG_ST_FLIP:
        case KVG_ST_TRUNCATE:
            run_damage(&r, i);
            break;
        }
    }
    if (r.running && !res->failed)
        run_close(&r, steps->n > 0 ? steps->n - 1 : 0);
    if (r.e.pid > 0 || r.e.to >= 0 || r.e.from >= 0 || r.e.in != NULL) {
        kvg_engine_kill(&r.e);
        if (cfg->fs != NULL && r.e.pid > 0)
            kvg_fs_cmd(cfg->fs, "drop");
        kvg_engine_close(&r.e);
        if (cfg->fs != NULL)
            r.fs_draining = 1;
    }
    if (cfg->fs != NULL) {
        kvg_fs_cmd(cfg->fs, "resume");
        cfg->fs->frozen = 0;
    }
    for (size_t i = r.qhead; i < r.nq; i++)
        kvg_reply_free(&r.q[i].want);
    free(r.q);
    free(r.batch);
    kvg_model_free(&r.m);
    return res->failed;
}

void kvg_result_free(kvg_result *res)
{
    free(res->what);
    free(res->crashes);
    free(res->restarts);
    kvg_buf_free(&res->lost_key);
    kvg_buf_free(&res->lost_val);
    memset(res, 0, sizeof *res);
}
