"""The supervisor's receiver: accepts every traced process's wire connection and merges the events.

Loopback only; a connection whose hello carries the wrong token or version is closed and nothing from
it is kept. A malformed event is skipped and counted, never allowed to poison the rest of its batch.
Optionally relays each accepted connection, line by line, to an upstream receiver (the extension host)
with the upstream token, so `--output` and `--stream` can be combined.
"""
import json
import socket
import threading
import time

from . import protocol as P

# hmac.compare_digest is this C function; importing hmac would load hashlib and OpenSSL at start-up.
from _operator import _compare_digest as compare_digest


_BATCH_PREFIX = b'{"t":"batch"'


class Connection(object):
    def __init__(self):
        self.hello = None
        self.events = []
        self.strings = {}
        self.next_seq = 0
        self.lost_batches = 0
        self.malformed = 0
        self.summary = None
        self.raw = []       # batch lines not decoded yet (see Collector.decode_pending)
        self.closed = False
        self.error = None


def decode_event(raw, pid, strings):
    """A wire tuple -> TraceEvent dict, or None when malformed (as wire.ts decodeWireEvent)."""
    if not isinstance(raw, list) or not 4 <= len(raw) <= 10:
        return None
    raw = raw + [0] * (10 - len(raw))
    code, ph, ts, tid, obj, corr, loc, dur, a, ev_pid = raw
    if raw[8] == 0:
        a = None
    k = P.NAMES.get(code) if isinstance(code, int) and not isinstance(code, bool) else None
    if k is None or not isinstance(ph, str) or ph not in P.KINDS[k][2]:
        return None
    for v in (ts, obj, corr, dur):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return None
    if not isinstance(tid, int) or tid < 0 or not isinstance(loc, int) or dur < 0:
        return None
    if a is not None and not isinstance(a, dict):
        return None
    if not isinstance(ev_pid, int) or ev_pid < 0:
        return None
    ev = {"k": k, "ph": ph, "ts": ts, "pid": ev_pid or pid, "tid": tid}
    if obj:
        ev["obj"] = obj
    if corr:
        ev["corr"] = corr
    if loc:
        s = strings.get(loc)
        if s is not None:
            ev["loc"] = s
    if ph == "X":
        ev["dur"] = dur
    if a:
        ev["a"] = a
    return ev


