/*
 * kvg_run.c: running steps against the engine, checking every reply
 * (kvg_run.h says what each step does and which rule each check applies).
 *
 * The loop keeps the engine, the model, the replies still outstanding
 * (with what each must be), and what is pending: a crash not yet
 * verified, damage not yet read back.  Writes enter the model when they
 * are sent (the engine answers in order, so a read sent after them must
 * see them); a write's reply makes it acknowledged.  A verify step is
 * kvg_verify.c's; what both do with the engine (read and judge its
 * replies, kill it, find it gone or frozen, record a failure) is
 * kvg_run_engine.c's; the state the three share is kvg_run_int.h's.
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

/* What a send of step i returned (rc): 0 if the engine has the bytes,
 * -1 if it was frozen and killed (r->dead) or is gone. */
static int run_sent(run *r, size_t i, int rc)
{
    if (rc == KVG_WATCHED) {
        if (run_frozen(r))
            return -1;
    } else if (rc != KVG_OK) {
        /* Look for replies (and its exit) before blaming the send. */
        if (run_wait(r, 0) == 0)
            run_engine_gone(r, (long)i, "reading its input");
        return -1;
    }
    return 0;
}

/* Sends the gathered batch (step i its last) in one write: 0, or -1 as
 * run_wait. */
static int run_flush(run *r, size_t i, size_t window)
{
    size_t len = r->batch_len;
    r->batch_len = r->batch_left = 0;
    if (r->dead || !r->running || len == 0)
        return 0;
    if (run_sent(r, i, kvg_engine_send_bytes(&r->e, r->batch, len, run_watch_fd(r))) != 0)
        return -1;
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
    if (run_sent(r, i, kvg_engine_send(&r->e, &st->req, run_watch_fd(r))) != 0) {
        if (r->dead)
            st->ran = 2;
        return -1;
    }
    int cls = run_expect(r, i);
    /* The empty key's fate is learnt from this reply: wait for it. */
    return run_wait(r, cls == KVG_Q_EMPTYKEY ? 0 : window);
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
        if (run_frozen(r))
            return;
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
    if (run_step_ready(r, i) != 0)
        return;
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
    free(r.refusal);
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
