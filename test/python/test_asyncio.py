"""asyncio under the tracer: each task on its own lane with its parent, linked from the creator's
create_task, its steps and what it waited for, how it ended, asyncio.Queue messages, and callbacks
or steps that block the loop.

A task's creation and its first step are one event: the `async.task` begin carries a.spawnTs (when
create_task ran), loc (the creator's line) and a.parent (the creating task); the timeline draws the
spawn from it (webview/model/taskStart.ts)."""
import sys
import unittest

from support import assert_complete, require_sample, trace_script, write_program
from test_mp_support import program_pid, spans


def tasks_by_name(r):
    return {t["a"]["name"]: t for t in spans(r, "async.task")}


def line_of(path, text):
    with open(path) as f:
        return next(i for i, line in enumerate(f, 1) if text in line)


class AsyncioSample(unittest.TestCase):
    r = None

    def setUp(self):
        if AsyncioSample.r is None:
            AsyncioSample.r = trace_script(require_sample(self, "asyncio_demo.py"))
        self.r = AsyncioSample.r
        self.assertEqual(self.r.returncode, 0, self.r)

    def test_tasks_with_parents_and_spawn_links(self):
        tasks = tasks_by_name(self.r)
        for name in ("consumer-1", "consumer-2", "producer"):
            self.assertIn(name, tasks)
        main_task = [t for t in tasks.values() if t["a"]["coro"] == "main"]
        self.assertEqual(len(main_task), 1)
        fetches = [t for t in tasks.values() if t["a"]["coro"] == "fetch"]
        self.assertEqual(len(fetches), 3)
        sample = require_sample(self, "asyncio_demo.py")
        made_at = {"fetch": line_of(sample, "asyncio.gather(fetch("), "producer": line_of(sample, "create_task(producer("),
                   "consumer": line_of(sample, "create_task(consumer(")}
        for t in fetches + [tasks["producer"], tasks["consumer-1"]]:
            self.assertEqual(t["a"]["parent"], main_task[0]["obj"])
            self.assertTrue(t["corr"])                             # create_task -> task start arrow
            self.assertLessEqual(t["a"]["spawnTs"], t["ts"])       # created, then first run
            self.assertEqual(t["loc"], "%s:%d" % (sample, made_at[t["a"]["coro"]]))   # the creator's line
        self.assertEqual(main_task[0]["loc"], "%s:%d" % (sample, line_of(sample, "asyncio.run(main())")))
        self.assertEqual(self.r.of("async.spawn"), [])             # no separate creation event
        self.assertEqual(tasks["consumer-1"]["a"]["state"], "cancelled")
        self.assertEqual(tasks["producer"]["a"]["state"], "done")
        # All on the program's main thread, each on its own lane (its obj).
        pid = program_pid(self.r)
        self.assertEqual({(t["pid"], t["tid"]) for t in tasks.values()}, {(pid, pid)})
        self.assertEqual(len({t["obj"] for t in tasks.values()}), len(tasks))

    def test_waits_say_what_they_wait_for(self):
        tasks = tasks_by_name(self.r)
        whats = lambda name: {w["a"]["what"] for w in spans(self.r, "async.wait", obj=tasks[name]["obj"])}
        self.assertIn("queue.get", whats("consumer-1"))
        self.assertIn("sleep", whats("producer"))
        main = [t for t in tasks.values() if t["a"]["coro"] == "main"][0]
        self.assertIn("gather", {w["a"]["what"] for w in spans(self.r, "async.wait", obj=main["obj"])})

    def test_queue_messages(self):
        q = self.r.of("chan.create", type="asyncio.Queue")
        self.assertEqual([e["a"]["maxsize"] for e in q], [2])
        sends = {e["corr"]: e for e in self.r.of("msg.send", obj=q[0]["obj"])}
        recvs = {e["corr"]: e for e in self.r.of("msg.recv", obj=q[0]["obj"])}
        self.assertEqual(len(sends), 6)
        self.assertEqual(set(sends), set(recvs))
        self.assertEqual(sorted(e["a"]["preview"] for e in sends.values()), [str(i) for i in range(6)])

    def test_messages_and_spawns_name_their_tasks(self):
        """Every task runs on the one thread: a.task (the running task's obj) is what puts a queue message
        on its task's lane, so producer -> consumer becomes an arrow between two lanes (events.ts laneObj)."""
        tasks = tasks_by_name(self.r)
        q = self.r.of("chan.create", type="asyncio.Queue")[0]
        sends = {e["corr"]: e for e in self.r.of("msg.send", obj=q["obj"])}
        recvs = {e["corr"]: e for e in self.r.of("msg.recv", obj=q["obj"])}
        consumers = {tasks["consumer-1"]["obj"], tasks["consumer-2"]["obj"]}
        self.assertEqual(len(sends), 6)
        for corr, send in sends.items():
            recv = recvs[corr]
            self.assertEqual(send["a"].get("task"), tasks["producer"]["obj"], send)
            self.assertIn(recv["a"].get("task"), consumers, recv)
            self.assertNotEqual(send["a"]["task"], recv["a"]["task"])
        main = [t for t in tasks.values() if t["a"]["coro"] == "main"][0]
        self.assertEqual(q["a"].get("task"), main["obj"])             # the queue was made in main()
        self.assertNotIn("parent", main["a"])                          # asyncio.run() made main() outside any task
        self.assertIn("spawnTs", main["a"])
        for t in tasks.values():                                       # main() made the rest: main -> task arrows
            if t is not main:
                self.assertEqual(t["a"].get("parent"), main["obj"], t)
                self.assertIn("spawnTs", t["a"])

    def test_nothing_lost(self):
        assert_complete(self, self.r)


