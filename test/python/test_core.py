"""The recorder API and the stream, exercised inside real traced programs."""
import json
import os
import unittest

from support import trace_script, write_program, assert_complete
from interleave import recorder as R

API = r'''
import os, sys, json
from interleave import recorder as rec
out = {}
a, b = rec.new_id(), rec.new_id()
out["ids"] = [a, b, os.getpid()]
class Bad:
    def __repr__(self):
        raise RuntimeError("no repr")
out["preview_long"] = rec.preview("x" * 500)
out["preview_bad"] = rec.preview(Bad())
out["mode"] = rec.mode()
out["active"] = rec.active()
out["loc"] = rec.user_loc()
import threading
def make():
    return threading.Lock()
out["user_lock_traced"] = type(make()).__module__ == "_thread" and type(make()) is not type(threading._allocate_lock())
out["user_lock"] = type(make()).__name__
with rec.in_runtime():
    out["runtime_lock"] = type(threading.Lock()) is type(threading._allocate_lock())
    out["in_runtime"] = rec.is_in_runtime()
out["after"] = rec.is_in_runtime()
out["stdlib_created"] = type(threading.Event()._cond._lock) is type(threading._allocate_lock())
with rec.spawn_context(12345):
    out["env_corr"] = os.environ.get("INTERLEAVE_PARENT_CORR")
out["env_after"] = os.environ.get("INTERLEAVE_PARENT_CORR")
out["budget"] = [rec.budget(777) for _ in range(rec.BUDGET + 2)].count(True)
for _ in range(10):
    rec.count(778, "queue", hold_us=3)
rec.emit("process.exit", "i", pid=4242, tid=4242, a={"code": 0})
rec.emit("generic.instant", "i", a={"name": "weird", "cat": "x", "args": {"obj": object(), (1, 2): 3}})
print(json.dumps(out))
'''

FORK = r'''
import os, threading
from interleave import recorder as rec
lock = threading.Lock()
with lock:
    pass
corr = rec.new_id()
fork = getattr(os.fork, "__wrapped__", os.fork)  # the recorder's mechanism, without the os patch's own corr
with rec.spawn_context(corr):
    pid = fork()
if pid == 0:
    with lock:
        pass
    print("child", os.getpid(), rec.new_id(), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
print("parent", os.getpid(), corr, flush=True)
'''

FLOOD = r'''
import threading
from interleave import recorder as rec
N = rec.BUFFER_HIGH * 3
def flood():
    for i in range(N // 4):
        rec.emit("generic.instant", "i", loc="/flood.py:%d" % (i % 50), a={"name": "x", "cat": "y"})
ts = [threading.Thread(target=flood) for _ in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print(N)
'''


PACKED = r'''
import queue, sys, threading
from interleave import recorder as rec
N = rec.PACK_AFTER + 500
lock = threading.Lock()
q = queue.Queue()
def phase():
    for i in range(N):
        with lock:                       # HOLD_LINE
            q.put(i)
        q.get()                          # RECV_LINE
phase()
# The flusher starts packing once it has taken PACK_AFTER events. One run of its job now (what the
# runtime thread does every 50 ms) takes the first phase's: the second phase is recorded packed.
rec._stream._tick()
print(rec.pack is not rec._pack_as_tuple)
phase()
'''


UNDO = r"""
import threading, queue, time, _thread
put_before = queue.Queue.put
from interleave import importhook
importhook.uninstall_all()
# threading.Lock is _thread.allocate_lock up to 3.12, the type _thread.lock from 3.13
print(threading.Lock in (_thread.allocate_lock, getattr(_thread, "LockType", None)), queue.Queue.put.__module__, getattr(time.sleep, "__module__", None),
      queue.SimpleQueue.__module__, threading.Thread.start.__module__, _thread.start_new_thread.__module__)
lock = threading.Lock()
print(type(lock) is type(_thread.allocate_lock()))
for name in ("time", "_thread", "threading", "queue"):
    importhook.install_patch(name)
print(type(threading.Lock()) is type(_thread.allocate_lock()), queue.Queue.put is put_before)
"""


