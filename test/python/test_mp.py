"""multiprocessing under the tracer, for the fork, spawn and forkserver start methods: children are
traced processes linked to Process.start, their exits are linked to the joins, and messages through
Queue/SimpleQueue/JoinableQueue/Pipe are linked across processes by corr."""
import unittest

from support import assert_complete, require_sample, trace_script, write_program
from test_mp_support import program_pid, spans

METHODS = ("fork", "spawn", "forkserver")

# Runs a program as __main__ after choosing the start method (spawn children re-import __file__).
RUNNER = (
    "import multiprocessing, runpy, sys\n"
    "multiprocessing.set_start_method(sys.argv[1])\n"
    "path = sys.argv[2]\n"
    "sys.argv = [path] + sys.argv[3:]\n"
    "runpy.run_path(path, run_name='__main__')\n"
)

CHANNELS = r'''
import multiprocessing as mp

def child(q, sq, jq, conn, one_way):
    q.put(("queue", 1))
    sq.put("simple")
    jq.put({"joinable": True})
    conn.send("from child")
    one_way.send(list(range(3)))
    assert conn.recv() == "from parent"

if __name__ == "__main__":
    q, sq, jq = mp.Queue(), mp.SimpleQueue(), mp.JoinableQueue()
    a, b = mp.Pipe()
    r, w = mp.Pipe(duplex=False)
    p = mp.Process(target=child, args=(q, sq, jq, b, w), name="kid")
    p.start()
    print(q.get(), sq.get(), jq.get(), a.recv(), r.recv())
    jq.task_done()
    a.send("from parent")
    p.join()
    print("exit", p.exitcode)
'''


def run_with_method(testcase, program_path, method, *args, **kwargs):
    runner = write_program(testcase, RUNNER, name="runner.py")
    return trace_script(runner, args=(method, program_path) + args, **kwargs)


def children_of(r, parent):
    return {e["a"]["child"]: e for e in r.of("process.spawn") if e["pid"] == parent}


class StartMethods(unittest.TestCase):
    def check_method(self, method):
        r = run_with_method(self, write_program(self, CHANNELS), method)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("('queue', 1) simple {'joinable': True} from child [0, 1, 2]", r.stdout)
        self.assertIn("exit 0", r.stdout)
        main = program_pid(r)
        kids = {pid: e for pid, e in children_of(r, main).items() if e["a"]["name"] == "kid"}
        self.assertEqual(len(kids), 1, r.of("process.spawn"))
        kid, spawn = next(iter(kids.items()))
        self.assertEqual(spawn["a"]["method"], method)
        # The child is traced (it streamed its own events) and its start is linked to Process.start.
        starts = [e for e in r.of("process.start") if e["pid"] == kid and e.get("corr") == spawn["corr"]]
        self.assertEqual(len(starts), 1, [e for e in r.of("process.start") if e["pid"] == kid])
        # Exit seen by the parent, linked to the join.
        exits = [e for e in r.of("process.exit") if e["pid"] == kid and e.get("corr")]
        self.assertEqual(exits[0]["a"]["code"], 0)
        self.assertIn(exits[0]["corr"], {e.get("ecorr") for e in spans(r, "process.join") if e["pid"] == main})
        # Channels: created once in the parent, each message sent in one process and received in the other.
        types = {e["obj"]: e["a"]["type"] for e in r.of("chan.create")}
        self.assertEqual(sorted(types.values()), ["Pipe", "Pipe", "mp.JoinableQueue", "mp.Queue", "mp.SimpleQueue"])
        sends = {e["corr"]: e for e in r.of("msg.send") if e["obj"] in types}
        recvs = {e["corr"]: e for e in r.of("msg.recv") if e["obj"] in types}
        self.assertEqual(len(sends), 6, sends)
        self.assertEqual(set(sends), set(recvs))
        for corr, s in sends.items():
            self.assertEqual(s["obj"], recvs[corr]["obj"])
            self.assertNotEqual(s["pid"], recvs[corr]["pid"])
            self.assertGreater(s["a"]["size"], 0)
            # The size and preview travel once, on the send its corr links to.
            self.assertNotIn("size", recvs[corr].get("a") or {})
        from_child = sorted(types[s["obj"]] for s in sends.values() if s["pid"] == kid)
        self.assertEqual(from_child, ["Pipe", "Pipe", "mp.JoinableQueue", "mp.Queue", "mp.SimpleQueue"])
        back = [s for s in sends.values() if s["pid"] == main]
        self.assertEqual([s["a"]["preview"] for s in back], ["'from parent'"])
        duplex = [e for e in r.of("chan.create") if e["a"]["type"] == "Pipe" and e["a"]["duplex"]]
        self.assertEqual(back[0]["obj"], duplex[0]["obj"])
        # The program's processes all delivered everything.
        assert_complete(self, r)
        return r

    def test_fork(self):
        self.check_method("fork")

    def test_spawn(self):
        self.check_method("spawn")

    def test_forkserver(self):
        r = self.check_method("forkserver")
        # The forkserver's server process is traced too (the program's children are forked from it).
        self.assertTrue([e for e in r.of("process.start") if e["a"].get("method") == "forkserver"
                         and not e.get("corr")], r.of("process.start"))


