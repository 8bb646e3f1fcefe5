"""Deadlock watchdog: a wait-for graph over the instrumented primitives, and the lock-order graph.

Patches tell us when a thread starts/stops waiting (wait_begin/wait_end) and, on recorded acquisitions,
which locks a thread holds (acquired/released). Two detections:
- cycle: thread A waits (without timeout) for a lock owned by B, which waits for one owned by A (or a
  longer chain). Checked when a wait begins; the watchdog re-checks it a moment later (so a transient
  ownership change is not reported) and reports at once.
- all-blocked: every live thread has waited on an instrumented primitive for longer than
  --deadlock-timeout seconds (a Condition nobody notifies, a join on a thread that waits forever...),
  or in a wait its stack or the kernel shows: a multiprocessing pipe, a Pool's result, a child started
  by subprocess that is itself blocked on a pipe to this process (childwait.py).
A report is a `deadlock` event (threads, their waits, holdings and stacks), a readable text on stderr
and, with --on-deadlock exit, the end of the run with exit code 86 after the trace is flushed.

The lock-order graph records "B acquired while holding A" edges; the first time both A->B and B->A are
seen a `lock.inversion` event names the two locks and where each order happened, whether or not the
run hung.
"""
import os
import sys
import _thread
import weakref
from time import monotonic

from . import protocol as P
from . import recorder as rec
from . import ticker

_get_ident = _thread.get_ident

_prims = weakref.WeakValueDictionary()   # obj id -> lock-like primitive (has _obj, _owner)
_waitables = weakref.WeakValueDictionary()
_waiting = {}        # ident -> (prim, forever, since)
_held = {}           # ident -> [(prim, loc)]
_edges = {}          # (a, b) -> (loc of a, loc of b)
_reported_pairs = set()
_ended = {}          # ident -> name of a thread that has ended (see thread_exit)
_reported = set()
_candidates = []
_started = False
_timeout = 5.0
_period = 0.5
_on_exit = False


def register(prim):
    try:
        _prims[prim._obj] = prim
    except Exception:
        pass


def register_waitable(prim):
    try:
        _waitables[prim._il_obj] = prim
    except Exception:
        pass


def primitives():
    try:
        return list(_prims.values())
    except RuntimeError:
        return []


def waitables():
    """The instrumented primitives that are not locks (Semaphore, Event, Barrier, Condition...)."""
    try:
        return list(_waitables.values())
    except RuntimeError:
        return []


def _obj_of(prim):
    return getattr(prim, "_obj", 0) or getattr(prim, "_il_obj", 0) or 0


# A lock held by another thread when a process forks stays held in the child for good: the fork copies
# the lock, not the thread. So each fork notes the other threads of the forking process (ident -> name,
# a few microseconds), and the child names such a holder in a report.
_threads_at_fork = {}     # (in the forking process, filled just before each fork)
_parent_threads = {}      # (in a fork child: the other threads of the parent when it forked)


def _note_threads_before_fork():
    try:
        _threads_at_fork.clear()
        T = sys.modules.get("threading")
        if T is not None:
            me = _get_ident()
            for ident, t in list(T._active.items()):
                if ident != me:
                    _threads_at_fork[ident] = t.name
    except Exception:
        pass


def _keep_parent_threads():
    _parent_threads.clear()
    _parent_threads.update(_threads_at_fork)


os.register_at_fork(before=_note_threads_before_fork, after_in_child=_keep_parent_threads)


def _owner_of(prim):
    o = getattr(prim, "_owner", None)
    if o is not None:
        return o
    # Thread.join: the joined thread is the one we wait for.
    if hasattr(prim, "_bootstrap_inner"):
        return getattr(prim, "ident", None)
    return None


def wait_begin(ident, prim, forever):
    try:
        _waiting[ident] = (prim, forever, monotonic())
        if forever and _find_cycle(ident):
            _candidates.append(ident)
            ticker.soon("deadlock", CYCLE_GRACE)
    except Exception:
        pass


def shared_wait_begin(ident, prim):
    """A thread blocks without a timeout on a multiprocessing lock: posts the wait, with the
    multiprocessing locks it holds, on the run's wake board for the other processes' watchdogs (see
    _check_shared_cycles), and has this one look soon. Returns the slot for mp_util.clear_wait, or -1."""
    try:
        from .patches import mp_util
        holding = [p._obj for p in primitives() if getattr(p, "_il_shared", False) and p._owner == ident]
        T = sys.modules.get("threading")
        t = T._active.get(ident) if T is not None else None
        off = mp_util.post_wait(ident, rec.native_id(), prim._obj, holding, getattr(t, "name", ""))
        if off >= 0 and holding and _started:
            ticker.soon("deadlock", CYCLE_GRACE)
        return off
    except Exception:
        return -1


class RemoteWait(object):
    """A wait that only another process can end: a multiprocessing queue's get, a Pipe connection's
    recv, a process's join (pid: the joined child). Not "blocked" for this process alone (the other
    side may be busy); blocked when every process of the run is (see _check_run_blocked)."""
    __slots__ = ("_il_obj", "_il_type", "pid")

    def __init__(self, what, obj, pid):
        self._il_type = what
        self._il_obj = obj
        self.pid = pid


