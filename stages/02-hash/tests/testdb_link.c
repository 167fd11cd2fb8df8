/*
 * testdb_link.c: links the stage suite's helpers (tests/testdb.c) into
 * build/02-hash/stagetest, which the Makefile builds from this directory,
 * tests/harness.c and the stage's libkv.a.
 */
#include "../../../tests/testdb.c"