class ProcessSample(unittest.TestCase):
    def test_exit_codes_linked_to_joins(self):
        for method in ("fork", "spawn"):
            with self.subTest(method=method):
                r = run_with_method(self, require_sample(self, "mp_process.py"), method)
                self.assertEqual(r.returncode, 0, r)
                main = program_pid(r)
                kids = children_of(r, main)
                by_name = {e["a"]["name"]: pid for pid, e in kids.items()}
                self.assertEqual(set(by_name), {"counter-a", "counter-b", "quitter"})
                for name, code in (("counter-a", 0), ("counter-b", 0), ("quitter", 2)):
                    exits = [e for e in r.of("process.exit") if e["pid"] == by_name[name] and e.get("corr")]
                    self.assertEqual([e["a"]["code"] for e in exits], [code])
                    joins = [e for e in spans(r, "process.join") if e["a"]["child"] == by_name[name]]
                    self.assertEqual(joins[0].get("ecorr"), exits[0]["corr"])
                    self.assertFalse(exits[0]["a"].get("zombie"))
                assert_complete(self, r)


class QueueSample(unittest.TestCase):
    def test_writer_to_reader_and_terminate(self):
        r = trace_script(require_sample(self, "mp_queue.py"))
        self.assertEqual(r.returncode, 0, r)
        main = program_pid(r)
        kids = {e["a"]["name"]: pid for pid, e in children_of(r, main).items()}
        q = [e["obj"] for e in r.of("chan.create", type="mp.Queue")]
        self.assertEqual(len(q), 1)
        sends = {e["corr"]: e for e in r.of("msg.send", obj=q[0])}
        recvs = {e["corr"]: e for e in r.of("msg.recv", obj=q[0])}
        self.assertEqual(len(sends), 5)
        self.assertEqual(set(sends), set(recvs))
        self.assertEqual({e["pid"] for e in sends.values()}, {kids["writer"]})
        self.assertEqual({e["pid"] for e in recvs.values()}, {kids["reader"]})
        self.assertEqual(sorted(e["a"]["preview"] for e in sends.values()), ["'item %d'" % i for i in range(5)])
        self.assertEqual([e["a"] for e in r.of("process.signal")], [{"child": kids["reader"], "signal": "SIGTERM"}])
        ex = [e for e in r.of("process.exit") if e["pid"] == kids["reader"] and e.get("corr")]
        self.assertEqual(ex[0]["a"]["code"], -15)
        self.assertTrue(ex[0]["a"]["killed"])
        # The terminated reader still delivered what it recorded (its SIGTERM path flushes).
        reader = [p for p in r.metadata["processes"] if p["pid"] == kids["reader"]]
        self.assertEqual(reader[0]["dropped"], 0)
        self.assertEqual(reader[0]["received"], reader[0]["emitted"])


