"""sync_primitives.py traced: RLock nesting, Condition wake-up, Semaphore capacity, Event and Barrier."""
import unittest

from support import trace_script, require_sample, assert_complete


def overlap_max(intervals):
    points = []
    for e in intervals:
        points.append((e["ts"], 1))
        points.append((e["ts"] + e["dur"], -1))
    best = cur = 0
    for _, d in sorted(points, key=lambda p: (p[0], p[1])):
        cur += d
        best = max(best, cur)
    return best


class SyncPrimitivesSample(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = None

    def trace(self):
        if SyncPrimitivesSample.r is None:
            path = require_sample(self, "sync_primitives.py")
            SyncPrimitivesSample.r = trace_script(path, mode="full")
        r = SyncPrimitivesSample.r
        self.assertEqual(r.returncode, 0, r)
        return r

    def created(self, r, type_name):
        return [e["obj"] for e in r.of("lock.create") if e["a"]["type"] == type_name]

    def test_rlock_nested_holds_on_one_lane(self):
        r = self.trace()
        [rl] = [o for o in self.created(r, "RLock")
                if any((h.get("a") or {}).get("depth") == 2 for h in r.intervals("lock.hold", obj=o))]
        holds = sorted(r.intervals("lock.hold", obj=rl), key=lambda e: e["ts"])
        outer = [h for h in holds if (h.get("a") or {}).get("depth") is None]
        inner = [h for h in holds if (h.get("a") or {}).get("depth") == 2]
        self.assertTrue(outer and inner)
        # the inner hold lies inside an outer hold of the same thread
        self.assertTrue(any(o["tid"] == inner[0]["tid"] and o["ts"] <= inner[0]["ts"] and
                            inner[0]["ts"] + inner[0]["dur"] <= o["ts"] + o["dur"] for o in outer))

    def test_semaphore_never_more_than_two_holders(self):
        r = self.trace()
        [sem] = self.created(r, "Semaphore") or self.created(r, "BoundedSemaphore")
        holds = r.intervals("lock.hold", obj=sem)
        self.assertEqual(len(holds), 4)
        self.assertEqual(len({h["tid"] for h in holds}), 4)
        self.assertEqual(overlap_max(holds), 2)
        waits = r.intervals("lock.wait", obj=sem)
        self.assertGreaterEqual(len(waits), 1)
        # each wait ends linked to the release that let the worker in, on the releasing worker's lane
        for w in waits:
            [rel] = [e for e in r.of("lock.release", obj=sem) if e["corr"] == w.get("ecorr")]
            self.assertNotEqual(rel["tid"], w["tid"])
            # a release that ended one of the releasing worker's holds (noted just before its end was taken)
            self.assertTrue(any(h["tid"] == rel["tid"] and h["ts"] <= rel["ts"] <= h["ts"] + h["dur"] for h in holds))
        self.assertIn("2", r.stdout)

    def test_event_set_releases_both_waiters(self):
        r = self.trace()
        [ev] = self.created(r, "Event")
        [setter] = r.of("sync.notify", obj=ev)
        waits = r.intervals("sync.wait", obj=ev)
        self.assertEqual(len(waits), 2)
        self.assertTrue(all(w["ecorr"] == setter["corr"] and w["a"]["ok"] for w in waits))
        self.assertTrue(all(w["ts"] + w["dur"] >= setter["ts"] for w in waits))

    def test_condition_and_barrier_links(self):
        r = self.trace()
        conds = self.created(r, "Condition")
        notifies = [n for n in r.of("sync.notify") if n["obj"] in conds and n["a"]["n"] > 0]
        waits = [w for w in r.intervals("sync.wait") if w["obj"] in conds]
        self.assertTrue(waits)
        self.assertTrue(all(w["ecorr"] in {n["corr"] for n in notifies} for w in waits if w["a"]["ok"]))
        [bar] = self.created(r, "Barrier")
        [trip] = r.of("sync.notify", obj=bar)
        bw = r.intervals("sync.wait", obj=bar)
        self.assertEqual(len(bw), 3)
        self.assertEqual({w["ecorr"] for w in bw}, {trip["corr"]})
        ends = [w["ts"] + w["dur"] for w in bw]
        starts = [w["ts"] for w in bw]
        self.assertLessEqual(max(starts), min(ends))  # every arrival before every departure
        assert_complete(self, r)


if __name__ == "__main__":
    unittest.main()


# The first hold lasts until a watcher thread has seen the recorder report it live; the second is short.
LONG_HOLD = r"""
import threading
lock = threading.Lock()
go = threading.Event()

def watch():
    # The hold's token empties when the flusher takes the hold over to report it live.
    while lock._tok:
        threading.Event().wait(0.002)
    print("reported live", flush=True)
    go.set()

with lock:  # HOLD
    threading.Thread(target=watch).start()
    go.wait()
with lock:  # SHORT
    pass
"""

EXIT_HOLDING = r"""
import threading
lock = threading.Lock()
lock.acquire()  # NEVER RELEASED
print("bye")
"""


class HoldRecording(unittest.TestCase):
    """A hold is one X event when it ends; one that lasts is reported while held (begin, then end), and
    one still held when the program exits is reported then."""

    def line(self, src, marker):
        return [i + 1 for i, l in enumerate(src.splitlines()) if marker in l][0]

    def test_long_hold_reported_live_short_hold_recorded_whole(self):
        from support import write_program
        r = trace_script(write_program(self, LONG_HOLD), mode="full")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout, "reported live\n")
        holds = r.intervals("lock.hold")
        self.assertEqual([h["loc"].rsplit(":", 1)[1] for h in holds],
                         [str(self.line(LONG_HOLD, "# HOLD")), str(self.line(LONG_HOLD, "# SHORT"))])
        self.assertGreaterEqual(holds[0]["dur"], 20000)
        self.assertLessEqual(holds[0]["ts"] + holds[0]["dur"], holds[1]["ts"])
        assert_complete(self, r)

    def test_hold_open_at_exit_is_in_the_trace(self):
        from support import write_program
        r = trace_script(write_program(self, EXIT_HOLDING), mode="full")
        self.assertEqual(r.returncode, 0, r)
        [hold] = r.of("lock.hold")   # a begin without end (the trace file closes it at the end of the run)
        self.assertTrue(hold["loc"].endswith(":%d" % self.line(EXIT_HOLDING, "# NEVER")), hold)
        assert_complete(self, r)


