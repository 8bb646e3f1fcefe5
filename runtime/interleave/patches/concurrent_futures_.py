"""concurrent.futures: ThreadPoolExecutor and ProcessPoolExecutor.

submit (and map, which submits) → pool.submit with a corr; the worker's run of the call → pool.task b/e
with the same corr; the caller getting the value or exception (Future.result/exception, or a done
callback) → pool.result. ThreadPoolExecutor tasks are wrapped in-process; ProcessPoolExecutor tasks are
linked by derived_id(pool obj, work id), which both sides know, and wrapped inside the worker process
(its call queue carries the pool obj on its reader Connection, see mp_channels/mp_pool), so the call
item pickled to the worker is unchanged.
"""
import functools
import _thread
from time import monotonic_ns as _mono

from interleave import recorder as rec
from interleave.patches import mp_util
from interleave.patches.mp_util import Patches, derived_id, fn_name, traced_task

_patches = Patches()
_tls = _thread._local()
_submit_lock = _thread.allocate_lock()


def _task_name(fn):
    # ProcessPoolExecutor.map submits functools.partial(_process_chunk, fn) per chunk.
    try:
        if isinstance(fn, functools.partial) and getattr(fn.func, "__name__", "") == "_process_chunk" and fn.args:
            return fn_name(fn.args[0])
    except Exception:
        pass
    return fn_name(fn)


# ---- executors ------------------------------------------------------------------------------------
def _wrap_init(orig, kind):
    def __init__(self, *args, **kwargs):
        loc = rec.user_loc()
        orig(self, *args, **kwargs)
        try:
            if not rec.active() or rec.is_in_runtime():
                return
            obj = rec.new_id()
            self._il_pool = obj
            cq = getattr(self, "_call_queue", None)
            reader = getattr(cq, "_reader", None)
            if reader is not None:
                reader._il_pool = obj      # reaches the worker processes (fork: copied; spawn: pickled)
            rec.emit("pool.create", "i", obj=obj, loc=loc, a={"type": kind, "workers": self._max_workers})
        except Exception:
            pass
    return __init__


#: Default mode: a ThreadPoolExecutor's first tasks are recorded individually (submit, run, result);
#: after rec.budget() runs out, tasks are counted ('aggregate', what 'task') and only those that run
#: at least TASK_MIN_US are still recorded (as one pool.task X on their worker thread).
TASK_MIN_US = 1000


def _counted_call(fn, pool_obj):
    def run(*args, **kwargs):
        t0 = _mono()
        try:
            return fn(*args, **kwargs)
        finally:
            dur = (_mono() - t0) // 1000
            if dur >= TASK_MIN_US:
                rec.emit("pool.task", "X", obj=pool_obj, ts=(t0 - rec._EPOCH) // 1000, dur=dur,
                         a={"fn": _task_name(fn)})
    return run


def _wrap_thread_submit(orig):
    def submit(self, fn, /, *args, **kwargs):
        obj = self.__dict__.get("_il_pool")
        if not obj or not rec.active() or rec.is_in_runtime():
            return orig(self, fn, *args, **kwargs)
        if not rec.budget(obj):
            rec.count(obj, "task")
            return orig(self, _counted_call(fn, obj), *args, **kwargs)
        corr = rec.new_id()
        name = _task_name(fn)
        rec.emit("pool.submit", "i", obj=obj, corr=corr, loc=getattr(_tls, "loc", None) or rec.user_loc(),
                 a={"fn": name, "method": getattr(_tls, "method", None) or "submit"})
        f = orig(self, traced_task(fn, obj, corr, name), *args, **kwargs)
        try:
            f._il_task = (obj, corr)
        except Exception:
            pass
        return f
    submit.__doc__ = orig.__doc__
    return submit


def _wrap_process_submit(orig):
    def submit(self, fn, /, *args, **kwargs):
        obj = self.__dict__.get("_il_pool")
        if not obj or not rec.active() or rec.is_in_runtime():
            return orig(self, fn, *args, **kwargs)
        loc = getattr(_tls, "loc", None) or rec.user_loc()
        ts = rec.now()
        with _submit_lock:         # submit itself is serialised by the executor's lock: same ordering
            wid = self._queue_count
            f = orig(self, fn, *args, **kwargs)
        corr = derived_id(obj, wid)
        rec.emit("pool.submit", "i", obj=obj, corr=corr, loc=loc, ts=ts,
                 a={"fn": _task_name(fn), "method": getattr(_tls, "method", None) or "submit"})
        try:
            f._il_task = (obj, corr)
        except Exception:
            pass
        return f
    submit.__doc__ = orig.__doc__
    return submit


def _wrap_map(orig):
    def map(self, fn, *iterables, **kwargs):
        if getattr(_tls, "method", None) or not rec.active():
            return orig(self, fn, *iterables, **kwargs)
        _tls.method = "map"
        _tls.loc = rec.user_loc()
        try:
            return orig(self, fn, *iterables, **kwargs)   # submits everything before returning
        finally:
            _tls.method = None
            _tls.loc = None
    map.__doc__ = orig.__doc__
    return map


