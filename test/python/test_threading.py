"""Threads, locks, conditions, events, barriers, semaphores, queues and thread-locals, traced end to end."""
import os
import unittest

from support import trace_script, write_program, require_sample, assert_complete

PROGRAM = r'''
import threading, queue, time
lock = threading.Lock()
cond = threading.Condition()
ev = threading.Event()
bar = threading.Barrier(3)
sem = threading.BoundedSemaphore(1)
q = queue.Queue()
tl = threading.local()
items = []

def holder():
    with lock:
        started.set()
        go.wait()

def contender():
    started.wait()
    waiting.set()
    with lock:
        pass

def consumer():
    with cond:
        while not items:
            cond.wait()
    q.put(("done", items[0]))

def barrier_party(i):
    tl.value = i
    bar.wait()

started = threading.Event(); go = threading.Event(); waiting = threading.Event()
h = threading.Thread(target=holder, name="holder"); c = threading.Thread(target=contender, name="contender")
h.start(); c.start()
waiting.wait()
# release the lock only once the contender really waits for it (the watchdog's wait-for table says so)
from interleave import deadlock
while c.ident not in deadlock._waiting:
    time.sleep(0.001)
time.sleep(0.05)
go.set()
h.join(); c.join()

cons = threading.Thread(target=consumer, name="consumer"); cons.start()
while not cond._waiters:
    time.sleep(0.001)
with cond:
    items.append(42)
    cond.notify()
print(q.get())
cons.join()

ps = [threading.Thread(target=barrier_party, args=(i,), name="party%d" % i) for i in range(3)]
for p in ps: p.start()
for p in ps: p.join()
with sem:
    pass
print(sem.acquire(False), sem.acquire(False))
sem.release()
'''


# Each wait in the main thread, with no timeout, ends from inside its own waiter lock after five slices
# have timed out (the waiter lock is the one a condition's wait allocates; slices are shortened).
SLICED_WAITS = """
import queue, threading
from interleave.patches import threading_ as T
T.SLICE = 0.001
main = threading.get_ident()
raw = T._raw_lock


class Waiter(object):
    def __init__(self, wake):
        self.lock, self.wake, self.timeouts = raw(), wake, 0

    def acquire(self, blocking=True, timeout=-1):
        got = self.lock.acquire(blocking, timeout)
        if not got and blocking:
            self.timeouts += 1
            if self.timeouts == 5:
                self.wake()
        return got

    def release(self):
        self.lock.release()


def check(name, cond, wait, wake):
    made, released = [], []
    T._raw_lock = lambda: made.append(Waiter(wake)) or made[-1] if threading.get_ident() == main else raw()
    release_save = cond._release_save
    cond._release_save = lambda: released.append(1) or release_save()
    try:
        result = wait()
    finally:
        T._raw_lock = raw
        del cond._release_save
    print(name, "ok" if result in (True, 1) else result, len(released), sum(w.timeouts for w in made))


ev = threading.Event()
check("event", ev._cond, ev.wait, ev.set)
c = threading.Condition()
def notify():
    with c:
        c.notify()
with c:
    check("condition", c, c.wait, notify)
s = threading.Semaphore(0)
check("semaphore", s._cond, s.acquire, s.release)
q = queue.Queue()
check("queue", q.not_empty, q.get, lambda: q.put(1))
"""


class ThreadingTraceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = None

    def trace(self, mode="full"):
        path = write_program(self, PROGRAM)
        r = trace_script(path, mode=mode)
        self.assertEqual(r.returncode, 0, r)
        return r

    def test_lock_wait_then_hold_with_owner_lanes(self):
        r = self.trace()
        names = r.threads()
        lock_obj = [e for e in r.of("lock.create") if e["a"]["type"] == "Lock"][0]["obj"]
        waits = r.intervals("lock.wait", obj=lock_obj)
        self.assertEqual(len(waits), 1, waits)
        w = waits[0]
        self.assertEqual(w["tid"], names["contender"])
        self.assertTrue(w["a"]["ok"])
        self.assertEqual(w["a"]["holder"], names["holder"])     # who held it when the wait began
        self.assertGreaterEqual(w["dur"], 40000)  # it waited while the holder slept 50 ms
        holds = sorted(r.of("lock.hold", obj=lock_obj), key=lambda e: e["ts"])
        self.assertEqual([e["tid"] for e in holds], [names["holder"], names["contender"]])
        # the contender's hold starts when its wait ends, after the holder's hold ended
        self.assertGreaterEqual(holds[1]["ts"], holds[0]["ts"] + holds[0]["dur"])
        self.assertAlmostEqual(holds[1]["ts"], w["ts"] + w["dur"], delta=1000)
        # the holder's release let the contender in: one lock.release on the holder's lane, linked to the wait's end
        [let_in] = r.of("lock.release", obj=lock_obj)
        self.assertEqual(let_in["tid"], names["holder"])
        self.assertEqual(w["ecorr"], let_in["corr"])
        self.assertNotIn("a", let_in)       # timed exactly (not a.approx): the holder's hold was recorded
        # noted as the holder released, just before its hold's end was taken
        self.assertLessEqual(holds[0]["ts"], let_in["ts"])
        self.assertLessEqual(let_in["ts"], holds[0]["ts"] + holds[0]["dur"])
        line = [i for i, text in enumerate(PROGRAM.split("\n"), 1) if text == "    with lock:"][1]
        self.assertTrue(w["loc"].endswith(":%d" % line), w["loc"])
        assert_complete(self, r)

    def test_condition_notify_wakes_waiter_with_link(self):
        r = self.trace()
        names = r.threads()
        notify = [e for e in r.of("sync.notify", what="condition") if e["a"]["n"] == 1]
        self.assertEqual(len(notify), 1)
        waits = r.intervals("sync.wait", what="condition")
        self.assertEqual(len(waits), 1)
        self.assertEqual(waits[0]["tid"], names["consumer"])
        self.assertEqual(waits[0]["ecorr"], notify[0]["corr"])
        self.assertEqual(waits[0]["obj"], notify[0]["obj"])

    def test_queue_put_get_link_and_thread_links(self):
        r = self.trace()
        names = r.threads()
        sends = r.of("msg.send")
        recvs = r.of("msg.recv")
        self.assertEqual(len(sends), 1)
        self.assertEqual(sends[0]["tid"], names["consumer"])
        self.assertEqual(sends[0]["a"]["preview"], "('done', 42)")
        self.assertEqual(recvs[0]["corr"], sends[0]["corr"])
        self.assertEqual(recvs[0]["tid"], r.metadata["program"]["pid"])
        # spawn -> run b arrows: a Chrome flow from each spawn to the start of the thread it started
        flows = {}
        for c in r.raw["traceEvents"]:
            if c["ph"] in ("s", "f"):
                flows.setdefault(c["id"], {})[c["ph"]] = c
        pairs = {((f["s"]["tid"], f["s"]["ts"]), (f["f"]["tid"], f["f"]["ts"])) for f in flows.values()}
        for name, tid in names.items():
            run = [e for e in r.of("thread.run", "b") if e["tid"] == tid][0]
            spawn = [e for e in r.of("thread.spawn") if e["a"]["name"] == name]
            self.assertEqual(len(spawn), 1, name)
            self.assertIn(((spawn[0]["tid"], spawn[0]["ts"]), (tid, run["ts"])), pairs, name)
        joins = r.intervals("thread.join")
        self.assertEqual(len(joins), 6)
        self.assertTrue(all(j["a"]["ok"] and j["ecorr"] for j in joins))
        # run e -> join e: each join ends with the corr its thread's run ended with
        ends = {e["corr"] for e in r.of("thread.run", "e")}
        self.assertEqual({j["ecorr"] for j in joins}, ends)
        self.assertEqual(sorted(j["a"]["target"] for j in joins), sorted(names.values()))

    def test_barrier_event_semaphore_local(self):
        r = self.trace()
        notify = r.of("sync.notify", what="barrier")
        self.assertEqual(len(notify), 1)
        waits = r.intervals("sync.wait", what="barrier")
        self.assertEqual(len(waits), 3)
        self.assertTrue(all(w["ecorr"] == notify[0]["corr"] for w in waits))
        binds = r.of("local.bind", attr="value")
        self.assertEqual(sorted(b["a"]["preview"] for b in binds), ["0", "1", "2"])
        self.assertEqual(len(set(b["tid"] for b in binds)), 3)
        sem = [e for e in r.of("lock.create") if e["a"]["type"] == "BoundedSemaphore"][0]["obj"]
        self.assertEqual(len(r.of("lock.fail", obj=sem)), 1)  # the second acquire(False)
        self.assertEqual(len(r.of("lock.hold", obj=sem)), 2)
        self.assertIn("True False", r.stdout)

    def test_default_mode_aggregates_uncontended_lock_ops(self):
        src = ("import threading\nlock = threading.Lock()\n"
               "for i in range(5000):\n    with lock:\n        pass\n")
        path = write_program(self, src)
        r = trace_script(path, mode="default")
        self.assertEqual(r.returncode, 0, r)
        obj = r.of("lock.create")[0]["obj"]
        holds = r.of("lock.hold", obj=obj)
        counted = sum(e["a"]["count"] for e in r.of("aggregate", obj=obj))
        self.assertLess(len(holds), 200)
        self.assertEqual(len(holds) + counted, 5000)
        full = trace_script(path, mode="full")
        self.assertEqual(len(full.of("lock.hold", obj=full.of("lock.create")[0]["obj"])), 5000)

    def test_counted_holds_are_exact_per_thread_and_per_process(self):
        # Past the budget, holds are counted in runs per thread (threading_._new_run); threads that
        # yield the interpreter often hand the lock's run over thousands of times. A fork child counts
        # only its own holds.
        src = ("import os, threading, time\nlock = threading.Lock()\n"
               "def work(n):\n    for i in range(n):\n        with lock:\n            pass\n"
               "        if i % 7 == 0:\n            time.sleep(0)\n"
               "ts = [threading.Thread(target=work, args=(n,)) for n in (3000, 4000)]\n"
               "for t in ts: t.start()\nwork(2000)\nfor t in ts: t.join()\n"
               "pid = os.fork()\nif pid == 0:\n    work(700)\n    os._exit(0)\n"
               "os.waitpid(pid, 0)\nprint(threading.get_native_id(), *(t.native_id for t in ts))\n")
        path = write_program(self, src)
        r = trace_script(path, mode="default")
        self.assertEqual(r.returncode, 0, r)
        obj = r.of("lock.create")[0]["obj"]
        main, t1, t2 = map(int, r.stdout.split())
        per = {}
        for e in r.of("lock.hold", obj=obj):
            per[(e["pid"], e["tid"])] = per.get((e["pid"], e["tid"]), 0) + 1
        for e in r.of("aggregate", obj=obj):
            self.assertGreater(e["a"]["count"], 0)
            per[(e["pid"], e["tid"])] = per.get((e["pid"], e["tid"]), 0) + e["a"]["count"]
        parent = r.metadata["program"]["pid"]
        self.assertEqual({k: v for k, v in per.items() if k[0] == parent}, {(parent, main): 2000, (parent, t1): 3000, (parent, t2): 4000})
        self.assertEqual([v for k, v in per.items() if k[0] != parent], [700])

    def test_a_main_thread_wait_without_timeout_takes_its_condition_lock_once(self):
        # The main thread's endless waits are made of short ones (signals are never left pending), but
        # only the wait for the condition's waiter lock is sliced: its lock is released once, as in a
        # plain wait. Re-entering the condition at every slice let a Ctrl-C landing between two of those
        # steps leave the lock released under the program ("release unlocked lock").
        path = write_program(self, SLICED_WAITS)
        r = trace_script(path, timeout=30)     # (re-entering at each slice, the waits never end)
        self.assertEqual(r.returncode, 0, r)
        rows = dict(line.split(" ", 1) for line in r.stdout.split("\n") if line)
        self.assertEqual(set(rows), {"event", "condition", "semaphore", "queue"}, r.stdout)
        for what, row in rows.items():
            result, released, slices = row.split()
            self.assertEqual(result, "ok", what)
            self.assertGreaterEqual(int(slices), 5, what)      # it did wait through several slices
            self.assertEqual(released, "1", what)              # and released the lock once

    def test_stdlib_internal_locks_are_not_user_objects(self):
        src = "import threading, queue\nq = queue.Queue()\nt = threading.Thread(target=q.put, args=(1,))\nt.start(); t.join(); q.get()\n"
        path = write_program(self, src)
        r = trace_script(path, mode="full")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.of("lock.create"), [])  # the Queue's mutex/conditions and the Thread's locks
        self.assertEqual(len(r.of("chan.create")), 1)
        self.assertEqual(r.of("msg.send")[0]["corr"], r.of("msg.recv")[0]["corr"])

    @unittest.skipUnless(os.path.exists("/usr/bin/python3"), "needs Debian's python3")
    def test_other_interpreter_where_threading_is_imported_late(self):
        # Debian's python3 does not import threading at start-up: the patches are installed on import,
        # after _thread's, and a Thread must still be seen once (not also as a raw _thread thread).
        path = write_program(self, PROGRAM)
        r = trace_script(path, mode="full", interpreter="/usr/bin/python3")
        self.assertEqual(r.returncode, 0, r)
        runs = r.of("thread.run", "b")
        self.assertEqual(len(runs), len(r.of("thread.spawn")))
        self.assertEqual({e["a"]["kind"] for e in runs}, {"thread"})
        self.assertEqual(len(r.intervals("sync.wait", what="barrier")), 3)


