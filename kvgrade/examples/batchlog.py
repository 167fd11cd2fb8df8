#!/usr/bin/env python3
"""batchlog.py DIR: batching.py writing a record per request: a pipelined
batch is several records and one fsync.  A power cut can then tear several
records (every write since the last completed fsync), and a bad record
with good ones after it can be such a tear.  So each record also says
where the writes of its sync began (the log's length before the batch):
a bad record at byte X with a good record after it whose sync began after
X is damage before bytes a completed sync made durable, and is refused;
if every good record after it began its sync at or before X, the damage
lies in the writes of the last sync, never acknowledged: drop it and
everything after it, as correct.py drops a torn last record."""
import os, struct, sys, zlib
import correct, batching

def record(ops, start):                                  # correct.py's record, and where its sync began
    body = b''.join(struct.pack('<cII', op, len(k), len(v)) + k + v for op, k, v in ops)
    head = struct.pack('<IIQ', len(body), zlib.crc32(body), start)
    return struct.pack('<I', zlib.crc32(head)) + head + body

def whole(data, pos):                                    # a good record starts at pos?
    if pos + 20 > len(data): return False
    hcrc, n, bcrc = struct.unpack_from('<III', data, pos)
    return (zlib.crc32(data[pos + 4:pos + 20]) == hcrc and pos + 20 + n <= len(data)
            and zlib.crc32(data[pos + 20:pos + 20 + n]) == bcrc)

def torn(data, bad):                                     # the damage at bad is in the last sync's writes?
    later = (q for q in range(bad + 1, len(data) - 19) if whole(data, q))
    return all(struct.unpack_from('<Q', data, q + 12)[0] <= bad for q in later)

def replay(data, db):                                    # the length of the good part
    pos = 0
    while pos < len(data):
        if not whole(data, pos):
            if not torn(data, pos):
                sys.exit('data.log: a bad record at byte %d, before a sync that completed' % pos)
            break                                        # torn by a power cut: never acknowledged
        n = struct.unpack_from('<I', data, pos + 4)[0]
        correct.apply(data[pos + 20:pos + 20 + n], db); pos += 20 + n
    return pos

def write_batch(fd, writes):                             # a record per request, one sync
    start = os.fstat(fd).st_size
    for ops in writes: os.write(fd, record(ops, start))
    if writes: correct.sync_file(fd)

correct.replay, batching.write_batch = replay, write_batch
if __name__ == '__main__':
    batching.main(sys.argv[1])
