"""asyncio: tasks on their own lanes (async.task b/e, each run step, each suspension and what it waited
for), where and by which task each was created, and callbacks or steps that block the loop.

Hooked at two points that every event loop built on asyncio.BaseEventLoop goes through, so user code
and loop.get_task_factory() are unchanged: BaseEventLoop.create_task (creation, parent task) and
events.Handle._run (every callback the loop runs; a task's step is a callback whose __self__ is the
task). Per-task state lives in an attribute on the task (C tasks have a __dict__).

Cost: Handle._run runs for every callback, so its wrapper is a few attribute reads and two clock reads,
and it appends wire tuples itself (a keyword rec.emit call costs about as much as the step it records).
A task's creation and first step are one event (the async.task begin with a.spawnTs and the creator's
loc; readers draw the spawn from it). Default mode records every step until STEP_BUDGET steps were
recorded in the process, then only steps of at least STEP_MIN_US; the others are counted and the count
is reported with the task's end (a.steps). Lifecycles, waits that actually wait and slow callbacks
are always recorded; full mode records every step.

asyncio.Queue put/get become msg.send/msg.recv. Everything recorded on behalf of a running task (its
queue messages, its slow steps) carries `a.task` = that task's obj: all tasks share one thread, and the
timeline only tells them apart (lanes, task -> task arrows) by it.
"""
from time import monotonic_ns as _mono
from _thread import get_native_id as _get_tid

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

_patches = Patches()
_eager = []        # (task, state, coro, ts) of eager tasks not recorded yet (see create_task)
_Task = None
_current_task = None

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


class _State(object):
    # `pre` is True while the next step needs _before_step (the task has not started, or it was
    # waiting): the hot path of a running task tests one field.
    __slots__ = ("obj", "pre", "started", "wait_from", "what", "parent", "name", "spawn_ts", "spawn_loc",
                 "counted", "tid")

    def __init__(self, obj, parent, name, spawn_ts=0, spawn_loc=None):
        self.obj = obj
        self.pre = True
        self.started = False
        self.wait_from = 0
        self.what = None
        self.parent = parent
        self.name = name
        # When and where create_task ran: emitted with the first step, by then the name given by
        # asyncio.create_task(name=...) has been set. 0/None for a task we first met running.
        self.spawn_ts = spawn_ts
        self.spawn_loc = spawn_loc
        self.counted = 0       # default mode: steps beyond the budget, counted instead of recorded
        self.tid = 0           # the loop's thread, from the first step on


_IGNORED = _State(0, None, "")
_RUNTIME_DIR = __import__("os").path.dirname(__import__("os").path.dirname(__import__("os").path.abspath(__file__)))
_ASYNCIO_DIR = None

# ---- the wire tuples, built here for the per-step hot path ---------------------------------------------
# Same layout as recorder.emit builds: (code, ph, ts, tid, obj, corr, sid, dur, a, pid), trailing absent
# fields left out. A keyword rec.emit call costs about as much as the step it records.
_C_TASK = rec._CODES["async.task"]
_C_STEP = rec._CODES["async.step"]
_C_WAIT = rec._CODES["async.wait"]
_C_SLOW = rec._CODES["async.slow"]
_EPOCH = rec._EPOCH
_BUFFER_HIGH = rec.BUFFER_HIGH


_put = rec.put      # one wire tuple, built here (what rec.emit_obj does for its fields)


def _on_task(a):
    """Adds `a.task` = the running task's obj to an event recorded on behalf of a
    task, so the timeline draws it on that task's lane (protocol events.ts laneObj) and a message from one
    task to another on the same thread becomes an arrow. Outside a task (a plain callback, sync code)
    the event stays on its thread's lane."""
    try:
        task = _current_task()
        st = getattr(task, "_il_state", None) if task is not None else None
        # Only tasks whose lane exists (started, recorded); not asyncio's own machinery.
        if st is not None and st is not _IGNORED and st.started:
            a["task"] = st.obj
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


