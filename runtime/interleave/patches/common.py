"""What every patch module uses: undoable patches, and the texts of signals and process exits.

Kept apart from mp_util (the multiprocessing helpers, the run's board) so that the patches installed
at every start-up (os_) do not load those: about a millisecond of each traced process's start.
"""
from interleave import recorder as rec

_SIGNAMES = {}


class Patches(object):
    """Remembers every attribute a patch replaced so uninstall() can put the originals back exactly."""

    def __init__(self):
        self._saved = []   # (owner, name, had_own_attr, original)

    def set(self, owner, name, new):
        d = getattr(owner, "__dict__", {})
        own = name in d
        orig = d[name] if own else getattr(owner, name, None)
        self._saved.append((owner, name, own, orig))
        setattr(owner, name, new)
        return orig

    def set_item(self, d, key, value):
        """Replaces one entry of a dict (e.g. a reducer table); restore() puts the old one back."""
        self._saved.append((d, key, key in d, d.get(key), ))
        d[key] = value

    def restore(self):
        while self._saved:
            owner, name, own, orig = self._saved.pop()
            try:
                if isinstance(owner, dict):
                    if own:
                        owner[name] = orig
                    else:
                        owner.pop(name, None)
                elif own:
                    setattr(owner, name, orig)
                else:
                    delattr(owner, name)
            except Exception:
                pass

    def __bool__(self):
        return bool(self._saved)


def before_fork():
    """Call on the forking thread right before a fork. A stream that encodes with json imports it
    lazily; a child forked while another thread of the parent is still executing that import (json is
    already in sys.modules then, but initialising, its module lock held) deadlocks on its first flush —
    seen with ProcessPoolExecutor and Pool workers. `import json` here waits for such an import to
    finish, so the child never inherits a held module lock. Our own supervisor's stream sends marshal
    frames and never imports json (recorder.stream_needs_json): then this costs nothing, rather than
    the 3 ms of importing json in the program's first fork."""
    try:
        if rec.stream_needs_json():
            import json  # noqa: F401
    except Exception:
        pass


def signal_name(signum):
    try:
        n = _SIGNAMES.get(signum)
        if n is None:
            import signal
            n = _SIGNAMES[signum] = signal.Signals(signum).name
        return n
    except Exception:
        return "SIG%d" % signum


def exit_args_from_returncode(code, **extra):
    """process.exit `a` for a Popen/multiprocessing returncode (negative = killed by that signal)."""
    if code is None:
        a = {"code": None}
    elif code < 0:
        a = {"code": code, "signal": signal_name(-code), "killed": True}
    else:
        a = {"code": code}
    a.update(extra)
    return a


def exit_args_from_status(status):
    """process.exit `a` for a raw os.wait*() status."""
    import os
    try:
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            return {"code": -sig, "signal": signal_name(sig), "killed": True}
        if os.WIFEXITED(status):
            return {"code": os.WEXITSTATUS(status)}
    except Exception:
        pass
    return None   # stopped/continued: not an exit


