"""outsider.py: what someone who is not a member sends a member's Raft
port, for the cluster test (tests/cluster/cluster_test.py).

Each attack opens a connection to a member's Raft port and sends one way
of claiming to be a member, then libraft's messages (as canonical/raft's
src/uv_encoding.c writes them, little-endian: a preamble of type and
header length, the header, the payload) that would hurt the group if
libraft read them: ones it cannot decode (an entry count larger than the
header holds, an entry of an unknown type), a vote with the largest term
there is, forged entries (a command that sets a key, a configuration
that adds the outsider as a voter), forged answers to the leader, a
TimeoutNow, an entry announced at 512 MiB.  The ways of claiming:

  libraft   libraft's own handshake (protocol 1, an id, an address): what
            its TCP transport takes on trust
  plain     the members' opening without TLS (stages/10-raft/peer/
            peer_hello.h, mode 0), as a member run with --raft-insecure
            sends it
  notls     the opening for TLS, then no certificate at all
  otherca   TLS with a certificate of another group's authority
  otherid   TLS with a certificate of this group (member 3's), claiming
            in the opening to be member 1: an insider's stolen key used
            to pass for another member
"""
import os
import time
import socket
import ssl
import struct

RAFT_COMMAND, RAFT_BARRIER, RAFT_CHANGE = 1, 2, 3


def u64(*vs):
    return b"".join(struct.pack("<Q", v) for v in vs)


def message(mtype, header, payload=b""):
    return u64(mtype, len(header)) + header + payload


def append_entries(term, entries, prev=(0, 0), commit=0, count=None, types=None):
    """AppendEntries with entries [(term, type, bytes)]; count and types
    override what the header says."""
    n = len(entries) if count is None else count
    head = u64(term, prev[0], prev[1], commit, n)
    for i, (eterm, etype, data) in enumerate(entries):
        t = etype if types is None else types[i]
        head += u64(eterm) + bytes([t, 0, 0, 0]) + struct.pack("<I", len(data))
    head += u64(0)
    return message(1, head, b"".join(d for _, _, d in entries))


def command_set(key, value):
    """A command of the group's log (stages/10-raft/replica/command.h):
    no conditions, one put."""
    body = bytes([1, 0]) + struct.pack("<II", 0, 1)
    body += bytes([2]) + struct.pack("<II", len(key), len(value)) + key + value
    return body + b"\0" * ((8 - len(body) % 8) % 8)


def configuration(servers):
    """libraft's configuration encoding: [(id, address, role)]."""
    out = bytes([1]) + struct.pack("<Q", len(servers))
    for sid, addr, role in servers:
        out += struct.pack("<Q", sid) + addr.encode() + b"\0" + bytes([role])
    return out + b"\0" * ((8 - len(out) % 8) % 8)


def messages(term, voters):
    """The messages an attack sends, by name: bytes."""
    big = 512 << 20
    add = configuration([(v, "127.0.0.1:%d" % p, 1) for v, p in voters] +
                        [(99, "127.0.0.1:9", 1)])
    return {
        "malformed-count": append_entries(term, [(term, RAFT_COMMAND, b"\0" * 8)], count=5),
        "unknown-type": append_entries(term, [(term, 9, b"\0" * 8)]),
        "huge-term-vote": message(3, u64(2 ** 64 - 1, 99, 2 ** 40, 2 ** 40, 1)),
        "forged-set": append_entries(term, [(term, RAFT_COMMAND,
                                             command_set(b"injected", b"pwned"))],
                                     prev=(2 ** 20, term), commit=2 ** 20 + 1),
        "forged-voter": append_entries(term, [(term, RAFT_CHANGE, add)],
                                       prev=(2 ** 20, term), commit=2 ** 20 + 1),
        "forged-results": b"".join(message(2, u64(term, 0, 2 ** 20)) for _ in range(50)),
        "timeout-now": message(6, u64(term, 2 ** 20, term)),
        "oversized-entry": announced(term, big),
    }


def announced(term, size):
    """An AppendEntries header announcing one entry of `size` bytes, and
    none of its bytes: what makes a receiver that trusts it allocate."""
    head = u64(term, 0, 0, 0, 1) + u64(term) + bytes([RAFT_COMMAND, 0, 0, 0])
    return message(1, head + struct.pack("<I", size) + u64(0))


def opening(mode, sender):
    return b"kvpeer" + bytes([1, mode]) + struct.pack("<Q", sender)


def hello(addr):
    return bytes([1, 0]) + struct.pack("<H", len(addr)) + addr.encode()


