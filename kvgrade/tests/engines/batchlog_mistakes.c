/*
 * batchlog_mistakes.c: batchlog_mistakes DIR MISTAKE: the C engine of
 * kvgrade/examples/c/batchlog.h with one step wrong, the mistakes a
 * learner makes in the steps durability rests on.  kvgrade must fail each
 * at its power rung, on every seed, saying what was wrong
 * (kvgrade/tests/kvgrade_test.sh, mode engines):
 *
 *   refusebatch  refuses every bad record with a good one after it, the
 *                rule that holds only when every fsync covers one record;
 *                a power cut tearing a batch leaves just that
 *   nocut        drops a torn tail in memory but leaves it in the file:
 *                the next write goes after it, the next start refuses
 *   nofsync      never fsyncs (no fsync at all)
 *   fsyncfirst   fsyncs the log before writing a batch, not after
 *   nodirsync    never fsyncs the directory it created the log in
 *   nologsync    fsyncs the directory after creating the log, never the log
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "batchlog.h"

static int no_sync_file(int fd)
{
    (void)fd;
    return 0;
}

static int no_sync_dir(const char *dir)
{
    (void)dir;
    return 0;
}

static int sync_then_write(const batchlog_steps *st, int fd, const unsigned char *bytes, size_t len)
{
    if (st->sync_file(fd) != 0)
        return -1;
    while (len > 0) {
        ssize_t w = write(fd, bytes, len);
        if (w <= 0)
            return -1;
        bytes += w;
        len -= (size_t)w;
    }
    return 0;
}

static int any_good_after(const unsigned char *log, size_t len, size_t bad)
{
    for (size_t q = bad + 1; q < len; q++)
        if (batchlog_whole(log, len, q, NULL))
            return 0;
    return 1;
}

static int no_cut(const batchlog_steps *st, int fd, size_t good)
{
    (void)st, (void)fd, (void)good;
    return 0;
}

typedef struct mistake {
    const char *name;
    void (*apply)(batchlog_steps *st);
} mistake;

static void m_refusebatch(batchlog_steps *st) { st->torn = any_good_after; }
static void m_nocut(batchlog_steps *st) { st->cut = no_cut; }
static void m_nofsync(batchlog_steps *st) { st->sync_file = no_sync_file, st->sync_dir = no_sync_dir; }
static void m_fsyncfirst(batchlog_steps *st) { st->append = sync_then_write; }
static void m_nodirsync(batchlog_steps *st) { st->sync_dir = no_sync_dir; }
static void m_nologsync(batchlog_steps *st) { st->sync_file = no_sync_file; }

static const mistake mistakes[] = {
    {"refusebatch", m_refusebatch}, {"nocut", m_nocut},         {"nofsync", m_nofsync},
    {"fsyncfirst", m_fsyncfirst},   {"nodirsync", m_nodirsync}, {"nologsync", m_nologsync},
};

int main(int argc, char **argv)
{
    for (size_t i = 0; argc == 3 && i < sizeof mistakes / sizeof mistakes[0]; i++)
        if (strcmp(argv[2], mistakes[i].name) == 0) {
            batchlog_steps st = batchlog_correct;
            mistakes[i].apply(&st);
            return batchlog_main(argv[1], &st);
        }
    fputs("usage: batchlog_mistakes DIR refusebatch|nocut|nofsync|fsyncfirst|nodirsync|nologsync\n",
          stderr);
    return 2;
}
