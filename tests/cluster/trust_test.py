"""trust_test.py: who may talk to a member, and its credentials over
their life (stage 10, docs/10-raft-security.md, "Who may talk to a member" and
"Bootstrap and join"), for cluster_test.py, which runs each TESTS entry
with itself as `ct` (its Cluster, check, Fail, Skip...):

  - an outsider holding 70 unfinished connections to every member's Raft
    port (outsider.Flood) while a follower restarts and while the leader
    is killed: the follower catches up, a new leader is elected, each
    within 10 s, and the refusals are counted by reason;
  - 500 handshakes stopped after their ClientHello, held at the leader's
    Raft port: what they hold stays within the memory budget, the rest
    refused (`memory`), writes go on, and once they are gone the books
    read 0, the leader's resident memory falls back and the writes go on;
  - a vote of term 2^48 asking to disrupt the leader, sent with a real
    member's certificate: lifted to the member's term plus 2^32 (no
    member with a leader takes a term from it), and after every member
    restarts a leader is elected; a vote just inside the bound loses its
    flag;
  - a ladder of heartbeats, each 2^32 above its receiver's term, sent
    with a member's certificate, pushes the two followers 12 and 6 steps
    apart: a leader comes back, every term within 2^32 of the others';
  - 400 links opened and held with a member's certificate: the leader
    closes the older ones (two of each kind a member stay open), its
    descriptors stay a handful, its writes go on;
  - a member removed whose certificate votes every 0.3 s: refused at the
    opening, and the group has a leader in at least 80% of samples;
  - credentials: a certificate expired or not valid yet refuses the start,
    naming the file and the date; one that expires soon is warned of (the
    log, CLUSTER INFO, the metrics); renewed and reloaded on SIGHUP and
    CLUSTER RELOADCERTS without a restart (a member renewed, then the
    authority), new connections proving the new files; files that do not
    load leave the ones in use;
  - `kv DIR certs` while another user (nobody) reads the directory: no key
    is ever read; a directory others can write to is refused; without
    ca.key, --ids refuses and leaves ca.crt as it was;
  - a member rebuilt without its record, started as before beside a member
    that holds nothing while the one that holds the history is down: no
    new group forms, and the writes are all still there; a credentials
    directory that cannot be written refuses the start.
"""
import datetime
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

import outsider


def refused_total(info, reason):
    return int((info or {}).get("raft_peer_refused_" + reason, 0))


def write_keys(ct, c, keys, value="v"):
    """SETs of keys through the group (retried between leaders): how many
    were acknowledged."""
    r = c.client()
    done = 0
    try:
        for k in keys:
            ct.retrying(lambda k=k: r.set(k, value))
            done += 1
    finally:
        r.close()
    return done


# -- an outsider's flood -------------------------------------------------


