/*
 * kvgrade_unit.c: unit tests of kvgrade's parts that need no engine: the
 * RESP2 codec, the model and its crash rules, the replay file, the
 * command template, the shrinker, and the tree of kvgrade-fs (what a cut
 * keeps and reverts, and why a write was not durable, without FUSE).  Prints "RUN name" / "ok name" or
 * "FAIL name: why", then "N passed, N failed" (tests/run.sh reads it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <errno.h>

#include "kvfs.h"
#include "kvgrade.h"

static int failed_now;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            printf("    %s:%d: %s\n", __FILE__, __LINE__, #cond);                     \
            failed_now = 1;                                                           \
            return;                                                                   \
        }                                                                             \
    } while (0)

#define B(s) ((kvg_buf){(unsigned char *)(s), sizeof(s) - 1})

static void resp_parses_every_reply_kind(void)
{
    const char *in = "+OK\r\n-ERR no\r\n:-42\r\n$3\r\na\r\n\r\n$-1\r\n*2\r\n$0\r\n\r\n*1\r\n:1\r\n";
    const unsigned char *p = (const unsigned char *)in, *end = p + strlen(in);
    int types[] = {KVG_SIMPLE, KVG_ERROR, KVG_INT, KVG_BULK, KVG_NIL, KVG_ARRAY};
    for (int i = 0; i < 6; i++) {
        kvg_reply r;
        const char *why;
        long used = kvg_reply_parse(p, end, &r, &why);
        CHECK(used > 0);
        CHECK(r.type == types[i]);
        if (i == 2)
            CHECK(r.num == -42);
        if (i == 3)
            CHECK(r.str.n == 3 && memcmp(r.str.p, "a\r\n", 3) == 0);
        if (i == 5)
            CHECK(r.n == 2 && r.elem[1].type == KVG_ARRAY && r.elem[1].elem[0].num == 1);
        kvg_reply_free(&r);
        p += used;
    }
    CHECK(p == end);
}

static void resp_needs_more_or_refuses(void)
{
    kvg_reply r;
    const char *why;
    const char *partial[] = {"$5\r\nab", "*2\r\n:1\r\n", "+O", ":12"};
    for (int i = 0; i < 4; i++) {
        const unsigned char *p = (const unsigned char *)partial[i];
        CHECK(kvg_reply_parse(p, p + strlen(partial[i]), &r, &why) == 0);
    }
    const char *bad[] = {"?x\r\n", "$3\r\nabcd\r\n", ":x\r\n", "$-2\r\n"};
    for (int i = 0; i < 4; i++) {
        const unsigned char *p = (const unsigned char *)bad[i];
        CHECK(kvg_reply_parse(p, p + strlen(bad[i]), &r, &why) == -1);
    }
}

static void bytes_print_and_parse_round_trip(void)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    char *text = NULL;
    size_t n;
    FILE *f = open_memstream(&text, &n);
    kvg_print_bytes(f, all, 256, 0);
    fclose(f);
    kvg_buf back;
    const char *end;
    CHECK(kvg_parse_bytes(text, &back, &end) == 0);
    CHECK(back.n == 256 && memcmp(back.p, all, 256) == 0 && *end == '\0');
    kvg_buf_free(&back);
    free(text);
}

/* A model with writes SET a 1, SET b 2, DEL a, SET b 3 (acknowledged: the first `acked`). */
static void model_fixture(kvg_model *m, size_t acked)
{
    kvg_model_init(m, 0);
    kvg_buf w[4][3] = {{B("SET"), B("a"), B("1")}, {B("SET"), B("b"), B("2")},
                       {B("DEL"), B("a"), {NULL, 0}}, {B("SET"), B("b"), B("3")}};
    size_t argc[4] = {3, 3, 2, 3};
    for (int i = 0; i < 4; i++) {
        kvg_req r = {argc[i], w[i]};
        kvg_reply want;
        size_t first, count;
        kvg_model_expect(m, &r, &want, &first, &count, i);
        kvg_reply_free(&want);
    }
    m->acked = acked;
}

