"""The deadlock watchdog: cycles, everyone blocked, lock-order inversions, --on-deadlock."""
import unittest

from support import trace_script, write_program, require_sample
from interleave.protocol import DEADLOCK_EXIT_CODE

ALL_BLOCKED = r'''
import threading
cond = threading.Condition()
done = threading.Event()
def waiter():
    with cond:
        cond.wait()          # nobody ever notifies
t = threading.Thread(target=waiter, name="waiter")
t.start()
t.join()
'''

INVERSION = r'''
import threading
a = threading.Lock()
b = threading.Lock()
def ab():
    with a:
        with b:
            pass
def ba():
    with b:
        with a:
            pass
t = threading.Thread(target=ab, name="ab"); t.start(); t.join()
t = threading.Thread(target=ba, name="ba"); t.start(); t.join()
print("finished")
'''


COUNTED_CYCLE = r'''
import threading
lock_a = threading.Lock()
lock_b = threading.Lock()
for _ in range(%d):          # past both locks' budgets: from now on their holds are counted, not recorded
    with lock_a:
        pass
    with lock_b:
        pass
both_hold_first = threading.Barrier(2)
def take(first, second):
    with first:
        pass                 # the run of `first` is now this thread's: its next hold stores no owner
    with first:
        both_hold_first.wait()
        with second:
            pass
ts = [threading.Thread(target=take, args=(lock_a, lock_b), name="A"),
      threading.Thread(target=take, args=(lock_b, lock_a), name="B")]
for t in ts: t.start()
for t in ts: t.join()
'''


PROCESSES = r'''
import multiprocessing as mp

def take(first, second, both, q, name):
    q.put(name)                # the process now has a feeder thread too (idle: not in the way)
    with first:
        both.wait()            # each process holds its first lock
        with second:           # BLOCKS: the other process holds it
            print(name, "got both")

if __name__ == "__main__":
    a, b = mp.Lock(), mp.Lock()
    both = mp.Barrier(2)
    q = mp.Queue()
    ps = [mp.Process(target=take, args=(a, b, both, q, "p1"), name="p1"),
          mp.Process(target=take, args=(b, a, both, q, "p2"), name="p2")]
    for p in ps: p.start()
    for p in ps: p.join()
    print("exit codes", [p.exitcode for p in ps])
'''


PROCESS_CYCLE = r'''
import multiprocessing as mp, threading, time

def beat():
    while True:
        time.sleep(0.01)       # never blocked: every-thread-blocked cannot be what finds the deadlock

def take(first, second, both, name):
    threading.Thread(target=beat, daemon=True).start()
    with first:
        both.wait()
        with second:           # BLOCKS
            print(name, "got both")

if __name__ == "__main__":
    a, b = mp.Lock(), mp.Lock()
    both = mp.Barrier(2)
    ps = [mp.Process(target=take, args=(a, b, both, "p1"), name="p1"),
          mp.Process(target=take, args=(b, a, both, "p2"), name="p2")]
    for p in ps: p.start()
    for p in ps: p.join()
'''


PROCESS_INVERSION = r'''
import multiprocessing as mp

def take(first, second):
    with first:            # OUTER
        with second:       # INNER
            pass

if __name__ == "__main__":
    a, b = mp.Lock(), mp.Lock()
    p = mp.Process(target=take, args=(a, b), name="ab"); p.start(); p.join()
    p = mp.Process(target=take, args=(b, a), name="ba"); p.start(); p.join()
    print("finished")
'''


LONG_HOLD = r'''
import multiprocessing as mp, time

def hold(lock, held):
    with lock:
        held.set()
        time.sleep(1.0)        # a long computation while holding it: the other process waits, no deadlock

def take(lock):
    with lock:
        print("got it")

if __name__ == "__main__":
    lock, held = mp.Lock(), mp.Event()
    p = mp.Process(target=hold, args=(lock, held), name="holder"); p.start()
    held.wait()
    q = mp.Process(target=take, args=(lock,), name="waiter"); q.start()
    p.join(); q.join()
    print("exit codes", p.exitcode, q.exitcode)
'''


IDLE_HELPER = r'''
import multiprocessing as mp, threading
if __name__ == "__main__":
    q = mp.Queue()
    q.put("x")                 # the queue's feeder thread: started by the standard library, idle after this
    threading.Event().wait()   # nobody ever sets it
'''


