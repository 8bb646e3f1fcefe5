"""multiprocessing shared state under the tracer: the lock of a Value (get_lock) and user locks as
locks with holds and waits in every process, Value/Array reads and writes with the same object id in
parent and children (fork and spawn), Manager proxies as calls to the manager process."""
import unittest

from support import assert_complete, require_sample, trace_script, write_program
from test_mp import run_with_method
from test_mp_support import program_pid, spans


class ValueArraySample(unittest.TestCase):
    def test_shared_writes_and_value_lock(self):
        for method in ("fork", "spawn"):
            with self.subTest(method=method):
                r = run_with_method(self, require_sample(self, "mp_value_array.py"), method)
                self.assertEqual(r.returncode, 0, r)
                self.assertIn("counter: 400 (expected 400)", r.stdout)
                main = program_pid(r)
                kids = {e["a"]["name"]: e["a"]["child"] for e in r.of("process.spawn") if e["pid"] == main}
                created = {e["a"]["type"]: e for e in r.of("shared.create")}
                self.assertEqual(set(created), {"Value", "Array"})
                self.assertEqual(created["Value"]["a"]["typecode"], "i")
                value, array = created["Value"]["obj"], created["Array"]["obj"]
                writes = r.of("shared.write", obj=value)
                self.assertEqual(len(writes), 400)
                self.assertEqual({w["pid"] for w in writes}, {kids["incrementer-1"], kids["incrementer-2"]})
                self.assertEqual(sorted(int(w["a"]["preview"]) for w in writes), list(range(1, 401)))
                fills = r.of("shared.write", obj=array)
                self.assertEqual([(w["pid"], w["a"]["index"], w["a"]["preview"]) for w in fills],
                                 [(kids["filler"], i, repr(float(i * i))) for i in range(5)])
                reads = r.of("shared.read", obj=value)
                self.assertEqual(reads[-1]["pid"], main)           # the parent printing counter.value
                # get_lock(): the Value's RLock, held in both incrementers (individually or counted).
                locks = r.of("lock.create", type="mp.RLock")
                self.assertTrue(locks)
                holders = set()
                for lock in locks:
                    holders |= {h["pid"] for h in spans(r, "lock.hold", obj=lock["obj"])}
                    holders |= {g["pid"] for g in r.of("aggregate", obj=lock["obj"])}
                self.assertTrue({kids["incrementer-1"], kids["incrementer-2"]} <= holders, holders)
                assert_complete(self, r)


CONTENDED = r'''
import multiprocessing as mp
def hold(lock, started, release):
    with lock:
        started.set()
        release.wait()
if __name__ == "__main__":
    lock = mp.Lock()
    started, release = mp.Event(), mp.Event()
    p = mp.Process(target=hold, args=(lock, started, release))
    p.start()
    started.wait()
    print("try", lock.acquire(False))
    print("timed", lock.acquire(timeout=0.05))   # the child holds it until we set `release`
    release.set()
    with lock:
        print("got it")
    p.join()
'''


class ContendedLock(unittest.TestCase):
    def test_wait_fail_and_hold_across_processes(self):
        for method in ("fork", "spawn"):
            with self.subTest(method=method):
                r = run_with_method(self, write_program(self, CONTENDED), method)
                self.assertEqual(r.returncode, 0, r)
                self.assertIn("try False", r.stdout)
                self.assertIn("timed False", r.stdout)
                main = program_pid(r)
                kid = [e["a"]["child"] for e in r.of("process.spawn") if e["pid"] == main][0]
                locks = r.of("lock.create", type="mp.Lock")
                self.assertEqual(len(locks), 1)      # the Events' internal locks are not user locks
                obj = locks[0]["obj"]
                self.assertEqual([e["pid"] for e in r.of("lock.fail", obj=obj)], [main])
                holds = spans(r, "lock.hold", obj=obj)
                self.assertEqual({h["pid"] for h in holds}, {main, kid})
                waits = spans(r, "lock.wait", obj=obj)
                timed_out = [w for w in waits if w["pid"] == main and not w["a"]["ok"]]
                self.assertEqual(len(timed_out), 1, waits)
                self.assertTrue(timed_out[0]["a"]["timeout"])
                self.assertGreaterEqual(timed_out[0]["dur"], 40000)


