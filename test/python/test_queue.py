"""queue.Queue family: put -> get arrows (FIFO, LIFO, priority, SimpleQueue), blocked gets and puts."""
import queue
import unittest

from support import trace_script, write_program

PROGRAM = r'''
import queue, threading
from interleave import deadlock
for cls in (queue.Queue, queue.LifoQueue, queue.PriorityQueue, queue.SimpleQueue):
    q = cls()
    for i in (3, 1, 2):
        q.put(i)
    print(cls.__name__, [q.get() for _ in range(3)])

# a consumer blocked in get() until the main thread puts
q = queue.Queue(maxsize=1)
got = []
def consume():
    got.append(q.get())
t = threading.Thread(target=consume, name="consumer"); t.start()
while t.ident not in deadlock._waiting:
    pass
q.put("wake")
t.join()
# a producer blocked in put() on the full queue until the main thread gets
q.put("first")
p = threading.Thread(target=q.put, args=("second",), name="producer"); p.start()
while p.ident not in deadlock._waiting:
    pass
print(q.get(), q.get(), got)
p.join()
s = queue.SimpleQueue()
w = threading.Thread(target=lambda: got.append(s.get()), name="simple"); w.start()
while w.ident not in deadlock._waiting:
    pass
s.put({"k": 1})
w.join()
'''


class QueueTest(unittest.TestCase):
    def test_queue_family(self):
        path = write_program(self, PROGRAM)
        r = trace_script(path, mode="full")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("Queue [3, 1, 2]", r.stdout)
        self.assertIn("LifoQueue [2, 1, 3]", r.stdout)
        self.assertIn("PriorityQueue [1, 2, 3]", r.stdout)
        self.assertIn("first second ['wake']", r.stdout)
        chans = {e["obj"]: e["a"]["type"] for e in r.of("chan.create")}
        self.assertEqual(sorted(chans.values()), sorted(["queue.Queue", "queue.LifoQueue", "queue.PriorityQueue",
                                                         "queue.SimpleQueue", "queue.Queue", "queue.SimpleQueue"]))
        # every get is linked to the put of the very item it returned (previews are of the item)
        sends = {e["corr"]: e for e in r.of("msg.send")}
        for recv in r.of("msg.recv"):
            self.assertIn(recv["corr"], sends)
            self.assertEqual(sends[recv["corr"]]["obj"], recv["obj"])
            self.assertLessEqual(sends[recv["corr"]]["ts"], recv["ts"])
        for obj, typ in chans.items():
            if typ in ("queue.LifoQueue", "queue.PriorityQueue"):
                order = [sends[e["corr"]]["a"]["preview"] for e in sorted(r.of("msg.recv", obj=obj), key=lambda e: e["ts"])]
                self.assertEqual(order, ["2", "1", "3"] if typ == "queue.LifoQueue" else ["1", "2", "3"])
        names = r.threads()
        [gw] = r.intervals("msg.wait", op="get", tid=names["consumer"])
        [wake] = r.of("msg.send", preview="'wake'")
        self.assertLessEqual(gw["ts"], wake["ts"])
        self.assertGreaterEqual(gw["ts"] + gw["dur"], wake["ts"])
        [pw] = r.intervals("msg.wait", op="put", tid=names["producer"])
        self.assertEqual(r.of("msg.send", preview="'second'")[0]["tid"], names["producer"])
        [sw] = r.intervals("msg.wait", op="get", tid=names["simple"])
        [srecv] = r.of("msg.recv", tid=names["simple"])
        self.assertEqual(sends[srecv["corr"]]["a"]["preview"], "{'k': 1}")
        self.assertEqual(r.of("lock.create"), [])  # the queues' own mutexes are not user locks

    def test_default_mode_counts_uncontended_operations(self):
        src = ("import queue\nq = queue.Queue()\nfor i in range(3000):\n    q.put(i)\n"
               "for i in range(3000):\n    q.get()\n")
        path = write_program(self, src)
        r = trace_script(path)
        self.assertEqual(r.returncode, 0, r)
        [chan] = r.of("chan.create")
        recorded = len(r.of("msg.send", obj=chan["obj"])) + len(r.of("msg.recv", obj=chan["obj"]))
        counted = sum(e["a"]["count"] for e in r.of("aggregate", obj=chan["obj"]))
        self.assertLess(recorded, 200)
        self.assertEqual(recorded + counted, 6000)
        self.assertEqual({e["tid"] for e in r.of("aggregate", obj=chan["obj"])}, {r.metadata["program"]["pid"]})


IRREGULAR = r'''
import queue, threading
# the items changed behind put/get: the known idiom for emptying a queue
q = queue.Queue()
for i in range(3):
    q.put("old%d" % i)
with q.mutex:
    q.queue.clear()
q.put("new0"); q.put("new1")
print(q.get(), q.get())
# a subclass with its own ordering (its _put/_get are not the standard ones)
class Newest(queue.Queue):
    def _get(self):
        return self.queue.pop()
n = Newest()
for x in ("a", "b", "c"):
    n.put(x)
print(n.get(), n.get(), n.get())
# a get that times out waits, and receives nothing
t = queue.Queue()
try:
    t.get(timeout=0.01)
except queue.Empty:
    print("empty")
'''