static void model_prefix_rule_finds_the_state_or_says_what_was_lost(void)
{
    kvg_model m;
    model_fixture(&m, 2);
    kvg_map R = {0};
    size_t p;
    char *why = NULL;
    kvg_model_state_at(&m, 3, &R); /* {b: 2}: after the DEL */
    CHECK(kvg_model_match_prefix(&m, &R, 2, &p, &why) && p == 3);
    kvg_map_free(&R);
    kvg_model_state_at(&m, 1, &R); /* {a: 1}: lost the acknowledged SET b 2 */
    CHECK(!kvg_model_match_prefix(&m, &R, 2, &p, &why));
    CHECK(strstr(why, "\"b\"") != NULL);
    free(why);
    CHECK(kvg_model_match_prefix(&m, &R, 0, &p, &why) && p == 1); /* allowed from 0 */
    kvg_map_put(&R, B("b"), B("3")); /* a hole: b's last value but not a's deletion */
    why = NULL;
    CHECK(!kvg_model_match_prefix(&m, &R, 0, &p, &why));
    free(why);
    kvg_map_free(&R);
    kvg_model_free(&m);
}

/* The write a crashed state lacks: of the acknowledged ones, each key's
 * last, the oldest SET among those the state does not hold. */
static void model_lost_write_is_the_oldest_missing_set(void)
{
    kvg_model m;
    model_fixture(&m, 4);
    kvg_map R = {0};
    size_t w, pair;
    kvg_model_state_at(&m, 4, &R); /* {b: 3}: nothing lost */
    CHECK(!kvg_model_lost_write(&m, &R, 4, &w, &pair));
    kvg_map_free(&R);
    kvg_model_state_at(&m, 2, &R); /* {a: 1, b: 2}: DEL a and SET b 3 lost */
    CHECK(kvg_model_lost_write(&m, &R, 4, &w, &pair) && w == 3 && pair == 0);
    kvg_map_free(&R);
    kvg_map_put(&R, B("a"), B("1")); /* {a: 1}: the DEL lost, b lost: the SET named */
    CHECK(kvg_model_lost_write(&m, &R, 4, &w, &pair) && w == 3);
    kvg_map_free(&R);
    kvg_map_put(&R, B("a"), B("1"));
    kvg_map_put(&R, B("b"), B("3")); /* only the DEL lost: named, though no SET */
    CHECK(kvg_model_lost_write(&m, &R, 4, &w, &pair) && w == 2);
    kvg_map_free(&R);
    kvg_model_free(&m);
}

static void model_invented_rule_accepts_old_values_only(void)
{
    kvg_model m;
    model_fixture(&m, 4);
    kvg_map R = {0};
    char *why = NULL;
    kvg_map_put(&R, B("a"), B("1")); /* deleted since, but once written */
    kvg_map_put(&R, B("b"), B("2"));
    CHECK(kvg_model_check_invented(&m, &R, &why));
    kvg_map_put(&R, B("b"), B("22"));
    CHECK(!kvg_model_check_invented(&m, &R, &why));
    free(why);
    why = NULL;
    kvg_map_del(&R, B("b"));
    kvg_map_put(&R, B("c"), B("1")); /* a key never written */
    CHECK(!kvg_model_check_invented(&m, &R, &why));
    free(why);
    kvg_map_free(&R);
    kvg_model_free(&m);
}

static void model_range_bounds_and_order(void)
{
    kvg_map m = {0};
    kvg_map_put(&m, B("b"), B("2"));
    kvg_map_put(&m, B("a\x00"), B("0"));
    kvg_map_put(&m, B("a"), B("1"));
    kvg_map_put(&m, B("\xff"), B("f"));
    kvg_reply r = kvg_map_range(&m, B(""), B(""), 10);
    CHECK(r.n == 8 && r.elem[0].str.n == 1 && r.elem[2].str.n == 2 && r.elem[6].str.p[0] == 0xff);
    kvg_reply_free(&r);
    r = kvg_map_range(&m, B("a\x00"), B("b"), 10);
    CHECK(r.n == 2);
    kvg_reply_free(&r);
    r = kvg_map_range(&m, B("a"), B(""), 2);
    CHECK(r.n == 4);
    kvg_reply_free(&r);
    kvg_map_free(&m);
}