BLOCKING = r'''
import asyncio, time

async def blocker():
    time.sleep(0.2)          # blocks the whole loop

async def failing():
    await asyncio.sleep(0)
    raise ValueError("nope")

async def main():
    loop = asyncio.get_running_loop()
    loop.call_soon(time.sleep, 0.15)
    await asyncio.sleep(0.01)
    await asyncio.create_task(blocker(), name="blocker")
    t = asyncio.create_task(failing(), name="failing")
    try:
        await t
    except ValueError:
        print("caught")
    lock = asyncio.Lock()
    async with lock:
        waiter = asyncio.create_task(lock.acquire(), name="waiter")
        await asyncio.sleep(0.01)
    await waiter
    lock.release()
    ev = asyncio.Event()
    w = asyncio.create_task(ev.wait(), name="event-waiter")
    await asyncio.sleep(0)
    ev.set()
    await w

asyncio.run(main())
'''


class SlowAndStates(unittest.TestCase):
    def test_slow_callbacks_errors_locks_events(self):
        r = trace_script(write_program(self, BLOCKING))
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("caught", r.stdout)
        tasks = tasks_by_name(r)
        self.assertEqual(tasks["failing"]["a"]["state"], "error")
        self.assertIn("ValueError: nope", tasks["failing"]["a"]["error"])
        slow = spans(r, "async.slow")
        names = sorted(s["a"]["callback"] for s in slow)
        self.assertEqual(len(slow), 2, slow)
        self.assertIn("task blocker", names)
        self.assertTrue(any("sleep" in n for n in names), names)
        self.assertTrue(all(s["dur"] >= 100000 for s in slow))
        blocker_slow = [s for s in slow if s["a"]["callback"] == "task blocker"][0]
        self.assertEqual(blocker_slow["obj"], tasks["blocker"]["obj"])
        self.assertEqual(blocker_slow["a"]["task"], tasks["blocker"]["obj"])     # on the blocker's lane
        self.assertNotIn("task", [s for s in slow if s is not blocker_slow][0]["a"])  # a plain callback: the thread's
        wait_of = lambda name: {w["a"]["what"] for w in spans(r, "async.wait", obj=tasks[name]["obj"])}
        self.assertIn("lock", wait_of("waiter"))
        self.assertIn("event", wait_of("event-waiter"))


WOKEN = r'''
import asyncio

async def main():
    lock = asyncio.Lock()
    await lock.acquire()
    waiter = asyncio.create_task(lock.acquire(), name="lock-waiter")
    await asyncio.sleep(0)         # one turn of the loop: the new task runs until it waits
    lock.release()                 # RELEASE
    await waiter
    lock.release()
    ev = asyncio.Event()
    ws = [asyncio.create_task(ev.wait(), name="event-waiter-%d" % i) for i in range(2)]
    await asyncio.sleep(0)         # one turn of the loop: the new task runs until it waits
    ev.set()                       # SET
    await asyncio.gather(*ws)
    cond = asyncio.Condition()
    box = []
    async def consumer():
        async with cond:
            await cond.wait_for(lambda: box)
    c = asyncio.create_task(consumer(), name="cond-waiter")
    await asyncio.sleep(0)         # one turn of the loop: the new task runs until it waits
    async with cond:
        box.append(1)
        cond.notify_all()          # NOTIFY
    await c
    sem = asyncio.BoundedSemaphore(1)
    await sem.acquire()
    s = asyncio.create_task(sem.acquire(), name="sem-waiter")
    await asyncio.sleep(0)         # one turn of the loop: the new task runs until it waits
    sem.release()                  # SEM
    await s
    sem.release()

asyncio.run(main())
'''


