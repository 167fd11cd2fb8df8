/*
 * apply_once_test.c: exercise apply_once, conditions_hold and
 * replica_apply (stages/10-raft/replica/replica.c): a command applied at
 * a log index at most once, its conditions read from the engine as it
 * applies, and the applied index written in the same kv_write as the
 * command's writes (replica.h, R1 and R2).  Replicas in the test's
 * directory, through replica.h and kv.h; the commands built by the
 * reference's builder; power cuts by the power-loss simulator
 * (common/io_sim.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "command.h"
#include "ex_replica.h"
#include "exercise.h"
#include "io_fault.h"
#include "io_sim.h"
#include "kv.h"
#include "replica.h"

static const char *apply_dir(const char *name)
{
    static const char *tmp;
    if (tmp == NULL)
        tmp = harness_tmpdir();
    return harness_join(tmp, name);
}

static replica *apply_open(const char *dir, const kv_options *opt)
{
    return ex_replica_open_opt(dir, opt);
}

static void apply_close(replica *r)
{
    ex_replica_close(r);
}

/* The command of `ops`: writes "key=value" ("key=" deletes) under the
 * conditions "key?value" (holds value) and "key!" (absent). */
static command *apply_command(const char *ops)
{
    command *c = NULL;
    EX_CHECK(command_new(&c) == KV_OK, "test setup: command_new");
    char *copy = strdup(ops), *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        char *q = strchr(w, '?'), *e = strchr(w, '='), *x = strchr(w, '!');
        int rc;
        if (q != NULL)
            rc = command_if_value(c, w, (size_t)(q - w), q + 1, strlen(q + 1));
        else if (x != NULL)
            rc = command_if_absent(c, w, (size_t)(x - w));
        else if (e[1] == '\0')
            rc = command_delete(c, w, (size_t)(e - w));
        else
            rc = command_put(c, w, (size_t)(e - w), e + 1, strlen(e + 1));
        EX_CHECK(rc == KV_OK, "test setup: the command's builder on %s", w);
    }
    free(copy);
    return c;
}

static const char *outcome_name(int o)
{
    return o == REPLICA_APPLIED ? "REPLICA_APPLIED"
           : o == REPLICA_REFUSED ? "REPLICA_REFUSED"
           : o == REPLICA_INVALID ? "REPLICA_INVALID"
           : o == REPLICA_SKIPPED ? "REPLICA_SKIPPED"
                                  : "no outcome";
}

/* Applies `ops` at index; the outcome. */
static int apply(replica *r, uint64_t index, const char *ops)
{
    command *c = apply_command(ops);
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    int outcome = -1;
    int rc = EX_KV(replica_apply(r, index, p, len, &outcome, NULL));
    EX_CHECK(rc == KV_OK, "replica_apply at index %llu of \"%s\" returns KV_OK (got %s: %s)",
             (unsigned long long)index, ops, kv_strerror(rc), ex_errmsg(rc));
    command_free(c);
    return outcome;
}

static void apply_expect(replica *r, uint64_t index, const char *ops, int want, const char *rule)
{
    harness_context("replica_apply at index %llu of \"%s\": %s", (unsigned long long)index, ops,
                    rule);
    int got = apply(r, index, ops);
    EX_CHECK(got == want, "%s: the command \"%s\" at index %llu is %s (got %s)", rule, ops,
             (unsigned long long)index, outcome_name(want), outcome_name(got));
}