static void engine_template_is_split_like_a_shell(void)
{
    const char *why = NULL;
    char **w = kvg_engine_words("python3 'my engine.py' \"{dir}/db\" --x={port} a\\ b", "/d", 7, &why);
    CHECK(w != NULL);
    CHECK(strcmp(w[0], "python3") == 0 && strcmp(w[1], "my engine.py") == 0);
    CHECK(strcmp(w[2], "/d/db") == 0 && strcmp(w[3], "--x=7") == 0 && strcmp(w[4], "a b") == 0);
    CHECK(w[5] == NULL);
    kvg_engine_words_free(w);
    CHECK(kvg_engine_words("engine", "/d", 0, &why) == NULL && strstr(why, "{dir}") != NULL);
    CHECK(kvg_engine_words("engine {dir} | tee x", "/d", 0, &why) == NULL);
    CHECK(kvg_engine_words("engine '{dir}", "/d", 0, &why) == NULL);
}

static void replay_file_round_trip(void)
{
    kvg_steps l = {0};
    kvg_steps_add(&l, KVG_ST_ARM)->n = 7;
    kvg_steps_add(&l, KVG_ST_START);
    kvg_buf a[3] = {B("SET"), B("k\r\n\x00"), B("v \"q\"")};
    kvg_steps_add_req(&l, KVG_ST_PIPE, 3, a);
    kvg_steps_add(&l, KVG_ST_WAIT)->n = 1;
    kvg_steps_add(&l, KVG_ST_KILL);
    kvg_steps_add(&l, KVG_ST_CUT);
    kvg_step *f = kvg_steps_add(&l, KVG_ST_FLIP);
    f->file = kvg_strdup("sub dir/000001.log");
    f->n = 33;
    f->allow = 4;
    kvg_steps_add(&l, KVG_ST_VERIFY);
    char path[] = "/tmp/kvgrade-unit-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    kvg_replay_head h = {"kills", 1, 8, 1, "x {dir}", "why\nsecond line"};
    CHECK(kvg_steps_save(path, &h, &l) == 0);
    kvg_replay_head h2;
    kvg_steps l2;
    char *why = NULL;
    CHECK(kvg_steps_load(path, &h2, &l2, &why) == 0);
    unlink(path);
    CHECK(h2.sync == 1 && h2.window == 8 && h2.needs_fs == 1 && strcmp(h2.rung, "kills") == 0);
    CHECK(l2.n == l.n);
    for (size_t i = 0; i < l.n; i++) {
        CHECK(l2.s[i].kind == l.s[i].kind && l2.s[i].n == l.s[i].n && l2.s[i].allow == l.s[i].allow);
        CHECK(l2.s[i].req.argc == l.s[i].req.argc);
        for (size_t j = 0; j < l.s[i].req.argc; j++)
            CHECK(kvg_buf_eq(l2.s[i].req.argv[j], l.s[i].req.argv[j]));
    }
    CHECK(strcmp(l2.s[6].file, "sub dir/000001.log") == 0);
    kvg_steps_free(&l);
    kvg_steps_free(&l2);
    kvg_replay_head_free(&h2);
}

/* Fails when both marked steps (n == 1 and n == 2) are still there. */
static int both_marks(void *arg, kvg_steps *c)
{
    int *runs = arg, seen = 0;
    (*runs)++;
    for (size_t i = 0; i < c->n; i++)
        seen |= c->s[i].kind == KVG_ST_WAIT ? (int)c->s[i].n : 0;
    return seen == 3;
}

