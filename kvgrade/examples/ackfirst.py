#!/usr/bin/env python3
"""ackfirst.py DIR: correct.py with one mistake: it answers a write before it
writes it.  Killed between the two, it loses a write it acknowledged."""
import os, sys
import correct

def commit(fd, ops, reply, out):                         # the mistake: the answer goes first
    out.write(reply); out.flush()
    if ops: os.write(fd, correct.record(ops)); correct.sync_file(fd)

correct.commit = commit
correct.main(sys.argv[1])
