"""concurrent.futures: ThreadPoolExecutor and ProcessPoolExecutor.

submit (and map, which submits) → pool.submit with a corr; the worker's run of the call → pool.task
with the same corr (one X when it ends, or b/e when it lasts: _wrap_work_item_run, mp_util.traced_task);
the caller getting the value or exception (Future.result/exception, or a done callback) → pool.result.
A ThreadPoolExecutor task is not wrapped at all: its Future carries its pool and corr from birth (two
attributes every Future gets in __init__) and the worker's _WorkItem.run records it. With thousands of
tasks queued, the garbage collector's share of the run grew with the objects each wrapper kept alive.
ThreadPoolExecutor tasks are recorded in-process; ProcessPoolExecutor tasks are linked by
derived_id(pool obj, work id), which both sides know, and wrapped inside the worker process (its call
queue carries the pool obj on its reader Connection, see mp_channels/mp_pool), so the call item
pickled to the worker is unchanged.
"""
import functools
import sys
import _thread
import weakref
from time import monotonic_ns as _mono

from interleave import recorder as rec
from interleave.patches import mp_util
from interleave.patches.mp_util import Patches, derived_id, fn_name, traced_task

_patches = Patches()


class _MapState(_thread._local):
    """Per thread: `method`/`loc` of the Executor.map call that is submitting (it submits from the
    standard library, so its tasks are the map's, at the map's line), and `map`: (method, interned loc)
    of it. Class-level defaults: reading an attribute a thread-local lacks raises inside getattr (about
    0.5 us), and every submit reads `map`."""
    method = None
    loc = None
    map = None
    #: (pool obj, task corr) for the Future a traced submit is making on this thread (see
    #: _wrap_future_init): corr 0 for a task default mode only counts.
    sub = (0, 0)


_tls = _MapState()
_NO_TASK = _MapState.sub
_submit_lock = _thread.allocate_lock()
_get_ident = _thread.get_ident
_EPOCH = rec._EPOCH
_SUBMIT = rec._CODES["pool.submit"]
_RESULT = rec._CODES["pool.result"]
_ttls = mp_util.tls
_native_tid = mp_util.native_tid
_sid_cache = mp_util._sid_cache
# The outcomes' args, shared by every pool.result (never mutated: see mp_util._task_args).
_OK, _FAIL = {"ok": True}, {"ok": False}
_CB_OK, _CB_FAIL = {"ok": True, "callback": True}, {"ok": False, "callback": True}
_FINISHED = "FINISHED"
_DONE = ("CANCELLED", "CANCELLED_AND_NOTIFIED", "FINISHED")
_running = mp_util._running
_task_end = mp_util._task_end
_task_args_of = mp_util.task_args
_TASK = rec._CODES["pool.task"]
_PH_X, _PH_I = rec.PH_X, rec.PH_I


def _task_name(fn):
    # ProcessPoolExecutor.map submits functools.partial(_process_chunk, fn) per chunk.
    try:
        if isinstance(fn, functools.partial) and getattr(fn.func, "__name__", "") == "_process_chunk" and fn.args:
            return fn_name(fn.args[0])
    except Exception:
        pass
    return fn_name(fn)


# ---- executors ------------------------------------------------------------------------------------
_executors = weakref.WeakValueDictionary()    # obj -> executor, for the aggregate counters


def _task_counts():
    out = []
    for ex in list(_executors.values()):
        for ident, c in list(ex.__dict__.get("_il_cnt", {}).items()):
            out.append((ex._il_pool, "task", rec.native_tid(ident), c, 0))
    return out


def _wrap_init(orig, kind):
    def __init__(self, *args, **kwargs):
        loc = rec.user_loc()
        orig(self, *args, **kwargs)
        try:
            if not rec.active() or rec.is_in_runtime():
                return
            obj = rec.new_id()
            self._il_pool = obj
            self._il_bud = rec.BUDGET      # default mode: tasks recorded individually, then counted
            self._il_cnt = {}
            self._il_counted = (obj, 0)    # what the futures of counted tasks carry (see _wrap_future_init)
            _executors[obj] = self
            cq = getattr(self, "_call_queue", None)
            reader = getattr(cq, "_reader", None)
            if reader is not None:
                reader._il_pool = obj      # reaches the worker processes (fork: copied; spawn: pickled)
            rec.emit("pool.create", "i", obj=obj, loc=loc, a={"type": kind, "workers": self._max_workers})
        except Exception:
            pass
    return __init__


