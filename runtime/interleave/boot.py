"""Starts recording in a traced process: recorder, import hook, exit paths, watchdogs.

Called from _boot/sitecustomize.py before the program's own code runs. Every exit path ends with the
recorder's final flush (summary record): normal exit (atexit, which runs after threading has joined
the non-daemon threads), os._exit (wrapped), SIGTERM (flush without blocking long, then die of the
same signal so the exit status is unchanged). Uncaught exceptions are recorded and then handed to the
original hook, which prints them exactly as Python does.
"""
import os
import sys
from time import monotonic_ns as _monotonic_ns

from . import protocol as P
from . import recorder as rec
from . import ticker

_orig_os_exit = None
_orig_excepthook = None
_os_kill = os.kill   # bound before patches/os_.py wraps it: our re-raise is not the program's kill()
_booted = False


def _in_subinterpreter():
    """True inside a subinterpreter of an already traced process. Cheap: the main interpreter marks the
    environment with its pid; a subinterpreter (same pid) also finds the main interpreter's threads
    running, while a process that exec()'d itself (same pid too) starts with a single thread."""
    if os.environ.get("INTERLEAVE_BOOTED") != str(os.getpid()):
        return False
    try:
        return len(os.listdir("/proc/self/task")) > 1
    except OSError:
        pass
    for name in ("_interpreters", "_xxsubinterpreters"):
        try:
            m = __import__(name)
        except ImportError:
            continue
        try:
            return m.get_current() != m.get_main()
        except Exception:
            return False
    return False


def boot():
    global _booted
    if _booted:
        return
    _booted = True
    if _in_subinterpreter():
        # A subinterpreter shares the process with the main one, which already records it; starting
        # threads here would also make Py_EndInterpreter fail ("not the last thread").
        return
    try:
        os.environ["INTERLEAVE_BOOTED"] = str(os.getpid())
    except Exception:
        pass
    # Grows the descriptor table to the runtime's high range now, while this process has one thread: once
    # threads exist the kernel waits an RCU grace period (~10 ms) to grow it (see recorder.high_fd).
    try:
        os.close(rec.high_fd(os.open(os.devnull, os.O_RDONLY)))
    except OSError:
        pass
    _take_signal_report_fd()
    rec.start()
    debug = bool(os.environ.get("INTERLEAVE_DEBUG"))
    _install_exit_paths()
    _hide_runtime_threads()
    _install_sigterm_watch()
    from . import importhook
    importhook.install(debug=debug)
    _start_watchdogs()
    rec.on_fork_child(_start_watchdogs)
    rec.on_fork_child(_install_sigterm_watch)


def _start_watchdogs():
    try:
        from . import cpu
        cpu.start()
    except Exception:
        pass
    try:
        from . import deadlock
        deadlock.start()
    except Exception:
        pass


def _at_exit():
    rec.shutdown()


def _os_exit(status):
    try:
        rec.shutdown()
    except BaseException:
        pass
    _orig_os_exit(status)


#: SIGTERMs our handler has started handling, and SIGTERMs the watcher saw arrive (see _watch_sigterm).
_term_handled = 0
_term_seen = 0
_watch_fds = ()
#: The program's own wakeup descriptor (patches/signal_.py): the watcher copies to it what the C
#: handler wrote to ours. -1: the program has none.
_forward_fd = -1
#: How long the watcher lets the main thread take a SIGTERM before interrupting it (seconds).
TERM_NUDGE_AFTER = 0.1


