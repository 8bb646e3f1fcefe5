"""queue.Queue family: put -> get arrows (FIFO, LIFO, priority, SimpleQueue), blocked gets and puts."""
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


if __name__ == "__main__":
    unittest.main()