#: Default mode: a ThreadPoolExecutor's first tasks are recorded individually (submit, run, result);
#: after its budget (rec.BUDGET) runs out, tasks are counted ('aggregate', what 'task') and only those
#: that run at least TASK_MIN_US are still recorded (as one pool.task X on their worker thread).
TASK_MIN_US = 1000


_FUNCTION = type(_task_name)
_submit_args = {}      # (fn name, method) -> the pool.submit args every such event shares (bounded)


def _fast_task_name(fn):
    """_task_name, with the common case (a plain function) first."""
    if type(fn) is _FUNCTION:
        n = fn.__qualname__     # always a str for a function
        if n:
            return n
    return _task_name(fn)


def _wrap_work_item_run(orig):
    """ThreadPoolExecutor's _WorkItem.run: the task's run on its worker. Its future tells whether the task is
    traced (its pool's obj) and recorded (its corr; 0: default mode only counts it, and records it only if
    it runs at least TASK_MIN_US). One pool.task X when it ends; one that lasts is reported live by the
    flusher (mp_util.report_running_tasks, through mp_util._running) and ends with an end event.
    The stdlib body (the same in 3.9-3.13) runs here with the recording around the call: nothing per task
    is allocated to wrap it (thousands of wrappers alive while tasks are queued made the cyclic GC run
    longer and more often), and the task's end is recorded before its result wakes the caller."""
    def run(self, *args, **kwargs):
        f = self.future
        obj = f._il_pool
        if not obj or args or kwargs or not rec._active:
            return orig(self, *args, **kwargs)
        if not f.set_running_or_notify_cancel():
            return
        corr = f._il_task
        fn = self.fn
        try:
            tid = _ttls.tid
        except AttributeError:
            tid = _native_tid()
        t0 = _mono()
        if corr:
            targs = _task_args_of(_fast_task_name(fn))
            e = [(t0 - _EPOCH) // 1000, tid, obj, corr, targs[0]]
            k = id(e)
            _running[k] = e
        try:
            result = fn(*self.args, **self.kwargs)
        except BaseException as exc:
            try:
                if corr:
                    _task_end(k, e, {"fn": targs[0]["fn"], "ok": False, "error": mp_util.error_text(exc)})
                else:
                    _counted_end(fn, obj, tid, t0)
            except Exception:
                pass
            f.set_exception(exc)
            # Break the reference cycles through the exception's traceback (as the stdlib does).
            self = f = fn = None
        else:
            try:
                if not corr:
                    _counted_end(fn, obj, tid, t0)
                elif _running.pop(k, None) is None:
                    _task_end(k, e, targs[1])        # reported live: ends with an end event
                elif rec._active:                    # the common case: one X
                    rec._append(rec.pack(_TASK, _PH_X, e[0], tid, obj, corr, 0, (_mono() - _EPOCH) // 1000 - e[0],
                                         rec.args_id(targs[1])))
                    if len(rec._buf) > rec.BUFFER_HIGH:
                        rec._backpressure()
            except Exception:
                pass
            f.set_result(result)
    run.__doc__ = orig.__doc__
    return run


def _counted_end(fn, obj, tid, t0):
    """The end of a task default mode counts: recorded only if it ran long enough to matter."""
    dur = (_mono() - t0) // 1000
    if dur >= TASK_MIN_US:
        rec.emit("pool.task", "X", obj=obj, ts=(t0 - _EPOCH) // 1000, dur=dur, tid=tid, a={"fn": _task_name(fn)})


def _wrap_thread_submit(orig):
    def submit(self, fn, /, *args, **kwargs):
        obj = self.__dict__.get("_il_pool")
        if not obj or not rec._active or rec._tls.busy:
            return orig(self, fn, *args, **kwargs)
        if not rec._FULL:
            if self._il_bud > 0:
                self._il_bud -= 1
            else:
                # Counted inline (per submitting thread, cumulative; see _task_counts).
                c = self._il_cnt
                i = _get_ident()
                c[i] = c.get(i, 0) + 1
                _tls.sub = self._il_counted
                try:
                    return orig(self, fn, *args, **kwargs)
                finally:
                    _tls.sub = _NO_TASK
        try:
            ts = (_mono() - _EPOCH) // 1000
            corr = rec._id_base + next(rec._ids)
            name = _fast_task_name(fn)
            m = _tls.map
            if m is None:     # the caller's line; map() submits from the standard library: its own line
                method = "submit"
                f = sys._getframe(1)
                e = _sid_cache.get((id(f.f_code), f.f_lasti))
                sid = e[1] if e is not None and e[0] is f.f_code else mp_util.slow_sid(f)
            else:
                method, sid = m
            a = _submit_args.get((name, method))
            if a is None:
                if len(_submit_args) > 4096:
                    _submit_args.clear()
                a = _submit_args[(name, method)] = {"fn": name, "method": method}
            try:
                tid = _ttls.tid
            except AttributeError:
                tid = _native_tid()
            rec._append(rec.pack(_SUBMIT, _PH_I, ts, tid, obj, corr, sid, 0, rec.args_id(a)))
        except Exception:
            return orig(self, fn, *args, **kwargs)
        # The future carries (obj, corr) from its birth, before a worker can take the task.
        _tls.sub = (obj, corr)
        try:
            return orig(self, fn, *args, **kwargs)
        finally:
            _tls.sub = _NO_TASK
    submit.__doc__ = orig.__doc__
    return submit


def _wrap_process_submit(orig):
    def submit(self, fn, /, *args, **kwargs):
        obj = self.__dict__.get("_il_pool")
        if not obj or not rec.active() or rec.is_in_runtime():
            return orig(self, fn, *args, **kwargs)
        loc = _tls.loc or rec.user_loc()
        ts = rec.now()
        with _submit_lock:         # submit itself is serialised by the executor's lock: same ordering
            wid = self._queue_count
            f = orig(self, fn, *args, **kwargs)
        corr = derived_id(obj, wid)
        rec.emit("pool.submit", "i", obj=obj, corr=corr, loc=loc, ts=ts,
                 a={"fn": _task_name(fn), "method": _tls.method or "submit"})
        try:
            f._il_pool = obj
            f._il_task = corr
        except Exception:
            pass
        return f
    submit.__doc__ = orig.__doc__
    return submit


def _wrap_map(orig):
    def map(self, fn, *iterables, **kwargs):
        if _tls.method or not rec.active():
            return orig(self, fn, *iterables, **kwargs)
        _tls.method = "map"
        _tls.loc = loc = rec.user_loc()
        _tls.map = ("map", (rec._strings.get(loc) or rec._intern(loc)) if loc else 0)
        try:
            return orig(self, fn, *iterables, **kwargs)   # submits everything before returning
        finally:
            _tls.method = None
            _tls.loc = None
            _tls.map = None
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
def _report_result(fut, corr, callback=False):
    """pool.result for a future whose outcome the caller (or its callback) received; once per future
    (the future's _il_task, the task's corr, is cleared)."""
    try:
        fut._il_task = 0
        ok = fut._exception is None and fut._state == _FINISHED
        a = (_CB_OK if ok else _CB_FAIL) if callback else (_OK if ok else _FAIL)
        if rec._active:
            try:
                tid = _ttls.tid
            except AttributeError:
                tid = _native_tid()
            rec._append(rec.pack(_RESULT, _PH_I, (_mono() - _EPOCH) // 1000, tid, fut._il_pool, corr, 0, 0,
                                 rec.args_id(a)))
            if len(rec._buf) > rec.BUFFER_HIGH:
                rec._backpressure()
    except Exception:
        pass


def _wrap_result(orig, op):
    def wrapper(self, timeout=None):
        corr = self._il_task     # the task's corr (0: not a recorded task, or its result is recorded)
        if not corr or not rec._active or rec._tls.busy:
            return orig(self, timeout)
        if self._state == _FINISHED:
            # The common case (the value is there), with _report_result inlined: the outcome is known
            # before the call, and the call cannot block.
            self._il_task = 0
            try:
                if rec._active:
                    try:
                        tid = _ttls.tid
                    except AttributeError:
                        tid = _native_tid()
                    rec._append(rec.pack(_RESULT, _PH_I, (_mono() - _EPOCH) // 1000, tid, self._il_pool, corr, 0, 0,
                                         rec.args_id(_OK if self._exception is None else _FAIL)))
                    if len(rec._buf) > rec.BUFFER_HIGH:
                        rec._backpressure()
            except Exception:
                pass
            return orig(self, timeout)
        if self._state in _DONE:
            try:
                return orig(self, timeout)
            finally:
                _report_result(self, corr)
        rec.emit("pool.wait", "b", obj=self._il_pool, loc=rec.user_loc(), a={"op": op})
        try:
            return orig(self, timeout)
        finally:
            rec.emit("pool.wait", "e", obj=self._il_pool, a={"op": op})
            if self._state in _DONE and self._il_task:
                _report_result(self, corr)
    wrapper.__name__ = orig.__name__
    wrapper.__doc__ = orig.__doc__
    return wrapper


def _wrap_add_done_callback(orig):
    def add_done_callback(self, fn):
        if not self._il_task or not rec.active():
            return orig(self, fn)

        @functools.wraps(fn)
        def callback(f):
            corr = f._il_task
            if corr:
                _report_result(f, corr, callback=True)
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


def _wrap_future_init(orig):
    # A recorded task's future carries its pool's obj and its corr. Set here, in every Future's __init__,
    # they are among the attributes all Futures share (CPython 3.11+ keeps those in the object itself):
    # set only on some futures later, each such future would get a dict of its own, one more object for
    # the garbage collector to count, for as long as the program keeps the future.
    def __init__(self, *args, **kwargs):
        orig(self, *args, **kwargs)
        self._il_pool, self._il_task = _tls.sub
    __init__.__doc__ = orig.__doc__
    return __init__


def _patch_thread(m):
    E = m.ThreadPoolExecutor
    _patches.set(E, "__init__", _wrap_init(E.__dict__["__init__"], "ThreadPoolExecutor"))
    _patches.set(E, "submit", _wrap_thread_submit(E.__dict__["submit"]))
    W = m._WorkItem
    _patches.set(W, "run", _wrap_work_item_run(W.__dict__["run"]))
    _patches.set(E, "shutdown", _wrap_shutdown(E.__dict__["shutdown"]))


def _patch_process(m):
    E = m.ProcessPoolExecutor
    _patches.set(E, "__init__", _wrap_init(E.__dict__["__init__"], "ProcessPoolExecutor"))
    _patches.set(E, "submit", _wrap_process_submit(E.__dict__["submit"]))
    _patches.set(E, "shutdown", _wrap_shutdown(E.__dict__["shutdown"]))
    if "map" in E.__dict__:
        _patches.set(E, "map", _wrap_map(E.__dict__["map"]))
    _patches.set(m, "_process_worker", _wrap_process_worker(m._process_worker))


class _StdlibThreading(object):
    """concurrent.futures._base's `threading`: the module itself for everything but Condition, which
    makes the original class around a C RLock, as the patched class does for the standard library's
    own Conditions. Every Future makes one; through the patched class each first asked whether the
    program or the standard library was creating it (a frame walk: about 0.65 us per Future, 1.0 plain),
    and a Future's Condition is always the standard library's."""

    def __init__(self, module, condition, rlock):
        self._il_module = module

        def Condition(lock=None):
            return condition(rlock() if lock is None else lock)
        self.Condition = Condition

    def __getattr__(self, name):
        return getattr(self._il_module, name)


def _future_conditions_plain(base_module):
    from interleave.patches import threading_ as th
    cond, rlock = th._orig.get("Condition"), th._orig.get("RLock")
    import threading
    if cond is None or rlock is None or base_module.__dict__.get("threading") is not threading:
        return
    _patches.set(base_module, "threading", _StdlibThreading(threading, cond, rlock))


def install():
    if _patches:
        return
    from concurrent.futures import _base
    import concurrent.futures as pkg
    try:
        _future_conditions_plain(_base)
    except Exception:
        pass
    F = _base.Future
    _patches.set(F, "_il_pool", 0)       # for futures made before the patch (see _wrap_future_init)
    _patches.set(F, "_il_task", 0)
    _patches.set(F, "__init__", _wrap_future_init(F.__dict__["__init__"]))
    _patches.set(F, "result", _wrap_result(F.__dict__["result"], "result"))
    _patches.set(F, "exception", _wrap_result(F.__dict__["exception"], "exception"))
    _patches.set(F, "add_done_callback", _wrap_add_done_callback(F.__dict__["add_done_callback"]))
    _patches.set(_base.Executor, "map", _wrap_map(_base.Executor.__dict__["map"]))
    w = _wrap_wait(_base.wait)
    _patches.set(_base, "wait", w)
    if pkg.__dict__.get("wait") is not None:
        _patches.set(pkg, "wait", w)
    rec.counter_sources.append(_task_counts)
    mp_util.when_imported("concurrent.futures.thread", _patch_thread)
    mp_util.when_imported("concurrent.futures.process", _patch_process)


def uninstall():
    mp_util.forget(["concurrent.futures.thread", "concurrent.futures.process"])
    try:
        rec.counter_sources.remove(_task_counts)
    except ValueError:
        pass
    _patches.restore()