static void apply_once_commands_apply_under_their_conditions(void)
{
    replica *r = apply_open(apply_dir("r"), NULL);
    EX_RULE_BEGIN(3, "conditions read from the engine now, a value exactly, every one");
    apply_expect(r, 1, "x=1 y=2", REPLICA_APPLIED, "a command of two puts and no condition "
                 "applies");
    ex_replica_expect(r, "x", "1", "a command's puts are in the engine once it applied");
    apply_expect(r, 2, "x?1 x=10 y=", REPLICA_APPLIED, "x holds 1, so the command whose "
                 "condition is x = 1 applies");
    ex_replica_expect(r, "x", "10", "the writes of an applied command are in the engine");
    ex_replica_expect(r, "y", "-", "a delete of an applied command removes its key");
    apply_expect(r, 3, "x?1 x=99", REPLICA_REFUSED, "a condition is read from the engine as "
                 "the command applies, and a value condition holds when the key holds exactly "
                 "that value: x holds 10 now, not 1, so the command is refused");
    ex_replica_expect(r, "x", "10", "a refused command writes nothing");
    apply_expect(r, 4, "z! z=new", REPLICA_APPLIED, "z is absent, so the command whose "
                 "condition is that z is absent applies");
    apply_expect(r, 5, "z! z=again", REPLICA_REFUSED, "z holds a value now (index 4 wrote "
                 "it), so a condition that it is absent does not hold");
    ex_replica_expect(r, "z", "new", "a refused command writes nothing");
    apply_expect(r, 6, "x?1 x=bad", REPLICA_REFUSED, "a value condition holds when the key "
                 "holds exactly that value: x holds \"10\", and \"1\", a prefix of it, is "
                 "another value");
    apply_expect(r, 7, "x?100 x=bad", REPLICA_REFUSED, "a value condition holds when the key "
                 "holds exactly that value: x holds \"10\", and \"100\" is another value");
    apply_expect(r, 8, "y?2 x=bad", REPLICA_REFUSED, "a value condition holds when the key "
                 "holds exactly that value: y is absent (index 2 deleted it)");
    ex_replica_expect(r, "x", "10", "a refused command writes nothing");
    apply_expect(r, 9, "x?10 z?wrong x=bad", REPLICA_REFUSED, "every condition must hold: "
                 "x holds 10, but z holds \"new\", not \"wrong\"");
    apply_expect(r, 10, "x?10 y! z?new x=11", REPLICA_APPLIED, "every condition holds (x = "
                 "10, y absent, z = new), so the command applies");
    ex_replica_expect(r, "x", "11", "the writes of an applied command are in the engine");
    ex_replica_expect(r, "z", "new", "a condition is no write: z, which the command at index 10 "
                 "only reads (its third condition), still holds \"new\"");
    apply_expect(r, 11, "z?new w=1", REPLICA_APPLIED, "z holds \"new\": the command applies");
    ex_replica_expect(r, "z", "new", "a condition is no write: z, which the command at index 11 "
                 "only reads (its one condition), still holds \"new\"");
    ex_replica_expect(r, "w", "1", "the writes of an applied command are in the engine");
    EX_CHECK(replica_applied(r) == 11, "the applied index is the last command's, 11 (got "
             "%llu)", (unsigned long long)replica_applied(r));
    apply_close(r);
}

/* Applies a command of one value condition, key e holding "", and one
 * put; the outcome. */
static int apply_if_empty(replica *r, uint64_t index)
{
    command *c = NULL;
    EX_CHECK(command_new(&c) == KV_OK && command_if_value(c, "e", 1, "", 0) == KV_OK &&
                 command_put(c, "w", 1, "1", 1) == KV_OK,
             "test setup: the command's builder");
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    int outcome = -1;
    harness_context("replica_apply at index %llu of a command whose condition is that e holds "
                    "the empty value (0 bytes): an absent key holds no value at all",
                    (unsigned long long)index);
    int rc = EX_KV(replica_apply(r, index, p, len, &outcome, NULL));
    EX_CHECK(rc == KV_OK, "replica_apply at index %llu returns KV_OK (got %s: %s)",
             (unsigned long long)index, kv_strerror(rc), ex_errmsg(rc));
    command_free(c);
    return outcome;
}

static void apply_once_an_absent_key_holds_no_value(void)
{
    replica *r = apply_open(apply_dir("r"), NULL);
    EX_RULE_BEGIN(3, "an absent key holds no value, not even the empty one");
    int got = apply_if_empty(r, 1);
    EX_CHECK(got == REPLICA_REFUSED, "a value condition holds when the key holds exactly that "
             "value, and an absent key holds none: \"e holds the empty value\" does not hold "
             "while e is absent (kv_get answers KV_NOT_FOUND, not a value of 0 bytes), so the "
             "command is REPLICA_REFUSED (got %s)", outcome_name(got));
    ex_replica_expect(r, "w", "-", "a refused command writes nothing");
    EX_CHECK(kv_put(replica_db(r), "e", 1, "", 0) == KV_OK, "test setup: kv_put of e = \"\"");
    got = apply_if_empty(r, 2);
    EX_CHECK(got == REPLICA_APPLIED, "a value condition holds when the key holds exactly that "
             "value: e holds the empty value now (0 bytes), so \"e holds the empty value\" "
             "holds and the command applies (got %s)", outcome_name(got));
    ex_replica_expect(r, "w", "1", "the writes of an applied command are in the engine");
    apply_expect(r, 3, "e! w=2", REPLICA_REFUSED, "a key that holds the empty value is not "
                 "absent: the condition that e is absent does not hold");
    apply_close(r);
}

