"""multiprocessing: processes (start/join/terminate/kill, exit as seen by the parent, never-joined
children), and — lazily, when the program imports them — channels (mp_channels), pools (mp_pool),
locks, Value/Array and Manager proxies (mp_shared).

Start methods: fork children report `process.start` from the recorder's at-fork hook, spawn children
from the boot sitecustomize (the environment is inherited); both carry the corr we set with
rec.spawn_context around Process.start. A forkserver child is forked by the server process, which
cannot know our corr, so the child reports a second `process.start` with it from Process._bootstrap
(the Process object, pickled to the child, carries the corr).
"""
import os
import sys
from _thread import get_ident as _get_ident

from interleave import deadlock as dl
from interleave import recorder as rec
from interleave.patches import mp_util
from interleave.patches.mp_util import Patches, exit_args_from_returncode, fn_name

_patches = Patches()
_started = {}          # child pid -> weakref to the Process (for never-joined children at exit)
#: (name, pid, returncode) of the last children seen ending with an error or a signal (the deadlock
#: watchdog names a pool worker that died: its task's result never comes).
ended_abnormally = []
_atexit_registered = False
_TRANSPARENT = ("multiprocessing/context.py", "multiprocessing/process.py")


def _method_of(proc):
    popen = getattr(proc, "_popen", None)
    m = getattr(popen, "method", None)
    if m:
        return m
    return getattr(proc, "_start_method", None) or "fork"


def _start_method_of(proc):
    try:
        m = getattr(type(proc), "_start_method", None)
        if m:
            return m
        from multiprocessing import context
        dc = context._default_context
        # allow_none: asking must not fix the default context (a later set_start_method would fail).
        return dc.get_start_method(allow_none=True) or dc._default_context.get_start_method()
    except Exception:
        return None


def _report_exit(proc, zombie=False):
    """process.exit for a child as its parent saw it (once per Process); returns its corr."""
    corr = proc.__dict__.get("_il_exit_corr")
    if corr:
        return corr
    popen = getattr(proc, "_popen", None)
    code = getattr(popen, "returncode", None) if popen is not None else None
    if code is None and not zombie:
        return 0
    corr = rec.new_id()
    proc._il_exit_corr = corr
    if code:
        if len(ended_abnormally) >= 64:
            del ended_abnormally[0]
        ended_abnormally.append((proc.name, proc.pid, code))
    a = exit_args_from_returncode(code)
    if zombie:
        a["zombie"] = True
    rec.emit("process.exit", "i", corr=corr, pid=proc.pid, tid=proc.pid, a=a)
    _started.pop(proc.pid, None)
    return corr


def _wrap_start(orig):
    def start(self):
        if not rec.active() or rec.is_in_runtime():
            return orig(self)
        corr = rec.new_id()
        loc = rec.user_loc()
        try:
            self._il_corr = corr          # pickled with the Process for spawn/forkserver children
            self._il_ppid = os.getpid()
        except Exception:
            pass
        target = getattr(self, "_target", None)
        # Children the standard library starts for itself (pool workers, a manager's server) are joined
        # by it: only the program's own children can be never-joined zombies.
        user_started = mp_util.created_by_user(_TRANSPARENT)
        method = _start_method_of(self)
        if method == "forkserver":
            # Not around the start: the server process itself may be started here and must not take
            # the child's corr; the child reports it from _bootstrap.
            orig(self)
        else:
            # A fork child reads the context from the recorder; a spawn child (a new interpreter) from
            # the environment, set for it only.
            with rec.spawn_context(corr, self.name, self.daemon, export=method != "fork"):
                orig(self)
        try:
            a = {"child": self.pid, "method": _method_of(self), "name": self.name, "daemon": bool(self.daemon)}
            if target is not None:
                a["target"] = fn_name(target)
            rec.emit("process.spawn", "i", corr=corr, loc=loc, a=a)
            # Running until its own watchdog says otherwise: a child still starting is not taken for
            # one that has ended by a run-wide deadlock check (deadlock._check_run_blocked).
            from time import monotonic_ns
            mp_util.post_started_child(self.pid, monotonic_ns())
            if user_started:
                _track(self)
        except Exception:
            pass
    return start


def _track(proc):
    global _atexit_registered
    import weakref
    _started[proc.pid] = weakref.ref(proc)
    if not _atexit_registered:
        _atexit_registered = True
        import atexit
        atexit.register(_report_unjoined)
        # Once more just before the final flush (after multiprocessing's exit handler): a child that
        # ended between our handler and multiprocessing's is reaped there by active_children() without
        # a join, so neither saw it end.
        rec.live_reporters.append(_report_unjoined_at_exit)


def _report_unjoined_at_exit(final):
    if final:
        _report_unjoined()