def remote_wait_begin(ident, what, obj=0, pid=0):
    """A thread blocks in a RemoteWait (what: its name in reports); wait_end(ident) ends it."""
    try:
        _waiting[ident] = (RemoteWait(what, obj, pid), True, monotonic())
    except Exception:
        pass


def wait_end(ident):
    _waiting.pop(ident, None)


def thread_exit(ident, name=None):
    _waiting.pop(ident, None)
    _held.pop(ident, None)
    if name is not None:
        # Kept for a report on a lock this thread ended holding (its ident may be reused later: a
        # report names it only while no live thread has that ident).
        if len(_ended) >= 256:
            _ended.clear()
        _ended[ident] = name


def held_lists():
    """The per-thread lists of recorded holds in progress [(prim, loc)] (read by the live reporter)."""
    try:
        return list(_held.values())
    except RuntimeError:
        return []


def acquired(ident, prim, loc):
    try:
        held = _held.get(ident)
        if not held:
            # Holding nothing else: no order edge to record (the common case).
            if held is None:
                _held[ident] = [(prim, loc)]
            else:
                held.append((prim, loc))
            return
        b = prim._obj
        for h, hloc in held:
            a = h._obj
            if a == b or (a, b) in _edges:
                continue
            _edges[(a, b)] = (hloc, loc)
            rev = _edges.get((b, a))
            if rev is None and getattr(prim, "_il_shared", False) and getattr(h, "_il_shared", False):
                # Two multiprocessing locks: the opposite order may have been taken in another process.
                rev = _shared_order(a, b, hloc, loc)
            if rev is not None:
                pair = (min(a, b), max(a, b))
                if pair not in _reported_pairs:
                    _reported_pairs.add(pair)
                    # first: the order seen first (b then a), with where each was taken; second: now.
                    rec.emit("lock.inversion", "i", loc=loc, a={
                        "locks": [b, a], "first": [x for x in rev if x],
                        "second": [x for x in (hloc, loc) if x]})
        held.append((prim, loc))
    except Exception:
        pass


def _shared_order(a, b, aloc, bloc):
    """Publishes this process's order a -> b on the run's wake board and returns the (b's, a's)
    locations of the opposite order if another process has taken it, else None (mp_util.order_seen)."""
    try:
        from .patches import mp_util
        return mp_util.order_seen(a, b, aloc, bloc)
    except Exception:
        return None


def released(ident, prim):
    try:
        held = _held.get(ident)
        if held:
            for i in range(len(held) - 1, -1, -1):
                if held[i][0] is prim:
                    del held[i]
                    break
    except Exception:
        pass


def _find_cycle(start):
    chain = [start]
    cur = start
    while True:
        w = _waiting.get(cur)
        if w is None or not w[1]:
            return None
        owner = _owner_of(w[0])
        if owner is None:
            return None
        if owner == start:
            # A thread waiting for a Lock it holds itself is not a certain deadlock: another thread may
            # release a Lock (a Lock used as a signal). If nobody does, the all-blocked check reports it.
            return chain if len(chain) > 1 else None
        if owner in chain:
            return None
        chain.append(owner)
        cur = owner


# ---- the watchdog: a job of the runtime thread (ticker.py) ----------------------------------------------
#: Grace between a wait that closes a cycle and the check that reports it: a transient ownership change
#: (the owner was releasing) resolves by then.
CYCLE_GRACE = 0.02


def start():
    global _started, _timeout, _on_exit
    try:
        _timeout = float(os.environ.get(P.ENV_DEADLOCK_TIMEOUT) or 5.0)
    except ValueError:
        _timeout = 5.0
    _on_exit = os.environ.get(P.ENV_ON_DEADLOCK) == "exit"
    _waiting.clear()
    _held.clear()
    _started = True
    global _period
    _period = period = min(max(_timeout / 4.0, 0.05), 0.5) if _timeout > 0 else 0.5
    ticker.every("deadlock", period, _check, first=period)
    if _clear_process_state not in rec.live_reporters:
        rec.live_reporters.append(_clear_process_state)


def _clear_process_state(final):
    """At the process's final flush: its slot on the board is free again (see _post_state)."""
    mp_util = sys.modules.get("interleave.patches.mp_util")
    if final and mp_util is not None:
        try:
            mp_util.clear_process_state(os.getpid())
        except Exception:
            pass


def _check():
    while _candidates:
        ident = _candidates.pop()
        chain = _find_cycle(ident)
        if chain and frozenset(chain) not in _reported:
            _reported.add(frozenset(chain))
            _report("cycle", chain)
    _check_shared_cycles()
    if _timeout > 0:
        _check_all_blocked()
    return None


# ---- cycles between processes: threads blocked on each other's multiprocessing locks --------------------
_seen_shared = set()      # cycles found by the last check (reported when the next finds them again)
_in_shared_cycle = set()  # this process's threads in a reported cycle (the all-blocked check skips them)


