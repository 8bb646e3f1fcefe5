"""multiprocessing.Pool and ThreadPool (multiprocessing.dummy.Pool).

Each task or chunk is linked from its submission to the worker that ran it to its result by one
corr that both processes compute: derived_id(pool obj, job, index) — the pool's job ids and chunk
indices already travel with every task, so nothing is added to what the pool sends. Workers learn the
pool's obj from their inqueue: a registry keyed by the queue (threads and fork children share it)
or an attribute on the queue's reader Connection (pickled to spawn/forkserver children, see mp_channels).
The worker runs each task's function through a local closure that records pool.task; the task tuple
the pool sent is unchanged.
"""
import functools
import _thread

from interleave import recorder as rec
from interleave.patches.mp_util import derived_id, fn_name, traced_task

_tls = _thread._local()
_registry = {}        # id(inqueue) -> pool obj (ThreadPool's queue.SimpleQueue cannot hold attributes)
_mod = None           # the multiprocessing.pool module


def _pool_obj_of_inqueue(inqueue):
    obj = _registry.get(id(inqueue))
    if obj is None:
        obj = getattr(getattr(inqueue, "_reader", None), "_il_pool", None)
    return obj


def _task_fn_name(func, args):
    try:
        if _mod is not None and func in (_mod.mapstar, _mod.starmapstar) and args:
            return fn_name(args[0][0])
    except Exception:
        pass
    return fn_name(func)


def _traced_task(pool_obj, job, i, func, args):
    return traced_task(func, pool_obj, derived_id(pool_obj, job, i), _task_fn_name(func, args))


class _TracingInQueue(object):
    """What the worker function sees as its inqueue: the real one, with each task's function wrapped."""

    def __init__(self, inner, pool_obj):
        self._il_inner = inner
        self._il_obj = pool_obj

    def get(self, *args, **kwargs):
        task = self._il_inner.get(*args, **kwargs)
        try:
            if task is not None and rec.active():
                job, i, func, fargs, kwds = task
                if func is not getattr(_mod, "_helper_reraises_exception", None):
                    return (job, i, _traced_task(self._il_obj, job, i, func, fargs), fargs, kwds)
        except Exception:
            pass
        return task

    def __getattr__(self, name):
        return getattr(self._il_inner, name)


def _wrap_worker(orig):
    @functools.wraps(orig)       # keeps __module__/__qualname__: spawn pickles the target by reference
    def worker(inqueue, outqueue, *args, **kwargs):
        pool_obj = None
        try:
            pool_obj = _pool_obj_of_inqueue(inqueue)
        except Exception:
            pass
        if pool_obj is None:
            return orig(inqueue, outqueue, *args, **kwargs)
        result = orig(_TracingInQueue(inqueue, pool_obj), outqueue, *args, **kwargs)
        if hasattr(inqueue, "_reader"):
            _protect_exit_flush()
        return result
    return worker


def _protect_exit_flush():
    """A process-pool worker whose loop ended is about to exit (os._exit, which flushes our events).
    Pool.terminate() SIGTERMs workers at just that moment; the recorder's SIGTERM handler would then
    kill the process in the middle of its final flush and lose everything it recorded. No user code
    runs after this point, so holding SIGTERM back until the process is gone changes nothing but that
    (the worker exits with the code it was going to exit with anyway)."""
    try:
        import signal
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
    except Exception:
        pass


def _wrap_setup_queues(orig):
    def _setup_queues(self):
        orig(self)
        try:
            obj = self.__dict__.get("_il_pool") or rec.new_id()
            self._il_pool = obj
            _registry[id(self._inqueue)] = obj
            reader = getattr(self._inqueue, "_reader", None)
            if reader is not None:
                reader._il_pool = obj
        except Exception:
            pass
    return _setup_queues


def _wrap_init(orig):
    def __init__(self, *args, **kwargs):
        loc = rec.user_loc()
        orig(self, *args, **kwargs)
        try:
            obj = self.__dict__.get("_il_pool")
            if obj:
                kind = "ThreadPool" if isinstance(self, _mod.ThreadPool) else "mp.Pool"
                rec.emit("pool.create", "i", obj=obj, loc=loc, a={"type": kind, "workers": self._processes})
        except Exception:
            pass
    return __init__


