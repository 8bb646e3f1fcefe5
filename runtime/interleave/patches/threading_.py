"""Instruments `threading`: thread lifecycles, Lock/RLock/Condition/Semaphore/Event/Barrier, threading.local.

Decisions made once, at creation (rec.called_from_stdlib): primitives the standard library creates for
its own machinery (the Condition inside queue.Queue, the locks inside Thread) stay raw C objects; user
primitives become thin Python wrappers. Every wrapper tries a non-blocking acquire first: an
uncontended operation costs a few attribute writes (recorded individually while the per-object budget
lasts, then counted into aggregate buckets); a contended one is recorded exactly as a `lock.wait`
interval followed by a `lock.hold` interval, and registered with the deadlock watchdog.
"""
import sys
import threading
import time
import _thread
from itertools import islice
from collections import deque

from .. import recorder as rec
from .. import deadlock as dl
from ..cpu import thread_ended as _cpu_thread_ended
from . import time_ as _time_patch

_emit = rec.emit
_emit_obj = rec.emit_obj
_emit_span = rec.emit_span
_user_loc = rec.user_loc
_dl_acquired = dl.acquired
_dl_released = dl.released
_held = dl._held            # (cleared in place in fork children, never rebound)
_held_get = _held.get
_loc_get = rec._loc_cache.get
_getframe = sys._getframe
_BUFFER_HIGH = rec.BUFFER_HIGH
_mono_ns = time.monotonic_ns
_thread_time_ns = time.thread_time_ns
_EPOCH = rec._EPOCH
_HOLD = rec._CODES["lock.hold"]
_PH_X_NS, _PH_E_NS = rec.PH_X_NS, rec.PH_E_NS
_now = rec.now
_new_id = rec.new_id
_get_ident = _thread.get_ident
_get_native_id = _thread.get_native_id
_raw_lock = _thread.allocate_lock

_orig = {}
_installed = False
_full = False          # full mode (set at install): budgets never run out
_rtls = rec._tls       # (cleared in place in fork children, never rebound)
#: python ident -> native tid of every thread that ran while we were installed (shared with the recorder).
native_of = rec.native_of
_BIG = 1 << 62


#: The main thread never blocks indefinitely inside our wrappers: it waits in slices. CPython runs a
#: signal handler when the main thread's blocking call is interrupted; a signal that arrives just
#: before the call blocks (a window our extra threads make wider) would leave a plain wait() stuck
#: forever, so Ctrl-C/SIGTERM would sometimes not stop a traced program. Waiting in slices re-checks
#: pending signals; the program sees the same results (only a wait that ends is reported as ended).
SLICE = 0.2
_main_ident = _thread.get_ident()


def forever_in_main(timeout):
    """True when a wait with this timeout must be sliced (no timeout, in the main thread)."""
    return (timeout is None or timeout < 0) and _get_ident() == _main_ident


def _sliced_wait(wait, timeout):
    """wait(timeout) -> bool, made of SLICE-long waits where forever_in_main says so."""
    if not forever_in_main(timeout):
        return wait(timeout)
    ok = False
    while not ok:
        ok = wait(SLICE)
    return ok


# The standard library's own methods, as the classes had them before any patch: where a wrapped class
# still has one of these, its sliced forms below may follow the same steps.
_STD_COND_WAIT = threading.Condition.wait
_STD_EVENT_WAIT = threading.Event.wait
_STD_SEM_ACQUIRE = threading.Semaphore.acquire


def wait_condition_sliced(cond):
    """cond.wait() with no timeout, in the main thread: threading.Condition.wait's own steps (the same
    in 3.9-3.13), with only the wait for its waiter lock made of SLICE-long waits. Why not slice
    cond.wait() itself: each slice would release and take the condition's lock again, through Python
    code a signal can interrupt; a KeyboardInterrupt between two of those steps left the lock released
    under the program (RuntimeError: release unlocked lock). A plain run opens that window once per
    wait, and so does this."""
    if not cond._is_owned():
        raise RuntimeError("cannot wait on un-acquired lock")
    waiter = _raw_lock()
    waiter.acquire()
    cond._waiters.append(waiter)
    saved_state = cond._release_save()
    gotit = False
    try:    # restore state no matter what (e.g., KeyboardInterrupt)
        while not gotit:
            gotit = waiter.acquire(True, SLICE)
        return True
    finally:
        cond._acquire_restore(saved_state)
        if not gotit:
            try:
                cond._waiters.remove(waiter)
            except ValueError:
                pass


def _event_wait_sliced(event):
    """Event.wait() with no timeout, in the main thread: its own steps, the condition's wait sliced."""
    with event._cond:
        return event._flag or wait_condition_sliced(event._cond)


def _semaphore_acquire_sliced(sem):
    """Semaphore.acquire() with no timeout, in the main thread: its own steps, the condition's wait sliced."""
    with sem._cond:
        while sem._value == 0:
            wait_condition_sliced(sem._cond)
        sem._value -= 1
    return True


def _named_like(cls, ref, base):
    """Finishes a traced class made by a factory below: instances it creates itself are found by
    _new_for through ref, and it reads as the original (name, module)."""
    ref[0] = cls
    cls.__qualname__ = cls.__name__ = base.__name__
    cls.__module__ = "threading"
    return cls


#: A thread that finds a lock taken first gives the GIL away a few times before it blocks on the lock.
#: Why: our wrapper holds the lock across a few bytecodes where CPython may switch threads (a plain
#: `with lock:` holds it across none), so the other thread often finds it taken just because the
#: holder was preempted. Blocking on the C lock then turns into a convoy: every later release wakes
#: the sleeper through the kernel, making a tight loop several times slower. Yielding the GIL lets the
#: preempted holder run on to its release, as it would in the plain program, where the other thread
#: would have been waiting for the GIL rather than for the lock. The wait is still recorded.
SPINS = 3
SPIN_MIN_TIMEOUT = 0.01