def _check_shared_cycles():
    """Follows, for each of this process's threads blocked for good on a multiprocessing lock, the
    posted waits of the whole run (mp_util.read_waits): the lock -> the thread that holds it -> the lock
    that one waits for... back to the start is a deadlock, reported by every process in it (each with its
    own threads' stacks). Found twice in a row first: a wait slot can be read while being written."""
    global _seen_shared
    mine = [i for i, w in list(_waiting.items()) if w[1] and getattr(w[0], "_il_shared", False)]
    if not mine:
        _seen_shared = set()
        return
    try:
        from .patches import mp_util
        waits = mp_util.read_waits()
    except Exception:
        return
    pid = os.getpid()
    by_thread = {(w[0], w[2]): w for w in waits}
    holder = {}
    for w in waits:
        for o in w[5]:
            holder[o] = w
    found = set()
    for ident in mine:
        start = by_thread.get((pid, ident))
        if start is None:
            continue
        chain = [start]
        cur = start
        while True:
            h = holder.get(cur[3])
            if h is None or h in chain[1:]:
                chain = None
                break
            if h is start:
                break
            chain.append(h)
            cur = h
        if not chain or len(chain) < 2 or len({w[0] for w in chain}) < 2:
            continue     # none, or within this process (the in-process graph reports that one)
        key = frozenset((w[0], w[2]) for w in chain)
        found.add(key)
        if key in _seen_shared and key not in _reported:
            _reported.add(key)
            _in_shared_cycle.update(w[2] for w in chain if w[0] == pid)
            _report_shared(chain)
    _seen_shared = found
    if found:
        ticker.soon("deadlock", CYCLE_GRACE)     # confirm it without waiting a whole period


def _report_shared(chain):
    """A deadlock between processes: this process's threads with their names and stacks, the others'
    as their wait slots describe them (their own processes report them in full)."""
    pid = os.getpid()
    live = _live_threads()
    frames = sys._current_frames()
    threads = []
    for w in chain:
        wpid, tid, ident, obj, _since, holding, name = w
        entry = {"pid": wpid, "tid": tid, "waitingFor": obj, "holding": list(holding), "waitType": "mp.Lock"}
        if wpid == pid:
            t = live.get(ident)
            entry["name"] = t.name if t is not None else str(ident)
            entry["stack"] = _stack(frames.get(ident))
            w0 = _waiting.get(ident)
            if w0 is not None:
                entry["waitType"] = _type_name(w0[0])
        else:
            entry["name"] = name      # as its slot says (its own process's report has its stack)
            entry["stack"] = []
        threads.append(entry)
    _emit_report("cycle", threads)


def _live_threads():
    T = sys.modules.get("threading")
    if T is None:
        return {}
    out = {}
    for t in list(T._active.values()):
        try:
            if t.is_alive() and not isinstance(t, T._DummyThread):
                out[t.ident] = t
            elif t is T._main_thread and t.ident in _waiting:
                # Ending (threading counts it as done from threading._shutdown on), but blocked in a
                # traced wait: 3.13 runs a multiprocessing child's exit handlers, which join its
                # queues' feeder threads, from there.
                out[t.ident] = t
        except Exception:
            pass
    return out


def _check_all_blocked():
    """Whether every live thread of this process is blocked: posts the answer on the board for the
    other processes (_post_state), reports a deadlock of this process alone when its threads wait on
    each other, and checks the whole run (_check_run_blocked) when some wait is one only another
    process can end (a multiprocessing queue, pipe, lock held elsewhere, or a process's join)."""
    global _run_seen
    live = _live_threads()
    if not live:
        return
    t = monotonic()
    T = sys.modules.get("threading")
    frames = None
    blocked = []
    remote = False
    running = False
    since = 0.0
    for ident, thread in live.items():
        w = _waiting.get(ident)
        if w is None:
            if frames is None:
                frames = sys._current_frames()
            frame = frames.get(ident)
            if _idle_machinery(thread, frame):
                continue
            stuck = _stuck_on_another_process(ident, thread, frame, t)
            if stuck == IDLE:
                continue
            if stuck is None:
                running = True
                break
            if _stuck[ident][2] not in _LOCAL_STUCK:
                remote = True
            since = max(since, stuck)
            blocked.append(ident)
            continue
        prim = w[0]
        if type(prim) is RemoteWait or (getattr(prim, "_il_shared", False) and _owner_of(prim) is None):
            # Only another process can end it (for a multiprocessing lock: none of our threads holds it).
            if type(prim) is RemoteWait and prim.pid and not _process_alive(prim.pid):
                running = True     # a join whose process has ended: it returns once it is scheduled
                break
            remote = True
        elif T is not None and isinstance(prim, T.Thread) and prim.ident not in live:
            running = True         # a join whose thread has ended (or is ending): it returns soon
            break
        since = max(since, w[2])
        blocked.append(ident)
    for ident in [i for i in _stuck if i not in live]:
        del _stuck[ident]
        _sub_waits.pop(ident, None)
    running = running or not blocked
    # A helper process (all its blocked threads wait for requests or, in a pool worker, for tasks) is
    # blocked for the others' checks and has nothing to report itself: posted as such (HELPER: neither
    # waited for by _linger nor named among the processes of a deadlock).
    helper = not running and all(ident in _stuck and _stuck[ident][2] in (HELPER_WAIT, POOL_TASK) for ident in blocked)
    _post_state(0.0 if running else since, t, HELPER if helper else 0)
    if running or helper or t - since < _timeout:
        _run_seen = None
        return
    if remote:
        _check_run_blocked(blocked, t)
        return
    if _in_shared_cycle.issuperset(blocked):
        return      # already reported as a cycle between processes
    # (a thread seen waiting by its stack, in a ThreadPool, is keyed by where it waits)
    key = frozenset((ident, id(_waiting[ident][0]) if ident in _waiting else _stuck[ident][0]) for ident in blocked)
    if key in _reported:
        return
    _reported.add(key)
    _report("all-blocked", blocked)


