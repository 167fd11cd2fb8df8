/*
 * replica_test.c: one member's engine fed by a log (replica.h): commands
 * apply in order, their conditions decide, an index at or below the one
 * kept is skipped (after a reopen too), and a snapshot restores another
 * replica to the same contents, never rolling a newer one back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "replica.h"

static char *dir_of(const char *name)
{
    char *p = malloc(strlen(harness_tmpdir()) + strlen(name) + 2);
    sprintf(p, "%s/%s", harness_tmpdir(), name);
    return p;
}

/* Applies one command of writes "key=value" ("key=" deletes, "key<value"
 * puts if the key is absent, "key>value" if present) under the
 * conditions "key?value" (holds value) and "key!" (absent), existed
 * asked for if not NULL; *gets (if gets is not NULL) the engine's
 * lookups it made (kv_cost). */
static int apply_asking(replica *r, uint64_t index, const char *ops, uint8_t *existed,
                        unsigned long long *gets)
{
    command *c = NULL;
    CHECK_KV(command_new(&c), KV_OK);
    char *copy = strdup(ops), *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        char *q = strchr(w, '?'), *e = strchr(w, '='), *x = strchr(w, '!');
        char *nx = strchr(w, '<'), *xx = strchr(w, '>');
        if (nx != NULL || xx != NULL) {
            char *at = nx != NULL ? nx : xx;
            CHECK_KV(command_put_when(c, nx != NULL ? COMMAND_PUT_IF_ABSENT
                                                    : COMMAND_PUT_IF_PRESENT,
                                      w, (size_t)(at - w), at + 1, strlen(at + 1)),
                     KV_OK);
        } else if (q != NULL)
            CHECK_KV(command_if_value(c, w, (size_t)(q - w), q + 1, strlen(q + 1)), KV_OK);
        else if (x != NULL)
            CHECK_KV(command_if_absent(c, w, (size_t)(x - w)), KV_OK);
        else if (e[1] == '\0')
            CHECK_KV(command_delete(c, w, (size_t)(e - w)), KV_OK);
        else
            CHECK_KV(command_put(c, w, (size_t)(e - w), e + 1, strlen(e + 1)), KV_OK);
    }
    free(copy);
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    int outcome = -1;
    kv_cost cost;
    kv_cost_reset();
    CHECK_KV(replica_apply(r, index, p, len, &outcome, existed), KV_OK);
    kv_cost_get(&cost);
    if (gets != NULL)
        *gets = cost.gets;
    command_free(c);
    return outcome;
}

static int apply(replica *r, uint64_t index, const char *ops)
{
    return apply_asking(r, index, ops, NULL, NULL);
}

/* The value of key, or "-" if absent (a static buffer). */
static const char *value(replica *r, const char *key)
{
    static char buf[256];
    void *v = NULL;
    size_t n = 0;
    int rc = kv_get(replica_db(r), key, strlen(key), &v, &n);
    if (rc == KV_NOT_FOUND)
        return "-";
    CHECK_KV(rc, KV_OK);
    snprintf(buf, sizeof buf, "%.*s", (int)n, (const char *)v);
    kv_free(v);
    return buf;
}

static void commands_apply_in_order_under_their_conditions(void)
{
    char *dir = dir_of("r");
    replica *r = NULL;
    CHECK_KV(replica_open(dir, NULL, &r), KV_OK);
    CHECK_EQ(replica_applied(r), 0);
    CHECK_MSG(apply(r, 1, "x=1 y=2") == REPLICA_APPLIED, "a command of two puts applies");
    CHECK_MSG(apply(r, 2, "x?1 x=10 y=") == REPLICA_APPLIED,
              "x holds 1: the command's writes apply");
    CHECK_MSG(apply(r, 4, "x?1 x=99") == REPLICA_REFUSED,
              "x holds 10, not 1: the command is refused and writes nothing");
    CHECK_MSG(apply(r, 5, "z! z=new") == REPLICA_APPLIED, "z is absent: the command applies");
    CHECK_MSG(strcmp(value(r, "x"), "10") == 0 && strcmp(value(r, "y"), "-") == 0 &&
                  strcmp(value(r, "z"), "new") == 0,
              "x=10, y deleted, z=new after the four commands (got x=%s)", value(r, "x"));
    CHECK_MSG(replica_applied(r) == 5, "the applied index is the last command's, 5, refused "
              "ones included (index 3 was no command: a gap is allowed); got %llu",
              (unsigned long long)replica_applied(r));
    int outcome = -1;
    CHECK_KV(replica_apply(r, 6, "junk", 4, &outcome, NULL), KV_OK);
    CHECK_MSG(outcome == REPLICA_INVALID && replica_applied(r) == 6,
              "a command that does not decode applies as nothing, on every member alike");
    CHECK_KV(replica_close(r), KV_OK);
    free(dir);
}

