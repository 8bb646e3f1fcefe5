"""The stream client: one TCP connection per traced process, wire protocol v1 (protocol/wire.ts).

The runtime's background thread (ticker.py: a raw `_thread`, invisible to `threading` and never joined
at exit) takes the recorder's buffer every FLUSH_INTERVAL and writes it as one `batch` with interned
location strings. Whatever cannot be delivered (receiver gone, connection refused) is counted as dropped;
the program keeps running. The last record of every process is `process.summary` {emitted, dropped}.

Encoding: a JSON hello line, then either JSON batch lines (v1, what the extension host reads) or, when
the supervisor's collector is the receiver (it sets INTERLEAVE_WIRE_ENC=marshal and the hello says
"enc":"marshal"), length-prefixed marshal frames of the same batch objects. marshal is C and costs the
program's CPU (and GIL) about a third of what JSON encoding did; the supervisor turns frames back into
v1 JSON for the extension host, on its own core (collector.py).
"""
import os
import marshal as _marshal
import _thread
import _socket

from . import protocol as _p
from . import recorder as _rec
from . import ticker as _ticker

FLUSH_INTERVAL = 0.05
#: After this many flushes in a row that found nothing to send, flush every IDLE_FLUSH_INTERVAL until
#: something is recorded again. Why: each flush wakes the runtime thread, which takes the GIL from the
#: program; an idle traced program (a server waiting for requests, a script waiting for input) would
#: wake 20 times a second for nothing. The cost: the first events after a pause reach the receiver up
#: to IDLE_FLUSH_INTERVAL later (a full buffer is still flushed at once by the emitter).
IDLE_FLUSHES = 10
IDLE_FLUSH_INTERVAL = 0.25
AGGREGATE_EVERY = 4          # flushes between aggregate buckets (~200 ms)
MAX_EVENTS_PER_LINE = 20000  # keeps a line far below the 16 MiB protocol limit
SEND_TIMEOUT = 20.0
MARSHAL_VERSION = 4
_SUMMARY = _p.CODES["process.summary"]


def _marshal_dumps(obj):
    return _marshal.dumps(obj, MARSHAL_VERSION)


def _new_socket():
    """A TCP socket at a high, close-on-exec descriptor (not a number the program may count on; see
    recorder.high_fd)."""
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    fd = _rec.high_fd(s.detach())
    return _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM, 0, fd)


def _table_since(entries, sent):
    """({"id": value} for the (id, value) entries from index `sent` on, the new number sent)."""
    n = len(entries)
    return {str(k): v for k, v in entries[sent:n]}, n


def _json_str(text):
    """A JSON string literal of text, in ASCII (what json.dumps writes, give or take which escapes): for
    the hello's few short texts. Not _json's encoder: _json is a shared library on some builds, half a
    millisecond of every process's start to import."""
    out = []
    for ch in str(text):
        o = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif 0x20 <= o < 0x7F:
            out.append(ch)
        elif o > 0xFFFF:
            o -= 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 | (o >> 10), 0xDC00 | (o & 0x3FF)))
        else:
            out.append("\\u%04x" % o)
    return '"' + "".join(out) + '"'


def _json():
    # Imported lazily (json costs ~3 ms at start-up) and only ever from the flusher or at exit.
    import json
    return json


