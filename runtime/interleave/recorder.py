"""The per-process event recorder: the API every patch uses (see the runtime API contract).

Hot path (`emit`) appends one tuple to a list; a background flusher (stream.py) encodes batches onto the
wire. Only C modules are imported here so that start-up stays cheap: `_thread` instead of `threading`
(importing threading here would also defeat lazy patching), `time.monotonic_ns` for the shared clock.
"""
import os
import sys
import _thread
import itertools
from time import monotonic_ns as _mono_ns

from . import protocol as _p

_CODES = _p.CODES
_get_native_id = _thread.get_native_id
_get_ident = _thread.get_ident
#: The original, bound before patches/thread_.py can replace it: the runtime's own threads are not the program's.
start_new_thread = _thread.start_new_thread

# ---- run configuration (from the supervisor's environment) ---------------------------------------
_env = os.environ
_EPOCH = int(_env.get(_p.ENV_EPOCH) or 0) or _mono_ns()
_MODE = _env.get(_p.ENV_MODE) or "default"
if _MODE not in ("default", "full"):
    _MODE = "default"
_FULL = _MODE == "full"
#: Individually recorded uncontended operations per object before default mode starts counting.
BUDGET = 64
#: Emitters flush synchronously above this many buffered events (back-pressure instead of loss).
BUFFER_HIGH = 50000

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))

# ---- state (reset in fork children) ----------------------------------------------------------------
_buf = []          # tuples (code, ph, ts, tid, obj, corr, loc, dur, a, pid)
_active = False
_pid = os.getpid()
_id_base = _pid * (1 << 22)
_ids = itertools.count(1)
_budgets = {}
_buckets = {}      # (obj, what, ident) -> [count, hold_us, reported_count, reported_hold]
_strings = {}      # loc -> interned id (per connection, so reset in fork children)
_sids = itertools.count(1)
#: (id, text) of every interned string in order; the flusher sends the ones it has not sent yet.
string_list = []
_tls = _thread._local()
_spawn_corr = 0    # set by spawn_context; read by the fork child hook
_stream = None     # stream.Stream once started


def now():
    """Microseconds since the run's epoch (CLOCK_MONOTONIC is system-wide, so all processes agree)."""
    return (_mono_ns() - _EPOCH) // 1000


def emit(k, ph, obj=0, corr=0, loc=None, a=None, dur=0, ts=None, tid=None, pid=None):
    """Records one event. Never raises; cheap (one tuple appended to a list).

    The tuple is already the wire form (protocol/wire.ts WireEvent: trailing absent fields left out,
    `loc` replaced by its interned id), so the flusher hands the list to the C JSON encoder as is."""
    try:
        if not _active:
            return
        if ts is None:
            ts = (_mono_ns() - _EPOCH) // 1000
        if tid is None:
            tid = _get_native_id()
        if loc:
            sid = _strings.get(loc)
            if sid is None:
                sid = _intern(loc)
        else:
            sid = 0
        if pid:
            t = (_CODES[k], ph, ts, tid, obj, corr, sid, dur, a, pid)
        elif a is not None:
            t = (_CODES[k], ph, ts, tid, obj, corr, sid, dur, a)
        elif dur:
            t = (_CODES[k], ph, ts, tid, obj, corr, sid, dur)
        elif sid:
            t = (_CODES[k], ph, ts, tid, obj, corr, sid)
        elif corr:
            t = (_CODES[k], ph, ts, tid, obj, corr)
        elif obj:
            t = (_CODES[k], ph, ts, tid, obj)
        else:
            t = (_CODES[k], ph, ts, tid)
        buf = _buf
        buf.append(t)
        if len(buf) > BUFFER_HIGH and _stream is not None and not getattr(_tls, "busy", False):
            _stream.flush(sync=True)
    except Exception:
        pass


def _intern(loc):
    # Two threads interning the same new string get two ids; both are sent, both decode the same.
    sid = next(_sids)
    _strings[loc] = sid
    string_list.append((sid, loc))
    return sid


def new_id():
    """A run-unique id for obj/corr: pid * 2**22 + n (fork children use their own pid)."""
    return _id_base + next(_ids)


# ---- source locations ---------------------------------------------------------------------------
_USER, _STDLIB, _RUNTIME = 0, 1, 2
_file_class = {}


