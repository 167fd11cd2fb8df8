/*
 * peer_tls_test.c: a member's TLS (peer_tls.h) on its own, bytes carried
 * by the test from one session to the other.  A group's credentials
 * load; each way they can be wrong (a file missing, one that is not PEM,
 * one too large, a certificate of another group, one naming another
 * member, a key that is not the certificate's) is refused with the file
 * named and what is wrong with it; two members' sessions prove each
 * other's ids and carry bytes both ways; a member of another group is
 * refused by the handshake (T1); a common name gives an id only in
 * its one spelling; and a session stopped half way through its handshake
 * holds no more memory than PEER_TLS_HOLD (T4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* The sanitizers' runtime has it (sanitizer/allocator_interface.h, which
 * gcc's packages do not install). */
size_t __sanitizer_get_current_allocated_bytes(void);
#else
#include <malloc.h>
#endif

#include "../../../tests/harness.h"
#include "io.h"
#include "kv.h"
#include "peer_certs.h"
#include "peer_tls.h"

/* A group's credentials for members 1 and 2 in harness_tmpdir()/name. */
static char *group_of(const char *name)
{
    char *dir = io_join(harness_tmpdir(), name);
    uint64_t ids[] = {1, 2};
    int made = 0;
    CHECK_KV(peer_certs_make(dir, ids, 2, 30, PEER_CERTS_NEW_AUTHORITY, &made), KV_OK);
    CHECK(made == 1);
    return dir;
}

/* Replaces dir/to with the bytes of from_dir/from. */
static void copy_file(const char *from_dir, const char *from, const char *dir, const char *to)
{
    char *src = io_join(from_dir, from), *dst = io_join(dir, to);
    FILE *in = fopen(src, "rb");
    CHECK(in != NULL);
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    FILE *out = fopen(dst, "wb");
    CHECK(out != NULL && fwrite(buf, 1, n, out) == n);
    fclose(out);
    free(src);
    free(dst);
}

static void write_file(const char *dir, const char *name, const char *bytes, size_t n)
{
    char *path = io_join(dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL && fwrite(bytes, 1, n, f) == n);
    fclose(f);
    free(path);
}

/* peer_tls_ctx_open(dir, id) fails with want, its message holding
 * each of the two parts given (NULL: not checked). */
static void refused(const char *dir, uint64_t id, int want, const char *part1, const char *part2,
                    const char *why)
{
    peer_tls_ctx *ctx = NULL;
    int rc = peer_tls_ctx_open(dir, id, &ctx);
    CHECK_MSG(rc == want && ctx == NULL, "%s: refused as %s (got %s)", why, kv_strerror(want),
              kv_strerror(rc));
    const char *msg = kv_errmsg();
    CHECK_MSG((part1 == NULL || strstr(msg, part1) != NULL) &&
                  (part2 == NULL || strstr(msg, part2) != NULL),
              "%s: the message names %s and says %s (got: %s)", why, part1 ? part1 : "-",
              part2 ? part2 : "-", msg);
}

static void wrong_credentials_are_refused_naming_the_file(void)
{
    char *dir = group_of("g"), *other = group_of("other");
    peer_tls_ctx *ctx = NULL;
    CHECK_KV(peer_tls_ctx_open(dir, 1, &ctx), KV_OK);
    peer_tls_ctx_free(ctx);
    refused(dir, 5, KV_ERR_IO, "member-5.crt", "kv DIR certs", "a member without files");

    copy_file(other, "member-1.crt", dir, "member-1.crt");
    refused(dir, 1, KV_ERR_INVALID, "member-1.crt", "not signed by the group's",
            "another group's certificate");
    copy_file(dir, "member-2.crt", dir, "member-1.crt");
    refused(dir, 1, KV_ERR_INVALID, "member-1.crt", "names member 2, not 1",
            "member 2's certificate as member 1's");
    write_file(dir, "member-1.crt", "not a certificate\n", 18);
    refused(dir, 1, KV_ERR_CORRUPT, "member-1.crt", "not a PEM certificate",
            "a certificate file that is not PEM");
    char *big = malloc((1 << 20) + 2);
    memset(big, 'A', (1 << 20) + 1);
    write_file(dir, "member-1.crt", big, (1 << 20) + 1);
    free(big);
    refused(dir, 1, KV_ERR_INVALID, "member-1.crt", "too large",
            "a certificate file over 1 MiB");

    char *g2 = group_of("g2");
    copy_file(g2, "member-2.key", g2, "member-1.key");
    refused(g2, 1, KV_ERR_INVALID, "member-1.key", "do not make a TLS context",
            "member 2's key beside member 1's certificate");
    write_file(g2, "member-1.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n", 33);
    refused(g2, 1, KV_ERR_CORRUPT, "member-1.key", "not a PEM private key",
            "a damaged key file");
    free(g2);
    free(dir);
    free(other);
}