JOIN_BEFORE_GET = r'''
import multiprocessing as mp
def put(q):
    q.put("x" * 1000000)       # more than a pipe holds: the queue's feeder thread writes until someone reads
if __name__ == "__main__":
    q = mp.Queue()
    p = mp.Process(target=put, args=(q,), name="putter")
    p.start()
    p.join()                   # the Python docs' "Joining processes that use queues": never returns
    print(len(q.get()))
'''

WORKER_DIED = r'''
import multiprocessing as mp
def work(q):
    raise SystemExit(3)        # ends without putting its result
if __name__ == "__main__":
    q = mp.Queue()
    p = mp.Process(target=work, args=(q,), name="worker")
    p.start()
    print(q.get())             # nobody is left to put
'''

SETTER_DIED = r'''
import multiprocessing as mp
def work(ready):
    raise SystemExit(2)        # ends before setting the event
if __name__ == "__main__":
    ready = mp.Event()
    p = mp.Process(target=work, args=(ready,), name="worker")
    p.start()
    ready.wait()               # nobody is left to set it
    print("never")
'''

ENDED_HOLDING = r'''
import threading
lock = threading.Lock()
def worker():
    lock.acquire()
    raise RuntimeError("failed before releasing the lock")
t = threading.Thread(target=worker, name="worker")
t.start()
t.join()
with lock:                   # held by a thread that has ended
    print("never")
'''

POOL_WORKER_KILLED = r'''
import multiprocessing as mp, os, signal
def work(x):
    if x == 3:
        os.kill(os.getpid(), signal.SIGKILL)     # the worker dies in the middle of a task
    return x * x
if __name__ == "__main__":
    with mp.Pool(2) as pool:
        print(pool.map(work, range(8)))          # never returns: task 3's result never comes
'''

# An exception in a result callback ends the pool's result handler thread: that result, and every later
# one, is never delivered.
CALLBACK_FAILED = r'''
from multiprocessing%s import Pool
def work(x):
    return x * 2
def on_done(result):
    raise ValueError("callback failed")
if __name__ == "__main__":
    pool = Pool(2)
    # never returns: the result handler died in the callback, before marking the result ready
    print(pool.apply_async(work, (1,), callback=on_done).get())
'''

# A ThreadPool terminated (from another thread) while a result is awaited: get() never returns.
THREADPOOL_TERMINATED = r'''
import threading
from multiprocessing.dummy import Pool
gate = threading.Event()
pool = Pool(1)
result = pool.apply_async(gate.wait)
threading.Thread(target=pool.terminate).start()
print(result.get())
'''

# A fork while another thread holds a lock: the child's copy of the lock is held by a thread it does not have.
FORKED_HELD = r'''
import os, threading
lock = threading.Lock()
held, release = threading.Event(), threading.Event()
def holder():
    with lock:
        held.set()
        release.wait()
t = threading.Thread(target=holder, name="holder")
t.start()
held.wait()
pid = os.fork()
if pid == 0:
    with lock:
        print("never")
    os._exit(0)
release.set()
t.join()
print("parent joined", os.waitpid(pid, 0)[0] == pid)
'''

# Every process waits on another for longer than the timeout, but the other is busy (not blocked): no deadlock.
BUSY_OTHER_SIDE = r'''
import multiprocessing as mp, time
def slow(q, conn):
    time.sleep(1.0)            # a long computation while the parent waits for its results
    q.put("queued")
    conn.send("sent")
    time.sleep(1.0)            # and while the parent joins it
if __name__ == "__main__":
    q = mp.Queue()
    parent_end, child_end = mp.Pipe()
    p = mp.Process(target=slow, args=(q, child_end), name="slow")
    p.start()
    print(q.get(), parent_end.recv())
    p.join()
    with mp.Pool(2) as pool:
        print(pool.map(time.sleep, [1.0, 1.0]))
'''


#: A short deadlock timeout, and the run ended on a report (exit code 86), for the hang programs above.
EXIT_QUICKLY = ["--deadlock-timeout", "0.3", "--on-deadlock", "exit"]


