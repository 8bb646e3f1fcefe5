"""Keeps the runtime's own wakeup descriptor out of the program's sight, and in place.

The recorder sets a signal wakeup fd of its own (boot._install_sigterm_watch): it lets a SIGTERM that
lands just before the main thread blocks still reach the final flush, and it is how the program's
process tells the supervisor which signals it received (so that one sent to the whole process group is
not forwarded a second time). A program may set its own (asyncio's add_signal_handler does). Ours stays
the one the C handler writes to, and the runtime's watcher thread copies every byte to the program's
descriptor, which so receives what it would have received in a plain run (a moment later). What
set_wakeup_fd returns is exactly what it returns in a plain run: the program's previous descriptor, or -1.
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
    ours = _ours()
    old = _orig(fd, warn_on_full_buffer=warn_on_full_buffer)   # raises exactly as the original
    if ours is None or old != ours:
        # Ours is not installed (a program that set a wakeup fd before we could, or none of ours):
        # the program's call went through as it is.
        return old
    try:
        _orig(ours, warn_on_full_buffer=False)
    except Exception:
        return -1
    prev = boot._forward_fd
    boot._forward_fd = -1 if fd is None or fd < 0 else fd
    return prev


def install():
    global _orig
    if _patches:
        return
    _orig = signal.set_wakeup_fd
    set_wakeup_fd.__doc__ = _orig.__doc__
    _patches.set(signal, "set_wakeup_fd", set_wakeup_fd)


def uninstall():
    _patches.restore()
