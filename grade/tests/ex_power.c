/*
 * ex_power.c: the power cut at every step of a workload (ex_power.h).
 */
#include "ex_power.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exercise.h"
#include "io_sim.h"

enum { POWER_ACKS = 4096, POWER_KEY = 64, POWER_VAL = 256, POWER_TEXT = 512 };

typedef struct power_ack {
    size_t at;          /* journal position when it was acknowledged */
    char key[POWER_KEY];
    char val[POWER_VAL];
    int is_delete;
} power_ack;

static power_ack acks[POWER_ACKS];
static int nacks;
static const char *power_root;

const char *ex_power_start(void)
{
    power_root = harness_join(harness_tmpdir(), "power");
    EX_CHECK(mkdir(power_root, 0755) == 0, "test setup: mkdir %s", power_root);
    nacks = 0;
    int rc = EX_KV(io_sim_install(power_root));
    EX_CHECK(rc == KV_OK, "test setup: io_sim_install: %s", ex_errmsg(rc));
    return harness_join(power_root, "db");
}

void ex_power_acked(const char *key, const char *value)
{
    EX_CHECK(nacks < POWER_ACKS && strlen(key) < POWER_KEY &&
                 (value == NULL || strlen(value) < POWER_VAL),
             "test setup: at most %d acknowledged writes of short keys and values", POWER_ACKS);
    power_ack *a = &acks[nacks++];
    a->at = io_sim_position();
    snprintf(a->key, sizeof a->key, "%s", key);
    snprintf(a->val, sizeof a->val, "%s", value ? value : "");
    a->is_delete = value == NULL;
}

void ex_power_stop(void)
{
    io_sim_uninstall();
    EX_CHECK(io_sim_untracked() == 0, "test setup: the simulator followed every I/O call under "
             "%s (%ld it could not)", power_root, io_sim_untracked());
}

static int power_rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(path);
}

