#!/usr/bin/env python3
"""fsyncfirst.py DIR: compacting.py with one mistake: it fsyncs before it
writes, not after.  Each answer then vouches for the previous write, and
the one it acknowledges is only in the kernel's memory."""
import os, sys
import correct, compacting

def append(fd, ops):                                     # the mistake: the fsync goes first
    correct.sync_file(fd); os.write(fd, correct.record(ops))

compacting.append = append
compacting.main(sys.argv[1])
