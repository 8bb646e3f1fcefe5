"""The supervisor's receiver: accepts every traced process's wire connection and merges the events.

Loopback only; a connection whose hello carries the wrong token or version is closed and nothing from
it is kept. A malformed event is skipped and counted, never allowed to poison the rest of its batch.
Optionally relays each accepted connection, batch by batch, to an upstream receiver (the extension host)
with the upstream token, so `--output` and `--stream` can be combined.

After the JSON hello a process sends either v1 JSON batch lines or, when its hello says
"enc":"marshal" (stream.py), frames: a 4-byte big-endian length and marshal.dumps of the batch object.
marshal.loads only ever sees bytes from a connection whose hello carried this run's token. The relay
turns frames into v1 JSON lines as they arrive (the extension host speaks JSON); with deflate (the
default, announced as "z":"deflate" in the upstream hello) it compresses everything after the hello
as one zlib stream, flushed (Z_SYNC_FLUSH) after every batch so each arrives whole and at once.
"""
import json
import marshal
import os
import socket
import struct
import sys
import threading
import time
import zlib

from . import protocol as P

# hmac.compare_digest is this C function; importing hmac would load hashlib and OpenSSL at start-up.
from _operator import _compare_digest as compare_digest


_BATCH_PREFIX = b'{"t":"batch"'
#: zlib level for the upstream stream: level 1 already takes JSON batches to about a fifth, at a
#: fraction of the CPU of the default level.
DEFLATE_LEVEL = 1
#: INTERLEAVE_STREAM_DEFLATE=0 sends the extension host plain v1 JSON lines (a receiver that cannot inflate).
ENV_STREAM_DEFLATE = "INTERLEAVE_STREAM_DEFLATE"


# JSON for values marshal carries but JSON has no form for (as the program's JSON encoder does).
_default = P.json_default


_JSON_SCALARS = (str, int, float, bool, type(None))
_json_like = P.plain_data


def _plain_args(a):
    """An event's `a` from a marshal frame, as the JSON wire would have delivered it. Nearly always
    already so (flat dict of text and numbers): checked cheaply, converted only when needed."""
    for k, v in a.items():
        if type(k) is not str or type(v) not in _JSON_SCALARS:
            return _json_like(a)
    return a


#: How far below the program the relay threads run (nice levels, Linux). Relaying costs the supervisor
#: 1-3 µs per event (unmarshal, expand, JSON, deflate): for a program whose processes keep every core
#: busy, a relay at the program's priority took a share of the CPU the program would have had (an
#: mp.Queue workload streamed 1.73x slower than plain, 1.58x with the relay ten levels lower). Lower,
#: the relay uses the cores the program leaves idle and falls behind, never far, when it leaves none.
RELAY_NICE = 10


def run_below_the_program():
    """Lowers the calling thread's scheduling priority by RELAY_NICE (Linux: a nice value per thread;
    elsewhere, where a nice value is per process, nothing). Raising a nice value needs no privilege;
    only a thread already at the lowest priority stays where it is. Returns the thread's nice value,
    None when it was left as it was."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        tid = threading.get_native_id()
        nice = min(19, os.getpriority(os.PRIO_PROCESS, tid) + RELAY_NICE)
        os.setpriority(os.PRIO_PROCESS, tid, nice)
        return nice
    except (AttributeError, OSError):
        return None


class FrameError(Exception):
    """A frame that is not a marshal batch object: that connection's data ends before it."""


def load_frame(body):
    """One frame's bytes -> the batch message (dict). Raises FrameError."""
    try:
        msg = marshal.loads(body)
    except Exception:
        raise FrameError("frame is not valid marshal data")
    if not isinstance(msg, dict):
        raise FrameError("message is not an object")
    return msg