static void a_command_says_which_keys_its_writes_found(void)
{
    char *dir = dir_of("r");
    replica *r = NULL;
    CHECK_KV(replica_open(dir, NULL, &r), KV_OK);
    apply(r, 1, "a=1");
    command *c = NULL;
    CHECK_KV(command_new(&c), KV_OK);
    CHECK_KV(command_delete(c, "a", 1), KV_OK);
    CHECK_KV(command_delete(c, "b", 1), KV_OK);
    CHECK_KV(command_put(c, "a", 1, "2", 1), KV_OK);
    CHECK_KV(command_delete(c, "a", 1), KV_OK);
    CHECK_KV(command_delete(c, "b", 1), KV_OK);
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    uint8_t existed[5] = {9, 9, 9, 9, 9};
    int outcome = -1;
    CHECK_KV(replica_apply(r, 2, p, len, &outcome, existed), KV_OK);
    const uint8_t want[5] = {1, 0, 0, 1, 0};
    CHECK_MSG(memcmp(existed, want, 5) == 0, "each write says whether its key held a value "
              "just before it, the command's earlier writes counted (what DEL answers): got "
              "%u %u %u %u %u, want 1 0 0 1 0", existed[0], existed[1], existed[2], existed[3],
              existed[4]);
    command_free(c);
    CHECK_KV(replica_close(r), KV_OK);
    free(dir);
}

/* A key is read only for what asks (replica.h, replica_apply): a put of
 * kind 4 or 5 on every member, a delete where its count is wanted, and
 * only if no earlier write of the command on the key says what it holds.
 * A plain put reads nothing, and says 0. */
static void a_plain_put_reads_nothing(void)
{
    char *dir = dir_of("r");
    replica *r = NULL;
    CHECK_KV(replica_open(dir, NULL, &r), KV_OK);
    apply(r, 1, "a=1 b=1");
    uint8_t existed[3] = {9, 9, 9};
    unsigned long long gets = 99;
    CHECK_MSG(apply_asking(r, 2, "a=2 c=2", existed, &gets) == REPLICA_APPLIED && gets == 0 &&
                  existed[0] == 0 && existed[1] == 0,
              "two plain puts, existed asked for: no lookup, and 0 for each (got %llu lookups, "
              "%u %u)", gets, existed[0], existed[1]);
    CHECK_MSG(apply_asking(r, 3, "b= d=4", NULL, &gets) == REPLICA_APPLIED && gets == 0,
              "a delete and a put with no count wanted (a member no client waits at): no "
              "lookup (got %llu)", gets);
    CHECK_MSG(apply_asking(r, 4, "a= b=", existed, &gets) == REPLICA_APPLIED && gets == 2 &&
                  existed[0] == 1 && existed[1] == 0,
              "two deletes counted: a lookup each, a found, b not (got %llu lookups, %u %u)",
              gets, existed[0], existed[1]);
    CHECK_MSG(apply_asking(r, 5, "e=5 e= e<6", existed, &gets) == REPLICA_APPLIED && gets == 0 &&
                  existed[0] == 0 && existed[1] == 1 && existed[2] == 0,
              "a put, then a delete and a SET NX of the same key: what the put left is known, "
              "no lookup (got %llu lookups, %u %u %u)", gets, existed[0], existed[1],
              existed[2]);
    CHECK_MSG(apply_asking(r, 6, "c<7 f>7", NULL, &gets) == REPLICA_APPLIED && gets == 2,
              "a SET NX and a SET XX, no count wanted: each still reads its key, as every "
              "member must to judge it (got %llu lookups)", gets);
    CHECK_MSG(strcmp(value(r, "a"), "-") == 0 && strcmp(value(r, "b"), "-") == 0 &&
                  strcmp(value(r, "c"), "2") == 0 && strcmp(value(r, "d"), "4") == 0 &&
                  strcmp(value(r, "e"), "6") == 0 && strcmp(value(r, "f"), "-") == 0,
              "the engine holds what the writes did: a and b deleted, c=2 (NX found it), d=4, "
              "e=6, no f (XX found none)");
    CHECK_KV(replica_close(r), KV_OK);
    free(dir);
}