class PipeSamples(unittest.TestCase):
    def test_duplex_ping_pong(self):
        r = trace_script(require_sample(self, "mp_pipe_duplex.py"))
        self.assertEqual(r.returncode, 0, r)
        main = program_pid(r)
        sends = {e["corr"]: e for e in r.of("msg.send")}
        recvs = {e["corr"]: e for e in r.of("msg.recv")}
        pings = [s for s in sends.values() if s["pid"] == main]
        pongs = [s for s in sends.values() if s["pid"] != main]
        self.assertEqual(len(pings), 4)       # three pings and the None stop signal
        self.assertEqual(len(pongs), 3)
        for s in pings[:3] + pongs:
            self.assertIn(s["corr"], recvs)
            self.assertNotEqual(recvs[s["corr"]]["pid"], s["pid"])
        # Both sides blocked in recv() at some point.
        waits = spans(r, "msg.wait", op="recv")
        self.assertIn(main, {e["pid"] for e in waits})

    def test_one_way_pipes_collect(self):
        r = trace_script(require_sample(self, "mp_pipe_collect.py"))
        self.assertEqual(r.returncode, 0, r)
        main = program_pid(r)
        pipes = r.of("chan.create", type="Pipe", duplex=False)
        self.assertEqual(len(pipes), 4)
        kids = set(children_of(r, main))
        for p in pipes:
            s = r.of("msg.send", obj=p["obj"])
            v = r.of("msg.recv", obj=p["obj"])
            self.assertEqual(len(s), 1)
            self.assertEqual(s[0]["corr"], v[0]["corr"])
            self.assertIn(s[0]["pid"], kids)
            self.assertEqual(v[0]["pid"], main)


ZOMBIE = r'''
import multiprocessing as mp
def quick():
    pass
if __name__ == "__main__":
    p = mp.Process(target=quick, name="never-joined")
    p.start()
    q = mp.Process(target=quick, name="joined")
    q.start()
    q.join()
    p.join()
    r = mp.Process(target=quick, name="forgotten")
    r.start()
    print("bye")
'''


# The worker finishes the queue's tasks; the parent's join() waits for the last task_done(). The worker
# only starts once a watcher thread has seen the main thread asleep inside join().
JOINABLE = r"""
import multiprocessing as mp, sys, threading

def worker(jq, go):
    go.wait()
    while True:
        item = jq.get()
        jq.task_done()              # DONE
        if item is None:
            break

def start_when_joining(go, main):
    while True:
        f = sys._current_frames().get(main)
        if f is not None and f.f_code.co_name == "wait" and f.f_code.co_filename.endswith("synchronize.py"):
            break
        threading.Event().wait(0.002)
    go.set()

if __name__ == "__main__":
    jq, go = mp.JoinableQueue(), mp.Event()
    jq.join()                       # NOTHING-TO-WAIT-FOR
    for i in range(3):
        jq.put(i)
    jq.put(None)
    p = mp.Process(target=worker, args=(jq, go))
    p.start()
    threading.Thread(target=start_when_joining, args=(go, threading.get_ident())).start()
    jq.join()                       # JOIN
    p.join()
    print("joined")
"""


class JoinableQueueJoin(unittest.TestCase):
    def test_join_waits_for_the_last_task_done(self):
        for method in ("fork", "spawn"):
            with self.subTest(method=method):
                r = run_with_method(self, write_program(self, JOINABLE), method)
                self.assertEqual(r.returncode, 0, r)
                self.assertEqual(r.stdout.strip(), "joined")
                main = program_pid(r)
                [q] = [e["obj"] for e in r.of("chan.create", type="mp.JoinableQueue")]
                lines = JOINABLE.splitlines()
                line = lambda mark: next(i for i, l in enumerate(lines, 1) if l.rstrip().endswith("# " + mark))
                # The join with nothing unfinished returned at once: only the second one waited.
                [w] = spans(r, "sync.wait", obj=q)
                self.assertEqual((w["pid"], w["a"]), (main, {"what": "join", "ok": True}))
                self.assertTrue(w["loc"].endswith("prog.py:%d" % line("JOIN")), w)
                # Only the task_done that finished the last task notifies, in the worker, before the join ends.
                [n] = r.of("sync.notify", obj=q)
                self.assertNotEqual(n["pid"], main)
                self.assertEqual(n["a"]["what"], "task_done")
                self.assertTrue(n["loc"].endswith("prog.py:%d" % line("DONE")), n)
                self.assertLessEqual(n["ts"], w["ts"] + w["dur"])
                # The worker's task_done woke the parent's join: linked, under fork and spawn alike.
                self.assertEqual(w.get("ecorr"), n["corr"], (w, n))
                self.assertEqual(len(r.of("msg.recv", obj=q)), 4)
                assert_complete(self, r)


