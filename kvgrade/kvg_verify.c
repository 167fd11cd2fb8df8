/*
 * kvg_verify.c: a verify step (kvg_run.h): every pair read back through
 * RANGE, page by page, and every key ever written through GET; the two
 * must agree, and the state they show must be the model's, or after a
 * crash one the crash rule of the durability claimed allows, or after
 * damage a refusal, the final state, or one a torn tail allows.  When an
 * acknowledged write is missing after a crash, the oldest one is kept in
 * the result, for saying why it was lost (kvg_cause.c).
 */
#include <stdlib.h>
#include <string.h>

#include "kvg_run_int.h"

#define RUN_RANGE_PAGE 1000
#define RUN_MAX_GETS   4000

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
            if (got->type == KVG_ERROR && r->refusal == NULL)
                r->refusal = run_text_reply(got);
            return got->type == KVG_ERROR ? 1 : 0;
        }
        if (rc == KVG_BADREPLY) {
            run_fail(r, step, "the reply is not RESP2: %s", why);
            return -1;
        }
    }
    if (rc == KVG_WATCHED) {
        if (run_frozen(r))
            return -1;
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

void run_verify(run *r, size_t i)
{
    kvg_step *st = &r->steps->s[i];
    if (run_step_ready(r, i) != 0)
        return;
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
        r->res->refused = !r->res->failed; /* it refuses to serve what it holds */
        run_fail(r, (long)i, "a read was answered with an error: %s",
                 r->refusal != NULL ? r->refusal : "?");
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