class Collector(object):
    def __init__(self, token, upstream=None, upstream_token=None, sock=None):
        self.token = token
        self.upstream = upstream
        self.upstream_token = upstream_token
        self.conns = []
        self.rejected = 0
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.last_activity = time.monotonic()
        self.extra = []     # events the supervisor adds itself (the program's exit)
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sock.listen(128)
        elif not isinstance(sock, socket.socket):
            sock = socket.socket(fileno=sock.detach())   # a bare _socket.socket from the supervisor
        self.sock = sock
        self.port = self.sock.getsockname()[1]
        self.stopping = False

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        t = threading.Thread(target=self._accept_loop, name="interleave-accept", daemon=True)
        t.start()

    def _accept_loop(self):
        # accept() happens under self.lock (the socket is non-blocking), so wait_idle() sees a connection
        # either in the kernel's backlog or in self.conns, never in between.
        import select
        self.sock.setblocking(False)
        while not self.stopping:
            try:
                select.select([self.sock], [], [], 0.2)
            except (OSError, ValueError):
                return
            with self.lock:
                try:
                    conn, _ = self.sock.accept()
                except BlockingIOError:
                    continue
                except OSError:
                    return
                conn.setblocking(True)
                c = Connection()
                self.conns.append(c)
                self.last_activity = time.monotonic()
            threading.Thread(target=self._read, args=(conn, c), name="interleave-read", daemon=True).start()

    def _read(self, sock, c):
        """Reads one process's connection. Only the hello is parsed now; batch lines are kept as they
        came and decoded after the program has ended (decode_pending): decoding costs several
        microseconds per event, and done here it took CPU from the program it was tracing."""
        up = None
        try:
            f = sock.makefile("rb")
            for line in f:
                if len(line) > P.MAX_LINE_BYTES:
                    c.error = "line too long"
                    break
                if c.hello is None:
                    try:
                        msg = json.loads(line)
                    except ValueError:
                        c.error = "line is not JSON"
                        break
                    if not isinstance(msg, dict) or not self._check_hello(msg):
                        with self.lock:
                            self.rejected += 1
                        c.error = "rejected hello"
                        break
                    c.hello = msg
                    if self.upstream:
                        up = self._open_upstream(msg)
                    continue
                c.raw.append(line)
                if up is not None and line.startswith(_BATCH_PREFIX):
                    try:
                        up.sendall(line if line.endswith(b"\n") else line + b"\n")
                    except OSError:
                        up = None
        except Exception as e:  # a broken connection keeps what already arrived
            c.error = c.error or str(e)
        finally:
            try:
                sock.close()
            except OSError:
                pass
            if up is not None:
                try:
                    up.close()
                except OSError:
                    pass
            with self.lock:
                c.closed = True
                if c.hello is None:
                    self.conns.remove(c)
                self.last_activity = time.monotonic()
                self.changed.notify_all()

    def decode_pending(self, c):
        """Decodes the batch lines of c received so far. A line that is not a JSON object ends the
        connection's data there (as a broken connection does); a message that is not a batch, or a
        malformed event, is counted and skipped."""
        raw, c.raw = c.raw, []
        for line in raw:
            if c.error == "line is not JSON":
                break
            try:
                msg = json.loads(line)
            except ValueError:
                c.error = "line is not JSON"
                break
            if not isinstance(msg, dict):
                c.error = "message is not an object"
                break
            if msg.get("t") != "batch":
                c.malformed += 1
                continue
            self._batch(c, msg)

    def _check_hello(self, msg):
        if msg.get("t") != "hello" or msg.get("v") != P.WIRE_VERSION:
            return False
        tok = msg.get("token")
        if not isinstance(tok, str) or not compare_digest(tok.encode(), self.token.encode()):
            return False
        pid = msg.get("pid")
        return isinstance(pid, int) and pid > 0

    def _open_upstream(self, hello):
        try:
            host, _, port = self.upstream.rpartition(":")
            s = socket.create_connection((host, int(port)), timeout=5)
            s.settimeout(None)
            h = dict(hello)
            h["token"] = self.upstream_token
            s.sendall((json.dumps(h) + "\n").encode())
            return s
        except (OSError, ValueError):
            return None

    def _batch(self, c, msg):
        seq = msg.get("seq")
        evs = msg.get("ev")
        if not isinstance(seq, int) or not isinstance(evs, list):
            c.malformed += 1
            return
        if seq > c.next_seq:
            c.lost_batches += seq - c.next_seq
        c.next_seq = max(c.next_seq, seq + 1)
        strs = msg.get("str")
        if isinstance(strs, dict):
            for sid, text in strs.items():
                if isinstance(text, str) and sid.isdigit():
                    c.strings[int(sid)] = text
        pid = c.hello["pid"]
        out = c.events
        for raw in evs:
            ev = decode_event(raw, pid, c.strings)
            if ev is None:
                c.malformed += 1
                continue
            if ev["k"] == "process.summary" and ev["pid"] == pid:
                c.summary = ev.get("a") or {}
            out.append(ev)

    def add(self, ev):
        with self.lock:
            self.extra.append(ev)

    def wait_idle(self, quiet=0.0, limit=5.0):
        """After the program exited: waits until every connection closed, none is waiting to be accepted
        and none arrived for `quiet` seconds; at most `limit` seconds (descendants that outlive the
        program are not waited for). Every process that has exited connected before it did, so its
        connection is in the backlog or accepted by now."""
        deadline = time.monotonic() + limit
        with self.lock:
            while True:
                t = time.monotonic()
                if t >= deadline:
                    return False
                open_ = [c for c in self.conns if not c.closed]
                if not open_ and t - self.last_activity >= quiet and not self._backlog():
                    return True
                self.changed.wait(min(max(quiet, 0.02), deadline - t))

    def _backlog(self):
        """A connection the kernel completed but our accept thread has not taken yet (a process that
        connected, sent everything and exited just before the program did)."""
        try:
            import select
            return bool(select.select([self.sock], [], [], 0)[0])
        except (OSError, ValueError):
            return False

    def stop(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass

    def merged(self):
        """All events in time order plus the per-process summaries."""
        with self.lock:
            conns = list(self.conns)
            events = list(self.extra)
        processes = []
        for c in conns:
            self.decode_pending(c)
            events.extend(c.events)
            h = c.hello
            s = c.summary
            entry = {"pid": h["pid"], "name": h.get("name", str(h["pid"])), "ppid": h.get("ppid", 0),
                     "received": len(c.events) - (1 if c.summary is not None else 0)}
            if s is not None:
                entry["emitted"] = int(s.get("emitted", 0))
                entry["dropped"] = int(s.get("dropped", 0))
            else:
                # No summary: the process died before its final flush (killed); what arrived is kept.
                entry["emitted"] = entry["received"]
                entry["dropped"] = 0
                entry["complete"] = False
            if c.lost_batches:
                entry["lostBatches"] = c.lost_batches
            if c.malformed:
                entry["malformed"] = c.malformed
            if not c.closed:
                entry["open"] = True
            if c.error:
                entry["error"] = c.error
            processes.append(entry)
        events.sort(key=lambda e: e["ts"])
        return events, processes
