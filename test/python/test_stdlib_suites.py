"""CPython's own test suites for the modules we patch pass under the tracer exactly as they pass without it.

Slow (minutes): runs only with INTERLEAVE_SLOW_TESTS=1. Compares, per suite, the number of tests run,
skipped and failed, and the names of the failing tests (some may already fail on this machine without
the tracer; the tracer must not change that).
"""
import os
import re
import subprocess
import sys
import tempfile
import unittest

from support import interleave_cmd, runtime_env, slow

SUITES = ("test_threading", "test_queue", "test_threading_local")


def summary(output):
    m = re.search(r"Total tests: run=(\d+)(?: failures=(\d+))?(?: skipped=(\d+))?", output)
    failed = sorted(set(re.findall(r"^(?:FAIL|ERROR): (\S+ \(\S+\))", output, re.M)))
    return (int(m.group(1)) if m else None, int(m.group(2) or 0) if m else None,
            int(m.group(3) or 0) if m else None, failed)


@slow
class StdlibSuitesTest(unittest.TestCase):
    def run_suite(self, name):
        with tempfile.TemporaryDirectory() as d:
            plain = subprocess.run([sys.executable, "-m", "test", name], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=1800, cwd=d)
            traced = subprocess.run(interleave_cmd(["-m", "test", name], output=os.path.join(d, "t.json")),
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1800, cwd=d,
                                    env=runtime_env())
            self.assertTrue(os.path.exists(os.path.join(d, "t.json")), "no trace written")
        p, t = plain.stdout.decode("utf-8", "replace"), traced.stdout.decode("utf-8", "replace")
        self.assertEqual(summary(t), summary(p), "plain:\n%s\ntraced:\n%s" % (p[-3000:], t[-3000:]))
        self.assertEqual(traced.returncode, plain.returncode)

    def test_threading_suite(self):
        self.run_suite("test_threading")

    def test_queue_suite(self):
        self.run_suite("test_queue")

    def test_threading_local_suite(self):
        self.run_suite("test_threading_local")


if __name__ == "__main__":
    unittest.main()
