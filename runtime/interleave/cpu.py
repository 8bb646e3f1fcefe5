"""CPU sampler: per-thread and per-process CPU use every --cpu-interval milliseconds.

Per-thread CPU time comes from each thread's kernel CPU clock, addressed by its thread id (see
_thread_clock), rather than time.pthread_getcpuclockid(): a Python thread's pthread handle is invalid
once the thread has exited, and a sampler racing a thread's exit must not be able to crash the program.
Outside Linux we fall back to the process total only. Counters are `cpu.thread` (pct of one core, per thread lane) and
`cpu.process` (pct of one core times cores used, with `cores`).
"""
import os
import sys
from time import monotonic_ns, process_time_ns
try:
    from time import clock_gettime_ns
except ImportError:          # not on every platform; then only the process total is sampled
    clock_gettime_ns = None

from . import protocol as P
from . import recorder as rec
from . import ticker

_TASKS = "/proc/self/task"


def _interval():
    try:
        ms = float(os.environ.get(P.ENV_CPU_INTERVAL) or 10.0)
    except ValueError:
        ms = 10.0
    return ms / 1000.0


_sampling = False
#: After this many samples in a row with the program using under 1% of a core, sample every IDLE_INTERVAL
#: seconds until it is busy again.
IDLE_AFTER = 10
IDLE_INTERVAL = 0.1
#: And after this many more (about three seconds of a paused program), every LONG_IDLE_INTERVAL: a program
#: that waits for minutes (a server between requests) wakes the runtime thread a few times a second, not ten.
LONG_IDLE_AFTER = 30
LONG_IDLE_INTERVAL = 0.5


def start():
    global _sampling
    iv = _interval()
    if iv <= 0:
        return
    _close_cached()  # a fork child inherits the parent's list of threads, which are not its own
    _sampling = True
    ticker.every("cpu", iv, _Sampler(iv).sample, first=iv)


# Per-thread CPU time is read from each thread's CPU clock, addressed by its kernel thread id: Linux
# encodes "the scheduler clock of thread TID" as the clock id ((~TID) << 3) | 6 (what glibc's
# pthread_getcpuclockid computes, without needing a pthread handle that is invalid once the thread has
# exited: for a thread that is gone the kernel answers EINVAL). clock_gettime does not release the GIL.
# That matters: the earlier sampler read /proc/self/task/<tid>/schedstat, and every read released the
# GIL; getting it back next to busy threads cost a switch interval each (5 ms), so sampling 9 threads
# forced dozens of thread switches per sample on the very programs whose CPU use matters.
_LINUX = sys.platform.startswith("linux") and clock_gettime_ns is not None
_RESCAN_NS = 1000 * 1000 * 1000   # threads not started through Python (C extensions) are found this often
_known = set()                    # kernel ids of the program's threads seen so far
_unexplained = set()              # listed in /proc by the last scan, not (yet) known as a program thread
_last_scan = 0


#: Kernel thread id -> the thread's own CPU time (ns) as it ended, recorded by the thread itself (the
#: threading patch, as its last act): the sampler finds the thread gone, and without this its CPU use
#: since the previous sample would be lost (all of it, for a thread shorter than one interval).
ended = {}


def thread_ended(tid, cpu_ns):
    if _sampling and _LINUX:
        ended[tid] = cpu_ns


def _close_cached():
    """Called in a fork child: the parent's threads are not ours."""
    global _last_scan
    _known.clear()
    _unexplained.clear()
    ended.clear()
    _last_scan = 0


def _thread_clock(tid):
    return ((~tid) << 3) | 6


def _runtime_ns():
    """CPU time of the runtime's own threads (left out of the process's utilisation: an idle program
    shows 0, not the sampler's own cost)."""
    total = 0
    if _LINUX:
        for tid in list(rec.runtime_tids):
            try:
                total += clock_gettime_ns(_thread_clock(tid))
            except (OSError, OverflowError, ValueError):
                pass
    return total


