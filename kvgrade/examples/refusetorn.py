#!/usr/bin/env python3
"""refusetorn.py DIR: correct.py with one mistake: it refuses to open after
any bad record, the last one too.  A power cut that keeps part of the write
in flight (a prefix of it, or its sectors with one lost between them) then
leaves a log it never opens again, though every acknowledged write is whole
in it: a torn last record is a write never acknowledged, to be dropped."""
import struct, sys
import correct

def replay(data, db):                                    # the mistake: every bad byte is damage
    pos = 0
    while pos < len(data):
        if not correct.whole(data, pos): sys.exit('data.log: bad record at byte %d' % pos)
        n = struct.unpack_from('<I', data, pos + 4)[0]
        correct.apply(data[pos + 12:pos + 12 + n], db); pos += 12 + n
    return pos

correct.replay = replay
correct.main(sys.argv[1])