def runs_by_start_method(testcase, program, **kwargs):
    """Traces program under fork and spawn, each in its own subTest: yields (the result, its child
    processes by name, the objs of its multiprocessing Locks)."""
    from test_mp import run_with_method
    from test_mp_support import program_pid
    for method in ("fork", "spawn"):
        with testcase.subTest(method=method):
            r = run_with_method(testcase, write_program(testcase, program), method, **kwargs)
            main = program_pid(r)
            kids = {e["a"]["name"]: e["pid"] for e in r.of("process.start") if e["pid"] != main}
            yield r, kids, sorted(e["obj"] for e in r.of("lock.create", type="mp.Lock"))


class StuckOnAPipeTest(unittest.TestCase):
    """A thread seen (by its stack) in a multiprocessing pipe's read or write counts as stuck only while
    nothing moves: a message so large that its transfer outlasts the timeout is not a hang."""

    def test_a_transfer_that_moves_is_not_stuck(self):
        import threading
        from multiprocessing import connection
        from interleave import deadlock

        class Frame(object):     # the one frame of a thread in Connection._recv, as the watchdog sees it
            f_code = connection.Connection._recv.__code__
            f_lasti = 42
            f_back = None

            def __init__(self):
                self.f_locals = {"remaining": 1 << 30}

        ident = -12345           # (no thread has it)
        self.addCleanup(deadlock._stuck.pop, ident, None)
        frame, me = Frame(), threading.current_thread()
        self.assertEqual(deadlock._stuck_on_another_process(ident, me, frame, 10.0), 10.0)
        self.assertEqual(deadlock._stuck_on_another_process(ident, me, frame, 11.0), 10.0)   # no byte moved
        self.assertEqual(deadlock._stuck[ident][2], "pipe read")
        frame.f_locals["remaining"] -= 65536
        self.assertEqual(deadlock._stuck_on_another_process(ident, me, frame, 12.0), 12.0)   # moved: since now


