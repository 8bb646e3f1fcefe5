"""A hang that multiprocessing does not detect: a process ends while holding a lock.

WARNING: this program never finishes on its own. Stop it with Ctrl-C (or the
Stop button); that is the point of the sample. The fix: release the lock on
every path ("with lock:") and never leave a process through os._exit() (or a
kill) while it holds a lock another process needs.

What it does: a child process "writer" takes a multiprocessing.Lock shared with
the parent, then ends abruptly with os._exit() (as a crash or a kill would),
without releasing it. The lock is a semaphore of the operating system: nothing
releases it when its holder dies. The parent then waits for the lock forever.

What the Interleave timeline should show:
  * the writer's lane: the lock held until the process ends (exit code 3);
  * the parent's main thread waiting for the lock, to the end;
  * a deadlock report naming the writer as the holder that has ended.
"""
import multiprocessing as mp
import os


def write(lock):
    lock.acquire()
    print("writer: holding the lock, ending without releasing it", flush=True)
    os._exit(3)                  # no release: neither "finally" nor "with" runs


if __name__ == "__main__":
    lock = mp.Lock()
    writer = mp.Process(target=write, args=(lock,), name="writer")
    writer.start()
    writer.join()
    print("parent: writer ended with exit code", writer.exitcode, flush=True)
    print("parent: waiting for the lock", flush=True)
    with lock:                   # never acquired: its holder is gone
        print("parent: got the lock")
