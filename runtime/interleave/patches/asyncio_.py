"""asyncio: tasks on their own lanes (async.task b/e, each run step, each suspension and what it waited
for), where and by which task each was created, and callbacks or steps that block the loop.

Hooked at two points that every event loop built on asyncio.BaseEventLoop goes through, so user code
and loop.get_task_factory() are unchanged: BaseEventLoop.create_task (creation, parent task) and
events.Handle._run (every callback the loop runs; a task's step is a callback whose __self__ is the
task). Per-task state lives in a dict keyed by the task's id, as an int while it can be (see _states
below).

Cost: Handle._run runs for every callback, so its wrapper is a type test, an attribute read and two
clock reads, and it appends wire tuples itself (a keyword rec.emit call costs about as much as the step
it records). A task's creation and first step are one event (the async.task begin with a.spawnTs and
the creator's loc; readers draw the spawn from it). Default mode records every step until STEP_BUDGET
steps were recorded in the process, then only steps of at least STEP_MIN_US; the others are counted and
the count is reported with the task's end (a.steps). Lifecycles, waits that actually wait and slow
callbacks are always recorded; full mode records every step.
Measured (10,000 tasks x 3 sleep(0), 3.11, in-process, the minimum of 15 alternating runs): 7.8 µs
per task in all, of which about 2.2 µs is the create_task hook, 1.2 the start, 1.0 the end, and 2.9 the
per-callback hook over its five callbacks (two clock reads each: 1 µs). The two hooks alone, recognising
steps and recording nothing, cost 4.6 µs per task: exact task lifecycles through a per-callback hook cost
more than the 1.3x goal allows. What is kept per task is an int, not an object, because every container
alive per pending task makes the cyclic GC collect more often over all of them.

asyncio.Queue put/get become msg.send/msg.recv. Everything recorded on behalf of a running task (its
queue messages, its slow steps) carries `a.task` = that task's obj: all tasks share one thread, and the
timeline only tells them apart (lanes, task -> task arrows) by it.
"""
from time import monotonic_ns as _mono

from interleave import recorder as rec
from interleave.patches.mp_util import Patches, fn_name

#: A callback or task step running longer than this blocks every other task: reported as async.slow.
SLOW_CALLBACK_US = 100_000
#: Default mode records every task step until this many were recorded in the process, then only steps
#: of at least STEP_MIN_US (task lifecycles, waits on futures and slow steps are always recorded).
STEP_BUDGET = 5000
STEP_MIN_US = 50

_SLOW_NS = SLOW_CALLBACK_US * 1000
_STEP_MIN_NS = STEP_MIN_US * 1000
_FULL = rec.mode() == "full"
_step_budget = STEP_BUDGET
#: A step is recorded when it took at least this long: 0 in full mode and while the default budget lasts.
_record_min_ns = 0

_patches = Patches()
_eager = []        # (task, coro, ts) of eager tasks not recorded yet (see create_task)
_Task = None
_current_task = None
_current_task_of = None     # loop -> its running task: 3.9-3.11's current_task(loop) without its Python frame

# asyncio's functions that create a task on their caller's behalf (gather, ensure_future,
# asyncio.create_task, asyncio.run ...): create_task steps over their frames by code identity to find
# its creator's line. user_loc classifies every frame it walks, about 0.6 us for gather's three, a
# tenth of what tracing a whole task costs. The code objects are kept, so their ids stay theirs.
_PASS_CODES = []
_PASS_IDS = frozenset()
_getframe = __import__("sys")._getframe
_loc_get = rec._loc_cache.get       # (cleared in place, never rebound)

# Innermost awaiting coroutine (file suffix, function) -> what the task waits for.
_WHAT = {
    ("tasks.py", "sleep"): "sleep",
    ("tasks.py", "wait_for"): "wait_for",
    ("tasks.py", "wait"): "wait",
    ("tasks.py", "_wait"): "wait",
    ("tasks.py", "as_completed"): "wait",
    ("queues.py", "get"): "queue.get",
    ("queues.py", "put"): "queue.put",
    ("queues.py", "join"): "queue.join",
    ("locks.py", "acquire"): "lock",
    ("locks.py", "wait"): "event",
    ("locks.py", "wait_for"): "condition",
    ("streams.py", "read"): "io",
    ("streams.py", "readline"): "io",
    ("streams.py", "readexactly"): "io",
    ("streams.py", "readuntil"): "io",
    ("streams.py", "drain"): "io",
    ("streams.py", "_wait_for_data"): "io",
    ("base_events.py", "sock_recv"): "io",
    ("base_events.py", "run_in_executor"): "executor",
}