static void an_index_applied_before_is_skipped_after_a_reopen(void)
{
    char *dir = dir_of("r");
    replica *r = NULL;
    CHECK_KV(replica_open(dir, NULL, &r), KV_OK);
    apply(r, 1, "n=1");
    apply(r, 2, "n?1 n=2");
    apply(r, 3, "n?2 n=3 log=three");
    CHECK_KV(replica_close(r), KV_OK);
    CHECK_KV(replica_open(dir, NULL, &r), KV_OK);
    CHECK_MSG(replica_applied(r) == 3, "the applied index survives a reopen: it was written "
              "with the data (got %llu)", (unsigned long long)replica_applied(r));
    /* The library applies its log again from its snapshot (none): 1, 2, 3. */
    CHECK_MSG(apply(r, 1, "n=1") == REPLICA_SKIPPED && apply(r, 2, "n?1 n=2") == REPLICA_SKIPPED &&
                  apply(r, 3, "n?2 n=3 log=three") == REPLICA_SKIPPED,
              "indexes 1 to 3, applied before the reopen, are skipped, not applied twice");
    CHECK_MSG(strcmp(value(r, "n"), "3") == 0, "n is 3, as before the reopen (got %s): applied "
              "again, index 1 would have set it back to 1", value(r, "n"));
    CHECK_MSG(apply(r, 4, "n?3 n=4") == REPLICA_APPLIED, "index 4 applies");
    CHECK_KV(replica_close(r), KV_OK);
    free(dir);
}

static void *alloc(size_t n)
{
    return malloc(n);
}