static void apply_once_an_index_at_or_below_the_applied_one_is_skipped(void)
{
    const char *dir = apply_dir("r");
    replica *r = apply_open(dir, NULL);
    EX_RULE_BEGIN(1, "an index at or below the applied one is skipped");
    apply_expect(r, 1, "n=1", REPLICA_APPLIED, "index 1 applies");
    apply_expect(r, 2, "n?1 n=2", REPLICA_APPLIED, "index 2 applies");
    apply_expect(r, 3, "n?2 n=3 log=three", REPLICA_APPLIED, "index 3 applies");
    apply_expect(r, 3, "n?2 n=3 log=three", REPLICA_SKIPPED, "an index at or below the "
                 "applied one was applied before and is skipped: at the applied index itself "
                 "too (3), which a restart replays first");
    apply_expect(r, 3, "n=again", REPLICA_SKIPPED, "an index at or below the applied one is "
                 "skipped, whatever the command: at the applied index itself too (3)");
    ex_replica_expect(r, "n", "3", "a skipped command writes nothing");
    apply_expect(r, 1, "n=1", REPLICA_SKIPPED, "index 1, below the applied index 3, is "
                 "skipped: applied again, it would set n back to 1");
    ex_replica_expect(r, "n", "3", "a skipped command writes nothing");
    EX_CHECK(replica_applied(r) == 3, "a skipped command leaves the applied index as it was, "
             "3 (got %llu)", (unsigned long long)replica_applied(r));
    apply_close(r);

    r = apply_open(dir, NULL);
    EX_CHECK(replica_applied(r) == 3, "the applied index survives a reopen: it is kept in the "
             "engine, under REPLICA_APPLIED_KEY (got %llu)",
             (unsigned long long)replica_applied(r));
    apply_expect(r, 1, "n=1", REPLICA_SKIPPED, "after a reopen the library replays its log: "
                 "index 1 is skipped");
    apply_expect(r, 3, "n?2 n=3 log=three", REPLICA_SKIPPED, "after a reopen the library "
                 "replays its log: at the applied index itself (3) the command is skipped");
    ex_replica_expect(r, "n", "3", "the replayed commands changed nothing");
    apply_expect(r, 7, "n?3 n=7", REPLICA_APPLIED, "index 7 applies: a gap (4 to 6 carried "
                 "no command) is allowed");
    apply_expect(r, 5, "n=5", REPLICA_SKIPPED, "index 5, below the applied index 7, is "
                 "skipped");
    EX_CHECK(replica_applied(r) == 7, "the applied index is 7 (got %llu)",
             (unsigned long long)replica_applied(r));
    apply_close(r);
}

static void apply_once_a_refused_command_takes_its_index(void)
{
    const char *dir = apply_dir("r");
    replica *r = apply_open(dir, NULL);
    EX_RULE_BEGIN(4, "a refused command's index is written, in the one kv_write");
    apply_expect(r, 1, "a=1", REPLICA_APPLIED, "index 1 applies");
    apply_expect(r, 2, "a?2 a=3", REPLICA_REFUSED, "a holds 1, not 2: the command is refused");
    EX_CHECK(replica_applied(r) == 2, "a refused command takes its index all the same: the "
             "applied index is 2 (got %llu), as on every member, which all refused it",
             (unsigned long long)replica_applied(r));
    apply_close(r);
    r = apply_open(dir, NULL);
    EX_CHECK(replica_applied(r) == 2, "a refused command's index is written to the engine, "
             "so a reopen finds 2 (got %llu) and the library does not hand the command over "
             "again", (unsigned long long)replica_applied(r));
    ex_replica_expect(r, "a", "1", "a refused command writes nothing");
    apply_close(r);
}

