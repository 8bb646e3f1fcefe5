"""Every R2 patch installs idempotently and uninstall() puts back exactly the original objects
(checked in this process, with the recorder idle, so the wrappers are pure pass-throughs)."""
import asyncio
import asyncio.events
import asyncio.queues
import concurrent.futures
import concurrent.futures._base
import concurrent.futures.process
import concurrent.futures.thread
import multiprocessing
import multiprocessing.connection
import multiprocessing.managers
import multiprocessing.pool
import multiprocessing.process
import multiprocessing.queues
import multiprocessing.reduction
import multiprocessing.sharedctypes
import multiprocessing.synchronize
import os
import signal
import subprocess
import unittest

import support  # noqa: F401  (puts runtime/ on sys.path)
from interleave.patches import (asyncio_, concurrent_futures_, multiprocessing_, os_,  # noqa: E402
                                signal_, subprocess_)

mp = multiprocessing


def snapshot():
    """The attributes the patches replace, by identity."""
    conn_reducers = mp.reduction.ForkingPickler._extra_reducers
    return {
        "os.fork": os.fork, "os.waitpid": os.waitpid, "os.wait": os.wait, "os.kill": os.kill,
        "Popen._execute_child": subprocess.Popen.__dict__["_execute_child"], "Popen.wait": subprocess.Popen.__dict__["wait"],
        "Popen.communicate": subprocess.Popen.__dict__["communicate"],
        "BaseProcess.start": mp.process.BaseProcess.__dict__["start"],
        "BaseProcess.join": mp.process.BaseProcess.__dict__["join"],
        "connection.Pipe": mp.connection.Pipe, "connection._ForkingPickler": mp.connection._ForkingPickler,
        "queues._ForkingPickler": mp.queues._ForkingPickler,
        "Connection.send": mp.connection._ConnectionBase.__dict__["send"],
        "reducer": conn_reducers.get(mp.connection.Connection),
        "Queue.put": mp.queues.Queue.__dict__["put"], "SimpleQueue.get": mp.queues.SimpleQueue.__dict__["get"],
        "pool.worker": mp.pool.worker, "Pool.map": mp.pool.Pool.__dict__["map"],
        "ApplyResult._set": mp.pool.ApplyResult.__dict__["_set"],
        "Lock.__init__": mp.synchronize.Lock.__dict__["__init__"],
        "SemLock._make_name": mp.synchronize.SemLock.__dict__["_make_name"],
        "Synchronized.value": mp.sharedctypes.Synchronized.__dict__["value"],
        "sharedctypes.Value": mp.sharedctypes.Value,
        "BaseProxy._callmethod": mp.managers.BaseProxy.__dict__["_callmethod"],
        "Future.result": concurrent.futures._base.Future.__dict__["result"],
        "futures.wait": concurrent.futures.wait,
        "TPE.submit": concurrent.futures.thread.ThreadPoolExecutor.__dict__["submit"],
        "_process_worker": concurrent.futures.process._process_worker,
        "create_task": asyncio.base_events.BaseEventLoop.__dict__["create_task"],
        "Handle._run": asyncio.events.Handle.__dict__["_run"],
        "asyncio.Queue._put": asyncio.queues.Queue.__dict__["_put"],
        "signal.set_wakeup_fd": signal.set_wakeup_fd,
    }


MODULES = (os_, subprocess_, multiprocessing_, concurrent_futures_, asyncio_, signal_)


class InstallUndo(unittest.TestCase):
    def tearDown(self):
        for m in MODULES:
            m.uninstall()

    def test_install_twice_then_uninstall_restores_originals(self):
        before = snapshot()
        for m in MODULES:
            m.install()
        patched = snapshot()
        changed = {k for k in before if patched[k] is not before[k]}
        self.assertEqual(changed, set(before), "not patched: %s" % sorted(set(before) - changed))
        for m in MODULES:
            m.install()          # idempotent: no second layer of wrappers
        self.assertEqual({k: id(v) for k, v in snapshot().items()}, {k: id(v) for k, v in patched.items()})
        for m in reversed(MODULES):
            m.uninstall()
        after = snapshot()
        self.assertEqual([k for k in before if after[k] is not before[k]], [])

    def test_idle_wrappers_change_nothing(self):
        for m in MODULES:
            m.install()
        # With the recorder idle, patched code behaves exactly as the original.
        a, b = mp.Pipe()
        a.send({"x": 1})
        self.assertEqual(b.recv(), {"x": 1})
        q = mp.SimpleQueue()
        q.put([1, 2])
        self.assertEqual(q.get(), [1, 2])
        out = subprocess.run(["echo", "hi"], capture_output=True, text=True)
        self.assertEqual(out.stdout, "hi\n")

        async def main():
            t = asyncio.create_task(asyncio.sleep(0, result=5))
            return await t
        self.assertEqual(asyncio.run(main()), 5)
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            self.assertEqual(list(ex.map(abs, [-1, -2])), [1, 2])


if __name__ == "__main__":
    unittest.main()
