/*
 * kv_knobs.c: the kv command's small-scale knobs, the kv_options fields
 * that decide when the engine makes a new file: --memtable-bytes 4k makes
 * a table of every 4 KiB of writes, so that a learner sees an LSM tree
 * grow from a few hundred keys (kv_tool.h, tool_knob_parse).
 *
 * Each knob belongs to the stage that introduced the idea it sizes, and
 * the stages after it; a stage without that idea ignores the field
 * (include/kv.h), so the tool refuses the knob there instead of passing
 * it on to do nothing: "--memtable-bytes: stage 02-hash has no memtable
 * (stage 04 on)".  The stages are told apart by the number kv_stage()
 * starts with.  Knobs are not stored in the database: they hold for the
 * one kv process, and each command (or standard-input session) that
 * should use them names them again.  One knob is every stage's: --io,
 * the I/O backend (kv_options.io; docs/io.md), which `kv DIR stats`
 * reports on its line io.backend.  The usage text (tool_knobs_usage)
 * describes this stage's knobs only, and names the others in a line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kv_tool.h"

enum {
    KNOB_SIZE,    /* a size_t of bytes: N, Nk (KiB), Nm (MiB) */
    KNOB_INT,     /* an int >= 2 or >= 1 */
    KNOB_BLOOM,   /* an int of bits per key, or "none" */
    KNOB_COMPRESS, /* none, lz4 or lz4-values */
    KNOB_IO,       /* auto, posix or uring */
    KNOB_PERCENT,  /* a whole number from 1 to 99 */
    KNOB_YES_NO    /* yes or no */
};

typedef struct knob {
    const char *name;   /* "--memtable-bytes" */
    int kind;
    int first, last;    /* the stages that have it: first..last (99: every later one) */
    const char *idea;   /* what a stage without it lacks */
    const char *help;   /* one line of the usage text */
} knob;

static const knob knobs[] = {
    {"--segment-bytes", KNOB_SIZE, 2, 3, "has no log segments",
     "start a new log segment at N bytes"},
    {"--memtable-bytes", KNOB_SIZE, 4, 99, "has no memtable",
     "flush the memtable to a table at N bytes"},
    {"--block-bytes", KNOB_SIZE, 5, 99, "has no table blocks",
     "a table's data blocks of about N bytes, 64..1m"},
    {"--bloom-bits", KNOB_BLOOM, 5, 99, "has no bloom filters",
     "bits per key of a table's filter, 1..64 or none"},
    {"--compression", KNOB_COMPRESS, 5, 99, "has no table blocks to compress",
     "blocks: none, lz4 (whole) or lz4-values (each value)"},
    {"--cache-bytes", KNOB_SIZE, 5, 99, "has no cache",
     "the cache budget: blocks (records too, 09 on); default 8m"},
    {"--block-restart-interval", KNOB_INT, 5, 99, "has no table blocks",
     "a key whole every R entries of a data block, 1..1024"},
    {"--map-tables", KNOB_YES_NO, 5, 99, "has no table files to map",
     "yes (default): read tables in place; no: positioned reads"},
    {"--map-bytes", KNOB_SIZE, 5, 99, "has no table files to map",
     "map at most N bytes of table files; default: no bound"},
    {"--filters-for-hits", KNOB_YES_NO, 5, 99, "has no bloom filters",
     "yes: a get's last table skips its filter (default 09 on)"},
    {"--block-hash-index", KNOB_YES_NO, 5, 99, "has no table blocks",
     "yes: new data blocks get a hash index (default 09 on)"},
    {"--l1-bytes", KNOB_SIZE, 6, 99, "has no levels",
     "target size of level 1"},
    {"--level-ratio", KNOB_INT, 6, 99, "has no levels",
     "level L+1 may hold R times level L, R >= 2"},
    {"--table-bytes", KNOB_SIZE, 6, 99, "has no compaction outputs",
     "a compaction starts a new table past N bytes"},
    {"--value-threshold", KNOB_SIZE, 8, 99, "keeps every value in its table",
     "values of N bytes or more in the value log"},
    {"--value-gc-percent", KNOB_PERCENT, 8, 99, "has no value log",
     "collect a value-log file once P% of it is garbage"},
    {"--record-cache-percent", KNOB_PERCENT, 9, 99, "has no record cache",
     "P% of the cache for records, 1..90"},
    {"--background-bytes-per-sec", KNOB_SIZE, 9, 99, "does not pace its background writes",
     "flushes and compactions write at most N bytes a second"},
    {"--partitions", KNOB_YES_NO, 9, 99, "has no tables of partitions",
     "yes: new tables' index, filter in partitions; no (default)"},
    {"--io", KNOB_IO, 1, 99, "has no files",
     "I/O backend: auto (io_uring if it works), posix or uring"},
};
#define NKNOBS (sizeof knobs / sizeof knobs[0])