/* Carries what each session has for the network to the other, and goes
 * on with both handshakes, until neither moves: their results. */
static void pump(peer_tls *a, peer_tls *b, int *ra, int *rb)
{
    uint8_t buf[16384];
    for (int round = 0; round < 20; round++) {
        *ra = peer_tls_handshake(a);
        *rb = peer_tls_handshake(b);
        size_t moved = 0, n;
        while ((n = peer_tls_take(a, buf, sizeof buf)) > 0) {
            CHECK_KV(peer_tls_put(b, buf, n), KV_OK);
            moved += n;
        }
        while ((n = peer_tls_take(b, buf, sizeof buf)) > 0) {
            CHECK_KV(peer_tls_put(a, buf, n), KV_OK);
            moved += n;
        }
        if (moved == 0 && *ra != 0 && *rb != 0)
            return;
    }
}

static void two_members_prove_their_ids_and_carry_bytes(void)
{
    char *dir = group_of("g");
    peer_tls_ctx *c1 = NULL, *c2 = NULL;
    CHECK_KV(peer_tls_ctx_open(dir, 1, &c1), KV_OK);
    CHECK_KV(peer_tls_ctx_open(dir, 2, &c2), KV_OK);
    peer_tls *server = NULL, *client = NULL;
    CHECK_KV(peer_tls_new(c1, 1, &server), KV_OK);
    CHECK_KV(peer_tls_new(c2, 0, &client), KV_OK);
    CHECK_MSG(peer_tls_peer_id(server) == 0 && peer_tls_peer_id(client) == 0,
              "no id before the handshake (T2)");
    int rs = 0, rc = 0;
    pump(server, client, &rs, &rc);
    CHECK_MSG(rs == 1 && rc == 1, "both handshakes done (%d, %d): %s", rs, rc, kv_errmsg());
    CHECK_MSG(peer_tls_peer_id(server) == 2 && peer_tls_peer_id(client) == 1,
              "each side proved the other's id (got %llu, %llu)",
              (unsigned long long)peer_tls_peer_id(server),
              (unsigned long long)peer_tls_peer_id(client));
    uint8_t buf[4096], got[4096];
    long n;
    CHECK_MSG(peer_tls_read(server, got, sizeof got) == 0, "nothing to read yet");
    const char *hello = "a message for member 1";
    CHECK_KV(peer_tls_write(client, hello, strlen(hello)), KV_OK);
    size_t m = peer_tls_take(client, buf, sizeof buf);
    CHECK_MSG(m > strlen(hello) && memmem(buf, m, hello, strlen(hello)) == NULL,
              "what crosses the network is longer, and not the plain bytes");
    CHECK_KV(peer_tls_put(server, buf, m), KV_OK);
    n = peer_tls_read(server, got, sizeof got);
    CHECK_MSG(n == (long)strlen(hello) && memcmp(got, hello, (size_t)n) == 0,
              "member 1 reads the plain bytes (got %ld)", n);
    CHECK_KV(peer_tls_write(server, "ok", 2), KV_OK);
    m = peer_tls_take(server, buf, sizeof buf);
    CHECK_KV(peer_tls_put(client, buf, m), KV_OK);
    n = peer_tls_read(client, got, sizeof got);
    CHECK_MSG(n == 2 && memcmp(got, "ok", 2) == 0, "and answers back");
    /* A byte changed on the way: the record fails its check. */
    CHECK_KV(peer_tls_write(client, hello, strlen(hello)), KV_OK);
    m = peer_tls_take(client, buf, sizeof buf);
    buf[m - 3] ^= 0x40;
    CHECK_KV(peer_tls_put(server, buf, m), KV_OK);
    CHECK_MSG(peer_tls_read(server, got, sizeof got) == -1 &&
                  strstr(kv_errmsg(), "TLS read") != NULL,
              "a record changed on the way fails the session (got: %s)", kv_errmsg());
    peer_tls_free(server);
    peer_tls_free(client);
    peer_tls_ctx_free(c1);
    peer_tls_ctx_free(c2);
    free(dir);
}

