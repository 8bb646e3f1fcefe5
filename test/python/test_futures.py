"""concurrent.futures under the tracer: ThreadPoolExecutor and ProcessPoolExecutor tasks linked from
submit to the worker that ran them to the caller receiving the result or the exception."""
import subprocess
import sys
import unittest

from interleave import recorder as R
from support import assert_complete, require_sample, trace_script, write_program
from test_mp_support import program_pid, spans


def chains(testcase, r, pool_obj):
    subs = {e["corr"]: e for e in r.of("pool.submit", obj=pool_obj)}
    tasks = {e["corr"]: e for e in spans(r, "pool.task", obj=pool_obj)}
    results = {e["corr"]: e for e in r.of("pool.result", obj=pool_obj)}
    testcase.assertTrue(subs)
    testcase.assertEqual(set(subs), set(tasks))
    testcase.assertTrue(set(results) <= set(subs))
    return subs, tasks, results


class FuturesSample(unittest.TestCase):
    def test_thread_and_process_pools(self):
        r = trace_script(require_sample(self, "futures_demo.py"))
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("failed: ['3: download 3 failed']", r.stdout)
        main = program_pid(r)
        tpe = r.of("pool.create", type="ThreadPoolExecutor")
        ppe = r.of("pool.create", type="ProcessPoolExecutor")
        self.assertEqual([p["a"]["workers"] for p in tpe], [3])
        self.assertEqual([p["a"]["workers"] for p in ppe], [2])

        subs, tasks, results = chains(self, r, tpe[0]["obj"])
        self.assertEqual(sorted(s["a"]["method"] for s in subs.values()), ["map"] * 5 + ["submit"] * 5)
        self.assertEqual(set(results), set(subs))              # every future's result was taken
        failed = [t for t in tasks.values() if not t["a"]["ok"]]
        self.assertEqual([t["a"]["error"] for t in failed], ["ValueError: download 3 failed"])
        self.assertFalse(results[failed[0]["corr"]]["a"]["ok"])
        self.assertEqual({t["pid"] for t in tasks.values()}, {main})
        self.assertNotIn(main, {t["tid"] for t in tasks.values()})   # worker threads, not the main thread

        subs, tasks, results = chains(self, r, ppe[0]["obj"])
        self.assertEqual(len(subs), 4)                         # map: one chunk per limit
        workers = {e["a"]["child"] for e in r.of("process.spawn") if e["pid"] == main}
        self.assertTrue({t["pid"] for t in tasks.values()} <= workers)
        self.assertEqual({t["a"]["fn"] for t in tasks.values()}, {"count_primes"})
        self.assertEqual(set(results), set(subs))
        self.assertTrue(r.of("pool.op", op="shutdown"))
        assert_complete(self, r)


CALLBACKS = r'''
import concurrent.futures as cf
def sq(x): return x * x
def boom(): raise KeyError("k")
if __name__ == "__main__":
    for Ex in (cf.ThreadPoolExecutor, cf.ProcessPoolExecutor):
        with Ex(2) as ex:
            f = ex.submit(sq, 3)
            print(f.result())
            g = ex.submit(boom)
            print(type(g.exception()).__name__)
            h = ex.submit(sq, 5)
            h.add_done_callback(lambda f: print("cb", f.result()))
            cf.wait([h])
'''


class ResultsAndCallbacks(unittest.TestCase):
    def test_result_exception_callback(self):
        r = trace_script(write_program(self, CALLBACKS))
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.count("cb 25"), 2)
        for kind in ("ThreadPoolExecutor", "ProcessPoolExecutor"):
            with self.subTest(kind=kind):
                pool = r.of("pool.create", type=kind)[0]["obj"]
                subs, tasks, results = chains(self, r, pool)
                self.assertEqual(len(subs), 3)
                by_fn = {s["a"]["fn"]: c for c, s in subs.items() if s["a"]["fn"] != "sq"}
                oks = sorted((results[c]["a"]["ok"], bool(results[c]["a"].get("callback"))) for c in results)
                self.assertEqual(oks, [(False, False), (True, False), (True, True)])
                self.assertFalse(tasks[by_fn["boom"]]["a"]["ok"])
        self.assertTrue(spans(r, "pool.wait", op="wait"))


MANY = r'''
import concurrent.futures as cf
with cf.ThreadPoolExecutor(4) as ex:
    print(sum(f.result() for f in [ex.submit(abs, -i) for i in range(300)]))
'''


class DefaultModeBudget(unittest.TestCase):
    def test_short_tasks_beyond_the_budget_are_counted_not_lost(self):
        path = write_program(self, MANY)
        full = trace_script(path, mode="full")
        self.assertEqual(full.returncode, 0, full)
        self.assertIn("44850", full.stdout)
        pool = full.of("pool.create")[0]["obj"]
        self.assertEqual(len(chains(self, full, pool)[0]), 300)
        self.assertFalse(full.of("aggregate", what="task"))

        default = trace_script(path)
        self.assertEqual(default.returncode, 0, default)
        pool = default.of("pool.create")[0]["obj"]
        individual = len(chains(self, default, pool)[0])
        counted = sum(e["a"]["count"] for e in default.of("aggregate", obj=pool, what="task"))
        self.assertGreater(individual, 0)
        self.assertGreater(counted, 0)
        self.assertEqual(individual + counted, 300)


LONG_TASK = r'''
import threading
import concurrent.futures as cf
from interleave.patches import mp_util
release = threading.Event()
def slow():
    release.wait()
    return "slow done"
with cf.ThreadPoolExecutor(2) as ex:
    quick = ex.submit(abs, -1)
    print(quick.result())
    f = ex.submit(slow)
    while not mp_util._running:          # the task has begun on its worker
        pass
    mp_util.report_running_tasks(final=True)   # what the flusher does once a task has lasted
    release.set()
    print(f.result())
'''


