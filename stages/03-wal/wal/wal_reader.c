/*
 * wal_reader.c: reassembles records from the fragments of a write-ahead
 * log, block by block, and says where the bytes are not a valid record
 * (wal_reader.h has the contract, wal_format.h the format).
 */
#include "wal_reader.h"

#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"
#include "kv.h"
#include "wal_format.h"
#include "wal_resync.h"

int wal_fragment_decode(const uint8_t *p, const uint8_t *limit, uint32_t block_left,
                        wal_fragment *f, const char **why)
{
    if (limit - p < (ptrdiff_t)WAL_HEADER_SIZE)
        return WAL_FRAGMENT_SHORT;
    static const uint8_t zeros[WAL_HEADER_SIZE];
    if (memcmp(p, zeros, WAL_HEADER_SIZE) == 0) {
        *why = "zero bytes where a fragment header should be (a write lost in a crash)";
        return WAL_FRAGMENT_BAD;
    }
    uint32_t len = coding_get_u16(p + 4);
    int type = p[6];
    if (type < WAL_FULL || type > WAL_LAST) {
        *why = "an unknown fragment type";
        return WAL_FRAGMENT_BAD;
    }
    if (WAL_HEADER_SIZE + len > block_left) {
        *why = "a fragment length that runs past the end of its block";
        return WAL_FRAGMENT_BAD;
    }
    if (limit - p < (ptrdiff_t)(WAL_HEADER_SIZE + len))
        return WAL_FRAGMENT_SHORT;
    uint32_t crc = crc32c_extend(crc32c_value(p + 4, 3), p + WAL_HEADER_SIZE, len);
    if (crc != coding_get_u32(p)) {
        *why = "a fragment checksum mismatch";
        return WAL_FRAGMENT_BAD;
    }
    f->data = p + WAL_HEADER_SIZE;
    f->len = len;
    f->type = type;
    return WAL_FRAGMENT_OK;
}

static void wal_reader_init(wal_reader *r, uint64_t start, uint64_t limit)
{
    r->limit = limit;
    r->block_off = start - start % WAL_BLOCK_SIZE;
    r->pos = (size_t)(start % WAL_BLOCK_SIZE);
    r->block_len = 0;
    r->next_start = start;
}

void wal_reader_init_file(wal_reader *r, io_file *f, uint64_t start, uint64_t limit)
{
    memset(r, 0, sizeof *r);
    r->file = f;
    wal_reader_init(r, start, limit);
}

void wal_reader_init_mem(wal_reader *r, const uint8_t *p, uint64_t start, uint64_t n)
{
    memset(r, 0, sizeof *r);
    r->mem = p;
    wal_reader_init(r, start, n);
}

void wal_reader_free(wal_reader *r)
{
    if (r->file)
        free(r->block);
    free(r->rec);
    r->block = NULL;
    r->rec = NULL;
}

/* Makes the block at block_off current: its size in the log; its bytes
 * are read by wal_reader_fill as they are needed. */
static int wal_reader_load(wal_reader *r)
{
    uint64_t end = r->block_off + WAL_BLOCK_SIZE;
    r->block_len = r->block_off >= r->limit ? 0
                   : (size_t)((end < r->limit ? end : r->limit) - r->block_off);
    r->base = r->loaded = 0;
    if (r->mem) {
        r->block = (uint8_t *)(r->mem + r->block_off); /* read only */
        r->loaded = r->block_len;
    }
    return KV_OK;
}

/* Reads the current block's bytes from `from` on: the rest of the block,
 * or with a window, at least `need` bytes and at most the window. */
static int wal_reader_fill(wal_reader *r, size_t from, size_t need)
{
    if (r->block == NULL && (r->block = malloc(WAL_BLOCK_SIZE)) == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for a block", io_path(r->file));
    size_t to = r->block_len;
    if (r->window && from + (need > r->window ? need : r->window) < to)
        to = from + (need > r->window ? need : r->window);
    size_t got = 0;
    int rc = to > from ? io_read_at(r->file, r->block_off + from, r->block, to - from, &got)
                       : KV_OK;
    r->base = from;
    r->loaded = from + got;
    if (rc == KV_OK && got < to - from)
        r->block_len = r->loaded; /* the file is shorter than the limit */
    return rc;
}

static int wal_reader_append(wal_reader *r, const wal_fragment *f)
{
    if (r->rec == NULL || r->rec_len + f->len > r->rec_cap) {
        size_t cap = r->rec_cap ? r->rec_cap : 4096;
        while (cap < r->rec_len + f->len)
            cap *= 2;
        uint8_t *grown = realloc(r->rec, cap);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "out of memory for a log record of %zu bytes", cap);
        r->rec = grown;
        r->rec_cap = cap;
    }
    if (f->len)
        memcpy(r->rec + r->rec_len, f->data, f->len);
    r->rec_len += f->len;
    return KV_OK;
}

static int wal_reader_damage(wal_reader *r, uint64_t at, const char *why)
{
    r->bad_offset = at;
    r->why = why;
    return WAL_READ_DAMAGE;
}

/* 1 if the log ends in the current block. */
static int wal_reader_last_block(const wal_reader *r)
{
    return r->block_off + r->block_len >= r->limit || r->block_len < WAL_BLOCK_SIZE;
}

