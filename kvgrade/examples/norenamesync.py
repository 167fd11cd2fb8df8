#!/usr/bin/env python3
"""norenamesync.py DIR: compacting.py with one mistake: the compaction
renames its new file over the log but never fsyncs the directory.  After a
power cut the old log's name comes back, and every write the engine made
into the new file since the compaction is gone with it."""
import os, sys
import correct, compacting

def install(t, tmp, log, d):                             # the mistake: no fsync of the directory
    correct.sync_file(t); os.rename(tmp, log)

compacting.install = install
compacting.main(sys.argv[1])