def _post_state(since, t, reported=0):
    """Posts this process's state for the run-wide check, once multiprocessing is in use (only its
    queues, pipes, locks and processes make waits on another process; a process without it takes no
    part). Nothing is imported here: the watchdog may run while the interpreter shuts down."""
    mp_util = sys.modules.get("interleave.patches.mp_util")
    if mp_util is None or "multiprocessing" not in sys.modules or sys.is_finalizing():
        return
    try:
        mp_util.post_started_children()
        mp_util.post_process_state(os.getpid(), int(since * 1e9), int(t * 1e9), reported)
    except Exception:
        pass


def _process_alive(pid):
    try:
        from .patches import mp_util
        return mp_util.process_alive(pid)
    except Exception:
        return True


# ---- the whole run blocked: every thread of every process waits, some on another process ----------------
_run_seen = None      # (what the last check found, when): reported when the next check finds it again


def _check_run_blocked(blocked, t):
    """This process's threads are all blocked, some on other processes: a deadlock if every other live
    process of the run says the same on the board (each watchdog posts its process's state at every
    check), for longer than the timeout. Reported when two checks in a row find it, and only after
    every other process has posted again in between (a state read once may be one its process has just
    left). Each process in it reports its own threads."""
    global _run_seen
    try:
        from .patches import mp_util
        states = mp_util.read_process_states()
    except Exception:
        return
    now = int(t * 1e9)
    horizon = now - int(_timeout * 1e9)
    fresh = now - int(max(4 * _period, 1.0) * 1e9)
    me = os.getpid()
    others = []
    for pid, since, checked, reported in states:
        if pid == me or not mp_util.process_alive(pid):
            continue
        if since == 0 or since > horizon or checked < fresh:
            # Running, not blocked for long enough, or its watchdog has not posted lately (a process
            # starting, or stuck in a call that holds the GIL): not known to be blocked.
            _run_seen = None
            return
        others.append((pid, checked, reported))
    key = (frozenset((ident, id(_waiting[ident][0]) if ident in _waiting else 0) for ident in blocked),
           frozenset(o[0] for o in others))
    if _run_seen is None or _run_seen[0] != key:
        _run_seen = (key, now)
        return
    if any(o[1] <= _run_seen[1] for o in others):
        return        # not every process has looked again since: next check
    if key in _reported:
        return
    _reported.add(key)
    _report("all-blocked", blocked, run=sorted(o[0] for o in others if o[2] != HELPER))


#: Threads whose stack shows a wait only another process can end: ident -> ((frame id, instruction
#: offset), since when it has been there, what it waits in, whether it is a queue's feeder writing); see
#: _stuck_on_another_process.
_stuck = {}
_CONNECTION_PY = os.path.join("multiprocessing", "connection.py")
_POOL_PY = os.path.join("multiprocessing", "pool.py")
_QUEUES_PY = os.path.join("multiprocessing", "queues.py")
_THREADING_PY = "threading.py"
_HELPER_MAINS = (os.path.join("multiprocessing", "resource_tracker.py"), os.path.join("multiprocessing", "forkserver.py"))
#: What such a thread waits in (besides "pipe read" and "pipe write"): a Pool result's get or wait, a pool
#: worker's wait for its next task, a helper process's wait for its next request (see _pool_wait and
#: _helper_process_wait); IDLE: a pool's own handler thread between its checks (not a wait at all).
POOL_RESULT = "Pool result"
POOL_TASK = "Pool task"
#: The same waits in a ThreadPool (multiprocessing.dummy, or multiprocessing.pool.ThreadPool): its workers
#: are threads of this process, so these waits are this process's own, not waits on another process.
THREADPOOL_RESULT = "ThreadPool result"
THREADPOOL_TASK = "ThreadPool task"
#: A wait on a program started by subprocess which is itself blocked on a pipe to this process (see
#: _subprocess_wait): this process alone can end it, so it is this process's own (the child has no
#: watchdog, and is not on the board).
SUBPROCESS = "subprocess"
_LOCAL_STUCK = (THREADPOOL_RESULT, THREADPOOL_TASK, SUBPROCESS)
#: ident -> (child pid, child name, [(op, stream)] the child is blocked in, what this thread does) of the
#: threads stuck in a SUBPROCESS wait, for the report.
_sub_waits = {}
HELPER_WAIT = "request"
IDLE = "idle"
#: A helper process's "reported" on the board (1: a process that has reported its part of a deadlock).
HELPER = 2