# ---- the caller's side ----------------------------------------------------------------------------
def _public(orig, method, blocking):
    """Public Pool methods: remember which one the caller used (for pool.submit) and, for the blocking
    ones, record the caller's wait."""
    def wrapper(self, *args, **kwargs):
        if getattr(_tls, "method", None) is not None or not rec.active() or rec.is_in_runtime():
            return orig(self, *args, **kwargs)
        _tls.method = method
        _tls.loc = rec.user_loc()
        obj = self.__dict__.get("_il_pool", 0)
        try:
            if blocking:
                rec.emit("pool.wait", "b", obj=obj, loc=_tls.loc, a={"op": method})
                _tls.waiting = True
            try:
                return orig(self, *args, **kwargs)
            finally:
                if blocking:
                    _tls.waiting = False
                    rec.emit("pool.wait", "e", obj=obj, a={"op": method})
        finally:
            _tls.method = None
            _tls.loc = None
    wrapper.__name__ = orig.__name__
    wrapper.__doc__ = orig.__doc__
    return wrapper


def _submit_args(func, args, method):
    return {"fn": _task_fn_name(func, args), "method": method}


def _wrap_task_generation(orig):
    def _guarded_task_generation(self, result_job, func, iterable):
        gen = orig(self, result_job, func, iterable)
        obj = self.__dict__.get("_il_pool")
        if not obj or not rec.active():
            return gen
        method = getattr(_tls, "method", None) or "map"
        loc = getattr(_tls, "loc", None)
        tid = _thread.get_native_id()

        def submitting():
            for task in gen:
                try:
                    job, i, f, a, _ = task
                    rec.emit("pool.submit", "i", obj=obj, corr=derived_id(obj, job, i), loc=loc, tid=tid,
                             a=_submit_args(f, a, method))
                except Exception:
                    pass
                yield task
        return submitting()
    return _guarded_task_generation


def _wrap_apply_async(orig):
    def apply_async(self, func, args=(), kwds={}, *rest, **kwargs):
        obj = self.__dict__.get("_il_pool")
        if not obj or not rec.active() or rec.is_in_runtime():
            return orig(self, func, args, kwds, *rest, **kwargs)
        method = getattr(_tls, "method", None) or "apply_async"
        loc = getattr(_tls, "loc", None) or rec.user_loc()
        ts = rec.now()
        result = orig(self, func, args, kwds, *rest, **kwargs)
        try:
            rec.emit("pool.submit", "i", obj=obj, corr=derived_id(obj, result._job, 0), loc=loc, ts=ts,
                     a={"fn": fn_name(func), "method": method})
        except Exception:
            pass
        return result
    apply_async.__doc__ = orig.__doc__
    return apply_async


def _wrap_set(orig, kind):
    """The result of task/chunk i reached the caller's process (the pool's result handler)."""
    def _set(self, i, obj):
        try:
            pool_obj = getattr(getattr(self, "_pool", None), "_il_pool", None)
        except Exception:
            pool_obj = None
        if not pool_obj or not rec.active():
            return orig(self, i, obj)
        try:
            ok = bool(obj[0])
            if kind == "apply":
                cb = bool(self._callback and ok or self._error_callback and not ok)
            elif kind == "map":
                last = self._number_left == 1
                cb = bool(last and (self._callback if (ok and self._success) else self._error_callback))
            else:
                cb = False
            a = {"ok": ok, "callback": cb} if cb else {"ok": ok}
            rec.emit("pool.result", "i", obj=pool_obj, corr=derived_id(pool_obj, self._job, i), a=a)
        except Exception:
            pass
        return orig(self, i, obj)
    return _set