static void a_member_of_another_group_fails_the_handshake(void)
{
    char *dir = group_of("g"), *other = group_of("other");
    peer_tls_ctx *mine = NULL, *theirs = NULL;
    CHECK_KV(peer_tls_ctx_open(dir, 1, &mine), KV_OK);
    CHECK_KV(peer_tls_ctx_open(other, 2, &theirs), KV_OK);
    for (int side = 0; side < 2; side++) { /* the outsider connects, then accepts */
        peer_tls *server = NULL, *client = NULL;
        CHECK_KV(peer_tls_new(side == 0 ? mine : theirs, 1, &server), KV_OK);
        CHECK_KV(peer_tls_new(side == 0 ? theirs : mine, 0, &client), KV_OK);
        int rs = 0, rc = 0;
        pump(server, client, &rs, &rc);
        peer_tls *member = side == 0 ? server : client;
        int rm = side == 0 ? rs : rc;
        CHECK_MSG(rm == -1 && peer_tls_peer_id(member) == 0,
                  "the member %s refuses the outsider's certificate (T1; got %d)",
                  side == 0 ? "accepting" : "connecting", rm);
        peer_tls_free(server);
        peer_tls_free(client);
    }
    peer_tls_ctx_free(mine);
    peer_tls_ctx_free(theirs);
    free(dir);
    free(other);
}