LET_IN = r"""
import threading, time
from interleave import deadlock

lock = threading.Lock()
go = threading.Event()

def holder():
    for _ in range(500):          # past the per-lock budget: from here on its holds are only counted
        with lock:
            pass
    with lock:
        go.wait()                 # RELEASE (the with's end lets the contender in)

def contender():
    with lock:                    # WAIT
        pass

h = threading.Thread(target=holder, name="holder"); h.start()
while not lock.locked() or not h.is_alive():
    time.sleep(0.001)
c = threading.Thread(target=contender, name="contender"); c.start()
while c.ident not in deadlock._waiting:
    time.sleep(0.001)
go.set()
h.join(); c.join()

# A Condition over an RLock: the woken waiter takes the lock back from the notifier (RLock._acquire_restore).
rl = threading.RLock()
cond = threading.Condition(rl)
box = []

def consumer():
    with cond:
        while not box:
            cond.wait()           # REACQUIRE

k = threading.Thread(target=consumer, name="consumer"); k.start()
while not cond._waiters:
    time.sleep(0.001)
with cond:
    box.append(1)
    cond.notify()
    while not rl._hw:             # until the consumer waits for the lock (the runtime's own count)
        time.sleep(0.001)
k.join()

# Two threads in a tight loop: the holder releases many times while the other is being woken. (A short
# switch interval makes the interpreter switch threads while one holds the lock, often.)
import sys
sys.setswitchinterval(0.00005)
def loop():
    for _ in range(20000):
        with lock:
            pass

ts = [threading.Thread(target=loop, name="loop%d" % i) for i in range(2)]
for t in ts: t.start()
for t in ts: t.join()
"""