def a_flood_of_unfinished_connections_keeps_no_link_from_opening(ct, kv):
    c = ct.Cluster(kv)
    flood = None
    try:
        lead = c.leader()
        flood = outsider.Flood(c.raft_ports, per=70).start()
        time.sleep(2.5)  # past the opening's deadline: the flood is at its height
        f = (lead + 1) % c.n
        write_keys(ct, c, ["flood:a:%d" % i for i in range(50)])
        c.kill(f)
        write_keys(ct, c, ["flood:b:%d" % i for i in range(50)])
        began = time.time()
        c.start(f)
        ct.caught_up(c, f, timeout=10)
        rejoined = time.time() - began
        held = [int((c.info(i) or {}).get("raft_peer_unfinished", 0)) for i in range(c.n)]
        lead = c.leader()
        killed = time.time()
        c.kill(lead)
        c.leader(timeout=10, among=[i for i in range(c.n) if i != lead])
        elected = time.time() - killed
        c.start(lead)
        ct.caught_up(c, lead, timeout=10)
        print("    flood of 70 unfinished connections a member (%d opened, %d closed by the "
              "members): a restarted follower caught up in %.2f s, a new leader %.2f s after "
              "the leader's kill; unfinished connections held by each member as the follower "
              "caught up: %s" % (flood.opened, flood.closed, rejoined, elected, held))
        ct.check(max(held) >= 60, "the flood held its connections at the members while the "
                 "follower rejoined (%s): the test flooded" % held)
        got = ct.readonly_get(c, lead, ["flood:b:%d" % i for i in range(50)])
        ct.check(got == ["v"] * 50, "the restarted leader holds every write")
    finally:
        if flood is not None:
            flood.stop()
        ct.logs_of(c)
        c.stop()


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def unfinished_handshakes_are_held_to_a_memory_budget_and_given_back(ct, kv):
    """500 connections at the leader's Raft port from 127.0.0.1 (a member's
    address on one host: held to no rate and no per-address bound), each
    sending the opening and a ClientHello, then nothing: each answered
    one holds a TLS session half way through its handshake."""
    c = ct.Cluster(kv)
    held = []
    try:
        lead = c.leader()
        pid = c.procs[lead].pid
        port = c.raft_ports[lead]
        budget = 32 << 20
        write_keys(ct, c, ["budget:a:%d" % i for i in range(20)])
        rss_before = rss_kib(pid)
        hello = outsider.opening(1, 1) + outsider.client_hello()
        for _ in range(500):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(hello)
                held.append(s)
            except OSError:
                pass
        peak = 0
        end = time.time() + 10
        while time.time() < end:  # until every ClientHello had its turn
            info = c.info(lead) or {}
            pending = int(info.get("raft_peer_pending_bytes", 0))
            unfinished = int(info.get("raft_peer_unfinished", 0))
            peak = max(peak, pending)
            # each one held has its session (charged 6 + 80 KiB), and the
            # others were refused
            if (pending == unfinished * (86 << 10) and
                    unfinished + refused_total(info, "memory") >= len(held)):
                break
            time.sleep(0.2)
        rss_peak = rss_kib(pid)
        written = write_keys(ct, c, ["budget:b:%d" % i for i in range(50)])
        rss_peak = max(rss_peak, rss_kib(pid))
        info = c.info(lead) or {}
        peak = max(peak, int(info.get("raft_peer_pending_bytes", 0)))
        memory = refused_total(info, "memory")
        deferred = int(info.get("raft_peer_handshakes_deferred", 0))
        for s in held:
            s.close()
        held = []
        end = time.time() + 10
        while time.time() < end:
            info = c.info(lead) or {}
            if (int(info.get("raft_peer_pending_bytes", -1)) == 0 and
                    int(info.get("raft_peer_unfinished", -1)) == 0):
                break
            time.sleep(0.2)
        after = int(info.get("raft_peer_pending_bytes", -1))
        time.sleep(0.5)
        rss_after = rss_kib(pid)
        print("    500 half-done handshakes at the leader: %d bytes held at most (budget %d), "
              "%d refused for memory, %d handshake steps put off to a later pass; %d bytes "
              "held once they were gone; the leader's resident memory %d KiB before, %d KiB "
              "with them, %d KiB after" % (peak, budget, memory, deferred, after, rss_before,
                                           rss_peak, rss_after))
        ct.check(peak <= budget, "what they hold stays within the budget (%d)" % peak)
        ct.check(peak >= budget // 2, "the flood filled at least half of it (%d): the test "
                 "flooded" % peak)
        ct.check(memory > 0, "the ones over it were refused for memory (%d)" % memory)
        ct.check(written == 50, "writes went on meanwhile (%d of 50)" % written)
        ct.check(after == 0, "once they are gone the books read 0 (%d)" % after)
        # Without malloc_trim (peer_memory.c) the leader keeps about all
        # it grew by: the allocator keeps what is freed for the process.
        ct.check(rss_peak - rss_after >= (rss_peak - rss_before) / 4,
                 "the leader gave back at least a quarter of the memory the flood took "
                 "(%d KiB before, %d with them, %d after)" % (rss_before, rss_peak, rss_after))
        written = write_keys(ct, c, ["budget:c:%d" % i for i in range(50)])
        got = ct.readonly_get(c, lead, ["budget:c:%d" % i for i in range(50)])
        ct.check(got == ["v"] * 50, "the writes after the flood all hold")
    finally:
        for s in held:
            s.close()
        ct.logs_of(c)
        c.stop()


# -- an insider's vote ---------------------------------------------------


def member_certs(c, i):
    return (os.path.join(c.certs, "member-%d.crt" % (i + 1)),
            os.path.join(c.certs, "member-%d.key" % (i + 1)))


