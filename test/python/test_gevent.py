"""gevent under the tracer (Debian's /usr/bin/python3 has python3-gevent): greenlets on their own lanes,
the switches between them, and a program that monkey-patches everything still traced and unchanged.
Skipped when no interpreter here can import gevent."""
import os
import subprocess
import sys
import unittest

from support import assert_complete, require_sample, trace_script, write_program
from test_mp_support import program_pid, spans


def _gevent_python():
    for py in (sys.executable, "/usr/bin/python3"):
        if not os.path.exists(py):
            continue
        probe = subprocess.run([py, "-c", "import gevent"], capture_output=True, check=False, timeout=60)
        if probe.returncode == 0:
            return py
    return None


GEVENT_PYTHON = _gevent_python()
needs_gevent = unittest.skipIf(GEVENT_PYTHON is None, "gevent is not importable (apt install python3-gevent)")


@needs_gevent
class GeventSample(unittest.TestCase):
    def test_greenlet_lanes_and_switches(self):
        r = trace_script(require_sample(self, "gevent_demo.py"), interpreter=GEVENT_PYTHON)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("results: [100, 200, 300]", r.stdout)
        runs = {g["a"]["name"]: g for g in spans(r, "greenlet.run")}
        for n in (1, 2, 3):
            g = runs["worker-%d" % n]
            self.assertTrue(g["a"]["ok"])
            self.assertIsNotNone(g["dur"])          # it ended
        pid = program_pid(r)
        workers = [runs["worker-%d" % n] for n in (1, 2, 3)]
        self.assertEqual({(g["pid"], g["tid"]) for g in workers}, {(pid, pid)})
        objs = {g["obj"] for g in workers}
        self.assertEqual(len(objs), 3)
        # All three were spawned by the main greenlet (the program's own code).
        self.assertEqual(len({g["a"].get("parent") for g in workers}), 1)
        self.assertTrue(workers[0]["a"].get("parent"))
        self.assertNotIn(workers[0]["a"]["parent"], objs)
        # Control passed into each worker once per step (3 steps + the end), always from somewhere else.
        switches = r.of("greenlet.switch")
        into = [s for s in switches if s["obj"] in objs]
        self.assertGreaterEqual(len(into), 9)
        self.assertTrue(all(s["a"]["from"] != s["obj"] for s in switches))
        # The greenlets take turns: the order of switches into them cycles 1, 2, 3, 1, 2, 3, ...
        order = [s["obj"] for s in into]
        first_three = order[:3]
        self.assertEqual(len(set(first_three)), 3)
        self.assertEqual(order[3:6], first_three)
        assert_complete(self, r)


MONKEY = r'''
from gevent import monkey; monkey.patch_all()
import gevent, threading, time, queue
q = queue.Queue()
lock = threading.Lock()
def work(n):
    with lock:
        time.sleep(0.01)
    q.put(n)
    if n == 2:
        raise KeyError("boom")
gs = [gevent.spawn(work, i) for i in range(3)]
gevent.joinall(gs)
t = threading.Thread(target=q.put, args=("thread",))
t.start(); t.join()
print(sorted(str(q.get()) for _ in range(4)))
'''


@needs_gevent
class MonkeyPatched(unittest.TestCase):
    def test_patch_all_still_traced(self):
        r = trace_script(write_program(self, MONKEY), interpreter=GEVENT_PYTHON)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("['0', '1', '2', 'thread']", r.stdout)
        runs = [g for g in spans(r, "greenlet.run") if g["a"]["name"] != "Hub"]
        ended = [g for g in runs if g["dur"] is not None]
        self.assertEqual(len(ended), 4)            # three spawned greenlets and the patched thread
        failed = [g for g in ended if not g["a"]["ok"]]
        self.assertEqual(len(failed), 1)
        self.assertIn("KeyError", failed[0]["a"]["error"])
        assert_complete(self, r)


UNDO = r'''
import sys
sys.path.insert(0, sys.argv[1])
import gevent, greenlet
from interleave.patches import gevent_
spawn, trace = gevent.spawn, greenlet.gettrace()
gevent_.install(); gevent_.install()
assert gevent.spawn is not spawn and greenlet.gettrace() is gevent_._trace
assert gevent.spawn(lambda: 7).get() == 7            # idle recorder: a pass-through
gevent_.uninstall()
assert gevent.spawn is spawn and greenlet.gettrace() is trace
print("restored")
'''


@needs_gevent
class InstallUndo(unittest.TestCase):
    def test_uninstall_restores_trace_and_spawn(self):
        from support import RUNTIME
        path = write_program(self, UNDO)
        p = subprocess.run([GEVENT_PYTHON, path, RUNTIME], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("restored", p.stdout)


if __name__ == "__main__":
    unittest.main()