def _state_of(task, create=True):
    st = getattr(task, "_il_state", None)
    if st is None and create:
        st = _State(rec.new_id(), None, _task_name(task))
        try:
            task._il_state = st
        except Exception:
            return None
    return st


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
    """What a suspended task awaits: the innermost coroutine of its await chain, or the future."""
    fut = getattr(task, "_fut_waiter", None)
    if fut is None:
        return None        # a bare yield (sleep(0)): rescheduled at once, not a wait
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
                    return what
    except Exception:
        pass
    if isinstance(fut, _Task):
        return "task"
    tn = type(fut).__name__
    if tn == "_GatheringFuture":
        return "gather"
    return "future"


def _wrap_create_task(orig):
    # Once per task: kept to attribute reads and one frame walk (the creator's line).
    def create_task(self, coro, *args, **kwargs):
        task = orig(self, coro, *args, **kwargs)
        try:
            if task._source_traceback:       # debug mode: "created at" must name the caller, not us
                tb = task._source_traceback
                while tb and tb[-1].filename.startswith(_RUNTIME_DIR):
                    del tb[-1]
        except Exception:
            pass
        if not rec._active:
            return task
        try:
            if getattr(rec._tls, "busy", False):       # rec.is_in_runtime(), inline
                return task
            code = getattr(coro, "cr_code", None)
            if code is not None and code.co_filename.startswith(_ASYNCIO_DIR) and _is_asyncio_machinery(coro):
                task._il_state = _IGNORED      # asyncio.run's shutdown_asyncgens and the like
                return task
            parent = None
            try:
                cur = _current_task(self)
            except Exception:
                cur = None
            if cur is not None:
                pst = getattr(cur, "_il_state", None) or _state_of(cur)
                if pst is not None:
                    parent = pst.obj
            # rec.new_id(), inline
            st = task._il_state = _State(rec._id_base + next(rec._ids), parent, None, _mono(), rec.user_loc())
            if self._task_factory is not None and (task.done() or _eager_started(coro)):
                # An eager task (3.12+ eager_task_factory) ran its first step inside the constructor,
                # not through the loop: it started here, and may already have finished. Recorded when
                # the loop runs its next callback: asyncio.create_task(name=...) names it after we return.
                st.pre = False
                _eager.append((task, st, coro, _mono()))
        except Exception:
            pass
        return task
    create_task.__doc__ = orig.__doc__
    return create_task


def _record_eager():
    """The start (and end, or first wait) of the eager tasks created since the loop's last callback."""
    while _eager:
        task, st, coro, t1 = _eager.pop(0)
        try:
            # `coro`, not get_coro(): 3.12.1's get_coro() crashes on an eager task that has finished.
            _start(task, st, st.spawn_ts, coro)
            if task.done():
                _finish(task, st, t1)
            else:
                _suspended(task, st, t1)
        except Exception:
            pass


def _eager_started(coro):
    try:
        frame = coro.cr_frame
        return frame is not None and frame.f_lasti > 0
    except Exception:
        return False


