#!/usr/bin/env python3
"""nodirsync.py DIR: correct.py with one mistake: it fsyncs its log after
every write, but never the directory it created the log in.  After a power
cut the log's name may be gone, and every write with it."""
import sys
import correct

correct.sync_dir = lambda d: None                        # the mistake
correct.main(sys.argv[1])