static void a_snapshot_restores_another_replica_and_never_rolls_back(void)
{
    char *da = dir_of("a"), *db = dir_of("b");
    replica *a = NULL, *b = NULL;
    CHECK_KV(replica_open(da, NULL, &a), KV_OK);
    CHECK_KV(replica_open(db, NULL, &b), KV_OK);
    char ops[64];
    for (int i = 1; i <= 200; i++) {
        snprintf(ops, sizeof ops, "k%03d=v%d", i % 50, i);
        apply(a, (uint64_t)i, ops);
    }
    apply(a, 201, "gone=1");
    apply(a, 202, "gone=");
    void *snap = NULL;
    size_t len = 0;
    uint64_t index = 0;
    CHECK_KV(replica_snapshot(a, alloc, free, &snap, &len, &index), KV_OK);
    CHECK_MSG(index == 202, "the snapshot is at the applied index, 202 (got %llu)",
              (unsigned long long)index);
    apply(b, 1, "stale=1");
    CHECK_KV(replica_restore(b, snap, len), KV_OK);
    CHECK_MSG(replica_applied(b) == 202, "b restored is at index 202 (got %llu)",
              (unsigned long long)replica_applied(b));
    kv_iter *ia = NULL, *ib = NULL;
    CHECK_KV(kv_iter_new(replica_db(a), &ia), KV_OK);
    CHECK_KV(kv_iter_new(replica_db(b), &ib), KV_OK);
    size_t n = 0;
    for (kv_iter_seek_first(ia), kv_iter_seek_first(ib); kv_iter_valid(ia);
         kv_iter_next(ia), kv_iter_next(ib), n++) {
        size_t kl1, kl2, vl1, vl2;
        CHECK_MSG(kv_iter_valid(ib), "b holds as many keys as a (b ends after %zu)", n);
        const void *k1 = kv_iter_key(ia, &kl1), *k2 = kv_iter_key(ib, &kl2);
        const void *v1 = kv_iter_value(ia, &vl1), *v2 = kv_iter_value(ib, &vl2);
        CHECK_MSG(kl1 == kl2 && memcmp(k1, k2, kl1) == 0 && vl1 == vl2 && memcmp(v1, v2, vl1) == 0,
                  "key %zu of b is a's, with a's value", n);
    }
    CHECK_MSG(!kv_iter_valid(ib), "b holds no key a does not (\"stale\" went with its engine)");
    CHECK_MSG(n == 51, "50 keys and the applied index (got %zu)", n);
    kv_iter_free(ia);
    kv_iter_free(ib);
    /* An older snapshot never rolls a newer engine back. */
    apply(b, 203, "newer=1");
    CHECK_KV(replica_restore(b, snap, len), KV_OK);
    CHECK_MSG(replica_applied(b) == 203 && strcmp(value(b, "newer"), "1") == 0,
              "a snapshot at 202 leaves an engine at 203 as it is");
    /* The restored engine is the one a reopen finds. */
    CHECK_KV(replica_close(b), KV_OK);
    CHECK_KV(replica_open(db, NULL, &b), KV_OK);
    CHECK_MSG(replica_applied(b) == 203 && strcmp(value(b, "k007"), "v157") == 0,
              "after a reopen b is the restored engine and what came after (got %llu)",
              (unsigned long long)replica_applied(b));
    free(snap);
    CHECK_KV(replica_close(a), KV_OK);
    CHECK_KV(replica_close(b), KV_OK);
    free(da);
    free(db);
}

static void a_damaged_snapshot_is_refused_and_changes_nothing(void)
{
    char *da = dir_of("a"), *db = dir_of("b");
    replica *a = NULL, *b = NULL;
    CHECK_KV(replica_open(da, NULL, &a), KV_OK);
    CHECK_KV(replica_open(db, NULL, &b), KV_OK);
    apply(a, 1, "x=1 y=2");
    apply(b, 1, "mine=1");
    uint8_t *snap = NULL;
    size_t len = 0;
    uint64_t index = 0;
    CHECK_KV(replica_snapshot(a, alloc, free, (void **)&snap, &len, &index), KV_OK);
    apply(a, 2, "z=3");
    uint8_t *newer = NULL;
    size_t nlen = 0;
    CHECK_KV(replica_snapshot(a, alloc, free, (void **)&newer, &nlen, &index), KV_OK);
    for (size_t at = 0; at < nlen; at += 7) {
        newer[at] ^= 0x10;
        CHECK_MSG(replica_restore(b, newer, nlen) == KV_ERR_CORRUPT,
                  "a snapshot with byte %zu changed is refused as corrupt", at);
        newer[at] ^= 0x10;
    }
    CHECK_MSG(replica_restore(b, newer, nlen - 1) == KV_ERR_CORRUPT,
              "a snapshot cut short is refused");
    CHECK_MSG(strstr(kv_errmsg(), "offset") != NULL, "the message names an offset (got %s)",
              kv_errmsg());
    CHECK_MSG(replica_applied(b) == 1 && strcmp(value(b, "mine"), "1") == 0,
              "a refused snapshot changes nothing");
    free(snap);
    free(newer);
    CHECK_KV(replica_close(a), KV_OK);
    CHECK_KV(replica_close(b), KV_OK);
    free(da);
    free(db);
}

static void a_damaged_replica_file_is_named(void)
{
    char *dir = dir_of("r");
    replica *r = NULL;
    CHECK_KV(replica_open(dir, NULL, &r), KV_OK);
    CHECK_KV(replica_close(r), KV_OK);
    char *path = malloc(strlen(dir) + 16);
    sprintf(path, "%s/REPLICA", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("data-c\n", f);
    fclose(f);
    CHECK_KV(replica_open(dir, NULL, &r), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "REPLICA") != NULL && strstr(kv_errmsg(), "offset 0") != NULL,
              "the message names the file and the offset (got %s)", kv_errmsg());
    free(path);
    free(dir);
}

