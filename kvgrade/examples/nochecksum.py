#!/usr/bin/env python3
"""nochecksum.py DIR: correct.py with one mistake: its records are a length
and the bytes, with no checksum.  It trusts whatever the disk gives back,
so a damaged byte becomes a wrong value."""
import struct, sys
import correct

def record(ops):                                         # the mistake: no checksum
    body = b''.join(struct.pack('<cII', op, len(k), len(v)) + k + v for op, k, v in ops)
    return struct.pack('<I', len(body)) + body

def replay(data, db):
    pos = 0
    while pos + 4 <= len(data):
        n, = struct.unpack_from('<I', data, pos)
        if pos + 4 + n > len(data): break
        correct.apply(data[pos + 4:pos + 4 + n], db)
        pos += 4 + n
    return pos

correct.record, correct.replay = record, replay
correct.main(sys.argv[1])
