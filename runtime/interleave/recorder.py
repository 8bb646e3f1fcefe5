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
_buf = []          # wire tuples (code, ph, ts, tid, obj, corr, loc, dur, a, pid), or packed records (pack)
_append = _buf.append
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
_arg_ids = {}      # id(a) -> interned id of a shared args dict (see args_id; reset in fork children)
_arg_dicts = {}    # interned id -> the dict
_aids = itertools.count(1)
#: (id, dict) of every interned args dict in order; the flusher sends the ones it has not sent yet.
arg_list = []
class _ThreadState(_thread._local):
    """The runtime's per-thread state. `busy` (the thread is inside the runtime: what it does is not the
    program's) is False unless set, as a class attribute: hot paths read it straight (rec._tls.busy),
    where getattr(_tls, "busy", False) cost about 0.5 us every time the thread had never set it."""
    busy = False


_tls = _ThreadState()
_spawn_corr = 0    # set by spawn_context; read by the fork child hook
_stream = None     # stream.Stream once started


#: (id(code), instruction offset) of a user call site of an instrumented function -> (code, sid of its
#: "path:line"). Hot paths look it up themselves (the code object is compared, so that an id cannot be
#: reused while its entry exists) and call site_sid() on a miss. Interned ids are per connection:
#: cleared in a fork child. Never rebound.
site_cache = {}
_SITE_CACHE_MAX = 50000


def site_sid(f0):
    """The interned id of the user's location: frame f0 if it is user code, else the nearest user frame
    behind it (0 when there is none). Cached when f0 itself is user code (a standard-library caller,
    put_nowait say, has many user callers)."""
    try:
        f = f0
        while f is not None and code_class(f.f_code) != _USER:
            f = f.f_back
        if f is None:
            return 0
        code = f.f_code
        fn = code.co_filename
        if not fn.startswith(("/", "<")):
            fn = os.path.abspath(fn)
        loc = "%s:%d" % (fn, f.f_lineno)
        sid = _strings.get(loc) or _intern(loc)
        if f is f0:
            if len(site_cache) > _SITE_CACHE_MAX:
                site_cache.clear()
            site_cache[(id(code), f.f_lasti)] = (code, sid)
        return sid
    except Exception:
        return 0


def put(t):
    """Appends one wire tuple built by a patch itself (the layout emit() builds: (code, ph, ts, tid, obj,
    corr, sid[, dur, a]), trailing absent fields left out); flushes synchronously over BUFFER_HIGH."""
    try:
        if _active:
            _append(t)
            if len(_buf) > BUFFER_HIGH:
                _backpressure()
    except Exception:
        pass


# ---- packed records ---------------------------------------------------------------------------------
# The most frequent events (a lock's hold, an asyncio step, a queue receive, a pool task) are buffered as
# one bytes object each (protocol.PACKED_FORMAT) instead of a tuple. Why: a tuple waits in the buffer for
# the next flush, and every one alive counts towards CPython's next young-generation collection (bytes are
# not tracked by the cyclic GC); a tuple holding a dict (the event's `a`, even one shared by every such
# event) is never untracked, so it is promoted to the older generations and makes their collections more
# frequent and longer: in a program with many live objects (20,000 pending futures, 10,000 asyncio tasks)
# that cost more than recording the event. So a packed record refers to its `a` by id: an `a` that lives as
# long as the process and never changes (a patch's shared constant) is interned once (args_id), like a
# location string, and sent once per connection in the batches' "args" table. marshal writes bytes by
# one copy, too. Only the supervisor's collector reads packed records (it expands them before anything
# else sees them): a process streaming JSON to another receiver never packs.
PH_B, PH_E, PH_X, PH_I = (_p.PHASES.index(ph) for ph in ("b", "e", "X", "i"))
#: The same phases for records whose ts is a raw monotonic_ns() reading and dur in ns (protocol.PACKED_NS).
PH_E_NS, PH_X_NS = PH_E | _p.PACKED_NS, PH_X | _p.PACKED_NS
_PH_INDEX = {ph: i for i, ph in enumerate(_p.PHASES)}
PACK_AFTER = 2000     # events taken by the flusher before the packer is imported (see use_packed)


