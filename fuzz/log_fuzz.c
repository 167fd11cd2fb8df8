/*
 * log_fuzz.c: fuzz harness for the log record format (stages 01 and 02).
 *
 * The input is used twice: as the bytes of data.log (its 16-byte header,
 * then records), driven through kv.h (see fuzz_dbfile.h), and directly
 * through the bounded record decoder from offset 16 on, which must stay
 * inside [p, limit) whatever the lengths say.
 */
#include <stddef.h>
#include <stdint.h>

#include "file_header.h"
#include "fuzz_dbfile.h"
#include "log_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *limit = data + size;
    const uint8_t *p = size > FILE_HEADER_SIZE ? data + FILE_HEADER_SIZE : limit;
    while (p < limit) {
        log_record rec;
        uint64_t rec_size = 0;
        const char *why = NULL;
        if (log_record_decode(p, limit, &rec, &rec_size, &why) != LOG_DECODE_OK)
            break;
        p += rec_size;
    }
    fuzz_dbfile_run("data.log", data, size);
    return 0;
}