/* The replica's own keys, written with junk behind its back (a damaged
 * engine, a tool run on it), are refused as corrupt, not read as an
 * index or an address. */
static void the_replicas_own_keys_holding_junk_are_refused(void)
{
    char *dir = dir_of("r");
    replica *r = NULL;
    CHECK_KV(replica_open(dir, NULL, &r), KV_OK);
    uint8_t key[COMMAND_MEMBER_KEY_LEN + 8];
    memcpy(key, COMMAND_MEMBER_KEY, COMMAND_MEMBER_KEY_LEN);
    memset(key + COMMAND_MEMBER_KEY_LEN, 0, 8);
    key[sizeof key - 1] = 2; /* member 2 (the id big-endian) */
    CHECK_KV(kv_put(replica_db(r), key, sizeof key, "no address", 10), KV_OK);
    char addr[64];
    CHECK_KV(replica_member_address(r, 2, addr, sizeof addr), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "member 2's address key holds 10 bytes that are not "
                                  "HOST:PORT") != NULL, "the message names the member (got %s)",
              kv_errmsg());
    CHECK_MSG(replica_member_address(r, 3, addr, sizeof addr) == 0, "member 3: no address");
    CHECK_KV(kv_put(replica_db(r), REPLICA_APPLIED_KEY, REPLICA_APPLIED_KEY_LEN, "abc", 3), KV_OK);
    CHECK_KV(replica_close(r), KV_OK);
    CHECK_KV(replica_open(dir, NULL, &r), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "the applied index's key holds 3 bytes, not 8") != NULL,
              "reopened, an applied index of 3 bytes is refused (got %s)", kv_errmsg());
    free(dir);
}

/* A snapshot of more records than one restore batch holds (4096) is
 * restored whole. */
static void a_snapshot_larger_than_a_batch_restores_whole(void)
{
    char *da = dir_of("a"), *db = dir_of("b");
    replica *a = NULL, *b = NULL;
    CHECK_KV(replica_open(da, NULL, &a), KV_OK);
    CHECK_KV(replica_open(db, NULL, &b), KV_OK);
    command *c = NULL;
    CHECK_KV(command_new(&c), KV_OK);
    char k[16];
    for (int i = 0; i < 10000; i++) {
        snprintf(k, sizeof k, "k%05d", i);
        CHECK_KV(command_put(c, k, strlen(k), k, strlen(k)), KV_OK);
    }
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    int outcome = -1;
    CHECK_KV(replica_apply(a, 1, p, len, &outcome, NULL), KV_OK);
    CHECK(outcome == REPLICA_APPLIED);
    command_free(c);
    void *snap = NULL;
    size_t slen = 0;
    uint64_t index = 0;
    CHECK_KV(replica_snapshot(a, alloc, free, &snap, &slen, &index), KV_OK);
    CHECK_KV(replica_restore(b, snap, slen), KV_OK);
    CHECK_MSG(replica_applied(b) == 1 && strcmp(value(b, "k00000"), "k00000") == 0 &&
                  strcmp(value(b, "k04096"), "k04096") == 0 &&
                  strcmp(value(b, "k09999"), "k09999") == 0,
              "b holds the first key, the first of the second batch, and the last");
    free(snap);
    CHECK_KV(replica_close(a), KV_OK);
    CHECK_KV(replica_close(b), KV_OK);
    free(da);
    free(db);
}

/* A put of kind 4 (SET NX) applies only if its key is absent, one of
 * kind 5 (SET XX) only if present, each judged after the writes before
 * it in the same command; the rest of the command applies either way. */
