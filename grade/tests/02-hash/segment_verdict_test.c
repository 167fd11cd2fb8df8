/*
 * segment_verdict_test.c: exercise segment_verdict, recover_judge
 * (stages/02-hash/engine/hash_recover.c): keep, cut or refuse one segment, from
 * what its replay found and whether it is the last one.
 */
#include <string.h>

#include "exercise.h"
#include "hash_recover.h"
#include "kv.h"

static recover_verdict judge(uint64_t size, int rc, const record_damage *d, int last, int strict)
{
    recover_verdict v;
    memset(&v, 0x5a, sizeof v);
    harness_context("recover_judge of a %llu-byte %s segment, replay rc %d, damage at %llu (torn "
                    "%d)%s: KEEP a whole one (a closed one must end with its seal), CUT a torn "
                    "tail of the last only, REFUSE the rest", (unsigned long long)size,
                    last ? "last" : "closed", rc, (unsigned long long)d->offset, d->torn,
                    strict ? ", strict_recovery" : "");
    recover_judge(size, rc, d, last, strict, &v);
    return v;
}

static void segment_verdict_keeps_intact_segments(void)
{
    record_damage d;
    memset(&d, 0, sizeof d);
    recover_verdict v = judge(1000, KV_OK, &d, 1, 0);
    EX_CHECK(v.sealed == 0, EX_RULE(7, "sealed") "a segment that does not end with its seal has "
             "v.sealed = 0 (got %d)", v.sealed);
    EX_CHECK(v.action == RECOVER_KEEP && v.keep == 1000,
             EX_RULE(1, "KEEP") "the last segment, all valid records: KEEP all 1000 bytes (got "
             "action %d, keep %llu)",
             v.action, (unsigned long long)v.keep);
    d.sealed = 1;
    v = judge(1000, KV_OK, &d, 0, 1);
    EX_CHECK(v.sealed == 1, EX_RULE(7, "sealed") "a segment that ends with its seal has "
             "v.sealed = 1 (got %d)", v.sealed);
    EX_CHECK(v.action == RECOVER_KEEP && v.sealed == 1,
             EX_RULE(1, "KEEP a sealed segment") "a closed segment that ends with its seal: "
             "KEEP, and v.sealed = 1");
}

static void segment_verdict_refuses_a_closed_segment_without_its_seal(void)
{
    record_damage d;
    memset(&d, 0, sizeof d);
    recover_verdict v = judge(1000, KV_OK, &d, 0, 0);
    EX_CHECK(v.action == RECOVER_REFUSE,
             EX_RULE(2, "a closed segment without its seal") "a closed segment (not the last) "
             "whose records are valid but do not end with its "
             "seal was cut short after it was closed, at a record boundary: REFUSE, or "
             "acknowledged writes vanish silently (got %d)", v.action);
    EX_CHECK(v.text[0] != '\0', EX_RULE(8, "the text") "a refusal says why in v.text");
    EX_CHECK(ex_names_number(v.text, 1000),
             EX_RULE(8, "the text") "the refusal of a closed segment without its seal names its "
             "size, 1000 bytes (got \"%s\")", v.text);
}

static void segment_verdict_cuts_a_torn_tail_of_the_last_segment(void)
{
    record_damage d;
    memset(&d, 0, sizeof d);
    d.offset = 700;
    d.why = "record runs past the end of the file";
    d.torn = 1;
    recover_verdict v = judge(1000, RECORD_DAMAGED, &d, 1, 0);
    EX_CHECK(v.action == RECOVER_CUT,
             EX_RULE(3, "CUT a torn tail of the last segment") "a torn tail in the last segment "
             "(the one the next write goes to): CUT (got %d)",
             v.action);
    EX_CHECK(v.keep == 700 && v.cut == 300,
             EX_RULE(3, "keep and cut") "CUT keeps [0, 700), the valid records, and cuts the "
             "300 bytes after (got keep "
             "%llu, cut %llu)", (unsigned long long)v.keep, (unsigned long long)v.cut);
    v = judge(1000, RECORD_DAMAGED, &d, 1, 1);
    EX_CHECK(v.action == RECOVER_REFUSE, EX_RULE(4, "strict") "with strict_recovery a torn tail "
             "is REFUSEd");
}

static void segment_verdict_refuses_a_torn_tail_elsewhere(void)
{
    record_damage d;
    memset(&d, 0, sizeof d);
    d.offset = 700;
    d.why = "record runs past the end of the file";
    d.torn = 1;
    recover_verdict v = judge(1000, RECORD_DAMAGED, &d, 0, 0);
    EX_CHECK(v.action == RECOVER_REFUSE,
             EX_RULE(5, "a torn tail of another segment") "a torn tail in a segment that is not "
             "the last: REFUSE: only the active segment is "
             "appended to, so only it can end in a write a crash cut short (got %d)", v.action);
}

