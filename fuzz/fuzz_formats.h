/*
 * fuzz_formats.h: the formats as their byte tables in docs/ describe them,
 * for the harnesses: checksums made right, so that a fuzzer's mutations
 * reach the decoders behind them, and models the decoders are held to.
 *
 * A checksum stops almost every mutation: change one byte of a record and
 * its crc32c no longer matches, so the decoder of what the record holds
 * never runs, and a bug there is never found (docs/fuzzing.md, "Why
 * checksums hide decoders").  So a harness hands the engine a copy of its
 * input with the checksums recomputed, as OSS-Fuzz projects' harnesses do,
 * and the replay driver, which runs the same harness against the normal
 * library, reproduces whatever libFuzzer found.  No build switch turns a
 * check off: the code fuzzed is the code shipped.
 *
 * Each function here walks one format from its byte table in docs/ (not
 * through the engine's decoder, whose mistakes it must not share) and
 * rewrites every checksum of what parses as that format, in place,
 * stopping where the bytes stop making sense (a length past the end): past
 * that point the decoders meet damage, as they should.  Every function
 * stays inside [p, p + n) whatever the bytes say.
 *
 * The models are the other half: the same byte tables read independently
 * of the engine, so that a harness can check a decoder's verdict (the
 * log record decoder, fuzz_log_records_check) and what it hands out (a
 * write-ahead log batch, fuzz_wal_batch_read), not only that it does not
 * crash.
 */
#ifndef KV_FUZZ_FORMATS_H
#define KV_FUZZ_FORMATS_H

#include <stddef.h>
#include <stdint.h>

/* The 16-byte file header (common/file_header.h): bytes 12..15 become the
 * crc32c of bytes 0..11.  Nothing if n < 16. */
void fuzz_fix_file_header(uint8_t *p, size_t n);

/* Log records (common/log_record.h) from offset `at`: each record whose
 * lengths are possible and fit gets its crc32c; returns where the walk
 * stopped (n, or the first record that does not fit). */
size_t fuzz_fix_log_records(uint8_t *p, size_t n, size_t at);

/* Write-ahead log fragments (stages/03-wal/wal/wal_format.h: 32 KiB
 * blocks counted from offset 0 of the file, 7-byte headers) from offset
 * `at`, block by block as the reader walks them: each fragment with a type
 * of 1..4 whose data lies inside the input gets its crc32c (one that
 * crosses its block's end too, and then the block ends); anything else
 * ends its block, and the walk goes on at the next, as the reader does
 * past damage; a block's last 0..6 bytes are its trailer.  The logs of
 * stages 03-09, the manifest of stage 06 and the value-log files of stage
 * 08 are such files. */
void fuzz_fix_wal_fragments(uint8_t *p, size_t n, size_t at);

/* A hint file (stages/02-hash/segments/hint.h): its last 4 bytes become
 * the crc32c of all before them.  Nothing if n < 36. */
void fuzz_fix_hint(uint8_t *p, size_t n);

/* A file header, a body, and the body's crc32c in the last 4 bytes: STATS
 * (stages/04-lsm/stats/stats_file.h) and VLOGCOUNTS (stages/08-vlog/
 * value_log/value_log.h).  The file header, and the last 4 bytes become
 * the crc32c of bytes 16 up to them.  Nothing past the header if n < 24. */
void fuzz_fix_body_crc(uint8_t *p, size_t n);

/* IDENTITY (common/db_identity.h): if the line holds " crc32c=" with at
 * least 8 bytes after it, those 8 become the lower-case hex crc32c of
 * everything before " crc32c=". */
void fuzz_fix_identity(uint8_t *p, size_t n);

/* Table format v1 (stages/04-lsm/table_v1/table_v1_format.h), if the last
 * 52 bytes are its tail and the sizes it gives add up to n: the file
 * header, each record's two checksums (the value's where the value lies
 * inside its record, then the head's where the key does), the offset
 * array's and the tail's.  Anything else: the file header only. */
void fuzz_fix_table_v1(uint8_t *p, size_t n);

/* Table format v1's rule that a record fills the span its offset array
 * gives it: 1 if p is a v1 table (its tail and sizes add up, as for
 * fuzz_fix_table_v1) whose every record's key and value lengths end it
 * exactly at the next one's offset (or the array), 0 if one's do not, -1
 * if p is not such a table. */
int fuzz_table_v1_spans_exact(const uint8_t *p, size_t n);