def a_vote_of_a_huge_term_stops_no_election(ct, kv):
    c = ct.Cluster(kv)
    try:
        lead = c.leader()
        x = (lead + 1) % c.n  # whose certificate the vote is sent with
        for i in range(c.n):
            if i == x:
                continue
            s = outsider.as_member(c.raft_ports[i], x + 1, member_certs(c, x))
            ct.check(s is not None, "member %d's certificate is taken" % (x + 1))
            s.sendall(outsider.vote(2 ** 48, x + 1, 2 ** 40, 2 ** 40, disrupt=True))
            ct.check(not outsider.closed_by_member(s, timeout=0.5),
                     "member %d keeps the connection: the vote is not refused but lifted "
                     "(its log's last term, 2^40, is past the bound)" % (i + 1))
            s.close()
        lifted = [int(c.info(i).get("raft_peer_terms_lowered", 0)) for i in range(c.n) if i != x]
        ct.check(all(n >= 1 for n in lifted), "each member lifted the vote of term 2^48 to its "
                 "own term plus 2^32 at most (%s)" % lifted)
        terms = [int(c.info(i)["raft_term"]) for i in range(c.n)]
        ct.check(all(t < 2 ** 32 for t in terms), "no term rose: members with a leader take "
                 "no term from a vote (%s)" % terms)
        # Just inside the bound, from an insider: the flag is cleared, and
        # a member that has a leader keeps its term.
        near = terms[lead] + 2 ** 32 - 1
        for i in range(c.n):
            if i != x:
                s = outsider.as_member(c.raft_ports[i], x + 1, member_certs(c, x))
                s.sendall(outsider.vote(near, x + 1, 1, 1, disrupt=True))
                time.sleep(0.3)
                s.close()
        cleared = [int(c.info(i)["raft_votes_disrupt_cleared"]) for i in range(c.n) if i != x]
        ct.check(all(n >= 1 for n in cleared), "the vote's disrupt-leader flag was cleared "
                 "(%s)" % cleared)
        ct.check(c.leader() == lead, "the leader still leads")
        for i in range(c.n):
            c.kill(i)
        began = time.time()
        for i in range(c.n):
            c.start(i)
        c.leader(timeout=10)
        print("    a vote of term 2^48 lifted by every member; every member restarted, a "
              "leader in %.2f s" % (time.time() - began))
        ct.check(write_keys(ct, c, ["after:%d" % i for i in range(20)]) == 20,
                 "the group takes writes")
    finally:
        ct.logs_of(c)
        c.stop()


def a_ladder_of_heartbeats_parts_no_member_for_good(ct, kv):
    """With a member's certificate, heartbeats each 2^32 above the
    receiver's term (each within the bound F1 lets through) push one
    follower 12 steps up and the other 6: three members more than 2^32
    apart.  Were the far-above answers refused, no two would talk again
    and the group would have no leader for good; lowered (F7), they lift
    the lower members, and a leader comes back with every term within
    2^32 of the others', and writes go on."""
    c = ct.Cluster(kv)
    try:
        lead = c.leader()
        low, high = [i for i in range(c.n) if i != lead]
        before = int(c.info(lead)["raft_term"])

        def push(target, steps, x):
            s = outsider.as_member(c.raft_ports[target], x + 1, member_certs(c, x))
            ct.check(s is not None, "member %d's certificate is taken" % (x + 1))
            try:
                for _ in range(steps):
                    term = int(c.info(target)["raft_term"])
                    s.sendall(outsider.append_entries(term + 2 ** 32, []))
                    deadline = time.time() + 2
                    while int(c.info(target)["raft_term"]) < term + 2 ** 32:
                        ct.check(time.time() < deadline, "member %d takes a heartbeat 2^32 "
                                 "above its term" % (target + 1))
                        time.sleep(0.01)
            finally:
                s.close()

        began = time.time()
        push(high, 12, low)
        push(low, 6, high)
        terms = [int(c.info(i)["raft_term"]) for i in range(c.n)]
        ct.check(max(terms) - before >= 12 * 2 ** 32, "member %d pushed 12 steps of 2^32 up "
                 "(terms %s)" % (high + 1, terms))
        c.leader(timeout=25)
        took = time.time() - began
        terms = [int(c.info(i)["raft_term"]) for i in range(c.n)]
        ct.check(max(terms) - min(terms) <= 2 ** 32, "every term within 2^32 of the others' "
                 "(%s)" % terms)
        lowered = sum(int(c.info(i).get("raft_peer_terms_lowered", 0)) for i in range(c.n))
        ct.check(lowered >= 1, "answers were lowered and counted (%d)" % lowered)
        ct.check(write_keys(ct, c, ["ladder:%d" % i for i in range(20)]) == 20,
                 "the group takes writes")
        print("    terms pushed 12 and 6 steps of 2^32 apart; a leader again %.1f s after the "
              "first push, %d votes and answers lowered" % (took, lowered))
    finally:
        ct.logs_of(c)
        c.stop()


