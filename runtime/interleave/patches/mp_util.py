"""Small helpers shared by R2's patches (processes, IPC, pools, asyncio, gevent).

Kept free of heavy imports: it is loaded when the program imports `os`-level or multiprocessing code.
"""
import functools
import os as _os
import struct as _struct
import sys
import _thread
from time import monotonic_ns as _mono_ns

from interleave import protocol as P
from interleave import recorder as rec

# (the generic helpers every patch uses live in common.py, which the start-up path loads without this module)
from interleave.patches.common import (Patches, before_fork, signal_name, exit_args_from_returncode,  # noqa: F401
                                       exit_args_from_status)

_get_native_id = _thread.get_native_id


# ---- the hot paths' share of rec.emit -----------------------------------------------------------
# Pools and queues record per item; rec.emit (keyword arguments, a kind-name lookup, a native-id
# system call, a frame walk for the location) costs several times the tuple it appends. These let a
# patch build the same tuple itself: (code, ph, ts, tid, obj, corr, sid[, dur, a]), guarded by
# rec._active, with rec._append/_buf read through the module (a fork child gets new ones).

# The hot-path helpers live in the recorder; these names are kept for the patches that use them.
#: Per thread: `tid`, the thread's native id (get_native_id() is a system call on Linux).
tls = rec._tls
native_tid = rec.native_id
_sid_cache = rec.site_cache
slow_sid = rec.site_sid


def frame_sid(f):
    """The interned id of the user's location for frame f (rec.site_sid, cached per call site)."""
    code = f.f_code
    e = _sid_cache.get((id(code), f.f_lasti))
    if e is not None and e[0] is code:
        return e[1]
    return slow_sid(f)


def backpressure():
    """After an append: flushes synchronously when the buffer is over its high mark (as rec.emit)."""
    try:
        if len(rec._buf) > rec.BUFFER_HIGH:
            rec._backpressure()
    except Exception:
        pass


# ---- wake-ups across processes -------------------------------------------------------------------
# A wait on a multiprocessing primitive (Event, Condition, Barrier, JoinableQueue.join) ends in one
# process when another sets, notifies or finishes it: the waker cannot tell the waiter its corr through
# the primitive. So the waker writes (obj, corr, ts) into the run's wake board, a small file the
# supervisor makes for the run (protocol ENV_WAKE_BOARD), and the woken process reads it back. Every
# process of the run maps the same file (fork children inherit the mapping; spawn and forkserver
# children, and Python programs started by subprocess, map it themselves), at the slot its obj gives:
# the primitive's obj is the same in every process (mp_shared, mp_channels). Two primitives that share
# a slot only lose their links (the obj is checked). Without a board (a recorder started without the
# supervisor) a wake-up is remembered in the primitive itself, for the waits of its own process.
_board = None     # the mapped board; False when this process has none
_SLOT = _struct.Struct(P.WAKE_SLOT_FORMAT)
_LOCK_SLOT = _struct.Struct(P.LOCK_SLOT_FORMAT)
_LOCKS_AT = P.WAKE_BOARD_SLOTS * _SLOT.size        # where the lock slots begin
_ORDER_SLOT = _struct.Struct(P.ORDER_SLOT_FORMAT)
_ORDERS_AT = _LOCKS_AT + P.WAKE_BOARD_SLOTS * _LOCK_SLOT.size
_WAIT_SLOT = _struct.Struct(P.WAIT_SLOT_FORMAT)
_WAITS_AT = _ORDERS_AT + P.ORDER_SLOTS * _ORDER_SLOT.size
_PROC_SLOT = _struct.Struct(P.PROC_SLOT_FORMAT)
_PROCS_AT = _WAITS_AT + P.WAIT_SLOTS * _WAIT_SLOT.size
_FLAGS_AT = _PROCS_AT + P.PROC_SLOTS * _PROC_SLOT.size
_HOLDING = 8          # locks held named per wait slot
_PAIR = _struct.Struct("<qq")
_COUNT = _struct.Struct("<q")


