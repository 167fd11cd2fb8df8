"""linkproxy.py: the network between the members of a Raft group, as a
test cuts and heals it (tests/cluster/cluster_test.py).

Each member listens for Raft traffic at a port of its own (kv serve
--raft-bind) and the others reach it at another, the address the peer
list gives, where this proxy listens and forwards.  libraft opens one
connection for each direction of each pair of members, and the members'
transport starts it with an opening in the clear that names who connects
(stages/10-raft/peer/peer_hello.h: "kvpeer", a version byte, a mode byte,
8 bytes of the member's id, little-endian), before TLS.  So the proxy
knows each connection's link, src -> dst, without reading the encrypted
rest, and a link can be cut: its connections are closed, and any new one
is closed right after its opening, until the link is healed.  A cut is
what a partition looks like to libraft: the peer's messages stop, and
each reconnection attempt fails.

Without TLS (--raft-insecure) the hello follows the opening in the clear,
and its first byte says what the connection is for (1 libraft's
messages, 2 a probe, 3 a leader's confirm link: peer_hello.h), so there
a cut may spare some kinds: cutting only kind 1 stops libraft's traffic
while a leader's confirm links still reach the others, a partition no
network makes but one that tests what a leader does with an answer from
a member of a later term.  With TLS the kind is not known, and a cut of
any kind cuts the connection.
"""
import socket
import struct
import threading

OPENING = 16
KINDS = (1, 2, 3)  # peer_hello.h: Raft, probe, confirm


def recv_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise OSError("closed during the opening")
        data += chunk
    return data


class LinkProxy:
    def __init__(self, listen_ports, target_ports, host="127.0.0.1"):
        """Member i (id i + 1) is reached at listen_ports[i] and listens
        at target_ports[i]."""
        self.host = host
        self.targets = list(target_ports)
        self.cut = set()        # (src id, dst id, kind); kind None: every kind
        self.live = []          # [src id, dst id, socket, socket, kind or None]
        self.lock = threading.Lock()
        self.stopping = False
        self.listeners = []
        for i, port in enumerate(listen_ports):
            ls = socket.socket()
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind((host, port))
            ls.listen(16)
            self.listeners.append(ls)
            threading.Thread(target=self._accept, args=(ls, i + 1), daemon=True).start()

    def _accept(self, ls, dst):
        while not self.stopping:
            try:
                s, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=self._link, args=(s, dst), daemon=True).start()

    def _is_cut(self, src, dst, kind):
        return (src, dst, None) in self.cut or (src, dst, kind) in self.cut or \
            (kind is None and any((src, dst, k) in self.cut for k in KINDS))

    def _link(self, s, dst):
        try:
            head = recv_exactly(s, OPENING)
            if head[:6] != b"kvpeer":
                raise OSError("not a member's opening")
            src, = struct.unpack("<Q", head[8:16])
            kind = None
            if head[7] == 0:  # plain: the hello's kind follows at once
                s.settimeout(2)
                try:
                    more = s.recv(1)
                except socket.timeout:
                    more = b""
                s.settimeout(None)
                head += more
                kind = more[0] if more and more[0] in KINDS else None
            with self.lock:
                if self._is_cut(src, dst, kind) or self.stopping:
                    raise OSError("cut")
            t = socket.create_connection((self.host, self.targets[dst - 1]), timeout=2)
            t.settimeout(None)
            t.sendall(head)
        except OSError:
            self._close(s)
            return
        entry = [src, dst, s, t, kind]
        with self.lock:
            if self._is_cut(src, dst, kind) or self.stopping:
                self._close(s)
                self._close(t)
                return
            self.live.append(entry)
        threading.Thread(target=self._pump, args=(t, s, entry), daemon=True).start()
        self._pump(s, t, entry)

    def _pump(self, a, b, entry):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        self._close(a)
        self._close(b)
        with self.lock:
            if entry in self.live:
                self.live.remove(entry)

    @staticmethod
    def _close(s):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def cut_links(self, pairs, kinds=None):
        """Cuts each link (src id, dst id) of pairs, both directions: its
        connections of the given kinds (None: all)."""
        with self.lock:
            for a, b in pairs:
                for k in kinds or (None,):
                    self.cut.add((a, b, k))
                    self.cut.add((b, a, k))
            doomed = [e for e in self.live if self._is_cut(e[0], e[1], e[4])]
        for e in doomed:
            self._close(e[2])
            self._close(e[3])

    def partition(self, *groups, kinds=None):
        """Cuts every link between two of the groups (lists of member
        ids), its connections of the given kinds (None: all)."""
        pairs = [(a, b) for i, g in enumerate(groups) for h in groups[i + 1:]
                 for a in g for b in h]
        self.cut_links(pairs, kinds)

    def heal(self):
        with self.lock:
            self.cut = set()

    def stop(self):
        self.stopping = True
        for ls in self.listeners:
            self._close(ls)
        with self.lock:
            doomed = list(self.live)
        for e in doomed:
            self._close(e[2])
            self._close(e[3])
