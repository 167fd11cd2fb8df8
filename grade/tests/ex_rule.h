/*
 * ex_rule.h: how an exercise's test names the rule a failure breaks.
 *
 * The comment above each exercise's stub numbers its rules ("[1] ...",
 * from the `does` and `keeps` of grade/STAGE.exercises; docs/learn.md,
 * "The lists").  Each rule has a test that fails when that rule alone is
 * broken, and the check that fails says which rule, by its number and
 * what it concerns, before what it saw:
 *
 *     EX_CHECK(rc == LOG_DECODE_SHORT,
 *              EX_RULE(3, "a record that runs past limit") "is SHORT, not BAD (got %d)", rc);
 *
 * prints "rule 3 (a record that runs past limit): is SHORT, not BAD (got 2)".
 * grade/check.sh checks that every rule a stub numbers is named so by at
 * least one test of its exercise.
 */
#ifndef KV_GRADE_EX_RULE_H
#define KV_GRADE_EX_RULE_H

/* A string literal, to be followed by the rest of a check's message.
 * grade/check.sh counts a rule as tested when its number appears as
 * EX_RULE(N, in the exercise's test file, or as EX_RULE_OF(NAME, N, in
 * any test of the stage. */
#define EX_RULE(n, what) "rule " #n " (" what "): "
/* The same for a check that several rules share: EX_RULES("1, 2 and 3",
 * "the walk") is "rules 1, 2 and 3 (the walk): ". */
#define EX_RULES(list, what) "rules " list " (" what "): "
/* A rule of another exercise, which a later exercise's test reaches (a
 * search's prev[] is used only by the insert that follows it):
 * EX_RULE_OF(skiplist_search, 3, "prev") is
 * "skiplist_search's rule 3 (prev): ". */
#define EX_RULE_OF(exercise, n, what) #exercise "'s rule " #n " (" what "): "

#endif