static void a_conditional_put_applies_only_under_its_own_condition(void)
{
    char *dir = dir_of("r");
    replica *r = NULL;
    CHECK_KV(replica_open(dir, NULL, &r), KV_OK);
    apply(r, 1, "p=old");
    CHECK_MSG(apply(r, 2, "k<a k<b k2=c p<x q>y p>new") == REPLICA_APPLIED,
              "the command applies");
    CHECK_MSG(strcmp(value(r, "k"), "a") == 0 && strcmp(value(r, "k2"), "c") == 0 &&
                  strcmp(value(r, "q"), "-") == 0,
              "k = a (its second NX found it), k2 = c, q absent (XX found none): got k=%s "
              "k2=%s q=%s", value(r, "k"), value(r, "k2"), value(r, "q"));
    CHECK_MSG(strcmp(value(r, "p"), "new") == 0, "p = new: NX found old, XX found it (got %s)",
              value(r, "p"));
    CHECK_MSG(apply(r, 3, "k= k>z k<y") == REPLICA_APPLIED && strcmp(value(r, "k"), "y") == 0,
              "after a delete in the same command, XX finds nothing and NX puts (got k=%s)",
              value(r, "k"));
    CHECK_KV(replica_close(r), KV_OK);
    free(dir);
}

/* A command's reads answer at most REPLICA_READS_MAX_BYTES of values:
 * two reads of a put of the largest value are exactly that many, and
 * answer; a third passes it, and the command's reads answer nothing,
 * said so, with nothing of the engine's kept. */
static void reads_answer_up_to_their_bound(void)
{
    char *dir = dir_of("bound");
    replica *r = NULL;
    CHECK_KV(replica_open(dir, NULL, &r), KV_OK);
    char *big = malloc(KV_MAX_VALUE);
    memset(big, 'v', KV_MAX_VALUE);
    command *c = NULL;
    CHECK_KV(command_new(&c), KV_OK);
    CHECK_KV(command_read(c, "other", 5), KV_OK);
    CHECK_KV(command_put(c, "k", 1, big, KV_MAX_VALUE), KV_OK);
    CHECK_KV(command_read(c, "k", 1), KV_OK);
    CHECK_KV(command_read(c, "k", 1), KV_OK);
    free(big);
    CHECK_MSG(2ull * KV_MAX_VALUE == REPLICA_READS_MAX_BYTES, "the bound is two of the largest "
              "values");
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    replica_reads got = {0};
    CHECK_KV(replica_reads_of(r, p, len, &got), KV_OK);
    CHECK_MSG(got.n == 3 && !got.too_large && !got.r[0].found && got.r[1].found &&
                  got.r[1].vlen == KV_MAX_VALUE && got.r[2].val[KV_MAX_VALUE - 1] == 'v',
              "absent, then the put's value twice: %u bytes, the bound exactly (got %zu "
              "answers, too large %d)", 2u * KV_MAX_VALUE, got.n, got.too_large);
    CHECK_KV(command_read(c, "k", 1), KV_OK);
    p = command_bytes(c, &len);
    CHECK_KV(replica_reads_of(r, p, len, &got), KV_OK);
    CHECK_MSG(got.n == 0 && got.too_large && got.nowned == 0,
              "a third read passes the bound: no answers, too_large, nothing kept (got %zu, "
              "%d, %zu)", got.n, got.too_large, got.nowned);
    replica_reads_free(&got);
    command_free(c);
    replica_close(r);
    free(dir);
}

static const harness_test tests[] = {
    HARNESS_TEST(reads_answer_up_to_their_bound),
    HARNESS_TEST(a_conditional_put_applies_only_under_its_own_condition),
    HARNESS_TEST(commands_apply_in_order_under_their_conditions),
    HARNESS_TEST(a_command_says_which_keys_its_writes_found),
    HARNESS_TEST(a_plain_put_reads_nothing),
    HARNESS_TEST(an_index_applied_before_is_skipped_after_a_reopen),
    HARNESS_TEST(a_snapshot_restores_another_replica_and_never_rolls_back),
    HARNESS_TEST(a_damaged_snapshot_is_refused_and_changes_nothing),
    HARNESS_TEST(a_damaged_replica_file_is_named),
    HARNESS_TEST(the_replicas_own_keys_holding_junk_are_refused),
    HARNESS_TEST(a_snapshot_larger_than_a_batch_restores_whole),
};
const harness_suite replica_suite = HARNESS_SUITE("replica", tests);
