"""multiprocessing children are named as the program named them (Process.name, daemon flag) under every
start method, and the program itself keeps its script name whatever its arguments say."""
import unittest

from support import trace_script, write_program

NAMES = r'''
import multiprocessing as mp, sys
def f(x): return x
if __name__ == "__main__":
    for m in ("fork", "spawn", "forkserver"):
        ctx = mp.get_context(m)
        p = ctx.Process(target=f, args=(1,), name="Worker-" + m, daemon=(m == "spawn"))
        p.start(); p.join()
        with ctx.Pool(1) as pool:
            pool.map(f, [1])
    print("ok", sys.argv[1:])
'''


def process_names(r):
    """pid -> the name the Chrome trace gives its process lane."""
    return {c["pid"]: c["args"]["name"] for c in r.raw["traceEvents"] if c.get("name") == "process_name"}


class ProcessNames(unittest.TestCase):
    def test_children_carry_their_process_names_and_main_keeps_its_own(self):
        r = trace_script(write_program(self, NAMES), args=["forkserver", "--multiprocessing-fork"])
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.strip(), "ok ['forkserver', '--multiprocessing-fork']")
        names = process_names(r)
        main = r.metadata["program"]["pid"]
        self.assertEqual(names[main], "prog.py")
        self.assertEqual([e["a"]["method"] for e in r.of("process.start") if e["pid"] == main], ["main"])
        spawned = {e["a"]["child"]: e["a"] for e in r.of("process.spawn") if e["pid"] == main}
        by_name = {a["name"]: child for child, a in spawned.items()}
        for want in ("Worker-fork", "Worker-spawn", "Worker-forkserver"):
            self.assertEqual(names.get(by_name[want]), want, names)
        for prefix in ("ForkPoolWorker-", "SpawnPoolWorker-", "ForkServerPoolWorker-"):
            pool_workers = [n for n in names.values() if n.startswith(prefix)]
            self.assertEqual(len(pool_workers), 1, names)
        # The daemon flag travels with the name, on the child's own process.start.
        daemon = {e["pid"]: e["a"].get("daemon") for e in r.of("process.start") if "daemon" in e["a"]}
        self.assertIs(daemon.get(by_name["Worker-spawn"]), True)
        self.assertIs(daemon.get(by_name["Worker-fork"]), False)
        pool_pids = [pid for pid, n in names.items() if n.startswith(("ForkPoolWorker-", "SpawnPoolWorker-"))]
        self.assertTrue(all(daemon.get(pid) is True for pid in pool_pids), daemon)


if __name__ == "__main__":
    unittest.main()
