"""Helpers for the runtime's tests: trace a program with the real CLI and read the trace back.

trace_script() runs `python -m interleave run --output <tmp> ...` exactly as a user would, with
PYTHONPATH pointing at runtime/, and returns the events read back from the Chrome JSON (as protocol
TraceEvent dicts: {k, ph, ts, pid, tid, dur?, obj?, corr?, loc?, a?}), exactly as protocol/chrome.ts reads
them: intervals come back as X, except those with a link at their end (`ecorr`) or of kinds without an X
phase (thread.run, async.task), which come back as a b/e pair (adjacent in the list); see intervals().
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNTIME = os.path.join(ROOT, "runtime")
SAMPLES = os.path.join(ROOT, "samples")
FIXTURES = os.path.join(ROOT, "test", "fixtures")

sys.path.insert(0, RUNTIME) if RUNTIME not in sys.path else None
from interleave.chrome import read_chrome  # noqa: E402


class TraceResult(object):
    def __init__(self, returncode, stdout, stderr, events, metadata, raw=None, path=None):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.events = events
        self.metadata = metadata
        self.raw = raw
        self.path = path

    def of(self, k, ph=None, **where):
        """Events of kind k (and phase ph) whose fields or `a` fields equal the given values."""
        out = []
        for e in self.events:
            if e["k"] != k or (ph is not None and e["ph"] != ph):
                continue
            a = e.get("a") or {}
            if all(e.get(f, a.get(f)) == v for f, v in where.items()):
                out.append(e)
        return out

    def intervals(self, k, **where):
        """Intervals of kind k as single dicts: X events as they are, b/e pairs merged (`dur` from the
        pair, `corr` from the begin, `ecorr` from the end, `a` from both), filtered like of()."""
        out = []
        evs = self.events
        for i, e in enumerate(evs):
            if e["k"] != k or e["ph"] not in ("X", "b"):
                continue
            m = dict(e)
            if e["ph"] == "b":
                end = evs[i + 1] if i + 1 < len(evs) else None
                if end is None or end["k"] != k or end["ph"] != "e":
                    continue
                m["ph"] = "X"
                m["dur"] = end["ts"] - e["ts"]
                if end.get("corr"):
                    m["ecorr"] = end["corr"]
            a = m.get("a") or {}
            if all(m.get(f, a.get(f)) == v for f, v in where.items()):
                out.append(m)
        return out

    def kinds(self):
        return set(e["k"] for e in self.events)

    def threads(self):
        """name -> tid of every thread.run."""
        return {e["a"]["name"]: e["tid"] for e in self.of("thread.run", "b")}

    def __repr__(self):
        return "TraceResult(rc=%r, %d events, stderr=%r)" % (self.returncode, len(self.events), self.stderr[-2000:])


def runtime_env(extra=None):
    env = dict(os.environ)
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = RUNTIME + (os.pathsep + old if old else "")
    env.pop("INTERLEAVE_TOKEN", None)
    env.pop("INTERLEAVE_STREAM", None)
    if extra:
        env.update(extra)
    return env


def interleave_cmd(path_or_args, args=(), mode="default", extra_options=(), interpreter=None, output=None):
    cmd = [interpreter or sys.executable, "-m", "interleave", "run", "--mode", mode]
    if output:
        cmd += ["--output", output]
    cmd += list(extra_options)
    if isinstance(path_or_args, (list, tuple)):
        cmd += list(path_or_args)
    else:
        cmd.append(path_or_args)
    cmd += list(args)
    return cmd


BOOT_DIR = os.path.join(RUNTIME, "interleave", "_boot")


def launched(path_or_args, args=(), mode="default", extra_options=(), interpreter=None, output=None, env=None):
    """(command, environment) of a run as the extension and the Node CLI start it (launch by fork,
    extension/run/launch.ts): `python script.py args` with the `run` options in INTERLEAVE_LAUNCH."""
    from interleave import protocol as P
    options = ["--mode", mode] + (["--output", output] if output else []) + list(extra_options)
    e = dict(os.environ)
    old = e.get("PYTHONPATH")
    e["PYTHONPATH"] = BOOT_DIR + (os.pathsep + old if old else "")
    e.pop("INTERLEAVE_TOKEN", None)
    e.pop("INTERLEAVE_STREAM", None)
    e[P.ENV_LAUNCH] = P.LAUNCH_SEPARATOR.join(options)
    if env:
        e.update(env)
    program = list(path_or_args) if isinstance(path_or_args, (list, tuple)) else [path_or_args]
    return [interpreter or sys.executable] + program + list(args), e


def trace_script(path_or_args, args=(), mode="default", timeout=60, extra_options=(), interpreter=sys.executable,
                 input=None, cwd=None, env=None, launch=False):
    """Traces a script (path) or an argument list (e.g. ['-m', 'pkg.mod']) and reads the trace back.
    launch=True: started as the extension starts it (see launched()), else as `python -m interleave run`."""
    fd, out = tempfile.mkstemp(prefix="interleave-test-", suffix=".json")
    os.close(fd)
    os.unlink(out)
    try:
        if launch:
            cmd, full_env = launched(path_or_args, args, mode, extra_options, interpreter, output=out, env=env)
        else:
            cmd, full_env = interleave_cmd(path_or_args, args, mode, extra_options, interpreter, output=out), runtime_env(env)
        p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           env=full_env, cwd=cwd)
        stdout = p.stdout.decode("utf-8", "replace")
        stderr = p.stderr.decode("utf-8", "replace")
        if not os.path.exists(out):
            return TraceResult(p.returncode, stdout, stderr, [], {}, path=None)
        events, metadata = read_chrome(out)
        with open(out, encoding="utf-8") as f:
            raw = json.load(f)
        return TraceResult(p.returncode, stdout, stderr, events, metadata, raw=raw, path=out)
    finally:
        if os.path.exists(out):
            os.unlink(out)


def run_plain(path_or_args, args=(), timeout=60, interpreter=sys.executable, input=None, cwd=None, env=None):
    """The same program without the tracer, for transparency comparisons."""
    cmd = [interpreter] + (list(path_or_args) if isinstance(path_or_args, (list, tuple)) else [path_or_args]) + list(args)
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, cwd=cwd, env=e)


def write_program(testcase, source, name="prog.py"):
    """Writes a program into a fresh temporary folder (removed after the test) and returns its path."""
    d = tempfile.mkdtemp(prefix="interleave-prog-")
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(source)

    def cleanup():
        import shutil
        shutil.rmtree(d, ignore_errors=True)
    testcase.addCleanup(cleanup)
    return path


def sample(name):
    return os.path.join(SAMPLES, name)


def require_sample(testcase, name):
    path = sample(name)
    if not os.path.exists(path):
        testcase.skipTest("sample %s not written yet" % name)
    return path


def assert_complete(testcase, result):
    """Every process sent its summary and nothing was dropped."""
    md = result.metadata
    testcase.assertTrue(md.get("processes"), "no processes in metadata: %r" % (result,))
    for p in md["processes"]:
        testcase.assertNotEqual(p.get("complete"), False, "process %r has no summary" % (p,))
        testcase.assertEqual(p.get("dropped"), 0, p)
        testcase.assertEqual(p.get("received"), p.get("emitted"), p)
    testcase.assertEqual(md["totals"]["dropped"], 0)


slow = unittest.skipUnless(os.environ.get("INTERLEAVE_SLOW_TESTS") == "1", "set INTERLEAVE_SLOW_TESTS=1")


class LiveReceiver(object):
    """What the extension host reads (a live receiver for --stream): per connection the hello, then
    the messages after it, inflated when the hello says deflate (protocol/wire.ts WireHello.z).
    hang_up: close each connection right after its hello (a receiver that goes away)."""

    def __init__(self, hang_up=False):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.hang_up = hang_up
        self.conns = []     # (hello, [messages], bytes on the wire after the hello)
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(c,), daemon=True).start()

    def _read(self, c):
        f = c.makefile("rb")
        hello = json.loads(f.readline())
        raw = b"" if self.hang_up else f.read()
        data = zlib.decompressobj().decompress(raw) if hello.get("z") == "deflate" else raw
        msgs = [json.loads(line) for line in data.splitlines() if line]
        f.close()
        c.close()
        with self.lock:
            self.conns.append((hello, msgs, len(raw)))
            self.changed.notify_all()

    def finish(self, connections):
        """Waits (bounded) until that many connections have been read to their end; stops listening."""
        with self.lock:
            self.changed.wait_for(lambda: len(self.conns) >= connections, 30)
        self.close()

    def close(self):
        self.sock.close()