/*
 * Resynchronising after damage: moves to the first offset, from
 * block_off + pos on, where a valid fragment starts, with the block
 * around it read, and returns 1; WAL_READ_END (at the end of the log) if
 * there is none, or a negative KV_ERR_* if reading failed.
 *
 * Damage can shift what follows by any number of bytes, so every offset
 * is a possible start, and only the crc can tell.  Since a fragment never
 * crosses a block boundary, each block is searched on its own
 * (wal_resync_block: in time linear in the block's size), read once, from
 * pos to its end, and left behind; the fragment found is then decoded from
 * the same bytes.  A block that lies wholly in a hole of the file (a
 * region never written, as `truncate -s +10G` leaves) reads as zeros,
 * where no fragment starts: such blocks are skipped without being read
 * (io_data_after).  So a 10 GB sparse zero tail costs a few reads, and
 * damage of any other kind costs time linear in its size.
 */
static int wal_reader_resync(wal_reader *r)
{
    int rc;
    for (;;) {
        if (r->pos + WAL_HEADER_SIZE <= r->block_len) {
            if (r->file && (r->pos < r->base || r->loaded < r->block_len)) {
                if ((rc = wal_reader_fill(r, r->pos, r->block_len - r->pos)) != KV_OK)
                    return rc;
                continue; /* the file may have ended early: block_len shrank */
            }
            size_t n = r->block_len - r->pos;
            size_t skip = wal_resync_block(r->block + (r->pos - r->base), n, (uint32_t)r->pos);
            if (skip < n) {
                r->pos += skip;
                r->scanning = 0;
                r->next_start = r->rec_offset = r->block_off + r->pos;
                return 1;
            }
        }
        if (wal_reader_last_block(r)) {
            r->pos = r->block_len;
            r->next_start = r->block_off + r->block_len;
            r->scanning = 0;
            return WAL_READ_END;
        }
        /* On to the next block that is not wholly in a hole. */
        uint64_t next = r->block_off + WAL_BLOCK_SIZE;
        uint64_t data = r->file ? io_data_after(r->file, next) : next;
        if (data > next)
            next = data < r->limit ? data : r->limit;
        r->block_off = next - next % WAL_BLOCK_SIZE;
        r->pos = 0;
        if ((rc = wal_reader_load(r)) != KV_OK)
            return rc;
    }
}

int wal_reader_next(wal_reader *r)
{
    int in_rec = 0, rc;
    r->rec_len = 0;
    r->rec_offset = r->next_start;
    if (r->block_len == 0 && (rc = wal_reader_load(r)) != KV_OK)
        return rc;
    if (r->scanning && (rc = wal_reader_resync(r)) != 1)
        return rc; /* the end of the log, or an error */
    for (;;) {
        uint64_t at = r->block_off + r->pos;
        size_t avail = r->pos < r->block_len ? r->block_len - r->pos : 0;
        if (avail < WAL_HEADER_SIZE) {
            if (wal_reader_last_block(r)) {
                /* The log ends in this block. */
                r->pos = r->block_len;
                r->next_start = r->block_off + r->block_len;
                if (in_rec)
                    return wal_reader_damage(r, r->rec_start,
                                             "a record cut short by the end of the log");
                if (avail == 0)
                    return WAL_READ_END;
                return wal_reader_damage(r, at, "a fragment header cut short by the end of "
                                         "the log");
            }
            /* The trailer: the next fragment starts the next block. */
            r->block_off += WAL_BLOCK_SIZE;
            r->pos = 0;
            if (!in_rec)
                r->next_start = r->block_off;
            if ((rc = wal_reader_load(r)) != KV_OK)
                return rc;
            continue;
        }
        if (r->file && (r->pos < r->base || r->pos + WAL_HEADER_SIZE > r->loaded)) {
            if ((rc = wal_reader_fill(r, r->pos, WAL_HEADER_SIZE)) != KV_OK)
                return rc;
            continue;
        }
        wal_fragment f;
        const char *why = NULL;
        const uint8_t *p = r->block + (r->pos - r->base);
        int d = wal_fragment_decode(p, r->block + (r->loaded - r->base),
                                    WAL_BLOCK_SIZE - (uint32_t)r->pos, &f, &why);
        if (d == WAL_FRAGMENT_SHORT && r->loaded < r->block_len) {
            /* The window ends inside the fragment: read the rest of the block. */
            if ((rc = wal_reader_fill(r, r->pos, r->block_len - r->pos)) != KV_OK)
                return rc;
            continue;
        }
        if (d != WAL_FRAGMENT_OK) {
            /* The next call resynchronises at the next valid fragment
             * (wal_reader_resync), skipping the tail of any record cut
             * here.  A fragment that runs past the end of the log is
             * usually a torn write, but may be a damaged length with
             * records after it. */
            if (d == WAL_FRAGMENT_SHORT)
                why = "a fragment cut short by the end of the log";
            r->pos++;
            r->scanning = 1;
            r->skip_orphans = 1;
            return wal_reader_damage(r, in_rec ? r->rec_start : at, why);
        }
        size_t size = WAL_HEADER_SIZE + f.len;
        int starts = f.type == WAL_FULL || f.type == WAL_FIRST;
        if (starts && in_rec) {
            /* A new record begins before the last one ended: that one is
             * damaged; read this fragment again on the next call. */
            r->next_start = at;
            return wal_reader_damage(r, r->rec_start, "a record whose last fragment is missing");
        }
        if (!starts && !in_rec) {
            r->pos += size;
            r->next_start = at + size;
            if (r->skip_orphans) {
                r->rec_offset = r->next_start;
                continue; /* the rest of a record already reported damaged */
            }
            return wal_reader_damage(r, at, "a fragment without the start of its record");
        }
        r->skip_orphans = 0;
        if (starts) {
            in_rec = 1;
            r->rec_start = at;
        }
        if ((rc = wal_reader_append(r, &f)) != KV_OK)
            return rc;
        r->pos += size;
        if (f.type == WAL_FULL || f.type == WAL_LAST) {
            r->rec_end = at + size;
            r->next_start = r->rec_end;
            return WAL_READ_RECORD;
        }
    }
}