def _wake_board():
    global _board
    b = _board
    if b is None:
        b = False
        path = _os.environ.get(P.ENV_WAKE_BOARD)
        if path:
            try:
                import mmap
                fd = _os.open(path, _os.O_RDWR | getattr(_os, "O_CLOEXEC", 0))
                try:
                    b = mmap.mmap(fd, _FLAGS_AT + P.BOARD_FLAGS_SIZE)     # shared with every mapper
                finally:
                    _os.close(fd)
            except (OSError, ValueError, ImportError):
                b = False
        _board = b
    return b


def record_wake(prim, obj, corr, ts, key):
    """The waker's side: prim (obj) was set/notified/finished at ts, by its sync.notify `corr`."""
    b = _wake_board()
    if b:
        _SLOT.pack_into(b, (obj % P.WAKE_BOARD_SLOTS) * _SLOT.size, obj, corr, ts)
    else:
        prim.__dict__[key] = (corr, ts)


def woken_by(prim, obj, t0, key):
    """The woken side: the corr of prim's last wake-up if it happened since t0 (the wait's start), else 0."""
    b = _wake_board()
    if b:
        o, corr, ts = _SLOT.unpack_from(b, (obj % P.WAKE_BOARD_SLOTS) * _SLOT.size)
        if o != obj:
            return 0
    else:
        last = prim.__dict__.get(key)
        if last is None:
            return 0
        corr, ts = last
    return corr if ts >= t0 else 0


# ---- who let a waiter in, across processes -------------------------------------------------------
# A multiprocessing lock's waiter and the release that lets it in may be in different processes. As for
# threading locks (threading_.py _hmx), the waiter records that release itself, from a note the
# releaser leaves while a waiter is counted in: here in the board's lock slot of the lock's obj,
# (waiters, obj, ts, pid, tid). A release reads one byte of the count (about 50 ns); only while it is
# not zero does it write its note. The count is not updated atomically across processes: two waiters
# counting themselves in at the same moment can lose one update, which at worst costs a link (a count
# left too low) or a few notes nobody reads (too high; it never goes below zero).
def lock_slot(obj):
    """(the mapped board, the offset of obj's lock slot), or (None, 0) without a board."""
    b = _wake_board()
    if not b:
        return None, 0
    return b, _LOCKS_AT + (obj % P.WAKE_BOARD_SLOTS) * _LOCK_SLOT.size


def count_waiter(b, off, delta):
    n = _COUNT.unpack_from(b, off)[0] + delta
    _COUNT.pack_into(b, off, n if n > 0 else 0)


# Who holds a multiprocessing Lock or RLock, in the same slot after the release note: (obj, pid, tid),
# written when a thread takes it and cleared when it is let go, so that a thread waiting for it in
# another process can be told its holder has ended (killed, or left by os._exit, still holding it).
_HOLDER = _struct.Struct("<qqq")
_HOLDER_AT = 40


def lock_taken(b, off, obj, pid, tid):
    _HOLDER.pack_into(b, off + _HOLDER_AT, obj, pid, tid)


def lock_let_go(b, off, obj):
    if _COUNT.unpack_from(b, off + _HOLDER_AT)[0] == obj:
        _COUNT.pack_into(b, off + _HOLDER_AT, 0)


def lock_holder(obj):
    """(pid, tid) of the process and thread holding the multiprocessing lock obj, as its slot says,
    else None."""
    b, off = lock_slot(obj)
    if b is None:
        return None
    o, pid, tid = _HOLDER.unpack_from(b, off + _HOLDER_AT)
    return (pid, tid) if o == obj and pid else None


def lock_let_in(b, off, obj, since):
    """The waiter has the lock: (ts, pid, tid) of the release noted in its slot since `since` (the wait's
    start, monotonic ns), else None."""
    _n, o, ts, pid, tid = _LOCK_SLOT.unpack_from(b, off)[:5]
    if o != obj or ts < since or not pid:
        return None
    return ts, pid, tid


