"""The supervisor and the stream: signals, abrupt exits, a vanished receiver, relaying to a live host."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

from support import LiveReceiver, interleave_cmd, launched, runtime_env, write_program, run_plain, assert_complete, trace_script
from interleave.chrome import read_chrome
from interleave import protocol as P

WAITER = r'''
import os, sys, threading, time
lock = threading.Lock()
for i in range(10):
    with lock:
        pass
print("ready", os.getpid(), flush=True)
%s
'''


# Counts SIGINTs; after each it stays busy for 0.2 s (its own behaviour) before it says so. The handler
# only writes to a pipe the main thread reads: a handler that set an Event could find the Event's lock
# held by the very code it interrupted (Event.wait holds it for a few bytecodes) and hang, traced or not.
COUNTS_SIGINT = r'''
import os, signal, time
count = [0]
r, w = os.pipe()
def on_sigint(signum, frame):
    count[0] += 1
    os.write(w, b"!")
signal.signal(signal.SIGINT, on_sigint)
print("ready", os.getpid(), flush=True)
for expected in (1, 2):
    while count[0] < expected:
        os.read(r, 1)
    t = time.monotonic()
    while time.monotonic() - t < 0.2:
        pass
    print("got", count[0], flush=True)
'''


# An asyncio program: add_signal_handler sets a wakeup fd of the program's own.
ASYNCIO_SIGINT = r'''
import asyncio, os, signal
async def main():
    got = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, got.set)
    print("ready", os.getpid(), flush=True)
    await got.wait()
    print("got it", flush=True)
asyncio.run(main())
'''


class Running(object):
    """An `interleave run --output` in the background, with its stdout readable line by line."""

    def __init__(self, testcase, source, extra=(), env=None, new_session=False):
        self.path = write_program(testcase, source)
        fd, self.out = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        os.unlink(self.out)
        testcase.addCleanup(lambda: os.path.exists(self.out) and os.unlink(self.out))
        if getattr(testcase, "launch", False):
            cmd, full_env = launched(self.path, output=self.out, extra_options=extra, env=env)
        else:
            cmd, full_env = interleave_cmd(self.path, output=self.out, extra_options=extra), runtime_env(env)
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env,
                                  start_new_session=new_session)
        testcase.addCleanup(self.cleanup)
        # A bound on every wait in these tests: a run that hangs is killed (and the test then fails).
        self.guard = threading.Timer(60, self.cleanup)
        self.guard.daemon = True
        self.guard.start()

    def wait_ready(self):
        line = self.p.stdout.readline().decode()
        assert line.startswith("ready"), line + self.p.stderr.read().decode()
        self.program = int(line.split()[1])
        return self.program

    def finish(self, timeout=30):
        out, err = self.p.communicate(timeout=timeout)
        assert os.path.exists(self.out), "no trace written; rc=%r stderr=%r" % (self.p.returncode, err[-3000:])
        events, meta = read_chrome(self.out)
        assert meta.get("processes"), "no process connected: %r %r" % (err[-3000:], events)
        return self.p.returncode, err.decode(), events, meta

    def cleanup(self):
        self.guard.cancel()
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        # The program too: it holds the stdout pipe open, so a test blocked reading it would never end.
        if getattr(self, "program", None):
            try:
                os.kill(self.program, signal.SIGKILL)
            except OSError:
                pass

    def line(self):
        """The program's next stdout line; if the guard had to end the run, what the supervisor said."""
        got = self.p.stdout.readline().decode().strip()
        if not got and self.p.poll() is not None:
            return "<run ended: rc %r, stderr %r>" % (self.p.returncode, self.p.stderr.read().decode()[-2000:])
        return got