int tool_stage(void)
{
    return atoi(kv_stage());
}

/* Parses a size: digits, then nothing, k or K (KiB), or m or M (MiB).
 * 0 and values past SIZE_MAX are refused.  1 on success. */
static int knob_parse_size(const char *s, size_t *out)
{
    if (*s < '0' || *s > '9')
        return 0;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned long long mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1024 * 1024, end++;
    if (errno != 0 || *end != '\0' || v == 0 || v > (unsigned long long)SIZE_MAX / mul)
        return 0;
    *out = (size_t)(v * mul);
    return 1;
}

static int knob_parse_int(const char *s, int min, int max, int *out)
{
    if (*s < '0' || *s > '9')
        return 0;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return 0;
    *out = (int)v;
    return 1;
}

/* Sets the option of knob k from its value; EXIT_OK or a message. */
static int knob_set(kv_options *o, const knob *k, const char *value)
{
    size_t size = 0;
    int n = 0;
    switch (k->kind) {
    case KNOB_SIZE:
        if (!knob_parse_size(value, &size))
            return tool_fail("%s '%s': want a size in bytes > 0, such as 4096, 4k or 1m",
                             k->name, value);
        if (strcmp(k->name, "--segment-bytes") == 0)
            o->segment_bytes = size;
        else if (strcmp(k->name, "--memtable-bytes") == 0)
            o->memtable_bytes = size;
        else if (strcmp(k->name, "--block-bytes") == 0)
            o->block_bytes = size;
        else if (strcmp(k->name, "--cache-bytes") == 0)
            o->cache_bytes = size;
        else if (strcmp(k->name, "--map-bytes") == 0)
            o->map_bytes = size;
        else if (strcmp(k->name, "--l1-bytes") == 0)
            o->l1_bytes = size;
        else if (strcmp(k->name, "--value-threshold") == 0)
            o->value_threshold = size;
        else if (strcmp(k->name, "--background-bytes-per-sec") == 0)
            o->background_bytes_per_sec = size;
        else
            o->table_bytes = size;
        return EXIT_OK;
    case KNOB_PERCENT:
        if (!knob_parse_int(value, 1, 99, &n))
            return tool_fail("%s '%s': want a whole number from 1 to 99", k->name, value);
        if (strcmp(k->name, "--record-cache-percent") == 0)
            o->record_cache_percent = n;
        else
            o->value_gc_percent = n;
        return EXIT_OK;
    case KNOB_INT:
        if (strcmp(k->name, "--block-restart-interval") == 0) {
            if (!knob_parse_int(value, 1, 1024, &n))
                return tool_fail("%s '%s': want a whole number from 1 to 1024", k->name, value);
            o->block_restart_interval = n;
            return EXIT_OK;
        }
        if (!knob_parse_int(value, 2, 1000000, &n))
            return tool_fail("%s '%s': want a whole number from 2 to 1000000", k->name, value);
        o->level_ratio = n;
        return EXIT_OK;
    case KNOB_BLOOM:
        if (strcmp(value, "none") == 0)
            o->bloom_bits_per_key = KV_NO_BLOOM;
        else if (knob_parse_int(value, 1, 64, &n))
            o->bloom_bits_per_key = n;
        else
            return tool_fail("%s '%s': want bits per key from 1 to 64, or none", k->name,
                             value);
        return EXIT_OK;
    case KNOB_YES_NO: {
        /* --map-tables (yes: 0, no: KV_NO_MAP), --filters-for-hits (yes:
         * 1, no: KV_FILTERS_ALWAYS), --block-hash-index (yes: 1, no:
         * KV_NO_BLOCK_HASH) or --partitions (yes: KV_PARTITIONS, no: 0). */
        if (strcmp(k->name, "--block-hash-index") == 0) {
            if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
                return tool_fail("%s '%s': want yes or no", k->name, value);
            o->block_hash_index = strcmp(value, "yes") == 0 ? 1 : KV_NO_BLOCK_HASH;
            return EXIT_OK;
        }
        int maps = strcmp(k->name, "--map-tables") == 0;
        int hits = strcmp(k->name, "--filters-for-hits") == 0;
        int *field = maps ? &o->map_tables : hits ? &o->filters_for_hits : &o->table_partitions;
        if (strcmp(value, "yes") == 0)
            *field = maps ? 0 : hits ? 1 : KV_PARTITIONS;
        else if (strcmp(value, "no") == 0)
            *field = maps ? KV_NO_MAP : hits ? KV_FILTERS_ALWAYS : 0;
        else
            return tool_fail("%s '%s': want yes or no", k->name, value);
        return EXIT_OK;
    }
    case KNOB_IO:
        if (strcmp(value, "auto") == 0)
            o->io = KV_IO_AUTO;
        else if (strcmp(value, "posix") == 0)
            o->io = KV_IO_POSIX;
        else if (strcmp(value, "uring") == 0)
            o->io = KV_IO_URING;
        else
            return tool_fail("%s '%s': want auto, posix or uring", k->name, value);
        return EXIT_OK;
    default:
        if (strcmp(value, "none") == 0)
            o->compression = KV_COMPRESSION_NONE;
        else if (strcmp(value, "lz4") == 0)
            o->compression = KV_COMPRESSION_LZ4;
        else if (strcmp(value, "lz4-values") == 0)
            o->compression = KV_COMPRESSION_LZ4_VALUES;
        else
            return tool_fail("%s '%s': want none, lz4 or lz4-values", k->name, value);
        return EXIT_OK;
    }
}