static void shrink_keeps_exactly_what_fails(void)
{
    kvg_steps l = {0};
    kvg_unit u[100];
    for (int i = 0; i < 100; i++) {
        kvg_steps_add(&l, KVG_ST_WAIT)->n = i == 17 ? 1 : i == 71 ? 2 : 0;
        u[i] = (kvg_unit){(size_t)i, (size_t)i + 1};
    }
    int runs = 0;
    kvg_shrink(&l, u, 100, both_marks, &runs, 1000, 60);
    CHECK(l.n == 2 && l.s[0].n == 1 && l.s[1].n == 2);
    CHECK(runs < 200);
    kvg_steps_free(&l);
}

/* ---- the power-cut file system's tree ---------------------------------- */

static int fs_read_all(kvfs_node *n, char *buf, size_t cap)
{
    long got = kvfs_read(n, buf, cap - 1, 0);
    buf[got > 0 ? got : 0] = '\0';
    return (int)got;
}

static void fs_cut_keeps_synced_data_only(void)
{
    kvfs fs;
    CHECK(kvfs_init(&fs) == 0);
    kvfs_node *f;
    CHECK(kvfs_create(&fs, 1, "f", S_IFREG | 0644, &f) == 0);
    CHECK(kvfs_sync_dir(&fs, kvfs_get(&fs, 1)) == 0); /* the name is durable */
    CHECK(kvfs_write(&fs, f, "hello", 5, 0) == 0);
    CHECK(kvfs_sync_file(&fs, f) == 0);
    CHECK(kvfs_write(&fs, f, " world", 6, 5) == 0);
    CHECK(kvfs_write(&fs, f, "J", 1, 0) == 0);
    CHECK(kvfs_cut(&fs) == 0);
    char buf[64];
    kvfs_node *again;
    CHECK(kvfs_lookup(&fs, 1, "f", &again) == 0 && again == f);
    CHECK(fs_read_all(f, buf, sizeof buf) == 5 && strcmp(buf, "hello") == 0);
    CHECK(kvfs_truncate(&fs, f, 2) == 0 && kvfs_truncate(&fs, f, 4) == 0);
    CHECK(fs_read_all(f, buf, sizeof buf) == 4 && memcmp(buf, "he\0\0", 4) == 0);
    CHECK(kvfs_cut(&fs) == 0);
    CHECK(fs_read_all(f, buf, sizeof buf) == 5 && strcmp(buf, "hello") == 0);
    kvfs_free(&fs);
}

static void fs_cut_reverts_names_not_synced(void)
{
    kvfs fs;
    CHECK(kvfs_init(&fs) == 0);
    kvfs_node *a, *b, *x;
    CHECK(kvfs_create(&fs, 1, "a", S_IFREG | 0644, &a) == 0);
    CHECK(kvfs_write(&fs, a, "A", 1, 0) == 0);
    CHECK(kvfs_sync_file(&fs, a) == 0); /* data synced, name not */
    CHECK(kvfs_cut(&fs) == 0);
    CHECK(kvfs_lookup(&fs, 1, "a", &x) == -ENOENT);
    CHECK(kvfs_create(&fs, 1, "a", S_IFREG | 0644, &a) == 0);
    CHECK(kvfs_create(&fs, 1, "b", S_IFREG | 0644, &b) == 0);
    CHECK(kvfs_write(&fs, a, "old", 3, 0) == 0 && kvfs_sync_file(&fs, a) == 0);
    CHECK(kvfs_write(&fs, b, "new", 3, 0) == 0 && kvfs_sync_file(&fs, b) == 0);
    CHECK(kvfs_sync_dir(&fs, kvfs_get(&fs, 1)) == 0);
    CHECK(kvfs_rename(&fs, 1, "b", 1, "a", 0) == 0); /* b over a, not synced */
    CHECK(kvfs_lookup(&fs, 1, "b", &x) == -ENOENT);
    CHECK(kvfs_cut(&fs) == 0);
    char buf[16];
    CHECK(kvfs_lookup(&fs, 1, "a", &x) == 0 && fs_read_all(x, buf, sizeof buf) == 3 &&
          strcmp(buf, "old") == 0);
    CHECK(kvfs_lookup(&fs, 1, "b", &x) == 0 && fs_read_all(x, buf, sizeof buf) == 3 &&
          strcmp(buf, "new") == 0);
    CHECK(kvfs_unlink(&fs, 1, "a") == 0);
    CHECK(kvfs_cut(&fs) == 0); /* the unlink comes undone */
    CHECK(kvfs_lookup(&fs, 1, "a", &x) == 0);
    kvfs_node *d;
    CHECK(kvfs_create(&fs, 1, "d", S_IFDIR | 0755, &d) == 0);
    CHECK(kvfs_create(&fs, d->ino, "in", S_IFREG | 0644, &x) == 0);
    CHECK(kvfs_sync_dir(&fs, d) == 0); /* d's entries, but not d's own name */
    CHECK(kvfs_rmdir(&fs, 1, "d") == -ENOTEMPTY);
    CHECK(kvfs_cut(&fs) == 0);
    CHECK(kvfs_lookup(&fs, 1, "d", &x) == -ENOENT);
    kvfs_free(&fs);
}