def _stdlib_dirs():
    dirs = set()
    for mod in (os, _p):
        pass
    base = os.path.dirname(os.path.abspath(os.__file__))
    dirs.add(base)
    for attr in ("base_prefix", "prefix", "exec_prefix", "base_exec_prefix"):
        pre = getattr(sys, attr, None)
        if pre:
            dirs.add(os.path.join(pre, "lib", os.path.basename(base)))
    return tuple(d + os.sep for d in dirs)


_STDLIB_DIRS = _stdlib_dirs()


def _stdlib_prefix(path):
    for d in _STDLIB_DIRS:
        if path.startswith(d):
            return d[:-1]
    return ""
_PKG_PREFIX = _PKG_DIR + os.sep


def _classify(filename):
    c = _file_class.get(filename)
    if c is not None:
        return c
    if filename.startswith("<"):
        # <frozen importlib._bootstrap>, <frozen runpy> are the interpreter's machinery; <string>/<stdin> are user code.
        c = _STDLIB if filename.startswith("<frozen") else _USER
    else:
        path = os.path.abspath(filename)
        if path.startswith(_PKG_PREFIX):
            c = _RUNTIME
        elif os.sep + "gevent" + os.sep in path or os.sep + "greenlet" + os.sep in path:
            c = _STDLIB
        elif path.startswith(_STDLIB_DIRS) and "-packages" + os.sep not in path:
            # CPython's own test suite (Lib/test) is a program like any other: its primitives are traced,
            # which is what lets `python -m test test_threading` check our wrappers.
            c = _USER if (os.sep + "test" + os.sep) in path[len(_stdlib_prefix(path)):] else _STDLIB
        else:
            c = _USER
    _file_class[filename] = c
    return c


_code_class = {}   # code object -> class (a code object's file never changes)
_loc_cache = {}    # (code, line) -> "path:line" (the same string object each time: cheap to intern)


def user_loc(skip=0):
    """'path:line' of the nearest frame outside this package, the standard library and gevent."""
    try:
        f = sys._getframe(1 + skip)
        while f is not None:
            code = f.f_code
            c = _code_class.get(code)
            if c is None:
                c = _code_class[code] = _classify(code.co_filename)
            if c == _USER:
                key = (code, f.f_lineno)
                loc = _loc_cache.get(key)
                if loc is None:
                    fn = code.co_filename
                    if not fn.startswith(("/", "<")):
                        fn = os.path.abspath(fn)
                    if len(_loc_cache) > 100000:
                        _loc_cache.clear()
                    loc = _loc_cache[key] = "%s:%d" % (fn, key[1])
                return loc
            f = f.f_back
    except Exception:
        pass
    return None


def called_from_stdlib(skip=0):
    """True when the first frame outside this package (the creator) is standard-library code."""
    try:
        f = sys._getframe(1 + skip)
        while f is not None:
            c = _classify(f.f_code.co_filename)
            if c != _RUNTIME:
                return c == _STDLIB
            f = f.f_back
    except Exception:
        pass
    return False


def preview(value, limit=80):
    """A size-capped repr() that never raises (payloads are data: consumers show them as text)."""
    try:
        _tls.busy = True
        try:
            s = repr(value)
        finally:
            _tls.busy = False
    except Exception:
        try:
            s = "<%s>" % type(value).__name__
        except Exception:
            s = "<?>"
    if len(s) > limit:
        s = s[: limit - 1] + "\u2026"
    return s


def mode():
    return _MODE


def active():
    return _active


def budget(obj):
    """Default mode: True while obj may still record uncontended operations individually."""
    if _FULL:
        return True
    n = _budgets.get(obj, BUDGET)
    if n <= 0:
        return False
    _budgets[obj] = n - 1
    return True


def count(obj, what, hold_us=0):
    """Counts an uncontended operation into obj's bucket (flushed as 'aggregate' X events)."""
    try:
        key = (obj, what, _get_ident())
        b = _buckets.get(key)
        if b is None:
            b = _buckets[key] = [0, 0, 0, 0]
        b[0] += 1
        b[1] += hold_us
    except Exception:
        pass


#: python thread ident -> native id, filled by the threading patch as threads start.
native_of = {}