static void apply_once_a_command_that_does_not_decode_takes_its_index(void)
{
    const char *dir = apply_dir("r");
    replica *r = apply_open(dir, NULL);
    apply_expect(r, 1, "a=1", REPLICA_APPLIED, "index 1 applies");
    static const uint8_t junk[16] = {9, 9, 9, 9, 9, 9, 9, 9};
    EX_RULE_BEGIN(2, "a command that does not decode is REPLICA_INVALID and takes its index");
    int outcome = -1;
    harness_context("replica_apply at index 2 of 16 bytes that are no command: REPLICA_INVALID "
                    "with KV_OK, nothing written but the index, which it takes all the same");
    int rc = replica_apply(r, 2, junk, sizeof junk, &outcome, NULL);
    EX_CHECK(rc == KV_OK && outcome == REPLICA_INVALID, "a command that does not decode is "
             "REPLICA_INVALID with KV_OK: it applies as nothing, on every member alike (got "
             "%s, %s)", kv_strerror(rc), outcome_name(outcome));
    EX_CHECK(replica_applied(r) == 2, "a command that does not decode takes its index all the "
             "same: the applied index is 2 (got %llu)", (unsigned long long)replica_applied(r));
    apply_close(r);
    r = apply_open(dir, NULL);
    EX_CHECK(replica_applied(r) == 2, "a command that does not decode has its index written to "
             "the engine: a reopen finds 2 (got %llu)", (unsigned long long)replica_applied(r));
    kv_iter *it = NULL;
    EX_CHECK(EX_KV(kv_iter_new(replica_db(r), &it)) == KV_OK, "kv_iter_new: %s", ex_kv_errmsg());
    size_t keys = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
        size_t klen;
        const void *k = kv_iter_key(it, &klen);
        keys += !command_key_reserved(k, klen);
    }
    kv_iter_free(it);
    EX_CHECK(keys == 1, "a command that does not decode writes nothing: the engine holds one "
             "key of a client's, a (got %zu)", keys);
    apply_close(r);
}

static void apply_once_a_command_says_which_keys_its_writes_found(void)
{
    replica *r = apply_open(apply_dir("r"), NULL);
    EX_RULE_BEGIN(6, "existed: each write's key held a value just before it");
    apply_expect(r, 1, "a=1", REPLICA_APPLIED, "index 1 applies");
    command *c = apply_command("a= b= a=2 a= b=");
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    uint8_t existed[5] = {9, 9, 9, 9, 9};
    int outcome = -1;
    harness_context("replica_apply at index 2 of \"a= b= a=2 a= b=\" with existed[5]: for each "
                    "write, whether its key held a value just before it (read before the "
                    "kv_write)");
    int rc = replica_apply(r, 2, p, len, &outcome, existed);
    EX_CHECK(rc == KV_OK && outcome == REPLICA_APPLIED, "index 2 applies (got %s, %s)",
             kv_strerror(rc), outcome_name(outcome));
    EX_CHECK(existed[0] == 1 && existed[1] == 0 && existed[2] == 0 && existed[3] == 1 &&
                 existed[4] == 0,
             "existed gets, for each write of an applied command, whether its key held a value "
             "just before it (existed_of, read before the kv_write; what DEL answers): got %u "
             "%u %u %u %u, want 1 0 0 1 0", existed[0], existed[1], existed[2], existed[3],
             existed[4]);
    EX_CHECK(replica_applied(r) == 2, "a command applied with existed asked for takes its "
             "index as any other: 2 (got %llu)", (unsigned long long)replica_applied(r));
    ex_replica_expect(r, "a", "-", "a command applied with existed asked for is written as any "
                 "other: its last write deletes a");
    command_free(c);
    apply_close(r);
}

/* Applies c at index with existed[n] asked for (NULL: not), KV_OK and
 * REPLICA_APPLIED expected. */
static void apply_built(replica *r, uint64_t index, command *c, uint8_t *existed,
                        const char *what)
{
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    int outcome = -1;
    harness_context("replica_apply at index %llu of %s, existed %s", (unsigned long long)index,
                    what, existed != NULL ? "asked for" : "not asked for (NULL)");
    int rc = EX_KV(replica_apply(r, index, p, len, &outcome, existed));
    EX_CHECK(rc == KV_OK && outcome == REPLICA_APPLIED, "index %llu, %s, applies (got %s, %s: "
             "%s)", (unsigned long long)index, what, kv_strerror(rc), outcome_name(outcome),
             ex_kv_errmsg());
}