# A recv that found data in the pipe (a frame's first bytes) and blocked after all (the rest came later):
# watched rather than recorded as a wait up front; the flusher reports its wait once it has lasted, and
# the rest of the frame is only written after that report (the watch entry is gone from the registry).
WATCHED = r"""
import multiprocessing as mp, os, pickle, struct, threading
from interleave import recorder as rec

a, b = mp.Pipe()
payload = pickle.dumps("late")
frame = struct.pack("!i", len(payload)) + payload

def finish():
    # Bounded (10 s): should the recv not be watched or reported, the program still ends (the test fails).
    for _ in range(5000):
        if rec.watched:   # the recv has started watching
            break
        threading.Event().wait(0.002)
    for _ in range(5000):
        if not rec.watched:   # the flusher reported it
            break
        threading.Event().wait(0.002)
    os.write(a.fileno(), frame[6:])

os.write(a.fileno(), frame[:6])
threading.Thread(target=finish).start()
print(b.recv())                            # RECV
"""


class WatchedRecv(unittest.TestCase):
    def test_ready_recv_that_blocks_is_reported(self):
        r = trace_script(write_program(self, WATCHED))
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout, "late\n")
        main = program_pid(r)
        [chan] = [e["obj"] for e in r.of("chan.create", type="Pipe")]
        [w] = spans(r, "msg.wait", obj=chan)
        self.assertEqual((w["pid"], w["tid"], w["a"]["op"]), (main, main, "recv"))
        self.assertGreaterEqual(w["dur"], 20000)
        line = WATCHED.splitlines().index("print(b.recv())                            # RECV") + 1
        self.assertTrue(w["loc"].endswith("prog.py:%d" % line), w)
        [got] = r.of("msg.recv", obj=chan)
        self.assertEqual(got["a"]["size"], len(__import__("pickle").dumps("late")))   # untagged: its size
        self.assertLessEqual(w["ts"] + w["dur"], got["ts"])
        assert_complete(self, r)


class NeverJoined(unittest.TestCase):
    def test_zombie_flag(self):
        r = trace_script(write_program(self, ZOMBIE.replace("    p.join()\n", "")))
        self.assertEqual(r.returncode, 0, r)
        main = program_pid(r)
        kids = {e["a"]["name"]: pid for pid, e in children_of(r, main).items()}
        exits = {e["pid"]: e["a"] for e in r.of("process.exit") if e.get("corr")}
        self.assertTrue(exits[kids["never-joined"]].get("zombie"), exits)
        self.assertTrue(exits[kids["forgotten"]].get("zombie"), exits)
        self.assertFalse(exits[kids["joined"]].get("zombie"), exits)
        self.assertEqual(exits[kids["joined"]]["code"], 0)


# A get that finds the reader lock taken waits for the other reader (here: the main thread holding it
# as a reader would), even with a message already in the pipe: recorded from its call to its return.
LOCKED_GET = r"""
import linecache, multiprocessing as mp, sys, threading

q = mp.Queue()
q.put("first")
q._rlock.acquire()                 # as another reader in the middle of its get would hold it
got = []
t = threading.Thread(target=lambda: got.append(q.get()))   # GET
t.start()
while True:                        # until the get blocks on the reader lock
    f = sys._current_frames().get(t.ident)
    if f is not None and linecache.getline(f.f_code.co_filename, f.f_lineno).strip() == "rl.acquire()":
        break
    threading.Event().wait(0.002)
threading.Event().wait(0.03)
q._rlock.release()
t.join()
print(got[0])
"""

