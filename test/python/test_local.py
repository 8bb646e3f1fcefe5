"""threading.local: every binding recorded on the binding thread's lane, with its own value."""
import unittest

from support import trace_script, require_sample, write_program


class ThreadLocalTest(unittest.TestCase):
    def test_thread_local_sample(self):
        path = require_sample(self, "thread_local.py")
        r = trace_script(path)
        self.assertEqual(r.returncode, 0, r)
        binds = r.of("local.bind", attr="student")
        names = r.threads()
        self.assertEqual(len(binds), 3)
        self.assertEqual(len({b["obj"] for b in binds}), 1)  # one shared local object
        by_tid = {b["tid"]: b["a"]["preview"] for b in binds}
        for who in ("alice", "bob", "carol"):
            tid = names["thread-%s" % who]
            self.assertIn(who, by_tid[tid].lower())

    def test_subclass_and_budget(self):
        src = ("import threading\nclass Ctx(threading.local):\n    def __init__(self):\n        self.n = 0\n"
               "c = Ctx()\nfor i in range(200):\n    c.n = i\nprint(isinstance(c, threading.local), c.n)\n")
        path = write_program(self, src)
        r = trace_script(path)
        self.assertEqual(r.stdout, "True 199\n")
        binds = r.of("local.bind", attr="n")
        counted = sum(a["a"]["count"] for a in r.of("aggregate") if a["a"]["what"] == "local")
        self.assertEqual(len(binds) + counted, 201)  # __init__'s binding + 200
        self.assertEqual(binds[0]["a"]["type"], "Ctx")


if __name__ == "__main__":
    unittest.main()