def _stuck_on_another_process(ident, thread, frame, t):
    """Since when the thread has been in the same wait that only another process can end, as its stack
    shows (the wait is not a traced one), else None; IDLE for a pool's worker-handler thread between its
    periodic checks. Such waits: the same read or write of a multiprocessing pipe (a get that found the
    start of a message whose rest never comes, a feeder writing what nobody reads: the pipe is full), a
    Pool result's get or wait, a pool worker or a helper process waiting for work. (A message so large
    that its transfer outlasts the timeout looks the same: the frame does not change while the bytes
    flow.)"""
    if frame is None:
        return None
    code = frame.f_code
    progress = None
    pool = _pool_wait(frame)
    if pool == IDLE:
        return IDLE
    if pool == POOL_RESULT:
        what = THREADPOOL_RESULT if _is_thread_pool(_result_pool(frame)) else POOL_RESULT
    elif pool == POOL_TASK:
        # A process pool's worker loop is its process's main thread; a ThreadPool's, one of our threads.
        T = sys.modules.get("threading")
        what = THREADPOOL_TASK if T is not None and thread is not T.main_thread() else POOL_TASK
    elif pool is not None:
        what = pool
    elif code.co_name in ("_recv", "_send") and code.co_filename.endswith(_CONNECTION_PY):
        what = "pipe write" if code.co_name == "_send" else "pipe read"
        progress = _bytes_left(frame)
    elif _helper_process_wait(frame):
        what = HELPER_WAIT
    else:
        sub = _subprocess_wait(ident, thread, frame)
        if sub is None:
            _stuck.pop(ident, None)
            _sub_waits.pop(ident, None)
            return None
        what = SUBPROCESS
        progress = sub      # the child's state is part of the wait: a child that moves on is not stuck
    # The same frame at the same instruction; for a pipe read or write, also the same bytes left: a
    # message so large that its transfer outlasts the timeout moves on between checks, it is not stuck.
    where = (id(frame), frame.f_lasti, progress)
    s = _stuck.get(ident)
    if s is None or s[0] != where:
        feeding = what == "pipe write" and getattr(thread, "_il_kind", None) == "worker"
        s = _stuck[ident] = (where, t, what, feeding)
    return s[1]


def _subprocess_wait(ident, thread, frame):
    """When the thread waits on a child started by subprocess (in Popen.wait() without a
    timeout, or blocked reading or writing one of its pipes) and that child is itself blocked on a pipe
    only this process can serve (childwait.blocked_on_us): (child pid, [(op, stream)]), noted in
    _sub_waits for the report. Else None: a child that sleeps, computes or waits on anything else is
    slow, not deadlocked."""
    sub = sys.modules.get("interleave.patches.subprocess_")
    if sub is None or not sub.piped_children:
        return None
    try:
        from . import childwait
        children = [p for p in list(sub.piped_children) if p.returncode is None]
        if not children:
            return None
        popen, ours = _popen_waited(frame, children), "wait"
        ends = childwait.our_ends(popen) if popen is not None else None
        if popen is None:
            # Blocked in the kernel on one of the children's pipes? (A read of p.stdout, a write to
            # p.stdin: the program's own frame calls C, the stack does not say.)
            tid = getattr(thread, "native_id", None)
            op = childwait.thread_pipe_op(os.getpid(), tid) if tid else None
            if op is None:
                return None
            for p in children:
                ends = childwait.our_ends(p)
                stream = ends.get(op[1])
                if stream is not None:
                    popen, ours = p, stream
                    break
            if popen is None:
                return None
        ops = childwait.blocked_on_us(popen.pid, childwait.process_waits(popen.pid), ends)
        if ops is None:
            return None
        info = popen.__dict__.get("_il") or {}
        _sub_waits[ident] = (popen.pid, info.get("name") or str(popen.pid), ops, ours)
        return popen.pid, tuple(ops)
    except Exception:
        return None


def _popen_waited(frame, children):
    """The child Popen whose wait() without a timeout the thread is in (subprocess.py's _wait), else None."""
    f = frame
    for _ in range(8):
        if f is None:
            return None
        code = f.f_code
        if code.co_name == "_wait" and code.co_filename.endswith("subprocess.py"):
            loc = f.f_locals
            p = loc.get("self")
            return p if loc.get("timeout") is None and p in children else None
        f = f.f_back
    return None


def _pool_wait(frame):
    """What a thread waits for in multiprocessing's Pool machinery, by its stack: POOL_RESULT for a
    wait in a result's get()/wait() (the program's thread waits for a task's result, which only a
    worker can send), POOL_TASK for a pool worker process's main loop waiting for its next task (with
    none of the program's code on the stack), IDLE for the pool's own handler threads between their
    checks or waiting for tasks to hand out, else None."""
    f = frame
    seen_wait = False
    depth = 0
    while f is not None and depth < 16:
        code = f.f_code
        fn = code.co_filename
        if fn.endswith(_POOL_PY):
            name = code.co_name
            if name in ("wait", "get", "next", "__next__") and seen_wait:
                return POOL_RESULT
            if name == "_wait_for_updates" or (name == "_handle_tasks" and depth == 0):
                return IDLE        # (the task handler waits in its queue.SimpleQueue's C get)
            if name == "worker":
                return POOL_TASK if depth > 0 and _no_user_code(frame, f) else None
            return None
        if fn.endswith(_THREADING_PY) and code.co_name == "wait":
            seen_wait = True
        elif not (fn.endswith(_QUEUES_PY) or fn.endswith(_CONNECTION_PY) or fn.endswith("selectors.py")
                  or rec._classify(fn) == rec._RUNTIME):     # (our wrappers of the pool's calls)
            return None
        f = f.f_back
        depth += 1
    return None