# ---- lock orders across processes -----------------------------------------------------------------
# deadlock.acquired keeps the order in which this process's threads take locks one inside another and
# reports an inversion; two processes taking two multiprocessing locks in opposite orders can deadlock
# just the same (one run may hang, another not). So each order between two such locks, the first time a
# process takes it, is also put on the board's order table (a, b, pid, where each was taken), where the
# other processes of the run look for the opposite one. Open addressing from a hash of the pair; a full
# table, or two processes writing one slot at the same moment, costs an inversion report, nothing else.
def _order_slot(a, b, i):
    return _ORDERS_AT + ((hash((a, b)) + i) % P.ORDER_SLOTS) * _ORDER_SLOT.size


def _text(loc):
    return (loc or "").encode("utf-8", "replace")[:120]


def order_seen(a, b, aloc, bloc):
    """This process took b while holding a (at aloc, bloc): published for the others. Returns the
    locations (b's, a's) of the opposite order if another process took it, else None."""
    board = _wake_board()
    if not board:
        return None
    pid = _os.getpid()
    found = None
    for i in range(P.ORDER_SLOTS):        # the opposite order, (b, a), from another process
        off = _order_slot(b, a, i)
        x, y = _PAIR.unpack_from(board, off)
        if x == 0:
            break
        if x == b and y == a:
            _x, _y, p, bl, al = _ORDER_SLOT.unpack_from(board, off)
            if p != pid:
                found = (bl.rstrip(b"\0").decode("utf-8", "replace"), al.rstrip(b"\0").decode("utf-8", "replace"))
                break
    for i in range(P.ORDER_SLOTS):        # ours, in the first free slot (or already there)
        off = _order_slot(a, b, i)
        x, y = _PAIR.unpack_from(board, off)
        if x == a and y == b:
            break
        if x == 0:
            # The locations and pid before the pair: a reader that sees the pair sees the rest.
            _struct.pack_into("<q120s120s", board, off + 16, pid, _text(aloc), _text(bloc))
            _PAIR.pack_into(board, off, a, b)
            break
    return found


# ---- threads blocked on multiprocessing locks, for deadlock cycles between processes ----------------
# A thread that blocks without a timeout on a multiprocessing lock posts (pid, tid, ident, obj, since,
# the multiprocessing locks it holds) in a wait slot, and clears it when the wait ends. Every process's
# watchdog reads the table to follow waiter -> lock -> holder -> the lock that holder waits for...
# (deadlock._check_shared_cycles). A slot is written whole by one thread, read by others: a torn read is
# possible, so a cycle is only reported when two checks in a row find it.
def post_wait(ident, tid, obj, holding, name=""):
    """Posts this thread's wait; returns the slot's offset for clear_wait, or -1 (no board, no room).
    name: the thread's, for the other processes' reports of a cycle through it."""
    board = _wake_board()
    if not board:
        return -1
    pid = _os.getpid()
    h = (list(holding) + [0] * _HOLDING)[:_HOLDING]
    start = hash((pid, ident)) % P.WAIT_SLOTS
    for i in range(P.WAIT_SLOTS):
        off = _WAITS_AT + ((start + i) % P.WAIT_SLOTS) * _WAIT_SLOT.size
        p, = _COUNT.unpack_from(board, off)
        if p == 0 or (p == pid and _COUNT.unpack_from(board, off + 16)[0] == ident):
            _WAIT_SLOT.pack_into(board, off, pid, tid, ident, obj, _mono_ns(), *h, _name_bytes(name))
            return off
    return -1


def clear_wait(off):
    if off >= 0:
        b = _wake_board()
        if b:
            _COUNT.pack_into(b, off, 0)


def _name_bytes(name):
    """A thread name cut to the slot's 48 bytes, never in the middle of a UTF-8 sequence."""
    b = (name or "").encode("utf-8", "replace")
    return b[:48].decode("utf-8", "ignore").encode("utf-8")


def read_waits():
    """[(pid, tid, ident, obj, since, holding objs, thread name)] of every posted wait of the run."""
    board = _wake_board()
    out = []
    if not board:
        return out
    for i in range(P.WAIT_SLOTS):
        v = _WAIT_SLOT.unpack_from(board, _WAITS_AT + i * _WAIT_SLOT.size)
        if v[0]:
            out.append((v[0], v[1], v[2], v[3], v[4], tuple(x for x in v[5:-1] if x),
                        v[-1].rstrip(b"\0").decode("utf-8", "replace")))
    return out


