/*
 * ex_overlap.h: memcpy watched for overlapping bytes.  Stage 08's
 * exercisetest is linked with -Wl,--wrap=memcpy (grade/grade.mk,
 * GRADE_STAGE_WRAP_08-vlog): every memcpy call of the stage's code and the
 * tests goes through ex_overlap.c, which passes it on, except while a test
 * watches: then a copy whose source and destination overlap (undefined in
 * C, and what memmove is for) fails the test's check, naming the rule the
 * test checks.  On most machines such a memcpy copies towards the start
 * correctly, so the bytes alone cannot tell it from memmove.
 *
 * Invariant: outside a watch, __wrap_memcpy is memcpy.
 */
#ifndef EX_OVERLAP_H
#define EX_OVERLAP_H

/* From now on until ex_overlap_watch(NULL), a memcpy between overlapping
 * bytes fails the test; `what` says what the test was doing. */
void ex_overlap_watch(const char *what);

#endif
