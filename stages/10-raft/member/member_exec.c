/*
 * member_exec.c: a client's transaction (WATCH, MULTI, EXEC) as one
 * command of the group's log (member.h).
 *
 * Without Raft, EXEC runs its queue in a kv_txn and the engine finds the
 * conflicts (tools/serve/serve_txn.c).  Under Raft the check must happen
 * where every member can make it the same way: when the command applies,
 * in log order.  So the leader turns the EXEC into a command whose
 * conditions are what the client's WATCH saw, each watched key (and each
 * key read after the WATCH) with the value it held in the WATCH's kv_txn
 * or its absence, and whose writes are the queue's.  Applied, every
 * member checks the conditions against its engine (replica.h): all hold,
 * the writes go in; one does not, nothing does, and EXEC answers *-1.
 *
 * What "changed" means is then a comparison of values, as on stages
 * 01-06 without Raft (serve_watch.c): a watched key written back to the
 * value the WATCH saw does not count.  The WATCH itself waits for a read
 * index on the leader (member_write.c), so the values it sees are no
 * older than the WATCH.
 *
 * The queue may hold SET (without options), MSET and DEL: their replies
 * (+OK, and a DEL's count of the keys that existed) come from applying
 * them.  A read queued inside MULTI would be answered from the engine
 * when the command applies, which the leader does but its callback
 * cannot reach in order; on a member such an EXEC fails, saying to read
 * after WATCH and before MULTI instead (as a check-and-set client does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "member.h"
#include "serve_queue.h"

/* The kind of queued command i: 's' SET, 'm' MSET, 'd' DEL, or 0. */
static int exec_kind(const struct serve_multi *mu, size_t i)
{
    const char *name = mu->cmds[i].cmd->name;
    if (strcmp(name, "set") == 0 && mu->cmds[i].argc == 3)
        return 's';
    if (strcmp(name, "mset") == 0 && mu->cmds[i].argc % 2 == 1)
        return 'm';
    if (strcmp(name, "del") == 0)
        return 'd';
    return 0;
}

static int exec_fail(struct serve_multi *mu, int rc, const char *what)
{
    mu->status = rc;
    snprintf(mu->err, sizeof mu->err, "%s", what);
    return rc;
}

int member_exec_command(struct serve_multi *mu, command *cmd)
{
    char what[sizeof mu->err];
    /* The conditions: each watched key as the WATCH's kv_txn sees it. */
    for (size_t i = 0; mu->txn != NULL && mu->watched != NULL && i < mu->watched->n; i++) {
        const char *key = mu->watched->bytes + mu->watched->keys[i].off;
        size_t klen = mu->watched->keys[i].len;
        void *val = NULL;
        size_t vlen = 0;
        int rc = kv_txn_get(mu->txn, key, klen, &val, &vlen);
        if (rc == KV_OK)
            rc = command_if_value(cmd, key, klen, val, vlen);
        else if (rc == KV_NOT_FOUND)
            rc = command_if_absent(cmd, key, klen);
        free(val);
        if (rc != KV_OK) {
            snprintf(what, sizeof what, "%s: %s (reading watched key %zu of the transaction; "
                     "nothing of it was applied)", kv_strerror(rc), kv_errmsg(), i + 1);
            return exec_fail(mu, rc, what);
        }
    }
    /* The writes: the queue's, in order. */
    for (size_t i = 0; i < mu->ncmds; i++) {
        serve_req r = multi_req(mu, i);
        int kind = exec_kind(mu, i), rc = KV_OK;
        if (kind == 0) {
            snprintf(what, sizeof what, "'%s' (command %zu) inside MULTI: a member of a Raft "
                     "group replicates a transaction of SET, MSET and DEL only; read after "
                     "WATCH, before MULTI; nothing of it was applied", mu->cmds[i].cmd->name,
                     i + 1);
            return exec_fail(mu, KV_ERR_INVALID, what);
        }
        for (size_t a = 1; a < r.argc && rc == KV_OK; a += kind == 'd' ? 1 : 2)
            rc = kind == 'd' ? command_delete(cmd, req_ptr(&r, a), req_len(&r, a))
                             : command_put(cmd, req_ptr(&r, a), req_len(&r, a),
                                           req_ptr(&r, a + 1), req_len(&r, a + 1));
        if (rc != KV_OK) {
            snprintf(what, sizeof what, "%s: %s (in '%s', command %zu of the transaction; "
                     "nothing of it was applied)", kv_strerror(rc), kv_errmsg(),
                     mu->cmds[i].cmd->name, i + 1);
            return exec_fail(mu, rc, what);
        }
    }
    return KV_OK;
}

void member_exec_answer(struct serve_multi *mu, int outcome, const uint8_t *existed,
                        size_t nexisted)
{
    if (outcome == REPLICA_REFUSED) { /* a watched key changed: *-1 */
        mu->status = KV_ERR_CONFLICT;
        return;
    }
    if (outcome != REPLICA_APPLIED) {
        exec_fail(mu, KV_ERR_INVALID, "the group applied the transaction as nothing");
        return;
    }
    size_t w = 0;
    for (size_t i = 0; i < mu->ncmds; i++) {
        serve_req r = multi_req(mu, i);
        if (exec_kind(mu, i) != 'd') {
            out_simple(&mu->reply, "OK");
            w += (r.argc - 1) / 2;
            continue;
        }
        long long count = 0;
        for (size_t a = 1; a < r.argc; a++, w++)
            count += w < nexisted && existed[w];
        out_int(&mu->reply, count);
    }
    if (mu->reply.failed)
        exec_fail(mu, KV_ERR_NOMEM, "out of memory for the replies of the transaction; it "
                  "was applied");
}