def _pack_as_tuple(code, ph, ts, tid, obj, corr, sid, dur, aid):
    if ph & _p.PACKED_NS:
        ph &= ~_p.PACKED_NS
        ts = (ts - _EPOCH) // 1000
        dur //= 1000
    if aid:
        return (code, _p.PHASES[ph], ts, tid, obj, corr, sid, dur, _arg_dicts[aid])
    return (code, _p.PHASES[ph], ts, tid, obj, corr, sid, dur)


#: pack(code, phase index, ts, tid, obj, corr, sid, dur, aid) -> one buffered event (aid: 0 or args_id(a)).
#: A tuple until use_packed(): at start when _struct is built in or already loaded, else once the flusher
#: has taken PACK_AFTER events (on 3.9 and 3.13 _struct is a shared library, 0.3-0.5 ms to import, which a
#: short program would pay for nothing). Hot paths read it through the module (rec.pack).
pack = _pack_as_tuple
#: pack_task(code, phase index, ts, tid, obj, corr, sid, dur, aid, parent, spawn) -> the head of an asyncio
#: task's start record (protocol.PACKED_TASK_FORMAT; the caller appends the name): None until use_packed().
pack_task = None


def use_packed():
    """Packs records from now on (JSON streams never do: only our collector reads packed records)."""
    global pack, pack_task
    if pack is _pack_as_tuple and (_stream is None or _stream.marshal):
        try:
            import _struct
            pack_task = _struct.Struct(_p.PACKED_TASK_FORMAT).pack
            pack = _struct.Struct(_p.PACKED_FORMAT).pack
        except Exception:
            pass


def args_id(a):
    """The interned id of `a`, an event's args dict that lives as long as the process and is never changed
    (a patch's shared constant: the id is kept for its id())."""
    aid = _arg_ids.get(id(a))
    return aid if aid is not None else _intern_args(a)


def _intern_args(a):
    aid = next(_aids)
    _arg_dicts[aid] = a          # kept alive: its id() must not be reused while it is a key
    arg_list.append((aid, a))
    _arg_ids[id(a)] = aid
    return aid


def native_id():
    """The calling thread's kernel thread id. get_native_id() is a system call (~0.3 us here, more
    than the rest of an event); the id is kept in the thread's local storage instead (which a fork
    child gets anew, see _reset_after_fork: its thread's id differs). Hot paths inline this."""
    try:
        return _tls.tid
    except AttributeError:
        tid = _tls.tid = _get_native_id()
        return tid


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
            try:
                tid = _tls.tid
            except AttributeError:
                tid = _tls.tid = _get_native_id()
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
        _append(t)
        if len(_buf) > BUFFER_HIGH:
            _backpressure()
    except Exception:
        pass


def emit_obj(code, ph, obj, tid, loc=None, ts=None):
    """emit() for the hottest events (a lock's hold begin/end): positional arguments, a wire code
    instead of a kind name, no payload. Same tuple as emit() builds for these fields, about half the cost."""
    try:
        if _active:
            if ts is None:
                ts = (_mono_ns() - _EPOCH) // 1000
            _append(pack(code, _PH_INDEX[ph], ts, tid, obj, 0, (_strings.get(loc) or _intern(loc)) if loc else 0, 0, 0))
            if len(_buf) > BUFFER_HIGH:
                _backpressure()
    except Exception:
        pass


# ---- calls that should not block, watched in case they do ----------------------------------------
#: A multiprocessing get()/recv() whose data was already there (the patch probed with one poll) is not
#: recorded as a wait. It may still block: another reader can take the data first. Such a call is
#: watched instead, and the flusher reports its wait (a begin on the blocked thread's lane, from when
#: it started) once it has lasted BLOCK_LIVE_US; its end is recorded when it returns. One that returns
#: before that was not waiting (that is the call's own cost) and records nothing.
#: Lock-free: one key per call (itertools.count is atomic under the GIL) and dict.pop as the claim, so
#: exactly one of the call and the reporter takes the entry:
#:   call (watch/unwatch): watched[k] = entry; ...; if watched.pop(k) finds nothing, the reporter had
#:            it -> end event
#:   reporter: begin event; if watched.pop(k) finds nothing, the call had returned -> end event now
BLOCK_LIVE_US = 20000
watched = {}       # key -> (wire code, obj, sid, t0, a, tid, key); cleared in place in a fork child
watch_keys = itertools.count()


