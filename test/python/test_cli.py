"""The command line: bad invocations and transparency (the program cannot tell it is traced)."""
import os
import subprocess
import sys
import unittest

from support import RUNTIME, launched, trace_script, run_plain, runtime_env, write_program

PROBE = r'''
import os, sys
from . import helper
print("name", __name__, "package", __package__, "file", __file__)
print("argv", sys.argv)
print("path0", sys.path[0])
print("helper", helper.VALUE)
print("stdin", sys.stdin.read().strip())
print("to stderr", file=sys.stderr)
print("sitecustomize-on-path", any(p.endswith("_boot") for p in sys.path))
sys.exit(int(sys.argv[1]))
'''

SCRIPT_PROBE = r'''
import sys
print("name", __name__, "file", __file__)
print("argv", sys.argv)
print("path0", sys.path[0])
print("stdin", sys.stdin.read().strip())
sys.stderr.write("err line\n")
sys.exit(int(sys.argv[1]))
'''


def cli(args, **kw):
    return subprocess.run([sys.executable, "-m", "interleave"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=runtime_env(), timeout=60, **kw)


class BadInvocationTest(unittest.TestCase):
    def check_one_line_error(self, args, fragment):
        p = cli(args)
        self.assertEqual(p.returncode, 2, p)
        err = p.stderr.decode()
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertTrue(err.startswith("interleave: error: "), err)
        self.assertIn(fragment, err)
        self.assertEqual(p.stdout, b"")

    def test_missing_script(self):
        self.check_one_line_error(["run", "/nonexistent/dir/prog.py"], "script not found")

    def test_unknown_option(self):
        self.check_one_line_error(["run", "--frobnicate", "x.py"], "unknown option --frobnicate")

    def test_bad_option_values(self):
        self.check_one_line_error(["run", "--mode", "fast", "x.py"], "--mode")
        self.check_one_line_error(["run", "--deadlock-timeout", "soon", "x.py"], "--deadlock-timeout")
        self.check_one_line_error(["run", "--on-deadlock", "explode", "x.py"], "--on-deadlock")
        self.check_one_line_error(["run", "--output"], "needs a value")

    def test_no_script_and_unknown_command(self):
        self.check_one_line_error(["run"], "no script given")
        self.check_one_line_error(["trace", "x.py"], "unknown command")

    def test_run_help_lists_the_options(self):
        p = cli(["run", "--help"])
        self.assertEqual(p.returncode, 0, p)
        out = p.stdout.decode()
        self.assertTrue(out.startswith("usage: python -m interleave run"), out)
        for option in ("--output", "--stream", "--mode", "--deadlock-timeout", "--cpu-interval", "--on-deadlock"):
            self.assertIn("\n  " + option if option != "--output" else "-o, --output", out)
        self.assertEqual(p.stderr, b"")

    def test_launched_run_with_bad_options_or_no_script(self):
        # Started as the extension starts a run (support.launched): the same one line and status 2, before
        # the program could run (it would print "started").
        path = write_program(self, "print('started')\n")
        for options, program, fragment in ((["--mode", "fast"], [path], "--mode"),
                                           (["--frobnicate"], [path], "unknown option --frobnicate"),
                                           ([], ["/nonexistent/dir/prog.py"], "script not found")):
            cmd, env = launched(program, extra_options=options)
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
            self.assertEqual(p.returncode, 2, p)
            err = p.stderr.decode()
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertTrue(err.startswith("interleave: error: ") and fragment in err, err)
            self.assertEqual(p.stdout, b"")

    def test_stream_without_token(self):
        env = runtime_env()
        env.pop("INTERLEAVE_TOKEN", None)
        path = write_program(self, "print(1)\n")
        p = subprocess.run([sys.executable, "-m", "interleave", "run", "--stream", "127.0.0.1:9", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"INTERLEAVE_TOKEN", p.stderr)


def r_lock_count(r):
    return len(r.of("lock.create"))


WAKEUP_FD = r"""
import signal, socket, asyncio
a, b = socket.socketpair()
a.setblocking(False)
print(signal.set_wakeup_fd(a.fileno()) == -1, signal.set_wakeup_fd(-1) == a.fileno(), signal.set_wakeup_fd(-1))

async def main():
    return "loop ran"
print(asyncio.run(main()), signal.set_wakeup_fd(-1))
"""


THREAD_FRAMES = r"""
import os, sys, threading
go = threading.Event()
t = threading.Thread(target=go.wait)
t.start()
print("parent", len(sys._current_frames()), flush=True)
pid = os.fork()
if pid == 0:
    # As CPython's test_threading: a fork child has one thread (ours must not show)
    os.write(1, b"child %d\n" % len(sys._current_frames()))
    os._exit(0)
os.waitpid(pid, 0)
go.set()
t.join()
"""


LOCK_TYPE = r"""
import threading
lock = threading.Lock()
# threading.Lock is a type from Python 3.13 on (a function before): isinstance must work as in a plain run
print(type(lock).__name__, isinstance(lock, threading.Lock) if isinstance(threading.Lock, type) else "function")
"""


class TransparencyTest(unittest.TestCase):
    launch = False    # True: started as the extension and the Node CLI start it (see support.launched)

    def trace(self, *args, **kwargs):
        return trace_script(*args, launch=self.launch, **kwargs)

    def test_threading_lock_is_a_type_where_it_is_one(self):
        path = write_program(self, LOCK_TYPE)
        plain = run_plain(path)
        traced = self.trace(path)
        self.assertEqual(traced.returncode, 0, traced)
        self.assertEqual(traced.stdout, plain.stdout.decode())
        self.assertEqual(r_lock_count(traced), 1)   # and the lock was the program's, traced

    def test_runtime_threads_are_not_among_the_current_frames(self):
        path = write_program(self, THREAD_FRAMES)
        plain = run_plain(path)
        traced = self.trace(path)
        self.assertEqual(traced.returncode, 0, traced)
        self.assertEqual(plain.stdout.decode(), "parent 2\nchild 1\n")
        self.assertEqual(traced.stdout, plain.stdout.decode())

    def test_set_wakeup_fd_returns_what_it_returns_in_a_plain_run(self):
        # The runtime keeps a wakeup fd of its own (for SIGTERM): the program must never be handed it.
        path = write_program(self, WAKEUP_FD)
        plain = run_plain(path)
        traced = self.trace(path)
        self.assertEqual(traced.returncode, 0, traced)
        self.assertEqual(plain.stdout.decode(), "True True -1\nloop ran -1\n")
        self.assertEqual(traced.stdout, plain.stdout.decode())

    def test_script_run_is_identical(self):
        path = write_program(self, SCRIPT_PROBE)
        d = os.path.dirname(path)
        plain = run_plain(path, args=("7", "two words"), input=b"some input\n", cwd=d)
        traced = self.trace(path, args=("7", "two words"), input=b"some input\n", cwd=d)
        self.assertEqual(traced.returncode, plain.returncode)
        self.assertEqual(traced.returncode, 7)
        self.assertEqual(traced.stdout, plain.stdout.decode())
        self.assertEqual(traced.stderr, plain.stderr.decode())
        self.assertIn("stdin some input", traced.stdout)
        self.assertEqual(traced.metadata["exitCode"], 7)

    def test_relative_script_path_and_module_run_are_identical(self):
        path = write_program(self, PROBE, name=os.path.join("main.py"))
        d = os.path.dirname(path)
        pkg = os.path.join(d, "pkg")
        os.mkdir(pkg)
        os.rename(path, os.path.join(pkg, "main.py"))
        for name, text in (("__init__.py", ""), ("helper.py", "VALUE = 41\n")):
            with open(os.path.join(pkg, name), "w") as f:
                f.write(text)
        plain = run_plain(["-m", "pkg.main"], args=("3",), input=b"abc", cwd=d)
        traced = self.trace(["-m", "pkg.main"], args=("3",), input=b"abc", cwd=d)
        self.assertEqual(plain.returncode, 3, plain.stderr)
        self.assertEqual(traced.returncode, 3, traced)
        self.assertEqual(traced.stdout, plain.stdout.decode())
        self.assertEqual(traced.stderr, plain.stderr.decode())
        self.assertIn("sitecustomize-on-path False", traced.stdout)
        self.assertIn("helper 41", traced.stdout)

    def test_uncaught_exception_prints_the_same_traceback(self):
        src = "def f():\n    raise ValueError('boom %d' % 3)\nprint('before')\nf()\n"
        path = write_program(self, src)
        plain = run_plain(path)
        traced = self.trace(path)
        self.assertEqual(traced.returncode, 1)
        self.assertEqual(plain.returncode, 1)
        self.assertEqual(traced.stderr, plain.stderr.decode())
        self.assertEqual(traced.stdout, "before\n")
        exc = traced.of("exception")
        self.assertEqual(len(exc), 1)
        self.assertEqual(exc[0]["a"]["type"], "ValueError")
        self.assertEqual(exc[0]["a"]["message"], "boom 3")
        self.assertTrue(exc[0]["loc"].endswith(path + ":2"), exc[0]["loc"])
        self.assertEqual(traced.metadata["exitCode"], 1)

    def test_exception_in_thread_is_recorded_and_printed_as_usual(self):
        src = ("import threading\ndef work():\n    raise KeyError('k')\n"
               "t = threading.Thread(target=work, name='bad')\nt.start(); t.join()\nprint('main done')\n")
        path = write_program(self, src)
        plain = run_plain(path)
        traced = self.trace(path)
        self.assertEqual(traced.returncode, 0)
        self.assertEqual(traced.stdout, plain.stdout.decode())
        # thread ids in the header differ between runs; compare the rest
        strip = lambda s: [line for line in s.splitlines() if not line.startswith("Exception in thread")]
        self.assertEqual(strip(traced.stderr), strip(plain.stderr.decode()))
        run = traced.intervals("thread.run", name="bad")[0]
        self.assertEqual(run["a"]["error"], "KeyError: 'k'")
        exc = traced.of("exception")
        self.assertEqual(len(exc), 1)
        self.assertEqual(exc[0]["tid"], run["tid"])



class LaunchedTransparencyTest(TransparencyTest):
    launch = True

if __name__ == "__main__":
    unittest.main()