class SignalTest(unittest.TestCase):
    def test_sigint_to_supervisor_gives_keyboardinterrupt_and_same_status(self):
        r = Running(self, WAITER % "threading.Event().wait()")
        r.wait_ready()
        r.p.send_signal(signal.SIGINT)
        rc, err, events, meta = r.finish()
        self.assertEqual(rc, -signal.SIGINT)
        self.assertEqual(err.count("KeyboardInterrupt"), 1, err)   # forwarded, once
        exc = [e for e in events if e["k"] == "exception"]
        self.assertEqual([e["a"]["type"] for e in exc], ["KeyboardInterrupt"])
        assert_complete(self, type("R", (), {"metadata": meta})())
        self.assertEqual(meta["signal"], "SIGINT")

    def test_sigint_to_the_whole_process_group_arrives_once(self):
        # As `timeout -s INT` or `kill -INT -- -PGID` send it: the program and the supervisor both get it.
        # The supervisor must not forward a second copy (a second KeyboardInterrupt lands inside the
        # first one's clean-up: "During handling of the above exception ..." and a different status).
        r = Running(self, WAITER % "threading.Event().wait()", new_session=True)
        r.wait_ready()
        os.killpg(r.p.pid, signal.SIGINT)
        rc, err, events, meta = r.finish()
        self.assertEqual(rc, -signal.SIGINT, err)
        self.assertEqual(err.count("KeyboardInterrupt"), 1, err)
        self.assertNotIn("During handling", err)
        exc = [e for e in events if e["k"] == "exception"]
        self.assertEqual([e["a"]["type"] for e in exc], ["KeyboardInterrupt"])
        self.assertEqual(meta["signal"], "SIGINT")
        # Not forwarded: the program reported it, or (dying of it at once, before its runtime's
        # watcher could report) had already exited when the supervisor looked.
        [decision] = meta.get("signals")
        self.assertEqual((decision["signal"], decision["forwarded"]), ("SIGINT", False), err)
        self.assertIn(decision["why"], ("the program got it too", "the program had exited"))

    def test_group_sigint_reaches_an_asyncio_program_once(self):
        # asyncio's add_signal_handler installs its own wakeup fd; the runtime's watcher must still see
        # the signal (and report it), or the supervisor forwards a second copy 0.1 s later.
        r = Running(self, ASYNCIO_SIGINT, new_session=True)
        r.wait_ready()
        os.killpg(r.p.pid, signal.SIGINT)
        self.assertEqual(r.p.stdout.readline().decode().strip(), "got it")
        rc, err, events, meta = r.finish()
        self.assertEqual(rc, 0, err)
        self.assertEqual(meta.get("signals"), [
            {"signal": "SIGINT", "forwarded": False, "why": "the program got it too"}], err)

    def test_signal_to_the_supervisor_alone_is_forwarded_after_one_the_program_got_directly(self):
        # The program's report of the first SIGINT (sent to it alone) must not stand for the second,
        # sent to the supervisor alone: that one is forwarded.
        r = Running(self, COUNTS_SIGINT)
        pid = r.wait_ready()
        os.kill(pid, signal.SIGINT)
        self.assertEqual(r.line(), "got 1")
        r.p.send_signal(signal.SIGINT)
        self.assertEqual(r.line(), "got 2")
        rc, err, events, meta = r.finish()
        self.assertEqual(rc, 0, err)
        self.assertEqual(meta.get("signals"), [
            {"signal": "SIGINT", "forwarded": True, "why": "sent to the supervisor alone"}], err)

    def test_sigterm_to_program_flushes_and_dies_of_sigterm(self):
        r = Running(self, WAITER % "threading.Event().wait()")
        pid = r.wait_ready()
        os.kill(pid, signal.SIGTERM)
        rc, err, events, meta = r.finish()
        self.assertEqual(rc, -signal.SIGTERM)
        [proc] = meta["processes"]
        self.assertNotEqual(proc.get("complete"), False, proc)
        self.assertEqual(proc["dropped"], 0)
        exits = [e for e in events if e["k"] == "process.exit"]
        self.assertEqual(exits[0]["a"]["signal"], "SIGTERM")

    def test_sigkill_keeps_what_arrived_and_marks_the_process_killed(self):
        # The lock events are flushed by the background flusher before we kill (waiting for them keeps
        # the test free of sleeps: the program prints "flushed" once a batch has been sent and no flush
        # is in progress).
        src = WAITER % ("from interleave import recorder as r\n"
                        "import _thread\npause = _thread.allocate_lock(); pause.acquire()\n"
                        "while r._buf or not r._stream.seq or r._stream.lock.locked(): pause.acquire(True, 0.005)\n"
                        "print('flushed', flush=True)\nthreading.Event().wait()")
        r = Running(self, src)
        pid = r.wait_ready()
        self.assertEqual(r.p.stdout.readline().decode().strip(), "flushed")
        os.kill(pid, signal.SIGKILL)
        rc, err, events, meta = r.finish()
        self.assertEqual(rc, -signal.SIGKILL)
        [proc] = meta["processes"]
        self.assertIs(proc.get("complete"), False)
        self.assertTrue(proc.get("killed"))
        exits = [e for e in events if e["k"] == "process.exit"]
        self.assertEqual(exits[0]["a"], {"code": None, "signal": "SIGKILL", "killed": True})
        self.assertGreaterEqual(len([e for e in events if e["k"] == "lock.hold"]), 10)

    def test_os_exit_flushes_everything(self):
        src = WAITER % "os._exit(5)"
        r = Running(self, src)
        r.wait_ready()
        rc, err, events, meta = r.finish()
        self.assertEqual(rc, 5)
        [proc] = meta["processes"]
        self.assertEqual((proc["emitted"], proc["dropped"], proc["received"]), (proc["received"], 0, proc["received"]))
        self.assertEqual(len([e for e in events if e["k"] == "lock.hold"]), 10)


