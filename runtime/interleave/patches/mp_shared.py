"""multiprocessing locks (Lock, RLock, Semaphore, BoundedSemaphore and the lock of a Value/Array),
Event/Condition/Barrier waits and wake-ups, Value/Array reads and writes, and Manager proxies (each
call a message to the manager process).

Which objects: the ones the program creates (or that a program's Value()/Array() creates for it);
those multiprocessing makes for its own machinery (a Queue's locks, an Event's condition) are not
instrumented. Ids across processes: fork children keep the attribute; a lock pickled to a spawn child
is recognised by a marker in its semaphore name ('-il'), and its id is derived from that name, which
both processes know — the pickled state itself is unchanged.
"""
import sys
import zlib
import _thread

from interleave import recorder as rec
from interleave import deadlock as dl
from interleave.patches.mp_util import created_by_user, derived_id, record_wake, woken_by
from interleave.patches import mp_util

_TRANSPARENT = ("multiprocessing/context.py", "multiprocessing/sharedctypes.py")
_tls = _thread._local()
_LOCK_TYPES = {"Lock": "mp.Lock", "RLock": "mp.RLock", "Semaphore": "mp.Semaphore",
               "BoundedSemaphore": "mp.BoundedSemaphore"}
_MARK = "-il"
_mono_ns = __import__("time").monotonic_ns
_EPOCH = rec._EPOCH
_NOTE = __import__("struct").Struct("<qqqq")     # a lock slot after its waiter count: obj, ts, pid, tid


def _id_from_name(name):
    return derived_id(zlib.crc32(name.encode("utf-8", "replace")), 0x10C)


# ---- locks ------------------------------------------------------------------------------------------
class _Owned(object):
    """A multiprocessing lock as the deadlock watchdog sees it in this process (deadlock.py reads _obj,
    _owner, _il_type): which of this process's threads holds it (another process's holder is not
    known here). With it, a thread blocked on the lock counts as blocked, so a process whose threads
    all wait (two processes taking two locks in opposite orders) is reported, and a cycle among this
    process's threads through such locks is found."""
    __slots__ = ("_obj", "_owner", "_depth", "_il_type", "__weakref__")
    _il_shared = True           # other processes may take it too (see deadlock.acquired)

    def __init__(self, obj, type_name):
        self._obj = obj
        self._owner = None
        self._depth = 0
        self._il_type = type_name


_get_ident = _thread.get_ident


