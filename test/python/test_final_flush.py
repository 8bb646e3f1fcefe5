"""The final flush survives a SIGTERM: a child in its os._exit flush when its parent terminates it
(what Pool.terminate() does to workers that are leaving) still delivers every event and its summary."""
import unittest

from support import assert_complete, trace_script, write_program

# Each child records tens of thousands of events (full mode), tells its parent it is about to exit,
# and exits with os._exit: the parent's SIGTERM lands while the child's final flush is encoding and
# sending them. Before the fix the handler killed the child mid-flush (no summary, events lost).
EXIT_UNDER_SIGTERM = r'''
import os, signal, threading
lock = threading.Lock()
kids = []
for i in range(4):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        for _ in range(30000):
            with lock:
                pass
        os.write(w, b"x")
        os._exit(0)
    os.close(w)
    os.read(r, 1)
    os.kill(pid, signal.SIGTERM)
    os.close(r)
    kids.append(pid)
codes = []
for pid in kids:
    _, status = os.waitpid(pid, 0)
    codes.append(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 or
                 os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM)
print(all(codes))
'''


class FinalFlushUnderSigterm(unittest.TestCase):
    def test_children_terminated_during_their_exit_flush_lose_nothing(self):
        r = trace_script(write_program(self, EXIT_UNDER_SIGTERM), mode="full")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.strip(), "True")
        main = r.metadata["program"]["pid"]
        children = [p for p in r.metadata["processes"] if p["pid"] != main]
        self.assertEqual(len(children), 4, r.metadata["processes"])
        assert_complete(self, r)
        for p in children:
            # Every one of the child's 30000 lock.hold intervals arrived (plus its own lifecycle events).
            self.assertEqual(len(r.intervals("lock.hold", pid=p["pid"])), 30000, p)


if __name__ == "__main__":
    unittest.main()
