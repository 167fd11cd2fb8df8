/*
 * serve_member_none.c: what kv serve is without a Raft group, as every
 * stage before 10 builds it (serve_member.h).  Weak definitions: stage
 * 10's kv links its own (stages/10-raft/member/), which the linker takes
 * instead.
 */
#include <stdio.h>

#include "serve_member.h"

__attribute__((weak)) int serve_member_supported(void)
{
    return 0;
}

__attribute__((weak)) int serve_member_start(server *s)
{
    fprintf(stderr, "kv serve: --raft-id: stage %s's kv is no member of a Raft group "
            "(stage 10 on)\n", kv_stage());
    (void)s;
    return -1;
}

__attribute__((weak)) void serve_member_stop(server *s)
{
    (void)s;
}

__attribute__((weak)) int serve_member_fd(const server *s)
{
    (void)s;
    return -1;
}

__attribute__((weak)) int serve_member_timeout(const server *s)
{
    (void)s;
    return -1;
}

__attribute__((weak)) void serve_member_run(server *s)
{
    (void)s;
}

__attribute__((weak)) int serve_member_gate(server *s, serve_client *c, const serve_cmd *cmd,
                                            const serve_req *r)
{
    (void)s, (void)c, (void)cmd, (void)r;
    return SERVE_MEMBER_GO;
}

__attribute__((weak)) void serve_member_propose(server *s, struct commit_batch *b)
{
    (void)s, (void)b;
}

__attribute__((weak)) void serve_member_cluster_cmd(server *s, serve_client *c,
                                                    const serve_req *r)
{
    (void)s, (void)r;
    out_error(&c->out, "ERR This instance has cluster support disabled");
}