def _report_unjoined():
    """At exit: children the program never joined. Those multiprocessing already reaped (is_alive,
    active_children) are reported now; the ones still running are joined by multiprocessing's own exit
    handler right after this one, and our join wrapper marks those as zombies."""
    try:
        for pid, ref in list(_started.items()):
            proc = ref()
            if proc is None or "_il_exit_corr" in proc.__dict__:
                continue
            popen = getattr(proc, "_popen", None)
            if popen is not None and getattr(popen, "returncode", None) is not None:
                _report_exit(proc, zombie=True)
    except Exception:
        pass


def _joined_by_exit_handler():
    import sys
    f = sys._getframe(2)
    while f is not None:
        if f.f_code.co_name == "_exit_function" and f.f_code.co_filename.endswith("util.py"):
            return True
        f = f.f_back
    return False


def _wrap_join(orig):
    def join(self, timeout=None):
        if not rec.active() or rec.is_in_runtime() or getattr(self, "_popen", None) is None \
                or "_il_corr" not in self.__dict__:
            return orig(self, timeout)
        child = self.pid
        loc = rec.user_loc()
        rec.emit("process.join", "b", loc=loc, a={"child": child})
        ident = _get_ident()
        dl.remote_wait_begin(ident, "Process.join", pid=child)
        try:
            orig(self, timeout)
        except BaseException:
            dl.wait_end(ident)
            rec.emit("process.join", "e", a={"child": child})
            raise
        dl.wait_end(ident)
        corr = 0
        try:
            if self._popen.returncode is not None:
                corr = _report_exit(self, zombie=_joined_by_exit_handler())
        except Exception:
            pass
        rec.emit("process.join", "e", corr=corr, a={"child": child})
    return join


def _wrap_signal(orig, sig):
    def send(self):
        try:
            if rec.active() and not rec.is_in_runtime() and getattr(self, "_popen", None) is not None \
                    and self._popen.returncode is None:
                rec.emit("process.signal", "i", loc=rec.user_loc(), a={"child": self.pid, "signal": sig})
        except Exception:
            pass
        return orig(self)
    return send


def _wrap_bootstrap(orig):
    def _bootstrap(self, *args, **kwargs):
        try:
            corr = self.__dict__.get("_il_corr")
            # Only the forkserver child lacks the corr in its own process.start (see module doc).
            if corr and rec.active() and _is_forkserver_child(self):
                rec.emit("process.start", "i", corr=corr, a={
                    "ppid": self.__dict__.get("_il_ppid") or os.getppid(), "name": self.name,
                    "method": "forkserver", "daemon": bool(self.daemon)})
        except Exception:
            pass
        return orig(self, *args, **kwargs)
    return _bootstrap


def _is_forkserver_child(proc):
    """Forked by the forkserver rather than by the process that called start(): our OS parent is not
    the Process's parent (fork and spawn children are direct children). The server runs
    `python -c 'from multiprocessing.forkserver import main; ...'`, which its children inherit."""
    import sys
    ppid = proc.__dict__.get("_il_ppid")
    if ppid and ppid != os.getppid():
        return True
    code = rec._mp_code(rec.orig_argv())
    return bool(code) and code.startswith("from multiprocessing.forkserver")


def install():
    if _patches:
        return
    from multiprocessing import process as mp_process
    bp = mp_process.BaseProcess
    _patches.set(bp, "start", _wrap_start(bp.start))
    _patches.set(bp, "join", _wrap_join(bp.join))
    _patches.set(bp, "terminate", _wrap_signal(bp.terminate, "SIGTERM"))
    if hasattr(bp, "kill"):
        _patches.set(bp, "kill", _wrap_signal(bp.kill, "SIGKILL"))
    _patches.set(bp, "_bootstrap", _wrap_bootstrap(bp._bootstrap))
    for sub, helper, fn in _SUBMODULES:
        mp_util.when_imported("multiprocessing." + sub, _lazy(helper, fn))


# submodule -> (helper module, patch function): each patched when the program imports it.
_SUBMODULES = (
    ("connection", "mp_channels", "patch_connection"),
    ("queues", "mp_channels", "patch_queues"),
    ("pool", "mp_pool", "patch_pool"),
    ("synchronize", "mp_shared", "patch_synchronize"),
    ("sharedctypes", "mp_shared", "patch_sharedctypes"),
    ("managers", "mp_shared", "patch_managers"),
)


def _lazy(helper, fn):
    def run(module):
        import importlib
        h = importlib.import_module("interleave.patches." + helper)
        getattr(h, fn)(module, _patches)
    return run


def uninstall():
    mp_util.forget(["multiprocessing." + sub for sub, _, _ in _SUBMODULES])
    _patches.restore()
    try:
        rec.live_reporters.remove(_report_unjoined_at_exit)
    except ValueError:
        pass
