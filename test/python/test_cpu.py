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

    def test_threads_shorter_than_an_interval_still_show_their_cpu(self):
        # Five threads, one after the other, each spinning 20 ms of its own CPU time, samples 50 ms apart:
        # none is alive at two samples. A thread's CPU counts from its start (it began after the
        # previous sample) to the sample after it ended (its own last reading).
        src = ("import threading, time\n"
               "def spin(seconds):\n    end = time.thread_time() + seconds\n"
               "    while time.thread_time() < end:\n        pass\n"
               "for i in range(5):\n    t = threading.Thread(target=spin, args=(0.02,), name='short%d' % i)\n"
               "    t.start(); t.join()\n    time.sleep(0.06)\n")
        r = trace_script(write_program(self, src), extra_options=["--cpu-interval", "50"])
        self.assertEqual(r.returncode, 0, r)
        names = r.threads()
        per_tid = {}
        for e in r.of("cpu.thread"):
            per_tid.setdefault(e["tid"], []).append(e["a"]["pct"])
        shown = [n for n in names if n.startswith("short") and max(per_tid.get(names[n], [0])) > 0]
        # (the first may run before the sampler's first reading, the last after its final one)
        self.assertGreaterEqual(len(shown), 3, (per_tid, names))

    def test_idle_program_is_sampled_less_and_busy_again_at_full_rate(self):
        # Idle for 3.6 s (the sampler backs off after IDLE_AFTER samples, and further after
        # LONG_IDLE_AFTER more), then busy for 0.2 s of CPU: the busy stretch gets samples at the
        # normal 10 ms again.
        from interleave import cpu
        pause = cpu.IDLE_AFTER * 0.01 + cpu.LONG_IDLE_AFTER * cpu.IDLE_INTERVAL + 0.5
        src = ("import time\ntime.sleep(%g)\nend = time.thread_time() + 0.2\n" % pause +
               "while time.thread_time() < end:\n    pass\n")
        r = trace_script(write_program(self, src), extra_options=["--cpu-interval", "10"])
        self.assertEqual(r.returncode, 0, r)
        main = r.metadata["program"]["pid"]
        busy = [e for e in r.of("cpu.thread") if e["tid"] == main and e["a"]["pct"] > 50]
        self.assertGreaterEqual(len(busy), 5, [(e["ts"], e["a"]) for e in r.of("cpu.thread")])

    def test_sampler_off(self):
        path = write_program(self, BUSY)
        r = trace_script(path, extra_options=["--cpu-interval", "0"])
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.of("cpu.thread") + r.of("cpu.process"), [])


if __name__ == "__main__":
    unittest.main()