def _wrap_shutdown(orig):
    def shutdown(self, wait=True, **kwargs):
        obj = self.__dict__.get("_il_pool")
        if not obj or not rec.active() or rec.is_in_runtime():
            return orig(self, wait, **kwargs)
        loc = rec.user_loc()
        rec.emit("pool.op", "i", obj=obj, loc=loc, a={"op": "shutdown"})
        if not wait:
            return orig(self, wait, **kwargs)
        rec.emit("pool.wait", "b", obj=obj, loc=loc, a={"op": "shutdown"})
        try:
            return orig(self, wait, **kwargs)
        finally:
            rec.emit("pool.wait", "e", obj=obj, a={"op": "shutdown"})
    shutdown.__doc__ = orig.__doc__
    return shutdown


# ---- the process worker -----------------------------------------------------------------------------
class _TracingCallQueue(object):
    def __init__(self, inner, pool_obj):
        self._il_inner = inner
        self._il_obj = pool_obj

    def get(self, *args, **kwargs):
        item = self._il_inner.get(*args, **kwargs)
        try:
            if item is not None and rec.active():
                item.fn = traced_task(item.fn, self._il_obj, derived_id(self._il_obj, item.work_id),
                                       _task_name(item.fn))
        except Exception:
            pass
        return item

    def __getattr__(self, name):
        return getattr(self._il_inner, name)


def _wrap_process_worker(orig):
    @functools.wraps(orig)      # same __module__/__qualname__: spawn pickles the target by reference
    def _process_worker(call_queue, *args, **kwargs):
        obj = getattr(getattr(call_queue, "_reader", None), "_il_pool", None)
        if obj is None:
            return orig(call_queue, *args, **kwargs)
        return orig(_TracingCallQueue(call_queue, obj), *args, **kwargs)
    return _process_worker


# ---- the caller receiving results ---------------------------------------------------------------------
def _report_result(fut, callback=False):
    task = fut.__dict__.get("_il_task")
    if not task or fut.__dict__.get("_il_reported"):
        return
    fut._il_reported = True
    ok = fut._exception is None and not fut.cancelled()
    a = {"ok": ok}
    if callback:
        a["callback"] = True
    rec.emit("pool.result", "i", obj=task[0], corr=task[1], a=a)


def _wrap_result(orig, op):
    def wrapper(self, timeout=None):
        task = self.__dict__.get("_il_task")
        if not task or not rec.active() or rec.is_in_runtime():
            return orig(self, timeout)
        waiting = not self.done()
        if waiting:
            rec.emit("pool.wait", "b", obj=task[0], loc=rec.user_loc(), a={"op": op})
        try:
            return orig(self, timeout)
        finally:
            if waiting:
                rec.emit("pool.wait", "e", obj=task[0], a={"op": op})
            if self.done():
                _report_result(self)
    wrapper.__name__ = orig.__name__
    wrapper.__doc__ = orig.__doc__
    return wrapper


def _wrap_add_done_callback(orig):
    def add_done_callback(self, fn):
        if not self.__dict__.get("_il_task") or not rec.active():
            return orig(self, fn)

        @functools.wraps(fn)
        def callback(f):
            try:
                _report_result(f, callback=True)
            except Exception:
                pass
            return fn(f)
        return orig(self, callback)
    add_done_callback.__doc__ = orig.__doc__
    return add_done_callback


def _wrap_wait(orig):
    def wait(fs, *args, **kwargs):
        if not rec.active() or rec.is_in_runtime():
            return orig(fs, *args, **kwargs)
        loc = rec.user_loc()
        rec.emit("pool.wait", "b", loc=loc, a={"op": "wait"})
        try:
            return orig(fs, *args, **kwargs)
        finally:
            rec.emit("pool.wait", "e", a={"op": "wait"})
    wait.__doc__ = orig.__doc__
    wait.__name__ = orig.__name__
    return wait


def _patch_thread(m):
    E = m.ThreadPoolExecutor
    _patches.set(E, "__init__", _wrap_init(E.__dict__["__init__"], "ThreadPoolExecutor"))
    _patches.set(E, "submit", _wrap_thread_submit(E.__dict__["submit"]))
    _patches.set(E, "shutdown", _wrap_shutdown(E.__dict__["shutdown"]))


def _patch_process(m):
    E = m.ProcessPoolExecutor
    _patches.set(E, "__init__", _wrap_init(E.__dict__["__init__"], "ProcessPoolExecutor"))
    _patches.set(E, "submit", _wrap_process_submit(E.__dict__["submit"]))
    _patches.set(E, "shutdown", _wrap_shutdown(E.__dict__["shutdown"]))
    if "map" in E.__dict__:
        _patches.set(E, "map", _wrap_map(E.__dict__["map"]))
    _patches.set(m, "_process_worker", _wrap_process_worker(m._process_worker))


def install():
    if _patches:
        return
    from concurrent.futures import _base
    import concurrent.futures as pkg
    F = _base.Future
    _patches.set(F, "result", _wrap_result(F.__dict__["result"], "result"))
    _patches.set(F, "exception", _wrap_result(F.__dict__["exception"], "exception"))
    _patches.set(F, "add_done_callback", _wrap_add_done_callback(F.__dict__["add_done_callback"]))
    _patches.set(_base.Executor, "map", _wrap_map(_base.Executor.__dict__["map"]))
    w = _wrap_wait(_base.wait)
    _patches.set(_base, "wait", w)
    if pkg.__dict__.get("wait") is not None:
        _patches.set(pkg, "wait", w)
    mp_util.when_imported("concurrent.futures.thread", _patch_thread)
    mp_util.when_imported("concurrent.futures.process", _patch_process)


def uninstall():
    mp_util.forget(["concurrent.futures.thread", "concurrent.futures.process"])
    _patches.restore()