def _bytes_left(frame):
    """What a multiprocessing connection's _recv or _send still has to move (its local `remaining`,
    3.9-3.13), else None."""
    try:
        return frame.f_locals.get("remaining")
    except Exception:
        return None


def _result_pool(frame):
    """The Pool whose result a thread waits for in its get()/wait()/next() (see _pool_wait), else None."""
    f = frame
    for _ in range(16):
        if f is None:
            return None
        code = f.f_code
        if code.co_filename.endswith(_POOL_PY) and code.co_name in ("wait", "get", "next", "__next__"):
            return getattr(f.f_locals.get("self"), "_pool", None)
        f = f.f_back
    return None


def _is_thread_pool(pool):
    mp_pool = sys.modules.get("multiprocessing.pool")
    return mp_pool is not None and isinstance(pool, getattr(mp_pool, "ThreadPool", ()))


def _result_pool_hint(frames, idents):
    """Why a Pool result never comes, when the pool itself says: its result handler thread ended (an
    exception in a callback ends it), or the pool was terminated with the result still pending. None
    otherwise."""
    for ident in idents:
        pool = _result_pool(frames.get(ident))
        if pool is None:
            continue
        handler = getattr(pool, "_result_handler", None)
        state = getattr(pool, "_state", None)
        if state == "TERMINATE" or getattr(handler, "_state", None) == "TERMINATE":
            return ("the pool was terminated while this result was pending: terminate() stops the pool "
                    "without failing the results still waited for, so their get() never returns")
        if handler is not None and not handler.is_alive():
            error = getattr(handler, "_il_error", None)
            return ('the pool\'s result handler thread ended%s: an exception raised in a callback or '
                    'error_callback ends it, and no result of this pool is delivered after that (catch '
                    'exceptions inside callbacks)' % (' with "%s"' % error if error else ""))
    return None


def _no_user_code(inner, outer):
    f = inner
    while f is not None and f is not outer:
        if rec._classify(f.f_code.co_filename) == rec._USER:
            return False
        f = f.f_back
    return True


def _helper_process_wait(frame):
    """Whether the thread is the main loop of a helper process the standard library starts for itself
    (spawn's resource tracker, the fork server), waiting for a request, with none of the program's code
    on its stack: such a process does nothing until another asks, so it never keeps the run from
    being blocked, and has no part of its own to report."""
    f = frame
    for _ in range(12):       # (a helper's loop is a few frames deep; a deep stack is not one)
        if f is None:
            break
        code = f.f_code
        if code.co_name == "main" and code.co_filename.endswith(_HELPER_MAINS):
            return True       # (what called it: the -c command the helper was started with)
        if rec._classify(code.co_filename) == rec._USER:
            return False
        f = f.f_back
    return False


def _idle_machinery(thread, frame):
    """A thread the standard library started for its own work (a multiprocessing queue's feeder, say)
    waiting on one of its own threading primitives, with none of the program's code on its stack: it
    does nothing until a program thread gives it work, so it does not keep the program's threads from
    being all blocked. (Threads the program started, a Timer among them, and threads running the
    program's code or blocked in I/O are never counted as idle.)"""
    if frame is None or getattr(thread, "_il_kind", None) != "worker":
        return False
    code = frame.f_code
    if not (code.co_name == "wait" and code.co_filename.endswith("threading.py")):
        return False
    f = frame
    while f is not None:
        if rec._classify(f.f_code.co_filename) == rec._USER:
            return False
        f = f.f_back
    return True


#: Said with a run-wide report when a queue's feeder thread is stuck writing (see _stuck_on_another_process).
FEEDER_HINT = ("a multiprocessing queue's feeder thread cannot write what this process put on the queue, "
               "because no process reads it; a process that put items on a queue does not end until they "
               "are written (Python docs, \"Joining processes that use queues\"): get the items before "
               "joining the process that put them")
ALONE_HINT = ("no other process of the run is running to put, send, release or end what these threads wait for "
              "(every other one has ended, or waits for work)")


def _shared_lock_holder(obj):
    """(pid, tid) of the process and thread holding the multiprocessing lock obj (the run's board), else None."""
    try:
        from .patches import mp_util
        return mp_util.lock_holder(obj)
    except Exception:
        return None


def _ended_process_name(pid):
    """The name of a child this process started and saw end abnormally, else None."""
    mp = sys.modules.get("interleave.patches.multiprocessing_")
    for name, p, _code in reversed(getattr(mp, "ended_abnormally", ())):
        if p == pid:
            return name
    return None


def _dead_pool_worker():
    """The hint for a Pool result that never comes, when one of this process's pool workers died."""
    mp = sys.modules.get("interleave.patches.multiprocessing_")
    for name, pid, code in reversed(getattr(mp, "ended_abnormally", ())):
        if "PoolWorker" in name:
            try:
                from .patches import mp_util
                how = mp_util.exit_args_from_returncode(code)
                how = "by %s" % how["signal"] if how.get("signal") else "with exit code %d" % code
            except Exception:
                how = "with %s" % code
            return ('pool worker process "%s" (pid %d) ended %s, most likely while running a task: a '
                    'multiprocessing Pool replaces a worker that dies but never notices the task it lost, '
                    'whose result then never comes (concurrent.futures.ProcessPoolExecutor raises '
                    'BrokenProcessPool instead)' % (name, pid, how))
    return None