def _install_sigterm_watch():
    """Makes sure a SIGTERM reaches our handler even when it arrives just before the main thread blocks.

    CPython runs Python signal handlers on the main thread between bytecodes; a signal that arrives after
    the main thread's last check and before it enters a blocking call (a pool worker about to wait for its
    next task, Event.wait) only sets a flag, and the wait is never interrupted: the process would hang
    where a plain run, with no handler, dies at once. The C handler also writes the signal number to the
    wakeup fd; a runtime thread reads it and, if our handler has not run shortly after, interrupts the
    main thread with the same signal (still pending, so the handler runs once). Only when SIGTERM is our
    handler and the program has no wakeup fd of its own (a program that sets one replaces ours and
    keeps its own behaviour)."""
    global _watch_fds
    # A fork child inherits its parent's pipe and wakeup fd: replaced here, closed only once the new
    # pipe (other numbers) is the wakeup fd, so the C handler never writes into a reused descriptor.
    inherited = _watch_fds
    _watch_fds = ()
    try:
        import _signal
        if _signal.getsignal(_signal.SIGTERM) is not _on_sigterm:
            if inherited:
                cur = _signal.set_wakeup_fd(-1)
                if cur not in inherited:
                    _signal.set_wakeup_fd(cur)
            _close_all(inherited)
            return
        r, w = os.pipe()
        r, w = rec.high_fd(r), rec.high_fd(w)
        os.set_blocking(w, False)
        old = _signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        if old != -1 and old not in inherited:
            _signal.set_wakeup_fd(old)   # the program's own: it keeps it, we do without
            _close_all((r, w) + inherited)
            return
        _close_all(inherited)
        _watch_fds = (r, w)
        import _thread
        global _main_ident
        _main_ident = _thread.get_ident()
        if _report_fd >= 0:
            # The root program reports signals to the supervisor, which waits REPORT_WAIT for a report
            # before it forwards a copy: a thread of its own reads them, so that a runtime thread busy
            # with a long send to the stream cannot make a signal sent to the process group arrive twice.
            rec.start_runtime_thread(_watch_signals, (r,))
        else:
            ticker.set_wait_fd(r, w, _on_signal_bytes)
    except Exception:
        pass


def _watch_signals(r):
    rec.runtime_thread_init()
    while True:
        try:
            data = os.read(r, 512)
        except InterruptedError:
            continue
        except OSError:
            return
        if not data:
            return
        try:
            _on_signal_bytes(data)
        except Exception:
            pass


#: Write end of the supervisor's signal-report pipe, in the program's root process only (else -1).
_report_fd = -1
_REPORTED_SIGNALS = ()


