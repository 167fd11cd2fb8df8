#!/usr/bin/env python3
"""fuzz_table_v2_odd_index.py DIR: tables of format v2 (version 1) whose
every checksum is right but whose index is odd, written to DIR/table/ and
DIR/table_blocks/ (DIR: fuzz/regressions, which keeps them) for the table
and table_blocks harnesses (fuzz/table_fuzz.c, fuzz/table_blocks_fuzz.c).

A table opens whatever order or places its index's separators and handles
have (only kv check looks): what it keeps beside the index at open, its
fences (stages/05-blocks/table_v2/table_v2_fences.c), must then read the
same as the index, or not be kept.  Each table here is written field by
field as table_v2_format.h lays it out: data blocks (a restart point at
every entry), the properties, the metaindex, the index, the footer; each
file (v2-fences-*) is named for what its index holds, and main() says
why each is as it is.

Run it again after a change of the format: the files are its output.
"""
import os
import struct
import sys


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def ikey(user, seq, kind=1):
    """An internal key: the user key, then seq << 8 | type, little-endian."""
    return user + struct.pack("<Q", seq << 8 | kind)


def block(entries):
    """Block contents: each (key, value) an entry with a restart point (no
    shared bytes), then the restart offsets and their count."""
    body, restarts = bytearray(), []
    for k, v in entries:
        restarts.append(len(body))
        body += varint(0) + varint(len(k)) + varint(len(v)) + k + v
    for r in restarts:
        body += struct.pack("<I", r)
    body += struct.pack("<I", len(restarts))
    return bytes(body)


def stored(contents):
    """A stored block: contents, then the trailer (raw, size, crc32c)."""
    head = contents + bytes([0]) + struct.pack("<I", len(contents))
    return head + struct.pack("<I", crc32c(head))


def handle(offset, size):
    return varint(offset) + varint(size)


def entry(shared, key, value):
    """A block entry: sharing `shared` bytes of the key before it."""
    return varint(shared) + varint(len(key)) + varint(len(value)) + key + value


def index_past_restarts(last):
    """An index of three entries and two restart points: the second entry
    (no restart point) is block 1's, the third (the second restart point)
    is `last`'s bytes, which the fences do not read a handle from at
    open."""
    def make(entries):
        (k0, v0), (k1, v1) = entries
        body = entry(0, k0, v0) + entry(0, k1, v1)
        return body + last + struct.pack("<III", 0, len(body), 2)
    return make


def index_entry_after_the_restarts(extra):
    """An index of a restart point at each of its two entries, then the
    bytes `extra` (a third entry, at no restart point)."""
    def make(entries):
        (k0, v0), (k1, v1) = entries
        e0 = entry(0, k0, v0)
        body = e0 + entry(0, k1, v1) + extra
        return body + struct.pack("<III", 0, len(e0), 2)
    return make


def table(blocks, separators=None, gaps=(), handle_tails=(), index_fn=None):
    """A table of the data blocks `blocks` (lists of (user key, value)),
    seq 1 up in order.  separators: the index's user keys (default: each
    block's last key); gaps[i]: junk bytes before data block i;
    handle_tails[i]: bytes after block i's handle in its index entry;
    index_fn: makes the index's contents from its (key, value) entries
    (default: a restart point at each)."""
    out = bytearray(b"KVS05TBL" + struct.pack("<I", 1))
    out += struct.pack("<I", crc32c(bytes(out)))
    seq, handles, keys, raw = 1, [], [], 0
    for i, entries in enumerate(blocks):
        out += bytes([0x5A]) * (gaps[i] if i < len(gaps) else 0)
        ents = []
        for user, value in entries:
            ents.append((ikey(user, seq), value))
            keys.append(ents[-1][0])
            seq += 1
        contents = block(ents)
        raw += len(contents)
        handles.append((len(out), len(contents)))
        out += stored(contents)
    data_end = len(out)
    smallest, largest = keys[0], keys[-1]
    props = struct.pack("<QQQQII", len(keys), 0, len(blocks), raw, len(smallest), len(largest))
    props_h = (len(out), len(props) + len(smallest) + len(largest))
    out += stored(props + smallest + largest)
    meta = block([(b"properties", handle(*props_h))])
    meta_h = (len(out), len(meta))
    out += stored(meta)
    if separators is None:
        separators = [b[-1][0] for b in blocks]
    # A separator at seq 1 sorts after every key of its user key the
    # blocks hold (seq 1 up, the newest first).
    ix_entries = []
    for i, (sep, h) in enumerate(zip(separators, handles)):
        tail = handle_tails[i] if i < len(handle_tails) else b""
        ix_entries.append((ikey(sep, 1), handle(*h) + tail))
    index = block(ix_entries) if index_fn is None else index_fn(ix_entries)
    index_h = (len(out), len(index))
    out += stored(index)
    foot = struct.pack("<QQIQI", data_end, index_h[0], index_h[1], meta_h[0], meta_h[1])
    foot += b"KVS05TBL" + struct.pack("<I", 1)
    out += foot + struct.pack("<I", crc32c(foot))
    return bytes(out)