/* The recording: each image is the durable state after one more sync,
 * and loading one brings back what was durable then, even an inode freed
 * since (the log a compaction renamed over). */
static void fs_images_are_every_durable_state(void)
{
    kvfs fs;
    CHECK(kvfs_init(&fs) == 0);
    kvfs_node *root = kvfs_get(&fs, 1), *log, *tmp, *x;
    CHECK(kvfs_record_start(&fs) == 0);
    CHECK(kvfs_create(&fs, 1, "log", S_IFREG | 0644, &log) == 0);
    CHECK(kvfs_sync_dir(&fs, root) == 0);                                   /* image 1 */
    CHECK(kvfs_write(&fs, log, "one", 3, 0) == 0 && kvfs_sync_file(&fs, log) == 0); /* 2 */
    CHECK(kvfs_write(&fs, log, "two", 3, 3) == 0 && kvfs_sync_file(&fs, log) == 0); /* 3 */
    CHECK(kvfs_sync_file(&fs, log) == 0);                  /* nothing changed: no image */
    CHECK(kvfs_create(&fs, 1, "tmp", S_IFREG | 0644, &tmp) == 0);
    CHECK(kvfs_write(&fs, tmp, "SNAP", 4, 0) == 0);
    CHECK(kvfs_rename(&fs, 1, "tmp", 1, "log", 0) == 0);
    CHECK(kvfs_sync_dir(&fs, root) == 0);                                   /* 4 */
    CHECK(kvfs_sync_file(&fs, tmp) == 0);                                   /* 5 */
    CHECK(kvfs_record_images(&fs) == 5);
    CHECK(fs.rec->renames == 1 && fs.rec->creates == 2 && fs.rec->dir_syncs == 2 &&
          fs.rec->file_syncs == 3);
    const char *want[] = {NULL, "", "one", "onetwo", "", "SNAP"};
    char buf[16];
    for (size_t i = 0; i <= 5; i++) {
        CHECK(kvfs_record_load(&fs, i, NULL) == 0);
        if (i == 0) {
            CHECK(kvfs_lookup(&fs, 1, "log", &x) == -ENOENT);
            continue;
        }
        long n = kvfs_lookup(&fs, 1, "log", &x) == 0 ? fs_read_all(x, buf, sizeof buf) : -1;
        CHECK(n == (long)strlen(want[i]) && memcmp(buf, want[i], (size_t)n) == 0);
        CHECK(kvfs_lookup(&fs, 1, "tmp", &x) == -ENOENT);
    }
    CHECK(kvfs_record_load(&fs, 3, NULL) == 0); /* back, after a later one */
    CHECK(kvfs_lookup(&fs, 1, "log", &x) == 0 && fs_read_all(x, buf, sizeof buf) == 6);
    CHECK(kvfs_record_load(&fs, 6, NULL) == -EINVAL);
    kvfs_free(&fs);
}