static void apply_once_earlier_writes_of_the_command_count(void)
{
    replica *r = apply_open(apply_dir("r"), NULL);
    EX_RULE_BEGIN(6, "what a write found counts the command's own earlier writes");
    apply_expect(r, 1, "a=1", REPLICA_APPLIED, "index 1 applies");
    /* b absent and a = 1 in the engine: b's delete finds the put before
     * it, a's second delete finds what the first removed. */
    command *c = apply_command("b=1 b= a= a=");
    uint8_t existed[4] = {9, 9, 9, 9};
    apply_built(r, 2, c, existed, "\"b=1 b= a= a=\" over a = 1, b absent");
    EX_CHECK(existed[0] == 0 && existed[1] == 1 && existed[2] == 1 && existed[3] == 0,
             "existed counts the command's own earlier writes: b's delete finds the value the "
             "put before it wrote (1), a's second delete finds a removed by the first (0), "
             "whatever the engine held: got %u %u %u %u, want 0 1 1 0", existed[0], existed[1],
             existed[2], existed[3]);
    command_free(c);
    /* A SET NX after a delete of its key, a SET XX after a put of its key:
     * each judged on the key as the writes before it left it, existed
     * asked for or not. */
    for (int asked = 0; asked <= 1; asked++) {
        uint64_t index = 3 + (uint64_t)asked;
        EX_CHECK(kv_put(replica_db(r), "n", 1, "old", 3) == KV_OK &&
                     kv_delete(replica_db(r), "x", 1) == KV_OK,
                 "test setup: n = old, x absent");
        EX_CHECK(command_new(&c) == KV_OK && command_delete(c, "n", 1) == KV_OK &&
                     command_put_when(c, COMMAND_PUT_IF_ABSENT, "n", 1, "nx", 2) == KV_OK &&
                     command_put(c, "x", 1, "1", 1) == KV_OK &&
                     command_put_when(c, COMMAND_PUT_IF_PRESENT, "x", 1, "xx", 2) == KV_OK,
                 "test setup: the command's builder");
        uint8_t found[4] = {9, 9, 9, 9};
        apply_built(r, index, c, asked ? found : NULL,
                    "\"n= (n=nx if absent) x=1 (x=xx if present)\" over n = old, x absent");
        char n[64], x[64];
        snprintf(n, sizeof n, "%s", ex_replica_value(r, "n"));
        snprintf(x, sizeof x, "%s", ex_replica_value(r, "x"));
        EX_CHECK(strcmp(n, "nx") == 0 && strcmp(x, "xx") == 0,
                 "a put of kind 4 or 5 is judged on its key as the command's earlier writes "
                 "left it, not as the engine held it (existed %s): the SET NX of n after the "
                 "delete of n applies (n = nx), the SET XX of x after the put of x applies (x = "
                 "xx); got n = %s, x = %s", asked ? "asked for" : "not asked for",
                 strcmp(n, "-") == 0 ? "absent" : n, strcmp(x, "-") == 0 ? "absent" : x);
        if (asked)
            EX_CHECK(found[0] == 1 && found[1] == 0 && found[2] == 0 && found[3] == 1,
                     "existed counts the command's own earlier writes: n's delete finds old "
                     "(1), the SET NX after it finds n absent (0), x's plain put 0, the SET XX "
                     "after it finds x's put (1): got %u %u %u %u, want 1 0 0 1", found[0],
                     found[1], found[2], found[3]);
        command_free(c);
    }
    apply_close(r);
}

