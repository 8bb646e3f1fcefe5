"""multiprocessing channels: Queue, JoinableQueue, SimpleQueue and Pipe/Connection.

Cross-process links: the sender appends a 16-byte trailer (magic + corr) after the pickle of each
message on an instrumented channel. pickle.loads ignores bytes after the STOP opcode, so an untraced
receiver still gets exactly the object; a traced receiver reads the corr from the trailer, and its
msg.recv shares it with the sender's msg.send. Raw send_bytes/recv_bytes are never touched.

Channel ids survive fork (attributes are copied) and spawn/forkserver pickling: the Connection
reducer adds the `_il_*` attributes as pickle state, which unpickling puts back in the Connection's
__dict__ (even in an untraced process, where they are inert). A Queue finds its id on its reader.
Queues and pipes the standard library creates for itself (Pool, concurrent.futures) are not channels.
"""
import io
import pickle
import _thread

from interleave import recorder as rec

_MAGIC = b"\x00\xffILtrc\x00"
_tls = _thread._local()
_CTX = ("multiprocessing/context.py",)


class Tagged(object):
    """A message on its way to the pickler, with what msg.send needs (emitted once its size is known)."""
    __slots__ = ("obj", "chan", "corr", "ts", "tid", "loc", "preview")

    def __init__(self, obj, chan, loc):
        self.obj = obj
        self.chan = chan
        self.corr = rec.new_id()
        self.ts = rec.now()
        self.tid = _thread.get_native_id()
        self.loc = loc
        self.preview = rec.preview(obj)

    def __reduce_ex__(self, protocol):
        # Only reachable if the patch was removed while a message waited in a feeder buffer.
        return self.obj.__reduce_ex__(protocol)


def _make_pickler(base):
    orig_dumps = base.dumps

    class TracingPickler(base):
        @classmethod
        def dumps(cls, obj, protocol=None):
            if type(obj) is not Tagged:
                return orig_dumps(obj, protocol)
            buf = io.BytesIO()
            base(buf, protocol).dump(obj.obj)
            size = buf.tell()
            try:
                buf.write(_MAGIC + obj.corr.to_bytes(8, "little"))
                rec.emit("msg.send", "i", obj=obj.chan, corr=obj.corr, loc=obj.loc, ts=obj.ts, tid=obj.tid,
                         a={"preview": obj.preview, "size": size})
            except Exception:
                pass
            return buf.getbuffer()

        @staticmethod
        def loads(data, *args, **kwargs):
            try:
                if len(data) > 16 and data[-16:-8] == _MAGIC:
                    _tls.got = (int.from_bytes(data[-8:], "little"), len(data) - 16)
                else:
                    _tls.got = (0, len(data))
            except Exception:
                pass
            return pickle.loads(data, *args, **kwargs)

    TracingPickler.__name__ = base.__name__
    TracingPickler.__qualname__ = base.__qualname__
    return TracingPickler


_pickler = None


def _tracing_pickler(base):
    global _pickler
    if _pickler is None:
        _pickler = _make_pickler(base)
    return _pickler


def _recv_done(chan, loc):
    got = getattr(_tls, "got", None)
    _tls.got = None
    corr, size = got if got else (0, 0)
    rec.emit("msg.recv", "i", obj=chan, corr=corr, loc=loc, a={"size": size})


_OP_GET = {"op": "get"}
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


def _receive(orig, args, kwargs, chan, loc, conn, op):
    """Runs a get/recv: a wait is recorded exactly when data was not there (wait begin, call, wait end).
    When it was, the call is only watched, in case another reader took the data first and it blocks
    after all: then the flusher reports the wait once it has lasted (recorder.block_enter)."""
    if not _ready(conn):
        rec.emit("msg.wait", "b", obj=chan, loc=loc, a=op)
        try:
            return orig(*args, **kwargs)
        finally:
            rec.emit("msg.wait", "e", obj=chan, a=op)
    w = rec.block_enter("msg.wait", chan, loc, op)
    try:
        return orig(*args, **kwargs)
    finally:
        rec.block_exit(w)


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
        if not chan or not rec.active() or rec.is_in_runtime():
            return orig_send(self, obj)
        return orig_send(self, Tagged(obj, chan, rec.user_loc()))

    def recv(self):
        chan = self.__dict__.get("_il_chan")
        if not chan or not rec.active() or rec.is_in_runtime():
            return orig_recv(self)
        loc = rec.user_loc()
        _tls.got = None
        v = _receive(orig_recv, (self,), {}, chan, loc, self, _OP_RECV)
        _recv_done(chan, loc)
        return v

    send.__doc__ = orig_send.__doc__
    recv.__doc__ = orig_recv.__doc__
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


def _full(q):
    sem = q.__dict__.get("_sem")      # Queue/JoinableQueue: a BoundedSemaphore of free slots
    return sem is not None and sem._semlock._is_zero()


def _wrap_put(orig):
    def put(self, obj, *args, **kwargs):
        q = self.__dict__.get("_il_q")
        if not q or not rec.active() or rec.is_in_runtime():
            return orig(self, obj, *args, **kwargs)
        loc = rec.user_loc()
        block = args[0] if args else kwargs.get("block", True)
        waited = False
        if block:
            try:
                waited = _full(self)
            except Exception:
                waited = False
            if waited:
                rec.emit("msg.wait", "b", obj=q, loc=loc, a={"op": "put"})
        try:
            return orig(self, Tagged(obj, q, loc), *args, **kwargs)
        finally:
            if waited:
                rec.emit("msg.wait", "e", obj=q, a={"op": "put"})
    return put


def _wrap_get(orig):
    def get(self, *args, **kwargs):
        q = self.__dict__.get("_il_q")
        if not q or not rec.active() or rec.is_in_runtime():
            return orig(self, *args, **kwargs)
        loc = rec.user_loc()
        _tls.got = None
        v = _receive(orig, (self,) + args, kwargs, q, loc, self._reader, _OP_GET)
        _recv_done(q, loc)
        return v
    return get


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
        if "put" in d:
            patches.set(cls, "put", _wrap_put(d["put"]))
        if "get" in d:
            patches.set(cls, "get", _wrap_get(d["get"]))