# Per-task state: _states[id(task)], held in an int where it can be.
# Why a dict beside the task, not an attribute on it: the first attribute set on a C task creates the
# task's __dict__, which cost about 2.5 µs per task here (measured in-process, 10,000 tasks x 3 sleep(0)),
# as much as all the rest of recording the task. Why an int: a state object per task is one more
# container the cyclic GC counts while it lives, and a program with thousands of pending tasks pays for
# every extra collection over all of them (10,000 tasks in full mode: the state objects and event tuples
# together brought a second full collection, ~15 ms). Ints are not GC objects.
# An entry goes with the task's end (_finish). A task destroyed while still pending (its loop closed
# under it) leaves its entry; create_task overwrites the entry of any task it makes, so only a task made
# by asyncio.Task(coro) directly at a reused address could meet a stale one (its steps would then be
# drawn on the destroyed task's lane). The value says where the task is, so the per-step path reads one
# entry and tests its type and sign:
#   int > 0                  started, running or ready: the task's obj
#   int < 0                  created, not started yet: -(spawn << _OBJ_BITS | obj), spawn as packed below
#   (obj, wait_from, what[, prim])   suspended on something worth an async.wait when it resumes; prim:
#                            the asyncio Lock/Semaphore/Event/Condition it waits for (see _woken_by)
#   _IGNORED                 asyncio's own machinery (asyncio.run's shutdown_asyncgens ...)
# A task made without create_task (asyncio.Task(coro) called directly) has none: it is met at its first step.
_states = {}
_state_get = _states.get
_IGNORED = "ignored"
_OBJ_BITS = 64     # obj ids are pid * 2**22 + n: far below 2**64
_OBJ_MASK = (1 << _OBJ_BITS) - 1
_US_BITS = 48      # spawn time in µs since the run's epoch: 2**48 µs is 8.9 years
_SID_BITS = 48
_SID_MASK = (1 << _SID_BITS) - 1
_US_MASK = (1 << _US_BITS) - 1
# A task's creation ("spawn"), packed by create_task as ((parent << _SID_BITS | sid) << _US_BITS | spawn_us):
# the creating task's obj or 0, the creator's interned line or 0, µs since the run's epoch (read by _start).


# Default mode, past the budget: obj -> steps counted instead of recorded (reported with the task's
# end, which removes the entry; a task destroyed while pending leaves its count here).
_counted = {}
_tls = rec._tls
_RUNTIME_DIR = __import__("os").path.dirname(__import__("os").path.dirname(__import__("os").path.abspath(__file__)))
_ASYNCIO_DIR = None

# What a callback is (by its type, cached): 1 the C task's step wrapper (its __self__ is the task),
# 2 a bound method (a task's wakeup, or a pure-Python Task's step, or any other method: __self__ tested),
# 0 anything else (a plain function, a partial: only timed). Reading __self__ of a function would raise
# and catch an AttributeError on every callback.
_cb_kind = {}
_cb_kind_get = _cb_kind.get
_STEP_T = None     # the C task's step wrapper type (not exported by _asyncio), learnt from the first step

# ---- the wire tuples, built here for the per-step hot path ---------------------------------------------
# Same layout as recorder.emit builds: (code, ph, ts, tid, obj, corr, sid, dur, a, pid), trailing absent
# fields left out. A keyword rec.emit call costs about as much as the step it records.
_C_TASK = rec._CODES["async.task"]
_C_STEP = rec._CODES["async.step"]
_C_WAIT = rec._CODES["async.wait"]
_C_SLOW = rec._CODES["async.slow"]
_EPOCH = rec._EPOCH
_PH_X_NS, _PH_E_NS, _PH_B = rec.PH_X_NS, rec.PH_E_NS, rec.PH_B
_BUFFER_HIGH = rec.BUFFER_HIGH


