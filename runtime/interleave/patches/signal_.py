"""Keeps the runtime's own wakeup descriptor out of the program's sight.

The recorder sets a signal wakeup fd of its own (boot._install_sigterm_watch: it lets a SIGTERM that
lands just before the main thread blocks still reach the final flush). signal.set_wakeup_fd returns the
previous descriptor, so a program setting its own (asyncio's loop does) would get ours back where a
plain run gets -1. Here the program sees exactly what it would without us: ours reads as -1, and when
the program gives its wakeup fd up again (-1) ours is put back.
"""
import signal

from .. import boot
from .mp_util import Patches

_patches = Patches()
_orig = None


def _ours():
    fds = boot._watch_fds
    return fds[1] if fds else None


def set_wakeup_fd(fd, *, warn_on_full_buffer=True):
    old = _orig(fd, warn_on_full_buffer=warn_on_full_buffer)   # raises exactly as the original
    ours = _ours()
    if ours is None:
        return old
    if fd == -1 or fd is None:
        try:
            _orig(ours, warn_on_full_buffer=False)                # the program gave its own up: ours again
        except Exception:
            pass
    return -1 if old == ours else old


def install():
    global _orig
    if _patches:
        return
    _orig = signal.set_wakeup_fd
    set_wakeup_fd.__doc__ = _orig.__doc__
    _patches.set(signal, "set_wakeup_fd", set_wakeup_fd)


def uninstall():
    _patches.restore()
