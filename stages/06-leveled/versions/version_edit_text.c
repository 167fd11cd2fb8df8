/*
 * version_edit_text.c: a version edit in words, for kv dump
 * (version_edit_describe in version_edit.h).  Keys are shown as their user
 * key, escaped (escape.h), with the sequence number and type of their
 * trailer: "user"@seq put.
 */
#include <inttypes.h>
#include <stdio.h>

#include "escape.h"
#include "internal_key.h"
#include "log_report.h"
#include "version_edit.h"

#define EDIT_SHOW_BYTES 48u

/* "\"key\"@seq put" of an internal key into out. */
static const char *edit_key_text(char *out, size_t cap, const uint8_t *k, size_t len)
{
    ikey_parsed ik;
    char shown[4 * EDIT_SHOW_BYTES + 8];
    if (!ikey_decode(k, k + len, &ik)) {
        escape_bytes(shown, sizeof shown, k, len, EDIT_SHOW_BYTES);
        snprintf(out, cap, "(not an internal key) \"%s\"", shown);
        return out;
    }
    escape_bytes(shown, sizeof shown, ik.user_key, ik.user_len, EDIT_SHOW_BYTES);
    snprintf(out, cap, "\"%s\"@%" PRIu64 " %s", shown, ik.seq,
             ikey_type_word(ik.type));
    return out;
}

int version_edit_describe(const version_edit *e, const char *indent, kv_line_fn line,
                          void *ctx)
{
    char a[4 * EDIT_SHOW_BYTES + 64], b[4 * EDIT_SHOW_BYTES + 64];
    if (e->has_log_seq)
        log_report_line(line, ctx, "%slog_seq %" PRIu64, indent, e->log_seq);
    if (e->has_next_file)
        log_report_line(line, ctx, "%snext_file %" PRIu64, indent, e->next_file);
    if (e->has_last_seq)
        log_report_line(line, ctx, "%slast_seq %" PRIu64, indent, e->last_seq);
    for (size_t i = 0; i < e->npointers; i++)
        log_report_line(line, ctx, "%spointer L%d %s", indent, e->pointers[i].level,
                        edit_key_text(a, sizeof a, e->pointers[i].key, e->pointers[i].len));
    for (size_t i = 0; i < e->nremoved; i++)
        log_report_line(line, ctx, "%sremoved L%d #%" PRIu64, indent, e->removed[i].level,
                        e->removed[i].number);
    for (size_t i = 0; i < e->nadded; i++) {
        const edit_file *f = &e->added[i];
        log_report_line(line, ctx, "%sadded L%d #%" PRIu64 " %" PRIu64 " bytes %" PRIu64
                        " entries [%s .. %s]", indent, f->level, f->number, f->file_bytes,
                        f->entries, edit_key_text(a, sizeof a, f->smallest, f->smallest_len),
                        edit_key_text(b, sizeof b, f->largest, f->largest_len));
        if (f->dead > 0)
            log_report_line(line, ctx, "%sdead #%" PRIu64 " %" PRIu64 " entries from seq %"
                            PRIu64, indent, f->number, f->dead, f->dead_from);
    }
    return KV_OK;
}
