"""os.fork: a parent process creates one child and waits for it.

What it does: the parent prints its pid and forks. The child prints its own pid
and its parent's, works for a moment, and leaves with exit status 3 (a non-zero
value, so you can see the status really travels back). The parent blocks in
os.waitpid until the child is gone and prints the child's exit status.

What the Interleave timeline should show:
  * two process lanes: the parent, and a child lane that starts at the fork;
  * a fork arrow from the parent lane to the start of the child lane;
  * the parent's main thread blocked in waitpid for about 0.2 s, ending when the
    child lane ends (exit code 3).
POSIX only: os.fork does not exist on Windows.
"""
import os
import time


def child():
    print(f"child: pid {os.getpid()}, parent {os.getppid()}", flush=True)
    time.sleep(0.2)  # a little work, so the child lane has visible width
    # os._exit leaves at once: the child must not run the parent's atexit
    # handlers or flush a copy of the parent's buffers a second time.
    os._exit(3)


def main():
    print(f"parent: pid {os.getpid()}, forking", flush=True)  # flush before fork
    pid = os.fork()
    if pid == 0:
        child()  # never returns
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    print(f"parent: child {pid} exited with status {code}")


if __name__ == "__main__":
    main()