class DeadlockTest(unittest.TestCase):
    def test_cycle_between_counted_holds(self):
        # Past the budget a hold is counted, not recorded; the watchdog must still see who holds each
        # lock, also for a hold that continues its thread's run of counted holds.
        from interleave import recorder
        r = trace_script(write_program(self, COUNTED_CYCLE % (recorder.BUDGET + 50)),
                         extra_options=["--on-deadlock", "exit"], timeout=60)
        self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
        [dl] = r.of("deadlock")
        self.assertEqual(dl["a"]["reason"], "cycle")
        threads = {t["name"]: t for t in dl["a"]["threads"]}
        self.assertEqual(set(threads), {"A", "B"})
        self.assertEqual(threads["A"]["waitingFor"], threads["B"]["holding"][0])
        self.assertEqual(threads["B"]["waitingFor"], threads["A"]["holding"][0])
        self.assertEqual(threads["A"]["waitingForOwner"], "B")
        self.assertEqual(threads["B"]["waitingForOwner"], "A")

    def test_cycle_sample_reported_and_run_ended_with_exit_code(self):
        path = require_sample(self, "deadlock.py")
        r = trace_script(path, extra_options=["--on-deadlock", "exit"], timeout=60)
        self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
        [dl] = r.of("deadlock")
        self.assertEqual(dl["a"]["reason"], "cycle")
        threads = {t["name"]: t for t in dl["a"]["threads"]}
        self.assertEqual(len(threads), 2, threads)
        locks = {e["obj"] for e in r.of("lock.create", type="Lock")}
        x, y = threads.values()
        # each waits for the lock the other holds
        self.assertEqual(x["waitingFor"], y["holding"][0])
        self.assertEqual(y["waitingFor"], x["holding"][0])
        self.assertEqual({x["waitingFor"], y["waitingFor"]}, locks)
        for t in threads.values():
            self.assertTrue(t["stack"][-1].startswith(path + ":"), t["stack"])
        self.assertIn("DEADLOCK detected", r.stderr)
        self.assertIn("exit code %d" % DEADLOCK_EXIT_CODE, r.stderr)
        # the waits are still open when the run ended: recorded as unfinished intervals
        open_waits = [e for e in r.of("lock.wait") if (e.get("a") or {}).get("unfinished")]
        self.assertEqual(len(open_waits), 2)
        self.assertEqual(r.metadata["summary"]["deadlocks"], 1)

    def test_everyone_blocked_after_timeout(self):
        path = write_program(self, ALL_BLOCKED)
        r = trace_script(path, extra_options=EXIT_QUICKLY, timeout=60)
        self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
        [dl] = r.of("deadlock")
        self.assertEqual(dl["a"]["reason"], "all-blocked")
        kinds = sorted(t["waitType"] for t in dl["a"]["threads"])
        self.assertEqual(kinds, ["Condition", "Thread.join"])
        self.assertIn("blocked for more than 0.3s", r.stderr)

    def test_processes_blocked_on_each_others_locks(self):
        # Each process watches its own threads: both children report, each naming the lock it waits for
        # and the one it holds (the timeline links the two reports into the cycle). With --on-deadlock
        # exit each child ends itself, and the run ends with the deadlock exit code although the
        # program's main process exits normally once its children have gone.
        from test_mp_support import program_pid
        for r, kids, locks in runs_by_start_method(
                self, PROCESSES, extra_options=["--deadlock-timeout", "0.5", "--on-deadlock", "exit"], timeout=60):
            self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
            self.assertIn("exit codes [%d, %d]" % (DEADLOCK_EXIT_CODE, DEADLOCK_EXIT_CODE), r.stdout)
            main = program_pid(r)
            self.assertEqual([e["a"]["code"] for e in r.of("process.exit") if e["pid"] == main], [0])
            reports = r.of("deadlock")
            self.assertEqual(sorted(d["pid"] for d in reports), sorted([kids["p1"], kids["p2"]]))
            waits = {}
            for d in reports:
                # (not "every thread blocked": a process waiting for another's lock may be let in)
                self.assertEqual(d["a"]["reason"], "cycle")
                [t] = [t for t in d["a"]["threads"] if t["pid"] == d["pid"]]
                self.assertEqual(t["waitType"], "mp.Lock")
                self.assertEqual(len(t["holding"]), 1)
                self.assertTrue(t["stack"][-1].endswith("in take"), t["stack"])
                waits[d["pid"]] = (t["waitingFor"], t["holding"][0])
            # a cycle: what each waits for, the other holds
            (w1, h1), (w2, h2) = waits[kids["p1"]], waits[kids["p2"]]
            self.assertEqual((w1, w2), (h2, h1))
            self.assertEqual(sorted([w1, w2]), locks)
            for name in ("p1", "p2"):
                self.assertIn('DEADLOCK detected in process "%s"' % name, r.stderr)
            self.assertIn("the run will end with exit code %d" % DEADLOCK_EXIT_CODE, r.stderr)

    def test_cycle_between_processes_found_while_other_threads_run(self):
        # The processes' other threads keep running, so no process is ever all blocked: the watchdogs
        # follow the run's posted waits (waiter -> lock -> holder -> ...) and each process reports the
        # cycle, long before the 30 s timeout.
        for r, kids, locks in runs_by_start_method(
                self, PROCESS_CYCLE, extra_options=["--deadlock-timeout", "30", "--on-deadlock", "exit"], timeout=60):
            self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
            kids = [kids["p1"], kids["p2"]]      # (not spawn's resource tracker)
            reports = r.of("deadlock")
            self.assertEqual(sorted(d["pid"] for d in reports), sorted(kids))
            for d in reports:
                self.assertEqual(d["a"]["reason"], "cycle")
                threads = d["a"]["threads"]
                self.assertEqual(sorted(t["pid"] for t in threads), sorted(kids))
                self.assertEqual(sorted(t["waitingFor"] for t in threads), locks)
                by_pid = {t["pid"]: t for t in threads}
                p1, p2 = by_pid[kids[0]], by_pid[kids[1]]
                self.assertEqual((p1["waitingFor"], p2["waitingFor"]), (p2["holding"][0], p1["holding"][0]))
                # its own thread with its stack, the other process's as its posted wait says
                own = by_pid[d["pid"]]
                self.assertTrue(own["stack"][-1].endswith("in take"), own["stack"])
                other = by_pid[kids[1] if d["pid"] == kids[0] else kids[0]]
                self.assertEqual((other["name"], other["stack"]), ("MainThread", []))     # named by its slot
            self.assertIn("threads wait for each other in a cycle", r.stderr)

    def test_lock_order_inversion_between_processes_without_hang(self):
        # Two processes take the same two multiprocessing locks in opposite orders, one after the other:
        # this run does not hang, another could. The later one reports the inversion, with where each
        # process took each lock.
        for r, kids, locks in runs_by_start_method(self, PROCESS_INVERSION):
            self.assertEqual(r.returncode, 0, r)
            self.assertIn("finished", r.stdout)
            [inv] = r.of("lock.inversion")
            self.assertEqual(inv["pid"], kids["ba"])
            self.assertEqual(sorted(inv["a"]["locks"]), locks)
            lines = lambda locs: [int(l.rsplit(":", 1)[1]) for l in locs]
            outer, inner = (PROCESS_INVERSION.splitlines().index(l) + 1 for l in
                            [l for l in PROCESS_INVERSION.splitlines() if "# OUTER" in l or "# INNER" in l])
            self.assertEqual(lines(inv["a"]["first"]), [outer, inner])
            self.assertEqual(lines(inv["a"]["second"]), [outer, inner])
            self.assertEqual(r.of("deadlock"), [])

    def test_a_process_waiting_for_another_process_s_long_hold_is_not_a_deadlock(self):
        # The waiter's only thread waits far past the timeout, but the lock is held by another process,
        # which releases it: not reported, and --on-deadlock exit ends nothing.
        r = trace_script(write_program(self, LONG_HOLD),
                         extra_options=["--deadlock-timeout", "0.2", "--on-deadlock", "exit"], timeout=60)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("got it", r.stdout)
        self.assertIn("exit codes 0 0", r.stdout)
        self.assertEqual(r.of("deadlock"), [])
        [w] = [w for w in r.intervals("lock.wait") if w["a"]["ok"]]
        self.assertGreater(w["dur"], 200000)        # it did wait past the timeout

    def test_idle_standard_library_helper_threads_do_not_hide_a_hang(self):
        r = trace_script(write_program(self, IDLE_HELPER),
                         extra_options=EXIT_QUICKLY, timeout=60)
        self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
        [dl] = r.of("deadlock")
        self.assertEqual(dl["a"]["reason"], "all-blocked")
        # the main thread is reported; the idle feeder is not counted, nor listed
        self.assertEqual([t["waitType"] for t in dl["a"]["threads"]], ["Event"])

    def test_joining_a_process_before_reading_its_queue(self):
        # The Python docs' pitfall: the child cannot end before its queue's feeder has written the
        # item, which nobody reads because the parent is joining the child. Every thread of both
        # processes is blocked, partly on the other process: both report their part, the child with
        # its feeder stuck in the pipe write and why, the parent with its join.
        from test_mp_support import program_pid
        for r, kids, _locks in runs_by_start_method(
                self, JOIN_BEFORE_GET, extra_options=EXIT_QUICKLY, timeout=60):
            self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
            main, putter = program_pid(r), kids["putter"]
            reports = {d["pid"]: d for d in r.of("deadlock")}
            self.assertEqual(sorted(reports), sorted([main, putter]), r.stderr)
            for d in reports.values():
                self.assertEqual((d["a"]["reason"], d["a"]["scope"]), ("all-blocked", "run"))
                self.assertEqual(sorted(d["a"]["processes"]), sorted([main, putter]))
                self.assertEqual(d["a"]["processes"][0], d["pid"])
            [join] = reports[main]["a"]["threads"]
            self.assertEqual((join["waitType"], join["waitingForProcess"]), ("Process.join", putter))
            self.assertTrue(join["stack"][0].endswith("in <module>"), join["stack"])
            waits = sorted((t["name"], t["waitType"]) for t in reports[putter]["a"]["threads"])
            self.assertEqual(waits, [("MainThread", "Thread.join"), ("QueueFeederThread", "pipe write")])
            self.assertIn("Joining processes that use queues", reports[putter]["a"]["hint"])
            self.assertIn("every thread of every process of the run has been blocked for more than 0.3s", r.stderr)
            self.assertIn("why: a multiprocessing queue's feeder thread", r.stderr)

    def test_waiting_on_a_queue_after_its_only_writer_died(self):
        # The worker ends without putting; the parent's get can never return. (The standard library's
        # helper processes, spawn's resource tracker, do not count as processes that could put.)
        for r, kids, _locks in runs_by_start_method(
                self, WORKER_DIED, extra_options=EXIT_QUICKLY, timeout=60):
            self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
            [d] = r.of("deadlock")
            self.assertEqual(d["a"]["scope"], "run")
            self.assertEqual(d["a"]["processes"], [d["pid"]])
            [t] = d["a"]["threads"]
            self.assertEqual(t["waitType"], "multiprocessing.Queue.get")
            [q] = r.of("chan.create", type="mp.Queue")
            self.assertEqual(t["waitingFor"], q["obj"])
            self.assertIn("no other process of the run is running", d["a"]["hint"])
            self.assertIn("worker", kids)

    def test_a_pool_result_lost_with_its_killed_worker(self):
        # multiprocessing.Pool replaces a worker killed during a task but never gives up on the task:
        # map() waits forever, its workers idle. One report, from the program's process (idle pool
        # workers have nothing to report), naming the worker that died.
        from test_mp_support import program_pid
        for r, kids, _locks in runs_by_start_method(
                self, POOL_WORKER_KILLED, extra_options=EXIT_QUICKLY, timeout=60):
            self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
            [d] = r.of("deadlock")
            self.assertEqual((d["pid"], d["a"]["scope"]), (program_pid(r), "run"))
            waits = {t["name"]: t["waitType"] for t in d["a"]["threads"]}
            self.assertEqual(waits["MainThread"], "Pool result")
            [killed] = [e for e in r.of("process.exit") if (e.get("a") or {}).get("signal") == "SIGKILL"]
            self.assertIn('(pid %d) ended by SIGKILL' % killed["pid"], d["a"]["hint"])
            self.assertIn("BrokenProcessPool", d["a"]["hint"])

    def test_a_thread_pool_whose_result_handler_died_is_a_deadlock_of_its_own_process(self):
        # A ThreadPool's workers are threads of this process: an idle one waits for a task here, not on
        # another process, and the report says why the result never comes.
        r = trace_script(write_program(self, CALLBACK_FAILED % ".dummy"), extra_options=EXIT_QUICKLY, timeout=60)
        self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
        [d] = r.of("deadlock")
        self.assertNotIn("scope", d["a"])
        waits = sorted(t["waitType"] for t in d["a"]["threads"])
        self.assertEqual(waits, ["ThreadPool result", "ThreadPool task", "ThreadPool task"])
        self.assertIn('result handler thread ended with "ValueError: callback failed"', d["a"]["hint"])
        self.assertIn("why: the pool's result handler thread ended", r.stderr)

    def test_a_process_pool_whose_result_handler_died(self):
        from test_mp_support import program_pid
        for r, _kids, _locks in runs_by_start_method(self, CALLBACK_FAILED % "", extra_options=EXIT_QUICKLY,
                                                     timeout=60):
            self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
            [d] = r.of("deadlock")
            self.assertEqual((d["pid"], d["a"]["scope"]), (program_pid(r), "run"))
            self.assertEqual([t["waitType"] for t in d["a"]["threads"]], ["Pool result"])
            self.assertIn('result handler thread ended with "ValueError: callback failed"', d["a"]["hint"])

    def test_a_thread_pool_terminated_while_its_result_is_awaited(self):
        r = trace_script(write_program(self, THREADPOOL_TERMINATED), extra_options=EXIT_QUICKLY, timeout=60)
        self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
        [d] = r.of("deadlock")
        self.assertIn("ThreadPool result", [t["waitType"] for t in d["a"]["threads"]])
        self.assertIn("the pool was terminated while this result was pending", d["a"]["hint"])

    def test_waiting_for_a_multiprocessing_event_whose_setter_died(self):
        for r, _kids, _locks in runs_by_start_method(
                self, SETTER_DIED, extra_options=EXIT_QUICKLY, timeout=60):
            self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
            self.assertNotIn("never", r.stdout)
            [d] = r.of("deadlock")
            [t] = d["a"]["threads"]
            [event] = r.of("lock.create", type="mp.Event")
            self.assertEqual((t["waitType"], t["waitingFor"]), ("multiprocessing.Event.wait", event["obj"]))
            self.assertEqual(d["a"]["scope"], "run")

    def test_waiting_for_a_lock_whose_holder_thread_ended(self):
        r = trace_script(write_program(self, ENDED_HOLDING),
                         extra_options=EXIT_QUICKLY, timeout=60)
        self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
        [d] = r.of("deadlock")
        [t] = d["a"]["threads"]
        self.assertEqual((t["name"], t["waitingForOwner"], t["ownerEnded"]), ("MainThread", "worker", True))
        self.assertIn('thread "worker" ended while holding the lock', d["a"]["hint"])
        self.assertIn('held by "worker", which has ended', r.stderr)

    def test_a_lock_held_by_another_thread_at_a_fork_is_named_in_the_childs_report(self):
        r = trace_script(write_program(self, FORKED_HELD), extra_options=EXIT_QUICKLY, timeout=60)
        self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
        self.assertNotIn("never", r.stdout)
        self.assertIn("parent joined True", r.stdout)       # the child ended itself on its report
        [d] = r.of("deadlock")
        self.assertNotEqual(d["pid"], r.metadata["program"]["pid"])
        [t] = d["a"]["threads"]
        [lock] = r.of("lock.create", type="Lock")
        self.assertEqual((t["waitingFor"], t["waitingForOwner"], t["ownerEnded"]), (lock["obj"], "holder", True))
        self.assertIn('thread "holder" of the parent process held this lock when this process was forked',
                      d["a"]["hint"])

    def test_waiting_for_a_lock_whose_holder_died(self):
        # samples/mp_lock_holder_died.py: the holder of a multiprocessing lock is named on the run's
        # board, so the report says which process ended holding it.
        with open(require_sample(self, "mp_lock_holder_died.py"), encoding="utf-8") as f:
            program = f.read()
        for r, kids, _locks in runs_by_start_method(self, program, extra_options=EXIT_QUICKLY, timeout=60):
            self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
            self.assertIn("parent: waiting for the lock", r.stdout)
            self.assertNotIn("got the lock", r.stdout)
            [d] = r.of("deadlock")
            [t] = d["a"]["threads"]
            [lock] = r.of("lock.create", type="mp.Lock")
            self.assertEqual((t["waitType"], t["waitingFor"]), ("mp.Lock", lock["obj"]))
            self.assertEqual(d["a"]["scope"], "run")
            self.assertEqual((t["waitingForOwner"], t["ownerEnded"], t["waitingForProcess"]),
                             ("writer", True, kids["writer"]))
            self.assertIn('process "writer" (pid %d) ended while holding the multiprocessing lock'
                          % kids["writer"], d["a"]["hint"])
            self.assertIn('held by "writer", which has ended', r.stderr)

    def test_waiting_long_on_a_busy_process_is_not_a_deadlock(self):
        # A get, a recv, a join and a pool's map each wait past the timeout on a process that is
        # computing: never reported, and --on-deadlock exit ends nothing.
        for r, _kids, _locks in runs_by_start_method(
                self, BUSY_OTHER_SIDE, extra_options=EXIT_QUICKLY, timeout=60):
            self.assertEqual(r.returncode, 0, r)
            self.assertIn("queued sent", r.stdout)
            self.assertIn("[None, None]", r.stdout)
            self.assertEqual(r.of("deadlock"), [])
            [w] = [w for w in r.intervals("msg.wait")]
            self.assertGreater(w["dur"], 300000)       # it did wait past the timeout

    def test_report_mode_keeps_the_program_running(self):
        src = ALL_BLOCKED.replace("cond.wait()", "cond.wait(1.0)")
        path = write_program(self, src)
        r = trace_script(path, extra_options=["--deadlock-timeout", "0.2"], timeout=60)
        # a timed wait is not a permanent deadlock, but every thread was blocked past the timeout
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(len(r.of("deadlock")), 1)
        self.assertEqual(len(r.intervals("sync.wait")), 1)
        self.assertFalse(r.intervals("sync.wait")[0]["a"]["ok"])

    def test_lock_order_inversion_without_hang(self):
        path = write_program(self, INVERSION)
        r = trace_script(path)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout, "finished\n")
        [inv] = r.of("lock.inversion")
        locks = [e["obj"] for e in r.of("lock.create")]
        self.assertEqual(sorted(inv["a"]["locks"]), sorted(locks))
        lines = lambda locs: [int(l.rsplit(":", 1)[1]) for l in locs]
        self.assertEqual(lines(inv["a"]["first"]), [6, 7])
        self.assertEqual(lines(inv["a"]["second"]), [10, 11])
        self.assertEqual(r.of("deadlock"), [])


if __name__ == "__main__":
    unittest.main()
