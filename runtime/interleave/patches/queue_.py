"""Instruments queue.Queue / LifoQueue / PriorityQueue / SimpleQueue: put -> get arrows, blocked waits.

Queue classes are patched in place (isinstance and type identity stay as they were); each instance
decides at creation whether it is the program's (recorded) or the standard library's own (a flag that
costs one attribute read). Each recorded put chooses a correlation id; the `_put` hook files it and the
`_get` hook takes it back, both under the queue's mutex, so a get is linked to the put of the very item
it returned (see "correlation" below). The send is stamped before the put and the receive after the
get, so the arrow always points forward without reading the clock under the mutex.

Default mode: a put or get that blocks, or that a blocked peer is waiting for, is recorded exactly;
other operations are recorded while the per-queue budget lasts, then counted.

Full mode: every get is recorded by a Queue.get wrapper after the queue's mutex is released (the _get
hook only hands the corr over): the less a put or get does under the mutex, the less often a thread
switch lands while it is held and leaves the other producers and consumers blocked on it in the kernel.
"""
import sys
import queue
import _thread
import _queue
import weakref
from collections import deque
from time import monotonic_ns as _mono_ns

from .. import recorder as rec
from .. import deadlock as dl
from . import mp_util
from .threading_ import forever_in_main, SLICE, _sliced_wait, wait_condition_sliced, _STD_COND_WAIT

_emit = rec.emit
_new_id = rec.new_id
_get_ident = _thread.get_ident
_getframe = sys._getframe
_getsizeof = sys.getsizeof
_preview = rec.preview
_user_loc = rec.user_loc
_EPOCH = rec._EPOCH
_SEND = rec._CODES["msg.send"]
_RECV = rec._CODES["msg.recv"]
_PH_I = rec.PH_I
_BIG = 1 << 62
_ttls = mp_util.tls               # .tid: the thread's native id
_native_tid = mp_util.native_tid
_sid_cache = mp_util._sid_cache
_slow_sid = mp_util.slow_sid
_backpressure = mp_util.backpressure


class _Handover(_thread._local):
    """Per thread: the hand-over between the put wrapper and the _put hook it reaches under the queue's
    mutex (corr: the id the wrapper chose for its item; 0: none), and in full mode between the _get hook
    and the get wrapper (rcorr: the corr of the item the get returned). The class defaults spare the
    first read on each thread a raised AttributeError."""
    corr = 0
    rcorr = 0


_tls = _Handover()

# The payload's args for the common small scalars without a call to preview() and getsizeof (about
# half a microsecond per put): what they return for such values, computed once here.
_SMALL_INT = 1 << (sys.int_info.bits_per_digit - 1)   # |n| below it: one digit (or none, for 0)
_SIZE_INT0 = _getsizeof(0)
_SIZE_INT1 = _getsizeof(1)
_PREVIEW_LIMIT = 80


def _payload_args(item):
    """{"preview", "size"} of a put's item: rec.preview() and sys.getsizeof(), with ints of one digit
    and short strings (the most common payloads) done inline."""
    t = type(item)
    if t is int and -_SMALL_INT < item < _SMALL_INT:
        return {"preview": repr(item), "size": _SIZE_INT1 if item else _SIZE_INT0}
    if t is str and len(item) <= _PREVIEW_LIMIT:
        p = repr(item)
        if len(p) > _PREVIEW_LIMIT:      # (escapes): cut as preview() cuts
            p = p[:_PREVIEW_LIMIT - 1] + "\u2026"
        return {"preview": p, "size": _getsizeof(item)}
    return {"preview": _preview(item), "size": _getsizeof(item)}


_orig = {}
_oput = None      # the original Queue.put
_oget = None      # the original Queue.get
_full = False     # full mode (set at install): every operation recorded
#: Queue.get's code: a _get hook called from anywhere else is not a get (3.13's shutdown(immediate=True)
#: drains the queue with _get(): those items are discarded, not received).
_get_code = queue.Queue.get.__code__
_installed = False

