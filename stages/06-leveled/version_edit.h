/*
 * version_edit.h: TEMPORARY stand-in with the struct of the shared design,
 * until the real header lands; deleted then.
 */
#ifndef KV_LEVELED_VERSION_EDIT_H
#define KV_LEVELED_VERSION_EDIT_H

#include <stddef.h>
#include <stdint.h>

#define VERSION_LEVELS 7
typedef struct edit_file {
    int level;
    uint64_t number, file_bytes, entries;
    uint8_t *smallest, *largest;
    size_t smallest_len, largest_len;
} edit_file;
typedef struct edit_removed { int level; uint64_t number; } edit_removed;
typedef struct edit_pointer { int level; uint8_t *key; size_t len; } edit_pointer;
typedef struct version_edit {
    int has_log_seq;      uint64_t log_seq;
    int has_next_file;    uint64_t next_file;
    int has_last_seq;     uint64_t last_seq;
    edit_file *added;     size_t nadded, added_cap;
    edit_removed *removed; size_t nremoved, removed_cap;
    edit_pointer *pointers; size_t npointers, pointers_cap;
} version_edit;
void version_edit_init(version_edit *e);
void version_edit_free(version_edit *e);
int  version_edit_add_file(version_edit *e, int level, uint64_t number, uint64_t file_bytes,
                           uint64_t entries, const uint8_t *smallest, size_t slen,
                           const uint8_t *largest, size_t llen);
int  version_edit_remove_file(version_edit *e, int level, uint64_t number);
int  version_edit_set_pointer(version_edit *e, int level, const uint8_t *key, size_t len);
#endif