class WokenBy(unittest.TestCase):
    """A task waiting on an asyncio Lock, Event, Condition or Semaphore: its async.wait ends linked to
    the release or notify that woke it, recorded on the waking task's lane."""

    def test_release_set_and_notify_link_to_the_tasks_they_woke(self):
        path = write_program(self, WOKEN)
        r = trace_script(path)
        self.assertEqual(r.returncode, 0, r)
        tasks = tasks_by_name(r)
        main = tasks["Task-1"]["obj"]
        created = {e["a"]["type"]: e for e in r.of("lock.create")}
        # the program's primitives, not the Lock inside its Condition
        self.assertEqual(sorted(created), ["asyncio.BoundedSemaphore", "asyncio.Condition", "asyncio.Event",
                                           "asyncio.Lock"])
        wakers = {e["corr"]: e for e in r.of("lock.release") + r.of("sync.notify")}
        for name, kind, prim, what, mark in (
                ("lock-waiter", "lock.release", "asyncio.Lock", "lock", "# RELEASE"),
                ("event-waiter-0", "sync.notify", "asyncio.Event", "event", "# SET"),
                ("event-waiter-1", "sync.notify", "asyncio.Event", "event", "# SET"),
                ("cond-waiter", "sync.notify", "asyncio.Condition", "condition", "# NOTIFY"),
                ("sem-waiter", "lock.release", "asyncio.BoundedSemaphore", "lock", "# SEM")):
            with self.subTest(task=name):
                [w] = [w for w in spans(r, "async.wait", obj=tasks[name]["obj"]) if w["a"]["what"] == what]
                waker = wakers[w["corr"]]
                self.assertEqual((waker["k"], waker["obj"], waker["a"]["task"]), (kind, created[prim]["obj"], main))
                self.assertTrue(waker["loc"].endswith(":%d" % line_of(path, mark)), waker)
                self.assertLessEqual(w["ts"], waker["ts"])
                self.assertLessEqual(waker["ts"], w["ts"] + w["dur"])
        # one Event.set woke both waiters: one notify, fanned out
        self.assertEqual(len(r.of("sync.notify", what="event")), 1)
        self.assertEqual(r.of("sync.notify", what="event")[0]["a"]["n"], 2)
        assert_complete(self, r)


SYNC_PUT = r'''
import asyncio

q = None

async def main():
    print("got", await q.get())

q = asyncio.Queue()
q.put_nowait("from sync code")      # no running loop, no task: stays on the thread's lane
asyncio.run(main())
'''


class QueueOutsideTasks(unittest.TestCase):
    def test_put_without_a_running_task_has_no_task(self):
        r = trace_script(write_program(self, SYNC_PUT))
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("got from sync code", r.stdout)
        send, = r.of("msg.send")
        recv, = r.of("msg.recv")
        self.assertEqual(send["corr"], recv["corr"])
        self.assertNotIn("task", send.get("a") or {})
        main = [t for t in tasks_by_name(r).values() if t["a"]["coro"] == "main"][0]
        self.assertEqual(recv["a"]["task"], main["obj"])


STEPS = r'''
import asyncio, time

async def short():
    await asyncio.sleep(0)

async def late():
    for _ in range(10):
        await asyncio.sleep(0)         # 11 run steps: the first, and one after each yield

async def blocker():
    time.sleep(0.12)                   # blocks the loop

async def main():
    await asyncio.gather(*(short() for _ in range(3000)))     # 6,000 steps: past the default budget
    await asyncio.create_task(late(), name="late")
    asyncio.get_running_loop().call_soon(time.sleep, 0.12)
    await asyncio.create_task(blocker(), name="blocker")
    print("ok")

asyncio.run(main())
'''