class TaskIntervals(unittest.TestCase):
    def test_short_task_is_one_event_and_a_long_one_is_reported_while_it_runs(self):
        r = trace_script(write_program(self, LONG_TASK), mode="full")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("slow done", r.stdout)
        pool = r.of("pool.create")[0]["obj"]
        subs, tasks, results = chains(self, r, pool)
        by_fn = {s["a"]["fn"]: c for c, s in subs.items()}
        self.assertEqual(set(by_fn), {"abs", "slow"})
        self.assertEqual(set(results), set(subs))
        # the quick task: one X in the file, carrying its corr at both ends (submit -> task -> result),
        # which a reader splits into its begin and end
        [quick] = [c for c in r.raw["traceEvents"]
                   if c.get("args", {}).get("k") == "pool.task" and c["args"].get("corr") == by_fn["abs"]]
        self.assertEqual((quick["ph"], quick["args"]["ok"], quick["args"]["fn"], quick["args"]["ecorr"]),
                         ("X", True, "abs", by_fn["abs"]))
        self.assertEqual([e["ph"] for e in r.of("pool.task", corr=by_fn["abs"])], ["b", "e"])
        # the long one: a begin emitted while it ran, ended by an end event (read back as a b/e pair)
        slow = r.of("pool.task", corr=by_fn["slow"])
        self.assertEqual([e["ph"] for e in slow], ["b", "e"])
        self.assertEqual(slow[0]["a"], {"fn": "slow", "ok": True})   # (the reader puts both ends' args on b)
        self.assertLessEqual(subs[by_fn["slow"]]["ts"], slow[0]["ts"])
        self.assertLessEqual(slow[1]["ts"], results[by_fn["slow"]]["ts"])
        self.assertEqual(slow[0]["tid"], slow[1]["tid"])


KEPT_FUTURES = r'''
import gc, sys
import concurrent.futures as cf
def flush():
    stream = getattr(sys.modules.get("interleave.recorder"), "_stream", None)
    if stream is not None:
        stream.flush()       # (traced) the events waiting in the buffer are not kept by the futures
def tracked_per_kept_future(ex):
    [f.result() for f in [ex.submit(abs, -1) for _ in range(100)]]
    flush()
    gc.collect()
    n0 = len(gc.get_objects())
    futures = [ex.submit(abs, -i) for i in range(2000)]
    [f.result() for f in futures]
    flush()
    gc.collect()
    return round((len(gc.get_objects()) - n0) / 2000.0, 2)
with cf.ThreadPoolExecutor(2) as ex:
    print(tracked_per_kept_future(ex))
'''


class FuturesStayLean(unittest.TestCase):
    def test_a_traced_future_keeps_no_more_objects_alive_than_a_plain_one(self):
        # What a program keeps per future is what the cyclic GC walks on every full collection: a traced
        # future must not add to it (CPython 3.11+ gives an object a dict of its own for attributes set
        # late, or for a read of its __dict__).
        path = write_program(self, KEPT_FUTURES)
        plain = subprocess.run([sys.executable, path], stdout=subprocess.PIPE, universal_newlines=True, check=True)
        for mode in ("default", "full"):
            with self.subTest(mode=mode):
                r = trace_script(path, mode=mode)
                self.assertEqual(r.returncode, 0, r)
                # (a few dozen objects of the runtime's own, e.g. a CPU sample just buffered, are not per future)
                self.assertLess(abs(float(r.stdout) - float(plain.stdout)), 0.5, (r.stdout, plain.stdout))
                self.assertEqual(len(r.of("pool.submit")), 2100 if mode == "full" else R.BUDGET)


KEYWORDS = r"""
import concurrent.futures as cf
def echo(*args, **kwargs):
    return args, sorted(kwargs.items())
with cf.ThreadPoolExecutor(2) as ex:
    # keyword names that a task wrapper's own parameters could shadow reach the task unchanged
    f = ex.submit(echo, 1, fn="F", pool_obj="P", corr="C", targs="T", args="A", kwargs="K")
    print(f.result())
    # beyond the default mode's budget the tasks are counted, through another wrapper
    print("all", all(ex.submit(echo, i, fn=i).result() == ((i,), [("fn", i)]) for i in range(100)))
"""


class TaskArguments(unittest.TestCase):
    def test_keyword_arguments_reach_the_task_in_both_modes(self):
        path = write_program(self, KEYWORDS)
        for mode in ("full", "default"):
            with self.subTest(mode=mode):
                r = trace_script(path, mode=mode)
                self.assertEqual(r.returncode, 0, r)
                self.assertIn("((1,), [('args', 'A'), ('corr', 'C'), ('fn', 'F'), ('kwargs', 'K'), "
                              "('pool_obj', 'P'), ('targs', 'T')])", r.stdout)
                self.assertIn("all True", r.stdout)
                pool = r.of("pool.create")[0]["obj"]
                subs, tasks, results = chains(self, r, pool)
                self.assertEqual({t["a"]["ok"] for t in tasks.values()}, {True})
                self.assertEqual(set(results), set(subs))
                counted = sum(e["a"]["count"] for e in r.of("aggregate", obj=pool, what="task"))
                self.assertEqual(len(subs) + counted, 101)
                self.assertEqual(counted, 0 if mode == "full" else 101 - len(subs))
                self.assertGreater(counted if mode == "default" else 1, 0)


if __name__ == "__main__":
    unittest.main()