def native_tid(ident):
    n = native_of.get(ident)
    if n is None:
        if ident == _get_ident():
            n = native_of[ident] = _get_native_id()
        else:
            t = sys.modules.get("threading")
            th = t._active.get(ident) if t is not None else None
            n = getattr(th, "native_id", None) or ident
    return n


#: Extra sources of aggregate counts (e.g. the instrumented Lock's inline counters): callables that
#: return [(obj, what, tid, cumulative_count, cumulative_hold_us)].
counter_sources = []
_reported = {}
_last_agg_ts = 0
#: Native ids of the runtime's own threads (flusher, sampler, watchdog): not the program's lanes.
runtime_tids = set()


def collect_aggregates():
    """Emits 'aggregate' X events for counts added since the last call. Called by the flusher."""
    global _last_agg_ts
    t = now()
    start = _last_agg_ts
    _last_agg_ts = t
    rows = []
    for key, b in list(_buckets.items()):
        c, h = b[0], b[1]
        if c != b[2]:
            rows.append((key[0], key[1], native_tid(key[2]), c - b[2], h - b[3]))
            b[2], b[3] = c, h
    for src in list(counter_sources):
        try:
            for obj, what, tid, c, h in src():
                key = (obj, what, tid)
                rc, rh = _reported.get(key, (0, 0))
                if c != rc:
                    rows.append((obj, what, tid, c - rc, h - rh))
                    _reported[key] = (c, h)
        except Exception:
            pass
    for obj, what, tid, c, h in rows:
        a = {"what": what, "count": c}
        if h:
            a["holdUs"] = h
        emit("aggregate", "X", obj=obj, a=a, ts=start, dur=max(0, t - start), tid=tid)


class _SpawnContext(object):
    __slots__ = ("corr", "prev")

    def __init__(self, corr):
        self.corr = corr

    def __enter__(self):
        global _spawn_corr
        self.prev = _spawn_corr
        _spawn_corr = self.corr
        _active_spawns.append(self.corr)
        try:
            _env[_p.ENV_PARENT_CORR] = str(self.corr)
        except Exception:
            pass
        return self

    def __exit__(self, *exc):
        # Threads may enter and leave spawn contexts in any order: the environment keeps the corr of a
        # context still open, and loses the variable when none is (the program's env stays as it was).
        global _spawn_corr
        _spawn_corr = self.prev
        try:
            _active_spawns.remove(self.corr)
        except ValueError:
            pass
        try:
            if _active_spawns:
                _env[_p.ENV_PARENT_CORR] = str(_active_spawns[-1])
            else:
                _env.pop(_p.ENV_PARENT_CORR, None)
        except Exception:
            pass
        return False


_active_spawns = []


def spawn_context(corr):
    """A process created inside this block reports `process.start` with this corr."""
    return _SpawnContext(corr)


class _InRuntime(object):
    __slots__ = ("prev",)

    def __enter__(self):
        self.prev = getattr(_tls, "busy", False)
        _tls.busy = True
        return self

    def __exit__(self, *exc):
        _tls.busy = self.prev
        return False


def in_runtime():
    """Marks the current thread as inside the runtime (patched primitives it uses are not recorded)."""
    return _InRuntime()


def is_in_runtime():
    return getattr(_tls, "busy", False)


def _async_signals():
    import _signal
    sync = {getattr(_signal, n) for n in ("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGABRT", "SIGSYS")
            if hasattr(_signal, n)}
    return _signal, set(_signal.valid_signals()) - sync


def start_runtime_thread(fn, args=()):
    """Starts one of the runtime's own threads with asynchronous signals already blocked in it (a new
    thread inherits its creator's mask), so that not even its first instructions can catch a signal
    meant for the program's main thread (a SIGTERM from Pool.terminate right after a fork, say)."""
    try:
        _signal, sigs = _async_signals()
        old = _signal.pthread_sigmask(_signal.SIG_BLOCK, sigs)
    except Exception:
        return start_new_thread(fn, args)
    try:
        return start_new_thread(fn, args)
    finally:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, old)


def runtime_thread_init():
    """First call in each of the runtime's own threads. Blocks asynchronous signals there: the kernel
    delivers a process signal to any thread that does not block it, and CPython only interrupts the
    main thread's blocking call when the main thread receives it. Without this a SIGTERM/SIGINT landing
    on our flusher would leave a program blocked in Event.wait() hanging; a plain run never has that."""
    try:
        runtime_tids.add(_get_native_id())
        _signal, sigs = _async_signals()
        _signal.pthread_sigmask(_signal.SIG_BLOCK, sigs)
    except Exception:
        pass
    _tls.busy = True