static void segment_verdict_refuses_damage(void)
{
    record_damage d;
    memset(&d, 0, sizeof d);
    d.offset = 300;
    d.why = "checksum mismatch";
    recover_verdict v = judge(1000, RECORD_DAMAGED, &d, 1, 0);
    EX_CHECK(v.action == RECOVER_REFUSE,
             EX_RULE(6, "other damage") "damage that is not torn, even in the last segment: "
             "REFUSE (got %d)", v.action);
    EX_CHECK(strncmp(v.text, "offset 300: ", 12) == 0 && v.text[12] != '\0',
             EX_RULE(8, "the text starts \"offset N: \"") "the refusal's text starts with "
             "where the damage is, \"offset 300: \", then what: kv_check prints it as its "
             "line (FILE: offset X: ...), which tools read (got \"%s\")", v.text);
    d.has_next = 1;
    d.next = 420;
    d.records_after = 3; /* as replay leaves it: the records from 420 on */
    v = judge(1000, RECORD_DAMAGED, &d, 1, 0);
    EX_CHECK(v.action == RECOVER_REFUSE && strstr(v.text, "420") != NULL,
             EX_RULE(8, "where valid records resume") "damage with valid records after it: "
             "REFUSE, and v.text says where they resume "
             "(offset 420)");
}

static void segment_verdict_strict_refusal_says_how_much_is_torn(void)
{
    record_damage d;
    memset(&d, 0, sizeof d);
    d.offset = 700;
    d.why = "record runs past the end of the file";
    d.torn = 1;
    d.records_after = 2;
    recover_verdict v = judge(1000, RECORD_DAMAGED, &d, 1, 1);
    EX_CHECK(v.action == RECOVER_REFUSE, EX_RULE(4, "strict") "with strict_recovery a torn tail "
             "is REFUSEd (got %d)",
             v.action);
    EX_CHECK(ex_names_number(v.text, 700) && ex_names_number(v.text, 300),
             EX_RULE(8, "the text: where and how many bytes") "a strict refusal of a torn tail "
             "says where it starts (offset 700) and how many "
             "bytes it is: the segment's size minus that offset, 300, what a non-strict open "
             "would cut (got \"%s\")", v.text);
}

static void segment_verdict_cut_counts_the_records_lost(void)
{
    /* Stage 03 counts the valid records after a tear (in writes never
     * synced); the verdict reports them, in records_lost and its text. */
    record_damage d;
    memset(&d, 0, sizeof d);
    d.offset = 700;
    d.why = "record runs past the end of the file";
    d.torn = 1;
    d.records_after = 3;
    recover_verdict v = judge(1000, RECORD_DAMAGED, &d, 1, 0);
    EX_CHECK(v.action == RECOVER_CUT && v.records_lost == 3,
             EX_RULE(3, "records_lost") "a CUT loses the valid records after the tear: "
             "records_lost = d->records_after, "
             "3 (got action %d, records_lost %llu)", v.action,
             (unsigned long long)v.records_lost);
    EX_CHECK(ex_names_number(v.text, 700) && ex_names_number(v.text, 300) &&
                 ex_names_number(v.text, 3),
             EX_RULE(8, "the text: where and how many bytes") "the text of a CUT says where "
             "(offset 700), how many bytes are cut (300) and how "
             "many valid records among them are lost (3, records_lost) (got \"%s\")", v.text);
}

static void segment_verdict_names_the_part_that_is_torn(void)
{
    /* A tear before SEGMENT_START is in the segment's header (its making
     * was cut short); one at or after it, in its last records. */
    record_damage d;
    memset(&d, 0, sizeof d);
    d.why = "record runs past the end of the file";
    d.torn = 1;
    d.offset = 700;
    recover_verdict v = judge(1000, RECORD_DAMAGED, &d, 1, 0);
    EX_CHECK(v.action == RECOVER_CUT && strstr(v.text, "torn") != NULL &&
                 ex_names_number(v.text, 700),
             EX_RULE(9, "torn, and where") "a tear at offset 700, past the header (SEGMENT_START "
             "is %d): the text of the CUT says \"torn\" (the word kv_check's lines are read by, "
             "kv.h) and where the tear is, 700 (d->offset), which says it is the tail, past the "
             "header (got \"%s\")", (int)SEGMENT_START, v.text);
    d.offset = SEGMENT_START - 1;
    v = judge(1000, RECORD_DAMAGED, &d, 1, 0);
    EX_CHECK(v.action == RECOVER_CUT && strstr(v.text, "torn") != NULL &&
                 ex_names_number(v.text, SEGMENT_START - 1),
             EX_RULE(9, "torn, and where") "a tear at offset %d, inside the header (before "
             "SEGMENT_START, %d): the text says \"torn\" and where, %d, which says it is the "
             "header (got \"%s\")", (int)SEGMENT_START - 1, (int)SEGMENT_START,
             (int)SEGMENT_START - 1, v.text);
}

static const harness_test segment_verdict_tests[] = {
    HARNESS_TEST(segment_verdict_keeps_intact_segments),
    HARNESS_TEST(segment_verdict_refuses_a_closed_segment_without_its_seal),
    HARNESS_TEST(segment_verdict_cuts_a_torn_tail_of_the_last_segment),
    HARNESS_TEST(segment_verdict_cut_counts_the_records_lost),
    HARNESS_TEST(segment_verdict_refuses_a_torn_tail_elsewhere),
    HARNESS_TEST(segment_verdict_strict_refusal_says_how_much_is_torn),
    HARNESS_TEST(segment_verdict_refuses_damage),
    HARNESS_TEST(segment_verdict_names_the_part_that_is_torn),
};
const harness_suite segment_verdict_suite = HARNESS_SUITE("segment_verdict", segment_verdict_tests);