_queues = weakref.WeakValueDictionary()   # obj -> user queue, for the aggregate counters


def _record(code, ts, obj, corr, sid, a):
    """One msg.send/msg.recv instant: the tuple rec.emit would build, built positionally (no keyword
    arguments, no kind-name lookup, the native id cached). Never raises."""
    try:
        if rec._active:
            try:
                tid = _ttls.tid
            except AttributeError:
                tid = _native_tid()
            if a is None:
                rec._append(rec.pack(code, _PH_I, ts, tid, obj, corr, sid, 0, 0))
            else:
                rec._append((code, "i", ts, tid, obj, corr, sid, 0, a))
            _backpressure()
    except Exception:
        pass


def _budget0():
    return _BIG if rec.mode() == "full" else rec.BUDGET


def _queue_counts():
    out = []
    for q in list(_queues.values()):
        for ident, c in list(q._il_cnt.items()):
            out.append((q._il_obj, "queue", rec.native_tid(ident), c, 0))
    return out


def _sliced(fn, timeout_exc, timeout, *args):
    """fn(*args, timeout): in the main thread a wait without timeout is made of short waits, so that a
    signal is never left pending while it blocks (see threading_.forever_in_main)."""
    if not forever_in_main(timeout):
        return fn(*args, timeout)
    while True:
        try:
            return fn(*args, SLICE)
        except timeout_exc:
            continue


# ---- a recorded queue's parts --------------------------------------------------------------------
# Queue.put is wrapped (class level; the standard library's own queues pass straight through): it
# chooses the item's corr and computes its preview before the put, outside the queue's mutex (a user
# __repr__ may take locks, even this queue's), and records the send after it.
# Everything else is per instance, installed on the program's queues only: `_put`/`_get` hooks (in
# default mode the get is recorded there, under the mutex, where its budget decision reads the
# waiters; in full mode by the get wrapper, after it) and the `not_empty`/`not_full`
# Conditions replaced by ones whose wait() records the blocked interval. A get costs one hook (and in
# full mode the get wrapper); a blocked put or get is recorded exactly when, and as long as, it really
# waits.
#
# Correlation: the put's corr travels to the _put hook through _tls.corr; the hook files it and the
# _get hook takes back the corr of the very item it removed (both under the mutex). A Queue or
# LifoQueue with the standard _put/_get keeps its corrs in a sequence that mirrors the items (append,
# then popleft or pop); a PriorityQueue or a subclass with its own _put/_get (which may reorder, drop
# or re-insert items) files them by id(item).
_stamps = {}    # corr -> when a put that had to wait could finally insert its item


def _take_corr():
    """The put wrapper's corr, used once: a _put reached some other way files 0 (no arrow, never a wrong one)."""
    c = _tls.corr
    if c:
        _tls.corr = 0
    return c


def _file_by_id(m, item, corr):
    d = m.get(id(item))
    if d is None:
        d = m[id(item)] = deque()
    d.append(corr)


def _unfile_by_id(m, item):
    d = m.get(id(item))
    if not d:
        return 0
    corr = d.popleft()
    if not d:
        del m[id(item)]
    return corr


def _resync(seq, extra):
    """The items changed behind put/get (`with q.mutex: q.queue.clear()` is a known idiom): the corrs
    of items that left that way are the oldest (dropped from the left); items that came in that way
    are the newest (no corr, padded on the right)."""
    if extra > 0:
        if isinstance(seq, deque):
            for _ in range(extra):
                seq.popleft()
        else:
            del seq[:extra]
    else:
        seq.extend([0] * -extra)


