/*
 * batching.c: batching DIR, the engine of batchlog.h with every step
 * right: a record per request, one fsync per pipelined batch, and the
 * recovery rule that tells a torn batch from damage to durable bytes.
 */
#include <stdio.h>

#include "batchlog.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: batching DIR   (RESP2 on standard input and output: docs/kvgrade.md)\n",
              stderr);
        return 2;
    }
    return batchlog_main(argv[1], &batchlog_correct);
}
