"""runtime/interleave/protocol.py lane_obj mirrors protocol/events.ts laneObj, and the Chrome writer
uses it: a message between two asyncio tasks of one thread (each end carrying a.task) is a link
between two lanes and gets its flow arrow."""
import unittest

import support  # noqa: F401  (puts runtime/ on sys.path)
from interleave import chrome
from interleave import protocol as P


class LaneObj(unittest.TestCase):
    def test_task_and_greenlet_kinds_use_obj(self):
        for k in ("async.task", "async.step", "async.wait", "greenlet.run"):
            self.assertEqual(P.lane_obj(k, 77, {"task": 5}), 77, k)

    def test_other_kinds_use_a_task_when_it_is_a_number(self):
        self.assertEqual(P.lane_obj("msg.send", 9, {"task": 41}), 41)
        self.assertEqual(P.lane_obj("async.spawn", 0, {"task": 41.0}), 41.0)

    def test_thread_lane_otherwise(self):
        self.assertIsNone(P.lane_obj("msg.send", 9, None))
        self.assertIsNone(P.lane_obj("msg.send", 9, {}))
        for bad in ("41", None, True, float("nan"), float("inf"), [41]):
            self.assertIsNone(P.lane_obj("msg.recv", 9, {"task": bad}), bad)


class ChromeArrowsBetweenTasks(unittest.TestCase):
    def events(self, recv_task):
        pid = tid = 100
        ev = [
            {"k": "async.task", "ph": "b", "ts": 1, "pid": pid, "tid": tid, "obj": 11, "a": {"name": "producer"}},
            {"k": "async.task", "ph": "b", "ts": 2, "pid": pid, "tid": tid, "obj": 12, "a": {"name": "consumer"}},
            {"k": "msg.send", "ph": "i", "ts": 3, "pid": pid, "tid": tid, "obj": 50, "corr": 900,
             "a": {"preview": "1", "size": 28, "task": 11}},
            {"k": "msg.recv", "ph": "i", "ts": 4, "pid": pid, "tid": tid, "obj": 50, "corr": 900,
             "a": {"preview": "1", "size": 28, "task": recv_task}},
            {"k": "async.task", "ph": "e", "ts": 5, "pid": pid, "tid": tid, "obj": 11, "a": {"state": "done"}},
            {"k": "async.task", "ph": "e", "ts": 6, "pid": pid, "tid": tid, "obj": 12, "a": {"state": "done"}},
        ]
        return chrome.to_chrome(ev)["traceEvents"]

    def test_message_between_two_tasks_of_one_thread_gets_a_flow(self):
        flows = [c for c in self.events(12) if c["ph"] in ("s", "f")]
        self.assertEqual([(c["ph"], c["ts"]) for c in flows], [("s", 3), ("f", 4)])
        self.assertEqual(flows[0]["id"], flows[1]["id"])

    def test_message_within_one_task_gets_none(self):
        self.assertEqual([c for c in self.events(11) if c["ph"] in ("s", "f")], [])


if __name__ == "__main__":
    unittest.main()