/* A torn write: the writes a sync made durable kept in part, a prefix
 * of them or all but one sector; only a named file's, never the synced
 * bytes before them, never the sector holding their last byte. */
static void fs_torn_images_keep_part_of_the_next_sync(void)
{
    kvfs fs;
    CHECK(kvfs_init(&fs) == 0);
    kvfs_node *root = kvfs_get(&fs, 1), *log, *tmp, *x;
    CHECK(kvfs_record_start(&fs) == 0);
    CHECK(kvfs_create(&fs, 1, "log", S_IFREG | 0644, &log) == 0);
    CHECK(kvfs_sync_dir(&fs, root) == 0);                                   /* image 1 */
    char a[100], b[1200], buf[1400];
    memset(a, 'A', sizeof a);
    memset(b, 'B', sizeof b);
    CHECK(kvfs_write(&fs, log, a, sizeof a, 0) == 0 && kvfs_sync_file(&fs, log) == 0); /* 2 */
    CHECK(kvfs_write(&fs, log, b, sizeof b, 100) == 0 && kvfs_sync_file(&fs, log) == 0); /* 3 */
    CHECK(kvfs_create(&fs, 1, "tmp", S_IFREG | 0644, &tmp) == 0);
    CHECK(kvfs_write(&fs, tmp, a, sizeof a, 0) == 0 && kvfs_sync_file(&fs, tmp) == 0); /* 4 */
    CHECK(kvfs_record_torn(&fs, 0) == NULL);  /* a directory's sync tears nothing */
    const kvfs_event *e = kvfs_record_torn(&fs, 2);
    CHECK(e != NULL && e->torn_lo == 100 && e->torn_hi == 1300 && e->old_len == 100 &&
          strcmp(e->path, "log") == 0);
    CHECK(kvfs_record_torn(&fs, 3) == NULL);  /* tmp has no durable name */
    kvfs_tear prefix = {'p', 512};
    CHECK(kvfs_record_load(&fs, 2, &prefix) == 0);
    CHECK(kvfs_lookup(&fs, 1, "log", &x) == 0 && fs_read_all(x, buf, sizeof buf) == 512);
    CHECK(memcmp(buf, a, 100) == 0 && memcmp(buf + 100, b, 412) == 0);
    kvfs_tear zero = {'z', 512};
    CHECK(kvfs_record_load(&fs, 2, &zero) == 0);
    CHECK(kvfs_lookup(&fs, 1, "log", &x) == 0 && fs_read_all(x, buf, sizeof buf) == 1300);
    CHECK(memcmp(buf, a, 100) == 0 && memcmp(buf + 100, b, 412) == 0);
    for (size_t i = 512; i < 1024; i++)
        CHECK(buf[i] == 0);
    CHECK(memcmp(buf + 1024, b, 276) == 0);
    kvfs_tear first = {'z', 0};
    CHECK(kvfs_record_load(&fs, 2, &first) == 0); /* the synced 100 bytes stay */
    CHECK(kvfs_lookup(&fs, 1, "log", &x) == 0 && fs_read_all(x, buf, sizeof buf) == 1300);
    CHECK(memcmp(buf, a, 100) == 0 && buf[100] == 0 && buf[511] == 0 && buf[512] == 'B');
    kvfs_tear last = {'z', 1024}, at_lo = {'p', 100}, at_hi = {'p', 1300}, odd = {'z', 700};
    CHECK(kvfs_record_load(&fs, 2, &last) == -EINVAL);
    CHECK(kvfs_record_load(&fs, 2, &at_lo) == -EINVAL);
    CHECK(kvfs_record_load(&fs, 2, &at_hi) == -EINVAL);
    CHECK(kvfs_record_load(&fs, 2, &odd) == -EINVAL);
    CHECK(kvfs_record_load(&fs, 3, &prefix) == -EINVAL);
    kvfs_tear one = {'p', 1};
    CHECK(kvfs_record_load(&fs, 1, &one) == 0);  /* the first write, one byte of it */
    CHECK(kvfs_lookup(&fs, 1, "log", &x) == 0 && fs_read_all(x, buf, sizeof buf) == 1);
    kvfs_free(&fs);
    /* A sync that copies a whole page back (a mapped log's) tears only the
     * bytes it changed; zeros past the old end change nothing. */
    CHECK(kvfs_init(&fs) == 0);
    root = kvfs_get(&fs, 1);
    CHECK(kvfs_record_start(&fs) == 0);
    CHECK(kvfs_create(&fs, 1, "log", S_IFREG | 0644, &log) == 0);
    CHECK(kvfs_sync_dir(&fs, root) == 0);                                   /* image 1 */
    CHECK(kvfs_write(&fs, log, a, sizeof a, 0) == 0 && kvfs_sync_file(&fs, log) == 0); /* 2 */
    char page[4096] = {0};
    memcpy(page, a, sizeof a);
    memcpy(page + 100, b, 50);
    CHECK(kvfs_write(&fs, log, page, sizeof page, 0) == 0 && kvfs_sync_file(&fs, log) == 0); /* 3 */
    e = kvfs_record_torn(&fs, 2);
    CHECK(e != NULL && e->lo == 0 && e->torn_lo == 100 && e->torn_hi == 150 && e->len == 4096);
    kvfs_free(&fs);
}