def _get_recorder(q, full):
    """fn(corr, frame of get's caller) recording q's receive from inside its _get hook (default mode:
    while the budget lasts, then only receives that waited or that a blocked put waits for; the others
    are counted)."""
    obj = q._il_obj

    def received(corr, f):
        if not full:
            if q._il_bud > 0:
                q._il_bud -= 1
            elif q.not_full._waiters:
                pass
            elif q._il_waited:
                q._il_waited -= 1
            else:
                c = q._il_cnt
                i = _get_ident()
                c[i] = c.get(i, 0) + 1
                return
        try:
            if rec._active:
                ts = (_mono_ns() - _EPOCH) // 1000
                try:
                    tid = _ttls.tid
                except AttributeError:
                    tid = _native_tid()
                e = _sid_cache.get((id(f.f_code), f.f_lasti))
                sid = e[1] if e is not None and e[0] is f.f_code else _slow_sid(f)
                rec._append(rec.pack(_RECV, _PH_I, ts, tid, obj, corr, sid, 0, 0))
                _backpressure()
        except Exception:
            pass
    return received


def _install_hooks(q):
    """Per-instance _put/_get hooks and waiting-recording Conditions for one of the program's queues."""
    cls = type(q)
    inner_put, inner_get = cls._put, cls._get
    full = rec.mode() == "full"
    received = _get_recorder(q, full)
    std = None
    for c in (queue.PriorityQueue, queue.LifoQueue, queue.Queue):
        if isinstance(q, c):
            std = c
            break
    if std is not queue.PriorityQueue and inner_put is std._put and inner_get is std._get:
        lifo = std is queue.LifoQueue
        seq = [] if lifo else deque()
        pop = seq.pop if lifo else seq.popleft

        def _put(item):
            # What Queue._put and LifoQueue._put do, and the wrapper's corr filed beside the item (the
            # wrapper clears it after the put: less work here, under the queue's mutex).
            q.queue.append(item)
            seq.append(_tls.corr)

        def _get():
            items = q.queue
            item = items.pop() if lifo else items.popleft()
            extra = len(seq) - len(items) - 1
            if extra:
                _resync(seq, extra)
            corr = pop() if seq else 0
            f = _getframe(1)
            if f.f_code is _get_code:   # else not a get (shutdown(immediate=True) drains): nothing received
                received(corr, f.f_back)
            return item

        if full:
            def _get():   # noqa: F811 -- full mode: the get wrapper records; this only hands over the corr
                items = q.queue
                item = items.pop() if lifo else items.popleft()
                extra = len(seq) - len(items) - 1
                if extra:
                    _resync(seq, extra)
                if _getframe(1).f_code is _get_code:
                    _tls.rcorr = pop() if seq else 0
                elif seq:
                    pop()
                return item
    else:
        m = {}

        def _put(item):
            inner_put(q, item)
            _file_by_id(m, item, _take_corr())

        def _get():
            item = inner_get(q)
            corr = _unfile_by_id(m, item)
            f = _getframe(1)
            if f.f_code is _get_code:
                if full:
                    _tls.rcorr = corr       # the get wrapper records it
                else:
                    received(corr, f.f_back)
            return item
    q._put = _put
    q._get = _get
    try:
        base = type(q.not_empty)
        if type(q.not_full) is base:
            cc = _condition_class(base)
            q.not_empty = cc(q.mutex, q, "get")
            q.not_full = cc(q.mutex, q, "put")
    except Exception:
        pass


_cond_classes = {}


def _condition_class(base):
    cc = _cond_classes.get(base)
    if cc is None:
        class ChannelCondition(base):
            """A queue's not_empty/not_full: wait() is the put or get blocking (recorded as msg.wait)."""

            def __init__(self, lock, q, op):
                base.__init__(self, lock)
                self._il_q = q
                self._il_op = op

            def wait(self, timeout=None):
                q = self._il_q
                obj = q._il_obj
                ident = _get_ident()
                _emit("msg.wait", "b", obj=obj, loc=_user_loc(1), a={"op": self._il_op})
                dl.wait_begin(ident, q, timeout is None)
                ok = False
                try:
                    if forever_in_main(timeout) and base.wait is _STD_COND_WAIT:
                        ok = wait_condition_sliced(self)
                    else:
                        ok = _sliced_wait(lambda t: base.wait(self, t), timeout)
                finally:
                    dl.wait_end(ident)
                    _emit("msg.wait", "e", obj=obj)
                    # (the mutex is held again: a put that waited inserts its item right after this)
                    if self._il_op == "put":
                        corr = _tls.corr
                        if corr:
                            _stamps[corr] = (_mono_ns() - _EPOCH) // 1000
                    else:
                        q._il_waited += 1
                return ok
        ChannelCondition.__qualname__ = ChannelCondition.__name__ = base.__name__
        ChannelCondition.__module__ = base.__module__
        cc = _cond_classes[base] = ChannelCondition
    return cc


