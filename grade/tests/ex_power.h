/*
 * ex_power.h: the power cut at every step of a workload, for the tests of
 * exercises whose steps' order or presence matters (a log synced before a
 * write is acknowledged, a table synced and named before the log that held
 * its writes goes).
 *
 * The workload runs on the power-loss simulator (common/io_sim.h), which
 * journals every create, append, sync, rename and directory sync under a
 * fresh directory.  The test notes each write as it is acknowledged
 * (ex_power_acked).  ex_power_check then cuts the power after every step
 * of the journal: it writes the state the disk could hold then, once with
 * every step not yet synced lost (a state that changes only after a sync,
 * so it is written after each sync and each acknowledgement) and once with
 * every one kept (as a process killed there leaves it), opens the
 * database there with kv_open, and checks that it opens and that every
 * write acknowledged before the cut reads back (a later value of the same
 * key may have reached the disk first; that is allowed too).  A failure
 * names the rule, the step after which the power went, the write that is
 * lost, and what the journal shows was missing between that write and its
 * acknowledgement: the fsync of the file it went to, or the fsync of the
 * directory that names that file.
 *
 * Use: path = ex_power_start(); open a database at path, write, call
 * ex_power_acked(key, value) after each acknowledged write (value NULL for
 * a delete); close it; ex_power_stop(); ex_power_check(&opt, rule).  One
 * run per test (the state is the process's).
 */
#ifndef KV_GRADE_EX_POWER_H
#define KV_GRADE_EX_POWER_H

#include "kv.h"

/* Starts journaling under a fresh directory; returns the database's path
 * in it (valid until the test ends). */
const char *ex_power_start(void);
/* The write of key = value (value NULL: a delete) was acknowledged now. */
void ex_power_acked(const char *key, const char *value);
/* Stops journaling (the journal is kept for ex_power_check). */
void ex_power_stop(void);
/* Cuts the power after every step of the journal and checks each state
 * (above); fails the test with `rule` (an EX_RULE(...) prefix) first in
 * its message.  Returns the
 * number of states checked. */
int ex_power_check(const kv_options *opt, const char *rule);

#endif
