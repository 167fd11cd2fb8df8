/*
 * manifest.h: the manifest, the log of version edits that says, from stage
 * 06 on, which tables the database is made of (the directory listing does
 * not: a table the manifest does not name is garbage).
 *
 * A manifest file, MANIFEST-NNNNNN (current_file.h has the names):
 *
 *   offset  size  field
 *   0       16    file header: "KVS06MAN", version 1, crc32c (file_header.h)
 *   16      ...   32 KiB blocks of fragments: stage 03's WAL framing
 *                 (wal_format.h), the first block 16 bytes short
 *
 * Each record is one version edit (version_edit.h).  The first record is a
 * snapshot: the whole version the manifest starts from, with every counter
 * (manifest_state.h, check 1).  There are no sync markers: every record is
 * synced before the next one is written.
 *
 * THE PROTOCOL (docs/06-leveled-reference.md, "The manifest protocol", has the
 * crash-safety argument):
 *   manifest_create: create MANIFEST-N (emptied if a failed attempt left
 *     one), header, the snapshot record, fsync; fsync the directory (the
 *     name is durable); then switch CURRENT to it (current_file.h: tmp,
 *     fsync, rename, fsync the directory: the commit point).  Until CURRENT
 *     names it, the new manifest is not live: a crash leaves the old one.
 *   manifest_append: one record, fsync'd before it returns.  Once it has
 *     returned, the edit is durable (a compaction may delete its inputs);
 *     a crash before leaves the edit absent or torn, and a torn last
 *     record is dropped at recovery (the edit was never acknowledged, so
 *     the tables it added are garbage and the ones it removed still live).
 *   A failed append or sync makes the writer unusable (an unknown part of
 *     the record may be in the file, so nothing may follow it): the engine
 *     stops writing until reopen.  An open that may write starts a new
 *     manifest (manifest_create with the recovered state's snapshot under
 *     a fresh number), so it never appends after a torn tail; roll-over,
 *     past MANIFEST_ROLL_BYTES, does the same.  The old manifest is garbage
 *     once manifest_create has returned; the caller deletes it.
 *
 * THE RULE FOR DAMAGE (stage 03's, docs/03-wal.md, "Recovery", as stage
 * 04 applies it to its logs): damage with no valid record after it is a
 * torn tail, what a crash during an append leaves: dropped (refused with
 * strict).  Damage with a valid record after it cannot be a crash's doing,
 * since every record was synced before the next was written: it is
 * KV_ERR_CORRUPT, as is a header that is not a whole KVS06MAN header, a
 * record whose checksum holds but whose edit does not decode, a manifest
 * with no record, and every failed check of manifest_state.h.  Messages
 * name the file and the offset.
 */
#ifndef KV_MANIFEST_H
#define KV_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "file_header.h"
#include "manifest_state.h"
#include "version_edit.h"
#include "wal_reader.h"

#define MANIFEST_VERSION 1u
#define MANIFEST_START FILE_HEADER_SIZE /* where records begin */
/* Roll over to a new manifest past this size (the engine's decision). */
#define MANIFEST_ROLL_BYTES (4u << 20)

/* ---- writing ---------------------------------------------------------------- */

typedef struct manifest_writer manifest_writer;

/* The protocol above: dir/MANIFEST-number holding `snapshot`, made live.
 * On success *out appends to it.  On failure: if CURRENT was not switched,
 * the new file is removed again and the old manifest is still live
 * (*in_doubt = 0: the caller may try again); if it was (the directory's
 * fsync failed after the rename), the new file is kept, since CURRENT may
 * name it, and *in_doubt = 1: which manifest is live is unknown until the
 * next open, so the error is final for the caller.  in_doubt may be NULL.
 * REQUIRES: number is not the live manifest's (a fresh file number);
 * snapshot sets log_seq, next_file and last_seq.
 * KV_OK, KV_ERR_IO, KV_ERR_NOMEM. */
int manifest_create(const char *dir, uint64_t number, const version_edit *snapshot,
                    manifest_writer **out, int *in_doubt);
/* Appends e as one record and fsyncs.  KV_OK, or KV_ERR_IO / KV_ERR_NOMEM;
 * after any failure every later call fails too (KV_ERR_IO, saying why):
 * a new manifest must take over (manifest_create). */
int manifest_append(manifest_writer *w, const version_edit *e);
/* After a failed append: 1 if the record may be whole on disk (its fsync
 * failed, so whether it survives is unknown until the next open reads
 * it), 0 if it is not there or only its first part is (a write failed: a
 * torn tail the next open drops). */
int manifest_writer_in_doubt(const manifest_writer *w);
/* The manifest's size so far, for roll-over. */
uint64_t manifest_writer_bytes(const manifest_writer *w);
/* Its number (MANIFEST-number). */
uint64_t manifest_writer_number(const manifest_writer *w);
/* Closes it (the file stays); NULL is a no-op. */
void manifest_writer_free(manifest_writer *w);

/* ---- reading ----------------------------------------------------------------- */

/* Called for each whole record of a manifest, in order, with the decoded
 * edit and the record's offset; a non-zero return stops the scan and is
 * returned. */
typedef int (*manifest_edit_fn)(void *ctx, const version_edit *e, uint64_t offset);

/* What manifest_scan found besides the records. */
typedef struct manifest_scan_info {
    uint64_t records;       /* whole records handed to fn */
    uint64_t end;           /* the valid bytes end here */
    int torn;               /* a torn tail follows `end` (the rule above) */
    char why[300];          /* if torn: what is at `end` */
} manifest_scan_info;

/* Reads the records of a manifest through r (set at MANIFEST_START of a
 * file or of bytes in memory, `size` bytes in all; `path` for messages),
 * applying THE RULE FOR DAMAGE.  KV_OK (a torn tail is reported in *info,
 * not refused), KV_ERR_CORRUPT, an I/O error, KV_ERR_NOMEM, or fn's value. */
int manifest_scan(wal_reader *r, uint64_t size, const char *path, manifest_edit_fn fn,
                  void *ctx, manifest_scan_info *info);

/* Recovery: reads dir's CURRENT, then replays the manifest it names into
 * *out (initialised here; free it with manifest_state_free, also after a
 * failure).  A torn last record is dropped (out->torn says so) unless
 * strict, which refuses it.  KV_OK; KV_ERR_CORRUPT (CURRENT missing or
 * bad, the manifest missing, THE RULE FOR DAMAGE, the checks of
 * manifest_state.h); KV_ERR_IO; KV_ERR_NOMEM.  Reads only: a read-only
 * open can use it.  (A directory without CURRENT is not a database yet:
 * the engine tells that case apart before calling.) */
int manifest_recover(const char *dir, int strict, manifest_state *out);

/* The same replay over a manifest's bytes in memory (for the fuzz harness
 * and tests): header, records, checks, as manifest_recover does after
 * reading CURRENT.  `path` names it in messages. */
int manifest_recover_mem(const uint8_t *p, size_t n, const char *path, int strict,
                         manifest_state *out);

#endif