def watch(code, obj, sid, a, tid):
    """Starts watching the calling thread's call; returns the entry for unwatch()."""
    k = next(watch_keys)
    e = watched[k] = (code, obj, sid, (_mono_ns() - _EPOCH) // 1000, a, tid, k)
    return e


def unwatch(e):
    """The watched call returned (or raised): ends its wait if the flusher reported it meanwhile."""
    if watched.pop(e[6], None) is None and _active:
        _append((e[0], "e", (_mono_ns() - _EPOCH) // 1000, e[5], e[1], 0, 0, 0, e[4]))


def report_watched(final=False):
    """Called by the flusher: the wait begin of every watched call blocked for BLOCK_LIVE_US (at exit,
    of every one still blocked)."""
    if not watched or not _active:
        return
    limit = (1 << 62) if final else (_mono_ns() - _EPOCH) // 1000 - BLOCK_LIVE_US
    for k, e in list(watched.items()):
        if e[3] > limit:
            continue
        _append((e[0], "b", e[3], e[5], e[1], 0, e[2], 0, e[4]))
        if watched.pop(k, None) is None:
            _append((e[0], "e", (_mono_ns() - _EPOCH) // 1000, e[5], e[1], 0, 0, 0, e[4]))


def emit_span(code, t0, tid, obj, loc):
    """An X event from t0 to now (a hold recorded when it ends), as emit_obj."""
    try:
        if _active:
            ts = (_mono_ns() - _EPOCH) // 1000
            _append(pack(code, PH_X, t0, tid, obj, 0, (_strings.get(loc) or _intern(loc)) if loc else 0, ts - t0, 0))
            if len(_buf) > BUFFER_HIGH:
                _backpressure()
    except Exception:
        pass


#: Called by the flusher on every pass with final=False, and once more with final=True just before
#: the last flush: each emits the begin of intervals that are still open and have lasted (see
#: report_watched; the threading patch adds its open lock holds).
live_reporters = []


def report_live(final=False):
    for fn in list(live_reporters):
        try:
            fn(final)
        except Exception:
            pass


live_reporters.append(report_watched)


def _backpressure():
    if _stream is not None and not _tls.busy:
        _stream.flush(sync=True)


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


# Both keyed by id(code): hashing a code object hashes its bytecode, constants and names on every call
# (it is not cached), which made a lookup cost more than the rest of user_loc. _code_class keeps each
# code object alive, so an id cannot be reused while its entries exist; both are cleared together.
_code_class = {}   # id(code) -> (code, class) (a code object's file never changes)
_loc_cache = {}    # (id(code), instruction offset) -> "path:line"
_CACHE_MAX = 100000


def code_class(code):
    """_USER, _STDLIB or _RUNTIME for a code object, from the cache user_loc fills."""
    cc = _code_class.get(id(code))
    if cc is None:
        if len(_code_class) > _CACHE_MAX:
            _loc_cache.clear()
            _code_class.clear()
        cc = _code_class[id(code)] = (code, _classify(code.co_filename))
    return cc[1]


def user_loc(skip=0):
    """'path:line' of the nearest frame outside this package, the standard library and gevent."""
    try:
        f = sys._getframe(1 + skip)
        while f is not None:
            code = f.f_code
            cc = _code_class.get(id(code))
            if (cc[1] if cc is not None else code_class(code)) == _USER:
                # Keyed by instruction offset: f_lineno decodes the line table on every read (about
                # a microsecond), f_lasti is a plain field; one call site is one offset.
                key = (id(code), f.f_lasti)
                loc = _loc_cache.get(key)
                if loc is None:
                    fn = code.co_filename
                    if not fn.startswith(("/", "<")):
                        fn = os.path.abspath(fn)
                    if len(_loc_cache) > _CACHE_MAX:
                        _loc_cache.clear()
                    loc = _loc_cache[key] = "%s:%d" % (fn, f.f_lineno)
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
            cc = _code_class.get(id(f.f_code))
            c = cc[1] if cc is not None else code_class(f.f_code)
            if c != _RUNTIME:
                return c == _STDLIB
            f = f.f_back
    except Exception:
        pass
    return False


_SCALARS = frozenset((int, float, bool, type(None)))
_CONTAINERS = frozenset((list, tuple, dict, set, frozenset))
_reprlib = None


def _bounded_repr(value):
    # reprlib stops after a few items and levels: repr() of a million-element list sent through a
    # queue would cost the sender more than the send. Imported on first use (start-up cost).
    global _reprlib
    if _reprlib is None:
        import reprlib
        r = reprlib.Repr()
        r.maxstring = r.maxother = 80
        r.maxlist = r.maxtuple = r.maxset = r.maxfrozenset = r.maxdeque = r.maxdict = 8
        _reprlib = r
    return _reprlib.repr(value)


def preview(value, limit=80):
    """A size-capped repr() that never raises (payloads are data: consumers show them as text)."""
    t = type(value)
    try:
        if t in _SCALARS:
            s = repr(value)                   # no user code runs: no need to mark the runtime busy
        elif t is str or t is bytes:
            s = repr(value[:limit])
            if len(value) > limit:
                s += "\u2026"
        else:
            _tls.busy = True          # a user __repr__ may use traced primitives: not the program's events
            try:
                s = _bounded_repr(value) if t in _CONTAINERS else repr(value)
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


ENV_PROCESS_NAME = "INTERLEAVE_PROCESS_NAME"   # "<daemon 0|1>:<name>" of the multiprocessing.Process started
_spawn_proc = None  # (name, daemon) of the multiprocessing.Process being started; read by the fork child hook


class _SpawnContext(object):
    __slots__ = ("corr", "prev", "proc", "prev_proc", "export")

    def __init__(self, corr, proc=None, export=True):
        self.corr = corr
        self.proc = proc
        self.export = export

    def __enter__(self):
        global _spawn_corr, _spawn_proc
        self.prev = _spawn_corr
        self.prev_proc = _spawn_proc
        _spawn_corr = self.corr
        _spawn_proc = self.proc
        if self.export:
            _active_spawns.append((self.corr, self.proc))
            self._export()
        return self

    def __exit__(self, *exc):
        # Threads may enter and leave spawn contexts in any order: the environment keeps the corr of a
        # context still open, and loses the variable when none is (the program's env stays as it was).
        global _spawn_corr, _spawn_proc
        _spawn_corr = self.prev
        _spawn_proc = self.prev_proc
        if self.export:
            try:
                _active_spawns.remove((self.corr, self.proc))
            except ValueError:
                pass
            self._export()
        return False

    @staticmethod
    def _export():
        try:
            if _active_spawns:
                corr, proc = _active_spawns[-1]
                _env[_p.ENV_PARENT_CORR] = str(corr)
                if proc is not None:
                    _env[ENV_PROCESS_NAME] = "%d:%s" % (1 if proc[1] else 0, proc[0])
                else:
                    _env.pop(ENV_PROCESS_NAME, None)
            else:
                _env.pop(_p.ENV_PARENT_CORR, None)
                _env.pop(ENV_PROCESS_NAME, None)
        except Exception:
            pass


_active_spawns = []


def spawn_context(corr, name=None, daemon=None, export=True):
    """A process created inside this block reports `process.start` with this corr (and, for a
    multiprocessing.Process, with its name and daemon flag: the lanes are named as the program named them).
    A fork child reads them from this module (its at-fork hook); a new interpreter (exec: subprocess, the
    spawn start method) from the environment, which export=True sets for the block. Around a plain fork,
    export=False: the child has the module state, and changing the environment around the fork cost the
    parent about 0.17 ms a fork (putenv and unsetenv, and the copy-on-write faults of the pages they touch
    right after the fork)."""
    return _SpawnContext(corr, (str(name), bool(daemon)) if name is not None else None, export)


class _InRuntime(object):
    __slots__ = ("prev",)

    def __enter__(self):
        self.prev = _tls.busy
        _tls.busy = True
        return self

    def __exit__(self, *exc):
        _tls.busy = self.prev
        return False


def in_runtime():
    """Marks the current thread as inside the runtime (patched primitives it uses are not recorded)."""
    return _InRuntime()


def is_in_runtime():
    return _tls.busy


_async_sigs = None


def _async_signals():
    """(_signal, the signals the runtime's threads block): worked out once, inherited by fork children
    (each starts a runtime thread before the program's code runs on)."""
    global _async_sigs
    if _async_sigs is None:
        import _signal
        sync = {getattr(_signal, n) for n in ("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGABRT",
                                               "SIGSYS") if hasattr(_signal, n)}
        _async_sigs = (_signal, frozenset(set(_signal.valid_signals()) - sync))
    return _async_sigs


#: Code objects of the runtime's thread functions: a thread whose outermost frame runs one of them is
#: ours (boot hides those from sys._current_frames).
runtime_thread_codes = set()


def start_runtime_thread(fn, args=()):
    """Starts one of the runtime's own threads with asynchronous signals already blocked in it (a new
    thread inherits its creator's mask), so that not even its first instructions can catch a signal
    meant for the program's main thread (a SIGTERM from Pool.terminate right after a fork, say)."""
    try:
        runtime_thread_codes.add(getattr(fn, "__func__", fn).__code__)
    except Exception:
        pass
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


# ---- descriptors the runtime keeps open ------------------------------------------------------------
#: Lowest descriptor number for the runtime's own long-lived fds (when the soft RLIMIT_NOFILE allows).
HIGH_FD = 1000
_high_fd_base = None


def high_fd(fd):
    """Moves one of the runtime's own descriptors out of the program's way: a close-on-exec duplicate at
    HIGH_FD or above (the highest range the soft RLIMIT_NOFILE leaves), the original closed. Programs
    that manage descriptors (CPython's test_pass_fds, daemons closing 3..N, code that expects the next
    open() to return a given number) must not see the recorder's socket at a low number. Returns fd
    unchanged when it cannot be moved."""
    global _high_fd_base
    try:
        import fcntl
        base = _high_fd_base
        if base is None:
            try:
                soft = os.sysconf("SC_OPEN_MAX")
            except (ValueError, OSError):
                soft = 1024
            # Leave a little room under the limit for the program; tiny limits: do not move at all.
            base = _high_fd_base = min(HIGH_FD, soft - 32) if soft > 96 else -1
        if base < 0 or fd >= base:
            return fd
        new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, base)
        os.close(fd)
        return new
    except Exception:
        return fd


# ---- lifecycle ------------------------------------------------------------------------------------
_fork_hooks = []


def on_fork_child(fn):
    """Registers fn() to run in a fork child after the recorder has reset itself."""
    _fork_hooks.append(fn)
    return fn


def _reset_after_fork():
    global _buf, _append, _pid, _id_base, _ids, _budgets, _buckets, _reported, _stream, _strings, _sids, string_list
    global _final_lock, _final_owner, _arg_ids, _arg_dicts, _aids, arg_list
    _pid = os.getpid()
    _final_lock = _thread.allocate_lock()
    _final_owner = None
    del _deferred[:]
    _strings = {}
    _sids = itertools.count(1)
    string_list = []
    _arg_ids, _arg_dicts, _aids, arg_list = {}, {}, itertools.count(1), []
    _id_base = _pid * (1 << 22)
    _ids = itertools.count(1)
    _buf = []
    _append = _buf.append
    watched.clear()    # other threads' calls: those threads do not exist in the child
    _budgets = {}
    _buckets = {}
    _reported.clear()
    # Cleared in place (patches bind _tls at import): the forking thread, the child's only one, has a
    # new kernel id and is not inside the runtime.
    _tls.__dict__.clear()
    site_cache.clear()
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
        _env.pop(ENV_PROCESS_NAME, None)
        global _proc_name, _proc_daemon
        if _spawn_proc is not None:
            _proc_name, _proc_daemon = _spawn_proc
        else:
            _proc_name = _proc_daemon = None   # a plain os.fork() child: named after the program
        a = {"ppid": ppid, "name": _process_name(), "method": "fork"}
        if _proc_daemon is not None:
            a["daemon"] = _proc_daemon
        emit("process.start", "i", corr=_spawn_corr, a=a)
        for fn in list(_fork_hooks):
            try:
                fn()
            except Exception:
                pass
    except Exception:
        pass
    _restore_fork_mask()   # after the reset: a SIGTERM that arrived meanwhile now flushes the child's events


_proc_name = None     # multiprocessing.Process.name of this process, when it is one
_proc_daemon = None


def _mp_code(argv):
    """The `-c` code when multiprocessing started this interpreter (a spawn child or the forkserver:
    `python [flags] -c 'from multiprocessing.<spawn|forkserver> import ...' ...`), else None. Only the
    interpreter's own options are looked at: the program's arguments may say anything (e.g. 'forkserver')."""
    i = 1
    while i < len(argv):
        x = str(argv[i])
        if x == "-c":
            code = str(argv[i + 1]) if i + 1 < len(argv) else ""
            return code if code.startswith(("from multiprocessing.spawn", "from multiprocessing.forkserver")) \
                else None
        if not x.startswith("-") or x in ("-m", "-"):
            return None         # a script, a module or stdin: the program itself
        if x in ("-X", "-W", "--check-hash-based-pycs"):
            i += 1              # options that take a separate value
        i += 1
    return None


_argv_cache = None


def orig_argv():
    """The interpreter's command line: sys.orig_argv (3.10+); on 3.9 read from /proc/self/cmdline
    (sys.argv lacks the interpreter and its options, and for `-c` it lacks the code), else sys.argv."""
    global _argv_cache
    a = getattr(sys, "orig_argv", None)
    if a:
        return list(a)
    if _argv_cache is None:
        try:
            with open("/proc/self/cmdline", "rb") as f:
                parts = f.read().split(b"\0")
            if parts and parts[-1] == b"":
                parts.pop()
            _argv_cache = [os.fsdecode(p) for p in parts]
        except OSError:
            _argv_cache = []
    return list(_argv_cache) or list(getattr(sys, "argv", None) or [])


def _process_name():
    if _proc_name:
        return _proc_name
    argv = orig_argv()
    code = _mp_code(argv)
    if code is not None:
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
    code = _mp_code(orig_argv())
    if code is not None:
        return "forkserver" if code.startswith("from multiprocessing.forkserver") else "spawn"
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
    sup = _env.get(_p.ENV_SUPERVISOR_PID)
    ppid = os.getppid()
    is_root = sup is not None and str(ppid) == sup
    corr = 0
    pc = _env.pop(_p.ENV_PARENT_CORR, None)
    if pc:
        try:
            corr = int(pc)
        except ValueError:
            corr = 0
    global _proc_name, _proc_daemon
    pn = _env.pop(ENV_PROCESS_NAME, None)
    if pn and not is_root and pn[:2] in ("0:", "1:") and _start_method() == "spawn":
        # (Only the spawn child itself: helpers started meanwhile, like the resource tracker, inherit it too.)
        # A multiprocessing spawn child: its Process's name and daemon flag, passed through the environment.
        _proc_name, _proc_daemon = pn[2:], pn[0] == "1"
    a = {"ppid": ppid, "name": _process_name(), "method": "main" if is_root else _start_method(),
         "argv": orig_argv()}
    if _proc_daemon is not None:
        a["daemon"] = _proc_daemon
    emit("process.start", "i", corr=corr, a=a)
    if is_root:
        import time as _time
        emit("run.meta", "i", a={
            "python": sys.version.split()[0], "mode": _MODE, "argv": a["argv"][1:],
            "cwd": os.getcwd(), "epochWallUs": _time.time_ns() // 1000 - now(), "runtimeVersion": "0.1.0",
        })
    try:
        os.register_at_fork(before=_before_fork, after_in_parent=_restore_fork_mask,
                            after_in_child=_after_fork_child)
    except Exception:
        pass
    global _last_agg_ts
    _last_agg_ts = now()
    if "_struct" in sys.modules or "_struct" in sys.builtin_module_names:
        use_packed()
    _stream.start()


#: Held for the whole final flush: a SIGTERM handler running on another thread waits on it (bounded)
#: instead of killing the process in the middle of the flush.
_final_lock = _thread.allocate_lock()
#: ident of the thread doing the final flush (a signal handler that runs on that very thread defers).
_final_owner = None
#: Signals whose handler found its own thread inside a flush; re-sent once the flush is over.
_deferred = []
_os_kill = os.kill   # bound before patches/os_.py wraps it: a re-sent signal is not the program's kill()
#: Bounded waits of the final flush (seconds): for the flush lock held by a send in progress, and for
#: a final flush running on another thread.
FINAL_FLUSH_WAIT = 5.0


def _term_signals():
    """SIGTERM only: it is what Pool.terminate()/Process.terminate() send, and the signal our own
    handler (boot._on_sigterm) turns into a final flush. SIGINT is left alone: holding it back could
    move the program's KeyboardInterrupt."""
    try:
        import _signal
        return _signal, {_signal.SIGTERM}
    except Exception:
        return None, ()


_fork_mask = None


def stream_needs_json():
    """Whether this process's stream encodes with json (a receiver of the user's; our own supervisor
    reads marshal frames, see stream.py). Only then must json be imported before a fork (below): the
    import costs 2-3 ms in the program's first fork."""
    st = _stream
    return st is not None and not getattr(st, "marshal", False)


def _before_fork():
    """os.register_at_fork(before=...): runs on the forking thread just before fork().

    1. Imports what the child's first flush needs. The stream imports json lazily; a child forked while
       another thread of the parent is still executing that import (json in sys.modules but initialising,
       its module lock held by a thread the child does not have) deadlocks on its first flush. Importing
       here waits for such an import to finish; once json is loaded it costs a dict lookup.
    2. Blocks SIGTERM across the fork when our handler is installed: CPython clears signal flags that
       trip in a child before its at-fork reset, so a terminate() landing there would be lost and the
       child would run on with no summary. The child unblocks it in _after_fork_child (then it acts)."""
    global _fork_mask
    try:
        if stream_needs_json():
            import json  # noqa: F401
            import json.encoder  # noqa: F401
            import json.decoder  # noqa: F401
    except Exception:
        pass
    _fork_mask = None
    try:
        sig, terms = _term_signals()
        if sig is not None and getattr(sig.getsignal(sig.SIGTERM), "__module__", None) == __package__ + ".boot":
            _fork_mask = sig.pthread_sigmask(sig.SIG_BLOCK, terms)
    except Exception:
        _fork_mask = None


def _restore_fork_mask():
    global _fork_mask
    m = _fork_mask
    _fork_mask = None
    if m is not None:
        try:
            import _signal
            _signal.pthread_sigmask(_signal.SIG_SETMASK, m)
        except Exception:
            pass


def flushing_here():
    """True when the calling thread is inside a flush (the final one, or an emitter's synchronous one):
    a signal handler running here, between two bytecodes of that flush, must not flush or die now."""
    me = _get_ident()
    if _final_owner == me:
        return True
    s = _stream
    return s is not None and getattr(s, "owner", None) == me


def defer_signal(signum):
    """Called by a signal handler that found its thread inside a flush: the flush re-sends the signal
    to the process when it is over, so the handler then acts with nothing in progress."""
    if signum not in _deferred:
        _deferred.append(signum)


def redeliver_deferred():
    while _deferred:
        signum = _deferred.pop(0)
        try:
            _os_kill(os.getpid(), signum)
        except Exception:
            pass


def shutdown(wait=FINAL_FLUSH_WAIT):
    """Final flush: emits the summary and closes the connection (atexit, os._exit, SIGTERM).

    Termination signals are blocked in this thread for the duration (they stay pending and act right
    after), so Pool.terminate()'s SIGTERM cannot land in the middle of a worker's final flush; a handler
    running on another thread waits for it on _final_lock (bounded by `wait`)."""
    global _active, _final_owner
    s = _stream
    if s is None or not _active:
        return
    if not _final_lock.acquire(True, wait):
        return   # another thread's final flush is stuck (receiver not reading): do not block the exit
    try:
        if not _active:
            return   # done by the thread we waited for
        _final_owner = _get_ident()
        sig, terms = _term_signals()
        old = None
        try:
            old = sig.pthread_sigmask(sig.SIG_BLOCK, terms)
        except Exception:
            pass
        try:
            try:
                collect_aggregates()
            except Exception:
                pass
            report_live(final=True)
            _active = False  # nothing after the summary
            s.close(lock_timeout=wait)
        finally:
            _final_owner = None
            if old is not None:
                try:
                    sig.pthread_sigmask(sig.SIG_SETMASK, old)   # a pending SIGTERM acts now
                except Exception:
                    pass
    finally:
        _final_lock.release()
    redeliver_deferred()


def stats():
    """(emitted, dropped) so far in this process."""
    s = _stream
    if s is None:
        return (0, 0)
    return s.stats()
