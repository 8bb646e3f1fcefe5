"""CPU sampling: per-thread counters on the threads' lanes, per-process utilisation, run summary."""
import unittest

from support import trace_script, write_program

BUSY = r'''
import threading, time
def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
ts = [threading.Thread(target=spin, args=(0.15,), name="spin%d" % i) for i in range(2)]
for t in ts: t.start()
for t in ts: t.join()
'''


class CpuTest(unittest.TestCase):
    def test_thread_and_process_counters(self):
        path = write_program(self, BUSY)
        r = trace_script(path, extra_options=["--cpu-interval", "5"])
        self.assertEqual(r.returncode, 0, r)
        names = r.threads()
        per_tid = {}
        for e in r.of("cpu.thread"):
            per_tid.setdefault(e["tid"], []).append(e["a"]["pct"])
        for n in ("spin0", "spin1"):
            samples = per_tid.get(names[n], [])
            self.assertTrue(samples, "no CPU samples on %s" % n)
            self.assertGreater(max(samples), 0)
            self.assertTrue(all(0 <= p <= 105 for p in samples), samples)
        procs = r.of("cpu.process")
        self.assertTrue(procs)
        cores = procs[0]["a"]["cores"]
        self.assertTrue(all(0 <= p["a"]["pct"] <= 100 * cores * 1.05 for p in procs))
        self.assertEqual({p["tid"] for p in procs}, {r.metadata["program"]["pid"]})
        # the runtime's own threads are not program lanes
        lanes = set(names.values()) | {r.metadata["program"]["pid"]}
        self.assertLessEqual(set(per_tid), lanes)
        s = r.metadata["summary"]
        self.assertGreater(s["cpuSeconds"], 0.25)
        self.assertAlmostEqual(s["parallelism"], s["cpuSeconds"] / s["wallSeconds"], delta=0.01)

    def test_sampler_off(self):
        path = write_program(self, BUSY)
        r = trace_script(path, extra_options=["--cpu-interval", "0"])
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.of("cpu.thread") + r.of("cpu.process"), [])


if __name__ == "__main__":
    unittest.main()