static void apply_once_the_index_is_written_in_the_same_kv_write(void)
{
    const char *root = apply_dir("sim");
    EX_CHECK(mkdir(root, 0755) == 0, "test setup: mkdir %s", root);
    int rc = EX_KV(io_sim_install(root));
    EX_CHECK(rc == KV_OK, "test setup: io_sim_install: %s", ex_errmsg(rc));
    kv_options opt;
    kv_options_init(&opt);
    opt.sync = 1;
    const char *dir = harness_join(root, "r");
    replica *r = apply_open(dir, &opt);
    EX_RULE_BEGIN(4, "the index in the same kv_write as the command's writes");
    apply_expect(r, 1, "x=old keep=1", REPLICA_APPLIED, "index 1 applies");
    size_t from = io_sim_position();
    apply_expect(r, 2, "x?old x=new y=new", REPLICA_APPLIED, "index 2 applies");
    size_t to = io_sim_position();
    apply_close(r);
    io_sim_uninstall();
    EX_CHECK(io_sim_untracked() == 0, "test setup: the power-loss simulator followed every "
             "file operation (%ld it could not)", io_sim_untracked());
    for (size_t at = from; at <= to; at++) {
        char name[32];
        snprintf(name, sizeof name, "cut-%zu", at);
        const char *state = apply_dir(name);
        EX_CHECK(mkdir(state, 0755) == 0, "test setup: mkdir %s", state);
        io_sim_crash c = {.at = at, .data = IO_SIM_LOSE, .names = IO_SIM_KEEP};
        rc = EX_KV(io_sim_materialize(&c, state, NULL));
        EX_CHECK(rc == KV_OK, "test setup: io_sim_materialize: %s", ex_errmsg(rc));
        replica *s = apply_open(harness_join(state, "r"), NULL);
        uint64_t applied = replica_applied(s);
        char x[64], y[64];
        snprintf(x, sizeof x, "%s", ex_replica_value(s, "x"));
        snprintf(y, sizeof y, "%s", ex_replica_value(s, "y"));
        int before = applied == 1 && strcmp(x, "old") == 0 && strcmp(y, "-") == 0;
        int after = applied == 2 && strcmp(x, "new") == 0 && strcmp(y, "new") == 0;
        EX_CHECK(before || after, "the applied index is written in the same kv_write as the "
                 "command's writes, so that a power cut keeps both or neither: cut after %zu of "
                 "the %zu file operations of applying index 2 (x=new y=new), the engine says "
                 "index %llu with x=%s and y=%s, where index 1 goes with x=old and y absent, "
                 "index 2 with x=new and y=new; the log replays from the index the engine "
                 "holds, so the command would be lost or applied twice", at - from, to - from,
                 (unsigned long long)applied, x, strcmp(y, "-") == 0 ? "absent" : y);
        apply_close(s);
    }
    io_sim_reset();
}

static void apply_once_an_engine_error_leaves_the_index(void)
{
    /* The engine takes its I/O backend when it opens, so the faults are
     * installed first: a run that fails nothing counts the write calls
     * (appends, syncs, truncates) of opening and applying index 1; then,
     * in fresh directories, every call from one of the next ones on fails,
     * until index 1 applies and index 2 meets the failure. */
    kv_options opt;
    kv_options_init(&opt);
    opt.sync = 1;
    EX_RULE_BEGIN(5, "an engine error is returned, the applied index stays");
    io_fault_plan count = {.kinds = IO_FAULT_WRITES};
    io_fault_install(&count);
    replica *r = apply_open(apply_dir("count"), &opt);
    apply_expect(r, 1, "a=1", REPLICA_APPLIED, "index 1 applies");
    long calls = io_fault_calls();
    apply_close(r);
    io_fault_uninstall();
    int met = 0;
    for (long fail = calls + 1; fail <= calls + 20 && !met; fail++) {
        char name[32];
        snprintf(name, sizeof name, "r%ld", fail);
        io_fault_plan plan = {.kinds = IO_FAULT_WRITES, .fail_at = fail, .persistent = 1};
        io_fault_install(&plan);
        r = NULL;
        if (replica_open(apply_dir(name), &opt, &r) != KV_OK) {
            io_fault_uninstall();
            continue;
        }
        command *c = apply_command("a=1");
        size_t len;
        const uint8_t *p = command_bytes(c, &len);
        int outcome = -1;
        harness_context("replica_apply at index 1 of \"a=1\", every engine write call from number "
                        "%ld on set to fail", fail);
        int rc1 = replica_apply(r, 1, p, len, &outcome, NULL);
        command_free(c);
        if (rc1 == KV_OK && io_fault_failures() == 0) {
            c = apply_command("a=2 b=2");
            p = command_bytes(c, &len);
            harness_context("replica_apply at index 2 while every write call of the engine "
                            "(append, sync, truncate) from number %ld on fails: the error is "
                            "returned and the applied index stays 1", fail);
            int rc = replica_apply(r, 2, p, len, &outcome, NULL);
            if (io_fault_failures() > 0) {
                met = 1;
                EX_CHECK(rc != KV_OK, "an engine error (the kv_write failed: its log could not "
                         "be written or synced) is returned by replica_apply (got KV_OK)");
                EX_CHECK(replica_applied(r) == 1, "an apply whose kv_write failed leaves the "
                         "applied index as it was, 1 (got %llu): the library must not go on "
                         "to later indexes, and the command is applied again once the member "
                         "restarts", (unsigned long long)replica_applied(r));
            }
            command_free(c);
        }
        replica_close(r);
        io_fault_uninstall();
    }
    EX_CHECK(met, "test setup: a write call of index 2's kv_write was made to fail");
}

