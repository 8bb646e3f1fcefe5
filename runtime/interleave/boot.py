"""Starts recording in a traced process: recorder, import hook, exit paths, watchdogs.

Called from _boot/sitecustomize.py before the program's own code runs. Every exit path ends with the
recorder's final flush (summary record): normal exit (atexit, which runs after threading has joined
the non-daemon threads), os._exit (wrapped), SIGTERM (flush without blocking long, then die of the
same signal so the exit status is unchanged). Uncaught exceptions are recorded and then handed to the
original hook, which prints them exactly as Python does.
"""
import os
import sys

from . import recorder as rec

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
    rec.start()
    debug = bool(os.environ.get("INTERLEAVE_DEBUG"))
    _install_exit_paths()
    from . import importhook
    importhook.install(debug=debug)
    _start_watchdogs()
    rec.on_fork_child(_start_watchdogs)


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


def _on_sigterm(signum, frame):
    import _signal
    try:
        # A short lock timeout: the flusher may be mid-send (Pool.terminate SIGTERMs busy workers).
        s = rec._stream
        if s is not None and rec._active:
            try:
                rec.collect_aggregates()
            except Exception:
                pass
            rec._active = False
            s.close(lock_timeout=0.5)
    except BaseException:
        pass
    _signal.signal(signum, _signal.SIG_DFL)
    _os_kill(os.getpid(), signum)


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


def uninstall():
    """Undoes the exit-path hooks (tests and embedding)."""
    global _orig_os_exit, _orig_excepthook
    if _orig_os_exit is not None:
        os._exit = _orig_os_exit
        _orig_os_exit = None
    if _orig_excepthook is not None:
        sys.excepthook = _orig_excepthook
        _orig_excepthook = None