class Upstream(object):
    """One relayed connection to the extension host: the hello with the host's token, then v1 JSON
    batch lines, optionally deflated. A host that goes away ends the relay (the program runs on)."""

    def __init__(self, sock, deflate, epoch=0):
        self.sock = sock
        self.epoch = epoch
        self.z = zlib.compressobj(DEFLATE_LEVEL) if deflate else None
        self.args = {}      # the relayed connection's args table (packed records refer to it)
        self.encode = json.JSONEncoder(separators=(",", ":"), default=_default, check_circular=False).encode

    def send_line(self, line):
        """line: bytes ending in a newline. Returns False when the host is gone."""
        try:
            if self.z is not None:
                line = self.z.compress(line) + self.z.flush(zlib.Z_SYNC_FLUSH)
            self.sock.sendall(line)
            return True
        except (OSError, zlib.error):
            return False

    def send_frame(self, body):
        """A marshal frame, as the v1 JSON batch line it stands for. False: host gone or bad frame."""
        try:
            msg = load_frame(body)
        except FrameError:
            return False
        if msg.get("t") != "batch":
            return True     # as for JSON lines, only batches are relayed (the host would reject others)
        read_table(msg.pop("args", None), self.args, dict)
        evs = msg.get("ev")
        if isinstance(evs, (list, tuple)):
            msg["ev"] = [expand_packed(ev, self.args, self.epoch) if type(ev) is bytes else ev for ev in evs]
        try:
            text = self.encode(msg)
        except (TypeError, ValueError, RecursionError):
            # Rare (a payload with tuple keys, bytes, a set): only then is every event walked.
            evs = msg.get("ev")
            if isinstance(evs, (list, tuple)):
                msg["ev"] = [_json_like(ev) for ev in evs]
            strs = msg.get("str")
            if strs is not None:
                msg["str"] = _json_like(strs)
            try:
                text = self.encode(msg)
            except (TypeError, ValueError, RecursionError):
                return False
        return self.send_line(text.encode("utf-8", "replace") + b"\n")

    def close(self):
        try:
            if self.z is not None:
                self.sock.sendall(self.z.flush(zlib.Z_FINISH))
        except (OSError, zlib.error):
            pass
        try:
            self.sock.close()
        except OSError:
            pass


class Connection(object):
    def __init__(self):
        self.hello = None
        self.events = []
        self.strings = {}
        self.args = {}       # id -> args dict of packed records (see expand_packed)
        self.next_seq = 0
        self.lost_batches = 0
        self.malformed = 0
        self.summary = None
        self.raw = []       # batch lines/frames not decoded yet (see Collector.decode_pending)
        self.frames = False  # the hello said "enc":"marshal"
        self.decode_error = None
        self.closed = False
        self.error = None


#: code -> (kind name, its phases); tuples of zeros that pad a short wire tuple to its 10 fields.
_KIND_PHASES = {spec[0]: (name, spec[2]) for name, spec in P.KINDS.items()}
_PAD = [(0,) * (10 - n) for n in range(11)]
_packed = struct.Struct(P.PACKED_FORMAT)
_unpack = _packed.unpack
_PACKED_SIZE = _packed.size
_task_head = struct.Struct(P.PACKED_TASK_FORMAT)
_TASK_HEAD_SIZE = _task_head.size
_C_TASK = P.KINDS["async.task"][0]
_PH_B = P.PHASES.index("b")
_PHASES = P.PHASES
_NS = P.PACKED_NS


def _unpacked(raw, epoch):
    """A packed record's fields, times in µs since the run's epoch (records in ns, protocol.PACKED_NS,
    converted). Raises struct.error when raw is not one."""
    code, ph, ts, tid, obj, corr, sid, dur, aid = _unpack(raw)
    if ph & _NS:
        return code, ph & ~_NS, (ts - epoch) // 1000, tid, obj, corr, sid, dur // 1000, aid
    return code, ph, ts, tid, obj, corr, sid, dur, aid


def _task_start(raw, args):
    """A packed task start (protocol.PACKED_TASK_FORMAT, then the name) as (code, ph, ts, tid, obj, corr,
    sid, dur, a). Raises struct.error, UnicodeDecodeError, KeyError or TypeError when raw is not one."""
    if len(raw) < _TASK_HEAD_SIZE:
        raise struct.error("short task record")
    code, ph, ts, tid, obj, corr, sid, dur, aid, parent, spawn = _task_head.unpack_from(raw)
    if code != _C_TASK or ph != _PH_B:
        raise struct.error("not a task start")
    a = {"name": raw[_TASK_HEAD_SIZE:].decode("utf-8")}
    if aid:
        a.update(args[aid])
    if parent:
        a["parent"] = parent
    if spawn:
        a["spawnTs"] = spawn
    return code, ph, ts, tid, obj, corr, sid, dur, a


def expand_packed(raw, args, epoch):
    """A packed record (bytes, see recorder.pack) as its wire tuple, or None when it is not one.
    args: the connection's args table (id -> dict, from the batches' "args"); epoch: the run's clock
    origin (monotonic ns), for records in ns (protocol.PACKED_NS)."""
    try:
        if len(raw) != _PACKED_SIZE:
            code, ph, ts, tid, obj, corr, sid, dur, a = _task_start(raw, args)
            return (code, _PHASES[ph], ts, tid, obj, corr, sid, dur, a)
        code, ph, ts, tid, obj, corr, sid, dur, aid = _unpacked(raw, epoch)
        if aid:
            return (code, _PHASES[ph], ts, tid, obj, corr, sid, dur, args[aid])
        return (code, _PHASES[ph], ts, tid, obj, corr, sid, dur)
    except (struct.error, IndexError, KeyError, TypeError, UnicodeDecodeError):
        return None