_put = rec.put      # one wire tuple, built here (what rec.emit_obj does for its fields)


def _tid():
    try:
        return _tls.tid            # rec.native_id(), inline: get_native_id() is a system call
    except AttributeError:
        return rec.native_id()


def _obj_of(st):
    """The task's obj from any form of its state (0 for none or an ignored task)."""
    t = type(st)
    if t is int:
        return st if st > 0 else (-st) & _OBJ_MASK
    if t is tuple:
        return st[0]
    return 0


def _on_task(a):
    """Adds `a.task` = the running task's obj to an event recorded on behalf of a
    task, so the timeline draws it on that task's lane (protocol events.ts laneObj) and a message from one
    task to another on the same thread becomes an arrow. Outside a task (a plain callback, sync code)
    the event stays on its thread's lane."""
    try:
        task = _current_task()
        if task is not None:
            st = _state_get(id(task))
            # Only tasks whose lane exists (started: a running task's state is its obj); not asyncio's own.
            if type(st) is int and st > 0:
                a["task"] = st
    except Exception:      # no running loop: put_nowait()/get_nowait() from synchronous code
        pass
    return a


def _is_asyncio_machinery(coro):
    """asyncio's own coroutines run as tasks by asyncio itself (asyncio.run's shutdown_asyncgens...).
    A program's create_task(lock.acquire()) is the program's task."""
    code = getattr(coro, "cr_code", None)
    if code is None or _ASYNCIO_DIR is None or not code.co_filename.startswith(_ASYNCIO_DIR):
        return False
    from interleave.patches.mp_util import created_by_user
    return not created_by_user(("asyncio/tasks.py",))


def _task_name(task):
    try:
        return task.get_name()
    except Exception:
        return "Task"


def _coro_name(task, coro=None):
    try:
        c = task.get_coro() if coro is None else coro
        return getattr(c, "__qualname__", None) or fn_name(c)
    except Exception:
        return "?"


def _waiting_for(task):
    """What a suspended task awaits: the innermost coroutine of its await chain, or the future; with
    the primitive when it is an asyncio lock, semaphore, event or condition: (what, prim or None)."""
    fut = getattr(task, "_fut_waiter", None)
    if fut is None:
        return None, None        # a bare yield (sleep(0)): rescheduled at once, not a wait
    try:
        c = task.get_coro()
        inner = c
        for _ in range(64):
            nxt = getattr(c, "cr_await", None)
            if nxt is None:
                nxt = getattr(c, "gi_yieldfrom", None)
            if nxt is None or not (hasattr(nxt, "cr_code") or hasattr(nxt, "gi_code")):
                break
            c = nxt
            inner = c
        code = getattr(inner, "cr_code", None) or getattr(inner, "gi_code", None)
        if code is not None:
            fname = code.co_filename
            key = (fname.rsplit("/", 1)[-1], code.co_name)
            if "asyncio" in fname:
                what = _WHAT.get(key)
                if what:
                    prim = None
                    if key[0] == "locks.py":
                        # The primitive is the waiting method's self (its frame is suspended, not gone).
                        prim = inner.cr_frame.f_locals.get("self")
                        if what == "event" and isinstance(prim, _Condition):
                            what = "condition"      # Condition.wait (Event.wait has the same name)
                    return what, prim
    except Exception:
        pass
    if isinstance(fut, _Task):
        return "task", None
    tn = type(fut).__name__
    if tn == "_GatheringFuture":
        return "gather", None
    return "future", None


