/*
 * fuzz_dbfile.h: what every file-format harness does with the fuzzer's bytes.
 *
 * A harness turns the input into one file (or a few) of a database
 * directory, then drives the database through kv.h the way a user would:
 * kv_check and kv_dump, open (read-only, strict and default), iterate
 * everything, read back every key the iterator returned and compare,
 * kv_inspect it (read-only: its parts, and kv_inspect_get of its first and
 * last keys and of one it lacks, which must answer as kv_get does), write
 * one key, close, open again.  fuzz_dbfile_repair then runs kv_repair on
 * the input as it was, after which (if it says KV_OK) a strict open must
 * succeed and kv_check find nothing wrong, as kv.h promises.  A crash, a
 * sanitizer report, a hang, a value from kv_get that differs from the
 * iterator's, or a kv_inspect_get that answers otherwise, fails the run.
 *
 * The directory is in memory (common/io_mem.h, the I/O layer's backend
 * while the engine runs, the one before put back after): the engine reads
 * and writes its files through common/io.h as always, but no call reaches
 * the operating system, so an input costs the engine's work and nothing
 * else.  It holds, besides the
 * input's files, only the stage's own IDENTITY (kept from a first open),
 * and is emptied before each input.
 */
#ifndef KV_FUZZ_DBFILE_H
#define KV_FUZZ_DBFILE_H

#include <stddef.h>
#include <stdint.h>

/* The directory the database is in (in memory). */
#define FUZZ_DBFILE_DIR "/kvfuzz/db"

/* One file of the directory. */
typedef struct fuzz_dbfile {
    const char *name;
    const uint8_t *data;
    size_t size;
} fuzz_dbfile;

/* Makes files[0..n) the files of the database (with its IDENTITY) and
 * exercises it.  Aborts (on purpose: this is a test program) on a broken
 * invariant. */
void fuzz_dbfile_run_files(const fuzz_dbfile *files, size_t n);

/* The same with one file: data as DIR/name. */
void fuzz_dbfile_run(const char *name, const uint8_t *data, size_t size);

/* kv_repair of the database files[0..n) make (REQUIRES: a
 * fuzz_dbfile_run_files before); if it says KV_OK, a strict_recovery open
 * and kv_check must succeed.  Aborts if not. */
void fuzz_dbfile_repair_files(const fuzz_dbfile *files, size_t n);
void fuzz_dbfile_repair(const char *name, const uint8_t *data, size_t size);

/* The name of a table file in a database of the stage the harness is
 * linked with, a name kv_check, kv_open and kv_repair take for a table:
 * stages 04 and 05 name a table by the writes it holds (lsm_files.h; here
 * 1 to 999999999999, above the sequence numbers of any seed, so that a
 * write after the open is newer than what the table holds), stages 06 on
 * by its file number (level_files.h: 000001.tbl, which kv_repair finds with
 * no manifest naming it and rebuilds the levels from). */
const char *fuzz_dbfile_table_name(void);

/* Installs the in-memory backend (for good) and empties it: for a harness
 * that reads its files through io.h without a database.  Files go in with
 * io_mem_put (common/io_mem.h). */
void fuzz_dbfile_mem_reset(void);

/* Empties the in-memory backend (if it is installed) at the end of an
 * input, so that an input frees what it allocated: libFuzzer runs an input
 * that ends with more allocations than frees again under LeakSanitizer, a
 * scan of the whole heap that took a quarter of a table harness's time.
 * REQUIRES: no file open in it. */
void fuzz_dbfile_mem_done(void);

/* After fuzz_dbfile_mem_reset: data as the in-memory file at path, opened
 * for reading in *f (io_close it).  Aborts if that fails. */
struct io_file;
void fuzz_dbfile_mem_file(const char *path, const uint8_t *data, size_t size,
                          struct io_file **f);

/* A kv_line_fn that ignores its lines (kv check's, kv dump's). */
void fuzz_dbfile_ignore_line(void *ctx, const char *line);

/* Whether this input goes through the whole engine as well as through the
 * harness's decoders: one input in FUZZ_DBFILE_SAMPLE, chosen by the
 * crc32c of its bytes (so the same input always gets the same answer, and
 * a crash reproduces), or every input when the environment says
 * KV_FUZZ_ENGINE=all (the replay drivers set it: `make test` drives every
 * seed and saved input through the engine).  An engine's open costs a
 * millisecond where a decoder costs microseconds; this keeps a harness
 * near the decoders' speed while the engine still sees thousands of
 * inputs a minute. */
#define FUZZ_DBFILE_SAMPLE 16
int fuzz_dbfile_sampled(const uint8_t *data, size_t size);

#endif
