/*
 * kv_cmd_data.c: the kv commands that read and write keys: put, get, del,
 * batch and scan, each one or two calls of include/kv.h.
 *
 * get --cost KEY adds, after the value (or the "not found"), what the
 * lookup cost, as kv_cost_get reads it (kv.h): one "cost.NAME: N" line
 * per count, on standard output, whether the key was found or not.
 *
 * batch takes operations as words, `batch put a 1 put b 2 del c`, gathers
 * them in one kv_batch and applies it with one kv_write: a reader (a scan,
 * or another process after the command returns) sees all of them or none,
 * and from stage 03 on so does recovery after a crash.
 */
#include <stdlib.h>
#include <string.h>

#include "kv_tool.h"

static int cmd_put(tool *t, const text_word *args, int nargs)
{
    (void)nargs;
    unsigned char *key = NULL, *val = NULL;
    size_t klen, vlen;
    int rc = tool_decode(t, args[0], &key, &klen);
    if (rc == EXIT_OK)
        rc = tool_decode(t, args[1], &val, &vlen);
    if (rc == EXIT_OK) {
        int st = kv_put(t->db, key, klen, val, vlen);
        if (st != KV_OK)
            rc = tool_fail_status(st);
    }
    free(key);
    free(val);
    return rc;
}

/* get --cost's lines: the calling thread's kv_cost. */
static void print_cost(void)
{
    kv_cost c;
    kv_cost_get(&c);
    printf("cost.time_us: %.3f\n", (double)c.nanos / 1000.0);
    const struct {
        const char *name;
        unsigned long long n;
    } counts[] = {
        {"memtables", c.memtables},
        {"tables_in_range", c.tables_in_range},
        {"bloom_checks", c.bloom_checks},
        {"bloom_skips", c.bloom_skips},
        {"bloom_false_positives", c.bloom_false_positives},
        {"tables_searched", c.tables_searched},
        {"blocks_read", c.blocks_read},
        {"block_cache_hits", c.block_cache_hits},
        {"block_hash_probes", c.block_hash_probes},
        {"reads", c.reads},
        {"bytes_read", c.bytes_read},
        {"record_cache_hits", c.record_cache_hits},
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        printf("cost.%s: %llu\n", counts[i].name, counts[i].n);
}

static int cmd_get(tool *t, const text_word *args, int nargs)
{
    int cost = nargs == 2;
    if (cost && !text_word_is(args[0], "--cost"))
        return tool_fail("get: unknown option (the one option is --cost, before KEY)");
    unsigned char *key;
    size_t klen;
    if (tool_decode(t, args[cost], &key, &klen) != EXIT_OK)
        return EXIT_ERROR;
    void *val;
    size_t vlen;
    int rc = EXIT_OK;
    kv_cost_reset();
    int st = kv_get(t->db, key, klen, &val, &vlen);
    if (st == KV_OK) {
        if (t->hex)
            text_write_hex(stdout, val, vlen);
        else
            fwrite(val, 1, vlen, stdout);
        putchar('\n');
        kv_free(val);
    } else if (st == KV_NOT_FOUND) {
        char shown[200];
        tool_fail("not found: %s", tool_show(t, key, klen, shown, sizeof shown));
        rc = EXIT_NOT_FOUND;
    } else {
        rc = tool_fail_status(st);
    }
    if (cost && (st == KV_OK || st == KV_NOT_FOUND))
        print_cost();
    free(key);
    return rc;
}

static int cmd_del(tool *t, const text_word *args, int nargs)
{
    (void)nargs;
    unsigned char *key;
    size_t klen;
    if (tool_decode(t, args[0], &key, &klen) != EXIT_OK)
        return EXIT_ERROR;
    int st = kv_delete(t->db, key, klen);
    free(key);
    return st == KV_OK ? EXIT_OK : tool_fail_status(st);
}

/* Adds one `put KEY VALUE` or `del KEY` of a batch, starting at args[*i];
 * moves *i past it.  EXIT_OK or EXIT_ERROR. */
static int batch_add(tool *t, kv_batch *b, const text_word *args, int nargs, int *i)
{
    int is_put = text_word_is(args[*i], "put");
    if (!is_put && !text_word_is(args[*i], "del")) {
        char shown[80];
        return tool_fail("batch: word %d is '%s', want put or del", *i + 1,
                         text_show(args[*i].p, args[*i].n, shown, sizeof shown));
    }
    int want = is_put ? 2 : 1;
    if (*i + want >= nargs)
        return tool_fail("batch: %s at word %d needs %s", is_put ? "put" : "del", *i + 1,
                         is_put ? "a KEY and a VALUE" : "a KEY");
    unsigned char *key = NULL, *val = NULL;
    size_t klen, vlen = 0;
    int rc = tool_decode(t, args[*i + 1], &key, &klen);
    if (rc == EXIT_OK && is_put)
        rc = tool_decode(t, args[*i + 2], &val, &vlen);
    if (rc == EXIT_OK) {
        int st = is_put ? kv_batch_put(b, key, klen, val, vlen) : kv_batch_delete(b, key, klen);
        if (st != KV_OK)
            rc = tool_fail_status(st);
    }
    free(key);
    free(val);
    *i += 1 + want;
    return rc;
}

static int cmd_batch(tool *t, const text_word *args, int nargs)
{
    kv_batch *b = NULL;
    int st = kv_batch_new(&b);
    if (st != KV_OK)
        return tool_fail_status(st);
    int rc = EXIT_OK;
    for (int i = 0; i < nargs && rc == EXIT_OK;)
        rc = batch_add(t, b, args, nargs, &i);
    if (rc == EXIT_OK && (st = kv_write(t->db, b)) != KV_OK)
        rc = tool_fail_status(st);
    kv_batch_free(b);
    return rc;
}

/* 1 if key a sorts before key b: bytewise, a prefix first (see kv.h). */
static int key_before(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c < 0 || (c == 0 && alen < blen);
}

static int cmd_scan(tool *t, const text_word *args, int nargs)
{
    unsigned char *from = NULL, *to = NULL;
    size_t flen = 0, tlen = 0;
    kv_iter *it = NULL;
    int rc = EXIT_OK, st;
    if (nargs >= 1 && (rc = tool_decode(t, args[0], &from, &flen)) != EXIT_OK)
        goto out;
    if (nargs >= 2 && (rc = tool_decode(t, args[1], &to, &tlen)) != EXIT_OK)
        goto out;
    if ((st = kv_iter_new(t->db, &it)) != KV_OK) {
        rc = tool_fail_status(st);
        goto out;
    }
    if (from != NULL)
        kv_iter_seek(it, from, flen);
    else
        kv_iter_seek_first(it);
    for (; kv_iter_valid(it); kv_iter_next(it)) {
        size_t klen, vlen;
        const void *key = kv_iter_key(it, &klen);
        if (to != NULL && !key_before(key, klen, to, tlen))
            break;
        const void *val = kv_iter_value(it, &vlen);
        if (val == NULL)
            break; /* kv_iter_status says why */
        tool_write(t, stdout, key, klen);
        putchar('\t');
        tool_write(t, stdout, val, vlen);
        putchar('\n');
    }
    if ((st = kv_iter_status(it)) != KV_OK)
        rc = tool_fail_status(st);
out:
    kv_iter_free(it);
    free(from);
    free(to);
    return rc;
}

const tool_cmd tool_cmds_data[] = {
    {"put", 2, 2, NEED_WRITE, cmd_put},
    {"get", 1, 2, NEED_READ, cmd_get},
    {"del", 1, 1, NEED_WRITE, cmd_del},
    {"batch", 2, -1, NEED_WRITE, cmd_batch},
    {"scan", 0, 2, NEED_READ, cmd_scan},
    {NULL, 0, 0, 0, NULL},
};