def a_members_certificate_opening_links_holds_a_handful(ct, kv):
    """One member's certificate opens 400 Raft links to the leader and
    holds them all: past two of each kind a member, each newer link closes
    the oldest (P8, counted as `replaced`), so the leader holds a handful of
    descriptors, not hundreds, and its writes go on."""
    c = ct.Cluster(kv)
    held = []
    try:
        lead = c.leader()
        x = (lead + 1) % c.n
        fds_before = len(os.listdir("/proc/%d/fd" % c.procs[lead].pid))
        for _ in range(400):
            s = outsider.as_member(c.raft_ports[lead], x + 1, member_certs(c, x))
            if s is not None:
                held.append(s)
        time.sleep(0.5)
        fds = len(os.listdir("/proc/%d/fd" % c.procs[lead].pid))
        replaced = refused_total(c.info(lead), "replaced")
        ct.check(replaced >= 390, "the leader closed the older links as replaced (%d)" % replaced)
        ct.check(fds - fds_before < 50, "the leader holds %d descriptors more than before the "
                 "400 links (%d then)" % (fds - fds_before, fds_before))
        ct.check(write_keys(ct, c, ["links:%d" % i for i in range(20)]) == 20,
                 "the group takes writes")
        print("    400 links opened with member %d's certificate: %d replaced, the leader's "
              "descriptors %d -> %d" % (x + 1, replaced, fds_before, fds))
    finally:
        for s in held:
            s.close()
        ct.logs_of(c)
        c.stop()


def a_removed_members_certificate_is_refused(ct, kv):
    c = ct.Cluster(kv)
    stop = threading.Event()
    try:
        lead = c.leader()
        gone = (lead + 1) % c.n
        ct.expect(ct.change(c, "REMOVEMEMBER", str(gone + 1)), "+OK", "member removed")
        c.outside.add(gone)  # it goes on running, as a removed member does
        term = int(c.info(lead)["raft_term"])
        sent = [0]

        def votes():
            while not stop.is_set():
                for i in range(c.n):
                    if i == gone:
                        continue
                    s = outsider.as_member(c.raft_ports[i], gone + 1, member_certs(c, gone))
                    if s is not None:
                        try:
                            # A log that looks ahead of everyone's: a vote any
                            # member that takes the flag grants.
                            s.sendall(outsider.vote(term + 1 + sent[0], gone + 1, 2 ** 40,
                                                    term, disrupt=True))
                        except OSError:
                            pass
                        s.close()
                    sent[0] += 1
                stop.wait(0.3)

        t = threading.Thread(target=votes, daemon=True)
        t.start()
        samples = led = 0
        acked = 0
        r = c.client()
        end = time.time() + 8
        while time.time() < end:
            infos = [c.info(i) for i in range(c.n) if i != gone]
            samples += 1
            led += any(v and v.get("raft_state") == "leader" for v in infos)
            try:
                r.set("during:%d" % acked, "v")
                acked += 1
            except Exception:
                pass
            time.sleep(0.25)
        stop.set()
        t.join()
        r.close()
        refused = [refused_total(c.info(i), "not_member") for i in range(c.n) if i != gone]
        print("    a removed member's certificate voting every 0.3 s: a leader in %d of %d "
              "samples, %d writes acknowledged, refused at the opening: %s" % (
                  led, samples, acked, refused))
        ct.check(led >= 0.8 * samples, "a leader in at least 80%% of samples (%d of %d)" % (
            led, samples))
        ct.check(all(n > 0 for n in refused), "every member refused it at the opening, counted "
                 "(%s)" % refused)
    finally:
        stop.set()
        ct.logs_of(c)
        c.stop()