# ---- processes whose every thread is blocked, for deadlocks that span the run ------------------------
# Each process's watchdog posts (pid, blocked since or 0, checked at) in its slot at every check; a parent
# posts a child it just started as running until the child's own watchdog takes over (a child slow to
# start is not taken for a finished one). Slots of processes that ended are reused (process_alive).
_proc_slots = {}       # pid -> offset of its slot (a fork child finds its own: its pid is new)
#: pid -> when: children started while this process had not mapped the board yet, posted as running by
#: this process's watchdog at its next check (post_started_children). Why wait: mapping the board
#: imports mmap, a shared library (1.5-3 ms here), which a short program (a Pool that lives 40 ms)
#: would pay for a check that never runs. Safe: a run-wide deadlock is only reported after two checks
#: in a row with every process posting in between, and this process's next post comes after these.
_started_unposted = {}
_os.register_at_fork(after_in_child=_started_unposted.clear)     # a fork child's are not its children


def post_started_child(pid, now):
    """A child this process has just started: running until its own watchdog says otherwise (a child
    still starting is not taken for one that has ended by a run-wide check)."""
    if _board is None:
        if len(_started_unposted) < P.PROC_SLOTS:
            _started_unposted[pid] = now
        return
    post_process_state(pid, 0, now)


def post_started_children():
    """Posts the children post_started_child kept (see _started_unposted); the watchdog calls it."""
    while _started_unposted:
        pid, now = _started_unposted.popitem()
        post_process_state(pid, 0, now)


def post_process_state(pid, since, now, reported=0):
    """Posts a process's state: since = when its threads were all blocked (monotonic ns), 0 while one
    runs; reported: 1 once it has reported its part of a deadlock of the run. False without a board or
    room."""
    board = _wake_board()
    if not board:
        return False
    off = _proc_slots.get(pid)
    if off is None or _COUNT.unpack_from(board, off)[0] != pid:
        off = _find_proc_slot(board, pid)
        if off < 0:
            return False
        if len(_proc_slots) > 1024:
            _proc_slots.clear()
        _proc_slots[pid] = off
    _PROC_SLOT.pack_into(board, off, pid, since, now, reported)
    return True


def _find_proc_slot(board, pid):
    """pid's slot, else a free one, else one of a process that has ended; -1 when all are taken.
    Liveness is only asked for in a full table (it costs a system call and a /proc read per slot)."""
    start = pid % P.PROC_SLOTS
    offs = [_PROCS_AT + ((start + i) % P.PROC_SLOTS) * _PROC_SLOT.size for i in range(P.PROC_SLOTS)]
    for off in offs:
        p, = _COUNT.unpack_from(board, off)
        if p == 0 or p == pid:
            return off
    for off in offs:
        if not process_alive(_COUNT.unpack_from(board, off)[0]):
            return off
    return -1


def clear_process_state(pid):
    off = _proc_slots.pop(pid, None)
    if off is None:
        return          # never posted (most processes of a run: nothing mapped at exit for this)
    board = _wake_board()
    if board and _COUNT.unpack_from(board, off)[0] == pid:
        _COUNT.pack_into(board, off, 0)


def read_process_states():
    """[(pid, blocked since, checked at, reported)] of every posted process of the run."""
    board = _wake_board()
    out = []
    if board:
        for i in range(P.PROC_SLOTS):
            v = _PROC_SLOT.unpack_from(board, _PROCS_AT + i * _PROC_SLOT.size)
            if v[0]:
                out.append(v)
    return out


def process_alive(pid):
    """Whether pid runs (a zombie, ended but not yet reaped by its parent, does not)."""
    try:
        _os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True       # (EPERM: someone else's process now, not ours; counted as running)
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def flag_run(flag):
    """Sets one of the run's flags for the supervisor (protocol FLAG_*). False without a board."""
    b = _wake_board()
    if not b:
        return False
    b[_FLAGS_AT] = b[_FLAGS_AT] | flag
    return True


