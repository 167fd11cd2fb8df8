/*
 * serve_keys.c: KEYS pattern: every key that matches, in one reply.
 *
 * Redis answers KEYS in one go, and its manual warns that it blocks the
 * server meanwhile.  Here it is SCAN's walk (serve_scan_step) run to the
 * end over as many loop passes as it takes: each pass examines at most
 * SERVE_WALK_KEYS keys and SERVE_WALK_WORK steps of matching, then lets
 * the other clients run.  The reply is built aside and sent when the walk
 * ends, so its keys are those of one iterator: a snapshot of the database
 * at the KEYS.
 *
 * How it goes on: the first run of the request starts the walk
 * (c->keys) and, unless it ends at once, leaves the request unconsumed;
 * the loop sees c->keys set and runs the same request again in its next
 * pass (serve_loop.c), which continues the walk.  Until the reply is
 * sent, the client's later requests wait, so its replies stay in order.
 * A reply over SERVE_MAX_REPLY bytes is an error, as for MGET.
 */
#include <stdlib.h>

#include "server.h"

struct serve_keys {
    kv_iter *it;         /* the walk: a snapshot, from the first key */
    glob_pattern *g;     /* NULL: every key */
    glob_state st;
    int mid;             /* the current key is half matched (st) */
    serve_out reply;     /* the keys so far, as bulk strings */
    size_t nkeys;
};

void serve_keys_free(serve_client *c)
{
    struct serve_keys *k = c->keys;
    if (k == NULL)
        return;
    kv_iter_free(k->it);
    glob_free(k->g);
    out_free(&k->reply);
    free(k);
    c->keys = NULL;
}

/* Starts the walk; 0, or -1 after answering the error. */
static int keys_start(server *s, serve_client *c, const serve_req *r)
{
    struct serve_keys *k = calloc(1, sizeof *k);
    if (k == NULL) {
        out_error(&c->out, "ERR out of memory");
        return -1;
    }
    if (serve_glob_compile(c, req_ptr(r, 1), req_len(r, 1), &k->g) != 0) {
        free(k);
        return -1;
    }
    int rc = kv_iter_new(s->db, &k->it);
    if (rc != KV_OK) {
        out_error(&c->out, "ERR %s: %s", kv_strerror(rc), kv_errmsg());
        glob_free(k->g);
        free(k);
        return -1;
    }
    kv_iter_seek_first(k->it);
    c->keys = k;
    return 0;
}

void serve_keys_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    if (c->keys == NULL && keys_start(s, c, r) != 0)
        return;
    struct serve_keys *k = c->keys;
    int rc = serve_scan_step(s, k->it, k->g, &k->st, &k->mid, SERVE_WALK_KEYS,
                             (size_t)SERVE_MAX_REPLY + 1, SERVE_WALK_WORK, &k->reply, &k->nkeys);
    if (rc != KV_OK) {
        out_error(&c->out, "ERR %s: %s", kv_strerror(rc), kv_errmsg());
    } else if (k->reply.failed) {
        out_error(&c->out, "ERR out of memory");
    } else if (k->reply.len > SERVE_MAX_REPLY) {
        out_error(&c->out, "ERR reply larger than %u bytes", SERVE_MAX_REPLY);
    } else if (kv_iter_valid(k->it)) {
        return; /* more next pass */
    } else {
        out_array(&c->out, k->nkeys);
        out_bytes(&c->out, k->reply.buf, k->reply.len);
    }
    serve_keys_free(c);
}
