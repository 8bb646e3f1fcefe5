"""os.fork, os.waitpid/wait and os.kill under the tracer: both sides of a fork, the exit as seen by the
parent, the join that waited for it (linked by corr), and signals."""
import unittest

from support import assert_complete, require_sample, trace_script, write_program
from test_mp_support import spans


class ForkSample(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = None

    def setUp(self):
        if ForkSample.r is None:
            ForkSample.r = trace_script(require_sample(self, "fork_basic.py"))
        self.r = ForkSample.r

    def test_program_unchanged(self):
        self.assertEqual(self.r.returncode, 0, self.r)
        self.assertIn("exited with status 3", self.r.stdout)

    def test_spawn_links_to_child_start(self):
        spawns = self.r.of("process.spawn", method="fork")
        self.assertEqual(len(spawns), 1, self.r)
        sp = spawns[0]
        child = sp["a"]["child"]
        self.assertNotEqual(child, sp["pid"])
        self.assertTrue(sp.get("loc", "").endswith("fork_basic.py:%d" % _line_of("fork_basic.py", "os.fork()")))
        starts = [e for e in self.r.of("process.start") if e["pid"] == child]
        self.assertTrue(starts, "the child reported no process.start")
        self.assertEqual(starts[0].get("corr"), sp["corr"])
        self.assertEqual(starts[0]["a"]["ppid"], sp["pid"])

    def test_exit_code_and_join_linked(self):
        child = self.r.of("process.spawn")[0]["a"]["child"]
        parent = self.r.of("process.spawn")[0]["pid"]
        exits = [e for e in self.r.of("process.exit") if e["pid"] == child and e.get("corr")]
        self.assertEqual(len(exits), 1, self.r.of("process.exit"))
        self.assertEqual(exits[0]["a"]["code"], 3)
        joins = [e for e in spans(self.r, "process.join") if e["pid"] == parent]
        self.assertEqual(len(joins), 1)
        self.assertEqual(joins[0]["a"]["child"], child)
        self.assertEqual(joins[0].get("ecorr"), exits[0]["corr"])
        # The join covers the child's 0.2 s of work.
        self.assertGreaterEqual(joins[0].get("dur", 0), 100000)

    def test_nothing_lost(self):
        assert_complete(self, self.r)


def _line_of(sample, text):
    from support import sample as path_of
    with open(path_of(sample)) as f:
        for i, line in enumerate(f, 1):
            if text in line:
                return i
    raise AssertionError("%r not in %s" % (text, sample))


KILL_PROGRAM = r'''
import os, signal
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.write(w, b"ready")     # the handler is in place: the parent may signal us
    signal.pause()
    os._exit(0)
os.close(w)
os.read(r, 5)
os.kill(pid, signal.SIGTERM)
_, status = os.wait()
print("signalled", os.WIFSIGNALED(status), os.WTERMSIG(status))
pid2 = os.fork()
if pid2 == 0:
    os._exit(7)
while True:
    done, status = os.waitpid(pid2, os.WNOHANG)
    if done:
        break
print("polled", os.waitstatus_to_exitcode(status))
'''


class KillAndWait(unittest.TestCase):
    def test_signal_wait_and_nonblocking_waitpid(self):
        r = trace_script(write_program(self, KILL_PROGRAM))
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("signalled True 15", r.stdout)
        self.assertIn("polled 7", r.stdout)
        first, second = [e["a"]["child"] for e in r.of("process.spawn")]
        sig = r.of("process.signal")
        self.assertEqual([(e["a"]["child"], e["a"]["signal"]) for e in sig], [(first, "SIGTERM")])
        ex1 = [e for e in r.of("process.exit") if e["pid"] == first and e.get("corr")]
        self.assertEqual(ex1[0]["a"].get("signal"), "SIGTERM")
        self.assertTrue(ex1[0]["a"].get("killed"))
        ex2 = [e for e in r.of("process.exit") if e["pid"] == second and e.get("corr")]
        self.assertEqual(ex2[0]["a"]["code"], 7)
        joins = {e.get("ecorr") for e in spans(r, "process.join")}
        self.assertIn(ex1[0]["corr"], joins)
        self.assertIn(ex2[0]["corr"], joins)
        # WNOHANG polls that found nothing are not joins: only the successful poll is recorded.
        self.assertEqual(len([e for e in spans(r, "process.join") if e["a"]["child"] == second]), 1)


if __name__ == "__main__":
    unittest.main()