def _wrap_result_wait(orig, op):
    """AsyncResult.get/wait and IMapIterator.next: a pool.wait when the result is not there yet."""
    def wrapper(self, *args, **kwargs):
        if getattr(_tls, "waiting", False) or not rec.active() or rec.is_in_runtime():
            return orig(self, *args, **kwargs)
        try:
            if op == "next":
                ready = bool(self._items) or self._index == self._length
            else:
                ready = self._event.is_set()
        except Exception:
            ready = True
        if ready:
            return orig(self, *args, **kwargs)
        pool = getattr(self, "_pool", None)
        obj = getattr(pool, "_il_pool", 0) if pool is not None else 0
        rec.emit("pool.wait", "b", obj=obj, loc=rec.user_loc(), a={"op": op})
        _tls.waiting = True
        try:
            return orig(self, *args, **kwargs)
        finally:
            _tls.waiting = False
            rec.emit("pool.wait", "e", obj=obj, a={"op": op})
    wrapper.__name__ = orig.__name__
    return wrapper


def _wrap_op(orig, op, blocking=False):
    def wrapper(self, *args, **kwargs):
        obj = self.__dict__.get("_il_pool")
        if not obj or not rec.active() or rec.is_in_runtime():
            return orig(self, *args, **kwargs)
        loc = rec.user_loc()
        rec.emit("pool.op", "i", obj=obj, loc=loc, a={"op": op})
        if not blocking:
            return orig(self, *args, **kwargs)
        rec.emit("pool.wait", "b", obj=obj, loc=loc, a={"op": op})
        try:
            return orig(self, *args, **kwargs)
        finally:
            rec.emit("pool.wait", "e", obj=obj, a={"op": op})
    wrapper.__name__ = orig.__name__
    wrapper.__doc__ = orig.__doc__
    return wrapper


_PUBLIC = (("map", True), ("starmap", True), ("apply", True), ("map_async", False), ("starmap_async", False),
           ("imap", False), ("imap_unordered", False), ("apply_async", False))


def patch_pool(m, patches):
    global _mod
    _mod = m
    P = m.Pool
    patches.set(m, "worker", _wrap_worker(m.worker))
    patches.set(P, "__init__", _wrap_init(P.__dict__["__init__"]))
    patches.set(P, "_setup_queues", _wrap_setup_queues(P.__dict__["_setup_queues"]))
    tp = getattr(m, "ThreadPool", None)
    if tp is not None and "_setup_queues" in tp.__dict__:
        patches.set(tp, "_setup_queues", _wrap_setup_queues(tp.__dict__["_setup_queues"]))
    patches.set(P, "_guarded_task_generation", _wrap_task_generation(P.__dict__["_guarded_task_generation"]))
    for name, blocking in _PUBLIC:
        orig = P.__dict__.get(name)
        if orig is None:
            continue
        if name == "apply_async":
            orig = _wrap_apply_async(orig)
        patches.set(P, name, _public(orig, name, blocking))
    patches.set(P, "close", _wrap_op(P.__dict__["close"], "close"))
    patches.set(P, "terminate", _wrap_op(P.__dict__["terminate"], "terminate"))
    patches.set(P, "join", _wrap_op(P.__dict__["join"], "join", blocking=True))
    patches.set(m.ApplyResult, "_set", _wrap_set(m.ApplyResult.__dict__["_set"], "apply"))
    patches.set(m.MapResult, "_set", _wrap_set(m.MapResult.__dict__["_set"], "map"))
    patches.set(m.IMapIterator, "_set", _wrap_set(m.IMapIterator.__dict__["_set"], "imap"))
    patches.set(m.IMapUnorderedIterator, "_set", _wrap_set(m.IMapUnorderedIterator.__dict__["_set"], "imap"))
    patches.set(m.ApplyResult, "get", _wrap_result_wait(m.ApplyResult.__dict__["get"], "get"))
    patches.set(m.ApplyResult, "wait", _wrap_result_wait(m.ApplyResult.__dict__["wait"], "wait"))
    patches.set(m.IMapIterator, "next", _wrap_result_wait(m.IMapIterator.__dict__["next"], "next"))
    patches.set(m.IMapIterator, "__next__", m.IMapIterator.__dict__["next"])