def libraft_handshake(sender, addr):
    a = addr.encode() + b"\0"
    a += b"\0" * ((8 - len(a) % 8) % 8)
    return u64(1, sender, len(a)) + a


def send(port, how, payload, certs=None, timeout=3):
    """Sends payload to the Raft port at 127.0.0.1:port, claiming to be a
    member `how` (the module's docstring); True if the member kept the
    connection open past it (it should not), False if it closed it."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if how == "libraft":
            s.sendall(libraft_handshake(99, "127.0.0.1:9") + payload)
        elif how == "plain":
            s.sendall(opening(0, 1) + hello("127.0.0.1:9") + payload)
        else:
            # notls claims an id it cannot prove; otherca and otherid
            # claim member 1, with another group's certificate or member
            # 3's of this group
            s.sendall(opening(1, 99 if how == "notls" else 1))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
            if how in ("otherca", "otherid"):
                ctx.load_cert_chain(*certs)
            s = ctx.wrap_socket(s)
            s.sendall(hello("127.0.0.1:9") + payload)
        s.settimeout(timeout)
        while True:
            if not s.recv(65536):
                return False
    except socket.timeout:
        return True
    except (OSError, ssl.SSLError):
        return False
    finally:
        s.close()


def vote(term, candidate, last_index, last_term, disrupt=True, pre_vote=False):
    """A RequestVote (type 3): its flags bit 0 disrupt-leader, bit 1 pre-vote."""
    return message(3, u64(term, candidate, last_index, last_term,
                          (1 if disrupt else 0) | (2 if pre_vote else 0)))


def as_member(port, member, certs, timeout=3):
    """A connection to the Raft port at 127.0.0.1:port as member `member`,
    proved with certs (its certificate and key: a real member's, stolen or
    kept after its removal), its hello sent: the TLS socket, or None if
    the member refused it (closed at the opening or in the handshake)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(opening(1, member))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(*certs)
        t = ctx.wrap_socket(s)
        t.sendall(hello("127.0.0.1:9"))
        return t
    except (OSError, ssl.SSLError):
        s.close()
        return None


def closed_by_member(s, timeout=2):
    """True if the member closed s within timeout (it read something it
    refused), False if s is still open."""
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(65536):
                return True
    except socket.timeout:
        return False
    except (OSError, ssl.SSLError):
        return True


def client_hello():
    """The bytes of a TLS 1.3 ClientHello, as a client without a
    certificate sends it first: what an outsider stalls after."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


class Flood:
    """An outsider holding `per` unfinished connections to each port, in
    four kinds taken in turn: idle (nothing sent), half an opening, a whole
    opening claiming member 1 then nothing, and the opening and a TLS
    ClientHello then nothing; each one the member closes is opened again
    at once (0.1 s later if it lasted less: a member that is down).  Runs in a thread of its own until stop(); `opened` counts
    every connection it made, `closed` those the member closed."""

    def __init__(self, ports, per=70):
        import selectors
        import threading
        self.ports, self.per = list(ports), per
        self.hello = client_hello()
        self.sel = selectors.DefaultSelector()
        self.opened = self.closed = 0
        self.done = False
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def open_one(self, port, kind):
        import selectors
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            self.later.append((time.time() + 0.1, port, kind))
            return
        first = [b"", opening(1, 1)[:8], opening(1, 1), opening(1, 1) + self.hello][kind]
        self.sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE,
                          [port, kind, first, time.time()])
        self.opened += 1

    def run(self):
        import selectors
        self.later = []  # (when, port, kind): reopened then
        for port in self.ports:
            for k in range(self.per):
                self.open_one(port, k % 4)
        while not self.done:
            now = time.time()
            due = [x for x in self.later if x[0] <= now]
            self.later = [x for x in self.later if x[0] > now]
            for _, port, kind in due:
                self.open_one(port, kind)
            for key, ev in self.sel.select(timeout=0.05):
                s, (port, kind, first, began) = key.fileobj, key.data
                if ev & selectors.EVENT_WRITE:  # connected: its bytes, then only reads
                    try:
                        if first:
                            s.send(first)
                        self.sel.modify(s, selectors.EVENT_READ, key.data)
                    except OSError:
                        pass
                    continue
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if data:
                    continue  # a TLS answer: never answered back
                self.sel.unregister(s)
                s.close()
                self.closed += 1
                # Again at once; a member down (refused at once) every 0.1 s.
                self.later.append((time.time() + (0.1 if time.time() - began < 0.1 else 0),
                                   port, kind))
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        self.sel.close()

    def stop(self):
        self.done = True
        self.thread.join(timeout=5)
