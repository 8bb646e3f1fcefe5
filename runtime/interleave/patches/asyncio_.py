"""asyncio: tasks on their own lanes (async.task b/e, each run step, each suspension and what it waited
for), the creator's async.spawn linked to the task's start, and callbacks or steps that block the loop.

Hooked at two points that every event loop built on asyncio.BaseEventLoop goes through, so user code
and loop.get_task_factory() are unchanged: BaseEventLoop.create_task (creation, parent task) and
events.Handle._run (every callback the loop runs; a task's step is a callback whose __self__ is the
task). Per-task state lives in an attribute on the task (C tasks have a __dict__).

asyncio.Queue put/get become msg.send/msg.recv. Everything recorded on behalf of a running task (its
queue messages, the spawn of a task it creates, its slow steps) carries `a.task` = that task's obj: all
tasks share one thread, and the timeline only tells them apart (lanes, task -> task arrows) by it.
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
_Task = None
_current_task = None
_now = rec.now
_emit = rec.emit

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
    __slots__ = ("obj", "corr", "started", "wait_from", "what", "parent", "name", "spawn")

    def __init__(self, obj, corr, parent, name):
        self.obj = obj
        self.corr = corr
        self.started = False
        self.wait_from = 0
        self.what = None
        self.parent = parent
        self.name = name
        self.spawn = None      # (ts, tid, loc) of create_task: emitted with the first step, when the
                               # name given by asyncio.create_task(name=...) has been set


_IGNORED = _State(0, 0, None, "")
_RUNTIME_DIR = __import__("os").path.dirname(__import__("os").path.dirname(__import__("os").path.abspath(__file__)))
_ASYNCIO_DIR = None


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
        st = _State(rec.new_id(), 0, None, _task_name(task))
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


def _coro_name(task):
    try:
        c = task.get_coro()
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
    def create_task(self, coro, *args, **kwargs):
        task = orig(self, coro, *args, **kwargs)
        try:
            tb = task._source_traceback      # debug mode: "created at" must name the caller, not us
            while tb and tb[-1].filename.startswith(_RUNTIME_DIR):
                del tb[-1]
        except Exception:
            pass
        if not rec.active() or rec.is_in_runtime():
            return task
        try:
            parent = None
            try:
                cur = _current_task(self)
            except Exception:
                cur = None
            if cur is not None:
                pst = _state_of(cur)
                parent = pst.obj if pst is not None else None
            if _is_asyncio_machinery(coro):
                task._il_state = _IGNORED      # asyncio.run's shutdown_asyncgens and the like
                return task
            st = _State(rec.new_id(), rec.new_id(), parent, None)
            st.spawn = (rec.now(), _get_tid(), rec.user_loc())
            task._il_state = st
        except Exception:
            pass
        return task
    create_task.__doc__ = orig.__doc__
    return create_task


def _finish(task, st, ts):
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
    _emit("async.task", "e", obj=st.obj, ts=ts, a=a)


def _wrap_run(orig):
    # The loop's hottest path: every callback. Kept to a few attribute reads when nothing is recorded.
    def _run(self):
        if not rec._active:
            return orig(self)
        task = getattr(self._callback, "__self__", None)
        if task is None or not isinstance(task, _Task):
            # A plain callback: only timed, to catch ones that block the loop.
            t0 = _mono()
            orig(self)
            if _mono() - t0 >= _SLOW_NS:
                _slow(self, t0, None)
            return None
        st = getattr(task, "_il_state", None)
        if st is _IGNORED:
            return orig(self)
        if st is None or not st.started or st.what is not None:
            try:
                st = _before_step(task, st)
            except Exception:
                st = None
            if st is None:
                return orig(self)
        t0 = _mono()
        orig(self)
        t1 = _mono()
        # Most steps of a busy loop are short yields with nothing to record once the step budget is
        # spent: that case costs these few tests, not a call.
        if _step_budget > 0 or _FULL or t1 - t0 >= _STEP_MIN_NS or task._fut_waiter is not None or task.done():
            try:
                _after_step(self, task, st, t0, t1)
            except Exception:
                pass
        return None
    _run.__doc__ = orig.__doc__
    return _run


def _before_step(task, st):
    """First step (task start, and the creator's spawn) or the end of a wait; returns the state."""
    if st is None:
        st = _state_of(task)
        if st is None:
            return None
    now = _mono()
    if not st.started:
        st.started = True
        st.name = _task_name(task)
        if st.spawn is not None:
            ts, tid, loc = st.spawn
            a = {"name": st.name}
            if st.parent:
                a["task"] = st.parent          # drawn on the creating task's lane: a task -> task arrow
            _emit("async.spawn", "i", obj=st.obj, corr=st.corr, ts=ts, tid=tid, loc=loc, a=a)
        a = {"name": st.name, "coro": _coro_name(task)}
        if st.parent:
            a["parent"] = st.parent
        _emit("async.task", "b", obj=st.obj, corr=st.corr, ts=(now - rec._EPOCH) // 1000, a=a)
    elif st.what is not None:
        ts = (st.wait_from - rec._EPOCH) // 1000
        _emit("async.wait", "X", obj=st.obj, ts=ts, dur=(now - st.wait_from) // 1000, a={"what": st.what})
        st.what = None
    return st


def _after_step(handle, task, st, t0, t1):
    global _step_budget
    dur_ns = t1 - t0
    # Default mode: every step while the budget lasts, then only steps long enough to matter.
    if _step_budget > 0 or dur_ns >= _STEP_MIN_NS or _FULL:
        _step_budget -= 1
        _emit("async.step", "X", obj=st.obj, ts=(t0 - rec._EPOCH) // 1000, dur=dur_ns // 1000)
    if dur_ns >= _SLOW_NS:
        _slow(handle, t0, st)
    if task.done():
        _finish(task, st, (t1 - rec._EPOCH) // 1000)
    elif task._fut_waiter is not None:
        st.wait_from = t1
        st.what = _waiting_for(task)


def _slow(handle, t0, st):
    try:
        ts = (t0 - rec._EPOCH) // 1000
        dur = rec.now() - ts
        if st is not None:
            name = "task %s" % st.name
        else:
            name = fn_name(handle._callback)
        a = {"callback": name}
        if st is not None:
            a["task"] = st.obj             # a task's own step: drawn on its lane, over the step
        _emit("async.slow", "X", obj=st.obj if st is not None else 0, ts=ts, dur=dur, a=a)
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