_DERIVED = 1 << 51
_MASK = (1 << 51) - 1


def derived_id(*parts):
    """An obj/corr id that two processes compute independently from shared facts (e.g. pool job and
    task index). Above 2**51, so it never collides with rec.new_id() values (pid * 2**22 + n < 2**44);
    tuples of ints hash identically in every process of the same interpreter."""
    return _DERIVED | (hash(parts) & _MASK)


def error_text(e):
    """'Type: message' of an exception, at most 200 characters, never raising."""
    try:
        return ("%s: %s" % (type(e).__name__, e))[:200]
    except Exception:
        return type(e).__name__


# ---- a pool task's run on its worker ------------------------------------------------------------------
# One X event recorded when the task ends (half the events of a begin/end pair), like a lock hold. A
# task that runs long is reported while it runs: the flusher emits its begin once it has lasted
# TASK_LIVE_US (and at exit every running task's, so a task stuck in a hang or a kill still shows),
# and the task then ends with an end event.
_TASK = rec._CODES["pool.task"]
_EPOCH = rec._EPOCH
_PH_X = rec.PH_X
TASK_LIVE_US = 20000
_running = {}                          # id(entry) -> [t0, tid, pool obj, corr, begin args]
_running_lock = _thread.allocate_lock()   # the flusher's begin vs the task's own end
#: fn name -> (begin args, ok end args): one pair of dicts shared by every such task's events (never
#: mutated once made): no dicts per task, and the wire encoder sends a repeated object once per batch.
_task_args = {}


def task_args(name):
    """(begin args, ok end args) shared by every task of the function `name` (bounded table)."""
    a = _task_args.get(name)
    if a is None:
        if len(_task_args) > 4096:
            _task_args.clear()
        a = _task_args[name] = ({"fn": name}, {"fn": name, "ok": True})
    return a


def _task_end(k, e, a):
    """Records the end of the task entry e (key k in _running): one X, or the end of a live one."""
    try:
        ts = (_mono_ns() - _EPOCH) // 1000
        if _running.pop(k, None) is not None:
            if rec._active:
                rec._append((_TASK, "X", e[0], e[1], e[2], e[3], 0, ts - e[0], a))
        else:
            # The flusher reported it live: its begin is in the buffer once the flusher lets go.
            with _running_lock:
                pass
            if rec._active:
                rec._append((_TASK, "e", ts, e[1], e[2], e[3], 0, 0, a))
        if len(rec._buf) > rec.BUFFER_HIGH:
            rec._backpressure()
    except Exception:
        pass


def report_running_tasks(final=False):
    """Flusher hook (rec.live_reporters): the begin of every task running for TASK_LIVE_US (all, at exit)."""
    if not _running:
        return
    limit = (1 << 62) if final else (_mono_ns() - _EPOCH) // 1000 - TASK_LIVE_US
    with _running_lock:
        for k, e in list(_running.items()):
            if e[0] <= limit and _running.pop(k, None) is not None:
                rec._append((_TASK, "b", e[0], e[1], e[2], e[3], 0, 0, e[4]))


rec.live_reporters.append(report_running_tasks)


@rec.on_fork_child
def _forget_running():
    # The parent's running tasks are not the child's; a lock another thread held is not held here.
    global _running_lock
    _running.clear()
    _running_lock = _thread.allocate_lock()


