#!/usr/bin/env python3
"""renamefirst.py DIR: compacting.py with one mistake: the compaction's new
file is renamed over the log (and the directory fsynced) before the file's
own bytes are fsynced.  A power cut between the two leaves the log's name
on a file whose bytes were never on stable storage: every key is gone."""
import os, sys
import correct, compacting

def install(t, tmp, log, d):                             # the mistake: the name before the bytes
    os.rename(tmp, log); correct.sync_dir(d); correct.sync_file(t)

compacting.install = install
compacting.main(sys.argv[1])
