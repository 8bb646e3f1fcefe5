"""Instruments _thread.start_new_thread: raw threads get spawn -> run arrows like threading.Thread.

threading.Thread.start uses the function it bound at import time, so threading's own threads are not
seen twice; the runtime's own threads use the original too.
"""
import _thread
from time import thread_time_ns as _thread_time_ns

from .. import recorder as rec
from ..cpu import thread_ended as _cpu_thread_ended

_orig_start = None


def start_new_thread(function, args, kwargs=None):
    # threading imported after this patch binds our function as its _start_new_thread: Thread.start
    # (standard library) is recorded by the threading patch, not here.
    if not rec._active or rec.is_in_runtime() or rec.called_from_stdlib(1):
        return _orig_start(function, args) if kwargs is None else _orig_start(function, args, kwargs)
    corr = rec.new_id()
    name = getattr(function, "__qualname__", None) or getattr(function, "__name__", None) or "function"
    rec.emit("thread.spawn", "i", corr=corr, loc=rec.user_loc(1), a={"name": name, "target": name})
    kw = kwargs if kwargs is not None else {}

    def run(*a, **k):
        rec.native_of[_thread.get_ident()] = _thread.get_native_id()     # a program thread (cpu.py)
        rec.emit("thread.run", "b", corr=corr, a={"name": name, "daemon": True, "target": name, "kind": "raw"})
        err = None
        try:
            return function(*a, **k)
        except SystemExit:
            raise
        except BaseException as e:
            err = "%s: %s" % (type(e).__name__, e)
            raise
        finally:
            rec.emit("thread.run", "e", a={"error": err} if err else None)
            _cpu_thread_ended(rec.native_id(), _thread_time_ns())
    return _orig_start(run, args, kw)


def install():
    global _orig_start
    if _orig_start is None:
        _orig_start = _thread.start_new_thread
        _thread.start_new_thread = start_new_thread
        if hasattr(_thread, "start_new"):
            _thread.start_new = start_new_thread


def uninstall():
    global _orig_start
    if _orig_start is not None:
        _thread.start_new_thread = _orig_start
        if hasattr(_thread, "start_new"):
            _thread.start_new = _orig_start
        _orig_start = None