def traced_task(fn, pool_obj, corr, name):
    """fn wrapped to record its run on the worker as a pool.task interval (shared by
    multiprocessing pools and concurrent.futures executors)."""
    begin, ok = task_args(name)

    def run(*args, **kwargs):
        try:
            tid = tls.tid
        except AttributeError:
            tid = native_tid()
        e = [(_mono_ns() - _EPOCH) // 1000, tid, pool_obj, corr, begin]
        k = id(e)
        _running[k] = e
        try:
            r = fn(*args, **kwargs)
        except BaseException as x:
            _task_end(k, e, {"fn": name, "ok": False, "error": error_text(x)})
            raise
        if _running.pop(k, None) is None:
            _task_end(k, e, ok)       # reported live: ends with an end event
            return r
        try:                          # the common case, inlined: one X
            if rec._active:
                rec._append(rec.pack(_TASK, _PH_X, e[0], tid, pool_obj, corr, 0, (_mono_ns() - _EPOCH) // 1000 - e[0],
                                     rec.args_id(ok)))
                if len(rec._buf) > rec.BUFFER_HIGH:
                    rec._backpressure()
        except Exception:
            pass
        return r
    return run


def fn_name(fn):
    """A short readable name for a callable (qualname, through functools.partial), else a preview.
    Bounded and type-checked: user objects (mocks, proxies) may answer any attribute."""
    try:
        f = fn
        for _ in range(8):
            if not isinstance(f, functools.partial):
                break
            f = f.func
        name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None)
        if isinstance(name, str) and name:
            return name
        return rec.preview(fn, 60)
    except Exception:
        return "?"


# ---- lazy patching of submodules ------------------------------------------------------------------
# The import hook installs a patch when a registered top-level module is imported; multiprocessing,
# concurrent.futures and asyncio have submodules that are expensive to import (multiprocessing.pool,
# .managers: ~30 ms), so their patches wait for the program to import them.

_watch = {}        # module name -> [callback(module)]
_finder = None


def when_imported(name, callback):
    """Runs callback(module) now if `name` is imported, else right after the program imports it."""
    mod = sys.modules.get(name)
    if mod is not None and getattr(mod, "__spec__", None) is not None and not _initialising(mod):
        _run(callback, mod)
        return
    _watch.setdefault(name, []).append(callback)
    _ensure_finder()


def forget(names=None):
    """Drops pending callbacks for these module names (all when None): used by uninstall()."""
    if names is None:
        _watch.clear()
    else:
        for n in names:
            _watch.pop(n, None)


def _initialising(mod):
    spec = mod.__spec__
    return bool(getattr(spec, "_initializing", False))


def _run(callback, mod):
    try:
        with rec.in_runtime():
            callback(mod)
    except Exception:
        import os
        if os.environ.get("INTERLEAVE_DEBUG"):
            import traceback
            traceback.print_exc()


class _Finder(object):
    _interleave_finder = True

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _watch:
            return None
        from .. import importhook
        return importhook.find_spec_then(self, fullname, path, target, _run_watchers)

    def invalidate_caches(self):
        pass


def _run_watchers(module):
    for cb in _watch.pop(module.__name__, ()):
        _run(cb, module)


def _ensure_finder():
    global _finder
    if _finder is None:
        _finder = _Finder()
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


# ---- who created this object? ---------------------------------------------------------------------
_STDLIB = _os.path.dirname(_os.path.abspath(_os.__file__)) + _os.sep
_RUNTIME = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))) + _os.sep
_kind_cache = {}


def _file_kind(filename, transparent):
    """'runtime' | 'transparent' | 'stdlib' | 'user' for a frame's file."""
    k = _kind_cache.get((filename, transparent))
    if k is None:
        path = filename if filename.startswith("<") else _os.path.abspath(filename)
        if path.startswith(_RUNTIME):
            k = "runtime"
        elif transparent and path.endswith(transparent):
            k = "transparent"
        elif path.startswith("<frozen") or (path.startswith(_STDLIB) and "-packages" not in path):
            k = "stdlib"
        else:
            k = "user"
        _kind_cache[(filename, transparent)] = k
    return k


def created_by_user(transparent=()):
    """True when the nearest frame that is neither the runtime nor one of the `transparent` standard
    library files (path suffixes, e.g. the multiprocessing context's factory methods) is user code.
    Decided once, at creation: objects the standard library makes for itself are not instrumented."""
    try:
        f = sys._getframe(1)
        while f is not None:
            k = _file_kind(f.f_code.co_filename, transparent)
            if k == "user":
                return True
            if k == "stdlib":
                return False
            f = f.f_back
    except Exception:
        pass
    return False