# A put on a full bounded queue waits for a free slot; a put with room does not.
FULL_PUT = r"""
import multiprocessing as mp, sys, threading

q = mp.Queue(1)
main = threading.get_ident()

def consume():
    while True:                    # until the main thread blocks in the second put
        f = sys._current_frames().get(main)
        if f is not None and f.f_code.co_name == "put" and f.f_code.co_filename.endswith("queues.py"):
            break
        threading.Event().wait(0.002)
    got.append(q.get())
    got.append(q.get())

got = []
t = threading.Thread(target=consume)
t.start()
q.put("a")                         # PUT1
q.put("b")                         # PUT2
t.join()
print(got)
"""


# A SimpleQueue get that finds no message waits for one; its location is the program's line.
SIMPLE_GET = r"""
import multiprocessing as mp, sys, threading

sq = mp.SimpleQueue()
got = []

def consume():
    got.append(sq.get())           # SGET

t = threading.Thread(target=consume)
t.start()
while True:                        # until the get blocks in its read
    f = sys._current_frames().get(t.ident)
    if f is not None and f.f_code.co_name == "_recv":
        break
    threading.Event().wait(0.002)
sq.put(42)                         # SPUT
t.join()
print(got[0])
"""


# A Connection.recv that finds no message waits for one (a one-way pipe here).
PIPE_RECV = SIMPLE_GET.replace("sq = mp.SimpleQueue()", "r, w = mp.Pipe(duplex=False)").replace(
    "sq.get()", "r.recv()").replace("sq.put(42)", "w.send(42)")


class ReaderLockAndFullQueue(unittest.TestCase):
    def test_pipe_recv_that_waits(self):
        r = trace_script(write_program(self, PIPE_RECV))
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout, "42\n")
        [chan] = [e["obj"] for e in r.of("chan.create", type="Pipe")]
        [w] = spans(r, "msg.wait", obj=chan)
        lines = PIPE_RECV.splitlines()
        get_line = lines.index("    got.append(r.recv())           # SGET") + 1
        put_line = lines.index("w.send(42)                         # SPUT") + 1
        self.assertEqual(w["a"]["op"], "recv")
        self.assertTrue(w["loc"].endswith("prog.py:%d" % get_line), w)
        [send] = r.of("msg.send", obj=chan)
        [recv] = r.of("msg.recv", obj=chan)
        self.assertTrue(send["loc"].endswith("prog.py:%d" % put_line), send)
        self.assertEqual((send["a"]["preview"], send["a"]["size"]), ("42", len(__import__("pickle").dumps(42))))
        self.assertEqual((recv["corr"], recv["tid"]), (send["corr"], w["tid"]))
        self.assertTrue(recv["loc"].endswith("prog.py:%d" % get_line), recv)
        self.assertLess(w["ts"], send["ts"])
        self.assertLessEqual(w["ts"] + w["dur"], recv["ts"])
        assert_complete(self, r)

    def test_simple_queue_get_that_waits(self):
        r = trace_script(write_program(self, SIMPLE_GET))
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout, "42\n")
        [chan] = [e["obj"] for e in r.of("chan.create", type="mp.SimpleQueue")]
        [w] = spans(r, "msg.wait", obj=chan)
        lines = SIMPLE_GET.splitlines()
        get_line = lines.index("    got.append(sq.get())           # SGET") + 1
        put_line = lines.index("sq.put(42)                         # SPUT") + 1
        self.assertEqual(w["a"]["op"], "get")
        self.assertTrue(w["loc"].endswith("prog.py:%d" % get_line), w)
        [send] = r.of("msg.send", obj=chan)
        [recv] = r.of("msg.recv", obj=chan)
        self.assertTrue(send["loc"].endswith("prog.py:%d" % put_line), send)
        self.assertEqual(send["a"]["preview"], "42")
        self.assertEqual((recv["corr"], recv["tid"]), (send["corr"], w["tid"]))
        self.assertTrue(recv["loc"].endswith("prog.py:%d" % get_line), recv)
        self.assertLess(w["ts"], send["ts"])
        self.assertLessEqual(w["ts"] + w["dur"], recv["ts"])
        assert_complete(self, r)

    def test_get_waiting_for_the_reader_lock_is_recorded(self):
        r = trace_script(write_program(self, LOCKED_GET))
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout, "first\n")
        main = program_pid(r)
        [chan] = [e["obj"] for e in r.of("chan.create", type="mp.Queue")]
        [w] = spans(r, "msg.wait", obj=chan)
        self.assertEqual((w["pid"], w["a"]["op"]), (main, "get"))
        self.assertNotEqual(w["tid"], main)
        self.assertGreaterEqual(w["dur"], 30000)
        line = LOCKED_GET.splitlines().index(
            "t = threading.Thread(target=lambda: got.append(q.get()))   # GET") + 1
        self.assertTrue(w["loc"].endswith("prog.py:%d" % line), w)
        [send] = r.of("msg.send", obj=chan)
        [recv] = r.of("msg.recv", obj=chan)
        self.assertEqual((recv["corr"], recv["tid"]), (send["corr"], w["tid"]))
        self.assertLessEqual(w["ts"] + w["dur"], recv["ts"])
        assert_complete(self, r)

    def test_put_on_a_full_queue_waits_and_one_with_room_does_not(self):
        r = trace_script(write_program(self, FULL_PUT))
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout, "['a', 'b']\n")
        main = program_pid(r)
        [chan] = [e["obj"] for e in r.of("chan.create", type="mp.Queue")]
        self.assertEqual([e["a"]["maxsize"] for e in r.of("chan.create", type="mp.Queue")], [1])
        waits = spans(r, "msg.wait", obj=chan)
        [w] = [x for x in waits if x["a"]["op"] == "put"]
        self.assertEqual((w["pid"], w["tid"]), (main, main))
        line = FULL_PUT.splitlines().index('q.put("b")                         # PUT2') + 1
        self.assertTrue(w["loc"].endswith("prog.py:%d" % line), w)
        sends = {e["a"]["preview"]: e for e in r.of("msg.send", obj=chan)}
        self.assertEqual(set(sends), {"'a'", "'b'"})
        self.assertEqual(w["ts"], sends["'b'"]["ts"])          # the put's call, both
        recvs = {e["corr"] for e in r.of("msg.recv", obj=chan)}
        self.assertEqual(recvs, {sends["'a'"]["corr"], sends["'b'"]["corr"]})
        assert_complete(self, r)


