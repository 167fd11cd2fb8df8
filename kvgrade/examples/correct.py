#!/usr/bin/env python3
"""correct.py DIR: a key-value engine speaking kvgrade's protocol (RESP2 on
stdin/stdout: SET GET DEL RANGE MSET) that keeps every acknowledged write
(durability sync).  A log of checksummed records in DIR/data.log."""
import os, struct, sys, zlib

def sync_file(fd): os.fsync(fd)                          # its bytes are on stable storage
def sync_dir(d):                                         # and so is a name made in d
    fd = os.open(d, os.O_RDONLY); os.fsync(fd); os.close(fd)

def record(ops):                                         # one request: all of it or none
    body = b''.join(struct.pack('<cII', op, len(k), len(v)) + k + v for op, k, v in ops)
    head = struct.pack('<II', len(body), zlib.crc32(body))
    return struct.pack('<I', zlib.crc32(head)) + head + body

def apply(body, db):
    i = 0
    while i < len(body):
        op, kl, vl = struct.unpack_from('<cII', body, i)
        k, v, i = body[i + 9:i + 9 + kl], body[i + 9 + kl:i + 9 + kl + vl], i + 9 + kl + vl
        if op == b'S': db[k] = v
        else: db.pop(k, None)

def whole(data, pos):                                    # a good record starts at pos?
    if pos + 12 > len(data): return False
    hcrc, n, bcrc = struct.unpack_from('<III', data, pos)
    return (zlib.crc32(data[pos + 4:pos + 12]) == hcrc and pos + 12 + n <= len(data)
            and zlib.crc32(data[pos + 12:pos + 12 + n]) == bcrc)

def replay(data, db):                                    # the length of the good part
    pos = 0
    while pos < len(data):
        if not whole(data, pos):                         # torn if nothing good follows it
            if any(whole(data, q) for q in range(pos + 1, len(data) - 11)):
                sys.exit('data.log: a bad record at byte %d, good ones after it' % pos)
            break                                        # a write the power cut tore: never acknowledged
        n = struct.unpack_from('<I', data, pos + 4)[0]
        apply(data[pos + 12:pos + 12 + n], db); pos += 12 + n
    return pos

def answer(args, db):                                    # a request: the writes it makes, its reply
    cmd, ops, reply = args[0].upper(), [], b'-ERR unknown command\r\n'
    if cmd == b'GET' and len(args) == 2:
        v = db.get(args[1]); reply = b'$-1\r\n' if v is None else b'$%d\r\n%s\r\n' % (len(v), v)
    elif cmd == b'SET' and len(args) == 3: ops, reply = [(b'S', args[1], args[2])], b'+OK\r\n'
    elif cmd == b'MSET' and len(args) % 2 == 1 and len(args) > 1:
        ops, reply = [(b'S', k, v) for k, v in zip(args[1::2], args[2::2])], b'+OK\r\n'
    elif cmd == b'DEL' and len(args) == 2:
        reply = b':%d\r\n' % (args[1] in db); ops = [(b'D', args[1], b'')] if args[1] in db else []
    elif cmd == b'RANGE' and len(args) == 4:
        keys = sorted(k for k in db if k >= args[1] and (not args[2] or k < args[2]))[:int(args[3])]
        reply = b'*%d\r\n' % (2 * len(keys)) + b''.join(b'$%d\r\n%s\r\n' % (len(x), x) for k in keys for x in (k, db[k]))
    return ops, reply

def commit(fd, ops, reply, out):                         # on stable storage first, then the answer
    if ops: os.write(fd, record(ops)); sync_file(fd)
    out.write(reply); out.flush()

def open_log(d, db):                                     # the log, replayed, its torn tail cut off
    path = os.path.join(d, 'data.log')
    if not os.path.exists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)); sync_dir(d)
    fd = os.open(path, os.O_RDWR | os.O_APPEND)
    os.ftruncate(fd, replay(open(path, 'rb').read(), db)); sync_file(fd)
    return fd

def main(d):
    db = {}
    fd, inp, out = open_log(d, db), sys.stdin.buffer, sys.stdout.buffer
    while line := inp.readline():                        # *N, then N times $len and the bytes
        args = [inp.read(int(inp.readline()[1:]) + 2)[:-2] for _ in range(int(line[1:]))]
        ops, reply = answer(args, db)
        commit(fd, ops, reply, out)
        apply(b''.join(struct.pack('<cII', op, len(k), len(v)) + k + v for op, k, v in ops), db)
    os.close(fd)

if __name__ == '__main__':
    main(sys.argv[1])