class StepsPerMode(unittest.TestCase):
    """Full mode records every run step; default mode, past its step budget, counts short steps and
    reports the count with the task's end. Either way every step is accounted for and the task's
    lifecycle is exact."""

    def steps_of_late(self, mode):
        r = trace_script(write_program(self, STEPS), mode=mode)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("ok", r.stdout)
        late = tasks_by_name(r)["late"]
        self.assertEqual(late["a"]["state"], "done")
        self.assertIsNotNone(late["dur"])
        recorded = spans(r, "async.step", obj=late["obj"])
        for s in recorded:          # inside the task's lifetime
            self.assertGreaterEqual(s["ts"], late["ts"])
            self.assertLessEqual(s["ts"] + s["dur"], late["ts"] + late["dur"])
        return len(recorded), late["a"].get("steps", 0), r

    def test_full_mode_records_every_step(self):
        recorded, counted, r = self.steps_of_late("full")
        self.assertEqual((recorded, counted), (11, 0))
        self.assertEqual(len(r.of("async.task", ph="b")), 3003)       # main, 3,000 short tasks, late, blocker

    def test_default_mode_counts_steps_past_the_budget(self):
        recorded, counted, r = self.steps_of_late("default")
        self.assertEqual(recorded + counted, 11)
        self.assertGreater(counted, 0)              # short steps past the budget are counted, not recorded
        self.assertEqual(len(r.of("async.task", ph="b")), 3003)       # lifecycles stay exact
        self.assertEqual(len(r.of("async.task", ph="e")), 3003)
        # Past the budget, steps and callbacks that block the loop are still reported, each exactly once.
        slow = sorted(s["a"]["callback"] for s in spans(r, "async.slow"))
        self.assertEqual(len(slow), 2, slow)
        self.assertIn("task blocker", slow)
        self.assertTrue(any("sleep" in n for n in slow), slow)
        blocker = tasks_by_name(r)["blocker"]
        steps = spans(r, "async.step", obj=blocker["obj"])
        self.assertEqual(len(steps), 1)             # a long step is recorded whatever the budget
        self.assertGreaterEqual(steps[0]["dur"], 100000)


DIRECT = r"""
import asyncio

async def child():
    await asyncio.sleep(0)
    return 5

async def never():
    await asyncio.sleep(10)

async def main():
    t = asyncio.Task(child(), name="direct")           # constructed directly: not through loop.create_task
    print(await t)
    n = asyncio.get_running_loop().create_task(never(), name="early-cancel")
    n.cancel()                                          # cancelled before its first step
    try:
        await n
    except asyncio.CancelledError:
        print("cancelled")
    print(await asyncio.create_task(child(), name="made-by-main"))

asyncio.run(main())
"""


class TaskStates(unittest.TestCase):
    """A task's state is kept per task from create_task to its end; a task made without create_task is
    met at its first step and still gets its whole lifecycle."""

    def test_direct_and_early_cancelled_tasks(self):
        for mode in ("default", "full"):
            with self.subTest(mode=mode):
                r = trace_script(write_program(self, DIRECT), mode=mode)
                self.assertEqual(r.returncode, 0, r)
                self.assertEqual(r.stdout.split(), ["5", "cancelled", "5"])
                tasks = tasks_by_name(r)
                main = [t for t in tasks.values() if t["a"]["coro"] == "main"][0]
                direct = tasks["direct"]
                self.assertEqual(direct["a"]["state"], "done")
                self.assertEqual(direct["a"]["coro"], "child")
                self.assertNotIn("spawnTs", direct["a"])            # its creation was not seen
                self.assertEqual(len(spans(r, "async.step", obj=direct["obj"])), 2)    # first step, after the yield
                early = tasks["early-cancel"]
                self.assertEqual(early["a"]["state"], "cancelled")
                self.assertEqual(early["a"]["parent"], main["obj"])
                self.assertLessEqual(early["a"]["spawnTs"], early["ts"])
                made = tasks["made-by-main"]
                self.assertEqual(made["a"]["parent"], main["obj"])
                self.assertEqual(made["a"]["state"], "done")
                self.assertEqual(len({t["obj"] for t in tasks.values()}), len(tasks))
                assert_complete(self, r)


EAGER = r'''
import asyncio

async def quick():
    return 1                            # finishes inside create_task: never scheduled on the loop

async def slow():
    await asyncio.sleep(0.01)

async def main():
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    print(await asyncio.create_task(quick(), name="quick"))
    await asyncio.create_task(slow(), name="slow")

asyncio.run(main())
'''


@unittest.skipUnless(sys.version_info >= (3, 12), "eager tasks are Python 3.12+")
class EagerTasks(unittest.TestCase):
    def test_eager_tasks_have_lifecycles(self):
        """An eager task runs its first step inside create_task, not through the loop: it starts there,
        and one that finished there still gets its end."""
        r = trace_script(write_program(self, EAGER))
        self.assertEqual(r.returncode, 0, r)
        tasks = tasks_by_name(r)
        self.assertEqual(tasks["quick"]["a"]["state"], "done")
        self.assertIsNotNone(tasks["quick"]["dur"])
        self.assertEqual(tasks["slow"]["a"]["state"], "done")
        main = [t for t in tasks.values() if t["a"]["coro"] == "main"][0]
        for name in ("quick", "slow"):
            self.assertEqual(tasks[name]["a"]["parent"], main["obj"])
        self.assertIn("sleep", {w["a"]["what"] for w in spans(r, "async.wait", obj=tasks["slow"]["obj"])})


if __name__ == "__main__":
    unittest.main()