static void apply_once_a_batch_that_cannot_be_built_writes_nothing(void)
{
    /* A put of 48 MiB, and the process's memory capped below what its
     * batch needs: kv_batch_put fails with KV_ERR_NOMEM, and nothing of
     * the command, its index neither, may reach the engine. */
    replica *r = apply_open(apply_dir("r"), NULL);
    EX_RULE_BEGIN(5, "a batch memory runs out for: the error returned, nothing written");
    apply_expect(r, 1, "a=1", REPLICA_APPLIED, "index 1 applies");
    size_t big = 48u << 20;
    char *v = malloc(big);
    EX_CHECK(v != NULL, "test setup: out of memory");
    memset(v, 'v', big);
    command *c = NULL;
    EX_CHECK(command_new(&c) == KV_OK && command_put(c, "small", 5, "s", 1) == KV_OK &&
                 command_put(c, "big", 3, v, big) == KV_OK,
             "test setup: the command's builder");
    free(v);
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    if (!ex_memory_cap(16u << 20)) {
        command_free(c);
        apply_close(r);
        return; /* a sanitizer's build: the path is left unchecked */
    }
    int outcome = -1;
    harness_context("replica_apply at index 2 of a put of 48 MiB, the process's memory capped "
                    "16 MiB above what it holds: KV_ERR_NOMEM, nothing written, the applied "
                    "index still 1");
    int rc = replica_apply(r, 2, p, len, &outcome, NULL);
    ex_memory_uncap();
    EX_CHECK(rc == KV_ERR_NOMEM, "a command whose batch cannot be built (memory runs out for "
             "its 48 MiB value) is KV_ERR_NOMEM, the engine's error passed on (got %s)",
             kv_strerror(rc));
    EX_CHECK(replica_applied(r) == 1, "a command whose batch cannot be built is not applied: "
             "the applied index stays 1 (got %llu)", (unsigned long long)replica_applied(r));
    ex_replica_expect(r, "small", "-", "a command whose batch cannot be built writes nothing, the "
                 "writes its batch did take neither (one kv_write, and only of a whole batch)");
    command_free(c);
    apply_close(r);
    r = apply_open(apply_dir("r"), NULL);
    EX_CHECK(replica_applied(r) == 1, "after a reopen the applied index is still 1 (got %llu)",
             (unsigned long long)replica_applied(r));
    apply_close(r);
}

/* A put if absent (kind 4), whose answer replica_apply reads before the
 * write, with each allocation of the apply failing in turn: an error is
 * KV_ERR_NOMEM with a message of its own, and the index is not applied. */
static void apply_once_out_of_memory_says_why(void)
{
    replica *r = apply_open(apply_dir("r"), NULL);
    EX_RULE_BEGIN(5, "an error returned with its own message, the applied index left");
    apply_expect(r, 1, "a=1", REPLICA_APPLIED, "index 1 applies");
    command *c = NULL;
    EX_CHECK(command_new(&c) == KV_OK &&
                 command_put_when(c, COMMAND_PUT_IF_ABSENT, "n", 1, "nx", 2) == KV_OK,
             "test setup: the command's builder");
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    for (long n = 1; n < 500; n++) {
        if (!ex_alloc_fail_at(n))
            break; /* a sanitizer's build: no failing allocation */
        int outcome = -1;
        harness_context("replica_apply at index 2 of a put if absent (n = nx), allocation %ld of "
                        "the apply failing", n);
        int rc = EX_KV(replica_apply(r, 2, p, len, &outcome, NULL));
        int failed = ex_alloc_failed();
        ex_alloc_fail_at(0);
        if (!failed) {
            EX_CHECK(rc == KV_OK && replica_applied(r) == 2, "with every allocation granted "
                     "index 2 applies (got %s: %s)", kv_strerror(rc), ex_kv_errmsg());
            break;
        }
        if (rc == KV_OK && replica_applied(r) == 2)
            break; /* it did without that block, and applied the index */
        EX_CHECK(rc == KV_ERR_NOMEM, "an apply whose allocation %ld fails returns KV_ERR_NOMEM "
                 "(got %s)", n, kv_strerror(rc));
        EX_CHECK(kv_errmsg()[0] != '\0', "an apply whose allocation %ld fails says so in "
                 "kv_errmsg(), a message of its own (error.h: the failing path sets it), not "
                 "the empty one or an earlier call's", n);
        EX_CHECK(replica_applied(r) == 1, "an apply that failed leaves the applied index at 1 "
                 "(got %llu)", (unsigned long long)replica_applied(r));
    }
    command_free(c);
    apply_close(r);
}

