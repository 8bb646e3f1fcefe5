"""Golden trace: a tiny deterministic program exercising many kinds, checked against a checked-in file.

With INTERLEAVE_UPDATE_GOLDEN=1 the test rewrites test/fixtures/golden-trace.json; otherwise it checks
that a fresh trace still has the same kinds, phases and `a` field names as the fixture. The TypeScript
side (test/unit/protocol.golden.test.ts) reads the same fixture with protocol/chrome.ts, so the Python
writer and the TypeScript protocol cannot drift apart unnoticed.
"""
import json
import os
import shutil
import unittest

from support import FIXTURES, trace_script, write_program, assert_complete

GOLDEN = os.path.join(FIXTURES, "golden-trace.json")

PROGRAM = r'''
import queue, threading, time
from interleave import deadlock

lock = threading.Lock()
a, b = threading.Lock(), threading.Lock()
cond = threading.Condition()
ev = threading.Event()
bar = threading.Barrier(2)
sem = threading.Semaphore(1)
q = queue.Queue(maxsize=1)
tl = threading.local()
box = []

def holder():
    with lock:
        ev.wait()

def contender():
    with lock:
        pass

def consumer():
    with cond:
        while not box:
            cond.wait()
    tl.item = box[0]
    print(q.get(), flush=True)
    bar.wait()

def crash():
    raise RuntimeError("golden")

h = threading.Thread(target=holder, name="holder"); h.start()
while not lock.locked():
    time.sleep(0.001)
c = threading.Thread(target=contender, name="contender"); c.start()
while c.ident not in deadlock._waiting:
    time.sleep(0.001)
time.sleep(0.001)
ev.set()
h.join(); c.join()

k = threading.Thread(target=consumer, name="consumer"); k.start()
while not cond._waiters:
    time.sleep(0.001)
with cond:
    box.append("payload")
    cond.notify_all()
    # Until the woken consumer waits to take the lock back (the runtime's own count): it always waits
    # then, so the trace's shape does not depend on how the threads were scheduled.
    while not cond._lock._hw:
        time.sleep(0.001)
q.put({"n": 1})
bar.wait()
k.join()

with a:
    with b:
        pass
with b:
    with a:
        pass
print(sem.acquire(), sem.acquire(False), flush=True)
sem.release()
for i in range(200):
    with lock:
        pass
t = threading.Thread(target=crash, name="crash"); t.start(); t.join()
end = time.monotonic() + 0.05
while time.monotonic() < end:
    pass
'''


def shape(events):
    """(kind, phase) -> sorted `a` field names (union over events), without run-dependent markers."""
    out = {}
    for e in events:
        key = "%s %s" % (e["k"], e["ph"])
        names = out.setdefault(key, set())
        names.update(n for n in (e.get("a") or {}) if n != "unfinished")
        for f in ("obj", "corr", "loc"):
            if f in e:
                names.add("@" + f)
    return {k: sorted(v) for k, v in out.items()}


class GoldenTest(unittest.TestCase):
    def trace(self):
        path = write_program(self, PROGRAM, name="golden_program.py")
        r = trace_script(path, extra_options=["--cpu-interval", "5"])
        self.assertEqual(r.returncode, 0, r)
        assert_complete(self, r)
        return r

    def test_golden_shape(self):
        r = self.trace()
        if os.environ.get("INTERLEAVE_UPDATE_GOLDEN") == "1":
            os.makedirs(FIXTURES, exist_ok=True)
            shutil.copyfile(r.path, GOLDEN) if r.path and os.path.exists(r.path) else None
            with open(GOLDEN, "w") as f:
                json.dump(r.raw, f, indent=None, separators=(",", ":"))
                f.write("\n")
        with open(GOLDEN) as f:
            golden = json.load(f)
        from interleave.chrome import read_chrome
        gevents, gmeta = read_chrome(GOLDEN)
        self.assertEqual(shape(r.events), shape(gevents))
        self.assertEqual(r.metadata["kinds"], golden["metadata"]["kinds"])
        self.assertEqual(sorted(r.metadata), sorted(gmeta))

    def test_fixture_covers_the_kinds_this_runtime_writes(self):
        from interleave.chrome import read_chrome
        from interleave import protocol
        events, meta = read_chrome(GOLDEN)
        kinds = {e["k"] for e in events}
        expected = {"run.meta", "process.start", "process.exit", "process.summary", "thread.spawn", "thread.run",
                    "thread.join", "thread.name", "thread.sleep", "exception", "lock.create", "lock.wait",
                    "lock.hold", "lock.fail", "sync.wait", "sync.notify", "chan.create", "msg.send", "msg.recv",
                    "local.bind", "cpu.thread", "cpu.process", "lock.inversion", "aggregate"}
        self.assertEqual(expected - kinds, set())
        self.assertEqual(meta["kinds"], protocol.CODES)


if __name__ == "__main__":
    unittest.main()


