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
 * succeed, take a write newer than all it kept, close, and kv_check find
 * nothing wrong, as kv.h promises.
 * fuzz_dbfile_compact_files runs kv_compact on such a database: every
 * answer stays what it was.  A crash, a sanitizer report, a hang, a value
 * from kv_get that differs from the iterator's, or a kv_inspect_get that
 * answers otherwise, fails the run.
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
 * invariant.  Returns 1 if the open with the defaults (step 4 of "What a
 * harness checks" in docs/fuzzing.md) succeeded: the directory is then as
 * that open and its writes left it (fuzz_dbfile_exists), 0 if not. */
int fuzz_dbfile_run_files(const fuzz_dbfile *files, size_t n);

/* The same with one file: data as DIR/name. */
int fuzz_dbfile_run(const char *name, const uint8_t *data, size_t size);

/* What a database holds, as its iterator gives it from the first key:
 * how many entries, and the crc32c of their key and value lengths and
 * bytes, in order; whole if the iterator ended without an error. */
typedef struct fuzz_dbfile_digest {
    int whole;
    uint64_t entries;
    uint32_t crc;
} fuzz_dbfile_digest;

/* kv_repair of the database files[0..n) make (REQUIRES: a
 * fuzz_dbfile_run_files before); if it says KV_OK, a strict_recovery open
 * must succeed, a put of its first key read back (the repair kept nothing
 * newer than what is written after it), the close succeed and kv_check
 * find the database intact.  Aborts if not.  Returns 1 if kv_repair said
 * KV_OK, 0 if not.  If held is not NULL, the repaired database is also
 * walked before that put (its iterator and kv_get must agree, as in the
 * first open's walk), and *held says what it held. */
int fuzz_dbfile_repair_held(const fuzz_dbfile *files, size_t n, fuzz_dbfile_digest *held);
void fuzz_dbfile_repair_files(const fuzz_dbfile *files, size_t n);
/* kv_repair of the database files[0..n) make with one call of the I/O
 * layer failing (io_fault over the backend in memory), for up to `tries`
 * calls spread over those a repair makes (`salt` picks where in each
 * stretch): each time the database is made again, kv_check, kv_dump and
 * kv_repair, each with that call failing, must answer KV_OK or an error
 * (kv_check's and kv_repair's with a message), kv_check with none failing
 * must not crash,
 * and a kv_repair run again with no call failing keeps the promise of
 * fuzz_dbfile_repair (a repair cut short is run again).  Then kv_check,
 * kv_dump, kv_repair and an open with a write with allocations failing
 * instead, those alloc_ops names (fuzz_faults_alloc; FUZZ_FAULTS_ALL for
 * all three).  REQUIRES: a fuzz_dbfile_run_files before. */
void fuzz_dbfile_repair_faulted(const fuzz_dbfile *files, size_t n, unsigned tries,
                                unsigned alloc_ops, uint32_t salt);
void fuzz_dbfile_repair(const char *name, const uint8_t *data, size_t size);

/* kv_check of the database files[0..n) make (REQUIRES: a
 * fuzz_dbfile_run_files before), its lines to line(ctx, ...); returns
 * what kv_check returned. */
int fuzz_dbfile_check_files(const fuzz_dbfile *files, size_t n,
                            void (*line)(void *ctx, const char *line), void *ctx);

/* kv_check, kv_dump, then kv_repair of the database files[0..n) make
 * (REQUIRES: a fuzz_dbfile_run_files before), with the I/O layer failing
 * as plan says (common/io_fault.h): each must answer KV_OK, or
 * KV_ERR_CORRUPT, or, once a call failed, an error with a message;
 * aborts if not.  Returns how many calls of the kinds plan counts the
 * three made. */
struct io_fault_plan;
long fuzz_dbfile_tools_faulted(const fuzz_dbfile *files, size_t n,
                               const struct io_fault_plan *plan);

/* kv_compact of the database files[0..n) make, opened with the defaults
 * (REQUIRES: a fuzz_dbfile_run_files before; nothing is done if it does
 * not open), after a key written twice (something to reclaim): it returns
 * KV_OK or KV_ERR_CORRUPT (damage it met), and a kv_compact that fails
 * leaves no file of its own (a .tmp) behind; every key that kv_get read
 * before it reads the same value after it and after a reopen, or, if it
 * failed, an error (never "not found": compaction changes no answer); the
 * iterator and kv_get agree; the database opens again.  Aborts if not. */
void fuzz_dbfile_compact_files(const fuzz_dbfile *files, size_t n);

/* The directory emptied, then the stage's IDENTITY and files[0..n) put in
 * it, the in-memory backend installed (REQUIRES: a fuzz_dbfile_run_files
 * before): for work a harness drives itself (fuzz_io_sweep.h). */
void fuzz_dbfile_place_files(const fuzz_dbfile *files, size_t n);

/* Whether DIR/name is a file of the directory in memory now (after
 * fuzz_dbfile_run_files: what its last open left). */
int fuzz_dbfile_exists(const char *name);

/* The name of a table file in a database of the stage the harness is
 * linked with, a name kv_check, kv_open and kv_repair take for a table:
 * stages 04 and 05 name a table by the writes it holds (lsm_files.h; here
 * 1 to 999999999999, above the sequence numbers of any seed, so that a
 * write after the open is newer than what the table holds), stages 06 on
 * by its file number (level_files.h: 000001.tbl, which kv_repair finds with
 * no manifest naming it and rebuilds the levels from). */
const char *fuzz_dbfile_table_name(void);

/* The name of a second table beside fuzz_dbfile_table_name's in a stage
 * whose kv_repair makes the levels again from the tables when no manifest
 * names them (06 on: 000002.tbl, a table whose keys overlap the first's
 * when it holds the same entries); NULL before stage 06. */
const char *fuzz_dbfile_second_table_name(void);

/* Leftovers an interrupted flush, compaction or repair leaves beside the
 * table of fuzz_dbfile_table_name, i = 0, 1, ... until NULL, each of which
 * an open that may write removes: in stages 04 and 05 a table whose writes
 * the first one's name covers (what a compaction replaced, its deletion
 * cut short) and a table being written (.tbl.tmp); from stage 06 a table
 * being written. */
const char *fuzz_dbfile_leftover_name(int i);

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
/* Whether every input goes through the engine (KV_FUZZ_ENGINE=all: a
 * replay), for a harness that then does more of what it samples. */
int fuzz_dbfile_every(void);
/* The same for work that costs several engine runs: one input in
 * FUZZ_DBFILE_SAMPLE * n, each of them one fuzz_dbfile_sampled takes too
 * (every input under KV_FUZZ_ENGINE=all). */
int fuzz_dbfile_sampled_rarely(const uint8_t *data, size_t size, unsigned n);

#endif
