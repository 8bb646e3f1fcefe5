"""multiprocessing channels: Queue, JoinableQueue, SimpleQueue and Pipe/Connection.

Cross-process links: the sender appends a 16-byte trailer (magic + corr) after the pickle of each
message on an instrumented channel. pickle.loads ignores bytes after the STOP opcode, so an untraced
receiver still gets exactly the object; a traced receiver reads the corr from the trailer, and its
msg.recv shares it with the sender's msg.send. Raw send_bytes/recv_bytes are never touched.

Channel ids survive fork (attributes are copied) and spawn/forkserver pickling: the Connection
reducer adds the `_il_*` attributes as pickle state, which unpickling puts back in the Connection's
__dict__ (even in an untraced process, where they are inert). A Queue finds its id on its reader.
Queues and pipes the standard library creates for itself (Pool, concurrent.futures) are not channels.
Queue.get's common call (blocking, no timeout) and SimpleQueue.get run the standard library's few
lines themselves, so that the wait check costs one poll(2) made while holding the reader lock (see
_wrap_queue_get); a traced message with an atomic payload is pickled by pickle.dumps (the same bytes
as a ForkingPickler's).
JoinableQueue.join/task_done are recorded as a Condition's wait/notify (sync.wait 'join', sync.notify
'task_done').
"""
import io
import pickle
import struct
import sys
import _thread
from time import monotonic_ns as _mono_ns

from interleave import deadlock as dl
from interleave import recorder as rec
from interleave.patches import mp_util

_MAGIC = b"\x00\xffILtrc\x00"
_trailer = struct.Struct("<8sQ").pack      # magic + corr: the 16 bytes after a traced message's pickle
_tls = _thread._local()
_CTX = ("multiprocessing/context.py",)
_getframe = sys._getframe
_ploads = pickle.loads
_EPOCH = rec._EPOCH          # the run's clock origin: the same in every process, never reset
_SEND = rec._CODES["msg.send"]
_RECV = rec._CODES["msg.recv"]
_WAIT = rec._CODES["msg.wait"]
_PH_I = rec.PH_I

# ---- the per-message hot path ------------------------------------------------------------------------
# A message costs the program a put/send, a pickling, a get/recv and an unpickling; what is recorded for
# it is built here as the recorder's wire tuples (code, ph, ts, tid, obj, corr, sid[, dur, a]) and
# appended to rec._buf directly, guarded by rec._active: what rec.emit does, without its keyword
# arguments, kind lookup and interning per call, and with the caller's location cached per call site.
# rec._append/_buf/_strings/_tls are read through the module each time (a fork child gets new ones).
# Tests pin what is recorded (test_mp BlockingGets, StartMethods, ReaderLockAndFullQueue,
# AtomicPayloadPickling); bench/runtime/mp_queue.py the cost.
_mtls = mp_util.tls            # .tid: this thread's native id (mp_util.native_tid), reset after fork
_native_tid = mp_util.native_tid


_append = rec.put
_watch, _unwatch = rec.watch, rec.unwatch


_sites = rec.site_cache      # (id(code), instruction offset) -> (code, sid): see recorder.site_cache
_site_sid = rec.site_sid


class Tagged(tuple):
    """A message on its way to the pickler: (obj, chan, sid, ts, tid) of the put/send that made it.
    The pickler emits its msg.send once it knows the size (a Queue pickles on its feeder thread, in
    the same process: the sid is valid there)."""
    __slots__ = ()

    def __reduce_ex__(self, protocol):
        # Only reachable if the patch was removed while a message waited in a feeder buffer.
        return self[0].__reduce_ex__(protocol)