class AtomicPayloadPickling(unittest.TestCase):
    """A traced message with an atomic payload is pickled by pickle.dumps, not a ForkingPickler: the
    bytes before the trailer must be exactly the ForkingPickler's, for every protocol."""

    def test_same_bytes_as_forking_pickler(self):
        import pickle
        from multiprocessing.reduction import ForkingPickler
        from interleave.patches import mp_channels as mc
        tp = mc._make_pickler(ForkingPickler)
        values = [0, -1, 255, 256, 2 ** 31, -2 ** 63, 2 ** 64 + 5, 10 ** 100, 0.0, -0.0, 1.5, float("inf"),
                  True, False, None, "", "a", "\u00e9" * 40000, "\U0001f600", "x" * 65536, "x" * 100000,
                  b"", b"x" * 255, b"x" * 65536, b"y" * 100000]
        made = []
        init = ForkingPickler.__init__

        def counting_init(self, *args, **kwargs):
            made.append(1)
            init(self, *args, **kwargs)
        for protocol in (None, 2, 3, 4, pickle.HIGHEST_PROTOCOL):
            for v in values:
                ForkingPickler.__init__ = counting_init
                try:
                    data = bytes(tp.dumps(mc.Tagged((v, 1, 0, 0, 0)), protocol))
                finally:
                    ForkingPickler.__init__ = init
                self.assertEqual(made, [], "an atomic payload is pickled without a ForkingPickler")
                self.assertEqual(data[-16:-8], mc._MAGIC)
                self.assertEqual(data[:-16], bytes(ForkingPickler.dumps(v, protocol)), (protocol, repr(v)[:20]))
                self.assertEqual(pickle.loads(data), v)
        # Anything else still goes through a ForkingPickler (its reducers: here, a registered one).
        class Point(object):
            pass
        ForkingPickler.register(Point, lambda p: (int, (7,)))
        try:
            data = bytes(tp.dumps(mc.Tagged((Point(), 1, 0, 0, 0))))
            self.assertEqual(pickle.loads(data), 7)
        finally:
            ForkingPickler._extra_reducers.pop(Point, None)