static void apply_once_a_condition_that_cannot_be_read_writes_nothing(void)
{
    /* A condition on a key of 48 MiB, and the process's memory capped
     * below what kv_get's copy of it needs: the engine cannot say whether
     * the condition holds, so the command is neither refused nor applied. */
    replica *r = apply_open(apply_dir("r"), NULL);
    EX_RULE_BEGIN(5, "an engine error (a kv_get's) is returned, nothing written, the index stays");
    apply_expect(r, 1, "a=1", REPLICA_APPLIED, "index 1 applies");
    size_t big = 48u << 20;
    char *v = malloc(big);
    EX_CHECK(v != NULL, "test setup: out of memory");
    memset(v, 'v', big);
    int rc = EX_KV(kv_put(replica_db(r), "big", 3, v, big));
    free(v);
    EX_CHECK(rc == KV_OK, "test setup: kv_put of a 48 MiB value: %s", ex_kv_errmsg());
    command *c = apply_command("big! w=1");
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    if (!ex_memory_cap(16u << 20)) {
        command_free(c);
        apply_close(r);
        return; /* a sanitizer's build: the path is left unchecked */
    }
    int outcome = -1;
    harness_context("replica_apply at index 2 of \"big! w=1\", big holding 48 MiB and the "
                    "process's memory capped 16 MiB above what it holds: kv_get of big fails "
                    "(KV_ERR_NOMEM), and that error is replica_apply's");
    rc = replica_apply(r, 2, p, len, &outcome, NULL);
    ex_memory_uncap();
    EX_CHECK(rc == KV_ERR_NOMEM, "a condition the engine cannot read (kv_get of its 48 MiB key "
             "runs out of memory) is an engine error, returned as it is (KV_ERR_NOMEM), not a "
             "condition that does not hold: refused, the command would take its index on this "
             "member only (got %s, %s)", kv_strerror(rc), outcome_name(outcome));
    EX_CHECK(replica_applied(r) == 1, "a command whose condition could not be read is not "
             "applied: the applied index stays 1 (got %llu), so it is applied again once the "
             "member restarts", (unsigned long long)replica_applied(r));
    ex_replica_expect(r, "w", "-", "a command whose condition could not be read writes nothing");
    command_free(c);
    apply_close(r);
    r = apply_open(apply_dir("r"), NULL);
    EX_CHECK(replica_applied(r) == 1, "after a reopen the applied index is still 1 (got %llu)",
             (unsigned long long)replica_applied(r));
    apply_close(r);
}

static const harness_test tests[] = {
    HARNESS_TEST(apply_once_commands_apply_under_their_conditions),
    HARNESS_TEST(apply_once_an_absent_key_holds_no_value),
    HARNESS_TEST(apply_once_an_index_at_or_below_the_applied_one_is_skipped),
    HARNESS_TEST(apply_once_a_refused_command_takes_its_index),
    HARNESS_TEST(apply_once_a_command_that_does_not_decode_takes_its_index),
    HARNESS_TEST(apply_once_a_command_says_which_keys_its_writes_found),
    HARNESS_TEST(apply_once_earlier_writes_of_the_command_count),
    HARNESS_TEST(apply_once_the_index_is_written_in_the_same_kv_write),
    HARNESS_TEST(apply_once_an_engine_error_leaves_the_index),
    HARNESS_TEST(apply_once_a_batch_that_cannot_be_built_writes_nothing),
    HARNESS_TEST(apply_once_a_condition_that_cannot_be_read_writes_nothing),
    HARNESS_TEST(apply_once_out_of_memory_says_why),
};
const harness_suite apply_once_suite = HARNESS_SUITE("apply_once", tests);
