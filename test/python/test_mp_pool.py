"""multiprocessing.Pool and ThreadPool under the tracer: every task is linked from its submission
(pool.submit) to the worker that ran it (pool.task, on a worker process or thread) to its result
(pool.result); waits, operations and callbacks are recorded; Pool.terminate loses no worker data."""
import unittest

from support import assert_complete, require_sample, trace_script, write_program
from test_mp_support import program_pid, spans


def task_chains(testcase, r, pool_obj):
    """corr -> (submit, task, result); asserts every submission ran and delivered a result once."""
    subs = {e["corr"]: e for e in r.of("pool.submit", obj=pool_obj)}
    tasks = {}
    for e in spans(r, "pool.task", obj=pool_obj):
        testcase.assertNotIn(e["corr"], tasks, "a task ran twice")
        tasks[e["corr"]] = e
    results = {e["corr"]: e for e in r.of("pool.result", obj=pool_obj)}
    testcase.assertTrue(subs)
    testcase.assertEqual(set(subs), set(tasks))
    testcase.assertEqual(set(subs), set(results))
    for corr, s in subs.items():
        testcase.assertLessEqual(s["ts"], tasks[corr]["ts"])
        testcase.assertLessEqual(tasks[corr]["ts"] + tasks[corr].get("dur", 0), results[corr]["ts"] + 1)
    return {c: (subs[c], tasks[c], results[c]) for c in subs}


class ProcessPoolSample(unittest.TestCase):
    def test_apply_async_tasks_run_on_worker_processes(self):
        r = trace_script(require_sample(self, "mp_pool.py"))
        self.assertEqual(r.returncode, 0, r)
        main = program_pid(r)
        pools = r.of("pool.create", type="mp.Pool")
        self.assertEqual([p["a"]["workers"] for p in pools], [2])
        workers = {e["a"]["child"] for e in r.of("process.spawn") if e["pid"] == main}
        self.assertEqual(len(workers), 2)
        chains = task_chains(self, r, pools[0]["obj"])
        self.assertEqual(len(chains), 6)
        for s, t, res in chains.values():
            self.assertEqual(s["pid"], main)
            self.assertEqual(s["a"]["method"], "apply_async")
            self.assertEqual(s["a"]["fn"], "cube")
            self.assertIn(t["pid"], workers)
            self.assertTrue(t["a"]["ok"])
            self.assertGreaterEqual(t["dur"], 40000)          # cube sleeps 50 ms
            self.assertEqual(res["pid"], main)
            self.assertTrue(res["a"]["ok"])
        ops = [e["a"]["op"] for e in r.of("pool.op", obj=pools[0]["obj"])]
        self.assertEqual(ops, ["close", "join"])
        self.assertTrue(spans(r, "pool.wait", op="get"))
        self.assertTrue(spans(r, "pool.wait", op="join"))
        assert_complete(self, r)


class ThreadPoolSample(unittest.TestCase):
    def test_dummy_pool_tasks_on_worker_threads_with_callbacks(self):
        r = trace_script(require_sample(self, "dummy_pool.py"))
        self.assertEqual(r.returncode, 0, r)
        main = program_pid(r)
        pools = r.of("pool.create", type="ThreadPool")
        self.assertEqual([p["a"]["workers"] for p in pools], [3])
        chains = task_chains(self, r, pools[0]["obj"])
        methods = sorted({s["a"]["method"] for s, _, _ in chains.values()})
        self.assertEqual(methods, ["apply", "apply_async", "map", "map_async"])
        worker_tids = {t["tid"] for _, t, _ in chains.values()}
        self.assertTrue(worker_tids)
        self.assertNotIn(main, worker_tids)       # the main thread's tid is the pid
        self.assertEqual({t["pid"] for _, t, _ in chains.values()}, {main})
        callbacks = [res for s, _, res in chains.values() if res["a"].get("callback")]
        self.assertEqual(sorted(s["a"]["method"] for s, _, res in chains.values() if res["a"].get("callback")),
                         ["apply_async", "map_async"])
        self.assertEqual(len(callbacks), 2)
        self.assertTrue(spans(r, "pool.wait", op="map"))
        self.assertTrue(spans(r, "pool.wait", op="apply"))


