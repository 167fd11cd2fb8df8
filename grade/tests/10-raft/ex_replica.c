/*
 * ex_replica.c: a replica's engine read back by stage 10's exercise tests
 * (ex_replica.h).
 */
#include <stdio.h>
#include <string.h>

#include "ex_replica.h"
#include "exercise.h"
#include "kv.h"

const char *ex_replica_value(replica *r, const char *key)
{
    static char buf[256];
    void *v = NULL;
    size_t n = 0;
    int rc = kv_get(replica_db(r), key, strlen(key), &v, &n);
    if (rc == KV_NOT_FOUND)
        return "-";
    EX_CHECK(rc == KV_OK, "kv_get(%s): %s", key, kv_errmsg());
    snprintf(buf, sizeof buf, "%.*s", (int)n, (const char *)v);
    kv_free(v);
    return buf;
}

void ex_replica_expect(replica *r, const char *key, const char *want, const char *rule)
{
    const char *got = ex_replica_value(r, key);
    EX_CHECK(strcmp(got, want) == 0, "%s: %s is %s (got %s)", rule, key,
             strcmp(want, "-") == 0 ? "absent" : want, strcmp(got, "-") == 0 ? "absent" : got);
}