def read_table(new, table, value_type):
    """Adds a batch's table (its "str": id -> location text, or "args": id -> shared args dict of packed
    records) to the connection's, skipping entries that are not a decimal id and a value of value_type."""
    if isinstance(new, dict):
        for k, v in new.items():
            if isinstance(v, value_type) and isinstance(k, str) and k.isdigit():
                table[int(k)] = v


def decode_event(raw, pid, strings, args=None, epoch=0):
    """A wire tuple (a list from JSON, a tuple from marshal) -> TraceEvent dict, or None when malformed
    (as wire.ts decodeWireEvent). Both decoders give exact int/float/str/dict types, so exact type
    checks are enough (and keep bools out); this runs for every event after the program has ended."""
    t = type(raw)
    if t is bytes:
        return _decode_packed(raw, pid, strings, args, epoch)
    if t is not tuple and t is not list:
        return None
    n = len(raw)
    if n < 4 or n > 10:
        return None
    if n < 10:
        raw = tuple(raw) + _PAD[n]
    code, ph, ts, tid, obj, corr, loc, dur, a, ev_pid = raw
    spec = _KIND_PHASES.get(code) if type(code) is int else None
    if spec is None or type(ph) is not str or len(ph) != 1 or ph not in spec[1]:
        return None
    for v in (ts, obj, corr, dur):
        if type(v) is not int and type(v) is not float:
            return None
    if type(tid) is not int or tid < 0 or type(loc) is not int or dur < 0:
        return None
    if type(a) is not dict:
        if a is not None and not (type(a) in (int, float) and a == 0):
            return None
        a = None
    if type(ev_pid) is not int or ev_pid < 0:
        return None
    return _event(spec[0], ph, ts, ev_pid or pid, tid, obj, corr, loc, dur, a, strings)


def _decode_packed(raw, pid, strings, args, epoch):
    """decode_event for a packed record (most of a large trace): what expand_packed and the general
    checks would give, without building the wire tuple first. The struct format makes every field an
    int, so only what it does not guarantee is checked: a known kind and phase, tid and dur not
    negative, an args id the connection's table has (its values are dicts, see read_table)."""
    try:
        if len(raw) != _PACKED_SIZE:
            code, ph, ts, tid, obj, corr, loc, dur, a = _task_start(raw, args)
        else:
            code, ph, ts, tid, obj, corr, loc, dur, aid = _unpacked(raw, epoch)
            a = args[aid] if aid else None
        ph = _PHASES[ph]
    except (struct.error, IndexError, KeyError, TypeError, UnicodeDecodeError):
        return None
    spec = _KIND_PHASES.get(code)
    if spec is None or ph not in spec[1] or tid < 0 or dur < 0:
        return None
    return _event(spec[0], ph, ts, pid, tid, obj, corr, loc, dur, a, strings)