int tool_knob_parse(tool *t, char **argv, int argc, int *i)
{
    return tool_knob_parse_into(&t->knobs, argv, argc, i);
}

int tool_knob_parse_into(kv_options *o, char **argv, int argc, int *i)
{
    const char *arg = argv[*i];
    for (size_t j = 0; j < NKNOBS; j++) {
        const knob *k = &knobs[j];
        size_t len = strlen(k->name);
        if (strncmp(arg, k->name, len) != 0 || (arg[len] != '\0' && arg[len] != '='))
            continue;
        const char *value = arg[len] == '=' ? arg + len + 1 : NULL;
        if (value == NULL) {
            if (*i + 1 >= argc)
                return tool_fail("%s needs a value (see kv --help)", k->name);
            value = argv[++*i];
        }
        int stage = tool_stage();
        if (stage < k->first || stage > k->last) {
            char from[32];
            if (k->last == 99)
                snprintf(from, sizeof from, "stage %02d on", k->first);
            else
                snprintf(from, sizeof from, "stages %02d to %02d", k->first, k->last);
            return tool_fail("%s: stage %s %s (%s), so it would ignore this option",
                             k->name, kv_stage(), k->idea, from);
        }
        return knob_set(o, k, value);
    }
    return TOOL_NOT_A_KNOB;
}

/* "  HEAD   HELP" for knob k, the help on a line of its own if HEAD is long. */
static void knob_usage_line(FILE *f, const knob *k)
{
    const char *value = k->kind == KNOB_SIZE      ? "N"
                        : k->kind == KNOB_COMPRESS ? "C"
                        : k->kind == KNOB_BLOOM    ? "B"
                        : k->kind == KNOB_IO       ? "IO"
                        : k->kind == KNOB_PERCENT  ? "P"
                        : k->kind == KNOB_YES_NO   ? "Y"
                                                   : "R";
    char head[32];
    snprintf(head, sizeof head, "%s %s", k->name, value);
    if (strlen(head) > 19)
        fprintf(f, "  %s\n  %-19s %s\n", head, "", k->help);
    else
        fprintf(f, "  %-19s %s\n", head, k->help);
}

void tool_knobs_usage(FILE *f)
{
    int stage = tool_stage(), later = 0;
    for (size_t j = 0; j < NKNOBS; j++) {
        if (stage >= knobs[j].first && stage <= knobs[j].last)
            knob_usage_line(f, &knobs[j]);
        else if (stage < knobs[j].first)
            later++;
    }
    /* An earlier stage's knob this one has no use for. */
    for (size_t j = 0; j < NKNOBS; j++) {
        const knob *k = &knobs[j];
        if (stage > k->last)
            fprintf(f, "  %s (stages %02d %s %02d only) is refused here (exit 2)\n", k->name,
                    k->first, k->last == k->first + 1 ? "and" : "to", k->last);
    }
    if (later > 0)
        fprintf(f, "  Later stages add %d knobs, for the parts they add (their kv --help lists\n"
                   "  them); this stage refuses them (exit 2), since it would ignore them.\n",
                later);
}