def _report(reason, idents, run=None):
    """run: for a deadlock of the whole run, the other processes' pids (each reports its own threads)."""
    frames = sys._current_frames()
    live = _live_threads()
    threads = []
    pid = os.getpid()
    T = sys.modules.get("threading")
    holdings = {}
    ended_owner = ended_process = forked_owner = None
    subs = []
    for prim in primitives():
        o = getattr(prim, "_owner", None)
        if o is not None:
            holdings.setdefault(o, []).append(prim._obj)
    for ident in idents:
        t = live.get(ident)
        name = t.name if t is not None else str(ident)
        tid = getattr(t, "native_id", None) or ident
        w = _waiting.get(ident)
        entry = {"pid": pid, "tid": tid, "name": name, "holding": holdings.get(ident, []), "stack": _stack(frames.get(ident))}
        if w is not None:
            o = _obj_of(w[0])
            if o:
                entry["waitingFor"] = o
            elif T is not None and isinstance(w[0], T.Thread):
                entry["waitingForThread"] = getattr(w[0], "native_id", None)
            entry["waitType"] = _type_name(w[0])
            owner = _owner_of(w[0])
            if owner is not None and owner in live:
                entry["waitingForOwner"] = live[owner].name
            elif owner is not None and owner in _ended and not (T and isinstance(w[0], T.Thread)):
                entry["waitingForOwner"] = _ended[owner]
                entry["ownerEnded"] = True
                ended_owner = _ended[owner]
            elif owner is not None and owner in _parent_threads and not (T and isinstance(w[0], T.Thread)):
                entry["waitingForOwner"] = _parent_threads[owner]
                entry["ownerEnded"] = True
                forked_owner = _parent_threads[owner]
            if type(w[0]) is RemoteWait and w[0].pid:
                entry["waitingForProcess"] = w[0].pid
            elif owner is None and getattr(w[0], "_il_shared", False):
                holder = _shared_lock_holder(o)
                if holder is not None and holder[0] != pid:
                    entry["waitingForProcess"] = holder[0]
                    if not _process_alive(holder[0]):
                        name = _ended_process_name(holder[0])
                        if name:
                            entry["waitingForOwner"] = name
                        entry["ownerEnded"] = True
                        ended_process = ('process "%s" (pid %d)' % (name, holder[0]) if name
                                         else "process %d" % holder[0])
        elif ident in _stuck:
            entry["waitType"] = _stuck[ident][2]
            sub = _sub_waits.get(ident) if entry["waitType"] == SUBPROCESS else None
            if sub is not None:
                entry["waitingForProcess"] = sub[0]
                subs.append(sub)
        threads.append(entry)
    for child, name, ops, ours in {sub[0]: sub for sub in subs}.values():
        # The child's side of the cycle, once per child (it has no watchdog of its own to report it).
        op, stream = ops[0]
        threads.append({"pid": child, "tid": child, "name": name, "holding": [], "stack": [],
                        "waitType": "pipe %s (%s)" % (op, stream), "waitingForProcess": pid})
    extra = None
    if ended_owner is not None:
        extra = {"hint": 'thread "%s" ended while holding the lock waited for here; nothing else will release '
                         'it (a release skipped by an exception? "with lock:" releases on every path)' % ended_owner}
    elif forked_owner is not None:
        extra = {"hint": 'thread "%s" of the parent process held this lock when this process was forked: a fork '
                         'copies the lock as it was, held, but not the thread, so nothing here will release it '
                         '(fork before starting threads, or start processes with multiprocessing\'s "spawn" or '
                         '"forkserver" method)' % forked_owner}
    if subs and extra is None:
        from . import childwait
        child, name, ops, ours = subs[0]
        extra = {"hint": childwait.hint(name, child, ops, ours)}
    stuck = [_stuck[ident] for ident in idents if ident in _stuck and ident not in _waiting]
    pool_hint = (_result_pool_hint(frames, idents)
                 if any(s[2] in (POOL_RESULT, THREADPOOL_RESULT) for s in stuck) else None)
    if pool_hint and run is None:
        extra = dict(extra or {}, hint=pool_hint)
    if run is not None:
        extra = dict(extra or {}, scope="run", processes=[pid] + list(run))
        lost = pool_hint or (_dead_pool_worker() if any(s[2] == POOL_RESULT for s in stuck) else None)
        if ended_process is not None:
            extra["hint"] = ('%s ended while holding the multiprocessing lock waited for here: nothing will '
                             'release it now (a process must not end holding a lock: "with lock:" releases '
                             'it on every path, but not through os._exit() or a kill)' % ended_process)
        elif lost:
            extra["hint"] = lost
        elif any(s[3] for s in stuck):
            extra["hint"] = FEEDER_HINT
        elif not run:
            extra["hint"] = ALONE_HINT
    _emit_report(reason, threads, extra)