# ---- lifecycle ------------------------------------------------------------------------------------
_fork_hooks = []


def on_fork_child(fn):
    """Registers fn() to run in a fork child after the recorder has reset itself."""
    _fork_hooks.append(fn)
    return fn


def _reset_after_fork():
    global _buf, _pid, _id_base, _ids, _budgets, _buckets, _reported, _tls, _stream, _strings, _sids, string_list
    _pid = os.getpid()
    _strings = {}
    _sids = itertools.count(1)
    string_list = []
    _id_base = _pid * (1 << 22)
    _ids = itertools.count(1)
    _buf = []
    _budgets = {}
    _buckets = {}
    _reported.clear()
    _tls = _thread._local()
    runtime_tids.clear()
    if _stream is not None:
        _stream = _stream.forked()


def _after_fork_child():
    try:
        ppid = os.getppid()
        _reset_after_fork()
        # The child is not inside its parent's spawn context: its own children must not inherit the corr.
        del _active_spawns[:]
        _env.pop(_p.ENV_PARENT_CORR, None)
        a = {"ppid": ppid, "name": _process_name(), "method": "fork"}
        emit("process.start", "i", corr=_spawn_corr, a=a)
        for fn in list(_fork_hooks):
            try:
                fn()
            except Exception:
                pass
    except Exception:
        pass


def _process_name():
    argv = getattr(sys, "orig_argv", None) or getattr(sys, "argv", None) or []
    if "--multiprocessing-fork" in argv or any("forkserver" in str(x) for x in argv[:4]):
        return "process-%d" % _pid
    for i, x in enumerate(argv[1:], 1):
        if x == "-m" and i + 1 < len(argv):
            return argv[i + 1]
        if x == "-c":
            return "python -c"
        if not x.startswith("-"):
            return os.path.basename(x)
    return os.path.basename(argv[0]) if argv else str(_pid)


def _start_method():
    argv = getattr(sys, "orig_argv", None) or []
    if "--multiprocessing-fork" in argv:
        return "spawn"
    if any("forkserver" in str(x) for x in argv):
        return "forkserver"
    return "subprocess"


def start(stream_addr=None, token=None):
    """Starts recording in this process (called from the boot sitecustomize)."""
    global _active, _stream
    if _active:
        return
    from . import stream as _s
    _stream = _s.Stream(stream_addr or _env.get(_p.ENV_STREAM, ""), token or _env.get(_p.ENV_TOKEN, ""),
                        _process_name)
    _active = True
    sup = _env.get("INTERLEAVE_SUPERVISOR_PID")
    ppid = os.getppid()
    is_root = sup is not None and str(ppid) == sup
    corr = 0
    pc = _env.pop(_p.ENV_PARENT_CORR, None)
    if pc:
        try:
            corr = int(pc)
        except ValueError:
            corr = 0
    a = {"ppid": ppid, "name": _process_name(), "method": "main" if is_root else _start_method(),
         "argv": list(getattr(sys, "orig_argv", None) or sys.argv)}
    emit("process.start", "i", corr=corr, a=a)
    if is_root:
        import time as _time
        emit("run.meta", "i", a={
            "python": sys.version.split()[0], "mode": _MODE, "argv": a["argv"][1:],
            "cwd": os.getcwd(), "epochWallUs": _time.time_ns() // 1000 - now(), "runtimeVersion": "0.1.0",
        })
    try:
        os.register_at_fork(after_in_child=_after_fork_child)
    except Exception:
        pass
    global _last_agg_ts
    _last_agg_ts = now()
    _stream.start()


def shutdown():
    """Final flush: emits the summary and closes the connection (atexit, os._exit, SIGTERM)."""
    global _active
    s = _stream
    if s is None or not _active:
        return
    try:
        collect_aggregates()
    except Exception:
        pass
    _active = False  # nothing after the summary
    s.close()


def stats():
    """(emitted, dropped) so far in this process."""
    s = _stream
    if s is None:
        return (0, 0)
    return s.stats()
