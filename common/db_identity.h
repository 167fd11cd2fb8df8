/*
 * db_identity.h: which stage, in which format version, wrote a database
 * directory; so that no stage ever reads (or worse, "repairs") another
 * stage's files.
 *
 * The file DIR/IDENTITY is one line of ASCII (docs/formats.md):
 *
 *   kvstages stage=03-wal format=1 crc32c=0a1b2c3d\n
 *
 * stage is the name kv_stage() returns (1..31 of [0-9a-z-]), format a
 * decimal number 1..4294967295 with no leading zero, and crc32c eight
 * lower-case hex digits of the CRC-32C of every byte before " crc32c=".
 * Nothing else is accepted, so a damaged file is never read as another
 * stage's.  `cat DIR/IDENTITY` tells a learner what they are looking at.
 *
 * Rules, kept by db_identity_open (called by db_dir_open, so by every
 * stage's kv_open, read-only or not, once the lock is held):
 *   1. A directory with an IDENTITY of this stage and format opens.
 *   2. An IDENTITY of another stage or format: KV_ERR_INVALID, naming both
 *      and the way across (`kv DIR export`, `kv NEWDIR import`); nothing
 *      is written.
 *   3. No IDENTITY, and no files but LOCK and IDENTITY.tmp: a new database.
 *      The identity is written to IDENTITY.tmp, synced, renamed to
 *      IDENTITY, and the directory synced, before any data file exists
 *      (a read-only open writes nothing and sees an empty database).
 *   4. No IDENTITY but other files: KV_ERR_INVALID.  It is not a database
 *      of this project, or one written before databases recorded their
 *      stage; which stage's format its files are in cannot be known, so
 *      nothing is guessed and nothing is written.
 * A damaged IDENTITY is KV_ERR_CORRUPT, naming the file and offset.
 */
#ifndef KV_COMMON_DB_IDENTITY_H
#define KV_COMMON_DB_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

#define DB_IDENTITY_FILE "IDENTITY"
#define DB_IDENTITY_TMP "IDENTITY.tmp"
#define DB_IDENTITY_MAX 96     /* the longest valid line, with room to spare */
#define DB_STAGE_NAME_MAX 31

typedef struct db_identity {
    char stage[DB_STAGE_NAME_MAX + 1];
    uint32_t format;
} db_identity;

/* Writes the line for (stage, format) into out (DB_IDENTITY_MAX bytes,
 * NUL-terminated); returns its length without the NUL. */
size_t db_identity_encode(char out[DB_IDENTITY_MAX], const char *stage, uint32_t format);

/* Decodes [p, limit).  0 and *id on success; -1 with *why and *bad_at (the
 * offset of the first wrong byte) otherwise. */
int db_identity_decode(const uint8_t *p, const uint8_t *limit, db_identity *id,
                       const char **why, size_t *bad_at);

/* Reads DIR/IDENTITY: KV_OK with *found = 1 and *id, KV_OK with *found = 0
 * if there is none, KV_ERR_CORRUPT if it does not decode, or an I/O error. */
int db_identity_read(const char *dir, db_identity *id, int *found);

/* kv_open's rules 1-4 above.  REQUIRES: the directory's lock is held. */
int db_identity_open(const char *dir, const char *stage, uint32_t format,
                     const kv_options *opt);

/* For kv_check and kv_dump: one line saying what IDENTITY holds and
 * whether this stage reads it.  KV_OK if it names (stage, format) or the
 * directory is empty; KV_ERR_INVALID for another stage, format, or a
 * directory of files without IDENTITY; KV_ERR_CORRUPT if it is damaged. */
int db_identity_check(const char *dir, const char *stage, uint32_t format, kv_line_fn line,
                      void *ctx);

#endif
