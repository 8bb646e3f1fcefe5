"""os: fork (both sides), wait*/waitpid (join + the child's exit as seen by its parent), kill (signal).

The child side of fork is the recorder's at-fork hook: it emits `process.start` with the corr we set
through rec.spawn_context. Calls made by the standard library itself (multiprocessing's fork and
waitpid, subprocess's waitpid) are not recorded here: the multiprocessing and subprocess patches
record them at the level the user sees (Process.start/join, Popen.wait).
"""
import os

from interleave import recorder as rec
from interleave.patches.common import Patches, before_fork, exit_args_from_status, signal_name

_patches = Patches()
_WNOHANG = getattr(os, "WNOHANG", 1)


def _fork_wrapper(orig):
    def fork():
        if rec.active():
            before_fork()
        if not rec.active() or rec.is_in_runtime() or rec.called_from_stdlib():
            return orig()
        corr = rec.new_id()
        loc = rec.user_loc()
        with rec.spawn_context(corr, export=False):     # a fork child reads the corr, no exec follows
            pid = orig()
        if pid:
            rec.emit("process.spawn", "i", corr=corr, loc=loc, a={"child": pid, "method": "fork"})
        return pid
    fork.__wrapped__ = orig
    fork.__name__ = orig.__name__
    fork.__doc__ = orig.__doc__
    return fork


def _record_reaped(child, status, t0, loc, blocking):
    """A child was reaped: its exit (from the parent's view) and the end of the join, linked by corr."""
    a = exit_args_from_status(status)
    if a is None:
        if blocking:
            rec.emit("process.join", "e", a={"child": child})
        return
    corr = rec.new_id()
    rec.emit("process.exit", "i", corr=corr, pid=child, tid=child, a=a)
    if blocking:
        rec.emit("process.join", "e", corr=corr, loc=loc, a={"child": child})
    else:
        rec.emit("process.join", "X", corr=corr, loc=loc, ts=t0, dur=max(0, rec.now() - t0), a={"child": child})


def _wait_wrapper(orig, pid_of, status_of, blocking_of):
    """Wraps os.waitpid/wait/wait3/wait4: pid_of(args, result) says which child, status_of its status."""
    def wrapper(*args, **kwargs):
        if not rec.active() or rec.is_in_runtime() or rec.called_from_stdlib():
            return orig(*args, **kwargs)
        blocking = blocking_of(args, kwargs)
        loc = rec.user_loc()
        t0 = rec.now()
        if blocking:
            want = args[0] if args and orig.__name__ == "waitpid" else -1
            rec.emit("process.join", "b", loc=loc, a={"child": want})
        try:
            result = orig(*args, **kwargs)
        except BaseException:
            if blocking:
                rec.emit("process.join", "e", a={"child": -1})
            raise
        try:
            child = pid_of(result)
            if child:
                _record_reaped(child, status_of(result), t0, loc, blocking)
            elif blocking:
                rec.emit("process.join", "e", a={"child": -1})
        except Exception:
            pass
        return result
    wrapper.__wrapped__ = orig
    wrapper.__name__ = orig.__name__
    wrapper.__doc__ = orig.__doc__
    return wrapper


def _options_blocking(index):
    def blocking_of(args, kwargs):
        opts = args[index] if len(args) > index else kwargs.get("options", 0)
        try:
            return not (opts & _WNOHANG)
        except Exception:
            return True
    return blocking_of


def _kill_wrapper(orig):
    def kill(pid, sig):
        if sig and rec.active() and not rec.is_in_runtime() and not rec.called_from_stdlib():
            rec.emit("process.signal", "i", loc=rec.user_loc(), a={"child": pid, "signal": signal_name(sig)})
        return orig(pid, sig)
    kill.__wrapped__ = orig
    kill.__name__ = orig.__name__
    kill.__doc__ = orig.__doc__
    return kill


def install():
    if _patches:
        return
    if hasattr(os, "fork"):
        _patches.set(os, "fork", _fork_wrapper(os.fork))
    if hasattr(os, "waitpid"):
        _patches.set(os, "waitpid", _wait_wrapper(os.waitpid, lambda r: r[0], lambda r: r[1], _options_blocking(1)))
    if hasattr(os, "wait"):
        _patches.set(os, "wait", _wait_wrapper(os.wait, lambda r: r[0], lambda r: r[1], lambda a, k: True))
    if hasattr(os, "wait3"):
        _patches.set(os, "wait3", _wait_wrapper(os.wait3, lambda r: r[0], lambda r: r[1], _options_blocking(0)))
    if hasattr(os, "wait4"):
        _patches.set(os, "wait4", _wait_wrapper(os.wait4, lambda r: r[0], lambda r: r[1], _options_blocking(1)))
    if hasattr(os, "kill"):
        _patches.set(os, "kill", _kill_wrapper(os.kill))


def uninstall():
    _patches.restore()
