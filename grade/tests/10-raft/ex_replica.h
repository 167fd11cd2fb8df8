/*
 * ex_replica.h: what stage 10's exercise tests read back from a replica's
 * engine (ex_replica.c).  Touches no exercise function: replica_db and
 * kv_get only.
 */
#ifndef KV_EX_REPLICA_H
#define KV_EX_REPLICA_H

#include "replica.h"

/* The value of key in r's live engine, or "-" if it is absent, in a
 * static buffer (up to 255 bytes). */
const char *ex_replica_value(replica *r, const char *key);
/* Fails the test, saying `rule`, unless key holds want ("-": absent). */
void ex_replica_expect(replica *r, const char *key, const char *want, const char *rule);

#endif