class IrregularUse(unittest.TestCase):
    def test_links_survive_clear_and_custom_order(self):
        r = trace_script(write_program(self, IRREGULAR), mode="full")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("new0 new1\nc b a\nempty", r.stdout)
        sends = {e["corr"]: e for e in r.of("msg.send")}
        chans = [e["obj"] for e in r.of("chan.create")]
        self.assertEqual(len(chans), 3)
        for obj, expected in ((chans[0], ["'new0'", "'new1'"]), (chans[1], ["'c'", "'b'", "'a'"])):
            recvs = sorted(r.of("msg.recv", obj=obj), key=lambda e: e["ts"])
            self.assertEqual([sends[e["corr"]]["a"]["preview"] for e in recvs], expected)
        [wait] = r.intervals("msg.wait", obj=chans[2])
        self.assertEqual(wait["a"]["op"], "get")
        self.assertFalse(r.of("msg.recv", obj=chans[2]))


    @unittest.skipUnless(hasattr(queue.Queue, "shutdown"), "Queue.shutdown is new in Python 3.13")
    def test_items_dropped_by_an_immediate_shutdown_are_not_received(self):
        src = ("import queue\nq = queue.Queue()\nfor x in 'abc':\n    q.put(x)\nprint(q.get())\n"
               "q.shutdown(immediate=True)\nprint(q.qsize())\n")
        r = trace_script(write_program(self, src), mode="full")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("a\n0", r.stdout)
        self.assertEqual(len(r.of("msg.send")), 3)
        [recv] = r.of("msg.recv")
        self.assertEqual(r.of("msg.send", preview="'a'")[0]["corr"], recv["corr"])


BLOCKED_BEYOND_BUDGET = r'''
import queue, threading
from interleave import deadlock
q = queue.Queue()
for i in range(500):          # well beyond the per-queue budget: these are counted
    q.put(i)
    q.get()
def consume():
    q.get()
c = threading.Thread(target=consume, name="late"); c.start()
while c.ident not in deadlock._waiting:
    pass
q.put("wake")
c.join()
'''


class DefaultModeExactness(unittest.TestCase):
    def test_a_get_that_blocked_is_recorded_after_the_budget(self):
        r = trace_script(write_program(self, BLOCKED_BEYOND_BUDGET))
        self.assertEqual(r.returncode, 0, r)
        late = r.threads()["late"]
        [wait] = r.intervals("msg.wait", tid=late)
        [recv] = r.of("msg.recv", tid=late)
        [send] = r.of("msg.send", preview="'wake'")
        self.assertEqual(recv["corr"], send["corr"])
        self.assertLessEqual(wait["ts"], send["ts"])
        counted = sum(e["a"]["count"] for e in r.of("aggregate", obj=send["obj"]))
        self.assertEqual(len(r.of("msg.send", obj=send["obj"])) + len(r.of("msg.recv", obj=send["obj"])) + counted, 1002)


GET_PATHS = r"""
import queue
class Logged(queue.Queue):
    def get(self, block=True, timeout=None):
        item = super().get(block, timeout)   # via super
        return item
q = Logged()
for x in ("a", "b", "c", "d"):
    q.put(x)
got = [q.get()]                              # line 10
got.append(q.get_nowait())                   # line 11
got.append(q.get(timeout=1))                 # line 12
got.append(queue.Queue.get(q))               # line 13: the class's own get, unbound
print(got)
"""


class FullModeReceives(unittest.TestCase):
    def test_every_way_to_get_is_received_once_and_linked(self):
        path = write_program(self, GET_PATHS)
        r = trace_script(path, mode="full")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("['a', 'b', 'c', 'd']", r.stdout)
        sends = {e["corr"]: e for e in r.of("msg.send")}
        recvs = sorted(r.of("msg.recv"), key=lambda e: e["ts"])
        self.assertEqual([sends[e["corr"]]["a"]["preview"] for e in recvs], ["'a'", "'b'", "'c'", "'d'"])
        # each receive is placed at the program's line: the subclass's super().get() for the calls
        # through its get, the caller's line for the unbound class get
        lines = [int(e["loc"].rsplit(":", 1)[1]) for e in recvs]
        self.assertEqual(lines, [5, 5, 5, 13])
        for e in recvs:
            self.assertTrue(e["loc"].startswith(path), e["loc"])


class PayloadArgs(unittest.TestCase):
    def test_the_inline_payload_args_are_those_of_preview_and_getsizeof(self):
        import sys
        from interleave import recorder as rec
        from interleave.patches import queue_
        big = 1 << sys.int_info.bits_per_digit
        values = [0, 1, -1, 7, big // 2 - 1, -(big // 2) + 1, big // 2, big, -big, 10 ** 40, True, None, 2.5,
                  "", "a", "x" * 80, "x" * 81, "\U000e0001" * 30, "caf\u00e9", b"ab", (1, 2), [3]]
        for v in values:
            with self.subTest(value=v):
                self.assertEqual(queue_._payload_args(v), {"preview": rec.preview(v), "size": sys.getsizeof(v)})


if __name__ == "__main__":
    unittest.main()