def kv(*users):
    return [(u, b"v-" + u) for u in users]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: fuzz_table_v2_odd_index.py DIR (fuzz/regressions)")
    out = sys.argv[1]
    two = [kv(b"ka1", b"ka2"), kv(b"kb1", b"kb2")]
    three = two + [kv(b"kc1", b"kc2")]
    # A separator out of order makes a lookup miss a key the scan shows
    # (the index's search goes to the wrong block); so, as a builder
    # given its keys out of order would write them, the blocks' keys are
    # out of order too, and the separators are their last keys: kv check
    # must refuse the table, and no lookup is held to the scan.
    tables = {
        "table/v2-fences-keys-share-no-prefix":
            table([kv(b"apple"), kv(b"melon"), kv(b"zebra")]),
        "table/v2-fences-first-separator-longer-than-the-largest":
            table([kv(b"pa1", b"pb3"), kv(b"pb1", b"pb2")], separators=[b"pb2zz", b"pb2"]),
        "table/v2-fences-separators-out-of-order":
            table([kv(b"kb1", b"kb2"), kv(b"ka1", b"ka2"), kv(b"kc1", b"kc2")]),
        "table/v2-fences-separator-shorter-than-the-prefix":
            table([kv(b"kxa1", b"kxa2"), kv(b"k"), kv(b"kxc1", b"kxc2")]),
        "table/v2-fences-separator-outside-the-prefix":
            table([kv(b"ka1", b"ka2"), kv(b"jz"), kv(b"kc1", b"kc2")]),
        "table/v2-fences-gap-between-data-blocks": table(three, gaps=[0, 4]),
        "table/v2-fences-gap-and-a-handle-with-bytes-after":
            table(three, gaps=[0, 0, 5], handle_tails=[b"", b"\x01"]),
        # Past the restart points, an entry the fences never read: the
        # index's own reading of entry 1 (its second restart point) fails.
        "table/v2-fences-gap-and-a-restart-entry-sharing-bytes":
            table(two, gaps=[0, 3], index_fn=index_past_restarts(entry(1, b"x", b""))),
        "table/v2-fences-gap-and-a-restart-entry-past-the-entries":
            table(two, gaps=[0, 3], index_fn=index_past_restarts(b"\x00\x7f\x01q")),
        # An entry after the last restart point: the fences stop at the
        # restart points' count; a scan reads the entry's block, which is
        # not one (its handle covers the file header's last bytes).
        "table/v2-fences-index-entry-after-the-restart-points":
            table(two, index_fn=index_entry_after_the_restarts(
                entry(0, ikey(b"zz", 1), handle(11, 5)))),
        # A separator longer than a block iterator keeps in place: with
        # the allocations refused in turn (table_blocks; which ones, the
        # input's crc32c picks: this value makes them take the one of the
        # fences' read of the index), the fences' read runs out of memory.
        "table_blocks/v2-fences-separator-longer-than-an-iterator-keeps-inline":
            table([[(b"L" * 200, b"v0")], kv(b"M" * 200)]),
    }
    for name, data in tables.items():
        os.makedirs(os.path.dirname(os.path.join(out, name)), exist_ok=True)
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
