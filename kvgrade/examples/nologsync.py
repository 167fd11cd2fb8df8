#!/usr/bin/env python3
"""nologsync.py DIR: correct.py with one mistake: it fsyncs the directory
after creating its log (so the log's name is durable) but never fsyncs the
log itself.  Its writes reach the kernel before each answer, so a killed
process loses nothing; a power cut loses every write since the creation."""
import sys
import correct

correct.sync_file = lambda fd: None                      # the mistake
correct.main(sys.argv[1])
