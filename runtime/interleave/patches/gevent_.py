"""gevent / greenlet: each greenlet on its own lane (greenlet.run b/e) and every switch between them.

Uses greenlet.settrace (per thread: installed in the thread that imports gevent, chaining any trace
function already there). The trace callback only appends events: it takes no locks, so it keeps
working after gevent.monkey.patch_all() (the recorder's own buffer, clock and ids use C primitives).
A greenlet's name is read when it first runs, so names assigned right after spawn() are seen.
"""
from interleave import recorder as rec
from interleave.patches.mp_util import Patches

_patches = Patches()
_greenlet = None
_prev_trace = None
_installed_trace = None


def _obj_of(g):
    obj = getattr(g, "_il_obj", None)
    if obj is None:
        obj = rec.new_id()
        try:
            g._il_obj = obj
        except Exception:
            pass
    return obj


def _name_of(g):
    try:
        n = getattr(g, "name", None)
        if isinstance(n, str) and n:
            return n
    except Exception:
        pass
    if getattr(g, "parent", 0) is None:
        return "main greenlet"
    if type(g).__name__ == "Hub":
        return "Hub"
    run = getattr(g, "_run", None) or getattr(g, "run", None)
    return getattr(run, "__qualname__", None) or type(g).__name__


def _ended(g):
    """greenlet.run e for a greenlet that just finished (control is leaving it for good)."""
    if not getattr(g, "_il_started", False) or getattr(g, "_il_ended", False):
        return
    g._il_ended = True
    a = {"ok": True}
    exc = None
    try:
        exc = getattr(g, "exception", None)     # gevent.Greenlet keeps what killed it
    except Exception:
        pass
    if exc is not None and not callable(exc):
        a = {"ok": False, "error": ("%s: %s" % (type(exc).__name__, exc))[:200]}
    rec.emit("greenlet.run", "e", obj=_obj_of(g), a=a)


def _trace(event, args):
    try:
        if event in ("switch", "throw") and rec._active:
            origin, target = args
            if getattr(origin, "dead", False):
                _ended(origin)
            tobj = _obj_of(target)
            if not getattr(target, "_il_started", False) and getattr(target, "parent", None) is not None:
                target._il_started = True
                a = {"name": _name_of(target)}
                parent = getattr(target, "_il_parent", None)
                if parent:
                    a["parent"] = parent
                rec.emit("greenlet.run", "b", obj=tobj, a=a)
            rec.emit("greenlet.switch", "i", obj=tobj, a={"from": _obj_of(origin)})
    except Exception:
        pass
    prev = _prev_trace
    if prev is not None:
        return prev(event, args)
    return None


def _wrap_spawn(orig):
    """gevent.spawn / spawn_later: remember which greenlet spawned the new one (its lane's parent).
    gevent's compiled Greenlet class cannot be patched, its module-level helpers can."""
    def spawn(*args, **kwargs):
        g = orig(*args, **kwargs)
        try:
            g._il_parent = _obj_of(_greenlet.getcurrent())
        except Exception:
            pass
        return g
    spawn.__doc__ = getattr(orig, "__doc__", None)
    spawn.__name__ = getattr(orig, "__name__", "spawn")
    return spawn


def install():
    global _greenlet, _prev_trace, _installed_trace
    if _installed_trace is not None:
        return
    import greenlet
    _greenlet = greenlet
    try:
        _prev_trace = greenlet.gettrace()
    except Exception:
        _prev_trace = None
    greenlet.settrace(_trace)
    _installed_trace = _trace
    try:
        import gevent
        for name in ("spawn", "spawn_later"):
            if hasattr(gevent, name):
                _patches.set(gevent, name, _wrap_spawn(getattr(gevent, name)))
    except Exception:
        pass


def uninstall():
    global _installed_trace
    if _installed_trace is None:
        return
    try:
        if _greenlet.gettrace() is _installed_trace:
            _greenlet.settrace(_prev_trace)
    except Exception:
        pass
    _installed_trace = None
    _patches.restore()
