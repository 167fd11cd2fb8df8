#!/usr/bin/env python3
"""nocut.py DIR: correct.py with one mistake: it drops a torn last record
when it replays the log, but leaves it in the file.  It opens after a power
cut and answers right; its next write goes after the torn bytes, and at the
next start the log holds a bad record with good ones after it, which it
refuses: one more write and restart after an ordinary power cut, and it
never opens again."""
import os, sys
import correct

def open_log(d, db):                                     # the mistake: no ftruncate of the torn tail
    path = os.path.join(d, 'data.log')
    if not os.path.exists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)); correct.sync_dir(d)
    correct.replay(open(path, 'rb').read(), db)
    return os.open(path, os.O_RDWR | os.O_APPEND)

correct.open_log = open_log
correct.main(sys.argv[1])