class Stream(object):
    def __init__(self, addr, token, name_fn, marshal=None):
        self.addr = addr
        self.token = token
        self.name_fn = name_fn
        self.lock = _thread.allocate_lock()     # one flusher at a time
        self.sock = None
        self.gone = not addr
        self.closed = False
        self.seq = 0
        self.sent_strings = 0
        self.sent_args = 0
        self.taken = 0
        self.dropped = 0
        self.thread_started = False
        self.ticks = 0                          # runs of the flush job so far (the first one connects)
        self.idle_flushes = 0                   # flushes in a row that had nothing to send
        self.encoder = None
        # Binary frames only where the receiver asked for them (the supervisor's collector, through the
        # environment it gives the program); anyone else gets v1 JSON lines.
        # (A fork child's stream is told its parent's choice: the same receiver.)
        self.marshal = os.environ.get(_p.ENV_WIRE_ENC) == _p.ENC_MARSHAL if marshal is None else marshal
        #: ident of the thread holding self.lock (see recorder.flushing_here)
        self.owner = None
        # The process this client belongs to. A fork child owns a copy of this object (and of its socket)
        # until its at-fork hook has replaced it; a signal handler running in between must not send the
        # parent's buffer over the parent's connection.
        self.pid = os.getpid()
        # The socket is made now, moved to a high descriptor, and connected later by the flusher: made
        # here (at boot, or in the fork child's hook) no other thread runs, so the program never sees a
        # low descriptor of ours appear for a moment (its next open() would get the number after it).
        self.pre = None
        if addr:
            try:
                self.pre = _new_socket()
            except Exception:
                self.pre = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self):
        """Flushes from now on, as a job of the runtime thread (ticker.py); the first run connects."""
        if self.thread_started or self.closed:
            return
        self.thread_started = True
        try:
            _ticker.every("flush", FLUSH_INTERVAL, self._tick)
        except Exception:
            self.thread_started = False

    def forked(self):
        """A fresh client for a fork child: the parent's socket, buffer and lock are not ours."""
        for s in (self.sock, self.pre):
            try:
                if s is not None:
                    # Closing our copy of the fd sends nothing: the parent still holds the connection open.
                    s.close()
            except Exception:
                pass
        child = Stream(self.addr, self.token, self.name_fn, self.marshal)
        child.start()
        return child

    def stats(self):
        return (self.taken + len(_rec._buf), self.dropped)

    def _tick(self):
        """One run of the flush job: returns -1 (no more runs) once the stream is closed."""
        if self.closed:
            return -1
        if not self.ticks:
            # Connect at once rather than at the first flush: the supervisor waits for connections that
            # are open when the program ends, so a process that outlives it (the forkserver, which exits
            # when the program has) must already be connected then, even if it has not flushed yet.
            self.ticks = 1
            if self.lock.acquire(True, 1.0):
                try:
                    if not self.closed:
                        self._deliverable()
                finally:
                    self.lock.release()
            return None
        self.ticks += 1
        if self.ticks % AGGREGATE_EVERY == 0:
            _rec.collect_aggregates()
        _rec.report_live()
        taken = self.taken
        self.flush()
        # (here, on the runtime thread: not in a flush an emitter runs when the buffer is full)
        if self.taken > _rec.PACK_AFTER and _rec.pack is _rec._pack_as_tuple:
            _rec.use_packed()
        if self.closed:
            return -1
        if self.taken != taken:
            self.idle_flushes = 0
            return None
        self.idle_flushes += 1
        return IDLE_FLUSH_INTERVAL if self.idle_flushes >= IDLE_FLUSHES else None

    # -- flushing ------------------------------------------------------------------------------------
    def flush(self, sync=False, final=False, lock_timeout=-1):
        """Sends what is buffered. Returns False if the flush lock could not be taken in time."""
        if self.pid != os.getpid():
            return True
        if not self.lock.acquire(True, lock_timeout):
            return False
        self.owner = _thread.get_ident()
        try:
            if self.closed:
                # The summary was the last record; a late flush (another thread racing the exit) sends nothing.
                return True
            buf = _rec._buf
            n = len(buf)
            chunk = buf[:n]
            del buf[:n]
            self.taken += n
            if final:
                emitted = self.taken
                dropped = self.dropped + (0 if self._deliverable() else n)
                # On the main thread's lane (tid == pid): the final flush may run on one of our own threads.
                chunk.append((_SUMMARY, "i", _rec.now(), os.getpid(), 0, 0, 0, 0,
                              {"emitted": emitted, "dropped": dropped}))
            if chunk:
                self._send_events(chunk, n)
            if final:
                self.closed = True
        finally:
            self.owner = None
            self.lock.release()
        if not final and _rec._deferred:
            # A SIGTERM handler ran on this thread mid-send and deferred: let it act now.
            _rec.redeliver_deferred()
        return True

    def close(self, lock_timeout=5.0):
        """Final flush with the summary record; then closes the connection (EOF tells the receiver)."""
        if self.closed or self.pid != os.getpid():
            return
        if not self.flush(final=True, lock_timeout=lock_timeout):
            self.closed = True  # could not take the lock in time: give up rather than block the exit
        s = self.sock
        self.sock = None
        if s is not None:
            try:
                s.shutdown(_socket.SHUT_WR)
            except Exception:
                pass
            try:
                s.close()
            except Exception:
                pass

    def _deliverable(self):
        if self.gone or (self.closed and self.sock is None):
            return False
        if self.sock is None:
            self._connect()
        return not self.gone

    def _connect(self):
        try:
            host, _, port = self.addr.rpartition(":")
            s, self.pre = self.pre or _new_socket(), None
            s.settimeout(5.0)
            s.connect((host or "127.0.0.1", int(port)))
            # A receiver that stops reading for this long counts as gone: the program must not hang on it.
            s.settimeout(SEND_TIMEOUT)
            try:
                s.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            except Exception:
                pass
            try:
                ppid = os.getppid()
            except Exception:
                ppid = 0
            # Written without the json package: the connection is made when the flusher starts, and
            # importing json then, from our thread, could meet a program that is itself importing it
            # (or has replaced it): the batch encoder imports it later, at the first flush, as before.
            hello = '{"t":"hello","v":%d,"token":%s,"pid":%d,"ppid":%d,"name":%s%s}\n' % (
                _p.WIRE_VERSION, _json_str(self.token), os.getpid(), ppid, _json_str(self.name_fn()),
                ',"enc":"%s"' % _p.ENC_MARSHAL if self.marshal else "")
            s.sendall(hello.encode())
            self.sock = s
        except Exception:
            self.gone = True
            self.sock = None

    def _send_events(self, chunk, counted):
        """chunk: wire tuples from the recorder (already trimmed, locs interned)."""
        if not self._deliverable():
            self.dropped += counted
            return
        if self.marshal:
            return self._send_frames(chunk, counted)
        dumps = self.encoder
        if dumps is None:
            js = _json()
            enc = js.JSONEncoder(separators=(",", ":"), default=_p.json_default, check_circular=False)
            dumps = self.encoder = enc.encode
        new = self._new_strings()
        for start in range(0, len(chunk), MAX_EVENTS_PER_LINE):
            part = chunk[start:start + MAX_EVENTS_PER_LINE]
            msg = {"t": "batch", "seq": self.seq, "ev": part}
            if new:
                msg["str"] = new
                new = None
            try:
                line = dumps(msg)
            except Exception:
                line = self._encode_carefully(msg, dumps)
            self.seq += 1
            try:
                self.sock.sendall(line.encode("utf-8", "replace") + b"\n")
            except Exception:
                self._lost(counted - start)
                return

    # The interned strings and shared args (recorder.args_id) not sent yet, as a batch's "str"/"args" table.
    # Taken after the events: whatever these events refer to was interned before they were recorded.
    def _new_strings(self):
        new, self.sent_strings = _table_since(_rec.string_list, self.sent_strings)
        return new

    def _new_args(self):
        new, self.sent_args = _table_since(_rec.arg_list, self.sent_args)
        return new

    def _send_frames(self, chunk, counted):
        """As the JSON lines, as frames: 4-byte big-endian length, then marshal.dumps of the batch."""
        new = self._new_strings()
        new_args = self._new_args()
        start = 0     # events of chunk sent
        step = MAX_EVENTS_PER_LINE
        pending = chunk
        while pending:
            # Taken off the front rather than sliced: a record referenced only by its batch is written
            # as is, one referenced twice goes through marshal's table of shared objects (5x the cost
            # of writing a packed record).
            if len(pending) > step:
                part = pending[:step]
                del pending[:step]
            else:
                part, pending = pending, []
            msg = {"t": "batch", "seq": self.seq, "ev": part}
            if new:
                msg["str"] = new
            if new_args:
                msg["args"] = new_args
            try:
                data = _marshal_dumps(msg)
            except Exception:
                data = self._encode_carefully(msg, _marshal_dumps)
            if len(data) > _p.MAX_LINE_BYTES:
                if len(part) > 1:
                    # Huge payload previews: smaller frames rather than one the receiver must refuse.
                    step = max(1, len(part) // 2)
                    pending[:0] = part
                    continue
                self.dropped += 1  # one event larger than a frame may be (previews are capped: not seen)
                start += 1
                continue
            new = new_args = None
            self.seq += 1
            try:
                self.sock.sendall(len(data).to_bytes(4, "big") + data)
            except Exception:
                self._lost(counted - start)
                return
            start += len(part)

    def _lost(self, n):
        # The receiver went away: the program runs on; what could not be sent is counted.
        self.gone = True
        self.dropped += n
        try:
            self.sock.close()
        except Exception:
            pass
        self.sock = None

    @staticmethod
    def _encode_carefully(msg, dumps):
        """Makes the `a` of events that cannot be encoded (objects of other classes, subclasses of
        built-in types that marshal refuses, non-text keys JSON refuses, very deep nesting) plain data
        rather than dropping the batch."""
        good = []
        for t in msg["ev"]:
            try:
                dumps(t)
                good.append(t)
                continue
            except Exception:
                pass
            t = list(t)
            if len(t) > 8:
                t[8] = _p.plain_data(t[8], 6)
            else:
                t = [_p.plain_data(x, 1) for x in t]     # (an odd number in the tuple itself)
            try:
                dumps(t)
            except Exception:
                if len(t) <= 8:
                    continue
                t[8] = {"unencodable": True}   # (a str subclass from a __str__): keep the event
            good.append(t)
        msg["ev"] = good
        return dumps(msg)
