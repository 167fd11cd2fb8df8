/*
 * group_tools.h: stage 10's own commands of the kv tool (kv_ext.h), as
 * raft_kv_main.c lists them:
 *   kv DIR cluster ...        a group of members on this host (group_cluster.c)
 *   kv DIR certs ...          a group's credentials (group_certs.c)
 *   kv HOST:PORT member ...   a membership change asked of a running group
 *                             (group_member_cli.c)
 * Each returns the process's exit status: 0 done, 1 the group refused
 * (or a member exited), 2 a usage or start-up error.
 */
#ifndef KV_RAFT_GROUP_TOOLS_H
#define KV_RAFT_GROUP_TOOLS_H

int group_cluster_main(const char *dir, int nargs, char **args);
int group_certs_main(const char *dir, int nargs, char **args);
int group_member_cli_main(const char *addr, int nargs, char **args);

#endif