if __name__ == "__main__":
    unittest.main()


# The consumer's first get() blocks: the producer only sends once a watcher thread has seen the main
# thread inside the pipe read. The second get() finds its item already in the pipe (the producer
# flushed its feeder before it set `ready`).
TIMED_GET = r"""
import multiprocessing as mp, sys, threading

def producer(q, go, ready):
    go.wait()
    q.put("late")
    q.put("early")
    q.close()
    q.join_thread()
    ready.set()

def watch(go, main):
    while True:
        f = sys._current_frames().get(main)
        if f is not None and f.f_code.co_name == "_recv":
            break
        threading.Event().wait(0.002)
    go.set()

if __name__ == "__main__":
    q, go, ready = mp.Queue(), mp.Event(), mp.Event()
    p = mp.Process(target=producer, args=(q, go, ready))
    p.start()
    threading.Thread(target=watch, args=(go, threading.get_ident())).start()
    print(q.get())  # GET1
    ready.wait()
    print(q.get())  # GET2
    p.join()
"""

# A call that was expected not to block but did: recorded once the flusher has reported it,
# from when it began; one that returned at once is not recorded.
LIVE_ONLY = r"""
import threading
from interleave import recorder as rec

released = threading.Event()

def release_when_reported(entry):
    while entry[6] in rec.watched:       # the flusher takes it out when it reports it
        threading.Event().wait(0.002)
    released.set()

WAIT = rec._CODES["msg.wait"]
quick = rec.watch(WAIT, 7, 0, {"op": "quick"}, rec.native_id())
rec.unwatch(quick)
slow = rec.watch(WAIT, 7, 0, {"op": "slow"}, rec.native_id())
threading.Thread(target=release_when_reported, args=(slow,)).start()
released.wait()
rec.unwatch(slow)
print("done")
"""


class BlockingGets(unittest.TestCase):
    """Waits in get()/recv() cost one poll(2), not a selector per call; calls that were expected not
    to block are timed, and reported by the flusher if they block after all."""

    def test_blocked_get_recorded_and_ready_get_not(self):
        r = trace_script(write_program(self, TIMED_GET))
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.splitlines(), ["late", "early"])
        main = program_pid(r)
        line = TIMED_GET.splitlines().index("    print(q.get())  # GET1") + 1
        waits = [w for w in spans(r, "msg.wait") if w["pid"] == main]
        self.assertEqual(len(waits), 1, waits)
        [w] = waits
        self.assertEqual((w["tid"], w["a"]["op"]), (main, "get"))
        self.assertTrue(w["loc"].endswith("prog.py:%d" % line), w)
        [late] = [e for e in r.of("msg.send") if e["a"]["preview"] == "'late'"]
        [got] = [e for e in r.of("msg.recv") if e["corr"] == late["corr"]]
        self.assertLess(w["ts"], late["ts"])
        self.assertLessEqual(w["ts"] + w["dur"], got["ts"])
        # The second get() found "early" waiting: received, with no wait recorded for it.
        [early] = [e for e in r.of("msg.recv") if e["pid"] == main and e["corr"] != late["corr"]]
        self.assertEqual(early["loc"].rsplit(":", 1)[1], str(line + 2))
        assert_complete(self, r)

    def test_unexpected_block_reported_by_the_flusher(self):
        r = trace_script(write_program(self, LIVE_ONLY))
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout, "done\n")
        waits = spans(r, "msg.wait")
        self.assertEqual([w["a"]["op"] for w in waits], ["slow"], waits)
        self.assertEqual(waits[0]["obj"], 7)
        self.assertGreaterEqual(waits[0]["dur"], 20000)   # reported once it had lasted BLOCK_LIVE_US