class BothEndsLinkTest(unittest.TestCase):
    """A pool task recorded as one X links at both ends in the Chrome file, as protocol/chrome.ts writes it."""

    def test_task_x_links_submit_and_result(self):
        from interleave import chrome
        submit = {"k": "pool.submit", "ph": "i", "ts": 1, "pid": 1, "tid": 1, "corr": 9}
        task = {"k": "pool.task", "ph": "X", "ts": 5, "dur": 10, "pid": 1, "tid": 2, "corr": 9}
        result = {"k": "pool.result", "ph": "i", "ts": 20, "pid": 1, "tid": 1, "corr": 9}
        links = chrome.link_all([submit, task, result])
        self.assertEqual([(a["k"], a["ts"], b["k"], b["ts"]) for a, b in links],
                         [("pool.submit", 1, "pool.task", 5), ("pool.task", 15, "pool.result", 20)])
        trace = chrome.to_chrome([submit, task, result])
        self.assertEqual(sorted(c["ts"] for c in trace["traceEvents"] if c["ph"] == "s"), [1, 15])
        [x] = [c for c in trace["traceEvents"] if c.get("args", {}).get("k") == "pool.task"]
        self.assertEqual((x["args"]["corr"], x["args"]["ecorr"]), (9, 9))


class TwoEventGroupTest(unittest.TestCase):
    """link_all links a two-event correlation group (nearly all of a large trace's) without link_group's
    sort: every combination of roles, order, equal times and lanes must link as link_group does."""

    def test_pairs_link_as_link_group_links_them(self):
        from interleave import chrome
        shapes = [("msg.send", "i", None), ("msg.recv", "i", None), ("sync.notify", "i", None),
                  ("sync.wait", "e", None), ("thread.run", "b", None), ("thread.run", "e", None),
                  ("lock.hold", "X", None), ("msg.recv", "i", {"task": 5}), ("msg.send", "i", {"task": 5})]
        checked = 0
        for k1, ph1, a1 in shapes:
            for k2, ph2, a2 in shapes:
                for ts1, ts2 in ((1, 2), (2, 1), (3, 3)):
                    for tid2 in (1, 2):
                        x = {"k": k1, "ph": ph1, "ts": ts1, "pid": 1, "tid": 1, "corr": 7}
                        y = {"k": k2, "ph": ph2, "ts": ts2, "pid": 1, "tid": tid2, "corr": 7}
                        if a1:
                            x["a"] = a1
                        if a2:
                            y["a"] = a2
                        for ev in (x, y):
                            if ev["ph"] == "X":
                                ev["dur"] = 1
                        self.assertEqual(chrome.link_all([x, y]), chrome.link_group([x, y]), (x, y))
                        checked += 1
        self.assertEqual(checked, len(shapes) ** 2 * 6)
        links = chrome.link_all([{"k": "msg.recv", "ph": "i", "ts": 5, "pid": 1, "tid": 2, "corr": 3},
                                 {"k": "msg.send", "ph": "i", "ts": 5, "pid": 1, "tid": 1, "corr": 3}])
        self.assertEqual([(a["k"], b["k"]) for a, b in links], [("msg.send", "msg.recv")])



class StreamingWriterTest(unittest.TestCase):
    """write_chrome encodes each record as chrome_records makes it, and (consume=True, as the supervisor
    writes) lets each event go once converted: the file holds what to_chrome lists, nothing more or less."""

    def test_the_written_file_is_to_chrome_and_the_events_are_let_go(self):
        import copy
        import tempfile
        from interleave import chrome
        events, meta = chrome.read_chrome(GOLDEN)     # b/e pairs, links, names, counters, unfinished
        events.append({"k": "lock.hold", "ph": "b", "ts": events[-1]["ts"], "pid": 1, "tid": 1, "obj": 99})
        expected = chrome.to_chrome(copy.deepcopy(events), {"exitCode": 0})
        self.assertTrue(any(r["ph"] == "s" for r in expected["traceEvents"]))
        self.assertTrue(any(r.get("args", {}).get("unfinished") for r in expected["traceEvents"]))
        # As read (one chunk), and padded past one chunk (the writer encodes 20,000 records at a time).
        for at_least in (len(events), 20001):
            with self.subTest(at_least=at_least):
                evs = copy.deepcopy(events)
                while len(evs) < at_least:
                    evs.append({"k": "thread.run", "ph": "X", "ts": evs[-1]["ts"], "dur": 1, "pid": 1, "tid": 1})
                want = chrome.to_chrome(copy.deepcopy(evs), {"exitCode": 0})
                with tempfile.TemporaryDirectory() as d:
                    path = os.path.join(d, "t.json")
                    chrome.write_chrome(path, evs, {"exitCode": 0}, consume=True)
                    with open(path, encoding="utf-8") as f:
                        got = json.load(f)
                self.assertEqual(got, json.loads(json.dumps(want)))
                self.assertEqual(set(map(id, evs)), {id(None)})