def _tag(obj, chan, f):
    """The Tagged message for a put/send called from frame f (never raises: obj itself on failure)."""
    try:
        code = f.f_code
        e = _sites.get((id(code), f.f_lasti))
        try:
            tid = _mtls.tid
        except AttributeError:
            tid = _native_tid()
        return Tagged((obj, chan, e[1] if e is not None and e[0] is code else _site_sid(f),
                       (_mono_ns() - _EPOCH) // 1000, tid))
    except Exception:
        return obj


_BIG = 10 ** 18
_SEM_VALUE_MAX = 0           # multiprocessing.synchronize.SEM_VALUE_MAX once a Queue has been made


def _sem_value_max():
    # A Queue's __init__ imported multiprocessing.synchronize (not imported here: a program that
    # never makes one does not pay for it).
    global _SEM_VALUE_MAX
    try:
        _SEM_VALUE_MAX = sys.modules["multiprocessing.synchronize"].SEM_VALUE_MAX
    except Exception:
        return 1 << 62       # unknown: every put asks the semaphore
    return _SEM_VALUE_MAX


#: Payload types the C pickler writes itself, before it looks at a dispatch table or reducer_override:
#: pickle.dumps gives exactly the bytes a ForkingPickler writes for them (checked in test_mp, 3.9-3.13).
_ATOMIC = frozenset((int, float, str, bytes, bool, type(None)))
_pdumps = pickle.dumps


def _make_pickler(base):
    orig_dumps = base.dumps
    preview = rec.preview
    # Only the standard library's own ForkingPickler is known to add nothing for atomic payloads (a
    # persistent_id, which the C pickler asks even before those, would be a program's own addition).
    try:
        from multiprocessing import reduction
        plain = (base is reduction.ForkingPickler and getattr(base, "reducer_override", None) is None
                 and getattr(base, "persistent_id", None) is getattr(pickle.Pickler, "persistent_id", None))
        atomic = _ATOMIC if plain else frozenset()
    except Exception:
        atomic = frozenset()

    class TracingPickler(base):
        @classmethod
        def dumps(cls, obj, protocol=None):
            if type(obj) is not Tagged:
                return orig_dumps(obj, protocol)
            o = obj[0]
            if type(o) in atomic:
                # A traced message already pays for its trailer and its msg.send; an atomic payload
                # skips building a ForkingPickler (a copy of copyreg's dispatch table per message, most
                # of what pickling a small object costs) and gets the same bytes from pickle.dumps.
                data = _pdumps(o, protocol)
                try:
                    corr = rec._id_base + next(rec._ids)     # rec.new_id()
                    if rec._active:
                        # The common payload (a small int) without rec.preview's general path.
                        pv = repr(o) if type(o) is int and -_BIG < o < _BIG else preview(o)
                        rec._append((_SEND, "i", obj[3], obj[4], obj[1], corr, obj[2], 0,
                                     {"preview": pv, "size": len(data)}))
                        if len(rec._buf) > rec.BUFFER_HIGH:
                            rec._backpressure()
                    return data + _trailer(_MAGIC, corr)
                except Exception:
                    return data
            buf = io.BytesIO()
            base(buf, protocol).dump(o)
            try:
                size = buf.tell()
                corr = rec._id_base + next(rec._ids)     # rec.new_id()
                buf.write(_trailer(_MAGIC, corr))
                if rec._active:
                    rec._append((_SEND, "i", obj[3], obj[4], obj[1], corr, obj[2], 0, {"preview": preview(o), "size": size}))
                    if len(rec._buf) > rec.BUFFER_HIGH:
                        rec._backpressure()
            except Exception:
                pass
            return buf.getbuffer()

        @staticmethod
        def loads(data, *args, **kwargs):
            # Hands the receiving wrapper (same thread, right after) the tagged message or the size of
            # an untagged one; the wrapper reads the corr from the trailer and drops the reference.
            try:
                _tls.got = data if data[-16:-8] == _MAGIC else len(data)
            except Exception:
                pass
            if args or kwargs:
                return _ploads(data, *args, **kwargs)
            return _ploads(data)

    TracingPickler.__name__ = base.__name__
    TracingPickler.__qualname__ = base.__qualname__
    return TracingPickler


_pickler = None


def _tracing_pickler(base):
    global _pickler
    if _pickler is None:
        _pickler = _make_pickler(base)
    return _pickler


_OP_GET = {"op": "get"}
_OP_PUT = {"op": "put"}
_OP_RECV = {"op": "recv"}
_polls = {}   # fd -> select.poll registered for input on it (a reused fd number is the same fd to poll)


def _ready(conn):
    """Whether a recv on conn would return at once: one poll(2) on a cached poll object. Connection.poll()
    builds a selector per call, which cost several times the recv itself."""
    try:
        fd = conn._handle
        p = _polls.get(fd)
        if p is None:
            if len(_polls) > 1024:
                _polls.clear()
            import select
            p = select.poll()
            p.register(fd, select.POLLIN)
            _polls[fd] = p
        return bool(p.poll(0))
    except Exception:
        return True


_get_ident = _thread.get_ident


def _wait_name(obj, pipe):
    """How a deadlock report names a get/recv that waits (deadlock.RemoteWait)."""
    return "Connection.recv" if pipe else "multiprocessing.%s.get" % type(obj).__name__


def _make_receiver(orig, op, queue_args, pipe):
    """The traced get()/recv(): a wait is recorded exactly when data was not there (wait begin, call,
    wait end: one poll(2) decides); when it was, the call is only watched (see recorder.watched). Then the
    msg.recv, with the corr and size that the pickler's loads() left in _tls (every get/recv that
    returns has unpickled its message through it, last). queue_args: the method
    takes (block, timeout) (Queue.get); pipe: self is the connection (else self._reader)."""
    polls = _polls
    depth = 1 if queue_args else 2     # the user's frame (receive_noargs adds one)

    def receive(self, block=True, timeout=None):
        chan = self.__dict__.get("_il_chan" if pipe else "_il_q")
        if not chan or not rec._active or rec._tls.busy:
            return orig(self, block, timeout) if queue_args else orig(self)
        try:
            f = _getframe(depth)
            code = f.f_code
            e = _sites.get((id(code), f.f_lasti))
            sid = e[1] if e is not None and e[0] is code else _site_sid(f)
            try:
                tid = _mtls.tid
            except AttributeError:
                tid = _native_tid()
            conn = self if pipe else self._reader
            try:
                ready = polls[conn._handle].poll(0)
            except KeyError:
                ready = _ready(conn)
        except Exception:
            return orig(self, block, timeout) if queue_args else orig(self)
        if not block:
            v = orig(self, block, timeout)
        elif ready:
            w = _watch(_WAIT, chan, sid, op, tid)   # ready, but it may block after all
            try:
                v = orig(self, block, timeout) if queue_args else orig(self)
            finally:
                _unwatch(w)
        else:
            _append((_WAIT, "b", (_mono_ns() - _EPOCH) // 1000, tid, chan, 0, sid))
            ident = _get_ident()
            dl.remote_wait_begin(ident, _wait_name(self, pipe), chan)
            try:
                v = orig(self, block, timeout) if queue_args else orig(self)
            finally:
                dl.wait_end(ident)
                if rec._active:
                    _append((_WAIT, "e", (_mono_ns() - _EPOCH) // 1000, tid, chan, 0, 0, 0, op))
        try:
            got = _tls.got
            _tls.got = None
            if rec._active:
                if got is None or type(got) is int:
                    # Untagged (sent by an untraced process): only the size is known here.
                    rec._append((_RECV, "i", (_mono_ns() - _EPOCH) // 1000, tid, chan, 0, sid, 0, {"size": got or 0}))
                else:
                    # Its msg.send (same corr) carries the size and preview: not repeated on the wire.
                    rec._append((_RECV, "i", (_mono_ns() - _EPOCH) // 1000, tid, chan,
                                 int.from_bytes(got[len(got) - 8:], "little"), sid))
                if len(rec._buf) > rec.BUFFER_HIGH:
                    rec._backpressure()
        except Exception:
            pass
        return v

    if queue_args:
        return receive

    def receive_noargs(self):      # get()/recv() take no arguments: neither does the wrapper
        return receive(self)
    return receive_noargs


_tr_unpack = struct.Struct("<8sQ").unpack_from


def _record_recv(data, tid, chan, sid):
    """The msg.recv of a message read by the get/recv below (its pickle, perhaps with our trailer).
    Never raises."""
    try:
        if rec._active:
            n = len(data)
            m, corr = _tr_unpack(data, n - 16) if n >= 16 else (None, 0)     # the trailer, if any
            if m == _MAGIC:
                # Its msg.send (same corr) carries the size and preview: not repeated on the wire.
                rec._append(rec.pack(_RECV, _PH_I, (_mono_ns() - _EPOCH) // 1000, tid, chan, corr, sid, 0, 0))
            else:
                # Sent by an untraced process: only the size is known here.
                rec._append((_RECV, "i", (_mono_ns() - _EPOCH) // 1000, tid, chan, 0, sid, 0, {"size": n}))
            if len(rec._buf) > rec.BUFFER_HIGH:
                rec._backpressure()
    except Exception:
        pass


def _unpickle(module, data):
    """What the standard library's get/recv ends with: module._ForkingPickler.loads(data)."""
    pickler = module._ForkingPickler
    if pickler is _pickler:
        return _ploads(data)     # ForkingPickler.loads is pickle.loads: one call fewer
    return pickler.loads(data)   # (the program replaced it)


def _wrap_queue_get(orig, queues, simple=False):
    """Queue.get and SimpleQueue.get: the blocking get without a timeout (what programs call in a loop)
    runs its standard library body here, with the recording in between; any other call goes through
    _make_receiver's general path. The body (3.9-3.13 alike): take the reader lock, read one message,
    release the lock, (Queue) release a slot of the queue's semaphore, unpickle.

    Doing it here rather than around the original call saves, per message, the original's frame, the
    pickler's loads() hand-over and the watch of a call that might block: holding the reader lock, one
    poll(2) says exactly whether the read waits for a message (no other reader can take it first), and
    a failed non-blocking take of the lock says the get waits for another reader. Either wait is
    recorded from the call (msg.wait b) to the end of the read (msg.wait e)."""
    general = _make_receiver(orig, _OP_GET, not simple, False)
    polls = _polls
    depth = 2 if simple else 1       # the user's frame (SimpleQueue's get() adds one)

    def get(self, block=True, timeout=None):
        chan = self.__dict__.get("_il_q")
        if (not chan or not rec._active or rec._tls.busy
                or not simple and (not block or timeout is not None or self._closed)):
            return general(self) if simple else general(self, block, timeout)
        try:
            f = _getframe(depth)
            code = f.f_code
            e = _sites.get((id(code), f.f_lasti))
            sid = e[1] if e is not None and e[0] is code else _site_sid(f)
            try:
                tid = _mtls.tid
            except AttributeError:
                tid = _native_tid()
            rl = self._rlock
            reader = self._reader
            fd = reader._handle
            p = polls.get(fd)
            if p is None:
                _ready(reader)
                p = polls[fd]
            read = reader.recv_bytes if simple else self._recv_bytes
        except Exception:
            return general(self) if simple else general(self, block, timeout)
        waited = False
        if not rl.acquire(False):
            # Another reader holds the lock (and may be waiting for data itself): this get waits.
            waited = True
            _append((_WAIT, "b", (_mono_ns() - _EPOCH) // 1000, tid, chan, 0, sid))
            dl.remote_wait_begin(_get_ident(), _wait_name(self, False), chan)
            try:
                rl.acquire()
            except BaseException:
                dl.wait_end(_get_ident())
                if rec._active:
                    _append((_WAIT, "e", (_mono_ns() - _EPOCH) // 1000, tid, chan, 0, 0, 0, _OP_GET))
                raise
        try:
            if not waited and not p.poll(0):
                waited = True
                _append((_WAIT, "b", (_mono_ns() - _EPOCH) // 1000, tid, chan, 0, sid))
                dl.remote_wait_begin(_get_ident(), _wait_name(self, False), chan)
            res = read()
        finally:
            rl.release()
            if waited:
                dl.wait_end(_get_ident())
                if rec._active:
                    _append((_WAIT, "e", (_mono_ns() - _EPOCH) // 1000, tid, chan, 0, 0, 0, _OP_GET))
        if not simple:
            self._sem.release()
        _record_recv(res, tid, chan, sid)
        return _unpickle(queues, res)

    if simple:
        def simple_get(self):    # SimpleQueue.get() takes no arguments: neither does the wrapper
            if not self.__dict__.get("_il_q"):
                return orig(self)     # the standard library's own (a Pool's): not a channel
            return get(self)
        simple_get.__doc__ = orig.__doc__
        return simple_get
    get.__doc__ = orig.__doc__
    return get


def _wrap_conn_recv(orig, connection):
    """Connection.recv, its standard library body (3.9-3.13 alike: check the handle, read one message,
    unpickle) run here with the recording in between, as _wrap_queue_get does for queues: no frame of
    the original's, no loads() hand-over. A connection has no reader lock, so a recv whose data was
    there is watched in case another reader takes it first (see recorder.watched)."""
    general = _make_receiver(orig, _OP_RECV, False, True)
    polls = _polls

    def recv(self):
        chan = self.__dict__.get("_il_chan")
        if not chan or not rec._active or rec._tls.busy:
            return orig(self)
        try:
            f = _getframe(1)
            code = f.f_code
            e = _sites.get((id(code), f.f_lasti))
            sid = e[1] if e is not None and e[0] is code else _site_sid(f)
            try:
                tid = _mtls.tid
            except AttributeError:
                tid = _native_tid()
            fd = self._handle
            p = polls.get(fd)
            if p is None:
                _ready(self)
                p = polls[fd]
        except Exception:
            return general(self)
        self._check_closed()
        self._check_readable()
        if p.poll(0):
            w = _watch(_WAIT, chan, sid, _OP_RECV, tid)   # ready, but it may block after all
            try:
                buf = self._recv_bytes()
            finally:
                _unwatch(w)
        else:
            _append((_WAIT, "b", (_mono_ns() - _EPOCH) // 1000, tid, chan, 0, sid))
            ident = _get_ident()
            dl.remote_wait_begin(ident, "Connection.recv", chan)
            try:
                buf = self._recv_bytes()
            finally:
                dl.wait_end(ident)
                if rec._active:
                    _append((_WAIT, "e", (_mono_ns() - _EPOCH) // 1000, tid, chan, 0, 0, 0, _OP_RECV))
        data = buf.getbuffer()
        _record_recv(data, tid, chan, sid)
        return _unpickle(connection, data)
    recv.__doc__ = orig.__doc__
    return recv


# ---- Pipe / Connection ------------------------------------------------------------------------------
def patch_connection(m, patches):
    from multiprocessing import reduction
    base = m._ForkingPickler
    patches.set(m, "_ForkingPickler", _tracing_pickler(base))
    cb = m._ConnectionBase
    orig_send = cb.send
    orig_recv = cb.recv

    def send(self, obj):
        chan = self.__dict__.get("_il_chan")
        if not chan or not rec._active or rec._tls.busy:
            return orig_send(self, obj)
        return orig_send(self, _tag(obj, chan, _getframe(1)))

    recv = _wrap_conn_recv(orig_recv, m)

    send.__doc__ = orig_send.__doc__
    patches.set(cb, "send", send)
    patches.set(cb, "recv", recv)

    orig_pipe = m.Pipe

    def Pipe(*args, **kwargs):
        a, b = orig_pipe(*args, **kwargs)
        try:
            if rec.active() and not rec.is_in_runtime() and _user_created():
                chan = rec.new_id()
                a._il_chan = chan
                b._il_chan = chan
                duplex = bool(args[0]) if args else bool(kwargs.get("duplex", True))
                rec.emit("chan.create", "i", obj=chan, loc=rec.user_loc(), a={"type": "Pipe", "duplex": duplex})
        except Exception:
            pass
        return a, b
    Pipe.__doc__ = orig_pipe.__doc__
    patches.set(m, "Pipe", Pipe)

    conn_type = getattr(m, "Connection", None)
    extra = getattr(reduction.ForkingPickler, "_extra_reducers", None)
    if conn_type is not None and extra is not None and conn_type in extra:
        orig_reduce = extra[conn_type]

        def reduce_connection(conn):
            rv = orig_reduce(conn)
            try:
                st = {k: v for k, v in conn.__dict__.items() if k.startswith("_il_")}
                if st and len(rv) == 2:
                    return (rv[0], rv[1], st)
            except Exception:
                pass
            return rv
        patches.set_item(extra, conn_type, reduce_connection)


def _user_created():
    from interleave.patches.mp_util import created_by_user
    return created_by_user(_CTX)


# ---- Queue / JoinableQueue / SimpleQueue -------------------------------------------------------------
_QUEUE_TYPES = {"Queue": "mp.Queue", "JoinableQueue": "mp.JoinableQueue", "SimpleQueue": "mp.SimpleQueue"}


def _q_id(q):
    return q.__dict__.get("_il_q", 0)


def _wrap_init(orig, type_name):
    def __init__(self, *args, **kwargs):
        outer = "_il_q" not in self.__dict__
        if outer:
            self._il_q = 0
        orig(self, *args, **kwargs)
        if not outer:
            return
        try:
            if rec.active() and not rec.is_in_runtime() and _user_created():
                q = rec.new_id()
                self._il_q = q
                self._reader._il_q = q     # travels with the reader when the queue is pickled (spawn)
                a = {"type": _QUEUE_TYPES.get(type(self).__name__, type_name)}
                maxsize = args[0] if args else kwargs.get("maxsize", 0)
                if isinstance(maxsize, int) and maxsize > 0:
                    a["maxsize"] = maxsize
                rec.emit("chan.create", "i", obj=q, loc=rec.user_loc(), a=a)
        except Exception:
            pass
    return __init__


def _wrap_setstate(orig):
    def __setstate__(self, state):
        orig(self, state)
        try:
            self._il_q = getattr(self._reader, "_il_q", 0)
        except Exception:
            pass
    return __setstate__


def _wrap_put(orig):
    def put(self, obj, block=True, timeout=None):
        q = self.__dict__.get("_il_q")
        if not q or not rec._active or rec._tls.busy:
            return orig(self, obj, block, timeout)
        try:
            # _tag, inlined: this is the producer's per-message cost.
            f = _getframe(1)
            code = f.f_code
            e = _sites.get((id(code), f.f_lasti))
            try:
                tid = _mtls.tid
            except AttributeError:
                tid = _native_tid()
            ts = (_mono_ns() - _EPOCH) // 1000
            t = Tagged((obj, q, e[1] if e is not None and e[0] is code else _site_sid(f), ts, tid))
        except Exception:
            return orig(self, obj, block, timeout)
        try:
            # A BoundedSemaphore of free slots: a put on a full queue waits. An unbounded queue's
            # maxsize is the semaphore's maximum: never full, not asked.
            waited = block and self._maxsize < (_SEM_VALUE_MAX or _sem_value_max()) and self._sem._semlock._is_zero()
        except Exception:
            waited = False
        if not waited:
            return orig(self, t, block, timeout)
        _append((_WAIT, "b", ts, tid, q, 0, t[2]))
        try:
            return orig(self, t, block, timeout)
        finally:
            if rec._active:
                _append((_WAIT, "e", (_mono_ns() - _EPOCH) // 1000, tid, q, 0, 0, 0, _OP_PUT))
    return put


def _wrap_simple_put(orig):
    def put(self, obj):
        q = self.__dict__.get("_il_q")
        if not q or not rec._active or rec._tls.busy:
            return orig(self, obj)
        return orig(self, _tag(obj, q, _getframe(1)))
    return put


# ---- JoinableQueue.join / task_done ----------------------------------------------------------------
# As a threading Condition's wait and notify: join() is a sync.wait (what 'join') on the queue from the
# call to its return, recorded when it has unfinished tasks to wait for; the task_done() that finishes
# the last one is a sync.notify (what 'task_done'), linked to the joins it ends, in any process of the
# run (mp_util.record_wake).
def _wrap_join(orig):
    def join(self):
        q = self.__dict__.get("_il_q")
        if not q or not rec._active or rec._tls.busy:
            return orig(self)
        try:
            if self._unfinished_tasks._semlock._is_zero():
                return orig(self)                 # nothing unfinished: returns at once
            t0 = rec.now()
            rec.emit("sync.wait", "b", obj=q, loc=rec.user_loc(), ts=t0, a={"what": "join"})
        except Exception:
            return orig(self)
        ok = False
        try:
            r = orig(self)
            ok = True
            return r
        finally:
            try:
                corr = mp_util.woken_by(self, q, t0, "_il_done") if ok else 0
                rec.emit("sync.wait", "e", obj=q, corr=corr, a={"ok": ok})
            except Exception:
                pass
    return join


def _wrap_task_done(orig):
    def task_done(self):
        t = rec.now()      # the call, not its return: the joiners it wakes may return before it does
        q = self.__dict__.get("_il_q")
        corr = 0
        if q and rec._active and not rec._tls.busy:
            try:
                # The call that finishes the last task wakes the joiners: its corr goes to the wake board
                # before that (a joiner reads it as it returns, maybe before this call returns).
                if self._unfinished_tasks._semlock._get_value() == 1:
                    corr = rec.new_id()
                    mp_util.record_wake(self, q, corr, t, "_il_done")
            except Exception:
                corr = 0       # (no sem_getvalue, as on macOS: written after the call, below)
        r = orig(self)     # raises ValueError when called too many times: nothing recorded then
        if q and rec._active and not rec._tls.busy:
            try:
                if self._unfinished_tasks._semlock._is_zero():
                    if not corr:
                        corr = rec.new_id()
                        mp_util.record_wake(self, q, corr, t, "_il_done")    # late, but for later readers
                    rec.emit("sync.notify", "i", obj=q, corr=corr, loc=rec.user_loc(), ts=t, a={"what": "task_done"})
            except Exception:
                pass
        return r
    return task_done


def patch_queues(m, patches):
    patches.set(m, "_ForkingPickler", _tracing_pickler(m._ForkingPickler))
    for cls_name in ("Queue", "JoinableQueue", "SimpleQueue"):
        cls = getattr(m, cls_name, None)
        if cls is None:
            continue
        d = cls.__dict__
        patches.set(cls, "__init__", _wrap_init(d["__init__"], _QUEUE_TYPES[cls_name]))
        if "__setstate__" in d:
            patches.set(cls, "__setstate__", _wrap_setstate(d["__setstate__"]))
        simple = cls_name == "SimpleQueue"
        if "put" in d:
            patches.set(cls, "put", (_wrap_simple_put if simple else _wrap_put)(d["put"]))
        if "get" in d:
            patches.set(cls, "get", _wrap_queue_get(d["get"], m, simple))
        if "join" in d and "task_done" in d:
            patches.set(cls, "join", _wrap_join(d["join"]))
            patches.set(cls, "task_done", _wrap_task_done(d["task_done"]))
