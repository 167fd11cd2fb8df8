/*
 * options.c: defaults for kv_options, and kv_free.  The same for every stage.
 */
#include <stdlib.h>
#include <string.h>

#include "kv.h"

void kv_options_init(kv_options *opt)
{
    if (opt == NULL)
        return;
    memset(opt, 0, sizeof *opt);
    opt->create_if_missing = 1;
    opt->sync = 0;
    opt->read_only = 0;
    opt->strict_recovery = 0;
}

void kv_free(void *p) { free(p); }
