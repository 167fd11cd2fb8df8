#!/usr/bin/env python3
"""nofsync.py DIR: correct.py with one mistake: it never fsyncs.  Its writes
reach the kernel before each answer, so a killed process loses nothing;
a power cut loses everything the kernel had not yet written."""
import sys
import correct

correct.sync_file = lambda fd: None                      # the mistake
correct.sync_dir = lambda d: None
correct.main(sys.argv[1])
