"""CPython's own test suites for the modules we patch pass under the tracer exactly as they pass without it.

Slow (minutes): runs only with INTERLEAVE_SLOW_TESTS=1. Compares, per suite, the number of tests run and
skipped and the names of the failing tests (some may already fail on this machine without the tracer;
the tracer must not change that). A test that fails only in the traced run is run once more, alone,
under the tracer: test_threading has timing-sensitive tests that a loaded machine can fail either way,
so only a failure that repeats counts.
"""
import os
import re
import subprocess
import sys
import tempfile
import unittest

from support import interleave_cmd, runtime_env, slow

SUITES = ("test_threading", "test_queue", "test_threading_local")


def outcome(output):
    m = re.search(r"Total tests: run=(\d+)(?: \(filtered\))?(?: failures=\d+)?(?: skipped=(\d+))?", output)
    failed = set(re.findall(r"^(test\w*) \(\S+\) \.\.\. (?:FAIL|ERROR)", output, re.M))
    return (int(m.group(1)) if m else None, int(m.group(2) or 0) if m else None), failed


@slow
class StdlibSuitesTest(unittest.TestCase):
    def traced(self, d, args):
        out = os.path.join(d, "t.json")
        p = subprocess.run(interleave_cmd(["-m", "test", "-v"] + args, output=out), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=1800, cwd=d, env=runtime_env())
        self.assertTrue(os.path.exists(out), "no trace written")
        return p.stdout.decode("utf-8", "replace")

    def run_suite(self, name):
        with tempfile.TemporaryDirectory() as d:
            plain = subprocess.run([sys.executable, "-m", "test", "-v", name], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=1800, cwd=d)
            p = plain.stdout.decode("utf-8", "replace")
            t = self.traced(d, [name])
            (p_counts, p_failed), (t_counts, t_failed) = outcome(p), outcome(t)
            self.assertEqual(t_counts, p_counts, t[-3000:])
            for test in sorted(t_failed - p_failed):
                again = self.traced(d, [name, "-m", test])
                self.assertNotIn(test, outcome(again)[1], "fails under the tracer, twice:\n%s" % again[-3000:])
            for test in sorted(p_failed - t_failed):
                # failed without the tracer only: flaky on this machine, or broken without us; say so
                sys.stderr.write("note: %s failed only without the tracer\n" % test)

    def test_threading_suite(self):
        self.run_suite("test_threading")

    def test_queue_suite(self):
        self.run_suite("test_queue")

    def test_threading_local_suite(self):
        self.run_suite("test_threading_local")


# CPython's multiprocessing tests for the primitives we instrument, under fork (the start method whose
# children share our wake-up slots). The installed CPython may ship only test/_test_multiprocessing.py
# (not the test_multiprocessing_fork package): this driver installs its fork tests as that package does.
MP_DRIVER = r"""
import sys, unittest
import test._test_multiprocessing as t
t.install_tests_in_module_dict(globals(), "fork")
if __name__ == "__main__":
    names = ("TestCondition", "TestEvent", "TestBarrier", "TestQueue", "TestLock", "TestSemaphore")
    unittest.main(argv=[sys.argv[0], "-v"] + [a for n in names for a in ("-k", n)])
"""


def unittest_outcome(output):
    m = re.search(r"^Ran (\d+) tests? in", output, re.M)
    skipped = re.search(r"^(?:OK|FAILED) \(.*?skipped=(\d+)", output, re.M)
    failed = set(re.findall(r"^(test\w*) \(\S+\)(?:\n.*?)? \.\.\. (?:FAIL|ERROR)", output, re.M))
    return (int(m.group(1)) if m else None, int(skipped.group(1)) if skipped else 0), failed


@slow
class MultiprocessingSuiteTest(unittest.TestCase):
    def test_multiprocessing_sync_primitives_and_queues_under_fork(self):
        try:
            import test._test_multiprocessing  # noqa: F401
        except ImportError:
            self.skipTest("this CPython ships no multiprocessing tests")
        with tempfile.TemporaryDirectory() as d:
            driver = os.path.join(d, "mp_fork_tests.py")
            with open(driver, "w") as f:
                f.write(MP_DRIVER)
            run = lambda cmd, **kw: subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                   timeout=1800, cwd=d, **kw).stdout.decode("utf-8", "replace")
            plain = run([sys.executable, driver])
            traced = run(interleave_cmd(driver, output=os.path.join(d, "t.json")), env=runtime_env())
            (p_counts, p_failed), (t_counts, t_failed) = unittest_outcome(plain), unittest_outcome(traced)
            self.assertIsNotNone(p_counts[0], plain[-3000:])
            self.assertEqual(t_counts, p_counts, traced[-3000:])
            self.assertEqual(t_failed - p_failed, set(), traced[-3000:])
            self.assertTrue(os.path.exists(os.path.join(d, "t.json")), "no trace written")


if __name__ == "__main__":
    unittest.main()
