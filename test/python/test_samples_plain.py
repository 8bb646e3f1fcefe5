"""Every sample in samples/ runs with a plain interpreter and does what its header says.

Each sample is run as a child process (no Interleave runtime involved) and its
output is checked for facts that only hold if the construct really worked:
a correct balance, lost updates in the race, the terminated reader's exit code,
a deadlock that stays deadlocked, and so on. Samples using multiprocessing are
also run under the "spawn" start method, which re-imports the program in every
child, to prove their `if __name__ == "__main__":` guards are right.

Timeouts here are hang guards only (a broken sample must not hang the suite);
how fast the samples run is measured in bench/, not asserted here.
"""
import ast
import os
import queue
import signal
import re
import subprocess
import sys
import threading
import unittest
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
HANG_GUARD_S = 60
DEBIAN_PYTHON = "/usr/bin/python3"

# Runs a sample as __main__ after switching multiprocessing to "spawn".
# runpy keeps the sample's __file__, which is what spawn re-imports in children.
SPAWN_RUNNER = (
    "import multiprocessing, runpy, sys\n"
    "multiprocessing.set_start_method('spawn')\n"
    "sys.argv = [sys.argv[1]]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def run_sample(name, python=sys.executable, spawn=False):
    path = str(SAMPLES / name)
    argv = [python, "-c", SPAWN_RUNNER, path] if spawn else [python, path]
    return subprocess.run(argv, cwd=SAMPLES, capture_output=True, text=True, check=False,
                          timeout=HANG_GUARD_S)


def field(pattern, text):
    """The first group of `pattern` in `text`; fails the test if it is absent."""
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise AssertionError(f"output does not match {pattern!r}:\n{text}")
    return match.group(1)


# ---- per-sample checks: (test case, stdout) -> None ----

def check_fork_basic(t, out):
    child = field(r"^child: pid (\d+), parent \d+$", out)
    parent = field(r"^parent: pid (\d+), forking$", out)
    t.assertEqual(field(r"^child: pid \d+, parent (\d+)$", out), parent)
    t.assertEqual(field(r"^parent: child (\d+) exited", out), child)
    t.assertEqual(field(r"exited with status (-?\d+)$", out), "3")


def check_bank_lock(t, out):
    expected = int(field(r"^expected balance: (-?\d+)$", out))
    t.assertEqual(int(field(r"^final balance: (-?\d+)$", out)), expected)
    t.assertIn("correct", out.splitlines())


def check_bank_race(t, out):
    expected = int(field(r"^expected balance: (-?\d+)$", out))
    actual = int(field(r"^actual balance: (-?\d+)$", out))
    t.assertEqual(int(field(r"^difference: (-?\d+)$", out)), actual - expected)
    # The 1 ms pause between read and write makes the threads overlap on every
    # run in practice (about 98 of 100 writes are clobbered), so this is stable.
    t.assertGreater(int(field(r"^lost updates: (\d+)$", out)), 0)


def check_thread_subclass(t, out):
    rows = re.findall(r"^(summer-\d+): sum of squares = (\d+) \(formula says (\d+)\)$", out, re.M)
    t.assertEqual([name for name, _, _ in rows], ["summer-10", "summer-20", "summer-30"])
    for name, total, formula in rows:
        t.assertEqual(total, formula, name)


def check_dummy_pool(t, out):
    t.assertIn("map: [0, 1, 4, 9, 16, 25]", out)
    t.assertIn("apply: 81", out)
    t.assertIn("map_async result: [36, 49, 64]", out)
    t.assertIn("apply_async result: 100", out)
    t.assertIn("map_async callback got: [36, 49, 64]", out)
    t.assertIn("apply_async callback got: 100", out)


def check_thread_local(t, out):
    seen = re.findall(r"^thread-(\w+) sees student (\w+)$", out, re.M)
    t.assertEqual(sorted(seen), [("alice", "alice"), ("bob", "bob"), ("carol", "carol")])
    t.assertIn("main thread has a student: False", out)


def check_subprocess_demo(t, out):
    t.assertIn("hello from echo", out)
    t.assertIn("call: echo exited with 0", out)
    t.assertIn("python child answered 'SHOUT THIS PLEASE'", out)
    captured = int(field(r"^popen: captured (\d+) lines from ls -l$", out))
    piped = int(field(r"^pipeline: ls -l \| wc -l = (\d+)$", out))
    t.assertGreater(captured, 1)  # "total" plus at least this folder's samples
    t.assertEqual(piped, captured)


def check_mp_process(t, out):
    codes = dict(re.findall(r"^(\S+) exit code: (-?\d+)$", out, re.M))
    t.assertEqual(codes, {"counter-a": "0", "counter-b": "0", "quitter": "2"})
    t.assertIn("counter-a: counted down from 5", out)
    t.assertIn("counter-b: counted down from 10", out)


def check_mp_pool(t, out):
    t.assertIn("cubes: [0, 1, 8, 27, 64, 125]", out)
    t.assertIn(int(field(r"^worker processes used: (\d+)$", out)), (1, 2))


def check_mp_pipe_duplex(t, out):
    t.assertEqual(out.splitlines(), [
        "child got 'ping 0'", "parent got 'pong 0'",
        "child got 'ping 1'", "parent got 'pong 1'",
        "child got 'ping 2'", "parent got 'pong 2'",
        "child exit code: 0",
    ])


def check_mp_pipe_collect(t, out):
    rows = re.findall(r"^sum\(range\((\d+)\)\) = (\d+) \(expected (\d+)\)$", out, re.M)
    t.assertEqual(len(rows), 4)
    for n, got, expected in rows:
        t.assertEqual(got, expected, n)


def check_mp_queue(t, out):
    items = re.findall(r"^reader got 'item (\d+)'$", out, re.M)
    t.assertEqual(items, [str(i) for i in range(len(items))])
    total = int(field(r"^all (\d+) items read; terminating the reader$", out))
    t.assertEqual(len(items), total)
    t.assertIn("writer exit code: 0, reader exit code: -15", out)  # -SIGTERM


def check_mp_value_array(t, out):
    counter, expected = field(r"^counter: (\d+ \(expected \d+)\)$", out).split(" (expected ")
    t.assertEqual(counter, expected)
    t.assertIn("array: [0.0, 1.0, 4.0, 9.0, 16.0]", out)


def check_mp_manager(t, out):
    t.assertIn("dict: {0: 0, 1: 1, 2: 4, 3: 9}", out)
    t.assertIn("list has 4 entries:", out)
    t.assertEqual(re.findall(r"^  worker (\d) \(pid \d+\)$", out, re.M), ["0", "1", "2", "3"])


def check_asyncio_demo(t, out):
    # gather keeps argument order even though "a" finishes last.
    t.assertIn("gather results: ['a after 30 ms', 'b after 10 ms', 'c after 20 ms']", out)
    t.assertIn("processed 6 jobs: [0, 1, 2, 3, 4, 5]", out)
    t.assertIn("consumers used: ['consumer-1', 'consumer-2']", out)


def check_gevent_real(t, out):
    steps = re.findall(r"^worker-(\d) step (\d)$", out, re.M)
    # gevent.sleep hands over control, so the greenlets' steps take turns.
    t.assertEqual(steps, [(w, s) for s in "012" for w in "123"])
    t.assertIn("results: [100, 200, 300]", out)


def check_producer_consumer(t, out):
    count, expected = field(r"^consumed (\d+ items \(expected \d+)\)$", out).split(" items (expected ")
    t.assertEqual(count, expected)
    items = [100 + i for i in range(5)] + [200 + i for i in range(5)]
    t.assertIn(f"items: {items}", out)
    t.assertIn(f"sum: {sum(items)}", out)


def check_futures_demo(t, out):
    t.assertIn("downloaded: ['page 1', 'page 2', 'page 4', 'page 5']", out)
    t.assertIn("failed: ['3: download 3 failed']", out)
    t.assertIn("squares: [0, 1, 4, 9, 16]", out)
    primes = dict(re.findall(r"^primes below (\d+): (\d+)$", out, re.M))
    t.assertEqual(list(primes), ["2000", "4000", "6000", "8000"])
    for limit, count in primes.items():  # checked with a sieve, independently
        t.assertEqual(int(count), sieve_count(int(limit)), limit)


def sieve_count(limit):
    is_prime = bytearray([1]) * limit
    is_prime[0:2] = b"\0\0"
    for k in range(2, int(limit ** 0.5) + 1):
        if is_prime[k]:
            is_prime[k * k::k] = bytearray(len(range(k * k, limit, k)))
    return sum(is_prime)


def check_sync_primitives(t, out):
    t.assertIn("RLock: re-entered, got inner", out)
    t.assertIn("Condition: consumer got parcel", out)
    peak = int(field(r"^Semaphore: at most (\d+) of 4 workers inside at once$", out))
    t.assertIn(peak, (1, 2))  # the semaphore's guarantee: never more than 2
    t.assertIn("Event: waiters released: [1, 2]", out)
    t.assertIn("Barrier: all 3 arrived before any left: True", out)


def check_timer_threads(t, out):
    t.assertEqual(out.splitlines(), [
        "timer ring fired",  # and not "timer never fired": it was cancelled
        f"raw thread computed sum(range(100000)) = {sum(range(100000))}",
    ])


CHECKS = {
    "fork_basic.py": check_fork_basic,
    "bank_lock.py": check_bank_lock,
    "bank_race.py": check_bank_race,
    "thread_subclass.py": check_thread_subclass,
    "dummy_pool.py": check_dummy_pool,
    "thread_local.py": check_thread_local,
    "subprocess_demo.py": check_subprocess_demo,
    "mp_process.py": check_mp_process,
    "mp_pool.py": check_mp_pool,
    "mp_pipe_duplex.py": check_mp_pipe_duplex,
    "mp_pipe_collect.py": check_mp_pipe_collect,
    "mp_queue.py": check_mp_queue,
    "mp_value_array.py": check_mp_value_array,
    "mp_manager.py": check_mp_manager,
    "asyncio_demo.py": check_asyncio_demo,
    "producer_consumer.py": check_producer_consumer,
    "futures_demo.py": check_futures_demo,
    "sync_primitives.py": check_sync_primitives,
    "timer_threads.py": check_timer_threads,
}
# Tested by their own methods below.
SPECIAL = {"gevent_demo.py", "deadlock.py", "mp_join_deadlock.py", "mp_lock_holder_died.py",
           "subprocess_pipe_deadlock.py"}
# Samples whose children are processes started by multiprocessing.
SPAWN_SAMPLES = sorted(name for name in CHECKS if name.startswith("mp_")) + ["futures_demo.py"]


def has_gevent(python):
    probe = subprocess.run([python, "-c", "import gevent"], capture_output=True, check=False,
                           timeout=HANG_GUARD_S)
    return probe.returncode == 0


class SamplesRunPlain(unittest.TestCase):
    maxDiff = None

    def assert_ran(self, name, result):
        self.assertEqual(result.returncode, 0,
                         f"{name} exited {result.returncode}\nstdout:\n{result.stdout}\n"
                         f"stderr:\n{result.stderr}")

    def test_every_sample_is_documented_and_covered(self):
        files = sorted(p.name for p in SAMPLES.glob("*.py"))
        self.assertTrue(files, f"no samples found in {SAMPLES}")
        self.assertEqual(sorted(set(CHECKS) | SPECIAL), files,
                         "every sample needs a check in test_samples_plain.py (and vice versa)")
        for name in files:
            with self.subTest(sample=name):
                doc = ast.get_docstring(ast.parse((SAMPLES / name).read_text(), name))
                self.assertTrue(doc, f"{name} has no docstring header")
                self.assertIn("timeline", doc.lower(), f"{name}: header must say what the timeline shows")

    def test_samples_with_default_start_method(self):
        for name, check in CHECKS.items():
            with self.subTest(sample=name):
                result = run_sample(name)
                self.assert_ran(name, result)
                check(self, result.stdout)

    def test_multiprocessing_samples_under_spawn(self):
        for name in SPAWN_SAMPLES:
            with self.subTest(sample=name):
                result = run_sample(name, spawn=True)
                self.assert_ran(name, result)
                CHECKS[name](self, result.stdout)

    def test_gevent_demo(self):
        pythons = [sys.executable]
        if os.path.exists(DEBIAN_PYTHON) and os.path.realpath(DEBIAN_PYTHON) != os.path.realpath(sys.executable):
            pythons.append(DEBIAN_PYTHON)
        for python in pythons:
            with self.subTest(python=python):
                result = run_sample("gevent_demo.py", python=python)
                self.assert_ran("gevent_demo.py", result)
                if has_gevent(python):
                    check_gevent_real(self, result.stdout)
                else:
                    self.assertIn("gevent is not installed", result.stderr)
                    self.assertEqual(result.stdout, "")

    def assert_blocks_until_killed(self, name, wanted, never):
        """Runs a sample that never ends on its own: it prints every line of `wanted`, then stays blocked
        (no line containing `never`) until killed. In its own session, so that the kill reaches every
        process of it (a child blocked for good would outlive its parent). Returns what it printed."""
        proc = subprocess.Popen([sys.executable, str(SAMPLES / name)], cwd=SAMPLES,
                                stdout=subprocess.PIPE, text=True, start_new_session=True)
        lines = queue.Queue()

        def pump():  # a thread, so reading can be bounded by a timeout
            for line in proc.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)  # EOF

        threading.Thread(target=pump, daemon=True).start()
        try:
            seen = []
            while not set(wanted) <= set(seen):
                line = lines.get(timeout=HANG_GUARD_S)
                self.assertIsNotNone(line, f"{name} ended its output early: {seen}")
                seen.append(line)
            # It got that far; it must stay blocked.
            with self.assertRaises(subprocess.TimeoutExpired):
                proc.wait(timeout=1)
            while not lines.empty():  # whatever else it printed meanwhile
                seen.append(lines.get_nowait())
            self.assertFalse([line for line in seen if never in line], seen)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=HANG_GUARD_S)
            proc.stdout.close()
        self.assertEqual(proc.returncode, -9)
        with self.assertRaises(ProcessLookupError):  # reaped: the pid is gone
            os.kill(proc.pid, 0)
        return seen

    def test_deadlock_blocks_until_killed(self):
        # Both threads hold their first lock, then wait forever for the other's.
        self.assert_blocks_until_killed("deadlock.py", ["thread A holds lock_a", "thread B holds lock_b"],
                                        "got both locks")

    def test_mp_join_deadlock_blocks_until_killed(self):
        # The producer has put its result; the parent joins it before reading, and neither goes on.
        self.assert_blocks_until_killed(
            "mp_join_deadlock.py",
            ["producer: result put on the queue", "parent: joining the producer before reading its result"],
            "parent: got")

    def test_mp_lock_holder_died_blocks_until_killed(self):
        # The writer ended holding the lock; the parent waits for it for ever.
        self.assert_blocks_until_killed(
            "mp_lock_holder_died.py",
            ["writer: holding the lock, ending without releasing it", "parent: writer ended with exit code 3",
             "parent: waiting for the lock"],
            "parent: got the lock")

    def test_subprocess_pipe_deadlock_blocks_until_killed(self):
        # The parent waits for its child to end; the child waits for the parent to read its output.
        self.assert_blocks_until_killed(
            "subprocess_pipe_deadlock.py",
            ["parent: started the child, waiting for it to end before reading its output"],
            "parent: child ended")


if __name__ == "__main__":
    unittest.main()
