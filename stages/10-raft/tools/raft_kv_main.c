/*
 * raft_kv_main.c: stage 10's kv command: the kv tool (tools/kv.c) with
 * what stage 10 adds to it (kv_ext.h): `kv serve` as a member of a Raft
 * group (member.h), and three commands of its own (group_tools.h).
 */
#include <stddef.h>

#include "group_tools.h"
#include "kv_ext.h"
#include "member.h"

static const kv_ext_cmd raft_cmds[] = {
    {"cluster", group_cluster_main},
    {"certs", group_certs_main},
    {"member", group_member_cli_main},
    {NULL, NULL},
};

static const kv_ext raft_kv = {
    .cmds = raft_cmds,
    .serve = &member_ext,
    .usage = "Stage 10's own: a Raft group of members (docs/10-raft.md):\n"
             "  kv DIR cluster [--members N] [--port P] [--raft-port R] [serve options]\n"
             "                     N members on this host, in DIR/m1..mN, each a kv serve\n"
             "                     (kv DIR cluster --help)\n"
             "  kv DIR serve --raft-id N --raft-peers ... --raft-tls CERTS ...\n"
             "                     a member of a Raft group (kv DIR serve --help)\n"
             "  kv DIR certs --members N | --ids ID,...\n"
             "                     the group's credentials, in DIR\n"
             "  kv HOST:PORT member add ID RAFT-HOST:PORT CLIENT-HOST:PORT | remove ID |\n"
             "                  transfer ID\n"
             "                     a membership change, asked of a member\n",
    .example = "\nAs stage 10 is used: a Raft group, each member a kv serve (docs/10-raft.md):\n"
               "  kv /tmp/g cluster &                   # 3 members, client ports 6391-6393\n"
               "  redis-cli -c -p 6392 set greeting hi  # -c: follow MOVED to the leader\n"
               "  redis-cli -c -p 6393 get greeting     # prints: hi\n"
               "  kv DIR serve --raft-id N ...          # one member (kv DIR serve --help)\n",
};

int main(int argc, char **argv)
{
    return kv_main(argc, argv, &raft_kv);
}
