"""The runtime's one background thread per process (ticker.py), and the watchdog it runs."""
import os
import sys
import threading
import time
import unittest

from support import RUNTIME, trace_script, write_program

sys.path.insert(0, RUNTIME)
from interleave import deadlock, ticker  # noqa: E402

THREAD_COUNTS = r'''
import os, sys
def tasks():
    return len(os.listdir("/proc/self/task"))
print("root", tasks(), flush=True)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.write(w, str(tasks()).encode())
    os._exit(0)
os.close(w)
got = os.read(r, 16).decode()
os.waitpid(pid, 0)
print("child", got, flush=True)
'''


@unittest.skipUnless(os.path.isdir("/proc/self/task"), "needs /proc")
class OneThreadTest(unittest.TestCase):
    def test_each_process_has_one_runtime_thread_and_all_its_jobs_run(self):
        path = write_program(self, THREAD_COUNTS)
        r = trace_script(path, extra_options=["--cpu-interval", "5"])
        self.assertEqual(r.returncode, 0, r)
        counts = dict(line.split() for line in r.stdout.splitlines())
        # a fork child: the program's thread and the runtime's one; the root program also has the thread
        # that reports its signals to the supervisor (boot._watch_signals)
        self.assertEqual(counts, {"root": "3", "child": "2"})
        root = r.metadata["program"]["pid"]
        pids = {p["pid"] for p in r.metadata["processes"]}
        self.assertEqual(len(pids), 2)
        child = (pids - {root}).pop()
        # the flush job of that one thread delivered everything, the summary last (CPU sampling and the
        # watchdog, its other jobs, are tested in test_cpu and test_deadlock)
        self.assertEqual(r.metadata["totals"]["dropped"], 0)
        self.assertEqual(len([e for e in r.events if e.get("k") == "process.summary"]), 2)
        self.assertTrue({e["pid"] for e in r.of("process.start")} >= {root, child})


class JobsTest(unittest.TestCase):
    def test_soon_runs_a_job_before_its_period_and_a_job_can_stop(self):
        first, second, after = threading.Event(), threading.Event(), threading.Event()
        calls = []

        def job():
            calls.append(time.monotonic())
            (second if len(calls) >= 2 else first).set()
            return -1 if len(calls) >= 2 else None     # -1: done, the job leaves the thread

        ticker.every("test-soon", 3600.0, job)        # first run at once, then hourly
        try:
            self.assertTrue(first.wait(30))
            self.assertEqual(len(calls), 1)
            ticker.soon("test-soon", 0.0)
            self.assertTrue(second.wait(30), "soon() did not bring the job forward")
            # A job registered now runs in a later pass of the thread than the one that ran the second
            # call, so by then that job's -1 has taken it off.
            ticker.every("test-after", 3600.0, lambda: (after.set(), -1)[1])
            self.assertTrue(after.wait(30))
            self.assertNotIn("test-soon", ticker._jobs)
            self.assertEqual(len(calls), 2)
        finally:
            ticker.cancel("test-soon")
            ticker.cancel("test-after")

    def test_a_failing_job_keeps_its_period_and_others_run(self):
        other, failed_thrice = threading.Event(), threading.Event()
        failures = []

        def bad():
            failures.append(1)
            if len(failures) >= 3:
                failed_thrice.set()
            raise RuntimeError("boom")

        ticker.every("test-bad", 0.001, bad)
        ticker.every("test-other", 0.001, lambda: (other.set(), -1)[1])
        try:
            self.assertTrue(other.wait(30))
            self.assertTrue(failed_thrice.wait(30), "a job that raised was not run again")
        finally:
            ticker.cancel("test-bad")
            ticker.cancel("test-other")


class AllBlockedTest(unittest.TestCase):
    """The all-blocked check must not take a join whose thread has just ended for a deadlock (the joiner
    returns as soon as it is scheduled; on a loaded machine the check can run first)."""

    def setUp(self):
        self.reports = []
        self._saved = (deadlock._report, deadlock._timeout, dict(deadlock._waiting), set(deadlock._reported),
                       deadlock._live_threads)
        deadlock._report = lambda reason, idents: self.reports.append((reason, sorted(idents)))
        # Only this test's threads count as the program's (other tests may leave threads running).
        self.live = {threading.get_ident(): threading.current_thread()}
        deadlock._live_threads = lambda: {i: t for i, t in self.live.items() if t.is_alive()}
        deadlock._timeout = 0.1
        deadlock._waiting.clear()
        deadlock._reported.clear()

    def tearDown(self):
        deadlock._report, deadlock._timeout, deadlock._live_threads = self._saved[0], self._saved[1], self._saved[4]
        deadlock._waiting.clear()
        deadlock._waiting.update(self._saved[2])
        deadlock._reported.clear()
        deadlock._reported.update(self._saved[3])

    def test_join_of_an_ended_thread_is_not_a_deadlock(self):
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
        me = threading.get_ident()
        deadlock._waiting[me] = (t, True, time.monotonic() - 10)
        deadlock._check_all_blocked()
        self.assertEqual(self.reports, [])

    def test_every_thread_blocked_is_reported(self):
        release = threading.Event()
        t = threading.Thread(target=release.wait)
        t.start()
        self.live[t.ident] = t
        try:
            me = threading.get_ident()
            deadlock._waiting[me] = (t, True, time.monotonic() - 10)
            deadlock._waiting[t.ident] = (release, True, time.monotonic() - 10)
            deadlock._check_all_blocked()
            self.assertEqual(self.reports, [("all-blocked", sorted([me, t.ident]))])
        finally:
            release.set()
            t.join()


if __name__ == "__main__":
    unittest.main()
