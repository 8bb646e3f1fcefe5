"""multiprocessing.Process: start worker processes, join them, read exit codes.

What it does: the main process starts three children. Two count down and
return normally (exit code 0); the third leaves with sys.exit(2) to show that
a child's exit code reaches the parent. The parent joins each child and
prints its exit code.

What the Interleave timeline should show:
  * the main process and three child process lanes ("counter-a", "counter-b",
    "quitter"), each starting with an arrow from the parent's start() call;
  * the parent blocked in join() on each child in turn;
  * exit codes on the lane ends: 0, 0 and 2.
"""
import multiprocessing
import os
import sys
import time


def count_down(label, n):
    for _ in range(n):  # one tick per step
        time.sleep(0.02)
    print(f"{label}: counted down from {n} in pid {os.getpid()}", flush=True)


def quit_with_code(code):
    time.sleep(0.05)
    sys.exit(code)  # SystemExit in a child becomes its exit code


def main():
    children = [
        multiprocessing.Process(target=count_down, args=("counter-a", 5), name="counter-a"),
        multiprocessing.Process(target=count_down, args=("counter-b", 10), name="counter-b"),
        multiprocessing.Process(target=quit_with_code, args=(2,), name="quitter"),
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()
        print(f"{child.name} exit code: {child.exitcode}")


if __name__ == "__main__":  # required: with "spawn", children re-import this file
    main()
