"""The runtime's one background thread in each traced process.

Everything the runtime does in the background runs as a job of this single thread: flushing the
recorder's buffer to the stream, sampling CPU, the deadlock watchdog, and reading the signal wakeup
pipe (SIGTERM nudges, forwarding to the program's own wakeup fd). There used to be a thread for each;
only the root program keeps a second one, which reports signals to the supervisor (boot.py). Every
runtime thread costs each fork child a clone and a GIL hand-off before the program's code runs on
(a traced fork+_exit took 6 ms with four threads against 1.4 ms plain), and every thread that wakes
on its own timer takes the GIL from the program once more.

A job is registered by name with every(); its function is called on this thread with no arguments
and returns when to run next: None for its period, a number of seconds, or a negative number to stop
(in this process). Jobs are module state, so a fork child has its parent's jobs; the components reset
their own state in their at-fork hooks and start() runs them on a new thread in the child. A job that
must run sooner than planned (a deadlock candidate) calls soon().

The thread waits on the signal wakeup pipe when boot gives it one (set_wait_fd: poll(2), so a signal
is handled at once), else on a lock. wake() interrupts either wait: a zero byte into the pipe (no
signal has number 0) or a lock release.
"""
import os
import _thread
from time import monotonic_ns as _mono

from . import recorder as rec


class _Job(object):
    __slots__ = ("fn", "period", "due")

    def __init__(self, fn, period, due):
        self.fn = fn
        self.period = period
        self.due = due


_jobs = {}                    # name -> _Job; mutated by other threads only by whole-entry replacement
_started_pid = None           # the process whose ticker thread is running
_wake_lock = _thread.allocate_lock()
_wake_lock.acquire()
_wait_fd = -1                 # read end of boot's signal wakeup pipe, or -1
_wake_fd = -1                 # its write end (non-blocking)
_on_data = None               # boot's handler for what the C signal handler wrote (zero bytes removed)
SLACK_NS = 2000000            # see _run
_planned = 0                  # when the thread plans to look at its jobs next (monotonic ns; 0: now)


def every(name, period, fn, first=0.0):
    """Runs fn() on the runtime thread `first` seconds from now, then every `period` seconds (or as fn
    returns). Replaces a job of the same name. Starts the thread if this process has none yet."""
    due = _mono() + int(first * 1e9)
    _jobs[name] = _Job(fn, int(period * 1e9), due)
    if _started_pid != os.getpid():
        start()
    elif due < _planned:
        wake()     # only when the thread would sleep past it: each wake-up takes the GIL from the program


def cancel(name):
    _jobs.pop(name, None)


def soon(name, delay):
    """Runs the job `name` within `delay` seconds (if it was due later). Any thread may call this."""
    j = _jobs.get(name)
    if j is None:
        return
    due = _mono() + int(delay * 1e9)
    if due < j.due:
        j.due = due
        if due < _planned:
            wake()


def set_wait_fd(r, w, on_data):
    """From now on the thread waits on descriptor r (boot's signal wakeup pipe) and passes what it reads
    to on_data(bytes); -1 to go back to waiting on a lock."""
    global _wait_fd, _wake_fd, _on_data
    _on_data = on_data
    _wait_fd, _wake_fd = r, w
    wake()


def wake():
    """Makes the thread look at its jobs now (their due times changed)."""
    try:
        _wake_lock.release()
    except RuntimeError:
        pass       # already released: the thread will see it
    fd = _wake_fd
    if fd >= 0:
        try:
            os.write(fd, b"\0")
        except OSError:
            pass   # the pipe is full: the thread is already due to wake


def start():
    """Starts this process's runtime thread (once per process; a fork child starts its own)."""
    global _started_pid
    pid = os.getpid()
    if _started_pid == pid:
        return
    _started_pid = pid
    try:
        rec.start_runtime_thread(_run, ())
    except Exception:
        _started_pid = None


def _after_fork_child():
    """A fork child has no runtime thread and none of its parent's jobs: each component registers its
    own again from its at-fork hook (the recorder's runs after this one: at-fork hooks run in the order
    they were registered, and this module is imported before the recorder registers its own). The
    parent's wakeup pipe is not the child's either (boot gives the child a new one)."""
    global _started_pid, _wake_lock, _wait_fd, _wake_fd, _on_data, _planned
    _jobs.clear()
    _planned = 0
    _started_pid = None
    _wake_lock = _thread.allocate_lock()
    _wake_lock.acquire()
    _wait_fd = _wake_fd = -1
    _on_data = None


def _before_fork():
    """Loads `select` (what a child's thread waits with, see _wait) in the parent, once: a fork child
    inherits it instead of importing it itself (a shared library: ~0.5 ms of every child's start)."""
    try:
        import select  # noqa: F401
    except Exception:
        pass


try:
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_child)
except Exception:
    pass


def _wait(timeout_ns, state):
    """Waits up to timeout_ns for a wake-up or a signal byte. state: [poll object or None, its fd]."""
    fd = _wait_fd
    if fd < 0:
        _wake_lock.acquire(True, max(timeout_ns, 0) / 1e9)
        return
    if state[1] != fd:
        import select      # here, not at start-up: 0.5 ms the program's main thread need not pay
        p = select.poll()
        p.register(fd, select.POLLIN)
        state[0], state[1] = p, fd
    try:
        ready = state[0].poll(max((timeout_ns + 999999) // 1000000, 0))   # rounded up: never a spin
    except (OSError, InterruptedError):
        return
    if not ready:
        return
    try:
        data = os.read(fd, 512)
    except BlockingIOError:
        return
    except OSError:
        state[1] = -1
        _clear_wait_fd(fd)
        return
    if not data:
        _clear_wait_fd(fd)
        return
    data = data.replace(b"\0", b"")
    if data and _on_data is not None:
        try:
            _on_data(data)
        except Exception:
            pass


def _clear_wait_fd(fd):
    global _wait_fd, _wake_fd
    if _wait_fd == fd:
        _wait_fd = _wake_fd = -1


def _run():
    global _planned
    rec.runtime_thread_init()
    me = os.getpid()
    state = [None, -1]
    while _started_pid == me:
        now = _mono()
        nxt = now + 500000000
        for name, j in list(_jobs.items()):
            # A job due within SLACK_NS runs now, with the others: one wake-up instead of two (each costs
            # the process a context switch and a GIL hand-off).
            if j.due <= now + SLACK_NS:
                try:
                    rec._tls.busy = True
                    r = j.fn()
                except Exception:
                    r = None
                t = _mono()
                if r is None:
                    j.due = t + j.period
                elif r < 0:
                    if _jobs.get(name) is j:
                        del _jobs[name]
                    continue
                else:
                    j.due = t + int(r * 1e9)
            if j.due < nxt:
                nxt = j.due
        _planned = nxt
        # A job registered (or moved by soon()) while the jobs ran did not wake us: found here.
        for j in list(_jobs.values()):
            if j.due < nxt:
                nxt = j.due
        _wait(nxt - _mono(), state)
        _planned = 0
