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
        r = trace_script(path, extra_options=["--deadlock-timeout", "0.3", "--on-deadlock", "exit"], timeout=60)
        self.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
        [dl] = r.of("deadlock")
        self.assertEqual(dl["a"]["reason"], "all-blocked")
        kinds = sorted(t["waitType"] for t in dl["a"]["threads"])
        self.assertEqual(kinds, ["Condition", "Thread"])
        self.assertIn("blocked for more than 0.3s", r.stderr)

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