def _init(self, *args, **kwargs):
    _orig["__init__"](self, *args, **kwargs)
    try:
        if rec._active and not rec.is_in_runtime() and not rec.called_from_stdlib(1):
            self._il_obj = _new_id()
            self._il_bud = _budget0()
            self._il_cnt = {}
            self._il_waited = 0     # gets that blocked and have not been recorded yet (default mode)
            _install_hooks(self)
            _queues[self._il_obj] = self
            a = {"type": "queue." + _type_name(type(self))}
            if self.maxsize > 0:
                a["maxsize"] = self.maxsize
            _emit("chan.create", "i", obj=self._il_obj, loc=rec.user_loc(1), a=a)
            dl.register_waitable(self)
    except Exception:
        pass


def _type_name(cls):
    for c in cls.__mro__:
        if c.__module__ == "queue":
            return c.__name__
    return cls.__name__


def _put(self, item, block=True, timeout=None):
    obj = self._il_obj
    if not obj:
        return _oput(self, item, block, timeout)
    if _full:
        pass                  # every put recorded (no budget to count down)
    elif self._il_bud > 0:
        self._il_bud -= 1
    else:
        try:
            exact = self.not_empty._waiters or (block and 0 < self.maxsize <= self._qsize())
        except Exception:
            exact = False
        if not exact:
            # Counted inline (per thread, cumulative): cheaper than a call per operation.
            c = self._il_cnt
            i = _get_ident()
            c[i] = c.get(i, 0) + 1
            return _oput(self, item, block, timeout)
    # Stamped before the put: the item cannot be got before that, so the get's stamp comes later.
    ts = (_mono_ns() - _EPOCH) // 1000
    f = _getframe(1)
    e = _sid_cache.get((id(f.f_code), f.f_lasti))
    sid = e[1] if e is not None and e[0] is f.f_code else _slow_sid(f)
    a = _payload_args(item)
    corr = rec._id_base + next(rec._ids)
    _tls.corr = corr
    try:
        _oput(self, item, block, timeout)
    except BaseException:
        _tls.corr = 0       # Full (or a timeout): nothing was sent
        _stamps.pop(corr, None)
        raise
    _tls.corr = 0           # used once: a _put reached some other way files 0 (no arrow, never a wrong one)
    if _stamps:
        ts = _stamps.pop(corr, ts)    # it waited: sent when the item went in
    try:                              # _record, inlined: this is every put
        if rec._active:
            try:
                tid = _ttls.tid
            except AttributeError:
                tid = _native_tid()
            rec._append((_SEND, "i", ts, tid, obj, corr, sid, 0, a))
            if len(rec._buf) > rec.BUFFER_HIGH:
                rec._backpressure()
    except Exception:
        pass


def _get_full(self, block=True, timeout=None):
    """Full mode only: Queue.get, its receive recorded after the queue's mutex is released. Recording
    under the mutex (in the _get hook) made each get hold it longer; a thread switch that lands there
    leaves the other producers and consumers blocked on the mutex in the kernel (a convoy)."""
    obj = self._il_obj
    if not obj:
        return _oget(self, block, timeout)
    item = _oget(self, block, timeout)
    try:
        if rec._active:
            corr = _tls.rcorr           # (set by the _get hook the get just ran)
            _tls.rcorr = 0              # used once: a hook replaced by the program leaves no stale corr
            ts = (_mono_ns() - _EPOCH) // 1000
            f = _getframe(1)
            e = _sid_cache.get((id(f.f_code), f.f_lasti))
            sid = e[1] if e is not None and e[0] is f.f_code else _slow_sid(f)
            try:
                tid = _ttls.tid
            except AttributeError:
                tid = _native_tid()
            rec._append(rec.pack(_RECV, _PH_I, ts, tid, obj, corr, sid, 0, 0))
            if len(rec._buf) > rec.BUFFER_HIGH:
                rec._backpressure()
    except Exception:
        pass
    return item


