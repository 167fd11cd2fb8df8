/*
 * testdb_link.c: links the shared suite's helpers (tests/testdb.c) and
 * stage 02's test helpers (file names, damage, stats) into
 * build/03-wal/stagetest.
 */
#include "../../../tests/testdb.c"
#include "../../02-hash/tests/stage_util.c"
