"""Instruments queue.Queue / LifoQueue / PriorityQueue / SimpleQueue: put -> get arrows, blocked waits.

Queue classes are patched in place (isinstance and type identity stay as they were); each instance
decides at creation whether it is the program's (recorded) or the standard library's own (a flag that
costs one attribute read). The item's correlation id is assigned in `_put` and taken back in `_get`,
which both run under the queue's mutex, so send/recv timestamps are in the real order; a map from
id(item) to pending correlation ids works for FIFO, LIFO and priority order alike.

Default mode: a put or get that blocks, or that a blocked peer is waiting for, is recorded exactly;
other operations are recorded while the per-queue budget lasts, then counted.
"""
import sys
import queue
import _thread
import _queue
from collections import deque

from .. import recorder as rec
from .. import deadlock as dl
from .threading_ import forever_in_main, SLICE

_emit = rec.emit
_new_id = rec.new_id
_now = rec.now
_get_ident = _thread.get_ident
_getsizeof = sys.getsizeof
_tls = _thread._local()
_orig = {}
_installed = False


import weakref
_queues = weakref.WeakValueDictionary()   # obj -> user queue, for the aggregate counters


def _budget0():
    return 1 << 62 if rec.mode() == "full" else rec.BUDGET


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


def _init(self, *args, **kwargs):
    _orig["__init__"](self, *args, **kwargs)
    try:
        if rec._active and not rec.is_in_runtime() and not rec.called_from_stdlib(1):
            self._il_map = {}
            self._il_obj = _new_id()
            self._il_bud = _budget0()
            self._il_cnt = {}
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
        return _orig["put"](self, item, block, timeout)
    try:
        blocking = block and 0 < self.maxsize <= self._qsize()
        recorded = blocking or bool(self.not_empty._waiters) or self._il_bud > 0
    except Exception:
        blocking = recorded = False
    if not recorded:
        # Counted inline (per thread, cumulative): cheaper than a call per operation.
        c = self._il_cnt
        i = _get_ident()
        c[i] = c.get(i, 0) + 1
        return _orig["put"](self, item, block, timeout)
    if not blocking:
        self._il_bud -= 1
    _tls.pending = (rec.user_loc(1), {"preview": rec.preview(item), "size": _getsizeof(item)})
    if not blocking:
        try:
            return _orig["put"](self, item, block, timeout)
        finally:
            _tls.pending = None
    ident = _get_ident()
    _emit("msg.wait", "b", obj=obj, loc=_tls.pending[0], a={"op": "put"})
    dl.wait_begin(ident, self, timeout is None)
    try:
        return _sliced(_orig["put"], queue.Full, timeout, self, item, True)
    finally:
        dl.wait_end(ident)
        _emit("msg.wait", "e", obj=obj)
        _tls.pending = None


def _get(self, block=True, timeout=None):
    obj = self._il_obj
    if not obj:
        return _orig["get"](self, block, timeout)
    try:
        blocking = block and not self._qsize()
        recorded = blocking or bool(self.not_full._waiters) or self._il_bud > 0
    except Exception:
        blocking = recorded = False
    if not recorded:
        c = self._il_cnt
        i = _get_ident()
        c[i] = c.get(i, 0) + 1
        return _orig["get"](self, block, timeout)
    if not blocking:
        self._il_bud -= 1
    loc = rec.user_loc(1)
    _tls.got = None
    _tls.want = True
    ident = _get_ident()
    if blocking:
        _emit("msg.wait", "b", obj=obj, loc=loc, a={"op": "get"})
        dl.wait_begin(ident, self, timeout is None)
    try:
        item = _sliced(_orig["get"], queue.Empty, timeout, self, block) if blocking else _orig["get"](self, block, timeout)
    finally:
        _tls.want = False
        if blocking:
            dl.wait_end(ident)
            _emit("msg.wait", "e", obj=obj)
    got = _tls.got
    if got is not None:
        _tls.got = None
        _emit("msg.recv", "i", obj=obj, corr=got[0], loc=loc, ts=got[1])
    return item


def _make_put_hook(orig):
    def _put_hook(self, item):
        orig(self, item)
        if self._il_obj:
            p = getattr(_tls, "pending", None)
            if p is not None:
                _tls.pending = None
                corr = _new_id()
                m = self._il_map
                d = m.get(id(item))
                if d is None:
                    d = m[id(item)] = deque()
                d.append(corr)
                _emit("msg.send", "i", obj=self._il_obj, corr=corr, loc=p[0], a=p[1])
    return _put_hook


def _make_get_hook(orig):
    def _get_hook(self):
        item = orig(self)
        if self._il_obj:
            m = self._il_map
            d = m.get(id(item))
            corr = 0
            if d:
                corr = d.popleft()
                if not d:
                    del m[id(item)]
            if getattr(_tls, "want", False):
                _tls.got = (corr, _now())
        return item
    return _get_hook


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
            corr = _new_id()
            with self._il_lock:
                d = self._il_map.get(id(item))
                if d is None:
                    d = self._il_map[id(item)] = deque()
                d.append(corr)
            _emit("msg.send", "i", obj=obj, corr=corr, loc=rec.user_loc(1),
                  a={"preview": rec.preview(item), "size": _getsizeof(item)})
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
            d = self._il_map.get(id(item))
            corr = 0
            if d:
                corr = d.popleft()
                if not d:
                    del self._il_map[id(item)]
        if corr or blocking:
            _emit("msg.recv", "i", obj=obj, corr=corr, loc=loc or rec.user_loc(1))
        else:
            rec.count(obj, "queue")
        return item

    def get_nowait(self):
        return self.get(False)


SimpleQueue.__module__ = "queue"


def install():
    global _installed
    if _installed:
        return
    Q = queue.Queue
    _orig.update({"__init__": Q.__init__, "put": Q.put, "get": Q.get, "SimpleQueue": queue.SimpleQueue})
    Q._il_obj = 0
    Q.__init__ = _init
    Q.put = _put
    Q.get = _get
    for cls in (queue.Queue, queue.LifoQueue, queue.PriorityQueue):
        _orig[(cls, "_put")] = cls.__dict__["_put"]
        _orig[(cls, "_get")] = cls.__dict__["_get"]
        cls._put = _make_put_hook(cls.__dict__["_put"])
        cls._get = _make_get_hook(cls.__dict__["_get"])
    if queue.SimpleQueue is _CSimpleQueue:
        queue.SimpleQueue = SimpleQueue
    rec.counter_sources.append(_queue_counts)
    _installed = True


def uninstall():
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
    for cls in (queue.Queue, queue.LifoQueue, queue.PriorityQueue):
        cls._put = _orig[(cls, "_put")]
        cls._get = _orig[(cls, "_get")]
    queue.SimpleQueue = _orig["SimpleQueue"]
    try:
        rec.counter_sources.remove(_queue_counts)
    except ValueError:
        pass
    _installed = False
