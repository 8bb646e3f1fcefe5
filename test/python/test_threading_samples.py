"""Thread samples traced: Thread subclasses, Timers (fired and cancelled) and raw _thread threads."""
import unittest

from support import trace_script, require_sample, assert_complete


class ThreadSamples(unittest.TestCase):
    def test_thread_subclass(self):
        path = require_sample(self, "thread_subclass.py")
        r = trace_script(path)
        self.assertEqual(r.returncode, 0, r)
        runs = {e["a"]["name"]: e for e in r.intervals("thread.run")}
        self.assertEqual(set(runs), {"summer-10", "summer-20", "summer-30"})
        self.assertTrue(all(e["a"]["target"].endswith(".run") and e["a"]["kind"] == "thread" for e in runs.values()))
        self.assertLess(runs["summer-10"]["dur"], runs["summer-30"]["dur"])
        joins = r.intervals("thread.join")
        self.assertEqual(sorted(j["a"]["target"] for j in joins), sorted(e["tid"] for e in runs.values()))
        self.assertEqual({j["ecorr"] for j in joins}, {e["ecorr"] for e in runs.values()})
        assert_complete(self, r)

    def test_timers_and_raw_thread(self):
        path = require_sample(self, "timer_threads.py")
        r = trace_script(path)
        self.assertEqual(r.returncode, 0, r)
        runs = r.intervals("thread.run")
        timers = sorted((e for e in runs if e["a"]["kind"] == "timer"), key=lambda e: e["dur"])
        self.assertEqual(len(timers), 2)
        timers = {"never": timers[0], "ring": timers[1]}  # the cancelled one ends first
        raw = [e for e in runs if e["a"]["kind"] == "raw"]
        self.assertEqual(len(raw), 1)
        spawn = [s for s in r.of("thread.spawn") if s["corr"] == raw[0]["corr"]]
        self.assertEqual(len(spawn), 1)
        self.assertEqual(spawn[0]["tid"], r.metadata["program"]["pid"])
        # the cancelled timer ends long before the 200 ms it would have waited
        self.assertLess(timers["never"]["dur"], 150000)
        self.assertGreaterEqual(timers["ring"]["dur"], 45000)


if __name__ == "__main__":
    unittest.main()
