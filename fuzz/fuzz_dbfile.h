/*
 * fuzz_dbfile.h: what every file-format harness does with the fuzzer's bytes.
 *
 * A harness turns the input into one file of a database directory (a
 * private temporary directory, made once per process and emptied after each
 * input, holding besides only the stage's own IDENTITY), then drives the database through kv.h the way a user would: open
 * (default, strict and read-only), iterate everything, read back every key
 * the iterator returned and compare, write one key, close, and run kv_check
 * and kv_dump.  A crash, a sanitizer report, a hang, or a value from kv_get
 * that differs from the iterator's fails the run.
 */
#ifndef KV_FUZZ_DBFILE_H
#define KV_FUZZ_DBFILE_H

#include <stddef.h>
#include <stdint.h>

/* Writes data as DIR/name in the private directory and exercises the
 * database.  Aborts (on purpose: this is a test program) on a broken
 * invariant. */
void fuzz_dbfile_run(const char *name, const uint8_t *data, size_t size);

#endif
