/*
 * ex_log.h: records of common/log_record.h made by the tests themselves,
 * byte by byte, so that the tests of one exercise do not lean on the
 * learner's answer to another.
 */
#ifndef KV_GRADE_EX_LOG_H
#define KV_GRADE_EX_LOG_H

#include <stddef.h>
#include <stdint.h>

/* Writes the record (put, or delete if val is NULL) at dst; returns its
 * size.  REQUIRES: room for 10 + klen + vlen bytes. */
size_t ex_log_record(uint8_t *dst, const void *key, size_t klen, const void *val, size_t vlen);

/* A data.log of stage 01: its 16-byte header, then n puts "k<i>" = "v<i>"
 * (i from 0), then `tail` bytes of extra[] (may be 0).  Returns its path;
 * *offsets (if not NULL) gets each record's offset, and offsets[n] the end
 * of the records. */
const char *ex_log_file(size_t n, uint64_t *offsets, const uint8_t *extra, size_t tail);

#endif
