#!/usr/bin/env python3
"""skipfsync.py DIR: compacting.py with one mistake: it skips every other
fsync (to go faster).  Every second write is acknowledged while it is only
in the kernel's memory: a power cut then loses it."""
import os, sys
import correct, compacting

calls = [0]
def sync_file(fd):
    calls[0] += 1
    if calls[0] % 2: os.fsync(fd)                        # the mistake: every other one skipped

correct.sync_file = sync_file
compacting.main(sys.argv[1])
