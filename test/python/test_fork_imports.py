"""Fork safety of the recorder's lazy imports: a child forked while another thread of its parent is
still importing json (the stream's encoder) must not deadlock on its first flush. The fork here is
os.forkpty(), which no patch wraps: only the recorder's own os.register_at_fork(before=...) hook can
make it wait for the import to finish."""
import unittest

from support import assert_complete, trace_script, write_program

PROGRAM = r'''
import importlib.abc, importlib.machinery, os, sys, threading

inside = threading.Event()

class SlowJson(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes `import json` slow: it holds json's module lock for a while (a big package's import)."""
    def find_spec(self, name, path=None, target=None):
        if name != "json":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        self.real = spec.loader
        spec.loader = self
        return spec
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        inside.set()
        threading.Event().wait(0.5)   # the slow part of the import, module lock held
        self.real.exec_module(module)

for name in [m for m in sys.modules if m == "json" or m.startswith("json.")]:
    del sys.modules[name]
sys.meta_path.insert(0, SlowJson())
t = threading.Thread(target=lambda: __import__("json"))
t.start()
inside.wait()
pid, _fd = os.forkpty()
if pid == 0:
    lock = threading.Lock()
    for _ in range(1000):
        with lock:
            pass
    os._exit(0)
os.waitpid(pid, 0)
t.join()
print("done")
'''


class ForkDuringImport(unittest.TestCase):
    def test_child_forked_during_json_import_flushes(self):
        r = trace_script(write_program(self, PROGRAM), timeout=60)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.strip(), "done")
        self.assertEqual(len(r.metadata["processes"]), 2, r.metadata)
        assert_complete(self, r)
        child = [p["pid"] for p in r.metadata["processes"] if p["pid"] != r.metadata["program"]["pid"]][0]
        self.assertEqual(len(r.of("process.start", pid=child)), 1)


if __name__ == "__main__":
    unittest.main()
