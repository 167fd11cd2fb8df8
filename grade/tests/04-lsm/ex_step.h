/*
 * ex_step.h: a function run one machine instruction at a time, with a
 * check between any two of its instructions: what a reader on another
 * thread could see at that moment.
 *
 * A concurrent reader of the skiplist sees its memory between two of the
 * writer's stores, any two.  A test on threads meets only the moments the
 * scheduler happens to give it, and a store made visible one instruction
 * too early (a node linked into its predecessor before its own link is
 * set) passes millions of inserts unnoticed.  This checks every moment:
 * the work runs in a child process traced with ptrace(2), stepped one
 * instruction at a time; after each step the parent copies the memory the
 * work writes (the regions, which must be mapped at the same addresses in
 * both processes: made before the fork) into its own copy and calls the
 * check on it.
 *
 * Between ex_step_mark_begin() and ex_step_mark_end(), the child's
 * instructions are stepped; outside, it runs freely.  The child calls them
 * around each piece of work (one insert), so that the check knows which
 * piece is in flight (ex_step_piece: the count of begins so far).
 *
 * REQUIRES: Linux with ptrace(2) allowed to trace a child; the work and
 * its regions are set up before ex_step_run, and the work reads nothing
 * the parent changes after the fork.  Only one ex_step_run at a time.
 */
#ifndef KV_GRADE_EX_STEP_H
#define KV_GRADE_EX_STEP_H

#include <stddef.h>

typedef struct ex_step_region {
    void *addr;
    size_t len;
} ex_step_region;

/* Called after each instruction of a piece, with the regions copied in;
 * returns NULL if all is well, else the rule broken (the test fails with
 * it, naming the piece and the instruction). */
typedef const char *(*ex_step_check)(void *ctx, int piece, long step);

/* In the child: the piece starts / ends now. */
void ex_step_mark_begin(void);
void ex_step_mark_end(void);

/* Runs work(arg) in a traced child and checks every step of every piece;
 * fails the running test (EX_CHECK) on the first broken rule, or if the
 * child cannot be traced.  Returns the number of instructions stepped. */
long ex_step_run(void (*work)(void *arg), void *arg, const ex_step_region *regions,
                 size_t nregions, ex_step_check check, void *ctx);

#endif