def _take_signal_report_fd():
    """The supervisor passes the root program a pipe to say which signals it received (see
    supervisor._wait: a signal sent to the whole process group reaches the program and the supervisor
    alike, and must not be forwarded a second time). Moved out of the program's descriptor range at
    once; no other process of the run gets it (not inherited by exec, dropped in fork children)."""
    global _report_fd, _REPORTED_SIGNALS
    v = os.environ.pop(P.ENV_SIGNAL_FD, None)
    if not v:
        return
    try:
        fd = int(v)
        os.fstat(fd)
    except (ValueError, OSError):
        return
    if str(os.getppid()) != os.environ.get(P.ENV_SUPERVISOR_PID):
        _close_all((fd,))     # a descendant that inherited it: only the root program reports
        return
    try:
        import _signal
        _REPORTED_SIGNALS = tuple(getattr(_signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"))
        fd = rec.high_fd(fd)
        os.set_inheritable(fd, False)
        os.set_blocking(fd, False)
        _report_fd = fd
        rec.on_fork_child(_drop_signal_report_fd)
    except Exception:
        _close_all((fd,))


def _drop_signal_report_fd():
    global _report_fd
    fd, _report_fd = _report_fd, -1
    if fd >= 0:
        _close_all((fd,))


def _report_signals(data):
    """Tells the supervisor which signals this process received, and when: one 9-byte record each, the
    signal number and CLOCK_MONOTONIC in ns (the same clock in every process; records are shorter than
    PIPE_BUF, so they never interleave)."""
    fd = _report_fd
    if fd < 0:
        return
    now = _monotonic_ns().to_bytes(8, "little")
    got = b"".join(bytes((b,)) + now for b in data if b in _REPORTED_SIGNALS)
    if got:
        try:
            os.write(fd, got)
        except OSError:
            pass


def _close_all(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


_main_ident = None
_nudge_until = 0


def _on_signal_bytes(data):
    """What the C signal handler wrote to our wakeup pipe (one byte per signal), read as soon as it is
    written: by the runtime thread (ticker.py), or in the root program by _watch_signals."""
    global _term_seen, _nudge_until
    # Reported before the program's own descriptor hears of it: by the time the program reacts (and
    # perhaps exits), the supervisor can already read that it got the signal.
    _report_signals(data)
    fwd = _forward_fd
    if fwd >= 0:
        try:
            os.write(fwd, data)    # non-blocking, as set_wakeup_fd demands; a full buffer drops it
        except OSError:
            pass
    import _signal
    n = data.count(bytes((_signal.SIGTERM,)))
    if n:
        _term_seen += n
        # The main thread normally runs the handler at once; the nudge job checks that it did.
        _nudge_until = _monotonic_ns() + int(TERM_NUDGE_AFTER * 1e9)
        ticker.every("sigterm-nudge", 0.01, _nudge_term, first=0.01)


def _nudge_term():
    """Interrupts the main thread with SIGTERM if our handler has not run TERM_NUDGE_AFTER after it
    arrived (the main thread is blocked in a call that only a signal to it interrupts)."""
    if _term_handled >= _term_seen:
        return -1
    if _monotonic_ns() < _nudge_until:
        return None
    try:
        import _signal
        _signal.pthread_kill(_main_ident, _signal.SIGTERM)   # EINTR for the blocked main thread
    except Exception:
        pass
    return -1


def _on_sigterm(signum, frame):
    global _term_handled
    _term_handled += 1
    import _signal
    if rec.flushing_here():
        # This thread is in the middle of a flush (the handler runs between two of its bytecodes):
        # flushing again would deadlock on the flush lock or cut a line in half, and dying now would
        # lose the batch. The flush re-sends the signal when it is over; we act then.
        rec.defer_signal(signum)
        return
    try:
        # Waits (bounded) for a flush in progress on another thread — the flusher mid-send, or a
        # worker's os._exit path — then sends the summary; a no-op when the final flush already ran.
        rec.shutdown()
    except BaseException:
        pass
    _signal.signal(signum, _signal.SIG_DFL)
    _os_kill(os.getpid(), signum)
    try:
        # Die of it even where the signal is blocked (a pool worker past its last task blocks SIGTERM).
        _signal.pthread_sigmask(_signal.SIG_UNBLOCK, {signum})
    except Exception:
        pass


def _excepthook(tp, value, tb):
    try:
        record_exception(tp, value, tb)
    except BaseException:
        pass
    return _orig_excepthook(tp, value, tb)


def record_exception(tp, value, tb, tid=None):
    """Emits an 'exception' event for an exception that escaped a thread or the program."""
    if tp is None or issubclass(tp, SystemExit):
        return
    stack = []
    t = tb
    while t is not None:
        f = t.tb_frame
        stack.append("%s:%d in %s" % (f.f_code.co_filename, t.tb_lineno, f.f_code.co_name))
        t = t.tb_next
    try:
        message = str(value)
    except Exception:
        message = "<unprintable>"
    loc = None
    for s in reversed(stack):
        path = s.rsplit(" in ", 1)[0]
        if rec._classify(path.rsplit(":", 1)[0]) == rec._USER:
            loc = path
            break
    rec.emit("exception", "i", loc=loc, tid=tid,
             a={"type": tp.__name__, "message": message[:500], "stack": stack[-30:]})


def _install_exit_paths():
    global _orig_os_exit, _orig_excepthook
    import atexit
    atexit.register(_at_exit)
    if _orig_os_exit is None:
        _orig_os_exit = os._exit
        os._exit = _os_exit
    if _orig_excepthook is None:
        _orig_excepthook = sys.excepthook
        sys.excepthook = _excepthook
    try:
        import _signal
        if _signal.getsignal(_signal.SIGTERM) == _signal.SIG_DFL:
            _signal.signal(_signal.SIGTERM, _on_sigterm)
    except Exception:
        pass


_orig_current = {}


def _hide_runtime_threads():
    """sys._current_frames() (and 3.12's sys._current_exceptions()) without the runtime's own threads.
    They are raw threads, so threading.enumerate() never lists them, but these list every thread: a
    program (or test_threading) that checks that a fork child has one thread, or dumps every thread's
    stack, must see what a plain run shows."""
    for name in ("_current_frames", "_current_exceptions"):
        orig = getattr(sys, name, None)
        if orig is None or name in _orig_current:
            continue
        _orig_current[name] = orig

        def without_ours(orig=orig, name=name):
            d = orig()
            codes = rec.runtime_thread_codes
            for ident, f in list(d.items()):
                if name == "_current_exceptions":
                    f = _current_frame_of(ident)
                while f is not None and f.f_back is not None:
                    f = f.f_back
                if f is not None and f.f_code in codes:
                    del d[ident]
            return d
        without_ours.__name__ = name
        without_ours.__doc__ = orig.__doc__
        setattr(sys, name, without_ours)


def _current_frame_of(ident):
    return _orig_current["_current_frames"]().get(ident)


def uninstall():
    """Undoes the exit-path hooks (tests and embedding)."""
    global _orig_os_exit, _orig_excepthook
    for name, orig in list(_orig_current.items()):
        setattr(sys, name, orig)
    _orig_current.clear()
    if _orig_os_exit is not None:
        os._exit = _orig_os_exit
        _orig_os_exit = None
    if _orig_excepthook is not None:
        sys.excepthook = _orig_excepthook
        _orig_excepthook = None