def _yield_gil():
    # The original sleep even while time.sleep is instrumented (this yield is ours, not the program's).
    (_time_patch._orig_sleep or time.sleep)(0)


#: A recorded hold's hand-over between its owner ending it and the flusher reporting it live goes
#: through the lock's token list, which holds the open hold's item (t0, tid, loc). Whoever pops the item
#: owns the hold's record (list.pop is one C call, atomic under the GIL): the owner at release emits one
#: X event; the flusher emits a begin, and the owner, finding the token empty, emits the end. Cheaper
#: than a lock on the hot path. Each lock keeps one token list for its life (no list per hold): a
#: flusher that checked one hold's item and then pops the next hold's (the owner ended the first and
#: began the next in between) reports that next hold live with its own data, never another hold's.
HOLD_LIVE_US = 20000

#: Who let a waiter in. A thread that waits for a lock registers (_await_handoff); while one is
#: registered, a recorded hold's release notes when and by which thread it happened (the recorded path
#: is already the slow one). The waiter, once it has the lock, records the release that let it in as a
#: lock.release sharing a corr with its wait's end: the timeline draws the arrow from the releasing
#: thread to the waiter. The waiter records it, not the releaser: only the last release before the
#: acquisition let it in.
#: Counted holds (default mode, past the budget) keep their release untouched: in a tight loop the
#: holder releases thousands of times while the other thread waits (half of all releases in
#: bench/runtime/lock_loop.py), and a note on each cost that loop about 10 %. The waiter tells from the
#: counted run (_run_tid, _run: see _new_run) whether a counted hold came after the last noted
#: release; if so, its thread let the waiter in, at a time only known to be before the waiter got the
#: lock: the release is recorded at the wait's end, marked a.approx.
_hmx = _raw_lock()      # guards the waiter counts (taken by waiters only: the slow path)


def _let_in(prim, obj, since, hts, hby, memo_attr, approx=False):
    """The corr linking a waiter's wait end to the release that let it in: the release at hts
    (monotonic ns) by the thread of ident hby, if it came after `since`, the wait's start. Records that
    release once (approx: its time is the waiter's acquisition, see above); 0 if there was none to link
    (a release that raced with the waiter's registration). Never raises."""
    try:
        tid = native_of.get(hby)
        if hts < since or not tid:
            return 0
        memo = getattr(prim, memo_attr)
        if memo and memo[0] == hts:
            return memo[1]      # one release can let several waiters in (Semaphore.release(n)): shared
        corr = _new_id()
        setattr(prim, memo_attr, (hts, corr))
        _emit("lock.release", "i", obj=obj, corr=corr, ts=(hts - _EPOCH) // 1000, tid=tid,
              a=_APPROX if approx else None)
        return corr
    except Exception:
        return 0


_APPROX = {"approx": True}


