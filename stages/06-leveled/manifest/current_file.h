/*
 * current_file.h: the file CURRENT, which names the live manifest, and the
 * manifests' file names.
 *
 * A stage-06 directory may hold several MANIFEST-NNNNNN files (an old one
 * not yet deleted, a new one a crash left half made); CURRENT says which
 * one is the database.  It is one line of text:
 *
 *   MANIFEST-000007 crc32c=1a2b3c4d\n
 *
 *   the manifest's file name ("MANIFEST-" and its number in at least six
 *   decimal digits, no more leading zeros than that), one space,
 *   "crc32c=", the CRC-32C of the name's bytes in eight lowercase hex
 *   digits, and a newline; nothing else (at most CURRENT_MAX_BYTES bytes).
 *
 * The checksum catches a CURRENT that was edited by hand or damaged; the
 * protocol below means a crash can never leave a torn one.  LevelDB's
 * CURRENT is the same line without the checksum (db/filename.cc).
 *
 * THE PROTOCOL (current_file_write), the commit point of a manifest
 * switch (docs/06-leveled-reference.md, "The manifest protocol"):
 *   1. write the line to CURRENT.tmp (created or emptied), fsync it;
 *   2. rename CURRENT.tmp to CURRENT;
 *   3. fsync the directory.  This is the commit point: before it returns,
 *      a power loss may bring the old CURRENT back (io_sim.h, rule 2);
 *      after it, the new one is durable.
 * A rename replaces the old name in one step, so CURRENT always reads as
 * either the old line or the new one, whole.  CURRENT.tmp is garbage
 * wherever a crash leaves it.
 */
#ifndef KV_CURRENT_FILE_H
#define KV_CURRENT_FILE_H

#include <stddef.h>
#include <stdint.h>

#define CURRENT_FILE_NAME "CURRENT"
#define CURRENT_FILE_TMP "CURRENT.tmp"
#define MANIFEST_NAME_PREFIX "MANIFEST-"
/* Room for "MANIFEST-" and 20 digits and a NUL. */
#define MANIFEST_NAME_MAX 32u
/* What follows the name, before the checksum's 8 hex digits. */
#define CURRENT_CRC_TAG " crc32c="
/* The longest CURRENT line: the longest name, " crc32c=", 8, "\n". */
#define CURRENT_MAX_BYTES (MANIFEST_NAME_MAX - 1 + 8 + 8 + 1)

/* "MANIFEST-000007" into name (MANIFEST_NAME_MAX bytes); returns name. */
char *manifest_file_name(char name[MANIFEST_NAME_MAX], uint64_t number);
/* 1 and *number if name is exactly what manifest_file_name writes for a
 * number >= 1; else 0 (so "MANIFEST-7", "MANIFEST-000007.tmp" are not). */
int manifest_file_number(const char *name, uint64_t *number);

/* The line naming manifest `number` into out (CURRENT_MAX_BYTES bytes, not
 * NUL-terminated); returns its length. */
size_t current_line_encode(char out[CURRENT_MAX_BYTES], uint64_t number);
/* Parses the line [p, p + n) (the whole content of a CURRENT, looking
 * only inside it).  KV_OK and *number, or KV_ERR_CORRUPT naming `path`,
 * the offset and what was wrong. */
int current_line_decode(const uint8_t *p, size_t n, const char *path, uint64_t *number);

/* The protocol above: makes dir's CURRENT name manifest `number`.  *renamed
 * is set to 1 once step 2 is done: from then on CURRENT may name the new
 * manifest (after a reopen without a crash it does; after a power loss it
 * may), so on a failure with *renamed set, neither manifest may be
 * deleted.  A failure before step 2 removes CURRENT.tmp again.  KV_OK, or
 * KV_ERR_IO / KV_ERR_NOMEM with kv_errmsg. */
int current_file_write(const char *dir, uint64_t number, int *renamed);

/* Reads dir's CURRENT: KV_OK and the number it names, KV_ERR_CORRUPT if
 * it is missing, too long or not a valid line (the message names it), or
 * an I/O error. */
int current_file_read(const char *dir, uint64_t *number);

#endif