def _thread_times():
    global _last_scan
    out = {}
    if not _LINUX:
        return out
    now = monotonic_ns()
    if now - _last_scan >= _RESCAN_NS:
        _last_scan = now
        try:
            listed = {int(t) for t in os.listdir(_TASKS)}
        except (OSError, ValueError):
            listed = set()
        # A thread not started through Python is sampled from the second scan that finds it: one of
        # the runtime's own threads can be listed before it has registered itself as ours.
        _known.update(listed & _unexplained)
        _unexplained.clear()
        _unexplained.update(listed - _known)
    _known.update(rec.native_of.values())
    _known.add(os.getpid())
    gone = []
    for tid in _known:
        if tid in rec.runtime_tids:
            continue   # our own threads are not program lanes
        try:
            out[tid] = clock_gettime_ns(_thread_clock(tid))
        except (OSError, OverflowError, ValueError):
            gone.append(tid)
    for tid in gone:
        _known.discard(tid)
    return out


_ncores = None


def _cores():
    """os.cpu_count(), read once (it reads a sysfs file) and inherited by fork children."""
    global _ncores
    if _ncores is None:
        _ncores = os.cpu_count() or 1
    return _ncores


class _Sampler(object):
    """The CPU job of the runtime thread (ticker.py): one sample per run, relative to the previous one."""

    def __init__(self, interval):
        self.idle_period = max(IDLE_INTERVAL, interval)
        self.long_idle_period = max(LONG_IDLE_INTERVAL, interval)
        self.cores = _cores()
        self.pid = os.getpid()
        self.last = None
        self.last_pct = {}
        self.last_ppct = None     # None: the first sample is always sent
        self.idle = 0             # consecutive samples in which the program used (almost) no CPU

    def sample(self):
        if not rec._active:
            return -1
        if self.last is None:
            # The first run takes the baseline, on the runtime thread: not on the program's at start-up.
            self.last_wall = monotonic_ns()
            self.last_proc = process_time_ns() - _runtime_ns()
            self.last = _thread_times()
            return None
        wall = monotonic_ns()
        proc = process_time_ns() - _runtime_ns()
        dt = wall - self.last_wall
        if dt <= 0:
            return None
        ts = rec.now()
        cur = _thread_times()
        last, last_pct = self.last, self.last_pct
        sampled = cur
        if ended:
            # Threads that ended since the previous sample: their last sample, from their own reading.
            sampled = dict(cur)
            for tid in list(ended):
                ns = ended.pop(tid, None)
                if ns is not None and tid not in cur:
                    sampled[tid] = ns
        # A Python thread not in the previous sample started after it: its CPU clock started at 0 then.
        # (Other threads are measured from when they were first seen.)
        started = None
        for tid, ns in sampled.items():
            if tid in rec.runtime_tids:
                continue
            base = last.get(tid)
            if base is None:
                if started is None:
                    started = set(rec.native_of.values())
                base = 0 if tid in started else ns
            # One thread uses at most one core; reading the clocks a moment apart can overshoot a little.
            pct = min(100.0, max(0.0, round(100.0 * (ns - base) / dt, 1)))
            if pct or last_pct.get(tid):
                rec.emit("cpu.thread", "C", ts=ts, tid=tid, a={"pct": pct})
            last_pct[tid] = pct
        for tid in list(last_pct):
            if tid not in cur:
                del last_pct[tid]
        cores = self.cores
        ppct = min(100.0 * cores, max(0.0, round(100.0 * (proc - self.last_proc) / dt, 1)))
        if ppct or self.last_ppct:
            # As for threads: a counter holds its value until the next sample, so an idle process's run
            # of zeros is one sample, and an idle process sends nothing (no flush, no wake-up elsewhere).
            rec.emit("cpu.process", "C", ts=ts, tid=self.pid, a={"pct": ppct, "cores": cores})
        self.last_ppct = ppct
        self.last, self.last_wall, self.last_proc = cur, wall, proc
        # An idle program (waiting on I/O, sleeping) is sampled less often: each sample wakes the runtime
        # thread and takes the GIL, ~1.7% of a core at 10 ms. Its counters hold their value meanwhile, so
        # the timeline is the same; the first sample once it is busy again covers up to IDLE_INTERVAL.
        if ppct < 1.0 and max(last_pct.values(), default=0.0) < 1.0:
            self.idle += 1
            if self.idle >= IDLE_AFTER + LONG_IDLE_AFTER:
                return self.long_idle_period
            if self.idle >= IDLE_AFTER:
                return self.idle_period
        else:
            self.idle = 0
        return None