class RecorderApiTest(unittest.TestCase):
    def test_api_inside_a_traced_program(self):
        path = write_program(self, API)
        r = trace_script(path)
        self.assertEqual(r.returncode, 0, r)
        out = json.loads(r.stdout)
        a, b, pid = out["ids"]
        self.assertEqual(a >> 22, pid)
        self.assertEqual(b, a + 1)
        self.assertEqual(len(out["preview_long"]), 80)
        self.assertTrue(out["preview_long"].endswith("\u2026"))
        self.assertEqual(out["preview_bad"], "<Bad>")
        self.assertEqual((out["mode"], out["active"]), ("default", True))
        self.assertEqual(out["loc"], "%s:%d" % (path, API.split("\n").index('out["loc"] = rec.user_loc()') + 1))
        self.assertEqual(out["user_lock"], "lock")  # named like the C type
        self.assertIs(out["runtime_lock"], True)
        self.assertTrue(out["user_lock_traced"])
        self.assertEqual((out["in_runtime"], out["after"]), (True, False))
        self.assertIs(out["stdlib_created"], True)
        self.assertEqual((out["env_corr"], out["env_after"]), ("12345", None))
        self.assertEqual(out["budget"], 64)
        [agg] = r.of("aggregate", obj=778)
        self.assertEqual((agg["a"]["count"], agg["a"]["holdUs"], agg["a"]["what"]), (10, 30, "queue"))
        self.assertEqual(agg["tid"], pid)
        # an event reported on behalf of another process keeps that pid
        other = [e for e in r.of("process.exit") if e["pid"] == 4242]
        self.assertEqual(len(other), 1)
        # args that JSON cannot encode are turned into text, never lose the event
        [weird] = r.of("generic.instant")
        self.assertEqual(weird["a"]["name"], "weird")
        assert_complete(self, r)

    def test_fork_child_reconnects_with_its_own_ids_and_summary(self):
        path = write_program(self, FORK)
        r = trace_script(path)
        self.assertEqual(r.returncode, 0, r)
        lines = dict(l.split(" ", 1) for l in r.stdout.splitlines())
        child_pid, child_id = map(int, lines["child"].split())
        parent_pid, corr = map(int, lines["parent"].split())
        self.assertEqual(child_id >> 22, child_pid)
        [start] = [e for e in r.of("process.start") if e["pid"] == child_pid]
        self.assertEqual((start["a"]["method"], start["a"]["ppid"], start["corr"]), ("fork", parent_pid, corr))
        # the lock created before the fork keeps its id in the child
        obj = r.of("lock.create")[0]["obj"]
        self.assertEqual({e["pid"] for e in r.of("lock.hold", obj=obj)}, {parent_pid, child_pid})
        pids = {p["pid"] for p in r.metadata["processes"]}
        self.assertEqual(pids, {parent_pid, child_pid})
        assert_complete(self, r)

    def test_patches_can_be_undone_and_redone(self):
        path = write_program(self, UNDO)
        r = trace_script(path)
        self.assertEqual(r.returncode, 0, r)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "True queue time _queue threading _thread")
        self.assertEqual(lines[1], "True")
        self.assertEqual(lines[2], "False True")  # traced again: a traced Lock, the same Queue.put wrapper

    def test_flood_beyond_the_buffer_loses_nothing(self):
        path = write_program(self, FLOOD)
        r = trace_script(path, timeout=120)
        self.assertEqual(r.returncode, 0, r)
        n = int(r.stdout)
        self.assertEqual(len(r.of("generic.instant")), n)
        self.assertEqual(len({e["loc"] for e in r.of("generic.instant")}), 50)
        assert_complete(self, r)

    def test_packed_records_arrive_as_the_events_they_stand_for(self):
        path = write_program(self, PACKED)
        hold_line = PACKED.split("\n").index(next(l for l in PACKED.split("\n") if "HOLD_LINE" in l)) + 1
        recv_line = hold_line + 2
        r = trace_script(path, mode="full", timeout=120)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.strip(), "True")
        n = 2 * (R.PACK_AFTER + 500)
        holds = [e for e in r.of("lock.hold") if e["ph"] == "X"]
        self.assertEqual(len(holds), n)
        self.assertEqual({e["loc"] for e in holds}, {"%s:%d" % (path, hold_line)})
        self.assertTrue(all(e["dur"] >= 0 and e["tid"] == holds[0]["tid"] for e in holds))
        # One thread, one hold after the other: each ends before the next begins, all within the process's
        # life (hold times travel as raw clock readings in ns and are converted by the collector).
        holds.sort(key=lambda e: e["ts"])
        self.assertTrue(all(a["ts"] + a["dur"] <= b["ts"] for a, b in zip(holds, holds[1:])))
        start = r.of("process.start")[0]["ts"]
        end = r.of("process.summary")[-1]["ts"]
        self.assertTrue(start <= holds[0]["ts"] and holds[-1]["ts"] + holds[-1]["dur"] <= end, (start, end))
        sends = {e["corr"]: e for e in r.of("msg.send")}
        recvs = r.of("msg.recv")
        self.assertEqual(len(recvs), n)
        self.assertEqual({e["loc"] for e in recvs}, {"%s:%d" % (path, recv_line)})
        self.assertEqual(sorted(e["corr"] for e in recvs), sorted(sends))
        assert_complete(self, r)


if __name__ == "__main__":
    unittest.main()
