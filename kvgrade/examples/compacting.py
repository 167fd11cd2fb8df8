#!/usr/bin/env python3
"""compacting.py DIR: correct.py with a compaction, as a learner adds one:
once DIR/data.log passes 64 KiB, the live keys are written to DIR/data.tmp,
which is fsynced, renamed over data.log, and the directory fsynced."""
import os, sys
import correct

LIMIT = 64 * 1024
where = ['.']

def append(fd, ops):                                     # on stable storage, then the answer
    os.write(fd, correct.record(ops)); correct.sync_file(fd)

def install(t, tmp, log, d):                             # the new file's bytes, then its name
    correct.sync_file(t); os.rename(tmp, log); correct.sync_dir(d)

def compact(fd):
    db = {}
    correct.replay(os.pread(fd, os.fstat(fd).st_size, 0), db)
    d = where[0]
    tmp, log = os.path.join(d, 'data.tmp'), os.path.join(d, 'data.log')
    t = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_RDWR | os.O_APPEND, 0o644)
    os.write(t, correct.record([(b'S', k, v) for k, v in db.items()]))
    install(t, tmp, log, d)
    os.dup2(t, fd); os.close(t)                           # the log is the new file from now on

def commit(fd, ops, reply, out):
    if ops:
        append(fd, ops)
        if os.fstat(fd).st_size > LIMIT: compact(fd)
    out.write(reply); out.flush()

def main(d):
    where[0] = d
    correct.commit = commit
    correct.main(d)

if __name__ == '__main__':
    main(sys.argv[1])