def _wrap_create_task(orig):
    # Once per task: kept to attribute reads, one frame walk (the creator's line) and one attribute store.
    def create_task(self, coro, *args, **kwargs):
        # The usual call (gather, ensure_future, asyncio.create_task without a name) passes no options:
        # a plain call is cheaper than forwarding empty *args/**kwargs.
        task = orig(self, coro, *args, **kwargs) if args or kwargs else orig(self, coro)
        try:
            if task._source_traceback:       # debug mode: "created at" must name the caller, not us
                tb = task._source_traceback
                while tb and tb[-1].filename.startswith(_RUNTIME_DIR):
                    del tb[-1]
        except Exception:
            pass
        if not rec._active:
            return task
        if _tls.busy:       # rec.is_in_runtime(), inline
            return task
        try:
            code = getattr(coro, "cr_code", None)
            if code is not None and code.co_filename.startswith(_ASYNCIO_DIR) and _is_asyncio_machinery(coro):
                _states[id(task)] = _IGNORED      # asyncio.run's shutdown_asyncgens and the like
                return task
            parent = 0
            cur = _current_task_of(self)
            if cur is not None:
                parent = _state_get(id(cur))      # a running task's state is its obj
                if type(parent) is not int or parent < 0:
                    # None: a task we have not met (made before the patch, or by Task() directly)
                    parent = _meet(cur) if parent is None else _obj_of(parent)
            # The creator's line: past asyncio's own task-making functions, a user frame's cached line
            # (the cache holds only user frames), else user_loc's walk (which fills the cache).
            f = _getframe(1)
            while f is not None and id(f.f_code) in _PASS_IDS:
                f = f.f_back
            loc = _loc_get((id(f.f_code), f.f_lasti)) if f is not None else None
            if loc is None:
                loc = rec.user_loc(1)       # from our caller on
            # rec.new_id(), inline; the creator's line interned now, so the state holds only numbers.
            obj = rec._id_base + next(rec._ids)
            sid = (rec._strings.get(loc) or rec._intern(loc)) if loc else 0
            # Packed as _start reads it (see the spawn layout above): one int, no container kept per pending task.
            _states[id(task)] = -(((((parent << _SID_BITS) | sid) << _US_BITS) | ((_mono() - _EPOCH) // 1000))
                               << _OBJ_BITS | obj)
            if self._task_factory is not None and (task.done() or _eager_started(coro)):
                # An eager task (3.12+ eager_task_factory) ran its first step inside the constructor,
                # not through the loop: it started here, and may already have finished. Recorded when
                # the loop runs its next callback: asyncio.create_task(name=...) names it after we return.
                _eager.append((task, coro, _mono()))
        except Exception:
            pass
        return task
    create_task.__doc__ = orig.__doc__
    return create_task


def _meet(task):
    """A task first met running or creating (made before the patch, or by asyncio.Task() directly):
    a new obj; it starts its lane at its next step. Returns the obj."""
    obj = rec._id_base + next(rec._ids)
    _states[id(task)] = -obj       # no creation seen
    return obj


def _record_eager():
    """The start (and end, or first wait) of the eager tasks created since the loop's last callback."""
    while _eager:
        task, coro, t1 = _eager.pop(0)
        try:
            st = _state_get(id(task))
            if type(st) is not int or st > 0:
                continue
            # `coro`, not get_coro(): 3.12.1's get_coro() crashes on an eager task that has finished.
            obj = _start(task, -st, None, coro)
            if task.done():
                _finish(task, obj, t1)
            else:
                _suspended(task, obj, t1)
        except Exception:
            pass


def _eager_started(coro):
    try:
        frame = coro.cr_frame
        return frame is not None and frame.f_lasti > 0
    except Exception:
        return False


# The args of a task's end for "done" and "cancelled" by steps counted (default mode): shared, as most
# ends say the same thing. Nothing changes an event's args once recorded; marshal sends a shared
# object once per batch and refers to it after.
_END_ARGS = {"done": {}, "cancelled": {}}


def _end_args(state, n):
    """(the end's args, whether they are the shared dict of every such end: then packed by reference)."""
    cache = _END_ARGS[state]
    a = cache.get(n)
    if a is None:
        a = {"state": state, "steps": n} if n else {"state": state}
        if len(cache) >= 256:
            return a, False
        cache[n] = a
    return a, True


def _finish(task, obj, t1):
    """The task's end, right after its last step (t1: the step's end). Never raises."""
    try:
        _states.pop(id(task), None)
        n = _counted.pop(obj, 0) if _counted else 0
        try:
            tid = _tls.tid       # rec.native_id(), inline
        except AttributeError:
            tid = rec.native_id()
        if task.cancelled():
            state = "cancelled"
        else:
            exc = getattr(task, "_exception", None)
            if exc is not None:
                a = {"state": "error", "error": ("%s: %s" % (type(exc).__name__, exc))[:200]}
                if n:
                    a["steps"] = n
                _put((_C_TASK, "e", (t1 - _EPOCH) // 1000, tid, obj, 0, 0, 0, a))
                return
            state = "done"
        a = _END_ARGS[state].get(n)      # _end_args(), inline for the usual end
        if a is None:
            a, shared = _end_args(state, n)
            if not shared:
                _put((_C_TASK, "e", (t1 - _EPOCH) // 1000, tid, obj, 0, 0, 0, a))
                return
        if rec._active:
            # (in ns: PACKED_NS; rec.args_id(a), inline)
            rec._append(rec.pack(_C_TASK, _PH_E_NS, t1, tid, obj, 0, 0, 0,
                                 rec._arg_ids.get(id(a)) or rec.args_id(a)))
            if len(rec._buf) > _BUFFER_HIGH:
                rec._backpressure()
    except Exception:
        pass


def _task_of(cb):
    """The task whose step or wakeup callback `cb` is, else None (cached per callback type)."""
    tp = type(cb)
    kind = _cb_kind.get(tp)
    if kind is None:
        name = tp.__name__
        if name in ("TaskStepMethWrapper", "TaskWakeupMethWrapper"):
            kind = 1
        elif tp.__dict__.get("__self__") is not None or name in ("method", "builtin_function_or_method"):
            kind = 2
        else:
            kind = 0
        if len(_cb_kind) < 256:
            _cb_kind[tp] = kind
    if kind == 0:
        return None
    task = getattr(cb, "__self__", None)
    if not isinstance(task, _Task):
        return None
    if kind == 1 and tp.__name__ == "TaskStepMethWrapper":
        global _STEP_T
        _STEP_T = tp
    return task


def _wrap_run(orig):
    # The loop's hottest path: every callback. A type test, one attribute read, two clock reads and,
    # when recorded, one tuple appended (or, past the default budget, one count).
    def _run(self):
        global _step_budget, _record_min_ns
        if not rec._active:
            return orig(self)
        if _eager:
            _record_eager()
        cb = self._callback
        if type(cb) is _STEP_T:       # the usual task step, tested first
            task = cb.__self__
        elif _cb_kind_get(type(cb)) == 0 or (task := _task_of(cb)) is None:
            # A plain callback (its type known as one without a call, else by _task_of): only timed,
            # to catch ones that block the loop.
            t0 = _mono()
            orig(self)
            if _mono() - t0 >= _SLOW_NS:
                _slow(self, t0, None, None)
            return None
        obj = _state_get(id(task))
        if type(obj) is not int or obj < 0:
            if obj is _IGNORED:
                orig(self)
                if task.done():
                    _states.pop(id(task), None)
                return None
            try:
                # The first step of a task create_task saw (the usual case, inline), else _before_step.
                obj = _start(task, -obj, _mono()) if type(obj) is int else _before_step(task, obj)
            except Exception:
                obj = None
            if obj is None:
                return orig(self)
        t0 = _mono()
        orig(self)
        t1 = _mono()
        d = t1 - t0
        # Default mode: every step while the budget lasts, then only steps long enough to matter; the
        # rest are counted (reported with the task's end).
        if d >= _record_min_ns:
            _step_budget -= 1
            if _step_budget <= 0 and not _FULL:
                _record_min_ns = _STEP_MIN_NS
            try:
                tid = _tls.tid       # rec.native_id(), inline
            except AttributeError:
                tid = rec.native_id()
            rec._append(rec.pack(_C_STEP, _PH_X_NS, t0, tid, obj, 0, 0, d, 0))      # (in ns: PACKED_NS)
            if len(rec._buf) > _BUFFER_HIGH:
                rec._backpressure()
        else:
            _counted[obj] = _counted.get(obj, 0) + 1
        if d >= _SLOW_NS:
            _slow(self, t0, task, obj)
        if task._fut_waiter is not None:
            try:
                _suspended(task, obj, t1)
            except Exception:
                pass
        elif task.done():
            _finish(task, obj, t1)
        return None
    _run.__doc__ = orig.__doc__
    return _run


def _start(task, created, now, coro=None):
    """The task's first step starts its lane. One event says both when it was created (a.spawnTs,
    loc = the creator's line, a.parent = the creating task) and when it first ran: the timeline draws
    the create -> start arrow from the creator's lane (see protocol events.ts async.task). `created`:
    minus the state create_task left; `now`: the start in monotonic ns, None for when it was created
    (an eager task). Returns the obj, from now on the task's state."""
    obj = created & _OBJ_MASK
    _states[id(task)] = obj
    spawn = created >> _OBJ_BITS
    if spawn:
        # (the spawn layout: see _SID_MASK)
        parent, sid, spawn_us = (spawn >> (_SID_BITS + _US_BITS), (spawn >> _US_BITS) & _SID_MASK,
                                 spawn & _US_MASK)
    else:
        parent = sid = spawn_us = 0      # first met at this step: no creation seen
    ts = (now - _EPOCH) // 1000 if now is not None else spawn_us
    # Once per task, so the helpers are inlined: task.get_name(), _coro_name(), _put().
    try:
        name = task.get_name()
    except Exception:
        name = "Task"
    try:
        qual = (task.get_coro() if coro is None else coro).__qualname__
    except Exception:
        qual = _coro_name(task, coro)
    try:
        tid = _tls.tid       # rec.native_id(), inline
    except AttributeError:
        tid = rec.native_id()
    if rec._active:
        # corr = obj links the start to its creation (ids are unique across objs and corrs).
        pack_task = rec.pack_task
        aid = _coro_aid_get(qual) if pack_task is not None else None
        if aid is None and pack_task is not None:
            aid = _coro_aid(qual)
        if aid:
            # Packed (see protocol.PACKED_TASK_FORMAT): bytes, which the cyclic GC never visits, where a
            # tuple holding a dict would stay tracked until the flusher takes it.
            rec._append(pack_task(_C_TASK, _PH_B, ts, tid, obj, obj, sid, 0, aid, parent,
                                  spawn_us if spawn else 0) + name.encode("utf-8", "replace"))
        else:
            a = {"name": name, "coro": qual}
            if parent:
                a["parent"] = parent
            if spawn:
                a["spawnTs"] = spawn_us
            rec._append((_C_TASK, "b", ts, tid, obj, obj, sid, 0, a))
        if len(rec._buf) > _BUFFER_HIGH:
            rec._backpressure()
    return obj


#: coroutine name -> the interned id of its task starts' shared args {"coro": name} (see _start). Interned
#: ids are per connection: a fork child starts afresh.
_coro_aids = {}
_coro_aid_get = _coro_aids.get
_CORO_AIDS_MAX = 4096
__import__("os").register_at_fork(after_in_child=_coro_aids.clear)


def _coro_aid(qual):
    """The args id of a coroutine name's {"coro": name}, interned on first use; 0 past _CORO_AIDS_MAX
    names (a program that makes coroutine functions on the fly: its task starts stay tuples)."""
    if len(_coro_aids) >= _CORO_AIDS_MAX or type(qual) is not str:
        return 0
    aid = _coro_aids[qual] = rec.args_id({"coro": qual})
    return aid


def _before_step(task, st):
    """First step (task start, and the creator's spawn) or the end of a wait; returns the obj."""
    if st is None:
        st = -_meet(task)
    now = _mono()
    if type(st) is int:
        return _start(task, -st, now)
    obj, wait_from, what = st[0], st[1], st[2]
    corr = _woken_by(st[3], wait_from) if len(st) > 3 else 0
    _put((_C_WAIT, "X", (wait_from - _EPOCH) // 1000, _tid(), obj, corr, 0,
          (now - wait_from) // 1000, {"what": what}))
    _states[id(task)] = obj
    return obj


def _suspended(task, obj, t1):
    if task._fut_waiter is not None:
        what, prim = _waiting_for(task)
        if what is not None:
            _states[id(task)] = (obj, t1, what) if prim is None else (obj, t1, what, prim)


# ---- who woke a task: asyncio Lock/Semaphore release, Event.set, Condition.notify ----------------------
# The waker records its release (lock.release) or notify (sync.notify) with a corr when a task waits,
# on its own task's lane (a.task), and leaves (corr, ts) on the primitive; the woken task's async.wait
# carries that corr when it resumes after it: the timeline draws the arrow from waker to woken task.
_PRIM_TYPES = {"Lock": "asyncio.Lock", "Semaphore": "asyncio.Semaphore",
               "BoundedSemaphore": "asyncio.BoundedSemaphore", "Event": "asyncio.Event",
               "Condition": "asyncio.Condition"}
_Condition = type(None)     # asyncio.Condition once installed


def _woken_by(prim, wait_from):
    try:
        w = prim.__dict__.get("_il_wake")
        return w[0] if w is not None and w[1] >= wait_from else 0
    except Exception:
        return 0


def _wrap_prim_init(orig):
    def __init__(self, *args, **kwargs):
        # Decided by the outermost __init__ (BoundedSemaphore's calls Semaphore's), from its caller: the
        # program's primitives, not the ones asyncio makes for itself (a Condition's own Lock).
        user = False
        if "_il_obj" not in self.__dict__:
            try:
                self._il_obj = 0
                if rec._active and not rec.is_in_runtime():
                    from interleave.patches.mp_util import created_by_user
                    user = created_by_user()
            except Exception:
                user = False
        orig(self, *args, **kwargs)
        if user:
            try:
                self._il_obj = rec.new_id()
                name = type(self).__name__
                a = {"type": _PRIM_TYPES.get(name) or "asyncio." + name}
                rec.emit("lock.create", "i", obj=self._il_obj, loc=rec.user_loc(), a=_on_task(a))
            except Exception:
                pass
    return __init__


def _wrap_waker(orig, kind, what):
    """Lock/Semaphore.release (kind lock.release), Event.set and Condition.notify (sync.notify, what).
    Recorded after the original returns (a release or notify that raises woke nobody): the woken tasks
    run later, in callbacks of their own."""
    def waker(self, *args, **kwargs):
        n = 0
        try:
            obj = self.__dict__.get("_il_obj")
            waiters = self._waiters
            if obj and waiters and rec._active and (what != "event" or not self._value):
                n = sum(1 for f in waiters if not f.done())
        except Exception:
            n = 0
        r = orig(self, *args, **kwargs)
        if n:
            try:
                if what == "condition":
                    n = min(n, args[0] if args else kwargs.get("n", 1))     # notify(n) wakes at most n
                corr = rec.new_id()
                t = _mono()
                self._il_wake = (corr, t)
                a = {"what": what, "n": n} if what else {}
                rec.emit(kind, "i", obj=obj, corr=corr, ts=(t - _EPOCH) // 1000, loc=rec.user_loc(),
                         a=_on_task(a) or None)
            except Exception:
                pass
        return r
    waker.__name__, waker.__qualname__, waker.__doc__ = orig.__name__, orig.__qualname__, orig.__doc__
    return waker


def _slow(handle, t0, task, obj):
    try:
        ts = (t0 - _EPOCH) // 1000
        dur = (_mono() - t0) // 1000
        if task is not None:
            name = "task %s" % _task_name(task)
        else:
            name = fn_name(handle._callback)
        a = {"callback": name}
        if task is not None:
            a["task"] = obj             # a task's own step: drawn on its lane, over the step
        _put((_C_SLOW, "X", ts, _tid(), obj if task is not None else 0, 0, 0, dur, a))
    except Exception:
        pass


# ---- asyncio.Queue: put -> get messages (the loop is single-threaded: a FIFO of corrs mirrors the items) --
_QTYPES = {"Queue": "asyncio.Queue", "LifoQueue": "asyncio.LifoQueue", "PriorityQueue": "asyncio.PriorityQueue"}


def _wrap_queue_init(orig):
    def __init__(self, *args, **kwargs):
        orig(self, *args, **kwargs)
        try:
            if rec.active() and not rec.is_in_runtime() and getattr(self, "_il_q", None) is None:
                from interleave.patches.mp_util import created_by_user
                if created_by_user():
                    import collections
                    self._il_q = rec.new_id()
                    self._il_corrs = collections.deque()
                    a = {"type": _QTYPES.get(type(self).__name__, "asyncio.Queue")}
                    if self._maxsize > 0:
                        a["maxsize"] = self._maxsize
                    rec.emit("chan.create", "i", obj=self._il_q, loc=rec.user_loc(), a=_on_task(a))
                else:
                    self._il_q = 0
        except Exception:
            pass
    return __init__


def _wrap_queue_put(orig):
    def _put(self, item):
        orig(self, item)
        q = getattr(self, "_il_q", 0)
        if q and rec._active:
            try:
                corr = rec.new_id()
                self._il_corrs.append(corr)
                import sys
                rec.emit("msg.send", "i", obj=q, corr=corr, loc=rec.user_loc(),
                         a=_on_task({"preview": rec.preview(item), "size": sys.getsizeof(item)}))
            except Exception:
                pass
    return _put


def _wrap_queue_get(orig, lifo):
    def _get(self):
        item = orig(self)
        q = getattr(self, "_il_q", 0)
        if q and rec._active:
            try:
                corrs = self._il_corrs
                corr = (corrs.pop() if lifo else corrs.popleft()) if corrs else 0
                import sys
                rec.emit("msg.recv", "i", obj=q, corr=corr, loc=rec.user_loc(), a=_on_task({"size": sys.getsizeof(item)}))
            except Exception:
                pass
        return item
    return _get


def install():
    global _Task, _current_task, _current_task_of, _ASYNCIO_DIR
    if _patches:
        return
    import asyncio
    import os
    _ASYNCIO_DIR = os.path.dirname(os.path.abspath(asyncio.__file__)) + os.sep
    from asyncio import base_events, events, tasks
    _Task = tasks.Task
    _current_task = tasks.current_task
    cur = getattr(tasks, "_current_tasks", None)
    if type(_current_task) is type(install) and type(cur) is dict:
        _current_task_of = cur.get      # what current_task(loop) returns (3.9-3.11)
    else:
        _current_task_of = _current_task
    _collect_pass_codes(tasks)
    _patches.set(base_events.BaseEventLoop, "create_task",
                 _wrap_create_task(base_events.BaseEventLoop.__dict__["create_task"]))
    _patches.set(events.Handle, "_run", _wrap_run(events.Handle.__dict__["_run"]))
    from asyncio import locks
    global _Condition
    _Condition = locks.Condition
    for name in ("Lock", "Semaphore", "BoundedSemaphore", "Event", "Condition"):
        cls = getattr(locks, name)
        if "__init__" in cls.__dict__:
            _patches.set(cls, "__init__", _wrap_prim_init(cls.__dict__["__init__"]))
    _patches.set(locks.Lock, "release", _wrap_waker(locks.Lock.__dict__["release"], "lock.release", None))
    _patches.set(locks.Semaphore, "release", _wrap_waker(locks.Semaphore.__dict__["release"], "lock.release", None))
    _patches.set(locks.Event, "set", _wrap_waker(locks.Event.__dict__["set"], "sync.notify", "event"))
    _patches.set(locks.Condition, "notify", _wrap_waker(locks.Condition.__dict__["notify"], "sync.notify",
                                                          "condition"))
    from asyncio import queues
    Q = queues.Queue
    _patches.set(Q, "__init__", _wrap_queue_init(Q.__dict__["__init__"]))
    _patches.set(Q, "_put", _wrap_queue_put(Q.__dict__["_put"]))
    _patches.set(Q, "_get", _wrap_queue_get(Q.__dict__["_get"], False))
    L = getattr(queues, "LifoQueue", None)
    if L is not None and "_get" in L.__dict__:
        _patches.set(L, "_put", _wrap_queue_put(L.__dict__["_put"]))
        _patches.set(L, "_get", _wrap_queue_get(L.__dict__["_get"], True))
    del asyncio


def _collect_pass_codes(tasks):
    global _PASS_IDS
    fns = [getattr(tasks, n, None) for n in ("ensure_future", "_ensure_future", "gather", "create_task", "shield",
                                               "wait", "as_completed", "wait_for")]
    try:
        from asyncio import runners
        fns.append(getattr(runners, "run", None))
        fns.append(getattr(getattr(runners, "Runner", None), "run", None))
    except Exception:
        pass
    try:
        from asyncio import taskgroups
        fns.append(getattr(taskgroups.TaskGroup, "create_task", None))
    except Exception:
        pass
    del _PASS_CODES[:]
    for fn in fns:
        code = getattr(fn, "__code__", None)
        if code is not None:
            _PASS_CODES.append(code)
    _PASS_IDS = frozenset(id(c) for c in _PASS_CODES)


def uninstall():
    _patches.restore()
