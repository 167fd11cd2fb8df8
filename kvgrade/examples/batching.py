#!/usr/bin/env python3
"""batching.py DIR: correct.py answering a pipelined batch with one fsync
(group commit): every request that has arrived is answered in memory, the
writes of all of them go to the log as ONE record, the log is fsynced once,
and then every reply is sent.  One record per sync keeps correct.py's
recovery rule exact: the writes a power cut can tear are one record, the
last, so a bad record with a good one after it is damage to bytes a
completed sync made durable, and is refused."""
import os, struct, sys
import correct

def request(buf, pos):                                   # (args, its end) of a whole request at pos, or None
    end = buf.find(b'\r\n', pos)
    if end < 0: return None
    count, pos, args = int(buf[pos + 1:end]), end + 2, []
    for _ in range(count):
        end = buf.find(b'\r\n', pos)
        if end < 0: return None
        n = int(buf[pos + 1:end]); pos = end + 2
        if pos + n + 2 > len(buf): return None
        args.append(bytes(buf[pos:pos + n])); pos += n + 2
    return args, pos

def write_batch(fd, writes):                             # one record for the batch, one sync
    ops = [op for w in writes for op in w]
    if ops: os.write(fd, correct.record(ops)); correct.sync_file(fd)

def main(d):
    db = {}
    fd, buf = correct.open_log(d, db), bytearray()
    while chunk := os.read(0, 1 << 16):                  # what has arrived is one batch
        buf += chunk
        writes, replies, pos = [], [], 0
        while (got := request(buf, pos)) is not None:
            args, pos = got
            ops, reply = correct.answer(args, db)        # later requests of the batch see earlier ones
            correct.apply(b''.join(struct.pack('<cII', op, len(k), len(v)) + k + v for op, k, v in ops), db)
            writes.append(ops); replies.append(reply)
        del buf[:pos]
        write_batch(fd, [w for w in writes if w])        # on stable storage first,
        if replies: os.write(1, b''.join(replies))       # then every answer
    os.close(fd)

if __name__ == '__main__':
    main(sys.argv[1])
