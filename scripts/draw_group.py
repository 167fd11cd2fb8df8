#!/usr/bin/env python3
"""draw_group.py: the picture of a stage 10 group on its page
(docs/pictures/10-raft.svg, `make docs-pictures`): who leads, how far the
leader knows each member's log to match its own, and what each member
has committed and applied.

    python3 scripts/draw_group.py BUILD/10-raft/kv OUT.svg

It starts three members (`kv DIR cluster --members 3`, in a temporary
directory), writes 40 keys through the leader, pauses one follower
(SIGSTOP) and writes 20 more, so that the picture has a member behind;
then asks every member for CLUSTER INFO (the paused one's answer is the
one it gave before its pause), draws, resumes it and stops the group.
It talks RESP over plain sockets, so it needs nothing but python3.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def command(port, *args):
    """One command to 127.0.0.1:port; its answer, decoded (bulk strings and
    simple strings as text, errors as '-...')."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args))
        f = s.makefile("rb")
        line = f.readline().decode().rstrip("\r\n")
        if line.startswith("$"):
            n = int(line[1:])
            return f.read(n + 2)[:n].decode() if n >= 0 else None
        return line[1:] if line[:1] in "+:" else line


def info(port):
    text = command(port, "CLUSTER", "INFO") or ""
    return dict(l.split(":", 1) for l in text.split("\r\n") if ":" in l)


def set_at_leader(port, key, value):
    for _ in range(3):
        got = command(port, "SET", key, value)
        m = re.match(r"-MOVED \d+ [\d.]+:(\d+)", got or "")
        if not m:
            return got
        port = int(m.group(1))
    raise RuntimeError("redirected three times")


def draw(members, out):
    """members: [(id, info)], the leader's match indexes in its info."""
    lead = next(i for i, d in members if d.get("raft_state") == "leader")
    matched = dict(kv.split("=") for kv in
                   dict(members)[lead].get("raft_match_indexes", "").split(",") if kv)
    last = max(int(d["raft_last_index"]) for _, d in members)
    cell, left, top, row = 11, 225, 70, 56
    width = left + last * cell + 40
    height = top + row * len(members) + 70
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="22" font-size="15">A group of three, member %s leading: '
           'each member\'s log, entry by entry</text>' % lead,
           '<text x="10" y="42" fill="#555">dark: applied to its engine; mid: committed, '
           'not yet applied; light: in its log, not known committed; '
           '&#9660; the leader\'s match index for it</text>']
    for n, (mid, d) in enumerate(members):
        y = top + n * row
        state = d.get("raft_state", "?")
        paused = d.get("paused")
        svg.append('<text x="10" y="%d" font-weight="%s">member %s: %s%s</text>' % (
            y + 16, "bold" if state == "leader" else "normal", mid, state,
            " (paused)" if paused else ""))
        svg.append('<text x="10" y="%d" fill="#555">term %s, commit %s, applied %s</text>' % (
            y + 32, d.get("raft_term"), d.get("raft_commit_index"),
            d.get("raft_applied_index")))
        applied, commit = int(d["raft_applied_index"]), int(d["raft_commit_index"])
        for i in range(1, int(d["raft_last_index"]) + 1):
            fill = "#335f8c" if i <= applied else "#7fa3c8" if i <= commit else "#d5e2ef"
            svg.append('<rect x="%d" y="%d" width="%d" height="18" fill="%s" stroke="white">'
                       '<title>entry %d</title></rect>' % (left + (i - 1) * cell, y + 4,
                                                          cell, fill, i))
        if mid in matched:
            x = left + int(matched[mid]) * cell - cell / 2
            svg.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#b03a2e">&#9660;'
                       '</text>' % (x, y + 2))
    axis = top + row * len(members)
    for i in range(0, last + 1, 10):
        svg.append('<text x="%d" y="%d" fill="#555" text-anchor="middle">%d</text>' % (
            left + i * cell, axis + 4, i))
    svg.append('<text x="%d" y="%d" fill="#555">log index</text>' % (left, axis + 22))
    svg.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(svg) + "\n")


def main():
    if len(sys.argv) != 3:
        print("usage: python3 scripts/draw_group.py BUILD/10-raft/kv OUT.svg", file=sys.stderr)
        return 2
    kv, out = sys.argv[1], sys.argv[2]
    root = tempfile.mkdtemp(prefix="kv-group-pic-")
    # Ports below Linux's ephemeral range (32768 on), which outgoing
    # connections take.
    port = 20000 + (os.getpid() % 1500) * 8
    proc = subprocess.Popen([kv, os.path.join(root, "g"), "cluster", "--members", "3",
                             "--port", str(port), "--raft-port", str(port + 4)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    paused = None
    try:
        said = proc.stdout.readline().decode()
        m = re.search(r"member (\d+) leads", said)
        if not m:
            print("draw_group: no leader: %s" % said.strip(), file=sys.stderr)
            return 1
        lead = port + int(m.group(1)) - 1
        for i in range(40):
            set_at_leader(lead, "key%03d" % i, "value%d" % i)
        behind = next(p for p in range(port, port + 3) if p != lead)
        before = info(behind)
        pid = int(re.search(r"process_id:(\d+)", command(behind, "INFO", "server")).group(1))
        os.kill(pid, signal.SIGSTOP)
        paused = pid
        for i in range(40, 60):
            set_at_leader(lead, "key%03d" % i, "value%d" % i)
        time.sleep(0.3)  # the other follower learns the commit index from a heartbeat
        members = []
        for p in range(port, port + 3):
            d = dict(before, paused=True) if p == behind else info(p)
            members.append((d["raft_id"], d))
        draw(members, out)
        print("draw_group: %s: member %s leads, member %s paused at index %s of %s" % (
            out, m.group(1), before["raft_id"], before["raft_applied_index"],
            info(lead)["raft_last_index"]))
        return 0
    finally:
        if paused is not None:
            os.kill(paused, signal.SIGCONT)
        proc.send_signal(signal.SIGINT)
        proc.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