static void power_rm(const char *path)
{
    nftw(path, power_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The path an entry's description names after `marker` (up to the end). */
static const char *power_path_after(const char *desc, const char *marker)
{
    const char *p = strstr(desc, marker);
    return p ? p + strlen(marker) : NULL;
}

/* The file entry i acts on ("the file created as F", "create F", "rename
 * A to F": F) into f[0, n); 1 if it names one. */
static int power_file_of(size_t i, char *f, size_t n)
{
    char d[POWER_TEXT];
    io_sim_describe(i, d, sizeof d);
    const char *p = power_path_after(d, "the file created as ");
    if (p == NULL && io_sim_kind(i) == IO_SIM_CREATE)
        p = power_path_after(d, "create ");
    if (p == NULL && io_sim_kind(i) == IO_SIM_RENAME)
        p = power_path_after(d, " to ");
    if (p == NULL)
        return 0;
    snprintf(f, n, "%s", p);
    char *sp = strstr(f, " to "); /* "truncate the file created as F to N bytes" */
    if (sp != NULL && io_sim_kind(i) == IO_SIM_TRUNCATE)
        *sp = '\0';
    return 1;
}

/* The directory of a path ("" for one at the root). */
static void power_dir_of(const char *path, char *d, size_t n)
{
    snprintf(d, n, "%s", path);
    char *slash = strrchr(d, '/');
    if (slash)
        *slash = '\0';
    else
        d[0] = '\0';
}

/* What the journal up to `to` leaves not durable, in words, into w:
 * files appended to (or truncated) since their last fsync, and names
 * made (created, renamed to) since their directory's last fsync. */
static void power_not_durable(size_t to, char *w, size_t n)
{
    w[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < to && used + 1 < n; i++) {
        int k = io_sim_kind(i);
        char f[POWER_TEXT], d[POWER_TEXT], e[POWER_TEXT];
        if ((k != IO_SIM_APPEND && k != IO_SIM_TRUNCATE && k != IO_SIM_CREATE &&
             k != IO_SIM_RENAME) ||
            !power_file_of(i, f, sizeof f))
            continue;
        int data = k == IO_SIM_APPEND || k == IO_SIM_TRUNCATE;
        int covered = 0;
        power_dir_of(f, d, sizeof d);
        for (size_t j = i + 1; j < to && !covered; j++) {
            char g[POWER_TEXT];
            if (data && io_sim_kind(j) == IO_SIM_SYNC && power_file_of(j, g, sizeof g) &&
                strcmp(g, f) == 0)
                covered = 1;
            if (!data && io_sim_kind(j) == IO_SIM_SYNC_DIR) {
                io_sim_describe(j, e, sizeof e);
                const char *p = power_path_after(e, "fsync directory ");
                covered = p != NULL && (strcmp(p, d) == 0 || (d[0] == '\0' &&
                                                              strcmp(p, "(root)") == 0));
            }
        }
        if (covered)
            continue;
        char dup[POWER_TEXT + 32];
        snprintf(dup, sizeof dup, "%s %s", data ? "the data of" : "the name", f);
        if (strstr(w, dup) != NULL)
            continue;
        int m = snprintf(w + used, n - used, "%s%s (step %zu: %s; %s)", used ? "; " : "", dup,
                         i + 1, (io_sim_describe(i, e, sizeof e), e),
                         data ? "no fsync of it since" : "no fsync of its directory since");
        if (m < 0)
            break;
        used += (size_t)m < n - used ? (size_t)m : n - used - 1;
    }
    if (w[0] == '\0')
        snprintf(w, n, "nothing: every file was synced and every name's directory too");
}

/* Whether `got` (gl bytes; rc KV_OK or KV_NOT_FOUND) is a value the cut
 * at `at` may leave for acks[last]'s key: its value as of the cut, or one
 * acknowledged later. */
static int power_allowed(int last, int rc, const char *got, size_t gl)
{
    for (int i = last; i < nacks; i++) {
        if (strcmp(acks[i].key, acks[last].key) != 0)
            continue;
        if (acks[i].is_delete ? rc == KV_NOT_FOUND
                              : rc == KV_OK && gl == strlen(acks[i].val) &&
                                    memcmp(got, acks[i].val, gl) == 0)
            return 1;
    }
    return 0;
}

int ex_power_check(const kv_options *opt, const char *rule)
{
    size_t end = io_sim_position();
    const char *state = harness_join(harness_tmpdir(), "power-state");
    int states = 0;
    int next_ack = 0;
    for (size_t at = 0; at <= end; at++) {
        /* With every step not synced lost, the state after step `at` is
         * the one after the last sync before it: it changes only after a
         * sync (of a file or a directory).  It is checked there, at the
         * end, and where a write was acknowledged (whose loss, if it was
         * never synced, shows there first). */
        int acked = 0;
        while (next_ack < nacks && acks[next_ack].at <= at)
            acked |= acks[next_ack++].at == at;
        int kind = at > 0 ? io_sim_kind(at - 1) : 0;
        int lose_changes = at == 0 || at == end || acked || kind == IO_SIM_SYNC ||
                           kind == IO_SIM_SYNC_DIR;
        for (int fate = IO_SIM_LOSE; fate <= IO_SIM_KEEP; fate++) {
            if (fate == IO_SIM_LOSE && !lose_changes)
                continue;
            power_rm(state);
            EX_CHECK(mkdir(state, 0755) == 0, "test setup: mkdir %s", state);
            io_sim_crash c = {.at = at, .data = fate, .names = fate, .seed = 1};
            int rc = EX_KV(io_sim_materialize(&c, state, NULL));
            if (rc == IO_SIM_NO_STATE)
                continue;
            EX_CHECK(rc == KV_OK, "test setup: io_sim_materialize: %s", ex_errmsg(rc));
            states++;
            char step[POWER_TEXT], lost[2 * POWER_TEXT];
            io_sim_describe(at == 0 ? 0 : at - 1, step, sizeof step);
            kv_db *db = NULL;
            rc = EX_KV(kv_open(harness_join(state, "db"), opt, &db));
            if (rc != KV_OK)
                power_not_durable(at, lost, sizeof lost);
            EX_CHECK(rc == KV_OK,
                     "%sthe power cut after step %zu of %zu (%s), %s, leaves a database "
                     "kv_open refuses (%d: %s); not yet durable then: %s", rule, at, end,
                     at ? step : "before the first", fate == IO_SIM_LOSE ?
                     "every step not synced lost" : "every step kept", rc, ex_errmsg(rc), lost);
            for (int i = 0; i < nacks; i++) {
                if (acks[i].at > at)
                    break;
                int last = i; /* the key's last acknowledgement before the cut */
                for (int j = i + 1; j < nacks && acks[j].at <= at; j++)
                    if (strcmp(acks[j].key, acks[i].key) == 0)
                        last = j;
                if (last != i)
                    continue;
                void *got = NULL;
                size_t gl = 0;
                rc = kv_get(db, acks[i].key, strlen(acks[i].key), &got, &gl);
                int ok = (rc == KV_OK || rc == KV_NOT_FOUND) && power_allowed(i, rc, got, gl);
                if (!ok) {
                    char ackstep[POWER_TEXT], now[2 * POWER_TEXT];
                    io_sim_describe(acks[i].at ? acks[i].at - 1 : 0, ackstep, sizeof ackstep);
                    power_not_durable(acks[i].at, lost, sizeof lost);
                    power_not_durable(at, now, sizeof now);
                    kv_close(db);
                    EX_CHECK(ok,
                             "%sthe power cut after step %zu of %zu (%s), %s, loses a write "
                             "acknowledged after step %zu (%s): %s %s %s (kv_get: %d); not "
                             "yet durable when it was acknowledged: %s; at the cut: %s", rule,
                             at, end, at ? step : "before the first", fate == IO_SIM_LOSE ?
                             "every step not synced lost" : "every step kept", acks[i].at,
                             ackstep, acks[i].is_delete ? "delete" : "put", acks[i].key,
                             acks[i].is_delete ? "" : acks[i].val, rc, lost, now);
                }
                if (rc == KV_OK)
                    kv_free(got);
            }
            kv_close(db);
        }
    }
    power_rm(state);
    io_sim_reset();
    return states;
}
