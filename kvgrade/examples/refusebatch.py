#!/usr/bin/env python3
"""refusebatch.py DIR: batchlog.py with one mistake: it keeps correct.py's
recovery rule, "a bad record followed by a good one cannot come from a
power cut", which holds only when every fsync covers one record.  Its
batches are several records and one fsync, so a power cut that loses the
first sector of a batch and keeps the rest leaves exactly that, and it
never opens again, though every acknowledged write is whole in its log."""
import sys
import batchlog, batching

def torn(data, bad):                                     # the mistake: good bytes after damage = damage at rest
    return not any(batchlog.whole(data, q) for q in range(bad + 1, len(data) - 19))

batchlog.torn = torn
batching.main(sys.argv[1])