class ReleaseToWaiter(unittest.TestCase):
    """A contended wait's end is linked (corr) to the lock.release that let the waiter in, recorded on
    the releasing thread's lane, also when that thread's holds are only counted (default mode)."""

    @classmethod
    def setUpClass(cls):
        cls.r = None

    def trace(self):
        if ReleaseToWaiter.r is None:
            from support import write_program
            ReleaseToWaiter.r = trace_script(write_program(self, LET_IN), mode="default")
        r = ReleaseToWaiter.r
        self.assertEqual(r.returncode, 0, r)
        return r

    def line(self, marker):
        return [i + 1 for i, l in enumerate(LET_IN.splitlines()) if marker in l][0]

    def lock_obj(self, r, type_name):
        return [e["obj"] for e in r.of("lock.create") if e["a"]["type"] == type_name][0]

    def test_counted_holders_release_is_linked_to_the_wait(self):
        r = self.trace()
        names = r.threads()
        lock = self.lock_obj(r, "Lock")
        [wait] = [w for w in r.intervals("lock.wait", obj=lock) if w["tid"] == names["contender"]]
        self.assertTrue(wait["loc"].endswith(":%d" % self.line("# WAIT")), wait)
        self.assertEqual(wait["a"]["holder"], names["holder"])
        # the holder's holds were past the budget: none of its own is recorded around the release
        self.assertFalse([h for h in r.intervals("lock.hold", obj=lock) if h["tid"] == names["holder"]
                          and h["ts"] > wait["ts"]])
        [rel] = [e for e in r.of("lock.release", obj=lock) if e.get("corr") == wait.get("ecorr")]
        self.assertEqual(rel["tid"], names["holder"])
        # a counted hold's release is not timed (that would cost every release while a thread waits):
        # it is placed at the wait's end, and says so
        self.assertEqual(rel["a"], {"approx": True})
        self.assertLessEqual(wait["ts"], rel["ts"])
        self.assertLessEqual(rel["ts"], wait["ts"] + wait["dur"])

    def test_condition_waiter_taking_the_rlock_back_is_linked_to_the_notifiers_release(self):
        r = self.trace()
        names = r.threads()
        rl = self.lock_obj(r, "RLock")
        waits = [w for w in r.intervals("lock.wait", obj=rl) if w["tid"] == names["consumer"]]
        self.assertEqual(len(waits), 1, waits)
        [rel] = r.of("lock.release", obj=rl)
        self.assertEqual(rel["tid"], r.of("process.start")[0]["pid"])      # the main thread notified, then released
        self.assertEqual(waits[0].get("ecorr", waits[0].get("corr")), rel["corr"])
        self.assertNotIn("a", rel)      # the notifier's hold was recorded: its release is timed exactly

    def test_each_release_record_belongs_to_one_wait(self):
        # Releases nobody waits for are not recorded, and a holder that releases again and again while
        # the waiter wakes leaves one record: the last release before the waiter got the lock.
        r = self.trace()
        names = r.threads()
        lock = self.lock_obj(r, "Lock")
        loopers = {names["loop0"], names["loop1"]}
        waits = [w for w in r.intervals("lock.wait", obj=lock) if w["tid"] in loopers]
        ends = [w.get("ecorr", w.get("corr")) for w in waits]
        self.assertTrue(any(ends), waits)
        rels = [e for e in r.of("lock.release", obj=lock) if e["tid"] in loopers]
        self.assertEqual(sorted(e["corr"] for e in rels), sorted(c for c in ends if c))
        for e in rels:
            [w] = [w for w in waits if w.get("ecorr", w.get("corr")) == e["corr"]]
            self.assertNotEqual(e["tid"], w["tid"])
            self.assertLessEqual(e["ts"], w["ts"] + w["dur"])
        assert_complete(self, r)