class LaunchedSignalTest(SignalTest):
    """The same, with the run started as the extension and the Node CLI start it: the launched
    interpreter forks its supervisor (launch.py) instead of the supervisor spawning the program."""
    launch = True


class StreamTest(unittest.TestCase):
    PROGRAM = ("import threading\nlock = threading.Lock()\n"
               "for i in range(20000):\n    with lock:\n        pass\n"
               "    if i % 5000 == 0: print(i, flush=True)\nprint('end')\n")

    def test_receiver_gone_program_runs_on(self):
        rcv = LiveReceiver(hang_up=True)
        self.addCleanup(rcv.close)
        path = write_program(self, self.PROGRAM)
        env = runtime_env({"INTERLEAVE_TOKEN": "t" * 64})
        p = subprocess.run(interleave_cmd(path, mode="full", extra_options=["--stream", rcv.addr]),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
        plain = run_plain(path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, plain.stdout)
        self.assertEqual(p.stderr, b"")
        rcv.finish(1)
        hello = rcv.conns[0][0]
        self.assertEqual(hello["t"], "hello")
        self.assertEqual(hello["token"], "t" * 64)

    def test_no_receiver_at_all(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nobody listens there
        path = write_program(self, self.PROGRAM)
        env = runtime_env({"INTERLEAVE_TOKEN": "x" * 64})
        p = subprocess.run(interleave_cmd(path, extra_options=["--stream", "127.0.0.1:%d" % port]),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
        self.assertEqual(p.returncode, 0)
        self.assertTrue(p.stdout.endswith(b"end\n"))
        self.assertEqual(p.stderr, b"")

    def test_output_and_stream_together_relay_with_the_receivers_token(self):
        rcv = LiveReceiver()
        self.addCleanup(rcv.close)
        path = write_program(self, self.PROGRAM)
        fd, out = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        self.addCleanup(os.unlink, out)
        env = runtime_env({"INTERLEAVE_TOKEN": "r" * 64})
        p = subprocess.run(interleave_cmd(path, mode="full", output=out,
                                          extra_options=["--stream", rcv.addr]),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        events, meta = read_chrome(out)
        rcv.finish(2)   # the program's relayed connection and the supervisor's (its exit record)
        msgs = [m for hello, rest, _ in rcv.conns for m in [hello] + rest]
        [proc] = meta["processes"]
        hellos = [m for m in msgs if m["t"] == "hello"]
        # the program's connection, relayed, and the supervisor's own (connections end in any order)
        pids = [h["pid"] for h in hellos]
        self.assertEqual(len(pids), 2)
        self.assertIn(proc["pid"], pids)
        self.assertTrue(all(h["token"] == "r" * 64 for h in hellos))
        program = [m for m in msgs if m["t"] == "batch" and len(m["ev"]) > 1 or m["t"] == "batch" and m["ev"][0][0] != 4]
        relayed = sum(len(m["ev"]) for m in program)
        self.assertEqual(relayed, proc["received"] + 1)  # + the summary record
        # the supervisor's own connection reports the program's exit on its behalf (pid override)
        exits = [ev for m in msgs if m["t"] == "batch" for ev in m["ev"] if ev[0] == 4]
        self.assertEqual(exits[-1][9], proc["pid"])
        self.assertEqual(exits[-1][8], {"code": 0})
        # Every one of the 20,000 holds was relayed (each is one X event, or a begin/end pair if it
        # happened to be reported live).
        holds = [ev for m in program for ev in m["ev"] if ev[0] == P.CODES["lock.hold"]]
        self.assertEqual(len([ev for ev in holds if ev[1] in ("X", "b")]), 20000)
        self.assertEqual(len([ev for ev in holds if ev[1] == "b"]), len([ev for ev in holds if ev[1] == "e"]))
        self.assertLess(os.path.getsize(out), 100 * 1000 * 1000)

    def test_the_runs_wake_board_is_private_and_gone_after_the_run(self):
        # The board every process of a run maps (patches/mp_util.py): the program sees a file only its
        # user can open; when the run is over it is removed, however the run was started.
        prog = write_program(self, "import os, stat\n"
                                   "p = os.environ['INTERLEAVE_WAKE_BOARD']\n"
                                   "print(p)\n"
                                   "print(oct(stat.S_IMODE(os.stat(p).st_mode)), os.path.getsize(p))\n")
        for launch in (False, True):
            with self.subTest(launch=launch):
                r = trace_script(prog, launch=launch)
                self.assertEqual(r.returncode, 0, r.stderr)
                path, info = r.stdout.splitlines()
                self.assertEqual(info, "0o600 %d" % (4096 * (24 + 64) + 256 * 264 + 256 * 152 + 256 * 32 + 8))
                self.assertFalse(os.path.exists(path), path)

    def test_a_board_left_by_a_killed_supervisor_is_removed_by_the_next_run(self):
        from interleave import supervisor
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()                 # its pid names no process now (a supervisor killed with SIGKILL)
        folder = supervisor._wake_board_folder()
        stale = os.path.join(folder, "interleave-%d-%s.wake" % (gone.pid, "ab" * 16))
        alive = os.path.join(folder, "interleave-%d-%s.wake" % (os.getpid(), "cd" * 16))   # a running run's
        for path in (stale, alive):
            with open(path, "wb"):
                pass
            self.addCleanup(lambda p=path: os.path.exists(p) and os.unlink(p))
        r = trace_script(write_program(self, "print('ok')\n"))
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "ok"), r.stderr)
        self.assertEqual((os.path.exists(stale), os.path.exists(alive)), (False, True))

    def test_wrong_token_is_rejected(self):
        from interleave.collector import Collector
        c = Collector("right")
        c.start()
        self.addCleanup(c.stop)
        s = socket.create_connection(("127.0.0.1", c.port))
        s.sendall(b'{"t":"hello","v":1,"token":"wrong","pid":5,"ppid":1,"name":"x"}\n'
                  b'{"t":"batch","seq":0,"ev":[[2,"i",1,5]]}\n')
        s.shutdown(socket.SHUT_WR)
        s.recv(10)  # returns b"" once the collector closed the connection
        s.close()
        c.wait_idle(quiet=0.05, limit=5)
        events, processes = c.merged()
        self.assertEqual((events, processes, c.rejected), ([], [], 1))


if __name__ == "__main__":
    unittest.main()