def _finish(task, st, t1):
    try:
        if task.cancelled():
            a = {"state": "cancelled"}
        else:
            exc = getattr(task, "_exception", None)
            if exc is not None:
                a = {"state": "error", "error": ("%s: %s" % (type(exc).__name__, exc))[:200]}
            else:
                a = {"state": "done"}
    except Exception:
        a = {"state": "done"}
    if st.counted:
        a["steps"] = st.counted
    _put((_C_TASK, "e", (t1 - _EPOCH) // 1000, _get_tid(), st.obj, 0, 0, 0, a))


def _wrap_run(orig):
    # The loop's hottest path: every callback. Kept to a few attribute reads when nothing is recorded.
    def _run(self):
        global _step_budget
        if not rec._active:
            return orig(self)
        if _eager:
            _record_eager()
        task = getattr(self._callback, "__self__", None)
        if not isinstance(task, _Task):
            # A plain callback: only timed, to catch ones that block the loop.
            t0 = _mono()
            orig(self)
            if _mono() - t0 >= _SLOW_NS:
                _slow(self, t0, None)
            return None
        st = getattr(task, "_il_state", None)
        if st is None or st.pre:
            if st is _IGNORED:
                return orig(self)
            try:
                st = _before_step(task, st)
            except Exception:
                st = None
            if st is None:
                return orig(self)
        t0 = _mono()
        orig(self)
        t1 = _mono()
        d = t1 - t0
        # Default mode: every step while the budget lasts, then only steps long enough to matter; the
        # rest are counted (reported with the task's end).
        if _FULL or _step_budget > 0 or d >= _STEP_MIN_NS:
            _step_budget -= 1
            rec._append((_C_STEP, "X", (t0 - _EPOCH) // 1000, st.tid, st.obj, 0, 0, d // 1000))
            if len(rec._buf) > _BUFFER_HIGH:
                rec._backpressure()
        else:
            st.counted += 1
        if task._fut_waiter is not None or d >= _SLOW_NS or task.done():
            try:
                _after_step(self, task, st, t0, t1)
            except Exception:
                pass
        return None
    _run.__doc__ = orig.__doc__
    return _run


def _start(task, st, now, coro=None):
    """The task's first step starts its lane. One event says both when it was created (a.spawnTs,
    loc = the creator's line, a.parent = the creating task) and when it first ran: the timeline draws
    the create -> start arrow from the creator's lane (see protocol events.ts async.task)."""
    st.started = True
    st.pre = False
    st.tid = tid = _get_tid()
    # Once per task, so the helpers are inlined: task.get_name(), _coro_name(), _sid(), _put().
    try:
        name = st.name = task.get_name()
    except Exception:
        name = st.name = "Task"
    try:
        qual = (task.get_coro() if coro is None else coro).__qualname__
    except Exception:
        qual = _coro_name(task, coro)
    a = {"name": name, "coro": qual}
    if st.parent:
        a["parent"] = st.parent
    loc = st.spawn_loc
    if st.spawn_ts:
        a["spawnTs"] = (st.spawn_ts - _EPOCH) // 1000
    if rec._active:
        # corr = obj links the start to its creation (ids are unique across objs and corrs).
        rec._append((_C_TASK, "b", (now - _EPOCH) // 1000, tid, st.obj, st.obj,
                     (rec._strings.get(loc) or rec._intern(loc)) if loc else 0, 0, a))
        if len(rec._buf) > _BUFFER_HIGH:
            rec._backpressure()


def _before_step(task, st):
    """First step (task start, and the creator's spawn) or the end of a wait; returns the state."""
    if st is None:
        st = _state_of(task)
        if st is None:
            return None
    now = _mono()
    if not st.started:
        _start(task, st, now)
    elif st.what is not None:
        _put((_C_WAIT, "X", (st.wait_from - _EPOCH) // 1000, _get_tid(), st.obj, 0, 0,
              (now - st.wait_from) // 1000, {"what": st.what}))
        st.what = None
    st.pre = False
    return st


def _suspended(task, st, t1):
    if task._fut_waiter is not None:
        st.wait_from = t1
        st.what = _waiting_for(task)
        st.pre = st.what is not None


def _after_step(handle, task, st, t0, t1):
    if t1 - t0 >= _SLOW_NS:
        _slow(handle, t0, st)
    if task.done():
        _finish(task, st, t1)
    else:
        _suspended(task, st, t1)


def _slow(handle, t0, st):
    try:
        ts = (t0 - _EPOCH) // 1000
        dur = (_mono() - t0) // 1000
        if st is not None:
            name = "task %s" % st.name
        else:
            name = fn_name(handle._callback)
        a = {"callback": name}
        if st is not None:
            a["task"] = st.obj             # a task's own step: drawn on its lane, over the step
        _put((_C_SLOW, "X", ts, _get_tid(), st.obj if st is not None else 0, 0, 0, dur, a))
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
    global _Task, _current_task, _ASYNCIO_DIR
    if _patches:
        return
    import asyncio
    import os
    _ASYNCIO_DIR = os.path.dirname(os.path.abspath(asyncio.__file__)) + os.sep
    from asyncio import base_events, events, tasks
    _Task = tasks.Task
    _current_task = tasks.current_task
    _patches.set(base_events.BaseEventLoop, "create_task",
                 _wrap_create_task(base_events.BaseEventLoop.__dict__["create_task"]))
    _patches.set(events.Handle, "_run", _wrap_run(events.Handle.__dict__["_run"]))
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


def uninstall():
    _patches.restore()