/* Walks log records from `at` with log_record_decode and aborts (naming
 * the offset) unless each verdict is the byte table's: OK exactly when the
 * lengths are possible, the record fits and its crc32c matches, with the
 * record's fields where the table puts them; SHORT with the size it needs;
 * BAD with a reason.  Returns where the records stop (the first that is
 * not OK, or n), and the number of them in *records. */
size_t fuzz_log_records_check(const uint8_t *p, size_t n, size_t at, uint64_t *records);

/* The payload of a write-ahead log record (stages/03-wal/wal/wal_batch.h:
 * a varint count of 1 or more, then per op a type 1 put or 2 delete, a
 * varint key length 1..65535, a put's varint value length up to 64 MiB,
 * the key and the value, and nothing after the last op), read by the byte
 * table: 1 if p[0, limit) is such a batch, with its op count in *count and
 * its first `max` ops in ops[] (pointers into p), else 0. */
typedef struct fuzz_wal_op {
    const uint8_t *key, *val; /* val NULL for a delete */
    uint32_t klen, vlen;
    int is_delete;
} fuzz_wal_op;
int fuzz_wal_batch_read(const uint8_t *p, const uint8_t *limit, fuzz_wal_op *ops, size_t max,
                        size_t *count);

/* ---- structure-aware mutations -------------------------------------------------
 *
 * A plain mutation picks a byte anywhere in the input; the length field of
 * one record is a few bytes among thousands, and the values that matter
 * there (the largest allowed, one past it, a length that ends exactly at a
 * block's end or crosses it) are a few among 65,536 or 2^32.  These edit
 * one field of one record, chosen by `seed`, to such a value, in place or
 * by rebuilding the file, and return the new size (at most max); the
 * harness then makes the checksums right as for any input.  A harness's
 * LLVMFuzzerCustomMutator (which libFuzzer calls instead of its own)
 * calls them for some of its mutations, through fuzz_mutate_mixed, and
 * libFuzzer's own (LLVMFuzzerMutate) for the rest. */

typedef size_t fuzz_mutator(uint8_t *p, size_t n, size_t max, unsigned seed);

/* libFuzzer's own mutations of p[0, n) (LLVMFuzzerMutate), or none (the
 * input as it was) outside libFuzzer. */
size_t fuzz_mutate_default(uint8_t *p, size_t n, size_t max);
/* A harness's mutator: `own` one time in four, `also` (if not NULL)
 * another, libFuzzer's own the rest; outside libFuzzer (the replay
 * driver, AFL++'s), the input as it was. */
size_t fuzz_mutate_mixed(uint8_t *p, size_t n, size_t max, unsigned seed, fuzz_mutator *own,
                         fuzz_mutator *also);

/* A log record's key length or value length (from 16 on): 0, 1, 65535,
 * the tombstone, the seal, 64 MiB, 64 MiB + 1, one more or one less. */
size_t fuzz_mutate_log_record(uint8_t *p, size_t n, size_t max, unsigned seed);
/* A write-ahead log fragment's length or type (from 16 on): 0, 1, one
 * more or less, the length that fills its block, one to seven past that
 * (the fragment crosses into the next block), the largest, one past it;
 * a type of 0 to 5. */
size_t fuzz_mutate_wal_fragment(uint8_t *p, size_t n, size_t max, unsigned seed);
/* The sequence number of one record of a stage-04 log (lsm_wal.h: the
 * last 8 bytes of a record in one FULL fragment): 0, 1, 2^56 - 1, the
 * largest that leaves room for the batch's ops, one past it, the number
 * the record before it ended with, one after that, or one less. */
size_t fuzz_mutate_lsm_wal_seq(uint8_t *p, size_t n, size_t max, unsigned seed);
/* A record of a v1 table (table_v1_format.h; n unchanged if p is not one):
 * its key length or value length rewritten in the same number of varint
 * bytes (so nothing else moves), to one more or one less, the length that
 * ends it exactly at its record's end, one or a hundred past that, or the
 * largest its width holds. */
size_t fuzz_mutate_table_v1(uint8_t *p, size_t n, size_t max, unsigned seed);
/* A hint file's entry (stages/02-hash/segments/hint.h), the file rebuilt
 * around it: a key length of 0, 1, 65535, 65536 or one more or less (the
 * key cut or grown to match), a record size of 10 + key length (an empty
 * value), one less, one more, or the largest (the segment size in the
 * header moved by as much, so the records still cover it), or the entry
 * removed or doubled (the count and the segment size following). */
size_t fuzz_mutate_hint(uint8_t *p, size_t n, size_t max, unsigned seed);

#endif