def report_open_holds(final=False):
    """Called by the flusher (and at exit, final=True): emits the begin of every recorded hold that has
    lasted HOLD_LIVE_US (every open one when final), so that a lock held for long, or forever in a
    deadlock, shows while it is held; its owner then ends it with an end event instead of one X."""
    # (a hold's t0 is a raw monotonic_ns() reading: see TracedLock.__exit__)
    limit = _BIG if final else _mono_ns() - HOLD_LIVE_US * 1000
    for held in list(dl.held_lists()):
        for prim, _loc in list(held):
            tok = getattr(prim, "_tok", None)
            try:
                if not tok or tok[0][0] > limit:
                    continue
                t0, tid, loc = tok.pop()
            except IndexError:
                continue   # its owner has just ended it
            _emit_obj(_HOLD, "b", prim._obj, tid, loc, (t0 - _EPOCH) // 1000)


def _valid_timeout(blocking, timeout):
    """False for the arguments the C lock rejects (it raises; we let it, with its own message)."""
    try:
        return bool(blocking) and (timeout == -1 or 0 <= timeout <= _thread.TIMEOUT_MAX)
    except TypeError:
        return False


def _budget0():
    return _BIG if rec.mode() == "full" else rec.BUDGET


_code_class_get = rec._code_class.get    # (cleared in place, never rebound)
_RUNTIME, _STDLIB = rec._RUNTIME, rec._STDLIB


def _user_created():
    # Frames: _user_created <- factory/__init__ <- caller. Recording off while the runtime itself works.
    # rec.active(), rec.is_in_runtime() and rec.called_from_stdlib(2), inlined: every Condition, Lock
    # and Event the standard library creates (one Condition and RLock per Future) asks this.
    if not rec._active or rec._tls.busy:
        return False
    try:
        f = _getframe(2)
        while f is not None:
            cc = _code_class_get(id(f.f_code))
            c = cc[1] if cc is not None else rec.code_class(f.f_code)
            if c != _RUNTIME:
                return c != _STDLIB
            f = f.f_back
    except Exception:
        pass
    return True


def _register_counter(prim):
    dl.register(prim)


_native = rec.native_tid


def _new_for(cls_ref, plain_args=None):
    """__new__ for patched classes: the standard library's own instances are plain originals (no
    overhead at all); user instances (and every subclass instance) get the traced class.
    plain_args(args) -> the arguments for a plain original, where they differ (see Condition)."""
    def __new__(cls, *args, **kwargs):
        base = cls_ref[1]
        if cls is cls_ref[0] and not _user_created():
            inst = base.__new__(base)
            if plain_args is not None and not kwargs:
                args = plain_args(args)
            inst.__init__(*args, **kwargs)
            return inst
        inst = base.__new__(cls)
        inst._il_user = cls is cls_ref[0] or _user_created()
        return inst
    return __new__


# ---------------------------------------------------------------------------------------------------
# Lock
# ---------------------------------------------------------------------------------------------------
class TracedLock(object):
    """A user Lock: the same behaviour as _thread.lock, with wait and hold recorded."""
    __slots__ = ("_lk", "_acq", "_rel", "_obj", "_owner", "_rec", "_bud", "_cnt", "_run_tid", "_run", "_ver",
                 "_otid", "_tok", "_hw", "_hts", "_hby", "_hrun", "_hcorr", "__weakref__")
    _type = "Lock"

    def __init__(self, lk=None):
        lk = lk if lk is not None else _raw_lock()
        self._lk = lk
        self._acq = lk.acquire
        self._rel = lk.release
        self._obj = _new_id()
        self._owner = None
        self._rec = False
        self._bud = _budget0()
        self._cnt = {}          # counted holds: thread ident -> holds, up to the current run (see _new_run)
        self._run_tid = 0       # no run yet (thread idents are never 0)
        self._run = 0
        self._ver = 0
        self._otid = 0
        self._tok = []
        self._hw = 0            # threads waiting for it (see _await_handoff)
        self._hts = 0           # the last release noted for them: monotonic ns, thread ident,
        self._hby = 0           # and the counted run as it was then
        self._hrun = None
        self._hcorr = None      # (hts, corr) of the last release recorded (see _let_in)
        _emit("lock.create", "i", obj=self._obj, loc=rec.user_loc(2), a={"type": self._type})
        dl.register(self)

    def acquire(self, blocking=True, timeout=-1):
        if timeout != -1 and not _valid_timeout(blocking, timeout):
            return self._acq(blocking, timeout)  # raises exactly as the C lock does
        if self._acq(False):
            ident = _get_ident()
            self._owner = ident
            if ident == self._run_tid:
                self._run += 1       # counted: see _new_run
            elif self._bud > 0:
                self._bud -= 1
                self._recorded_hold(ident, None)
            else:
                self._new_run(ident)
            return True
        if not blocking:
            _emit("lock.fail", "i", obj=self._obj, loc=rec.user_loc(1))
            return False
        return self._contended(timeout)

    def __enter__(self):
        # acquire() without arguments, kept lean: `with lock:` is the hot path. The thread id is
        # read before the lock is taken and the count avoids calls, so that no bytecode where
        # CPython may switch threads runs while the lock is held and not yet counted.
        ident = _get_ident()
        if self._acq(False):
            self._owner = ident
            if ident == self._run_tid:
                self._run += 1       # counted (default mode, budget spent): see _new_run
            elif self._bud > 0:
                if not _full:
                    self._bud -= 1       # (full mode: never runs out; no new int per hold)
                # _recorded_hold, inlined (in full mode this is every `with lock:`): the caller's
                # location from the cache user_loc fills (a hit is always a user frame: the cache
                # keeps only those, and keeps their code objects alive), the deadlock registry's
                # common case (holding nothing else) done here.
                try:
                    self._otid = tid = _rtls.tid    # recorder.native_id(), inlined
                except AttributeError:
                    self._otid = tid = rec.native_id()
                f = _getframe(1)
                loc = _loc_get((id(f.f_code), f.f_lasti)) or _user_loc(1)
                held = _held_get(ident)
                if held:
                    _dl_acquired(ident, self, loc)
                elif held is None:
                    _held[ident] = [(self, loc)]
                else:
                    held.append((self, loc))
                self._tok.append((_mono_ns(), tid, loc))      # t0 in ns: see __exit__
                self._rec = True
            else:
                self._new_run(ident)
            return True
        return self._contended(-1)

    def _new_run(self, ident):
        """Counted holds (default mode, budget spent) are counted in runs: consecutive holds by one
        thread add one to an int; a hold by another thread moves the run into the per-thread totals
        and starts a new one. Why: a per-thread dict update on every hold cost about a third of an
        uncontended `with lock:` (65 of 190 ns over the plain lock), and runs are long, as threads
        take turns at the interpreter's switch interval. Only the lock's holder writes the run (the
        lock itself excludes the others); counts() reads it consistently by the version, odd while
        a run changes hands."""
        self._ver += 1
        prev = self._run_tid
        if prev:
            c = self._cnt
            c[prev] = c.get(prev, 0) + self._run
        self._run_tid = ident
        self._run = 1
        self._ver += 1

    def _recorded_hold(self, ident, loc):
        # Nothing is emitted yet: a hold is usually short and is recorded as one X event when it ends
        # (half the events of a begin/end pair). One that lasts is reported live by the flusher
        # (report_open_holds), and then ends with an end event.
        self._otid = rec.native_id()
        loc = loc if loc is not None else _user_loc(2)
        self._tok.append((_mono_ns(), self._otid, loc))       # t0 in ns: see __exit__
        self._rec = True
        _dl_acquired(ident, self, loc)

    def _claim_hold(self):
        """Ends the recorded hold's life as a candidate for live reporting (before the lock is released,
        so that nothing of the next owner's hold is read): (was it reported live, t0, tid, loc)."""
        self._rec = False
        try:
            t0, tid, loc = self._tok.pop()
            return False, t0, tid, loc
        except IndexError:
            return True, 0, self._otid, None     # a live hold's end needs only its owner's tid

    def _end_hold(self, owner, claimed):
        live, t0, tid, loc = claimed
        if live:
            _emit_obj(_HOLD, "e", self._obj, tid)
        else:
            _emit_span(_HOLD, (t0 - _EPOCH) // 1000, tid, self._obj, loc)
        dl.released(owner, self)

    def _await_handoff(self):
        """A thread starts waiting for the lock: recorded releases are noted from now on (see _hmx).
        Returns the wait's start (monotonic ns) for _handed."""
        since = _mono_ns()      # before the count: every release that sees it is later
        with _hmx:
            self._hw += 1
        return since

    def _handed(self, since, ok):
        """The waiter stops waiting (ok: it has the lock): the corr of the release that let it in, or 0."""
        with _hmx:
            self._hw -= 1
        if not ok:
            return 0
        if self._hrun != (self._run_tid, self._run):
            # A counted hold came after the last noted release: its thread let the waiter in (see _hmx).
            # (Unless that is the waiter's own run from before: then the release was not noted.)
            if self._run_tid == _get_ident():
                return 0
            return _let_in(self, self._obj, since, _mono_ns(), self._run_tid, "_hcorr", True)
        return _let_in(self, self._obj, since, self._hts, self._hby, "_hcorr")

    def _note_release(self, ident):
        """A recorded release while a thread waits (see _hmx)."""
        self._hby = ident
        self._hts = _mono_ns()
        self._hrun = (self._run_tid, self._run)

    def _contended(self, timeout):
        ident = _get_ident()
        t0 = _now()
        obj = self._obj
        since = self._await_handoff()
        # Who held it as the wait began (its thread's kernel id), exactly: past its budget the holder's
        # own hold is only counted, so the timeline could not tell from the holds.
        holder = native_of.get(self._owner)
        if timeout is None or timeout < 0 or timeout > SPIN_MIN_TIMEOUT:
            for _ in range(SPINS):
                _yield_gil()
                if self._acq(False):
                    self._owner = ident
                    loc = rec.user_loc(2)
                    a = {"ok": True}
                    if holder:
                        a["holder"] = holder
                    corr = self._handed(since, True)
                    _emit("lock.wait", "X", obj=obj, corr=corr, loc=loc, ts=t0, dur=_now() - t0, a=a)
                    self._recorded_hold(ident, loc)
                    return True
            if timeout is not None and timeout >= 0:
                timeout = max(0.0, timeout - (_now() - t0) / 1e6)
        loc = rec.user_loc(2)
        _emit("lock.wait", "b", obj=obj, loc=loc, ts=t0, a={"holder": holder} if holder else None)
        dl.wait_begin(ident, self, timeout is None or timeout < 0)
        ok = False
        try:
            ok = _sliced_wait(lambda t: self._acq(True, t), timeout)
        finally:
            dl.wait_end(ident)
            a = {"ok": ok}
            if not ok and timeout is not None and timeout >= 0:
                a["timeout"] = True
            corr = self._handed(since, ok)
            _emit("lock.wait", "e", obj=obj, corr=corr, a=a)
        if ok:
            self._owner = ident
            self._recorded_hold(ident, loc)
        else:
            _emit("lock.fail", "i", obj=obj, loc=loc, a={"timeout": timeout})
        return ok

    def release(self):
        # Not self.__exit__: TracedRLock's __exit__ calls its release(), which ends here.
        return TracedLock.__exit__(self, None, None, None)

    def __exit__(self, t, v, tb):
        # release() for `with lock:` (the hot path; release() above calls this).
        if not self._rec:
            self._owner = None
            self._rel()  # a C lock only fails here when it is not locked, so there is no owner to restore
            return
        owner = self._owner
        # _claim_hold, inlined: this is every recorded hold's end.
        self._rec = False
        if self._hw:
            # _note_release, inlined: in a tight loop a thread waits through about half the releases.
            # (A Lock may be released by another thread than its owner: the releaser is noted.)
            self._hby = _get_ident()
            self._hts = _mono_ns()
            self._hrun = (self._run_tid, self._run)
        tok = self._tok
        try:
            t0, tid, loc = tok.pop()
            live = False
        except IndexError:
            # The flusher reported it live (report_open_holds): its end needs only the owner's tid.
            t0, tid, loc = 0, self._otid, None
            live = True
        self._owner = None
        try:
            self._rel()
        except BaseException:
            self._owner, self._rec = owner, True
            if not live:
                tok.append((t0, tid, loc))
            raise
        # emit_span / emit_obj and the deadlock registry's release, inlined. Times stay raw monotonic_ns()
        # readings (the record says so, and the collector converts): two multi-digit integer operations
        # fewer per hold than µs since the epoch.
        try:
            if rec._active:
                ts = _mono_ns()
                if live:
                    rec._append(rec.pack(_HOLD, _PH_E_NS, ts, tid, self._obj, 0, 0, 0, 0))
                else:
                    rec._append(rec.pack(_HOLD, _PH_X_NS, t0, tid, self._obj, 0,
                                         (rec._strings.get(loc) or rec._intern(loc)) if loc else 0, ts - t0, 0))
                if len(rec._buf) > _BUFFER_HIGH:
                    rec._backpressure()
        except Exception:
            pass
        held = _held_get(owner)
        if held and held[-1][0] is self:
            held.pop()
        else:
            _dl_released(owner, self)

    def locked(self):
        return self._lk.locked()

    def _is_owned(self):
        # Condition(Lock()) semantics: "owned" means locked by anyone (as Condition's own fallback).
        return self._lk.locked()

    def _at_fork_reinit(self):
        self._lk._at_fork_reinit()
        self._owner = None
        self._rec = False
        self._tok = []
        self._hw = self._hts = self._hby = 0
        self._hrun = self._hcorr = None

    def counts(self):
        """[(thread ident, counted holds so far)], the current run included (see _new_run)."""
        for _ in range(1000):
            v = self._ver
            totals = dict(self._cnt)
            tid, n = self._run_tid, self._run
            if v == self._ver and not v & 1:
                if tid:
                    totals[tid] = totals.get(tid, 0) + n
                return list(totals.items())
            _yield_gil()        # a run is changing hands in another thread: let it finish
        return None

    def _reset_counts(self):
        """A fork child starts counting afresh (the parent reports its own counts; a run that was
        changing hands in another thread when the program forked is gone with that thread)."""
        self._cnt = {}
        self._run_tid = 0
        self._run = 0
        self._ver = 0

    def __repr__(self):
        return "<%s %s object owner=%r at %s>" % (
            "locked" if self._lk.locked() else "unlocked", "_thread.lock", self._owner, hex(id(self)))


def _no_direct_instances(cls, *args, **kwargs):
    # type(threading.Lock())() raises for the C lock (bpo-43916); so does ours.
    raise TypeError("cannot create '_thread.lock' instances")


# Named like the C types, so that type(lock) reads as it does without the tracer.
TracedLock.__new__ = staticmethod(_no_direct_instances)
TracedLock.__name__ = TracedLock.__qualname__ = "lock"
TracedLock.__module__ = "_thread"


def Lock(*args, **kwargs):
    # (_user_created and user_loc look past this package's own frames, so a helper frame is harmless.)
    if args or kwargs or not _user_created():
        return _raw_lock(*args, **kwargs)
    try:
        lk = object.__new__(TracedLock)
        lk.__init__()
        return lk
    except Exception:
        return _raw_lock()


class _LockTypeMeta(type):
    # isinstance(x, threading.Lock) holds for plain and traced locks alike.
    def __instancecheck__(cls, inst):
        return isinstance(inst, (_orig["Lock"], TracedLock))

    def __subclasscheck__(cls, sub):
        return isinstance(sub, type) and issubclass(sub, (_orig["Lock"], TracedLock))


class LockType(metaclass=_LockTypeMeta):
    """threading.Lock when the original is a type (Python 3.13+, where `isinstance(x, threading.Lock)`
    works): the same as Lock() above, in a class, so that the program can still use it as a type."""

    def __new__(cls, *args, **kwargs):
        return Lock(*args, **kwargs)


LockType.__name__ = LockType.__qualname__ = "lock"
LockType.__module__ = "_thread"


# ---------------------------------------------------------------------------------------------------
# RLock
# ---------------------------------------------------------------------------------------------------
class TracedRLock(TracedLock):
    __slots__ = ("_depth", "_nested")
    _type = "RLock"

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self):
        self._depth = 0
        self._nested = []   # per recursion level above 1: was its hold recorded?
        TracedLock.__init__(self, _orig["RLock"]())

    def acquire(self, blocking=True, timeout=-1):
        if timeout != -1 and not _valid_timeout(blocking, timeout):
            return self._acq(blocking, timeout)  # raises exactly as the C RLock does
        ident = _get_ident()
        if self._owner == ident:
            self._acq()
            self._depth += 1
            recd = self._rec and self._bud > 0
            if recd:
                self._bud -= 1
                _emit("lock.hold", "b", obj=self._obj, loc=rec.user_loc(1), tid=self._otid, a={"depth": self._depth})
            self._nested.append(recd)
            return True
        if self._acq(False):
            self._owner = ident
            self._depth = 1
            if ident == self._run_tid:
                self._run += 1       # counted: see _new_run
            elif self._bud > 0:
                self._bud -= 1
                self._recorded_hold(ident, None)
            else:
                self._new_run(ident)
            return True
        if not blocking:
            _emit("lock.fail", "i", obj=self._obj, loc=rec.user_loc(1))
            return False
        ok = self._contended(timeout)
        if ok:
            self._depth = 1
        return ok

    __enter__ = acquire

    def release(self):
        if self._owner != _get_ident():
            self._rel()  # raises "cannot release un-acquired lock" exactly as the C RLock does
            return
        if self._depth > 1:
            self._rel()
            self._depth -= 1
            if self._nested and self._nested.pop():
                _emit("lock.hold", "e", obj=self._obj, tid=self._otid)
            return
        self._depth = 0
        TracedLock.release(self)

    def __exit__(self, t, v, tb):
        self.release()

    def _is_owned(self):
        return self._lk._is_owned()

    def _release_save(self):
        owner = self._owner
        claimed = self._claim_hold() if self._rec else None
        if self._hw:
            self._note_release(owner)     # a thread waits for it (see _hmx)
        tid = self._otid
        state = self._lk._release_save()
        depth = self._depth
        nested = self._nested
        self._owner = None
        self._depth = 0
        self._nested = []
        for n in nested:
            if n:
                _emit("lock.hold", "e", obj=self._obj, tid=tid)
        if claimed is not None:
            self._end_hold(owner, claimed)
        return (state, depth)

    def _acquire_restore(self, saved):
        state, depth = saved
        since = self._await_handoff()
        t0 = _now()     # (after: the registration is not part of the wait)
        try:
            self._lk._acquire_restore(state)
        except BaseException:
            self._handed(since, False)
            raise
        t1 = _now()
        ident = _get_ident()
        self._owner = ident
        self._depth = depth
        self._nested = [False] * (depth - 1)
        corr = self._handed(since, t1 - t0 > 20)
        if t1 - t0 > 20:
            _emit("lock.wait", "X", obj=self._obj, corr=corr, ts=t0, dur=t1 - t0, a={"ok": True})
        self._recorded_hold(ident, None)

    def _recursion_count(self):
        return self._depth if self._owner == _get_ident() else 0

    def __repr__(self):
        return "<%s %s.%s object owner=%r count=%d at %s>" % (
            "locked" if self._owner else "unlocked", "_thread", "RLock", self._owner, self._depth, hex(id(self)))


Lock.__module__ = "threading"


def RLock(*args, **kwargs):
    if args or kwargs or not _user_created():
        return _orig["RLock"](*args, **kwargs)
    try:
        return TracedRLock()
    except Exception:
        return _orig["RLock"]()


RLock.__module__ = "threading"
TracedRLock.__name__ = TracedRLock.__qualname__ = "RLock"
TracedRLock.__module__ = "_thread"
RLock.__doc__ = threading.RLock.__doc__ if callable(threading.RLock) else None


# ---------------------------------------------------------------------------------------------------
# Condition
# ---------------------------------------------------------------------------------------------------
class _Waiters(deque):
    """Condition._waiters that remembers which waiter lock each thread queued (to link notify -> wait)."""
    __slots__ = ("current",)

    def append(self, w):
        deque.append(self, w)
        self.current[_get_ident()] = w


def _make_condition_class(base):
    ref = [None, base]

    def plain_args(args):
        # The standard library's Condition() (one per Future, per Queue) gets its RLock straight from
        # the C type: through threading.RLock it would ask _user_created() a second time.
        return args if args and args[0] is not None else (_orig["RLock"](),)

    class Condition(base):
        __new__ = _new_for(ref, plain_args)

        def __init__(self, lock=None):
            self._il_obj = 0
            if getattr(self, "_il_user", False) and rec._active:
                try:
                    if lock is None:
                        lock = TracedRLock()
                    base.__init__(self, lock)
                    w = _Waiters(self._waiters)
                    w.current = {}
                    self._waiters = w
                    self._il_woken = {}
                    self._il_obj = _new_id()
                    a = {"type": "Condition"}
                    lo = getattr(lock, "_obj", None)
                    if lo:
                        a["lock"] = lo
                    _emit("lock.create", "i", obj=self._il_obj, loc=rec.user_loc(1), a=a)
                    dl.register_waitable(self)
                    return
                except Exception:
                    pass
            base.__init__(self, lock)

        def wait(self, timeout=None):
            obj = self._il_obj
            if not obj:
                return base.wait(self, timeout)
            ident = _get_ident()
            _emit("sync.wait", "b", obj=obj, loc=rec.user_loc(1), a={"what": "condition"})
            dl.wait_begin(ident, self, timeout is None)
            ok = False
            try:
                if forever_in_main(timeout) and base.wait is _STD_COND_WAIT:
                    ok = wait_condition_sliced(self)
                elif forever_in_main(timeout):
                    while not ok:
                        ok = base.wait(self, SLICE)
                        if not ok:
                            self._il_woken.pop(self._waiters.current.pop(ident, None), None)
                else:
                    ok = base.wait(self, timeout)
            finally:
                dl.wait_end(ident)
                w = self._waiters.current.pop(ident, None)
                corr = self._il_woken.pop(w, 0) if w is not None else 0
                _emit("sync.wait", "e", obj=obj, corr=corr, a={"ok": bool(ok)})
            return ok

        def notify(self, n=1):
            obj = self._il_obj
            if not obj or not self._is_owned():
                return base.notify(self, n)
            targets = list(islice(self._waiters, n)) if n > 0 else []
            if targets or rec.budget(obj):
                corr = _new_id() if targets else 0
                for w in targets:
                    self._il_woken[w] = corr
                _emit("sync.notify", "i", obj=obj, corr=corr, loc=rec.user_loc(1),
                      a={"what": "condition", "n": len(targets)})
            return base.notify(self, n)

    return _named_like(Condition, ref, base)


# ---------------------------------------------------------------------------------------------------
# Semaphore / BoundedSemaphore
# ---------------------------------------------------------------------------------------------------
def _make_semaphore_class(base, type_name):
    ref = [None, base]

    class Semaphore(base):
        __new__ = _new_for(ref)

        def __init__(self, value=1):
            base.__init__(self, value)
            self._il_obj = 0
            if getattr(self, "_il_user", False) and rec._active:
                self._il_obj = _new_id()
                self._il_holds = {}
                self._il_bud = _budget0()
                self._il_hw = self._il_hts = self._il_hby = 0     # see _hmx
                self._il_hcorr = None
                _emit("lock.create", "i", obj=self._il_obj, loc=rec.user_loc(1), a={"type": type_name, "value": value})
                dl.register_waitable(self)

        def acquire(self, blocking=True, timeout=None):
            obj = self._il_obj
            if not obj or (not blocking and timeout is not None):
                return base.acquire(self, blocking, timeout)  # including its ValueError
            if base.acquire(self, False):
                if self._il_bud > 0:
                    self._il_bud -= 1
                    self._il_hold(rec.user_loc(1))
                else:
                    rec.count(obj, "lock")
                return True
            if not blocking:
                _emit("lock.fail", "i", obj=obj, loc=rec.user_loc(1))
                return False
            ident = _get_ident()
            loc = rec.user_loc(1)
            _emit("lock.wait", "b", obj=obj, loc=loc)
            since = _mono_ns()
            with _hmx:
                self._il_hw += 1       # its releases are noted from now on (see _hmx)
            dl.wait_begin(ident, self, timeout is None)
            ok = False
            try:
                if forever_in_main(timeout) and base.acquire is _STD_SEM_ACQUIRE:
                    ok = _semaphore_acquire_sliced(self)
                else:
                    ok = _sliced_wait(lambda t: base.acquire(self, True, t), timeout)
            finally:
                dl.wait_end(ident)
                with _hmx:
                    self._il_hw -= 1
                a = {"ok": bool(ok)}
                if not ok:
                    a["timeout"] = True
                corr = _let_in(self, obj, since, self._il_hts, self._il_hby, "_il_hcorr") if ok else 0
                _emit("lock.wait", "e", obj=obj, corr=corr, a=a)
            if ok:
                self._il_hold(loc)
            else:
                _emit("lock.fail", "i", obj=obj, loc=loc, a={"timeout": timeout})
            return ok

        __enter__ = acquire

        def _il_hold(self, loc):
            tid = rec.native_id()
            h = self._il_holds
            h[tid] = h.get(tid, 0) + 1
            _emit("lock.hold", "b", obj=self._il_obj, loc=loc, tid=tid)

        def release(self, n=1):
            obj = self._il_obj
            if obj and self._il_hw:
                # A thread waits (see _hmx). Noted before the release wakes it; under the
                # semaphore's own lock, so two releases' notes cannot mix.
                with self._cond:
                    self._il_hby = _get_ident()
                    self._il_hts = _mono_ns()
            r = base.release(self, n)
            if obj:
                h = self._il_holds
                tid = rec.native_id()
                for _ in range(n):
                    if not h:
                        break
                    t = tid if h.get(tid) else next(iter(h))
                    h[t] -= 1
                    if not h[t]:
                        del h[t]
                    _emit("lock.hold", "e", obj=obj, tid=t)
            return r

        def __exit__(self, t, v, tb):
            self.release()

    return _named_like(Semaphore, ref, base)


# ---------------------------------------------------------------------------------------------------
# Event / Barrier
# ---------------------------------------------------------------------------------------------------
def _make_event_class(base):
    ref = [None, base]

    class Event(base):
        __new__ = _new_for(ref)

        def __init__(self):
            base.__init__(self)
            self._il_obj = 0
            self._il_corr = 0
            if getattr(self, "_il_user", False) and rec._active:
                self._il_obj = _new_id()
                _emit("lock.create", "i", obj=self._il_obj, loc=rec.user_loc(1), a={"type": "Event"})
                dl.register_waitable(self)

        def set(self):
            obj = self._il_obj
            if obj:
                corr = self._il_corr = _new_id()
                n = len(self._cond._waiters)
                _emit("sync.notify", "i", obj=obj, corr=corr, loc=rec.user_loc(1), a={"what": "event", "n": n})
            return base.set(self)

        def wait(self, timeout=None):
            obj = self._il_obj
            if not obj or self._flag:
                return base.wait(self, timeout)
            ident = _get_ident()
            _emit("sync.wait", "b", obj=obj, loc=rec.user_loc(1), a={"what": "event"})
            dl.wait_begin(ident, self, timeout is None)
            ok = False
            try:
                if forever_in_main(timeout) and base.wait is _STD_EVENT_WAIT:
                    ok = _event_wait_sliced(self)
                else:
                    ok = _sliced_wait(lambda t: base.wait(self, t), timeout)
            finally:
                dl.wait_end(ident)
                _emit("sync.wait", "e", obj=obj, corr=self._il_corr if ok else 0, a={"ok": bool(ok)})
            return ok

    return _named_like(Event, ref, base)


def _make_barrier_class(base):
    ref = [None, base]

    class Barrier(base):
        __new__ = _new_for(ref)
        # A subclass that never runs this __init__ (multiprocessing's Barrier) finds an untraced
        # barrier here instead of a missing attribute.
        _il_obj = 0
        _il_corr = 0

        def __init__(self, parties, action=None, timeout=None):
            base.__init__(self, parties, action, timeout)
            self._il_obj = 0
            self._il_corr = 0
            if getattr(self, "_il_user", False) and rec._active:
                self._il_obj = _new_id()
                _emit("lock.create", "i", obj=self._il_obj, loc=rec.user_loc(1), a={"type": "Barrier", "value": parties})
                dl.register_waitable(self)

        def _release(self):
            # Runs in the thread that trips the barrier, under the barrier's lock, before any waiter returns.
            obj = self._il_obj
            if obj:
                corr = self._il_corr = _new_id()
                _emit("sync.notify", "i", obj=obj, corr=corr, loc=rec.user_loc(1),
                      a={"what": "barrier", "n": self._parties})
            return base._release(self)

        def wait(self, timeout=None):
            obj = self._il_obj
            if not obj:
                return base.wait(self, timeout)
            ident = _get_ident()
            _emit("sync.wait", "b", obj=obj, loc=rec.user_loc(1), a={"what": "barrier"})
            dl.wait_begin(ident, self, timeout is None and self._timeout is None)
            ok = False
            try:
                r = base.wait(self, timeout)
                ok = True
                return r
            finally:
                dl.wait_end(ident)
                _emit("sync.wait", "e", obj=obj, corr=self._il_corr if ok else 0, a={"ok": ok})

    return _named_like(Barrier, ref, base)


# ---------------------------------------------------------------------------------------------------
# threading.local
# ---------------------------------------------------------------------------------------------------
_local_ids = {}


def _make_local_class(base):
    import weakref
    ids = weakref.WeakKeyDictionary()

    class local(base):
        __slots__ = ()

        def __setattr__(self, name, value):
            base.__setattr__(self, name, value)
            try:
                if not rec._active or name.startswith("__"):
                    return
                obj = ids.get(self)
                if obj is None:
                    obj = ids[self] = _new_id()
                if rec.budget(obj):
                    _emit("local.bind", "i", obj=obj, loc=rec.user_loc(1),
                          a={"attr": name, "preview": rec.preview(value), "type": type(self).__name__})
                else:
                    rec.count(obj, "local")
            except Exception:
                pass

    local.__qualname__ = local.__name__ = "local"
    local.__module__ = "_thread"
    return local


# ---------------------------------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------------------------------
def _thread_kind(t):
    if isinstance(t, _orig["Timer"]):
        return "timer"
    return getattr(t, "_il_kind", "thread")


def _target_name(t):
    target = getattr(t, "_target", None)
    if target is None:
        if type(t).run is not _orig["Thread"].run:
            return type(t).__qualname__ + ".run"
        return None
    return getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or rec.preview(target, 60)


def _start(self):
    try:
        if rec._active and not rec.is_in_runtime():
            corr = _new_id()
            self._il_corr = corr
            if rec.called_from_stdlib(1):
                self._il_kind = "worker"
            a = {"name": self.name}
            tn = _target_name(self)
            if tn:
                a["target"] = tn
            _emit("thread.spawn", "i", corr=corr, loc=rec.user_loc(1), a=a)
    except Exception:
        pass
    return _orig["start"](self)


def _bootstrap_inner(self):
    corr = getattr(self, "_il_corr", 0)
    recording = False
    try:
        if rec._active and corr:
            recording = True
            native_of[_get_ident()] = _get_native_id()
            a = {"name": self.name, "daemon": self.daemon, "kind": _thread_kind(self)}
            tn = _target_name(self)
            if tn:
                a["target"] = tn
            _emit("thread.run", "b", corr=corr, a=a)
            self._il_error = None
            inv = self._invoke_excepthook

            # The thread comes as the argument (threading calls self._invoke_excepthook(self)): a closure
            # over `self` would be a reference cycle (thread -> hook -> thread), and a finished thread
            # would then live until the cyclic GC ran. Code that relies on finished threads going away at
            # once (concurrent.futures' weak-keyed _threads_wakeups, read again in a fork child) must see
            # them go as in a plain run. The original hook is put back when the thread ends.
            def invoke(thread, _inv=inv):
                try:
                    tp, value, tb = sys.exc_info()
                    if tp is not None:
                        thread._il_error = "%s: %s" % (tp.__name__, value)
                        from .. import boot
                        boot.record_exception(tp, value, tb)
                except Exception:
                    pass
                return _inv(thread)
            self._invoke_excepthook = invoke
    except Exception:
        pass
    try:
        return _orig["_bootstrap_inner"](self)
    finally:
        if recording:
            try:
                if self.__dict__.get("_invoke_excepthook") is invoke:
                    self._invoke_excepthook = inv
            except Exception:
                pass
            try:
                end = self._il_end = _new_id()
                err = getattr(self, "_il_error", None)
                _emit("thread.run", "e", corr=end, a={"error": err} if err else None)
                dl.thread_exit(_get_ident(), self.name)
                _cpu_thread_ended(rec.native_id(), _thread_time_ns())
            except Exception:
                pass


def _join(self, timeout=None):
    if not rec._active or not getattr(self, "_il_corr", 0) or rec.is_in_runtime() or not self._started.is_set():
        return _orig["join"](self, timeout)
    target = self.native_id or 0
    loc = rec.user_loc(1)
    ident = _get_ident()
    _emit("thread.join", "b", loc=loc, a={"target": target})
    dl.wait_begin(ident, self, timeout is None)
    ok = False
    try:
        if forever_in_main(timeout):
            r = None
            while self.is_alive():
                _orig["join"](self, SLICE)
        else:
            r = _orig["join"](self, timeout)
        ok = not self.is_alive()
        return r
    finally:
        dl.wait_end(ident)
        _emit("thread.join", "e", corr=getattr(self, "_il_end", 0) if ok else 0, a={"target": target, "ok": ok})


def _name_setter(self, name):
    _orig["name"].fset(self, name)
    try:
        if rec._active and self._started.is_set() and self.native_id:
            _emit("thread.name", "i", tid=self.native_id, a={"name": str(name)})
    except Exception:
        pass


def _threading_excepthook_recorder():
    pass


# ---------------------------------------------------------------------------------------------------
def install():
    global _installed, _full
    if _installed:
        return
    _full = rec.mode() == "full"
    T = threading
    _orig.update({
        "Lock": T.Lock, "RLock": T.RLock, "Condition": T.Condition, "Semaphore": T.Semaphore,
        "BoundedSemaphore": T.BoundedSemaphore, "Event": T.Event, "Barrier": T.Barrier, "local": T.local,
        "Thread": T.Thread, "Timer": T.Timer, "start": T.Thread.start, "join": T.Thread.join,
        "_bootstrap_inner": T.Thread._bootstrap_inner, "name": T.Thread.__dict__["name"],
    })
    T.Lock = LockType if isinstance(_orig["Lock"], type) else Lock
    T.RLock = RLock
    T.Condition = _make_condition_class(_orig["Condition"])
    T.Semaphore = _make_semaphore_class(_orig["Semaphore"], "Semaphore")
    # BoundedSemaphore keeps its own base class so its release() still checks the bound.
    T.BoundedSemaphore = _make_semaphore_class(_orig["BoundedSemaphore"], "BoundedSemaphore")
    T.Event = _make_event_class(_orig["Event"])
    T.Barrier = _make_barrier_class(_orig["Barrier"])
    T.local = _make_local_class(_orig["local"])
    T.Thread.start = _start
    T.Thread._bootstrap_inner = _bootstrap_inner
    T.Thread.join = _join
    T.Thread.name = property(_orig["name"].fget, _name_setter, doc=_orig["name"].__doc__)
    ident = _get_ident()
    native_of[ident] = _get_native_id()
    mt = T.main_thread()
    if rec._active and mt.ident == ident:
        _emit("thread.name", "i", a={"name": mt.name})
    rec.counter_sources.append(_lock_counts)
    rec.live_reporters.append(report_open_holds)
    rec.on_fork_child(_after_fork_child)
    # threading's own at-fork hook makes an RLock in every fork child, and RLock() asks who creates it:
    # classified once here, the answer is inherited, not worked out again (a path lookup) in each child.
    after_fork = getattr(T, "_after_fork", None)
    if after_fork is not None and hasattr(after_fork, "__code__"):
        rec.code_class(after_fork.__code__)
    _installed = True


def _after_fork_child():
    # The thread that forked is the child's only (main) thread.
    global _main_ident
    _main_ident = _get_ident()
    native_of.clear()
    native_of[_main_ident] = _get_native_id()
    global _hmx
    _hmx = _raw_lock()     # (another thread may have held it at the fork)
    for prim in dl.primitives():
        if isinstance(prim, TracedLock):
            prim._reset_counts()
            # The threads that waited for it are gone with the fork.
            prim._hw = 0
    for prim in dl.waitables():
        if getattr(prim, "_il_hw", 0):
            prim._il_hw = 0


def _lock_counts():
    out = []
    for prim in dl.primitives():
        if isinstance(prim, TracedLock):
            for ident, c in prim.counts() or ():
                out.append((prim._obj, "lock", _native(ident), c, 0))
    return out


def uninstall():
    global _installed
    if not _installed:
        return
    T = threading
    for name in ("Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "Event", "Barrier", "local"):
        setattr(T, name, _orig[name])
    T.Thread.start = _orig["start"]
    T.Thread._bootstrap_inner = _orig["_bootstrap_inner"]
    T.Thread.join = _orig["join"]
    T.Thread.name = _orig["name"]
    try:
        rec.counter_sources.remove(_lock_counts)
        rec.live_reporters.remove(report_open_holds)
    except ValueError:
        pass
    _installed = False