/* The journal says which sync a write lacked before its acknowledgement:
 * none at all; its directory's after the create; its file's after the
 * write (one before it, or none ever); the rename made durable before the
 * renamed file's bytes; and a write never made. */
static void fs_journal_names_the_missing_sync(void)
{
    kvfs fs;
    kvfs_why w;
    const unsigned char *v1 = (const unsigned char *)"v1-abcdef", *v2 = (const unsigned char *)"v2-ghijkl";
    CHECK(kvfs_init(&fs) == 0);
    kvfs_node *root = kvfs_get(&fs, 1), *d, *log, *tmp, *other;
    CHECK(kvfs_create(&fs, 1, "db", S_IFDIR | 0755, &d) == 0 && kvfs_sync_dir(&fs, root) == 0);
    CHECK(kvfs_record_start(&fs) == 0);
    CHECK(kvfs_create(&fs, d->ino, "data.log", S_IFREG | 0644, &log) == 0);
    CHECK(kvfs_write(&fs, log, "v1-abcdef", 9, 0) == 0);
    size_t ack = kvfs_journal_ops(&fs);
    CHECK(kvfs_journal_why(&fs, ack, ack, v1, 9, &w) == 0 && w.code == KVFS_WHY_NO_SYNC_AT_ALL);
    CHECK(strcmp(w.file, "db/data.log") == 0 && !w.name_synced);
    CHECK(kvfs_sync_file(&fs, log) == 0);
    ack = kvfs_journal_ops(&fs);
    CHECK(kvfs_journal_why(&fs, ack, ack, v1, 9, &w) == 0 && w.code == KVFS_WHY_ENTRY);
    CHECK(w.how == 'c' && strcmp(w.entry, "db/data.log") == 0 && strcmp(w.dir, "db") == 0 &&
          !w.dir_synced_before);
    CHECK(kvfs_sync_dir(&fs, d) == 0 && kvfs_write(&fs, log, "v2-ghijkl", 9, 9) == 0);
    ack = kvfs_journal_ops(&fs);
    CHECK(kvfs_journal_why(&fs, ack, ack, v2, 9, &w) == 0 && w.code == KVFS_WHY_SYNC_BEFORE);
    CHECK(w.name_synced);
    CHECK(kvfs_journal_why(&fs, ack, ack, (const unsigned char *)"v9-", 3, &w) == 0 &&
          w.code == KVFS_WHY_UNWRITTEN);
    CHECK(kvfs_create(&fs, d->ino, "other", S_IFREG | 0644, &other) == 0 &&
          kvfs_sync_dir(&fs, d) == 0 && kvfs_write(&fs, other, "v3-mnopqr", 9, 0) == 0);
    ack = kvfs_journal_ops(&fs);
    CHECK(kvfs_journal_why(&fs, ack, ack, (const unsigned char *)"v3-mnopqr", 9, &w) == 0 &&
          w.code == KVFS_WHY_NEVER_SYNCED && w.name_synced);
    /* Durable, then a compaction renames a file over it before its bytes
     * are synced, and makes the rename durable. */
    CHECK(kvfs_sync_file(&fs, log) == 0);
    ack = kvfs_journal_ops(&fs);
    CHECK(kvfs_journal_why(&fs, ack, ack, v1, 9, &w) == 0 && w.code == KVFS_WHY_DURABLE);
    CHECK(kvfs_create(&fs, d->ino, "data.tmp", S_IFREG | 0644, &tmp) == 0 &&
          kvfs_write(&fs, tmp, "v1-abcdefv2-ghijkl", 18, 0) == 0 &&
          kvfs_rename(&fs, d->ino, "data.tmp", d->ino, "data.log", 0) == 0 &&
          kvfs_sync_dir(&fs, d) == 0);
    size_t cut = kvfs_journal_ops(&fs);
    CHECK(kvfs_journal_why(&fs, ack, cut, v1, 9, &w) == 0 && w.code == KVFS_WHY_RENAMED);
    CHECK(strcmp(w.entry, "db/data.log") == 0 && strcmp(w.from, "db/data.tmp") == 0);
    CHECK(kvfs_journal_writes_in_window(&fs, tmp->ino, cut) == 1);
    /* A value the kernel handed over in two pieces is found across them. */
    CHECK(kvfs_write(&fs, other, "xxv4-st", 7, 9) == 0 && kvfs_write(&fs, other, "uvwx", 4, 16) == 0);
    ack = kvfs_journal_ops(&fs);
    CHECK(kvfs_journal_why(&fs, ack, ack, (const unsigned char *)"v4-stuvwx", 9, &w) == 0 &&
          w.code == KVFS_WHY_NEVER_SYNCED && strcmp(w.file, "db/other") == 0);
    kvfs_free(&fs);
}