LET_IN = r'''
import multiprocessing as mp, time
from interleave.patches import mp_util

def hold(lock, started, go):
    with lock:
        started.set()
        go.wait()
    # RELEASE (the with's end)

def wait(lock):
    with lock:          # WAIT
        pass

if __name__ == "__main__":
    lock = mp.Lock()
    started, go = mp.Event(), mp.Event()
    holder = mp.Process(target=hold, args=(lock, started, go), name="holder")
    holder.start()
    started.wait()
    waiter = mp.Process(target=wait, args=(lock,), name="waiter")
    waiter.start()
    board, slot = mp_util.lock_slot(lock._il_lock)
    while not board[slot]:      # until the waiter has counted itself in (the runtime's own count)
        time.sleep(0.001)
    go.set()
    holder.join(); waiter.join()
'''


class LockLetIn(unittest.TestCase):
    """The release that let a waiter in is linked to its wait's end when the two are in different
    processes, as for threading locks (the run's wake board carries the release's time and thread)."""

    def test_release_in_one_process_links_to_the_wait_it_ended_in_another(self):
        for method in ("fork", "spawn"):
            with self.subTest(method=method):
                r = run_with_method(self, write_program(self, LET_IN), method)
                self.assertEqual(r.returncode, 0, r)
                main = program_pid(r)
                kids = {e["a"]["name"]: e["pid"] for e in r.of("process.start") if e["pid"] != main}
                [obj] = [e["obj"] for e in r.of("lock.create", type="mp.Lock")]
                [w] = [w for w in spans(r, "lock.wait", obj=obj) if w["pid"] == kids["waiter"]]
                self.assertTrue(w["a"]["ok"])
                self.assertTrue(w["loc"].endswith("prog.py:%d" % line_of(LET_IN, "WAIT")), w)
                [rel] = r.of("lock.release", obj=obj)
                self.assertEqual((rel["pid"], rel["tid"]), (kids["holder"], kids["holder"]))
                self.assertEqual(w.get("ecorr"), rel["corr"])
                # the release ends the holder's hold (noted just before the hold's end is), within the wait
                [h] = [h for h in spans(r, "lock.hold", obj=obj) if h["pid"] == kids["holder"]]
                self.assertLessEqual(h["ts"], rel["ts"])
                self.assertLessEqual(rel["ts"], h["ts"] + h["dur"])
                self.assertLessEqual(w["ts"], rel["ts"])
                self.assertLessEqual(rel["ts"], w["ts"] + w["dur"])
                assert_complete(self, r)


class ManagerSample(unittest.TestCase):
    def test_proxy_calls(self):
        r = trace_script(require_sample(self, "mp_manager.py"))
        self.assertEqual(r.returncode, 0, r)
        main = program_pid(r)
        created = {e["a"]["type"]: e["obj"] for e in r.of("shared.create")}
        self.assertEqual(set(created), {"Manager.dict", "Manager.list"})
        workers = {e["a"]["child"] for e in r.of("process.spawn") if e["pid"] == main
                   and e["a"].get("target") == "record"}
        self.assertEqual(len(workers), 4)
        calls = spans(r, "manager.call")
        sets = [c for c in calls if c["obj"] == created["Manager.dict"] and c["a"]["method"] == "__setitem__"]
        appends = [c for c in calls if c["obj"] == created["Manager.list"] and c["a"]["method"] == "append"]
        self.assertEqual({c["pid"] for c in sets}, workers)
        self.assertEqual({c["pid"] for c in appends}, workers)
        self.assertTrue(all(c["dur"] is not None and c["dur"] >= 0 for c in sets + appends))
        # The parent reads them back through the same proxies.
        self.assertTrue([c for c in calls if c["pid"] == main and c["obj"] == created["Manager.dict"]])
        assert_complete(self, r)


# The child waits on an Event the parent sets once it sees the child asleep in it (the Event's own
# Condition counts its sleepers); then both meet at a Barrier; then the parent waits on a Condition
# the child notifies (it can only take the Condition's lock once the parent waits); last, a wait that
# times out.
SYNC = r"""
import multiprocessing as mp, threading

def sleepers(cond):
    return cond._sleeping_count.get_value() - cond._woken_count.get_value()

def child(ev, bar, cond, state):
    ev.wait()                       # EV-WAIT
    bar.wait()                      # BAR-CHILD
    with cond:
        state.value = 1
        cond.notify_all()           # NOTIFY

if __name__ == "__main__":
    ev, bar, cond = mp.Event(), mp.Barrier(2), mp.Condition()
    state = mp.Value("i", 0)
    p = mp.Process(target=child, args=(ev, bar, cond, state))
    p.start()
    while sleepers(ev._cond) < 1:
        threading.Event().wait(0.002)
    ev.set()                        # EV-SET
    with cond:                      # held until wait_for waits: the child can only notify after that
        bar.wait()                  # BAR-MAIN
        cond.wait_for(lambda: state.value == 1)   # COND-WAIT
    p.join()
    print("timed out", not mp.Event().wait(0.05))   # TIMEOUT
"""