def _emit_report(reason, threads, extra=None):
    """The deadlock event, the report on stderr, and the end of the run (--on-deadlock exit) or a flush.
    extra: more of the event's args (a run-wide report's scope, processes and hint)."""
    pid = os.getpid()
    mine = [t for t in threads if t["pid"] == pid] or threads
    a = {"reason": reason, "threads": threads}
    if extra:
        a.update(extra)
    # Put the marker on a deadlocked thread's lane, not on the watchdog's (which the timeline does not show).
    rec.emit("deadlock", "i", tid=mine[0]["tid"] if mine else pid, a=a)
    _print_report(reason, threads, extra or {})
    if _on_exit and extra and extra.get("scope") == "run":
        _linger()
    if _on_exit:
        if not _is_main_process():
            # This process's exit code alone would not end the run: the supervisor is told on the board.
            try:
                from .patches import mp_util
                mp_util.flag_run(P.FLAG_DEADLOCK_EXIT)
            except Exception:
                pass
        rec.shutdown()
        from . import boot
        (boot._orig_os_exit or os._exit)(P.DEADLOCK_EXIT_CODE)
    else:
        s = rec._stream
        if s is not None:
            s.flush(lock_timeout=1.0)


def _linger():
    """Before a process ends itself on a deadlock of the whole run (--on-deadlock exit): it goes on
    saying it is blocked, now with "reported", until every other live process of the run has reported
    its part too (bounded). Ending at once would end some of their waits: they would report what
    follows instead (a join that returns, a read of half a message)."""
    try:
        import time
        from .patches import mp_util
        since = max(monotonic() - _timeout, 0.0)
        me = os.getpid()
        deadline = monotonic() + max(2 * _timeout, 10 * _period)
        while True:
            _post_state(since, monotonic(), 1)
            pending = [s for s in mp_util.read_process_states()
                       if s[0] != me and not s[3] and mp_util.process_alive(s[0])]
            if not pending or monotonic() > deadline:
                return
            time.sleep(_period)
    except Exception:
        pass


def _type_name(prim):
    if hasattr(prim, "_bootstrap_inner"):
        return "Thread.join"      # (a Thread subclass's own name would say nothing of the wait)
    n = getattr(prim, "_il_type", None) or type(prim).__name__
    return {"lock": "Lock"}.get(n, n)


def _stack(frame):
    out = []
    f = frame
    while f is not None and len(out) < 40:
        if rec._classify(f.f_code.co_filename) != rec._RUNTIME:
            out.append("%s:%d in %s" % (f.f_code.co_filename, f.f_lineno, f.f_code.co_name))
        f = f.f_back
    out.reverse()
    return out


def _is_main_process():
    """The program's main process (the supervisor's child), whose exit code is the run's."""
    sup = os.environ.get(P.ENV_SUPERVISOR_PID)
    return sup is None or str(os.getppid()) == sup


def _process_label():
    """' in process "p1" (pid 123)' for a multiprocessing child, '' for the program's main process:
    each process of a run watches its own threads, so a deadlock between processes is reported by
    each of them."""
    try:
        mp = sys.modules.get("multiprocessing.process")
        if mp is not None:
            name = mp.current_process().name
            if name != "MainProcess":
                return ' in process "%s" (pid %d)' % (name, os.getpid())
    except Exception:
        pass
    return ""


def _print_report(reason, threads, extra):
    if reason == "cycle":
        why = "threads wait for each other in a cycle"
    elif extra.get("scope") == "run":
        others = len(extra.get("processes", ())) - 1
        why = ("every thread of every process of the run has been blocked for more than %gs; each process "
               "reports its own threads" % _timeout) if others else (
               "every thread has been blocked for more than %gs on what only another process could end, "
               "and every other process of the run has ended or waits for work" % _timeout)
    else:
        why = "every thread has been blocked for more than %gs" % _timeout
    lines = ["", "interleave: DEADLOCK detected%s (%s)" % (_process_label(), why)]
    for t in threads:
        what = t.get("waitType", "?")
        if t["pid"] != os.getpid():
            line = "  in process %d, thread %s(tid %d) waits for %s" % (
                t["pid"], '"%s" ' % t["name"] if t.get("name") else "", t["tid"], what)
        else:
            line = '  thread "%s" (tid %d) waits for %s' % (t["name"], t["tid"], what)
        if t.get("waitingFor"):
            line += " #%d" % t["waitingFor"]
        if t.get("waitingForOwner"):
            line += (' of "%s"' if what == "Thread.join" else ' held by "%s"') % t["waitingForOwner"]
            if t.get("ownerEnded"):
                line += ", which has ended"
        if t.get("waitingForProcess"):
            line += " (process %d%s)" % (t["waitingForProcess"], ", which has ended" if t.get("ownerEnded")
                                         and not t.get("waitingForOwner") else "")
        lines.append(line)
        if t["holding"]:
            lines.append("    holding: %s" % ", ".join("#%d" % h for h in t["holding"]))
        for s in t["stack"][-6:]:
            lines.append("      at " + s)
    if extra.get("hint"):
        lines.append("  why: " + extra["hint"])
    if _on_exit:
        if _is_main_process():
            lines.append("interleave: ending the run (--on-deadlock exit, exit code %d)" % P.DEADLOCK_EXIT_CODE)
        else:
            lines.append("interleave: ending this process; the run will end with exit code %d (--on-deadlock exit)"
                         % P.DEADLOCK_EXIT_CODE)
    try:
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()
    except Exception:
        pass