METHODS = r'''
import multiprocessing as mp
def sq(x): return x * x
def add(a, b): return a + b
def boom(x): raise ValueError("bad %d" % x)
if __name__ == "__main__":
    pool = mp.Pool(2)
    if True:
        print(pool.map(sq, range(8), chunksize=3))
        print(sorted(pool.imap_unordered(sq, range(4))))
        print(list(pool.imap(sq, range(3), chunksize=2)))
        print(pool.starmap(add, [(1, 2), (3, 4)]))
        r = pool.map_async(boom, [1], error_callback=lambda e: print("error callback", e))
        r.wait()
        try:
            pool.apply(boom, (5,))
        except ValueError as e:
            print("raised", e)
    pool.close()
    pool.join()
'''


class PoolMethods(unittest.TestCase):
    def test_chunks_imap_starmap_errors(self):
        r = trace_script(write_program(self, METHODS))
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("raised bad 5", r.stdout)
        self.assertIn("error callback bad 1", r.stdout)
        pool = r.of("pool.create")[0]["obj"]
        chains = task_chains(self, r, pool)
        by_method = {}
        for s, t, res in chains.values():
            by_method.setdefault(s["a"]["method"], []).append((s, t, res))
        self.assertEqual(len(by_method["map"]), 3)            # 8 items in chunks of 3
        self.assertEqual(len(by_method["imap_unordered"]), 4)
        self.assertEqual(len(by_method["imap"]), 2)           # 3 items in chunks of 2
        self.assertEqual(len(by_method["starmap"]), 2)            # default chunksize: 1 here
        self.assertEqual({s["a"]["fn"] for s, _, _ in by_method["map"]}, {"sq"})
        self.assertEqual({t["a"]["fn"] for _, t, _ in by_method["starmap"]}, {"add"})
        failed = [t for s, t, _ in chains.values() if not t["a"]["ok"]]
        self.assertEqual(sorted(t["a"]["error"] for t in failed), ["ValueError: bad 1", "ValueError: bad 5"])
        err_results = [res for _, _, res in chains.values() if not res["a"]["ok"]]
        self.assertEqual(len(err_results), 2)
        self.assertEqual(sum(1 for res in err_results if res["a"].get("callback")), 1)
        self.assertEqual([e["a"]["op"] for e in r.of("pool.op", obj=pool)], ["close", "join"])
        assert_complete(self, r)


TERMINATE = r'''
import multiprocessing as mp
def sq(x): return x * x
if __name__ == "__main__":
    for _ in range(3):
        pool = mp.Pool(2)
        print(pool.map(sq, range(20), chunksize=1))
        pool.terminate()
        pool.join()
'''


class PoolTerminate(unittest.TestCase):
    def test_terminated_workers_keep_their_data(self):
        r = trace_script(write_program(self, TERMINATE))
        self.assertEqual(r.returncode, 0, r)
        main = program_pid(r)
        workers = {e["a"]["child"] for e in r.of("process.spawn") if e["pid"] == main}
        self.assertEqual(len(workers), 6)
        reported = {p["pid"]: p for p in r.metadata["processes"]}
        for w in workers:
            self.assertIn(w, reported, "worker %d sent nothing" % w)
            self.assertEqual(reported[w]["dropped"], 0)
            self.assertNotEqual(reported[w].get("complete"), False, reported[w])
        # Every task that ran is in the trace, on a worker.
        for pool in r.of("pool.create"):
            chains = task_chains(self, r, pool["obj"])
            self.assertEqual(len(chains), 20)
            self.assertTrue({t["pid"] for _, t, _ in chains.values()} <= workers)

    def test_terminate_loses_nothing_run_after_run(self):
        # The race this guards (a SIGTERM landing in a worker's final flush, or just before it blocks for
        # its next task) struck about one run in ten under load: twenty runs, every worker complete.
        path = write_program(self, TERMINATE)
        for run in range(20):
            r = trace_script(path, timeout=60)
            self.assertEqual(r.returncode, 0, (run, r))
            main = program_pid(r)
            workers = [p for p in r.metadata["processes"] if p["pid"] != main]
            self.assertEqual(len(workers), 6, (run, r.metadata["processes"]))
            for p in workers:
                self.assertNotEqual(p.get("complete"), False, (run, p))
                self.assertEqual(p["dropped"], 0, (run, p))
                self.assertEqual(p["received"], p["emitted"], (run, p))


if __name__ == "__main__":
    unittest.main()
