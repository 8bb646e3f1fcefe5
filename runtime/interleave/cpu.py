"""CPU sampler: per-thread and per-process CPU use every --cpu-interval milliseconds.

Per-thread CPU time comes from /proc/self/task/<tid>/schedstat (nanoseconds of run time) rather than
time.pthread_getcpuclockid(): a Python thread's pthread handle is invalid once the thread has exited,
and a sampler racing a thread's exit must not be able to crash the program. Outside Linux we fall back
to the process total only. Counters are `cpu.thread` (pct of one core, per thread lane) and
`cpu.process` (pct of one core times cores used, with `cores`).
"""
import os
import _thread
from time import monotonic_ns, process_time_ns

from . import protocol as P
from . import recorder as rec

_start_new_thread = rec.start_new_thread
_TASKS = "/proc/self/task"


def _interval():
    try:
        ms = float(os.environ.get(P.ENV_CPU_INTERVAL) or 10.0)
    except ValueError:
        ms = 10.0
    return ms / 1000.0


def start():
    iv = _interval()
    if iv <= 0:
        return
    _close_cached()  # a fork child inherits the parent's descriptors, which name the parent's threads
    rec.start_runtime_thread(_loop, (iv,))


# tid -> open descriptor of /proc/self/task/<tid>/schedstat. Every blocking call releases the GIL, and
# getting it back from a CPU-bound thread costs a whole switch interval (5 ms): opening, reading and
# closing each file on every sample made a sampler meant to run every 10 ms run every ~100 ms next to
# busy threads, exactly when CPU use matters. Keeping the files open costs one pread per thread.
_fds = {}


def _close_cached():
    for fd in _fds.values():
        try:
            os.close(fd)
        except OSError:
            pass
    _fds.clear()


def _thread_times():
    out = {}
    try:
        tids = os.listdir(_TASKS)
    except OSError:
        return out
    live = set()
    for t in tids:
        try:
            tid = int(t)
            live.add(tid)
            if tid in rec.runtime_tids:
                continue  # our own threads are not program lanes; skipping them saves a GIL round trip
            fd = _fds.get(tid)
            if fd is None:
                # Kept open, so moved above the program's descriptors (see recorder.high_fd).
                fd = _fds[tid] = rec.high_fd(os.open("%s/%s/schedstat" % (_TASKS, t), os.O_RDONLY))
            out[tid] = int(os.pread(fd, 128, 0).split()[0])
        except (OSError, ValueError, IndexError):
            pass
    for tid in [t for t in _fds if t not in live]:
        try:
            os.close(_fds.pop(tid))
        except OSError:
            pass
    return out


def _loop(iv):
    rec.runtime_thread_init()
    me = _thread.get_native_id()
    cores = os.cpu_count() or 1
    pid = os.getpid()
    last_wall = monotonic_ns()
    last_proc = process_time_ns()
    last = _thread_times()
    last_pct = {}
    pause = _thread.allocate_lock()
    pause.acquire()
    while rec._active:
        pause.acquire(True, iv)  # a sleep that no patch records
        wall = monotonic_ns()
        proc = process_time_ns()
        dt = wall - last_wall
        if dt <= 0:
            continue
        ts = rec.now()
        cur = _thread_times()
        for tid, ns in cur.items():
            if tid in rec.runtime_tids:
                continue
            # One thread uses at most one core; reading the clocks a moment apart can overshoot a little.
            pct = min(100.0, max(0.0, round(100.0 * (ns - last.get(tid, ns)) / dt, 1)))
            if pct or last_pct.get(tid):
                rec.emit("cpu.thread", "C", ts=ts, tid=tid, a={"pct": pct})
            last_pct[tid] = pct
        for tid in list(last_pct):
            if tid not in cur:
                del last_pct[tid]
        ppct = min(100.0 * cores, max(0.0, round(100.0 * (proc - last_proc) / dt, 1)))
        rec.emit("cpu.process", "C", ts=ts, tid=pid, a={"pct": ppct, "cores": cores})
        last, last_wall, last_proc = cur, wall, proc
