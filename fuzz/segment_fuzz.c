/*
 * segment_fuzz.c: fuzz harness for stage 02's segment files.
 *
 * The input becomes 0000000001.log, the only (so the active) segment of a
 * stage-02 database, driven through kv.h (see fuzz_dbfile.h): open in every
 * mode, iterate, read back, write, reopen, check, dump.  After its 16-byte
 * header (KVS02SEG) the records are stage 01's format (log_fuzz.c fuzzes
 * the decoder itself); what is new here is the index built from them and
 * the segment's recovery.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_dbfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_dbfile_run("0000000001.log", data, size);
    return 0;
}