def line_of(src, mark):
    return next(i for i, l in enumerate(src.splitlines(), 1) if l.rstrip().endswith("# " + mark))


class SyncPrimitives(unittest.TestCase):
    """multiprocessing Event/Barrier/Condition waits are recorded as the threading ones are."""

    def test_event_barrier_condition_across_processes(self):
        for method in ("fork", "spawn"):
            with self.subTest(method=method):
                r = run_with_method(self, write_program(self, SYNC), method)
                self.assertEqual(r.returncode, 0, r)
                self.assertIn("timed out True", r.stdout)
                main = program_pid(r)
                kid = [e["a"]["child"] for e in r.of("process.spawn") if e["pid"] == main][0]
                created = {}
                for e in r.of("lock.create"):
                    created.setdefault(e["a"]["type"], []).append(e["obj"])
                self.assertEqual(len(created["mp.Event"]), 2, created)   # ev and the one that times out
                [bar] = created["mp.Barrier"]
                [cond] = created["mp.Condition"]
                ev = created["mp.Event"][0]
                at = lambda e, mark: e["loc"].endswith("prog.py:%d" % line_of(SYNC, mark))
                # The child's wait on the Event, on its own lane, until the parent's set.
                [w] = spans(r, "sync.wait", obj=ev)
                [s] = r.of("sync.notify", obj=ev)
                self.assertEqual((w["pid"], w["a"]["what"], w["a"]["ok"]), (kid, "event", True))
                self.assertTrue(at(w, "EV-WAIT"), w)
                self.assertEqual((s["pid"], s["a"]["what"], s["a"]["n"]), (main, "event", 1))
                self.assertTrue(at(s, "EV-SET"), s)
                self.assertLess(w["ts"], s["ts"])
                self.assertGreaterEqual(w["ts"] + w["dur"], s["ts"])
                # Both processes wait at the Barrier; whichever arrives last trips it (one notify), and
                # its own wait is linked to that trip.
                bw = spans(r, "sync.wait", obj=bar)
                self.assertEqual(sorted(w["pid"] for w in bw), sorted([main, kid]))
                self.assertTrue(all(w["a"] == {"what": "barrier", "ok": True} for w in bw), bw)
                [trip] = r.of("sync.notify", obj=bar)
                self.assertEqual((trip["a"]["what"], trip["a"]["n"]), ("barrier", 2))
                self.assertEqual([w.get("ecorr") for w in bw if w["pid"] == trip["pid"]], [trip["corr"]])
                # The parent's Condition wait (through wait_for) ends after the child's notify_all.
                cw = spans(r, "sync.wait", obj=cond)
                self.assertTrue(cw and all(w["pid"] == main and w["a"]["what"] == "condition" for w in cw), cw)
                self.assertTrue(all(at(w, "COND-WAIT") for w in cw), cw)
                [n] = r.of("sync.notify", obj=cond)
                self.assertEqual((n["pid"], n["a"]["what"]), (kid, "condition"))
                self.assertTrue(at(n, "NOTIFY"), n)
                self.assertTrue(any(w["a"]["ok"] and w["ts"] + w["dur"] >= n["ts"] for w in cw), (cw, n))
                # Every wait is linked to the wake-up that ended it, whichever process woke it, under
                # fork and spawn alike (the run's wake board, mapped by every process of the run).
                cross = [w.get("ecorr") == s["corr"], [w.get("ecorr") for w in bw] == [trip["corr"]] * 2,
                         cw[-1].get("ecorr") == n["corr"]]
                self.assertEqual(cross, [True] * 3, (w, s, bw, trip, cw, n))
                # A wait that timed out: not ok, about as long as its timeout.
                [t] = spans(r, "sync.wait", obj=created["mp.Event"][1])
                self.assertEqual((t["pid"], t["a"]["ok"]), (main, False))
                self.assertGreaterEqual(t["dur"], 40000)
                # The Conditions inside the Events and the Barrier are machinery: not recorded (the
                # other waits are the polling loop's threading Events).
                waited = {w["obj"] for w in spans(r, "sync.wait")} - set(created.get("Event", []))
                self.assertEqual(waited, set(created["mp.Event"]) | {bar, cond})
                assert_complete(self, r)


if __name__ == "__main__":
    unittest.main()