FINISHED_THREAD_FREED = r'''
import gc, threading, weakref
gc.disable()          # only reference counting: a cycle through the thread would keep it alive
def work(fail):
    if fail:
        raise ValueError("boom")
refs = []
for fail in (False, True):
    t = threading.Thread(target=work, args=(fail,))
    t.start()
    t.join()
    refs.append(weakref.ref(t))
    del t
print("alive", [r() is not None for r in refs])
'''


class FinishedThreadTest(unittest.TestCase):
    def test_a_finished_thread_is_freed_at_once_as_in_a_plain_run(self):
        # concurrent.futures keeps weak-keyed state per manager thread and reads it again in fork
        # children: a traced thread kept alive by a reference cycle broke CPython's own test_deadlock.
        path = write_program(self, FINISHED_THREAD_FREED)
        r = trace_script(path)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.strip(), "alive [False, False]")
        # and the failing thread's error is still recorded through the hook
        runs = r.intervals("thread.run")
        self.assertEqual(sorted(str(e["a"].get("error")) for e in runs), ["None", "ValueError: boom"])


class SampleTest(unittest.TestCase):
    def test_producer_consumer_sample(self):
        path = require_sample(self, "producer_consumer.py")
        r = trace_script(path, timeout=60)
        self.assertEqual(r.returncode, 0, r)
        sends = r.of("msg.send")
        recvs = r.of("msg.recv")
        self.assertEqual(len(sends), 12)  # 10 items + 2 sentinels
        self.assertEqual(set(s["corr"] for s in sends), set(x["corr"] for x in recvs))
        self.assertTrue(r.of("msg.wait", op="put"), "a producer should block on the full queue")
        names = r.threads()
        self.assertTrue({"producer-1", "producer-2", "consumer-1", "consumer-2"} <= set(names))
        assert_complete(self, r)

    def test_bank_lock_sample(self):
        path = require_sample(self, "bank_lock.py")
        r = trace_script(path, mode="full")
        self.assertEqual(r.returncode, 0, r)
        names = r.threads()
        obj = r.of("lock.create", type="Lock")[0]["obj"]
        holds = r.of("lock.hold", obj=obj)
        self.assertEqual(len(holds), 100)
        self.assertEqual({h["tid"] for h in holds}, {names["deposit"], names["withdraw"]})
        # holds never overlap: a Lock has one owner at a time
        hs = sorted(holds, key=lambda e: e["ts"])
        for a, b in zip(hs, hs[1:]):
            self.assertLessEqual(a["ts"] + a["dur"], b["ts"] + 1)
        self.assertTrue(r.of("lock.wait", obj=obj), "the two threads contend for the lock")


if __name__ == "__main__":
    unittest.main()