# -- credentials over their life ----------------------------------------


def signed(certs, member, not_before, not_after, out_dir):
    """member-N.crt and .key in out_dir, signed by certs/ca.key, valid from
    not_before to not_after (datetimes): a certificate `kv DIR certs` would
    not make (expired, not valid yet, about to expire)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    ca = x509.load_pem_x509_certificate(open(os.path.join(certs, "ca.crt"), "rb").read())
    ca_key = serialization.load_pem_private_key(
        open(os.path.join(certs, "ca.key"), "rb").read(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                        "kv-raft-member-%d" % member)]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), False)
            .sign(ca_key, hashes.SHA256()))
    path = os.path.join(out_dir, "member-%d.key" % member)
    fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    os.close(fd)
    os.replace(path + ".new", path)
    with open(os.path.join(out_dir, "member-%d.crt" % member), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


def need_cryptography(ct):
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise ct.Skip("python3-cryptography is missing (make deps DEPS=server)")


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def certificates_out_of_date_refuse_the_start(ct, kv):
    need_cryptography(ct)
    root = tempfile.mkdtemp(prefix="kv-certs-")
    try:
        certs = os.path.join(root, "certs")
        out = ct.kv_run(kv, certs, "certs", "--members", "1")
        ct.check(out.returncode == 0, "credentials made: %s" % out.stderr)
        port, raft = ct.free_ports(2)
        peers = "1@127.0.0.1:%d/%d" % (raft, port)
        day = datetime.timedelta(days=1)
        for name, frm, to, said in (
                ("expired", now_utc() - 30 * day, now_utc() - 2 * day, "expired on "),
                ("not valid yet", now_utc() + 2 * day, now_utc() + 30 * day,
                 "is not valid yet: from ")):
            signed(certs, 1, frm, to, certs)
            date = (to if name == "expired" else frm).strftime("%Y-%m-%d")
            out = ct.kv_run(kv, os.path.join(root, "m1"), "serve", "--port", port, "--raft-id",
                            1, "--raft-peers", peers, "--raft-tls", certs, "--raft-bootstrap")
            ct.check(out.returncode == 2 and "member-1.crt " + said in out.stderr and
                     date in out.stderr, "a certificate %s refuses the start, naming the file "
                     "and the date %s (%r)" % (name, date, out.stderr[-300:]))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def metrics_of(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        return r.read().decode()


def served_certificate(c, i, as_member):
    """The certificate member i shows a member that connects now (DER)."""
    s = outsider.as_member(c.raft_ports[i], as_member + 1, member_certs(c, as_member))
    if s is None:
        return None
    der = s.getpeercert(binary_form=True)
    s.close()
    return der


def pem_der(path):
    import ssl
    return ssl.PEM_cert_to_DER_cert(open(path).read())


def credentials_are_warned_of_renewed_and_reloaded_without_a_restart(ct, kv):
    need_cryptography(ct)
    metrics = ct.free_ports(1)[0]
    day = datetime.timedelta(days=1)

    def soon(c):  # member 2's certificate: 10 days old, 2 left (a fifth of 12 is 2.4)
        signed(c.certs, 2, now_utc() - 10 * day, now_utc() + 2 * day, c.certs)

    c = ct.Cluster(kv, prepare=soon, extra_of={1: ["--metrics-port", str(metrics)]})
    stop = threading.Event()
    try:
        c.leader()
        info = c.info(1)
        left = int(info["raft_cert_seconds_left"])
        ct.check(info["raft_cert_expiring"] == "1" and 1.9 * 86400 < left <= 2 * 86400 and
                 info["raft_cert_file"] == "member-2.crt", "CLUSTER INFO says member 2's "
                 "certificate expires in 2 days (%s, %d s)" % (info["raft_cert_file"], left))
        log = open(os.path.join(c.root, "member2.log")).read()
        ct.check("warning: %s/member-2.crt expires on" % c.certs in log, "member 2's log warns "
                 "of it")
        text = metrics_of(metrics)
        ct.check("\nkv_raft_cert_seconds_left " in text and "\nkv_raft_cert_expiring 1\n" in text
                 and 'kv_raft_peer_refused_total{reason="not_member"}' in text,
                 "the metrics give the seconds left and the refusals by reason")
        samples, led = [0], [0]

        def sample():
            while not stop.is_set():
                samples[0] += 1
                led[0] += any((c.info(i) or {}).get("raft_state") == "leader"
                              for i in range(c.n))
                stop.wait(0.2)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        # A member renewed, reloaded on SIGHUP.
        out = ct.kv_run(kv, c.certs, "certs", "--renew", "2")
        ct.check(out.returncode == 0 and "renewed" in out.stdout, "kv DIR certs --renew 2 (%r)"
                 % (out.stdout + out.stderr))
        c.procs[1].send_signal(signal.SIGHUP)
        deadline = time.time() + 5
        while time.time() < deadline and (c.info(1) or {}).get("raft_cert_reloads") != "1":
            time.sleep(0.1)
        info = c.info(1)
        ct.check(info["raft_cert_reloads"] == "1" and info["raft_cert_expiring"] == "0" and
                 int(info["raft_cert_seconds_left"]) > 300 * 86400, "member 2 reloaded on "
                 "SIGHUP: its certificate now has a year (%s s)" % info["raft_cert_seconds_left"])
        ct.check(served_certificate(c, 1, 0) == pem_der(member_certs(c, 1)[0]),
                 "a new connection to member 2 is proved with its renewed certificate")
        # Files that do not load leave the ones in use.
        key = member_certs(c, 1)[1]
        kept = open(key).read()
        with open(key, "w") as f:
            f.write("not a key\n")
        got = ct.command(c.client_ports[1], "CLUSTER", "RELOADCERTS")
        ct.check(got.startswith("-ERR the credentials were not reloaded (the ones in use "
                                "stay)"), "a key that does not load is refused (%r)" % got)
        with open(key, "w") as f:
            f.write(kept)
        ct.check(served_certificate(c, 1, 0) == pem_der(member_certs(c, 1)[0]),
                 "and member 2 still proves itself")
        # The authority renewed, then every member: CLUSTER RELOADCERTS.
        out = ct.kv_run(kv, c.certs, "certs", "--renew-authority")
        ct.check(out.returncode == 0, "kv DIR certs --renew-authority (%r)" % out.stderr)
        for i in range(c.n):
            ct.expect(ct.command(c.client_ports[i], "CLUSTER", "RELOADCERTS"), "+OK",
                      "member %d reloads the renewed authority" % (i + 1))
        out = ct.kv_run(kv, c.certs, "certs", "--renew", "1,3")
        ct.check(out.returncode == 0, "kv DIR certs --renew 1,3 (%r)" % out.stderr)
        for i in (0, 2):
            ct.expect(ct.command(c.client_ports[i], "CLUSTER", "RELOADCERTS"), "+OK",
                      "member %d reloads its renewed certificate" % (i + 1))
        for i in range(c.n):
            other = (i + 1) % c.n
            ct.check(served_certificate(c, i, other) == pem_der(member_certs(c, i)[0]),
                     "member %d proves itself with its renewed certificate" % (i + 1))
        f = (c.leader() + 1) % c.n
        c.kill(f)  # its links opened again from both sides, on renewed files
        c.start(f)
        ct.caught_up(c, f, timeout=10)
        stop.set()
        t.join()
        print("    member 2 warned of, renewed and reloaded; the authority and members 1 and 3 "
              "renewed and reloaded; a leader in %d of %d samples" % (led[0], samples[0]))
        ct.check(led[0] == samples[0], "the group had a leader all along (%d of %d samples)" % (
            led[0], samples[0]))
    finally:
        stop.set()
        ct.logs_of(c)
        c.stop()


def no_other_user_reads_a_key_while_certs_are_made(ct, kv):
    if os.geteuid() != 0:
        raise ct.Skip("reading as another user (nobody) needs root")
    import pwd
    nobody = pwd.getpwnam("nobody")
    root = tempfile.mkdtemp(prefix="kv-race-")
    os.chmod(root, 0o755)
    certs = os.path.join(root, "certs")
    os.mkdir(certs)
    os.chmod(certs, 0o755)  # an existing directory that anyone may read
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # user nobody, reading every file it can, over and over
        os.close(r)
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
        stolen = tries = 0
        end = time.time() + 20
        while time.time() < end and not os.path.exists(os.path.join(root, "done")):
            try:
                names = os.listdir(certs)
            except OSError:
                continue
            for name in names:
                try:
                    with open(os.path.join(certs, name), "rb") as f:
                        stolen += b"PRIVATE KEY" in f.read()
                except OSError:
                    tries += 1
        os.write(w, b"%d %d" % (stolen, tries))
        os._exit(0)
    os.close(w)
    try:
        for run in range(10):
            for name in os.listdir(certs):
                os.unlink(os.path.join(certs, name))
            out = ct.kv_run(kv, certs, "certs", "--members", "3")
            ct.check(out.returncode == 0, "kv DIR certs, run %d: %s" % (run + 1, out.stderr))
        open(os.path.join(root, "done"), "w").close()
        os.waitpid(pid, 0)
        stolen, tries = map(int, os.read(r, 100).split())
        print("    10 runs of kv DIR certs --members 3 while user nobody read the directory: "
              "%d keys read, %d reads refused" % (stolen, tries))
        ct.check(stolen == 0, "no key was ever read by another user (%d were)" % stolen)
        os.chmod(certs, 0o777)
        out = ct.kv_run(kv, os.path.join(certs), "certs", "--ids", "4")
        ct.check(out.returncode == 1 and "other users can write to it" in out.stderr,
                 "a directory others can write to is refused (%r)" % out.stderr)
    finally:
        os.close(r)
        shutil.rmtree(root, ignore_errors=True)


def certs_without_the_authoritys_key_make_nothing(ct, kv):
    root = tempfile.mkdtemp(prefix="kv-certs-")
    try:
        made = os.path.join(root, "made")
        ct.check(ct.kv_run(kv, made, "certs", "--members", "3").returncode == 0, "a group")
        host = os.path.join(root, "host")  # a member's host: ca.crt, no ca.key
        os.mkdir(host, 0o700)
        shutil.copy(os.path.join(made, "ca.crt"), host)
        before = hashlib.sha256(open(os.path.join(host, "ca.crt"), "rb").read()).hexdigest()
        out = ct.kv_run(kv, host, "certs", "--ids", "4")
        after = hashlib.sha256(open(os.path.join(host, "ca.crt"), "rb").read()).hexdigest()
        ct.check(out.returncode != 0 and "ca.key is not here" in out.stderr,
                 "--ids 4 without ca.key refuses, saying what it needs (%d, %r)" % (
                     out.returncode, out.stderr))
        ct.check(before == after and sorted(os.listdir(host)) == ["ca.crt"],
                 "ca.crt is unchanged and nothing was made (%s)" % os.listdir(host))
        out = ct.kv_run(kv, host, "certs", "--members", "1")
        ct.check(out.returncode != 0 and sorted(os.listdir(host)) == ["ca.crt"],
                 "nor does --members over a ca.crt make a new authority")
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- bootstrap ------------------------------------------------------------


def a_rebuilt_member_without_its_record_starts_no_second_history(ct, kv):
    c = ct.Cluster(kv)
    try:
        c.leader()
        keys = ["kept:%d" % i for i in range(200)]
        ct.check(write_keys(ct, c, keys) == 200, "200 writes acknowledged")
        holder, rebuilt, empty = 1, 0, 2  # member 2 holds the history and is down
        ct.caught_up(c, holder)
        for i in range(c.n):
            c.kill(i)
        for i in (rebuilt, empty):  # a host rebuilt, and one that never held anything
            shutil.rmtree(os.path.join(c.root, "m%d" % (i + 1)))
            os.unlink(os.path.join(c.certs, "member-%d.started" % (i + 1)))
            c.start(i)
        time.sleep(5)
        for i in (rebuilt, empty):
            raft = os.path.join(c.root, "m%d" % (i + 1), "raft")
            ct.check(c.procs[i].poll() is None and not os.listdir(raft),
                     "member %d waits, and starts no log of its own" % (i + 1))
        log = open(os.path.join(c.root, "member%d.log" % (rebuilt + 1))).read()
        ct.check("waiting for every member of the group (3)" in log and "member 2" in log,
                 "member %d says it waits for member 2" % (rebuilt + 1))
        c.start(holder)
        for i in (rebuilt, empty):
            try:
                status = c.procs[i].wait(timeout=10)
            except subprocess.TimeoutExpired:
                raise ct.Fail("member %d still runs once member 2, which holds the history, "
                              "answers" % (i + 1))
            c.procs[i] = None
            ct.check(status == 2, "member %d is refused (exit %d)" % (i + 1, status))
        c.kill(holder)
        out = ct.kv_run(kv, os.path.join(c.root, "m2"), "scan", "kept:", "kept;")
        held = [l.split("\t")[0] for l in out.stdout.splitlines() if l.startswith("kept:")]
        print("    members 1 and 3 started empty beside member 2 down: no new group; member 2 "
              "back, both refused; member 2 holds %d of the 200 writes" % len(held))
        ct.check(sorted(held) == sorted(keys), "member 2 holds every acknowledged write (%d)"
                 % len(held))
    finally:
        ct.logs_of(c)
        c.stop()


def a_read_only_credentials_directory_refuses_the_start(ct, kv):
    if os.geteuid() != 0:
        raise ct.Skip("a read-only mount needs root")
    root = tempfile.mkdtemp(prefix="kv-ro-")
    ro = os.path.join(root, "ro")
    try:
        certs = os.path.join(root, "certs")
        ct.check(ct.kv_run(kv, certs, "certs", "--members", "1").returncode == 0, "credentials")
        os.mkdir(ro)
        mounted = subprocess.run(["mount", "--bind", certs, ro], stderr=subprocess.PIPE)
        if mounted.returncode == 0:
            mounted = subprocess.run(["mount", "-o", "remount,ro,bind", ro],
                                     stderr=subprocess.PIPE)
        if mounted.returncode != 0:
            subprocess.run(["umount", ro], stderr=subprocess.DEVNULL)
            raise ct.Skip("a read-only bind mount was refused: %s" % mounted.stderr.decode())
        port, raft = ct.free_ports(2)
        out = ct.kv_run(kv, os.path.join(root, "m1"), "serve", "--port", port, "--raft-id", 1,
                        "--raft-peers", "1@127.0.0.1:%d/%d" % (raft, port), "--raft-tls", ro,
                        "--raft-bootstrap")
        subprocess.run(["umount", ro])
        ct.check(out.returncode == 2 and "cannot be written to" in out.stderr,
                 "a read-only credentials directory refuses the start (%r)" % out.stderr[-200:])
    finally:
        subprocess.run(["umount", ro], stderr=subprocess.DEVNULL)
        shutil.rmtree(root, ignore_errors=True)


TESTS = [
    ("a_flood_of_unfinished_connections_keeps_no_link_from_opening",
     a_flood_of_unfinished_connections_keeps_no_link_from_opening),
    ("unfinished_handshakes_are_held_to_a_memory_budget_and_given_back",
     unfinished_handshakes_are_held_to_a_memory_budget_and_given_back),
    ("a_vote_of_a_huge_term_stops_no_election", a_vote_of_a_huge_term_stops_no_election),
    ("a_ladder_of_heartbeats_parts_no_member_for_good",
     a_ladder_of_heartbeats_parts_no_member_for_good),
    ("a_members_certificate_opening_links_holds_a_handful",
     a_members_certificate_opening_links_holds_a_handful),
    ("a_removed_members_certificate_is_refused", a_removed_members_certificate_is_refused),
    ("certificates_out_of_date_refuse_the_start", certificates_out_of_date_refuse_the_start),
    ("credentials_are_warned_of_renewed_and_reloaded_without_a_restart",
     credentials_are_warned_of_renewed_and_reloaded_without_a_restart),
    ("no_other_user_reads_a_key_while_certs_are_made",
     no_other_user_reads_a_key_while_certs_are_made),
    ("certs_without_the_authoritys_key_make_nothing",
     certs_without_the_authoritys_key_make_nothing),
    ("a_rebuilt_member_without_its_record_starts_no_second_history",
     a_rebuilt_member_without_its_record_starts_no_second_history),
    ("a_read_only_credentials_directory_refuses_the_start",
     a_read_only_credentials_directory_refuses_the_start),
]