typedef struct unit_test {
    const char *name;
    void (*fn)(void);
} unit_test;

int main(void)
{
    const unit_test tests[] = {
        {"resp_parses_every_reply_kind", resp_parses_every_reply_kind},
        {"resp_needs_more_or_refuses", resp_needs_more_or_refuses},
        {"bytes_print_and_parse_round_trip", bytes_print_and_parse_round_trip},
        {"model_prefix_rule_finds_the_state_or_says_what_was_lost",
         model_prefix_rule_finds_the_state_or_says_what_was_lost},
        {"model_lost_write_is_the_oldest_missing_set", model_lost_write_is_the_oldest_missing_set},
        {"model_invented_rule_accepts_old_values_only", model_invented_rule_accepts_old_values_only},
        {"model_range_bounds_and_order", model_range_bounds_and_order},
        {"engine_template_is_split_like_a_shell", engine_template_is_split_like_a_shell},
        {"replay_file_round_trip", replay_file_round_trip},
        {"shrink_keeps_exactly_what_fails", shrink_keeps_exactly_what_fails},
        {"fs_cut_keeps_synced_data_only", fs_cut_keeps_synced_data_only},
        {"fs_cut_reverts_names_not_synced", fs_cut_reverts_names_not_synced},
        {"fs_images_are_every_durable_state", fs_images_are_every_durable_state},
        {"fs_torn_images_keep_part_of_the_next_sync", fs_torn_images_keep_part_of_the_next_sync},
        {"fs_journal_names_the_missing_sync", fs_journal_names_the_missing_sync},
    };
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        printf("RUN %s\n", tests[i].name);
        failed_now = 0;
        tests[i].fn();
        if (failed_now) {
            printf("FAIL %s\n", tests[i].name);
            failed++;
        } else {
            printf("ok %s\n", tests[i].name);
            passed++;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
