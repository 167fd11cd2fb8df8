/*
 * member_note_test.c: members' client addresses through the log
 * (member_note.h, replica_note): a note parses back member for member;
 * every prefix, a changed header byte, a bad address and bytes after the
 * last member are refused; a replica stores the addresses with its
 * applied index, skips a note applied before, and a snapshot carries
 * them to another replica.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "member_note.h"
#include "replica.h"

static size_t sample(uint8_t *out, size_t cap)
{
    member_note n = {.n = 2, .id = {4, 300}};
    strcpy(n.addr[0], "127.0.0.1:6394");
    strcpy(n.addr[1], "db-7.example:16379");
    return member_note_encode(&n, out, cap);
}

static void a_note_parses_back_and_every_break_is_refused(void)
{
    uint8_t buf[128];
    size_t len = sample(buf, sizeof buf);
    CHECK_MSG(len == 56, "a note of two members takes 4 + (9 + 14) + (9 + 18) = 54 bytes, "
              "padded to 56, a multiple of 8 (got %zu)", len);
    member_note n;
    CHECK_KV(member_note_parse(buf, len, &n), KV_OK);
    CHECK_MSG(n.n == 2 && n.id[0] == 4 && n.id[1] == 300 &&
              strcmp(n.addr[0], "127.0.0.1:6394") == 0 &&
              strcmp(n.addr[1], "db-7.example:16379") == 0,
              "the note reads back its two members");
    for (size_t cut = 0; cut < len; cut++)
        CHECK_MSG(member_note_parse(buf, cut, &n) == KV_ERR_CORRUPT,
                  "a note cut to %zu bytes is refused", cut);
    const size_t bytes[] = {0, 1, 2, 4, 12, 13, 20};
    for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; i++) {
        uint8_t bad[128];
        memcpy(bad, buf, len);
        bad[bytes[i]] = bytes[i] == 12 ? 0 : bytes[i] >= 13 ? 0x01 : bad[bytes[i]] ^ 0x40;
        if (bytes[i] == 4) /* the first id, 0 */
            memset(bad + 4, 0, 8);
        CHECK_MSG(member_note_parse(bad, len, &n) == KV_ERR_CORRUPT &&
                  strstr(kv_errmsg(), "offset") != NULL,
                  "a note with byte %zu changed is refused, naming an offset (%s)", bytes[i],
                  kv_errmsg());
    }
    uint8_t longer[136];
    memcpy(longer, buf, len);
    memset(longer + len, 0, 8);
    CHECK_MSG(member_note_parse(longer, len + 8, &n) == KV_ERR_CORRUPT,
              "eight zeros after the padding are refused (at most 7)");
    longer[len - 1] = 1;
    CHECK_MSG(member_note_parse(longer, len, &n) == KV_ERR_CORRUPT,
              "a padding byte that is not zero is refused");
    const char *bad_addr[] = {"", "host", ":6379", "host:", "host:123456", "ho st:1", "h:x1"};
    for (size_t i = 0; i < sizeof bad_addr / sizeof bad_addr[0]; i++)
        CHECK_MSG(!member_addr_valid(bad_addr[i], strlen(bad_addr[i])),
                  "'%s' is not HOST:PORT", bad_addr[i]);
    member_note none = {.n = 1, .id = {0}};
    strcpy(none.addr[0], "h:1");
    CHECK_MSG(member_note_encode(&none, buf, sizeof buf) == 0, "id 0 is not encoded");
}

static char *dir_of(const char *name)
{
    char *p = malloc(strlen(harness_tmpdir()) + strlen(name) + 2);
    sprintf(p, "%s/%s", harness_tmpdir(), name);
    return p;
}

static void *alloc(size_t n)
{
    return malloc(n);
}

static void addresses_are_kept_once_and_travel_in_a_snapshot(void)
{
    char *da = dir_of("na"), *db = dir_of("nb");
    replica *a = NULL, *b = NULL;
    CHECK_KV(replica_open(da, NULL, &a), KV_OK);
    uint8_t buf[128];
    size_t len = sample(buf, sizeof buf);
    int outcome = -1;
    CHECK_KV(replica_note(a, 5, buf, len, &outcome), KV_OK);
    CHECK_MSG(outcome == REPLICA_APPLIED && replica_applied(a) == 5,
              "a note at index 5 applies and takes the index (outcome %d, applied %llu)",
              outcome, (unsigned long long)replica_applied(a));
    char addr[64];
    CHECK_MSG(replica_member_address(a, 300, addr, sizeof addr) == 1 &&
                  strcmp(addr, "db-7.example:16379") == 0,
              "member 300's address is stored");
    CHECK_MSG(replica_member_address(a, 5, addr, sizeof addr) == 0, "member 5 has none");
    member_note again = {.n = 1, .id = {4}};
    strcpy(again.addr[0], "10.0.0.4:1");
    len = member_note_encode(&again, buf, sizeof buf);
    CHECK_KV(replica_note(a, 5, buf, len, &outcome), KV_OK);
    CHECK_MSG(outcome == REPLICA_SKIPPED, "a note at the applied index is skipped");
    CHECK_KV(replica_note(a, 6, "\x02\x00\x00\x00\x00\x00\x00\x00", 8, &outcome), KV_OK);
    CHECK_MSG(outcome == REPLICA_INVALID && replica_applied(a) == 6,
              "a note that does not decode applies as nothing but takes its index");
    CHECK_KV(replica_close(a), KV_OK);
    CHECK_KV(replica_open(da, NULL, &a), KV_OK);
    CHECK_MSG(replica_member_address(a, 4, addr, sizeof addr) == 1 &&
                  strcmp(addr, "127.0.0.1:6394") == 0,
              "after a reopen, member 4's address is the first note's (got %s)", addr);
    void *snap = NULL;
    size_t slen = 0;
    uint64_t index = 0;
    CHECK_KV(replica_snapshot(a, alloc, free, &snap, &slen, &index), KV_OK);
    CHECK_KV(replica_open(db, NULL, &b), KV_OK);
    CHECK_KV(replica_restore(b, snap, slen), KV_OK);
    CHECK_MSG(replica_applied(b) == 6 && replica_member_address(b, 300, addr, sizeof addr) == 1 &&
                  strcmp(addr, "db-7.example:16379") == 0,
              "a replica restored from the snapshot knows member 300's address");
    free(snap);
    CHECK_KV(replica_close(a), KV_OK);
    CHECK_KV(replica_close(b), KV_OK);
    free(da);
    free(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(a_note_parses_back_and_every_break_is_refused),
    HARNESS_TEST(addresses_are_kept_once_and_travel_in_a_snapshot),
};
const harness_suite member_note_suite = HARNESS_SUITE("member_note", tests);