static void a_common_name_gives_an_id_in_one_spelling(void)
{
    static const struct {
        const char *cn;
        uint64_t id;
    } cases[] = {
        {"kv-raft-member-1", 1},
        {"kv-raft-member-42", 42},
        {"kv-raft-member-18446744073709551615", UINT64_MAX},
        {"kv-raft-member-18446744073709551616", 0}, /* past 64 bits */
        {"kv-raft-member-0", 0},
        {"kv-raft-member-07", 0},
        {"kv-raft-member-", 0},
        {"kv-raft-member-1x", 0},
        {"kv-raft-member-+1", 0},
        {"kv-raft-member-123456789012345678901", 0},
        {"kv-raft-membe-1", 0},
        {"KV-RAFT-MEMBER-1", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_MSG(peer_tls_id_of_cn(cases[i].cn) == cases[i].id, "%s gives %llu (got %llu)",
                  cases[i].cn, (unsigned long long)cases[i].id,
                  (unsigned long long)peer_tls_id_of_cn(cases[i].cn));
}

/* The bytes of dir/name (up to 16 KiB), for comparing. */
static size_t read_all(const char *dir, const char *name, char *buf, size_t cap)
{
    char *path = io_join(dir, name);
    FILE *f = fopen(path, "rb");
    size_t n = f != NULL ? fread(buf, 1, cap, f) : 0;
    if (f != NULL)
        fclose(f);
    free(path);
    return n;
}

static long mode_of(const char *dir, const char *name)
{
    char *path = io_join(dir, name);
    struct stat st;
    long mode = stat(path, &st) == 0 ? (long)(st.st_mode & 0777) : -1;
    free(path);
    return mode;
}

/* K1, K3, K5 and the renewals: keys are 0600 in a 0700 directory; a
 * directory others may write to is refused; without ca.key nothing is
 * made and ca.crt is untouched; members made together expire apart; a
 * member renewed, and an authority renewed for the same key, load. */
static void credentials_keep_their_rules_and_renew(void)
{
    char *dir = group_of("g");
    CHECK_MSG(mode_of(dir, "member-1.key") == 0600 && mode_of(dir, "ca.key") == 0600 &&
                  mode_of(dir, ".") == 0700,
              "keys 0600 (%lo), the directory 0700 (%lo)", mode_of(dir, "member-1.key"),
              mode_of(dir, "."));
    peer_tls_ctx *one = NULL, *two = NULL;
    CHECK_KV(peer_tls_ctx_open(dir, 1, &one), KV_OK);
    CHECK_KV(peer_tls_ctx_open(dir, 2, &two), KV_OK);
    peer_tls_expiry e1, e2;
    peer_tls_ctx_expiry(one, &e1);
    peer_tls_ctx_expiry(two, &e2);
    CHECK_MSG(strcmp(e1.file, "member-1.crt") == 0 && strcmp(e2.file, "member-2.crt") == 0,
              "a member's certificate expires before the authority's (%s)", e1.file);
    CHECK_MSG(e1.not_after - e2.not_after > 86400, "members made together expire apart: "
              "member 2 %ld s before member 1", (long)(e1.not_after - e2.not_after));
    peer_tls_ctx_free(two);

    uint64_t ids[] = {2};
    CHECK_KV(peer_certs_renew(dir, ids, 1, 10), KV_OK);
    CHECK_KV(peer_tls_ctx_open(dir, 2, &two), KV_OK);
    peer_tls_ctx_expiry(two, &e2);
    CHECK_MSG(e2.not_after > time(NULL) + 9 * 86400 && e2.not_after < time(NULL) + 11 * 86400,
              "member 2 renewed for 10 days");
    peer_tls_ctx_free(two);
    CHECK_KV(peer_certs_renew_authority(dir, 5), KV_OK);
    CHECK_KV(peer_tls_ctx_open(dir, 1, &two), KV_OK);
    peer_tls_ctx_expiry(two, &e2);
    CHECK_MSG(strcmp(e2.file, "ca.crt") == 0 && e2.not_after < time(NULL) + 6 * 86400,
              "member 1's old certificate is good under the authority renewed for 5 days, "
              "which now expires first (%s)", e2.file);
    peer_tls_ctx_free(two);
    peer_tls_ctx_free(one);

    char *copy = io_join(harness_tmpdir(), "copy");
    CHECK_KV(peer_certs_dir(copy), KV_OK);
    copy_file(dir, "ca.crt", copy, "ca.crt");
    char before[16384], after[16384];
    size_t nb = read_all(copy, "ca.crt", before, sizeof before);
    uint64_t four[] = {4};
    int made = 0;
    CHECK_MSG(peer_certs_make(copy, four, 1, 30, 0, &made) == KV_ERR_INVALID &&
                  strstr(kv_errmsg(), "ca.key is not here") != NULL,
              "without ca.key, no member is made (%s)", kv_errmsg());
    CHECK_MSG(peer_certs_make(copy, four, 1, 30, PEER_CERTS_NEW_AUTHORITY, &made) ==
                  KV_ERR_INVALID && !made,
              "nor a new authority over a ca.crt");
    CHECK_MSG(read_all(copy, "ca.crt", after, sizeof after) == nb &&
                  memcmp(before, after, nb) == 0 && mode_of(copy, "member-4.key") == -1,
              "ca.crt is unchanged, no key was written");
    CHECK_MSG(peer_certs_renew(copy, four, 1, 30) == KV_ERR_INVALID, "nor renewed without one");
    char *open_dir = io_join(harness_tmpdir(), "open");
    CHECK(mkdir(open_dir, 0700) == 0 && chmod(open_dir, 0777) == 0);
    CHECK_MSG(peer_certs_make(open_dir, four, 1, 30, PEER_CERTS_NEW_AUTHORITY, &made) ==
                  KV_ERR_INVALID && strstr(kv_errmsg(), "mode 777") != NULL,
              "a directory others can write to is refused (%s)", kv_errmsg());
    CHECK_MSG(mode_of(open_dir, "ca.key") == -1, "and nothing is made in it");
    free(open_dir);
    free(copy);
    free(dir);
}

/* The bytes the process has allocated now (the sanitizers' allocator's
 * count under them, glibc's otherwise). */
static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

/* T4: member 2's sessions, each stopped where a stranger's handshake
 * costs a member most: the ClientHello answered (key share and
 * signature done), then half of the peer's next flight (its certificate)
 * given, PEER_TLS_FEED bytes at a time.  What they hold, on average,
 * stays within PEER_TLS_HOLD; once each is finished, they go on. */
static void a_session_half_way_through_its_handshake_holds_at_most_its_bound(void)
{
    char *dir = group_of("held");
    peer_tls_ctx *c1 = NULL, *c2 = NULL;
    CHECK_KV(peer_tls_ctx_open(dir, 1, &c1), KV_OK);
    CHECK_KV(peer_tls_ctx_open(dir, 2, &c2), KV_OK);
    enum { N = 64 };
    static peer_tls *cl[N], *sv[N];
    static uint8_t flight[N][16384];
    static size_t flight_len[N];
    uint8_t buf[16384];
    for (int i = 0; i < N; i++) {
        CHECK_KV(peer_tls_new(c1, 0, &cl[i]), KV_OK);
        CHECK(peer_tls_handshake(cl[i]) == 0);
    }
    size_t before = heap_in_use();
    for (int i = 0; i < N; i++) {
        CHECK_KV(peer_tls_new(c2, 1, &sv[i]), KV_OK);
        size_t n = peer_tls_take(cl[i], buf, sizeof buf);   /* the ClientHello */
        CHECK_KV(peer_tls_put(sv[i], buf, n), KV_OK);
        CHECK(peer_tls_handshake(sv[i]) == 0);
        n = peer_tls_take(sv[i], buf, sizeof buf);          /* its answer */
        CHECK_KV(peer_tls_put(cl[i], buf, n), KV_OK);
        CHECK(peer_tls_handshake(cl[i]) == 1);
        flight_len[i] = peer_tls_take(cl[i], flight[i], sizeof flight[i]);
        CHECK_MSG(flight_len[i] > 2, "the client's certificate flight (%zu bytes)",
                  flight_len[i]);
        for (size_t at = 0; at < flight_len[i] / 2; at += PEER_TLS_FEED) {
            size_t k = flight_len[i] / 2 - at < PEER_TLS_FEED ? flight_len[i] / 2 - at
                                                              : PEER_TLS_FEED;
            CHECK_KV(peer_tls_put(sv[i], flight[i] + at, k), KV_OK);
            CHECK(peer_tls_handshake(sv[i]) == 0);
        }
    }
    size_t after = heap_in_use();
    size_t each = after > before ? (after - before) / N : 0;
    CHECK_MSG(each > 1024 && each <= PEER_TLS_HOLD,
              "a session half way through its handshake holds %zu bytes (at most %u)", each,
              PEER_TLS_HOLD);
    for (int i = 0; i < N; i++) {
        size_t half = flight_len[i] / 2;
        CHECK_KV(peer_tls_put(sv[i], flight[i] + half, flight_len[i] - half), KV_OK);
        CHECK_MSG(peer_tls_handshake(sv[i]) == 1 && peer_tls_peer_id(sv[i]) == 1,
                  "session %d finishes its handshake and proves member 1", i);
        CHECK_KV(peer_tls_write(cl[i], "ping", 4), KV_OK);
        size_t n = peer_tls_take(cl[i], buf, sizeof buf);
        CHECK_KV(peer_tls_put(sv[i], buf, n), KV_OK);
        CHECK(peer_tls_read(sv[i], buf, sizeof buf) == 4 && memcmp(buf, "ping", 4) == 0);
        peer_tls_free(sv[i]);
        peer_tls_free(cl[i]);
    }
    peer_tls_ctx_free(c1);
    peer_tls_ctx_free(c2);
    free(dir);
}

static const harness_test tests[] = {
    HARNESS_TEST(wrong_credentials_are_refused_naming_the_file),
    HARNESS_TEST(two_members_prove_their_ids_and_carry_bytes),
    HARNESS_TEST(a_member_of_another_group_fails_the_handshake),
    HARNESS_TEST(a_common_name_gives_an_id_in_one_spelling),
    HARNESS_TEST(credentials_keep_their_rules_and_renew),
    HARNESS_TEST(a_session_half_way_through_its_handshake_holds_at_most_its_bound),
};
const harness_suite peer_tls_suite = HARNESS_SUITE("peer_tls", tests);