def _instrument(lock, obj):
    """Replaces the lock's bound acquire/release (SemLock binds the C methods per instance)."""
    sl = lock._semlock
    c_acquire = sl.acquire
    c_release = sl.release
    holds = {}     # thread ident -> stack of (individually recorded?, t0, ident)  (idents: get_native_id is a system call)
    is_rlock = type(lock).__name__ == "RLock"
    # Its slot on the run's wake board, for who let a waiter in (mp_util.lock_let_in): mapped now, so a
    # release reads one byte. A fork child keeps the mapping; a spawn child instruments its own copy.
    board, slot = mp_util.lock_slot(obj)
    note_at = slot + 8
    # One holder at a time (not a semaphore's several): named on the board for the other processes.
    single = board is not None and type(lock).__name__ in ("Lock", "RLock")
    owned = _Owned(obj, _LOCK_TYPES.get(type(lock).__name__, "mp." + type(lock).__name__))
    dl.register(owned)

    def acquire(block=True, timeout=None):
        if not rec._active or rec._tls.busy:       # (rec.is_in_runtime(), inline)
            return c_acquire(block, timeout)
        if c_acquire(False):
            indiv = rec.budget(obj)
            t0 = rec.now()
            ident = _get_ident()
            if indiv:
                a = {"depth": sl._count()} if is_rlock else None
                loc = rec.user_loc()
                rec.emit("lock.hold", "b", obj=obj, loc=loc, ts=t0, a=a)
                dl.acquired(ident, owned, loc)      # the order graph (see deadlock.acquired)
            holds.setdefault(ident, []).append((indiv, t0, ident))
            owned._owner = ident
            owned._depth += 1
            if single and owned._depth == 1:
                _taken()
            return True
        loc = rec.user_loc()
        if not block:
            rec.emit("lock.fail", "i", obj=obj, loc=loc)
            return False
        rec.emit("lock.wait", "b", obj=obj, loc=loc)
        since = _mono_ns()      # before counting in: every release that sees the count is later
        if board:
            mp_util.count_waiter(board, slot, 1)
        ok = False
        ident = _get_ident()
        forever = block and timeout is None
        posted = dl.shared_wait_begin(ident, owned) if forever and board else -1
        dl.wait_begin(ident, owned, forever)
        try:
            ok = c_acquire(block, timeout)
        finally:
            dl.wait_end(ident)
            if posted >= 0:
                mp_util.clear_wait(posted)
            corr = _linked_release(obj, since, ok) if board else 0
            rec.emit("lock.wait", "e", obj=obj, corr=corr,
                     a={"ok": bool(ok), "timeout": not ok} if not ok else {"ok": True})
        if ok:
            owned._owner = ident
            owned._depth += 1
            if single and owned._depth == 1:
                _taken()
            t0 = rec.now()
            rec.emit("lock.hold", "b", obj=obj, loc=loc, ts=t0)
            dl.acquired(ident, owned, loc)
            holds.setdefault(ident, []).append((True, t0, ident))
        return ok

    def _taken():
        try:
            mp_util.lock_taken(board, slot, obj, rec._pid, rec.native_id())
        except Exception:
            pass

    def _linked_release(obj, since, ok):
        """The waiter stops waiting (ok: with the lock): the corr of the release that let it in
        (recorded here, on the releaser's lane, whatever its process), or 0. Never raises."""
        try:
            mp_util.count_waiter(board, slot, -1)
            note = mp_util.lock_let_in(board, slot, obj, since) if ok else None
        except Exception:
            return 0
        if note is None:
            return 0
        ts, pid, tid = note
        corr = rec.new_id()
        rec.emit("lock.release", "i", obj=obj, corr=corr, ts=(ts - _EPOCH) // 1000, pid=pid, tid=tid)
        return corr

    def release():
        if board and board[slot]:
            # A waiter is counted in: note this release for it, before the release can wake it.
            try:
                _NOTE.pack_into(board, note_at, obj, _mono_ns(), rec._pid, rec.native_id())
            except Exception:
                pass
        if single and owned._depth <= 1:
            try:
                mp_util.lock_let_go(board, slot, obj)     # before: the next holder writes its own
            except Exception:
                pass
        c_release()
        owned._depth -= 1
        if owned._depth <= 0:
            owned._depth = 0
            owned._owner = None
        try:
            if not rec._active:
                return
            stack = holds.get(_get_ident())
            if not stack:
                stack = next((s for s in holds.values() if s), None)   # released by another thread
            if not stack:
                return
            indiv, t0, ident = stack.pop()
            if indiv:
                rec.emit("lock.hold", "e", obj=obj)
                dl.released(ident, owned)
            else:
                rec.count(obj, "lock", rec.now() - t0)
        except Exception:
            pass

    lock._il_lock = obj
    lock._il_owned = owned        # (the watchdog keeps only a weak reference)
    lock.acquire = acquire
    lock.release = release


def _wrap_lock_init(orig, type_name):
    def __init__(self, *args, **kwargs):
        outer = "_il_lock" not in self.__dict__
        user = False
        if outer:
            self._il_lock = 0
            try:
                user = rec.active() and not rec.is_in_runtime() and created_by_user(_TRANSPARENT)
            except Exception:
                user = False
        prev = getattr(_tls, "mark", False)
        _tls.mark = user
        try:
            orig(self, *args, **kwargs)
        finally:
            _tls.mark = prev
        if outer and user:
            try:
                name = getattr(self._semlock, "name", None)
                obj = _id_from_name(name) if name else rec.new_id()
                _instrument(self, obj)
                a = {"type": _LOCK_TYPES.get(type(self).__name__, "mp." + type(self).__name__)}
                if type_name in ("Semaphore", "BoundedSemaphore"):
                    a["value"] = self._semlock._get_value()
                rec.emit("lock.create", "i", obj=obj, loc=rec.user_loc(), a=a)
            except Exception:
                pass
    return __init__


def _wrap_make_name(orig):
    def _make_name():
        name = orig()
        if getattr(_tls, "mark", False):
            # Marks the semaphore of an instrumented lock so a spawn child recognises it (see doc).
            head, sep, tail = name.rpartition("-")
            name = head + _MARK + sep + tail if sep else name + _MARK
        return name
    return staticmethod(_make_name)


def _wrap_setstate(orig):
    def __setstate__(self, state):
        orig(self, state)
        try:
            name = state[3] if len(state) > 3 else None
            if name and _MARK + "-" in name and rec.active():
                _instrument(self, _id_from_name(name))
        except Exception:
            pass
    return __setstate__


def _wrap_enter(_orig):
    def __enter__(self):
        if self.__dict__.get("_il_lock"):
            return self.acquire()
        # SemLock.__enter__'s own body (3.9-3.13), not a call to it: every lock multiprocessing takes
        # for itself (a Queue's reader lock on each get) would pay a second Python frame.
        return self._semlock.__enter__()
    return __enter__


def _wrap_exit(_orig):
    def __exit__(self, *args):
        if self.__dict__.get("_il_lock"):
            return self.release()
        return self._semlock.__exit__(*args)
    return __exit__


# ---- Event / Condition / Barrier ----------------------------------------------------------------------
# Recorded as their threading equivalents are (lock.create, sync.wait b/e with what and ok, sync.notify
# with n): a wait from the call to its return, on the waiting process's lane, the set/notify/trip on
# the notifier's. Their ids are derived from the name of one of their semaphores, which every process
# sharing them knows (fork, spawn, forkserver), so no state is added to what is pickled. Calls are
# recorded when the program makes them (its own frame calls them, or Condition.wait_for does): the
# Condition inside an Event or a JoinableQueue and the Event's own waits are machinery.
# A wait's end is linked (corr) to the set / notify_all / trip that woke it, when that happened during
# the wait, in whichever process of the run: the waker writes its corr to the run's wake board, the
# woken process reads it back (mp_util.record_wake / woken_by).
_SYNC_TYPES = {"Event": "mp.Event", "Condition": "mp.Condition", "Barrier": "mp.Barrier"}
_SYNC_FILE = "/multiprocessing/synchronize.py"


def _sync_sem(obj):
    """The semaphore whose name identifies obj: created once with it, pickled with it."""
    t = type(obj).__name__
    if t == "Event" or hasattr(obj, "_flag"):
        return obj._flag
    if hasattr(obj, "_sleeping_count"):
        return obj._sleeping_count                  # Condition
    return obj._cond._sleeping_count                # Barrier: its Condition's


def _sync_id(obj):
    d = obj.__dict__
    i = d.get("_il_sync")
    if i is None:
        try:
            name = _sync_sem(obj)._semlock.name
        except Exception:
            name = None
        i = d["_il_sync"] = derived_id(zlib.crc32(name.encode("utf-8", "replace")), 0x5C) if name else rec.new_id()
    return i


def _from_user():
    """True when the wrapped call was made by the program (not by multiprocessing's own machinery)."""
    try:
        f = sys._getframe(2)
        while f is not None:
            c = rec._classify(f.f_code.co_filename)
            if c == rec._USER:
                return True
            if c == rec._STDLIB:
                if f.f_code.co_name != "wait_for" or not f.f_code.co_filename.endswith(_SYNC_FILE):
                    return False
                # Condition.wait_for's own waits count when the program called wait_for (a
                # threading.Barrier's wait_for on an mp.Barrier's Condition is machinery).
            f = f.f_back
    except Exception:
        pass
    return False


def _recording():
    return rec._active and not rec.is_in_runtime() and _from_user()


def _woke(prim, corr):
    """Remembers a set/notify_all/trip of prim, for the waits it ends (in any process: see mp_util)."""
    record_wake(prim, _sync_id(prim), corr, rec.now(), "_il_last")


def _woken_by(prim, t0):
    return woken_by(prim, _sync_id(prim), t0, "_il_last")


def _waiters(cond):
    try:
        return max(0, cond._sleeping_count._semlock._get_value() - cond._woken_count._semlock._get_value())
    except Exception:
        return None


def _notify(obj, what, n, wakes_all=True):
    try:
        corr = rec.new_id()
        if wakes_all:
            _woke(obj, corr)
        a = {"what": what}
        if n is not None:
            a["n"] = n
        rec.emit("sync.notify", "i", obj=_sync_id(obj), corr=corr, loc=rec.user_loc(), a=a)
    except Exception:
        pass


def _traced_wait(self, what, call, ok_of):
    """Runs call() as a recorded wait of self; ok_of(result) tells whether it succeeded."""
    try:
        obj = _sync_id(self)
        t0 = rec.now()
        rec.emit("sync.wait", "b", obj=obj, loc=rec.user_loc(), ts=t0, a={"what": what})
    except Exception:
        return call()
    ok = False
    ident = _thread.get_ident()
    # Only another process may set, notify or join it: a wait the deadlock watchdog counts as blocked
    # when every process of the run is (an Event whose setter died, a Barrier missing a party).
    dl.remote_wait_begin(ident, "multiprocessing.%s.wait" % type(self).__name__, obj)
    try:
        r = call()
        ok = ok_of(r)
        return r
    finally:
        dl.wait_end(ident)
        try:
            rec.emit("sync.wait", "e", obj=obj, corr=_woken_by(self, t0) if ok else 0, a={"ok": ok})
        except Exception:
            pass


def _wrap_sync_init(orig, type_name):
    def __init__(self, *args, **kwargs):
        orig(self, *args, **kwargs)
        try:
            if rec.active() and not rec.is_in_runtime() and created_by_user(_TRANSPARENT):
                a = {"type": _SYNC_TYPES[type_name]}
                if type_name == "Barrier":
                    a["value"] = self._parties
                rec.emit("lock.create", "i", obj=_sync_id(self), loc=rec.user_loc(), a=a)
        except Exception:
            pass
    return __init__


def _wrap_event_wait(orig):
    def wait(self, timeout=None):
        if not _recording():
            return orig(self, timeout)
        try:
            if self._flag._semlock._get_value() > 0:
                return orig(self, timeout)      # already set: returns at once (threading records none)
        except Exception:
            pass
        return _traced_wait(self, "event", lambda: orig(self, timeout), bool)
    return wait


def _wrap_event_set(orig):
    def set(self):
        if _recording():
            _notify(self, "event", _waiters(self._cond))
        return orig(self)
    return set


def _wrap_cond_wait(orig):
    def wait(self, timeout=None):
        if not _recording():
            return orig(self, timeout)
        return _traced_wait(self, "condition", lambda: orig(self, timeout), bool)
    return wait


def _wrap_cond_notify(orig, wakes_all):
    def notify(self, *args, **kwargs):
        if _recording():
            w = _waiters(self)
            n = w if wakes_all or w is None else min(w, args[0] if args else kwargs.get("n", 1))
            _notify(self, "condition", n, wakes_all)
        return orig(self, *args, **kwargs)
    return notify


def _wrap_barrier_wait(orig):
    def wait(self, timeout=None):
        if not _recording():
            return orig(self, timeout)
        return _traced_wait(self, "barrier", lambda: orig(self, timeout), lambda r: True)
    return wait


def _wrap_barrier_release(orig):
    def _release(self):
        # Runs in the process whose arrival trips the barrier, before any waiter returns.
        if rec._active and not rec.is_in_runtime():
            _notify(self, "barrier", self._parties)
        return orig(self)
    return _release


def _patch_sync_primitives(m, patches):
    for name in ("Event", "Condition", "Barrier"):
        cls = getattr(m, name, None)
        if cls is not None and "__init__" in cls.__dict__:
            patches.set(cls, "__init__", _wrap_sync_init(cls.__dict__["__init__"], name))
    Ev, Co, Ba = getattr(m, "Event", None), getattr(m, "Condition", None), getattr(m, "Barrier", None)
    if Ev is not None:
        patches.set(Ev, "wait", _wrap_event_wait(Ev.wait))
        patches.set(Ev, "set", _wrap_event_set(Ev.set))
    if Co is not None:
        patches.set(Co, "wait", _wrap_cond_wait(Co.wait))
        patches.set(Co, "notify", _wrap_cond_notify(Co.notify, False))
        patches.set(Co, "notify_all", _wrap_cond_notify(Co.notify_all, True))
    if Ba is not None:
        # mp.Barrier subclasses threading.Barrier, which the threading patch may have replaced by its
        # traced class; mp.Barrier never runs that class's __init__, so its per-instance state is
        # absent: class-level zeros leave that layer inert (it records threading Barriers only).
        patches.set(Ba, "_il_obj", 0)
        patches.set(Ba, "_il_corr", 0)
        patches.set(Ba, "wait", _wrap_barrier_wait(Ba.wait))
        patches.set(Ba, "_release", _wrap_barrier_release(Ba._release))


def patch_synchronize(m, patches):
    _patch_sync_primitives(m, patches)
    S = m.SemLock
    patches.set(S, "_make_name", _wrap_make_name(S.__dict__["_make_name"].__func__))
    patches.set(S, "__setstate__", _wrap_setstate(S.__dict__["__setstate__"]))
    patches.set(S, "__enter__", _wrap_enter(S.__dict__["__enter__"]))
    patches.set(S, "__exit__", _wrap_exit(S.__dict__["__exit__"]))
    for name in ("Lock", "RLock", "Semaphore", "BoundedSemaphore"):
        cls = getattr(m, name, None)
        if cls is not None and "__init__" in cls.__dict__:
            patches.set(cls, "__init__", _wrap_lock_init(cls.__dict__["__init__"], name))


# ---- Value / Array ---------------------------------------------------------------------------------
def _shared_id(wrapper):
    sid = wrapper.__dict__.get("_il_shared")
    if sid is None:
        lock_obj = getattr(wrapper.__dict__.get("_lock"), "_il_lock", 0)
        sid = derived_id(lock_obj, 0x5A) if lock_obj else 0
        try:
            wrapper._il_shared = sid
        except Exception:
            pass
    return sid


def _value_property(orig_prop, kind_read="shared.read", kind_write="shared.write"):
    fget, fset = orig_prop.fget, orig_prop.fset

    def get(self):
        v = fget(self)
        if rec._active:
            sid = _shared_id(self)
            if sid:
                rec.emit(kind_read, "i", obj=sid, loc=rec.user_loc(), a={"preview": rec.preview(v)})
        return v

    def set_(self, value):
        fset(self, value)
        if rec._active:
            sid = _shared_id(self)
            if sid:
                rec.emit(kind_write, "i", obj=sid, loc=rec.user_loc(), a={"preview": rec.preview(value)})
    return property(get, set_, orig_prop.fdel, orig_prop.__doc__)


def _index_arg(i):
    if isinstance(i, int):
        return i
    if isinstance(i, slice):
        return "%s:%s" % ("" if i.start is None else i.start, "" if i.stop is None else i.stop)
    return None


def _wrap_getitem(orig):
    def __getitem__(self, i):
        v = orig(self, i)
        if rec._active:
            sid = _shared_id(self)
            if sid:
                rec.emit("shared.read", "i", obj=sid, loc=rec.user_loc(), a={"preview": rec.preview(v), "index": _index_arg(i)})
        return v
    return __getitem__


def _wrap_setitem(orig):
    def __setitem__(self, i, value):
        orig(self, i, value)
        if rec._active:
            sid = _shared_id(self)
            if sid:
                rec.emit("shared.write", "i", obj=sid, loc=rec.user_loc(),
                         a={"preview": rec.preview(value), "index": _index_arg(i)})
    return __setitem__


def _wrap_factory(orig, type_name):
    def factory(typecode_or_type, *args, **kwargs):
        result = orig(typecode_or_type, *args, **kwargs)
        try:
            if rec.active() and hasattr(result, "_lock"):
                sid = _shared_id(result)
                if sid:
                    a = {"type": type_name}
                    if isinstance(typecode_or_type, str):
                        a["typecode"] = typecode_or_type
                    rec.emit("shared.create", "i", obj=sid, loc=rec.user_loc(), a=a)
        except Exception:
            pass
        return result
    factory.__doc__ = orig.__doc__
    factory.__name__ = orig.__name__
    return factory


def patch_sharedctypes(m, patches):
    patches.set(m, "Value", _wrap_factory(m.Value, "Value"))
    patches.set(m, "Array", _wrap_factory(m.Array, "Array"))
    # synchronized() builds its wrapper classes from these: patch the classes themselves.
    Sy = m.Synchronized
    if isinstance(Sy.__dict__.get("value"), property):
        patches.set(Sy, "value", _value_property(Sy.__dict__["value"]))
    SA = m.SynchronizedArray
    patches.set(SA, "__getitem__", _wrap_getitem(SA.__dict__["__getitem__"]))
    patches.set(SA, "__setitem__", _wrap_setitem(SA.__dict__["__setitem__"]))
    SS = getattr(m, "SynchronizedString", None)
    if SS is not None:
        for attr in ("value", "raw"):
            if isinstance(SS.__dict__.get(attr), property):
                patches.set(SS, attr, _value_property(SS.__dict__[attr]))


# ---- Manager proxies ---------------------------------------------------------------------------------
def _proxy_id(token):
    try:
        addr = token.address
        addr = addr if isinstance(addr, str) else repr(addr)
        return derived_id(zlib.crc32(("%s|%s" % (addr, token.id)).encode()), 0x3A)
    except Exception:
        return 0


def _wrap_callmethod(orig):
    def _callmethod(self, methodname, args=(), kwds={}):
        if not rec._active or rec.is_in_runtime():
            return orig(self, methodname, args, kwds)
        obj = _proxy_id(self._token)
        a = {"method": methodname}
        if args:
            a["preview"] = rec.preview(args if len(args) != 1 else args[0])
        rec.emit("manager.call", "b", obj=obj, loc=rec.user_loc(), a=a)
        ok = False
        try:
            r = orig(self, methodname, args, kwds)
            ok = True
            return r
        finally:
            rec.emit("manager.call", "e", obj=obj, a=None if ok else {"error": True})
    return _callmethod


def _wrap_create(orig):
    def _create(self, typeid, *args, **kwargs):
        result = orig(self, typeid, *args, **kwargs)
        try:
            if rec.active():
                token = result[0]
                rec.emit("shared.create", "i", obj=_proxy_id(token), loc=rec.user_loc(),
                         a={"type": "Manager.%s" % typeid})
        except Exception:
            pass
        return result
    return _create


def patch_managers(m, patches):
    patches.set(m.BaseProxy, "_callmethod", _wrap_callmethod(m.BaseProxy.__dict__["_callmethod"]))
    patches.set(m.BaseManager, "_create", _wrap_create(m.BaseManager.__dict__["_create"]))