# ---- SimpleQueue (a C type: subclassed; the standard library's own stay plain C objects) ------------
_CSimpleQueue = _queue.SimpleQueue


class SimpleQueue(_CSimpleQueue):
    def __new__(cls, *args, **kwargs):
        if cls is SimpleQueue and (not rec._active or rec.is_in_runtime() or rec.called_from_stdlib(1)):
            return _CSimpleQueue()
        self = _CSimpleQueue.__new__(cls)
        return self

    def __init__(self):
        self._il_obj = _new_id()
        self._il_map = {}
        self._il_lock = _thread.allocate_lock()
        _emit("chan.create", "i", obj=self._il_obj, loc=rec.user_loc(1), a={"type": "queue.SimpleQueue"})
        dl.register_waitable(self)

    def put(self, item, block=True, timeout=None):
        obj = self._il_obj
        if rec.budget(obj):
            ts = (_mono_ns() - _EPOCH) // 1000
            sid = mp_util.frame_sid(_getframe(1))
            a = {"preview": _preview(item), "size": _getsizeof(item)}
            corr = rec._id_base + next(rec._ids)
            with self._il_lock:
                _file_by_id(self._il_map, item, corr)
            _record(_SEND, ts, obj, corr, sid, a)
        else:
            rec.count(obj, "queue")
        return _CSimpleQueue.put(self, item, block, timeout)

    def put_nowait(self, item):
        return self.put(item, False)

    def get(self, block=True, timeout=None):
        obj = self._il_obj
        blocking = block and _CSimpleQueue.empty(self)
        ident = _get_ident()
        loc = None
        if blocking:
            loc = rec.user_loc(1)
            _emit("msg.wait", "b", obj=obj, loc=loc, a={"op": "get"})
            dl.wait_begin(ident, self, timeout is None)
        try:
            item = _sliced(_CSimpleQueue.get, queue.Empty, timeout, self, block) if blocking else \
                _CSimpleQueue.get(self, block, timeout)
        finally:
            if blocking:
                dl.wait_end(ident)
                _emit("msg.wait", "e", obj=obj)
        with self._il_lock:
            corr = _unfile_by_id(self._il_map, item)
        if corr or blocking:
            _record(_RECV, (_mono_ns() - _EPOCH) // 1000, obj, corr, mp_util.frame_sid(_getframe(1)), None)
        else:
            rec.count(obj, "queue")
        return item

    def get_nowait(self):
        return self.get(False)


SimpleQueue.__module__ = "queue"


def install():
    global _installed, _oput, _oget, _full
    if _installed:
        return
    _full = rec.mode() == "full"
    Q = queue.Queue
    _orig.update({"__init__": Q.__init__, "put": Q.put, "get": Q.get, "SimpleQueue": queue.SimpleQueue})
    _oput = Q.put
    _oget = Q.get
    Q._il_obj = 0
    Q.__init__ = _init
    Q.put = _put
    if _full:
        Q.get = _get_full
    if queue.SimpleQueue is _CSimpleQueue:
        queue.SimpleQueue = SimpleQueue
    rec.counter_sources.append(_queue_counts)
    _installed = True


def uninstall():
    """Puts the classes back. Queues created meanwhile keep their hooks, which record nothing once the
    recorder stops (and file no corr without the put wrapper)."""
    global _installed
    if not _installed:
        return
    Q = queue.Queue
    Q.__init__ = _orig["__init__"]
    Q.put = _orig["put"]
    Q.get = _orig["get"]
    try:
        del Q._il_obj
    except AttributeError:
        pass
    queue.SimpleQueue = _orig["SimpleQueue"]
    try:
        rec.counter_sources.remove(_queue_counts)
    except ValueError:
        pass
    _installed = False