def _event(kind, ph, ts, pid, tid, obj, corr, loc, dur, a, strings):
    """The TraceEvent of checked fields: absent ones (0, no text for the location, empty args) left out."""
    ev = {"k": kind, "ph": ph, "ts": ts, "pid": pid, "tid": tid}
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
    def __init__(self, token, upstream=None, upstream_token=None, sock=None, keep=True, epoch=0):
        self.token = token
        #: the run's clock origin (monotonic ns): packed records in ns are converted with it
        self.epoch = epoch
        self.upstream = upstream
        self.upstream_token = upstream_token
        #: False when only relaying (--stream without --output): nothing is kept, memory stays bounded.
        self.keep = keep
        self.deflate = os.environ.get(ENV_STREAM_DEFLATE, "1") != "0"
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
        """Reads one process's connection. Only the hello is parsed now; batches are kept as they
        came and decoded after the program has ended (decode_pending): decoding costs microseconds per
        event, and done here it took CPU from the program it was tracing. The relay (--stream) is the
        exception: it must be live, and it runs here, in the supervisor, beside the program."""
        up = None
        try:
            f = sock.makefile("rb")
            line = f.readline(P.MAX_LINE_BYTES + 1)
            if not line:
                return
            if len(line) > P.MAX_LINE_BYTES:
                c.error = "line too long"
                return
            try:
                msg = json.loads(line)
            except ValueError:
                c.error = "line is not JSON"
                return
            if not isinstance(msg, dict) or not self._check_hello(msg):
                with self.lock:
                    self.rejected += 1
                c.error = "rejected hello"
                return
            c.hello = msg
            if self.upstream:
                up = self._open_upstream(msg)
                if up is not None:
                    run_below_the_program()
            if msg.get(P.HELLO_ENC) == P.ENC_MARSHAL:
                c.frames = True
                self._read_frames(f, c, up)
            else:
                self._read_lines(f, c, up)
        except Exception as e:  # a broken connection keeps what already arrived
            c.error = c.error or str(e)
        finally:
            try:
                sock.close()
            except OSError:
                pass
            if up is not None:
                up.close()
            with self.lock:
                c.closed = True
                if c.hello is None:
                    self.conns.remove(c)
                self.last_activity = time.monotonic()
                self.changed.notify_all()

    def _read_lines(self, f, c, up):
        for line in f:
            if len(line) > P.MAX_LINE_BYTES:
                c.error = "line too long"
                break
            if self.keep:
                c.raw.append(line)
            if up is not None and line.startswith(_BATCH_PREFIX):
                if not up.send_line(line if line.endswith(b"\n") else line + b"\n"):
                    up = None

    def _read_frames(self, f, c, up):
        keep = self.keep
        while True:
            head = f.read(4)
            if not head:
                return
            n = int.from_bytes(head, "big")
            if len(head) < 4:
                c.error = "truncated frame (the connection ended inside a frame)"
                return
            if n > P.MAX_LINE_BYTES:
                c.error = "frame too long (%d bytes)" % n
                return
            body = f.read(n)
            if len(body) < n:
                c.error = "truncated frame (the connection ended inside a frame)"
                return
            if keep:
                c.raw.append(body)
            if up is not None and not up.send_frame(body):
                # A host that went away, or a corrupt frame: nothing after it is relayed.
                up.close()
                up = None
                if not keep:
                    try:
                        load_frame(body)
                    except FrameError as e:
                        c.error = str(e)
                        return

    def decode_pending(self, c):
        """Decodes the batch lines of c received so far. A line that is not a JSON object ends the
        connection's data there (as a broken connection does); a message that is not a batch, or a
        malformed event, is counted and skipped."""
        raw, c.raw = c.raw, []
        if c.frames:
            return self._decode_frames(c, raw)
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

    def _decode_frames(self, c, raw):
        for body in raw:
            if c.decode_error:
                break
            try:
                msg = load_frame(body)
            except FrameError as e:
                # Ends this connection's data here, as a broken connection does; what came before stays.
                c.error = c.decode_error = str(e)
                break
            if msg.get("t") != "batch":
                c.malformed += 1
                continue
            self._batch(c, msg, True)

    def _check_hello(self, msg):
        if msg.get("t") != "hello" or msg.get("v") != P.WIRE_VERSION:
            return False
        tok = msg.get("token")
        if not isinstance(tok, str) or not compare_digest(tok.encode(), self.token.encode()):
            return False
        if msg.get(P.HELLO_ENC, P.ENC_MARSHAL) != P.ENC_MARSHAL:
            return False    # a framing we cannot read: nothing from it would decode
        pid = msg.get("pid")
        return isinstance(pid, int) and pid > 0

    def _open_upstream(self, hello):
        try:
            host, _, port = self.upstream.rpartition(":")
            s = socket.create_connection((host, int(port)), timeout=5)
            s.settimeout(None)
            h = dict(hello)
            h["token"] = self.upstream_token
            h.pop(P.HELLO_ENC, None)     # the host gets JSON lines whatever the program sent
            if self.deflate:
                h[P.HELLO_Z] = P.Z_DEFLATE
            s.sendall((json.dumps(h) + "\n").encode())
            return Upstream(s, self.deflate, self.epoch)
        except (OSError, ValueError):
            return None

    def _batch(self, c, msg, frames=False):
        seq = msg.get("seq")
        evs = msg.get("ev")
        if not isinstance(seq, int) or not isinstance(evs, (list, tuple) if frames else list):
            c.malformed += 1
            return
        if seq > c.next_seq:
            c.lost_batches += seq - c.next_seq
        c.next_seq = max(c.next_seq, seq + 1)
        read_table(msg.get("str"), c.strings, str)
        read_table(msg.get("args"), c.args, dict)
        pid = c.hello["pid"]
        out = c.events
        for raw in evs:
            ev = decode_event(raw, pid, c.strings, c.args, self.epoch)
            if ev is None:
                c.malformed += 1
                continue
            if frames and "a" in ev:
                ev["a"] = _plain_args(ev["a"])
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
